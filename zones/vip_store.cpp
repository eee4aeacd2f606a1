// VIPs: each public operation is one SQLite transaction that validates every
// argument (certificate and key files loaded with OpenSSL, as the server will
// load them), writes the vips row and its extra certificates, and writes an
// audit row, or rolls back. No zone serial moves: a VIP is not DNS data.
#include "pooldns/vip_store.hpp"

#include "edit.hpp"
#include "pooldns/topology.hpp"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>

namespace pooldns {

namespace {

// What the store accepts beyond the schema's CHECKs: the server keeps these in
// 32-bit fields, and larger values would only be typing mistakes.
constexpr std::uint64_t kMaxConnections = 1'000'000;
constexpr std::uint64_t kMaxHeaderBytes = 16 * 1024 * 1024;
constexpr std::uint64_t kMaxHeaderCount = 10'000;
constexpr std::uint64_t kMaxBody = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
constexpr std::uint32_t kMaxTimeoutMs = 86400 * 1000;
constexpr std::size_t kMaxCookieName = 64;

// --- argument parsing -----------------------------------------------------------

// Timeouts: "2", "0.5", "2s", "500ms", as pool --interval takes them; 1 ms to a day.
Result<std::uint32_t> parse_timeout_ms(std::string_view text, std::string_view what) {
    return parse_duration_ms(text, what, 1, kMaxTimeoutMs);
}

Result<bool> parse_on_off(std::string_view text, std::string_view what) {
    if (text == "on") return true;
    if (text == "off") return false;
    return Error{fmt::format("{}: '{}' must be on or off", what, text)};
}

// RFC 6265 section 4.1.1: cookie-name is an RFC 2616 token.
Status valid_cookie_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxCookieName) {
        return Error{fmt::format("--cookie-name: '{}' must be 1-{} characters", name, kMaxCookieName)};
    }
    constexpr std::string_view kSeparators = "()<>@,;:\\\"/[]?={} \t";
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || kSeparators.find(c) != std::string_view::npos) {
            return Error{
                fmt::format("--cookie-name: '{}' is not a cookie name: it may not hold spaces, control "
                            "characters or any of ()<>@,;:\\\"/[]?={{}}",
                            name)};
        }
    }
    return {};
}

// The name sent as SNI to backends: a host name (RFC 6066 section 3: no
// address literals, no trailing dot), lower-cased.
Result<std::string> backend_sni_name(std::string_view text) {
    std::string name(text);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name.ends_with('.')) name.pop_back();
    if (canonical_address(name, "--backend-sni")) {
        return Error{fmt::format("--backend-sni: '{}' is an address; SNI carries only host names (RFC 6066)", text)};
    }
    if (name.empty() || name.size() > 253)
        return Error{fmt::format("--backend-sni: '{}' must be 1-253 characters", text)};
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0) return Error{fmt::format("--backend-sni: '{}' has an empty label", text)};
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok)
            return Error{fmt::format("--backend-sni: '{}' is not a host name (letters, digits, '-' and '.')", text)};
        if (++label > 63) return Error{fmt::format("--backend-sni: '{}' has a label longer than 63 characters", text)};
    }
    return name;
}

// --- files and OpenSSL ----------------------------------------------------------

struct SslCtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxFree>;

// A key file that needs a passphrase must fail here, not stop pooldnsctl (or,
// later, the server) at a terminal prompt.
int no_passphrase(char*, int, int, void*) {
    return 0;
}

Result<SslCtx> new_ctx() {
    ERR_clear_error();
    SslCtx ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return Error{"OpenSSL: cannot create a TLS context"};
    SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
    return ctx;
}

// The first reason on OpenSSL's error queue (the root cause), and clears it.
std::string openssl_reason() {
    unsigned long first = ERR_get_error();
    ERR_clear_error();
    if (first == 0) return "unknown OpenSSL error";
    const char* reason = ERR_reason_error_string(first);
    return reason ? reason : fmt::format("OpenSSL error {:#x}", first);
}

// The file's absolute path (symlinks resolved) when it is a readable regular file.
Result<std::string> readable_file(std::string_view path, std::string_view what) {
    if (path.empty()) return Error{fmt::format("{}: empty path", what)};
    std::filesystem::path p(path);
    std::error_code ec;
    auto status = std::filesystem::status(p, ec);
    if (ec && ec != std::errc::no_such_file_or_directory)
        return Error{fmt::format("{} {}: {}", what, path, ec.message())};
    if (!std::filesystem::exists(status)) return Error{fmt::format("{} {}: no such file", what, path)};
    if (std::filesystem::is_directory(status)) return Error{fmt::format("{} {}: is a directory", what, path)};
    if (!std::filesystem::is_regular_file(status))
        return Error{fmt::format("{} {}: is not a regular file", what, path)};
    errno = 0;
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        return Error{
            fmt::format("{} {}: cannot be read ({})", what, path, errno ? std::strerror(errno) : "open failed")};
    }
    auto real = std::filesystem::canonical(p, ec);
    if (ec) return Error{fmt::format("{} {}: {}", what, path, ec.message())};
    return real.string();
}

// True when `needle` occurs in the first 64 KiB of the file (a PEM header, say).
bool file_holds(const std::string& path, std::string_view needle) {
    std::ifstream in(path, std::ios::binary);
    std::string head(64 * 1024, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    return head.find(needle) != std::string::npos;
}

// Loads the pair as the server will, and says which file is wrong.
Result<VipCertFiles> load_cert_pair(std::string_view cert_arg, std::string_view key_arg) {
    auto cert = readable_file(cert_arg, "--tls-cert");
    if (!cert) return cert.error();
    auto key = readable_file(key_arg, "--tls-key");
    if (!key) return key.error();
    {
        // The key alone first, so a key that is no key at all is not called a mismatch.
        auto ctx = new_ctx();
        if (!ctx) return ctx.error();
        if (SSL_CTX_use_PrivateKey_file(ctx->get(), key->c_str(), SSL_FILETYPE_PEM) != 1) {
            std::string reason = openssl_reason();
            if (file_holds(*key, "ENCRYPTED")) {
                return Error{
                    fmt::format("--tls-key {}: the key is encrypted; the server cannot ask for a passphrase, "
                                "so give it unencrypted (openssl pkey -in KEY -out PLAIN-KEY)",
                                key_arg)};
            }
            return Error{fmt::format("--tls-key {}: holds no PEM private key (OpenSSL: {})", key_arg, reason)};
        }
    }
    auto ctx = new_ctx();
    if (!ctx) return ctx.error();
    if (SSL_CTX_use_certificate_chain_file(ctx->get(), cert->c_str()) != 1) {
        return Error{fmt::format("--tls-cert {}: holds no PEM certificate (OpenSSL: {})", cert_arg, openssl_reason())};
    }
    // A key of another kind than the certificate's loads into another slot and
    // fails the check; one of the same kind fails in the load itself.
    if (SSL_CTX_use_PrivateKey_file(ctx->get(), key->c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx->get()) != 1) {
        ERR_clear_error();
        return Error{fmt::format("--tls-key {}: does not match --tls-cert {}", key_arg, cert_arg)};
    }
    return VipCertFiles{*cert, *key};
}

Result<std::string> load_ca_file(std::string_view path) {
    auto file = readable_file(path, "--backend-ca");
    if (!file) return file.error();
    auto ctx = new_ctx();
    if (!ctx) return ctx.error();
    if (SSL_CTX_load_verify_locations(ctx->get(), file->c_str(), nullptr) != 1) {
        return Error{fmt::format("--backend-ca {}: holds no PEM CA certificate (OpenSSL: {})", path, openssl_reason())};
    }
    return *file;
}

// 32 lowercase hex characters from OpenSSL's CSPRNG.
Result<std::string> new_cookie_secret() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        ERR_clear_error();
        return Error{"vip add: cannot generate the cookie secret (OpenSSL RAND_bytes failed)"};
    }
    std::string out;
    for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
    return out;
}

// --- rows -----------------------------------------------------------------------

constexpr std::string_view kVipColumns =
    "v.id, v.pool_id, v.name, v.listen, p.fqdn, v.backend_port, v.tls_cert, v.tls_key, v.backend_tls, "
    "coalesce(v.backend_sni, ''), coalesce(v.backend_ca, ''), v.persist, v.cookie_name, v.cookie_httponly, "
    "v.cookie_secure, v.idle_timeout_s, v.header_timeout_ms, v.connect_timeout_ms, v.response_timeout_ms, "
    "v.max_connections, v.max_request_line, v.max_header_bytes, v.max_header_count, v.max_body_bytes, v.access_log, "
    "v.created_at";

StoredVip vip_from_row(const Database& db, const Statement& st) {
    StoredVip s;
    s.id = st.column_int(0);
    s.pool_id = st.column_int(1);
    VipInfo& v = s.info;
    v.name = st.column_text(2);
    v.listen = st.column_text(3);
    v.pool = st.column_text(4);
    v.backend_port = static_cast<std::uint16_t>(st.column_int(5));
    if (!st.column_is_null(6) && !st.column_is_null(7)) v.certs.push_back({st.column_text(6), st.column_text(7)});
    v.backend_tls = st.column_int(8) != 0;
    v.backend_sni = st.column_text(9);
    v.backend_ca = st.column_text(10);
    v.persist = st.column_text(11);
    v.cookie_name = st.column_text(12);
    v.cookie_httponly = st.column_int(13) != 0;
    v.cookie_secure = st.column_int(14) != 0;
    v.idle_timeout_s = static_cast<std::uint32_t>(st.column_int(15));
    v.header_timeout_ms = static_cast<std::uint32_t>(st.column_int(16));
    v.connect_timeout_ms = static_cast<std::uint32_t>(st.column_int(17));
    v.response_timeout_ms = static_cast<std::uint32_t>(st.column_int(18));
    v.max_connections = static_cast<std::uint32_t>(st.column_int(19));
    v.max_request_line = static_cast<std::uint32_t>(st.column_int(20));
    v.max_header_bytes = static_cast<std::uint32_t>(st.column_int(21));
    v.max_header_count = static_cast<std::uint32_t>(st.column_int(22));
    v.max_body_bytes = static_cast<std::uint64_t>(st.column_int(23));
    v.access_log = st.column_int(24) != 0;
    v.created_at = st.column_text(25);
    if (!v.certs.empty()) {
        auto certs = db.prepare("SELECT tls_cert, tls_key FROM vip_certs WHERE vip_id = ? ORDER BY position");
        certs.bind(1, s.id);
        while (certs.step()) v.certs.push_back({certs.column_text(0), certs.column_text(1)});
    }
    return s;
}

std::optional<StoredVip> load_vip(const Database& db, std::string_view name) {
    auto st =
        db.prepare(fmt::format("SELECT {} FROM vips v JOIN pools p ON p.id = v.pool_id WHERE v.name = ?", kVipColumns));
    st.bind(1, name);
    if (!st.step()) return std::nullopt;
    return vip_from_row(db, st);
}

Error unknown_vip(std::string_view name) {
    return Error{fmt::format("NAME: unknown vip '{}' ('pooldnsctl vip list' shows the VIPs)", name)};
}

// The pool's name as stored, with errors naming --pool rather than POOL.
Result<std::string> vip_pool_name(std::string_view text) {
    auto fqdn = pool_name(text);
    if (fqdn) return fqdn;
    std::string message = fqdn.error().message;
    if (message.starts_with("POOL: ")) message = "--pool: " + message.substr(6);
    return Error{message};
}

// Applies the set fields of `spec` onto `vip` (and `pool_id`), validating each
// against the values already there: on add the schema defaults, on set the row.
Status apply_spec(const Database& db, const VipSpec& spec, std::int64_t self_id, VipInfo& vip, std::int64_t& pool_id) {
    if (spec.listen) {
        auto listen = canonical_listen(*spec.listen, "--listen");
        if (!listen) return listen.error();
        auto other = db.prepare("SELECT name FROM vips WHERE listen = ? AND id != ?");
        other.bind_all(*listen, self_id);
        if (other.step()) {
            return Error{fmt::format("--listen: {} is already the address of vip '{}'", *listen, other.column_text(0))};
        }
        vip.listen = *listen;
    }
    if (spec.pool) {
        auto fqdn = vip_pool_name(*spec.pool);
        if (!fqdn) return fqdn.error();
        auto st = db.prepare("SELECT id FROM pools WHERE fqdn = ?");
        st.bind(1, *fqdn);
        if (!st.step()) {
            return Error{fmt::format("--pool: unknown pool '{}' ('pooldnsctl pool list' shows the pools)", *fqdn)};
        }
        pool_id = st.column_int(0);
        vip.pool = *fqdn;
    }
    if (spec.backend_port) {
        auto port = parse_whole(*spec.backend_port, "--backend-port", 1, 65535);
        if (!port) return port.error();
        vip.backend_port = static_cast<std::uint16_t>(*port);
    }
    if (spec.tls && *spec.tls != "none") {
        return Error{fmt::format("--tls: '{}' must be none (HTTPS comes from --tls-cert and --tls-key)", *spec.tls)};
    }
    if (!spec.tls_certs.empty() || !spec.tls_keys.empty()) {
        if (spec.tls) return Error{"--tls: 'none' cannot go with --tls-cert and --tls-key"};
        if (spec.tls_certs.size() > spec.tls_keys.size()) {
            return Error{fmt::format("--tls-cert {}: has no --tls-key (give a --tls-key after each --tls-cert)",
                                     spec.tls_certs[spec.tls_keys.size()])};
        }
        if (spec.tls_keys.size() > spec.tls_certs.size()) {
            return Error{fmt::format("--tls-key {}: has no --tls-cert (give a --tls-cert before each --tls-key)",
                                     spec.tls_keys[spec.tls_certs.size()])};
        }
        std::vector<VipCertFiles> certs;
        for (std::size_t i = 0; i < spec.tls_certs.size(); ++i) {
            auto pair = load_cert_pair(spec.tls_certs[i], spec.tls_keys[i]);
            if (!pair) return pair.error();
            certs.push_back(std::move(*pair));
        }
        vip.certs = std::move(certs);
    } else if (spec.tls) {
        vip.certs.clear();
    }
    if (spec.backend_tls) {
        auto on = parse_on_off(*spec.backend_tls, "--backend-tls");
        if (!on) return on.error();
        vip.backend_tls = *on;
        // SNI and CA mean nothing without TLS to the backends: they go with it.
        if (!*on) {
            vip.backend_sni.clear();
            vip.backend_ca.clear();
        }
    }
    if (spec.backend_sni) {
        if (*spec.backend_sni == "none") {
            vip.backend_sni.clear();
        } else {
            if (!vip.backend_tls) {
                return Error{
                    fmt::format("--backend-sni: only with --backend-tls (vip '{}' speaks plain HTTP to its "
                                "backends)",
                                vip.name)};
            }
            auto sni = backend_sni_name(*spec.backend_sni);
            if (!sni) return sni.error();
            vip.backend_sni = *sni;
        }
    }
    if (spec.backend_ca) {
        if (*spec.backend_ca == "none") {
            vip.backend_ca.clear();
        } else {
            if (!vip.backend_tls) {
                return Error{
                    fmt::format("--backend-ca: only with --backend-tls (vip '{}' speaks plain HTTP to its "
                                "backends)",
                                vip.name)};
            }
            auto ca = load_ca_file(*spec.backend_ca);
            if (!ca) return ca.error();
            vip.backend_ca = *ca;
        }
    }
    if (spec.persist) {
        if (*spec.persist != "cookie" && *spec.persist != "source" && *spec.persist != "none") {
            return Error{fmt::format("--persist: '{}' must be cookie, source or none", *spec.persist)};
        }
        vip.persist = *spec.persist;
    }
    if (spec.cookie_name) {
        if (auto s = valid_cookie_name(*spec.cookie_name); !s) return s.error();
        vip.cookie_name = *spec.cookie_name;
    }
    struct Flag {
        const std::optional<std::string>& text;
        std::string_view option;
        bool& field;
    };
    for (const Flag& f : {Flag{spec.cookie_httponly, "--cookie-httponly", vip.cookie_httponly},
                          Flag{spec.cookie_secure, "--cookie-secure", vip.cookie_secure},
                          Flag{spec.access_log, "--access-log", vip.access_log}}) {
        if (!f.text) continue;
        auto on = parse_on_off(*f.text, f.option);
        if (!on) return on.error();
        f.field = *on;
    }
    if (spec.idle_timeout) {
        auto ms = parse_timeout_ms(*spec.idle_timeout, "--idle-timeout");
        if (!ms) return ms.error();
        // The schema keeps the idle timeout in whole seconds (idle_timeout_s).
        if (*ms % 1000 != 0) {
            return Error{fmt::format("--idle-timeout: {} is not a whole number of seconds", *spec.idle_timeout)};
        }
        vip.idle_timeout_s = *ms / 1000;
    }
    struct Timeout {
        const std::optional<std::string>& text;
        std::string_view option;
        std::uint32_t& field;
    };
    for (const Timeout& t : {Timeout{spec.header_timeout, "--header-timeout", vip.header_timeout_ms},
                             Timeout{spec.connect_timeout, "--connect-timeout", vip.connect_timeout_ms},
                             Timeout{spec.response_timeout, "--response-timeout", vip.response_timeout_ms}}) {
        if (!t.text) continue;
        auto ms = parse_timeout_ms(*t.text, t.option);
        if (!ms) return ms.error();
        t.field = *ms;
    }
    struct Limit {
        const std::optional<std::string>& text;
        std::string_view option;
        std::uint64_t min, max;
        std::uint32_t& field;
    };
    for (const Limit& l :
         {Limit{spec.max_connections, "--max-connections", 1, kMaxConnections, vip.max_connections},
          Limit{spec.max_request_line, "--max-request-line", 64, kMaxHeaderBytes, vip.max_request_line},
          Limit{spec.max_header_bytes, "--max-header-bytes", 256, kMaxHeaderBytes, vip.max_header_bytes},
          Limit{spec.max_header_count, "--max-header-count", 1, kMaxHeaderCount, vip.max_header_count}}) {
        if (!l.text) continue;
        auto n = parse_whole(*l.text, l.option, l.min, l.max);
        if (!n) return n.error();
        l.field = static_cast<std::uint32_t>(*n);
    }
    if (spec.max_body) {
        auto n = parse_whole(*spec.max_body, "--max-body", 0, kMaxBody);
        if (!n) return n.error();
        vip.max_body_bytes = *n;
    }
    // The request line is part of the header section, so it cannot be allowed more.
    if (vip.max_request_line > vip.max_header_bytes) {
        if (spec.max_request_line) {
            return Error{
                fmt::format("--max-request-line: {} is more than the header section limit ({} bytes, "
                            "--max-header-bytes)",
                            vip.max_request_line, vip.max_header_bytes)};
        }
        return Error{
            fmt::format("--max-header-bytes: {} is less than the request line limit ({} bytes, "
                        "--max-request-line)",
                        vip.max_header_bytes, vip.max_request_line)};
    }
    return {};
}

void write_vip(const Database& db, const VipInfo& v, std::int64_t pool_id, std::int64_t id) {
    auto st = db.prepare(
        "UPDATE vips SET listen = ?, pool_id = ?, backend_port = ?, tls_cert = ?, tls_key = ?, backend_tls = ?, "
        "backend_sni = ?, backend_ca = ?, persist = ?, cookie_name = ?, cookie_httponly = ?, cookie_secure = ?, "
        "idle_timeout_s = ?, header_timeout_ms = ?, connect_timeout_ms = ?, response_timeout_ms = ?, "
        "max_connections = ?, max_request_line = ?, max_header_bytes = ?, max_header_count = ?, max_body_bytes = ?, "
        "access_log = ? WHERE id = ?");
    auto text_or_null = [&](int index, const std::string& value) {
        if (value.empty())
            st.bind(index, std::nullopt);
        else
            st.bind(index, value);
    };
    auto number = [&](int index, std::uint64_t value) { st.bind(index, static_cast<std::int64_t>(value)); };
    st.bind(1, v.listen).bind(2, pool_id);
    number(3, v.backend_port);
    text_or_null(4, v.certs.empty() ? std::string() : v.certs.front().cert);
    text_or_null(5, v.certs.empty() ? std::string() : v.certs.front().key);
    number(6, v.backend_tls);
    text_or_null(7, v.backend_sni);
    text_or_null(8, v.backend_ca);
    st.bind(9, v.persist).bind(10, v.cookie_name);
    number(11, v.cookie_httponly);
    number(12, v.cookie_secure);
    number(13, v.idle_timeout_s);
    number(14, v.header_timeout_ms);
    number(15, v.connect_timeout_ms);
    number(16, v.response_timeout_ms);
    number(17, v.max_connections);
    number(18, v.max_request_line);
    number(19, v.max_header_bytes);
    number(20, v.max_header_count);
    number(21, v.max_body_bytes);
    number(22, v.access_log);
    st.bind(23, id);
    st.run();
    auto del = db.prepare("DELETE FROM vip_certs WHERE vip_id = ?");
    del.bind(1, id);
    del.run();
    auto ins = db.prepare("INSERT INTO vip_certs (vip_id, position, tls_cert, tls_key) VALUES (?, ?, ?, ?)");
    for (std::size_t i = 1; i < v.certs.size(); ++i) {
        ins.bind_all(id, static_cast<std::int64_t>(i), v.certs[i].cert, v.certs[i].key);
        ins.run();
        ins.reset();
    }
}

// The audit detail: what the VIP does after the edit (paths, never the secret).
std::string vip_summary(const VipInfo& v) {
    std::string out = fmt::format("listen {} pool {} backend-port {} {}", v.listen, v.pool, v.backend_port,
                                  v.tls() ? "https" : "http");
    for (const auto& c : v.certs) out += fmt::format(" cert {} key {}", c.cert, c.key);
    if (v.backend_tls) {
        out += " backend-tls";
        if (!v.backend_sni.empty()) out += " sni " + v.backend_sni;
        if (!v.backend_ca.empty()) out += " ca " + v.backend_ca;
    }
    out += " persist " + v.persist;
    if (v.persist == "cookie") {
        out += fmt::format(" cookie {}{}{}", v.cookie_name, v.cookie_httponly ? " httponly" : "",
                           v.cookie_secure ? " secure" : "");
    }
    return out;
}

std::optional<double> parse_real(const Statement& st, int col) {
    if (st.column_is_null(col)) return std::nullopt;
    double v = 0;
    auto text = st.column_text(col);
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc()) return std::nullopt;
    return v;
}

}  // namespace

std::vector<StoredVip> load_vips(const Database& db, std::optional<std::string_view> pool) {
    auto st = db.prepare(fmt::format(
        "SELECT {} FROM vips v JOIN pools p ON p.id = v.pool_id WHERE ?1 IS NULL OR p.fqdn = ?1 ORDER BY v.name",
        kVipColumns));
    if (pool)
        st.bind(1, *pool);
    else
        st.bind(1, std::nullopt);
    std::vector<StoredVip> out;
    while (st.step()) out.push_back(vip_from_row(db, st));
    return out;
}

Result<std::string> canonical_listen(std::string_view text, std::string_view what) {
    std::string_view host, port;
    bool bracketed = text.starts_with('[');
    if (bracketed) {
        auto close = text.find("]:");
        if (close == std::string_view::npos) {
            return Error{fmt::format("{}: '{}' is not [IPv6]:PORT (e.g. [2001:db8::1]:443)", what, text)};
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return Error{
                fmt::format("{}: '{}' is not ADDR:PORT (e.g. 192.0.2.1:443 or [2001:db8::1]:443)", what, text)};
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return Error{fmt::format("{}: '{}': write an IPv6 address in brackets, [ADDR]:PORT", what, text)};
        }
    }
    auto number = parse_whole(port, what, 1, 65535);
    if (!number) return Error{fmt::format("{}: port '{}' of '{}' is not in 1..65535", what, port, text)};
    auto address = canonical_address(host, what);
    bool v6 = address && address->find(':') != std::string::npos;
    if (bracketed) {
        if (!v6) return Error{fmt::format("{}: '{}' in '{}' is not an IPv6 address", what, host, text)};
        return fmt::format("[{}]:{}", *address, *number);
    }
    if (!address || v6) {
        return Error{fmt::format("{}: '{}' in '{}' is not an IPv4 address (a VIP listens on an address, not a name)",
                                 what, host, text)};
    }
    return fmt::format("{}:{}", *address, *number);
}

std::string listen_address(std::string_view canonical) {
    auto host = canonical.substr(0, canonical.rfind(':'));
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    return std::string(host);
}

Result<VipInfo> VipStore::add_vip(const VipSpec& spec) {
    if (auto s = valid_object_name(spec.name); !s) return s.error();
    if (!spec.listen) return Error{"--listen: a VIP needs ADDR:PORT to listen on"};
    if (!spec.pool) return Error{"--pool: a VIP needs the pool it sends traffic to"};
    if (!spec.backend_port) return Error{"--backend-port: a VIP needs the port of its backends"};
    return guarded<VipInfo>("vip add", [&]() -> Result<VipInfo> {
        EditTransaction tx(db_);
        if (load_vip(db_, spec.name)) {
            return Error{fmt::format("NAME: vip '{}' already exists (change it with 'pooldnsctl vip set')", spec.name)};
        }
        VipInfo vip;
        vip.name = spec.name;
        std::int64_t pool_id = 0;
        if (auto s = apply_spec(db_, spec, 0, vip, pool_id); !s) return s.error();
        // Insert with the schema's defaults, then write every field as one row update.
        auto ins = db_.prepare("INSERT INTO vips (name, listen, pool_id, backend_port) VALUES (?, ?, ?, ?)");
        ins.bind_all(vip.name, vip.listen, pool_id, static_cast<std::int64_t>(vip.backend_port));
        ins.run();
        std::int64_t id = db_.last_insert_rowid();
        write_vip(db_, vip, pool_id, id);
        auto secret = db_.prepare("SELECT 1 FROM settings WHERE key = ?");
        secret.bind(1, kVipCookieSecretKey);
        if (!secret.step()) {
            auto value = new_cookie_secret();
            if (!value) return value.error();
            auto put = db_.prepare("INSERT INTO settings (key, value) VALUES (?, ?)");
            put.bind_all(kVipCookieSecretKey, *value);
            put.run();
        }
        audit(db_, command_, "vip add", vip.name, vip_summary(vip));
        auto stored = load_vip(db_, vip.name);
        if (auto broken = tx.commit(); !broken) return broken.error();
        return stored->info;
    });
}

Result<VipInfo> VipStore::update_vip(const VipSpec& spec) {
    return guarded<VipInfo>("vip set", [&]() -> Result<VipInfo> {
        EditTransaction tx(db_);
        auto stored = load_vip(db_, spec.name);
        if (!stored) return unknown_vip(spec.name);
        VipInfo vip = stored->info;
        std::int64_t pool_id = stored->pool_id;
        if (auto s = apply_spec(db_, spec, stored->id, vip, pool_id); !s) return s.error();
        write_vip(db_, vip, pool_id, stored->id);
        audit(db_, command_, "vip set", vip.name, vip_summary(vip));
        auto after = load_vip(db_, vip.name);
        if (auto broken = tx.commit(); !broken) return broken.error();
        return after->info;
    });
}

Result<VipInfo> VipStore::delete_vip(std::string_view name) {
    return guarded<VipInfo>("vip delete", [&]() -> Result<VipInfo> {
        EditTransaction tx(db_);
        auto stored = load_vip(db_, name);
        if (!stored) return unknown_vip(name);
        // vip_certs, vip_stats and vip_member_stats go with it (ON DELETE CASCADE).
        auto del = db_.prepare("DELETE FROM vips WHERE id = ?");
        del.bind(1, stored->id);
        del.run();
        audit(db_, command_, "vip delete", stored->info.name, vip_summary(stored->info));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return stored->info;
    });
}

Result<std::vector<VipInfo>> VipStore::vips() const {
    return guarded<std::vector<VipInfo>>("vip list", [&]() -> Result<std::vector<VipInfo>> {
        std::vector<VipInfo> out;
        for (auto& s : load_vips(db_, std::nullopt)) out.push_back(std::move(s.info));
        return out;
    });
}

Result<std::vector<VipStatus>> VipStore::status(std::string_view pool_arg) const {
    std::optional<std::string> pool;
    if (!pool_arg.empty()) {
        auto name = pool_name(pool_arg);
        if (!name) return name.error();
        pool = *name;
    }
    return guarded<std::vector<VipStatus>>("status", [&]() -> Result<std::vector<VipStatus>> {
        std::vector<VipStatus> out;
        auto stats = db_.prepare(
            "SELECT pid, started_at, updated_at, (julianday('now') - julianday(updated_at)) * 86400.0, listening, "
            "listen_error, connections, active, refused, requests, status_1xx, status_2xx, status_3xx, status_4xx, "
            "status_5xx, bytes_in, bytes_out, retries, no_backend FROM vip_stats WHERE vip_id = ?");
        auto members = db_.prepare(
            "SELECT s.name, coalesce(m.probe_address, m.address), s.admin_state, "
            "CASE WHEN p.check_spec IS NULL THEN 'unchecked' ELSE coalesce(h.state, 'unknown') END, "
            "coalesce(vs.picks, 0), coalesce(vs.failures, 0), coalesce(vs.active, 0) "
            "FROM members m JOIN servers s ON s.id = m.server_id JOIN pools p ON p.id = m.pool_id "
            "LEFT JOIN member_health h ON h.pool_id = m.pool_id AND h.server_id = m.server_id "
            "LEFT JOIN vip_member_stats vs ON vs.vip_id = ?1 AND vs.server_id = m.server_id "
            "WHERE m.pool_id = ?2 ORDER BY s.name");
        for (auto& stored : load_vips(db_, pool ? std::optional<std::string_view>(*pool) : std::nullopt)) {
            VipStatus vs;
            stats.bind(1, stored.id);
            if (stats.step()) {
                VipStats c;
                c.pid = stats.column_int(0);
                c.started_at = stats.column_text(1);
                c.updated_at = stats.column_text(2);
                c.age_s = parse_real(stats, 3);
                c.listening = stats.column_int(4) != 0;
                c.listen_error = stats.column_text(5);
                c.connections = stats.column_int(6);
                c.active = stats.column_int(7);
                c.refused = stats.column_int(8);
                c.requests = stats.column_int(9);
                c.status_1xx = stats.column_int(10);
                c.status_2xx = stats.column_int(11);
                c.status_3xx = stats.column_int(12);
                c.status_4xx = stats.column_int(13);
                c.status_5xx = stats.column_int(14);
                c.bytes_in = stats.column_int(15);
                c.bytes_out = stats.column_int(16);
                c.retries = stats.column_int(17);
                c.no_backend = stats.column_int(18);
                vs.stats = std::move(c);
            }
            stats.reset();
            members.bind_all(stored.id, stored.pool_id);
            while (members.step()) {
                VipMemberStatus m;
                m.server = members.column_text(0);
                m.address = members.column_text(1);
                m.admin = admin_state_from_name(members.column_text_view(2)).value_or(AdminState::Enabled);
                m.health = members.column_text(3);
                m.picks = members.column_int(4);
                m.failures = members.column_int(5);
                m.active = members.column_int(6);
                vs.members.push_back(std::move(m));
            }
            members.reset();
            vs.vip = std::move(stored.info);
            out.push_back(std::move(vs));
        }
        return out;
    });
}

}  // namespace pooldns
