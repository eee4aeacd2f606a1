// Test fixture for answer(): snapshots built from zone text, queries built
// and responses parsed with ldns, sections compared as sets of RR strings.
#pragma once

#include "pooldns/answer.hpp"
#include "pooldns/ldns_ptr.hpp"
#include "pooldns/zonefile.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace dnstest {

using namespace pooldns;
using namespace pooldns::dns;

inline std::shared_ptr<const Snapshot> snapshot_of(std::vector<std::pair<std::string, std::string>> zones,
                                                   EngineSettings settings = {}) {
    std::vector<ZoneData> data;
    for (auto& [origin, text] : zones) {
        auto entries = read_zone_text(text, origin, origin);
        REQUIRE_MESSAGE(entries.ok(), (entries.ok() ? "" : entries.error().message));
        ZoneData z{origin, {}};
        for (auto& e : *entries) z.records.push_back(e.rec);
        data.push_back(std::move(z));
    }
    if (settings.axfr_allow.empty()) settings.axfr_allow = {parse_prefix("127.0.0.0/8").value()};
    auto snap = Snapshot::build(std::move(data), settings);
    REQUIRE_MESSAGE(snap.ok(), (snap.ok() ? "" : snap.error().message));
    return *snap;
}

struct QueryOptions {
    bool edns = false;
    std::uint16_t payload = 1232;
    std::uint8_t version = 0;
    bool do_bit = false;
    bool rd = true;
    std::uint16_t id = 0x1234;
};

inline std::vector<std::uint8_t> make_query(const std::string& name, ldns_rr_type type, QueryOptions o = {}) {
    ldns_pkt* raw = ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, LDNS_RR_CLASS_IN, o.rd ? LDNS_RD : 0);
    PktPtr pkt(raw);
    ldns_pkt_set_id(pkt.get(), o.id);
    if (o.edns) {
        ldns_pkt_set_edns_udp_size(pkt.get(), o.payload);
        ldns_pkt_set_edns_version(pkt.get(), o.version);
        ldns_pkt_set_edns_do(pkt.get(), o.do_bit);
    }
    std::uint8_t* wire = nullptr;
    size_t size = 0;
    REQUIRE(ldns_pkt2wire(&wire, pkt.get(), &size) == LDNS_STATUS_OK);
    std::vector<std::uint8_t> out(wire, wire + size);
    free(wire);
    return out;
}

struct Response {
    Answered result;
    std::vector<std::uint8_t> wire;
    PktPtr pkt;

    ldns_pkt_rcode rcode() const { return ldns_pkt_get_rcode(pkt.get()); }
    bool aa() const { return ldns_pkt_aa(pkt.get()); }
    bool tc() const { return ldns_pkt_tc(pkt.get()); }
    bool ra() const { return ldns_pkt_ra(pkt.get()); }
    bool rd() const { return ldns_pkt_rd(pkt.get()); }
    bool has_opt() const { return ldns_pkt_edns(pkt.get()); }

    static std::vector<std::string> strings(ldns_rr_list* list) {
        std::vector<std::string> out;
        for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
            CStrPtr s(ldns_rr2str(ldns_rr_list_rr(list, i)));
            std::string t = s.get();
            while (!t.empty() && t.back() == '\n') t.pop_back();
            out.push_back(t);
        }
        return out;
    }
    // Sections as sorted lists of "owner ttl IN type rdata" (ldns presentation, tabs).
    std::vector<std::string> answer() const { return sorted(strings(ldns_pkt_answer(pkt.get()))); }
    std::vector<std::string> answer_in_order() const { return strings(ldns_pkt_answer(pkt.get())); }
    std::vector<std::string> authority() const { return sorted(strings(ldns_pkt_authority(pkt.get()))); }
    std::vector<std::string> additional() const { return sorted(strings(ldns_pkt_additional(pkt.get()))); }
    static std::vector<std::string> sorted(std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        return v;
    }
};

inline Response ask(const Snapshot& snap, const std::vector<std::uint8_t>& query,
                    Transport transport = Transport::Udp, bool transfer_allowed = false) {
    Response r;
    r.wire.resize(65535);
    static const PeerAddress loopback = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
    static const PeerAddress outsider = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 99};
    r.result = answer(query, snap, QueryContext{transport, transfer_allowed ? &loopback : &outsider}, r.wire);
    r.wire.resize(r.result.size);
    if (r.result.outcome == Outcome::Reply) {
        ldns_pkt* p = nullptr;
        REQUIRE_MESSAGE(ldns_wire2pkt(&p, r.wire.data(), r.wire.size()) == LDNS_STATUS_OK, "response does not parse");
        r.pkt.reset(p);
    }
    return r;
}

inline Response ask(const Snapshot& snap, const std::string& name, ldns_rr_type type, QueryOptions o = {},
                    Transport transport = Transport::Udp) {
    return ask(snap, make_query(name, type, o), transport);
}

// "www.example.com.\t3600\tIN\tA\t192.0.2.80" from a compact "www.example.com. 3600 A 192.0.2.80".
inline std::string rr(const std::string& owner, int ttl, const std::string& type, const std::string& rdata) {
    return owner + "\t" + std::to_string(ttl) + "\tIN\t" + type + "\t" + rdata;
}

}  // namespace dnstest
