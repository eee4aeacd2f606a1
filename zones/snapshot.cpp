// Builds the immutable Snapshot the DNS loops answer from (see
// include/pooldns/snapshot.hpp), and reads one from the store.
#include "pooldns/snapshot.hpp"

#include "pooldns/ldns_ptr.hpp"
#include "pooldns/pool_store.hpp"
#include "pooldns/store.hpp"
#include "pooldns/vip_store.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>
#include <map>
#include <unordered_map>

namespace pooldns::dns {

namespace {

std::string_view as_key(const std::uint8_t* p, std::size_t n) { return {reinterpret_cast<const char*>(p), n}; }

// The wire name after stripping the first label.
std::string_view parent_of(std::string_view wire) {
    if (wire.size() <= 1) return {};
    return wire.substr(static_cast<std::size_t>(static_cast<std::uint8_t>(wire[0])) + 1);
}

// Where the name in an RRset's rdata starts, for the types whose targets get
// additional-section A/AAAA (RFC 1035 section 3.3.9, RFC 2782).
int target_offset(std::uint16_t type) {
    switch (type) {
        case LDNS_RR_TYPE_NS: return 0;
        case LDNS_RR_TYPE_MX: return 2;
        case LDNS_RR_TYPE_SRV: return 6;
        default: return -1;
    }
}

// A setting's list: items separated by spaces or commas.
std::vector<std::string> split_list(std::string_view value) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < value.size()) {
        std::size_t j = value.find_first_of(" ,", i);
        if (j == std::string_view::npos) j = value.size();
        if (j > i) out.emplace_back(value.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

}  // namespace

Result<Prefix> parse_prefix(std::string_view text) {
    Prefix p;
    std::string addr(text);
    int bits = -1;
    if (auto slash = addr.find('/'); slash != std::string::npos) {
        std::string b = addr.substr(slash + 1);
        addr.resize(slash);
        if (b.empty() || b.size() > 3 || !std::all_of(b.begin(), b.end(), ::isdigit)) {
            return Error{fmt::format("'{}' is not an address or prefix", text)};
        }
        bits = std::stoi(b);
    }
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, addr.c_str(), &v4) == 1) {
        if (bits > 32) return Error{fmt::format("'{}': an IPv4 prefix is at most /32", text)};
        p.addr[10] = p.addr[11] = 0xff;
        std::memcpy(p.addr.data() + 12, &v4, 4);
        p.bits = static_cast<std::uint8_t>(96 + (bits < 0 ? 32 : bits));
    } else if (inet_pton(AF_INET6, addr.c_str(), &v6) == 1) {
        if (bits > 128) return Error{fmt::format("'{}': an IPv6 prefix is at most /128", text)};
        std::memcpy(p.addr.data(), &v6, 16);
        p.bits = static_cast<std::uint8_t>(bits < 0 ? 128 : bits);
    } else {
        return Error{fmt::format("'{}' is not an address or prefix", text)};
    }
    return p;
}

bool prefix_contains(const Prefix& p, const std::array<std::uint8_t, 16>& addr) {
    std::size_t full = p.bits / 8, rest = p.bits % 8;
    if (std::memcmp(p.addr.data(), addr.data(), full) != 0) return false;
    if (rest == 0) return true;
    std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (p.addr[full] & mask) == (addr[full] & mask);
}

Result<EngineSettings> parse_settings(const std::vector<std::pair<std::string, std::string>>& rows) {
    EngineSettings s;
    s.axfr_allow = {parse_prefix("127.0.0.0/8").value(), parse_prefix("::1").value()};
    auto number = [](const std::string& key, const std::string& v, std::uint64_t lo,
                     std::uint64_t hi) -> Result<std::uint64_t> {
        if (v.empty() || v.size() > 10 || !std::all_of(v.begin(), v.end(), ::isdigit)) {
            return Error{fmt::format("setting {}: '{}' is not a number", key, v)};
        }
        std::uint64_t n = std::stoull(v);
        if (n < lo || n > hi) return Error{fmt::format("setting {}: {} is outside {}..{}", key, n, lo, hi)};
        return n;
    };
    for (const auto& [key, value] : rows) {
        if (key == "edns_udp_size") {
            auto n = number(key, value, 512, 65535);
            if (!n) return n.error();
            s.edns_udp_size = static_cast<std::uint16_t>(*n);
        } else if (key == "axfr_allow") {
            s.axfr_allow.clear();
            for (const auto& item : split_list(value)) {
                auto p = parse_prefix(item);
                if (!p) return Error{fmt::format("setting axfr_allow: {}", p.error().message)};
                s.axfr_allow.push_back(*p);
            }
        } else if (key == "tcp_idle_timeout_ms") {
            auto n = number(key, value, 100, 3600000);
            if (!n) return n.error();
            s.tcp_idle_timeout_ms = static_cast<std::uint32_t>(*n);
        } else if (key == "tcp_max_connections") {
            auto n = number(key, value, 1, 1000000);
            if (!n) return n.error();
            s.tcp_max_connections = static_cast<std::uint32_t>(*n);
        } else if (key == "notify") {
            s.notify = split_list(value);
        } else if (key == "health_max_in_flight") {
            auto n = number(key, value, 1, 100000);
            if (!n) return n.error();
            s.health_max_in_flight = static_cast<std::uint32_t>(*n);
        } else if (key == "health_jitter_percent") {
            auto n = number(key, value, 0, 50);
            if (!n) return n.error();
            s.health_jitter_percent = static_cast<std::uint32_t>(*n);
        } else if (key == "query_log") {
            auto n = number(key, value, 0, 1);
            if (!n) return n.error();
            s.query_log = *n == 1;
        } else if (key == kVipCookieSecretKey) {
            if (value.size() != 32 ||
                !std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isxdigit(c) != 0; })) {
                return Error{fmt::format("setting {}: expected 32 hex digits", key)};
            }
            // SipHash takes a 64-bit seed here: fold the two halves into it.
            std::uint64_t hi = std::stoull(value.substr(0, 16), nullptr, 16);
            std::uint64_t lo = std::stoull(value.substr(16), nullptr, 16);
            s.vip_cookie_seed = hi ^ vip::detail::mix64(lo);
        }
        // Other keys belong to other modules (health, VIP).
    }
    return s;
}

namespace {
bool same_bytes(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
    // Names are short: compare 8 octets at a time, inline.
    while (n >= 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a, 8);
        std::memcpy(&y, b, 8);
        if (x != y) return false;
        a += 8;
        b += 8;
        n -= 8;
    }
    while (n--) {
        if (*a++ != *b++) return false;
    }
    return true;
}
}  // namespace

const Node* Snapshot::find(const std::uint8_t* name, std::size_t len) const {
    if (table_.empty()) return nullptr;
    std::uint64_t h = hash_bytes(name, len);
    auto h32 = static_cast<std::uint32_t>(h);
    for (std::uint64_t i = h & mask_;; i = (i + 1) & mask_) {
        const Slot& s = table_[i];
        if (s.node == kNone) return nullptr;
        if (s.hash == h32) {
            const Node& n = nodes_[s.node];
            if (n.name_len == len && same_bytes(names_.data() + n.name, name, len)) return &n;
        }
    }
}

std::size_t Snapshot::memory_bytes() const {
    return table_.capacity() * sizeof(Slot) + nodes_.capacity() * sizeof(Node) + rrsets_.capacity() * sizeof(RRset) +
           names_.capacity() + data_.capacity() + extras_.capacity() * sizeof(std::uint32_t) +
           zones_.capacity() * sizeof(Zone) + shadows_.capacity() * sizeof(ShadowRRset);
}

// Builds a Snapshot from zones and rows streamed in, in any order. Names are
// indexed in the snapshot's own open-addressing table as they arrive (no
// string-keyed maps, nothing allocated per record), so a million-record zone
// builds in seconds and leaves little garbage behind.
class SnapshotBuilder {
public:
    explicit SnapshotBuilder(EngineSettings settings, std::size_t expected_records)
        : snap_(std::make_shared<Snapshot>()) {
        snap_->settings_ = std::move(settings);
        snap_->nodes_.reserve(expected_records + 16);
        snap_->names_.reserve(expected_records * 20 + 256);
        pending_.reserve(expected_records);
        rdata_pool_.reserve(expected_records * 8);
        resize_table(expected_records * 2 + 16);
    }

    // Zones are all declared before their records.
    Status add_zone(std::string_view origin) {
        std::uint8_t wire[kMaxNameLength];
        std::size_t n = name_to_wire(origin, wire);
        if (n == 0) return Error{fmt::format("zone '{}': origin is not a valid name", origin)};
        Zone zone;
        zone.origin = std::string(origin);
        snap_->zones_.push_back(std::move(zone));
        apexes_.push_back(std::string(as_key(wire, n)));
        return {};
    }

    // After the last add_zone: creates the apex nodes.
    void zones_done() {
        for (const auto& a : apexes_) {
            for (const auto& b : apexes_) {
                if (a.size() > b.size() && a.ends_with(b) && label_boundary(a, a.size() - b.size())) nested_ = true;
            }
        }
        for (std::uint32_t zi = 0; zi < apexes_.size(); ++zi) {
            std::uint32_t apex = node_for(apexes_[zi], zi);
            snap_->zones_[zi].apex = apex;
            snap_->nodes_[apex].flags |= kApex;
        }
        // A child's apex sits in the parent as a name too (NODATA, not
        // NXDOMAIN, for the names between): link it up as empty non-terminals.
        for (std::uint32_t zi = 0; zi < apexes_.size(); ++zi) {
            std::string_view parent = parent_of(apexes_[zi]);
            std::uint32_t pz = parent.empty() ? kNone : owning_zone(parent);
            snap_->zones_[zi].parent = pz;
            if (pz != kNone) node_for(parent, pz);
        }
    }

    Status add_record(std::uint32_t zi, std::string_view owner, std::uint16_t type, std::uint32_t ttl,
                      std::span<const std::uint8_t> rdata) {
        std::uint8_t wire[kMaxNameLength];
        std::size_t n = name_to_wire(owner, wire);
        if (n == 0) return Error{fmt::format("zone '{}': owner '{}' is not a valid name", snap_->zones_[zi].origin, owner)};
        if (rdata.size() > 65535) return Error{fmt::format("zone '{}': rdata at '{}' too long", snap_->zones_[zi].origin, owner)};
        lower_wire_name({wire, n});
        std::string_view key = as_key(wire, n);
        ++snap_->zones_[zi].records;
        ++snap_->records_;
        PendingRR rr{0, type, ttl, push_rdata(rdata), static_cast<std::uint16_t>(rdata.size())};
        std::uint32_t owner_zone = nested_ ? owning_zone(key) : zi;
        if (owner_zone != zi) {
            // A child zone we also serve answers queries for this name; the
            // parent's RRs here are kept for AXFR of the parent only, and its
            // DS at the child's apex answers DS queries (RFC 4035 3.1.4.1).
            rr.node = shadow_name(key, zi);
            shadows_pending_.push_back(rr);
            if (type == LDNS_RR_TYPE_DS && owner_zone != kNone && key == apexes_[owner_zone]) {
                rr.node = node_for(key, owner_zone);
                parent_ds_.push_back(rr);
            }
            return {};
        }
        rr.node = node_for(key, zi);
        pending_.push_back(rr);
        return {};
    }

    // A/AAAA of a server's host name, in whichever zone we serve holds it.
    Status add_host_record(std::string_view owner, std::uint16_t type, std::uint32_t ttl,
                           std::span<const std::uint8_t> rdata) {
        std::uint8_t wire[kMaxNameLength];
        std::size_t n = name_to_wire(owner, wire);
        if (n == 0) return Error{fmt::format("server host '{}' is not a valid name", owner)};
        lower_wire_name({wire, n});
        std::uint32_t zi = owning_zone(as_key(wire, n));
        if (zi == kNone) return {};  // served elsewhere
        return add_record(zi, owner, type, ttl, rdata);
    }

    // A pool: its node (so an empty pool answers NODATA, not NXDOMAIN), its
    // members as the node's RRset of the pool's type, and later its Pool.
    Status add_pool(PoolData pool) {
        std::uint8_t wire[kMaxNameLength];
        std::size_t n = name_to_wire(pool.fqdn, wire);
        if (n == 0) return Error{fmt::format("pool '{}' is not a valid name", pool.fqdn)};
        lower_wire_name({wire, n});
        std::uint32_t zi = owning_zone(as_key(wire, n));
        if (zi == kNone) return Error{fmt::format("pool '{}' lies in no zone we serve", pool.fqdn)};
        node_for(as_key(wire, n), zi);
        for (const auto& m : pool.members) {
            auto octets = address_octets(m.address);
            if (octets.size() != (pool.type == LDNS_RR_TYPE_A ? 4u : 16u)) {
                return Error{fmt::format("pool '{}': member address '{}' does not fit type {}", pool.fqdn, m.address,
                                         pool.type)};
            }
            if (!m.enabled) continue;
            if (auto s = add_record(zi, pool.fqdn, pool.type, pool.ttl, octets); !s) return s;
        }
        pools_pending_.push_back(std::move(pool));
        return {};
    }

    void set_health(std::shared_ptr<HealthTable> health) { health_ = std::move(health); }

    void add_vip(vip::VipConfig v) { vips_pending_.push_back(std::move(v)); }

    Result<std::shared_ptr<const Snapshot>> finish() {
        finish_rrsets();
        if (auto st = finish_zones(); !st) return st.error();
        if (auto st = link_pools(); !st) return st.error();
        link_vips();
        link_nodes();
        link_extras();
        snap_->nodes_.shrink_to_fit();
        snap_->names_.shrink_to_fit();
        return std::shared_ptr<const Snapshot>(std::move(snap_));
    }

private:
    struct PendingRR {
        std::uint32_t node;
        std::uint16_t type;
        std::uint32_t ttl;
        std::uint32_t rdata;   // offset in rdata_pool_
        std::uint16_t rdlen;
    };

    static bool label_boundary(std::string_view wire, std::size_t at) {
        for (std::size_t i = 0; i < wire.size(); i += static_cast<std::uint8_t>(wire[i]) + 1u) {
            if (i == at) return true;
            if (wire[i] == 0) break;
        }
        return false;
    }

    const Node* lookup(std::string_view wire) const {
        return snap_->find(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size());
    }
    std::uint32_t index_of(const Node* n) const { return static_cast<std::uint32_t>(n - snap_->nodes_.data()); }

    // The zone that owns a name: the deepest zone whose apex is a suffix of it.
    std::uint32_t owning_zone(std::string_view wire) const {
        std::uint32_t best = kNone;
        std::size_t best_len = 0;
        for (std::uint32_t zi = 0; zi < apexes_.size(); ++zi) {
            const std::string& a = apexes_[zi];
            if (a.size() > best_len && wire.size() >= a.size() && wire.ends_with(a) &&
                label_boundary(wire, wire.size() - a.size())) {
                best = zi;
                best_len = a.size();
            }
        }
        return best;
    }

    void resize_table(std::size_t want) {
        std::size_t size = 16;
        while (size < want) size <<= 1;
        snap_->table_.assign(size, {});
        snap_->mask_ = size - 1;
        for (std::uint32_t i = 0; i < snap_->nodes_.size(); ++i) insert_slot(i);
    }

    void insert_slot(std::uint32_t i) {
        const Node& n = snap_->nodes_[i];
        std::uint64_t h = hash_bytes(snap_->names_.data() + n.name, n.name_len);
        std::uint64_t slot = h & snap_->mask_;
        while (snap_->table_[slot].node != kNone) slot = (slot + 1) & snap_->mask_;
        snap_->table_[slot] = {static_cast<std::uint32_t>(h), i};
    }

    // The node of a wire name, created (with its empty non-terminals up to the
    // zone apex) if new.
    std::uint32_t node_for(std::string_view wire, std::uint32_t zone) {
        if (const Node* existing = lookup(wire)) return index_of(existing);
        auto id = static_cast<std::uint32_t>(snap_->nodes_.size());
        Node n;
        n.name = static_cast<std::uint32_t>(snap_->names_.size());
        n.name_len = static_cast<std::uint8_t>(wire.size());
        n.zone = zone;
        snap_->names_.insert(snap_->names_.end(), wire.begin(), wire.end());
        snap_->nodes_.push_back(n);
        if (snap_->nodes_.size() * 2 > snap_->table_.size()) {
            resize_table(snap_->table_.size() * 2);
        } else {
            insert_slot(id);
        }
        if (wire.size() > apexes_[zone].size()) node_for(parent_of(wire), zone);
        return id;
    }

    // Shadow names are numbered per (zone, name).
    std::uint32_t shadow_name(std::string_view wire, std::uint32_t zone) {
        for (std::uint32_t i = 0; i < shadow_names_.size(); ++i) {
            const ShadowRRset& s = shadow_names_[i];
            if (s.zone == zone && as_key(snap_->names_.data() + s.name, s.name_len) == wire) return i;
        }
        ShadowRRset s;
        s.zone = zone;
        s.name = static_cast<std::uint32_t>(snap_->names_.size());
        s.name_len = static_cast<std::uint8_t>(wire.size());
        snap_->names_.insert(snap_->names_.end(), wire.begin(), wire.end());
        shadow_names_.push_back(s);
        return static_cast<std::uint32_t>(shadow_names_.size() - 1);
    }

    std::uint32_t push_rdata(std::span<const std::uint8_t> rdata) {
        auto off = static_cast<std::uint32_t>(rdata_pool_.size());
        rdata_pool_.insert(rdata_pool_.end(), rdata.begin(), rdata.end());
        return off;
    }

    // Groups pending RRs into RRsets, contiguous per node.
    void finish_rrsets() {
        auto by_name_type = [&](const PendingRR& a, const PendingRR& b) {
            if (a.node != b.node) return a.node < b.node;
            if (a.type != b.type) return a.type < b.type;
            return std::lexicographical_compare(rdata_pool_.begin() + a.rdata, rdata_pool_.begin() + a.rdata + a.rdlen,
                                                rdata_pool_.begin() + b.rdata, rdata_pool_.begin() + b.rdata + b.rdlen);
        };
        std::sort(pending_.begin(), pending_.end(), by_name_type);
        std::sort(parent_ds_.begin(), parent_ds_.end(), by_name_type);
        std::sort(shadows_pending_.begin(), shadows_pending_.end(), by_name_type);
        snap_->data_.reserve(rdata_pool_.size() + 2 * pending_.size());
        enum class Kind { Node, ParentDs, Shadow };
        auto emit = [&](std::vector<PendingRR>& list, Kind kind) {
            for (std::size_t i = 0; i < list.size();) {
                std::size_t j = i;
                RRset set;
                set.type = list[i].type;
                set.ttl = list[i].ttl;
                set.data = static_cast<std::uint32_t>(snap_->data_.size());
                while (j < list.size() && list[j].node == list[i].node && list[j].type == list[i].type) {
                    const PendingRR& p = list[j];
                    set.ttl = std::min(set.ttl, p.ttl);
                    snap_->data_.push_back(static_cast<std::uint8_t>(p.rdlen >> 8));
                    snap_->data_.push_back(static_cast<std::uint8_t>(p.rdlen));
                    snap_->data_.insert(snap_->data_.end(), rdata_pool_.begin() + p.rdata,
                                        rdata_pool_.begin() + p.rdata + p.rdlen);
                    ++set.count;
                    ++j;
                }
                set.size = static_cast<std::uint32_t>(snap_->data_.size() - set.data);
                auto idx = static_cast<std::uint32_t>(snap_->rrsets_.size());
                snap_->rrsets_.push_back(set);
                if (kind == Kind::Shadow) {
                    ShadowRRset shadow = shadow_names_[list[i].node];
                    shadow.rrset = idx;
                    snap_->shadows_.push_back(shadow);
                } else if (kind == Kind::ParentDs) {
                    snap_->nodes_[list[i].node].parent_ds = idx;
                } else {
                    Node& node = snap_->nodes_[list[i].node];
                    if (node.rrset_count == 0) node.rrsets = idx;
                    ++node.rrset_count;
                }
                i = j;
            }
        };
        emit(pending_, Kind::Node);
        emit(parent_ds_, Kind::ParentDs);
        emit(shadows_pending_, Kind::Shadow);
        std::vector<std::uint8_t>().swap(rdata_pool_);
        std::vector<PendingRR>().swap(pending_);
        snap_->rrsets_.shrink_to_fit();
        snap_->data_.shrink_to_fit();
    }

    Status finish_zones() {
        for (auto& z : snap_->zones_) {
            const Node& apex = snap_->nodes_[z.apex];
            const RRset* soa = snap_->rrset(apex, LDNS_RR_TYPE_SOA);
            if (!soa) return Error{fmt::format("zone '{}' has no SOA record", z.origin)};
            z.soa = static_cast<std::uint32_t>(soa - snap_->rrsets_.data());
            std::vector<std::uint8_t> rdata(snap_->data_.begin() + soa->data + 2, snap_->data_.begin() + soa->data + soa->size);
            auto minimum = soa_minimum(rdata);
            auto serial = soa_serial(rdata);
            if (!minimum || !serial) return Error{fmt::format("zone '{}': SOA rdata is malformed", z.origin)};
            z.negative_ttl = std::min(soa->ttl, *minimum);
            z.serial = *serial;
            precompile_negative_soa(z, rdata);
        }
        return {};
    }

    void precompile_negative_soa(Zone& z, const std::vector<std::uint8_t>& rdata) {
        std::string_view apex = as_key(snap_->names_.data() + snap_->nodes_[z.apex].name, snap_->nodes_[z.apex].name_len);
        z.apex_len = static_cast<std::uint8_t>(apex.size());
        auto& out = z.negative_soa;
        auto slot = [&] {
            z.negative_soa_slots.push_back(static_cast<std::uint16_t>(out.size()));
            out.push_back(0xc0);
            out.push_back(0);
        };
        // A name from the rdata: the labels above the apex, then a slot; or the
        // whole name when it lies outside the zone.
        auto name = [&](std::size_t at) -> std::size_t {
            std::size_t n = wire_name_length({rdata.data() + at, rdata.size() - at});
            std::uint8_t lower[kMaxNameLength];
            std::memcpy(lower, rdata.data() + at, n);
            lower_wire_name({lower, n});
            std::string_view whole = as_key(lower, n);
            if (whole.size() >= apex.size() && whole.ends_with(apex) && label_boundary(whole, whole.size() - apex.size())) {
                out.insert(out.end(), rdata.begin() + static_cast<std::ptrdiff_t>(at),
                           rdata.begin() + static_cast<std::ptrdiff_t>(at + n - apex.size()));
                slot();
            } else {
                out.insert(out.end(), rdata.begin() + static_cast<std::ptrdiff_t>(at),
                           rdata.begin() + static_cast<std::ptrdiff_t>(at + n));
            }
            return n;
        };
        slot();  // the owner: the apex itself
        const std::uint32_t ttl = z.negative_ttl;
        out.insert(out.end(), {0, LDNS_RR_TYPE_SOA, 0, LDNS_RR_CLASS_IN, static_cast<std::uint8_t>(ttl >> 24),
                               static_cast<std::uint8_t>(ttl >> 16), static_cast<std::uint8_t>(ttl >> 8),
                               static_cast<std::uint8_t>(ttl), 0, 0});
        std::size_t rdlen_at = out.size() - 2;
        std::size_t a = name(0);
        std::size_t b = name(a);
        out.insert(out.end(), rdata.begin() + static_cast<std::ptrdiff_t>(a + b), rdata.end());
        std::size_t rdlen = out.size() - rdlen_at - 2;
        out[rdlen_at] = static_cast<std::uint8_t>(rdlen >> 8);
        out[rdlen_at + 1] = static_cast<std::uint8_t>(rdlen);
    }

    // Marks cuts, links every name to the highest cut above it, and wildcard parents.
    void link_nodes() {
        auto& nodes = snap_->nodes_;
        std::vector<bool> zone_has_cut(snap_->zones_.size(), false);
        for (auto& n : nodes) {
            if (!(n.flags & kApex) && snap_->rrset(n, LDNS_RR_TYPE_NS)) {
                n.flags |= kCut;
                zone_has_cut[n.zone] = true;
            }
        }
        for (std::uint32_t i = 0; i < nodes.size(); ++i) {
            Node& n = nodes[i];
            std::string_view name = as_key(snap_->names_.data() + n.name, n.name_len);
            if (n.name_len > 2 && name[0] == 1 && name[1] == '*') {
                if (const Node* parent = lookup(parent_of(name))) nodes[index_of(parent)].wildcard = i;
            }
            // The highest cut at or above this node, below the zone apex.
            if ((n.flags & kApex) || !zone_has_cut[n.zone]) continue;
            for (std::string_view s = name; !s.empty(); s = parent_of(s)) {
                const Node* a = lookup(s);
                if (!a || (a->flags & kApex)) break;
                if (a->flags & kCut) n.cut = index_of(a);
            }
        }
    }

    Status link_pools() {
        std::unordered_map<std::string, std::uint32_t> by_name;
        for (std::uint32_t pi = 0; pi < pools_pending_.size(); ++pi) by_name.emplace(pools_pending_[pi].fqdn, pi);
        std::unordered_map<std::string, std::uint32_t> target_of_key;
        for (std::uint32_t pi = 0; pi < pools_pending_.size(); ++pi) {
            const PoolData& in = pools_pending_[pi];
            std::uint8_t wire[kMaxNameLength];
            std::size_t n = name_to_wire(in.fqdn, wire);
            lower_wire_name({wire, n});
            const Node* node = lookup(as_key(wire, n));
            Pool pool;
            pool.node = index_of(node);
            pool.type = in.type;
            pool.all_down = in.all_down;
            pool.max_records = in.max_records;
            pool.ttl = in.ttl;
            pool.degraded_ttl = in.degraded_ttl;
            if (in.all_down == AllDown::Backup) {
                auto it = by_name.find(in.backup);
                if (it == by_name.end()) return Error{fmt::format("pool '{}': backup pool '{}' does not exist", in.fqdn, in.backup)};
                pool.backup = it->second;
            }
            pool.members = static_cast<std::uint32_t>(snap_->pool_members_.size());
            const RRset* set = snap_->rrset(*node, in.type);
            for (const auto& m : in.members) {
                auto octets = address_octets(m.address);
                PoolMember pm;
                pm.weight = m.weight;
                // Find this member's RR in the node's RRset (sorted by the builder).
                bool found = false;
                if (set && m.enabled) {
                    std::size_t pos = set->data;
                    for (std::uint16_t k = 0; k < set->count && !found; ++k) {
                        std::size_t rdlen = (std::size_t{snap_->data_[pos]} << 8) | snap_->data_[pos + 1];
                        if (rdlen == octets.size() && std::memcmp(&snap_->data_[pos + 2], octets.data(), rdlen) == 0) {
                            pm.rdata = static_cast<std::uint32_t>(pos);
                            found = true;
                        }
                        pos += 2 + rdlen;
                    }
                }
                if (!found && m.enabled) return Error{fmt::format("pool '{}': member {} has no record", in.fqdn, m.address)};
                if (!in.check.empty() && health_) {
                    const std::string& probe = m.probe_address.empty() ? m.address : m.probe_address;
                    std::string key = health_key(probe, in.check, in.rise, in.fall, m.host, in.source);
                    auto [it, fresh] = target_of_key.emplace(key, static_cast<std::uint32_t>(snap_->targets_.size()));
                    if (fresh) {
                        HealthTarget t;
                        t.slot = health_->slot(key, m.initial);
                        t.address = probe;
                        t.check = in.check;
                        t.interval_ms = in.interval_ms;
                        t.timeout_ms = in.timeout_ms;
                        t.rise = in.rise;
                        t.fall = in.fall;
                        t.host = m.host;
                        t.source = in.source;
                        snap_->targets_.push_back(std::move(t));
                    }
                    HealthTarget& t = snap_->targets_[it->second];
                    // One probe serves every pool: the most demanding schedule wins.
                    t.interval_ms = std::min(t.interval_ms, in.interval_ms);
                    t.timeout_ms = std::min(t.timeout_ms, in.timeout_ms);
                    t.members.push_back({in.id, m.server_id, fmt::format("{}/{}", in.fqdn, m.server)});
                    pm.health = t.slot;
                    member_slots_[{in.fqdn, m.server_id}] = t.slot;
                }
                if (m.enabled) snap_->pool_members_.push_back(pm);
            }
            pool.member_count = static_cast<std::uint16_t>(snap_->pool_members_.size() - pool.members);
            for (std::uint32_t k = pool.members; k < snap_->pool_members_.size(); ++k) {
                if (snap_->pool_members_[k].weight != snap_->pool_members_[pool.members].weight) pool.uniform = false;
            }
            snap_->nodes_[pool.node].pool = static_cast<std::uint32_t>(snap_->pools_.size());
            snap_->pools_.push_back(pool);
        }
        snap_->health_ = health_;
        return {};
    }

    // A VIP's backends are its pool's members, with the slots link_pools gave them.
    void link_vips() {
        std::unordered_map<std::string, const PoolData*> pools;
        for (const auto& p : pools_pending_) pools.emplace(p.fqdn, &p);
        for (auto& v : vips_pending_) {
            auto it = pools.find(v.pool);
            if (it == pools.end()) continue;
            const PoolData& p = *it->second;
            v.backends.clear();
            for (const auto& m : p.members) {
                vip::VipBackend b;
                b.server_id = m.server_id;
                b.server = m.server;
                b.host = m.host;
                b.address = m.probe_address.empty() ? m.address : m.probe_address;
                b.weight = m.weight;
                b.enabled = m.enabled;
                auto slot = member_slots_.find({p.fqdn, m.server_id});
                if (slot != member_slots_.end()) b.health = slot->second;
                v.backends.push_back(std::move(b));
            }
            snap_->vips_.push_back(std::move(v));
        }
    }

    // For NS, MX and SRV RRsets: the nodes holding A/AAAA for their targets.
    void link_extras() {
        for (auto& set : snap_->rrsets_) {
            int offset = target_offset(set.type);
            if (offset < 0) continue;
            set.extra = static_cast<std::uint32_t>(snap_->extras_.size());
            std::size_t pos = set.data;
            for (std::uint16_t k = 0; k < set.count; ++k) {
                std::size_t rdlen = (std::size_t{snap_->data_[pos]} << 8) | snap_->data_[pos + 1];
                std::size_t start = pos + 2 + static_cast<std::size_t>(offset);
                pos += 2 + rdlen;
                if (start >= pos) continue;
                std::uint8_t target[kMaxNameLength];
                std::size_t n = wire_name_length({snap_->data_.data() + start, pos - start});
                if (n == 0) continue;
                std::memcpy(target, snap_->data_.data() + start, n);
                lower_wire_name({target, n});
                const Node* t = lookup(as_key(target, n));
                if (!t) continue;
                if (!snap_->rrset(*t, LDNS_RR_TYPE_A) && !snap_->rrset(*t, LDNS_RR_TYPE_AAAA)) continue;
                std::uint32_t ti = index_of(t);
                if (std::find(snap_->extras_.begin() + set.extra, snap_->extras_.end(), ti) != snap_->extras_.end()) {
                    continue;
                }
                snap_->extras_.push_back(ti);
            }
            set.extra_count = static_cast<std::uint16_t>(snap_->extras_.size() - set.extra);
        }
    }

    std::shared_ptr<Snapshot> snap_;
    std::vector<std::string> apexes_;  // wire form, per zone
    bool nested_ = false;              // some zone lies inside another we serve
    std::vector<PendingRR> pending_;
    std::vector<PendingRR> parent_ds_;
    std::vector<PendingRR> shadows_pending_;  // .node is an index in shadow_names_
    std::vector<ShadowRRset> shadow_names_;
    std::vector<std::uint8_t> rdata_pool_;
    std::vector<PoolData> pools_pending_;
    std::vector<vip::VipConfig> vips_pending_;
    std::map<std::pair<std::string, std::int64_t>, std::uint32_t> member_slots_;  // (pool, server id) -> health slot
    std::shared_ptr<HealthTable> health_;
};

Result<std::shared_ptr<const Snapshot>> Snapshot::build(std::vector<ZoneData> zones, EngineSettings settings) {
    return build(std::move(zones), {}, std::move(settings), nullptr);
}

Result<std::shared_ptr<const Snapshot>> Snapshot::build(std::vector<ZoneData> zones, std::vector<PoolData> pools,
                                                        EngineSettings settings, std::shared_ptr<HealthTable> health) {
    return build(std::move(zones), std::move(pools), {}, std::move(settings), std::move(health));
}

Result<std::shared_ptr<const Snapshot>> Snapshot::build(std::vector<ZoneData> zones, std::vector<PoolData> pools,
                                                        std::vector<vip::VipConfig> vips, EngineSettings settings,
                                                        std::shared_ptr<HealthTable> health) {
    std::size_t total = 0;
    for (const auto& z : zones) total += z.records.size();
    SnapshotBuilder builder(std::move(settings), total);
    builder.set_health(std::move(health));
    for (const auto& z : zones) {
        if (auto st = builder.add_zone(z.origin); !st) return st.error();
    }
    builder.zones_done();
    for (std::uint32_t zi = 0; zi < zones.size(); ++zi) {
        for (const auto& r : zones[zi].records) {
            if (auto st = builder.add_record(zi, r.owner, r.type, r.ttl, r.rdata); !st) return st.error();
        }
    }
    for (auto& p : pools) {
        if (auto st = builder.add_pool(std::move(p)); !st) return st.error();
    }
    for (auto& v : vips) builder.add_vip(std::move(v));
    return builder.finish();
}

std::string health_key(std::string_view address, std::string_view check, std::uint32_t rise, std::uint32_t fall,
                       std::string_view host, std::string_view source) {
    return fmt::format("{}|{}|{}|{}|{}|{}", address, check, rise, fall, host, source);
}

Result<std::shared_ptr<const Snapshot>> load_snapshot(const Database& db, std::shared_ptr<HealthTable> health) {
    try {
        // One read transaction: the snapshot is one committed state of the file.
        db.exec("BEGIN");
        struct End {
            const Database& db;
            ~End() {
                try {
                    db.exec("COMMIT");
                } catch (const StoreError&) {
                }
            }
        } end{db};
        std::vector<std::pair<std::string, std::string>> rows;
        auto st = db.prepare("SELECT key, value FROM settings");
        while (st.step()) rows.emplace_back(st.column_text(0), st.column_text(1));
        auto settings = parse_settings(rows);
        if (!settings) return settings.error();

        auto count = db.prepare("SELECT count(*) FROM records");
        count.step();
        SnapshotBuilder builder(std::move(*settings), static_cast<std::size_t>(count.column_int(0)));
        std::unordered_map<std::int64_t, std::uint32_t> by_id;
        auto zs = db.prepare("SELECT id, origin FROM zones ORDER BY origin");
        while (zs.step()) {
            by_id[zs.column_int(0)] = static_cast<std::uint32_t>(by_id.size());
            if (auto s = builder.add_zone(zs.column_text_view(1)); !s) return s.error();
        }
        builder.zones_done();
        auto rs = db.prepare("SELECT zone_id, owner, type, ttl, rdata FROM records");
        while (rs.step()) {
            auto it = by_id.find(rs.column_int(0));
            if (it == by_id.end()) continue;
            auto s = builder.add_record(it->second, rs.column_text_view(1), static_cast<std::uint16_t>(rs.column_int(2)),
                                        static_cast<std::uint32_t>(rs.column_int(3)), rs.column_blob_view(4));
            if (!s) return s.error();
        }
        // Host records of every server that is not blocked.
        auto hosts = db.prepare(
            "SELECT s.host, s.ttl, a.address FROM servers s JOIN server_addresses a ON a.server_id = s.id "
            "WHERE s.admin_state != 'blocked' AND a.host_record = 1");
        while (hosts.step()) {
            auto octets = address_octets(hosts.column_text_view(2));
            if (octets.empty()) continue;
            std::uint16_t type = octets.size() == 4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
            auto s = builder.add_host_record(hosts.column_text_view(0), type,
                                             static_cast<std::uint32_t>(hosts.column_int(1)), octets);
            if (!s) return s.error();
        }
        // Pools with the members of enabled servers and their last recorded health.
        builder.set_health(health);
        auto ps = db.prepare(
            "SELECT id, fqdn, type, ttl, degraded_ttl, max_records, all_down, coalesce(check_spec, ''), interval_ms, "
            "timeout_ms, rise, fall, coalesce(source, '') FROM pools ORDER BY fqdn");
        auto ms = db.prepare(
            "SELECT m.address, coalesce(m.probe_address, ''), m.weight, s.id, s.name, s.host, "
            "coalesce(h.state, 'unknown'), s.admin_state = 'enabled' FROM members m JOIN servers s ON s.id = m.server_id "
            "LEFT JOIN member_health h ON h.pool_id = m.pool_id AND h.server_id = m.server_id "
            "WHERE m.pool_id = ? ORDER BY s.name");
        while (ps.step()) {
            PoolData p;
            p.id = ps.column_int(0);
            p.fqdn = ps.column_text(1);
            p.type = static_cast<std::uint16_t>(ps.column_int(2));
            p.ttl = static_cast<std::uint32_t>(ps.column_int(3));
            if (!ps.column_is_null(4)) p.degraded_ttl = static_cast<std::uint32_t>(ps.column_int(4));
            if (!ps.column_is_null(5)) p.max_records = static_cast<std::uint16_t>(std::min<std::int64_t>(ps.column_int(5), 65535));
            auto policy = ps.column_text_view(6);
            if (policy == "none") {
                p.all_down = AllDown::None;
            } else if (policy.starts_with("backup:")) {
                p.all_down = AllDown::Backup;
                p.backup = std::string(policy.substr(7));
            }
            p.check = ps.column_text(7);
            p.interval_ms = static_cast<std::uint32_t>(ps.column_int(8));
            p.timeout_ms = static_cast<std::uint32_t>(ps.column_int(9));
            p.rise = static_cast<std::uint32_t>(ps.column_int(10));
            p.fall = static_cast<std::uint32_t>(ps.column_int(11));
            p.source = ps.column_text(12);
            ms.bind(1, p.id);
            while (ms.step()) {
                PoolData::Member m;
                m.address = ms.column_text(0);
                m.probe_address = ms.column_text(1);
                m.weight = static_cast<std::uint16_t>(ms.column_int(2));
                m.server_id = ms.column_int(3);
                m.server = ms.column_text(4);
                m.host = ms.column_text(5);
                auto recorded = ms.column_text_view(6);
                m.initial = recorded == "down" ? kHealthRecorded
                            : recorded == "up" ? kHealthUp | kHealthRecorded
                                               : kHealthUp;  // never probed: up until the first result decides
                m.enabled = ms.column_int(7) != 0;
                p.members.push_back(std::move(m));
            }
            ms.reset();
            if (auto s = builder.add_pool(std::move(p)); !s) return s.error();
        }
        // The VIPs as VipStore reads them, in the server's units.
        for (auto& stored : load_vips(db)) {
            const VipInfo& in = stored.info;
            vip::VipConfig v;
            v.id = stored.id;
            v.name = in.name;
            v.listen = in.listen;
            v.pool = in.pool;
            v.backend_port = in.backend_port;
            for (const auto& c : in.certs) v.certs.push_back({c.cert, c.key});
            v.backend_tls = in.backend_tls;
            v.backend_sni = in.backend_sni;
            v.backend_ca = in.backend_ca;
            v.persist = in.persist == "cookie"   ? vip::Persist::Cookie
                        : in.persist == "source" ? vip::Persist::Source
                                                 : vip::Persist::None;
            v.cookie_name = in.cookie_name;
            v.cookie_httponly = in.cookie_httponly;
            v.cookie_secure = in.cookie_secure;
            v.access_log = in.access_log;
            // Zero would mean "never" to a libuv timer: at least 1 ms.
            auto at_least_1 = [](std::uint64_t n) {
                return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(n, 1, 0xffffffff));
            };
            v.idle_timeout_ms = at_least_1(std::uint64_t{in.idle_timeout_s} * 1000);
            v.header_timeout_ms = at_least_1(in.header_timeout_ms);
            v.connect_timeout_ms = at_least_1(in.connect_timeout_ms);
            v.response_timeout_ms = at_least_1(in.response_timeout_ms);
            v.max_connections = at_least_1(in.max_connections);
            v.limits.request_line = in.max_request_line;
            v.limits.header_section = in.max_header_bytes;
            v.limits.header_count = in.max_header_count;
            v.limits.body = in.max_body_bytes;
            builder.add_vip(std::move(v));
        }
        return builder.finish();
    } catch (const StoreError& e) {
        return Error{fmt::format("reading '{}': {}", db.path(), e.what())};
    }
}

}  // namespace pooldns::dns
