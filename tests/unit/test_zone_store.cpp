// Zone edits over a real SQLite file: each edit validates, writes, bumps the
// serial and audits in one transaction, or changes nothing.
#include "pooldns/zone_store.hpp"

#include "pooldns/serial.hpp"
#include "store_testing.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

using namespace pooldns;
using namespace pooldns::test;

namespace {

constexpr const char* kCommand = "pooldnsctl --db test.db record add";

// example.com. with a serial that is not a date, so serial bumps do not depend
// on today's date.
constexpr const char* kZone =
    "$TTL 3600\n"
    "@ SOA ns1 hostmaster 1000 3600 600 1209600 60\n"
    "@ NS ns1\n"
    "@ NS ns2\n"
    "ns1 A 192.0.2.53\n"
    "ns2 A 192.0.2.54\n"
    "www 300 A 192.0.2.1\n"
    "www 300 A 192.0.2.2\n"
    "alias 300 CNAME www\n";
constexpr std::size_t kZoneRecords = 8;

struct Fixture {
    TempDir dir;
    Database db{open_db(dir.file("pooldns.db"))};
    ZoneStore store{db, kCommand};

    // Imports `text` as zone `origin`; the zone must be new or the import must succeed.
    ImportReport import_text(std::string_view origin, std::string_view text, std::string_view file = "import.zone") {
        auto r = store.import(origin, dir.write(file, text));
        if (!r.ok()) FAIL(r.error().message);
        return *r;
    }

    std::int64_t count(std::string_view sql) const {
        auto st = db.prepare(sql);
        REQUIRE(st.step());
        return st.column_int(0);
    }

    // Every row of the records table, in a stable order.
    std::vector<std::string> records_table() const {
        auto st = db.prepare(
            "SELECT zone_id || ' ' || owner || ' ' || type || ' ' || ttl || ' ' || hex(rdata) FROM records ORDER BY 1");
        std::vector<std::string> out;
        while (st.step()) out.push_back(st.column_text(0));
        return out;
    }

    // "command|action|object" of every audit row, oldest first.
    std::vector<std::string> audit_rows() const {
        auto st = db.prepare("SELECT command || '|' || action || '|' || object FROM audit ORDER BY id");
        std::vector<std::string> out;
        while (st.step()) out.push_back(st.column_text(0));
        return out;
    }

    std::uint32_t stored_serial(std::string_view origin = "example.com.") const {
        auto st = db.prepare(
            "SELECT r.rdata FROM records r JOIN zones z ON z.id = r.zone_id "
            "WHERE z.origin = ? AND r.type = 6");
        st.bind(1, origin);
        REQUIRE(st.step());
        auto serial = soa_serial(st.column_blob(0));
        REQUIRE(serial.ok());
        REQUIRE_FALSE(st.step());  // exactly one SOA
        return *serial;
    }

    // The zone's records as "owner TTL TYPE rdata", in canonical order.
    std::vector<std::string> zone_text(std::string_view origin = "example.com.") const {
        auto recs = store.records(origin);
        if (!recs.ok()) FAIL(recs.error().message);
        std::vector<std::string> out;
        for (const auto& r : *recs) {
            out.push_back(r.owner + " " + std::to_string(r.ttl) + " " + type_to_text(r.type) + " " + rdata_to_text(r));
        }
        return out;
    }
};

// The first record of `type` at `owner` in the zone's text form.
std::string find_rdata(const std::vector<std::string>& zone, std::string_view prefix) {
    for (const auto& line : zone) {
        if (line.starts_with(prefix)) return line.substr(prefix.size());
    }
    return "(none)";
}

ZoneCreateOptions create_options() {
    ZoneCreateOptions o;
    o.nameservers = {"ns1.example.com.", "ns2.example.net."};
    o.mbox = "hostmaster@example.com";
    o.ttl = 7200;
    return o;
}

}  // namespace

TEST_CASE("create stores an SOA and the apex NS with today's first serial plus one") {
    Fixture f;
    std::uint32_t before = today_utc_yyyymmdd();
    auto z = f.store.create("Example.COM", create_options());
    std::uint32_t after = today_utc_yyyymmdd();
    if (!z.ok()) FAIL(z.error().message);
    CHECK(z->origin == "example.com.");
    CHECK(z->records == 3);
    CHECK((z->serial == before * 100 + 1 || z->serial == after * 100 + 1));
    CHECK(f.stored_serial() == z->serial);
    CHECK(f.zone_text() == std::vector<std::string>{"example.com. 7200 NS ns1.example.com.",
                                                    "example.com. 7200 NS ns2.example.net.",
                                                    "example.com. 7200 SOA ns1.example.com. hostmaster.example.com. " +
                                                        std::to_string(z->serial) + " 3600 600 1209600 60"});
}

TEST_CASE("create takes name servers and the mailbox as absolute names") {
    Fixture f;
    ZoneCreateOptions o;
    o.nameservers = {"ns1.example.net"};
    o.mbox = "admin.example.net";
    REQUIRE(f.store.create("example.com.", o).ok());
    auto zone = f.zone_text();
    CHECK(find_rdata(zone, "example.com. 3600 NS ") == "ns1.example.net.");
    CHECK(find_rdata(zone, "example.com. 3600 SOA ").starts_with("ns1.example.net. admin.example.net. "));
}

TEST_CASE("create escapes the dots before the @ of a mailbox") {
    Fixture f;
    ZoneCreateOptions o = create_options();
    o.mbox = "host.master@example.com";
    REQUIRE(f.store.create("example.com", o).ok());
    CHECK(find_rdata(f.zone_text(), "example.com. 7200 SOA ")
              .starts_with("ns1.example.com. host\\.master.example.com. "));
}

TEST_CASE("create uses hostmaster at the zone when no mailbox is given") {
    Fixture f;
    ZoneCreateOptions o = create_options();
    o.mbox.clear();
    REQUIRE(f.store.create("example.com", o).ok());
    CHECK(find_rdata(f.zone_text(), "example.com. 7200 SOA ").starts_with("ns1.example.com. hostmaster.example.com. "));
}

TEST_CASE("create requires at least one name server") {
    Fixture f;
    ZoneCreateOptions o = create_options();
    o.nameservers.clear();
    auto z = f.store.create("example.com", o);
    REQUIRE_FALSE(z.ok());
    CHECK(z.error().message.starts_with("--ns: at least one name server is needed"));
    CHECK(f.count("SELECT count(*) FROM zones") == 0);
    CHECK(f.audit_rows().empty());
}

TEST_CASE("create fails for a zone that exists and changes nothing") {
    Fixture f;
    REQUIRE(f.store.create("example.com", create_options()).ok());
    auto table = f.records_table();
    auto z = f.store.create("EXAMPLE.com.", create_options());
    REQUIRE_FALSE(z.ok());
    CHECK(z.error().message == "ORIGIN: zone 'example.com.' already exists");
    CHECK(f.records_table() == table);
    CHECK(f.audit_rows().size() == 1);
}

TEST_CASE("add_record adds the record and bumps the serial by exactly one") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto c = f.store.add_record("example.com", "mail", "300", "A", "192.0.2.25");
    if (!c.ok()) FAIL(c.error().message);
    CHECK(c->origin == "example.com.");
    CHECK(c->changed == 1);
    CHECK(c->serial == 1001);
    CHECK(c->note.empty());
    CHECK(f.stored_serial() == 1001);
    CHECK(f.records_table().size() == kZoneRecords + 1);
    CHECK(find_rdata(f.zone_text(), "mail.example.com. 300 A ") == "192.0.2.25");
}

TEST_CASE("add_record moves a date serial from an earlier day to today's first serial") {
    Fixture f;
    std::string text = kZone;
    text.replace(text.find(" 1000 "), 6, " 2000010105 ");
    f.import_text("example.com", text);
    std::uint32_t before = today_utc_yyyymmdd();
    auto c = f.store.add_record("example.com", "mail", "300", "A", "192.0.2.25");
    std::uint32_t after = today_utc_yyyymmdd();
    REQUIRE(c.ok());
    CHECK((c->serial == before * 100 || c->serial == after * 100));
    CHECK(f.stored_serial() == c->serial);
}

TEST_CASE("add_record takes a name that ends in the zone origin as absolute") {
    Fixture f;
    f.import_text("example.com", kZone);
    REQUIRE(f.store.add_record("example.com", "mail.example.com", "300", "A", "192.0.2.25").ok());
    CHECK(find_rdata(f.zone_text(), "mail.example.com. 300 A ") == "192.0.2.25");
}

TEST_CASE("add_record of an existing identical record changes nothing") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto table = f.records_table();
    auto audit = f.audit_rows();
    auto c = f.store.add_record("example.com", "WWW", "300", "A", "192.0.2.1");
    if (!c.ok()) FAIL(c.error().message);
    CHECK(c->changed == 0);
    CHECK(c->serial == 1000);
    CHECK(c->note == "the record already exists; nothing changed");
    CHECK(f.records_table() == table);
    CHECK(f.stored_serial() == 1000);
    CHECK(f.audit_rows() == audit);
}

TEST_CASE("add_record with a different TTL gives the whole RRset the new TTL with a note") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto c = f.store.add_record("example.com", "www", "1h", "A", "192.0.2.3");
    if (!c.ok()) FAIL(c.error().message);
    CHECK(c->changed == 1);
    CHECK(c->serial == 1001);
    CHECK(c->note == "the TTL of the www.example.com. A RRset changed from 300 to 3600");
    CHECK(f.count("SELECT count(*) FROM records WHERE owner = 'www.example.com.' AND type = 1 AND ttl = 3600") == 3);
    CHECK(f.count("SELECT count(*) FROM records WHERE owner = 'www.example.com.' AND type = 1 AND ttl <> 3600") == 0);
}

TEST_CASE("add_record of an existing record with a new TTL changes the RRset's TTL only") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto c = f.store.add_record("example.com", "www", "60", "A", "192.0.2.1");
    if (!c.ok()) FAIL(c.error().message);
    CHECK(c->changed == 0);
    CHECK(c->serial == 1001);
    CHECK(c->note == "the TTL of the www.example.com. A RRset changed from 300 to 60");
    CHECK(f.records_table().size() == kZoneRecords);
    CHECK(f.count("SELECT count(*) FROM records WHERE owner = 'www.example.com.' AND type = 1 AND ttl = 60") == 2);
}

TEST_CASE("add_record failures leave the records, the serial and the audit log unchanged") {
    struct Case {
        const char* origin;
        const char* name;
        const char* ttl;
        const char* type;
        const char* rdata;
        const char* error;  // the message starts with this, or contains it after "..."
    };
    const Case cases[] = {
        {"example.com", "www.example.org.", "300", "A", "192.0.2.9",
         "NAME: 'www.example.org.' is outside zone 'example.com.'"},
        {"example.com", "sub", "3600", "SOA", "ns1 hostmaster 5 3600 600 1209600 60",
         "NAME: an SOA may only be at the zone apex 'example.com.', not at 'sub.example.com.'"},
        {"example.com", "@", "3600", "SOA", "ns1 hostmaster 5000 3600 600 1209600 60",
         "TYPE: zone 'example.com.' already has an SOA record (a second SOA is not allowed)"},
        {"example.com", "www", "300", "CNAME", "elsewhere.example.net.",
         "...CNAME at 'www.example.com.' beside A data"},
        {"example.com", "alias", "300", "A", "192.0.2.9", "...CNAME at 'alias.example.com.' beside A data"},
        {"example.com", "alias", "300", "CNAME", "other", "...a second CNAME at 'alias.example.com.'"},
        {"example.com", "www", "2147483648", "A", "192.0.2.9", "TTL: TTL 2147483648 is out of range"},
        {"example.com", "www", "5 minutes", "A", "192.0.2.9", "TTL: '5 minutes' is not a TTL"},
        {"example.com", "www", "300", "BOGUS", "x", "TYPE: unknown RR type 'BOGUS'"},
        {"example.com", "www", "300", "A", "192.0.2", "RDATA: cannot parse A rdata '192.0.2'"},
        {"example.org", "www", "300", "A", "192.0.2.9", "ORIGIN: unknown zone 'example.org.'"},
    };
    for (const auto& c : cases) {
        INFO("name: ", std::string(c.name));
        INFO("type: ", std::string(c.type));
        INFO("rdata: ", std::string(c.rdata));
        Fixture f;
        f.import_text("example.com", kZone);
        auto table = f.records_table();
        auto audit = f.audit_rows();
        auto r = f.store.add_record(c.origin, c.name, c.ttl, c.type, c.rdata);
        REQUIRE_FALSE(r.ok());
        INFO("error: ", r.error().message);
        std::string_view want = c.error;
        if (want.starts_with("...")) {
            CHECK(r.error().message.find(want.substr(3)) != std::string::npos);
        } else {
            CHECK(r.error().message.starts_with(want));
        }
        CHECK(f.records_table() == table);
        CHECK(f.stored_serial() == 1000);
        CHECK(f.audit_rows() == audit);
    }
}

TEST_CASE("replace_record makes the RRset exactly the one given record") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto c = f.store.replace_record("example.com", "www", "120", "A", "192.0.2.7");
    if (!c.ok()) FAIL(c.error().message);
    CHECK(c->serial == 1001);
    CHECK(f.stored_serial() == 1001);
    auto zone = f.zone_text();
    CHECK(std::count_if(zone.begin(), zone.end(),
                        [](const std::string& l) { return l.starts_with("www.example.com. "); }) == 1);
    CHECK(find_rdata(zone, "www.example.com. 120 A ") == "192.0.2.7");
}

TEST_CASE("replace_record of the SOA with a higher serial keeps that serial") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto c = f.store.replace_record("example.com", "@", "3600", "SOA", "ns1 hostmaster 5000 7200 900 1209600 300");
    if (!c.ok()) FAIL(c.error().message);
    CHECK(c->serial == 5000);
    CHECK(f.stored_serial() == 5000);
    CHECK(find_rdata(f.zone_text(), "example.com. 3600 SOA ") ==
          "ns1.example.com. hostmaster.example.com. 5000 7200 900 1209600 300");
}

TEST_CASE("replace_record of the SOA with a lower serial moves the serial on from the old one") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto c = f.store.replace_record("example.com", "@", "3600", "SOA", "ns1 hostmaster 5 7200 900 1209600 300");
    if (!c.ok()) FAIL(c.error().message);
    CHECK(c->serial == 1001);
    CHECK(find_rdata(f.zone_text(), "example.com. 3600 SOA ") ==
          "ns1.example.com. hostmaster.example.com. 1001 7200 900 1209600 300");
}

TEST_CASE("replace_record that breaks a rule changes nothing") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto table = f.records_table();
    auto r = f.store.replace_record("example.com", "www", "300", "CNAME", "alias");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("CNAME at 'www.example.com.' beside A data") != std::string::npos);
    CHECK(f.records_table() == table);
    CHECK(f.stored_serial() == 1000);
}

TEST_CASE("delete_records deletes the one record with the given rdata") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto c = f.store.delete_records("example.com", "www", "A", "192.0.2.1");
    if (!c.ok()) FAIL(c.error().message);
    CHECK(c->changed == 1);
    CHECK(c->serial == 1001);
    CHECK(f.stored_serial() == 1001);
    CHECK(f.count("SELECT count(*) FROM records WHERE owner = 'www.example.com.' AND rdata = x'C0000201'") == 0);
    CHECK(f.count("SELECT count(*) FROM records WHERE owner = 'www.example.com.' AND rdata = x'C0000202'") == 1);
}

TEST_CASE("delete_records deletes the whole RRset when no rdata is given") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto c = f.store.delete_records("example.com", "www", "A", "");
    if (!c.ok()) FAIL(c.error().message);
    CHECK(c->changed == 2);
    CHECK(c->serial == 1001);
    CHECK(f.count("SELECT count(*) FROM records WHERE owner = 'www.example.com.'") == 0);
    CHECK(f.records_table().size() == kZoneRecords - 2);
}

TEST_CASE("delete_records of a record that does not exist fails and changes nothing") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto table = f.records_table();
    auto r = f.store.delete_records("example.com", "www", "A", "192.0.2.99");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "no A record '192.0.2.99' at 'www.example.com.' in zone 'example.com.'");
    auto set = f.store.delete_records("example.com", "nothing", "TXT", "");
    REQUIRE_FALSE(set.ok());
    CHECK(set.error().message == "no TXT records at 'nothing.example.com.' in zone 'example.com.'");
    CHECK(f.records_table() == table);
    CHECK(f.stored_serial() == 1000);
}

TEST_CASE("deleting the last apex NS fails and changes nothing") {
    Fixture f;
    f.import_text("example.com", kZone);
    REQUIRE(f.store.delete_records("example.com", "@", "NS", "ns2").ok());  // one of two is fine
    auto table = f.records_table();
    auto audit = f.audit_rows();
    auto r = f.store.delete_records("example.com", "@", "NS", "ns1");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("the zone has no NS record at its apex") != std::string::npos);
    auto all = f.store.delete_records("example.com", "@", "NS", "");
    REQUIRE_FALSE(all.ok());
    CHECK(all.error().message.find("the zone has no NS record at its apex") != std::string::npos);
    CHECK(f.records_table() == table);
    CHECK(f.stored_serial() == 1001);
    CHECK(f.audit_rows() == audit);
}

TEST_CASE("deleting the SOA fails and changes nothing") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto table = f.records_table();
    for (const char* rdata : {"", "ns1 hostmaster 1000 3600 600 1209600 60"}) {
        INFO("rdata: ", std::string(rdata));
        auto r = f.store.delete_records("example.com", "@", "SOA", rdata);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.starts_with("TYPE: the SOA cannot be deleted"));
    }
    CHECK(f.records_table() == table);
    CHECK(f.stored_serial() == 1000);
}

TEST_CASE("import into a new zone stores the file's records and keeps its serial") {
    Fixture f;
    std::string path = f.dir.write("example.zone", kZone);
    auto r = f.store.import("example.com", path);
    if (!r.ok()) FAIL(r.error().message);
    CHECK(r->origin == "example.com.");
    CHECK(r->records == kZoneRecords);
    CHECK(r->serial == 1000);
    CHECK_FALSE(r->replaced);
    CHECK(r->warnings.empty());
    CHECK(f.stored_serial() == 1000);

    auto file = read_zone_file(path, "example.com.");
    REQUIRE(file.ok());
    std::vector<Record> expected;
    for (const auto& e : *file) expected.push_back(e.rec);
    sort_canonical(expected);
    auto stored = f.store.records("example.com");
    REQUIRE(stored.ok());
    CHECK(*stored == expected);
}

TEST_CASE("re-import moves the serial past the old one even when the file's is lower") {
    Fixture f;
    f.import_text("example.com", kZone);
    std::string replacement =
        "$TTL 600\n"
        "@ SOA ns1 hostmaster 5 3600 600 1209600 60\n"
        "@ NS ns1\n"
        "new A 192.0.2.77\n";
    auto r = f.store.import("example.com", f.dir.write("new.zone", replacement));
    if (!r.ok()) FAIL(r.error().message);
    CHECK(r->replaced);
    CHECK(r->records == 3);
    CHECK(r->serial == 1001);
    CHECK(f.stored_serial() == 1001);
    CHECK(f.zone_text() == std::vector<std::string>{
                               "example.com. 600 NS ns1.example.com.",
                               "example.com. 600 SOA ns1.example.com. hostmaster.example.com. 1001 3600 600 1209600 60",
                               "new.example.com. 600 A 192.0.2.77"});
}

TEST_CASE("re-import keeps the file's serial when it is ahead of the old one") {
    Fixture f;
    f.import_text("example.com", kZone);
    std::string text = kZone;
    text.replace(text.find(" 1000 "), 6, " 4000 ");
    auto r = f.store.import("example.com", f.dir.write("new.zone", text));
    if (!r.ok()) FAIL(r.error().message);
    CHECK(r->serial == 4000);
    CHECK(f.stored_serial() == 4000);
}

TEST_CASE("import reports the duplicates it dropped and the RRset TTLs it unified") {
    Fixture f;
    std::string text = std::string(kZone) + "www 300 A 192.0.2.1\nwww 900 A 192.0.2.3\n";
    auto r = f.import_text("example.com", text, "dups.zone");
    CHECK(r.records == kZoneRecords + 1);
    std::string file = f.dir.file("dups.zone");
    CHECK(r.warnings == std::vector<std::string>{file + ":10: duplicate A record at 'www.example.com.' ignored",
                                                 file + ":11: TTL 900 differs from the A RRset's TTL 300 (set at " +
                                                     file + ":7); using 300 (RFC 2181 section 5.2)"});
    CHECK(f.count("SELECT count(*) FROM records WHERE owner = 'www.example.com.' AND ttl = 300") == 3);
}

TEST_CASE("import failure leaves the existing zone untouched") {
    struct Case {
        const char* text;
        const char* error;  // contained in the message
    };
    const Case cases[] = {
        {"$TTL 60\n@ SOA ns1 hostmaster 9000 1 2 3 4\n@ NS ns1\nbad A 1.2.3\n", ":4: cannot parse A rdata '1.2.3'"},
        {"$TTL 60\n@ SOA ns1 hostmaster 9000 1 2 3 4\n@ NS ns1\nx A 192.0.2.1\nx CNAME www\n",
         ":5: CNAME at 'x.example.com.' beside A data"},
        {"$TTL 60\n@ SOA ns1 hostmaster 9000 1 2 3 4\n",
         "bad.zone: zone 'example.com.': the zone has no NS record at its apex"},
        {"$TTL 60\n@ NS ns1\n", "bad.zone: zone 'example.com.': the zone has no SOA record at its apex"},
        {"$TTL 60\n@ SOA ns1 hostmaster 9000 1 2 3 4\n@ NS ns1\nwww.example.org. A 192.0.2.1\n",
         "name 'www.example.org.' is outside zone 'example.com.'"},
    };
    for (const auto& c : cases) {
        INFO("text: ", std::string(c.text));
        Fixture f;
        f.import_text("example.com", kZone);
        auto table = f.records_table();
        auto audit = f.audit_rows();
        auto r = f.store.import("example.com", f.dir.write("bad.zone", c.text));
        REQUIRE_FALSE(r.ok());
        INFO("error: ", r.error().message);
        CHECK(r.error().message.find(c.error) != std::string::npos);
        CHECK(f.records_table() == table);
        CHECK(f.stored_serial() == 1000);
        CHECK(f.audit_rows() == audit);
    }
}

TEST_CASE("import of a missing file fails and creates no zone") {
    Fixture f;
    auto r = f.store.import("example.com", f.dir.file("missing.zone"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "cannot open zone file '" + f.dir.file("missing.zone") + "'");
    CHECK(f.count("SELECT count(*) FROM zones") == 0);
}

TEST_CASE("remove deletes the zone and its records") {
    Fixture f;
    f.import_text("example.com", kZone);
    f.import_text("example.net", "$TTL 60\n@ SOA ns1 hostmaster 1 1 2 3 4\n@ NS ns1\n", "net.zone");
    auto z = f.store.remove("example.com");
    if (!z.ok()) FAIL(z.error().message);
    CHECK(z->origin == "example.com.");
    CHECK(z->serial == 1000);
    CHECK(z->records == static_cast<std::int64_t>(kZoneRecords));
    CHECK(f.count("SELECT count(*) FROM zones WHERE origin = 'example.com.'") == 0);
    CHECK(f.count("SELECT count(*) FROM records") == 2);  // example.net.'s only
    auto again = f.store.remove("example.com");
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().message.starts_with("ORIGIN: unknown zone 'example.com.'"));
}

TEST_CASE("remove refuses a zone that a pool references and changes nothing") {
    Fixture f;
    f.import_text("example.com", kZone);
    f.db.exec(
        "INSERT INTO pools (fqdn, zone_id) SELECT 'pool.example.com.', id FROM zones WHERE origin = 'example.com.'");
    auto table = f.records_table();
    auto audit = f.audit_rows();
    auto r = f.store.remove("example.com");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "ORIGIN: zone 'example.com.' still holds pools (pool.example.com.); delete them first");
    CHECK(f.count("SELECT count(*) FROM zones") == 1);
    CHECK(f.records_table() == table);
    CHECK(f.audit_rows() == audit);
}

TEST_CASE("every successful edit adds exactly one audit row naming the command") {
    Fixture f;
    struct Step {
        const char* command;
        const char* action;
        std::function<bool(ZoneStore&)> run;
    };
    std::string zone_file = f.dir.write("net.zone", "$TTL 60\n@ SOA ns1 hostmaster 1 1 2 3 4\n@ NS ns1\n");
    const std::vector<Step> steps = {
        {"cmd zone create", "zone create",
         [&](ZoneStore& s) { return s.create("example.com", create_options()).ok(); }},
        {"cmd zone import", "zone import", [&](ZoneStore& s) { return s.import("example.net", zone_file).ok(); }},
        {"cmd record add", "record add",
         [&](ZoneStore& s) { return s.add_record("example.net", "www", "60", "A", "192.0.2.1").ok(); }},
        {"cmd record add ttl", "record add",
         [&](ZoneStore& s) { return s.add_record("example.net", "www", "120", "A", "192.0.2.1").ok(); }},
        {"cmd record replace", "record replace",
         [&](ZoneStore& s) { return s.replace_record("example.net", "www", "60", "A", "192.0.2.2").ok(); }},
        {"cmd record delete", "record delete",
         [&](ZoneStore& s) { return s.delete_records("example.net", "www", "A", "").ok(); }},
        {"cmd zone delete", "zone delete", [&](ZoneStore& s) { return s.remove("example.net").ok(); }},
    };
    std::vector<std::string> expected;
    for (const auto& step : steps) {
        INFO("command: ", std::string(step.command));
        ZoneStore store(f.db, step.command);
        REQUIRE(step.run(store));
        const char* object = std::string_view(step.action) == "zone create" ? "example.com." : "example.net.";
        expected.push_back(std::string(step.command) + "|" + step.action + "|" + object);
        CHECK(f.audit_rows() == expected);
    }
}

TEST_CASE("check finds no problems in a stored good zone") {
    Fixture f;
    f.import_text("example.com", kZone);
    REQUIRE(f.store.create("example.net", create_options()).ok());
    auto one = f.store.check("example.com");
    if (!one.ok()) FAIL(one.error().message);
    CHECK(one->empty());
    auto all = f.store.check("");
    REQUIRE(all.ok());
    CHECK(all->empty());
}

TEST_CASE("check reports a stored zone that breaks a rule, naming the zone") {
    Fixture f;
    f.import_text("example.com", kZone);
    f.db.exec("DELETE FROM records WHERE type = 2 AND owner = 'example.com.'");
    auto problems = f.store.check("example.com");
    REQUIRE(problems.ok());
    REQUIRE(problems->size() == 1);
    CHECK((*problems)[0].where == "zone example.com.: example.com.");
    CHECK((*problems)[0].message == "the zone has no NS record at its apex");
    auto unknown = f.store.check("example.org");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message.starts_with("ORIGIN: unknown zone 'example.org.'"));
}

TEST_CASE("export_text writes the stored zone as a master file that reads back to the same records") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto text = f.store.export_text("example.com");
    if (!text.ok()) FAIL(text.error().message);
    CHECK(text->starts_with("$ORIGIN example.com.\nexample.com.\t3600\tIN\tSOA\t"));
    auto back = read_zone_text(*text, "example.com.", "export");
    if (!back.ok()) FAIL(back.error().message);
    std::vector<Record> reread;
    for (const auto& e : *back) reread.push_back(e.rec);
    sort_canonical(reread);
    auto stored = f.store.records("example.com");
    REQUIRE(stored.ok());
    CHECK(reread == *stored);
}

TEST_CASE("list summarises every zone with its serial and record count") {
    Fixture f;
    f.import_text("example.net", "$TTL 60\n@ SOA ns1 hostmaster 77 1 2 3 4\n@ NS ns1\n", "net.zone");
    f.import_text("example.com", kZone);
    auto zones = f.store.list();
    REQUIRE(zones.ok());
    REQUIRE(zones->size() == 2);
    CHECK((*zones)[0].origin == "example.com.");
    CHECK((*zones)[0].serial == 1000);
    CHECK((*zones)[0].records == static_cast<std::int64_t>(kZoneRecords));
    CHECK((*zones)[1].origin == "example.net.");
    CHECK((*zones)[1].serial == 77);
    CHECK((*zones)[1].records == 2);
}

TEST_CASE("records lists one owner's records when a name is given") {
    Fixture f;
    f.import_text("example.com", kZone);
    auto www = f.store.records("example.com", "www");
    REQUIRE(www.ok());
    REQUIRE(www->size() == 2);
    CHECK((*www)[0].rdata == std::vector<std::uint8_t>{192, 0, 2, 1});
    CHECK((*www)[1].rdata == std::vector<std::uint8_t>{192, 0, 2, 2});
    auto unknown = f.store.records("example.org");
    REQUIRE_FALSE(unknown.ok());
}
