// Micro-benchmark of the pure query path: answer() over a dnsperf query file
// against a zone file, no sockets. Reports ns per query; run it under
// `valgrind --tool=callgrind` for instruction counts that do not depend on
// machine load.  Usage: answer-bench ZONEFILE ORIGIN QUERYFILE [ROUNDS]
//                       answer-bench --db FILE QUERYFILE [ROUNDS]   (zones, servers and pools of a store)
#include "pooldns/answer.hpp"
#include "pooldns/ldns_ptr.hpp"
#include "pooldns/store.hpp"
#include "pooldns/zonefile.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    using namespace pooldns;
    if (argc < 4) {
        std::fprintf(stderr, "usage: answer-bench ZONEFILE ORIGIN QUERYFILE [ROUNDS]\n"
                             "       answer-bench --db FILE QUERYFILE [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 4 ? std::atoi(argv[4]) : 10;
    Result<std::shared_ptr<const dns::Snapshot>> snap{Error{"not built"}};
    if (std::string(argv[1]) == "--db") {
        auto db = Database::open(argv[2], OpenMode::ReadOnly);
        if (!db) {
            std::fprintf(stderr, "%s\n", db.error().message.c_str());
            return 1;
        }
        // A health table in which every member is up (never probed): the cost
        // measured is reading it, as the server does on every pool answer.
        snap = dns::load_snapshot(*db, std::make_shared<HealthTable>());
    } else {
        auto entries = read_zone_file(argv[1], argv[2]);
        if (!entries) {
            std::fprintf(stderr, "%s\n", entries.error().message.c_str());
            return 1;
        }
        dns::ZoneData zone{argv[2], {}};
        for (auto& e : *entries) zone.records.push_back(std::move(e.rec));
        std::vector<dns::ZoneData> zones;
        zones.push_back(std::move(zone));
        snap = dns::Snapshot::build(std::move(zones), dns::parse_settings({}).value());
    }
    if (!snap) {
        std::fprintf(stderr, "%s\n", snap.error().message.c_str());
        return 1;
    }

    std::vector<std::vector<std::uint8_t>> queries;
    std::ifstream in(argv[3]);
    std::string name, type;
    while (in >> name >> type) {
        ldns_rr_type t = ldns_get_rr_type_by_name(type.c_str());
        PktPtr pkt(ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), t, LDNS_RR_CLASS_IN, LDNS_RD));
        ldns_pkt_set_edns_udp_size(pkt.get(), 1232);
        std::uint8_t* wire = nullptr;
        size_t size = 0;
        if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK) continue;
        queries.emplace_back(wire, wire + size);
        free(wire);
    }
    std::vector<std::uint8_t> out(65535);
    const dns::PeerAddress peer = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
    std::size_t bytes = 0;
    std::uint64_t rotation = 0;
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
        for (const auto& q : queries) {
            auto a = dns::answer(q, **snap, dns::QueryContext{dns::Transport::Udp, &peer, ++rotation}, out);
            bytes += a.size;
        }
    }
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    std::size_t n = queries.size() * static_cast<std::size_t>(rounds);
    std::printf("%zu queries, %.1f ns/query, %.1f bytes/answer\n", n, ns / static_cast<double>(n),
                static_cast<double>(bytes) / static_cast<double>(n));
    return 0;
}
