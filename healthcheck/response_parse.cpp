// The response parsers of the probes (see response_parse.hpp). They look at a
// growing buffer from its start each time, so every verdict depends only on the
// bytes seen: a prefix that is Done or Invalid stays so however the stream goes on.
#include "response_parse.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>

namespace pooldns::health {

namespace {

// A status line is short; the cap bounds the work a server sending garbage can cause.
constexpr std::size_t kMaxStatusLine = 1024;
// SIP headers (Via with many parameters, Record-Route) get longer.
constexpr std::size_t kMaxHeaderLine = 4096;
constexpr std::size_t kMaxHeaderLines = 128;
// A provisional response has no business carrying a large body.
constexpr std::size_t kMaxProvisionalBody = 64 * 1024;

using Bytes = std::span<const std::uint8_t>;

StatusParse need_more() {
    return {};
}
StatusParse invalid(std::string_view why) {
    return {ParseState::Invalid, 0, why};
}
StatusParse done(int code) {
    return {ParseState::Done, code, {}};
}

// One line at `from`. Lines end in CRLF; a bare LF is tolerated as RFC 9112
// section 2.2 allows, but a CR anywhere else is refused rather than guessed at.
struct Line {
    ParseState state = ParseState::NeedMore;
    std::string_view error;
    std::size_t length = 0;  // without the line end (Done)
    std::size_t next = 0;    // offset after the line end (Done)
};

Line find_line(Bytes data, std::size_t from, std::size_t cap, std::string_view too_long) {
    const std::size_t avail = data.size() - from;
    const std::size_t limit = std::min(avail, cap + 2);  // cap content bytes plus CRLF
    for (std::size_t i = 0; i < limit; ++i) {
        const std::uint8_t c = data[from + i];
        if (c == '\n') {
            const std::size_t length = (i > 0 && data[from + i - 1] == '\r') ? i - 1 : i;
            if (length > cap) return {ParseState::Invalid, too_long};
            return {ParseState::Done, {}, length, from + i + 1};
        }
        if (c == '\r' && i + 1 < avail && data[from + i + 1] != '\n') {
            return {ParseState::Invalid, "CR not followed by LF"};
        }
    }
    if (avail >= cap + 2) return {ParseState::Invalid, too_long};
    return {};
}

// The text of a line so far: the whole line when it is complete, else what has
// arrived up to the cap and before any CR (the start of its CRLF, or a stray CR
// that find_line reports).
Bytes line_text(Bytes data, std::size_t from, const Line& line, std::size_t cap) {
    if (line.state == ParseState::Done) return data.subspan(from, line.length);
    Bytes partial = data.subspan(from, std::min(data.size() - from, cap));
    for (std::size_t i = 0; i < partial.size(); ++i) {
        if (partial[i] == '\r') return partial.first(i);
    }
    return partial;
}

struct StatusRule {
    std::string_view version;   // '#' stands for one digit
    bool version_ignores_case;  // RFC 3261 section 7.1: SIP-Version is case-insensitive
    std::uint8_t first_digit_max;
    std::string_view not_status;
    std::string_view bad_code;
};

constexpr StatusRule kHttpRule{"HTTP/1.#", false, '5', "not an HTTP/1.x status line",
                               "status code is not 3 digits in 100-599"};
constexpr StatusRule kSipRule{"SIP/2.0", true, '6', "not a SIP/2.0 status line",
                              "status code is not 3 digits in 100-699"};

std::uint8_t ascii_upper(std::uint8_t c) {
    return (c >= 'a' && c <= 'z') ? static_cast<std::uint8_t>(c - 32) : c;
}
bool is_digit(std::uint8_t c) {
    return c >= '0' && c <= '9';
}
bool is_control(std::uint8_t c) {
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

// Checks "<version> SP DDD [SP reason]" on a complete line or on the start of
// one, so garbage is refused from its first wrong byte without waiting for more.
StatusParse check_status_line(Bytes text, bool complete, const StatusRule& rule) {
    const std::size_t v = rule.version.size();
    for (std::size_t i = 0; i < text.size() && i < v; ++i) {
        const auto want = static_cast<std::uint8_t>(rule.version[i]);
        const std::uint8_t got = rule.version_ignores_case ? ascii_upper(text[i]) : text[i];
        if (want == '#' ? !is_digit(got) : got != want) return invalid(rule.not_status);
    }
    if (text.size() <= v) return complete ? invalid(rule.not_status) : need_more();
    if (text[v] != ' ') return invalid(rule.not_status);
    int code = 0;
    for (std::size_t k = 0; k < 3; ++k) {
        const std::size_t i = v + 1 + k;
        if (i >= text.size()) return complete ? invalid(rule.bad_code) : need_more();
        const std::uint8_t c = text[i];
        if (!is_digit(c) || (k == 0 && (c < '1' || c > rule.first_digit_max))) return invalid(rule.bad_code);
        code = code * 10 + (c - '0');
    }
    // RFC 9112 makes the SP before an empty reason phrase mandatory, but servers omit it.
    std::size_t i = v + 4;
    if (i < text.size() && text[i] != ' ') return invalid(rule.bad_code);
    for (; i < text.size(); ++i) {
        if (is_control(text[i])) return invalid("control character in status line");
    }
    return complete ? done(code) : need_more();
}

StatusParse parse_status_line(Bytes data, std::size_t from, const StatusRule& rule, std::size_t& next) {
    const Line line = find_line(data, from, kMaxStatusLine, "status line too long");
    const StatusParse status =
        check_status_line(line_text(data, from, line, kMaxStatusLine), line.state == ParseState::Done, rule);
    if (status.state == ParseState::Invalid) return status;
    if (line.state == ParseState::Invalid) return invalid(line.error);
    next = line.next;
    return status;
}

bool is_token_char(std::uint8_t c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
    return std::string_view("-.!%*_+`'~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_space(std::uint8_t c) {
    return c == ' ' || c == '\t';
}

bool name_is(Bytes name, std::string_view lower) {
    if (name.size() != lower.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const std::uint8_t c = name[i];
        const auto l = static_cast<std::uint8_t>((c >= 'A' && c <= 'Z') ? c + 32 : c);
        if (l != static_cast<std::uint8_t>(lower[i])) return false;
    }
    return true;
}

// The header block of a provisional response, up to and including its empty
// line. Only Content-Length matters: it says how many body bytes to skip.
struct Headers {
    StatusParse status;  // NeedMore while incomplete, Invalid on a bad line; Done when complete
    std::size_t content_length = 0;
    std::size_t next = 0;
};

Headers parse_headers(Bytes data, std::size_t pos) {
    std::optional<std::size_t> content_length;
    std::size_t lines = 0;
    for (;;) {
        const Line line = find_line(data, pos, kMaxHeaderLine, "header line too long");
        if (line.state == ParseState::Invalid) return {invalid(line.error)};
        if (line.state == ParseState::NeedMore) return {need_more()};
        const Bytes text = data.subspan(pos, line.length);
        pos = line.next;
        if (text.empty()) return {done(0), content_length.value_or(0), pos};
        if (++lines > kMaxHeaderLines) return {invalid("too many header lines")};
        if (std::any_of(text.begin(), text.end(), is_control)) return {invalid("control character in header")};
        // A line starting with whitespace continues the previous header (RFC 3261 section 7.3.1).
        if (is_space(text[0])) {
            if (lines == 1) return {invalid("malformed header line")};
            continue;
        }
        std::size_t n = 0;
        while (n < text.size() && is_token_char(text[n])) ++n;
        const Bytes name = text.first(n);
        while (n < text.size() && is_space(text[n])) ++n;
        if (name.empty() || n == text.size() || text[n] != ':') return {invalid("malformed header line")};
        // "l" is the compact form (RFC 3261 section 7.3.3).
        if (!name_is(name, "content-length") && !name_is(name, "l")) continue;
        Bytes value = text.subspan(n + 1);
        while (!value.empty() && is_space(value.front())) value = value.subspan(1);
        while (!value.empty() && is_space(value.back())) value = value.first(value.size() - 1);
        if (value.empty()) return {invalid("bad Content-Length")};
        std::size_t length = 0;
        for (std::uint8_t c : value) {
            if (!is_digit(c)) return {invalid("bad Content-Length")};
            length = length * 10 + (c - '0');
            if (length > kMaxProvisionalBody) return {invalid("Content-Length too large")};
        }
        if (content_length && *content_length != length) return {invalid("conflicting Content-Length")};
        content_length = length;
    }
}

}  // namespace

StatusParse parse_http_status(std::span<const std::uint8_t> data) {
    std::size_t next = 0;
    return parse_status_line(data, 0, kHttpRule, next);
}

StatusParse parse_sip_response(std::span<const std::uint8_t> data) {
    std::size_t pos = 0;
    for (;;) {
        // RFC 3261 section 7.5: CRLFs before a start line are ignored on streams
        // (RFC 5626 uses them as keep-alives).
        while (pos < data.size() && (data[pos] == '\r' || data[pos] == '\n')) {
            if (data[pos] == '\r') {
                if (pos + 1 == data.size()) return need_more();
                if (data[pos + 1] != '\n') return invalid("CR not followed by LF");
                ++pos;
            }
            ++pos;
        }
        if (pos == data.size()) return need_more();
        std::size_t next = 0;
        const StatusParse status = parse_status_line(data, pos, kSipRule, next);
        if (status.state != ParseState::Done || status.code >= 200) return status;
        const Headers headers = parse_headers(data, next);
        if (headers.status.state != ParseState::Done) return headers.status;
        if (data.size() - headers.next < headers.content_length) return need_more();
        pos = headers.next + headers.content_length;
    }
}

}  // namespace pooldns::health
