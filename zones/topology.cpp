// Skype for Business / Lync topologies: one transaction lays out a pool from
// the store operations the other nouns use (nested as savepoints), then the
// deployment rules judge the result whole before it commits.
#include "pooldns/topology.hpp"

#include "edit.hpp"
#include "pooldns/check_spec.hpp"
#include "pooldns/zone_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>

namespace pooldns {

namespace {

constexpr std::uint16_t kTypeCname = 5;

// The TTLs of the records a topology writes (pools take --ttl): web services and
// HLB addresses change with the load balancer, discovery records hardly ever.
constexpr std::string_view kAddressTtl = "300";
constexpr std::string_view kDiscoveryTtl = "3600";

std::string role_text(std::string_view role) {
    if (role == "pool") return "pool FQDN";
    if (role == "web-internal") return "internal web services FQDN";
    if (role == "web-external") return "external web services FQDN";
    if (role == "edge-internal") return "internal Edge pool";
    if (role == "edge-access") return "Access Edge FQDN";
    if (role == "edge-webconf") return "Web Conferencing Edge FQDN";
    if (role == "edge-av") return "A/V Edge FQDN";
    return "discovery record";
}

bool is_pool_role(std::string_view role) { return role == "pool" || role.starts_with("edge-"); }

std::string lb_text(std::string_view kind) {
    return kind == "dns" ? "DNS load balancing (a pool)" : "a hardware load balancer (address records)";
}

// How a name is answered now: "dns" (a pool), "hlb" (A/AAAA records), "cname", or "none".
std::string answered_as(const Database& db, std::string_view fqdn) {
    auto pool = db.prepare("SELECT 1 FROM pools WHERE fqdn = ?");
    pool.bind(1, fqdn);
    if (pool.step()) return "dns";
    auto zone = containing_zone(db, fqdn);
    if (!zone) return "none";
    auto st = db.prepare("SELECT type FROM records WHERE zone_id = ? AND owner = ? AND type IN (1, 5, 28)");
    st.bind_all(zone->id, fqdn);
    std::string kind = "none";
    while (st.step()) kind = st.column_int(0) == kTypeCname ? "cname" : "hlb";
    return kind;
}

struct StoredTopology {
    std::int64_t id = 0;
    std::string fqdn;
    std::string kind;
    std::string created_at;
    std::vector<TopologyName> names;
};

std::vector<StoredTopology> load_topologies(const Database& db, std::string_view fqdn = {}) {
    auto st = db.prepare("SELECT id, fqdn, kind, created_at FROM topologies WHERE ?1 IS NULL OR fqdn = ?1 ORDER BY "
                         "CASE kind WHEN 'frontend' THEN 0 WHEN 'director' THEN 1 WHEN 'edge' THEN 2 ELSE 3 END, fqdn");
    if (fqdn.empty()) st.bind(1, std::nullopt); else st.bind(1, fqdn);
    std::vector<StoredTopology> out;
    while (st.step()) out.push_back({st.column_int(0), st.column_text(1), st.column_text(2), st.column_text(3), {}});
    auto names = db.prepare("SELECT role, fqdn, lb FROM topology_names WHERE topology_id = ? ORDER BY rowid");
    for (auto& t : out) {
        names.bind(1, t.id);
        while (names.step()) t.names.push_back({names.column_text(0), names.column_text(1), names.column_text(2)});
        names.reset();
    }
    return out;
}

// A broken rule: what `check` prints, and a key naming the rule and the records
// it is about (not the wording), so RulesGuard can tell a breach the edit made
// from one that was there before even when its message changes with the data.
struct Breach {
    Problem problem;
    std::string key;
};

// The addresses of the A/AAAA records at `fqdn`, as text.
std::vector<std::string> address_records(const Database& db, std::string_view fqdn) {
    std::vector<std::string> out;
    auto zone = containing_zone(db, fqdn);
    if (!zone) return out;
    auto st = db.prepare("SELECT type, rdata FROM records WHERE zone_id = ? AND owner = ? AND type IN (1, 28)");
    st.bind_all(zone->id, fqdn);
    while (st.step()) {
        Record rec{std::string(fqdn), static_cast<std::uint16_t>(st.column_int(0)), 0, st.column_blob(1)};
        out.push_back(rdata_to_text(rec));
    }
    return out;
}

// The addresses the VIPs in front of `pool` listen on ("192.0.2.1:443" -> "192.0.2.1").
std::vector<std::string> vip_addresses(const Database& db, std::string_view pool) {
    std::vector<std::string> out;
    auto st = db.prepare("SELECT v.listen FROM vips v JOIN pools p ON p.id = v.pool_id WHERE p.fqdn = ? ORDER BY v.id");
    st.bind(1, pool);
    while (st.step()) {
        std::string host = listen_address(st.column_text_view(0));
        if (std::find(out.begin(), out.end(), host) == out.end()) out.push_back(host);
    }
    return out;
}

void pool_problems(const Database& db, std::vector<Breach>& out) {
    auto stray = db.prepare(
        "SELECT DISTINCT p.fqdn, z.origin, r.type FROM pools p JOIN zones z ON z.id = p.zone_id "
        "JOIN records r ON r.zone_id = p.zone_id AND r.owner = p.fqdn WHERE r.type IN (1, 5, 28, 39) ORDER BY p.fqdn");
    while (stray.step()) {
        auto type = static_cast<std::uint16_t>(stray.column_int(2));
        std::string pool = stray.column_text(0), origin = stray.column_text(1);
        out.push_back({{fmt::format("pool {}", pool),
                        fmt::format("zone {} has {} record at the pool name, so the pool would answer something "
                                    "other than its members' addresses; delete it ('pooldnsctl record delete {} {} {}')",
                                    origin, with_article(type), origin, pool, type_to_text(type))},
                       fmt::format("stray|{}|{}", pool, type)});
    }
    auto foreign = db.prepare(
        "SELECT p.fqdn, s.name, m.address FROM members m JOIN pools p ON p.id = m.pool_id "
        "JOIN servers s ON s.id = m.server_id WHERE NOT EXISTS (SELECT 1 FROM server_addresses a "
        "WHERE a.server_id = m.server_id AND a.address = m.address) ORDER BY p.fqdn, s.name");
    while (foreign.step()) {
        std::string pool = foreign.column_text(0), server = foreign.column_text(1), address = foreign.column_text(2);
        out.push_back({{fmt::format("pool {}", pool),
                        fmt::format("member '{}' is answered with {}, which is not an address of server '{}'; remove "
                                    "it ('pooldnsctl member remove {} {}') and add it with one of the server's "
                                    "addresses",
                                    server, address, server, pool, server)},
                       fmt::format("foreign|{}|{}|{}", pool, server, address)});
    }
}

void topology_problems(const Database& db, const StoredTopology& t, const std::vector<StoredTopology>& all,
                       std::vector<Breach>& out) {
    std::string where = fmt::format("topology {}", t.fqdn);
    auto add = [&](std::string key, std::string message) {
        out.push_back({{where, std::move(message)}, fmt::format("{}|{}", t.fqdn, key)});
    };
    auto members = db.prepare(
        "SELECT s.name, s.host FROM members m JOIN servers s ON s.id = m.server_id JOIN pools p ON p.id = m.pool_id "
        "WHERE p.fqdn = ? ORDER BY s.name");
    auto server_host = db.prepare("SELECT name FROM servers WHERE host = ?");
    std::set<std::string> hosts_reported;
    for (const auto& n : t.names) {
        if (is_pool_role(n.role)) {
            std::string kind = answered_as(db, n.fqdn);
            if (kind == "none" || kind == "cname") {
                add("missing|" + n.fqdn,
                    fmt::format("the {} '{}' {}; recreate it (a pool, or a hardware load balancer's address "
                                "records), or forget the topology with 'pooldnsctl topology delete {}'",
                                role_text(n.role), n.fqdn, kind == "cname" ? "is now a CNAME" : "no longer exists",
                                t.fqdn));
                continue;
            }
            if (kind != "dns") continue;
            members.bind(1, n.fqdn);
            bool any_member = false;
            while (members.step()) {
                any_member = true;
                std::string server = members.column_text(0), host = members.column_text(1);
                if (containing_zone(db, host) || !hosts_reported.insert(server).second) continue;
                add("nohost|" + server,
                    fmt::format("server '{}' (member of {}) has the host name '{}', which no zone here serves; every "
                                "pool member needs its own host record, so that 'pooldnsctl server block {}' can hide "
                                "it: create the zone ('pooldnsctl zone create') or give the server a host name in a "
                                "zone served here",
                                server, n.fqdn, host, server));
            }
            members.reset();
            if (!any_member) {
                add("empty|" + n.fqdn,
                    fmt::format("the {} '{}' has no members left, so it answers no address; add one ('pooldnsctl "
                                "member add {} SERVER ADDR'), or forget the topology with 'pooldnsctl topology delete "
                                "{}'",
                                role_text(n.role), n.fqdn, n.fqdn, t.fqdn));
            }
        } else if (n.role == "web-internal" || n.role == "web-external") {
            auto pool = db.prepare("SELECT 1 FROM pools WHERE fqdn = ?");
            pool.bind(1, n.fqdn);
            if (pool.step()) {
                add("webpool|" + n.fqdn,
                    fmt::format("the {} '{}' is also a pool FQDN; Microsoft requires the web services FQDN to differ "
                                "from every pool FQDN: delete that pool or give the web services a name of their own",
                                role_text(n.role), n.fqdn));
            }
            server_host.bind(1, n.fqdn);
            if (server_host.step()) {
                add("webhost|" + n.fqdn,
                    fmt::format("the {} '{}' is the host name of server '{}'; the web services FQDN must resolve to "
                                "the VIP only",
                                role_text(n.role), n.fqdn, server_host.column_text(0)));
            }
            server_host.reset();
            for (const auto& other : all) {
                if (other.id >= t.id) continue;  // each pair once, told to the newer topology
                for (const auto& on : other.names) {
                    if ((on.role == "web-internal" || on.role == "web-external") && on.fqdn == n.fqdn) {
                        add(fmt::format("webshared|{}|{}", n.fqdn, other.fqdn),
                            fmt::format("the {} '{}' is also the {} of {} pool '{}'; each Front End pool and Director "
                                        "needs web services FQDNs of its own",
                                        role_text(n.role), n.fqdn, role_text(on.role), other.kind, other.fqdn));
                    }
                }
            }
            auto zone = containing_zone(db, n.fqdn);
            std::string origin = zone ? zone->origin : "ZONE";
            auto addresses = address_records(db, n.fqdn);
            auto vips = vip_addresses(db, t.fqdn);
            std::string vip_list;
            for (const auto& v : vips) vip_list += (vip_list.empty() ? "" : ", ") + v;
            if (addresses.empty()) {
                add("webaddr|" + n.fqdn,
                    fmt::format("the {} '{}' has no address records; it must resolve to the VIP ('pooldnsctl record "
                                "add {} {} 300 A VIP-ADDRESS'; {})",
                                role_text(n.role), n.fqdn, origin, n.fqdn,
                                vips.empty() ? "the pool has no VIP" : "its pool's VIPs listen on " + vip_list));
            }
            for (const auto& a : addresses) {
                if (std::find(vips.begin(), vips.end(), a) != vips.end()) continue;
                add(fmt::format("webvip|{}|{}", n.fqdn, a),
                    fmt::format("the {} '{}' resolves to {}, where no VIP of pool '{}' listens ({}); web services "
                                "traffic must reach the members through the VIP: point it at the VIP ('pooldnsctl "
                                "record replace {} {} 300 {} VIP-ADDRESS')",
                                role_text(n.role), n.fqdn, a, t.fqdn,
                                vips.empty() ? "the pool has no VIP" : "its VIPs listen on " + vip_list, origin, n.fqdn,
                                a.find(':') == std::string::npos ? "A" : "AAAA"));
            }
        }
    }
    if (t.kind == "edge") {
        const TopologyName* internal = nullptr;
        for (const auto& n : t.names) {
            if (n.role == "edge-internal") internal = &n;
        }
        if (internal) {
            std::string inner = answered_as(db, internal->fqdn);
            for (const auto& n : t.names) {
                if (!n.role.starts_with("edge-") || n.role == "edge-internal") continue;
                std::string outer = answered_as(db, n.fqdn);
                if ((inner == "dns" || inner == "hlb") && (outer == "dns" || outer == "hlb") && inner != outer) {
                    add("lbkind|" + n.fqdn,
                        fmt::format("the internal Edge pool '{}' uses {} but the {} '{}' uses {}; Microsoft requires "
                                    "the same kind of load balancing on the internal and external Edge interfaces: "
                                    "make both sides DNS pools or both hardware load-balancer records",
                                    internal->fqdn, lb_text(inner), role_text(n.role), n.fqdn, lb_text(outer)));
                }
            }
        }
    }
}

std::vector<Breach> deployment_breaches(const Database& db) {
    std::vector<Breach> out;
    pool_problems(db, out);
    auto all = load_topologies(db);
    for (const auto& t : all) topology_problems(db, t, all, out);
    return out;
}

}  // namespace

std::string_view topology_kind_name(TopologyKind kind) {
    switch (kind) {
        case TopologyKind::Frontend: return "frontend";
        case TopologyKind::Director: return "director";
        case TopologyKind::Edge: return "edge";
        case TopologyKind::Mediation: return "mediation";
    }
    return "frontend";
}

std::optional<TopologyKind> topology_kind_from_name(std::string_view name) {
    for (auto k : {TopologyKind::Frontend, TopologyKind::Director, TopologyKind::Edge, TopologyKind::Mediation}) {
        if (topology_kind_name(k) == name) return k;
    }
    return std::nullopt;
}

std::vector<Problem> deployment_problems(const Database& db) {
    std::vector<Problem> out;
    for (auto& b : deployment_breaches(db)) out.push_back(std::move(b.problem));
    return out;
}

RulesGuard::RulesGuard(const Database& db, const Transaction& tx) : db_(db), active_(db.rules_guards_ == 0) {
    (void)tx;  // the guard lives inside `tx`: it is built after it and verified before it commits
    if (!active_) return;
    ++db_.rules_guards_;
    for (auto& b : deployment_breaches(db_)) before_.push_back(std::move(b.key));
    std::sort(before_.begin(), before_.end());
}

RulesGuard::~RulesGuard() {
    if (active_) --db_.rules_guards_;
}

Status RulesGuard::verify() const {
    if (!active_) return {};
    // A multiset difference of keys: a breach is new when its key occurs more
    // often now than before the edit.
    auto after = deployment_breaches(db_);
    std::vector<std::string> seen;
    std::string added;
    for (const auto& b : after) {
        seen.push_back(b.key);
        auto before = static_cast<std::size_t>(std::count(before_.begin(), before_.end(), b.key));
        if (static_cast<std::size_t>(std::count(seen.begin(), seen.end(), b.key)) > before) {
            added += fmt::format("\n  {}: {}", b.problem.where, b.problem.message);
        }
    }
    if (added.empty()) return {};
    return Error{fmt::format("this edit would break the DNS load-balancing rules; nothing was changed:{}", added)};
}

// --- creating a topology --------------------------------------------------------

namespace {

struct ServerArg {
    std::string name;
    std::string host;
    std::vector<std::string> addresses;  // canonical: ADDR, or INTERNAL, ACCESS, WEBCONF, AV
};

// "a,b,,c" -> {"a", "b", "", "c"}: the comma-separated fields of an option.
std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
        auto comma = text.find(',', start);
        fields.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) return fields;
        start = comma + 1;
    }
}

Result<std::vector<ServerArg>> parse_servers(const TopologySpec& spec) {
    bool edge = spec.kind == TopologyKind::Edge;
    std::string_view shape = edge ? "NAME,HOST,INTERNAL,ACCESS,WEBCONF,AV" : "NAME,HOST,ADDR";
    if (spec.servers.empty()) return Error{fmt::format("--server: a pool needs at least one server ({})", shape)};
    std::vector<ServerArg> out;
    for (const auto& text : spec.servers) {
        auto fields = split_commas(text);
        if (fields.size() != (edge ? 6u : 3u) ||
            std::any_of(fields.begin(), fields.end(), [](const std::string& f) { return f.empty(); })) {
            return Error{fmt::format("--server: '{}' must be {}", text, shape)};
        }
        for (const auto& o : out) {
            if (o.name == fields[0]) return Error{fmt::format("--server: server '{}' is given twice", fields[0])};
        }
        static constexpr std::array<const char*, 4> kEdgeFields = {"INTERNAL", "ACCESS", "WEBCONF", "AV"};
        std::vector<std::string> addresses;
        for (std::size_t i = 2; i < fields.size(); ++i) {
            std::string what = fmt::format("--server {}: {}", fields[0], edge ? kEdgeFields[i - 2] : "ADDR");
            auto a = canonical_address(fields[i], what);
            if (!a) return a.error();
            if (edge && i > 2 && *a == addresses[0]) {
                return Error{fmt::format("{}: {} is the server's INTERNAL address; the external services need its "
                                         "external addresses",
                                         what, *a)};
            }
            addresses.push_back(*a);
        }
        out.push_back({fields[0], fields[1], std::move(addresses)});
    }
    return out;
}

Result<std::string> name_arg(const std::optional<std::string>& text, std::string_view what) {
    if (!text) return Error{fmt::format("{}: required for this topology", what)};
    auto name = absolute_name(*text, what);
    if (!name) return name.error();
    if (*name == "." || name->find('*') != std::string::npos) {
        return Error{fmt::format("{}: '{}' must be one plain host name", what, *name)};
    }
    return name;
}

Result<std::array<std::string, 4>> ports_arg(const std::optional<std::string>& text, std::string_view what,
                                             std::array<std::string, 4> fallback) {
    if (!text) return fallback;
    auto fields = split_commas(*text);
    if (fields.size() != 4) {
        return Error{fmt::format("{}: '{}' must be four ports: HTTPS,HTTP,EXTERNAL_HTTPS,EXTERNAL_HTTP", what, *text)};
    }
    std::array<std::string, 4> out;
    for (std::size_t i = 0; i < 4; ++i) {
        auto n = parse_whole(fields[i], what, 1, 65535);
        if (!n) return n.error();
        out[i] = std::to_string(*n);
    }
    return out;
}

std::string address_type_text(std::string_view canonical) {
    return canonical.find(':') == std::string_view::npos ? "A" : "AAAA";
}

std::string listen_text(std::string_view address, std::string_view port) {
    return address.find(':') == std::string_view::npos ? fmt::format("{}:{}", address, port)
                                                        : fmt::format("[{}]:{}", address, port);
}

// The first label of the pool FQDN: the stem of the VIP names.
std::string first_label(std::string_view fqdn) { return std::string(fqdn.substr(0, fqdn.find('.'))); }

class Builder {
public:
    Builder(const Database& db, const std::string& command, const TopologySpec& spec)
        : db_(db), spec_(spec), zones_(db, command), pools_(db, command), vips_(db, command) {}

    std::vector<std::string> created;
    std::vector<TopologyName> names;

    Status server(const ServerArg& s, std::vector<std::string> addresses, std::vector<std::string> service) {
        ServerSpec ss;
        ss.name = s.name;
        ss.host = s.host;
        ss.addresses = std::move(addresses);
        ss.service_addresses = std::move(service);
        auto info = pools_.add_server(ss);
        if (!info) return Error{fmt::format("--server {}: {}", s.name, info.error().message)};
        if (info->zone.empty()) {
            return Error{fmt::format("--server {}: no zone served here contains the host name '{}'; every pool "
                                     "member needs its own host record here (create the zone first)",
                                     s.name, info->host)};
        }
        std::string host_text, service_text;
        for (const auto& a : info->addresses) host_text += (host_text.empty() ? "" : ", ") + a;
        for (const auto& a : info->service_addresses) service_text += (service_text.empty() ? "" : ", ") + a;
        created.push_back(fmt::format("server {}: host record {} -> {}{}", info->name, info->host, host_text,
                                      service_text.empty() ? "" : "; service addresses " + service_text));
        return {};
    }

    // A pool of `members` (server name, address) checked with `check`; errors
    // are prefixed with `option` (the Edge service's) unless it is empty.
    Status pool(std::string_view fqdn, std::string_view role, std::string_view option, const std::string& check,
                const std::vector<std::pair<std::string, std::string>>& members) {
        PoolSpec ps;
        ps.fqdn = std::string(fqdn);
        ps.check = check;
        ps.interval = spec_.interval;
        ps.timeout = spec_.timeout;
        ps.rise = spec_.rise;
        ps.fall = spec_.fall;
        ps.ttl = spec_.ttl;
        if (!members.empty() && members.front().second.find(':') != std::string::npos) ps.type = "AAAA";
        auto p = pools_.add_pool(ps);
        if (!p) return option.empty() ? p.error() : Error{fmt::format("{}: {}", option, p.error().message)};
        std::string list;
        for (const auto& [server, address] : members) {
            auto m = pools_.add_member(fqdn, server, address, std::nullopt, std::nullopt);
            if (!m) return Error{fmt::format("--server {}: {}", server, m.error().message)};
            list += fmt::format("{}{} {}", list.empty() ? "" : ", ", server, address);
        }
        created.push_back(fmt::format("pool {} ({}): check {} every {} ms, members {}", p->fqdn, role_text(role),
                                      p->check, p->interval_ms, list));
        names.push_back({std::string(role), p->fqdn, "dns"});
        return {};
    }

    Status record(std::string_view option, std::string_view owner, std::string_view ttl, std::string_view type,
                  const std::string& rdata) {
        auto zone = containing_zone(db_, owner);
        if (!zone) {
            return Error{fmt::format("{}: no zone served here contains '{}'; create the zone first ('pooldnsctl zone "
                                     "create')",
                                     option, owner)};
        }
        // A record left at the name (from a topology deleted earlier, say) would
        // stay beside the new one: the name must be free of this type.
        auto held = db_.prepare("SELECT 1 FROM records WHERE zone_id = ? AND owner = ? AND type = ?");
        held.bind_all(zone->id, owner, static_cast<std::int64_t>(type_from_text(type)));
        if (held.step()) {
            return Error{fmt::format("{}: zone {} already has {} records at '{}'; delete them first ('pooldnsctl "
                                     "record delete {} {} {}') or choose another name",
                                     option, zone->origin, type, owner, zone->origin, owner, type)};
        }
        auto r = zones_.add_record(zone->origin, owner, ttl, type, rdata);
        if (!r) return Error{fmt::format("{}: {}", option, r.error().message)};
        created.push_back(fmt::format("record {} {} {} {}", owner, ttl, type, rdata));
        return {};
    }

    Status vip(const std::string& name, const std::string& listen, const std::string& backend_port, bool tls,
               std::string_view persist) {
        VipSpec vs;
        vs.name = name;
        vs.listen = listen;
        vs.pool = spec_.fqdn;
        vs.backend_port = backend_port;
        if (tls) {
            vs.tls_certs = spec_.tls_certs;
            vs.tls_keys = spec_.tls_keys;
            vs.backend_tls = "on";
            if (spec_.backend_ca) vs.backend_ca = spec_.backend_ca;
        }
        vs.persist = std::string(persist);
        vs.idle_timeout = "1800";
        auto v = vips_.add_vip(vs);
        if (!v) return Error{fmt::format("vip {}: {}", name, v.error().message)};
        created.push_back(fmt::format("vip {}: {} {} -> members port {}{}, persist {}{}", v->name,
                                      tls ? "https" : "http", v->listen, v->backend_port,
                                      tls ? " over TLS" : "", v->persist,
                                      v->persist == "cookie" ? " " + v->cookie_name : ""));
        return {};
    }

private:
    const Database& db_;
    const TopologySpec& spec_;
    ZoneStore zones_;
    PoolStore pools_;
    VipStore vips_;
};

std::string check_or(const std::optional<std::string>& given, std::string_view fallback) {
    return given ? *given : std::string(fallback);
}

}  // namespace

Result<TopologyReport> TopologyStore::create(const TopologySpec& spec_in) {
    TopologySpec spec = spec_in;
    auto fqdn = pool_name(spec.fqdn);
    if (!fqdn) return fqdn.error();
    spec.fqdn = *fqdn;
    auto servers = parse_servers(spec);
    if (!servers) return servers.error();
    const bool web = spec.kind == TopologyKind::Frontend || spec.kind == TopologyKind::Director;
    const bool edge = spec.kind == TopologyKind::Edge;
    // Options that belong to another kind are mistakes, not silently ignored.
    auto reject = [&](bool given, std::string_view option) -> Status {
        if (given) {
            return Error{fmt::format("{}: not an option of 'topology {}'", option, topology_kind_name(spec.kind))};
        }
        return {};
    };
    for (auto s : {reject(!web && spec.web_internal.has_value(), "--web-internal"),
                   reject(!web && spec.web_external.has_value(), "--web-external"),
                   reject(!web && spec.vip.has_value(), "--vip"),
                   reject(!web && spec.vip_external.has_value(), "--vip-external"),
                   reject(!web && !spec.tls_certs.empty(), "--tls-cert"),
                   reject(!web && !spec.tls_keys.empty(), "--tls-key"),
                   reject(!web && spec.backend_ca.has_value(), "--backend-ca"),
                   reject(!web && spec.ports.has_value(), "--ports"),
                   reject(!web && spec.backend_ports.has_value(), "--backend-ports"),
                   reject(!edge && spec.access.has_value(), "--access"),
                   reject(!edge && spec.webconf.has_value(), "--webconf"),
                   reject(!edge && spec.av.has_value(), "--av"),
                   reject(!edge && spec.access_check.has_value(), "--access-check"),
                   reject(!edge && spec.webconf_check.has_value(), "--webconf-check"),
                   reject(!edge && spec.av_check.has_value(), "--av-check"),
                   reject(!edge && spec.internal_hlb.has_value(), "--internal-hlb"),
                   reject(!edge && spec.external_hlb.has_value(), "--external-hlb"),
                   reject(spec.kind == TopologyKind::Mediation && spec.discovery, "--discovery"),
                   reject(spec.kind == TopologyKind::Mediation && spec.sip_domain.has_value(), "--sip-domain")}) {
        if (!s) return s.error();
    }
    if (spec.sip_domain && !spec.discovery) {
        return Error{"--sip-domain: only used with --discovery (the domain of the discovery records)"};
    }

    // Health checks, named by the option that gave them.
    for (const auto& [given, option] : {std::pair{&spec.check, "--check"}, {&spec.access_check, "--access-check"},
                                        {&spec.webconf_check, "--webconf-check"}, {&spec.av_check, "--av-check"}}) {
        if (!*given || **given == "none") continue;
        if (auto c = parse_check_spec(**given); !c) return Error{fmt::format("{}: {}", option, c.error().message)};
    }

    // Front End / Director: web services names, VIP addresses and ports.
    std::string web_internal, web_external, vip_internal, vip_external;
    std::array<std::string, 4> ports{"443", "80", "4443", "8080"}, backend_ports{};
    if (web) {
        auto wi = name_arg(spec.web_internal, "--web-internal");
        if (!wi) return wi.error();
        auto we = name_arg(spec.web_external, "--web-external");
        if (!we) return we.error();
        web_internal = *wi;
        web_external = *we;
        for (const auto& [name, option] : {std::pair{web_internal, "--web-internal"}, {web_external, "--web-external"}}) {
            if (name == spec.fqdn) {
                return Error{fmt::format("{}: '{}' is the pool FQDN; Microsoft requires the web services FQDN to "
                                         "differ from the pool FQDN (for example web-{})",
                                         option, name, spec.fqdn)};
            }
        }
        if (!spec.vip) return Error{"--vip: required: the address of the web services VIP"};
        auto vi = canonical_address(*spec.vip, "--vip");
        if (!vi) return vi.error();
        vip_internal = *vi;
        vip_external = vip_internal;
        if (spec.vip_external) {
            auto ve = canonical_address(*spec.vip_external, "--vip-external");
            if (!ve) return ve.error();
            vip_external = *ve;
        }
        if (web_internal == web_external && vip_internal != vip_external) {
            return Error{fmt::format("--web-external: '{}' is also the internal web services FQDN, so it cannot "
                                     "resolve to both {} and {}; give the external web services a name of their own",
                                     web_external, vip_internal, vip_external)};
        }
        if (spec.tls_certs.empty()) {
            return Error{"--tls-cert: required: the certificate the HTTPS listeners present (with --tls-key)"};
        }
        auto p = ports_arg(spec.ports, "--ports", ports);
        if (!p) return p.error();
        ports = *p;
        auto bp = ports_arg(spec.backend_ports, "--backend-ports", ports);
        if (!bp) return bp.error();
        backend_ports = *bp;
    }

    // Edge: the external service names; a hardware LB on one side needs one on the other.
    std::string access, webconf, av;
    std::string internal_hlb;
    std::array<std::string, 3> external_hlb;
    if (edge) {
        auto a = name_arg(spec.access, "--access");
        if (!a) return a.error();
        auto w = name_arg(spec.webconf, "--webconf");
        if (!w) return w.error();
        auto v = name_arg(spec.av, "--av");
        if (!v) return v.error();
        access = *a;
        webconf = *w;
        av = *v;
        if (spec.internal_hlb.has_value() != spec.external_hlb.has_value()) {
            return Error{fmt::format(
                "{}: the {} Edge interface would sit behind a hardware load balancer and the {} one use DNS load "
                "balancing; Microsoft requires the same kind on both sides: give both --internal-hlb and "
                "--external-hlb, or neither",
                spec.internal_hlb ? "--internal-hlb" : "--external-hlb", spec.internal_hlb ? "internal" : "external",
                spec.internal_hlb ? "external" : "internal")};
        }
        if (spec.internal_hlb) {
            auto addr = canonical_address(*spec.internal_hlb, "--internal-hlb");
            if (!addr) return addr.error();
            internal_hlb = *addr;
            auto fields = split_commas(*spec.external_hlb);
            if (fields.size() != 3) {
                return Error{fmt::format("--external-hlb: '{}' must be ACCESS_ADDR,WEBCONF_ADDR,AV_ADDR",
                                         *spec.external_hlb)};
            }
            for (std::size_t i = 0; i < 3; ++i) {
                auto e = canonical_address(fields[i], "--external-hlb");
                if (!e) return e.error();
                external_hlb[i] = *e;
            }
        }
    }

    return guarded<TopologyReport>(fmt::format("topology {}", topology_kind_name(spec.kind)),
                                   [&]() -> Result<TopologyReport> {
        EditTransaction tx(db_);
        auto exists = db_.prepare("SELECT kind FROM topologies WHERE fqdn = ?");
        exists.bind(1, spec.fqdn);
        if (exists.step()) {
            return Error{fmt::format("POOL: '{}' is already a {} topology ('pooldnsctl topology show {}')", spec.fqdn,
                                     exists.column_text(0), spec.fqdn)};
        }
        auto pool_zone = containing_zone(db_, spec.fqdn);
        if (!pool_zone) {
            return Error{fmt::format("POOL: no zone served here contains '{}'; create the zone first ('pooldnsctl "
                                     "zone create')",
                                     spec.fqdn)};
        }
        Builder b(db_, command_, spec);
        // Servers: host records on the internal (or only) address; an Edge
        // server's external addresses are service addresses.
        for (const auto& s : *servers) {
            // One public address may carry all three Edge services (told apart by
            // port): each distinct address once, none repeating the internal one.
            std::vector<std::string> service;
            if (edge) {
                for (auto it = s.addresses.begin() + 1; it != s.addresses.end(); ++it) {
                    if (std::find(service.begin(), service.end(), *it) == service.end()) service.push_back(*it);
                }
            }
            if (auto st = b.server(s, {s.addresses[0]}, service); !st) return st.error();
        }
        auto members = [&](std::size_t field) {
            std::vector<std::pair<std::string, std::string>> out;
            for (const auto& s : *servers) out.emplace_back(s.name, s.addresses[field]);
            return out;
        };
        switch (spec.kind) {
            case TopologyKind::Frontend:
            case TopologyKind::Director: {
                if (auto st = b.pool(spec.fqdn, "pool", "", check_or(spec.check, "sips:5061"), members(0)); !st) {
                    return st.error();
                }
                if (auto st = b.record("--web-internal", web_internal, kAddressTtl, address_type_text(vip_internal),
                                       vip_internal);
                    !st) {
                    return st.error();
                }
                b.names.push_back({"web-internal", web_internal, "vip"});
                if (web_external != web_internal) {
                    if (auto st = b.record("--web-external", web_external, kAddressTtl,
                                           address_type_text(vip_external), vip_external);
                        !st) {
                        return st.error();
                    }
                }
                b.names.push_back({"web-external", web_external, "vip"});
                // SfB's VIP requirements: source persistence inside, MS-WSMAN cookies
                // behind the reverse proxy, TLS re-encrypted to the members.
                std::string stem = first_label(spec.fqdn);
                struct Listener {
                    std::string suffix;
                    const std::string& address;
                    std::size_t port;
                    bool tls;
                    std::string_view persist;
                };
                for (const auto& l : {Listener{"-int-https", vip_internal, 0, true, "source"},
                                      Listener{"-int-http", vip_internal, 1, false, "source"},
                                      Listener{"-ext-https", vip_external, 2, true, "cookie"},
                                      Listener{"-ext-http", vip_external, 3, false, "cookie"}}) {
                    if (auto st = b.vip(stem + l.suffix, listen_text(l.address, ports[l.port]),
                                        backend_ports[l.port], l.tls, l.persist);
                        !st) {
                        return st.error();
                    }
                }
                break;
            }
            case TopologyKind::Edge: {
                std::string checks[4] = {check_or(spec.check, "sips:5061"), check_or(spec.access_check, "sips:5061"),
                                         check_or(spec.webconf_check, "tls:443"), check_or(spec.av_check, "tcp:443")};
                const std::string* fqdns[4] = {&spec.fqdn, &access, &webconf, &av};
                const char* roles[4] = {"edge-internal", "edge-access", "edge-webconf", "edge-av"};
                const char* options[4] = {"", "--access", "--webconf", "--av"};
                const char* hlb_options[4] = {"POOL", "--access", "--webconf", "--av"};
                for (std::size_t i = 0; i < 4; ++i) {
                    const std::string& hlb = i == 0 ? internal_hlb : external_hlb[i - 1];
                    if (hlb.empty()) {
                        if (auto st = b.pool(*fqdns[i], roles[i], options[i], checks[i], members(i)); !st) {
                            return st.error();
                        }
                    } else {
                        if (auto st = b.record(hlb_options[i], *fqdns[i], kAddressTtl, address_type_text(hlb), hlb);
                            !st) {
                            return st.error();
                        }
                        b.names.push_back({roles[i], *fqdns[i], "hlb"});
                    }
                }
                break;
            }
            case TopologyKind::Mediation:
                if (auto st = b.pool(spec.fqdn, "pool", "", check_or(spec.check, "sip:5070"), members(0)); !st) {
                    return st.error();
                }
                break;
        }
        if (spec.discovery) {
            std::string domain = pool_zone->origin;
            if (spec.sip_domain) {
                auto d = absolute_name(*spec.sip_domain, "--sip-domain");
                if (!d) return d.error();
                domain = *d;
            }
            auto under = [&](std::string_view label) { return fmt::format("{}.{}", label, domain); };
            std::vector<std::array<std::string, 3>> records;  // owner, type, rdata
            if (web) {
                records.push_back({under("_sipinternaltls._tcp"), "SRV", fmt::format("0 0 5061 {}", spec.fqdn)});
                records.push_back({under("sipinternal"), "CNAME", spec.fqdn});
                records.push_back({under("lyncdiscoverinternal"), "CNAME", web_internal});
                records.push_back({under("lyncdiscover"), "CNAME", web_external});
            } else {
                records.push_back({under("_sip._tls"), "SRV", fmt::format("0 0 443 {}", access)});
                records.push_back({under("_sipfederationtls._tcp"), "SRV", fmt::format("0 0 5061 {}", access)});
                if (access != under("sip")) records.push_back({under("sip"), "CNAME", access});
            }
            for (const auto& [owner, type, rdata] : records) {
                if (auto st = b.record("--discovery", owner, kDiscoveryTtl, type, rdata); !st) return st.error();
                b.names.push_back({"discovery", owner, "record"});
            }
        }
        auto ins = db_.prepare("INSERT INTO topologies (fqdn, kind) VALUES (?, ?)");
        ins.bind_all(spec.fqdn, topology_kind_name(spec.kind));
        ins.run();
        std::int64_t id = db_.last_insert_rowid();
        auto name = db_.prepare("INSERT OR IGNORE INTO topology_names (topology_id, role, fqdn, lb) VALUES (?, ?, ?, ?)");
        for (const auto& n : b.names) {
            name.bind_all(id, n.role, n.fqdn, n.lb);
            name.run();
            name.reset();
        }
        audit(db_, command_, fmt::format("topology {}", topology_kind_name(spec.kind)), spec.fqdn,
              fmt::format("{} servers, {} objects", servers->size(), b.created.size()));
        TopologyReport report;
        report.created = std::move(b.created);
        auto stored = topologies(spec.fqdn);
        if (!stored) return stored.error();
        report.topology = std::move(stored->front());
        if (auto broken = tx.commit(); !broken) return broken.error();
        return report;
    });
}

Result<std::vector<TopologyInfo>> TopologyStore::topologies(std::string_view fqdn_arg) const {
    std::string fqdn;
    if (!fqdn_arg.empty()) {
        auto name = pool_name(fqdn_arg);
        if (!name) return name.error();
        fqdn = *name;
    }
    return guarded<std::vector<TopologyInfo>>("topology show", [&]() -> Result<std::vector<TopologyInfo>> {
        auto stored = load_topologies(db_, fqdn);
        if (!fqdn.empty() && stored.empty()) {
            return Error{fmt::format("POOL: no topology '{}' ('pooldnsctl topology show' lists them)", fqdn)};
        }
        auto problems = deployment_problems(db_);
        PoolStore pools(db_, command_);
        VipStore vips(db_, command_);
        auto all_vips = vips.vips();
        if (!all_vips) return all_vips.error();
        ZoneStore zones(db_, command_);
        std::vector<TopologyInfo> out;
        for (auto& t : stored) {
            TopologyInfo info;
            info.fqdn = t.fqdn;
            info.kind = topology_kind_from_name(t.kind).value_or(TopologyKind::Frontend);
            info.created_at = t.created_at;
            info.names = t.names;
            std::set<std::string> pool_names;
            for (const auto& n : t.names) {
                if (is_pool_role(n.role) && answered_as(db_, n.fqdn) == "dns") {
                    auto p = pools.pools(n.fqdn);
                    if (p && !p->empty()) {
                        info.pools.push_back(p->front());
                        pool_names.insert(n.fqdn);
                    }
                } else if (auto zone = containing_zone(db_, n.fqdn)) {
                    auto r = zones.records(zone->origin, n.fqdn);
                    if (r) {
                        for (auto& rec : *r) {
                            if (rec.owner == n.fqdn) info.records.push_back(std::move(rec));
                        }
                    }
                }
            }
            for (const auto& v : *all_vips) {
                if (pool_names.count(v.pool)) info.vips.push_back(v);
            }
            for (const auto& p : problems) {
                if (p.where == "topology " + t.fqdn ||
                    (p.where.starts_with("pool ") && pool_names.count(p.where.substr(5)))) {
                    info.problems.push_back(p);
                }
            }
            out.push_back(std::move(info));
        }
        return out;
    });
}

Result<TopologyInfo> TopologyStore::remove(std::string_view fqdn_arg) {
    auto fqdn = pool_name(fqdn_arg);
    if (!fqdn) return fqdn.error();
    auto current = topologies(*fqdn);
    if (!current) return current.error();
    return guarded<TopologyInfo>("topology delete", [&]() -> Result<TopologyInfo> {
        EditTransaction tx(db_);
        auto still = db_.prepare("SELECT 1 FROM topologies WHERE fqdn = ?");
        still.bind(1, *fqdn);
        if (!still.step()) {
            return Error{fmt::format("POOL: no topology '{}' ('pooldnsctl topology show' lists them)", *fqdn)};
        }
        auto del = db_.prepare("DELETE FROM topologies WHERE fqdn = ?");
        del.bind(1, *fqdn);
        del.run();
        audit(db_, command_, "topology delete", *fqdn,
              fmt::format("{} topology forgotten; its pools, servers, VIPs and records stay",
                          topology_kind_name(current->front().kind)));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return current->front();
    });
}

Result<std::vector<Problem>> TopologyStore::check() const {
    return guarded<std::vector<Problem>>("topology check",
                                         [&]() -> Result<std::vector<Problem>> { return deployment_problems(db_); });
}

}  // namespace pooldns
