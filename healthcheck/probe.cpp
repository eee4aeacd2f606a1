// The probe kinds (see probe.hpp). One heap object per probe owns a TCP handle
// and a timer and frees itself when libuv has closed both; TLS runs over two
// memory BIOs fed from libuv reads, so no socket call ever blocks the loop.
#include "probe.hpp"

#include "response_parse.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include <cstring>
#include <map>
#include <utility>
#include <vector>

namespace pooldns::health {

namespace {

struct SslCtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

// Bytes handed to SSL_read at a time; responses are capped far lower anyway.
constexpr std::size_t kReadChunk = 16 * 1024;

// The first error OpenSSL queued (the cause; later entries are consequences),
// and an empty queue afterwards: the queue is per thread and shared by every probe.
std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown error";
    // A failed fopen() and the like: OpenSSL 3 keeps errno as the reason and has no string for it.
    if (ERR_SYSTEM_ERROR(code)) return std::strerror(static_cast<int>(ERR_GET_REASON(code)));
    const char* reason = ERR_reason_error_string(code);
    return reason ? reason : fmt::format("error {:#x}", code);
}

bool is_ip_literal(const std::string& name) {
    in6_addr scratch{};
    return inet_pton(AF_INET, name.c_str(), &scratch) == 1 || inet_pton(AF_INET6, name.c_str(), &scratch) == 1;
}

std::string address_text(const sockaddr_storage& address) {
    char text[INET6_ADDRSTRLEN] = "";
    if (address.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof text);
    } else if (address.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, text, sizeof text);
    }
    return text;
}

// An address as the host part of a URI or Host header (IPv6 in brackets).
std::string uri_host(const sockaddr_storage& address) {
    std::string text = address_text(address);
    return address.ss_family == AF_INET6 ? "[" + text + "]" : text;
}

std::uint16_t port_of(const sockaddr_storage& address) {
    if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
    if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
    return 0;
}

void set_port(sockaddr_storage& address, std::uint16_t port) {
    if (address.ss_family == AF_INET) reinterpret_cast<sockaddr_in&>(address).sin_port = htons(port);
    if (address.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6&>(address).sin6_port = htons(port);
}

// Hex for SIP branch, tag and Call-ID: they must differ between probes, not be secret.
std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
        ERR_clear_error();
        std::uint64_t seed = uv_hrtime();
        for (auto& b : raw) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            b = static_cast<unsigned char>(seed >> 56);
        }
    }
    std::string out;
    for (unsigned char b : raw) out += fmt::format("{:02x}", b);
    return out;
}

std::string connect_error(int status) {
    switch (status) {
        case UV_ECONNREFUSED:
            return "connect refused";
        case UV_ETIMEDOUT:
            return "connect timed out";
        case UV_ENETUNREACH:
            return "network unreachable";
        case UV_EHOSTUNREACH:
            return "host unreachable";
        case UV_ECONNRESET:
            return "connection reset";
        default:
            return fmt::format("connect failed: {}", uv_strerror(status));
    }
}

std::string_view kind_protocol(CheckKind kind) {
    switch (kind) {
        case CheckKind::Http:
        case CheckKind::Https:
            return "HTTP";
        case CheckKind::Sip:
        case CheckKind::Sips:
            return "SIP";
        default:
            return "TLS";
    }
}

// One uv_write in flight; owns the bytes until libuv is done with them.
struct WriteRequest {
    uv_write_t req{};
    std::vector<char> bytes;
};

class Probe {
public:
    Probe(uv_loop_t* loop, const ProbeTarget& target, const ProbeOptions& options, ProbeDone done)
        : loop_(loop), target_(target), options_(options), done_(std::move(done)), start_(uv_hrtime()) {}
    Probe(const Probe&) = delete;
    Probe& operator=(const Probe&) = delete;

    // Owns itself from here on: freed in the close callback of its last handle.
    void begin(TlsClients& tls);

private:
    enum class Phase : std::uint8_t { Connecting, Handshake, Response, Held, Finished };

    // Shared with ProbeResult::release: cleared when the held connection closes.
    struct Hold {
        Probe* probe = nullptr;
    };

    const CheckSpec& spec() const { return *target_.spec; }
    bool is_http() const { return spec().kind == CheckKind::Http || spec().kind == CheckKind::Https; }

    void fail_soon(std::string reason);
    void prepare_tls(TlsClients& tls);
    void on_connected(int status);
    void on_read(ssize_t nread);
    void on_plain_bytes(const char* data, std::size_t size);
    void on_tls_bytes(const char* data, std::size_t size);
    void handshake_step();
    void read_tls_records();
    void flush_tls();
    void send_request();
    std::string request_text();
    void send(std::vector<char> bytes);
    void on_write_failed(int status);
    void append_response(const char* data, std::size_t size);
    void judge_response();
    std::string closed_early_reason() const;
    void finish(bool alive, std::string reason);
    void hold();
    void drop_held(bool lost);
    static void on_timer(uv_timer_t* timer);
    static void on_closed(uv_handle_t* handle);

    uv_loop_t* loop_;
    ProbeTarget target_;
    ProbeOptions options_;
    ProbeDone done_;
    std::uint64_t start_;
    Phase phase_ = Phase::Connecting;
    std::string immediate_failure_;  // reported from the timer, never inside start_probe

    uv_tcp_t tcp_{};
    uv_timer_t timer_{};
    uv_connect_t connect_{};
    int open_handles_ = 0;

    SslPtr ssl_;
    BIO* network_in_ = nullptr;   // owned by ssl_: bytes read from the socket
    BIO* network_out_ = nullptr;  // owned by ssl_: bytes to write to the socket
    bool verifying_ = false;

    std::vector<char> read_buffer_;
    std::vector<std::uint8_t> response_;
    std::shared_ptr<Hold> hold_;
};

void Probe::begin(TlsClients& tls) {
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
    ++open_handles_;
    uv_tcp_init(loop_, &tcp_);
    tcp_.data = this;
    ++open_handles_;
    uv_timer_start(&timer_, on_timer, options_.timeout_ms, 0);

    if (!target_.spec) return fail_soon("no check spec");
    sockaddr_storage address = target_.address;
    if (address.ss_family != AF_INET && address.ss_family != AF_INET6) return fail_soon("bad probe address");
    set_port(address, spec().port);

    if (spec().uses_tls()) {
        prepare_tls(tls);
        if (!immediate_failure_.empty()) return;
    }
    if (options_.source) {
        sockaddr_storage source = *options_.source;
        set_port(source, 0);
        const int rc = uv_tcp_bind(&tcp_, reinterpret_cast<const sockaddr*>(&source), 0);
        if (rc != 0) {
            return fail_soon(fmt::format("source bind to {} failed: {}", address_text(source), uv_strerror(rc)));
        }
    }
    connect_.data = this;
    const int rc =
        uv_tcp_connect(&connect_, &tcp_, reinterpret_cast<const sockaddr*>(&address),
                       [](uv_connect_t* req, int status) { static_cast<Probe*>(req->data)->on_connected(status); });
    if (rc != 0) fail_soon(connect_error(rc));
}

// The timer reports it on the next loop iteration: `done` must not run inside start_probe.
void Probe::fail_soon(std::string reason) {
    immediate_failure_ = std::move(reason);
    uv_timer_start(&timer_, on_timer, 0, 0);
}

// One timer serves both the deadline of the whole exchange and failures found inside start_probe.
void Probe::on_timer(uv_timer_t* timer) {
    auto* self = static_cast<Probe*>(timer->data);
    if (!self->immediate_failure_.empty()) return self->finish(false, std::move(self->immediate_failure_));
    self->finish(false, fmt::format("timeout after {} ms", self->options_.timeout_ms));
}

void Probe::prepare_tls(TlsClients& tls) {
    std::string error;
    auto* ctx = static_cast<SSL_CTX*>(tls.context(spec().ca_file, error));
    if (!ctx) return fail_soon(fmt::format("TLS setup failed: {}", error));
    ERR_clear_error();
    ssl_.reset(SSL_new(ctx));
    network_in_ = BIO_new(BIO_s_mem());
    network_out_ = BIO_new(BIO_s_mem());
    if (!ssl_ || !network_in_ || !network_out_) {
        BIO_free(network_in_);
        BIO_free(network_out_);
        network_in_ = network_out_ = nullptr;
        return fail_soon(fmt::format("TLS setup failed: {}", openssl_error()));
    }
    SSL_set_bio(ssl_.get(), network_in_, network_out_);
    SSL_set_connect_state(ssl_.get());

    std::string name = !spec().sni.empty() ? spec().sni : !spec().host.empty() ? spec().host : target_.host;
    if (!name.empty() && name.back() == '.') name.pop_back();  // RFC 6066: SNI carries no trailing dot
    verifying_ = !spec().ca_file.empty();
    // RFC 6066 forbids IP literals in SNI; the certificate is then checked for the address.
    if (!name.empty() && !is_ip_literal(name)) {
        SSL_set_tlsext_host_name(ssl_.get(), name.c_str());
        if (verifying_) {
            SSL_set_hostflags(ssl_.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            SSL_set1_host(ssl_.get(), name.c_str());
        }
    } else if (verifying_) {
        const std::string ip = name.empty() ? address_text(target_.address) : name;
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), ip.c_str());
    }
}

void Probe::on_connected(int status) {
    if (phase_ == Phase::Finished) return;
    if (status != 0) return finish(false, connect_error(status));
    if (spec().kind == CheckKind::Tcp) return options_.on_lost ? hold() : finish(true, "connected");
    // Requests are small and the latency is measured: do not let Nagle hold them back.
    uv_tcp_nodelay(&tcp_, 1);
    read_buffer_.resize(kReadChunk);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&tcp_),
        [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
            auto* self = static_cast<Probe*>(h->data);
            *buf = uv_buf_init(self->read_buffer_.data(), static_cast<unsigned>(self->read_buffer_.size()));
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) { static_cast<Probe*>(s->data)->on_read(nread); });
    if (ssl_) {
        phase_ = Phase::Handshake;
        handshake_step();
    } else {
        phase_ = Phase::Response;
        send_request();
    }
}

void Probe::on_read(ssize_t nread) {
    if (phase_ == Phase::Held) {
        if (nread < 0) drop_held(true);  // EOF or reset: the peer is going away
        return;                          // bytes on a held connection mean nothing
    }
    if (phase_ == Phase::Finished || nread == 0) return;
    if (nread == UV_EOF) return finish(false, closed_early_reason());
    if (nread == UV_ECONNRESET) return finish(false, "connection reset");
    if (nread < 0) return finish(false, fmt::format("read failed: {}", uv_strerror(static_cast<int>(nread))));
    const auto size = static_cast<std::size_t>(nread);
    if (ssl_) {
        on_tls_bytes(read_buffer_.data(), size);
    } else {
        on_plain_bytes(read_buffer_.data(), size);
    }
}

std::string Probe::closed_early_reason() const {
    if (phase_ == Phase::Handshake) return "connection closed during TLS handshake";
    if (is_http()) return "connection closed before a status line";
    return "connection closed before a final response";
}

void Probe::on_plain_bytes(const char* data, std::size_t size) {
    append_response(data, size);
    judge_response();
}

void Probe::on_tls_bytes(const char* data, std::size_t size) {
    // A memory BIO grows as needed: the write takes everything.
    BIO_write(network_in_, data, static_cast<int>(size));
    if (phase_ == Phase::Handshake) handshake_step();
    if (phase_ == Phase::Response) read_tls_records();
}

void Probe::handshake_step() {
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_.get());
    const int error = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), rc);
    if (error == SSL_ERROR_WANT_READ) return flush_tls();
    if (error == SSL_ERROR_NONE) {
        if (spec().kind == CheckKind::Tls) {
            flush_tls();  // our Finished: a server may log a handshake cut short otherwise
            return finish(true, "TLS handshake ok");
        }
        // The request leaves in the same write as our Finished, saving a round of Nagle and delayed ACK.
        phase_ = Phase::Response;
        send_request();
        return;
    }
    // No alert is sent back: the connection is closed at once and the verdict is what matters.
    const long verify = SSL_get_verify_result(ssl_.get());
    if (verifying_ && verify != X509_V_OK) {
        ERR_clear_error();
        return finish(false, fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(verify)));
    }
    finish(false, fmt::format("TLS handshake failed: {}", openssl_error()));
}

void Probe::read_tls_records() {
    char chunk[4096];
    while (phase_ == Phase::Response) {
        ERR_clear_error();
        const int n = SSL_read(ssl_.get(), chunk, sizeof chunk);
        if (n > 0) {
            append_response(chunk, static_cast<std::size_t>(n));
            judge_response();
            continue;
        }
        const int error = SSL_get_error(ssl_.get(), n);
        if (error == SSL_ERROR_WANT_READ) break;
        if (error == SSL_ERROR_ZERO_RETURN) return finish(false, closed_early_reason());
        return finish(false, fmt::format("TLS error: {}", openssl_error()));
    }
    // Reading can produce records to send (a TLS 1.3 key update answer).
    flush_tls();
}

void Probe::flush_tls() {
    while (phase_ != Phase::Finished) {
        const std::size_t pending = BIO_ctrl_pending(network_out_);
        if (pending == 0) return;
        std::vector<char> bytes(pending);
        const int n = BIO_read(network_out_, bytes.data(), static_cast<int>(pending));
        if (n <= 0) return;
        bytes.resize(static_cast<std::size_t>(n));
        send(std::move(bytes));
    }
}

void Probe::send_request() {
    const std::string text = request_text();
    if (!ssl_) {
        send(std::vector<char>(text.begin(), text.end()));
        return;
    }
    ERR_clear_error();
    // With a memory BIO underneath, SSL_write takes the whole request or fails.
    if (SSL_write(ssl_.get(), text.data(), static_cast<int>(text.size())) <= 0) {
        return finish(false, fmt::format("TLS error: {}", openssl_error()));
    }
    flush_tls();
    // Records that came with the end of the handshake (session tickets) are already buffered.
    read_tls_records();
}

std::string Probe::request_text() {
    const CheckSpec& s = spec();
    std::string host = !s.host.empty() ? s.host : !target_.host.empty() ? target_.host : uri_host(target_.address);
    if (is_http()) {
        // The Host field is the URI's authority: the port is part of it unless it is the scheme's default.
        const std::uint16_t default_port = s.kind == CheckKind::Https ? 443 : 80;
        if (s.port != default_port) host += fmt::format(":{}", s.port);
        return fmt::format(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: pooldns-health\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            s.path.empty() ? "/" : s.path, host);
    }
    sockaddr_storage local{};
    int length = sizeof local;
    uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&local), &length);
    const std::string local_host = uri_host(local);
    const std::string uri = fmt::format("sip:{}:{}", host, s.port);
    // RFC 3261 section 8.1.1: branch starts with the magic cookie; rport (RFC 3581) lets a NAT answer back.
    return fmt::format(
        "OPTIONS {0} SIP/2.0\r\n"
        "Via: SIP/2.0/{1} {2}:{3};branch=z9hG4bK{4};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:pooldns-health@{2}>;tag={5}\r\n"
        "To: <{0}>\r\n"
        "Call-ID: {6}@{2}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Accept: application/sdp\r\n"
        "User-Agent: pooldns-health\r\n"
        "Content-Length: 0\r\n\r\n",
        uri, s.kind == CheckKind::Sips ? "TLS" : "TCP", local_host, port_of(local), random_hex(8), random_hex(4),
        random_hex(12));
}

void Probe::send(std::vector<char> bytes) {
    auto request = std::make_unique<WriteRequest>();
    request->bytes = std::move(bytes);
    request->req.data = request.get();
    uv_buf_t buf = uv_buf_init(request->bytes.data(), static_cast<unsigned>(request->bytes.size()));
    auto written = [](uv_write_t* req, int status) {
        std::unique_ptr<WriteRequest> finished(static_cast<WriteRequest*>(req->data));
        // Cancelled writes belong to a probe that is closing and has its verdict.
        if (status < 0 && status != UV_ECANCELED) static_cast<Probe*>(req->handle->data)->on_write_failed(status);
    };
    const int rc = uv_write(&request->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, written);
    if (rc != 0) return on_write_failed(rc);
    // libuv owns the request until its callback.
    static_cast<void>(request.release());
}

void Probe::on_write_failed(int status) {
    if (status == UV_ECONNRESET || status == UV_EPIPE) return finish(false, "connection reset");
    finish(false, fmt::format("write failed: {}", uv_strerror(status)));
}

void Probe::append_response(const char* data, std::size_t size) {
    const std::size_t room = options_.max_response > response_.size() ? options_.max_response - response_.size() : 0;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(data);
    response_.insert(response_.end(), bytes, bytes + std::min(room, size));
}

void Probe::judge_response() {
    if (phase_ == Phase::Finished) return;
    const std::span<const std::uint8_t> bytes(response_);
    const StatusParse parsed = is_http() ? parse_http_status(bytes) : parse_sip_response(bytes);
    const std::string_view protocol = kind_protocol(spec().kind);
    if (parsed.state == ParseState::Done) {
        const bool alive = !is_http() || (parsed.code >= spec().status_min && parsed.code <= spec().status_max);
        return finish(alive, fmt::format("{} {}", protocol, parsed.code));
    }
    if (parsed.state == ParseState::Invalid)
        return finish(false, fmt::format("bad {} response: {}", protocol, parsed.error));
    if (response_.size() >= options_.max_response) {
        return finish(false, is_http() ? fmt::format("no status line in first {} bytes", options_.max_response)
                                       : fmt::format("no final response in first {} bytes", options_.max_response));
    }
}

void Probe::finish(bool alive, std::string reason) {
    if (phase_ == Phase::Finished) return;
    phase_ = Phase::Finished;
    const ProbeResult result{alive, std::move(reason), static_cast<double>(uv_hrtime() - start_) / 1e6, {}};
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_closed);
    // Closing cancels a pending connect or write; their callbacks run before on_closed.
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);
    // `this` stays valid until the close callbacks, which run on a later loop iteration.
    ProbeDone done = std::move(done_);
    done(result);
}

// A tcp probe that succeeded with on_lost set: report alive now, keep the
// connection and watch it until released or lost.
void Probe::hold() {
    phase_ = Phase::Held;
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_closed);
    hold_ = std::make_shared<Hold>(Hold{this});
    ProbeResult result{true, "connected", static_cast<double>(uv_hrtime() - start_) / 1e6, {}};
    result.release = [h = hold_] {
        if (h->probe) h->probe->drop_held(false);
    };
    read_buffer_.resize(256);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&tcp_),
        [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
            auto* self = static_cast<Probe*>(h->data);
            *buf = uv_buf_init(self->read_buffer_.data(), static_cast<unsigned>(self->read_buffer_.size()));
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) { static_cast<Probe*>(s->data)->on_read(nread); });
    ProbeDone done = std::move(done_);
    done(result);
}

void Probe::drop_held(bool lost) {
    if (phase_ != Phase::Held) return;
    phase_ = Phase::Finished;
    hold_->probe = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);
    if (lost) {
        auto on_lost = std::move(options_.on_lost);
        on_lost();
    }
}

void Probe::on_closed(uv_handle_t* handle) {
    auto* self = static_cast<Probe*>(handle->data);
    if (--self->open_handles_ == 0) std::unique_ptr<Probe> last(self);
}

}  // namespace

struct TlsClients::Impl {
    std::map<std::string, SslCtxPtr, std::less<>> contexts;
};

TlsClients::TlsClients() : impl_(std::make_unique<Impl>()) {}
TlsClients::~TlsClients() = default;

void* TlsClients::context(const std::string& ca_file, std::string& error) {
    if (auto it = impl_->contexts.find(ca_file); it != impl_->contexts.end()) return it->second.get();
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        error = fmt::format("cannot create a TLS context: {}", openssl_error());
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (ca_file.empty()) {
        // Without a CA the probe proves the server completes a handshake, nothing about who it is.
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    } else {
        // A failure is not cached: the file may be fixed before the next probe.
        if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
            error = fmt::format("cannot load CA file {}: {}", ca_file, openssl_error());
            return nullptr;
        }
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    }
    return impl_->contexts.emplace(ca_file, std::move(ctx)).first->second.get();
}

void start_probe(uv_loop_s* loop, TlsClients& tls, const ProbeTarget& target, const ProbeOptions& options,
                 ProbeDone done) {
    auto probe = std::make_unique<Probe>(loop, target, options, std::move(done));
    // From here the probe's handles own it; the last close callback frees it.
    probe.release()->begin(tls);
}

}  // namespace pooldns::health
