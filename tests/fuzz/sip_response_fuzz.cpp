// Fuzz target: bytes a probed SIP server sends back, through parse_sip_response.
// Besides the shared properties (status_parse_properties.hpp): Done means a final
// code in 200-699 that appears in the input after "SIP/2.0 ".
#include "status_parse_properties.hpp"

namespace {

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
    const auto full = fuzz::check_status_parser(pooldns::health::parse_sip_response, data, size, 200, 699);
    if (full.state == fuzz::ParseState::Done && !has_status_line(data, size, full.code)) __builtin_trap();
    return 0;
}
