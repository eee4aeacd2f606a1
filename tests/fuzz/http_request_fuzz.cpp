// Fuzz target: bytes a client sends to the VIP (and, when asked, a backend's
// response) through HttpParser, driven as the proxy drives it. Input layout: byte
// 0 picks the parser (bit 0: a response; bit 1: it answers HEAD; bit 2: tight
// limits the fuzzer can reach; the seeds use '0'-'7'), bytes 1-2 where the rest is
// cut in two, then the message bytes. Besides not crashing or reading out of
// bounds (every feed gets an exact-size heap copy of the unconsumed bytes): fed
// whole, in two pieces and (short inputs) byte by byte, the heads, bodies and
// verdict are the same; body and head views lie inside the span fed; body bytes
// never exceed the input; an Error carries a status the proxy can answer with.
#include "pooldns/http.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace pooldns::vip;

struct Options {
    bool response = false;
    bool to_head = false;
    HttpLimits limits;
};

bool inside(const void* p, std::size_t n, const std::vector<std::uint8_t>& buffer, std::size_t end) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    if (n == 0) return true;
    return b >= buffer.data() && b + n <= buffer.data() + end;
}

void check_error(const HttpError& e, bool response) {
    if (e.reason.empty()) __builtin_trap();
    if (response) {
        if (e.status != 502) __builtin_trap();
        return;
    }
    const int s = e.status;
    if (s != 400 && s != 413 && s != 414 && s != 431 && s != 501 && s != 505) __builtin_trap();
}

// Everything the proxy would act on, serialised: equal traces mean equal behaviour.
std::string run(const std::uint8_t* data, std::size_t size, const std::vector<std::size_t>& cuts, const Options& o) {
    HttpParser parser(o.response ? HttpParser::Response : HttpParser::Request, o.limits);
    if (o.to_head) parser.response_to_head();
    std::string trace;
    std::vector<std::uint8_t> pending;
    std::size_t body_total = 0;
    std::size_t from = 0;
    bool failed = false;
    for (std::size_t piece = 0; piece <= cuts.size() && !failed; ++piece) {
        const std::size_t to = piece < cuts.size() ? cuts[piece] : size;
        pending.insert(pending.end(), data + from, data + to);
        from = to;
        // Every step consumes bytes or reports an event; a loop without end is a bug.
        const std::size_t most_steps = 3 * pending.size() + 8;
        for (std::size_t steps = 0;; ++steps) {
            if (steps > most_steps) __builtin_trap();
            const std::vector<std::uint8_t> copy(pending);
            const HttpStep s = parser.feed(copy);
            if (s.consumed > copy.size()) __builtin_trap();
            switch (s.state) {
                case HttpState::NeedMore:
                    break;
                case HttpState::HeadersDone: {
                    const HttpHead& h = parser.head();
                    if (!inside(h.bytes.data(), h.bytes.size(), copy, s.consumed)) __builtin_trap();
                    if (h.bytes.data() + h.bytes.size() != reinterpret_cast<const char*>(copy.data()) + s.consumed) {
                        __builtin_trap();
                    }
                    trace += "H";
                    for (const auto v : {h.method, h.target, h.reason, h.host}) {
                        trace += std::to_string(v.size()) + ":" + std::string(v) + " ";
                    }
                    trace += std::to_string(h.status) + " " + std::to_string(h.minor_version) + " " +
                             std::to_string(static_cast<int>(h.form)) + " " +
                             std::to_string(static_cast<int>(h.framing)) + " " + std::to_string(h.content_length) +
                             " " + std::to_string(h.keep_alive) + std::to_string(h.expect_continue) +
                             std::to_string(h.upgrade) + " " + std::to_string(s.consumed) + " ";
                    for (const auto& f : h.fields) {
                        if (!inside(f.name.data(), f.name.size(), copy, s.consumed)) __builtin_trap();
                        if (!inside(f.value.data(), f.value.size(), copy, s.consumed)) __builtin_trap();
                        trace += std::string(f.name) + ":" + std::string(f.value) + "\n";
                    }
                    break;
                }
                case HttpState::Body:
                    if (s.body.empty() || !inside(s.body.data(), s.body.size(), copy, s.consumed)) __builtin_trap();
                    body_total += s.body.size();
                    if (body_total > size) __builtin_trap();
                    trace.append(reinterpret_cast<const char*>(s.body.data()), s.body.size());
                    break;
                case HttpState::Done:
                    trace += "|D|";
                    break;
                case HttpState::Error:
                    if (s.consumed != 0) __builtin_trap();
                    check_error(s.error, o.response);
                    trace += "|E" + std::to_string(s.error.status) + std::string(s.error.reason);
                    failed = true;
                    break;
            }
            pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(s.consumed));
            if (s.state == HttpState::NeedMore || s.state == HttpState::Error) break;
        }
    }
    if (!failed) {
        const HttpStep end = parser.finish();
        if (end.state == HttpState::Error) check_error(end.error, o.response);
        trace += "|F" + std::to_string(static_cast<int>(end.state)) + " " + std::to_string(end.error.status) + " " +
                 std::to_string(pending.size());
    }
    return trace;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    Options o;
    o.response = data[0] & 1;
    o.to_head = data[0] & 2;
    if (data[0] & 4) {
        o.limits.request_line = 32;
        o.limits.header_section = 128;
        o.limits.header_count = 4;
        o.limits.body = 64;
        o.limits.chunk_extension = 8;
        o.limits.trailer_section = 32;
    }
    const std::size_t split_at = static_cast<std::size_t>(data[1] << 8 | data[2]);
    data += 3;
    size -= 3;

    const std::string whole = run(data, size, {}, o);
    if (run(data, size, {split_at % (size + 1)}, o) != whole) __builtin_trap();
    if (size <= 512) {
        std::vector<std::size_t> every;
        for (std::size_t i = 1; i < size; ++i) every.push_back(i);
        if (run(data, size, every, o) != whole) __builtin_trap();
    }
    return 0;
}
