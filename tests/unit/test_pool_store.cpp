// Servers, pools and members over a real SQLite file: each edit validates,
// writes, bumps the serials of the zones whose answers it changes and audits in
// one transaction, or changes nothing and names the bad argument.
#include "pooldns/pool_store.hpp"

#include "pooldns/serial.hpp"
#include "pooldns/zone_store.hpp"
#include "store_testing.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

using namespace pooldns;
using namespace pooldns::test;

namespace {

constexpr const char* kCommand = "pooldnsctl --db test.db server add";

// contoso.com. with serials that are not dates, so a bump is exactly +1, a
// delegation (sub) and names that hold address and alias records.
constexpr const char* kContoso =
    "$TTL 3600\n"
    "@ SOA ns1 hostmaster 1000 3600 600 1209600 60\n"
    "@ NS ns1\n"
    "ns1 A 192.0.2.53\n"
    "www A 192.0.2.80\n"
    "v6 AAAA 2001:db8::80\n"
    "alias CNAME www\n"
    "txt TXT \"hello\"\n"
    "sub NS ns.other.example.\n";

constexpr const char* kExampleNet =
    "$TTL 3600\n"
    "@ SOA ns1 hostmaster 2000 3600 600 1209600 60\n"
    "@ NS ns1\n"
    "ns1 A 198.51.100.53\n";

// The value of a Result that must have succeeded.
ServerSpec server(std::string name, std::string host, std::vector<std::string> addresses) {
    return ServerSpec{std::move(name), std::move(host), std::move(addresses), std::nullopt, {}};
}

PoolSpec pool(std::string fqdn) {
    PoolSpec spec;
    spec.fqdn = std::move(fqdn);
    return spec;
}

struct Fixture {
    TempDir dir;
    Database db{open_db(dir.file("pooldns.db"))};
    ZoneStore zones{db, kCommand};
    PoolStore store{db, kCommand};

    Fixture() {
        must(zones.import("contoso.com", dir.write("contoso.zone", kContoso)));
        must(zones.import("example.net", dir.write("example.zone", kExampleNet)));
    }

    // fe01 in contoso.com (v4 and v6), fe02 in example.net, fe03 in no zone;
    // pool01 (A, tcp:5061) with fe01 and fe02, pool6 (AAAA) with fe01.
    void populate() {
        must(store.add_server(server("fe01", "fe01.contoso.com", {"192.0.2.11", "2001:db8::11"})));
        must(store.add_server(server("fe02", "fe02.example.net", {"192.0.2.12"})));
        must(store.add_server(server("fe03", "fe03.elsewhere.example", {"192.0.2.13"})));
        PoolSpec p = pool("pool01.contoso.com");
        p.check = "tcp:5061";
        must(store.add_pool(p));
        PoolSpec p6 = pool("pool6.contoso.com");
        p6.type = "AAAA";
        must(store.add_pool(p6));
        must(store.add_member("pool01.contoso.com", "fe01", "192.0.2.11", std::nullopt, std::nullopt));
        must(store.add_member("pool01.contoso.com", "fe02", "192.0.2.12", std::nullopt, std::nullopt));
        must(store.add_member("pool6.contoso.com", "fe01", "2001:db8::11", std::nullopt, std::nullopt));
    }

    std::int64_t count(std::string_view sql) const {
        auto st = db.prepare(sql);
        REQUIRE(st.step());
        return st.column_int(0);
    }

    std::vector<std::string> dump() const { return dump_tables(db); }

    std::uint32_t serial(std::string_view origin) const { return zone_serial(db, origin); }

    std::int64_t generation() const { return count("SELECT value FROM generation WHERE id = 1"); }
    std::int64_t audit_rows() const { return count("SELECT count(*) FROM audit"); }

    ServerInfo find_server(std::string_view name) const {
        for (auto& s : must(store.servers())) {
            if (s.name == name) return s;
        }
        FAIL("no server " << name);
        return {};
    }
};

}  // namespace

// --- servers ------------------------------------------------------------------

TEST_CASE("server add stores the host absolute and lower case, the addresses canonical, and the zone serving it") {
    Fixture f;
    auto s = must(f.store.add_server(server("fe01", "FE01.Contoso.COM", {"192.0.2.11", "2001:DB8:0::11"})));
    CHECK(s.name == "fe01");
    CHECK(s.host == "fe01.contoso.com.");
    CHECK(s.addresses == std::vector<std::string>{"192.0.2.11", "2001:db8::11"});
    CHECK(s.zone == "contoso.com.");
    CHECK(s.admin == AdminState::Enabled);
    CHECK(s.ttl == 3600);
    CHECK(f.find_server("fe01").addresses == s.addresses);
}

TEST_CASE("server add of a host in no zone we serve stores it with no zone and bumps no serial") {
    Fixture f;
    auto s = must(f.store.add_server(server("ext", "ext.elsewhere.example", {"192.0.2.99"})));
    CHECK(s.zone.empty());
    CHECK(f.serial("contoso.com.") == 1000);
    CHECK(f.serial("example.net.") == 2000);
}

TEST_CASE("server add in a zone bumps that zone's serial only") {
    Fixture f;
    must(f.store.add_server(server("fe01", "fe01.contoso.com", {"192.0.2.11"})));
    CHECK(f.serial("contoso.com.") == 1001);
    CHECK(f.serial("example.net.") == 2000);
}

TEST_CASE("server add takes the host-record TTL") {
    Fixture f;
    ServerSpec spec = server("fe01", "fe01.contoso.com", {"192.0.2.11"});
    spec.ttl = "300";
    CHECK(must(f.store.add_server(spec)).ttl == 300);
}

TEST_CASE("server add rejects bad arguments, naming each") {
    struct Case {
        ServerSpec spec;
        const char* error;
    };
    const Case cases[] = {
        {server("fe01", "fe01.contoso.com", {"192.0.2.300"}), "--addr: '192.0.2.300' is not an IPv4 or IPv6 address"},
        {server("fe01", "fe01.contoso.com", {}), "--addr: a server needs at least one address"},
        {server("fe01", "fe01.contoso.com", {"192.0.2.11", "192.0.2.11"}), "--addr: '192.0.2.11' is given twice"},
        {server("fe 01", "fe01.contoso.com", {"192.0.2.11"}), "NAME: 'fe 01' may hold only"},
        {server("", "fe01.contoso.com", {"192.0.2.11"}), "NAME: '' must be 1-63 characters"},
        {server("fe01", "", {"192.0.2.11"}), "--host: empty name"},
        {ServerSpec{"fe01", "fe01.contoso.com", {"192.0.2.11"}, "forever", {}}, "--ttl:"},
    };
    for (const auto& c : cases) {
        Fixture f;
        auto before = f.dump();
        auto err = error_of(f.store.add_server(c.spec));
        INFO("error: ", err);
        CHECK(err.starts_with(c.error));
        CHECK(f.dump() == before);
    }
}

TEST_CASE("a server name is unique") {
    Fixture f;
    must(f.store.add_server(server("fe01", "fe01.contoso.com", {"192.0.2.11"})));
    CHECK(error_of(f.store.add_server(server("fe01", "other.contoso.com", {"192.0.2.12"}))) ==
          "NAME: server 'fe01' already exists");
}

TEST_CASE("a server host is unique") {
    Fixture f;
    must(f.store.add_server(server("fe01", "fe01.contoso.com", {"192.0.2.11"})));
    auto before = f.dump();
    CHECK(error_of(f.store.add_server(server("fe02", "FE01.contoso.com.", {"192.0.2.12"}))) ==
          "--host: 'fe01.contoso.com.' is already the host name of server 'fe01'");
    CHECK(f.dump() == before);
}

TEST_CASE("a server host may not be a name holding A, AAAA or CNAME records") {
    for (const char* host : {"www.contoso.com", "v6.contoso.com", "alias.contoso.com"}) {
        INFO("host: ", host);
        Fixture f;
        auto before = f.dump();
        auto err = error_of(f.store.add_server(server("fe01", host, {"192.0.2.11"})));
        INFO("error: ", err);
        CHECK(err.starts_with("--host: zone 'contoso.com.' already has "));
        CHECK(f.dump() == before);
    }
}

TEST_CASE("a server host may hold other records, such as TXT") {
    Fixture f;
    CHECK(must(f.store.add_server(server("fe01", "txt.contoso.com", {"192.0.2.11"}))).zone == "contoso.com.");
}

TEST_CASE("a server host may not be at or below a delegation") {
    Fixture f;
    auto err = error_of(f.store.add_server(server("fe01", "fe01.sub.contoso.com", {"192.0.2.11"})));
    CHECK(err.starts_with("--host: 'fe01.sub.contoso.com.' is at or below the delegation 'sub.contoso.com.'"));
}

TEST_CASE("a server host may not be a pool FQDN") {
    Fixture f;
    f.populate();
    CHECK(error_of(f.store.add_server(server("fe09", "pool01.contoso.com", {"192.0.2.19"}))) ==
          "--host: 'pool01.contoso.com.' is a pool FQDN; a server needs its own host name");
}

TEST_CASE("server delete removes the server, its addresses and its memberships") {
    Fixture f;
    f.populate();
    auto s = must(f.store.delete_server("fe01"));
    CHECK(s.pools == std::vector<std::string>{"pool01.contoso.com.", "pool6.contoso.com."});
    CHECK(f.count("SELECT count(*) FROM servers WHERE name = 'fe01'") == 0);
    CHECK(f.count("SELECT count(*) FROM server_addresses WHERE address = '192.0.2.11'") == 0);
    auto pools = must(f.store.pools("pool01.contoso.com"));
    REQUIRE(pools.size() == 1);
    REQUIRE(pools[0].members.size() == 1);
    CHECK(pools[0].members[0].server == "fe02");
}

TEST_CASE("server delete of an unknown server fails naming SERVER") {
    Fixture f;
    CHECK(error_of(f.store.delete_server("nope")).starts_with("SERVER: unknown server 'nope'"));
}

TEST_CASE("set_admin_state moves a server between enabled, drained and blocked") {
    Fixture f;
    f.populate();
    CHECK(must(f.store.set_admin_state("fe01", AdminState::Drained)).admin == AdminState::Drained);
    CHECK(f.find_server("fe01").admin == AdminState::Drained);
    CHECK(must(f.store.set_admin_state("fe01", AdminState::Blocked)).admin == AdminState::Blocked);
    CHECK(f.find_server("fe01").admin == AdminState::Blocked);
    CHECK(must(f.store.set_admin_state("fe01", AdminState::Enabled)).admin == AdminState::Enabled);
    CHECK(f.find_server("fe01").admin == AdminState::Enabled);
    auto pools = must(f.store.pools("pool01.contoso.com"));
    CHECK(pools[0].members[0].admin == AdminState::Enabled);
}

TEST_CASE("set_admin_state to the state a server is in changes nothing and writes no audit row") {
    Fixture f;
    f.populate();
    must(f.store.set_admin_state("fe01", AdminState::Drained));
    auto before = f.dump();
    CHECK(must(f.store.set_admin_state("fe01", AdminState::Drained)).admin == AdminState::Drained);
    CHECK(f.dump() == before);
}

TEST_CASE("set_admin_state of an unknown server fails naming SERVER") {
    Fixture f;
    CHECK(error_of(f.store.set_admin_state("nope", AdminState::Blocked)).starts_with("SERVER: unknown server 'nope'"));
}

TEST_CASE("drain bumps the serials of the zones of the server's pools, not its host's zone") {
    Fixture f;
    must(f.store.add_server(server("fe02", "fe02.example.net", {"192.0.2.12"})));
    must(f.store.add_pool(pool("pool01.contoso.com")));
    must(f.store.add_member("pool01.contoso.com", "fe02", "192.0.2.12", std::nullopt, std::nullopt));
    auto contoso = f.serial("contoso.com."), net = f.serial("example.net.");
    must(f.store.set_admin_state("fe02", AdminState::Drained));
    CHECK(f.serial("contoso.com.") == contoso + 1);
    CHECK(f.serial("example.net.") == net);
}

TEST_CASE("block of a drained server bumps its host zone's serial only") {
    Fixture f;
    must(f.store.add_server(server("fe02", "fe02.example.net", {"192.0.2.12"})));
    must(f.store.add_pool(pool("pool01.contoso.com")));
    must(f.store.add_member("pool01.contoso.com", "fe02", "192.0.2.12", std::nullopt, std::nullopt));
    must(f.store.set_admin_state("fe02", AdminState::Drained));
    auto contoso = f.serial("contoso.com."), net = f.serial("example.net.");
    must(f.store.set_admin_state("fe02", AdminState::Blocked));
    CHECK(f.serial("example.net.") == net + 1);
    CHECK(f.serial("contoso.com.") == contoso);
}

TEST_CASE("block of an enabled server bumps both its host zone and its pools' zones") {
    Fixture f;
    must(f.store.add_server(server("fe02", "fe02.example.net", {"192.0.2.12"})));
    must(f.store.add_pool(pool("pool01.contoso.com")));
    must(f.store.add_member("pool01.contoso.com", "fe02", "192.0.2.12", std::nullopt, std::nullopt));
    auto contoso = f.serial("contoso.com."), net = f.serial("example.net.");
    must(f.store.set_admin_state("fe02", AdminState::Blocked));
    CHECK(f.serial("example.net.") == net + 1);
    CHECK(f.serial("contoso.com.") == contoso + 1);
}

// --- pools --------------------------------------------------------------------

TEST_CASE("pool add stores the defaults: A, ttl 30, no check, 2 s interval, 1 s timeout, rise 2, fall 3, all") {
    Fixture f;
    auto p = must(f.store.add_pool(pool("Pool01.contoso.com")));
    CHECK(p.fqdn == "pool01.contoso.com.");
    CHECK(p.zone == "contoso.com.");
    CHECK(p.type == 1);
    CHECK(p.ttl == 30);
    CHECK(p.check.empty());
    CHECK(p.interval_ms == 2000);
    CHECK(p.timeout_ms == 1000);
    CHECK(p.rise == 2);
    CHECK(p.fall == 3);
    CHECK(p.all_down == "all");
    CHECK_FALSE(p.degraded_ttl);
    CHECK_FALSE(p.max_records);
    CHECK(p.source.empty());
    auto stored = must(f.store.pools());
    REQUIRE(stored.size() == 1);
    CHECK(stored[0].fqdn == "pool01.contoso.com.");
    CHECK(f.serial("contoso.com.") == 1001);
}

TEST_CASE("pool add stores every option given, the check in canonical form") {
    Fixture f;
    PoolSpec spec = pool("pool01.contoso.com");
    spec.type = "aaaa";
    spec.ttl = "20";
    spec.degraded_ttl = "5";
    spec.max_records = "4";
    spec.check = "tcp:5061";
    spec.interval = "0.5";
    spec.timeout = "250ms";
    spec.rise = "1";
    spec.fall = "5";
    spec.all_down = "none";
    spec.source = "2001:db8::1";
    must(f.store.add_pool(spec));
    auto p = must(f.store.pools("pool01.contoso.com"))[0];
    CHECK(p.type == 28);
    CHECK(p.ttl == 20);
    CHECK(p.degraded_ttl == 5u);
    CHECK(p.max_records == 4u);
    CHECK(p.check == "tcp:5061");
    CHECK(p.interval_ms == 500);
    CHECK(p.timeout_ms == 250);
    CHECK(p.rise == 1);
    CHECK(p.fall == 5);
    CHECK(p.all_down == "none");
    CHECK(p.source == "2001:db8::1");
}

TEST_CASE("a pool must be inside a zone we serve") {
    Fixture f;
    auto before = f.dump();
    CHECK(error_of(f.store.add_pool(pool("pool.elsewhere.example")))
              .starts_with("POOL: no zone we serve contains 'pool.elsewhere.example.'"));
    CHECK(f.dump() == before);
}

TEST_CASE("a pool may not be at or below a delegation") {
    for (const char* fqdn : {"sub.contoso.com", "pool.sub.contoso.com"}) {
        INFO("pool: ", fqdn);
        Fixture f;
        auto before = f.dump();
        CHECK(error_of(f.store.add_pool(pool(fqdn))).find("delegation 'sub.contoso.com.'") != std::string::npos);
        CHECK(f.dump() == before);
    }
}

TEST_CASE("a pool may not be a name holding A, AAAA, CNAME or NS records") {
    for (const char* fqdn : {"www.contoso.com", "v6.contoso.com", "alias.contoso.com"}) {
        INFO("pool: ", fqdn);
        Fixture f;
        auto before = f.dump();
        auto err = error_of(f.store.add_pool(pool(fqdn)));
        INFO("error: ", err);
        CHECK(err.starts_with("POOL: zone 'contoso.com.' already has "));
        CHECK(f.dump() == before);
    }
}

TEST_CASE("a pool may not be a zone apex, where the SOA and NS live") {
    Fixture f;
    auto before = f.dump();
    CHECK(error_of(f.store.add_pool(pool("contoso.com"))) ==
          "POOL: 'contoso.com.' is the apex of zone 'contoso.com.', where its SOA and NS live; a pool needs a name "
          "below it (for example pool01.contoso.com.)");
    CHECK(f.dump() == before);
}

TEST_CASE("a pool may not be a server's host name") {
    Fixture f;
    f.populate();
    CHECK(error_of(f.store.add_pool(pool("fe01.contoso.com"))) ==
          "POOL: 'fe01.contoso.com.' is the host name of server 'fe01'; a pool needs a name of its own");
}

TEST_CASE("a pool FQDN is unique") {
    Fixture f;
    must(f.store.add_pool(pool("pool01.contoso.com")));
    CHECK(error_of(f.store.add_pool(pool("POOL01.contoso.com.")))
              .starts_with("POOL: pool 'pool01.contoso.com.' already exists"));
}

TEST_CASE("pool options with bad values fail naming the option") {
    struct Case {
        std::function<void(PoolSpec&)> set;
        const char* error;
    };
    const Case cases[] = {
        {[](PoolSpec& s) { s.type = "MX"; }, "--type: 'MX' must be A or AAAA"},
        {[](PoolSpec& s) { s.ttl = "-1"; }, "--ttl:"},
        {[](PoolSpec& s) { s.degraded_ttl = "x"; }, "--degraded-ttl:"},
        {[](PoolSpec& s) { s.max_records = "0"; }, "--max-records: '0' is not a whole number in 1..1000"},
        {[](PoolSpec& s) { s.check = "ftp:21"; }, "--check:"},
        {[](PoolSpec& s) { s.check = "tcp:0"; }, "--check:"},
        {[](PoolSpec& s) { s.interval = "soon"; }, "--interval: 'soon' is not a duration"},
        {[](PoolSpec& s) { s.timeout = "0"; }, "--timeout: 0 is out of range"},
        {[](PoolSpec& s) { s.rise = "0"; }, "--rise: '0' is not a whole number in 1..100"},
        {[](PoolSpec& s) { s.fall = "many"; }, "--fall:"},
        {[](PoolSpec& s) { s.all_down = "some"; }, "--all-down: 'some' must be all, none or backup:FQDN"},
        {[](PoolSpec& s) { s.source = "here"; }, "--source: 'here' is not an IPv4 or IPv6 address"},
    };
    for (const auto& c : cases) {
        Fixture f;
        PoolSpec spec = pool("pool01.contoso.com");
        c.set(spec);
        auto before = f.dump();
        auto err = error_of(f.store.add_pool(spec));
        INFO("error: ", err);
        CHECK(err.starts_with(c.error));
        CHECK(f.dump() == before);
    }
}

TEST_CASE("a pool's timeout may not be longer than its interval, counting the stored values on set") {
    Fixture f;
    PoolSpec spec = pool("pool01.contoso.com");
    spec.timeout = "3";
    CHECK(error_of(f.store.add_pool(spec)).starts_with("--timeout: 3000 ms is longer than the interval (2000 ms)"));
    must(f.store.add_pool(pool("pool01.contoso.com")));
    PoolSpec set = pool("pool01.contoso.com");
    set.interval = "0.5";
    CHECK(error_of(f.store.update_pool(set)).starts_with("--timeout: 1000 ms is longer than the interval (500 ms)"));
}

TEST_CASE("pool set changes only the options given") {
    Fixture f;
    PoolSpec spec = pool("pool01.contoso.com");
    spec.check = "tcp:5061";
    spec.ttl = "20";
    must(f.store.add_pool(spec));
    PoolSpec set = pool("pool01.contoso.com");
    set.fall = "4";
    auto p = must(f.store.update_pool(set));
    CHECK(p.fall == 4);
    CHECK(p.ttl == 20);
    CHECK(p.check == "tcp:5061");
    CHECK(p.rise == 2);
    CHECK(must(f.store.pools("pool01.contoso.com"))[0].fall == 4);
}

TEST_CASE("pool set 'none' clears the check, degraded TTL, max records and source") {
    Fixture f;
    PoolSpec spec = pool("pool01.contoso.com");
    spec.check = "tcp:5061";
    spec.degraded_ttl = "5";
    spec.max_records = "2";
    spec.source = "192.0.2.1";
    must(f.store.add_pool(spec));
    PoolSpec clear = pool("pool01.contoso.com");
    clear.check = clear.degraded_ttl = clear.max_records = clear.source = "none";
    auto p = must(f.store.update_pool(clear));
    CHECK(p.check.empty());
    CHECK_FALSE(p.degraded_ttl);
    CHECK_FALSE(p.max_records);
    CHECK(p.source.empty());
    CHECK(f.count("SELECT count(*) FROM pools WHERE check_spec IS NULL AND degraded_ttl IS NULL AND "
                  "max_records IS NULL AND source IS NULL") == 1);
}

TEST_CASE("pool set of an unknown pool fails naming POOL") {
    Fixture f;
    PoolSpec set = pool("nope.contoso.com");
    set.ttl = "5";
    CHECK(error_of(f.store.update_pool(set)).starts_with("POOL: unknown pool 'nope.contoso.com.'"));
}

TEST_CASE("pool set --type fails while a member has an address of the old family") {
    Fixture f;
    f.populate();
    PoolSpec set = pool("pool01.contoso.com");
    set.type = "AAAA";
    auto before = f.dump();
    CHECK(
        error_of(f.store.update_pool(set)).starts_with("--type: member 'fe01' of 'pool01.contoso.com.' has the IPv4"));
    CHECK(f.dump() == before);
}

TEST_CASE("a backup pool must exist") {
    Fixture f;
    PoolSpec spec = pool("pool01.contoso.com");
    spec.all_down = "backup:nope.contoso.com";
    CHECK(error_of(f.store.add_pool(spec)) == "--all-down: backup pool 'nope.contoso.com.' does not exist");
}

TEST_CASE("a pool cannot be its own backup") {
    Fixture f;
    must(f.store.add_pool(pool("pool01.contoso.com")));
    PoolSpec set = pool("pool01.contoso.com");
    set.all_down = "backup:pool01.contoso.com";
    CHECK(error_of(f.store.update_pool(set)) == "--all-down: pool 'pool01.contoso.com.' cannot be its own backup");
}

TEST_CASE("backup pools may not form a loop (A -> B, then B -> A by pool set)") {
    Fixture f;
    must(f.store.add_pool(pool("b.contoso.com")));
    PoolSpec a = pool("a.contoso.com");
    a.all_down = "backup:b.contoso.com";
    must(f.store.add_pool(a));
    PoolSpec c = pool("c.contoso.com");
    c.all_down = "backup:a.contoso.com";
    must(f.store.add_pool(c));
    auto before = f.dump();
    PoolSpec loop = pool("b.contoso.com");
    loop.all_down = "backup:a.contoso.com";
    CHECK(error_of(f.store.update_pool(loop)) ==
          "--all-down: backup pools would form a loop: b.contoso.com. -> a.contoso.com. -> b.contoso.com.");
    PoolSpec longer = pool("b.contoso.com");
    longer.all_down = "backup:c.contoso.com";
    CHECK(error_of(f.store.update_pool(longer)) ==
          "--all-down: backup pools would form a loop: b.contoso.com. -> c.contoso.com. -> a.contoso.com. -> "
          "b.contoso.com.");
    CHECK(f.dump() == before);
}

TEST_CASE("deleting a pool that is another pool's backup fails") {
    Fixture f;
    must(f.store.add_pool(pool("b.contoso.com")));
    PoolSpec a = pool("a.contoso.com");
    a.all_down = "backup:b.contoso.com";
    must(f.store.add_pool(a));
    auto before = f.dump();
    CHECK(error_of(f.store.delete_pool("b.contoso.com")) ==
          "POOL: 'b.contoso.com.' is the backup of a.contoso.com.; change their --all-down first");
    CHECK(f.dump() == before);
}

TEST_CASE("pool delete removes the pool with its members and bumps its zone's serial") {
    Fixture f;
    f.populate();
    auto serial = f.serial("contoso.com.");
    auto p = must(f.store.delete_pool("pool01.contoso.com"));
    CHECK(p.members.size() == 2);
    CHECK(f.count("SELECT count(*) FROM pools WHERE fqdn = 'pool01.contoso.com.'") == 0);
    CHECK(f.count("SELECT count(*) FROM members") == 1);
    CHECK(f.serial("contoso.com.") == serial + 1);
    CHECK(error_of(f.store.pools("pool01.contoso.com")).starts_with("POOL: unknown pool 'pool01.contoso.com.'"));
}

// --- members ------------------------------------------------------------------

TEST_CASE("member add stores the answered address, the weight and the probe address") {
    Fixture f;
    f.populate();
    auto m = must(f.store.add_member("pool01.contoso.com", "fe03", "192.0.2.13", "5", "10.0.0.13"));
    CHECK(m.server == "fe03");
    CHECK(m.address == "192.0.2.13");
    CHECK(m.weight == 5);
    CHECK(m.probe_address == "10.0.0.13");
    CHECK(m.health == "unknown");
    auto p = must(f.store.pools("pool01.contoso.com"))[0];
    REQUIRE(p.members.size() == 3);
    CHECK(p.members[2].server == "fe03");
    CHECK(f.find_server("fe03").pools == std::vector<std::string>{"pool01.contoso.com."});
}

TEST_CASE("member add of an enabled server bumps the pool zone's serial; of a drained one it does not") {
    Fixture f;
    f.populate();
    auto serial = f.serial("contoso.com.");
    must(f.store.add_member("pool01.contoso.com", "fe03", "192.0.2.13", std::nullopt, std::nullopt));
    CHECK(f.serial("contoso.com.") == serial + 1);
    must(f.store.add_server(server("fe04", "fe04.contoso.com", {"192.0.2.14"})));
    must(f.store.set_admin_state("fe04", AdminState::Drained));
    serial = f.serial("contoso.com.");
    must(f.store.add_member("pool01.contoso.com", "fe04", "192.0.2.14", std::nullopt, std::nullopt));
    CHECK(f.serial("contoso.com.") == serial);
}

TEST_CASE("a member address must be one of the server's addresses") {
    Fixture f;
    f.populate();
    CHECK(error_of(f.store.add_member("pool01.contoso.com", "fe03", "192.0.2.99", std::nullopt, std::nullopt)) ==
          "ADDR: 192.0.2.99 is not an address of server 'fe03' (its addresses: 192.0.2.13)");
}

TEST_CASE("a member address must be of the pool's family") {
    Fixture f;
    f.populate();
    CHECK(error_of(f.store.add_member("pool6.contoso.com", "fe02", "192.0.2.12", std::nullopt, std::nullopt)) ==
          "ADDR: 192.0.2.12 is an IPv4 address but pool 'pool6.contoso.com.' answers AAAA records");
}

TEST_CASE("a server is a member of a pool once") {
    Fixture f;
    f.populate();
    CHECK(error_of(f.store.add_member("pool01.contoso.com", "fe01", "192.0.2.11", std::nullopt, std::nullopt))
              .starts_with("SERVER: 'fe01' is already a member of 'pool01.contoso.com.'"));
}

TEST_CASE("member add names the bad argument: POOL, SERVER, ADDR, --weight, --probe") {
    struct Case {
        const char* pool;
        const char* server;
        const char* address;
        std::optional<std::string_view> weight, probe;
        const char* error;
    };
    const Case cases[] = {
        {"nope.contoso.com", "fe03", "192.0.2.13", {}, {}, "POOL: unknown pool 'nope.contoso.com.'"},
        {"pool01.contoso.com", "nope", "192.0.2.13", {}, {}, "SERVER: unknown server 'nope'"},
        {"pool01.contoso.com", "fe03", "192.0.2", {}, {}, "ADDR: '192.0.2' is not an IPv4 or IPv6 address"},
        {"pool01.contoso.com", "fe03", "192.0.2.13", "0", {}, "--weight: '0' is not a whole number in 1..1000"},
        {"pool01.contoso.com", "fe03", "192.0.2.13", {}, "nat", "--probe: 'nat' is not an IPv4 or IPv6 address"},
    };
    for (const auto& c : cases) {
        Fixture f;
        f.populate();
        auto before = f.dump();
        auto err = error_of(f.store.add_member(c.pool, c.server, c.address, c.weight, c.probe));
        INFO("error: ", err);
        CHECK(err.starts_with(c.error));
        CHECK(f.dump() == before);
    }
}

TEST_CASE("member remove takes the server out of the pool and bumps the pool zone's serial") {
    Fixture f;
    f.populate();
    auto serial = f.serial("contoso.com.");
    auto m = must(f.store.remove_member("pool01.contoso.com", "fe02"));
    CHECK(m.address == "192.0.2.12");
    auto p = must(f.store.pools("pool01.contoso.com"))[0];
    REQUIRE(p.members.size() == 1);
    CHECK(p.members[0].server == "fe01");
    CHECK(f.serial("contoso.com.") == serial + 1);
}

TEST_CASE("member remove of a server that is not a member fails naming SERVER") {
    Fixture f;
    f.populate();
    CHECK(error_of(f.store.remove_member("pool01.contoso.com", "fe03")) ==
          "SERVER: 'fe03' is not a member of 'pool01.contoso.com.'");
}

// --- health and the checker ---------------------------------------------------

TEST_CASE("pools report each member's recorded health, unknown when none is recorded") {
    Fixture f;
    f.populate();
    f.db.exec(
        "INSERT INTO member_health (pool_id, server_id, state, since, last_probe_at, last_result, last_latency_ms) "
        "SELECT m.pool_id, m.server_id, 'down', '2024-01-01T00:00:00.000Z', '2024-01-01T00:01:00.000Z', "
        "'connect refused', 0.5 FROM members m JOIN servers s ON s.id = m.server_id WHERE s.name = 'fe02'");
    auto p = must(f.store.pools("pool01.contoso.com"))[0];
    REQUIRE(p.members.size() == 2);
    CHECK(p.members[0].health == "unknown");
    CHECK_FALSE(p.members[0].last_latency_ms);
    CHECK(p.members[1].health == "down");
    CHECK(p.members[1].since == "2024-01-01T00:00:00.000Z");
    CHECK(p.members[1].last_probe_at == "2024-01-01T00:01:00.000Z");
    CHECK(p.members[1].last_result == "connect refused");
    CHECK(p.members[1].last_latency_ms == doctest::Approx(0.5));
}

TEST_CASE("checker is empty until a checker writes its heartbeat, then reports it with its age") {
    Fixture f;
    CHECK_FALSE(must(f.store.checker()));
    f.db.exec(
        "INSERT INTO checker (id, pid, started_at, heartbeat_at, targets, probes, late) VALUES "
        "(1, 4242, strftime('%Y-%m-%dT%H:%M:%fZ','now','-60 seconds'), "
        "strftime('%Y-%m-%dT%H:%M:%fZ','now','-10 seconds'), 3, 100, 1)");
    auto c = must(f.store.checker());
    REQUIRE(c);
    CHECK(c->pid == 4242);
    CHECK(c->targets == 3);
    CHECK(c->probes == 100);
    CHECK(c->late == 1);
    CHECK(c->heartbeat_age_s == doctest::Approx(10.0).epsilon(0.05));
}

// --- records and zone files at names the pool model owns ---------------------

TEST_CASE("record add of an A, AAAA or CNAME at a pool FQDN fails and changes nothing") {
    struct Case {
        const char* type;
        const char* rdata;
    };
    for (const Case& c : {Case{"A", "192.0.2.9"}, Case{"AAAA", "2001:db8::9"}, Case{"CNAME", "www"}}) {
        INFO("type: ", c.type);
        Fixture f;
        f.populate();
        auto before = f.dump();
        auto err = error_of(f.zones.add_record("contoso.com", "pool01", "300", c.type, c.rdata));
        INFO("error: ", err);
        CHECK(err.starts_with("NAME: 'pool01.contoso.com.' is a pool"));
        CHECK(f.dump() == before);
    }
}

TEST_CASE("record add of an A at a server's host name fails and changes nothing") {
    Fixture f;
    f.populate();
    auto before = f.dump();
    auto err = error_of(f.zones.add_record("contoso.com", "fe01", "300", "A", "192.0.2.9"));
    CHECK(err.starts_with("NAME: 'fe01.contoso.com.' is the host name of server 'fe01'"));
    CHECK(f.dump() == before);
}

TEST_CASE("record add of a TXT at a pool FQDN is allowed") {
    Fixture f;
    f.populate();
    CHECK(f.zones.add_record("contoso.com", "pool01", "300", "TXT", "\"pool\"").ok());
}

TEST_CASE("zone import of a file with an A record at a pool FQDN fails naming the file line") {
    Fixture f;
    f.populate();
    auto before = f.dump();
    std::string text = std::string(kContoso) + "pool01 A 192.0.2.9\n";
    auto file = f.dir.write("bad.zone", text);
    auto err = error_of(f.zones.import("contoso.com", file));
    INFO("error: ", err);
    CHECK(err.find("bad.zone:10: NAME: 'pool01.contoso.com.' is a pool") != std::string::npos);
    CHECK(f.dump() == before);
}

// --- every edit: all or nothing, audited, counted -----------------------------

TEST_CASE("every failing edit leaves every table unchanged and writes no audit row") {
    using Edit = std::function<std::string(PoolStore&)>;
    const std::vector<std::pair<const char*, Edit>> edits = {
        {"server add, duplicate host",
         [](PoolStore& s) { return error_of(s.add_server(server("fe09", "fe01.contoso.com", {"192.0.2.19"}))); }},
        {"server add, host with an A record",
         [](PoolStore& s) { return error_of(s.add_server(server("fe09", "www.contoso.com", {"192.0.2.19"}))); }},
        {"server delete, unknown", [](PoolStore& s) { return error_of(s.delete_server("nope")); }},
        {"server drain, unknown",
         [](PoolStore& s) { return error_of(s.set_admin_state("nope", AdminState::Drained)); }},
        {"pool add, outside our zones", [](PoolStore& s) { return error_of(s.add_pool(pool("p.example.org"))); }},
        {"pool add, at a CNAME", [](PoolStore& s) { return error_of(s.add_pool(pool("alias.contoso.com"))); }},
        {"pool add, bad check",
         [](PoolStore& s) {
             PoolSpec p = pool("p.contoso.com");
             p.check = "http:80";
             return error_of(s.add_pool(p));
         }},
        {"pool set, backup loop",
         [](PoolStore& s) {
             PoolSpec p = pool("pool01.contoso.com");
             p.all_down = "backup:pool02.contoso.com";
             return error_of(s.update_pool(p));
         }},
        {"pool delete, a backup", [](PoolStore& s) { return error_of(s.delete_pool("pool01.contoso.com")); }},
        {"member add, wrong family",
         [](PoolStore& s) {
             return error_of(s.add_member("pool01.contoso.com", "fe03b", "2001:db8::13", std::nullopt, std::nullopt));
         }},
        {"member add, duplicate",
         [](PoolStore& s) {
             return error_of(s.add_member("pool01.contoso.com", "fe02", "192.0.2.12", std::nullopt, std::nullopt));
         }},
        {"member remove, not a member",
         [](PoolStore& s) { return error_of(s.remove_member("pool6.contoso.com", "fe02")); }},
    };
    for (const auto& entry : edits) {
        // Not a structured binding: clang 14 cannot capture one in doctest's INFO lambda.
        const auto& what = entry.first;
        const auto& edit = entry.second;
        INFO("edit: ", what);
        Fixture f;
        f.populate();
        must(f.store.add_server(server("fe03b", "fe03b.contoso.com", {"192.0.2.23", "2001:db8::13"})));
        PoolSpec backup = pool("pool02.contoso.com");
        backup.all_down = "backup:pool01.contoso.com";
        must(f.store.add_pool(backup));
        auto before = f.dump();
        REQUIRE(before.size() > 20);
        auto audit = f.audit_rows();
        auto err = edit(f.store);
        INFO("error: ", err);
        CHECK_FALSE(err.empty());
        CHECK(f.dump() == before);
        CHECK(f.audit_rows() == audit);
    }
}

TEST_CASE("every successful edit writes one audit row and moves the generation forward") {
    Fixture f;
    std::vector<std::pair<const char*, std::function<bool()>>> edits = {
        {"server add", [&] { return f.store.add_server(server("fe01", "fe01.contoso.com", {"192.0.2.11"})).ok(); }},
        {"server add (no zone)",
         [&] { return f.store.add_server(server("fe02", "fe02.elsewhere.example", {"192.0.2.12"})).ok(); }},
        {"pool add", [&] { return f.store.add_pool(pool("pool01.contoso.com")).ok(); }},
        {"pool set",
         [&] {
             PoolSpec p = pool("pool01.contoso.com");
             p.ttl = "10";
             return f.store.update_pool(p).ok();
         }},
        {"member add",
         [&] {
             return f.store.add_member("pool01.contoso.com", "fe01", "192.0.2.11", std::nullopt, std::nullopt).ok();
         }},
        {"member add (unserved host)",
         [&] {
             return f.store.add_member("pool01.contoso.com", "fe02", "192.0.2.12", std::nullopt, std::nullopt).ok();
         }},
        {"server drain", [&] { return f.store.set_admin_state("fe01", AdminState::Drained).ok(); }},
        {"server block", [&] { return f.store.set_admin_state("fe01", AdminState::Blocked).ok(); }},
        {"server enable", [&] { return f.store.set_admin_state("fe01", AdminState::Enabled).ok(); }},
        {"member remove", [&] { return f.store.remove_member("pool01.contoso.com", "fe01").ok(); }},
        {"server delete", [&] { return f.store.delete_server("fe02").ok(); }},
        {"pool delete", [&] { return f.store.delete_pool("pool01.contoso.com").ok(); }},
    };
    for (const auto& entry : edits) {
        // Not a structured binding: clang 14 cannot capture one in doctest's INFO lambda.
        const auto& what = entry.first;
        const auto& edit = entry.second;
        INFO("edit: ", what);
        auto generation = f.generation();
        auto audit = f.audit_rows();
        REQUIRE(edit());
        CHECK(f.generation() > generation);
        CHECK(f.audit_rows() == audit + 1);
    }
    CHECK(f.count("SELECT count(*) FROM audit WHERE command = 'pooldnsctl --db test.db server add' AND "
                  "action = 'server drain' AND object = 'fe01'") == 1);
}

TEST_CASE("a probe source address must be of the pool's family") {
    Fixture f;
    PoolSpec spec = pool("pool01.contoso.com");
    spec.source = "2001:db8::1";
    CHECK(error_of(f.store.add_pool(spec)).find("--source") != std::string::npos);
}

TEST_CASE("a server host may not be a wildcard") {
    Fixture f;
    CHECK(error_of(f.store.add_server(server("wild", "*.contoso.com", {"192.0.2.66"}))).find("--host") !=
          std::string::npos);
}

TEST_CASE("an NS record may not delegate away a pool or a server host below it") {
    Fixture f;
    f.populate();
    must(f.store.add_pool(pool("p.x.contoso.com")));
    auto pooled = f.zones.add_record("contoso.com", "x", "3600", "NS", "ns.other.example.");
    CHECK(error_of(pooled).find("p.x.contoso.com.") != std::string::npos);
    must(f.store.add_server(server("deep", "h.y.contoso.com", {"192.0.2.77"})));
    auto hosted = f.zones.add_record("contoso.com", "y", "3600", "NS", "ns.other.example.");
    CHECK(error_of(hosted).find("h.y.contoso.com.") != std::string::npos);
}

TEST_CASE("a backup pool must answer the same record type") {
    Fixture f;
    f.populate();
    PoolSpec spec = pool("pool01.contoso.com");
    spec.all_down = "backup:pool6.contoso.com";
    CHECK(error_of(f.store.update_pool(spec)).find("--all-down") != std::string::npos);
}
