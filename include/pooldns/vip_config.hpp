// A VIP as the running server sees it: one row of `vips` (with its extra
// certificates) and the members of its pool, each with the health slot the DNS
// answers read. Built into the Snapshot by the reloader, so DNS and the VIP
// balance over one truth; the VIP loop reads it, never SQLite.
#pragma once

#include "pooldns/backend_pick.hpp"
#include "pooldns/health_table.hpp"
#include "pooldns/http.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace pooldns::vip {

// One member of the VIP's pool as a backend.
struct VipBackend {
    std::int64_t server_id = 0;  // what cookies and source hashing name
    std::string server;          // name, for logs and counters
    std::string host;            // host FQDN: the backend TLS SNI unless the VIP names one
    std::string address;         // connect address (the member's probe address when it has one)
    std::uint16_t weight = 1;
    bool enabled = true;                          // the server's admin state is `enabled`
    std::uint32_t health = HealthTable::kNoSlot;  // kNoSlot: the pool has no check, always up
};

struct VipCert {
    std::string cert;  // PEM file paths
    std::string key;
};

struct VipConfig {
    std::int64_t id = 0;
    std::string name;
    std::string listen;  // ADDR:PORT or [ADDR]:PORT, as stored
    std::string pool;    // FQDN
    std::uint16_t backend_port = 0;
    std::vector<VipCert> certs;  // empty: plain HTTP; the first is the default certificate
    bool backend_tls = false;
    std::string backend_sni;  // "": each backend's host FQDN
    std::string backend_ca;   // "": no verification of backend certificates
    Persist persist = Persist::None;
    std::string cookie_name = "MS-WSMAN";
    bool cookie_httponly = false;
    bool cookie_secure = false;
    bool access_log = false;
    std::uint32_t idle_timeout_ms = 1800 * 1000;
    std::uint32_t header_timeout_ms = 10000;
    std::uint32_t connect_timeout_ms = 5000;
    std::uint32_t response_timeout_ms = 120000;
    std::uint32_t max_connections = 20000;
    HttpLimits limits;
    std::vector<VipBackend> backends;

    bool tls() const { return !certs.empty(); }
};

}  // namespace pooldns::vip
