// The VIP's HTTP/1.1 parser (pooldns/http.hpp): good requests and responses,
// framing, and every rejection with the status it answers. Inputs are fed the
// way the proxy will: a buffer of unconsumed bytes, each feed from an exact-size
// heap copy so a read past the span shows under ASan.
#include "pooldns/http.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace pooldns::vip;
using namespace std::string_literals;

namespace {

// One message as the parser reported it, copied out of the buffer.
struct Message {
    std::string method, target, reason, host, bytes;
    int status = 0;
    int minor_version = 0;
    TargetForm form = TargetForm::Origin;
    BodyFraming framing = BodyFraming::None;
    std::uint64_t content_length = 0;
    bool keep_alive = false, expect_continue = false, upgrade = false;
    std::vector<std::pair<std::string, std::string>> fields;
    std::size_t head_consumed = 0;
    std::string body;
    bool done = false;

    bool operator==(const Message&) const = default;
};

struct Outcome {
    std::vector<Message> messages;
    HttpState last = HttpState::NeedMore;  // NeedMore or Error
    int status = 0;                        // Error
    std::string reason;
    std::size_t pending = 0;  // bytes left unconsumed (NeedMore)

    bool operator==(const Outcome&) const = default;
};

struct Options {
    HttpParser::Kind kind = HttpParser::Request;
    HttpLimits limits;
    bool to_head = false;  // responses: answers a HEAD
    bool close = false;    // the peer closes after the last piece
};

Outcome run(const std::vector<std::string_view>& pieces, const Options& o = {}) {
    HttpParser parser(o.kind, o.limits);
    if (o.to_head) parser.response_to_head();
    Outcome out;
    std::string pending;
    const auto record = [&](const HttpStep& s) {
        switch (s.state) {
            case HttpState::HeadersDone: {
                const HttpHead& h = parser.head();
                Message m;
                m.method = h.method;
                m.target = h.target;
                m.reason = h.reason;
                m.host = h.host;
                m.bytes = h.bytes;
                m.status = h.status;
                m.minor_version = h.minor_version;
                m.form = h.form;
                m.framing = h.framing;
                m.content_length = h.content_length;
                m.keep_alive = h.keep_alive;
                m.expect_continue = h.expect_continue;
                m.upgrade = h.upgrade;
                for (const auto& f : h.fields) m.fields.emplace_back(f.name, f.value);
                m.head_consumed = s.consumed;
                out.messages.push_back(std::move(m));
                break;
            }
            case HttpState::Body:
                REQUIRE(!out.messages.empty());
                out.messages.back().body.append(reinterpret_cast<const char*>(s.body.data()), s.body.size());
                break;
            case HttpState::Done:
                REQUIRE(!out.messages.empty());
                out.messages.back().done = true;
                break;
            case HttpState::Error:
                out.status = s.error.status;
                out.reason = s.error.reason;
                break;
            case HttpState::NeedMore:
                break;
        }
        out.last = s.state == HttpState::Error ? HttpState::Error : HttpState::NeedMore;
    };
    for (const auto piece : pieces) {
        pending += piece;
        for (int guard = 0; guard < 100000; ++guard) {
            const std::vector<std::uint8_t> copy(pending.begin(), pending.end());
            const HttpStep s = parser.feed(copy);
            REQUIRE(s.consumed <= copy.size());
            if (s.state == HttpState::Body) {
                REQUIRE(s.body.data() >= copy.data());
                REQUIRE(s.body.data() + s.body.size() <= copy.data() + s.consumed);
            }
            pending.erase(0, s.consumed);
            record(s);
            if (s.state == HttpState::NeedMore || s.state == HttpState::Error) break;
        }
    }
    if (o.close && out.last != HttpState::Error) record(parser.finish());
    // After an Error the connection closes; how much was consumed before it depends on the reads.
    out.pending = out.last == HttpState::Error ? 0 : pending.size();
    return out;
}

Outcome run(std::string_view input, const Options& o = {}) {
    return run(std::vector<std::string_view>{input}, o);
}

Outcome run_bytewise(std::string_view input, const Options& o) {
    std::vector<std::string_view> pieces;
    for (std::size_t i = 0; i < input.size(); ++i) pieces.push_back(input.substr(i, 1));
    return run(pieces, o);
}

struct Rejection {
    std::string_view name;
    std::string input;
    int status;
};

// Each input, whole, must end in an Error with its status; and so must any
// longer input that starts with it (the verdict does not wait for more bytes).
void check_rejections(const std::vector<Rejection>& cases, const Options& o = {}) {
    for (const auto& c : cases) {
        CAPTURE(c.name);
        CAPTURE(c.input);
        const Outcome out = run(c.input, o);
        CHECK(out.last == HttpState::Error);
        CHECK(out.status == c.status);
        CHECK(!out.reason.empty());
    }
}

const std::string kGet =
    "GET /index.html?q=1 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: test/1.0\r\n"
    "Accept:   */*  \r\n"
    "\r\n";

const std::string kPost =
    "POST /upload HTTP/1.1\r\n"
    "Host: example.com:8080\r\n"
    "Content-Length: 11\r\n"
    "\r\n"
    "hello world";

const std::string kChunked =
    "POST /c HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5;name=value;quoted=\"a b\"\r\n"
    "hello\r\n"
    "1A\r\n"
    "abcdefghijklmnopqrstuvwxyz\r\n"
    "0 ;last\r\n"
    "Checksum: abc\r\n"
    "X-Trailer: 1\r\n"
    "\r\n";

}  // namespace

TEST_CASE("a GET request gives its method, target, version, Host and fields as views") {
    const Outcome out = run(kGet);
    REQUIRE(out.messages.size() == 1);
    const Message& m = out.messages[0];
    CHECK(m.method == "GET");
    CHECK(m.target == "/index.html?q=1");
    CHECK(m.form == TargetForm::Origin);
    CHECK(m.minor_version == 1);
    CHECK(m.host == "www.example.com");
    const std::vector<std::pair<std::string, std::string>> fields = {
        {"Host", "www.example.com"}, {"User-Agent", "test/1.0"}, {"Accept", "*/*"}};
    CHECK(m.fields == fields);
    CHECK(m.framing == BodyFraming::None);
    CHECK(m.keep_alive);
    CHECK(m.done);
    CHECK(out.last == HttpState::NeedMore);
    CHECK(out.pending == 0);
}

TEST_CASE("the head's byte length is what HeadersDone consumed and what head().bytes spans") {
    const Outcome out = run(kPost);
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].head_consumed == kPost.size() - 11);
    CHECK(out.messages[0].bytes == kPost.substr(0, kPost.size() - 11));
}

TEST_CASE("nothing is consumed while the head is incomplete") {
    const Outcome out = run(kGet.substr(0, kGet.size() - 1));
    CHECK(out.messages.empty());
    CHECK(out.last == HttpState::NeedMore);
    CHECK(out.pending == kGet.size() - 1);
}

TEST_CASE("a POST with Content-Length reports exactly that many body bytes, then Done") {
    const Outcome out = run(kPost + "GET");
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].framing == BodyFraming::Length);
    CHECK(out.messages[0].content_length == 11);
    CHECK(out.messages[0].body == "hello world");
    CHECK(out.messages[0].done);
    CHECK(out.pending == 3);  // the next request's first bytes stay with the caller
}

TEST_CASE("Content-Length: 0 is a complete message with no body") {
    const Outcome out = run("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].framing == BodyFraming::Length);
    CHECK(out.messages[0].body.empty());
    CHECK(out.messages[0].done);
}

TEST_CASE("a chunked request with extensions and trailers decodes to its payload") {
    const Outcome out = run(kChunked);
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].framing == BodyFraming::Chunked);
    CHECK(out.messages[0].body == "helloabcdefghijklmnopqrstuvwxyz");
    CHECK(out.messages[0].done);
    CHECK(out.pending == 0);
    CHECK(out.last == HttpState::NeedMore);
}

TEST_CASE("a chunk's payload is reported as views of the bytes fed, without copying") {
    HttpParser parser(HttpParser::Request);
    const std::string text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    const std::vector<std::uint8_t> bytes(text.begin(), text.end());
    std::span<const std::uint8_t> rest(bytes);
    HttpStep s = parser.feed(rest);
    REQUIRE(s.state == HttpState::HeadersDone);
    rest = rest.subspan(s.consumed);
    s = parser.feed(rest);
    REQUIRE(s.state == HttpState::Body);
    CHECK(s.body.data() == rest.data() + 3);  // after "3\r\n"
    CHECK(s.body.size() == 3);
    CHECK(s.consumed == 6);
    rest = rest.subspan(s.consumed);
    s = parser.feed(rest);
    CHECK(s.state == HttpState::Done);
    CHECK(s.consumed == rest.size());
}

TEST_CASE("pipelined requests in one read parse one after another") {
    const Outcome out = run(kGet + kPost + kChunked + kGet);
    REQUIRE(out.messages.size() == 4);
    CHECK(out.messages[0].method == "GET");
    CHECK(out.messages[1].body == "hello world");
    CHECK(out.messages[2].body == "helloabcdefghijklmnopqrstuvwxyz");
    CHECK(out.messages[3].target == "/index.html?q=1");
    for (const auto& m : out.messages) CHECK(m.done);
    CHECK(out.pending == 0);
}

TEST_CASE("empty lines before a request line are skipped and not part of the head's bytes") {
    const Outcome out = run("\r\n\r\n" + kGet);
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].head_consumed == kGet.size() + 4);
    CHECK(out.messages[0].bytes == kGet);
}

TEST_CASE("the keep-alive decision follows the version and the Connection field") {
    struct Case {
        std::string_view name;
        std::string input;
        bool keep_alive;
    };
    const std::vector<Case> cases = {
        {"HTTP/1.1 default", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
        {"HTTP/1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
        {"HTTP/1.1 close in a list", "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", false},
        {"HTTP/1.0 default", "GET / HTTP/1.0\r\n\r\n", false},
        {"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
        {"HTTP/1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
         false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const Outcome out = run(c.input);
        REQUIRE(out.messages.size() == 1);
        CHECK(out.messages[0].keep_alive == c.keep_alive);
    }
}

TEST_CASE("HTTP/1.0 keep-alive requests pipeline without a Host") {
    const std::string req = "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    const Outcome out = run(req + req);
    REQUIRE(out.messages.size() == 2);
    CHECK(out.messages[1].minor_version == 0);
    CHECK(out.messages[1].keep_alive);
    CHECK(out.messages[1].host.empty());
}

TEST_CASE("each request-target form is recognised") {
    struct Case {
        std::string input;
        TargetForm form;
    };
    const std::vector<Case> cases = {
        {"GET /p?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", TargetForm::Origin},
        {"GET http://a.example/p HTTP/1.1\r\nHost: a.example\r\n\r\n", TargetForm::Absolute},
        {"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", TargetForm::Authority},
        {"CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", TargetForm::Authority},
        {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", TargetForm::Asterisk},
    };
    for (const auto& c : cases) {
        CAPTURE(c.input);
        const Outcome out = run(c.input);
        REQUIRE(out.messages.size() == 1);
        CHECK(out.messages[0].form == c.form);
    }
}

TEST_CASE("Expect: 100-continue is reported for HTTP/1.1 and ignored for HTTP/1.0") {
    const Outcome v11 = run("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
    REQUIRE(v11.messages.size() == 1);
    CHECK(v11.messages[0].expect_continue);
    const Outcome v10 = run("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    REQUIRE(v10.messages.size() == 1);
    CHECK_FALSE(v10.messages[0].expect_continue);
}

TEST_CASE("Upgrade is reported only with Connection: upgrade in HTTP/1.1") {
    const Outcome ws =
        run("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n");
    REQUIRE(ws.messages.size() == 1);
    CHECK(ws.messages[0].upgrade);
    const Outcome no_token = run("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
    REQUIRE(no_token.messages.size() == 1);
    CHECK_FALSE(no_token.messages[0].upgrade);
    const Outcome v10 = run("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
    REQUIRE(v10.messages.size() == 1);
    CHECK_FALSE(v10.messages[0].upgrade);
}

TEST_CASE("identical duplicate Content-Length values are merged") {
    for (const std::string fields : {"Content-Length: 3\r\nContent-Length: 3\r\n", "Content-Length: 3, 3\r\n"}) {
        CAPTURE(fields);
        const Outcome out = run("POST / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\nabc");
        REQUIRE(out.messages.size() == 1);
        CHECK(out.messages[0].content_length == 3);
        CHECK(out.messages[0].body == "abc");
        CHECK(out.messages[0].done);
    }
}

TEST_CASE("every input gives the same result fed whole, byte by byte and split at every point") {
    struct Case {
        std::string input;
        Options options;
    };
    Options response;
    response.kind = HttpParser::Response;
    Options closed_response = response;
    closed_response.close = true;
    Options tight;
    tight.limits.request_line = 20;
    tight.limits.header_section = 60;
    tight.limits.header_count = 2;
    tight.limits.body = 10;
    tight.limits.trailer_section = 8;
    const std::vector<Case> cases = {
        {kGet, {}},
        {kPost + kGet, {}},
        {kChunked + kPost, {}},
        {"\r\n" + kGet, {}},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n", {}},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", {}},
        {"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", {}},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n", {}},
        {"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", tight},
        {"GET / HTTP/1.1\r\nHost: a\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", tight},
        {"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", tight},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n", tight},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: bbbbbbbbb\r\n\r\n", tight},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n", response},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
         response},
        {"HTTP/1.0 200 OK\r\n\r\nuntil the close", closed_response},
        {"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\ncut", closed_response},
    };
    for (const auto& c : cases) {
        CAPTURE(c.input);
        const Outcome whole = run(c.input, c.options);
        CHECK(run_bytewise(c.input, c.options) == whole);
        for (std::size_t split = 0; split <= c.input.size(); ++split) {
            CAPTURE(split);
            const std::string_view in(c.input);
            CHECK(run({in.substr(0, split), in.substr(split)}, c.options) == whole);
        }
    }
}

TEST_CASE("malformed request lines are rejected with 400") {
    check_rejections({
        {"method alone after an empty line", "\r\nGET\r\n\r\n", 400},
        {"no target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
        {"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"control in target", std::string("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"), 400},
        {"obs-text in target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"method not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
        {"version without minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400},
        {"relative target", "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"asterisk for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"CONNECT without port", "CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"CONNECT with a path", "CONNECT /a HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"NUL in the request line", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"s, 400},
        {"TLS handshake on a plain port", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n"s, 400},
    });
}

TEST_CASE("HTTP versions other than 1.0 and 1.1 are rejected with 505") {
    check_rejections({
        {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
        {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
        {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505},
    });
}

TEST_CASE("a request line over the limit is rejected with 414, even before its end arrives") {
    Options o;
    o.limits.request_line = 16;
    check_rejections({{"finished line", "GET /aaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", 414},
                      {"unfinished line", "GET /aaaaaaaaaaaaaaaaaaaaaaaa", 414},
                      {"just over", "GET /aaaaaaaaaaaa\r\n", 414}},
                     o);
    o.limits.request_line = 14;
    const Outcome exact = run("GET / HTTP/1.1\r\nHost: a\r\n\r\n", o);  // exactly 14
    CHECK(exact.last == HttpState::NeedMore);
    CHECK(exact.messages.size() == 1);
}

TEST_CASE("a header section over the limit is rejected with 431, even before its end arrives") {
    Options o;
    o.limits.header_section = 64;
    const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
    check_rejections({{"finished head", head + "X-Big: " + std::string(40, 'x') + "\r\n\r\n", 431},
                      {"unfinished field", head + "X-Big: " + std::string(40, 'x'), 431},
                      {"endless fields", head + "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\n", 431}},
                     o);
    const std::string exact = head + "X: " + std::string(64 - head.size() - 7, 'x') + "\r\n\r\n";
    REQUIRE(exact.size() == 64);
    const Outcome fits = run(exact, o);
    CHECK(fits.last == HttpState::NeedMore);
    CHECK(fits.messages.size() == 1);
}

TEST_CASE("more header fields than the limit is rejected with 431") {
    Options o;
    o.limits.header_count = 3;
    check_rejections({{"four fields", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431}}, o);
    const Outcome three = run("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", o);
    CHECK(three.last == HttpState::NeedMore);
    CHECK(three.messages.size() == 1);
}

TEST_CASE("a body over the limit is rejected with 413") {
    Options o;
    o.limits.body = 10;
    check_rejections(
        {
            {"Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", 413},
            {"one big chunk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n", 413},
            {"chunks adding up", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n5\r\n",
             413},
        },
        o);
    const Outcome fits = run("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", o);
    CHECK(fits.last == HttpState::NeedMore);
    CHECK(fits.messages.at(0).done);
}

TEST_CASE("malformed field lines are rejected with 400") {
    const std::string start = "GET / HTTP/1.1\r\nHost: a\r\n";
    check_rejections({
        {"obs-fold", start + "X: a\r\n  folded\r\n\r\n", 400},
        {"whitespace before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
        {"whitespace before the colon", start + "X : a\r\n\r\n", 400},
        {"tab before the colon", start + "X\t: a\r\n\r\n", 400},
        {"no colon", start + "X a\r\n\r\n", 400},
        {"empty name", start + ": a\r\n\r\n", 400},
        {"name not a token", start + "X(y): a\r\n\r\n", 400},
        {"CR without LF in a value", start + "X: a\rb\r\n\r\n", 400},
        {"bare LF line end", start + "X: a\n\r\n", 400},
        {"bare LF head end", start + "\n", 400},
        {"NUL in a value", start + "X: a\0b\r\n\r\n"s, 400},
        {"control in a value", start + "X: a\x07z\r\n\r\n", 400},
        {"DEL in a value", start + "X: a\x7f\r\n\r\n", 400},
    });
}

TEST_CASE("Host missing in HTTP/1.1, duplicated or invalid is rejected with 400") {
    check_rejections({
        {"missing", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
        {"duplicated", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"duplicated in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400},
        {"with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
        {"with user info", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400},
        {"with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        {"bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400},
    });
}

TEST_CASE("Content-Length with Transfer-Encoding is rejected with 400") {
    check_rejections({
        {"length first", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"coding first", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
    });
}

TEST_CASE("conflicting or invalid Content-Length is rejected with 400") {
    const std::string start = "POST / HTTP/1.1\r\nHost: a\r\n";
    check_rejections({
        {"two lines differ", start + "Content-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
        {"list differs", start + "Content-Length: 3, 4\r\n\r\n", 400},
        {"empty", start + "Content-Length: \r\n\r\n", 400},
        {"empty list element", start + "Content-Length: 3,\r\n\r\n", 400},
        {"sign", start + "Content-Length: +3\r\n\r\n", 400},
        {"negative", start + "Content-Length: -1\r\n\r\n", 400},
        {"hex", start + "Content-Length: 0x10\r\n\r\n", 400},
        {"inner space", start + "Content-Length: 1 0\r\n\r\n", 400},
        {"overflow", start + "Content-Length: 18446744073709551616\r\n\r\n", 400},
    });
}

TEST_CASE("Transfer-Encoding whose final coding is not chunked is rejected with 400") {
    const std::string start = "POST / HTTP/1.1\r\nHost: a\r\n";
    check_rejections({
        {"gzip only", start + "Transfer-Encoding: gzip\r\n\r\n", 400},
        {"chunked then gzip", start + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
        {"chunked twice", start + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"empty", start + "Transfer-Encoding: \r\n\r\n", 400},
        {"misspelt", start + "Transfer-Encoding: chunk\r\n\r\n", 400},
        {"with a parameter", start + "Transfer-Encoding: chunked;q=1\r\n\r\n", 400},
        {"in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
    });
}

TEST_CASE("a transfer coding other than chunked before chunked is rejected with 501") {
    check_rejections(
        {{"gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501}});
}

TEST_CASE("malformed chunked framing is rejected with 400") {
    const std::string start = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    check_rejections({
        {"no size", start + "\r\n", 400},
        {"size not hex", start + "g\r\n", 400},
        {"negative size", start + "-1\r\n", 400},
        {"size overflow", start + "10000000000000000\r\n", 400},
        {"space without extension", start + "5 \r\nhello\r\n", 400},
        {"bare LF after size", start + "5\nhello\r\n", 400},
        {"CR without LF after size", start + "5\rhello\r\n", 400},
        {"control in an extension", start + "5;a=\x01\r\n", 400},
        {"extension too long", start + "5;" + std::string(1100, 'x') + "\r\n", 400},
        {"data longer than the size", start + "5\r\nhello!\r\n0\r\n\r\n", 400},
        {"data not followed by CRLF", start + "5\r\nhello\n0\r\n\r\n", 400},
        {"obs-fold in trailer", start + "0\r\nA: 1\r\n 2\r\n\r\n", 400},
        {"trailer without colon", start + "0\r\nA\r\n\r\n", 400},
        {"whitespace before a trailer colon", start + "0\r\nA : 1\r\n\r\n", 400},
        {"NUL in a trailer", start + "0\r\nA: \0\r\n\r\n"s, 400},
        {"bare LF ending the trailers", start + "0\r\n\n", 400},
    });
}

TEST_CASE("oversized or too many trailers are rejected with 431") {
    Options o;
    o.limits.trailer_section = 32;
    o.limits.header_count = 3;
    const std::string start = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
    check_rejections({{"section too large", start + "A: " + std::string(40, 'x') + "\r\n\r\n", 431},
                      {"too many", start + "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431}},
                     o);
}

TEST_CASE("an Error is sticky and consumes nothing") {
    HttpParser parser(HttpParser::Request);
    const std::string bad = "GET / HTTP/1.1\r\nX : a\r\n\r\n";
    const std::vector<std::uint8_t> bytes(bad.begin(), bad.end());
    const HttpStep first = parser.feed(bytes);
    REQUIRE(first.state == HttpState::Error);
    const std::string good = kGet;
    const std::vector<std::uint8_t> more(good.begin(), good.end());
    const HttpStep again = parser.feed(more);
    CHECK(again.state == HttpState::Error);
    CHECK(again.consumed == 0);
    CHECK(again.error.status == first.error.status);
    CHECK(parser.finish().state == HttpState::Error);
}

TEST_CASE("a close between requests loses nothing but a close inside one is an error") {
    Options o;
    o.close = true;
    const Outcome idle = run(kGet + "\r\n", o);
    CHECK(idle.last == HttpState::NeedMore);
    CHECK(idle.messages.size() == 1);
    const Outcome in_head = run("GET / HT", o);
    CHECK(in_head.last == HttpState::Error);
    CHECK(in_head.status == 400);
    const Outcome in_body = run(kPost.substr(0, kPost.size() - 1), o);
    CHECK(in_body.last == HttpState::Error);
    CHECK(in_body.status == 400);
}

TEST_CASE("a response with Content-Length gives its status, reason and body") {
    Options o;
    o.kind = HttpParser::Response;
    const Outcome out = run("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a=b\r\n\r\nok", o);
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].status == 200);
    CHECK(out.messages[0].reason == "OK");
    CHECK(out.messages[0].body == "ok");
    CHECK(out.messages[0].keep_alive);
    CHECK(out.messages[0].done);
}

TEST_CASE("a status line without a reason phrase is accepted") {
    Options o;
    o.kind = HttpParser::Response;
    for (const std::string line : {"HTTP/1.1 302\r\n", "HTTP/1.1 302 \r\n"}) {
        const Outcome out = run(line + "Location: /x\r\nContent-Length: 0\r\n\r\n", o);
        REQUIRE(out.messages.size() == 1);
        CHECK(out.messages[0].status == 302);
        CHECK(out.messages[0].reason.empty());
    }
}

TEST_CASE("1xx, 204, 304 and responses to HEAD have no body whatever their fields say") {
    struct Case {
        std::string input;
        bool to_head;
    };
    const std::vector<Case> cases = {
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false},
        {"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false},
        {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true},
        {"HTTP/1.1 200 OK\r\n\r\n", true},
    };
    for (const auto& c : cases) {
        CAPTURE(c.input);
        Options o;
        o.kind = HttpParser::Response;
        o.to_head = c.to_head;
        const Outcome out = run(c.input + "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", o);
        REQUIRE(out.messages.size() == 2);
        CHECK(out.messages[0].framing == BodyFraming::None);
        CHECK(out.messages[0].body.empty());
        CHECK(out.messages[0].done);
        CHECK(out.messages[1].body == "x");  // a HEAD answer's flag ends with it
    }
}

TEST_CASE("an interim 100 Continue is followed by the final response, which stays to HEAD") {
    Options o;
    o.kind = HttpParser::Response;
    o.to_head = true;
    const Outcome out = run("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", o);
    REQUIRE(out.messages.size() == 2);
    CHECK(out.messages[0].status == 100);
    CHECK(out.messages[1].status == 200);
    CHECK(out.messages[1].framing == BodyFraming::None);
    CHECK(out.messages[1].done);
}

TEST_CASE("a response without a length is delimited by the close and is not keep-alive") {
    Options o;
    o.kind = HttpParser::Response;
    o.close = true;
    for (const std::string head :
         {"HTTP/1.0 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"}) {
        CAPTURE(head);
        const Outcome out = run(std::vector<std::string_view>{head, "part one, ", "part two"}, o);
        REQUIRE(out.messages.size() == 1);
        CHECK(out.messages[0].framing == BodyFraming::UntilClose);
        CHECK_FALSE(out.messages[0].keep_alive);
        CHECK(out.messages[0].body == "part one, part two");
        CHECK(out.messages[0].done);
    }
}

TEST_CASE("a chunked response decodes like a chunked request and is not size-limited") {
    Options o;
    o.kind = HttpParser::Response;
    o.limits.body = 1;
    const Outcome out =
        run("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nabcd\r\n2;x\r\nef\r\n0\r\n\r\n", o);
    REQUIRE(out.messages.size() == 1);
    CHECK(out.messages[0].framing == BodyFraming::Chunked);
    CHECK(out.messages[0].body == "abcdef");
    CHECK(out.messages[0].done);
}

TEST_CASE("malformed responses are rejected with 502") {
    Options o;
    o.kind = HttpParser::Response;
    o.close = true;
    check_rejections(
        {
            {"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n\r\n", 502},
            {"HTTP/2", "HTTP/2.0 200 OK\r\n\r\n", 502},
            {"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", 502},
            {"status below 100", "HTTP/1.1 099 Odd\r\n\r\n", 502},
            {"NUL in the reason", "HTTP/1.1 200 O\0K\r\n\r\n"s, 502},
            {"empty line first", "\r\nHTTP/1.1 200 OK\r\n\r\n", 502},
            {"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", 502},
            {"both lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 502},
            {"differing lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", 502},
            {"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 502},
            {"cut short by the close", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", 502},
        },
        o);
}
