// VIPs over the SQLite store: what `pooldnsctl vip` edits and `status` shows.
// Like PoolStore, each edit is one transaction that validates every argument
// (certificates loaded with OpenSSL), writes, and appends an audit row, or
// changes nothing and returns an Error naming the bad argument. A VIP is not
// DNS data: no edit here moves a zone serial.
#pragma once

#include "pooldns/pool_store.hpp"
#include "pooldns/result.hpp"
#include "pooldns/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pooldns {

// The settings key of the per-installation secret that keys persistence
// cookies: 32 lowercase hex characters, created by the first `vip add`.
inline constexpr std::string_view kVipCookieSecretKey = "vip_cookie_secret";

struct VipCertFiles {
    std::string cert;  // absolute paths of PEM files
    std::string key;
};

struct VipInfo {
    std::string name;
    std::string listen;  // canonical: 192.0.2.1:443 or [2001:db8::1]:443
    std::string pool;    // FQDN, absolute, lower case
    std::uint16_t backend_port = 0;
    std::vector<VipCertFiles> certs;  // empty: plain HTTP; the first is the default certificate
    bool backend_tls = false;
    std::string backend_sni;       // "": each server's host FQDN
    std::string backend_ca;        // "": backends' certificates are not verified
    std::string persist = "none";  // cookie | source | none
    std::string cookie_name = "MS-WSMAN";
    bool cookie_httponly = false;
    bool cookie_secure = false;
    std::uint32_t idle_timeout_s = 1800;
    std::uint32_t header_timeout_ms = 10000;
    std::uint32_t connect_timeout_ms = 5000;
    std::uint32_t response_timeout_ms = 120000;
    std::uint32_t max_connections = 20000;
    std::uint32_t max_request_line = 8192;
    std::uint32_t max_header_bytes = 65536;
    std::uint32_t max_header_count = 100;
    std::uint64_t max_body_bytes = std::uint64_t{4} << 30;
    bool access_log = false;
    std::string created_at;

    bool tls() const { return !certs.empty(); }
};

// What `vip add` and `vip set` take, as the operator typed it; unset fields keep
// the schema default (add) or the stored value (set). Errors name the option.
struct VipSpec {
    std::string name;
    std::optional<std::string> listen;  // ADDR:PORT | [IPv6]:PORT
    std::optional<std::string> pool;
    std::optional<std::string> backend_port;
    // Paired in order: the i-th --tls-cert goes with the i-th --tls-key. Giving
    // any replaces the whole certificate list.
    std::vector<std::string> tls_certs;
    std::vector<std::string> tls_keys;
    std::optional<std::string> tls;          // only "none": plain HTTP (drops every certificate)
    std::optional<std::string> backend_tls;  // on | off (off also clears --backend-sni and --backend-ca)
    std::optional<std::string> backend_sni;  // "none" clears
    std::optional<std::string> backend_ca;   // "none" clears
    std::optional<std::string> persist;      // cookie | source | none
    std::optional<std::string> cookie_name;
    std::optional<std::string> cookie_httponly;  // on | off
    std::optional<std::string> cookie_secure;    // on | off
    std::optional<std::string> idle_timeout;     // seconds, decimals allowed
    std::optional<std::string> header_timeout;
    std::optional<std::string> connect_timeout;
    std::optional<std::string> response_timeout;
    std::optional<std::string> max_connections;
    std::optional<std::string> max_request_line;
    std::optional<std::string> max_header_bytes;
    std::optional<std::string> max_header_count;
    std::optional<std::string> max_body;
    std::optional<std::string> access_log;  // on | off
};

// The counters the running server writes to vip_stats about once a second.
struct VipStats {
    std::int64_t pid = 0;
    std::string started_at;
    std::string updated_at;
    std::optional<double> age_s;  // seconds since updated_at, by SQLite's clock; nullopt: unreadable
    bool listening = false;
    std::string listen_error;  // "" when none was recorded
    std::int64_t connections = 0;
    std::int64_t active = 0;
    std::int64_t refused = 0;
    std::int64_t requests = 0;
    std::int64_t status_1xx = 0, status_2xx = 0, status_3xx = 0, status_4xx = 0, status_5xx = 0;
    std::int64_t bytes_in = 0;
    std::int64_t bytes_out = 0;
    std::int64_t retries = 0;
    std::int64_t no_backend = 0;
};

// One member of a VIP's pool as a backend of that VIP.
struct VipMemberStatus {
    std::string server;
    std::string address;  // where the VIP connects: the probe address when the member has one
    AdminState admin = AdminState::Enabled;
    std::string health = "unknown";  // from member_health; "unchecked" when the pool has no check
    std::int64_t picks = 0;          // from vip_member_stats; 0 until the server writes a row
    std::int64_t failures = 0;
    std::int64_t active = 0;
};

struct VipStatus {
    VipInfo vip;
    std::optional<VipStats> stats;  // nullopt: no server has written counters for it
    std::vector<VipMemberStatus> members;
};

class VipStore {
public:
    VipStore(const Database& db, std::string command) : db_(db), command_(std::move(command)) {}

    Result<VipInfo> add_vip(const VipSpec& spec);
    Result<VipInfo> update_vip(const VipSpec& spec);
    Result<VipInfo> delete_vip(std::string_view name);
    // Every VIP, by name.
    Result<std::vector<VipInfo>> vips() const;
    // Every VIP (or those of the pool named) with its counters and its pool's members.
    Result<std::vector<VipStatus>> status(std::string_view pool = {}) const;

private:
    const Database& db_;
    std::string command_;
};

// A VIP as stored, with its row ids.
struct StoredVip {
    std::int64_t id = 0;
    std::int64_t pool_id = 0;
    VipInfo info;
};

// Every VIP (or those of `pool`, absolute), by name, read on `db` as it is:
// the one reader of the vips rows, for VipStore and the snapshot builder.
// SQLite failures throw StoreError.
std::vector<StoredVip> load_vips(const Database& db, std::optional<std::string_view> pool = std::nullopt);

// "192.0.2.1:443", "[2001:db8::1]:443": ADDR:PORT in the canonical form VIPs
// store; IPv6 addresses must be bracketed. Errors name `what`.
Result<std::string> canonical_listen(std::string_view text, std::string_view what);
// The address part of a canonical listen string: "192.0.2.1:443" -> "192.0.2.1",
// "[2001:db8::1]:443" -> "2001:db8::1".
std::string listen_address(std::string_view canonical);

}  // namespace pooldns
