// The VIP's HTTP/1.1 parser (see pooldns/http.hpp). A head is parsed a whole line
// at a time once the line's LF has arrived, so a verdict never depends on how the
// bytes were split across reads; an unfinished line is only checked against the
// size limits, as "it will reach at least this far". A body is a byte-level state
// machine that keeps no bytes.
#include "pooldns/http.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace pooldns::vip {

namespace {

constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::size_t kMaxSize = std::numeric_limits<std::size_t>::max();
// Field slots reserved up front: enough for the usual request or response. A
// message with more grows the index (once per connection: it keeps its size).
// Reserving header_count slots instead cost 6.5 KB per idle client connection.
constexpr std::size_t kReservedFields = 24;

bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 9110 section 5.6.2.
bool is_tchar(unsigned char c) {
    if (is_digit(c) || is_alpha(c)) return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

// Field content: VCHAR, obs-text, SP and HTAB. Everything else (NUL, CR, LF, the
// other controls, DEL) is refused.
bool is_field_char(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool is_vchar(unsigned char c) {
    return c > 0x20 && c < 0x7f;
}

int hex_value(unsigned char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

template <typename Pred>
bool all_of(std::string_view s, Pred pred) {
    return std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)); });
}

using List = FieldList;

// uri-host [":" port] (RFC 9110 section 7.2): an IP literal in brackets, or
// reg-name / IPv4 characters. Anything a backend could read as a path, user
// info or a second header is refused.
bool valid_authority(std::string_view a, bool port_required) {
    std::string_view host = a;
    std::string_view port;
    bool has_port = false;
    if (!a.empty() && a.front() == '[') {
        const auto close = a.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        host = a.substr(0, close + 1);
        const auto inside = a.substr(1, close - 1);
        if (!all_of(inside, [](unsigned char c) { return hex_value(c) >= 0 || c == ':' || c == '.'; })) return false;
        const auto rest = a.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            has_port = true;
            port = rest.substr(1);
        }
    } else {
        const auto colon = a.find(':');
        if (colon != std::string_view::npos) {
            host = a.substr(0, colon);
            port = a.substr(colon + 1);
            has_port = true;
        }
        const auto reg_name_char = [](unsigned char c) {
            return is_digit(c) || is_alpha(c) || (c != 0 && std::strchr("-._~%!$&'()*+,;=", c) != nullptr);
        };
        if (!all_of(host, reg_name_char)) return false;
    }
    if (!all_of(port, is_digit)) return false;
    return !port_required || (!host.empty() && has_port && !port.empty());
}

// absolute-form as a proxy meets it: scheme "://" and something after.
bool absolute_form(std::string_view t) {
    const auto colon = t.find("://");
    if (colon == std::string_view::npos || colon == 0 || colon + 3 == t.size()) return false;
    const auto scheme = t.substr(0, colon);
    return is_alpha(static_cast<unsigned char>(scheme.front())) && all_of(scheme, [](unsigned char c) {
               return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
           });
}

struct Version {
    int major = 0, minor = 0;
};

// HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
std::optional<Version> parse_version(std::string_view v) {
    if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return std::nullopt;
    const auto major = static_cast<unsigned char>(v[5]), minor = static_cast<unsigned char>(v[7]);
    if (!is_digit(major) || !is_digit(minor)) return std::nullopt;
    return Version{major - '0', minor - '0'};
}

HttpError bad(std::string_view reason) {
    return {400, reason};
}

HttpStep step(HttpState state, std::size_t consumed, std::span<const std::uint8_t> body = {}) {
    HttpStep s;
    s.state = state;
    s.consumed = consumed;
    s.body = body;
    return s;
}

}  // namespace

HttpParser::HttpParser(Kind kind, const HttpLimits& limits) : kind_(kind), limits_(limits) {
    // A field line takes at least 4 bytes ("a:\r\n"), so the header section
    // bounds the count too.
    const std::size_t fields = std::min({limits_.header_count, limits_.header_section / 4, kReservedFields}) + 1;
    slices_.reserve(fields);
    fields_.reserve(fields);
}

HttpStep HttpParser::feed(std::span<const std::uint8_t> data) {
    switch (phase_) {
        case Phase::Head:
            return feed_head(data);
        case Phase::NoBody:
            start_message();
            return step(HttpState::Done, 0);
        case Phase::Length: {
            if (data.empty()) return step(HttpState::NeedMore, 0);
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, data.size()));
            left_ -= n;
            if (left_ == 0) phase_ = Phase::NoBody;
            return step(HttpState::Body, n, data.first(n));
        }
        case Phase::Chunked:
            return feed_chunked(data);
        case Phase::UntilClose:
            if (data.empty()) return step(HttpState::NeedMore, 0);
            return step(HttpState::Body, data.size(), data);
        case Phase::Failed:
            break;
    }
    HttpStep s = step(HttpState::Error, 0);
    s.error = error_;
    return s;
}

HttpStep HttpParser::finish() {
    switch (phase_) {
        case Phase::Failed:
            return feed({});
        case Phase::Head:
            // Only empty lines (or nothing) since the last message: nothing lost.
            if (!have_start_line_ && seen_ == line_start_) return step(HttpState::NeedMore, 0);
            break;
        case Phase::NoBody:
        case Phase::UntilClose:
            start_message();
            return step(HttpState::Done, 0);
        case Phase::Length:
        case Phase::Chunked:
            break;
    }
    return fail(bad("connection closed mid-message"));
}

HttpStep HttpParser::fail(HttpError error) {
    // Whatever is wrong with a backend's response, the client is owed a 502.
    if (kind_ == Response) error.status = 502;
    error_ = error;
    phase_ = Phase::Failed;
    return feed({});
}

void HttpParser::start_message() {
    phase_ = Phase::Head;
    seen_ = searched_ = line_start_ = head_start_ = 0;
    have_start_line_ = false;
    method_ = target_ = reason_ = host_ = Slice{};
    minor_ = 1;
    status_ = 0;
    form_ = TargetForm::Origin;
    slices_.clear();
    host_count_ = 0;
    length_seen_ = te_seen_ = te_chunked_last_ = te_other_ = false;
    te_chunked_ = 0;
    conn_close_ = conn_keep_alive_ = conn_upgrade_ = upgrade_field_ = expect_continue_ = false;
    length_ = 0;
    left_ = decoded_ = chunk_size_ = 0;
    extension_ = trailer_bytes_ = trailer_count_ = 0;
    chunk_ = Chunk::Size;
}

HttpStep HttpParser::feed_head(Bytes data) {
    // Fewer bytes than last time breaks the contract; parsing afresh is the safe reading.
    if (data.size() < searched_) start_message();
    seen_ = data.size();
    const char* p = reinterpret_cast<const char*>(data.data());
    for (;;) {
        const void* lf = searched_ < data.size() ? std::memchr(p + searched_, '\n', data.size() - searched_) : nullptr;
        if (lf == nullptr) {
            searched_ = data.size();
            // The unfinished line will reach at least one byte further: its LF.
            if (auto e = size_error(line_start_, data.size() + 1)) return fail(*e);
            return step(HttpState::NeedMore, 0);
        }
        const std::size_t at = line_start_;
        const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(lf) - p) + 1;
        if (auto e = size_error(at, end)) return fail(*e);
        searched_ = line_start_ = end;
        // A bare LF is refused (RFC 9112 section 2.2 allows either): the backend
        // may not split lines where we did.
        if (end - at < 2 || p[end - 2] != '\r') return fail(bad("line ends in a bare LF"));
        const std::string_view line(p + at, end - 2 - at);
        if (line.find('\r') != std::string_view::npos) return fail(bad("CR not followed by LF"));
        if (!have_start_line_) {
            // RFC 9112 section 2.2: a server should ignore an empty line before a
            // request line (old clients send CRLF after a POST body).
            if (line.empty() && kind_ == Request) continue;
            head_start_ = at;
            if (auto e = kind_ == Request ? request_line(line, at) : status_line(line, at)) return fail(*e);
            have_start_line_ = true;
            continue;
        }
        if (line.empty()) {
            if (auto e = complete_head(p, end)) return fail(*e);
            return step(HttpState::HeadersDone, end);
        }
        if (auto e = field_line(line, at)) return fail(*e);
    }
}

std::optional<HttpError> HttpParser::size_error(std::size_t at, std::size_t end) const {
    // A limit breaks at the first byte beyond it. When the request line and the
    // header section limits both break, the one broken first is reported, so an
    // unfinished line gives the verdict the finished one will.
    const std::size_t head_limit = limits_.header_section;
    std::size_t line_limit = kMaxSize;
    if (!have_start_line_ && limits_.request_line < kMaxSize - at - 2) line_limit = at + limits_.request_line + 2;
    if (end <= std::min(head_limit, line_limit)) return std::nullopt;
    if (line_limit <= head_limit) return HttpError{414, "request line too long"};
    return HttpError{431, "header section too large"};
}

std::optional<HttpError> HttpParser::request_line(std::string_view line, std::size_t at) {
    const auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return bad("malformed request line");
    const auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return bad("malformed request line");
    const auto method = line.substr(0, sp1);
    const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (!all_of(method, is_tchar)) return bad("invalid method");
    if (!all_of(target, is_vchar)) return bad("invalid request-target");
    const auto version = parse_version(line.substr(sp2 + 1));
    if (!version) return bad("malformed HTTP version");
    if (version->major != 1 || version->minor > 1) return HttpError{505, "HTTP version not supported"};

    if (method == "CONNECT") {
        if (!valid_authority(target, true)) return bad("CONNECT needs host:port");
        form_ = TargetForm::Authority;
    } else if (target == "*") {
        if (method != "OPTIONS") return bad("asterisk-form is only for OPTIONS");
        form_ = TargetForm::Asterisk;
    } else if (target.front() == '/') {
        form_ = TargetForm::Origin;
    } else if (absolute_form(target)) {
        form_ = TargetForm::Absolute;
    } else {
        return bad("invalid request-target");
    }
    method_ = {at, sp1};
    target_ = {at + sp1 + 1, target.size()};
    minor_ = version->minor;
    return std::nullopt;
}

std::optional<HttpError> HttpParser::status_line(std::string_view line, std::size_t at) {
    // HTTP-version SP 3DIGIT [SP reason]: the SP before an empty reason is
    // often left out, and tolerated.
    if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' '))
        return bad("malformed status line");
    const auto version = parse_version(line.substr(0, 8));
    if (!version) return bad("malformed status line");
    if (version->major != 1 || version->minor > 1) return bad("unsupported HTTP version");
    const auto code = line.substr(9, 3);
    if (!all_of(code, is_digit)) return bad("malformed status code");
    const int status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (status < 100 || status > 599) return bad("status code out of range");
    const auto reason = line.size() > 13 ? line.substr(13) : std::string_view{};
    if (!all_of(reason, is_field_char)) return bad("invalid character in the reason phrase");
    status_ = status;
    minor_ = version->minor;
    reason_ = {at + 13, reason.size()};
    return std::nullopt;
}

std::optional<HttpError> HttpParser::field_line(std::string_view line, std::size_t at) {
    if (line.front() == ' ' || line.front() == '\t') return bad("obs-fold or whitespace before a field line");
    std::size_t colon = 0;
    while (colon < line.size() && is_tchar(static_cast<unsigned char>(line[colon]))) ++colon;
    if (colon == line.size()) return bad("field line without a colon");
    if (line[colon] == ' ' || line[colon] == '\t') return bad("whitespace before the colon");
    if (line[colon] != ':') return bad("invalid field name");
    if (colon == 0) return bad("empty field name");
    const auto name = line.substr(0, colon);
    const auto raw = line.substr(colon + 1);
    if (!all_of(raw, is_field_char)) return bad("invalid character in a field value");
    if (slices_.size() >= limits_.header_count) return HttpError{431, "too many header fields"};
    const auto value = trim_ows(raw);
    const Slice value_slice{at + static_cast<std::size_t>(value.data() - line.data()), value.size()};
    slices_.push_back({Slice{at, colon}, value_slice});

    if (equals_ci(name, "Content-Length")) {
        // RFC 9110 section 8.6: identical values ("42, 42", or two lines) merge.
        List list{value};
        while (auto element = list.next()) {
            if (element->empty() || !all_of(*element, is_digit)) return bad("invalid Content-Length");
            std::uint64_t n = 0;
            for (const char c : *element) {
                const auto d = static_cast<std::uint64_t>(c - '0');
                if (n > (kMaxU64 - d) / 10) return bad("Content-Length too large");
                n = n * 10 + d;
            }
            if (length_seen_ && n != length_) return bad("conflicting Content-Length values");
            length_seen_ = true;
            length_ = n;
        }
    } else if (equals_ci(name, "Transfer-Encoding")) {
        te_seen_ = true;
        List list{value};
        while (auto element = list.next()) {
            if (element->empty()) continue;
            te_chunked_last_ = equals_ci(*element, "chunked");
            if (te_chunked_last_) {
                ++te_chunked_;
            } else {
                te_other_ = true;
            }
        }
    } else if (equals_ci(name, "Connection")) {
        List list{value};
        while (auto element = list.next()) {
            if (equals_ci(*element, "close")) conn_close_ = true;
            if (equals_ci(*element, "keep-alive")) conn_keep_alive_ = true;
            if (equals_ci(*element, "upgrade")) conn_upgrade_ = true;
        }
    } else if (equals_ci(name, "Upgrade")) {
        if (!value.empty()) upgrade_field_ = true;
    } else if (equals_ci(name, "Expect")) {
        if (equals_ci(value, "100-continue")) expect_continue_ = true;
    } else if (kind_ == Request && equals_ci(name, "Host")) {
        ++host_count_;
        host_ = value_slice;
        if (!valid_authority(value, false)) return bad("invalid Host");
    }
    return std::nullopt;
}

std::optional<HttpError> HttpParser::complete_head(const char* base, std::size_t end) {
    // RFC 9112 section 6: how the body is delimited. Where the RFC lets a
    // recipient guess (both lengths, chunked not last), a request is refused:
    // the backend might guess otherwise (request smuggling).
    BodyFraming framing = BodyFraming::None;
    if (kind_ == Request) {
        if (host_count_ > 1) return bad("duplicate Host");
        if (host_count_ == 0 && minor_ == 1) return bad("missing Host");
        if (te_seen_) {
            if (minor_ == 0) return bad("Transfer-Encoding in HTTP/1.0");
            if (length_seen_) return bad("Content-Length with Transfer-Encoding");
            if (te_chunked_ > 1) return bad("chunked applied twice");
            if (!te_chunked_last_) return bad("final transfer coding is not chunked");
            if (te_other_) return HttpError{501, "unsupported transfer coding"};
            framing = BodyFraming::Chunked;
        } else if (length_seen_) {
            if (length_ > limits_.body) return HttpError{413, "body too large"};
            framing = BodyFraming::Length;
        }
    } else {
        if (te_seen_) {
            if (minor_ == 0) return bad("Transfer-Encoding in HTTP/1.0");
            if (length_seen_) return bad("Content-Length with Transfer-Encoding");
            if (te_chunked_ > 1) return bad("chunked applied twice");
            framing = te_chunked_last_ ? BodyFraming::Chunked : BodyFraming::UntilClose;
        } else {
            framing = length_seen_ ? BodyFraming::Length : BodyFraming::UntilClose;
        }
        if (status_ < 200 || status_ == 204 || status_ == 304 || to_head_) framing = BodyFraming::None;
        if (status_ >= 200) to_head_ = false;
    }

    const auto view = [base](Slice s) { return std::string_view(base + s.off, s.len); };
    fields_.clear();
    for (const auto& f : slices_) fields_.push_back({view(f.name), view(f.value)});
    head_ = HttpHead{};
    head_.method = view(method_);
    head_.target = view(target_);
    head_.form = form_;
    head_.status = status_;
    head_.reason = view(reason_);
    head_.minor_version = minor_;
    head_.host = view(host_);
    head_.fields = fields_;
    head_.bytes = std::string_view(base + head_start_, end - head_start_);
    head_.framing = framing;
    head_.content_length = framing == BodyFraming::Length ? length_ : 0;
    head_.keep_alive =
        (minor_ == 1 ? !conn_close_ : conn_keep_alive_ && !conn_close_) && framing != BodyFraming::UntilClose;
    head_.expect_continue = kind_ == Request && minor_ == 1 && expect_continue_;
    // RFC 9110 section 7.8: an Upgrade in an HTTP/1.0 request is ignored.
    head_.upgrade = minor_ == 1 && upgrade_field_ && conn_upgrade_;

    switch (framing) {
        case BodyFraming::None:
            phase_ = Phase::NoBody;
            break;
        case BodyFraming::Length:
            left_ = length_;
            phase_ = left_ == 0 ? Phase::NoBody : Phase::Length;
            break;
        case BodyFraming::Chunked:
            phase_ = Phase::Chunked;
            break;
        case BodyFraming::UntilClose:
            phase_ = Phase::UntilClose;
            break;
    }
    return std::nullopt;
}

HttpStep HttpParser::feed_chunked(Bytes data) {
    // RFC 9112 section 7.1: chunk-size [ext] CRLF data CRLF ... "0" [ext] CRLF
    // trailers CRLF. Whitespace is allowed only before ';' (BWS), nowhere else.
    for (std::size_t i = 0; i < data.size(); ++i) {
        const unsigned char c = data[i];
        if (chunk_ >= Chunk::TrailerStart && ++trailer_bytes_ > limits_.trailer_section) {
            return fail({431, "trailer section too large"});
        }
        switch (chunk_) {
            case Chunk::Data: {
                const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, data.size() - i));
                left_ -= n;
                if (left_ == 0) chunk_ = Chunk::DataCr;
                return step(HttpState::Body, i + n, data.subspan(i, n));
            }
            case Chunk::Size:
            case Chunk::SizeDigits:
                if (const int d = hex_value(c); d >= 0) {
                    if (chunk_size_ > (kMaxU64 >> 4)) return fail(bad("chunk size too large"));
                    chunk_size_ = (chunk_size_ << 4) | static_cast<std::uint64_t>(d);
                    chunk_ = Chunk::SizeDigits;
                } else if (chunk_ == Chunk::SizeDigits && c == ';') {
                    chunk_ = Chunk::Extension;
                } else if (chunk_ == Chunk::SizeDigits && (c == ' ' || c == '\t')) {
                    chunk_ = Chunk::SizeSpace;
                } else if (chunk_ == Chunk::SizeDigits && c == '\r') {
                    chunk_ = Chunk::SizeLf;
                } else {
                    return fail(bad("malformed chunk size"));
                }
                break;
            case Chunk::SizeSpace:
                if (c == ';') {
                    chunk_ = Chunk::Extension;
                } else if (c != ' ' && c != '\t') {
                    return fail(bad("malformed chunk size"));
                }
                break;
            case Chunk::Extension:
                // Skipped: nothing in pooldns acts on chunk extensions.
                if (c == '\r') {
                    chunk_ = Chunk::SizeLf;
                } else if (!is_field_char(c)) {
                    return fail(bad("invalid chunk extension"));
                } else if (++extension_ > limits_.chunk_extension) {
                    return fail(bad("chunk extension too long"));
                }
                break;
            case Chunk::SizeLf:
                if (c != '\n') return fail(bad("CR not followed by LF"));
                if (chunk_size_ == 0) {
                    chunk_ = Chunk::TrailerStart;
                    break;
                }
                if (kind_ == Request) {
                    if (chunk_size_ > limits_.body - decoded_) return fail({413, "body too large"});
                    decoded_ += chunk_size_;
                }
                left_ = chunk_size_;
                chunk_ = Chunk::Data;
                break;
            case Chunk::DataCr:
                if (c != '\r') return fail(bad("chunk data not followed by CRLF"));
                chunk_ = Chunk::DataLf;
                break;
            case Chunk::DataLf:
                if (c != '\n') return fail(bad("chunk data not followed by CRLF"));
                chunk_size_ = 0;
                extension_ = 0;
                chunk_ = Chunk::Size;
                break;
            case Chunk::TrailerStart:
                if (c == '\r') {
                    chunk_ = Chunk::EndLf;
                } else if (is_tchar(c)) {
                    chunk_ = Chunk::TrailerName;
                } else {
                    return fail(
                        bad(c == ' ' || c == '\t' ? "obs-fold in the trailer section" : "malformed trailer field"));
                }
                break;
            case Chunk::TrailerName:
                if (c == ':') {
                    chunk_ = Chunk::TrailerValue;
                } else if (!is_tchar(c)) {
                    return fail(bad("malformed trailer field"));
                }
                break;
            case Chunk::TrailerValue:
                if (c == '\r') {
                    chunk_ = Chunk::TrailerLf;
                } else if (!is_field_char(c)) {
                    return fail(bad("invalid character in a trailer field"));
                }
                break;
            case Chunk::TrailerLf:
                if (c != '\n') return fail(bad("CR not followed by LF"));
                if (++trailer_count_ > limits_.header_count) return fail({431, "too many trailer fields"});
                chunk_ = Chunk::TrailerStart;
                break;
            case Chunk::EndLf:
                if (c != '\n') return fail(bad("CR not followed by LF"));
                start_message();
                return step(HttpState::Done, i + 1);
        }
    }
    return step(HttpState::NeedMore, data.size());
}

}  // namespace pooldns::vip
