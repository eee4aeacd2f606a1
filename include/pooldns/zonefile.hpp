// RFC 1035 master files: reading (with $ORIGIN, $TTL, $INCLUDE, parentheses,
// comments, quoted strings and escapes; each RR's rdata parsed by ldns) and
// writing a file that reads back to the same RRsets.
#pragma once

#include "pooldns/record.hpp"
#include "pooldns/result.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pooldns {

// Called now and then during long operations: the phase ("read", "write") and
// the number of records done so far in it.
using ProgressFn = std::function<void(std::string_view phase, std::size_t records)>;

// Reads a master file. `origin` is the initial $ORIGIN (the zone's apex).
// Errors read "FILE:LINE: what is wrong".
Result<std::vector<ZoneEntry>> read_zone_file(const std::string& path, std::string_view origin,
                                              const ProgressFn& progress = {});

// Reads master-file text that has no file behind it ($INCLUDE is refused).
// `name` stands for the file in messages.
Result<std::vector<ZoneEntry>> read_zone_text(std::string_view text, std::string_view origin,
                                              std::string_view name);

// Writes a master file: $ORIGIN, the SOA first, then every other record in
// canonical order (RFC 4034 section 6.1), owners absolute.
std::string write_zone_text(std::string_view origin, const std::vector<Record>& records);

}  // namespace pooldns
