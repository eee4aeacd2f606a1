// The immutable, precompiled view of every zone that the DNS loops answer
// from. Built off the query loops (by the reloader) from the SQLite store,
// published by atomic swap, never modified after build: readers take no lock.
//
// Layout: one open-addressing hash table from lower-case wire names to Nodes;
// a node knows its zone, its RRsets (a slice of `rrsets`), its "*." child, and
// the zone cut at or above it. Empty non-terminals are nodes without RRsets.
// RRset rdata lives in one arena as [u16 rdlength][rdata]...; names in rdata are
// uncompressed, so the writer can compress them against the packet it builds.
#pragma once

#include "pooldns/health_table.hpp"
#include "pooldns/pool_select.hpp"
#include "pooldns/record.hpp"
#include "pooldns/result.hpp"
#include "pooldns/vip_config.hpp"
#include "pooldns/wire_name.hpp"

#include <array>
#include <atomic>
#include <mutex>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pooldns {
class Database;
}

namespace pooldns::dns {

inline constexpr std::uint32_t kNone = 0xffffffffu;

struct RRset {
    std::uint16_t type = 0;
    std::uint16_t count = 0;          // RRs
    std::uint32_t ttl = 0;
    std::uint32_t data = 0;           // offset in Snapshot::data: count x ([u16 rdlength][rdata])
    std::uint32_t size = 0;           // octets of that data
    std::uint32_t extra = 0;          // offset in Snapshot::extras: nodes whose A/AAAA go in additional
    std::uint16_t extra_count = 0;
};

enum NodeFlags : std::uint8_t {
    kApex = 1,        // a zone's origin
    kCut = 2,         // a delegation point: NS below the apex (names below it: Node::cut)
};

struct Node {
    std::uint32_t name = 0;           // offset in Snapshot::names (lower-case wire form)
    std::uint8_t name_len = 0;
    std::uint8_t flags = 0;
    std::uint16_t rrset_count = 0;
    std::uint32_t rrsets = 0;         // index of the first RRset in Snapshot::rrsets
    std::uint32_t zone = 0;
    std::uint32_t wildcard = kNone;   // the node "*.<this name>", if any
    std::uint32_t cut = kNone;        // the delegation point at or above this node, if any
    std::uint32_t parent_ds = kNone;  // at the apex of a zone whose parent we also serve: the parent's DS RRset
    std::uint32_t pool = kNone;       // a pool FQDN: its Pool (its RRset of the pool's type lists every member)
};

// A pool member as answers see it: its RR in the pool's RRset and its health slot.
struct PoolMember {
    std::uint32_t rdata = 0;                      // offset in Snapshot::data of [u16 rdlength][address]
    std::uint32_t health = HealthTable::kNoSlot;  // kNoSlot: unchecked, always up
    std::uint16_t weight = 1;
};

// A pool FQDN's answer: the members of enabled servers, filtered per query by
// the HealthTable. The node also holds the full RRset, which AXFR sends.
struct Pool {
    std::uint32_t node = kNone;
    std::uint16_t type = 1;                 // A or AAAA
    AllDown all_down = AllDown::All;
    std::uint16_t max_records = 0;          // 0: no cap
    std::uint32_t ttl = 30;
    std::uint32_t degraded_ttl = kNone;     // TTL while some member is down, if set
    std::uint32_t backup = kNone;           // Pool, for AllDown::Backup
    std::uint32_t members = 0;              // index of the first in Snapshot::pool_members
    std::uint16_t member_count = 0;
    bool uniform = true;                    // every member has the same weight
};

// One health slot and everything the checker needs to feed it.
struct HealthTarget {
    std::uint32_t slot = HealthTable::kNoSlot;
    std::string address;                    // probe address, canonical text
    std::string check;                      // check spec text
    std::uint32_t interval_ms = 2000;
    std::uint32_t timeout_ms = 1000;
    std::uint32_t rise = 2;
    std::uint32_t fall = 3;
    std::string host;                       // the server's host FQDN (Host header, SNI, SIP URI)
    std::string source;                     // probe source address, "" for the kernel's choice
    struct Member {
        std::int64_t pool_id = 0;           // store ids, for member_health rows
        std::int64_t server_id = 0;
        std::string name;                   // "pool01.contoso.com./fe01" for logs
    };
    std::vector<Member> members;
};

// An RRset of a zone at a name that a deeper zone we also serve answers for
// (the parent's NS, DS and glue at and below a hosted child's apex). Queries
// never see it; AXFR of the parent sends it.
struct ShadowRRset {
    std::uint32_t zone = 0;
    std::uint32_t name = 0;           // offset in Snapshot::names
    std::uint8_t name_len = 0;
    std::uint32_t rrset = 0;
};

struct Zone {
    std::string origin;               // presentation, canonical
    std::uint32_t apex = kNone;       // node
    std::uint32_t soa = kNone;        // RRset
    std::uint32_t negative_ttl = 0;   // min(SOA TTL, SOA MINIMUM), RFC 2308
    std::uint32_t serial = 0;
    std::size_t records = 0;
    std::uint32_t parent = kNone;     // the zone we also serve that holds this zone's cut, if any
    // The negative-answer SOA RR in wire form (TTL = negative_ttl), its owner and
    // the parts of MNAME/RNAME inside the zone replaced by 2-octet pointer slots
    // that point at the apex. In an answer about a name in this zone the apex is
    // a suffix of the QNAME, so the slots are patched and the RR copied whole.
    std::vector<std::uint8_t> negative_soa;
    std::vector<std::uint16_t> negative_soa_slots;
    std::uint8_t apex_len = 0;        // wire length of the origin
};

// A network prefix for allow-lists: IPv4 addresses are held as ::ffff:a.b.c.d.
struct Prefix {
    std::array<std::uint8_t, 16> addr{};
    std::uint8_t bits = 0;
};
Result<Prefix> parse_prefix(std::string_view text);
bool prefix_contains(const Prefix& p, const std::array<std::uint8_t, 16>& addr);

// Settings the engine reads from the `settings` table (key: default).
struct EngineSettings {
    std::uint16_t edns_udp_size = 1232;          // edns_udp_size: cap on UDP answers with EDNS
    std::vector<Prefix> axfr_allow;              // axfr_allow: "127.0.0.0/8 ::1"
    std::uint32_t tcp_idle_timeout_ms = 10000;   // tcp_idle_timeout_ms
    std::uint32_t tcp_max_connections = 1000;    // tcp_max_connections (per server, split over threads)
    bool query_log = false;                      // query_log: 0/1
    std::vector<std::string> notify;             // notify: "192.0.2.7 [2001:db8::7]:5300" (port 53 by default)
    std::uint32_t health_max_in_flight = 1024;   // health_max_in_flight: probes at once, over every target
    std::uint32_t health_jitter_percent = 10;    // health_jitter_percent: how early (at most) a probe may fire
    // vip_cookie_secret: 32 hex digits written by `pooldnsctl vip add`; keys the
    // persistence cookies so clients cannot forge one naming a member. Unset: 0,
    // and the VIP draws a random key per process (cookies then end at a restart).
    std::uint64_t vip_cookie_seed = 0;
};
Result<EngineSettings> parse_settings(const std::vector<std::pair<std::string, std::string>>& rows);

// One zone's data as the builder takes it.
struct ZoneData {
    std::string origin;
    std::vector<Record> records;
};

// One pool as the builder takes it. Members of drained or blocked servers are
// probed (so `status` shows whether they could come back) but never answered.
struct PoolData {
    std::string fqdn;                       // canonical presentation form
    std::int64_t id = 0;                    // store id (0 in tests)
    std::uint16_t type = 1;
    std::uint32_t ttl = 30;
    std::uint32_t degraded_ttl = kNone;
    std::uint16_t max_records = 0;
    AllDown all_down = AllDown::All;
    std::string backup;                     // FQDN of the backup pool for AllDown::Backup
    std::string check;                      // "" : unchecked
    std::uint32_t interval_ms = 2000, timeout_ms = 1000, rise = 2, fall = 3;
    std::string source;
    struct Member {
        std::string address;                // canonical text, answered
        std::string probe_address;          // "" : probed on `address`
        std::uint16_t weight = 1;
        std::int64_t server_id = 0;
        std::string server;                 // name
        std::string host;                   // host FQDN
        std::uint8_t initial = kHealthUp;   // health before the first probe (the last state in SQLite)
        bool enabled = true;                // the server's admin state is `enabled`
    };
    std::vector<Member> members;
};

class Snapshot {
public:
    // Finds the node of a lower-case wire name, or nullptr.
    const Node* find(const std::uint8_t* name, std::size_t len) const;

    std::span<const std::uint8_t> name_of(const Node& n) const { return {names_.data() + n.name, n.name_len}; }
    std::span<const RRset> rrsets_of(const Node& n) const { return {rrsets_.data() + n.rrsets, n.rrset_count}; }
    const RRset* rrset(const Node& n, std::uint16_t type) const {
        for (const auto& r : rrsets_of(n)) {
            if (r.type == type) return &r;
        }
        return nullptr;
    }
    std::span<const std::uint8_t> data_of(const RRset& r) const { return {data_.data() + r.data, r.size}; }
    // The rdata arena: PoolMember::rdata offsets point into it.
    const std::uint8_t* arena() const { return data_.data(); }
    std::span<const std::uint32_t> extras_of(const RRset& r) const { return {extras_.data() + r.extra, r.extra_count}; }
    const Node& node(std::uint32_t i) const { return nodes_[i]; }
    const RRset& rrset_at(std::uint32_t i) const { return rrsets_[i]; }
    const Zone& zone(std::uint32_t i) const { return zones_[i]; }
    std::span<const Zone> zones() const { return zones_; }
    std::span<const ShadowRRset> shadows() const { return shadows_; }
    std::span<const std::uint8_t> name_at(std::uint32_t offset, std::uint8_t len) const {
        return {names_.data() + offset, len};
    }
    std::span<const Node> nodes() const { return nodes_; }
    const EngineSettings& settings() const { return settings_; }
    const Pool& pool(std::uint32_t i) const { return pools_[i]; }
    std::span<const Pool> pools() const { return pools_; }
    std::span<const PoolMember> members_of(const Pool& p) const { return {pool_members_.data() + p.members, p.member_count}; }
    std::span<const HealthTarget> health_targets() const { return targets_; }
    // The health table, or nullptr when the snapshot has no checked pool.
    const HealthTable* health() const { return health_.get(); }
    bool member_up(const PoolMember& m) const { return !health_ || health_->up(m.health); }
    // The VIPs, with their pool's members as backends (VIPs whose pool is gone are absent).
    std::span<const vip::VipConfig> vips() const { return vips_; }
    std::size_t record_count() const { return records_; }
    std::size_t memory_bytes() const;

    // Builds a snapshot. Zones must already satisfy check_zone(); a zone
    // nested in another (child.example.com under example.com) takes every name
    // at and below its apex.
    static Result<std::shared_ptr<const Snapshot>> build(std::vector<ZoneData> zones, EngineSettings settings);
    // With pools: each pool's FQDN must lie in one of the zones; members with a
    // check get a slot in `health` (shared by every snapshot of the process).
    static Result<std::shared_ptr<const Snapshot>> build(std::vector<ZoneData> zones, std::vector<PoolData> pools,
                                                         EngineSettings settings, std::shared_ptr<HealthTable> health);
    // With VIPs: each names its pool in `pool`; its backends are filled in from
    // that pool's members (their health slots, weights and admin states).
    static Result<std::shared_ptr<const Snapshot>> build(std::vector<ZoneData> zones, std::vector<PoolData> pools,
                                                         std::vector<vip::VipConfig> vips, EngineSettings settings,
                                                         std::shared_ptr<HealthTable> health);

private:
    struct Slot {
        std::uint32_t hash = 0;
        std::uint32_t node = kNone;
    };
    std::vector<Slot> table_;  // open addressing, at most half full
    std::uint64_t mask_ = 0;
    std::vector<Node> nodes_;
    std::vector<RRset> rrsets_;
    std::vector<std::uint8_t> names_;
    std::vector<std::uint8_t> data_;
    std::vector<std::uint32_t> extras_;
    std::vector<Zone> zones_;
    std::vector<ShadowRRset> shadows_;
    std::vector<Pool> pools_;
    std::vector<PoolMember> pool_members_;
    std::vector<HealthTarget> targets_;
    std::vector<vip::VipConfig> vips_;
    std::shared_ptr<HealthTable> health_;
    EngineSettings settings_;
    std::size_t records_ = 0;

    friend class SnapshotBuilder;
};


// The current snapshot, swapped whole: the reloader publishes, the DNS workers
// and the health checker read (a worker re-reads only when version() moved).
class SnapshotBox {
public:
    void publish(std::shared_ptr<const Snapshot> snap) {
        std::lock_guard lock(mutex_);
        current_ = std::move(snap);
        version_.fetch_add(1, std::memory_order_release);
    }
    std::shared_ptr<const Snapshot> get() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Snapshot> current_;
    std::atomic<std::uint64_t> version_{0};
};

// Reads every zone, server, pool and the settings from the store into a new
// snapshot. Host records of servers that are not blocked join the zone that
// contains them; pools list the members of enabled servers.
Result<std::shared_ptr<const Snapshot>> load_snapshot(const Database& db, std::shared_ptr<HealthTable> health = nullptr);

// The key of a health slot: members probed alike share it.
std::string health_key(std::string_view address, std::string_view check, std::uint32_t rise, std::uint32_t fall,
                       std::string_view host, std::string_view source);

}  // namespace pooldns::dns
