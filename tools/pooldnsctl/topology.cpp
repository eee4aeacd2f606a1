// pooldnsctl topology frontend | director | edge | mediation | show | check | delete:
// Skype for Business / Lync pools laid out in one transaction, shown as an
// operator thinks of them, and the DNS load-balancing rules checked.
#include "cli.hpp"

#include "pooldns/topology.hpp"

namespace pooldnsctl {

using namespace pooldns;

namespace {

constexpr std::string_view kUsage =
    "topology frontend POOL --server NAME,HOST,ADDR [--server ...]\n"
    "             --web-internal FQDN --web-external FQDN --vip ADDR [--vip-external ADDR]\n"
    "             --tls-cert PEM --tls-key PEM [--backend-ca PEM]\n"
    "             [--ports HTTPS,HTTP,EXT_HTTPS,EXT_HTTP] (default 443,80,4443,8080)\n"
    "             [--backend-ports HTTPS,HTTP,EXT_HTTPS,EXT_HTTP] (default: --ports)\n"
    "             [--check SPEC] (default sips:5061) [--interval S] [--timeout S] [--rise N] [--fall N]\n"
    "             [--ttl N] [--discovery] [--sip-domain DOMAIN]\n"
    "       pooldnsctl topology director POOL ...   (the options of frontend)\n"
    "       pooldnsctl topology edge POOL --server NAME,HOST,INTERNAL,ACCESS,WEBCONF,AV [--server ...]\n"
    "             --access FQDN --webconf FQDN --av FQDN\n"
    "             [--check SPEC] (internal, default sips:5061) [--access-check SPEC] (sips:5061)\n"
    "             [--webconf-check SPEC] (tls:443) [--av-check SPEC] (tcp:443)\n"
    "             [--internal-hlb ADDR --external-hlb ACCESS_ADDR,WEBCONF_ADDR,AV_ADDR]\n"
    "             [--interval S] [--timeout S] [--rise N] [--fall N] [--ttl N] [--discovery] [--sip-domain DOMAIN]\n"
    "       pooldnsctl topology mediation POOL --server NAME,HOST,ADDR [--server ...] [--check SPEC] (sip:5070)\n"
    "             [--interval S] [--timeout S] [--rise N] [--fall N] [--ttl N]\n"
    "       pooldnsctl topology show [POOL]\n"
    "       pooldnsctl topology check\n"
    "       pooldnsctl topology delete POOL   (forgets the topology; its pools, servers, VIPs and records stay)";

std::string problems_json(const std::vector<Problem>& problems) {
    std::string out = "[";
    for (std::size_t i = 0; i < problems.size(); ++i) {
        out += fmt::format("{}{{\"where\": {}, \"problem\": {}}}", i ? ", " : "", json_string(problems[i].where),
                           json_string(problems[i].message));
    }
    return out + "]";
}

std::string topology_json(const TopologyInfo& t) {
    std::string names = "[";
    for (std::size_t i = 0; i < t.names.size(); ++i) {
        names += fmt::format("{}{{\"role\": {}, \"fqdn\": {}, \"lb\": {}}}", i ? ", " : "",
                             json_string(t.names[i].role), json_string(t.names[i].fqdn), json_string(t.names[i].lb));
    }
    names += "]";
    std::string pools = "[";
    for (std::size_t i = 0; i < t.pools.size(); ++i) {
        const auto& p = t.pools[i];
        std::string role;
        for (const auto& n : t.names) {
            if (n.fqdn == p.fqdn && n.lb == "dns") role = n.role;
        }
        std::string members = "[";
        for (std::size_t j = 0; j < p.members.size(); ++j) {
            const auto& m = p.members[j];
            members += fmt::format(
                "{}{{\"server\": {}, \"host\": {}, \"address\": {}, \"admin\": {}, \"health\": {}, \"answering\": "
                "{}}}",
                j ? ", " : "", json_string(m.server), json_string(m.host), json_string(m.address),
                json_string(admin_state_name(m.admin)), json_string(p.check.empty() ? "unchecked" : m.health),
                member_answering(p, m));
        }
        members += "]";
        pools += fmt::format("{}{{\"role\": {}, {}, \"members\": {}}}", i ? ", " : "", json_string(role),
                             pool_settings_json(p), members);
    }
    pools += "]";
    std::string vips = "[";
    for (std::size_t i = 0; i < t.vips.size(); ++i) vips += (i ? ", " : "") + vip_json(t.vips[i]);
    vips += "]";
    return fmt::format(
        "{{\"fqdn\": {}, \"kind\": {}, \"created_at\": {}, \"names\": {}, \"pools\": {}, \"vips\": {}, "
        "\"records\": {}, \"problems\": {}}}",
        json_string(t.fqdn), json_string(topology_kind_name(t.kind)), json_string(t.created_at), names, pools, vips,
        [&] {
            std::string out = "[";
            for (std::size_t i = 0; i < t.records.size(); ++i) out += (i ? ", " : "") + record_json(t.records[i]);
            return out + "]";
        }(),
        problems_json(t.problems));
}

std::string kind_title(TopologyKind kind) {
    switch (kind) {
        case TopologyKind::Frontend: return "Front End pool";
        case TopologyKind::Director: return "Director pool";
        case TopologyKind::Edge: return "Edge pool";
        case TopologyKind::Mediation: return "Mediation pool";
    }
    return "pool";
}

std::string role_title(std::string_view role) {
    if (role == "pool") return "pool";
    if (role == "edge-internal") return "internal";
    if (role == "edge-access") return "Access";
    if (role == "edge-webconf") return "Web Conferencing";
    if (role == "edge-av") return "A/V";
    if (role == "web-internal") return "web services (internal)";
    if (role == "web-external") return "web services (external)";
    return "discovery";
}

void print_topology(const TopologyInfo& t) {
    fmt::print("{} {} (since {})\n", kind_title(t.kind), t.fqdn, t.created_at);
    for (const auto& n : t.names) {
        if (n.role == "discovery" || n.role.starts_with("web-")) continue;
        const PoolInfo* pool = nullptr;
        for (const auto& p : t.pools) {
            if (p.fqdn == n.fqdn) pool = &p;
        }
        if (!pool) {
            std::vector<std::string> addresses;
            for (const auto& r : t.records) {
                if (r.owner == n.fqdn) addresses.push_back(rdata_to_text(r));
            }
            if (addresses.empty()) {
                fmt::print("  {:<24} {}  MISSING: neither a pool nor address records\n", role_title(n.role), n.fqdn);
            } else {
                fmt::print("  {:<24} {}  hardware load balancer: {}\n", role_title(n.role), n.fqdn,
                           join(addresses, ", "));
            }
            continue;
        }
        fmt::print("  {:<24} {}  DNS load balanced, check {}, answering {} of {}{}\n", role_title(n.role), n.fqdn,
                   pool->check.empty() ? "none" : pool->check, answering_count(*pool), pool->members.size(),
                   all_down_note(*pool));
        std::vector<std::vector<std::string>> rows;
        for (const auto& m : pool->members) {
            rows.push_back({m.server, m.host, m.address, std::string(admin_state_name(m.admin)),
                            pool->check.empty() ? "unchecked" : m.health,
                            member_answering(*pool, m) ? "answered" : "NOT answered"});
        }
        print_table(rows, "      ");
    }
    for (const auto& n : t.names) {
        if (!n.role.starts_with("web-")) continue;
        std::vector<std::string> addresses;
        for (const auto& r : t.records) {
            if (r.owner == n.fqdn) addresses.push_back(rdata_to_text(r));
        }
        fmt::print("  {:<24} {} -> {}\n", role_title(n.role), n.fqdn,
                   addresses.empty() ? "MISSING" : join(addresses, ", "));
    }
    if (!t.vips.empty()) {
        fmt::print("  VIPs\n");
        std::vector<std::vector<std::string>> rows;
        for (const auto& v : t.vips) {
            rows.push_back({v.name, vip_settings_text(v) + fmt::format(", idle {}s", v.idle_timeout_s)});
        }
        print_table(rows, "      ");
    }
    std::vector<std::string> discovery;
    for (const auto& r : t.records) {
        bool listed = false;
        for (const auto& n : t.names) listed |= n.role == "discovery" && n.fqdn == r.owner;
        if (listed) discovery.push_back(fmt::format("{} {} {} {}", r.owner, r.ttl, type_to_text(r.type), rdata_to_text(r)));
    }
    if (!discovery.empty()) {
        fmt::print("  discovery\n");
        for (const auto& line : discovery) fmt::print("      {}\n", line);
    }
    if (t.problems.empty()) {
        fmt::print("  rules: ok\n");
    } else {
        fmt::print("  rules: {} broken\n", t.problems.size());
        for (const auto& p : t.problems) fmt::print("      {}: {}\n", p.where, p.message);
    }
}

int create(const Cli& cli, TopologyKind kind, const std::vector<std::string>& args) {
    std::string verb = fmt::format("topology {}", topology_kind_name(kind));
    auto parsed = parse_args(args,
                             {{"--server", true, true},
                              {"--check"},
                              {"--access-check"},
                              {"--webconf-check"},
                              {"--av-check"},
                              {"--interval"},
                              {"--timeout"},
                              {"--rise"},
                              {"--fall"},
                              {"--ttl"},
                              {"--web-internal"},
                              {"--web-external"},
                              {"--vip"},
                              {"--vip-external"},
                              {"--tls-cert", true, true},
                              {"--tls-key", true, true},
                              {"--backend-ca"},
                              {"--ports"},
                              {"--backend-ports"},
                              {"--access"},
                              {"--webconf"},
                              {"--av"},
                              {"--internal-hlb"},
                              {"--external-hlb"},
                              {"--discovery", false},
                              {"--sip-domain"}},
                             verb);
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, verb + " takes one POOL FQDN", kUsage);
    if (!parsed->has("--server")) return usage_error(cli, verb + ": at least one --server is required", kUsage);
    TopologySpec spec;
    spec.kind = kind;
    spec.fqdn = parsed->positional[0];
    spec.servers = parsed->values("--server");
    auto opt = [&](std::string_view name, std::optional<std::string>& field) {
        if (parsed->has(name)) field = parsed->value(name);
    };
    opt("--check", spec.check);
    opt("--access-check", spec.access_check);
    opt("--webconf-check", spec.webconf_check);
    opt("--av-check", spec.av_check);
    opt("--interval", spec.interval);
    opt("--timeout", spec.timeout);
    opt("--rise", spec.rise);
    opt("--fall", spec.fall);
    opt("--ttl", spec.ttl);
    opt("--web-internal", spec.web_internal);
    opt("--web-external", spec.web_external);
    opt("--vip", spec.vip);
    opt("--vip-external", spec.vip_external);
    opt("--backend-ca", spec.backend_ca);
    opt("--ports", spec.ports);
    opt("--backend-ports", spec.backend_ports);
    opt("--access", spec.access);
    opt("--webconf", spec.webconf);
    opt("--av", spec.av);
    opt("--internal-hlb", spec.internal_hlb);
    opt("--external-hlb", spec.external_hlb);
    opt("--sip-domain", spec.sip_domain);
    spec.tls_certs = parsed->values("--tls-cert");
    spec.tls_keys = parsed->values("--tls-key");
    spec.discovery = parsed->has("--discovery");
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    TopologyStore store(*db, cli.command_line);
    auto report = store.create(spec);
    if (!report) return fail(cli, report.error());
    if (cli.json) {
        std::string created = "[";
        for (std::size_t i = 0; i < report->created.size(); ++i) {
            created += (i ? ", " : "") + json_string(report->created[i]);
        }
        fmt::print("{{\"topology\": {}, \"created\": {}]}}\n", topology_json(report->topology), created);
        return kExitOk;
    }
    fmt::print("created {} {} in one transaction:\n", kind_title(kind), report->topology.fqdn);
    for (const auto& line : report->created) fmt::print("  {}\n", line);
    return kExitOk;
}

int show(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "topology show");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() > 1) return usage_error(cli, "topology show takes at most one POOL", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    TopologyStore store(*db, cli.command_line);
    auto list = store.topologies(parsed->positional.empty() ? "" : parsed->positional[0]);
    if (!list) return fail(cli, list.error());
    if (cli.json) {
        fmt::print("[");
        for (std::size_t i = 0; i < list->size(); ++i) fmt::print("{}\n  {}", i ? "," : "", topology_json((*list)[i]));
        fmt::print("{}]\n", list->empty() ? "" : "\n");
        return kExitOk;
    }
    if (list->empty()) {
        fmt::print("no topologies ('pooldnsctl topology frontend|director|edge|mediation' lays one out)\n");
        return kExitOk;
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
        if (i) fmt::print("\n");
        print_topology((*list)[i]);
    }
    return kExitOk;
}

int check(const Cli& cli, const std::vector<std::string>& args) {
    if (!args.empty()) return usage_error(cli, "topology check takes no arguments", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    TopologyStore store(*db, cli.command_line);
    auto problems = store.check();
    if (!problems) return fail(cli, problems.error());
    if (cli.json) {
        fmt::print("{}\n", problems_json(*problems));
    } else if (problems->empty()) {
        fmt::print("ok: every pool and topology follows the DNS load-balancing rules\n");
    } else {
        fmt::print("{}\n", format_problems(*problems, problems->size()));
    }
    return problems->empty() ? kExitOk : kExitFailed;
}

int remove(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "topology delete");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, "topology delete takes one POOL", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    TopologyStore store(*db, cli.command_line);
    auto t = store.remove(parsed->positional[0]);
    if (!t) return fail(cli, t.error());
    if (cli.json) {
        fmt::print("{{\"deleted\": {}, \"kind\": {}}}\n", json_string(t->fqdn), json_string(topology_kind_name(t->kind)));
        return kExitOk;
    }
    fmt::print("forgot {} {}; its pools, servers, VIPs and records stay (delete them with their own commands)\n",
               kind_title(t->kind), t->fqdn);
    return kExitOk;
}

}  // namespace

int run_topology(const Cli& cli, std::string_view verb, const std::vector<std::string>& args) {
    if (auto kind = topology_kind_from_name(verb)) return create(cli, *kind, args);
    if (verb == "show") return show(cli, args);
    if (verb == "check") return check(cli, args);
    if (verb == "delete") return remove(cli, args);
    if (verb == "help") {
        fmt::print("usage: pooldnsctl {}\n", kUsage);
        return kExitOk;
    }
    return usage_error(cli, fmt::format("topology: unknown verb '{}'", verb), kUsage);
}

}  // namespace pooldnsctl
