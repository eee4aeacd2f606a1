// The record model: names, types, TTLs, parsing and printing RRs, SOA fields,
// canonical ordering.
#include "pooldns/record.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace pooldns;

namespace {

std::string ok_name(std::string_view name, std::string_view origin) {
    auto r = canonical_name(name, origin, "NAME");
    if (!r.ok()) FAIL(r.error().message);
    return *r;
}

Record ok_record(std::string_view owner, std::uint32_t ttl, std::string_view type, std::string_view rdata,
                 std::string_view origin = "example.com.") {
    auto r = parse_record(owner, ttl, type, rdata, origin);
    if (!r.ok()) FAIL(r.error().message);
    return *r;
}

// A name of `labels` labels of 63 'a's followed by one label of `last` 'b's.
std::string long_name(int labels, std::size_t last) {
    std::string out;
    for (int i = 0; i < labels; ++i) out += std::string(63, 'a') + ".";
    return out + std::string(last, 'b');
}

}  // namespace

TEST_CASE("canonical_name makes names absolute against the origin and lower-cases them") {
    struct Case {
        const char* name;
        const char* origin;
        const char* expected;
    };
    const Case cases[] = {
        {"www", "example.com.", "www.example.com."},
        {"a.b", "example.com.", "a.b.example.com."},
        {"www.example.org.", "example.com.", "www.example.org."},
        {"@", "example.com.", "example.com."},
        {"@", "Example.COM.", "example.com."},
        {"WWW.Example.COM.", "x.", "www.example.com."},
        {"MiXeD", "Example.Com.", "mixed.example.com."},
        {"*.wild", "example.com.", "*.wild.example.com."},
        {".", "example.com.", "."},
    };
    for (const auto& c : cases) {
        INFO("name: ", std::string(c.name));
        INFO("origin: ", std::string(c.origin));
        CHECK(ok_name(c.name, c.origin) == c.expected);
    }
}

TEST_CASE("canonical_name keeps an escaped dot inside a label") {
    CHECK(ok_name("a\\.b", "example.com.") == "a\\.b.example.com.");    // relative: label "a.b"
    CHECK(ok_name("a\\.b.", "example.com.") == "a\\.b.");               // absolute: one label "a.b"
    CHECK(ok_name("foo\\.", "example.com.") == "foo\\..example.com.");  // a trailing escaped dot is not absolute
}

TEST_CASE("canonical_name treats a name ending in an escaped backslash and a dot as absolute") {
    CHECK(ok_name("foo\\\\.", "example.com.") == "foo\\\\.");
}

TEST_CASE("canonical_name rejects an empty name naming the what argument") {
    auto r = canonical_name("", "example.com.", "--ns");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "--ns: empty name");
}

TEST_CASE("canonical_name rejects an absolute name longer than 255 octets naming the what argument") {
    std::string name = long_name(3, 62) + ".";  // 3 * 64 + 63 + 1 = 256 octets
    auto r = canonical_name(name, "example.com.", "OWNER-ARG");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.starts_with("OWNER-ARG: '" + name + "'"));
    // One octet less is the longest legal name.
    std::string longest = long_name(3, 61) + ".";
    CHECK(ok_name(longest, "example.com.") == longest);
}

TEST_CASE("canonical_name rejects a label longer than 63 octets naming the what argument") {
    auto r = canonical_name(std::string(64, 'x'), "example.com.", "NAME-ARG");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.starts_with("NAME-ARG: "));
}

TEST_CASE("canonical_name accepts a relative name that is exactly 255 octets once made absolute") {
    // 3 * 64 + 50 + 13 ("example.com." in wire form) = 255
    std::string rel = long_name(3, 49);
    CHECK(ok_name(rel, "example.com.") == rel + ".example.com.");
}

TEST_CASE("canonical_name rejects a relative name longer than 255 octets once made absolute") {
    std::string rel = long_name(3, 50);  // 256 octets under example.com.
    auto r = canonical_name(rel, "example.com.", "NAME-ARG");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.starts_with("NAME-ARG: "));
}

TEST_CASE("argument_name takes a name that already ends in the origin as absolute") {
    struct Case {
        const char* name;
        const char* expected;
    };
    const Case cases[] = {
        {"www.example.com", "www.example.com."},
        {"WWW.Example.Com", "www.example.com."},
        {"example.com", "example.com."},
        {"www", "www.example.com."},
        {"www.example.org", "www.example.org.example.com."},
        {"xexample.com", "xexample.com.example.com."},  // not below the origin: still relative
        {"www.example.org.", "www.example.org."},
        {"@", "example.com."},
    };
    for (const auto& c : cases) {
        INFO("name: ", std::string(c.name));
        auto r = argument_name(c.name, "example.com.", "NAME");
        if (!r.ok()) FAIL(r.error().message);
        CHECK(*r == c.expected);
    }
    auto root = argument_name("www", ".", "NAME");
    REQUIRE(root.ok());
    CHECK(*root == "www.");
    auto empty = argument_name("", "example.com.", "NAME-ARG");
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().message == "NAME-ARG: empty name");
}

TEST_CASE("name_in_zone is true for the apex and names below it only") {
    struct Case {
        const char* name;
        const char* zone;
        bool in;
    };
    const Case cases[] = {
        {"example.com.", "example.com.", true},
        {"www.example.com.", "example.com.", true},
        {"a.b.example.com.", "example.com.", true},
        {"xexample.com.", "example.com.", false},
        {"example.org.", "example.com.", false},
        {"com.", "example.com.", false},
        {"example.com.", "www.example.com.", false},
        {"anything.example.", ".", true},
        {".", ".", true},
        // The label "a.example" lies under "com.", not under "example.com.".
        {"a\\.example.com.", "example.com.", false},
        {"a\\.example.com.", "com.", true},
        // An escaped backslash ends the label "a\"; the next dot separates labels.
        {"a\\\\.example.com.", "example.com.", true},
        {"a\\\\\\.example.com.", "example.com.", false},  // label "a\.example"
    };
    for (const auto& c : cases) {
        INFO("name: ", std::string(c.name));
        INFO("zone: ", std::string(c.zone));
        CHECK(name_in_zone(c.name, c.zone) == c.in);
    }
}

TEST_CASE("parse_ttl reads seconds and BIND unit forms") {
    struct Case {
        const char* text;
        std::uint32_t ttl;
    };
    const Case cases[] = {
        {"0", 0},
        {"300", 300},
        {"1h30m", 5400},
        {"1w", 604800},
        {"2d", 172800},
        {"90s", 90},
        {"1H", 3600},
        {"1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5},
        {"2147483647", 2147483647u},
    };
    for (const auto& c : cases) {
        INFO("text: ", std::string(c.text));
        auto r = parse_ttl(c.text, "TTL");
        if (!r.ok()) FAIL(r.error().message);
        CHECK(*r == c.ttl);
    }
}

TEST_CASE("parse_ttl rejects malformed or out-of-range TTLs naming the what argument") {
    const char* bad[] = {"2147483648", "4294967296", "99999999999999999999", "abc", "h", "1x", "", "-1", "1h h"};
    for (const char* text : bad) {
        INFO("text: ", std::string(text));
        auto r = parse_ttl(text, "TTL-ARG");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.starts_with("TTL-ARG: "));
    }
    auto r = parse_ttl("2147483648", "TTL-ARG");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("out of range 0..2147483647") != std::string::npos);
}

TEST_CASE("type_from_text reads mnemonics in any case and TYPEnnn, 0 when unknown") {
    struct Case {
        const char* text;
        std::uint16_t type;
    };
    const Case cases[] = {
        {"A", 1},       {"aaaa", 28}, {"Mx", 15}, {"SOA", 6},       {"CAA", 257}, {"TYPE65280", 65280}, {"type1", 1},
        {"TYPE28", 28}, {"BOGUS", 0}, {"", 0},    {"TYPE65536", 0}, {"TYPEx", 0}, {"TYPE", 0},
    };
    for (const auto& c : cases) {
        INFO("text: ", std::string(c.text));
        CHECK(type_from_text(c.text) == c.type);
    }
}

TEST_CASE("type_to_text prints mnemonics and TYPEnnn for unknown types") {
    CHECK(type_to_text(1) == "A");
    CHECK(type_to_text(28) == "AAAA");
    CHECK(type_to_text(6) == "SOA");
    CHECK(type_to_text(257) == "CAA");
    CHECK(type_to_text(65280) == "TYPE65280");
}

TEST_CASE("parse_record builds the owner, type, TTL and wire rdata") {
    Record a = ok_record("WWW", 300, "a", "192.0.2.1");
    CHECK(a.owner == "www.example.com.");
    CHECK(a.type == 1);
    CHECK(a.ttl == 300);
    CHECK(a.rdata == std::vector<std::uint8_t>{192, 0, 2, 1});

    Record mx = ok_record("@", 3600, "MX", "10 mail");
    CHECK(mx.owner == "example.com.");
    CHECK(mx.type == 15);
    // preference 10, then mail.example.com. uncompressed
    const std::vector<std::uint8_t> want{0,   10,  4,   'm', 'a', 'i', 'l', 7,   'e', 'x',
                                         'a', 'm', 'p', 'l', 'e', 3,   'c', 'o', 'm', 0};
    CHECK(mx.rdata == want);

    Record unknown = ok_record("u", 60, "TYPE65280", "\\# 3 010203");
    CHECK(unknown.type == 65280);
    CHECK(unknown.rdata == std::vector<std::uint8_t>{1, 2, 3});
}

TEST_CASE("record_to_text prints a parsed record the way ldns presents it") {
    struct Case {
        const char* owner;
        const char* type;
        const char* rdata;
        const char* text;
    };
    const Case cases[] = {
        {"www", "A", "192.0.2.1", "www.example.com.\t300\tIN\tA\t192.0.2.1"},
        {"www", "aaaa", "2001:DB8:0::1", "www.example.com.\t300\tIN\tAAAA\t2001:db8::1"},
        {"@", "NS", "ns1", "example.com.\t300\tIN\tNS\tns1.example.com."},
        {"c", "CNAME", "target.example.net.", "c.example.com.\t300\tIN\tCNAME\ttarget.example.net."},
        {"@", "MX", "10 mail", "example.com.\t300\tIN\tMX\t10 mail.example.com."},
        {"_sip._tcp", "SRV", "10 20 5060 sip", "_sip._tcp.example.com.\t300\tIN\tSRV\t10 20 5060 sip.example.com."},
        {"t", "TXT", "\"a b\" \"c\\\"d;e\"", "t.example.com.\t300\tIN\tTXT\t\"a b\" \"c\\\"d;e\""},
        {"@", "CAA", "0 issue \"letsencrypt.org\"", "example.com.\t300\tIN\tCAA\t0 issue \"letsencrypt.org\""},
        {"@", "SOA", "ns1 hostmaster 2024061501 3600 600 1209600 60",
         "example.com.\t300\tIN\tSOA\tns1.example.com. hostmaster.example.com. 2024061501 3600 600 1209600 60"},
        {"u", "TYPE65280", "\\# 3 010203", "u.example.com.\t300\tIN\tTYPE65280\t\\# 3 010203"},
    };
    for (const auto& c : cases) {
        INFO("type: ", std::string(c.type));
        INFO("rdata: ", std::string(c.rdata));
        CHECK(record_to_text(ok_record(c.owner, 300, c.type, c.rdata)) == c.text);
    }
}

TEST_CASE("rdata_to_text prints the rdata part alone") {
    CHECK(rdata_to_text(ok_record("www", 300, "A", "192.0.2.1")) == "192.0.2.1");
    CHECK(rdata_to_text(ok_record("@", 300, "MX", "10 mail")) == "10 mail.example.com.");
    CHECK(rdata_to_text(ok_record("u", 300, "TYPE65280", "\\# 3 010203")) == "\\# 3 010203");
}

TEST_CASE("rdata_to_text prints empty unknown-type rdata in RFC 3597 form") {
    CHECK(rdata_to_text(ok_record("u", 300, "TYPE65280", "\\# 0")) == "\\# 0");
    CHECK(record_to_text(ok_record("u", 300, "TYPE65280", "\\# 0")) == "u.example.com.\t300\tIN\tTYPE65280\t\\# 0");
}

TEST_CASE("parse_record rejects an unknown type, bad rdata and a bad owner naming the argument") {
    auto type = parse_record("www", 300, "BOGUS", "x", "example.com.");
    REQUIRE_FALSE(type.ok());
    CHECK(type.error().message == "TYPE: unknown RR type 'BOGUS'");

    auto rdata = parse_record("www", 300, "A", "1.2.3", "example.com.");
    REQUIRE_FALSE(rdata.ok());
    CHECK(rdata.error().message.starts_with("RDATA: cannot parse A rdata '1.2.3'"));

    auto owner = parse_record("", 300, "A", "192.0.2.1", "example.com.");
    REQUIRE_FALSE(owner.ok());
    CHECK(owner.error().message == "NAME: empty name");

    auto ttl = parse_record("www", 2147483648u, "A", "192.0.2.1", "example.com.");
    REQUIRE_FALSE(ttl.ok());
    CHECK(ttl.error().message.find("out of range") != std::string::npos);
}

TEST_CASE("record_from_ldns and record_to_ldns round-trip a record") {
    Record r = ok_record("_sip._tcp", 123, "SRV", "10 20 5060 sip");
    RrPtr rr = record_to_ldns(r);
    REQUIRE(rr);
    auto back = record_from_ldns(rr.get());
    REQUIRE(back.ok());
    CHECK(*back == r);
}

TEST_CASE("soa_serial and soa_minimum read the fields of real SOA rdata") {
    Record soa = ok_record("@", 3600, "SOA", "ns1 host\\.master 2024061501 7200 900 1209600 86");
    auto serial = soa_serial(soa.rdata);
    REQUIRE(serial.ok());
    CHECK(*serial == 2024061501u);
    auto minimum = soa_minimum(soa.rdata);
    REQUIRE(minimum.ok());
    CHECK(*minimum == 86u);
}

TEST_CASE("set_soa_serial changes only the serial") {
    Record soa = ok_record("@", 3600, "SOA", "ns1 hostmaster 2024061501 7200 900 1209600 86");
    auto before = soa.rdata;
    REQUIRE(set_soa_serial(soa.rdata, 4294967295u).ok());
    CHECK(*soa_serial(soa.rdata) == 4294967295u);
    CHECK(*soa_minimum(soa.rdata) == 86u);
    CHECK(soa.rdata.size() == before.size());
    CHECK(record_to_text(soa) ==
          "example.com.\t3600\tIN\tSOA\tns1.example.com. hostmaster.example.com. 4294967295 7200 900 1209600 86");
}

TEST_CASE("SOA field access rejects rdata that is not an SOA") {
    std::vector<std::uint8_t> a{192, 0, 2, 1};
    CHECK_FALSE(soa_serial(a).ok());
    CHECK_FALSE(soa_minimum(a).ok());
    CHECK_FALSE(set_soa_serial(a, 1).ok());
    CHECK(a == std::vector<std::uint8_t>{192, 0, 2, 1});

    std::vector<std::uint8_t> empty;
    CHECK_FALSE(soa_serial(empty).ok());

    Record soa = ok_record("@", 3600, "SOA", "ns1 hostmaster 1 2 3 4 5");
    auto truncated = soa.rdata;
    truncated.pop_back();
    CHECK_FALSE(soa_serial(truncated).ok());
    auto longer = soa.rdata;
    longer.push_back(0);
    CHECK_FALSE(soa_serial(longer).ok());
}

TEST_CASE("sort_canonical orders owners as in RFC 4034 section 6.1") {
    // RFC 4034 section 6.1's example, in its canonical (lower-case) forms.
    const std::vector<std::string> expected = {
        "example.",   "a.example.",       "yljkjljk.a.example.", "z.a.example.",     "zabc.a.example.",
        "z.example.", "\\001.z.example.", "*.z.example.",        "\\200.z.example.",
    };
    std::vector<Record> records;
    for (auto it = expected.rbegin(); it != expected.rend(); ++it)
        records.push_back(Record{*it, 1, 300, {192, 0, 2, 1}});
    std::swap(records[1], records[5]);
    std::swap(records[0], records[7]);
    sort_canonical(records);
    std::vector<std::string> owners;
    for (const auto& r : records) owners.push_back(r.owner);
    CHECK(owners == expected);
}

TEST_CASE("sort_canonical orders one owner's records by type, then rdata") {
    std::vector<Record> records = {
        Record{"a.example.", 15, 300, {0, 10, 0}}, Record{"a.example.", 1, 300, {192, 0, 2, 2}},
        Record{"a.example.", 2, 300, {0}},         Record{"a.example.", 1, 300, {192, 0, 2, 1}},
        Record{"a.example.", 16, 300, {1, 'b'}},   Record{"a.example.", 16, 300, {1}},
    };
    sort_canonical(records);
    const std::vector<Record> expected = {
        Record{"a.example.", 1, 300, {192, 0, 2, 1}},
        Record{"a.example.", 1, 300, {192, 0, 2, 2}},
        Record{"a.example.", 2, 300, {0}},
        Record{"a.example.", 15, 300, {0, 10, 0}},
        Record{"a.example.", 16, 300, {1}},  // a prefix sorts first
        Record{"a.example.", 16, 300, {1, 'b'}},
    };
    CHECK(records == expected);
}
