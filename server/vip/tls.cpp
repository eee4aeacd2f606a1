// OpenSSL contexts and sessions over our own BIO for the VIP (see tls.hpp).
#include "tls.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace pooldns::vip {

namespace {

// A key that needs a passphrase fails to load instead of OpenSSL asking for one
// on the terminal from the VIP thread (zones/vip_store.cpp refuses it up front).
int no_passphrase(char*, int, int, void*) { return 0; }

// AEAD only, forward secrecy only: what Mozilla's "intermediate" profile allows.
constexpr const char* kCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kCiphers13 = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    std::string out;
    while (e) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
        e = ERR_get_error();
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

void harden(SSL_CTX* ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx, kCiphers12);
    SSL_CTX_set_ciphersuites(ctx, kCiphers13);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Idle connections keep no read/write buffers: 10,000 idle clients cost little.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE);
}

}  // namespace

std::string ServerTls::fingerprint_of(const std::vector<VipCert>& certs) {
    std::string out;
    for (const auto& c : certs) {
        for (const auto* path : {&c.cert, &c.key}) {
            struct stat st {};
            if (::stat(path->c_str(), &st) != 0) st = {};
            out += fmt::format("{}:{}.{}:{};", *path, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size);
        }
    }
    return out;
}

Result<std::shared_ptr<ServerTls>> ServerTls::load(const std::vector<VipCert>& certs) {
    auto tls = std::make_shared<ServerTls>();
    tls->fingerprint_ = fingerprint_of(certs);
    for (const auto& c : certs) {
        SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
        if (!ctx) return Error{fmt::format("TLS context: {}", openssl_error())};
        harden(ctx.get());
        SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
        ERR_clear_error();
        if (SSL_CTX_use_certificate_chain_file(ctx.get(), c.cert.c_str()) != 1) {
            return Error{fmt::format("certificate {}: {}", c.cert, openssl_error())};
        }
        if (SSL_CTX_use_PrivateKey_file(ctx.get(), c.key.c_str(), SSL_FILETYPE_PEM) != 1) {
            return Error{fmt::format("key {}: {}", c.key, openssl_error())};
        }
        if (SSL_CTX_check_private_key(ctx.get()) != 1) {
            return Error{fmt::format("key {} does not match certificate {}", c.key, c.cert)};
        }
        // Sessions resume by ticket (stateless): no server-side cache to grow.
        SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
        tls->leaves_.push_back(SSL_CTX_get0_certificate(ctx.get()));
        tls->contexts_.push_back(std::move(ctx));
    }
    if (tls->contexts_.empty()) return Error{"no certificate"};
    if (tls->contexts_.size() > 1) {
        // Every context keys its tickets alike, so a ticket from one resumes on another.
        unsigned char keys[80];
        SSL_CTX_get_tlsext_ticket_keys(tls->contexts_.front().get(), keys, sizeof keys);
        for (auto& ctx : tls->contexts_) SSL_CTX_set_tlsext_ticket_keys(ctx.get(), keys, sizeof keys);
        SSL_CTX_set_tlsext_servername_callback(tls->contexts_.front().get(), &ServerTls::on_servername);
        SSL_CTX_set_tlsext_servername_arg(tls->contexts_.front().get(), tls.get());
    }
    return tls;
}

int ServerTls::on_servername(SSL* ssl, int*, void* arg) {
    const auto* self = static_cast<const ServerTls*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name) return SSL_TLSEXT_ERR_OK;
    for (std::size_t i = 0; i < self->contexts_.size(); ++i) {
        if (X509_check_host(self->leaves_[i], name, 0, 0, nullptr) == 1) {
            if (i != 0) SSL_set_SSL_CTX(ssl, self->contexts_[i].get());
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_OK;  // no match: the default certificate
}

Result<SslCtxPtr> backend_tls_context(const std::string& ca) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return Error{fmt::format("TLS context: {}", openssl_error())};
    harden(ctx.get());
    if (ca.empty()) {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    } else {
        ERR_clear_error();
        if (SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1) {
            return Error{fmt::format("backend CA {}: {}", ca, openssl_error())};
        }
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    }
    return ctx;
}

BIO_METHOD* TlsChannel::method() {
    static BIO_METHOD* m = [] {
        BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pooldns-vip-channel");
        BIO_meth_set_write(bm, &TlsChannel::bio_write);
        BIO_meth_set_read(bm, &TlsChannel::bio_read);
        BIO_meth_set_ctrl(bm, &TlsChannel::bio_ctrl);
        BIO_meth_set_create(bm, [](BIO* b) {
            BIO_set_init(b, 1);
            return 1;
        });
        return bm;
    }();
    return m;
}

int TlsChannel::bio_write(BIO* b, const char* data, int len) {
    auto* self = static_cast<TlsChannel*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    if (!self || len < 0) return -1;
    self->out_.insert(self->out_.end(), data, data + len);
    return len;
}

int TlsChannel::bio_read(BIO* b, char* out, int len) {
    auto* self = static_cast<TlsChannel*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    if (!self || len <= 0) return 0;
    std::size_t got = std::min(static_cast<std::size_t>(len), self->in_len_);
    if (got) {
        std::memcpy(out, self->in_, got);
        self->in_ += got;
        self->in_len_ -= got;
    }
    if (got == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    return static_cast<int>(got);
}

long TlsChannel::bio_ctrl(BIO*, int cmd, long, void*) {
    // OpenSSL flushes after each flight; there is nothing to flush into.
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

std::unique_ptr<TlsChannel> TlsChannel::make(SSL_CTX* ctx) {
    auto t = std::make_unique<TlsChannel>(Private{});
    t->ssl_ = SSL_new(ctx);
    if (!t->ssl_) return nullptr;
    BIO* bio = BIO_new(method());
    if (!bio) return nullptr;
    BIO_set_data(bio, t.get());
    SSL_set_bio(t->ssl_, bio, bio);  // one BIO both ways: SSL_set_bio takes one reference
    return t;
}

std::unique_ptr<TlsChannel> TlsChannel::accept(SSL_CTX* ctx) {
    auto t = make(ctx);
    if (t) SSL_set_accept_state(t->ssl_);
    return t;
}

std::unique_ptr<TlsChannel> TlsChannel::connect(SSL_CTX* ctx, const std::string& sni) {
    auto t = make(ctx);
    if (!t) return nullptr;
    SSL_set_connect_state(t->ssl_);
    if (!sni.empty()) {
        std::string name = sni.ends_with('.') ? sni.substr(0, sni.size() - 1) : sni;
        SSL_set_tlsext_host_name(t->ssl_, name.c_str());
        if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
            SSL_set_hostflags(t->ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            SSL_set1_host(t->ssl_, name.c_str());
        }
    }
    return t;
}

TlsChannel::~TlsChannel() {
    if (ssl_) SSL_free(ssl_);
}

void TlsChannel::feed(std::span<const std::uint8_t> cipher) {
    // Read in place. The proxy calls read() until OpenSSL asks for more, which it
    // does only once this span is empty, so no byte of a span outlives it (the
    // caller reuses the buffer for its next read).
    in_ = cipher.data();
    in_len_ = cipher.size();
}

void TlsChannel::note_error(int rc) {
    int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_SSL) {
        long verify = SSL_get_verify_result(ssl_);
        if (verify != X509_V_OK) {
            error_ = fmt::format("certificate verification failed: {}", X509_verify_cert_error_string(verify));
            ERR_clear_error();
            return;
        }
        error_ = openssl_error();
    } else if (e == SSL_ERROR_SYSCALL) {
        error_ = "TLS session ended without close_notify";
        ERR_clear_error();
    } else {
        error_ = fmt::format("TLS error {}", e);
        ERR_clear_error();
    }
}

bool TlsChannel::handshake() {
    if (established_) return true;
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) {
        established_ = true;
        return flush_plain();
    }
    int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    note_error(rc);
    return false;
}

TlsChannel::Read TlsChannel::read(std::span<std::uint8_t> out, std::size_t& n) {
    n = 0;
    if (!established_) {
        if (!handshake()) return Read::Failed;
        if (!established_) return Read::NeedMore;
    }
    int rc = SSL_read(ssl_, out.data(), static_cast<int>(out.size()));
    if (rc > 0) {
        n = static_cast<std::size_t>(rc);
        return Read::Data;
    }
    int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Read::NeedMore;
    if (e == SSL_ERROR_ZERO_RETURN) return Read::Closed;
    note_error(rc);
    return Read::Failed;
}

bool TlsChannel::flush_plain() {
    if (early_.empty()) return true;
    std::vector<std::uint8_t> pending;
    pending.swap(early_);
    return write(pending);
}

bool TlsChannel::write(std::span<const std::uint8_t> plain) {
    if (plain.empty()) return true;
    if (!established_) {
        early_.insert(early_.end(), plain.begin(), plain.end());
        return true;
    }
    // Our BIO takes every record it is given, so SSL_write only fails on a
    // broken session; partial writes just mean another record.
    std::size_t off = 0;
    while (off < plain.size()) {
        int rc = SSL_write(ssl_, plain.data() + off, static_cast<int>(std::min<std::size_t>(plain.size() - off, 1 << 30)));
        if (rc <= 0) {
            note_error(rc);
            return false;
        }
        off += static_cast<std::size_t>(rc);
    }
    return true;
}

bool TlsChannel::has_unread() const {
    return in_len_ != 0 || SSL_pending(ssl_) > 0;
}

std::size_t TlsChannel::pending() const {
    return out_.size();
}

void TlsChannel::consume() {
    // A session between messages holds no buffer (the next response allocates anew).
    if (out_.capacity() > 1024) {
        std::vector<char>().swap(out_);
    } else {
        out_.clear();
    }
}

void TlsChannel::shutdown() {
    if (established_) SSL_shutdown(ssl_);
    ERR_clear_error();
}

}  // namespace pooldns::vip
