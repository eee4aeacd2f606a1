// Fuzz target: bytes a probed web server sends back, through parse_http_status.
// Besides the shared properties (status_parse_properties.hpp): Done means a code
// in 100-599 that is the digits after "HTTP/1.x " at the start.
#include "status_parse_properties.hpp"

#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto full = fuzz::check_status_parser(pooldns::health::parse_http_status, data, size, 100, 599);
    if (full.state == fuzz::ParseState::Done) {
        if (size < 13 || std::memcmp(data, "HTTP/1.", 7) != 0 || data[8] != ' ') __builtin_trap();
        if (full.code != (data[9] - '0') * 100 + (data[10] - '0') * 10 + (data[11] - '0')) __builtin_trap();
    }
    return 0;
}
