// Builds a DNS message in a caller's buffer: header, question copy, RRs with
// name compression against names already in the packet, and all-or-nothing
// RRsets so truncation never leaves a partial RRset. No allocation.
#pragma once

#include "pooldns/snapshot.hpp"
#include "pooldns/wire_name.hpp"

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <span>

namespace pooldns::dns {

enum class Section : std::uint8_t { Answer = 0, Authority = 1, Additional = 2 };

class WireWriter {
public:
    WireWriter(std::uint8_t* buf, std::size_t limit) : buf_(buf), limit_(limit) {}

    std::size_t size() const { return pos_; }
    std::size_t limit() const { return limit_; }
    void set_limit(std::size_t limit) { limit_ = limit; }
    std::uint8_t* data() { return buf_; }

    bool put(const void* p, std::size_t n) {
        if (pos_ + n > limit_) return false;
        std::memcpy(buf_ + pos_, p, n);
        pos_ += n;
        return true;
    }
    bool put16(std::uint32_t v) {
        if (pos_ + 2 > limit_) return false;
        buf_[pos_++] = static_cast<std::uint8_t>(v >> 8);
        buf_[pos_++] = static_cast<std::uint8_t>(v);
        return true;
    }
    bool put32(std::uint32_t v) { return put16(v >> 16) && put16(v & 0xffff); }
    void set16(std::size_t at, std::uint32_t v) {
        buf_[at] = static_cast<std::uint8_t>(v >> 8);
        buf_[at + 1] = static_cast<std::uint8_t>(v);
    }

    // Registers the label starts of a name already in the packet (the question).
    void remember_name(std::size_t at);
    // Like remember_name, but only when a name is first compressed: most
    // answers (A, AAAA at the QNAME) never need it.
    void defer_name(std::size_t at, std::size_t length) {
        deferred_at_ = at;
        deferred_len_ = length;
    }

    // Writes a wire name (any case), compressed against names in the packet.
    bool name(std::span<const std::uint8_t> wire);
    // Writes a pointer to a name already in the packet.
    bool pointer(std::size_t at) { return put16(0xc000u | static_cast<std::uint32_t>(at)); }

    // Writes every RR of `set` with the given owner (a packet offset to point
    // at, or a wire name to compress), into `section`. All or nothing.
    bool rrset(const Snapshot& snap, const RRset& set, std::size_t owner_at, Section section,
               std::uint32_t ttl_override = kNone);
    bool rrset(const Snapshot& snap, const RRset& set, std::span<const std::uint8_t> owner, Section section,
               std::uint32_t ttl_override = kNone);

    // Writes RRs of a type without names in its rdata (A, AAAA), one per
    // `rdata` offset into Snapshot::data ([u16 rdlength][rdata]), in that order,
    // owned by a packet offset or a wire name. All or nothing.
    bool records(const Snapshot& snap, std::uint16_t type, std::span<const std::uint32_t> rdata, std::size_t owner_at,
                 std::span<const std::uint8_t> owner, Section section, std::uint32_t ttl);

    // Copies a precompiled RR whose pointer slots (offsets in `rr`) all point
    // at `target`, a packet offset. All or nothing.
    bool precompiled(std::span<const std::uint8_t> rr, std::span<const std::uint16_t> slots, std::size_t target,
                     Section section) {
        if (pos_ + rr.size() > limit_) return false;
        std::memcpy(buf_ + pos_, rr.data(), rr.size());
        for (std::uint16_t at : slots) set16(pos_ + at, 0xc000u | static_cast<std::uint32_t>(target));
        pos_ += rr.size();
        add_count(section, 1);
        return true;
    }

    std::uint16_t count(Section s) const { return counts_[static_cast<int>(s)]; }
    void add_count(Section s, std::uint16_t n) { counts_[static_cast<int>(s)] = static_cast<std::uint16_t>(counts_[static_cast<int>(s)] + n); }

    struct Mark {
        std::size_t pos;
        std::size_t dict;
    };
    Mark mark() const { return {pos_, dict_n_}; }
    void rewind(Mark m) {
        pos_ = m.pos;
        // The question's entries (added lazily, first in the dictionary) stay:
        // the question itself is never rewound.
        dict_n_ = std::max(m.dict, question_entries_);
    }

private:
    bool owner_and_rdata(const Snapshot& snap, const RRset& set, std::size_t owner_at,
                         std::span<const std::uint8_t> owner, Section section, std::uint32_t ttl);
    bool rdata(std::uint16_t type, std::span<const std::uint8_t> rd);
    // True when the name at packet offset `at` equals `wire` (case-insensitive).
    bool same_name(std::size_t at, const std::uint8_t* wire) const;
    // Records that a name of `length` octets (uncompressed) starts at `at`.
    void remember(std::size_t at, std::size_t length) {
        if (at < 0x4000 && dict_n_ < kDict) {
            dict_[dict_n_] = static_cast<std::uint16_t>(at);
            dict_len_[dict_n_++] = static_cast<std::uint8_t>(length);
        }
    }

    static constexpr std::size_t kDict = 64;
    std::uint8_t* buf_;
    std::size_t limit_;
    std::size_t pos_ = 0;
    // Names already in the packet: where each suffix starts and its full length,
    // so a candidate is compared only when the lengths agree.
    std::uint16_t dict_[kDict];
    std::uint8_t dict_len_[kDict];
    std::size_t dict_n_ = 0;
    std::size_t deferred_at_ = 0;
    std::size_t deferred_len_ = 0;
    std::size_t question_entries_ = 0;
    std::uint16_t counts_[3] = {0, 0, 0};
};

}  // namespace pooldns::dns
