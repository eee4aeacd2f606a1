// pooldnsctl status [POOL]: what each pool answers now, member by member, with
// the health the server's checker recorded; what each VIP has carried by the
// counters the server writes; and whether that server is alive.
#include "cli.hpp"

#include "pooldns/pool_store.hpp"
#include "pooldns/vip_store.hpp"

namespace pooldnsctl {

using namespace pooldns;

// A member is in the answers when its server is enabled and it is not down;
// unknown counts as up (the server starts from it so), and an unchecked pool
// has every enabled member up.
bool member_answering(const PoolInfo& pool, const MemberInfo& m) {
    return m.admin == AdminState::Enabled && (pool.check.empty() || m.health != "down");
}

std::size_t answering_count(const PoolInfo& pool) {
    return static_cast<std::size_t>(std::count_if(pool.members.begin(), pool.members.end(),
                                                  [&](const MemberInfo& m) { return member_answering(pool, m); }));
}

std::string all_down_note(const PoolInfo& pool) {
    bool any_enabled = std::any_of(pool.members.begin(), pool.members.end(),
                                   [](const MemberInfo& m) { return m.admin == AdminState::Enabled; });
    if (answering_count(pool) > 0 || !any_enabled) return "";
    // Nobody up: the all-down policy decides what DNS answers.
    return pool.all_down == "all" ? " (all down: policy 'all' answers every enabled member)"
                                  : fmt::format(" (all down: policy '{}')", pool.all_down);
}

namespace {

constexpr std::string_view kUsage = "status [POOL]";

// The checker writes a heartbeat about once a second; older than this, it is gone.
// The VIP's counters are written at the same pace and judged alike.
constexpr double kHeartbeatDeadS = 5.0;


// The checker should have probed within three intervals plus a timeout.
bool stale(const PoolInfo& pool, const MemberInfo& m) {
    if (pool.check.empty() || !m.last_probe_age_s) return false;
    const auto& age = m.last_probe_age_s;
    // The server rewrites an unchanged result every 2 s (checker.hpp: result_refresh_ms).
    return *age * 1000.0 > 3.0 * pool.interval_ms + pool.timeout_ms + 2000.0;
}


std::string result_text(const MemberInfo& m) {
    if (m.last_result.empty() && !m.last_latency_ms) return "-";
    if (!m.last_latency_ms) return m.last_result;
    std::string latency = fmt::format("{:.1f} ms", *m.last_latency_ms);
    return m.last_result.empty() ? latency : fmt::format("{} ({})", m.last_result, latency);
}

// '2024-05-01T10:00:00.123Z' -> '2024-05-01T10:00:00Z': seconds are enough to read.
std::string short_time(std::string_view at) {
    if (at.empty()) return "-";
    if (auto dot = at.find('.'); dot != std::string_view::npos && at.ends_with('Z')) {
        return std::string(at.substr(0, dot)) + "Z";
    }
    return std::string(at);
}

std::string checker_text(const std::optional<CheckerInfo>& c) {
    if (!c) return "checker: never ran on this file";
    if (c->heartbeat_age_s > kHeartbeatDeadS) {
        return fmt::format("checker: no heartbeat for {:.1f} s — is pooldns running?", c->heartbeat_age_s);
    }
    return fmt::format("checker: pid {}, heartbeat {:.1f} s ago, {} targets, {} probes, {} late", c->pid,
                       std::max(0.0, c->heartbeat_age_s), c->targets, c->probes, c->late);
}

// Counters older than the heartbeat limit (or with an unreadable time) come
// from a server that is gone.
bool vip_stale(const VipStats& s) {
    return !s.age_s || *s.age_s > kHeartbeatDeadS;
}

// "listening, counters 0.4 s ago", "not listening: address in use, ...",
// "not running (...)".
std::string vip_state_text(const VipStatus& v) {
    if (!v.stats) return "not running (pooldns has written no counters for it)";
    const auto& s = *v.stats;
    std::string state = s.listening ? "listening"
                        : s.listen_error.empty() ? "not listening"
                                                 : "not listening: " + s.listen_error;
    if (!s.age_s) return fmt::format("{}, counters written at '{}' — is pooldns running?", state, s.updated_at);
    if (vip_stale(s)) return fmt::format("{}, no counters for {:.1f} s — is pooldns running?", state, *s.age_s);
    return fmt::format("{}, counters {:.1f} s ago (pid {})", state, std::max(0.0, *s.age_s), s.pid);
}

// "192.0.2.11:443", "[2001:db8::11]:443".
std::string backend_text(const VipMemberStatus& m, std::uint16_t port) {
    return m.address.find(':') == std::string::npos ? fmt::format("{}:{}", m.address, port)
                                                    : fmt::format("[{}]:{}", m.address, port);
}

void print_vips_text(const std::vector<VipStatus>& vips) {
    for (const auto& v : vips) {
        fmt::print("vip {}: {}: {}\n", v.vip.name, vip_settings_text(v.vip), vip_state_text(v));
        if (v.stats) {
            const auto& s = *v.stats;
            fmt::print("  connections {} active, {} total, {} refused; requests {} (1xx {}, 2xx {}, 3xx {}, 4xx {}, "
                       "5xx {}); bytes in {}, out {}; retries {}, no backend {}\n",
                       s.active, s.connections, s.refused, s.requests, s.status_1xx, s.status_2xx, s.status_3xx,
                       s.status_4xx, s.status_5xx, s.bytes_in, s.bytes_out, s.retries, s.no_backend);
        }
        if (v.members.empty()) {
            fmt::print("  (pool {} has no members: every request gets 503)\n", v.vip.pool);
            continue;
        }
        std::vector<std::vector<std::string>> rows{
            {"SERVER", "BACKEND", "ADMIN", "HEALTH", "PICKS", "FAILURES", "ACTIVE"}};
        for (const auto& m : v.members) {
            rows.push_back({m.server, backend_text(m, v.vip.backend_port), std::string(admin_state_name(m.admin)),
                            m.health, std::to_string(m.picks), std::to_string(m.failures),
                            std::to_string(m.active)});
        }
        print_table(rows, "  ");
    }
}

std::string vips_json(const std::vector<VipStatus>& vips) {
    auto text_or_null = [](const std::string& v) { return v.empty() ? std::string("null") : json_string(v); };
    std::string out = "[";
    for (std::size_t i = 0; i < vips.size(); ++i) {
        const auto& v = vips[i];
        std::string stats = "null";
        if (v.stats) {
            const auto& s = *v.stats;
            stats = fmt::format(
                "{{\"pid\": {}, \"started_at\": {}, \"updated_at\": {}, \"age_s\": {}, \"stale\": {}, "
                "\"listening\": {}, \"listen_error\": {}, \"connections\": {}, \"active\": {}, \"refused\": {}, "
                "\"requests\": {}, \"status_1xx\": {}, \"status_2xx\": {}, \"status_3xx\": {}, \"status_4xx\": {}, "
                "\"status_5xx\": {}, \"bytes_in\": {}, \"bytes_out\": {}, \"retries\": {}, \"no_backend\": {}}}",
                s.pid, json_string(s.started_at), json_string(s.updated_at),
                s.age_s ? fmt::format("{}", *s.age_s) : std::string("null"), vip_stale(s), s.listening,
                text_or_null(s.listen_error), s.connections, s.active, s.refused, s.requests, s.status_1xx,
                s.status_2xx, s.status_3xx, s.status_4xx, s.status_5xx, s.bytes_in, s.bytes_out, s.retries,
                s.no_backend);
        }
        std::string members = "[";
        for (std::size_t j = 0; j < v.members.size(); ++j) {
            const auto& m = v.members[j];
            members += fmt::format(
                "{}\n      {{\"server\": {}, \"address\": {}, \"backend\": {}, \"admin\": {}, \"health\": {}, "
                "\"picks\": {}, \"failures\": {}, \"active\": {}}}",
                j ? "," : "", json_string(m.server), json_string(m.address),
                json_string(backend_text(m, v.vip.backend_port)), json_string(admin_state_name(m.admin)),
                json_string(m.health), m.picks, m.failures, m.active);
        }
        members += v.members.empty() ? "]" : "\n    ]";
        out += fmt::format(
            "{}\n  {{\"name\": {}, \"listen\": {}, \"pool\": {}, \"scheme\": {}, \"persist\": {}, "
            "\"cookie_name\": {}, \"backend_port\": {}, \"backend_tls\": {}, \"running\": {}, \"stats\": {},\n"
            "    \"members\": {}}}",
            i ? "," : "", json_string(v.vip.name), json_string(v.vip.listen), json_string(v.vip.pool),
            json_string(vip_scheme(v.vip)), json_string(v.vip.persist), json_string(v.vip.cookie_name),
            v.vip.backend_port, v.vip.backend_tls, v.stats && !vip_stale(*v.stats), stats, members);
    }
    return out + (vips.empty() ? "]" : "\n]");
}

void print_text(const std::vector<PoolInfo>& pools, const std::vector<VipStatus>& vips,
                const std::optional<CheckerInfo>& checker) {
    if (pools.empty()) fmt::print("no pools ('pooldnsctl pool add' creates one)\n");
    for (const auto& pool : pools) {
        fmt::print("{} {}: answering {} of {}{}\n", pool.fqdn, pool_settings_text(pool), answering_count(pool),
                   pool.members.size(), all_down_note(pool));
        if (pool.members.empty()) {
            fmt::print("  (no members)\n");
            continue;
        }
        std::vector<std::vector<std::string>> rows{
            {"SERVER", "ADDRESS", "WEIGHT", "ADMIN", "HEALTH", "SINCE", "LAST-PROBE", "RESULT"}};
        for (const auto& m : pool.members) {
            std::string address = m.address;
            if (!m.probe_address.empty()) address += " probe " + m.probe_address;
            bool checked = !pool.check.empty();
            std::string last_probe = "-";
            if (checked && !m.last_probe_at.empty()) {
                const auto& age = m.last_probe_age_s;
                last_probe = age ? fmt::format("{:.1f} s ago", std::max(0.0, *age)) : m.last_probe_at;
                if (stale(pool, m)) last_probe += " (stale)";
            }
            rows.push_back({m.server, address, std::to_string(m.weight), std::string(admin_state_name(m.admin)),
                            checked ? m.health : "unchecked", checked ? short_time(m.since) : "-", last_probe,
                            checked ? result_text(m) : "-"});
        }
        print_table(rows, "  ");
    }
    print_vips_text(vips);
    fmt::print("{}\n", checker_text(checker));
}

void print_json(const std::vector<PoolInfo>& pools, const std::vector<VipStatus>& vips,
                const std::optional<CheckerInfo>& checker) {
    auto text_or_null = [](const std::string& v) { return v.empty() ? std::string("null") : json_string(v); };
    fmt::print("{{\"pools\": [");
    for (std::size_t i = 0; i < pools.size(); ++i) {
        const auto& pool = pools[i];
        fmt::print("{}\n  {{{}, \"answering\": {}, \"members\": [", i ? "," : "", pool_settings_json(pool),
                   answering_count(pool));
        for (std::size_t j = 0; j < pool.members.size(); ++j) {
            const auto& m = pool.members[j];
            fmt::print(
                "{}\n    {{\"server\": {}, \"host\": {}, \"address\": {}, \"probe_address\": {}, \"weight\": {}, "
                "\"admin\": {}, \"health\": {}, \"since\": {}, \"last_probe_at\": {}, \"last_result\": {}, "
                "\"last_latency_ms\": {}, \"stale\": {}, \"answering\": {}}}",
                j ? "," : "", json_string(m.server), json_string(m.host), json_string(m.address),
                text_or_null(m.probe_address), m.weight, json_string(admin_state_name(m.admin)), json_string(m.health),
                text_or_null(m.since), text_or_null(m.last_probe_at), text_or_null(m.last_result),
                m.last_latency_ms ? fmt::format("{}", *m.last_latency_ms) : std::string("null"), stale(pool, m),
                member_answering(pool, m));
        }
        fmt::print("{}]}}", pool.members.empty() ? "" : "\n  ");
    }
    fmt::print("{}], \"vips\": {}, \"checker\": ", pools.empty() ? "" : "\n", vips_json(vips));
    if (!checker) {
        fmt::print("null}}\n");
        return;
    }
    const auto& c = *checker;
    fmt::print(
        "{{\"pid\": {}, \"started_at\": {}, \"heartbeat_at\": {}, \"heartbeat_age_s\": {}, \"targets\": {}, "
        "\"probes\": {}, \"late\": {}, \"alive\": {}}}}}\n",
        c.pid, json_string(c.started_at), json_string(c.heartbeat_at), c.heartbeat_age_s, c.targets, c.probes, c.late,
        c.heartbeat_age_s <= kHeartbeatDeadS);
}

}  // namespace

int run_status(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "status");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() > 1) return usage_error(cli, "status takes at most one POOL", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    PoolStore store(*db, cli.command_line);
    auto pools = store.pools(parsed->positional.empty() ? std::string_view() : std::string_view(parsed->positional[0]));
    if (!pools) return fail(cli, pools.error());
    VipStore vip_store(*db, cli.command_line);
    auto vips =
        vip_store.status(parsed->positional.empty() ? std::string_view() : std::string_view(parsed->positional[0]));
    if (!vips) return fail(cli, vips.error());
    auto checker = store.checker();
    if (!checker) return fail(cli, checker.error());
    if (cli.json) {
        print_json(*pools, *vips, *checker);
    } else {
        print_text(*pools, *vips, *checker);
    }
    return kExitOk;
}

}  // namespace pooldnsctl
