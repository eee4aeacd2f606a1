// SOA serial numbers: RFC 1982 serial arithmetic and the bump applied on every edit.
#pragma once

#include <cstdint>

namespace pooldns {

// RFC 1982 section 3.2: true when a precedes b. Undefined pairs (exactly 2^31
// apart) compare false both ways, as the RFC leaves them undefined.
bool serial_less(std::uint32_t a, std::uint32_t b);
// RFC 1982 section 3.1: addition of n in [0, 2^31 - 1], wrapping modulo 2^32.
std::uint32_t serial_add(std::uint32_t s, std::uint32_t n);

// True when s reads as a valid YYYYMMDDnn date serial (years 1970..2099).
bool is_date_serial(std::uint32_t s);

// The serial after an edit made on `today` (YYYYMMDD as an integer):
// date-based serials move to today's first serial (YYYYMMDD00) when that is
// ahead, else count up; any other serial counts up by one.
std::uint32_t next_serial(std::uint32_t current, std::uint32_t today_yyyymmdd);

// Today's date in UTC as YYYYMMDD.
std::uint32_t today_utc_yyyymmdd();

}  // namespace pooldns
