// Servers, pools and members over the SQLite store. Like ZoneStore, each edit
// is one transaction that validates, writes, bumps the serial of every zone
// whose served data it changes (host records, the pool's full member list that
// AXFR carries) and appends an audit row, or changes nothing and returns an
// Error naming the bad argument.
#pragma once

#include "pooldns/result.hpp"
#include "pooldns/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pooldns {

enum class AdminState : std::uint8_t { Enabled, Drained, Blocked };
std::string_view admin_state_name(AdminState state);
std::optional<AdminState> admin_state_from_name(std::string_view name);

// An IPv4 or IPv6 address in canonical text (inet_ntop), or an error naming `what`.
Result<std::string> canonical_address(std::string_view text, std::string_view what);
// 4 or 16 octets of a canonical address; empty when it is not one.
std::vector<std::uint8_t> address_octets(std::string_view canonical);

struct ServerInfo {
    std::string name;
    std::string host;                    // absolute, lower case
    AdminState admin = AdminState::Enabled;
    std::uint32_t ttl = 3600;            // of the host records
    std::vector<std::string> addresses;  // canonical text: the host records
    std::vector<std::string> service_addresses;  // member addresses only, never in the host record
    std::string zone;                    // the zone serving the host records, "" when none does
    std::vector<std::string> pools;      // FQDNs of the pools it is a member of
};

struct ServerSpec {
    std::string name;
    std::string host;
    std::vector<std::string> addresses;
    std::optional<std::string> ttl;      // TTL text; default 3600
    std::vector<std::string> service_addresses;  // --service-addr: for pool members only (Edge services)
};

// What `pool add` and `pool set` take; unset fields keep their default (add)
// or their current value (set). Texts are parsed and named in errors.
struct PoolSpec {
    std::string fqdn;
    std::optional<std::string> type;          // A | AAAA
    std::optional<std::string> ttl;
    std::optional<std::string> degraded_ttl;  // "none" clears
    std::optional<std::string> max_records;   // "none" clears
    std::optional<std::string> all_down;      // all | none | backup:FQDN
    std::optional<std::string> check;         // "none" clears
    std::optional<std::string> interval;      // seconds, decimals allowed
    std::optional<std::string> timeout;
    std::optional<std::string> rise;
    std::optional<std::string> fall;
    std::optional<std::string> source;        // "none" clears
};

struct MemberInfo {
    std::string server;
    std::string host;
    std::string address;
    std::string probe_address;           // "" when probed on `address`
    std::uint32_t weight = 1;
    AdminState admin = AdminState::Enabled;
    // From member_health (written by the server's checker); "unknown" until then.
    std::string health = "unknown";
    std::string since;
    std::string last_probe_at;
    std::string last_result;
    std::optional<double> last_latency_ms;
    std::optional<double> last_probe_age_s;  // seconds since last_probe_at, by SQLite's clock
};

struct PoolInfo {
    std::string fqdn;
    std::string zone;
    std::uint16_t type = 1;
    std::uint32_t ttl = 30;
    std::optional<std::uint32_t> degraded_ttl;
    std::optional<std::uint32_t> max_records;
    std::string all_down = "all";
    std::string check;                   // "" when unchecked: every enabled member is up
    std::uint32_t interval_ms = 2000;
    std::uint32_t timeout_ms = 1000;
    std::uint32_t rise = 2;
    std::uint32_t fall = 3;
    std::string source;
    std::vector<MemberInfo> members;
};

struct CheckerInfo {
    std::int64_t pid = 0;
    std::string started_at;
    std::string heartbeat_at;
    double heartbeat_age_s = 0;          // seconds since heartbeat_at, by SQLite's clock
    std::int64_t targets = 0;
    std::int64_t probes = 0;
    std::int64_t late = 0;
};

class PoolStore {
public:
    PoolStore(const Database& db, std::string command) : db_(db), command_(std::move(command)) {}

    Result<ServerInfo> add_server(const ServerSpec& spec);
    Result<ServerInfo> delete_server(std::string_view name);
    Result<ServerInfo> set_admin_state(std::string_view name, AdminState state);
    Result<std::vector<ServerInfo>> servers() const;

    Result<PoolInfo> add_pool(const PoolSpec& spec);
    Result<PoolInfo> update_pool(const PoolSpec& spec);
    Result<PoolInfo> delete_pool(std::string_view fqdn);
    // Every pool (or the one named) with its members and their health.
    Result<std::vector<PoolInfo>> pools(std::string_view fqdn = {}) const;

    Result<MemberInfo> add_member(std::string_view pool, std::string_view server, std::string_view address,
                                  std::optional<std::string_view> weight, std::optional<std::string_view> probe);
    Result<MemberInfo> remove_member(std::string_view pool, std::string_view server);

    // The running checker's heartbeat, if one ever ran on this file.
    Result<std::optional<CheckerInfo>> checker() const;

private:
    const Database& db_;
    std::string command_;
};

// The pool FQDN as stored (absolute, lower case); errors name POOL.
Result<std::string> pool_name(std::string_view fqdn);

// Records of other kinds may not take over a name whose A/AAAA the pool model
// owns: at a pool FQDN no A, AAAA, CNAME, DNAME or NS; at a server's host name
// no A, AAAA, CNAME or DNAME. `types` are the record types about to be at
// `owner`. Used by record edits and zone import; the error says what to do.
Status check_owned_name(const Database& db, std::string_view owner, const std::vector<std::uint16_t>& types);

}  // namespace pooldns
