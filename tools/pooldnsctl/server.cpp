// pooldnsctl server add | list | delete | enable | drain | block
#include "cli.hpp"

#include "pooldns/pool_store.hpp"

namespace pooldnsctl {

namespace {

using namespace pooldns;

constexpr std::string_view kUsage =
    "server add NAME --host FQDN --addr IP [--addr IP]... [--service-addr IP]... [--ttl TTL]\n"
    "       (--service-addr: an address pools may answer with, never in the host record, e.g. an\n"
    "        Edge server's Access, Web Conferencing or A/V address)\n"
    "       pooldnsctl server list\n"
    "       pooldnsctl server delete NAME\n"
    "       pooldnsctl server enable NAME   (back in its pools' answers, host record served)\n"
    "       pooldnsctl server drain NAME    (out of every pool's answers, host record still served)\n"
    "       pooldnsctl server block NAME    (out of every pool's answers and its host record hidden)";

std::string json_array(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + json_string(items[i]);
    return out + "]";
}

std::string server_json(const ServerInfo& s) {
    return fmt::format(
        "{{\"name\": {}, \"host\": {}, \"admin\": {}, \"ttl\": {}, \"addresses\": {}, "
        "\"service_addresses\": {}, \"zone\": {}, \"pools\": {}}}",
        json_string(s.name), json_string(s.host), json_string(admin_state_name(s.admin)), s.ttl,
        json_array(s.addresses), json_array(s.service_addresses), s.zone.empty() ? "null" : json_string(s.zone),
        json_array(s.pools));
}

// "2 pools'" / "1 pool's": whose answers a server leaves or rejoins.
std::string pools_possessive(std::size_t n) {
    return fmt::format("{} pool{}", n, n == 1 ? "'s" : "s'");
}

int add(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {{"--host"}, {"--addr", true, true}, {"--service-addr", true, true}, {"--ttl"}},
                             "server add");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, "server add takes one NAME", kUsage);
    if (!parsed->has("--host")) return usage_error(cli, "server add: --host FQDN is required", kUsage);
    if (!parsed->has("--addr")) return usage_error(cli, "server add: at least one --addr IP is required", kUsage);
    ServerSpec spec;
    spec.name = parsed->positional[0];
    spec.host = parsed->value("--host");
    spec.addresses = parsed->values("--addr");
    spec.service_addresses = parsed->values("--service-addr");
    if (parsed->has("--ttl")) spec.ttl = parsed->value("--ttl");
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    PoolStore store(*db, cli.command_line);
    auto server = store.add_server(spec);
    if (!server) return fail(cli, server.error());
    std::string note;
    if (server->zone.empty()) {
        note = fmt::format("no zone we serve contains {}; its host record is not served by pooldns", server->host);
    }
    if (cli.json) {
        fmt::print("{{\"server\": {}, \"note\": {}}}\n", server_json(*server), json_string(note));
        return kExitOk;
    }
    fmt::print("added server {}: host {} -> {} (ttl {}){}{}\n", server->name, server->host,
               join(server->addresses, ", "), server->ttl,
               server->zone.empty() ? "" : fmt::format(", served in zone {}", server->zone),
               server->service_addresses.empty()
                   ? ""
                   : fmt::format("; service addresses {}", join(server->service_addresses, ", ")));
    if (!note.empty()) fmt::print("note: {}\n", note);
    return kExitOk;
}

int list(const Cli& cli, const std::vector<std::string>& args) {
    if (!args.empty()) return usage_error(cli, "server list takes no arguments", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    PoolStore store(*db, cli.command_line);
    auto servers = store.servers();
    if (!servers) return fail(cli, servers.error());
    if (cli.json) {
        fmt::print("[");
        for (std::size_t i = 0; i < servers->size(); ++i) {
            fmt::print("{}\n  {}", i ? "," : "", server_json((*servers)[i]));
        }
        fmt::print("{}]\n", servers->empty() ? "" : "\n");
        return kExitOk;
    }
    std::vector<std::vector<std::string>> rows{{"NAME", "HOST", "ADMIN", "ADDRESSES", "POOLS"}};
    for (const auto& s : *servers) {
        rows.push_back({s.name, s.zone.empty() ? s.host + " (not served)" : s.host,
                        std::string(admin_state_name(s.admin)),
                        join(s.addresses, ",") +
                            (s.service_addresses.empty() ? "" : " +service " + join(s.service_addresses, ",")),
                        s.pools.empty() ? "-" : join(s.pools, ",")});
    }
    print_table(rows);
    return kExitOk;
}

int remove(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "server delete");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, "server delete takes one NAME", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    PoolStore store(*db, cli.command_line);
    auto server = store.delete_server(parsed->positional[0]);
    if (!server) return fail(cli, server.error());
    if (cli.json) {
        fmt::print("{{\"deleted\": {}, \"server\": {}}}\n", json_string(server->name), server_json(*server));
        return kExitOk;
    }
    fmt::print("deleted server {}: host record {} gone; removed from {} pool{}{}\n", server->name, server->host,
               server->pools.size(), server->pools.size() == 1 ? "" : "s",
               server->pools.empty() ? "" : " (" + join(server->pools, ", ") + ")");
    return kExitOk;
}

// What the server's new state means for DNS answers, in one line.
std::string effect(const ServerInfo& s) {
    std::string pools;
    if (s.pools.empty()) {
        pools = "a member of no pool";
    } else if (s.admin == AdminState::Enabled) {
        pools = fmt::format("back in {} answers", pools_possessive(s.pools.size()));
    } else {
        pools = fmt::format("out of {} answers", pools_possessive(s.pools.size()));
    }
    std::string host;
    if (s.zone.empty()) {
        host = fmt::format("host record {} not served by pooldns", s.host);
    } else if (s.admin == AdminState::Blocked) {
        host = fmt::format("host record {} hidden", s.host);
    } else if (s.admin == AdminState::Drained) {
        host = fmt::format("host record {} still served", s.host);
    } else {
        host = fmt::format("host record {} served", s.host);
    }
    return pools + "; " + host;
}

int set_state(const Cli& cli, std::string_view verb, AdminState state, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, fmt::format("server {}", verb));
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, fmt::format("server {} takes one NAME", verb), kUsage);
    const std::string& name = parsed->positional[0];
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    PoolStore store(*db, cli.command_line);
    // The state before, only to say "already"; the edit itself decides in its transaction.
    auto before = store.servers();
    if (!before) return fail(cli, before.error());
    bool already = std::any_of(before->begin(), before->end(),
                               [&](const ServerInfo& s) { return s.name == name && s.admin == state; });
    auto server = store.set_admin_state(name, state);
    if (!server) return fail(cli, server.error());
    if (cli.json) {
        fmt::print("{{\"server\": {}, \"changed\": {}, \"effect\": {}}}\n", server_json(*server), !already,
                   json_string(effect(*server)));
        return kExitOk;
    }
    if (already) {
        fmt::print("server {} already {}, nothing changed: {}\n", server->name, admin_state_name(state),
                   effect(*server));
    } else {
        fmt::print("server {} {}: {}\n", server->name, admin_state_name(state), effect(*server));
    }
    return kExitOk;
}

}  // namespace

int run_server(const Cli& cli, std::string_view verb, const std::vector<std::string>& args) {
    if (verb == "add") return add(cli, args);
    if (verb == "list") return list(cli, args);
    if (verb == "delete") return remove(cli, args);
    if (verb == "enable") return set_state(cli, verb, AdminState::Enabled, args);
    if (verb == "drain") return set_state(cli, verb, AdminState::Drained, args);
    if (verb == "block") return set_state(cli, verb, AdminState::Blocked, args);
    return usage_error(cli, fmt::format("server: unknown verb '{}'", verb), kUsage);
}

}  // namespace pooldnsctl
