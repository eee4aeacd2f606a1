// DNS message writer with name compression (see wire_writer.hpp).
#include "wire_writer.hpp"

#include "pooldns/ldns_ptr.hpp"

namespace pooldns::dns {

void WireWriter::remember_name(std::size_t at) {
    std::size_t length = wire_name_length({buf_ + at, pos_ - at});
    std::size_t i = at;
    while (i < pos_ && buf_[i] != 0 && (buf_[i] & 0xc0) == 0) {
        remember(i, length - (i - at));
        i += buf_[i] + 1u;
    }
}

bool WireWriter::same_name(std::size_t at, const std::uint8_t* wire) const {
    std::size_t i = at;
    int hops = 0;
    while (true) {
        std::uint8_t len = buf_[i];
        if ((len & 0xc0) == 0xc0) {
            if (++hops > 16) return false;
            i = ((len & 0x3fu) << 8) | buf_[i + 1];
            continue;
        }
        if (len != *wire) return false;
        if (len == 0) return true;
        for (std::size_t k = 1; k <= len; ++k) {
            if (ascii_lower(buf_[i + k]) != ascii_lower(wire[k])) return false;
        }
        i += len + 1u;
        wire += len + 1u;
    }
}

bool WireWriter::name(std::span<const std::uint8_t> wire) {
    if (deferred_len_) {
        // The question's labels go first, as if registered when it was written.
        std::size_t at = deferred_at_, length = deferred_len_;
        deferred_len_ = 0;
        std::size_t saved = dict_n_;
        std::uint16_t later[kDict];
        std::uint8_t later_len[kDict];
        std::memcpy(later, dict_, saved * sizeof dict_[0]);
        std::memcpy(later_len, dict_len_, saved);
        dict_n_ = 0;
        for (std::size_t i = at; buf_[i] != 0; i += buf_[i] + 1u) remember(i, length - (i - at));
        question_entries_ = dict_n_;
        for (std::size_t k = 0; k < saved; ++k) remember(later[k], later_len[k]);
    }
    // Longest suffix first: the first suffix found in the dictionary wins.
    std::size_t off = 0;
    while (off < wire.size() && wire[off] != 0) {
        auto suffix_len = static_cast<std::uint8_t>(wire.size() - off);
        for (std::size_t d = 0; d < dict_n_; ++d) {
            if (dict_len_[d] == suffix_len && same_name(dict_[d], wire.data() + off)) {
                if (pos_ + off + 2 > limit_) return false;
                std::size_t start = pos_;
                std::memcpy(buf_ + pos_, wire.data(), off);
                pos_ += off;
                for (std::size_t k = 0; k < off; k += wire[k] + 1u) remember(start + k, wire.size() - k);
                return pointer(dict_[d]);
            }
        }
        off += wire[off] + 1u;
    }
    std::size_t start = pos_;
    if (!put(wire.data(), wire.size())) return false;
    for (std::size_t k = 0; k + 1 < wire.size(); k += wire[k] + 1u) remember(start + k, wire.size() - k);
    return true;
}

namespace {

// Where names sit in the rdata of the types whose names may be compressed
// (RFC 3597 section 4: only the RFC 1035 types).
enum class NameLayout : std::uint8_t { None, OneName, PreferenceThenName, TwoNamesThenFixed };

NameLayout name_layout(std::uint16_t type) {
    switch (type) {
        case LDNS_RR_TYPE_NS:
        case LDNS_RR_TYPE_CNAME:
        case LDNS_RR_TYPE_PTR:
        case LDNS_RR_TYPE_MD:
        case LDNS_RR_TYPE_MF:
        case LDNS_RR_TYPE_MB:
        case LDNS_RR_TYPE_MG:
        case LDNS_RR_TYPE_MR:
            return NameLayout::OneName;
        case LDNS_RR_TYPE_MX:
            return NameLayout::PreferenceThenName;
        case LDNS_RR_TYPE_SOA:
        case LDNS_RR_TYPE_MINFO:
            return NameLayout::TwoNamesThenFixed;
        default:
            return NameLayout::None;
    }
}

}  // namespace

bool WireWriter::rdata(std::uint16_t type, std::span<const std::uint8_t> rd) {
    auto compressed_name = [&](std::size_t at) -> std::size_t {
        std::size_t n = wire_name_length(rd.subspan(at));
        if (n == 0) return 0;
        return name(rd.subspan(at, n)) ? n : 0;
    };
    switch (name_layout(type)) {
        case NameLayout::OneName: {
            std::size_t n = compressed_name(0);
            return n != 0 && n == rd.size();
        }
        case NameLayout::PreferenceThenName: {
            if (rd.size() < 3 || !put(rd.data(), 2)) return false;
            std::size_t n = compressed_name(2);
            return n != 0 && n + 2 == rd.size();
        }
        case NameLayout::TwoNamesThenFixed: {
            std::size_t a = compressed_name(0);
            if (a == 0) return false;
            std::size_t b = compressed_name(a);
            if (b == 0) return false;
            return put(rd.data() + a + b, rd.size() - a - b);
        }
        case NameLayout::None:
            break;
    }
    return put(rd.data(), rd.size());
}

bool WireWriter::owner_and_rdata(const Snapshot& snap, const RRset& set, std::size_t owner_at,
                                 std::span<const std::uint8_t> owner, Section section, std::uint32_t ttl) {
    Mark m = mark();
    auto data = snap.data_of(set);
    // TYPE, CLASS and TTL are the same for every RR of the set: build them once.
    const std::uint8_t fixed[8] = {static_cast<std::uint8_t>(set.type >> 8), static_cast<std::uint8_t>(set.type), 0,
                                   LDNS_RR_CLASS_IN, static_cast<std::uint8_t>(ttl >> 24),
                                   static_cast<std::uint8_t>(ttl >> 16), static_cast<std::uint8_t>(ttl >> 8),
                                   static_cast<std::uint8_t>(ttl)};
    const std::uint8_t pointer_to_owner[2] = {static_cast<std::uint8_t>(0xc0 | (owner_at >> 8)),
                                              static_cast<std::uint8_t>(owner_at)};
    bool plain = name_layout(set.type) == NameLayout::None;
    std::size_t p = 0;
    for (std::uint16_t k = 0; k < set.count; ++k) {
        std::size_t rdlen = (std::size_t{data[p]} << 8) | data[p + 1];
        if (owner.empty() && plain) {
            // The common case (A, AAAA, TXT... at the QNAME): one bounds check,
            // then the owner pointer, the fixed part, RDLENGTH and RDATA as stored.
            if (pos_ + 2 + 8 + 2 + rdlen > limit_) {
                rewind(m);
                return false;
            }
            std::memcpy(buf_ + pos_, pointer_to_owner, 2);
            std::memcpy(buf_ + pos_ + 2, fixed, 8);
            std::memcpy(buf_ + pos_ + 10, data.data() + p, 2 + rdlen);
            pos_ += 12 + rdlen;
            p += 2 + rdlen;
            continue;
        }
        auto rd = data.subspan(p + 2, rdlen);
        p += 2 + rdlen;
        bool ok = owner.empty() ? put(pointer_to_owner, 2) : name(owner);
        ok = ok && put(fixed, 8);
        std::size_t rdlen_at = pos_;
        ok = ok && put16(0) && rdata(set.type, rd);
        if (!ok) {
            rewind(m);
            return false;
        }
        set16(rdlen_at, static_cast<std::uint32_t>(pos_ - rdlen_at - 2));
    }
    add_count(section, set.count);
    return true;
}

bool WireWriter::records(const Snapshot& snap, std::uint16_t type, std::span<const std::uint32_t> rdata,
                         std::size_t owner_at, std::span<const std::uint8_t> owner, Section section, std::uint32_t ttl) {
    const std::uint8_t fixed[10] = {static_cast<std::uint8_t>(0xc0 | (owner_at >> 8)), static_cast<std::uint8_t>(owner_at),
                                    static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type), 0,
                                    LDNS_RR_CLASS_IN, static_cast<std::uint8_t>(ttl >> 24),
                                    static_cast<std::uint8_t>(ttl >> 16), static_cast<std::uint8_t>(ttl >> 8),
                                    static_cast<std::uint8_t>(ttl)};
    const std::uint8_t* data = snap.arena();
    if (owner.empty()) {
        // The common case, the QNAME's own answer: one bounds check, then each
        // RR as pointer + fixed part + [rdlength][rdata] copied as stored.
        std::size_t total = 0;
        for (std::uint32_t off : rdata) total += 12 + ((std::size_t{data[off]} << 8) | data[off + 1]);
        if (pos_ + total > limit_) return false;
        for (std::uint32_t off : rdata) {
            std::size_t rdlen = (std::size_t{data[off]} << 8) | data[off + 1];
            std::memcpy(buf_ + pos_, fixed, 10);
            std::memcpy(buf_ + pos_ + 10, data + off, 2 + rdlen);
            pos_ += 12 + rdlen;
        }
        add_count(section, static_cast<std::uint16_t>(rdata.size()));
        return true;
    }
    Mark m = mark();
    for (std::uint32_t off : rdata) {
        std::size_t rdlen = (std::size_t{data[off]} << 8) | data[off + 1];
        if (!name(owner) || !put(fixed + 2, 8) || !put(data + off, 2 + rdlen)) {
            rewind(m);
            return false;
        }
    }
    add_count(section, static_cast<std::uint16_t>(rdata.size()));
    return true;
}

bool WireWriter::rrset(const Snapshot& snap, const RRset& set, std::size_t owner_at, Section section,
                       std::uint32_t ttl_override) {
    return owner_and_rdata(snap, set, owner_at, {}, section, ttl_override == kNone ? set.ttl : ttl_override);
}

bool WireWriter::rrset(const Snapshot& snap, const RRset& set, std::span<const std::uint8_t> owner, Section section,
                       std::uint32_t ttl_override) {
    return owner_and_rdata(snap, set, 0, owner, section, ttl_override == kNone ? set.ttl : ttl_override);
}

}  // namespace pooldns::dns
