// VIPs over a real SQLite file: each edit validates every argument (the
// certificates loaded with OpenSSL), writes and audits in one transaction, or
// changes nothing and names the bad argument; status reads what the server wrote.
// The certificates are made at test time with the openssl CLI.
#include "pooldns/vip_store.hpp"

#include "pooldns/pool_store.hpp"
#include "pooldns/serial.hpp"
#include "pooldns/zone_store.hpp"
#include "store_testing.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

using namespace pooldns;
using namespace pooldns::test;

namespace {

constexpr const char* kCommand = "pooldnsctl --db test.db vip add";

constexpr const char* kContoso =
    "$TTL 3600\n"
    "@ SOA ns1 hostmaster 1000 3600 600 1209600 60\n"
    "@ NS ns1\n"
    "ns1 A 192.0.2.53\n";

// An RSA and an ECDSA certificate with their keys, a key that matches neither,
// an encrypted key, and a file that is no PEM at all; made once per run.
struct TestCerts {
    TempDir dir;
    std::string rsa_cert = dir.file("rsa.pem"), rsa_key = dir.file("rsa.key");
    std::string ec_cert = dir.file("ec.pem"), ec_key = dir.file("ec.key");
    std::string other_key = dir.file("other.key");
    std::string encrypted_key = dir.file("encrypted.key");
    std::string not_pem = dir.write("not.pem", "hello\n");

    TestCerts() {
        auto run = [](const std::string& command) {
            if (std::system((command + " 2>/dev/null").c_str()) != 0) {
                throw std::runtime_error("cannot make test certificates: " + command);
            }
        };
        run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=web.contoso.com -keyout " + rsa_key +
            " -out " + rsa_cert);
        run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
            "-subj /CN=web-ext.contoso.com -keyout " +
            ec_key + " -out " + ec_cert);
        run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + other_key);
        run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass pass:secret -out " +
            encrypted_key);
    }
};

const TestCerts& certs() {
    static const TestCerts made;
    return made;
}

// What `vip add NAME --listen LISTEN --pool POOL --backend-port PORT` gives the store.
VipSpec vip(std::string name, std::string listen = "192.0.2.100:443", std::string pool = "pool01.contoso.com",
            std::string port = "443") {
    VipSpec spec;
    spec.name = std::move(name);
    spec.listen = std::move(listen);
    spec.pool = std::move(pool);
    spec.backend_port = std::move(port);
    return spec;
}

// What `vip set NAME` gives the store before options are added.
VipSpec change(std::string name) {
    VipSpec spec;
    spec.name = std::move(name);
    return spec;
}

struct Fixture {
    TempDir dir;
    Database db{open_db(dir.file("pooldns.db"))};
    ZoneStore zones{db, kCommand};
    PoolStore pools{db, kCommand};
    VipStore store{db, kCommand};

    // pool01 (tcp:443 check) with fe01 and fe02 (fe02 probed on 10.0.0.12),
    // pool02 (no check) with fe03.
    Fixture() {
        must(zones.import("contoso.com", dir.write("contoso.zone", kContoso)));
        must(pools.add_server(ServerSpec{"fe01", "fe01.contoso.com", {"192.0.2.11"}, std::nullopt, {}}));
        must(pools.add_server(ServerSpec{"fe02", "fe02.contoso.com", {"192.0.2.12"}, std::nullopt, {}}));
        must(pools.add_server(ServerSpec{"fe03", "fe03.contoso.com", {"2001:db8::13"}, std::nullopt, {}}));
        PoolSpec p01;
        p01.fqdn = "pool01.contoso.com";
        p01.check = "tcp:443";
        must(pools.add_pool(p01));
        PoolSpec p02;
        p02.fqdn = "pool02.contoso.com";
        p02.type = "AAAA";
        must(pools.add_pool(p02));
        must(pools.add_member("pool01.contoso.com", "fe01", "192.0.2.11", std::nullopt, std::nullopt));
        must(pools.add_member("pool01.contoso.com", "fe02", "192.0.2.12", std::nullopt, "10.0.0.12"));
        must(pools.add_member("pool02.contoso.com", "fe03", "2001:db8::13", std::nullopt, std::nullopt));
    }

    std::int64_t count(std::string_view sql) const {
        auto st = db.prepare(sql);
        REQUIRE(st.step());
        return st.column_int(0);
    }

    std::string text(std::string_view sql) const {
        auto st = db.prepare(sql);
        REQUIRE(st.step());
        return st.column_text(0);
    }

    std::vector<std::string> dump() const { return dump_tables(db); }

    std::uint32_t serial() const { return zone_serial(db, "contoso.com."); }

    VipInfo find(std::string_view name) const {
        for (auto& v : must(store.vips())) {
            if (v.name == name) return v;
        }
        FAIL("no vip " << name);
        return {};
    }

    // An HTTPS VIP with the RSA certificate, backend TLS and cookie persistence.
    VipInfo add_https(std::string name = "web", std::string listen = "192.0.2.100:443") {
        VipSpec spec = vip(std::move(name), std::move(listen));
        spec.tls_certs = {certs().rsa_cert};
        spec.tls_keys = {certs().rsa_key};
        spec.backend_tls = "on";
        spec.persist = "cookie";
        return must(store.add_vip(spec));
    }
};

std::string canonical(const std::string& path) {
    return std::filesystem::canonical(path).string();
}

// A bad argument for `vip add` (applied to a valid spec) and the start of the error it gets.
struct BadArgument {
    const char* what;
    std::function<void(VipSpec&)> apply;
    std::string error_starts;
};

const std::vector<BadArgument>& bad_add_arguments() {
    static const std::vector<BadArgument> all = {
        {"an empty NAME", [](VipSpec& s) { s.name = ""; }, "NAME: '' must be 1-63 characters"},
        {"a NAME of 64 characters", [](VipSpec& s) { s.name = std::string(64, 'a'); }, "NAME:"},
        {"a NAME with a space", [](VipSpec& s) { s.name = "web 1"; }, "NAME: 'web 1' may hold only"},
        {"a NAME with a slash", [](VipSpec& s) { s.name = "web/1"; }, "NAME:"},
        {"no --listen", [](VipSpec& s) { s.listen.reset(); }, "--listen:"},
        {"--listen without a port", [](VipSpec& s) { s.listen = "192.0.2.1"; },
         "--listen: '192.0.2.1' is not ADDR:PORT"},
        {"--listen with port 0", [](VipSpec& s) { s.listen = "192.0.2.1:0"; }, "--listen: port '0'"},
        {"--listen with port 65536", [](VipSpec& s) { s.listen = "192.0.2.1:65536"; }, "--listen: port '65536'"},
        {"--listen with an empty port", [](VipSpec& s) { s.listen = "192.0.2.1:"; }, "--listen: port ''"},
        {"--listen with a host name", [](VipSpec& s) { s.listen = "web.contoso.com:443"; },
         "--listen: 'web.contoso.com'"},
        {"--listen with a bad IPv4 address", [](VipSpec& s) { s.listen = "192.0.2.300:443"; }, "--listen:"},
        {"--listen with an unbracketed IPv6 address", [](VipSpec& s) { s.listen = "2001:db8::1:443"; },
         "--listen: '2001:db8::1:443': write an IPv6 address in brackets"},
        {"--listen with IPv4 in brackets", [](VipSpec& s) { s.listen = "[192.0.2.1]:443"; }, "--listen:"},
        {"--listen with an unclosed bracket", [](VipSpec& s) { s.listen = "[2001:db8::1:443"; }, "--listen:"},
        {"no --pool", [](VipSpec& s) { s.pool.reset(); }, "--pool:"},
        {"--pool naming no pool", [](VipSpec& s) { s.pool = "nope.contoso.com"; },
         "--pool: unknown pool 'nope.contoso.com.'"},
        {"--pool naming a server host", [](VipSpec& s) { s.pool = "fe01.contoso.com"; }, "--pool: unknown pool"},
        {"--pool with a wildcard", [](VipSpec& s) { s.pool = "*.contoso.com"; }, "--pool:"},
        {"no --backend-port", [](VipSpec& s) { s.backend_port.reset(); }, "--backend-port:"},
        {"--backend-port 0", [](VipSpec& s) { s.backend_port = "0"; }, "--backend-port: '0'"},
        {"--backend-port 65536", [](VipSpec& s) { s.backend_port = "65536"; }, "--backend-port:"},
        {"--backend-port that is no number", [](VipSpec& s) { s.backend_port = "https"; }, "--backend-port:"},
        {"--tls-cert without --tls-key", [](VipSpec& s) { s.tls_certs = {certs().rsa_cert}; },
         "--tls-cert " + certs().rsa_cert + ": has no --tls-key"},
        {"--tls-key without --tls-cert", [](VipSpec& s) { s.tls_keys = {certs().rsa_key}; },
         "--tls-key " + certs().rsa_key + ": has no --tls-cert"},
        {"a second --tls-cert without its --tls-key",
         [](VipSpec& s) {
             s.tls_certs = {certs().rsa_cert, certs().ec_cert};
             s.tls_keys = {certs().rsa_key};
         },
         "--tls-cert " + certs().ec_cert + ": has no --tls-key"},
        {"a missing --tls-cert file",
         [](VipSpec& s) {
             s.tls_certs = {"/nonexistent/c.pem"};
             s.tls_keys = {certs().rsa_key};
         },
         "--tls-cert /nonexistent/c.pem: no such file"},
        {"a missing --tls-key file",
         [](VipSpec& s) {
             s.tls_certs = {certs().rsa_cert};
             s.tls_keys = {"/nonexistent/k.pem"};
         },
         "--tls-key /nonexistent/k.pem: no such file"},
        {"a directory as --tls-cert",
         [](VipSpec& s) {
             s.tls_certs = {certs().dir.path().string()};
             s.tls_keys = {certs().rsa_key};
         },
         "--tls-cert " + certs().dir.path().string() + ": is a directory"},
        {"a --tls-cert that holds no certificate",
         [](VipSpec& s) {
             s.tls_certs = {certs().not_pem};
             s.tls_keys = {certs().rsa_key};
         },
         "--tls-cert " + certs().not_pem + ": holds no PEM certificate"},
        {"a key as --tls-cert",
         [](VipSpec& s) {
             s.tls_certs = {certs().rsa_key};
             s.tls_keys = {certs().rsa_key};
         },
         "--tls-cert " + certs().rsa_key + ": holds no PEM certificate"},
        {"a certificate as --tls-key",
         [](VipSpec& s) {
             s.tls_certs = {certs().rsa_cert};
             s.tls_keys = {certs().rsa_cert};
         },
         "--tls-key " + certs().rsa_cert + ": holds no PEM private key"},
        {"an encrypted --tls-key",
         [](VipSpec& s) {
             s.tls_certs = {certs().ec_cert};
             s.tls_keys = {certs().encrypted_key};
         },
         "--tls-key " + certs().encrypted_key + ": the key is encrypted"},
        {"an ECDSA key of another certificate",
         [](VipSpec& s) {
             s.tls_certs = {certs().ec_cert};
             s.tls_keys = {certs().other_key};
         },
         "--tls-key " + certs().other_key + ": does not match --tls-cert " + certs().ec_cert},
        {"an ECDSA key with an RSA certificate",
         [](VipSpec& s) {
             s.tls_certs = {certs().rsa_cert};
             s.tls_keys = {certs().ec_key};
         },
         "--tls-key " + certs().ec_key + ": does not match --tls-cert " + certs().rsa_cert},
        {"the second pair mismatched",
         [](VipSpec& s) {
             s.tls_certs = {certs().rsa_cert, certs().ec_cert};
             s.tls_keys = {certs().rsa_key, certs().rsa_key};
         },
         "--tls-key " + certs().rsa_key + ": does not match --tls-cert " + certs().ec_cert},
        {"--tls with a value other than none", [](VipSpec& s) { s.tls = "on"; }, "--tls: 'on' must be none"},
        {"--tls none with a certificate",
         [](VipSpec& s) {
             s.tls = "none";
             s.tls_certs = {certs().rsa_cert};
             s.tls_keys = {certs().rsa_key};
         },
         "--tls: 'none' cannot go with --tls-cert"},
        {"--backend-tls that is not on or off", [](VipSpec& s) { s.backend_tls = "yes"; },
         "--backend-tls: 'yes' must be on or off"},
        {"--backend-sni without --backend-tls", [](VipSpec& s) { s.backend_sni = "web.contoso.com"; },
         "--backend-sni: only with --backend-tls"},
        {"--backend-ca without --backend-tls", [](VipSpec& s) { s.backend_ca = certs().rsa_cert; },
         "--backend-ca: only with --backend-tls"},
        {"--backend-sni with --backend-tls off",
         [](VipSpec& s) {
             s.backend_tls = "off";
             s.backend_sni = "web.contoso.com";
         },
         "--backend-sni: only with --backend-tls"},
        {"--backend-sni that is an address",
         [](VipSpec& s) {
             s.backend_tls = "on";
             s.backend_sni = "192.0.2.11";
         },
         "--backend-sni: '192.0.2.11' is an address"},
        {"--backend-sni with a bad character",
         [](VipSpec& s) {
             s.backend_tls = "on";
             s.backend_sni = "web_1.contoso.com";
         },
         "--backend-sni: 'web_1.contoso.com' is not a host name"},
        {"--backend-sni with an empty label",
         [](VipSpec& s) {
             s.backend_tls = "on";
             s.backend_sni = "web..contoso.com";
         },
         "--backend-sni:"},
        {"a missing --backend-ca file",
         [](VipSpec& s) {
             s.backend_tls = "on";
             s.backend_ca = "/nonexistent/ca.pem";
         },
         "--backend-ca /nonexistent/ca.pem: no such file"},
        {"a --backend-ca that holds no certificate",
         [](VipSpec& s) {
             s.backend_tls = "on";
             s.backend_ca = certs().rsa_key;
         },
         "--backend-ca " + certs().rsa_key + ": holds no PEM CA certificate"},
        {"a bad --persist", [](VipSpec& s) { s.persist = "sticky"; },
         "--persist: 'sticky' must be cookie, source or none"},
        {"an empty --cookie-name", [](VipSpec& s) { s.cookie_name = ""; }, "--cookie-name: '' must be 1-64"},
        {"a --cookie-name of 65 characters", [](VipSpec& s) { s.cookie_name = std::string(65, 'c'); },
         "--cookie-name:"},
        {"a --cookie-name with a space", [](VipSpec& s) { s.cookie_name = "MS WSMAN"; },
         "--cookie-name: 'MS WSMAN' is not a cookie name"},
        {"a --cookie-name with '='", [](VipSpec& s) { s.cookie_name = "a=b"; }, "--cookie-name:"},
        {"a --cookie-name with ';'", [](VipSpec& s) { s.cookie_name = "a;b"; }, "--cookie-name:"},
        {"a --cookie-name with a non-ASCII byte", [](VipSpec& s) { s.cookie_name = "caf\xc3\xa9"; }, "--cookie-name:"},
        {"a bad --cookie-httponly", [](VipSpec& s) { s.cookie_httponly = "true"; },
         "--cookie-httponly: 'true' must be on or off"},
        {"a bad --cookie-secure", [](VipSpec& s) { s.cookie_secure = "1"; }, "--cookie-secure: '1' must be on or off"},
        {"a bad --access-log", [](VipSpec& s) { s.access_log = "yes"; }, "--access-log: 'yes' must be on or off"},
        {"--idle-timeout 0", [](VipSpec& s) { s.idle_timeout = "0"; }, "--idle-timeout: 0 is out of range"},
        {"--idle-timeout of a fraction of a second", [](VipSpec& s) { s.idle_timeout = "1.5"; },
         "--idle-timeout: 1.5 is not a whole number of seconds"},
        {"--idle-timeout over a day", [](VipSpec& s) { s.idle_timeout = "86401"; }, "--idle-timeout: 86401 is out"},
        {"--header-timeout 0", [](VipSpec& s) { s.header_timeout = "0"; }, "--header-timeout: 0 is out of range"},
        {"--header-timeout that rounds to 0 ms", [](VipSpec& s) { s.header_timeout = "0.0001"; }, "--header-timeout:"},
        {"a negative --header-timeout", [](VipSpec& s) { s.header_timeout = "-1"; },
         "--header-timeout: '-1' is not a duration"},
        {"--connect-timeout over a day", [](VipSpec& s) { s.connect_timeout = "86400.5"; },
         "--connect-timeout: 86400.5 is out of range"},
        {"--connect-timeout that is no number", [](VipSpec& s) { s.connect_timeout = "soon"; },
         "--connect-timeout: 'soon' is not a duration"},
        {"--response-timeout inf", [](VipSpec& s) { s.response_timeout = "inf"; }, "--response-timeout:"},
        {"--response-timeout 0ms", [](VipSpec& s) { s.response_timeout = "0ms"; }, "--response-timeout:"},
        {"--max-connections 0", [](VipSpec& s) { s.max_connections = "0"; }, "--max-connections: '0'"},
        {"--max-connections negative", [](VipSpec& s) { s.max_connections = "-5"; }, "--max-connections:"},
        {"--max-request-line 63", [](VipSpec& s) { s.max_request_line = "63"; }, "--max-request-line: '63'"},
        {"--max-header-bytes 255", [](VipSpec& s) { s.max_header_bytes = "255"; }, "--max-header-bytes: '255'"},
        {"--max-header-count 0", [](VipSpec& s) { s.max_header_count = "0"; }, "--max-header-count: '0'"},
        {"--max-body negative", [](VipSpec& s) { s.max_body = "-1"; }, "--max-body: '-1'"},
        {"--max-body beyond 64 bits", [](VipSpec& s) { s.max_body = "18446744073709551616"; }, "--max-body:"},
        {"--max-request-line above the default header bytes", [](VipSpec& s) { s.max_request_line = "65537"; },
         "--max-request-line: 65537 is more than the header section limit (65536 bytes"},
        {"--max-header-bytes below the default request line", [](VipSpec& s) { s.max_header_bytes = "4096"; },
         "--max-header-bytes: 4096 is less than the request line limit (8192 bytes"},
    };
    return all;
}

}  // namespace

// --- vip add --------------------------------------------------------------------

TEST_CASE("vip add stores the schema defaults: http, persist none, MS-WSMAN, 1800 s idle, the SfB limits") {
    Fixture f;
    VipInfo v = must(f.store.add_vip(vip("web", "192.0.2.100:80", "pool01.contoso.com", "80")));
    CHECK(v.name == "web");
    CHECK(v.listen == "192.0.2.100:80");
    CHECK(v.pool == "pool01.contoso.com.");
    CHECK(v.backend_port == 80);
    CHECK_FALSE(v.tls());
    CHECK_FALSE(v.backend_tls);
    CHECK(v.backend_sni.empty());
    CHECK(v.backend_ca.empty());
    CHECK(v.persist == "none");
    CHECK(v.cookie_name == "MS-WSMAN");
    CHECK_FALSE(v.cookie_httponly);
    CHECK_FALSE(v.cookie_secure);
    CHECK(v.idle_timeout_s == 1800);
    CHECK(v.header_timeout_ms == 10000);
    CHECK(v.connect_timeout_ms == 5000);
    CHECK(v.response_timeout_ms == 120000);
    CHECK(v.max_connections == 20000);
    CHECK(v.max_request_line == 8192);
    CHECK(v.max_header_bytes == 65536);
    CHECK(v.max_header_count == 100);
    CHECK(v.max_body_bytes == 4294967296ULL);
    CHECK_FALSE(v.access_log);
    CHECK_FALSE(v.created_at.empty());
    // The row holds exactly what the schema's defaults would have given.
    CHECK(f.text("SELECT coalesce(tls_cert, 'NULL') || coalesce(tls_key, 'NULL') || coalesce(backend_sni, 'NULL') || "
                 "coalesce(backend_ca, 'NULL') FROM vips") == "NULLNULLNULLNULL");
}

TEST_CASE("vip add stores every option given, timeouts in ms and the idle timeout in seconds") {
    Fixture f;
    VipSpec spec = vip("web-ext", "192.0.2.101:4443", "pool01.contoso.com", "4443");
    spec.tls_certs = {certs().ec_cert};
    spec.tls_keys = {certs().ec_key};
    spec.backend_tls = "on";
    spec.backend_sni = "Web.Contoso.COM.";
    spec.backend_ca = certs().rsa_cert;
    spec.persist = "cookie";
    spec.cookie_name = "SESSION_ID";
    spec.cookie_httponly = "on";
    spec.cookie_secure = "on";
    spec.idle_timeout = "600";
    spec.header_timeout = "2.5";
    spec.connect_timeout = "750ms";
    spec.response_timeout = "30s";
    spec.max_connections = "500";
    spec.max_request_line = "4096";
    spec.max_header_bytes = "32768";
    spec.max_header_count = "50";
    spec.max_body = "0";
    spec.access_log = "on";
    VipInfo v = must(f.store.add_vip(spec));
    REQUIRE(v.certs.size() == 1);
    CHECK(v.certs[0].cert == canonical(certs().ec_cert));
    CHECK(v.certs[0].key == canonical(certs().ec_key));
    CHECK(v.backend_tls);
    CHECK(v.backend_sni == "web.contoso.com");
    CHECK(v.backend_ca == canonical(certs().rsa_cert));
    CHECK(v.persist == "cookie");
    CHECK(v.cookie_name == "SESSION_ID");
    CHECK(v.cookie_httponly);
    CHECK(v.cookie_secure);
    CHECK(v.idle_timeout_s == 600);
    CHECK(v.header_timeout_ms == 2500);
    CHECK(v.connect_timeout_ms == 750);
    CHECK(v.response_timeout_ms == 30000);
    CHECK(v.max_connections == 500);
    CHECK(v.max_request_line == 4096);
    CHECK(v.max_header_bytes == 32768);
    CHECK(v.max_header_count == 50);
    CHECK(v.max_body_bytes == 0);
    CHECK(v.access_log);
    CHECK(f.text("SELECT idle_timeout_s || ' ' || header_timeout_ms || ' ' || connect_timeout_ms || ' ' || "
                 "response_timeout_ms FROM vips") == "600 2500 750 30000");
}

TEST_CASE("vip add accepts the limits at the edges of the schema's CHECKs") {
    Fixture f;
    VipSpec spec = vip("edge");
    spec.max_connections = "1";
    spec.max_request_line = "64";
    spec.max_header_bytes = "256";
    spec.max_header_count = "1";
    spec.max_body = "9223372036854775807";
    spec.header_timeout = "0.001";
    spec.response_timeout = "86400";
    VipInfo v = must(f.store.add_vip(spec));
    CHECK(v.max_request_line == 64);
    CHECK(v.max_header_bytes == 256);
    CHECK(v.max_body_bytes == 9223372036854775807ULL);
    CHECK(v.header_timeout_ms == 1);
    CHECK(v.response_timeout_ms == 86400000);
}

TEST_CASE("vip add stores the listen address canonical, IPv6 in brackets") {
    Fixture f;
    CHECK(must(f.store.add_vip(vip("v6", "[2001:DB8:0:0::1]:443"))).listen == "[2001:db8::1]:443");
    CHECK(must(f.store.add_vip(vip("v4", "192.0.2.7:0080"))).listen == "192.0.2.7:80");
    CHECK(must(f.store.add_vip(vip("any", "0.0.0.0:8080"))).listen == "0.0.0.0:8080");
    CHECK(must(f.store.add_vip(vip("any6", "[::]:8080"))).listen == "[::]:8080");
}

TEST_CASE("vip add takes the pool FQDN in any case, with or without the final dot") {
    Fixture f;
    CHECK(must(f.store.add_vip(vip("web", "192.0.2.100:443", "POOL01.Contoso.com."))).pool == "pool01.contoso.com.");
}

TEST_CASE("vip add with an RSA certificate makes an HTTPS VIP") {
    Fixture f;
    VipSpec spec = vip("web");
    spec.tls_certs = {certs().rsa_cert};
    spec.tls_keys = {certs().rsa_key};
    VipInfo v = must(f.store.add_vip(spec));
    CHECK(v.tls());
    REQUIRE(v.certs.size() == 1);
    CHECK(v.certs[0].cert == canonical(certs().rsa_cert));
    CHECK(f.count("SELECT count(*) FROM vip_certs") == 0);
}

TEST_CASE("vip add with several pairs keeps the first as the default and the others as vip_certs 1..") {
    Fixture f;
    VipSpec spec = vip("web");
    spec.tls_certs = {certs().rsa_cert, certs().ec_cert};
    spec.tls_keys = {certs().rsa_key, certs().ec_key};
    VipInfo v = must(f.store.add_vip(spec));
    REQUIRE(v.certs.size() == 2);
    CHECK(v.certs[0].cert == canonical(certs().rsa_cert));
    CHECK(v.certs[1].cert == canonical(certs().ec_cert));
    CHECK(v.certs[1].key == canonical(certs().ec_key));
    CHECK(f.text("SELECT tls_cert FROM vips") == canonical(certs().rsa_cert));
    CHECK(f.text("SELECT position || ' ' || tls_cert || ' ' || tls_key FROM vip_certs") ==
          "1 " + canonical(certs().ec_cert) + " " + canonical(certs().ec_key));
}

TEST_CASE("vip add stores certificate paths absolute with links and dot segments resolved") {
    Fixture f;
    std::filesystem::create_symlink(certs().ec_cert, f.dir.file("link.pem"));
    VipSpec spec = vip("web");
    spec.tls_certs = {f.dir.file("link.pem")};
    spec.tls_keys = {(certs().dir.path() / "." / ".." / certs().dir.path().filename() / "ec.key").string()};
    VipInfo v = must(f.store.add_vip(spec));
    REQUIRE(v.certs.size() == 1);
    CHECK(v.certs[0].cert == canonical(certs().ec_cert));
    CHECK(v.certs[0].key == canonical(certs().ec_key));
}

TEST_CASE("vip add of a key path that is a directory fails naming it") {
    // Runs as root too (unlike the unreadable-file case below).
    Fixture f;
    auto key = f.dir.path() / "key-dir";
    std::filesystem::create_directory(key);
    VipSpec spec = vip("web");
    spec.tls_certs = {certs().rsa_cert};
    spec.tls_keys = {key.string()};
    std::string error = error_of(f.store.add_vip(spec));
    INFO(error);
    CHECK(error == "--tls-key " + key.string() + ": is a directory");
    CHECK(f.count("SELECT count(*) FROM vips") == 0);
}

TEST_CASE("vip add of an unreadable key file fails naming it") {
    if (geteuid() == 0) {
        MESSAGE("skipped: root reads files whatever their mode");
        return;
    }
    Fixture f;
    std::string key = f.dir.write("locked.key", "x");
    std::filesystem::permissions(key, std::filesystem::perms::none);
    VipSpec spec = vip("web");
    spec.tls_certs = {certs().rsa_cert};
    spec.tls_keys = {key};
    CHECK(error_of(f.store.add_vip(spec)).starts_with("--tls-key " + key + ": cannot be read"));
}

TEST_CASE("each bad argument of vip add fails naming it, and changes nothing") {
    Fixture f;
    f.add_https("taken", "192.0.2.200:443");
    auto before = f.dump();
    for (const auto& bad : bad_add_arguments()) {
        INFO("case: ", bad.what);
        VipSpec spec = vip("web");
        bad.apply(spec);
        auto r = f.store.add_vip(spec);
        REQUIRE_FALSE(r.ok());
        INFO("error: ", r.error().message);
        CHECK(r.error().message.starts_with(bad.error_starts));
        CHECK(f.dump() == before);
    }
}

TEST_CASE("a VIP name is unique") {
    Fixture f;
    f.add_https("web");
    CHECK(error_of(f.store.add_vip(vip("web", "192.0.2.101:443"))) ==
          "NAME: vip 'web' already exists (change it with 'pooldnsctl vip set')");
}

TEST_CASE("a listen address belongs to one VIP, and the error names it") {
    Fixture f;
    f.add_https("web", "192.0.2.100:443");
    CHECK(error_of(f.store.add_vip(vip("other", "192.0.2.100:443"))) ==
          "--listen: 192.0.2.100:443 is already the address of vip 'web'");
    // The same address on another port is another listener.
    CHECK(f.store.add_vip(vip("other", "192.0.2.100:80")).ok());
}

TEST_CASE("listen addresses are compared in canonical form") {
    Fixture f;
    must(f.store.add_vip(vip("v6", "[2001:db8::1]:443")));
    CHECK(error_of(f.store.add_vip(vip("again", "[2001:DB8:0::1]:443"))).starts_with("--listen: [2001:db8::1]:443"));
}

TEST_CASE("--backend-sni and --backend-ca are accepted with --backend-tls") {
    Fixture f;
    VipSpec spec = vip("web");
    spec.backend_tls = "on";
    spec.backend_sni = "pool01.contoso.com";
    spec.backend_ca = certs().ec_cert;
    VipInfo v = must(f.store.add_vip(spec));
    CHECK(v.backend_sni == "pool01.contoso.com");
    CHECK(v.backend_ca == canonical(certs().ec_cert));
}

// --- the cookie secret ----------------------------------------------------------

TEST_CASE("the first vip add creates the cookie secret: 32 lowercase hex characters") {
    Fixture f;
    CHECK(f.count("SELECT count(*) FROM settings WHERE key = 'vip_cookie_secret'") == 0);
    must(f.store.add_vip(vip("web")));
    std::string secret = f.text("SELECT value FROM settings WHERE key = 'vip_cookie_secret'");
    CHECK(secret.size() == 32);
    CHECK(secret.find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("later vip adds keep the cookie secret, and vip delete keeps it too") {
    Fixture f;
    must(f.store.add_vip(vip("web")));
    std::string secret = f.text("SELECT value FROM settings WHERE key = 'vip_cookie_secret'");
    must(f.store.add_vip(vip("web2", "192.0.2.101:443")));
    must(f.store.delete_vip("web"));
    must(f.store.delete_vip("web2"));
    must(f.store.add_vip(vip("web3")));
    CHECK(f.text("SELECT value FROM settings WHERE key = 'vip_cookie_secret'") == secret);
    CHECK(f.count("SELECT count(*) FROM settings WHERE key = 'vip_cookie_secret'") == 1);
}

TEST_CASE("an existing cookie secret is never replaced") {
    Fixture f;
    f.db.exec("INSERT INTO settings (key, value) VALUES ('vip_cookie_secret', '00112233445566778899aabbccddeeff')");
    must(f.store.add_vip(vip("web")));
    CHECK(f.text("SELECT value FROM settings WHERE key = 'vip_cookie_secret'") == "00112233445566778899aabbccddeeff");
}

TEST_CASE("the cookie secret appears in no audit row") {
    Fixture f;
    must(f.store.add_vip(vip("web")));
    std::string secret = f.text("SELECT value FROM settings WHERE key = 'vip_cookie_secret'");
    REQUIRE(secret.size() == 32);
    REQUIRE(f.count("SELECT count(*) FROM audit") >= 1);
    auto st = f.db.prepare("SELECT command || detail FROM audit");
    while (st.step()) CHECK(st.column_text(0).find(secret) == std::string::npos);
}

// --- vip set --------------------------------------------------------------------

TEST_CASE("vip set changes only the options given") {
    Fixture f;
    VipInfo before = f.add_https("web");
    VipSpec spec = change("web");
    spec.persist = "source";
    spec.idle_timeout = "900";
    VipInfo after = must(f.store.update_vip(spec));
    CHECK(after.persist == "source");
    CHECK(after.idle_timeout_s == 900);
    CHECK(after.listen == before.listen);
    CHECK(after.pool == before.pool);
    CHECK(after.backend_port == before.backend_port);
    CHECK(after.certs.size() == 1);
    CHECK(after.backend_tls);
    CHECK(after.cookie_name == before.cookie_name);
    CHECK(after.header_timeout_ms == before.header_timeout_ms);
    CHECK(after.created_at == before.created_at);
}

TEST_CASE("vip set moves a VIP to another listen address, pool and backend port") {
    Fixture f;
    f.add_https("web");
    VipSpec spec = change("web");
    spec.listen = "[2001:db8::100]:443";
    spec.pool = "pool02.contoso.com";
    spec.backend_port = "8443";
    VipInfo v = must(f.store.update_vip(spec));
    CHECK(v.listen == "[2001:db8::100]:443");
    CHECK(v.pool == "pool02.contoso.com.");
    CHECK(v.backend_port == 8443);
}

TEST_CASE("vip set may give a VIP its own listen address again") {
    Fixture f;
    f.add_https("web", "192.0.2.100:443");
    VipSpec spec = change("web");
    spec.listen = "192.0.2.100:443";
    CHECK(f.store.update_vip(spec).ok());
}

TEST_CASE("vip set to another VIP's listen address fails naming that VIP") {
    Fixture f;
    f.add_https("web", "192.0.2.100:443");
    f.add_https("web2", "192.0.2.101:443");
    VipSpec spec = change("web2");
    spec.listen = "192.0.2.100:443";
    CHECK(error_of(f.store.update_vip(spec)) == "--listen: 192.0.2.100:443 is already the address of vip 'web'");
}

TEST_CASE("vip set with certificates replaces the whole certificate list") {
    Fixture f;
    VipSpec add = vip("web");
    add.tls_certs = {certs().rsa_cert, certs().ec_cert};
    add.tls_keys = {certs().rsa_key, certs().ec_key};
    must(f.store.add_vip(add));
    REQUIRE(f.count("SELECT count(*) FROM vip_certs") == 1);
    VipSpec spec = change("web");
    spec.tls_certs = {certs().ec_cert};
    spec.tls_keys = {certs().ec_key};
    VipInfo v = must(f.store.update_vip(spec));
    REQUIRE(v.certs.size() == 1);
    CHECK(v.certs[0].cert == canonical(certs().ec_cert));
    CHECK(f.count("SELECT count(*) FROM vip_certs") == 0);
    CHECK(f.text("SELECT tls_key FROM vips") == canonical(certs().ec_key));
}

TEST_CASE("vip set --tls none makes the VIP plain HTTP and drops every certificate") {
    Fixture f;
    VipSpec add = vip("web");
    add.tls_certs = {certs().rsa_cert, certs().ec_cert};
    add.tls_keys = {certs().rsa_key, certs().ec_key};
    must(f.store.add_vip(add));
    VipSpec spec = change("web");
    spec.tls = "none";
    VipInfo v = must(f.store.update_vip(spec));
    CHECK_FALSE(v.tls());
    CHECK(f.count("SELECT count(*) FROM vips WHERE tls_cert IS NULL AND tls_key IS NULL") == 1);
    CHECK(f.count("SELECT count(*) FROM vip_certs") == 0);
}

TEST_CASE("vip set adds certificates to a plain HTTP VIP") {
    Fixture f;
    must(f.store.add_vip(vip("web")));
    VipSpec spec = change("web");
    spec.tls_certs = {certs().ec_cert};
    spec.tls_keys = {certs().ec_key};
    CHECK(must(f.store.update_vip(spec)).tls());
}

TEST_CASE("vip set --backend-tls off clears the backend SNI and CA") {
    Fixture f;
    VipSpec add = vip("web");
    add.backend_tls = "on";
    add.backend_sni = "web.contoso.com";
    add.backend_ca = certs().rsa_cert;
    must(f.store.add_vip(add));
    VipSpec spec = change("web");
    spec.backend_tls = "off";
    VipInfo v = must(f.store.update_vip(spec));
    CHECK_FALSE(v.backend_tls);
    CHECK(v.backend_sni.empty());
    CHECK(v.backend_ca.empty());
    CHECK(f.count("SELECT count(*) FROM vips WHERE backend_tls = 0 AND backend_sni IS NULL AND backend_ca IS NULL") ==
          1);
}

TEST_CASE("vip set --backend-sni none and --backend-ca none clear each, keeping backend TLS") {
    Fixture f;
    VipSpec add = vip("web");
    add.backend_tls = "on";
    add.backend_sni = "web.contoso.com";
    add.backend_ca = certs().rsa_cert;
    must(f.store.add_vip(add));
    VipSpec sni = change("web");
    sni.backend_sni = "none";
    VipInfo v = must(f.store.update_vip(sni));
    CHECK(v.backend_sni.empty());
    CHECK(v.backend_ca == canonical(certs().rsa_cert));
    VipSpec ca = change("web");
    ca.backend_ca = "none";
    v = must(f.store.update_vip(ca));
    CHECK(v.backend_ca.empty());
    CHECK(v.backend_tls);
}

TEST_CASE("vip set --backend-sni counts the stored backend TLS") {
    Fixture f;
    f.add_https("tls");  // backend TLS on
    must(f.store.add_vip(vip("plain", "192.0.2.101:80")));
    VipSpec ok = change("tls");
    ok.backend_sni = "web.contoso.com";
    CHECK(must(f.store.update_vip(ok)).backend_sni == "web.contoso.com");
    VipSpec bad = change("plain");
    bad.backend_sni = "web.contoso.com";
    CHECK(error_of(f.store.update_vip(bad)).starts_with("--backend-sni: only with --backend-tls (vip 'plain'"));
    VipSpec both = change("plain");
    both.backend_tls = "on";
    both.backend_ca = certs().ec_cert;
    CHECK(must(f.store.update_vip(both)).backend_ca == canonical(certs().ec_cert));
}

TEST_CASE("vip set checks the request line limit against the stored header bytes") {
    Fixture f;
    VipSpec add = vip("web");
    add.max_header_bytes = "4096";
    add.max_request_line = "1024";
    must(f.store.add_vip(add));
    VipSpec line = change("web");
    line.max_request_line = "8192";
    CHECK(error_of(f.store.update_vip(line)) ==
          "--max-request-line: 8192 is more than the header section limit (4096 bytes, --max-header-bytes)");
    VipSpec bytes = change("web");
    bytes.max_header_bytes = "512";
    CHECK(error_of(f.store.update_vip(bytes)) ==
          "--max-header-bytes: 512 is less than the request line limit (1024 bytes, --max-request-line)");
    VipSpec both = change("web");
    both.max_header_bytes = "131072";
    both.max_request_line = "16384";
    VipInfo v = must(f.store.update_vip(both));
    CHECK(v.max_header_bytes == 131072);
    CHECK(v.max_request_line == 16384);
}

TEST_CASE("vip set of an unknown VIP fails naming NAME") {
    Fixture f;
    VipSpec spec = change("nope");
    spec.persist = "source";
    CHECK(error_of(f.store.update_vip(spec)) == "NAME: unknown vip 'nope' ('pooldnsctl vip list' shows the VIPs)");
}

TEST_CASE("each bad argument of vip set fails naming it, and changes nothing") {
    Fixture f;
    must(f.store.add_vip(vip("web")));  // plain HTTP to its backends, so --backend-sni alone is refused
    f.add_https("taken", "192.0.2.200:443");
    auto before = f.dump();
    for (const auto& bad : bad_add_arguments()) {
        VipSpec spec = vip("web");  // every option given, as `vip set web --listen ... --pool ...` would
        bad.apply(spec);
        if (spec.name != "web" || !spec.listen || !spec.pool || !spec.backend_port) continue;  // add-only cases
        INFO("case: ", bad.what);
        auto r = f.store.update_vip(spec);
        REQUIRE_FALSE(r.ok());
        INFO("error: ", r.error().message);
        CHECK(r.error().message.starts_with(bad.error_starts));
        CHECK(f.dump() == before);
    }
}

// --- vip delete and list --------------------------------------------------------

TEST_CASE("vip delete removes the VIP with its certificates and counters") {
    Fixture f;
    VipSpec add = vip("web");
    add.tls_certs = {certs().rsa_cert, certs().ec_cert};
    add.tls_keys = {certs().rsa_key, certs().ec_key};
    must(f.store.add_vip(add));
    f.db.exec(
        "INSERT INTO vip_stats (vip_id, pid, started_at, updated_at) SELECT id, 1, 'a', 'b' FROM vips;"
        "INSERT INTO vip_member_stats (vip_id, server_id, picks) SELECT v.id, s.id, 3 FROM vips v, servers s;");
    VipInfo gone = must(f.store.delete_vip("web"));
    CHECK(gone.name == "web");
    CHECK(gone.certs.size() == 2);
    CHECK(f.count("SELECT count(*) FROM vips") == 0);
    CHECK(f.count("SELECT count(*) FROM vip_certs") == 0);
    CHECK(f.count("SELECT count(*) FROM vip_stats") == 0);
    CHECK(f.count("SELECT count(*) FROM vip_member_stats") == 0);
}

TEST_CASE("vip delete of an unknown VIP fails naming NAME") {
    Fixture f;
    CHECK(error_of(f.store.delete_vip("nope")).starts_with("NAME: unknown vip 'nope'"));
}

TEST_CASE("vip list gives every VIP by name with every field") {
    Fixture f;
    must(f.store.add_vip(vip("zeta", "192.0.2.102:80", "pool02.contoso.com", "80")));
    VipSpec a = vip("alpha", "192.0.2.101:443");
    a.tls_certs = {certs().rsa_cert, certs().ec_cert};
    a.tls_keys = {certs().rsa_key, certs().ec_key};
    a.persist = "source";
    must(f.store.add_vip(a));
    auto list = must(f.store.vips());
    REQUIRE(list.size() == 2);
    CHECK(list[0].name == "alpha");
    CHECK(list[0].certs.size() == 2);
    CHECK(list[0].persist == "source");
    CHECK(list[1].name == "zeta");
    CHECK(list[1].pool == "pool02.contoso.com.");
    CHECK(list[1].backend_port == 80);
}

TEST_CASE("vip list of a file without VIPs is empty") {
    Fixture f;
    CHECK(must(f.store.vips()).empty());
}

// --- pools, serials, audit ------------------------------------------------------

TEST_CASE("pool delete of a pool a VIP uses fails naming the VIP, and works once the VIP is gone") {
    Fixture f;
    must(f.store.add_vip(vip("web")));
    auto before = f.dump();
    auto r = f.pools.delete_pool("pool01.contoso.com");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.starts_with("POOL:"));
    CHECK(r.error().message.find("web") != std::string::npos);
    CHECK(r.error().message.find("FOREIGN KEY") == std::string::npos);
    CHECK(f.dump() == before);
    must(f.store.delete_vip("web"));
    CHECK(f.pools.delete_pool("pool01.contoso.com").ok());
}

TEST_CASE("VIP edits change no zone serial") {
    Fixture f;
    std::uint32_t serial = f.serial();
    f.add_https("web");
    VipSpec spec = change("web");
    spec.pool = "pool02.contoso.com";
    must(f.store.update_vip(spec));
    must(f.store.delete_vip("web"));
    CHECK(f.serial() == serial);
}

TEST_CASE("every VIP edit writes one audit row naming its action and the VIP, and moves the generation") {
    Fixture f;
    auto generation = [&] { return f.count("SELECT value FROM generation WHERE id = 1"); };
    auto last_audit = [&] { return f.text("SELECT action || '|' || object FROM audit ORDER BY id DESC LIMIT 1"); };
    std::int64_t rows = f.count("SELECT count(*) FROM audit");
    std::int64_t g = generation();

    f.add_https("web");
    CHECK(f.count("SELECT count(*) FROM audit") == rows + 1);
    CHECK(last_audit() == "vip add|web");
    CHECK(f.text("SELECT command FROM audit ORDER BY id DESC LIMIT 1") == kCommand);
    CHECK(f.text("SELECT detail FROM audit ORDER BY id DESC LIMIT 1").find("listen 192.0.2.100:443") !=
          std::string::npos);
    CHECK(generation() > g);

    g = generation();
    VipSpec spec = change("web");
    spec.persist = "source";
    must(f.store.update_vip(spec));
    CHECK(f.count("SELECT count(*) FROM audit") == rows + 2);
    CHECK(last_audit() == "vip set|web");
    CHECK(generation() > g);

    g = generation();
    must(f.store.delete_vip("web"));
    CHECK(f.count("SELECT count(*) FROM audit") == rows + 3);
    CHECK(last_audit() == "vip delete|web");
    CHECK(generation() > g);
}

TEST_CASE("a failed vip add creates no cookie secret and writes no audit row") {
    Fixture f;
    std::int64_t rows = f.count("SELECT count(*) FROM audit");
    CHECK_FALSE(f.store.add_vip(vip("web", "192.0.2.1:443", "nope.contoso.com")).ok());
    CHECK(f.count("SELECT count(*) FROM settings WHERE key = 'vip_cookie_secret'") == 0);
    CHECK(f.count("SELECT count(*) FROM audit") == rows);
}

// --- status ---------------------------------------------------------------------

TEST_CASE("status of a VIP the server never counted has no stats and lists its pool's members") {
    Fixture f;
    must(f.store.add_vip(vip("web", "192.0.2.100:443", "pool01.contoso.com", "8443")));
    auto status = must(f.store.status());
    REQUIRE(status.size() == 1);
    CHECK(status[0].vip.name == "web");
    CHECK_FALSE(status[0].stats);
    REQUIRE(status[0].members.size() == 2);
    CHECK(status[0].members[0].server == "fe01");
    CHECK(status[0].members[0].address == "192.0.2.11");
    CHECK(status[0].members[0].health == "unknown");
    CHECK(status[0].members[0].picks == 0);
    // The VIP connects where the checker probes: the member's probe address.
    CHECK(status[0].members[1].address == "10.0.0.12");
}

TEST_CASE("status reports the server's counters with their age by SQLite's clock") {
    Fixture f;
    must(f.store.add_vip(vip("web")));
    f.db.exec(
        "INSERT INTO vip_stats (vip_id, pid, started_at, updated_at, listening, listen_error, connections, active, "
        "refused, requests, status_1xx, status_2xx, status_3xx, status_4xx, status_5xx, bytes_in, bytes_out, retries, "
        "no_backend) SELECT id, 4242, '2024-01-01T00:00:00Z', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 seconds'), "
        "0, 'address in use', 10, 2, 1, 100, 1, 90, 3, 4, 2, 5000, 70000, 6, 7 FROM vips");
    auto status = must(f.store.status());
    REQUIRE(status.size() == 1);
    REQUIRE(status[0].stats);
    const VipStats& s = *status[0].stats;
    CHECK(s.pid == 4242);
    REQUIRE(s.age_s);
    CHECK(*s.age_s > 2.5);
    CHECK(*s.age_s < 60);
    CHECK_FALSE(s.listening);
    CHECK(s.listen_error == "address in use");
    CHECK(s.connections == 10);
    CHECK(s.active == 2);
    CHECK(s.refused == 1);
    CHECK(s.requests == 100);
    CHECK(s.status_1xx == 1);
    CHECK(s.status_2xx == 90);
    CHECK(s.status_3xx == 3);
    CHECK(s.status_4xx == 4);
    CHECK(s.status_5xx == 2);
    CHECK(s.bytes_in == 5000);
    CHECK(s.bytes_out == 70000);
    CHECK(s.retries == 6);
    CHECK(s.no_backend == 7);
}

TEST_CASE("status of counters with an unreadable time has no age") {
    Fixture f;
    must(f.store.add_vip(vip("web")));
    f.db.exec("INSERT INTO vip_stats (vip_id, pid, started_at, updated_at) SELECT id, 1, 'x', 'garbage' FROM vips");
    auto status = must(f.store.status());
    REQUIRE(status[0].stats);
    CHECK_FALSE(status[0].stats->age_s);
}

TEST_CASE("status gives each member its health, admin state and per-VIP counters") {
    Fixture f;
    must(f.store.add_vip(vip("web")));
    must(f.pools.set_admin_state("fe02", AdminState::Drained));
    f.db.exec(
        "INSERT INTO member_health (pool_id, server_id, state, since) SELECT m.pool_id, m.server_id, 'down', 'x' "
        "FROM members m JOIN servers s ON s.id = m.server_id WHERE s.name = 'fe01';"
        "INSERT INTO vip_member_stats (vip_id, server_id, picks, failures, active) "
        "SELECT v.id, s.id, 40, 2, 1 FROM vips v, servers s WHERE s.name = 'fe01';"
        // A server that is no longer a member of the pool: not shown.
        "INSERT INTO vip_member_stats (vip_id, server_id, picks) SELECT v.id, s.id, 9 FROM vips v, servers s "
        "WHERE s.name = 'fe03';");
    auto status = must(f.store.status());
    REQUIRE(status[0].members.size() == 2);
    const auto& fe01 = status[0].members[0];
    CHECK(fe01.health == "down");
    CHECK(fe01.admin == AdminState::Enabled);
    CHECK(fe01.picks == 40);
    CHECK(fe01.failures == 2);
    CHECK(fe01.active == 1);
    const auto& fe02 = status[0].members[1];
    CHECK(fe02.admin == AdminState::Drained);
    CHECK(fe02.health == "unknown");
    CHECK(fe02.picks == 0);
}

TEST_CASE("status calls the members of a pool without a check unchecked") {
    Fixture f;
    must(f.store.add_vip(vip("web6", "[2001:db8::100]:443", "pool02.contoso.com")));
    auto status = must(f.store.status());
    REQUIRE(status[0].members.size() == 1);
    CHECK(status[0].members[0].health == "unchecked");
    CHECK(status[0].members[0].address == "2001:db8::13");
}

TEST_CASE("status POOL gives only the VIPs of that pool") {
    Fixture f;
    must(f.store.add_vip(vip("web1", "192.0.2.100:443", "pool01.contoso.com")));
    must(f.store.add_vip(vip("web2", "192.0.2.101:443", "pool02.contoso.com")));
    must(f.store.add_vip(vip("web3", "192.0.2.102:443", "pool01.contoso.com")));
    auto status = must(f.store.status("Pool01.contoso.com"));
    REQUIRE(status.size() == 2);
    CHECK(status[0].vip.name == "web1");
    CHECK(status[1].vip.name == "web3");
    CHECK(must(f.store.status()).size() == 3);
}

TEST_CASE("canonical_listen names the argument it was given") {
    CHECK(error_of(canonical_listen("x", "LISTEN")).starts_with("LISTEN: 'x'"));
    CHECK(must(canonical_listen("[::ffff:192.0.2.1]:443", "LISTEN")) == "[::ffff:192.0.2.1]:443");
}
