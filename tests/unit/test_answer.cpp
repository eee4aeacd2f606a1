// answer(): every authoritative behaviour as a crafted query through the pure
// processor, the response parsed back with ldns.
#include "dns_fixture.hpp"

using namespace dnstest;

namespace {

const char* kExampleCom = R"(
$ORIGIN example.com.
$TTL 3600
@        SOA   ns1 hostmaster 2026010101 3600 600 86400 300
@        NS    ns1
@        NS    ns2.example.net.
@        MX    10 mail
ns1      A     192.0.2.1
mail     A     192.0.2.25
mail     AAAA  2001:db8::25
www      A     192.0.2.80
alias    CNAME www
chain1   CNAME chain2
chain2   CNAME www
loop1    CNAME loop2
loop2    CNAME loop1
ext      CNAME www.example.net.
toorg    CNAME www.example.org.
tonx     CNAME nothere.example.org.
a.b.c    A     192.0.2.3
*.wild   A     192.0.2.9
*.wild   TXT   "wild"
exists.wild TXT "exists"
x.ent.wild A   192.0.2.11
*.wc     CNAME www
sub      NS    ns.sub
sub      NS    ns.other.net.
sub      DS    12345 8 2 49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC
ns.sub   A     192.0.2.53
deep.sub A     192.0.2.54
unk      TYPE65280 \# 2 abcd
)";

const char* kExampleOrg = R"(
$ORIGIN example.org.
$TTL 600
@   SOA ns1.example.com. hostmaster.example.com. 7 3600 600 86400 60
@   NS  ns1.example.com.
www A   198.51.100.1
)";

std::string big_zone() {
    std::string z = "$ORIGIN big.test.\n$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
    for (int i = 0; i < 40; ++i) z += "txt TXT \"record number " + std::to_string(i) + " padded with some text\"\n";
    for (int i = 1; i <= 3; ++i) z += "small A 192.0.2." + std::to_string(i) + "\n";
    return z;
}

const Snapshot& snap() {
    static auto s = snapshot_of({{"example.com.", kExampleCom}, {"example.org.", kExampleOrg}, {"big.test.", big_zone()}});
    return *s;
}

const std::string kSoa = rr("example.com.", 300, "SOA", "ns1.example.com. hostmaster.example.com. 2026010101 3600 600 86400 300");

}  // namespace

TEST_CASE("an exact match answers with AA and the RRset, nothing in authority") {
    auto r = ask(snap(), "www.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.aa());
    CHECK_FALSE(r.ra());
    CHECK(r.answer() == std::vector<std::string>{rr("www.example.com.", 3600, "A", "192.0.2.80")});
    CHECK(r.authority().empty());
}

TEST_CASE("RD is copied into the response and RA is never set") {
    auto with = ask(snap(), "www.example.com.", LDNS_RR_TYPE_A, {.rd = true});
    auto without = ask(snap(), "www.example.com.", LDNS_RR_TYPE_A, {.rd = false});
    CHECK(with.rd());
    CHECK_FALSE(without.rd());
    CHECK_FALSE(with.ra());
    CHECK(ldns_pkt_id(with.pkt.get()) == 0x1234);
}

TEST_CASE("NXDOMAIN carries the SOA with TTL min(SOA TTL, MINIMUM)") {
    auto r = ask(snap(), "nothing.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NXDOMAIN);
    CHECK(r.aa());
    CHECK(r.answer().empty());
    CHECK(r.authority() == std::vector<std::string>{kSoa});
}

TEST_CASE("the negative SOA is compressed against the QNAME: its owner and names point into the question") {
    auto r = ask(snap(), "NoThing.Example.COM.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NXDOMAIN);
    // 12 header + 25 question + SOA: 2 owner pointer + 10 fixed + ("ns1" + pointer) 6
    // + ("hostmaster" + pointer) 13 + 20 = 51.
    CHECK(r.wire.size() == 12 + 25 + 51);
    REQUIRE(r.authority().size() == 1);
    // The owner takes the question's case (it is the same name); the data is the zone's.
    CHECK(r.authority()[0] == rr("Example.COM.", 300, "SOA",
                                 "ns1.Example.COM. hostmaster.Example.COM. 2026010101 3600 600 86400 300"));
}

TEST_CASE("NODATA answers NOERROR with the SOA in authority") {
    auto r = ask(snap(), "www.example.com.", LDNS_RR_TYPE_AAAA);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.aa());
    CHECK(r.answer().empty());
    CHECK(r.authority() == std::vector<std::string>{kSoa});
}

TEST_CASE("an empty non-terminal answers NODATA, not NXDOMAIN") {
    for (const char* name : {"b.c.example.com.", "c.example.com."}) {
        auto r = ask(snap(), name, LDNS_RR_TYPE_A);
        CHECK_MESSAGE(r.rcode() == LDNS_RCODE_NOERROR, name);
        CHECK(r.answer().empty());
        CHECK(r.authority() == std::vector<std::string>{kSoa});
    }
}

TEST_CASE("a CNAME is followed inside the zone") {
    auto r = ask(snap(), "alias.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.aa());
    CHECK(r.answer_in_order() == std::vector<std::string>{rr("alias.example.com.", 3600, "CNAME", "www.example.com."),
                                                          rr("www.example.com.", 3600, "A", "192.0.2.80")});
}

TEST_CASE("a CNAME chain of two links is followed to the end") {
    auto r = ask(snap(), "chain1.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.answer_in_order() == std::vector<std::string>{rr("chain1.example.com.", 3600, "CNAME", "chain2.example.com."),
                                                          rr("chain2.example.com.", 3600, "CNAME", "www.example.com."),
                                                          rr("www.example.com.", 3600, "A", "192.0.2.80")});
}

TEST_CASE("qtype CNAME answers the CNAME itself without following it") {
    auto r = ask(snap(), "alias.example.com.", LDNS_RR_TYPE_CNAME);
    CHECK(r.answer() == std::vector<std::string>{rr("alias.example.com.", 3600, "CNAME", "www.example.com.")});
}

TEST_CASE("a CNAME loop stops where it closes") {
    auto r = ask(snap(), "loop1.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.answer_in_order() == std::vector<std::string>{rr("loop1.example.com.", 3600, "CNAME", "loop2.example.com."),
                                                          rr("loop2.example.com.", 3600, "CNAME", "loop1.example.com.")});
}

TEST_CASE("a CNAME leaving our zones ends the answer with NOERROR") {
    auto r = ask(snap(), "ext.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.answer() == std::vector<std::string>{rr("ext.example.com.", 3600, "CNAME", "www.example.net.")});
    CHECK(r.authority().empty());
}

TEST_CASE("a CNAME into another of our zones is followed there") {
    auto r = ask(snap(), "toorg.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.answer_in_order() == std::vector<std::string>{rr("toorg.example.com.", 3600, "CNAME", "www.example.org."),
                                                          rr("www.example.org.", 600, "A", "198.51.100.1")});
}

TEST_CASE("a CNAME to a missing name in another zone gives NXDOMAIN with that zone's SOA") {
    auto r = ask(snap(), "tonx.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NXDOMAIN);
    CHECK(r.answer().size() == 1);
    CHECK(r.authority() ==
          std::vector<std::string>{rr("example.org.", 60, "SOA", "ns1.example.com. hostmaster.example.com. 7 3600 600 86400 60")});
}

TEST_CASE("a wildcard answers with the QNAME as owner") {
    auto r = ask(snap(), "foo.wild.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.aa());
    CHECK(r.answer() == std::vector<std::string>{rr("foo.wild.example.com.", 3600, "A", "192.0.2.9")});
}

TEST_CASE("a wildcard matches several labels below the closest encloser") {
    auto r = ask(snap(), "a.b.wild.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.answer() == std::vector<std::string>{rr("a.b.wild.example.com.", 3600, "A", "192.0.2.9")});
}

TEST_CASE("a wildcard without the qtype answers NODATA") {
    auto r = ask(snap(), "foo.wild.example.com.", LDNS_RR_TYPE_AAAA);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.answer().empty());
    CHECK(r.authority() == std::vector<std::string>{kSoa});
}

TEST_CASE("an existing name blocks the wildcard") {
    auto r = ask(snap(), "exists.wild.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.answer().empty());
}

TEST_CASE("an empty non-terminal blocks the wildcard, and names below it are NXDOMAIN") {
    auto ent = ask(snap(), "ent.wild.example.com.", LDNS_RR_TYPE_A);
    CHECK(ent.rcode() == LDNS_RCODE_NOERROR);
    CHECK(ent.answer().empty());
    auto below = ask(snap(), "y.ent.wild.example.com.", LDNS_RR_TYPE_A);
    CHECK(below.rcode() == LDNS_RCODE_NXDOMAIN);
}

TEST_CASE("a wildcard CNAME is synthesized at the QNAME and followed") {
    auto r = ask(snap(), "host.wc.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.answer_in_order() == std::vector<std::string>{rr("host.wc.example.com.", 3600, "CNAME", "www.example.com."),
                                                          rr("www.example.com.", 3600, "A", "192.0.2.80")});
}

TEST_CASE("a name below a zone cut gets a referral: NS in authority, in-zone glue, AA clear") {
    auto r = ask(snap(), "host.sub.example.com.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK_FALSE(r.aa());
    CHECK(r.answer().empty());
    CHECK(r.authority() == std::vector<std::string>{rr("sub.example.com.", 3600, "NS", "ns.other.net."),
                                                    rr("sub.example.com.", 3600, "NS", "ns.sub.example.com.")});
    CHECK(r.additional() == std::vector<std::string>{rr("ns.sub.example.com.", 3600, "A", "192.0.2.53")});
}

TEST_CASE("NS at the cut itself is a referral, not an authoritative answer") {
    auto r = ask(snap(), "sub.example.com.", LDNS_RR_TYPE_NS);
    CHECK_FALSE(r.aa());
    CHECK(r.answer().empty());
    CHECK(r.authority().size() == 2);
}

TEST_CASE("DS at the cut is answered from the parent side with AA") {
    auto r = ask(snap(), "sub.example.com.", LDNS_RR_TYPE_DS);
    CHECK(r.aa());
    CHECK(r.answer().size() == 1);
    CHECK(r.answer()[0].find("\tDS\t12345 8 2") != std::string::npos);
}

TEST_CASE("DS at the apex of a hosted child zone is answered from the parent") {
    auto s = snapshot_of({{"example.com.", kExampleCom},
                          {"sub.example.com.", "$TTL 60\n@ SOA ns hm 5 1 1 1 30\n@ NS ns\nns A 192.0.2.53\n"},
                          {"nods.example.org.", "$TTL 60\n@ SOA ns1.example.com. hm 9 1 1 1 30\n@ NS ns1.example.com.\n"},
                          {"example.org.", kExampleOrg}});
    auto with_ds = ask(*s, "sub.example.com.", LDNS_RR_TYPE_DS);
    CHECK(with_ds.aa());
    REQUIRE(with_ds.answer().size() == 1);
    CHECK(with_ds.answer()[0].find("\tDS\t12345") != std::string::npos);
    auto no_ds = ask(*s, "nods.example.org.", LDNS_RR_TYPE_DS);
    CHECK(no_ds.rcode() == LDNS_RCODE_NOERROR);
    CHECK(no_ds.answer().empty());
    CHECK(no_ds.authority() ==
          std::vector<std::string>{rr("example.org.", 60, "SOA", "ns1.example.com. hostmaster.example.com. 7 3600 600 86400 60")});
    // Other types at the child's apex come from the child.
    auto soa = ask(*s, "sub.example.com.", LDNS_RR_TYPE_SOA);
    CHECK(soa.aa());
    REQUIRE(soa.answer().size() == 1);
    CHECK(soa.answer()[0].find("ns.sub.example.com. hm.sub.example.com. 5") != std::string::npos);
}

TEST_CASE("data below a cut is occluded: a referral instead of the glue's own answer") {
    auto r = ask(snap(), "deep.sub.example.com.", LDNS_RR_TYPE_A);
    CHECK_FALSE(r.aa());
    CHECK(r.answer().empty());
    CHECK(r.authority().size() == 2);
}

TEST_CASE("MX answers carry the exchange's A and AAAA in additional") {
    auto r = ask(snap(), "example.com.", LDNS_RR_TYPE_MX);
    CHECK(r.answer() == std::vector<std::string>{rr("example.com.", 3600, "MX", "10 mail.example.com.")});
    CHECK(r.additional() == std::vector<std::string>{rr("mail.example.com.", 3600, "A", "192.0.2.25"),
                                                     rr("mail.example.com.", 3600, "AAAA", "2001:db8::25")});
}

TEST_CASE("OPT is in the reply exactly when the query had one, with DO copied") {
    auto plain = ask(snap(), "www.example.com.", LDNS_RR_TYPE_A);
    CHECK_FALSE(plain.has_opt());
    auto edns = ask(snap(), "www.example.com.", LDNS_RR_TYPE_A, {.edns = true, .do_bit = true});
    CHECK(edns.has_opt());
    CHECK(ldns_pkt_edns_udp_size(edns.pkt.get()) == 1232);
    CHECK(ldns_pkt_edns_do(edns.pkt.get()));
    CHECK(ldns_pkt_edns_version(edns.pkt.get()) == 0);
}

TEST_CASE("EDNS version above 0 gets BADVERS with an OPT") {
    auto r = ask(snap(), "www.example.com.", LDNS_RR_TYPE_A, {.edns = true, .version = 1});
    CHECK(r.has_opt());
    CHECK(r.result.rcode == kBadVers);
    CHECK(ldns_pkt_edns_extended_rcode(r.pkt.get()) == 1);
    CHECK(r.answer().empty());
    CHECK(ldns_pkt_qdcount(r.pkt.get()) == 1);  // the question is echoed so the client can match it
}

TEST_CASE("an answer too big for UDP sets TC and holds no partial RRset; TCP gets it whole") {
    auto udp = ask(snap(), "txt.big.test.", LDNS_RR_TYPE_TXT);
    CHECK(udp.tc());
    CHECK(udp.answer().empty());
    CHECK(udp.wire.size() <= 512);
    auto tcp = ask(snap(), "txt.big.test.", LDNS_RR_TYPE_TXT, {}, Transport::Tcp);
    CHECK_FALSE(tcp.tc());
    CHECK(tcp.answer().size() == 40);
}

TEST_CASE("the advertised EDNS payload is honoured up to the configured cap") {
    auto small = ask(snap(), "txt.big.test.", LDNS_RR_TYPE_TXT, {.edns = true, .payload = 1232});
    CHECK(small.tc());
    CHECK(small.wire.size() <= 1232);
    auto huge = ask(snap(), "txt.big.test.", LDNS_RR_TYPE_TXT, {.edns = true, .payload = 65000});
    CHECK(huge.tc());  // capped at 1232 by default
    CHECK(huge.wire.size() <= 1232);
    EngineSettings settings;
    settings.edns_udp_size = 4096;
    auto raised = snapshot_of({{"big.test.", big_zone()}}, settings);
    auto fits = ask(*raised, "txt.big.test.", LDNS_RR_TYPE_TXT, {.edns = true, .payload = 4096});
    CHECK_FALSE(fits.tc());
    CHECK(fits.answer().size() == 40);
}

TEST_CASE("a payload below 512 is treated as 512") {
    auto r = ask(snap(), "small.big.test.", LDNS_RR_TYPE_A, {.edns = true, .payload = 100});
    CHECK_FALSE(r.tc());
    CHECK(r.answer().size() == 3);
}

TEST_CASE("QNAME case is preserved in the question and the answer") {
    auto r = ask(snap(), "WwW.ExAmPlE.cOm.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.answer() == std::vector<std::string>{rr("WwW.ExAmPlE.cOm.", 3600, "A", "192.0.2.80")});
    CHECK(std::string(reinterpret_cast<const char*>(r.wire.data() + 13), 3) == "WwW");
}

TEST_CASE("names are compressed: the answer owner points at the question") {
    auto r = ask(snap(), "www.example.com.", LDNS_RR_TYPE_A);
    std::size_t question_end = 12 + 17 + 4;
    REQUIRE(r.wire.size() > question_end + 2);
    CHECK(r.wire[question_end] == 0xc0);
    CHECK(r.wire[question_end + 1] == 12);
    // NS rdata and the SOA's names compress against the QNAME's suffix.
    auto ns = ask(snap(), "example.com.", LDNS_RR_TYPE_NS);
    CHECK(ns.wire.size() < 12 + 13 + 4 + 2 * (2 + 10) + 4 + 17 + 15 + 10);
    CHECK(ns.answer().size() == 2);
}

TEST_CASE("a name in none of our zones is REFUSED without AA") {
    auto r = ask(snap(), "www.example.net.", LDNS_RR_TYPE_A);
    CHECK(r.rcode() == LDNS_RCODE_REFUSED);
    CHECK_FALSE(r.aa());
}

TEST_CASE("ANY answers minimally with one RRset") {
    auto r = ask(snap(), "mail.example.com.", LDNS_RR_TYPE_ANY);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.answer().size() == 1);
}

TEST_CASE("an unknown type is served as stored") {
    auto r = ask(snap(), "unk.example.com.", static_cast<ldns_rr_type>(65280));
    CHECK(r.answer() == std::vector<std::string>{rr("unk.example.com.", 3600, "TYPE65280", "\\# 2 abcd")});
}

TEST_CASE("a packet with QR set is dropped") {
    auto q = make_query("www.example.com.", LDNS_RR_TYPE_A);
    q[2] |= 0x80;
    auto r = ask(snap(), q);
    CHECK(r.result.outcome == Outcome::Drop);
}

TEST_CASE("a packet shorter than a header is dropped") {
    std::vector<std::uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01};
    CHECK(ask(snap(), q).result.outcome == Outcome::Drop);
}

TEST_CASE("QDCOUNT other than 1 is FORMERR") {
    for (std::uint8_t qd : {0, 2}) {
        auto q = make_query("www.example.com.", LDNS_RR_TYPE_A);
        q[5] = qd;
        auto r = ask(snap(), q);
        CHECK(r.rcode() == LDNS_RCODE_FORMERR);
        CHECK(ldns_pkt_id(r.pkt.get()) == 0x1234);
    }
}

TEST_CASE("a question one byte short is FORMERR") {
    auto q = make_query("www.example.com.", LDNS_RR_TYPE_A);
    q.pop_back();
    CHECK(ask(snap(), q).rcode() == LDNS_RCODE_FORMERR);
}

TEST_CASE("trailing garbage after the last record is FORMERR") {
    auto q = make_query("www.example.com.", LDNS_RR_TYPE_A);
    q.push_back(0);
    CHECK(ask(snap(), q).rcode() == LDNS_RCODE_FORMERR);
    auto e = make_query("www.example.com.", LDNS_RR_TYPE_A, {.edns = true});
    e.push_back(0xff);
    CHECK(ask(snap(), e).rcode() == LDNS_RCODE_FORMERR);
}

TEST_CASE("a compression pointer in the QNAME is FORMERR") {
    std::vector<std::uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1};
    CHECK(ask(snap(), q).rcode() == LDNS_RCODE_FORMERR);
}

TEST_CASE("two OPT records are FORMERR") {
    auto q = make_query("www.example.com.", LDNS_RR_TYPE_A, {.edns = true});
    std::vector<std::uint8_t> opt(q.end() - 11, q.end());
    q.insert(q.end(), opt.begin(), opt.end());
    q[11] = 2;
    CHECK(ask(snap(), q).rcode() == LDNS_RCODE_FORMERR);
}

TEST_CASE("unknown EDNS options are ignored") {
    auto q = make_query("www.example.com.", LDNS_RR_TYPE_A, {.edns = true});
    // Append option 65001 with 2 octets to the OPT's RDATA.
    q[q.size() - 1] = 6;
    for (std::uint8_t b : {0xfd, 0xe9, 0x00, 0x02, 0xaa, 0xbb}) q.push_back(b);
    auto r = ask(snap(), q);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(r.answer().size() == 1);
}

TEST_CASE("opcodes other than QUERY and NOTIFY get NOTIMP") {
    for (std::uint8_t opcode : {1, 2, 5, 15}) {
        auto q = make_query("www.example.com.", LDNS_RR_TYPE_A);
        q[2] = static_cast<std::uint8_t>((q[2] & 0x87) | (opcode << 3));
        auto r = ask(snap(), q);
        CHECK(r.rcode() == LDNS_RCODE_NOTIMPL);
        CHECK(((r.wire[2] >> 3) & 0x0f) == opcode);  // read raw: ldns's opcode enum has no value for some
    }
}

TEST_CASE("NOTIFY is refused: pooldns is a primary only") {
    auto q = make_query("example.com.", LDNS_RR_TYPE_SOA);
    q[2] = static_cast<std::uint8_t>((q[2] & 0x87) | (4 << 3));
    CHECK(ask(snap(), q).rcode() == LDNS_RCODE_REFUSED);
}

TEST_CASE("a class other than IN is REFUSED") {
    auto q = make_query("www.example.com.", LDNS_RR_TYPE_A);
    q[q.size() - 1] = 3;  // CH
    CHECK(ask(snap(), q).rcode() == LDNS_RCODE_REFUSED);
}

TEST_CASE("AXFR over UDP is refused, over TCP it is a transfer only for allowed clients") {
    auto q = make_query("example.com.", LDNS_RR_TYPE_AXFR);
    CHECK(ask(snap(), q, Transport::Udp, true).rcode() == LDNS_RCODE_REFUSED);
    CHECK(ask(snap(), q, Transport::Tcp, false).rcode() == LDNS_RCODE_REFUSED);
    auto allowed = ask(snap(), q, Transport::Tcp, true);
    CHECK(allowed.result.outcome == Outcome::Transfer);
    auto not_apex = ask(snap(), make_query("www.example.com.", LDNS_RR_TYPE_AXFR), Transport::Tcp, true);
    CHECK(not_apex.rcode() == LDNS_RCODE_NOTAUTH);
}

TEST_CASE("an AXFR stream starts and ends with the SOA and carries every record once") {
    auto q = make_query("example.com.", LDNS_RR_TYPE_AXFR);
    auto a = ask(snap(), q, Transport::Tcp, true);
    REQUIRE(a.result.outcome == Outcome::Transfer);
    TransferCursor cursor(snap(), a.result.zone, q);
    std::vector<std::string> all;
    std::vector<std::uint8_t> buf(65535);
    int messages = 0;
    while (std::size_t n = cursor.next(buf)) {
        ldns_pkt* p = nullptr;
        REQUIRE(ldns_wire2pkt(&p, buf.data(), n) == LDNS_STATUS_OK);
        PktPtr pkt(p);
        CHECK(ldns_pkt_aa(pkt.get()));
        CHECK(ldns_pkt_id(pkt.get()) == 0x1234);
        for (auto& s : Response::strings(ldns_pkt_answer(pkt.get()))) all.push_back(s);
        ++messages;
    }
    REQUIRE(all.size() >= 2);
    CHECK(all.front().find("\tSOA\t") != std::string::npos);
    CHECK(all.back() == all.front());
    CHECK(all.size() == 28 + 1);  // 28 records in the zone text, SOA twice
    std::set<std::string> unique(all.begin() + 1, all.end() - 1);
    CHECK(unique.size() == all.size() - 2);
}
