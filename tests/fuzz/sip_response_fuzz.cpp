// Fuzz target: bytes a probed SIP server sends back, through parse_sip_response.
// Besides not crashing or reading past the bytes (each prefix is parsed from an
// exact-size copy): Done means a final code in 200-699 that appears in the input
// after "SIP/2.0 "; a prefix that is Done or Invalid gives the same verdict on
// the whole input; the first Done prefix ends with the status line's LF.
#include "response_parse.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

using pooldns::health::ParseState;
using pooldns::health::StatusParse;

StatusParse parse(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::uint8_t> copy(data, data + size);
    return pooldns::health::parse_sip_response({copy.data(), copy.size()});
}

void check_shape(const StatusParse& r) {
    switch (r.state) {
        case ParseState::Done:
            if (r.code < 200 || r.code > 699 || !r.error.empty()) __builtin_trap();
            break;
        case ParseState::Invalid:
            if (r.code != 0 || r.error.empty()) __builtin_trap();
            break;
        case ParseState::NeedMore:
            if (r.code != 0 || !r.error.empty()) __builtin_trap();
            break;
    }
}

// "SIP/2.0 DDD" (the version in any case) somewhere in the input.
bool has_status_line(const std::uint8_t* data, std::size_t size, int code) {
    static constexpr char kVersion[] = "SIP/2.0 ";
    for (std::size_t i = 0; i + 11 <= size; ++i) {
        bool match = true;
        for (std::size_t k = 0; k < 8 && match; ++k) {
            std::uint8_t c = data[i + k];
            if (c >= 'a' && c <= 'z') c = static_cast<std::uint8_t>(c - 32);
            match = c == static_cast<std::uint8_t>(kVersion[k]);
        }
        if (match && (data[i + 8] - '0') * 100 + (data[i + 9] - '0') * 10 + (data[i + 10] - '0') == code) return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const StatusParse full = pooldns::health::parse_sip_response({data, size});
    check_shape(full);
    if (full.state == ParseState::Done && !has_status_line(data, size, full.code)) __builtin_trap();
    const StatusParse again = pooldns::health::parse_sip_response({data, size});
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
