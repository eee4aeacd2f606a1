// Skype for Business / Lync topologies over a real SQLite file: nested
// transactions (savepoints), one serial move per outermost transaction, what
// `topology frontend|edge|mediation` lays out, service addresses, the deployment
// rules (deployment_problems) and the guard that refuses an edit adding a breach.
#include "pooldns/topology.hpp"

#include "pooldns/pool_store.hpp"
#include "pooldns/serial.hpp"
#include "pooldns/snapshot.hpp"
#include "pooldns/vip_store.hpp"
#include "pooldns/wire_name.hpp"
#include "pooldns/zone_store.hpp"
#include "store_testing.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

using namespace pooldns;
using namespace pooldns::test;

namespace {

constexpr const char* kCommand = "pooldnsctl --db test.db topology frontend pool01.contoso.com";

// Serials that are not dates, so a bump is exactly +1.
constexpr const char* kContoso =
    "$TTL 3600\n"
    "@ SOA ns1 hostmaster 1000 3600 600 1209600 60\n"
    "@ NS ns1\n"
    "ns1 A 192.0.2.53\n"
    "txt TXT \"hello\"\n";

constexpr const char* kExampleNet =
    "$TTL 3600\n"
    "@ SOA ns1 hostmaster 2000 3600 600 1209600 60\n"
    "@ NS ns1\n"
    "ns1 A 198.51.100.53\n";

// A zone holding only server host names (below contoso.com).
constexpr const char* kLab =
    "$TTL 3600\n"
    "@ SOA ns1.contoso.com. hostmaster.contoso.com. 3000 3600 600 1209600 60\n"
    "@ NS ns1.contoso.com.\n";

// tests/probes/certs, next to this file's directory.
std::string cert_file(const char* name) {
    return (std::filesystem::path(__FILE__).parent_path().parent_path() / "probes" / "certs" / name).string();
}

// `topology frontend pool01.contoso.com` with fe01 and fe02 in contoso.com,
// web-int/web-ext in contoso.com, the internal VIP 192.0.2.100 and the
// external 198.51.100.100, the probe test certificate.
TopologySpec frontend(std::string fqdn = "pool01.contoso.com") {
    TopologySpec s;
    s.kind = TopologyKind::Frontend;
    s.fqdn = std::move(fqdn);
    s.servers = {"fe01,fe01.contoso.com,192.0.2.11", "fe02,fe02.contoso.com,192.0.2.12"};
    s.web_internal = "web-int.contoso.com";
    s.web_external = "web-ext.contoso.com";
    s.vip = "192.0.2.100";
    s.vip_external = "198.51.100.100";
    s.tls_certs = {cert_file("server.pem")};
    s.tls_keys = {cert_file("server.key")};
    return s;
}

// A second Front End pool that shares nothing with frontend().
TopologySpec frontend2() {
    TopologySpec s = frontend("pool02.contoso.com");
    s.servers = {"fe03,fe03.contoso.com,192.0.2.13", "fe04,fe04.contoso.com,192.0.2.14"};
    s.web_internal = "web2-int.contoso.com";
    s.web_external = "web2-ext.contoso.com";
    s.vip = "192.0.2.101";
    s.vip_external = "198.51.100.101";
    return s;
}

// `topology edge edge.contoso.com` with e01 and e02: internal 10.0.0.2x,
// Access 203.0.113.2x, Web Conferencing 203.0.113.3x, A/V 203.0.113.4x.
TopologySpec edge() {
    TopologySpec s;
    s.kind = TopologyKind::Edge;
    s.fqdn = "edge.contoso.com";
    s.servers = {"e01,e01.contoso.com,10.0.0.21,203.0.113.21,203.0.113.31,203.0.113.41",
                 "e02,e02.contoso.com,10.0.0.22,203.0.113.22,203.0.113.32,203.0.113.42"};
    s.access = "access.contoso.com";
    s.webconf = "webconf.contoso.com";
    s.av = "av.contoso.com";
    return s;
}

TopologySpec mediation() {
    TopologySpec s;
    s.kind = TopologyKind::Mediation;
    s.fqdn = "med.contoso.com";
    s.servers = {"med01,med01.contoso.com,192.0.2.31", "med02,med02.contoso.com,192.0.2.32"};
    return s;
}

struct Fixture {
    TempDir dir;
    Database db{open_db(dir.file("pooldns.db"))};
    ZoneStore zones{db, kCommand};
    PoolStore pools{db, kCommand};
    VipStore vips{db, kCommand};
    TopologyStore topologies{db, kCommand};

    Fixture() {
        must(zones.import("contoso.com", dir.write("contoso.zone", kContoso)));
        must(zones.import("example.net", dir.write("example.zone", kExampleNet)));
    }

    std::int64_t count(std::string_view sql) const {
        auto st = db.prepare(sql);
        REQUIRE(st.step());
        return st.column_int(0);
    }

    // Row counts of every table a topology writes.
    std::map<std::string, std::int64_t> rows() const {
        std::map<std::string, std::int64_t> out;
        for (const char* table : {"servers", "server_addresses", "pools", "members", "vips", "vip_certs", "records",
                                  "topologies", "topology_names", "audit", "settings"}) {
            out[table] = count(std::string("SELECT count(*) FROM ") + table);
        }
        return out;
    }

    std::vector<std::string> dump() const { return dump_tables(db); }

    std::uint32_t serial(std::string_view origin) const { return zone_serial(db, origin); }

    // "TYPE rdata" of every record at `name` in zone `origin`, sorted.
    std::vector<std::string> records_at(std::string_view origin, std::string_view name) const {
        std::vector<std::string> out;
        for (const auto& r : must(zones.records(origin, name))) {
            if (r.owner == name) out.push_back(type_to_text(r.type) + " " + rdata_to_text(r));
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    ServerInfo server(std::string_view name) const {
        for (auto& s : must(pools.servers())) {
            if (s.name == name) return s;
        }
        FAIL("no server " << name);
        return {};
    }

    PoolInfo pool(std::string_view fqdn) const {
        auto p = must(pools.pools(fqdn));
        REQUIRE(p.size() == 1);
        return p.front();
    }

    VipInfo vip(std::string_view name) const {
        for (auto& v : must(vips.vips())) {
            if (v.name == name) return v;
        }
        FAIL("no vip " << name);
        return {};
    }

    // A record inserted behind the stores' back (their checks would refuse it).
    void insert_a(std::string_view origin, std::string_view owner, std::vector<std::uint8_t> address) {
        auto st = db.prepare("INSERT INTO records (zone_id, owner, type, ttl, rdata) "
                             "SELECT id, ?, 1, 300, ? FROM zones WHERE origin = ?");
        st.bind(1, owner).bind(2, std::span<const std::uint8_t>(address)).bind(3, origin);
        st.run();
        REQUIRE(count("SELECT changes()") == 1);
    }
};

// "server:address" of every member of a pool, in the pool's order.
std::vector<std::string> members_of(const PoolInfo& p) {
    std::vector<std::string> out;
    for (const auto& m : p.members) out.push_back(m.server + ":" + m.address);
    return out;
}

// "where: message" of every problem.
std::vector<std::string> lines(const std::vector<Problem>& problems) {
    std::vector<std::string> out;
    for (const auto& p : problems) out.push_back(p.where + ": " + p.message);
    return out;
}

bool has_line_starting(const std::vector<Problem>& problems, std::string_view where, std::string_view start) {
    for (const auto& p : problems) {
        if (p.where == where && p.message.starts_with(start)) return true;
    }
    return false;
}

// The RRs of `type` the snapshot holds at `name`, as their rdata octets.
std::vector<std::vector<std::uint8_t>> snapshot_rdata(const dns::Snapshot& snap, std::string_view name,
                                                      std::uint16_t type) {
    std::uint8_t wire[kMaxNameLength];
    std::size_t len = name_to_wire(name, wire);
    REQUIRE(len > 0);
    std::vector<std::vector<std::uint8_t>> out;
    const dns::Node* node = snap.find(wire, len);
    if (!node) return out;
    const dns::RRset* set = snap.rrset(*node, type);
    if (!set) return out;
    auto data = snap.data_of(*set);
    std::size_t at = 0;
    for (std::uint16_t i = 0; i < set->count; ++i) {
        std::size_t n = (std::size_t{data[at]} << 8) | data[at + 1];
        out.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(at + 2),
                         data.begin() + static_cast<std::ptrdiff_t>(at + 2 + n));
        at += 2 + n;
    }
    return out;
}

// A scratch table on a fresh file, for the transaction cases.
struct TxFixture {
    TempDir dir;
    Database db{open_db(dir.file("tx.db"))};
    TxFixture() { db.exec("CREATE TABLE t (x INTEGER NOT NULL)"); }
    void insert(int x) const {
        auto st = db.prepare("INSERT INTO t (x) VALUES (?)");
        st.bind(1, x);
        st.run();
    }
    std::vector<std::int64_t> values() const {
        std::vector<std::int64_t> out;
        auto st = db.prepare("SELECT x FROM t ORDER BY x");
        while (st.step()) out.push_back(st.column_int(0));
        return out;
    }
};

}  // namespace

// --- nested transactions --------------------------------------------------------

TEST_CASE("a nested transaction that commits inside an outer one that rolls back leaves nothing") {
    TxFixture f;
    {
        Transaction outer(f.db);
        f.insert(1);
        {
            Transaction inner(f.db);
            f.insert(2);
            inner.commit();
        }
        CHECK(f.values() == std::vector<std::int64_t>{1, 2});
    }
    CHECK(f.values().empty());
    // The connection is out of every transaction: a new one starts cleanly and commits.
    Transaction again(f.db);
    CHECK(again.outermost());
    f.insert(3);
    again.commit();
    CHECK(f.values() == std::vector<std::int64_t>{3});
}

TEST_CASE("a nested transaction that fails rolls back to its savepoint only") {
    TxFixture f;
    {
        Transaction outer(f.db);
        f.insert(1);
        {
            Transaction kept(f.db);
            f.insert(2);
            kept.commit();
        }
        {
            Transaction failed(f.db);
            f.insert(3);
            {
                Transaction deeper(f.db);
                f.insert(4);
                deeper.commit();
            }
            CHECK(f.values() == std::vector<std::int64_t>{1, 2, 3, 4});
        }  // no commit: back to its savepoint, with the deeper one it held
        CHECK(f.values() == std::vector<std::int64_t>{1, 2});
        f.insert(5);
        outer.commit();
    }
    CHECK(f.values() == std::vector<std::int64_t>{1, 2, 5});
}

TEST_CASE("only the outermost transaction reports outermost()") {
    TxFixture f;
    Transaction outer(f.db);
    CHECK(outer.outermost());
    {
        Transaction inner(f.db);
        CHECK_FALSE(inner.outermost());
        Transaction deeper(f.db);
        CHECK_FALSE(deeper.outermost());
        deeper.commit();
        inner.commit();
    }
    {
        Transaction second(f.db);  // a sibling savepoint after the first was released
        CHECK_FALSE(second.outermost());
    }
    outer.commit();
    Transaction next(f.db);
    CHECK(next.outermost());
}

TEST_CASE("first_bump_in_transaction is true once per zone per outermost transaction, always outside one") {
    TxFixture f;
    CHECK(f.db.first_bump_in_transaction(7));
    CHECK(f.db.first_bump_in_transaction(7));  // no transaction: every edit moves its serial
    {
        Transaction outer(f.db);
        CHECK(f.db.first_bump_in_transaction(7));
        {
            Transaction inner(f.db);
            CHECK_FALSE(f.db.first_bump_in_transaction(7));
            CHECK(f.db.first_bump_in_transaction(8));
            inner.commit();
        }
        CHECK_FALSE(f.db.first_bump_in_transaction(8));
        outer.commit();
    }
    Transaction next(f.db);
    CHECK(f.db.first_bump_in_transaction(7));
    CHECK(f.db.first_bump_in_transaction(8));
}

TEST_CASE("edits nested in one transaction move the zone's serial once") {
    Fixture f;
    {
        Transaction tx(f.db);
        must(f.zones.add_record("contoso.com", "a", "300", "A", "192.0.2.1"));
        must(f.zones.add_record("contoso.com", "b", "300", "A", "192.0.2.2"));
        must(f.pools.add_server(ServerSpec{"fe01", "fe01.contoso.com", {"192.0.2.11"}, std::nullopt, {}}));
        tx.commit();
    }
    CHECK(f.serial("contoso.com.") == 1001);
    // Outside a transaction each edit moves it again.
    must(f.zones.add_record("contoso.com", "c", "300", "A", "192.0.2.3"));
    must(f.zones.add_record("contoso.com", "d", "300", "A", "192.0.2.4"));
    CHECK(f.serial("contoso.com.") == 1003);
}

TEST_CASE("a serial bump undone with its savepoint is made again by the next edit of the transaction") {
    Fixture f;
    {
        Transaction tx(f.db);
        {
            Transaction inner(f.db);
            must(f.zones.add_record("contoso.com", "a", "300", "A", "192.0.2.1"));
            // destroyed without commit: the record and the serial bump are undone
        }
        must(f.zones.add_record("contoso.com", "b", "300", "A", "192.0.2.2"));
        tx.commit();
    }
    CHECK(f.serial("contoso.com.") == 1001);
}

TEST_CASE("topology edge accepts one public address for all three Edge services") {
    Fixture f;
    TopologySpec spec;
    spec.kind = TopologyKind::Edge;
    spec.fqdn = "edge.contoso.com";
    spec.servers = {"e01,e01.contoso.com,10.0.0.21,203.0.113.21,203.0.113.21,203.0.113.21"};
    spec.access = "access.contoso.com";
    spec.webconf = "webconf.contoso.com";
    spec.av = "av.contoso.com";
    must(f.topologies.create(spec));
    auto servers = must(f.pools.servers());
    REQUIRE(servers.size() == 1);
    CHECK(servers[0].addresses == std::vector<std::string>{"10.0.0.21"});
    CHECK(servers[0].service_addresses == std::vector<std::string>{"203.0.113.21"});
    for (const char* pool : {"access.contoso.com", "webconf.contoso.com", "av.contoso.com"}) {
        auto p = must(f.pools.pools(pool));
        REQUIRE(p.size() == 1);
        REQUIRE(p[0].members.size() == 1);
        CHECK(p[0].members[0].address == "203.0.113.21");
    }
}

// --- schema v6: service addresses -----------------------------------------------

TEST_CASE("migration 6 makes every existing server address a host-record address") {
    TempDir dir;
    {
        auto opened = Database::open(dir.file("v5.db"), OpenMode::NoMigrate);
        REQUIRE(opened.ok());
        Database db = std::move(opened).value();
        migrate(db, 5);
        db.exec("INSERT INTO servers (name, host) VALUES ('fe01', 'fe01.elsewhere.example.');"
                "INSERT INTO server_addresses (server_id, address) VALUES (1, '192.0.2.11');");
    }
    Database db = open_db(dir.file("v5.db"));
    CHECK(db.schema_version() == 6);
    PoolStore store(db, kCommand);
    auto servers = must(store.servers());
    REQUIRE(servers.size() == 1);
    CHECK(servers[0].addresses == std::vector<std::string>{"192.0.2.11"});
    CHECK(servers[0].service_addresses.empty());
}

TEST_CASE("server add stores service addresses apart from the host-record addresses") {
    Fixture f;
    auto s = must(f.pools.add_server(
        ServerSpec{"e01", "e01.contoso.com", {"10.0.0.21"}, std::nullopt, {"203.0.113.21", "2001:DB8::21"}}));
    CHECK(s.addresses == std::vector<std::string>{"10.0.0.21"});
    CHECK(s.service_addresses == std::vector<std::string>{"203.0.113.21", "2001:db8::21"});
    CHECK(f.count("SELECT count(*) FROM server_addresses WHERE host_record = 0") == 2);
    CHECK(f.count("SELECT count(*) FROM server_addresses WHERE host_record = 1") == 1);
    auto stored = f.server("e01");
    CHECK(stored.addresses == s.addresses);
    CHECK(stored.service_addresses == s.service_addresses);
}

TEST_CASE("a service address that repeats a host-record address is refused naming --service-addr") {
    Fixture f;
    auto before = f.dump();
    CHECK(error_of(f.pools.add_server(
              ServerSpec{"e01", "e01.contoso.com", {"10.0.0.21"}, std::nullopt, {"10.0.0.21"}})) ==
          "--service-addr: '10.0.0.21' is given twice");
    CHECK(f.dump() == before);
}

TEST_CASE("a pool member may be answered with a service address of its server") {
    Fixture f;
    must(f.pools.add_server(ServerSpec{"e01", "e01.contoso.com", {"10.0.0.21"}, std::nullopt, {"203.0.113.21"}}));
    PoolSpec p;
    p.fqdn = "access.contoso.com";
    must(f.pools.add_pool(p));
    auto m = must(f.pools.add_member("access.contoso.com", "e01", "203.0.113.21", std::nullopt, std::nullopt));
    CHECK(m.address == "203.0.113.21");
    CHECK(error_of(f.pools.add_member("access.contoso.com", "e01", "203.0.113.99", std::nullopt, std::nullopt)) ==
          "ADDR: 203.0.113.99 is not an address of server 'e01' (its addresses: 10.0.0.21, 203.0.113.21 (service))");
}

TEST_CASE("zone export lists a server's host-record addresses and not its service addresses") {
    Fixture f;
    must(f.pools.add_server(ServerSpec{"e01", "e01.contoso.com", {"10.0.0.21"}, std::nullopt, {"203.0.113.21"}}));
    auto text = must(f.zones.export_text("contoso.com"));
    INFO(text);
    CHECK(text.find("10.0.0.21") != std::string::npos);
    CHECK(text.find("203.0.113.21") == std::string::npos);
}

// --- topology frontend ------------------------------------------------------------

TEST_CASE("a topology frontend command moves the zone's SOA serial exactly once") {
    Fixture f;
    TopologySpec spec = frontend();
    spec.discovery = true;
    spec.sip_domain = "example.net";
    must(f.topologies.create(spec));
    // contoso.com: 2 host names, the pool, 2 members, 2 web records; example.net: 4 discovery records.
    CHECK(f.serial("contoso.com.") == 1001);
    CHECK(f.serial("example.net.") == 2001);
}

TEST_CASE("a topology frontend command writes one audit row for the topology besides those of its steps") {
    Fixture f;
    auto before = f.count("SELECT count(*) FROM audit");
    must(f.topologies.create(frontend()));
    CHECK(f.count("SELECT count(*) FROM audit WHERE action = 'topology frontend'") == 1);
    CHECK(f.count("SELECT count(*) FROM audit WHERE action = 'topology frontend' AND object = 'pool01.contoso.com.' "
                  "AND detail = '2 servers, 9 objects'") == 1);
    CHECK(f.count("SELECT count(*) FROM audit WHERE action = 'server add'") == 2);
    CHECK(f.count("SELECT count(*) FROM audit WHERE action = 'pool add'") == 1);
    CHECK(f.count("SELECT count(*) FROM audit WHERE action = 'member add'") == 2);
    CHECK(f.count("SELECT count(*) FROM audit WHERE action = 'record add'") == 2);
    CHECK(f.count("SELECT count(*) FROM audit WHERE action = 'vip add'") == 4);
    CHECK(f.count("SELECT count(*) FROM audit") == before + 12);
    // The topology's row is the last: it is written after every step succeeded.
    CHECK(f.count("SELECT count(*) FROM audit WHERE id = (SELECT max(id) FROM audit) AND action = 'topology frontend'") ==
          1);
}

TEST_CASE("topology frontend makes the servers with their host records and the pool with check sips:5061") {
    Fixture f;
    auto report = must(f.topologies.create(frontend()));
    auto fe01 = f.server("fe01");
    CHECK(fe01.host == "fe01.contoso.com.");
    CHECK(fe01.addresses == std::vector<std::string>{"192.0.2.11"});
    CHECK(fe01.service_addresses.empty());
    CHECK(fe01.zone == "contoso.com.");
    CHECK(f.server("fe02").addresses == std::vector<std::string>{"192.0.2.12"});
    auto p = f.pool("pool01.contoso.com");
    CHECK(p.zone == "contoso.com.");
    CHECK(p.check == "sips:5061");
    CHECK(p.interval_ms == 2000);
    CHECK(p.timeout_ms == 1000);
    CHECK(p.rise == 2);
    CHECK(p.fall == 3);
    CHECK(p.ttl == 30);
    CHECK(members_of(p) == std::vector<std::string>{"fe01:192.0.2.11", "fe02:192.0.2.12"});
    CHECK(report.topology.fqdn == "pool01.contoso.com.");
    CHECK(report.topology.kind == TopologyKind::Frontend);
    CHECK(report.topology.problems.empty());
    REQUIRE(report.topology.pools.size() == 1);
    CHECK(report.topology.pools[0].fqdn == "pool01.contoso.com.");
    CHECK(report.topology.vips.size() == 4);
    CHECK(report.created.size() == 9);
}

TEST_CASE("topology frontend points the web services FQDNs at --vip and --vip-external") {
    Fixture f;
    must(f.topologies.create(frontend()));
    CHECK(f.records_at("contoso.com", "web-int.contoso.com.") == std::vector<std::string>{"A 192.0.2.100"});
    CHECK(f.records_at("contoso.com", "web-ext.contoso.com.") == std::vector<std::string>{"A 198.51.100.100"});
    auto t = must(f.topologies.topologies("pool01.contoso.com"));
    REQUIRE(t.size() == 1);
    std::vector<std::string> names;
    for (const auto& n : t[0].names) names.push_back(n.role + " " + n.fqdn + " " + n.lb);
    CHECK(names == std::vector<std::string>{"pool pool01.contoso.com. dns", "web-internal web-int.contoso.com. vip",
                                            "web-external web-ext.contoso.com. vip"});
    CHECK(t[0].records.size() == 2);
}

TEST_CASE("topology frontend without --vip-external points the external web services FQDN at --vip") {
    Fixture f;
    TopologySpec spec = frontend();
    spec.vip_external.reset();
    must(f.topologies.create(spec));
    CHECK(f.records_at("contoso.com", "web-ext.contoso.com.") == std::vector<std::string>{"A 192.0.2.100"});
    CHECK(f.vip("pool01-ext-https").listen == "192.0.2.100:4443");
    CHECK(f.vip("pool01-ext-http").listen == "192.0.2.100:8080");
}

TEST_CASE("topology frontend makes four VIPs named after the pool's first label with SfB's settings") {
    Fixture f;
    must(f.topologies.create(frontend()));
    auto names = must(f.vips.vips());
    std::vector<std::string> got;
    for (const auto& v : names) got.push_back(v.name);
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<std::string>{"pool01-ext-http", "pool01-ext-https", "pool01-int-http", "pool01-int-https"});

    struct Want {
        const char* name;
        const char* listen;
        std::uint16_t backend_port;
        bool tls;
        const char* persist;
    };
    const std::string cert = std::filesystem::canonical(cert_file("server.pem")).string();
    const std::string key = std::filesystem::canonical(cert_file("server.key")).string();
    for (const auto& w : {Want{"pool01-int-https", "192.0.2.100:443", 443, true, "source"},
                          Want{"pool01-int-http", "192.0.2.100:80", 80, false, "source"},
                          Want{"pool01-ext-https", "198.51.100.100:4443", 4443, true, "cookie"},
                          Want{"pool01-ext-http", "198.51.100.100:8080", 8080, false, "cookie"}}) {
        INFO("vip ", w.name);
        auto v = f.vip(w.name);
        CHECK(v.pool == "pool01.contoso.com.");
        CHECK(v.listen == w.listen);
        CHECK(v.backend_port == w.backend_port);
        CHECK(v.tls() == w.tls);
        CHECK(v.backend_tls == w.tls);
        if (w.tls) {
            REQUIRE(v.certs.size() == 1);
            CHECK(v.certs[0].cert == cert);
            CHECK(v.certs[0].key == key);
        }
        CHECK(v.persist == w.persist);
        CHECK(v.cookie_name == "MS-WSMAN");
        CHECK_FALSE(v.cookie_httponly);
        CHECK(v.idle_timeout_s == 1800);
    }
}

TEST_CASE("topology frontend --ports sets the VIP ports and, without --backend-ports, the members' ports") {
    Fixture f;
    TopologySpec spec = frontend();
    spec.ports = "8443,8081,9443,9080";
    must(f.topologies.create(spec));
    CHECK(f.vip("pool01-int-https").listen == "192.0.2.100:8443");
    CHECK(f.vip("pool01-int-https").backend_port == 8443);
    CHECK(f.vip("pool01-int-http").listen == "192.0.2.100:8081");
    CHECK(f.vip("pool01-int-http").backend_port == 8081);
    CHECK(f.vip("pool01-ext-https").listen == "198.51.100.100:9443");
    CHECK(f.vip("pool01-ext-https").backend_port == 9443);
    CHECK(f.vip("pool01-ext-http").listen == "198.51.100.100:9080");
    CHECK(f.vip("pool01-ext-http").backend_port == 9080);
}

TEST_CASE("topology frontend --backend-ports sets the members' ports apart from the VIP ports") {
    Fixture f;
    TopologySpec spec = frontend();
    spec.backend_ports = "4443,8080,4443,8080";
    must(f.topologies.create(spec));
    CHECK(f.vip("pool01-int-https").listen == "192.0.2.100:443");
    CHECK(f.vip("pool01-int-https").backend_port == 4443);
    CHECK(f.vip("pool01-int-http").listen == "192.0.2.100:80");
    CHECK(f.vip("pool01-int-http").backend_port == 8080);
    CHECK(f.vip("pool01-ext-https").listen == "198.51.100.100:4443");
    CHECK(f.vip("pool01-ext-https").backend_port == 4443);
    CHECK(f.vip("pool01-ext-http").backend_port == 8080);
}

TEST_CASE("topology frontend refuses --ports that are not four ports, naming the option") {
    Fixture f;
    auto before = f.dump();
    TopologySpec spec = frontend();
    spec.ports = "443,80,4443";
    CHECK(error_of(f.topologies.create(spec)) ==
          "--ports: '443,80,4443' must be four ports: HTTPS,HTTP,EXTERNAL_HTTPS,EXTERNAL_HTTP");
    spec = frontend();
    spec.backend_ports = "443,80,4443,0";
    CHECK(error_of(f.topologies.create(spec)).starts_with("--backend-ports: '0' is not a whole number in 1..65535"));
    CHECK(f.dump() == before);
}

TEST_CASE("topology frontend --discovery writes the client discovery records in --sip-domain") {
    Fixture f;
    TopologySpec spec = frontend();
    spec.discovery = true;
    spec.sip_domain = "example.net";
    must(f.topologies.create(spec));
    CHECK(f.records_at("example.net", "_sipinternaltls._tcp.example.net.") ==
          std::vector<std::string>{"SRV 0 0 5061 pool01.contoso.com."});
    CHECK(f.records_at("example.net", "sipinternal.example.net.") ==
          std::vector<std::string>{"CNAME pool01.contoso.com."});
    CHECK(f.records_at("example.net", "lyncdiscoverinternal.example.net.") ==
          std::vector<std::string>{"CNAME web-int.contoso.com."});
    CHECK(f.records_at("example.net", "lyncdiscover.example.net.") ==
          std::vector<std::string>{"CNAME web-ext.contoso.com."});
    CHECK(f.count("SELECT count(*) FROM records WHERE ttl = 3600 AND owner IN ('_sipinternaltls._tcp.example.net.', "
                  "'sipinternal.example.net.', 'lyncdiscoverinternal.example.net.', 'lyncdiscover.example.net.')") == 4);
    // Nothing of the kind in the pool's zone.
    CHECK(f.records_at("contoso.com", "sipinternal.contoso.com.").empty());
    CHECK(f.count("SELECT count(*) FROM topology_names WHERE role = 'discovery' AND lb = 'record'") == 4);
}

TEST_CASE("topology frontend --discovery without --sip-domain writes the records in the pool's zone") {
    Fixture f;
    TopologySpec spec = frontend();
    spec.discovery = true;
    must(f.topologies.create(spec));
    CHECK(f.records_at("contoso.com", "_sipinternaltls._tcp.contoso.com.") ==
          std::vector<std::string>{"SRV 0 0 5061 pool01.contoso.com."});
    CHECK(f.records_at("contoso.com", "sipinternal.contoso.com.") ==
          std::vector<std::string>{"CNAME pool01.contoso.com."});
    CHECK(f.records_at("contoso.com", "lyncdiscoverinternal.contoso.com.") ==
          std::vector<std::string>{"CNAME web-int.contoso.com."});
    CHECK(f.records_at("contoso.com", "lyncdiscover.contoso.com.") ==
          std::vector<std::string>{"CNAME web-ext.contoso.com."});
    CHECK(f.count("SELECT count(*) FROM records r JOIN zones z ON z.id = r.zone_id WHERE z.origin = 'example.net.'") ==
          3);
}

TEST_CASE("topology frontend without --discovery writes no discovery records") {
    Fixture f;
    must(f.topologies.create(frontend()));
    CHECK(f.count("SELECT count(*) FROM records WHERE type IN (5, 33)") == 0);
}

TEST_CASE("topology frontend with IPv6 addresses makes an AAAA pool, AAAA web records and bracketed VIP listeners") {
    Fixture f;
    TopologySpec spec = frontend();
    spec.servers = {"fe01,fe01.contoso.com,2001:DB8::11", "fe02,fe02.contoso.com,2001:db8::12"};
    spec.vip = "2001:db8::100";
    spec.vip_external = "2001:db8::200";
    must(f.topologies.create(spec));
    auto p = f.pool("pool01.contoso.com");
    CHECK(p.type == 28);
    CHECK(members_of(p) == std::vector<std::string>{"fe01:2001:db8::11", "fe02:2001:db8::12"});
    CHECK(f.records_at("contoso.com", "web-int.contoso.com.") == std::vector<std::string>{"AAAA 2001:db8::100"});
    CHECK(f.records_at("contoso.com", "web-ext.contoso.com.") == std::vector<std::string>{"AAAA 2001:db8::200"});
    CHECK(f.vip("pool01-int-https").listen == "[2001:db8::100]:443");
    CHECK(f.vip("pool01-ext-http").listen == "[2001:db8::200]:8080");
}

TEST_CASE("a director with --discovery after a Front End pool with --discovery is refused, writing nothing") {
    Fixture f;
    TopologySpec spec = frontend();
    spec.discovery = true;
    must(f.topologies.create(spec));
    auto counts = f.rows();
    auto before = f.dump();
    TopologySpec director = frontend2();
    director.kind = TopologyKind::Director;
    director.fqdn = "dir01.contoso.com";
    director.discovery = true;
    auto err = error_of(f.topologies.create(director));
    INFO(err);
    CHECK(err == "--discovery: zone contoso.com. already has SRV records at '_sipinternaltls._tcp.contoso.com.'; delete "
                 "them first ('pooldnsctl record delete contoso.com. _sipinternaltls._tcp.contoso.com. SRV') or choose "
                 "another name");
    CHECK(f.rows() == counts);
    CHECK(f.dump() == before);
}

// --- topology edge ----------------------------------------------------------------

TEST_CASE("topology edge makes four pools with the Edge role checks") {
    Fixture f;
    must(f.topologies.create(edge()));
    CHECK(f.pool("edge.contoso.com").check == "sips:5061");
    CHECK(f.pool("access.contoso.com").check == "sips:5061");
    CHECK(f.pool("webconf.contoso.com").check == "tls:443");
    CHECK(f.pool("av.contoso.com").check == "tcp:443");
    auto t = must(f.topologies.topologies("edge.contoso.com"));
    REQUIRE(t.size() == 1);
    CHECK(t[0].kind == TopologyKind::Edge);
    std::vector<std::string> names;
    for (const auto& n : t[0].names) names.push_back(n.role + " " + n.fqdn + " " + n.lb);
    CHECK(names == std::vector<std::string>{"edge-internal edge.contoso.com. dns", "edge-access access.contoso.com. dns",
                                            "edge-webconf webconf.contoso.com. dns", "edge-av av.contoso.com. dns"});
    CHECK(t[0].problems.empty());
}

TEST_CASE("topology edge takes the role checks from --check, --access-check, --webconf-check and --av-check") {
    Fixture f;
    TopologySpec spec = edge();
    spec.check = "tcp:5061";
    spec.access_check = "tls:5061";
    spec.webconf_check = "tcp:444";
    spec.av_check = "tcp:3478";
    must(f.topologies.create(spec));
    CHECK(f.pool("edge.contoso.com").check == "tcp:5061");
    CHECK(f.pool("access.contoso.com").check == "tls:5061");
    CHECK(f.pool("webconf.contoso.com").check == "tcp:444");
    CHECK(f.pool("av.contoso.com").check == "tcp:3478");
}

TEST_CASE("topology edge answers each pool with the servers' address for that service") {
    Fixture f;
    must(f.topologies.create(edge()));
    CHECK(members_of(f.pool("edge.contoso.com")) == std::vector<std::string>{"e01:10.0.0.21", "e02:10.0.0.22"});
    CHECK(members_of(f.pool("access.contoso.com")) ==
          std::vector<std::string>{"e01:203.0.113.21", "e02:203.0.113.22"});
    CHECK(members_of(f.pool("webconf.contoso.com")) ==
          std::vector<std::string>{"e01:203.0.113.31", "e02:203.0.113.32"});
    CHECK(members_of(f.pool("av.contoso.com")) == std::vector<std::string>{"e01:203.0.113.41", "e02:203.0.113.42"});
}

TEST_CASE("topology edge gives the servers' host records only the internal address") {
    Fixture f;
    must(f.topologies.create(edge()));
    auto e01 = f.server("e01");
    CHECK(e01.host == "e01.contoso.com.");
    CHECK(e01.addresses == std::vector<std::string>{"10.0.0.21"});
    CHECK(e01.service_addresses == std::vector<std::string>{"203.0.113.21", "203.0.113.31", "203.0.113.41"});
    auto e02 = f.server("e02");
    CHECK(e02.addresses == std::vector<std::string>{"10.0.0.22"});
    CHECK(e02.service_addresses == std::vector<std::string>{"203.0.113.22", "203.0.113.32", "203.0.113.42"});
}

TEST_CASE("the snapshot of an Edge topology serves only the internal address at each server's host name") {
    Fixture f;
    must(f.topologies.create(edge()));
    auto snap = dns::load_snapshot(f.db);
    REQUIRE_MESSAGE(snap.ok(), (snap.ok() ? "" : snap.error().message));
    using Octets = std::vector<std::vector<std::uint8_t>>;
    CHECK(snapshot_rdata(**snap, "e01.contoso.com.", 1) == Octets{{10, 0, 0, 21}});
    CHECK(snapshot_rdata(**snap, "e02.contoso.com.", 1) == Octets{{10, 0, 0, 22}});
    // The service addresses are answered at the service pools.
    auto access = snapshot_rdata(**snap, "access.contoso.com.", 1);
    std::sort(access.begin(), access.end());
    CHECK(access == Octets{{203, 0, 113, 21}, {203, 0, 113, 22}});
}

TEST_CASE("topology edge with --internal-hlb and --external-hlb writes address records and no pools") {
    Fixture f;
    TopologySpec spec = edge();
    spec.internal_hlb = "10.0.0.20";
    spec.external_hlb = "203.0.113.20,203.0.113.30,203.0.113.40";
    must(f.topologies.create(spec));
    CHECK(f.count("SELECT count(*) FROM pools") == 0);
    CHECK(f.count("SELECT count(*) FROM members") == 0);
    CHECK(f.records_at("contoso.com", "edge.contoso.com.") == std::vector<std::string>{"A 10.0.0.20"});
    CHECK(f.records_at("contoso.com", "access.contoso.com.") == std::vector<std::string>{"A 203.0.113.20"});
    CHECK(f.records_at("contoso.com", "webconf.contoso.com.") == std::vector<std::string>{"A 203.0.113.30"});
    CHECK(f.records_at("contoso.com", "av.contoso.com.") == std::vector<std::string>{"A 203.0.113.40"});
    CHECK(f.count("SELECT count(*) FROM topology_names WHERE lb = 'hlb'") == 4);
    // The servers still get their host records, on the internal address.
    CHECK(f.server("e01").addresses == std::vector<std::string>{"10.0.0.21"});
    CHECK(must(f.topologies.check()).empty());
}

TEST_CASE("topology edge with only one of --internal-hlb and --external-hlb is refused naming the option") {
    Fixture f;
    auto before = f.dump();
    TopologySpec spec = edge();
    spec.internal_hlb = "10.0.0.20";
    auto err = error_of(f.topologies.create(spec));
    INFO(err);
    CHECK(err.starts_with("--internal-hlb: the internal Edge interface would sit behind a hardware load balancer and "
                          "the external one use DNS load balancing;"));
    spec = edge();
    spec.external_hlb = "203.0.113.20,203.0.113.30,203.0.113.40";
    err = error_of(f.topologies.create(spec));
    INFO(err);
    CHECK(err.starts_with("--external-hlb: the external Edge interface would sit behind a hardware load balancer and "
                          "the internal one use DNS load balancing;"));
    CHECK(f.dump() == before);
}

TEST_CASE("topology edge --discovery writes the federation and external discovery records for the Access Edge") {
    Fixture f;
    TopologySpec spec = edge();
    spec.discovery = true;
    spec.sip_domain = "example.net";
    must(f.topologies.create(spec));
    CHECK(f.records_at("example.net", "_sip._tls.example.net.") ==
          std::vector<std::string>{"SRV 0 0 443 access.contoso.com."});
    CHECK(f.records_at("example.net", "_sipfederationtls._tcp.example.net.") ==
          std::vector<std::string>{"SRV 0 0 5061 access.contoso.com."});
    CHECK(f.records_at("example.net", "sip.example.net.") == std::vector<std::string>{"CNAME access.contoso.com."});
}

TEST_CASE("topology edge --discovery writes no sip CNAME when the Access Edge FQDN is sip in the SIP domain") {
    Fixture f;
    TopologySpec spec = edge();
    spec.access = "sip.contoso.com";
    spec.discovery = true;
    must(f.topologies.create(spec));
    CHECK(f.pool("sip.contoso.com").check == "sips:5061");
    CHECK(f.records_at("contoso.com", "sip.contoso.com.").empty());
    CHECK(f.records_at("contoso.com", "_sip._tls.contoso.com.") ==
          std::vector<std::string>{"SRV 0 0 443 sip.contoso.com."});
    CHECK(f.count("SELECT count(*) FROM topology_names WHERE role = 'discovery'") == 2);
}

TEST_CASE("topology edge whose Access Edge FQDN is in no zone is refused naming --access, writing nothing") {
    Fixture f;
    auto before = f.dump();
    TopologySpec spec = edge();
    spec.access = "access.fabrikam.com";
    auto err = error_of(f.topologies.create(spec));
    INFO(err);
    CHECK(err.starts_with("--access: POOL: no zone we serve contains 'access.fabrikam.com.'"));
    CHECK(f.dump() == before);
}

// --- topology mediation -----------------------------------------------------------

TEST_CASE("topology mediation makes a pool checked with sip:5070 with every server a member") {
    Fixture f;
    must(f.topologies.create(mediation()));
    auto p = f.pool("med.contoso.com");
    CHECK(p.check == "sip:5070");
    CHECK(members_of(p) == std::vector<std::string>{"med01:192.0.2.31", "med02:192.0.2.32"});
    CHECK(f.count("SELECT count(*) FROM vips") == 0);
    CHECK(f.count("SELECT count(*) FROM topologies WHERE kind = 'mediation' AND fqdn = 'med.contoso.com.'") == 1);
}

TEST_CASE("topology mediation refuses options of other kinds, naming them") {
    Fixture f;
    TopologySpec spec = mediation();
    spec.vip = "192.0.2.100";
    CHECK(error_of(f.topologies.create(spec)) == "--vip: not an option of 'topology mediation'");
    spec = mediation();
    spec.discovery = true;
    CHECK(error_of(f.topologies.create(spec)) == "--discovery: not an option of 'topology mediation'");
    CHECK(f.count("SELECT count(*) FROM servers") == 0);
}

// --- failures write nothing -------------------------------------------------------

TEST_CASE("a topology whose second --server is not NAME,HOST,ADDR writes nothing") {
    Fixture f;
    auto counts = f.rows();
    auto before = f.dump();
    TopologySpec spec = frontend();
    spec.servers[1] = "fe02,fe02.contoso.com";
    CHECK(error_of(f.topologies.create(spec)) == "--server: 'fe02,fe02.contoso.com' must be NAME,HOST,ADDR");
    CHECK(f.rows() == counts);
    CHECK(f.dump() == before);
}

TEST_CASE("a topology whose second server has a bad address writes nothing, not even the first server") {
    Fixture f;
    auto counts = f.rows();
    auto before = f.dump();
    TopologySpec spec = frontend();
    spec.servers[1] = "fe02,fe02.contoso.com,192.0.2.300";
    CHECK(error_of(f.topologies.create(spec)) ==
          "--server fe02: ADDR: '192.0.2.300' is not an IPv4 or IPv6 address");
    CHECK(f.rows() == counts);
    CHECK(f.dump() == before);
    CHECK(f.serial("contoso.com.") == 1000);
}

TEST_CASE("a topology whose pool is in no zone served here writes nothing") {
    Fixture f;
    auto counts = f.rows();
    auto before = f.dump();
    TopologySpec spec = frontend("pool01.fabrikam.com");
    CHECK(error_of(f.topologies.create(spec)) ==
          "POOL: no zone served here contains 'pool01.fabrikam.com.'; create the zone first ('pooldnsctl zone "
          "create')");
    CHECK(f.rows() == counts);
    CHECK(f.dump() == before);
}

TEST_CASE("a topology whose server host is in no zone served here writes nothing") {
    Fixture f;
    auto counts = f.rows();
    auto before = f.dump();
    TopologySpec spec = frontend();
    spec.servers[1] = "fe02,fe02.fabrikam.com,192.0.2.12";
    auto err = error_of(f.topologies.create(spec));
    CHECK(err.starts_with("--server fe02: no zone served here contains the host name 'fe02.fabrikam.com.'"));
    CHECK(f.rows() == counts);
    CHECK(f.dump() == before);
}

TEST_CASE("a topology whose web services FQDN is the pool FQDN writes nothing") {
    Fixture f;
    auto counts = f.rows();
    auto before = f.dump();
    TopologySpec spec = frontend();
    spec.web_internal = "POOL01.contoso.com.";
    CHECK(error_of(f.topologies.create(spec)) ==
          "--web-internal: 'pool01.contoso.com.' is the pool FQDN; Microsoft requires the web services FQDN to "
          "differ from the pool FQDN (for example web-pool01.contoso.com.)");
    spec = frontend();
    spec.web_external = "pool01.contoso.com";
    CHECK(error_of(f.topologies.create(spec)).starts_with("--web-external: 'pool01.contoso.com.' is the pool FQDN;"));
    CHECK(f.rows() == counts);
    CHECK(f.dump() == before);
}

TEST_CASE("a topology whose web services FQDN another topology uses is refused naming both, writing nothing") {
    Fixture f;
    must(f.topologies.create(frontend()));
    auto counts = f.rows();
    auto before = f.dump();
    TopologySpec spec = frontend2();
    spec.web_internal = "web-int.contoso.com";
    auto err = error_of(f.topologies.create(spec));
    INFO(err);
    // The name already answers for pool01's VIP (the rule itself is tested on a hand-made file below).
    CHECK(err == "--web-internal: zone contoso.com. already has A records at 'web-int.contoso.com.'; delete them first "
                 "('pooldnsctl record delete contoso.com. web-int.contoso.com. A') or choose another name");
    CHECK(f.rows() == counts);
    CHECK(f.dump() == before);
}

TEST_CASE("a topology whose certificate does not exist writes nothing, though its servers and pool came first") {
    Fixture f;
    auto counts = f.rows();
    auto before = f.dump();
    TopologySpec spec = frontend();
    spec.tls_certs = {f.dir.file("missing.pem")};
    auto err = error_of(f.topologies.create(spec));
    INFO(err);
    CHECK(err.starts_with("vip pool01-int-https: --tls-cert"));
    CHECK(err.find(f.dir.file("missing.pem")) != std::string::npos);
    CHECK(f.rows() == counts);
    CHECK(f.dump() == before);
    CHECK(f.serial("contoso.com.") == 1000);
}

TEST_CASE("a topology whose web services FQDN is a server's host name writes nothing") {
    Fixture f;
    auto counts = f.rows();
    auto before = f.dump();
    TopologySpec spec = frontend();
    spec.web_internal = "fe01.contoso.com";
    auto err = error_of(f.topologies.create(spec));
    INFO(err);
    CHECK(err.starts_with("--web-internal: NAME: 'fe01.contoso.com.' is the host name of server 'fe01';"));
    CHECK(f.rows() == counts);
    CHECK(f.dump() == before);
}

TEST_CASE("a topology whose pool is a zone apex writes nothing") {
    Fixture f;
    auto before = f.dump();
    TopologySpec spec = mediation();
    spec.fqdn = "contoso.com";
    auto err = error_of(f.topologies.create(spec));
    INFO(err);
    CHECK(err.starts_with("POOL: 'contoso.com.' is the apex of zone 'contoso.com.'"));
    CHECK(f.dump() == before);
}

TEST_CASE("a topology whose pool is already a topology is refused naming it") {
    Fixture f;
    must(f.topologies.create(mediation()));
    auto before = f.dump();
    TopologySpec spec = mediation();
    spec.servers = {"med03,med03.contoso.com,192.0.2.33"};
    CHECK(error_of(f.topologies.create(spec)) ==
          "POOL: 'med.contoso.com.' is already a mediation topology ('pooldnsctl topology show med.contoso.com.')");
    CHECK(f.dump() == before);
}

// --- deployment_problems ------------------------------------------------------------

TEST_CASE("deployment_problems is empty for freshly made topologies") {
    Fixture f;
    must(f.topologies.create(frontend()));
    must(f.topologies.create(edge()));
    must(f.topologies.create(mediation()));
    CHECK(lines(deployment_problems(f.db)).empty());
}

TEST_CASE("deployment_problems finds an address record at a pool name") {
    Fixture f;
    must(f.topologies.create(mediation()));
    f.insert_a("contoso.com.", "med.contoso.com.", {192, 0, 2, 99});
    auto problems = deployment_problems(f.db);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].where == "pool med.contoso.com.");
    CHECK(problems[0].message ==
          "zone contoso.com. has an A record at the pool name, so the pool would answer something other than its "
          "members' addresses; delete it ('pooldnsctl record delete contoso.com. med.contoso.com. A')");
}

TEST_CASE("deployment_problems finds a stray record at any pool, not only a topology's") {
    Fixture f;
    PoolSpec p;
    p.fqdn = "plain.contoso.com";
    must(f.pools.add_pool(p));
    auto st = f.db.prepare("INSERT INTO records (zone_id, owner, type, ttl, rdata) "
                           "SELECT id, 'plain.contoso.com.', 5, 300, ? FROM zones WHERE origin = 'contoso.com.'");
    // CNAME rdata: www.contoso.com. in wire form.
    const std::vector<std::uint8_t> target{3, 'w', 'w', 'w', 7, 'c', 'o', 'n', 't', 'o', 's', 'o', 3, 'c', 'o', 'm', 0};
    st.bind(1, std::span<const std::uint8_t>(target));
    st.run();
    auto problems = deployment_problems(f.db);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].where == "pool plain.contoso.com.");
    CHECK(problems[0].message.starts_with("zone contoso.com. has a CNAME record at the pool name"));
    CHECK(problems[0].message.ends_with("('pooldnsctl record delete contoso.com. plain.contoso.com. CNAME')"));
}

TEST_CASE("deployment_problems finds a member answered with an address that is not its server's") {
    Fixture f;
    must(f.topologies.create(mediation()));
    f.db.exec("UPDATE members SET address = '198.51.100.7' WHERE server_id = (SELECT id FROM servers WHERE name = "
              "'med02')");
    auto problems = deployment_problems(f.db);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].where == "pool med.contoso.com.");
    CHECK(problems[0].message ==
          "member 'med02' is answered with 198.51.100.7, which is not an address of server 'med02'; remove it "
          "('pooldnsctl member remove med.contoso.com. med02') and add it with one of the server's addresses");
}

TEST_CASE("deployment_problems finds a topology member whose host name no zone here serves") {
    Fixture f;
    must(f.topologies.create(mediation()));
    f.db.exec("UPDATE servers SET host = 'med01.fabrikam.com.' WHERE name = 'med01'");
    auto problems = deployment_problems(f.db);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].where == "topology med.contoso.com.");
    CHECK(problems[0].message.starts_with(
        "server 'med01' (member of med.contoso.com.) has the host name 'med01.fabrikam.com.', which no zone here "
        "serves; every pool member needs its own host record, so that 'pooldnsctl server block med01' can hide it"));
}

TEST_CASE("deployment_problems reports a server in no zone once although it is a member of several Edge pools") {
    Fixture f;
    must(f.topologies.create(edge()));
    f.db.exec("UPDATE servers SET host = 'e02.fabrikam.com.' WHERE name = 'e02'");
    auto problems = deployment_problems(f.db);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].where == "topology edge.contoso.com.");
    CHECK(problems[0].message.starts_with("server 'e02' (member of edge.contoso.com.) has the host name "
                                          "'e02.fabrikam.com.'"));
}

TEST_CASE("deployment_problems finds two topologies sharing a web services FQDN, naming both") {
    Fixture f;
    must(f.topologies.create(frontend()));
    must(f.topologies.create(frontend2()));
    f.db.exec("UPDATE topology_names SET fqdn = 'web-ext.contoso.com.' WHERE fqdn = 'web2-ext.contoso.com.'");
    auto problems = deployment_problems(f.db);
    // Once, told to the newer topology, naming the older; and the shared name
    // resolves to pool01's VIP, where no VIP of pool02 listens.
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].where == "topology pool02.contoso.com.");
    CHECK(problems[0].message ==
          "the external web services FQDN 'web-ext.contoso.com.' is also the external web services FQDN of frontend "
          "pool 'pool01.contoso.com.'; each Front End pool and Director needs web services FQDNs of its own");
    CHECK(problems[1].where == "topology pool02.contoso.com.");
    CHECK(problems[1].message.starts_with("the external web services FQDN 'web-ext.contoso.com.' resolves to "
                                          "198.51.100.100, where no VIP of pool 'pool02.contoso.com.' listens"));
}

TEST_CASE("deployment_problems finds a topology pool with no members") {
    Fixture f;
    must(f.topologies.create(mediation()));
    f.db.exec("DELETE FROM members");
    auto problems = deployment_problems(f.db);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].where == "topology med.contoso.com.");
    CHECK(problems[0].message ==
          "the pool FQDN 'med.contoso.com.' has no members left, so it answers no address; add one ('pooldnsctl "
          "member add med.contoso.com. SERVER ADDR'), or forget the topology with 'pooldnsctl topology delete "
          "med.contoso.com.'");
}

TEST_CASE("deployment_problems finds a web services FQDN without address records") {
    Fixture f;
    must(f.topologies.create(frontend()));
    f.db.exec("DELETE FROM records WHERE owner = 'web-int.contoso.com.'");
    auto problems = deployment_problems(f.db);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].where == "topology pool01.contoso.com.");
    CHECK(problems[0].message ==
          "the internal web services FQDN 'web-int.contoso.com.' has no address records; it must resolve to the VIP "
          "('pooldnsctl record add contoso.com. web-int.contoso.com. 300 A VIP-ADDRESS'; its pool's VIPs listen on "
          "192.0.2.100, 198.51.100.100)");
}

TEST_CASE("deployment_problems finds a web services FQDN that is a server's host name") {
    Fixture f;
    must(f.topologies.create(frontend()));
    f.db.exec("UPDATE servers SET host = 'web-int.contoso.com.' WHERE name = 'fe02'");
    auto problems = deployment_problems(f.db);
    CHECK(has_line_starting(problems, "topology pool01.contoso.com.",
                            "the internal web services FQDN 'web-int.contoso.com.' is the host name of server 'fe02'; "
                            "the web services FQDN must resolve to the VIP only"));
}

TEST_CASE("deployment_problems finds a web services FQDN that is also a pool FQDN") {
    Fixture f;
    must(f.topologies.create(frontend()));
    f.db.exec("INSERT INTO pools (fqdn, zone_id) SELECT 'web-ext.contoso.com.', id FROM zones WHERE origin = "
              "'contoso.com.'");
    auto problems = deployment_problems(f.db);
    CHECK(has_line_starting(problems, "topology pool01.contoso.com.",
                            "the external web services FQDN 'web-ext.contoso.com.' is also a pool FQDN; Microsoft "
                            "requires the web services FQDN to differ from every pool FQDN"));
}

TEST_CASE("deployment_problems finds an Edge whose internal side is a pool and external side HLB records") {
    Fixture f;
    must(f.topologies.create(edge()));
    f.db.exec("DELETE FROM pools WHERE fqdn = 'access.contoso.com.'");
    f.insert_a("contoso.com.", "access.contoso.com.", {203, 0, 113, 20});
    auto problems = deployment_problems(f.db);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].where == "topology edge.contoso.com.");
    CHECK(problems[0].message ==
          "the internal Edge pool 'edge.contoso.com.' uses DNS load balancing (a pool) but the Access Edge FQDN "
          "'access.contoso.com.' uses a hardware load balancer (address records); Microsoft requires the same kind "
          "of load balancing on the internal and external Edge interfaces: make both sides DNS pools or both "
          "hardware load-balancer records");
}

TEST_CASE("deployment_problems finds a topology name that no longer exists") {
    Fixture f;
    must(f.topologies.create(edge()));
    f.db.exec("DELETE FROM pools WHERE fqdn = 'av.contoso.com.'");
    auto problems = deployment_problems(f.db);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].where == "topology edge.contoso.com.");
    CHECK(problems[0].message ==
          "the A/V Edge FQDN 'av.contoso.com.' no longer exists; recreate it (a pool, or a hardware load balancer's "
          "address records), or forget the topology with 'pooldnsctl topology delete edge.contoso.com.'");
}

TEST_CASE("zone check lists the deployment problems of names in that zone only") {
    Fixture f;
    must(f.topologies.create(mediation()));
    f.insert_a("contoso.com.", "med.contoso.com.", {192, 0, 2, 99});
    auto contoso = must(f.zones.check("contoso.com"));
    CHECK(has_line_starting(contoso, "pool med.contoso.com.", "zone contoso.com. has an A record at the pool name"));
    CHECK(must(f.zones.check("example.net")).empty());
    CHECK(lines(must(f.topologies.check())) == lines(deployment_problems(f.db)));
}

// --- RulesGuard -------------------------------------------------------------------

TEST_CASE("member add of a server whose host no zone serves into a topology's pool is refused") {
    Fixture f;
    must(f.topologies.create(frontend()));
    must(f.pools.add_server(ServerSpec{"fe09", "fe09.fabrikam.com", {"192.0.2.19"}, std::nullopt, {}}));
    auto before = f.dump();
    auto err = error_of(f.pools.add_member("pool01.contoso.com", "fe09", "192.0.2.19", std::nullopt, std::nullopt));
    INFO(err);
    CHECK(err.starts_with("this edit would break the DNS load-balancing rules; nothing was changed:\n  topology "
                          "pool01.contoso.com.: server 'fe09' (member of pool01.contoso.com.) has the host name "
                          "'fe09.fabrikam.com.', which no zone here serves;"));
    CHECK(f.dump() == before);
}

TEST_CASE("member add of a server whose host no zone serves into a pool of no topology commits") {
    Fixture f;
    PoolSpec p;
    p.fqdn = "plain.contoso.com";
    must(f.pools.add_pool(p));
    must(f.pools.add_server(ServerSpec{"fe09", "fe09.fabrikam.com", {"192.0.2.19"}, std::nullopt, {}}));
    must(f.pools.add_member("plain.contoso.com", "fe09", "192.0.2.19", std::nullopt, std::nullopt));
    CHECK(members_of(f.pool("plain.contoso.com")) == std::vector<std::string>{"fe09:192.0.2.19"});
}

TEST_CASE("record delete of a web services FQDN's address record is refused") {
    Fixture f;
    must(f.topologies.create(frontend()));
    auto before = f.dump();
    auto err = error_of(f.zones.delete_records("contoso.com", "web-int.contoso.com", "A", ""));
    INFO(err);
    CHECK(err ==
          "this edit would break the DNS load-balancing rules; nothing was changed:\n  topology pool01.contoso.com.: "
          "the internal web services FQDN 'web-int.contoso.com.' has no address records; it must resolve to the VIP "
          "('pooldnsctl record add contoso.com. web-int.contoso.com. 300 A VIP-ADDRESS'; its pool's VIPs listen on "
          "192.0.2.100, 198.51.100.100)");
    CHECK(f.dump() == before);
    CHECK(f.serial("contoso.com.") == 1001);
}

TEST_CASE("pool delete of a topology's pool is refused once its VIPs are gone") {
    Fixture f;
    must(f.topologies.create(frontend()));
    // Behind the rules' back (the VIPs hold the web services FQDNs' addresses).
    f.db.exec("DELETE FROM vips");
    auto before = f.dump();
    auto err = error_of(f.pools.delete_pool("pool01.contoso.com"));
    INFO(err);
    CHECK(err ==
          "this edit would break the DNS load-balancing rules; nothing was changed:\n  topology pool01.contoso.com.: "
          "the pool FQDN 'pool01.contoso.com.' no longer exists; recreate it (a pool, or a hardware load balancer's "
          "address records), or forget the topology with 'pooldnsctl topology delete pool01.contoso.com.'");
    CHECK(f.dump() == before);
}

TEST_CASE("member remove of the last member of a topology's pool is refused, the others not") {
    Fixture f;
    must(f.topologies.create(mediation()));
    must(f.pools.remove_member("med.contoso.com", "med02"));
    auto before = f.dump();
    auto err = error_of(f.pools.remove_member("med.contoso.com", "med01"));
    INFO(err);
    CHECK(err == "this edit would break the DNS load-balancing rules; nothing was changed:\n  topology med.contoso.com.: "
                 "the pool FQDN 'med.contoso.com.' has no members left, so it answers no address; add one ('pooldnsctl "
                 "member add med.contoso.com. SERVER ADDR'), or forget the topology with 'pooldnsctl topology delete "
                 "med.contoso.com.'");
    CHECK(f.dump() == before);
}

TEST_CASE("server delete of the last member of a topology's pool is refused") {
    Fixture f;
    TopologySpec spec = mediation();
    spec.servers = {"med01,med01.contoso.com,192.0.2.31"};
    must(f.topologies.create(spec));
    auto before = f.dump();
    auto err = error_of(f.pools.delete_server("med01"));
    INFO(err);
    CHECK(err.find("topology med.contoso.com.: the pool FQDN 'med.contoso.com.' has no members left") !=
          std::string::npos);
    CHECK(f.dump() == before);
}

TEST_CASE("zone delete of a child zone holding a topology's host names commits while the parent serves them") {
    Fixture f;
    must(f.zones.import("lab.contoso.com", f.dir.write("lab.zone", kLab)));
    TopologySpec spec = mediation();
    spec.servers = {"med01,med01.lab.contoso.com,192.0.2.31"};
    must(f.topologies.create(spec));
    CHECK(f.server("med01").zone == "lab.contoso.com.");
    must(f.zones.remove("lab.contoso.com"));
    CHECK(f.server("med01").zone == "contoso.com.");
    CHECK(deployment_problems(f.db).empty());
}

TEST_CASE("zone delete of the only zone that holds a topology's server host names is refused") {
    Fixture f;
    must(f.topologies.create(mediation()));
    // The servers in example.net, the pool in contoso.com.
    TopologySpec spec;
    spec.kind = TopologyKind::Mediation;
    spec.fqdn = "med2.contoso.com";
    spec.servers = {"med05,med05.example.net,198.51.100.35"};
    must(f.topologies.create(spec));
    auto before = f.dump();
    auto err = error_of(f.zones.remove("example.net"));
    INFO(err);
    CHECK(err.starts_with("this edit would break the DNS load-balancing rules; nothing was changed:\n  topology "
                          "med2.contoso.com.: server 'med05' (member of med2.contoso.com.) has the host name "
                          "'med05.example.net.', which no zone here serves;"));
    CHECK(f.dump() == before);
}

TEST_CASE("an unrelated edit on a file that already breaks a rule commits") {
    Fixture f;
    must(f.topologies.create(mediation()));
    f.insert_a("contoso.com.", "med.contoso.com.", {192, 0, 2, 99});
    REQUIRE(deployment_problems(f.db).size() == 1);
    must(f.zones.add_record("contoso.com", "www", "300", "A", "192.0.2.80"));
    must(f.pools.add_server(ServerSpec{"fe01", "fe01.contoso.com", {"192.0.2.11"}, std::nullopt, {}}));
    CHECK(f.records_at("contoso.com", "www.contoso.com.") == std::vector<std::string>{"A 192.0.2.80"});
    CHECK(f.server("fe01").zone == "contoso.com.");
    CHECK(deployment_problems(f.db).size() == 1);  // the breach is still there, not fixed or reported anew
}

TEST_CASE("an edit that adds a second breach is refused naming only the one it adds") {
    Fixture f;
    must(f.topologies.create(mediation()));
    must(f.topologies.create(frontend()));
    f.insert_a("contoso.com.", "med.contoso.com.", {192, 0, 2, 99});
    auto before = f.dump();
    auto err = error_of(f.zones.delete_records("contoso.com", "web-ext.contoso.com", "A", ""));
    INFO(err);
    CHECK(err.starts_with("this edit would break the DNS load-balancing rules; nothing was changed:\n  topology "
                          "pool01.contoso.com.: the external web services FQDN 'web-ext.contoso.com.' has no address "
                          "records"));
    CHECK(err.find("med.contoso.com.") == std::string::npos);
    CHECK(f.dump() == before);
}

TEST_CASE("RulesGuard inside a nested transaction checks nothing; the outermost one judges the whole") {
    Fixture f;
    must(f.topologies.create(frontend()));
    Transaction outer(f.db);
    RulesGuard outer_rules(f.db, outer);
    {
        Transaction inner(f.db);
        RulesGuard inner_rules(f.db, inner);
        f.db.exec("DELETE FROM records WHERE owner = 'web-int.contoso.com.'");
        CHECK(inner_rules.verify().ok());
        inner.commit();
    }
    auto st = outer_rules.verify();
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("'web-int.contoso.com.' has no address records") != std::string::npos);
}

// --- topology delete ------------------------------------------------------------------

TEST_CASE("topology delete forgets the topology and keeps its pools, servers, VIPs and records") {
    Fixture f;
    must(f.topologies.create(frontend()));
    auto counts = f.rows();
    auto removed = must(f.topologies.remove("pool01.contoso.com"));
    CHECK(removed.fqdn == "pool01.contoso.com.");
    CHECK(removed.kind == TopologyKind::Frontend);
    CHECK(must(f.topologies.topologies()).empty());
    CHECK(f.count("SELECT count(*) FROM topology_names") == 0);
    CHECK(members_of(f.pool("pool01.contoso.com")) == std::vector<std::string>{"fe01:192.0.2.11", "fe02:192.0.2.12"});
    CHECK(f.vip("pool01-int-https").pool == "pool01.contoso.com.");
    CHECK(f.records_at("contoso.com", "web-int.contoso.com.") == std::vector<std::string>{"A 192.0.2.100"});
    auto after = f.rows();
    for (const char* kept : {"servers", "server_addresses", "pools", "members", "vips", "vip_certs", "records"}) {
        INFO(kept);
        CHECK(after[kept] == counts[kept]);
    }
    CHECK(after["topologies"] == 0);
    CHECK(after["audit"] == counts["audit"] + 1);
    CHECK(f.count("SELECT count(*) FROM audit WHERE action = 'topology delete' AND object = 'pool01.contoso.com.'") ==
          1);
}

TEST_CASE("after topology delete its rules stop applying to its names") {
    Fixture f;
    must(f.topologies.create(frontend()));
    must(f.topologies.remove("pool01.contoso.com"));
    must(f.zones.delete_records("contoso.com", "web-int.contoso.com", "A", ""));
    must(f.pools.add_server(ServerSpec{"fe09", "fe09.fabrikam.com", {"192.0.2.19"}, std::nullopt, {}}));
    must(f.pools.add_member("pool01.contoso.com", "fe09", "192.0.2.19", std::nullopt, std::nullopt));
    CHECK(f.records_at("contoso.com", "web-int.contoso.com.").empty());
    CHECK(deployment_problems(f.db).empty());
}

TEST_CASE("topology delete of an unknown topology fails naming it and writes nothing") {
    Fixture f;
    must(f.topologies.create(mediation()));
    auto before = f.dump();
    CHECK(error_of(f.topologies.remove("pool09.contoso.com")) ==
          "POOL: no topology 'pool09.contoso.com.' ('pooldnsctl topology show' lists them)");
    CHECK(f.dump() == before);
}

// --- web services FQDNs and their VIPs; breaches told apart by what they are about ---

TEST_CASE("a web services FQDN pointed at a server instead of the VIP is refused") {
    Fixture f;
    must(f.topologies.create(frontend()));
    auto before = f.dump();
    auto err = error_of(f.zones.replace_record("contoso.com", "web-int", "300", "A", "192.0.2.11"));
    INFO(err);
    CHECK(err ==
          "this edit would break the DNS load-balancing rules; nothing was changed:\n  topology pool01.contoso.com.: "
          "the internal web services FQDN 'web-int.contoso.com.' resolves to 192.0.2.11, where no VIP of pool "
          "'pool01.contoso.com.' listens (its VIPs listen on 192.0.2.100, 198.51.100.100); web services traffic must "
          "reach the members through the VIP: point it at the VIP ('pooldnsctl record replace contoso.com. "
          "web-int.contoso.com. 300 A VIP-ADDRESS')");
    CHECK(f.dump() == before);
    // A second address beside the VIP's is refused the same way.
    CHECK(error_of(f.zones.add_record("contoso.com", "web-int", "300", "A", "192.0.2.12"))
              .find("resolves to 192.0.2.12, where no VIP") != std::string::npos);
    CHECK(f.dump() == before);
}

TEST_CASE("deleting the last VIP on a web services FQDN's address is refused, one of several is not") {
    Fixture f;
    must(f.topologies.create(frontend()));
    must(f.vips.delete_vip("pool01-int-http"));  // pool01-int-https still listens on 192.0.2.100
    auto before = f.dump();
    auto err = error_of(f.vips.delete_vip("pool01-int-https"));
    INFO(err);
    CHECK(err.find("the internal web services FQDN 'web-int.contoso.com.' resolves to 192.0.2.100, where no VIP of "
                   "pool 'pool01.contoso.com.' listens (its VIPs listen on 198.51.100.100)") != std::string::npos);
    CHECK(f.dump() == before);
}

TEST_CASE("a topology is not laid out over address records left at its web services FQDN") {
    Fixture f;
    must(f.zones.add_record("contoso.com", "web-int", "300", "A", "192.0.2.99"));
    auto before = f.dump();
    auto err = error_of(f.topologies.create(frontend()));
    CHECK(err == "--web-internal: zone contoso.com. already has A records at 'web-int.contoso.com.'; delete them first "
                 "('pooldnsctl record delete contoso.com. web-int.contoso.com. A') or choose another name");
    CHECK(f.dump() == before);
}

TEST_CASE("a breach already there does not block an edit that only changes its message") {
    Fixture f;
    must(f.topologies.create(frontend()));
    // Behind pooldnsctl's back: the web services FQDN loses its record, and the
    // message suggests the VIP's address; deleting one VIP changes that suggestion.
    f.db.exec("DELETE FROM records WHERE owner = 'web-ext.contoso.com.'");
    auto first = deployment_problems(f.db);
    REQUIRE(first.size() == 1);
    CHECK(first[0].message.find("listen on 192.0.2.100, 198.51.100.100)") != std::string::npos);
    must(f.vips.delete_vip("pool01-ext-http"));
    must(f.vips.delete_vip("pool01-ext-https"));
    auto now = deployment_problems(f.db);
    REQUIRE(now.size() == 1);
    CHECK(now[0].message != first[0].message);  // same breach, other words: the edits went through
}

TEST_CASE("topology edge refuses an external address that is the server's INTERNAL one, naming the field") {
    Fixture f;
    TopologySpec spec = edge();
    spec.servers = {"e01,e01.contoso.com,10.0.0.21,10.0.0.21,203.0.113.22,203.0.113.23"};
    auto before = f.dump();
    CHECK(error_of(f.topologies.create(spec)) ==
          "--server e01: ACCESS: 10.0.0.21 is the server's INTERNAL address; the external services need its external "
          "addresses");
    spec.servers = {"e01,e01.contoso.com,10.0.0.21,203.0.113.21,not-an-ip,203.0.113.23"};
    CHECK(error_of(f.topologies.create(spec)) ==
          "--server e01: WEBCONF: 'not-an-ip' is not an IPv4 or IPv6 address");
    CHECK(f.dump() == before);
}

TEST_CASE("--sip-domain without --discovery is refused") {
    Fixture f;
    TopologySpec spec = frontend();
    spec.sip_domain = "contoso.com";
    CHECK(error_of(f.topologies.create(spec)) ==
          "--sip-domain: only used with --discovery (the domain of the discovery records)");
}

TEST_CASE("a bare outer transaction leaves the rules to the guard of the edit inside it") {
    Fixture f;
    must(f.topologies.create(mediation()));
    must(f.pools.remove_member("med.contoso.com", "med02"));
    Transaction tx(f.db);
    CHECK(error_of(f.pools.remove_member("med.contoso.com", "med01")).find("has no members left") !=
          std::string::npos);
}
