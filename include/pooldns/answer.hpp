// answer(): query bytes + snapshot -> response bytes. Pure: no sockets, no
// SQLite, no clock, no allocation. The I/O layer acts on the outcome: send the
// reply, drop the packet, or start a zone transfer.
#pragma once

#include "pooldns/snapshot.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace pooldns::dns {

enum class Transport : std::uint8_t { Udp, Tcp };

// A client address; IPv4 as ::ffff:a.b.c.d.
using PeerAddress = std::array<std::uint8_t, 16>;

struct QueryContext {
    Transport transport = Transport::Udp;
    const PeerAddress* peer = nullptr;  // checked against the AXFR allow-list, only for AXFR/IXFR
    std::uint64_t rotation = 0;         // changes per query: which pool member is listed first
};

enum class Outcome : std::uint8_t {
    Reply,     // send out[0, size)
    Drop,      // send nothing (a response, or too short to answer)
    Transfer,  // TCP AXFR/IXFR of `zone` allowed: stream it with Transfer
};

struct Answered {
    Outcome outcome = Outcome::Drop;
    std::size_t size = 0;
    std::uint32_t zone = kNone;      // for Outcome::Transfer
    std::uint16_t qtype = 0;
    std::uint8_t rcode = 0;          // the full (extended) rcode sent
};

// DNS RCODEs and constants used across the engine.
enum Rcode : std::uint8_t {
    kNoError = 0,
    kFormErr = 1,
    kServFail = 2,
    kNxDomain = 3,
    kNotImp = 4,
    kRefused = 5,
    kNotAuth = 9,
    kBadVers = 16,
};

// `out` must hold at least 512 octets; TCP answers use up to min(out.size(), 65535).
// Pool FQDNs are answered with the pool's members that are up in the
// snapshot's HealthTable, rotated by ctx.rotation (see pool_select.hpp).
Answered answer(std::span<const std::uint8_t> query, const Snapshot& snap, const QueryContext& ctx,
                std::span<std::uint8_t> out);

// Streams a zone for AXFR (RFC 5936): SOA, every other RRset of the zone
// (including glue), SOA. Each call fills one message; the cursor keeps place.
class TransferCursor {
public:
    TransferCursor(const Snapshot& snap, std::uint32_t zone, std::span<const std::uint8_t> query);
    // Writes the next message into out; returns its size, 0 when done.
    std::size_t next(std::span<std::uint8_t> out);
    bool done() const { return stage_ == Stage::Done; }

private:
    enum class Stage : std::uint8_t { FirstSoa, Body, Shadows, LastSoa, Done };
    const Snapshot& snap_;
    std::uint32_t zone_;
    std::uint8_t header_[12];
    std::uint8_t question_[kMaxNameLength + 4];
    std::size_t question_len_ = 0;
    Stage stage_ = Stage::FirstSoa;
    std::uint32_t node_ = 0;     // next node to scan in Body
    std::uint32_t rrset_ = 0;    // next RRset of that node
    std::uint32_t shadow_ = 0;   // next shadow RRset
    bool first_ = true;
};

}  // namespace pooldns::dns
