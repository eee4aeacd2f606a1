// Fuzz target: bytes a probed web server sends back, through parse_http_status.
// Besides not crashing or reading past the bytes (each prefix is parsed from an
// exact-size copy): Done means a code in 100-599 that is the digits after
// "HTTP/1.x "; a prefix that is Done or Invalid gives the same verdict on the
// whole input; the first Done prefix ends with the line's LF.
#include "response_parse.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using pooldns::health::ParseState;
using pooldns::health::StatusParse;

StatusParse parse(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::uint8_t> copy(data, data + size);
    return pooldns::health::parse_http_status({copy.data(), copy.size()});
}

void check_shape(const StatusParse& r) {
    switch (r.state) {
        case ParseState::Done:
            if (r.code < 100 || r.code > 599 || !r.error.empty()) __builtin_trap();
            break;
        case ParseState::Invalid:
            if (r.code != 0 || r.error.empty()) __builtin_trap();
            break;
        case ParseState::NeedMore:
            if (r.code != 0 || !r.error.empty()) __builtin_trap();
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const StatusParse full = pooldns::health::parse_http_status({data, size});
    check_shape(full);
    if (full.state == ParseState::Done) {
        if (size < 13 || std::memcmp(data, "HTTP/1.", 7) != 0 || data[8] != ' ') __builtin_trap();
        if (full.code != (data[9] - '0') * 100 + (data[10] - '0') * 10 + (data[11] - '0')) __builtin_trap();
    }
    const StatusParse again = pooldns::health::parse_http_status({data, size});
    if (again.state != full.state || again.code != full.code || again.error != full.error) __builtin_trap();

    // Every prefix of short inputs; a spread of prefixes of long ones (quadratic otherwise).
    const std::size_t step = size <= 256 ? 1 : size / 48;
    ParseState previous = ParseState::NeedMore;
    for (std::size_t n = 0; n < size; n += step) {
        const StatusParse p = parse(data, n);
        check_shape(p);
        if (p.state == ParseState::Done && (full.state != ParseState::Done || full.code != p.code)) __builtin_trap();
        if (p.state == ParseState::Invalid && full.state != ParseState::Invalid) __builtin_trap();
        if (step == 1 && previous == ParseState::NeedMore && p.state == ParseState::Done && data[n - 1] != '\n') {
            __builtin_trap();
        }
        previous = p.state;
    }
    return 0;
}
