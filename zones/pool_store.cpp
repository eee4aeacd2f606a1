// Servers, pools and members: each public operation is one SQLite transaction
// that validates, writes, bumps the serial of the zones whose served data it
// changes and writes an audit row, or rolls back.
#include "pooldns/pool_store.hpp"

#include "edit.hpp"
#include "pooldns/topology.hpp"
#include "pooldns/check_spec.hpp"
#include "pooldns/record.hpp"

#include <arpa/inet.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace pooldns {

namespace {

constexpr std::uint16_t kTypeA = 1, kTypeNs = 2, kTypeCname = 5, kTypeAaaa = 28, kTypeDname = 39;

std::optional<std::int64_t> find_id(const Database& db, std::string_view sql, std::string_view key) {
    auto st = db.prepare(sql);
    st.bind(1, key);
    if (!st.step()) return std::nullopt;
    return st.column_int(0);
}

Error unknown_server(std::string_view name) {
    return Error{fmt::format("SERVER: unknown server '{}' ('pooldnsctl server list' shows the servers)", name)};
}

Error unknown_pool(std::string_view fqdn) {
    return Error{fmt::format("POOL: unknown pool '{}' ('pooldnsctl pool list' shows the pools)", fqdn)};
}

// Record types stored at `owner` in zone `zone_id`.
std::vector<std::uint16_t> stored_types(const Database& db, std::int64_t zone_id, std::string_view owner) {
    auto st = db.prepare("SELECT DISTINCT type FROM records WHERE zone_id = ? AND owner = ?");
    st.bind_all(zone_id, owner);
    std::vector<std::uint16_t> out;
    while (st.step()) out.push_back(static_cast<std::uint16_t>(st.column_int(0)));
    return out;
}

// A name at or below a delegation point of its zone is not ours to answer.
std::optional<std::string> delegation_above(const Database& db, const ZoneRef& zone, std::string_view name) {
    auto st = db.prepare("SELECT 1 FROM records WHERE zone_id = ? AND owner = ? AND type = 2");
    std::string_view n = name;
    while (n.size() > zone.origin.size()) {
        st.bind_all(zone.id, n);
        bool cut = st.step();
        st.reset();
        if (cut) return std::string(n);
        auto dot = n.find('.');
        n.remove_prefix(dot + 1);
    }
    return std::nullopt;
}

std::string family_name(std::uint16_t type) { return type == kTypeA ? "IPv4" : "IPv6"; }

std::uint16_t address_type(std::string_view canonical) { return canonical.find(':') == std::string_view::npos ? kTypeA : kTypeAaaa; }

// The pools a server is a member of, as (pool id, zone id).
std::vector<std::pair<std::int64_t, std::int64_t>> pools_of_server(const Database& db, std::int64_t server_id) {
    auto st = db.prepare("SELECT p.id, p.zone_id FROM members m JOIN pools p ON p.id = m.pool_id WHERE m.server_id = ?");
    st.bind(1, server_id);
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    while (st.step()) out.emplace_back(st.column_int(0), st.column_int(1));
    return out;
}

Status bump_zones(const Database& db, const std::set<std::int64_t>& zones) {
    for (auto id : zones) {
        auto serial = bump_serial(db, id, current_serial(db, id));
        if (!serial) return serial.error();
    }
    return {};
}

ServerInfo load_server(const Database& db, std::int64_t id) {
    ServerInfo info;
    auto st = db.prepare("SELECT name, host, admin_state, ttl FROM servers WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) return info;
    info.name = st.column_text(0);
    info.host = st.column_text(1);
    info.admin = admin_state_from_name(st.column_text_view(2)).value_or(AdminState::Enabled);
    info.ttl = static_cast<std::uint32_t>(st.column_int(3));
    auto addrs = db.prepare("SELECT address, host_record FROM server_addresses WHERE server_id = ? ORDER BY rowid");
    addrs.bind(1, id);
    while (addrs.step()) {
        (addrs.column_int(1) ? info.addresses : info.service_addresses).push_back(addrs.column_text(0));
    }
    if (auto zone = containing_zone(db, info.host)) info.zone = zone->origin;
    auto pools = db.prepare("SELECT p.fqdn FROM members m JOIN pools p ON p.id = m.pool_id WHERE m.server_id = ? "
                            "ORDER BY p.fqdn");
    pools.bind(1, id);
    while (pools.step()) info.pools.push_back(pools.column_text(0));
    return info;
}

std::vector<MemberInfo> load_members(const Database& db, std::int64_t pool_id) {
    auto st = db.prepare(
        "SELECT s.name, s.host, m.address, coalesce(m.probe_address, ''), m.weight, s.admin_state, "
        "coalesce(h.state, 'unknown'), coalesce(h.since, ''), coalesce(h.last_probe_at, ''), "
        "coalesce(h.last_result, ''), h.last_latency_ms, "
        "(julianday('now') - julianday(h.last_probe_at)) * 86400.0 "
        "FROM members m JOIN servers s ON s.id = m.server_id "
        "LEFT JOIN member_health h ON h.pool_id = m.pool_id AND h.server_id = m.server_id "
        "WHERE m.pool_id = ? ORDER BY s.name");
    st.bind(1, pool_id);
    std::vector<MemberInfo> out;
    while (st.step()) {
        MemberInfo m;
        m.server = st.column_text(0);
        m.host = st.column_text(1);
        m.address = st.column_text(2);
        m.probe_address = st.column_text(3);
        m.weight = static_cast<std::uint32_t>(st.column_int(4));
        m.admin = admin_state_from_name(st.column_text_view(5)).value_or(AdminState::Enabled);
        m.health = st.column_text(6);
        m.since = st.column_text(7);
        m.last_probe_at = st.column_text(8);
        m.last_result = st.column_text(9);
        if (!st.column_is_null(10)) {
            double v = 0;
            auto text = st.column_text(10);
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec == std::errc()) m.last_latency_ms = v;
        }
        if (!st.column_is_null(11)) {
            double v = 0;
            auto text = st.column_text(11);
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec == std::errc()) m.last_probe_age_s = v;
        }
        out.push_back(std::move(m));
    }
    return out;
}

constexpr std::string_view kPoolColumns =
    "p.id, p.fqdn, z.origin, p.type, p.ttl, p.degraded_ttl, p.max_records, p.all_down, coalesce(p.check_spec, ''), "
    "p.interval_ms, p.timeout_ms, p.rise, p.fall, coalesce(p.source, '')";

PoolInfo pool_from_row(const Statement& st) {
    PoolInfo p;
    p.fqdn = st.column_text(1);
    p.zone = st.column_text(2);
    p.type = static_cast<std::uint16_t>(st.column_int(3));
    p.ttl = static_cast<std::uint32_t>(st.column_int(4));
    if (!st.column_is_null(5)) p.degraded_ttl = static_cast<std::uint32_t>(st.column_int(5));
    if (!st.column_is_null(6)) p.max_records = static_cast<std::uint32_t>(st.column_int(6));
    p.all_down = st.column_text(7);
    p.check = st.column_text(8);
    p.interval_ms = static_cast<std::uint32_t>(st.column_int(9));
    p.timeout_ms = static_cast<std::uint32_t>(st.column_int(10));
    p.rise = static_cast<std::uint32_t>(st.column_int(11));
    p.fall = static_cast<std::uint32_t>(st.column_int(12));
    p.source = st.column_text(13);
    return p;
}

std::optional<PoolInfo> load_pool(const Database& db, std::string_view fqdn, std::int64_t* id = nullptr) {
    auto st = db.prepare(fmt::format("SELECT {} FROM pools p JOIN zones z ON z.id = p.zone_id WHERE p.fqdn = ?",
                                     kPoolColumns));
    st.bind(1, fqdn);
    if (!st.step()) return std::nullopt;
    PoolInfo p = pool_from_row(st);
    if (id) *id = st.column_int(0);
    p.members = load_members(db, st.column_int(0));
    return p;
}

// Applies the set fields of `spec` onto `pool`, validating each.
Status apply_spec(const Database& db, const PoolSpec& spec, PoolInfo& pool) {
    if (spec.type) {
        std::string t(*spec.type);
        std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::toupper(c); });
        if (t == "A") {
            pool.type = kTypeA;
        } else if (t == "AAAA") {
            pool.type = kTypeAaaa;
        } else {
            return Error{fmt::format("--type: '{}' must be A or AAAA", *spec.type)};
        }
    }
    if (spec.ttl) {
        auto ttl = parse_ttl(*spec.ttl, "--ttl");
        if (!ttl) return ttl.error();
        pool.ttl = *ttl;
    }
    if (spec.degraded_ttl) {
        if (*spec.degraded_ttl == "none") {
            pool.degraded_ttl.reset();
        } else {
            auto ttl = parse_ttl(*spec.degraded_ttl, "--degraded-ttl");
            if (!ttl) return ttl.error();
            pool.degraded_ttl = *ttl;
        }
    }
    if (spec.max_records) {
        if (*spec.max_records == "none") {
            pool.max_records.reset();
        } else {
            auto n = parse_whole(*spec.max_records, "--max-records", 1, 1000);
            if (!n) return n.error();
            pool.max_records = *n;
        }
    }
    if (spec.check) {
        if (*spec.check == "none") {
            pool.check.clear();
        } else {
            auto check = parse_check_spec(*spec.check);
            if (!check) return Error{fmt::format("--check: {}", check.error().message)};
            pool.check = format_check_spec(*check);
        }
    }
    if (spec.interval) {
        auto ms = parse_duration_ms(*spec.interval, "--interval", 100, 86400 * 1000);
        if (!ms) return ms.error();
        pool.interval_ms = *ms;
    }
    if (spec.timeout) {
        auto ms = parse_duration_ms(*spec.timeout, "--timeout", 10, 60 * 1000);
        if (!ms) return ms.error();
        pool.timeout_ms = *ms;
    }
    if (pool.timeout_ms > pool.interval_ms) {
        return Error{fmt::format("--timeout: {} ms is longer than the interval ({} ms); a probe must end before the "
                                 "next is due",
                                 pool.timeout_ms, pool.interval_ms)};
    }
    if (spec.rise) {
        auto n = parse_whole(*spec.rise, "--rise", 1, 100);
        if (!n) return n.error();
        pool.rise = *n;
    }
    if (spec.fall) {
        auto n = parse_whole(*spec.fall, "--fall", 1, 100);
        if (!n) return n.error();
        pool.fall = *n;
    }
    if (spec.source) {
        if (*spec.source == "none") {
            pool.source.clear();
        } else {
            auto addr = canonical_address(*spec.source, "--source");
            if (!addr) return addr.error();
            pool.source = *addr;
        }
    }
    if (!pool.source.empty()) {
        // Probes go to members' addresses of the pool's family, so the source must be of it too.
        if (address_type(pool.source) != pool.type) {
            return Error{fmt::format("--source: {} is an {} address but pool '{}' holds {} members", pool.source,
                                     family_name(address_type(pool.source)), pool.fqdn, family_name(pool.type))};
        }
    }
    if (spec.all_down) {
        std::string_view policy = *spec.all_down;
        if (policy == "all" || policy == "none") {
            pool.all_down = std::string(policy);
        } else if (policy.starts_with("backup:")) {
            auto backup = pool_name(policy.substr(7));
            if (!backup) return Error{fmt::format("--all-down: {}", backup.error().message)};
            if (*backup == pool.fqdn) return Error{fmt::format("--all-down: pool '{}' cannot be its own backup", pool.fqdn)};
            // Follow the chain from the backup: it must exist and never come back here.
            std::string at = *backup;
            std::vector<std::string> chain{pool.fqdn};
            for (int depth = 0; depth < 64; ++depth) {
                auto st = db.prepare("SELECT all_down FROM pools WHERE fqdn = ?");
                st.bind(1, at);
                if (!st.step()) {
                    return Error{fmt::format("--all-down: backup pool '{}' does not exist{}", at,
                                             at == *backup ? "" : fmt::format(" (named by '{}')", chain.back()))};
                }
                chain.push_back(at);
                std::string next = st.column_text(0);
                if (!next.starts_with("backup:")) break;
                next = next.substr(7);
                if (next == pool.fqdn) {
                    std::string path;
                    for (const auto& c : chain) path += c + " -> ";
                    return Error{fmt::format("--all-down: backup pools would form a loop: {}{}", path, pool.fqdn)};
                }
                at = next;
            }
            auto type = db.prepare("SELECT type FROM pools WHERE fqdn = ?");
            type.bind(1, *backup);
            if (type.step() && type.column_int(0) != pool.type) {
                return Error{fmt::format("--all-down: backup pool '{}' answers {} records, '{}' answers {}", *backup,
                                         type.column_int(0) == kTypeA ? "A" : "AAAA", pool.fqdn,
                                         pool.type == kTypeA ? "A" : "AAAA")};
            }
            pool.all_down = "backup:" + *backup;
        } else {
            return Error{fmt::format("--all-down: '{}' must be all, none or backup:FQDN", policy)};
        }
    }
    return {};
}

void write_pool(const Database& db, const PoolInfo& p, std::int64_t id) {
    auto st = db.prepare(
        "UPDATE pools SET type = ?, ttl = ?, degraded_ttl = ?, max_records = ?, all_down = ?, check_spec = ?, "
        "interval_ms = ?, timeout_ms = ?, rise = ?, fall = ?, source = ? WHERE id = ?");
    st.bind(1, static_cast<std::int64_t>(p.type)).bind(2, static_cast<std::int64_t>(p.ttl));
    if (p.degraded_ttl) st.bind(3, static_cast<std::int64_t>(*p.degraded_ttl)); else st.bind(3, std::nullopt);
    if (p.max_records) st.bind(4, static_cast<std::int64_t>(*p.max_records)); else st.bind(4, std::nullopt);
    st.bind(5, p.all_down);
    if (p.check.empty()) st.bind(6, std::nullopt); else st.bind(6, p.check);
    st.bind(7, static_cast<std::int64_t>(p.interval_ms)).bind(8, static_cast<std::int64_t>(p.timeout_ms));
    st.bind(9, static_cast<std::int64_t>(p.rise)).bind(10, static_cast<std::int64_t>(p.fall));
    if (p.source.empty()) st.bind(11, std::nullopt); else st.bind(11, p.source);
    st.bind(12, id);
    st.run();
}

std::string pool_summary(const PoolInfo& p) {
    return fmt::format("type {} ttl {} check {} interval {} ms timeout {} ms rise {} fall {} all-down {}",
                       p.type == kTypeA ? "A" : "AAAA", p.ttl, p.check.empty() ? "none" : p.check, p.interval_ms,
                       p.timeout_ms, p.rise, p.fall, p.all_down);
}

}  // namespace

std::string_view admin_state_name(AdminState state) {
    switch (state) {
        case AdminState::Enabled: return "enabled";
        case AdminState::Drained: return "drained";
        case AdminState::Blocked: return "blocked";
    }
    return "enabled";
}

std::optional<AdminState> admin_state_from_name(std::string_view name) {
    if (name == "enabled") return AdminState::Enabled;
    if (name == "drained") return AdminState::Drained;
    if (name == "blocked") return AdminState::Blocked;
    return std::nullopt;
}

Result<std::string> canonical_address(std::string_view text, std::string_view what) {
    std::string s(text);
    char out[INET6_ADDRSTRLEN];
    unsigned char buf[16];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(inet_ntop(AF_INET, buf, out, sizeof out));
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return std::string(inet_ntop(AF_INET6, buf, out, sizeof out));
    return Error{fmt::format("{}: '{}' is not an IPv4 or IPv6 address", what, text)};
}

std::vector<std::uint8_t> address_octets(std::string_view canonical) {
    std::string s(canonical);
    unsigned char buf[16];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return {buf, buf + 4};
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return {buf, buf + 16};
    return {};
}

Result<std::string> pool_name(std::string_view fqdn) {
    auto name = absolute_name(fqdn, "POOL");
    if (!name) return name.error();
    if (*name == ".") return Error{"POOL: the root cannot be a pool"};
    if (name->starts_with("*.") || name->find(".*.") != std::string::npos) {
        return Error{fmt::format("POOL: '{}' has a wildcard label; a pool is one name", *name)};
    }
    return name;
}

Status check_owned_name(const Database& db, std::string_view owner, const std::vector<std::uint16_t>& types) {
    auto has = [&](std::initializer_list<std::uint16_t> bad) -> std::optional<std::uint16_t> {
        for (auto t : types) {
            if (std::find(bad.begin(), bad.end(), t) != bad.end()) return t;
        }
        return std::nullopt;
    };
    if (find_id(db, "SELECT id FROM pools WHERE fqdn = ?", owner)) {
        if (auto t = has({kTypeA, kTypeAaaa, kTypeCname, kTypeDname, kTypeNs})) {
            return Error{fmt::format("NAME: '{}' is a pool; its addresses come from its members, so {} record "
                                     "cannot stand there (change the pool with 'pooldnsctl member add/remove')",
                                     owner, with_article(*t))};
        }
    }
    if (std::find(types.begin(), types.end(), kTypeNs) != types.end()) {
        // NS here makes a cut (unless at a zone apex): no pool or host may lie below it.
        if (!find_id(db, "SELECT id FROM zones WHERE origin = ?", owner)) {
            std::string suffix = "." + std::string(owner);
            auto below = db.prepare(
                "SELECT fqdn, 'pool' FROM pools WHERE substr(fqdn, -?1) = ?2 "
                "UNION ALL SELECT host, 'server ' || name FROM servers WHERE substr(host, -?1) = ?2 LIMIT 1");
            below.bind(1, static_cast<std::int64_t>(suffix.size())).bind(2, suffix);
            if (below.step()) {
                return Error{fmt::format("NAME: an NS record at '{}' would delegate '{}' ({}) away from us; move or "
                                         "delete it first",
                                         owner, below.column_text(0), below.column_text(1))};
            }
        }
    }
    auto server = db.prepare("SELECT name FROM servers WHERE host = ?");
    server.bind(1, owner);
    if (server.step()) {
        if (auto t = has({kTypeA, kTypeAaaa, kTypeCname, kTypeDname})) {
            return Error{fmt::format("NAME: '{}' is the host name of server '{}'; its addresses come from "
                                     "'pooldnsctl server add --addr', so {} record cannot stand there",
                                     owner, server.column_text(0), with_article(*t))};
        }
    }
    return {};
}

// --- servers ------------------------------------------------------------------

Result<ServerInfo> PoolStore::add_server(const ServerSpec& spec) {
    if (auto s = valid_object_name(spec.name); !s) return s.error();
    auto host = absolute_name(spec.host, "--host");
    if (!host) return host.error();
    if (host->starts_with("*.") || host->find(".*.") != std::string::npos) {
        return Error{fmt::format("--host: '{}' has a wildcard label; a server's host name is one name", *host)};
    }
    if (spec.addresses.empty()) return Error{"--addr: a server needs at least one address"};
    std::vector<std::string> addresses;  // host-record addresses first, then service addresses
    for (const auto* list : {&spec.addresses, &spec.service_addresses}) {
        std::string_view what = list == &spec.addresses ? "--addr" : "--service-addr";
        for (const auto& a : *list) {
            auto addr = canonical_address(a, what);
            if (!addr) return addr.error();
            if (std::find(addresses.begin(), addresses.end(), *addr) != addresses.end()) {
                return Error{fmt::format("{}: '{}' is given twice", what, *addr)};
            }
            addresses.push_back(*addr);
        }
    }
    std::uint32_t ttl = 3600;
    if (spec.ttl) {
        auto t = parse_ttl(*spec.ttl, "--ttl");
        if (!t) return t.error();
        ttl = *t;
    }
    return guarded<ServerInfo>("server add", [&]() -> Result<ServerInfo> {
        EditTransaction tx(db_);
        if (find_id(db_, "SELECT id FROM servers WHERE name = ?", spec.name)) {
            return Error{fmt::format("NAME: server '{}' already exists", spec.name)};
        }
        auto other = db_.prepare("SELECT name FROM servers WHERE host = ?");
        other.bind(1, *host);
        if (other.step()) {
            return Error{fmt::format("--host: '{}' is already the host name of server '{}'", *host,
                                     other.column_text(0))};
        }
        if (find_id(db_, "SELECT id FROM pools WHERE fqdn = ?", *host)) {
            return Error{fmt::format("--host: '{}' is a pool FQDN; a server needs its own host name", *host)};
        }
        auto zone = containing_zone(db_, *host);
        if (zone) {
            if (auto cut = delegation_above(db_, *zone, *host)) {
                return Error{fmt::format("--host: '{}' is at or below the delegation '{}' in zone '{}'; its host "
                                         "records would never be served from here",
                                         *host, *cut, zone->origin)};
            }
            auto types = stored_types(db_, zone->id, *host);
            for (auto t : types) {
                if (t == kTypeA || t == kTypeAaaa || t == kTypeCname || t == kTypeDname) {
                    return Error{fmt::format("--host: zone '{}' already has {} records at '{}'; delete them first "
                                             "(the server's addresses become its host records)",
                                             zone->origin, type_to_text(t), *host)};
                }
            }
        }
        auto ins = db_.prepare("INSERT INTO servers (name, host, ttl) VALUES (?, ?, ?)");
        ins.bind_all(spec.name, *host, static_cast<std::int64_t>(ttl));
        ins.run();
        std::int64_t id = db_.last_insert_rowid();
        auto addr = db_.prepare("INSERT INTO server_addresses (server_id, address, host_record) VALUES (?, ?, ?)");
        for (std::size_t i = 0; i < addresses.size(); ++i) {
            addr.bind_all(id, addresses[i], i < spec.addresses.size() ? 1 : 0);
            addr.run();
            addr.reset();
        }
        if (zone) {
            if (auto s = bump_zones(db_, {zone->id}); !s) return s.error();
        }
        std::string addr_list;
        for (std::size_t i = 0; i < addresses.size(); ++i) {
            addr_list += (i ? " " : "") + std::string(i < spec.addresses.size() ? "" : "service ") + addresses[i];
        }
        audit(db_, command_, "server add", spec.name, fmt::format("host {} addresses {}", *host, addr_list));
        ServerInfo info = load_server(db_, id);
        if (auto broken = tx.commit(); !broken) return broken.error();
        return info;
    });
}

Result<ServerInfo> PoolStore::delete_server(std::string_view name) {
    return guarded<ServerInfo>("server delete", [&]() -> Result<ServerInfo> {
        EditTransaction tx(db_);
        auto id = find_id(db_, "SELECT id FROM servers WHERE name = ?", name);
        if (!id) return unknown_server(name);
        ServerInfo info = load_server(db_, *id);
        std::set<std::int64_t> zones;
        if (auto zone = containing_zone(db_, info.host)) zones.insert(zone->id);
        for (auto [pool, zone] : pools_of_server(db_, *id)) zones.insert(zone);
        auto del = db_.prepare("DELETE FROM servers WHERE id = ?");
        del.bind(1, *id);
        del.run();
        if (auto s = bump_zones(db_, zones); !s) return s.error();
        audit(db_, command_, "server delete", name,
              fmt::format("host {}, member of {} pools", info.host, info.pools.size()));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return info;
    });
}

Result<ServerInfo> PoolStore::set_admin_state(std::string_view name, AdminState state) {
    std::string action = fmt::format("server {}", state == AdminState::Enabled   ? "enable"
                                                   : state == AdminState::Drained ? "drain"
                                                                                  : "block");
    return guarded<ServerInfo>(action, [&]() -> Result<ServerInfo> {
        EditTransaction tx(db_);
        auto id = find_id(db_, "SELECT id FROM servers WHERE name = ?", name);
        if (!id) return unknown_server(name);
        ServerInfo before = load_server(db_, *id);
        if (before.admin == state) {
            ServerInfo info = before;
            return info;  // nothing to change: the transaction rolls back
        }
        auto up = db_.prepare(
            "UPDATE servers SET admin_state = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?");
        up.bind_all(admin_state_name(state), *id);
        up.run();
        std::set<std::int64_t> zones;
        bool hidden_before = before.admin == AdminState::Blocked, hidden_after = state == AdminState::Blocked;
        if (hidden_before != hidden_after) {
            if (auto zone = containing_zone(db_, before.host)) zones.insert(zone->id);
        }
        bool in_pools_before = before.admin == AdminState::Enabled, in_pools_after = state == AdminState::Enabled;
        if (in_pools_before != in_pools_after) {
            for (auto [pool, zone] : pools_of_server(db_, *id)) zones.insert(zone);
        }
        if (auto s = bump_zones(db_, zones); !s) return s.error();
        audit(db_, command_, action, name,
              fmt::format("{} -> {}", admin_state_name(before.admin), admin_state_name(state)));
        ServerInfo info = load_server(db_, *id);
        if (auto broken = tx.commit(); !broken) return broken.error();
        return info;
    });
}

Result<std::vector<ServerInfo>> PoolStore::servers() const {
    return guarded<std::vector<ServerInfo>>("server list", [&]() -> Result<std::vector<ServerInfo>> {
        auto st = db_.prepare("SELECT id FROM servers ORDER BY name");
        std::vector<ServerInfo> out;
        while (st.step()) out.push_back(load_server(db_, st.column_int(0)));
        return out;
    });
}

// --- pools --------------------------------------------------------------------

Result<PoolInfo> PoolStore::add_pool(const PoolSpec& spec) {
    auto fqdn = pool_name(spec.fqdn);
    if (!fqdn) return fqdn.error();
    return guarded<PoolInfo>("pool add", [&]() -> Result<PoolInfo> {
        EditTransaction tx(db_);
        if (find_id(db_, "SELECT id FROM pools WHERE fqdn = ?", *fqdn)) {
            return Error{fmt::format("POOL: pool '{}' already exists (change it with 'pooldnsctl pool set')", *fqdn)};
        }
        auto zone = containing_zone(db_, *fqdn);
        if (!zone) {
            return Error{fmt::format("POOL: no zone we serve contains '{}'; create the zone first "
                                     "('pooldnsctl zone create')",
                                     *fqdn)};
        }
        if (*fqdn == zone->origin) {
            return Error{fmt::format("POOL: '{}' is the apex of zone '{}', where its SOA and NS live; a pool needs a "
                                     "name below it (for example pool01.{})",
                                     *fqdn, zone->origin, zone->origin)};
        }
        if (auto cut = delegation_above(db_, *zone, *fqdn)) {
            return Error{fmt::format("POOL: '{}' is at or below the delegation '{}' in zone '{}'; it would never be "
                                     "answered from here",
                                     *fqdn, *cut, zone->origin)};
        }
        auto types = stored_types(db_, zone->id, *fqdn);
        for (auto t : types) {
            if (t == kTypeA || t == kTypeAaaa || t == kTypeCname || t == kTypeDname || t == kTypeNs) {
                return Error{fmt::format("POOL: zone '{}' already has {} records at '{}'; a pool's addresses come "
                                         "only from its members, so delete them first",
                                         zone->origin, type_to_text(t), *fqdn)};
            }
        }
        auto server = db_.prepare("SELECT name FROM servers WHERE host = ?");
        server.bind(1, *fqdn);
        if (server.step()) {
            return Error{fmt::format("POOL: '{}' is the host name of server '{}'; a pool needs a name of its own",
                                     *fqdn, server.column_text(0))};
        }
        PoolInfo pool;
        pool.fqdn = *fqdn;
        pool.zone = zone->origin;
        if (auto s = apply_spec(db_, spec, pool); !s) return s.error();
        auto ins = db_.prepare("INSERT INTO pools (fqdn, zone_id) VALUES (?, ?)");
        ins.bind_all(*fqdn, zone->id);
        ins.run();
        std::int64_t id = db_.last_insert_rowid();
        write_pool(db_, pool, id);
        if (auto s = bump_zones(db_, {zone->id}); !s) return s.error();
        audit(db_, command_, "pool add", *fqdn, pool_summary(pool));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return pool;
    });
}

Result<PoolInfo> PoolStore::update_pool(const PoolSpec& spec) {
    auto fqdn = pool_name(spec.fqdn);
    if (!fqdn) return fqdn.error();
    return guarded<PoolInfo>("pool set", [&]() -> Result<PoolInfo> {
        EditTransaction tx(db_);
        std::int64_t id = 0;
        auto pool = load_pool(db_, *fqdn, &id);
        if (!pool) return unknown_pool(*fqdn);
        std::uint16_t old_type = pool->type;
        if (auto s = apply_spec(db_, spec, *pool); !s) return s.error();
        if (pool->type != old_type) {
            for (const auto& m : pool->members) {
                if (address_type(m.address) != pool->type) {
                    return Error{fmt::format("--type: member '{}' of '{}' has the {} address {}; remove it first",
                                             m.server, *fqdn, family_name(old_type), m.address)};
                }
            }
        }
        write_pool(db_, *pool, id);
        auto zone = find_zone(db_, pool->zone);
        if (zone) {
            if (auto s = bump_zones(db_, {*zone}); !s) return s.error();
        }
        audit(db_, command_, "pool set", *fqdn, pool_summary(*pool));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return *pool;
    });
}

Result<PoolInfo> PoolStore::delete_pool(std::string_view fqdn_arg) {
    auto fqdn = pool_name(fqdn_arg);
    if (!fqdn) return fqdn.error();
    return guarded<PoolInfo>("pool delete", [&]() -> Result<PoolInfo> {
        EditTransaction tx(db_);
        std::int64_t id = 0;
        auto pool = load_pool(db_, *fqdn, &id);
        if (!pool) return unknown_pool(*fqdn);
        auto backups = db_.prepare("SELECT fqdn FROM pools WHERE all_down = ? ORDER BY fqdn");
        backups.bind(1, "backup:" + *fqdn);
        std::string users;
        while (backups.step()) users += (users.empty() ? "" : ", ") + backups.column_text(0);
        if (!users.empty()) {
            return Error{fmt::format("POOL: '{}' is the backup of {}; change their --all-down first", *fqdn, users)};
        }
        auto vips = db_.prepare("SELECT name FROM vips WHERE pool_id = ? ORDER BY name");
        vips.bind(1, id);
        std::string vip_names;
        while (vips.step()) vip_names += (vip_names.empty() ? "" : ", ") + vips.column_text(0);
        if (!vip_names.empty()) {
            return Error{fmt::format("POOL: VIPs {} send traffic to '{}'; delete them first", vip_names, *fqdn)};
        }
        auto zone = find_zone(db_, pool->zone);
        auto del = db_.prepare("DELETE FROM pools WHERE id = ?");
        del.bind(1, id);
        del.run();
        if (zone) {
            if (auto s = bump_zones(db_, {*zone}); !s) return s.error();
        }
        audit(db_, command_, "pool delete", *fqdn, fmt::format("{} members", pool->members.size()));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return *pool;
    });
}

Result<std::vector<PoolInfo>> PoolStore::pools(std::string_view fqdn_arg) const {
    std::optional<std::string> fqdn;
    if (!fqdn_arg.empty()) {
        auto name = pool_name(fqdn_arg);
        if (!name) return name.error();
        fqdn = *name;
    }
    return guarded<std::vector<PoolInfo>>("pool list", [&]() -> Result<std::vector<PoolInfo>> {
        auto st = db_.prepare(fmt::format(
            "SELECT {} FROM pools p JOIN zones z ON z.id = p.zone_id WHERE ?1 IS NULL OR p.fqdn = ?1 ORDER BY p.fqdn",
            kPoolColumns));
        if (fqdn) st.bind(1, *fqdn); else st.bind(1, std::nullopt);
        std::vector<PoolInfo> out;
        while (st.step()) {
            PoolInfo p = pool_from_row(st);
            p.members = load_members(db_, st.column_int(0));
            out.push_back(std::move(p));
        }
        if (fqdn && out.empty()) return unknown_pool(*fqdn);
        return out;
    });
}

// --- members ------------------------------------------------------------------

Result<MemberInfo> PoolStore::add_member(std::string_view pool_arg, std::string_view server,
                                         std::string_view address_arg, std::optional<std::string_view> weight_arg,
                                         std::optional<std::string_view> probe_arg) {
    auto fqdn = pool_name(pool_arg);
    if (!fqdn) return fqdn.error();
    auto address = canonical_address(address_arg, "ADDR");
    if (!address) return address.error();
    std::uint32_t weight = 1;
    if (weight_arg) {
        auto w = parse_whole(*weight_arg, "--weight", 1, 1000);
        if (!w) return w.error();
        weight = *w;
    }
    std::optional<std::string> probe;
    if (probe_arg) {
        auto p = canonical_address(*probe_arg, "--probe");
        if (!p) return p.error();
        probe = *p;
    }
    return guarded<MemberInfo>("member add", [&]() -> Result<MemberInfo> {
        EditTransaction tx(db_);
        std::int64_t pool_id = 0;
        auto pool = load_pool(db_, *fqdn, &pool_id);
        if (!pool) return unknown_pool(*fqdn);
        auto server_id = find_id(db_, "SELECT id FROM servers WHERE name = ?", server);
        if (!server_id) return unknown_server(server);
        ServerInfo info = load_server(db_, *server_id);
        if (std::find(info.addresses.begin(), info.addresses.end(), *address) == info.addresses.end() &&
            std::find(info.service_addresses.begin(), info.service_addresses.end(), *address) ==
                info.service_addresses.end()) {
            std::string list;
            for (const auto& a : info.addresses) list += (list.empty() ? "" : ", ") + a;
            for (const auto& a : info.service_addresses) list += (list.empty() ? "" : ", ") + a + " (service)";
            return Error{fmt::format("ADDR: {} is not an address of server '{}' (its addresses: {})", *address,
                                     server, list)};
        }
        if (address_type(*address) != pool->type) {
            return Error{fmt::format("ADDR: {} is an {} address but pool '{}' answers {} records", *address,
                                     family_name(address_type(*address)), *fqdn,
                                     pool->type == kTypeA ? "A" : "AAAA")};
        }
        for (const auto& m : pool->members) {
            if (m.server == server) {
                return Error{fmt::format("SERVER: '{}' is already a member of '{}' with address {}; remove it first",
                                         server, *fqdn, m.address)};
            }
            if (m.address == *address) {
                return Error{fmt::format("ADDR: {} is already in '{}' as member '{}'", *address, *fqdn, m.server)};
            }
        }
        auto ins = db_.prepare(
            "INSERT INTO members (pool_id, server_id, address, probe_address, weight) VALUES (?, ?, ?, ?, ?)");
        ins.bind_all(pool_id, *server_id, *address);
        if (probe) ins.bind(4, *probe); else ins.bind(4, std::nullopt);
        ins.bind(5, static_cast<std::int64_t>(weight));
        ins.run();
        if (info.admin == AdminState::Enabled) {
            if (auto zone = find_zone(db_, pool->zone)) {
                if (auto s = bump_zones(db_, {*zone}); !s) return s.error();
            }
        }
        audit(db_, command_, "member add", *fqdn,
              fmt::format("{} {} weight {}{}", server, *address, weight, probe ? " probe " + *probe : ""));
        MemberInfo m;
        for (auto& mi : load_members(db_, pool_id)) {
            if (mi.server == server) m = mi;
        }
        if (auto broken = tx.commit(); !broken) return broken.error();
        return m;
    });
}

Result<MemberInfo> PoolStore::remove_member(std::string_view pool_arg, std::string_view server) {
    auto fqdn = pool_name(pool_arg);
    if (!fqdn) return fqdn.error();
    return guarded<MemberInfo>("member remove", [&]() -> Result<MemberInfo> {
        EditTransaction tx(db_);
        std::int64_t pool_id = 0;
        auto pool = load_pool(db_, *fqdn, &pool_id);
        if (!pool) return unknown_pool(*fqdn);
        auto it = std::find_if(pool->members.begin(), pool->members.end(),
                               [&](const MemberInfo& m) { return m.server == server; });
        if (it == pool->members.end()) {
            return Error{fmt::format("SERVER: '{}' is not a member of '{}'", server, *fqdn)};
        }
        auto del = db_.prepare(
            "DELETE FROM members WHERE pool_id = ? AND server_id = (SELECT id FROM servers WHERE name = ?)");
        del.bind_all(pool_id, server);
        del.run();
        if (it->admin == AdminState::Enabled) {
            if (auto zone = find_zone(db_, pool->zone)) {
                if (auto s = bump_zones(db_, {*zone}); !s) return s.error();
            }
        }
        audit(db_, command_, "member remove", *fqdn, fmt::format("{} {}", server, it->address));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return *it;
    });
}

Result<std::optional<CheckerInfo>> PoolStore::checker() const {
    return guarded<std::optional<CheckerInfo>>("status", [&]() -> Result<std::optional<CheckerInfo>> {
        auto st = db_.prepare(
            "SELECT pid, started_at, heartbeat_at, (julianday('now') - julianday(heartbeat_at)) * 86400.0, targets, "
            "probes, late FROM checker WHERE id = 1");
        if (!st.step()) return std::optional<CheckerInfo>{};
        CheckerInfo c;
        c.pid = st.column_int(0);
        c.started_at = st.column_text(1);
        c.heartbeat_at = st.column_text(2);
        if (!st.column_is_null(3)) {
            auto text = st.column_text(3);
            std::from_chars(text.data(), text.data() + text.size(), c.heartbeat_age_s);
        }
        c.targets = st.column_int(4);
        c.probes = st.column_int(5);
        c.late = st.column_int(6);
        return std::optional<CheckerInfo>(c);
    });
}

}  // namespace pooldns
