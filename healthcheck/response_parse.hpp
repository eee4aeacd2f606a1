// Parsers of what a probed server sends back: the HTTP/1.x status line and a
// SIP response stream. Both take untrusted bytes, never read past the span,
// and say whether they need more bytes. Pure; fuzzed (tests/fuzz).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace pooldns::health {

enum class ParseState : std::uint8_t { NeedMore, Done, Invalid };

struct StatusParse {
    ParseState state = ParseState::NeedMore;
    int code = 0;                 // when Done
    std::string_view error;       // when Invalid: a static description ("not an HTTP status line")
};

// "HTTP/1.0 200 OK\r\n" or "HTTP/1.1 503 Service Unavailable\r\n" at the start
// of `data`. Done as soon as the status line is complete.
StatusParse parse_http_status(std::span<const std::uint8_t> data);

// One or more SIP responses on a stream: skips provisional (1xx) responses
// (headers and Content-Length body) and reports the first final (200-699) one.
StatusParse parse_sip_response(std::span<const std::uint8_t> data);

}  // namespace pooldns::health
