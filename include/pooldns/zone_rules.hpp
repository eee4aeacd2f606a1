// The rules a zone must satisfy before it is stored: every name inside the
// zone, exactly one SOA and it at the apex, NS at the apex, no CNAME beside
// other data (RFC 1034 section 3.6.2, RFC 2181 section 10.1).
#pragma once

#include "pooldns/record.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pooldns {

struct Problem {
    std::string where;    // "zone.txt:12", "NAME", or the zone origin
    std::string message;
};

// Checks a whole zone's records; an empty result means the zone may be stored.
std::vector<Problem> check_zone(std::string_view origin, const std::vector<ZoneEntry>& entries);

// Prepares parsed records for storage, RFC 2181 style: identical RRs are kept
// once and every RRset takes the TTL of its first record. Returns one warning per
// change, naming where.
std::vector<std::string> normalize_rrsets(std::vector<ZoneEntry>& entries);

// True for the types that may sit beside a CNAME (DNSSEC: RRSIG, NSEC).
bool may_accompany_cname(std::uint16_t type);

// Formats problems one per line, "WHERE: MESSAGE", at most `limit` of them.
std::string format_problems(const std::vector<Problem>& problems, std::size_t limit = 20);

}  // namespace pooldns
