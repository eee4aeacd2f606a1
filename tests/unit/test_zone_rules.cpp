// Zone validation rules and RRset normalisation.
#include "pooldns/zone_rules.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace pooldns;

namespace {

constexpr std::string_view kOrigin = "example.com.";
constexpr const char* kRrsig = "CNAME 8 3 300 20250101000000 20240101000000 12345 example.com. AQIDBAUGBwgJ";

// One entry parsed as `record add` would, with `where` as its location.
ZoneEntry entry(std::string_view where, std::string_view owner, std::uint32_t ttl, std::string_view type,
                std::string_view rdata) {
    auto r = parse_record(owner, ttl, type, rdata, kOrigin);
    if (!r.ok()) FAIL(r.error().message);
    return ZoneEntry{*r, std::string(where)};
}

// The SOA and NS every clean zone needs, at z:1 and z:2.
std::vector<ZoneEntry> apex() {
    return {entry("z:1", "@", 3600, "SOA", "ns1 hostmaster 1 3600 600 1209600 60"),
            entry("z:2", "@", 3600, "NS", "ns1")};
}

std::vector<std::string> problems_of(const std::vector<ZoneEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& p : check_zone(kOrigin, entries)) out.push_back(p.where + ": " + p.message);
    return out;
}

std::vector<ZoneEntry> with_apex(std::vector<ZoneEntry> rest) {
    auto all = apex();
    all.insert(all.end(), rest.begin(), rest.end());
    return all;
}

}  // namespace

TEST_CASE("check_zone finds no problems in a clean zone") {
    auto entries = with_apex({
        entry("z:3", "@", 3600, "NS", "ns2.example.net."),
        entry("z:4", "www", 300, "A", "192.0.2.1"),
        entry("z:5", "www", 300, "AAAA", "2001:db8::1"),
        entry("z:6", "alias", 300, "CNAME", "www"),
        entry("z:7", "sub", 300, "NS", "ns.sub"),  // a delegation
        entry("z:8", "*.wild", 300, "TXT", "\"x\""),
    });
    CHECK(check_zone(kOrigin, entries).empty());
}

TEST_CASE("check_zone reports a name outside the zone") {
    auto entries = with_apex({entry("z:3", "www.example.org.", 300, "A", "192.0.2.1"),
                              entry("z:4", "xexample.com.", 300, "A", "192.0.2.2")});
    CHECK(problems_of(entries) ==
          std::vector<std::string>{"z:3: name 'www.example.org.' is outside zone 'example.com.'",
                                   "z:4: name 'xexample.com.' is outside zone 'example.com.'"});
}

TEST_CASE("check_zone reports an SOA that is not at the apex") {
    auto entries = with_apex({entry("z:3", "sub", 3600, "SOA", "ns1 hostmaster 1 3600 600 1209600 60")});
    CHECK(problems_of(entries) ==
          std::vector<std::string>{"z:3: SOA record at 'sub.example.com.': an SOA may only be at the zone apex "
                                   "'example.com.'"});
}

TEST_CASE("check_zone reports a second SOA naming the first's location") {
    auto entries = with_apex({entry("z:3", "@", 3600, "SOA", "ns1 hostmaster 2 3600 600 1209600 60")});
    CHECK(problems_of(entries) == std::vector<std::string>{"z:3: a second SOA record (the first is at z:1)"});
}

TEST_CASE("check_zone reports a zone without an SOA at its apex") {
    std::vector<ZoneEntry> entries{entry("z:1", "@", 3600, "NS", "ns1"), entry("z:2", "www", 300, "A", "192.0.2.1")};
    CHECK(problems_of(entries) == std::vector<std::string>{"example.com.: the zone has no SOA record at its apex"});
}

TEST_CASE("check_zone reports a zone without NS at its apex") {
    std::vector<ZoneEntry> entries{entry("z:1", "@", 3600, "SOA", "ns1 hostmaster 1 3600 600 1209600 60"),
                                   entry("z:2", "sub", 3600, "NS", "ns1")};  // below the apex does not count
    CHECK(problems_of(entries) == std::vector<std::string>{"example.com.: the zone has no NS record at its apex"});
}

TEST_CASE("check_zone reports an empty zone's missing SOA and NS") {
    CHECK(problems_of({}) == std::vector<std::string>{"example.com.: the zone has no SOA record at its apex",
                                                      "example.com.: the zone has no NS record at its apex"});
}

TEST_CASE("check_zone reports a CNAME added beside existing data") {
    auto entries = with_apex({entry("z:3", "www", 300, "A", "192.0.2.1"), entry("z:4", "www", 300, "CNAME", "other")});
    CHECK(problems_of(entries) ==
          std::vector<std::string>{"z:4: CNAME at 'www.example.com.' beside A data (at z:3); a CNAME cannot sit "
                                   "beside other data (RFC 1034 section 3.6.2)"});
}

TEST_CASE("check_zone reports data added beside an existing CNAME") {
    auto entries = with_apex({entry("z:3", "www", 300, "CNAME", "other"), entry("z:4", "www", 300, "A", "192.0.2.1")});
    CHECK(problems_of(entries) ==
          std::vector<std::string>{"z:4: A at 'www.example.com.' beside a CNAME (at z:3); a CNAME cannot sit beside "
                                   "other data (RFC 1034 section 3.6.2)"});
}

TEST_CASE("check_zone reports a CNAME at the apex beside the SOA and NS") {
    auto entries = with_apex({entry("z:3", "@", 300, "CNAME", "other.example.net.")});
    auto problems = problems_of(entries);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].starts_with("z:3: CNAME at 'example.com.' beside "));
}

TEST_CASE("check_zone reports two CNAMEs at one name") {
    auto entries = with_apex({entry("z:3", "www", 300, "CNAME", "one"), entry("z:4", "www", 300, "CNAME", "two")});
    CHECK(problems_of(entries) ==
          std::vector<std::string>{"z:4: a second CNAME at 'www.example.com.' (the first is at z:3); a name has at "
                                   "most one CNAME"});
}

TEST_CASE("check_zone allows RRSIG and NSEC beside a CNAME in either order") {
    auto cname_first = with_apex({
        entry("z:3", "www", 300, "CNAME", "other"),
        entry("z:4", "www", 300, "RRSIG", kRrsig),
        entry("z:5", "www", 300, "NSEC", "x.example.com. CNAME RRSIG NSEC"),
    });
    CHECK(problems_of(cname_first).empty());
    auto cname_last = with_apex({
        entry("z:3", "www", 300, "NSEC", "x.example.com. CNAME RRSIG NSEC"),
        entry("z:4", "www", 300, "RRSIG", kRrsig),
        entry("z:5", "www", 300, "CNAME", "other"),
    });
    CHECK(problems_of(cname_last).empty());
}

TEST_CASE("may_accompany_cname is true for RRSIG and NSEC and false for data types") {
    CHECK(may_accompany_cname(46));        // RRSIG
    CHECK(may_accompany_cname(47));        // NSEC
    CHECK_FALSE(may_accompany_cname(1));   // A
    CHECK_FALSE(may_accompany_cname(16));  // TXT
    CHECK_FALSE(may_accompany_cname(50));  // NSEC3
}

TEST_CASE("normalize_rrsets drops a duplicate record with a warning") {
    std::vector<ZoneEntry> entries{entry("z:2", "www", 300, "A", "192.0.2.1"),
                                   entry("z:3", "www", 300, "A", "192.0.2.2"),
                                   entry("z:4", "WWW", 300, "A", "192.0.2.1")};
    auto warnings = normalize_rrsets(entries);
    CHECK(warnings == std::vector<std::string>{"z:4: duplicate A record at 'www.example.com.' ignored"});
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].where == "z:2");
    CHECK(entries[1].where == "z:3");
}

TEST_CASE("normalize_rrsets gives an RRset the first record's TTL with a warning naming both locations") {
    std::vector<ZoneEntry> entries{entry("z:2", "www", 300, "A", "192.0.2.1"),
                                   entry("z:3", "www", 600, "A", "192.0.2.2"),
                                   entry("z:4", "www", 900, "AAAA", "2001:db8::1")};  // another RRset
    auto warnings = normalize_rrsets(entries);
    CHECK(warnings == std::vector<std::string>{"z:3: TTL 600 differs from the A RRset's TTL 300 (set at z:2); using "
                                               "300 (RFC 2181 section 5.2)"});
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].rec.ttl == 300);
    CHECK(entries[1].rec.ttl == 300);
    CHECK(entries[2].rec.ttl == 900);
}

TEST_CASE("normalize_rrsets leaves clean entries as they are") {
    std::vector<ZoneEntry> entries =
        with_apex({entry("z:3", "www", 300, "A", "192.0.2.1"), entry("z:4", "www", 300, "A", "192.0.2.2")});
    auto before = entries;
    CHECK(normalize_rrsets(entries).empty());
    REQUIRE(entries.size() == before.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        CHECK(entries[i].rec == before[i].rec);
        CHECK(entries[i].where == before[i].where);
    }
}

TEST_CASE("format_problems writes WHERE: MESSAGE lines up to the limit, then a count of the rest") {
    const std::vector<Problem> problems{{"a:1", "first"}, {"a:2", "second"}, {"a:3", "third"}};
    CHECK(format_problems(problems, 2) == "a:1: first\na:2: second\n... and 1 more");
    CHECK(format_problems(problems, 3) == "a:1: first\na:2: second\na:3: third");
    CHECK(format_problems(problems, 0) == "... and 3 more");
    CHECK(format_problems({}, 5).empty());
}

TEST_CASE("format_problems stops at 20 problems by default") {
    std::vector<Problem> problems;
    for (int i = 1; i <= 25; ++i) problems.push_back({"z:" + std::to_string(i), "bad"});
    std::string text = format_problems(problems);
    std::string expected;
    for (int i = 1; i <= 20; ++i) expected += "z:" + std::to_string(i) + ": bad\n";
    expected += "... and 5 more";
    CHECK(text == expected);
}
