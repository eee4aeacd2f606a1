// The schema of the one SQLite file, as an ordered list of forward migrations.
// PRAGMA user_version = N means migrations 1..N have been applied. A migration is
// never edited once released: change the schema by appending a new one.
#include "pooldns/store.hpp"

#include <fmt/format.h>

#include <array>
#include <string_view>

namespace pooldns {

namespace {

// Timestamps are UTC text in ISO 8601 so the CLI, sqlite3 and humans read them alike.
#define POOLDNS_NOW "(strftime('%Y-%m-%dT%H:%M:%fZ','now'))"

constexpr std::array<std::string_view, 6> kMigrations = {
    // 1: zones and their records, settings, the audit log.
    R"sql(
CREATE TABLE zones (
    id          INTEGER PRIMARY KEY,
    origin      TEXT NOT NULL UNIQUE,     -- absolute, lower case, presentation form
    created_at  TEXT NOT NULL DEFAULT )sql" POOLDNS_NOW R"sql(,
    updated_at  TEXT NOT NULL DEFAULT )sql" POOLDNS_NOW R"sql(
);
-- One row per RR. rdata is the uncompressed wire form, so every type ldns knows
-- and every unknown type (RFC 3597) round-trips byte for byte.
CREATE TABLE records (
    id       INTEGER PRIMARY KEY,
    zone_id  INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    owner    TEXT NOT NULL,               -- absolute, lower case, presentation form
    type     INTEGER NOT NULL CHECK (type BETWEEN 1 AND 65535),
    ttl      INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 2147483647),
    rdata    BLOB NOT NULL,
    UNIQUE (zone_id, owner, type, rdata)
);
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL DEFAULT )sql" POOLDNS_NOW R"sql(,
    command  TEXT NOT NULL,               -- the command line that made the edit
    action   TEXT NOT NULL,               -- e.g. 'record add'
    object   TEXT NOT NULL,               -- what was edited, e.g. the zone origin
    detail   TEXT NOT NULL DEFAULT ''
);
)sql",
    // 2: servers, pools, members and their health-check settings.
    R"sql(
CREATE TABLE servers (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    host         TEXT NOT NULL,           -- host FQDN, absolute, lower case
    admin_state  TEXT NOT NULL DEFAULT 'enabled'
                 CHECK (admin_state IN ('enabled', 'drained', 'blocked')),
    created_at   TEXT NOT NULL DEFAULT )sql" POOLDNS_NOW R"sql(,
    updated_at   TEXT NOT NULL DEFAULT )sql" POOLDNS_NOW R"sql(
);
CREATE TABLE server_addresses (
    server_id  INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    address    TEXT NOT NULL,             -- IPv4 or IPv6, canonical text
    PRIMARY KEY (server_id, address)
);
CREATE TABLE pools (
    id           INTEGER PRIMARY KEY,
    fqdn         TEXT NOT NULL UNIQUE,    -- absolute, lower case
    zone_id      INTEGER NOT NULL REFERENCES zones(id) ON DELETE RESTRICT,
    type         INTEGER NOT NULL DEFAULT 1 CHECK (type IN (1, 28)),   -- A or AAAA
    ttl          INTEGER NOT NULL DEFAULT 30 CHECK (ttl BETWEEN 0 AND 2147483647),
    max_records  INTEGER CHECK (max_records IS NULL OR max_records >= 1),
    all_down     TEXT NOT NULL DEFAULT 'all',   -- all | none | backup:FQDN
    check_spec   TEXT,                    -- tcp:PORT, tls:PORT[:SNI], http:PORT/PATH, ...
    interval_ms  INTEGER NOT NULL DEFAULT 2000 CHECK (interval_ms > 0),
    timeout_ms   INTEGER NOT NULL DEFAULT 1000 CHECK (timeout_ms > 0),
    rise         INTEGER NOT NULL DEFAULT 2 CHECK (rise >= 1),
    fall         INTEGER NOT NULL DEFAULT 3 CHECK (fall >= 1),
    created_at   TEXT NOT NULL DEFAULT )sql" POOLDNS_NOW R"sql(
);
CREATE TABLE members (
    pool_id        INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    server_id      INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    address        TEXT NOT NULL,         -- the address handed out in answers
    probe_address  TEXT,                  -- probed instead of address when set (NAT)
    weight         INTEGER NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000),
    PRIMARY KEY (pool_id, server_id)
);
)sql",
    // 3: member health status and history, VIPs.
    R"sql(
CREATE TABLE member_health (
    pool_id        INTEGER NOT NULL,
    server_id      INTEGER NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('up', 'down', 'unknown')),
    since          TEXT NOT NULL,
    last_probe_at  TEXT,
    last_result    TEXT,                  -- reason of the last probe, e.g. 'connect refused'
    last_latency_ms REAL,
    PRIMARY KEY (pool_id, server_id),
    FOREIGN KEY (pool_id, server_id) REFERENCES members(pool_id, server_id) ON DELETE CASCADE
);
CREATE TABLE health_history (
    id         INTEGER PRIMARY KEY,
    pool_id    INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    server_id  INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    at         TEXT NOT NULL DEFAULT )sql" POOLDNS_NOW R"sql(,
    state      TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX health_history_member ON health_history (pool_id, server_id, at);
CREATE TABLE vips (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    listen        TEXT NOT NULL UNIQUE,   -- ADDR:PORT
    pool_id       INTEGER NOT NULL REFERENCES pools(id) ON DELETE RESTRICT,
    backend_port  INTEGER NOT NULL CHECK (backend_port BETWEEN 1 AND 65535),
    tls_cert      TEXT,                   -- PEM file paths; both set for HTTPS
    tls_key       TEXT,
    backend_tls   INTEGER NOT NULL DEFAULT 0 CHECK (backend_tls IN (0, 1)),
    persist       TEXT NOT NULL DEFAULT 'none' CHECK (persist IN ('cookie', 'source', 'none')),
    idle_timeout_s INTEGER NOT NULL DEFAULT 1800 CHECK (idle_timeout_s > 0),
    created_at    TEXT NOT NULL DEFAULT )sql" POOLDNS_NOW R"sql(,
    CHECK ((tls_cert IS NULL) = (tls_key IS NULL))
);
)sql",
    // 4: pool options for degraded TTL and probe source, host-record TTL, one host
    // per server, the configuration generation and the checker's heartbeat.
    R"sql(
ALTER TABLE pools ADD COLUMN degraded_ttl INTEGER CHECK (degraded_ttl IS NULL OR degraded_ttl BETWEEN 0 AND 2147483647);
ALTER TABLE pools ADD COLUMN source TEXT;   -- probe source address, NULL: the kernel's choice
ALTER TABLE servers ADD COLUMN ttl INTEGER NOT NULL DEFAULT 3600 CHECK (ttl BETWEEN 0 AND 2147483647);
CREATE UNIQUE INDEX servers_host ON servers (host);
CREATE INDEX members_server ON members (server_id);
-- Bumped by every change to what the server serves (triggers below; record
-- edits always write an audit row). The server rebuilds its snapshot only when
-- it moves, so the health writer's own commits never cost a rebuild.
CREATE TABLE generation (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    value  INTEGER NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 0);
CREATE TRIGGER generation_zones_insert AFTER INSERT ON zones BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_zones_update AFTER UPDATE ON zones BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_zones_delete AFTER DELETE ON zones BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_settings_insert AFTER INSERT ON settings BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_settings_update AFTER UPDATE ON settings BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_settings_delete AFTER DELETE ON settings BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_servers_insert AFTER INSERT ON servers BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_servers_update AFTER UPDATE ON servers BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_servers_delete AFTER DELETE ON servers BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_server_addresses_insert AFTER INSERT ON server_addresses BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_server_addresses_update AFTER UPDATE ON server_addresses BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_server_addresses_delete AFTER DELETE ON server_addresses BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_pools_insert AFTER INSERT ON pools BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_pools_update AFTER UPDATE ON pools BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_pools_delete AFTER DELETE ON pools BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_members_insert AFTER INSERT ON members BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_members_update AFTER UPDATE ON members BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_members_delete AFTER DELETE ON members BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_vips_insert AFTER INSERT ON vips BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_vips_update AFTER UPDATE ON vips BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_vips_delete AFTER DELETE ON vips BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_audit_insert AFTER INSERT ON audit BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
-- The running health checker: written by the server about once a second.
CREATE TABLE checker (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    pid           INTEGER NOT NULL,
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL,
    targets       INTEGER NOT NULL DEFAULT 0,   -- distinct (address, check) pairs probed
    probes        INTEGER NOT NULL DEFAULT 0,   -- probes completed since start
    late          INTEGER NOT NULL DEFAULT 0    -- probes started later than their deadline
);
)sql",
    // 5: VIP options (backend TLS, persistence cookie, limits and timeouts, access
    // log), extra certificates chosen by SNI, and the counters the server writes.
    R"sql(
ALTER TABLE vips ADD COLUMN backend_sni TEXT;          -- NULL: each server's host FQDN
ALTER TABLE vips ADD COLUMN backend_ca TEXT;           -- PEM file: verify backends' chains and names; NULL: no verification
ALTER TABLE vips ADD COLUMN cookie_name TEXT NOT NULL DEFAULT 'MS-WSMAN';
ALTER TABLE vips ADD COLUMN cookie_httponly INTEGER NOT NULL DEFAULT 0 CHECK (cookie_httponly IN (0, 1));
ALTER TABLE vips ADD COLUMN cookie_secure INTEGER NOT NULL DEFAULT 0 CHECK (cookie_secure IN (0, 1));
ALTER TABLE vips ADD COLUMN access_log INTEGER NOT NULL DEFAULT 0 CHECK (access_log IN (0, 1));
ALTER TABLE vips ADD COLUMN max_connections INTEGER NOT NULL DEFAULT 20000 CHECK (max_connections > 0);
ALTER TABLE vips ADD COLUMN header_timeout_ms INTEGER NOT NULL DEFAULT 10000 CHECK (header_timeout_ms > 0);
ALTER TABLE vips ADD COLUMN connect_timeout_ms INTEGER NOT NULL DEFAULT 5000 CHECK (connect_timeout_ms > 0);
ALTER TABLE vips ADD COLUMN response_timeout_ms INTEGER NOT NULL DEFAULT 120000 CHECK (response_timeout_ms > 0);
ALTER TABLE vips ADD COLUMN max_request_line INTEGER NOT NULL DEFAULT 8192 CHECK (max_request_line >= 64);
ALTER TABLE vips ADD COLUMN max_header_bytes INTEGER NOT NULL DEFAULT 65536 CHECK (max_header_bytes >= 256);
ALTER TABLE vips ADD COLUMN max_header_count INTEGER NOT NULL DEFAULT 100 CHECK (max_header_count >= 1);
ALTER TABLE vips ADD COLUMN max_body_bytes INTEGER NOT NULL DEFAULT 4294967296 CHECK (max_body_bytes >= 0);
-- More certificates for an HTTPS VIP, chosen by the client's SNI; vips.tls_cert and
-- vips.tls_key stay the default one (sent when no name matches).
CREATE TABLE vip_certs (
    vip_id    INTEGER NOT NULL REFERENCES vips(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL CHECK (position >= 1),
    tls_cert  TEXT NOT NULL,
    tls_key   TEXT NOT NULL,
    PRIMARY KEY (vip_id, position)
);
CREATE TRIGGER generation_vip_certs_insert AFTER INSERT ON vip_certs BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_vip_certs_update AFTER UPDATE ON vip_certs BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER generation_vip_certs_delete AFTER DELETE ON vip_certs BEGIN UPDATE generation SET value = value + 1 WHERE id = 1; END;
-- Written by the running server about once a second (no generation trigger: the
-- counters are not served data). Totals since the server started.
CREATE TABLE vip_stats (
    vip_id       INTEGER PRIMARY KEY REFERENCES vips(id) ON DELETE CASCADE,
    pid          INTEGER NOT NULL,
    started_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    listening    INTEGER NOT NULL DEFAULT 0,   -- 1: the listener is open
    listen_error TEXT,                          -- why it is not, e.g. 'address in use'
    connections  INTEGER NOT NULL DEFAULT 0,   -- client connections accepted
    active       INTEGER NOT NULL DEFAULT 0,   -- client connections open now
    refused      INTEGER NOT NULL DEFAULT 0,   -- closed at once: max_connections reached
    requests     INTEGER NOT NULL DEFAULT 0,
    status_1xx   INTEGER NOT NULL DEFAULT 0,
    status_2xx   INTEGER NOT NULL DEFAULT 0,
    status_3xx   INTEGER NOT NULL DEFAULT 0,
    status_4xx   INTEGER NOT NULL DEFAULT 0,
    status_5xx   INTEGER NOT NULL DEFAULT 0,
    bytes_in     INTEGER NOT NULL DEFAULT 0,   -- from clients (after TLS)
    bytes_out    INTEGER NOT NULL DEFAULT 0,   -- to clients (before TLS)
    retries      INTEGER NOT NULL DEFAULT 0,   -- requests sent again to another member
    no_backend   INTEGER NOT NULL DEFAULT 0    -- 503s because no member was up
);
CREATE TABLE vip_member_stats (
    vip_id     INTEGER NOT NULL REFERENCES vips(id) ON DELETE CASCADE,
    server_id  INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    picks      INTEGER NOT NULL DEFAULT 0,     -- requests sent to it
    failures   INTEGER NOT NULL DEFAULT 0,     -- connects refused, resets and timeouts
    active     INTEGER NOT NULL DEFAULT 0,     -- requests outstanding now
    PRIMARY KEY (vip_id, server_id)
);
)sql",
    // 6: service addresses and SfB/Lync topologies.
    R"sql(
-- 0: a service address (an Edge server's Access, Web Conferencing or A/V
-- address): a pool member may be answered with it, the host record never is.
ALTER TABLE server_addresses ADD COLUMN host_record INTEGER NOT NULL DEFAULT 1 CHECK (host_record IN (0, 1));
-- A Skype for Business / Lync pool laid out by 'pooldnsctl topology': which
-- names play which role, so the deployment rules can be checked on every edit.
-- Not served data: no generation trigger.
CREATE TABLE topologies (
    id          INTEGER PRIMARY KEY,
    fqdn        TEXT NOT NULL UNIQUE,     -- the pool FQDN (Edge: the internal Edge pool FQDN)
    kind        TEXT NOT NULL CHECK (kind IN ('frontend', 'director', 'edge', 'mediation')),
    created_at  TEXT NOT NULL DEFAULT )sql" POOLDNS_NOW R"sql(
);
CREATE TABLE topology_names (
    topology_id  INTEGER NOT NULL REFERENCES topologies(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('pool', 'web-internal', 'web-external', 'edge-internal',
                                               'edge-access', 'edge-webconf', 'edge-av', 'discovery')),
    fqdn         TEXT NOT NULL,           -- absolute, lower case
    lb           TEXT NOT NULL DEFAULT 'dns' CHECK (lb IN ('dns', 'hlb', 'vip', 'record')),
    PRIMARY KEY (topology_id, role, fqdn)
);
CREATE INDEX topology_names_fqdn ON topology_names (fqdn);
)sql",
};

#undef POOLDNS_NOW

}  // namespace

int current_schema_version() { return static_cast<int>(kMigrations.size()); }

void migrate(const Database& db, int to_version) {
    Transaction tx(db);
    // Read the version inside the write transaction: two processes opening a new
    // file at once must not both run migration 1.
    int from = db.schema_version();
    for (int v = from + 1; v <= to_version; ++v) {
        try {
            db.exec(kMigrations[static_cast<std::size_t>(v - 1)]);
        } catch (const StoreError& e) {
            throw StoreError(fmt::format("schema migration {} failed: {}", v, e.what()), e.code());
        }
    }
    if (to_version > from) db.exec(fmt::format("PRAGMA user_version = {}", to_version));
    tx.commit();
}

}  // namespace pooldns
