// The health-check spec of a pool: what a probe does to one member.
//
//   tcp:PORT                     connect
//   tls:PORT[:SNI]               TLS handshake
//   http:PORT/PATH               GET PATH, status in range (default 200-399)
//   https:PORT/PATH              the same over TLS
//   sip:PORT  sips:PORT          SIP OPTIONS over TCP / TLS; any final response is alive
//
// followed by options, each ",key=value": status=LO-HI (http, https),
// host=NAME (Host header / SIP URI host; default: the server's host FQDN),
// sni=NAME (tls, https, sips; default: host), ca=FILE (verify the peer's
// certificate chain against this PEM bundle; default: no verification).
#pragma once

#include "pooldns/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace pooldns {

enum class CheckKind : std::uint8_t { Tcp, Tls, Http, Https, Sip, Sips };

struct CheckSpec {
    CheckKind kind = CheckKind::Tcp;
    std::uint16_t port = 0;
    std::string path;                 // http/https: starts with '/'
    std::string host;                 // empty: the server's host FQDN
    std::string sni;                  // empty: host
    std::string ca_file;              // empty: no verification
    std::uint16_t status_min = 200;   // http/https
    std::uint16_t status_max = 399;

    bool uses_tls() const { return kind == CheckKind::Tls || kind == CheckKind::Https || kind == CheckKind::Sips; }
    bool operator==(const CheckSpec&) const = default;
};

// Parses a spec; errors name what is wrong ("CHECK: port 0 is out of range 1-65535").
Result<CheckSpec> parse_check_spec(std::string_view text);

// The canonical text of a spec (parse_check_spec(format_check_spec(s)) == s).
std::string format_check_spec(const CheckSpec& spec);

std::string_view check_kind_name(CheckKind kind);

}  // namespace pooldns
