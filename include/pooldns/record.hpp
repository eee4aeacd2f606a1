// The zone data model: one resource record as stored (owner, type, TTL, wire
// rdata), and the conversions between it, ldns and presentation text.
#pragma once

#include "pooldns/ldns_ptr.hpp"
#include "pooldns/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pooldns {

inline constexpr std::uint32_t kMaxTtl = 2147483647u;  // RFC 2181 section 8

struct Record {
    std::string owner;                // absolute, lower case, presentation form
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    std::vector<std::uint8_t> rdata;  // uncompressed wire form

    friend bool operator==(const Record&, const Record&) = default;
};

// A name as given by a user, made absolute against `origin` ("@" is the origin,
// names without a trailing dot are relative) and lower-cased. Errors name `what`.
Result<std::string> canonical_name(std::string_view name, std::string_view origin, std::string_view what);
// A fully qualified name given on its own (a zone origin, a host, a pool):
// absolute whether or not it ends in a dot, lower-cased. Errors name `what`.
Result<std::string> absolute_name(std::string_view text, std::string_view what);
// A name given as a command-line argument for zone `origin`: like
// canonical_name, except that a name already ending in the origin
// ("www.contoso.com" for zone contoso.com.) is taken as absolute, since that is
// what an operator typing it means.
Result<std::string> argument_name(std::string_view name, std::string_view origin, std::string_view what);
// True when `name` equals or lies below `zone` (both canonical).
bool name_in_zone(std::string_view name, std::string_view zone);
// Sorts records in canonical order (RFC 4034 section 6.1): owner, then type,
// then rdata.
void sort_canonical(std::vector<Record>& records);

// Converts an ldns RR (class IN) into a Record.
Result<Record> record_from_ldns(const ldns_rr* rr);
// Builds the ldns RR of a stored record.
RrPtr record_to_ldns(const Record& rec);
// "owner TTL IN TYPE rdata" as ldns prints it (unknown types in RFC 3597 form).
std::string record_to_text(const Record& rec);
// The rdata part alone, in presentation form.
std::string rdata_to_text(const Record& rec);
// "A", "AAAA", "TYPE65280".
std::string type_to_text(std::uint16_t type);
// Parses a type mnemonic or TYPEnnn; 0 when unknown.
std::uint16_t type_from_text(std::string_view text);

// Parses a TTL: decimal seconds or BIND units (1h30m, 2d, 1w). Errors name `what`.
Result<std::uint32_t> parse_ttl(std::string_view text, std::string_view what);

// Parses one RR given as separate fields (the CLI's `record add` arguments).
Result<Record> parse_record(std::string_view owner, std::uint32_t ttl, std::string_view type,
                            std::string_view rdata, std::string_view origin);

// SOA rdata field access on wire rdata.
Result<std::uint32_t> soa_serial(const std::vector<std::uint8_t>& rdata);
Result<std::uint32_t> soa_minimum(const std::vector<std::uint8_t>& rdata);
Status set_soa_serial(std::vector<std::uint8_t>& rdata, std::uint32_t serial);

}  // namespace pooldns

namespace pooldns {

// A record with where it came from: "zone.txt:12" for a file line, or the CLI
// argument it was given in. Every validation message names this.
struct ZoneEntry {
    Record rec;
    std::string where;
};

}  // namespace pooldns
