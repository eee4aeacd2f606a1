// pooldnsctl member add | remove
#include "cli.hpp"

#include "pooldns/pool_store.hpp"

namespace pooldnsctl {

namespace {

using namespace pooldns;

constexpr std::string_view kUsage =
    "member add POOL SERVER ADDR [--weight N] [--probe IP]   (ADDR is answered; --probe is checked instead)\n"
    "       pooldnsctl member remove POOL SERVER";

std::string member_json(std::string_view pool, const MemberInfo& m) {
    return fmt::format(
        "{{\"pool\": {}, \"server\": {}, \"address\": {}, \"probe_address\": {}, \"weight\": {}, "
        "\"admin\": {}}}",
        json_string(pool), json_string(m.server), json_string(m.address),
        m.probe_address.empty() ? "null" : json_string(m.probe_address), m.weight,
        json_string(admin_state_name(m.admin)));
}

// The pool as stored (absolute, lower case) for messages; the store has validated it.
std::string pool_text(std::string_view arg) {
    auto name = pool_name(arg);
    return name ? *name : std::string(arg);
}

int add(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {{"--weight"}, {"--probe"}}, "member add");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 3) return usage_error(cli, "member add takes POOL SERVER ADDR", kUsage);
    const auto& pos = parsed->positional;
    std::optional<std::string_view> weight, probe;
    if (parsed->has("--weight")) weight = parsed->options.find("--weight")->second.back();
    if (parsed->has("--probe")) probe = parsed->options.find("--probe")->second.back();
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    PoolStore store(*db, cli.command_line);
    auto member = store.add_member(pos[0], pos[1], pos[2], weight, probe);
    if (!member) return fail(cli, member.error());
    std::string pool = pool_text(pos[0]);
    if (cli.json) {
        fmt::print("{}\n", member_json(pool, *member));
        return kExitOk;
    }
    fmt::print("added {} to pool {}: answered as {} (weight {}){}\n", member->server, pool, member->address,
               member->weight, member->probe_address.empty() ? "" : ", probed on " + member->probe_address);
    if (member->admin != AdminState::Enabled) {
        fmt::print("note: server {} is {}; it stays out of the answers until 'pooldnsctl server enable {}'\n",
                   member->server, admin_state_name(member->admin), member->server);
    }
    return kExitOk;
}

int remove(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "member remove");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 2) return usage_error(cli, "member remove takes POOL SERVER", kUsage);
    const auto& pos = parsed->positional;
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    PoolStore store(*db, cli.command_line);
    auto member = store.remove_member(pos[0], pos[1]);
    if (!member) return fail(cli, member.error());
    std::string pool = pool_text(pos[0]);
    if (cli.json) {
        fmt::print("{{\"removed\": {}}}\n", member_json(pool, *member));
        return kExitOk;
    }
    fmt::print("removed {} ({}) from pool {}\n", member->server, member->address, pool);
    return kExitOk;
}

}  // namespace

int run_member(const Cli& cli, std::string_view verb, const std::vector<std::string>& args) {
    if (verb == "add") return add(cli, args);
    if (verb == "remove") return remove(cli, args);
    return usage_error(cli, fmt::format("member: unknown verb '{}'", verb), kUsage);
}

}  // namespace pooldnsctl
