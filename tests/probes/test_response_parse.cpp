// Table-driven tests of the probe response parsers (healthcheck/response_parse.hpp):
// good responses at every split point, and the ways a server's bytes go wrong.
#include "response_parse.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using pooldns::health::parse_http_status;
using pooldns::health::parse_sip_response;
using pooldns::health::ParseState;
using pooldns::health::StatusParse;
using namespace std::string_literals;

namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

StatusParse http(const std::string& s) {
    return parse_http_status(bytes(s));
}
StatusParse sip(const std::string& s) {
    return parse_sip_response(bytes(s));
}

struct Good {
    const char* what;
    std::string input;
    int code;
    std::size_t done_at;  // the shortest prefix that is Done
};

struct Bad {
    const char* what;
    std::string input;
    std::string_view error;
};

// Every prefix shorter than done_at needs more; every longer one is Done with the same code.
template <typename Parse>
void check_every_split(const Good& g, Parse parse) {
    CAPTURE(g.what);
    REQUIRE(g.done_at <= g.input.size());
    for (std::size_t n = 0; n <= g.input.size(); ++n) {
        CAPTURE(n);
        const StatusParse r = parse(g.input.substr(0, n));
        if (n < g.done_at) {
            CHECK(r.state == ParseState::NeedMore);
        } else {
            CHECK(r.state == ParseState::Done);
            CHECK(r.code == g.code);
        }
    }
}

std::size_t after(const std::string& s, const std::string& line) {
    return s.find(line) + line.size();
}

}  // namespace

TEST_CASE("HTTP status lines are Done with their code once the line ends, and need more before") {
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    const std::string lf = "HTTP/1.0 204 No Content\nServer: x\n\n";
    const std::string empty_reason = "HTTP/1.1 503 \r\n";
    const std::string no_reason = "HTTP/1.1 302\r\nLocation: /\r\n";
    const std::string utf8 = "HTTP/1.1 404 Nicht gefunden \xc3\xa4\t!\r\n";
    const std::string body = "HTTP/1.1 599 Whatever\r\n\r\n\x00\x01 binary body"s;
    const std::vector<Good> table = {
        {"200 with headers", ok, 200, after(ok, "OK\r\n")},
        {"HTTP/1.0 with bare LF", lf, 204, after(lf, "Content\n")},
        {"empty reason phrase", empty_reason, 503, empty_reason.size()},
        {"no SP before an empty reason", no_reason, 302, after(no_reason, "302\r\n")},
        {"reason with UTF-8 and HTAB", utf8, 404, utf8.size()},
        {"body bytes after the status line do not matter", body, 599, after(body, "Whatever\r\n")},
    };
    for (const auto& g : table) check_every_split(g, http);
}

TEST_CASE("HTTP garbage is refused with a reason, at the first wrong byte where possible") {
    const std::vector<Bad> table = {
        {"not HTTP at all", "hello\r\n", "not an HTTP/1.x status line"},
        {"lower-case version", "http/1.1 200 OK\r\n", "not an HTTP/1.x status line"},
        {"HTTP/2.0", "HTTP/2.0 200 OK\r\n", "not an HTTP/1.x status line"},
        {"HTTP/1 without minor", "HTTP/1 200 OK\r\n", "not an HTTP/1.x status line"},
        {"version without code", "HTTP/1.1\r\n", "not an HTTP/1.x status line"},
        {"two spaces", "HTTP/1.1  200 OK\r\n", "status code is not 3 digits in 100-599"},
        {"two-digit code", "HTTP/1.1 20 OK\r\n", "status code is not 3 digits in 100-599"},
        {"four-digit code", "HTTP/1.1 2000 OK\r\n", "status code is not 3 digits in 100-599"},
        {"code 099", "HTTP/1.1 099 Low\r\n", "status code is not 3 digits in 100-599"},
        {"code 600", "HTTP/1.1 600 High\r\n", "status code is not 3 digits in 100-599"},
        {"letters in code", "HTTP/1.1 2x0 OK\r\n", "status code is not 3 digits in 100-599"},
        {"code cut by the line end", "HTTP/1.1 20\r\n", "status code is not 3 digits in 100-599"},
        {"NUL in reason", "HTTP/1.1 200 O\0K\r\n"s, "control character in status line"},
        {"NUL in version", "HTTP\0"s, "not an HTTP/1.x status line"},
        {"ESC in reason", "HTTP/1.1 200 O\x1bK\r\n", "control character in status line"},
        {"CR without LF", "HTTP/1.1 200 OK\rX", "CR not followed by LF"},
        {"overlong line", "HTTP/1.1 200 " + std::string(2000, 'O'), "status line too long"},
        {"overlong line with its end", "HTTP/1.1 200 " + std::string(1100, 'O') + "\r\n", "status line too long"},
        {"TLS record instead", "\x16\x03\x01\x00\x2a"s, "not an HTTP/1.x status line"},
    };
    for (const auto& b : table) {
        CAPTURE(b.what);
        const StatusParse r = http(b.input);
        CHECK(r.state == ParseState::Invalid);
        CHECK(r.error == b.error);
        CHECK(r.code == 0);
    }
}

TEST_CASE("HTTP garbage is refused before its line ends") {
    CHECK(http("X").state == ParseState::Invalid);
    CHECK(http("HTTP/1.1 9").state == ParseState::Invalid);
    CHECK(http("HTTP/1.1 2000").state == ParseState::Invalid);
}

TEST_CASE("an HTTP status line without its CRLF needs more, up to the line cap") {
    CHECK(http("HTTP/1.1 200 OK").state == ParseState::NeedMore);
    CHECK(http("HTTP/1.1 200 OK\r").state == ParseState::NeedMore);
    CHECK(http("HTTP/1.1 200 " + std::string(1000, 'O')).state == ParseState::NeedMore);
    CHECK(http("HTTP/1.1 200 " + std::string(1100, 'O')).state == ParseState::Invalid);
    CHECK(http("").state == ParseState::NeedMore);
}

TEST_CASE("the longest HTTP status line accepted is 1024 bytes") {
    const std::string head = "HTTP/1.1 200 ";
    const std::string longest = head + std::string(1024 - head.size(), 'O');
    CHECK(http(longest + "\r\n").state == ParseState::Done);
    CHECK(http(longest + "\n").state == ParseState::Done);
    CHECK(http(longest + "O\r\n").state == ParseState::Invalid);
}

TEST_CASE("SIP final responses are Done, after any provisional ones and their bodies") {
    const std::string ok =
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n";
    const std::string trying_busy =
        "SIP/2.0 100 Trying\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n"
        "SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n";
    const std::string sdp = "v=0\r\nSIP/2.0 1\r\n";  // a status line here would be refused
    const std::string ringing_body =
        "SIP/2.0 180 Ringing\r\nContent-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) +
        "\r\n\r\n" + sdp + "SIP/2.0 603 Decline\r\n\r\n";
    const std::string compact = "SIP/2.0 183 Progress\r\nl: 4\r\ni: x\r\n\r\nbodySIP/2.0 200 OK\r\n";
    const std::string no_length = "SIP/2.0 100 Trying\r\nTo: <sip:a@b>\r\n\r\nSIP/2.0 699 Odd\r\n";
    const std::string keepalive = "\r\n\r\n\nSIP/2.0 100 Trying\r\n\r\n\r\nSIP/2.0 500 Server Error\r\n";
    const std::string folded =
        "SIP/2.0 100 Trying\r\nSubject: a\r\n  folded line\r\nContent-Length : 2\r\n\r\nxxsip/2.0 202 Accepted\n";
    const std::string two_lengths = "SIP/2.0 100 Trying\r\nContent-Length: 1\r\nl: 1\r\n\r\nxSIP/2.0 200 OK\r\n";
    const std::vector<Good> table = {
        {"200", ok, 200, after(ok, "200 OK\r\n")},
        {"100 then 486", trying_busy, 486, after(trying_busy, "Busy Here\r\n")},
        {"180 with a body that looks like a status line", ringing_body, 603, after(ringing_body, "Decline\r\n")},
        {"compact Content-Length", compact, 200, compact.size()},
        {"provisional without Content-Length", no_length, 699, no_length.size()},
        {"keep-alive CRLFs before each response", keepalive, 500, keepalive.size()},
        {"folded header, lower-case version, bare LF", folded, 202, folded.size()},
        {"Content-Length twice with one value", two_lengths, 200, two_lengths.size()},
    };
    for (const auto& g : table) check_every_split(g, sip);
}

TEST_CASE("SIP provisional responses alone need more") {
    CHECK(sip("SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n").state == ParseState::NeedMore);
    CHECK(sip("SIP/2.0 100 Trying\r\n\r\nSIP/2.0 180 Ringing\r\n\r\n").state == ParseState::NeedMore);
    CHECK(sip("SIP/2.0 180 Ringing\r\nContent-Length: 10\r\n\r\nshort").state == ParseState::NeedMore);
    CHECK(sip("\r\n\r\n").state == ParseState::NeedMore);
    CHECK(sip("\r").state == ParseState::NeedMore);
}

TEST_CASE("SIP garbage is refused with a reason") {
    const std::vector<Bad> table = {
        {"HTTP instead", "HTTP/1.1 200 OK\r\n", "not a SIP/2.0 status line"},
        {"SIP/3.0", "SIP/3.0 200 OK\r\n", "not a SIP/2.0 status line"},
        {"a request, not a response", "OPTIONS sip:a SIP/2.0\r\n", "not a SIP/2.0 status line"},
        {"code 700", "SIP/2.0 700 Nope\r\n", "status code is not 3 digits in 100-699"},
        {"code 099", "SIP/2.0 099 Nope\r\n", "status code is not 3 digits in 100-699"},
        {"code 20", "SIP/2.0 20 OK\r\n", "status code is not 3 digits in 100-699"},
        {"code 2000", "SIP/2.0 2000 OK\r\n", "status code is not 3 digits in 100-699"},
        {"NUL in status line", "SIP/2.0 200 \0\r\n"s, "control character in status line"},
        {"CR alone before the response", "\rSIP/2.0 200 OK\r\n", "CR not followed by LF"},
        {"overlong status line", "SIP/2.0 100 " + std::string(1100, 'T'), "status line too long"},
        {"garbage after 100", "SIP/2.0 100 Trying\r\n\r\ngarbage\r\n", "not a SIP/2.0 status line"},
        {"header without colon", "SIP/2.0 100 Trying\r\nVia\r\n\r\n", "malformed header line"},
        {"header with empty name", "SIP/2.0 100 Trying\r\n: x\r\n\r\n", "malformed header line"},
        {"continuation first", "SIP/2.0 100 Trying\r\n folded\r\n\r\n", "malformed header line"},
        {"NUL in header", "SIP/2.0 100 Trying\r\nTo: a\0b\r\n\r\n"s, "control character in header"},
        {"overlong header", "SIP/2.0 100 Trying\r\nVia: " + std::string(5000, 'v'), "header line too long"},
        {"too many headers",
         "SIP/2.0 100 Trying\r\n" +
             [] {
                 std::string s;
                 for (int i = 0; i < 200; ++i) s += "X: y\r\n";
                 return s;
             }(),
         "too many header lines"},
        {"letters in Content-Length", "SIP/2.0 100 Trying\r\nContent-Length: 1x\r\n\r\n", "bad Content-Length"},
        {"negative Content-Length", "SIP/2.0 100 Trying\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"},
        {"empty Content-Length", "SIP/2.0 100 Trying\r\nl:\r\n\r\n", "bad Content-Length"},
        {"huge Content-Length", "SIP/2.0 100 Trying\r\nContent-Length: 99999999999999999999999\r\n\r\n",
         "Content-Length too large"},
        {"conflicting Content-Length", "SIP/2.0 100 Trying\r\nContent-Length: 1\r\nl: 2\r\n\r\n",
         "conflicting Content-Length"},
    };
    for (const auto& b : table) {
        CAPTURE(b.what);
        const StatusParse r = sip(b.input);
        CHECK(r.state == ParseState::Invalid);
        CHECK(r.error == b.error);
    }
}

TEST_CASE("a SIP final response is Done however broken the rest of the stream is") {
    const StatusParse r = sip("SIP/2.0 404 Not Found\r\n\0\0garbage"s);
    CHECK(r.state == ParseState::Done);
    CHECK(r.code == 404);
}
