// HTTP/1.1 message parsing for the VIP (RFC 9112): request heads from clients,
// response heads from backends, and the framing of the bodies that follow. Pure
// and incremental: the proxy feeds it bytes as libuv reads them and acts on each
// step. It copies nothing: header fields and body payload are views of the bytes
// the caller fed. Every malformed input is an Error step carrying the status to
// answer, never an exception or an assert.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace pooldns::vip {

// What a peer may make the parser wait for or account. Each is a VIP setting.
struct HttpLimits {
    std::size_t request_line = 8 * 1024;  // start line, without its CRLF; longer: 414
    // Start line, fields and the blank line. Large because SfB clients send Kerberos
    // Negotiate tokens, for which Microsoft raises IIS's limit to 64 KB: longer is 431.
    std::size_t header_section = 64 * 1024;
    std::size_t header_count = 100;               // field lines; more: 431
    std::uint64_t body = std::uint64_t{4} << 30;  // request payload (responses are not limited); more: 413
    std::size_t chunk_extension = 1024;           // extension bytes on one chunk-size line; more: 400
    std::size_t trailer_section = 16 * 1024;      // trailer fields and the final CRLF; more: 431
};

enum class HttpState : std::uint8_t {
    NeedMore,     // every byte of value in the span was consumed: feed again when more arrive
    HeadersDone,  // head() describes the message head: the first `consumed` bytes
    Body,         // `body` is payload (after `consumed - body.size()` bytes of framing)
    Done,         // the message is complete; the next feed starts the next message
    Error,        // `error` says what to answer; the connection must close (sticky)
};

enum class BodyFraming : std::uint8_t {
    None,        // no body: requests without length, 1xx/204/304, responses to HEAD
    Length,      // Content-Length bytes (possibly 0)
    Chunked,     // chunked transfer coding, decoded into Body steps
    UntilClose,  // a response without length: its body ends when the backend closes
};

enum class TargetForm : std::uint8_t { Origin, Absolute, Authority, Asterisk };

struct HttpField {
    std::string_view name;   // as sent (compare case-insensitively)
    std::string_view value;  // without surrounding whitespace
};

// A parsed message head. The views point into the span fed with the step that
// returned HeadersDone; they live as long as the caller keeps those bytes, and
// head() describes this message until the next message's HeadersDone.
struct HttpHead {
    std::string_view method;  // requests: the method token as sent ("GET")
    std::string_view target;  // requests: the request-target as sent
    TargetForm form = TargetForm::Origin;
    int status = 0;                     // responses: 100-599
    std::string_view reason;            // responses: the reason phrase (may be empty)
    int minor_version = 1;              // HTTP/1.0 or HTTP/1.1
    std::string_view host;              // requests: the Host value ("" when absent in HTTP/1.0)
    std::span<const HttpField> fields;  // every field line, in order
    // The start line through the blank line that ends the head, exactly as received
    // (leading empty lines before a request line are skipped and not included).
    std::string_view bytes;
    BodyFraming framing = BodyFraming::None;
    std::uint64_t content_length = 0;  // framing Length
    bool keep_alive = false;           // the connection may carry another message after this one
    bool expect_continue = false;      // HTTP/1.1 request with "Expect: 100-continue"
    bool upgrade = false;              // an Upgrade field and "Connection: upgrade" (HTTP/1.1)
};

struct HttpError {
    int status = 0;           // requests: 400/413/414/431/501/505; any bad response: 502
    std::string_view reason;  // static text, e.g. "Content-Length with Transfer-Encoding"
};

struct HttpStep {
    HttpState state = HttpState::NeedMore;
    std::size_t consumed = 0;            // leading bytes of the fed span that this step used
    std::span<const std::uint8_t> body;  // Body: payload, a view into the fed span
    HttpError error;                     // Error
};

// One direction of one connection. The caller keeps a read buffer and runs
//
//     for (;;) {
//         HttpStep s = parser.feed(buffer);   // buffer: every byte not yet consumed
//         buffer = buffer.subspan(s.consumed);
//         ... act on s; stop at NeedMore (read more) or Error (answer, close) ...
//     }
//
// Each step either consumes bytes, reports an event or is NeedMore, so the loop
// always ends; Done can come on an empty span. While a head is incomplete nothing
// is consumed and the caller must feed the same bytes again followed by the new
// ones (the head's views need it contiguous; the parser resumes where it stopped,
// so this costs no rescan). Body bytes are consumed as they are fed: a proxy may
// forward each Body view and drop it. For chunked bodies a proxy should send the
// decoded payload re-chunked rather than relay the raw bytes, so a backend never
// sees framing this parser read differently; trailers are checked and dropped.
// What follows a 101 response (or a request the proxy tunnels) is not HTTP: stop
// feeding. A 2xx answer to CONNECT is not special-cased (the VIP does not tunnel
// CONNECT).
class HttpParser {
public:
    enum Kind : std::uint8_t { Request, Response };

    explicit HttpParser(Kind kind, const HttpLimits& limits = {});
    // A copy's head().fields would still view the original's field index.
    HttpParser(const HttpParser&) = delete;
    HttpParser& operator=(const HttpParser&) = delete;
    HttpParser(HttpParser&&) = default;
    HttpParser& operator=(HttpParser&&) = default;

    HttpStep feed(std::span<const std::uint8_t> data);

    // The peer closed its side. Done: that ended a close-delimited body (or the
    // message was already complete). NeedMore: no message was under way. Error: it
    // cut a message short.
    HttpStep finish();

    // The next final response answers a HEAD request: no body whatever its fields
    // say. Call before feeding it; lasts through any 1xx responses before it.
    void response_to_head() { to_head_ = true; }

    const HttpHead& head() const { return head_; }

private:
    using Bytes = std::span<const std::uint8_t>;
    struct Slice {
        std::size_t off = 0, len = 0;
    };
    struct FieldSlices {
        Slice name, value;
    };
    enum class Phase : std::uint8_t { Head, NoBody, Length, Chunked, UntilClose, Failed };
    enum class Chunk : std::uint8_t {
        Size,
        SizeDigits,
        SizeSpace,
        Extension,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerStart,
        TrailerName,
        TrailerValue,
        TrailerLf,
        EndLf,
    };

    HttpStep feed_head(Bytes data);
    HttpStep feed_chunked(Bytes data);
    HttpStep fail(HttpError error);
    void start_message();
    std::optional<HttpError> size_error(std::size_t at, std::size_t end) const;
    std::optional<HttpError> request_line(std::string_view line, std::size_t at);
    std::optional<HttpError> status_line(std::string_view line, std::size_t at);
    std::optional<HttpError> field_line(std::string_view line, std::size_t at);
    std::optional<HttpError> complete_head(const char* base, std::size_t end);

    Kind kind_;
    HttpLimits limits_;
    Phase phase_ = Phase::Head;
    HttpError error_;
    bool to_head_ = false;

    // Head scanning: offsets into the span the caller feeds again each time.
    std::size_t seen_ = 0;        // bytes fed with the last call
    std::size_t searched_ = 0;    // bytes already searched for a line end
    std::size_t line_start_ = 0;  // the first line not yet parsed
    std::size_t head_start_ = 0;  // the start line (after skipped empty lines)
    bool have_start_line_ = false;
    Slice method_, target_, reason_, host_;
    int minor_ = 1;
    int status_ = 0;
    TargetForm form_ = TargetForm::Origin;
    std::vector<FieldSlices> slices_;
    std::vector<HttpField> fields_;

    // What the field lines said about framing and the connection.
    int host_count_ = 0;
    bool length_seen_ = false;
    bool te_seen_ = false, te_chunked_last_ = false, te_other_ = false;
    int te_chunked_ = 0;  // times "chunked" was listed
    bool conn_close_ = false, conn_keep_alive_ = false, conn_upgrade_ = false;
    bool upgrade_field_ = false, expect_continue_ = false;
    std::uint64_t length_ = 0;

    HttpHead head_;

    // Body.
    std::uint64_t left_ = 0;     // Length: payload still to come; Chunked: of this chunk
    std::uint64_t decoded_ = 0;  // Chunked: payload so far, against limits_.body
    std::uint64_t chunk_size_ = 0;
    std::size_t extension_ = 0;  // bytes of this chunk line's extensions
    std::size_t trailer_bytes_ = 0;
    std::size_t trailer_count_ = 0;
    Chunk chunk_ = Chunk::Size;
};

// ASCII case-insensitive equality, for field names and tokens (no locale).
inline bool equals_ci(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; };
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// Optional whitespace (SP, HTAB) removed from both ends.
inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A comma-separated field value (RFC 9110 section 5.6.1): elements come trimmed
// and may be empty.
struct FieldList {
    std::string_view rest;
    bool done = false;

    std::optional<std::string_view> next() {
        if (done) return std::nullopt;
        const auto comma = rest.find(',');
        if (comma == std::string_view::npos) {
            done = true;
            return trim_ows(rest);
        }
        const auto element = trim_ows(rest.substr(0, comma));
        rest.remove_prefix(comma + 1);
        return element;
    }
};

}  // namespace pooldns::vip
