// pooldnsctl pool add | set | list | delete, and the pool text/JSON shared with status.
#include "cli.hpp"

#include "pooldns/pool_store.hpp"

namespace pooldnsctl {

using namespace pooldns;

std::string seconds_text(std::uint32_t ms) {
    return fmt::format("{:g}s", ms / 1000.0);
}

std::string pool_type_text(const PoolInfo& pool) {
    return type_to_text(pool.type);
}

std::string pool_settings_text(const PoolInfo& p) {
    std::string out = fmt::format("{}, ttl {}", pool_type_text(p), p.ttl);
    if (p.degraded_ttl) out += fmt::format(" (degraded {})", *p.degraded_ttl);
    if (p.max_records) out += fmt::format(", at most {} record{}", *p.max_records, *p.max_records == 1 ? "" : "s");
    if (p.check.empty()) {
        out += ", no check";
    } else {
        out += fmt::format(", check {} every {} (timeout {}, rise {}, fall {})", p.check, seconds_text(p.interval_ms),
                           seconds_text(p.timeout_ms), p.rise, p.fall);
        if (!p.source.empty()) out += fmt::format(" from {}", p.source);
    }
    out += fmt::format(", all-down {}", p.all_down);
    return out;
}

std::string pool_settings_json(const PoolInfo& p) {
    auto optional_number = [](const std::optional<std::uint32_t>& v) {
        return v ? fmt::format("{}", *v) : std::string("null");
    };
    auto optional_text = [](const std::string& v) { return v.empty() ? std::string("null") : json_string(v); };
    return fmt::format(
        "\"fqdn\": {}, \"zone\": {}, \"type\": {}, \"ttl\": {}, \"degraded_ttl\": {}, "
        "\"max_records\": {}, \"check\": {}, \"interval_ms\": {}, \"timeout_ms\": {}, \"rise\": {}, "
        "\"fall\": {}, \"all_down\": {}, \"source\": {}",
        json_string(p.fqdn), json_string(p.zone), json_string(pool_type_text(p)), p.ttl,
        optional_number(p.degraded_ttl), optional_number(p.max_records), optional_text(p.check), p.interval_ms,
        p.timeout_ms, p.rise, p.fall, json_string(p.all_down), optional_text(p.source));
}

namespace {

constexpr std::string_view kUsage =
    "pool add FQDN [--type A|AAAA] [--ttl N] [--degraded-ttl N] [--max-records N] [--check SPEC]\n"
    "              [--interval S] [--timeout S] [--rise N] [--fall N] [--all-down all|none|backup:FQDN]\n"
    "              [--source IP]\n"
    "       pooldnsctl pool set FQDN OPTION...   (the same options; only those given change;\n"
    "                                            'none' clears --check, --degraded-ttl, --max-records, --source)\n"
    "       pooldnsctl pool list\n"
    "       pooldnsctl pool delete FQDN\n"
    "CHECK: tcp:PORT | tls:PORT[:SNI] | http:PORT/PATH | https:PORT/PATH | sip:PORT | sips:PORT";

const std::vector<OptionSpec> kPoolOptions = {{"--type"},  {"--ttl"},      {"--degraded-ttl"}, {"--max-records"},
                                              {"--check"}, {"--interval"}, {"--timeout"},      {"--rise"},
                                              {"--fall"},  {"--all-down"}, {"--source"}};

PoolSpec spec_from(const ParsedArgs& parsed) {
    PoolSpec spec;
    spec.fqdn = parsed.positional[0];
    auto set = [&](std::string_view option, std::optional<std::string>& field) {
        if (parsed.has(option)) field = parsed.value(option);
    };
    set("--type", spec.type);
    set("--ttl", spec.ttl);
    set("--degraded-ttl", spec.degraded_ttl);
    set("--max-records", spec.max_records);
    set("--check", spec.check);
    set("--interval", spec.interval);
    set("--timeout", spec.timeout);
    set("--rise", spec.rise);
    set("--fall", spec.fall);
    set("--all-down", spec.all_down);
    set("--source", spec.source);
    return spec;
}

std::string members_json(const std::vector<MemberInfo>& members) {
    std::string out = "[";
    for (std::size_t i = 0; i < members.size(); ++i) {
        const auto& m = members[i];
        out +=
            fmt::format("{}{{\"server\": {}, \"address\": {}, \"probe_address\": {}, \"weight\": {}, \"admin\": {}}}",
                        i ? ", " : "", json_string(m.server), json_string(m.address),
                        m.probe_address.empty() ? "null" : json_string(m.probe_address), m.weight,
                        json_string(admin_state_name(m.admin)));
    }
    return out + "]";
}

std::string pool_json(const PoolInfo& p) {
    return fmt::format("{{{}, \"members\": {}}}", pool_settings_json(p), members_json(p.members));
}

int add_or_set(const Cli& cli, const std::vector<std::string>& args, bool set) {
    std::string_view verb = set ? "pool set" : "pool add";
    auto parsed = parse_args(args, kPoolOptions, verb);
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, fmt::format("{} takes one FQDN", verb), kUsage);
    if (set && parsed->options.empty()) {
        return usage_error(cli, "pool set: give at least one option to change", kUsage);
    }
    PoolSpec spec = spec_from(*parsed);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    PoolStore store(*db, cli.command_line);
    auto pool = set ? store.update_pool(spec) : store.add_pool(spec);
    if (!pool) return fail(cli, pool.error());
    if (cli.json) {
        fmt::print("{}\n", pool_json(*pool));
        return kExitOk;
    }
    if (set) {
        fmt::print("changed pool {}: {}\n", pool->fqdn, pool_settings_text(*pool));
    } else {
        fmt::print("added pool {} in zone {}: {}\n", pool->fqdn, pool->zone, pool_settings_text(*pool));
        fmt::print("note: it answers NODATA until it has members ('pooldnsctl member add {} SERVER ADDR')\n",
                   pool->fqdn);
    }
    return kExitOk;
}

int list(const Cli& cli, const std::vector<std::string>& args) {
    if (!args.empty()) return usage_error(cli, "pool list takes no arguments", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    PoolStore store(*db, cli.command_line);
    auto pools = store.pools();
    if (!pools) return fail(cli, pools.error());
    if (cli.json) {
        fmt::print("[");
        for (std::size_t i = 0; i < pools->size(); ++i) fmt::print("{}\n  {}", i ? "," : "", pool_json((*pools)[i]));
        fmt::print("{}]\n", pools->empty() ? "" : "\n");
        return kExitOk;
    }
    std::vector<std::vector<std::string>> rows{{"FQDN", "TYPE", "TTL", "MEMBERS", "CHECK", "ALL-DOWN"}};
    for (const auto& p : *pools) {
        std::string check = p.check.empty()
                                ? "-"
                                : fmt::format("{} every {} timeout {} rise {} fall {}", p.check,
                                              seconds_text(p.interval_ms), seconds_text(p.timeout_ms), p.rise, p.fall);
        rows.push_back(
            {p.fqdn, pool_type_text(p), std::to_string(p.ttl), std::to_string(p.members.size()), check, p.all_down});
    }
    print_table(rows);
    return kExitOk;
}

int remove(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "pool delete");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, "pool delete takes one FQDN", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    PoolStore store(*db, cli.command_line);
    auto pool = store.delete_pool(parsed->positional[0]);
    if (!pool) return fail(cli, pool.error());
    if (cli.json) {
        fmt::print("{{\"deleted\": {}, \"members\": {}}}\n", json_string(pool->fqdn), pool->members.size());
        return kExitOk;
    }
    fmt::print("deleted pool {} ({} member{})\n", pool->fqdn, pool->members.size(),
               pool->members.size() == 1 ? "" : "s");
    return kExitOk;
}

}  // namespace

int run_pool(const Cli& cli, std::string_view verb, const std::vector<std::string>& args) {
    if (verb == "add") return add_or_set(cli, args, false);
    if (verb == "set") return add_or_set(cli, args, true);
    if (verb == "list") return list(cli, args);
    if (verb == "delete") return remove(cli, args);
    return usage_error(cli, fmt::format("pool: unknown verb '{}'", verb), kUsage);
}

}  // namespace pooldnsctl
