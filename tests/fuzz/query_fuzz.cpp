// Fuzz target: DNS query bytes (the most exposed input pooldns has) through
// answer() over a snapshot that exercises every lookup state. Besides not
// crashing: a Reply must fit the buffer's limit for its transport and start
// with the query's ID and QR set.
#include "pooldns/answer.hpp"
#include "pooldns/zonefile.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

const char* kZone = R"(
$ORIGIN example.com.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
@ NS ns2.example.net.
@ MX 10 mail
ns1 A 192.0.2.1
mail A 192.0.2.25
mail AAAA 2001:db8::25
www A 192.0.2.80
alias CNAME www
loop1 CNAME loop2
loop2 CNAME loop1
out CNAME www.example.org.
*.wild A 192.0.2.9
*.wc CNAME www
x.ent A 192.0.2.10
sub NS ns.sub
ns.sub A 192.0.2.53
sub DS 1 8 2 49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC
srv._tcp SRV 0 0 5061 www
unk TYPE65280 \# 2 abcd
)";

const pooldns::dns::Snapshot& snapshot() {
    static std::shared_ptr<const pooldns::dns::Snapshot> snap = [] {
        auto entries = pooldns::read_zone_text(kZone, "example.com.", "fuzz");
        if (!entries) std::abort();
        pooldns::dns::ZoneData z{"example.com.", {}};
        for (auto& e : *entries) z.records.push_back(e.rec);
        std::vector<pooldns::dns::ZoneData> zones;
        zones.push_back(std::move(z));
        auto s = pooldns::dns::Snapshot::build(std::move(zones), pooldns::dns::parse_settings({}).value());
        if (!s) std::abort();
        return *s;
    }();
    return *snap;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pooldns::dns;
    static std::vector<std::uint8_t> out(65535);
    static const PeerAddress loopback = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
    std::span<const std::uint8_t> query(data, size);
    for (Transport t : {Transport::Udp, Transport::Tcp}) {
        Answered a = answer(query, snapshot(), QueryContext{t, &loopback}, out);
        if (a.outcome == Outcome::Reply) {
            std::size_t cap = t == Transport::Udp ? 1232 : 65535;
            if (a.size < 12 || a.size > cap) __builtin_trap();
            if (out[0] != data[0] || out[1] != data[1] || !(out[2] & 0x80)) __builtin_trap();
        } else if (a.outcome == Outcome::Transfer) {
            TransferCursor cursor(snapshot(), a.zone, query);
            int messages = 0;
            while (cursor.next(out) != 0) {
                if (++messages > 100) __builtin_trap();
            }
        }
    }
    return 0;
}
