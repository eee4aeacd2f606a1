// The SQLite schema: migrations from every older version, open modes, pragmas,
// foreign keys.
#include "pooldns/store.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace pooldns;
using pooldns::test::TempDir;

namespace {

Database open_ok(const std::string& path, OpenMode mode) {
    auto db = Database::open(path, mode);
    if (!db.ok()) FAIL(db.error().message);
    return std::move(db).value();
}

std::string query_text(const Database& db, std::string_view sql) {
    auto st = db.prepare(sql);
    REQUIRE(st.step());
    return st.column_text(0);
}

std::int64_t query_int(const Database& db, std::string_view sql) {
    auto st = db.prepare(sql);
    REQUIRE(st.step());
    return st.column_int(0);
}

bool table_exists(const Database& db, std::string_view table) {
    auto st = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
    st.bind(1, table);
    REQUIRE(st.step());
    return st.column_int(0) == 1;
}

// Data valid at each schema version: inserted once the file has that version's
// tables and checked after the file is migrated to the current version.
struct Seed {
    int version;                      // the migration that created the tables
    std::vector<const char*> tables;  // the tables that migration creates
    const char* insert;
    const char* check_sql;  // one row, one text column
    const char* expected;
};

const std::vector<Seed>& seeds() {
    static const std::vector<Seed> all = {
        {1,
         {"zones", "records", "settings", "audit"},
         "INSERT INTO zones (id, origin) VALUES (1, 'example.com.');"
         "INSERT INTO records (zone_id, owner, type, ttl, rdata) VALUES (1, 'www.example.com.', 1, 300, x'C0000201');"
         "INSERT INTO settings (key, value) VALUES ('answer', '42');"
         "INSERT INTO audit (command, action, object) VALUES ('pooldnsctl zone create', 'zone create', "
         "'example.com.');",
         "SELECT (SELECT origin FROM zones) || '|' || (SELECT owner || ' ' || type || ' ' || ttl || ' ' || hex(rdata) "
         "FROM records) || '|' || (SELECT value FROM settings WHERE key = 'answer') || '|' || (SELECT command FROM "
         "audit)",
         "example.com.|www.example.com. 1 300 C0000201|42|pooldnsctl zone create"},
        {2,
         {"servers", "server_addresses", "pools", "members"},
         "INSERT INTO servers (id, name, host) VALUES (1, 'web1', 'web1.example.com.');"
         "INSERT INTO server_addresses (server_id, address) VALUES (1, '192.0.2.10');"
         "INSERT INTO pools (id, fqdn, zone_id) VALUES (1, 'pool.example.com.', 1);"
         "INSERT INTO members (pool_id, server_id, address, weight) VALUES (1, 1, '192.0.2.10', 5);",
         "SELECT (SELECT name || ' ' || host || ' ' || admin_state FROM servers) || '|' || "
         "(SELECT address FROM server_addresses) || '|' || (SELECT fqdn || ' ' || type || ' ' || ttl FROM pools) || "
         "'|' "
         "|| (SELECT address || ' ' || weight FROM members)",
         "web1 web1.example.com. enabled|192.0.2.10|pool.example.com. 1 30|192.0.2.10 5"},
        {3,
         {"member_health", "health_history", "vips"},
         "INSERT INTO member_health (pool_id, server_id, state, since) VALUES (1, 1, 'up', '2024-06-15T00:00:00Z');"
         "INSERT INTO health_history (pool_id, server_id, state, reason) VALUES (1, 1, 'down', 'connect refused');"
         "INSERT INTO vips (name, listen, pool_id, backend_port) VALUES ('web', '192.0.2.1:80', 1, 8080);",
         "SELECT (SELECT state FROM member_health) || '|' || (SELECT state || ' ' || reason FROM health_history) || "
         "'|' "
         "|| (SELECT name || ' ' || listen || ' ' || backend_port || ' ' || persist FROM vips)",
         "up|down connect refused|web 192.0.2.1:80 8080 none"},
        {4,
         {"generation", "checker"},
         "UPDATE pools SET degraded_ttl = 5, source = '127.0.0.1';"
         "INSERT INTO checker (id, pid, started_at, heartbeat_at) VALUES (1, 42, 'a', 'b');",
         "SELECT (SELECT degraded_ttl || ' ' || source FROM pools) || '|' || (SELECT ttl FROM servers) || '|' || "
         "(SELECT pid FROM checker) || '|' || (SELECT value > 0 FROM generation)",
         "5 127.0.0.1|3600|42|1"},
        {5,
         {"vip_certs", "vip_stats", "vip_member_stats"},
         "UPDATE vips SET backend_sni = 'web1.example.com', cookie_secure = 1;"
         "INSERT INTO vip_certs (vip_id, position, tls_cert, tls_key) VALUES (1, 1, '/etc/b.pem', '/etc/b.key');"
         "INSERT INTO vip_stats (vip_id, pid, started_at, updated_at, requests) VALUES (1, 7, 'a', 'b', 9);"
         "INSERT INTO vip_member_stats (vip_id, server_id, picks) VALUES (1, 1, 3);",
         // The version-3 VIP row gets every new column's default.
         "SELECT (SELECT backend_sni || ' ' || coalesce(backend_ca, '-') || ' ' || cookie_name || ' ' || "
         "cookie_httponly || cookie_secure || access_log || ' ' || max_connections || ' ' || header_timeout_ms || ' ' "
         "|| connect_timeout_ms || ' ' || response_timeout_ms || ' ' || max_request_line || ' ' || max_header_bytes "
         "|| ' ' || max_header_count || ' ' || max_body_bytes || ' ' || idle_timeout_s FROM vips) || '|' || "
         "(SELECT position || ' ' || tls_cert || ' ' || tls_key FROM vip_certs) || '|' || (SELECT pid || ' ' || "
         "listening || ' ' || requests || ' ' || connections FROM vip_stats) || '|' || (SELECT picks || ' ' || "
         "failures || ' ' || active FROM vip_member_stats)",
         "web1.example.com - MS-WSMAN 010 20000 10000 5000 120000 8192 65536 100 4294967296 1800|"
         "1 /etc/b.pem /etc/b.key|7 0 9 0|3 0 0"},
        {6,
         {"topologies", "topology_names"},
         "INSERT INTO server_addresses (server_id, address, host_record) VALUES (1, '198.51.100.10', 0);"
         "INSERT INTO topologies (id, fqdn, kind) VALUES (1, 'pool.example.com.', 'frontend');"
         "INSERT INTO topology_names (topology_id, role, fqdn, lb) VALUES (1, 'pool', 'pool.example.com.', 'dns');",
         // The version-2 address stays a host-record address.
         "SELECT (SELECT group_concat(address || '=' || host_record, ' ') FROM server_addresses) || '|' || "
         "(SELECT fqdn || ' ' || kind FROM topologies) || '|' || (SELECT role || ' ' || fqdn || ' ' || lb FROM "
         "topology_names)",
         "192.0.2.10=1 198.51.100.10=0|pool.example.com. frontend|pool pool.example.com. dns"},
    };
    return all;
}

// A database file at schema version `version`, built with the public API.
Database open_at_version(const std::string& path, int version) {
    Database db = open_ok(path, OpenMode::NoMigrate);
    REQUIRE(db.schema_version() == 0);
    migrate(db, version);
    return db;
}

}  // namespace

TEST_CASE("the migration seeds cover every schema version") {
    // When a migration is added, add its tables and data to seeds() above.
    REQUIRE_FALSE(seeds().empty());
    CHECK(seeds().back().version == current_schema_version());
    for (std::size_t i = 0; i < seeds().size(); ++i) CHECK(seeds()[i].version == static_cast<int>(i) + 1);
}

TEST_CASE("opening a new file read-write creates every table at the current schema version") {
    TempDir dir;
    Database db = open_ok(dir.file("new.db"), OpenMode::ReadWrite);
    CHECK(db.schema_version() == current_schema_version());
    CHECK(query_int(db, "PRAGMA user_version") == current_schema_version());
    for (const char* table : {"zones", "records", "settings", "audit", "servers", "server_addresses", "pools",
                              "members", "member_health", "health_history", "vips", "generation", "checker",
                              "vip_certs", "vip_stats", "vip_member_stats"}) {
        INFO("table: ", std::string(table));
        CHECK(table_exists(db, table));
    }
}

TEST_CASE("opening read-write sets WAL journal mode and foreign keys") {
    TempDir dir;
    Database db = open_ok(dir.file("new.db"), OpenMode::ReadWrite);
    CHECK(query_text(db, "PRAGMA journal_mode") == "wal");
    CHECK(query_int(db, "PRAGMA foreign_keys") == 1);
    Database again = open_ok(dir.file("new.db"), OpenMode::ReadOnly);
    CHECK(query_int(again, "PRAGMA foreign_keys") == 1);
}

TEST_CASE("migrate builds exactly the tables of the requested version") {
    for (int v = 1; v <= current_schema_version(); ++v) {
        INFO("v: ", v);
        TempDir dir;
        Database db = open_at_version(dir.file("v.db"), v);
        CHECK(db.schema_version() == v);
        for (const auto& seed : seeds()) {
            for (const char* table : seed.tables) {
                INFO("table: ", std::string(table));
                CHECK(table_exists(db, table) == (seed.version <= v));
            }
        }
    }
}

TEST_CASE("opening read-write migrates a file from every older version and keeps its data") {
    for (int v = 1; v < current_schema_version(); ++v) {
        INFO("v: ", v);
        TempDir dir;
        std::string path = dir.file("old.db");
        {
            Database db = open_at_version(path, v);
            for (const auto& seed : seeds()) {
                if (seed.version <= v) db.exec(seed.insert);
            }
        }
        Database db = open_ok(path, OpenMode::ReadWrite);
        CHECK(db.schema_version() == current_schema_version());
        for (const auto& seed : seeds()) {
            INFO("version: ", seed.version);
            if (seed.version > v) db.exec(seed.insert);  // the new tables work
            CHECK(query_text(db, seed.check_sql) == seed.expected);
        }
    }
}

TEST_CASE("opening read-write-existing migrates an older file") {
    TempDir dir;
    std::string path = dir.file("old.db");
    { Database db = open_at_version(path, 1); }
    Database db = open_ok(path, OpenMode::ReadWriteExisting);
    CHECK(db.schema_version() == current_schema_version());
}

TEST_CASE("migrate to the current version is a no-op on a current file") {
    TempDir dir;
    Database db = open_ok(dir.file("db"), OpenMode::ReadWrite);
    db.exec(seeds().front().insert);
    migrate(db, current_schema_version());
    CHECK(db.schema_version() == current_schema_version());
    CHECK(query_text(db, seeds().front().check_sql) == seeds().front().expected);
}

TEST_CASE("opening with NoMigrate creates a missing file at version 0") {
    TempDir dir;
    Database db = open_ok(dir.file("fresh.db"), OpenMode::NoMigrate);
    CHECK(db.schema_version() == 0);
    CHECK_FALSE(table_exists(db, "zones"));
    CHECK(std::filesystem::exists(dir.file("fresh.db")));
}

TEST_CASE("opening with NoMigrate leaves an older file at its version") {
    TempDir dir;
    std::string path = dir.file("old.db");
    { Database db = open_at_version(path, 1); }
    Database db = open_ok(path, OpenMode::NoMigrate);
    CHECK(db.schema_version() == 1);
    CHECK_FALSE(table_exists(db, "servers"));
}

TEST_CASE("opening a file with a newer schema version fails naming the path") {
    TempDir dir;
    std::string path = dir.file("future.db");
    {
        Database db = open_ok(path, OpenMode::ReadWrite);
        db.exec("PRAGMA user_version = " + std::to_string(current_schema_version() + 1));
    }
    for (OpenMode mode : {OpenMode::ReadWrite, OpenMode::ReadWriteExisting, OpenMode::ReadOnly, OpenMode::NoMigrate}) {
        INFO("mode: ", static_cast<int>(mode));
        auto db = Database::open(path, mode);
        REQUIRE_FALSE(db.ok());
        CHECK(db.error().message.find("'" + path + "'") != std::string::npos);
        CHECK(db.error().message.find("schema version " + std::to_string(current_schema_version() + 1)) !=
              std::string::npos);
    }
}

TEST_CASE("opening read-only fails naming the path when the file needs a migration") {
    TempDir dir;
    std::string path = dir.file("old.db");
    { Database db = open_at_version(path, 1); }
    auto db = Database::open(path, OpenMode::ReadOnly);
    REQUIRE_FALSE(db.ok());
    CHECK(db.error().message == "database '" + path + "' has schema version 1, this build needs " +
                                    std::to_string(current_schema_version()) + "; open it once read-write to migrate");
}

TEST_CASE("opening a missing path read-write-existing or read-only fails naming the path and creates nothing") {
    TempDir dir;
    std::string path = dir.file("missing.db");
    for (OpenMode mode : {OpenMode::ReadWriteExisting, OpenMode::ReadOnly}) {
        INFO("mode: ", static_cast<int>(mode));
        auto db = Database::open(path, mode);
        REQUIRE_FALSE(db.ok());
        CHECK(db.error().message.starts_with("database '" + path + "' does not exist"));
        CHECK_FALSE(std::filesystem::exists(path));
    }
}

TEST_CASE("deleting a zone deletes its records through the foreign key") {
    TempDir dir;
    Database db = open_ok(dir.file("db"), OpenMode::ReadWrite);
    db.exec(seeds().front().insert);
    db.exec(
        "INSERT INTO zones (id, origin) VALUES (2, 'example.net.');"
        "INSERT INTO records (zone_id, owner, type, ttl, rdata) VALUES (2, 'example.net.', 1, 60, x'C0000202')");
    REQUIRE(query_int(db, "SELECT count(*) FROM records") == 2);
    db.exec("DELETE FROM zones WHERE origin = 'example.com.'");
    CHECK(query_int(db, "SELECT count(*) FROM records WHERE zone_id = 1") == 0);
    CHECK(query_int(db, "SELECT count(*) FROM records WHERE zone_id = 2") == 1);
}

TEST_CASE("a record must belong to an existing zone") {
    TempDir dir;
    Database db = open_ok(dir.file("db"), OpenMode::ReadWrite);
    CHECK_THROWS_AS(db.exec("INSERT INTO records (zone_id, owner, type, ttl, rdata) VALUES (99, 'x.', 1, 60, x'00')"),
                    StoreError);
    CHECK(query_int(db, "SELECT count(*) FROM records") == 0);
}

TEST_CASE("a zone that a pool references cannot be deleted") {
    TempDir dir;
    Database db = open_ok(dir.file("db"), OpenMode::ReadWrite);
    db.exec(seeds()[0].insert);
    db.exec(seeds()[1].insert);
    CHECK_THROWS_AS(db.exec("DELETE FROM zones WHERE id = 1"), StoreError);
    CHECK(query_int(db, "SELECT count(*) FROM zones") == 1);
    CHECK(query_int(db, "SELECT count(*) FROM records") == 1);
}

// --- migration 5: VIP options, certificates by SNI, the server's counters ------

namespace {

// A current file with a zone, a server, a pool and VIP 1 on it.
Database with_vip(const TempDir& dir) {
    Database db = open_ok(dir.file("db"), OpenMode::ReadWrite);
    for (std::size_t i = 0; i < 3; ++i) db.exec(seeds()[i].insert);
    return db;
}

}  // namespace

TEST_CASE("deleting a VIP deletes its certificates and counters through the foreign keys") {
    TempDir dir;
    Database db = with_vip(dir);
    db.exec(seeds()[4].insert);
    db.exec("DELETE FROM vips WHERE id = 1");
    CHECK(query_int(db, "SELECT count(*) FROM vip_certs") == 0);
    CHECK(query_int(db, "SELECT count(*) FROM vip_stats") == 0);
    CHECK(query_int(db, "SELECT count(*) FROM vip_member_stats") == 0);
}

TEST_CASE("deleting a server deletes its per-VIP counters") {
    TempDir dir;
    Database db = with_vip(dir);
    db.exec(seeds()[4].insert);
    REQUIRE(query_int(db, "SELECT count(*) FROM vip_member_stats") == 1);
    db.exec("DELETE FROM servers WHERE id = 1");  // the VIP stays: only the server's cascade may remove the row
    CHECK(query_int(db, "SELECT count(*) FROM vips") == 1);
    CHECK(query_int(db, "SELECT count(*) FROM vip_member_stats") == 0);
}

TEST_CASE("a pool that a VIP sends traffic to cannot be deleted") {
    TempDir dir;
    Database db = with_vip(dir);
    CHECK_THROWS_AS(db.exec("DELETE FROM pools WHERE id = 1"), StoreError);
    CHECK(query_int(db, "SELECT count(*) FROM pools") == 1);
}

TEST_CASE("the VIP columns of migration 5 refuse values outside their CHECKs") {
    TempDir dir;
    Database db = with_vip(dir);
    for (const char* bad :
         {"cookie_httponly = 2", "cookie_secure = -1", "access_log = 2", "max_connections = 0",
          "header_timeout_ms = 0", "connect_timeout_ms = 0", "response_timeout_ms = 0", "max_request_line = 63",
          "max_header_bytes = 255", "max_header_count = 0", "max_body_bytes = -1", "cookie_name = NULL"}) {
        INFO("set: ", std::string(bad));
        CHECK_THROWS_AS(db.exec(std::string("UPDATE vips SET ") + bad + " WHERE id = 1"), StoreError);
    }
    CHECK_THROWS_AS(db.exec("INSERT INTO vip_certs (vip_id, position, tls_cert, tls_key) VALUES (1, 0, 'c', 'k')"),
                    StoreError);
    CHECK_THROWS_AS(db.exec("INSERT INTO vip_certs (vip_id, position, tls_cert, tls_key) VALUES (9, 1, 'c', 'k')"),
                    StoreError);
}

TEST_CASE("VIP certificates move the generation; the server's VIP counters do not") {
    TempDir dir;
    Database db = with_vip(dir);
    std::int64_t g = query_int(db, "SELECT value FROM generation");
    db.exec("INSERT INTO vip_stats (vip_id, pid, started_at, updated_at) VALUES (1, 7, 'a', 'b');"
            "UPDATE vip_stats SET requests = 5;"
            "INSERT INTO vip_member_stats (vip_id, server_id) VALUES (1, 1);"
            "UPDATE vip_member_stats SET picks = 5;");
    CHECK(query_int(db, "SELECT value FROM generation") == g);
    db.exec("INSERT INTO vip_certs (vip_id, position, tls_cert, tls_key) VALUES (1, 1, 'c', 'k')");
    CHECK(query_int(db, "SELECT value FROM generation") > g);
}
