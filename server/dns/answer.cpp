// answer(): the authoritative query processor. Cheap checks first (size, QR,
// opcode, question), then the lookup as states (answer, CNAME, NODATA,
// NXDOMAIN, wildcard, referral), written straight into the caller's buffer.
#include "pooldns/answer.hpp"

#include "pooldns/ldns_ptr.hpp"
#include "wire_writer.hpp"

#include <algorithm>

namespace pooldns::dns {

namespace {

constexpr std::size_t kHeader = 12;
constexpr std::size_t kOptSize = 11;          // root name, type, class, TTL, RDLENGTH 0
constexpr int kMaxChain = 16;                 // CNAME links followed before giving up
constexpr std::size_t kMaxPoolAnswer = 1024;  // members considered per pool answer
constexpr int kMaxBackupDepth = 8;            // backup pools followed when every member is down
constexpr std::uint16_t kOpcodeQuery = 0, kOpcodeNotify = 4;
constexpr std::uint16_t kTypeOpt = 41, kTypeTkey = 249, kTypeTsig = 250, kTypeIxfr = 251, kTypeAxfr = 252,
                        kTypeMailb = 253, kTypeMaila = 254, kTypeAny = 255;

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

// The parsed question and EDNS state of a query.
struct Query {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;
    std::uint16_t qtype = 0;
    std::uint16_t qclass = 0;
    std::size_t question_end = 0;           // offset after QTYPE/QCLASS
    std::uint8_t name[kMaxNameLength];      // QNAME, lower case
    std::size_t name_len = 0;
    std::uint8_t label_off[kMaxLabels];     // start of each label in `name`
    std::size_t labels = 0;
    bool edns = false;
    std::uint16_t edns_payload = 0;
    std::uint8_t edns_version = 0;
    bool edns_do = false;
};

// Skips a (possibly compressed) name in a message; false if malformed.
bool skip_name(std::span<const std::uint8_t> msg, std::size_t& pos) {
    std::size_t total = 0;
    while (true) {
        if (pos >= msg.size()) return false;
        std::uint8_t len = msg[pos];
        if ((len & 0xc0) == 0xc0) {
            if (pos + 2 > msg.size()) return false;
            pos += 2;
            return true;
        }
        if (len & 0xc0) return false;  // 0x40/0x80: obsolete label types
        pos += len + 1u;
        total += len + 1u;
        if (total > kMaxNameLength) return false;
        if (len == 0) return true;
    }
}

// Lower-cases ASCII letters 8 octets at a time. Label length octets (< 64) are
// never in 'A'..'Z', so a whole wire name can go through it.
void lower_copy(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) {
    constexpr std::uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (n >= 8) {
        std::uint64_t x;
        std::memcpy(&x, src, 8);
        std::uint64_t h = x & ~high;                     // each octet below 0x80
        std::uint64_t ge_a = h + ones * (0x80 - 'A');    // high bit set where octet >= 'A'
        std::uint64_t gt_z = h + ones * (0x7f - 'Z');    // high bit set where octet > 'Z'
        std::uint64_t upper = ge_a & ~gt_z & ~x & high;  // ASCII 'A'..'Z' only
        x |= upper >> 2;                                 // 0x80 >> 2 = 0x20, the case bit
        std::memcpy(dst, &x, 8);
        src += 8;
        dst += 8;
        n -= 8;
    }
    while (n--) *dst++ = ascii_lower(*src++);
}

// Parses the question: QNAME without compression, lower-cased into q.name.
bool parse_question(std::span<const std::uint8_t> msg, Query& q) {
    std::size_t pos = kHeader;
    std::size_t len = 0;
    while (true) {
        if (pos + len >= msg.size()) return false;
        std::uint8_t label = msg[pos + len];
        if (label > 63) return false;  // compression in a QNAME or a bad label type
        if (label == 0) break;
        if (q.labels >= kMaxLabels) return false;
        q.label_off[q.labels++] = static_cast<std::uint8_t>(len);
        len += label + 1u;
        if (len + 1 > kMaxNameLength) return false;
    }
    ++len;  // the root label
    if (pos + len + 4 > msg.size()) return false;
    lower_copy(q.name, msg.data() + pos, len);
    q.name_len = len;
    pos += len;
    q.qtype = get16(&msg[pos]);
    q.qclass = get16(&msg[pos + 2]);
    q.question_end = pos + 4;
    return true;
}

// Walks the answer, authority and additional sections: every RR must parse,
// at most one OPT (with the root owner, in additional), nothing after the last RR.
bool parse_records(std::span<const std::uint8_t> msg, Query& q) {
    std::size_t pos = q.question_end;
    std::uint32_t an = get16(&msg[6]), ns = get16(&msg[8]), ar = get16(&msg[10]);
    for (std::uint32_t i = 0; i < an + ns + ar; ++i) {
        std::size_t owner = pos;
        if (!skip_name(msg, pos) || pos + 10 > msg.size()) return false;
        std::uint16_t type = get16(&msg[pos]);
        std::size_t rdlen = get16(&msg[pos + 8]);
        std::size_t rdata = pos + 10;
        if (rdata + rdlen > msg.size()) return false;
        if (type == kTypeOpt) {
            if (i < an + ns || q.edns || msg[owner] != 0) return false;
            q.edns = true;
            q.edns_payload = get16(&msg[pos + 2]);
            q.edns_version = msg[pos + 5];
            q.edns_do = (msg[pos + 6] & 0x80) != 0;
            // Options: each [code][length][data] must fit exactly; unknown ones are ignored.
            std::size_t o = rdata;
            while (o < rdata + rdlen) {
                if (o + 4 > rdata + rdlen) return false;
                o += 4 + get16(&msg[o + 2]);
            }
            if (o != rdata + rdlen) return false;
        }
        pos = rdata + rdlen;
    }
    return pos == msg.size();
}

class Responder {
public:
    Responder(const Snapshot& snap, const Query& q, std::span<const std::uint8_t> query, std::uint8_t* out,
              std::size_t limit, std::uint64_t rotation = 0)
        : snap_(snap), q_(q), query_(query), w_(out, limit), rotation_(rotation) {}

    // Header + question (copied as sent: the QNAME keeps its case).
    void begin(bool with_question) {
        const std::uint8_t header[kHeader] = {static_cast<std::uint8_t>(q_.id >> 8), static_cast<std::uint8_t>(q_.id),
                                              0, 0, 0, static_cast<std::uint8_t>(with_question ? 1 : 0), 0, 0, 0, 0, 0, 0};
        w_.put(header, kHeader);
        if (with_question) {
            w_.put(query_.data() + kHeader, q_.question_end - kHeader);
            w_.defer_name(kHeader, q_.name_len);
        }
    }

    Answered finish(std::uint8_t rcode) {
        std::uint8_t* b = w_.data();
        // QR, the query's opcode, RD and CD copied; RA never set.
        std::uint16_t flags = 0x8000 | (q_.flags & 0x7800) | (q_.flags & 0x0100) | (q_.flags & 0x0010);
        if (aa_) flags |= 0x0400;
        if (tc_) flags |= 0x0200;
        flags |= rcode & 0x0f;
        b[2] = static_cast<std::uint8_t>(flags >> 8);
        b[3] = static_cast<std::uint8_t>(flags);
        w_.set16(6, w_.count(Section::Answer));
        w_.set16(8, w_.count(Section::Authority));
        std::uint16_t additional = w_.count(Section::Additional);
        if (q_.edns) {
            // Room for the OPT was held back from the limit, so this always fits.
            w_.set_limit(w_.limit() + kOptSize);
            std::uint8_t opt[kOptSize] = {0, 0, kTypeOpt, 0, 0, 0, 0, 0, 0, 0, 0};
            opt[3] = static_cast<std::uint8_t>(snap_.settings().edns_udp_size >> 8);
            opt[4] = static_cast<std::uint8_t>(snap_.settings().edns_udp_size);
            opt[5] = static_cast<std::uint8_t>(rcode >> 4);
            opt[7] = q_.edns_do ? 0x80 : 0;
            w_.put(opt, kOptSize);
            ++additional;
        }
        w_.set16(10, additional);
        return Answered{Outcome::Reply, w_.size(), kNone, q_.qtype, rcode};
    }

    // Resolves the query against the snapshot; returns the rcode.
    std::uint8_t resolve();

    // Answer to a qtype=SOA at the apex: used for IXFR over UDP (RFC 1995 section 4).
    std::uint8_t soa_only(std::uint32_t zone) {
        aa_ = true;
        const Zone& z = snap_.zone(zone);
        if (!w_.rrset(snap_, snap_.rrset_at(z.soa), kHeader, Section::Answer)) tc_ = true;
        return kNoError;
    }

    void set_tc() { tc_ = true; }

private:
    // Where answers for the name at `step` are owned: step 0 points at the QNAME.
    bool put_answer(const RRset& set, std::span<const std::uint8_t> owner, bool is_qname) {
        bool ok = is_qname ? w_.rrset(snap_, set, kHeader, Section::Answer)
                           : w_.rrset(snap_, set, owner, Section::Answer);
        if (!ok) tc_ = true;
        return ok;
    }

    // A pool's live answer: its members that are up, rotated, capped; the
    // backup pool's when the policy says so. Returns false when nothing was
    // written (no member to list), true otherwise; sets TC when out of room.
    bool put_pool(std::uint32_t pool_index, std::size_t owner_at, std::span<const std::uint8_t> owner,
                  Section section) {
        std::uint32_t ttl_cap = kNone;
        for (int depth = 0; depth <= kMaxBackupDepth && pool_index != kNone; ++depth) {
            const Pool& pool = snap_.pool(pool_index);
            auto members = snap_.members_of(pool);
            std::size_t n = std::min(members.size(), kMaxPoolAnswer);
            std::uint32_t rdata[kMaxPoolAnswer];
            if (pool.uniform && n > 0) {
                // The common case, every member up and alike: rotate straight
                // from the member list, each member leading one query in n (the
                // share select_members would give; 250 instructions less).
                std::size_t up = 0;
                while (up < n && snap_.member_up(members[up])) ++up;
                if (up == n) {
                    std::size_t count = pool.max_records && pool.max_records < n ? pool.max_records : n;
                    std::size_t at = rotation_ % n;
                    for (std::size_t k = 0; k < count; ++k) {
                        rdata[k] = members[at].rdata;
                        if (++at == n) at = 0;
                    }
                    if (!w_.records(snap_, pool.type, {rdata, count}, owner_at, owner, section,
                                    std::min(pool.ttl, ttl_cap))) {
                        if (section != Section::Additional) tc_ = true;
                    }
                    return true;
                }
            }
            SelectMember sel[kMaxPoolAnswer];
            std::uint16_t order[kMaxPoolAnswer];
            for (std::size_t i = 0; i < n; ++i) sel[i] = {members[i].weight, snap_.member_up(members[i])};
            Selection s = select_members({sel, n}, pool.max_records, pool.all_down, rotation_, {order, n});
            std::uint32_t ttl = pool.ttl;
            if (s.degraded && pool.degraded_ttl != kNone) ttl = std::min(ttl, pool.degraded_ttl);
            ttl = std::min(ttl, ttl_cap);
            if (s.use_backup) {
                ttl_cap = ttl;
                pool_index = pool.backup;
                continue;
            }
            if (s.count == 0) return false;
            for (std::size_t k = 0; k < s.count; ++k) rdata[k] = members[order[k]].rdata;
            if (!w_.records(snap_, pool.type, {rdata, s.count}, owner_at, owner, section, ttl)) {
                if (section != Section::Additional) tc_ = true;
            }
            return true;
        }
        return false;
    }

    // Writes an RRset found at a node in answer to the question: a pool's
    // RRset of its type is answered live instead.
    bool put_node_answer(const Node& node, const RRset& set, std::span<const std::uint8_t> owner, bool is_qname,
                         std::uint32_t zone) {
        if (node.pool != kNone && snap_.pool(node.pool).type == set.type) {
            if (!put_pool(node.pool, kHeader, is_qname ? std::span<const std::uint8_t>{} : owner, Section::Answer)) {
                put_negative(zone, is_qname);
            }
            return true;
        }
        return put_answer(set, owner, is_qname);
    }

    // The SOA for NXDOMAIN/NODATA. About a name in the QNAME's own zone the
    // apex is a suffix of the QNAME, so the precompiled RR is patched to point
    // there; otherwise (a CNAME into another zone) it is written name by name.
    void put_negative(std::uint32_t zone, bool about_qname = false) {
        const Zone& z = snap_.zone(zone);
        if (about_qname && z.apex_len <= q_.name_len) {
            std::size_t apex_at = kHeader + q_.name_len - z.apex_len;
            if (!w_.precompiled(z.negative_soa, z.negative_soa_slots, apex_at, Section::Authority)) tc_ = true;
            return;
        }
        const Node& apex = snap_.node(z.apex);
        if (!w_.rrset(snap_, snap_.rrset_at(z.soa), snap_.name_of(apex), Section::Authority, z.negative_ttl)) {
            tc_ = true;
        }
    }

    void put_additional(const RRset& set, bool required) {
        for (std::uint32_t target : snap_.extras_of(set)) {
            const Node& t = snap_.node(target);
            for (std::uint16_t type : {std::uint16_t{LDNS_RR_TYPE_A}, std::uint16_t{LDNS_RR_TYPE_AAAA}}) {
                if (t.pool != kNone && snap_.pool(t.pool).type == type) {
                    put_pool(t.pool, 0, snap_.name_of(t), Section::Additional);
                    continue;
                }
                const RRset* glue = snap_.rrset(t, type);
                if (glue && !w_.rrset(snap_, *glue, snap_.name_of(t), Section::Additional)) {
                    // RFC 9471: glue a referral needs must fit, or the reply is truncated.
                    if (required) tc_ = true;
                    return;
                }
            }
        }
    }

    void referral(const Node& cut) {
        const RRset* ns = snap_.rrset(cut, LDNS_RR_TYPE_NS);
        if (!ns) return;
        if (!w_.rrset(snap_, *ns, snap_.name_of(cut), Section::Authority)) {
            tc_ = true;
            return;
        }
        put_additional(*ns, true);
    }

    const Snapshot& snap_;
    const Query& q_;
    std::span<const std::uint8_t> query_;
    WireWriter w_;
    std::uint64_t rotation_ = 0;
    bool aa_ = false;
    bool tc_ = false;
};

std::uint8_t Responder::resolve() {
    // The name being resolved: the QNAME, then each CNAME target in turn.
    std::uint8_t buf[kMaxNameLength];
    const std::uint8_t* name = q_.name;
    std::size_t name_len = q_.name_len;
    const Node* visited[kMaxChain];
    int steps = 0;

    for (; steps < kMaxChain; ++steps) {
        bool is_qname = steps == 0;
        std::span<const std::uint8_t> owner(name, name_len);

        // Exact node, else the closest encloser: strip labels until a name exists.
        const Node* node = snap_.find(name, name_len);
        const Node* encloser = node;
        if (!node) {
            std::size_t off = name[0] + 1u;
            while (off < name_len) {
                encloser = snap_.find(name + off, name_len - off);
                if (encloser) break;
                if (name[off] == 0) break;
                off += name[off] + 1u;
            }
        }
        if (!encloser) return is_qname ? kRefused : kNoError;  // not ours (a CNAME may leave our zones)
        if (is_qname) aa_ = true;

        // Delegation: at or below a cut, refer (DS at the cut itself is the parent's).
        std::uint32_t cut_index = encloser->cut;  // the highest cut at or above it
        if (cut_index != kNone) {
            const Node& cut = snap_.node(cut_index);
            bool ds_at_cut = node == &cut && q_.qtype == LDNS_RR_TYPE_DS;
            if (!ds_at_cut) {
                if (is_qname) aa_ = false;
                referral(cut);
                return kNoError;
            }
        }
        std::uint32_t zone = encloser->zone;

        const Node* data = node;
        if (!node) {
            // RFC 4592: the source of synthesis is "*." + the closest encloser.
            if (encloser->wildcard == kNone) {
                put_negative(zone, is_qname);
                return kNxDomain;
            }
            data = &snap_.node(encloser->wildcard);
        }
        for (int k = 0; k < steps; ++k) {
            if (visited[k] == data) return kNoError;  // a CNAME loop: stop where it closes
        }
        visited[steps] = data;

        if (q_.qtype == LDNS_RR_TYPE_DS && node && (node->flags & kApex) && snap_.zone(node->zone).parent != kNone) {
            // DS lives on the parent's side of the cut (RFC 4035 3.1.4.1): when
            // we serve the parent too, answer (or deny) from there.
            if (node->parent_ds != kNone) {
                put_answer(snap_.rrset_at(node->parent_ds), owner, is_qname);
            } else {
                put_negative(snap_.zone(node->zone).parent);
            }
            return kNoError;
        }
        if (q_.qtype == kTypeAny) {
            // RFC 8482: one RRset is enough.
            auto sets = snap_.rrsets_of(*data);
            if (sets.empty()) {
                put_negative(zone, is_qname);
            } else {
                put_node_answer(*data, sets[0], owner, is_qname, zone);
            }
            return kNoError;
        }
        if (data->pool != kNone && snap_.pool(data->pool).type == q_.qtype) {
            // A pool with no enabled member has no RRset, but its policy (a
            // backup pool) may still answer.
            if (!put_pool(data->pool, kHeader, is_qname ? std::span<const std::uint8_t>{} : owner, Section::Answer)) {
                put_negative(zone, is_qname);
            }
            return kNoError;
        }
        if (const RRset* set = snap_.rrset(*data, q_.qtype)) {
            if (put_answer(*set, owner, is_qname)) put_additional(*set, false);
            return kNoError;
        }
        const RRset* cname = snap_.rrset(*data, LDNS_RR_TYPE_CNAME);
        if (!cname) {
            put_negative(zone, is_qname);
            return kNoError;
        }
        if (!put_answer(*cname, owner, is_qname)) return kNoError;
        // Follow the target (wherever it is in our zones), lower-cased.
        auto rd = snap_.data_of(*cname);
        std::size_t n = wire_name_length(rd.subspan(2));
        if (n == 0) return kNoError;
        std::memcpy(buf, rd.data() + 2, n);
        lower_wire_name({buf, n});
        name = buf;
        name_len = n;
    }
    return kNoError;
}

}  // namespace

Answered answer(std::span<const std::uint8_t> query, const Snapshot& snap, const QueryContext& ctx,
                std::span<std::uint8_t> out) {
    if (query.size() < kHeader || out.size() < 512) return {};
    Query q;
    q.id = get16(&query[0]);
    q.flags = get16(&query[2]);
    if (q.flags & 0x8000) return {};  // a response: never answer it (reflection loops)

    std::size_t tcp_limit = std::min<std::size_t>(out.size(), 65535);
    std::uint16_t opcode = (q.flags >> 11) & 0x0f;
    std::uint16_t qdcount = get16(&query[4]);
    bool question_ok = qdcount == 1 && parse_question(query, q);
    auto reply_error = [&](std::uint8_t rcode, bool with_question) {
        Responder r(snap, q, query, out.data(), 512 - (q.edns ? kOptSize : 0));
        r.begin(with_question);
        return r.finish(rcode);
    };
    if (opcode != kOpcodeQuery && opcode != kOpcodeNotify) return reply_error(kNotImp, false);
    if (!question_ok) return reply_error(kFormErr, false);
    if (!parse_records(query, q)) {
        q.edns = false;  // the OPT itself may be what is malformed
        return reply_error(kFormErr, true);
    }
    if (q.edns && q.edns_version > 0) return reply_error(kBadVers, true);
    if (opcode == kOpcodeNotify) return reply_error(kRefused, true);  // we are a primary only
    if (q.qtype == kTypeOpt || q.qtype == kTypeTsig || q.qtype == kTypeTkey) return reply_error(kFormErr, true);
    if (q.qtype == kTypeMaila || q.qtype == kTypeMailb) return reply_error(kNotImp, true);
    if (q.qclass != LDNS_RR_CLASS_IN) return reply_error(kRefused, true);

    std::size_t limit = tcp_limit;
    if (ctx.transport == Transport::Udp) {
        std::size_t payload = q.edns ? std::clamp<std::size_t>(q.edns_payload, 512, snap.settings().edns_udp_size) : 512;
        limit = std::min(limit, payload);
    }
    if (q.edns) limit -= kOptSize;

    if (q.qtype == kTypeAxfr || q.qtype == kTypeIxfr) {
        const Node* apex = snap.find(q.name, q.name_len);
        if (!apex || !(apex->flags & kApex)) return reply_error(kNotAuth, true);
        bool allowed = false;
        if (ctx.peer) {
            for (const auto& prefix : snap.settings().axfr_allow) allowed = allowed || prefix_contains(prefix, *ctx.peer);
        }
        if (!allowed) return reply_error(kRefused, true);
        if (ctx.transport == Transport::Udp) {
            if (q.qtype == kTypeAxfr) return reply_error(kRefused, true);  // RFC 5936: AXFR is TCP only
            Responder r(snap, q, query, out.data(), limit);
            r.begin(true);
            return r.finish(r.soa_only(apex->zone));
        }
        Answered a;
        a.outcome = Outcome::Transfer;
        a.zone = apex->zone;
        a.qtype = q.qtype;
        return a;
    }

    Responder r(snap, q, query, out.data(), limit, ctx.rotation);
    r.begin(true);
    return r.finish(r.resolve());
}

// --- AXFR -------------------------------------------------------------------

TransferCursor::TransferCursor(const Snapshot& snap, std::uint32_t zone, std::span<const std::uint8_t> query)
    : snap_(snap), zone_(zone) {
    std::memcpy(header_, query.data(), kHeader);
    std::size_t pos = kHeader;
    if (skip_name(query, pos) && pos + 4 <= query.size()) {
        question_len_ = pos + 4 - kHeader;
        std::memcpy(question_, query.data() + kHeader, question_len_);
    }
}

std::size_t TransferCursor::next(std::span<std::uint8_t> out) {
    if (stage_ == Stage::Done) return 0;
    // Leave headroom under 64 KiB: secondaries handle any size, but smaller
    // messages interleave better with other work on the loop.
    WireWriter w(out.data(), std::min<std::size_t>(out.size(), 16384));
    std::uint16_t flags = 0x8400 | (get16(header_ + 2) & 0x7800);  // QR, AA, opcode
    w.put(header_, 2);
    w.put16(flags);
    w.put16(first_ && question_len_ ? 1 : 0);
    w.put16(0);
    w.put16(0);
    w.put16(0);
    if (first_ && question_len_) {
        w.put(question_, question_len_);
        w.remember_name(kHeader);
    }
    first_ = false;
    const Zone& z = snap_.zone(zone_);
    const RRset& soa = snap_.rrset_at(z.soa);
    auto apex_name = snap_.name_of(snap_.node(z.apex));
    bool wrote = false, enlarged = false;
    while (stage_ != Stage::Done) {
        bool ok = true;
        if (stage_ == Stage::FirstSoa || stage_ == Stage::LastSoa) {
            ok = w.rrset(snap_, soa, apex_name, Section::Answer);
            if (ok) stage_ = stage_ == Stage::FirstSoa ? Stage::Body : Stage::Done;
        } else if (stage_ == Stage::Body) {
            auto nodes = snap_.nodes();
            if (node_ >= nodes.size()) {
                stage_ = Stage::Shadows;
                continue;
            }
            const Node& n = nodes[node_];
            if (n.zone != zone_ || rrset_ >= n.rrset_count) {
                ++node_;
                rrset_ = 0;
                continue;
            }
            const RRset& set = snap_.rrset_at(n.rrsets + rrset_);
            if (&set != &soa) ok = w.rrset(snap_, set, snap_.name_of(n), Section::Answer);
            if (ok) ++rrset_;
        } else if (stage_ == Stage::Shadows) {
            auto shadows = snap_.shadows();
            if (shadow_ >= shadows.size()) {
                stage_ = Stage::LastSoa;
                continue;
            }
            const ShadowRRset& s = shadows[shadow_];
            if (s.zone == zone_) {
                ok = w.rrset(snap_, snap_.rrset_at(s.rrset), snap_.name_at(s.name, s.name_len), Section::Answer);
            }
            if (ok) ++shadow_;
        }
        if (!ok) {
            if (!wrote && !enlarged) {
                // One RRset larger than a message: send it in a 64 KiB one.
                w.set_limit(std::min<std::size_t>(out.size(), 65535));
                enlarged = true;
                continue;
            }
            if (!wrote) {
                // Larger than any message can be: no secondary could load it either.
                stage_ = Stage::Done;
                return 0;
            }
            break;
        }
        wrote = true;
    }
    w.set16(6, w.count(Section::Answer));
    return w.size();
}

}  // namespace pooldns::dns
