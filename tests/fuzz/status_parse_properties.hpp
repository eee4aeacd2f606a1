// The properties both probe-response fuzz targets check (http_response_fuzz,
// sip_response_fuzz), for a parser of type StatusParse(span): each verdict has
// its shape (a Done code in [lo, hi]); parsing is deterministic; a prefix that
// is Done or Invalid gives the same verdict on the whole input; the first Done
// prefix ends with a LF. Each prefix is parsed from an exact-size heap copy, so
// the sanitizers catch any read past the bytes.
#pragma once

#include "response_parse.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fuzz {

using pooldns::health::ParseState;
using pooldns::health::StatusParse;

inline void check_shape(const StatusParse& r, int lo, int hi) {
    switch (r.state) {
        case ParseState::Done:
            if (r.code < lo || r.code > hi || !r.error.empty()) __builtin_trap();
            break;
        case ParseState::Invalid:
            if (r.code != 0 || r.error.empty()) __builtin_trap();
            break;
        case ParseState::NeedMore:
            if (r.code != 0 || !r.error.empty()) __builtin_trap();
            break;
    }
}

// Checks every property above; returns the verdict on the whole input for the
// target's own checks of what a Done code must match in the bytes.
template <typename Parse>
StatusParse check_status_parser(Parse parse, const std::uint8_t* data, std::size_t size, int lo, int hi) {
    const StatusParse full = parse({data, size});
    check_shape(full, lo, hi);
    const StatusParse again = parse({data, size});
    if (again.state != full.state || again.code != full.code || again.error != full.error) __builtin_trap();

    // Every prefix of short inputs; a spread of prefixes of long ones (quadratic otherwise).
    const std::size_t step = size <= 256 ? 1 : size / 48;
    ParseState previous = ParseState::NeedMore;
    for (std::size_t n = 0; n < size; n += step) {
        const std::vector<std::uint8_t> copy(data, data + n);
        const StatusParse p = parse({copy.data(), copy.size()});
        check_shape(p, lo, hi);
        if (p.state == ParseState::Done && (full.state != ParseState::Done || full.code != p.code)) __builtin_trap();
        if (p.state == ParseState::Invalid && full.state != ParseState::Invalid) __builtin_trap();
        if (step == 1 && previous == ParseState::NeedMore && p.state == ParseState::Done && data[n - 1] != '\n') {
            __builtin_trap();
        }
        previous = p.state;
    }
    return full;
}

}  // namespace fuzz
