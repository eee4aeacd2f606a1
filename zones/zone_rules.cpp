// Zone-level validation (which names, which types may coexist) and RRset
// normalisation before storage.
#include "pooldns/zone_rules.hpp"

#include <fmt/format.h>
#include "pooldns/ldns_ptr.hpp"

#include <map>
#include <set>
#include <unordered_map>

namespace pooldns {

bool may_accompany_cname(std::uint16_t type) {
    return type == LDNS_RR_TYPE_RRSIG || type == LDNS_RR_TYPE_NSEC || type == LDNS_RR_TYPE_CNAME;
}

std::vector<Problem> check_zone(std::string_view origin, const std::vector<ZoneEntry>& entries) {
    std::vector<Problem> problems;
    const ZoneEntry* soa = nullptr;
    bool apex_ns = false;
    // Per owner: the first entry seen of each type.
    std::unordered_map<std::string, std::map<std::uint16_t, const ZoneEntry*>> owners;

    for (const auto& e : entries) {
        const Record& r = e.rec;
        if (!name_in_zone(r.owner, origin)) {
            problems.push_back({e.where, fmt::format("name '{}' is outside zone '{}'", r.owner, origin)});
            continue;
        }
        if (r.ttl > kMaxTtl) {
            problems.push_back({e.where, fmt::format("TTL {} is out of range 0..{}", r.ttl, kMaxTtl)});
        }
        if (r.type == LDNS_RR_TYPE_SOA) {
            if (r.owner != origin) {
                problems.push_back({e.where, fmt::format("SOA record at '{}': an SOA may only be at the zone apex "
                                                         "'{}'",
                                                         r.owner, origin)});
            } else if (soa && soa->rec.rdata != r.rdata) {
                problems.push_back({e.where, fmt::format("a second SOA record (the first is at {})", soa->where)});
            } else if (!soa) {
                soa = &e;
            }
        }
        if (r.type == LDNS_RR_TYPE_NS && r.owner == origin) apex_ns = true;

        auto& types = owners[r.owner];
        auto [it, inserted] = types.emplace(r.type, &e);
        if (r.type == LDNS_RR_TYPE_CNAME) {
            if (!inserted && it->second->rec.rdata != r.rdata) {
                problems.push_back({e.where, fmt::format("a second CNAME at '{}' (the first is at {}); a name has "
                                                         "at most one CNAME",
                                                         r.owner, it->second->where)});
            }
            for (const auto& [t, other] : types) {
                if (!may_accompany_cname(t)) {
                    problems.push_back({e.where, fmt::format("CNAME at '{}' beside {} data (at {}); a CNAME cannot "
                                                             "sit beside other data (RFC 1034 section 3.6.2)",
                                                             r.owner, type_to_text(t), other->where)});
                    break;
                }
            }
        } else if (inserted && !may_accompany_cname(r.type)) {
            auto cname = types.find(LDNS_RR_TYPE_CNAME);
            if (cname != types.end()) {
                problems.push_back({e.where, fmt::format("{} at '{}' beside a CNAME (at {}); a CNAME cannot sit "
                                                         "beside other data (RFC 1034 section 3.6.2)",
                                                         type_to_text(r.type), r.owner, cname->second->where)});
            }
        }
    }
    if (!soa) problems.push_back({std::string(origin), "the zone has no SOA record at its apex"});
    if (!apex_ns) problems.push_back({std::string(origin), "the zone has no NS record at its apex"});
    return problems;
}

std::vector<std::string> normalize_rrsets(std::vector<ZoneEntry>& entries) {
    std::vector<std::string> warnings;
    struct Seen {
        std::uint32_t ttl;
        std::string where;
    };
    std::map<std::pair<std::string, std::uint16_t>, Seen> rrsets;
    std::set<std::tuple<std::string, std::uint16_t, std::vector<std::uint8_t>>> rrs;
    std::vector<ZoneEntry> kept;
    kept.reserve(entries.size());
    for (auto& e : entries) {
        if (!rrs.emplace(e.rec.owner, e.rec.type, e.rec.rdata).second) {
            warnings.push_back(fmt::format("{}: duplicate {} record at '{}' ignored", e.where,
                                           type_to_text(e.rec.type), e.rec.owner));
            continue;
        }
        auto [it, inserted] = rrsets.emplace(std::pair(e.rec.owner, e.rec.type), Seen{e.rec.ttl, e.where});
        if (!inserted && it->second.ttl != e.rec.ttl) {
            warnings.push_back(fmt::format("{}: TTL {} differs from the {} RRset's TTL {} (set at {}); using {} "
                                           "(RFC 2181 section 5.2)",
                                           e.where, e.rec.ttl, type_to_text(e.rec.type), it->second.ttl,
                                           it->second.where, it->second.ttl));
            e.rec.ttl = it->second.ttl;
        }
        kept.push_back(std::move(e));
    }
    entries = std::move(kept);
    return warnings;
}

std::string format_problems(const std::vector<Problem>& problems, std::size_t limit) {
    std::string out;
    std::size_t n = 0;
    for (const auto& p : problems) {
        if (n++ == limit) {
            out += fmt::format("... and {} more\n", problems.size() - limit);
            break;
        }
        out += fmt::format("{}: {}\n", p.where, p.message);
    }
    if (!out.empty()) out.pop_back();
    return out;
}

}  // namespace pooldns
