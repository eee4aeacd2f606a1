// TLS for the VIP over a BIO of our own: the proxy feeds ciphertext that libuv
// read (OpenSSL reads it in place, no copy), takes plaintext out, writes
// plaintext in and takes the ciphertext to hand to uv_write, so no OpenSSL call
// ever touches a socket or blocks the loop. Unlike a memory BIO pair, an idle
// session keeps no buffer: 10,000 idle clients cost only OpenSSL's own state.
// Also the SSL_CTXs: a listener's (its certificates, chosen by SNI; TLS 1.2 and
// 1.3 with AEAD ciphers only) and a VIP's backend context (re-encryption).
#pragma once

#include "pooldns/result.hpp"
#include "pooldns/vip_config.hpp"

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pooldns::vip {

struct SslCtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// A listener's certificates: the first is the default; the others are chosen
// when the client's SNI matches a name in them (X509_check_host).
class ServerTls {
public:
    static Result<std::shared_ptr<ServerTls>> load(const std::vector<VipCert>& certs);
    SSL_CTX* context() const { return contexts_.front().get(); }
    // Which certificate files this was built from, with their modification times:
    // the VIP rebuilds the contexts when these change (a renewed certificate).
    const std::string& fingerprint() const { return fingerprint_; }
    static std::string fingerprint_of(const std::vector<VipCert>& certs);

private:
    static int on_servername(SSL* ssl, int* alert, void* arg);
    std::vector<SslCtxPtr> contexts_;
    std::vector<X509*> leaves_;  // owned by contexts_
    std::string fingerprint_;
};

// The client context for re-encryption to backends: verification against `ca`
// (chain and the SNI name) when it is set, none otherwise.
Result<SslCtxPtr> backend_tls_context(const std::string& ca);

// One TLS session over the channel BIO.
class TlsChannel {
public:
    enum class Read : std::uint8_t { Data, NeedMore, Closed, Failed };

    static std::unique_ptr<TlsChannel> accept(SSL_CTX* ctx);
    // `sni` is sent, and checked against the certificate when the context verifies.
    static std::unique_ptr<TlsChannel> connect(SSL_CTX* ctx, const std::string& sni);
    ~TlsChannel();
    TlsChannel(const TlsChannel&) = delete;
    TlsChannel& operator=(const TlsChannel&) = delete;

    // Ciphertext from the peer, read in place: call read() until it stops
    // returning Data before the bytes are reused.
    void feed(std::span<const std::uint8_t> cipher);
    // Plaintext into `out` (`n` set on Data). Drives the handshake as needed.
    Read read(std::span<std::uint8_t> out, std::size_t& n);
    // Plaintext to send; held until the handshake is done. False: the session failed.
    bool write(std::span<const std::uint8_t> plain);
    // Starts or continues the handshake (client side: call once after connect).
    bool handshake();
    bool established() const { return established_; }
    // Ciphertext waiting to be written to the socket.
    std::size_t pending() const;
    // Plaintext held until the handshake is done, plus ciphertext not yet taken:
    // bytes this session owes the socket (backpressure counts them).
    std::size_t buffered() const { return early_.size() + out_.size(); }
    // Ciphertext fed and not yet read, or plaintext decrypted and not yet returned.
    bool has_unread() const;
    std::span<const char> ciphertext() const { return out_; }
    void consume();  // after ciphertext() was written: empties (and frees) the buffer
    // A close_notify to send before closing.
    void shutdown();
    // Why the session failed, for logs and 502 reasons.
    std::string error() const { return error_; }

    struct Private {};
    explicit TlsChannel(Private) {}

private:
    bool flush_plain();
    void note_error(int rc);

    static BIO_METHOD* method();
    static int bio_write(BIO* b, const char* data, int len);
    static int bio_read(BIO* b, char* out, int len);
    static long bio_ctrl(BIO* b, int cmd, long num, void* ptr);
    static std::unique_ptr<TlsChannel> make(SSL_CTX* ctx);

    SSL* ssl_ = nullptr;
    // Ciphertext in: what is left of the span fed last (OpenSSL reads it in place).
    const std::uint8_t* in_ = nullptr;
    std::size_t in_len_ = 0;
    std::vector<char> out_;  // ciphertext out, until consume()
    bool established_ = false;
    std::vector<std::uint8_t> early_;  // plaintext written before the handshake finished
    std::string error_;
};

}  // namespace pooldns::vip
