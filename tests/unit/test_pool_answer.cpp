// Pools in answers: the pure selection (rotation, weights, cap, every all-down
// policy), the rise/fall machine, and answer() over a snapshot whose pools read
// a HealthTable that the tests flip.
#include "dns_fixture.hpp"

#include "pooldns/pool_select.hpp"
#include "pooldns/rise_fall.hpp"

#include <map>

using namespace dnstest;

namespace {

std::vector<SelectMember> members(std::initializer_list<std::pair<int, bool>> list) {
    std::vector<SelectMember> out;
    for (auto [w, up] : list) out.push_back({static_cast<std::uint16_t>(w), up});
    return out;
}

std::vector<int> pick(const std::vector<SelectMember>& m, std::uint64_t key, std::uint16_t cap = 0,
                      AllDown policy = AllDown::All, Selection* out = nullptr) {
    std::vector<std::uint16_t> order(m.size());
    Selection s = select_members(m, cap, policy, key, order);
    if (out) *out = s;
    return std::vector<int>(order.begin(), order.begin() + s.count);
}

const char* kZone = R"(
$ORIGIN contoso.com.
$TTL 3600
@        SOA   ns1 hostmaster 2026010101 3600 600 86400 300
@        NS    ns1
ns1      A     192.0.2.1
pool01   TXT   "front end pool"
_sip._tls SRV  0 0 443 pool01
web      CNAME pool01
)";

struct PoolFixture {
    std::shared_ptr<HealthTable> health = std::make_shared<HealthTable>();
    std::shared_ptr<const Snapshot> snap;

    explicit PoolFixture(std::vector<PoolData> pools) {
        auto entries = read_zone_text(kZone, "contoso.com.", "contoso.com.");
        REQUIRE(entries.ok());
        ZoneData z{"contoso.com.", {}};
        for (auto& e : *entries) z.records.push_back(e.rec);
        EngineSettings settings;
        settings.axfr_allow = {parse_prefix("127.0.0.0/8").value()};
        auto s = Snapshot::build({z}, std::move(pools), settings, health);
        REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
        snap = *s;
    }

    std::uint32_t slot_of(const std::string& address) const {
        for (const auto& t : snap->health_targets()) {
            if (t.address == address) return t.slot;
        }
        FAIL("no health target for " << address);
        return 0;
    }
    void set(const std::string& address, bool up) { health->set(slot_of(address), up ? kHealthUp | kHealthProbed : kHealthProbed); }

    Response query(const std::string& name, ldns_rr_type type, std::uint64_t rotation = 0) const {
        Response r;
        r.wire.resize(65535);
        auto q = make_query(name, type);
        r.result = answer(q, *snap, QueryContext{Transport::Udp, nullptr, rotation}, r.wire);
        r.wire.resize(r.result.size);
        ldns_pkt* p = nullptr;
        REQUIRE(ldns_wire2pkt(&p, r.wire.data(), r.wire.size()) == LDNS_STATUS_OK);
        r.pkt.reset(p);
        return r;
    }
};

PoolData pool01(std::vector<std::string> addresses, std::string check = "tcp:5061") {
    PoolData p;
    p.fqdn = "pool01.contoso.com.";
    p.ttl = 30;
    p.check = std::move(check);
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        PoolData::Member m;
        m.address = addresses[i];
        m.server = "fe0" + std::to_string(i + 1);
        m.host = m.server + ".contoso.com.";
        m.server_id = static_cast<std::int64_t>(i + 1);
        p.members.push_back(m);
    }
    return p;
}

std::vector<std::string> addresses_in(const Response& r) {
    std::vector<std::string> out;
    for (const auto& s : r.answer_in_order()) out.push_back(s.substr(s.rfind('\t') + 1));
    return out;
}

}  // namespace

TEST_CASE("selection lists every up member, rotated by the key") {
    auto m = members({{1, true}, {1, true}, {1, true}});
    CHECK(pick(m, 0) == std::vector<int>{0, 1, 2});
    CHECK(pick(m, 1) == std::vector<int>{1, 2, 0});
    CHECK(pick(m, 2) == std::vector<int>{2, 0, 1});
    CHECK(pick(m, 3) == std::vector<int>{0, 1, 2});
}

TEST_CASE("selection leaves out members that are down and reports the pool degraded") {
    auto m = members({{1, true}, {1, false}, {1, true}});
    Selection s;
    CHECK(pick(m, 0, 0, AllDown::All, &s) == std::vector<int>{0, 2});
    CHECK(s.degraded);
    CHECK(pick(m, 1) == std::vector<int>{2, 0});
}

TEST_CASE("weights bias how often a member is listed first, in proportion") {
    auto m = members({{3, true}, {1, true}});
    std::map<int, int> first;
    for (std::uint64_t key = 0; key < 400; ++key) ++first[pick(m, key)[0]];
    CHECK(first[0] == 300);
    CHECK(first[1] == 100);
}

TEST_CASE("the cap limits the records per answer and every member still takes its turn") {
    auto m = members({{1, true}, {1, true}, {1, true}, {1, true}});
    std::map<int, int> seen;
    for (std::uint64_t key = 0; key < 8; ++key) {
        auto p = pick(m, key, 2);
        CHECK(p.size() == 2);
        for (int i : p) ++seen[i];
    }
    CHECK(seen.size() == 4);
}

TEST_CASE("all-down policy all lists every member when none is up") {
    auto m = members({{1, false}, {1, false}});
    Selection s;
    CHECK(pick(m, 0, 0, AllDown::All, &s) == std::vector<int>{0, 1});
    CHECK(s.degraded);
    CHECK_FALSE(s.use_backup);
}

TEST_CASE("all-down policy none lists nothing and policy backup asks for the backup") {
    auto m = members({{1, false}, {1, false}});
    Selection s;
    CHECK(pick(m, 0, 0, AllDown::None, &s).empty());
    CHECK_FALSE(s.use_backup);
    CHECK(pick(m, 0, 0, AllDown::Backup, &s).empty());
    CHECK(s.use_backup);
}

TEST_CASE("rise/fall: an up member goes down only after fall failures in a row") {
    RiseFall rf(true, true);
    CHECK_FALSE(rf.record(false, 2, 3));
    CHECK_FALSE(rf.record(false, 2, 3));
    CHECK_FALSE(rf.record(true, 2, 3));  // a success resets the count
    CHECK_FALSE(rf.record(false, 2, 3));
    CHECK_FALSE(rf.record(false, 2, 3));
    CHECK(rf.record(false, 2, 3));
    CHECK_FALSE(rf.up());
}

TEST_CASE("rise/fall: a down member comes back only after rise successes in a row") {
    RiseFall rf(false, true);
    CHECK_FALSE(rf.record(true, 2, 3));
    CHECK_FALSE(rf.record(false, 2, 3));
    CHECK_FALSE(rf.record(true, 2, 3));
    CHECK(rf.record(true, 2, 3));
    CHECK(rf.up());
}

TEST_CASE("rise/fall: with no recorded state the first result decides at once") {
    RiseFall down(true, false);
    CHECK(down.record(false, 2, 3));
    CHECK_FALSE(down.up());
    RiseFall up(true, false);
    CHECK_FALSE(up.record(true, 2, 3));
    CHECK(up.up());
    CHECK(up.known());
}

TEST_CASE("a pool FQDN answers one A per healthy member, rotated per query") {
    PoolFixture f({pool01({"10.0.0.1", "10.0.0.2", "10.0.0.3"})});
    auto r0 = f.query("pool01.contoso.com.", LDNS_RR_TYPE_A, 0);
    CHECK(r0.aa());
    CHECK(addresses_in(r0) == std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3"});
    auto r1 = f.query("pool01.contoso.com.", LDNS_RR_TYPE_A, 1);
    CHECK(addresses_in(r1) == std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.1"});
    CHECK(r1.answer_in_order()[0] == rr("pool01.contoso.com.", 30, "A", "10.0.0.2"));
}

TEST_CASE("a member that goes down leaves the answer on the next query, without a rebuild") {
    PoolFixture f({pool01({"10.0.0.1", "10.0.0.2", "10.0.0.3"})});
    f.set("10.0.0.2", false);
    CHECK(addresses_in(f.query("pool01.contoso.com.", LDNS_RR_TYPE_A)) ==
          std::vector<std::string>{"10.0.0.1", "10.0.0.3"});
    f.set("10.0.0.2", true);
    CHECK(addresses_in(f.query("pool01.contoso.com.", LDNS_RR_TYPE_A)).size() == 3);
}

TEST_CASE("the pool's TTL is cut while a member is down when a degraded TTL is set") {
    auto p = pool01({"10.0.0.1", "10.0.0.2"});
    p.degraded_ttl = 5;
    PoolFixture f({p});
    CHECK(f.query("pool01.contoso.com.", LDNS_RR_TYPE_A).answer_in_order()[0] == rr("pool01.contoso.com.", 30, "A", "10.0.0.1"));
    f.set("10.0.0.2", false);
    CHECK(f.query("pool01.contoso.com.", LDNS_RR_TYPE_A).answer_in_order()[0] == rr("pool01.contoso.com.", 5, "A", "10.0.0.1"));
}

TEST_CASE("all-down none answers NODATA with the SOA") {
    auto p = pool01({"10.0.0.1"});
    p.all_down = AllDown::None;
    PoolFixture f({p});
    f.set("10.0.0.1", false);
    auto r = f.query("pool01.contoso.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.answer().empty());
    REQUIRE(r.authority().size() == 1);
    CHECK(r.authority()[0].find("SOA") != std::string::npos);
}

TEST_CASE("all-down all hands out every member when none is up (fail-open)") {
    PoolFixture f({pool01({"10.0.0.1", "10.0.0.2"})});
    f.set("10.0.0.1", false);
    f.set("10.0.0.2", false);
    CHECK(addresses_in(f.query("pool01.contoso.com.", LDNS_RR_TYPE_A)).size() == 2);
}

TEST_CASE("all-down backup answers the pool name with the backup pool's members") {
    auto p = pool01({"10.0.0.1"});
    p.all_down = AllDown::Backup;
    p.backup = "dr.contoso.com.";
    PoolData dr;
    dr.fqdn = "dr.contoso.com.";
    dr.ttl = 60;
    dr.members.push_back({"10.9.0.1", "", 1, 9, "dr01", "dr01.contoso.com.", kHealthUp});
    PoolFixture f({p, dr});
    f.set("10.0.0.1", false);
    auto r = f.query("pool01.contoso.com.", LDNS_RR_TYPE_A);
    CHECK(r.answer_in_order() == std::vector<std::string>{rr("pool01.contoso.com.", 30, "A", "10.9.0.1")});
}

TEST_CASE("other types at a pool name answer from the zone; AAAA at an A pool is NODATA") {
    PoolFixture f({pool01({"10.0.0.1"})});
    auto txt = f.query("pool01.contoso.com.", LDNS_RR_TYPE_TXT);
    CHECK(txt.answer() == std::vector<std::string>{rr("pool01.contoso.com.", 3600, "TXT", "\"front end pool\"")});
    auto aaaa = f.query("pool01.contoso.com.", LDNS_RR_TYPE_AAAA);
    CHECK(aaaa.answer().empty());
    CHECK(aaaa.rcode() == LDNS_RCODE_NOERROR);
}

TEST_CASE("a CNAME to a pool and an SRV naming a pool carry the live member list") {
    PoolFixture f({pool01({"10.0.0.1", "10.0.0.2"})});
    f.set("10.0.0.1", false);
    auto cname = f.query("web.contoso.com.", LDNS_RR_TYPE_A);
    CHECK(cname.answer() == std::vector<std::string>{rr("pool01.contoso.com.", 30, "A", "10.0.0.2"),
                                                     rr("web.contoso.com.", 3600, "CNAME", "pool01.contoso.com.")});
    auto srv = f.query("_sip._tls.contoso.com.", LDNS_RR_TYPE_SRV);
    CHECK(srv.additional() == std::vector<std::string>{rr("pool01.contoso.com.", 30, "A", "10.0.0.2")});
}

TEST_CASE("a pool with no enabled member answers NODATA, not NXDOMAIN") {
    auto p = pool01({});
    PoolFixture f({p});
    auto r = f.query("pool01.contoso.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.answer().empty());
}

TEST_CASE("members probed alike share one health slot across pools") {
    auto a = pool01({"10.0.0.1"});
    auto b = pool01({"10.0.0.1"});
    b.fqdn = "pool02.contoso.com.";
    PoolFixture f({a, b});
    REQUIRE(f.snap->health_targets().size() == 1);
    CHECK(f.snap->health_targets()[0].members.size() == 2);
    f.set("10.0.0.1", false);
    // all-down all: still answered, but both pools see the same state.
    auto s = f.snap->members_of(f.snap->pool(0));
    CHECK_FALSE(f.snap->member_up(s[0]));
    CHECK_FALSE(f.snap->member_up(f.snap->members_of(f.snap->pool(1))[0]));
}

TEST_CASE("a pool without a check has every member up") {
    PoolFixture f({pool01({"10.0.0.1", "10.0.0.2"}, "")});
    CHECK(f.snap->health_targets().empty());
    CHECK(addresses_in(f.query("pool01.contoso.com.", LDNS_RR_TYPE_A)).size() == 2);
}

TEST_CASE("AXFR carries the pool's full member list") {
    PoolFixture f({pool01({"10.0.0.1", "10.0.0.2"})});
    f.set("10.0.0.1", false);
    auto q = make_query("contoso.com.", LDNS_RR_TYPE_AXFR);
    TransferCursor cursor(*f.snap, 0, q);
    std::vector<std::uint8_t> buf(65535);
    std::size_t n = cursor.next(buf);
    ldns_pkt* p = nullptr;
    REQUIRE(ldns_wire2pkt(&p, buf.data(), n) == LDNS_STATUS_OK);
    PktPtr pkt(p);
    auto rrs = Response::strings(ldns_pkt_answer(pkt.get()));
    CHECK(std::count(rrs.begin(), rrs.end(), rr("pool01.contoso.com.", 30, "A", "10.0.0.1")) == 1);
    CHECK(std::count(rrs.begin(), rrs.end(), rr("pool01.contoso.com.", 30, "A", "10.0.0.2")) == 1);
}

TEST_CASE("the health settings are read with their defaults and bounds") {
    auto defaults = parse_settings({});
    REQUIRE(defaults.ok());
    CHECK(defaults->health_max_in_flight == 1024);
    CHECK(defaults->health_jitter_percent == 10);
    auto set = parse_settings({{"health_max_in_flight", "64"}, {"health_jitter_percent", "0"}});
    REQUIRE(set.ok());
    CHECK(set->health_max_in_flight == 64);
    CHECK(set->health_jitter_percent == 0);
    auto bad = parse_settings({{"health_jitter_percent", "80"}});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("health_jitter_percent") != std::string::npos);
    CHECK_FALSE(parse_settings({{"health_max_in_flight", "0"}}).ok());
}
