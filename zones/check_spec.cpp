// The health-check spec grammar (see check_spec.hpp).
#include "pooldns/check_spec.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>

namespace pooldns {

namespace {

constexpr std::array<std::string_view, 6> kKindNames = {"tcp", "tls", "http", "https", "sip", "sips"};

Result<std::uint16_t> parse_u16(std::string_view text, std::string_view what, unsigned min) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < min || v > 65535) {
        return Error{fmt::format("CHECK: {} '{}' is not a number in {}-65535", what, text, min)};
    }
    return static_cast<std::uint16_t>(v);
}

bool printable_token(std::string_view s) {
    for (char c : s) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
    }
    return true;
}

}  // namespace

std::string_view check_kind_name(CheckKind kind) { return kKindNames[static_cast<std::size_t>(kind)]; }

Result<CheckSpec> parse_check_spec(std::string_view text) {
    CheckSpec spec;
    auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        return Error{fmt::format("CHECK: '{}' has no port; expected KIND:PORT, e.g. tcp:443", text)};
    }
    auto kind = text.substr(0, colon);
    bool found = false;
    for (std::size_t i = 0; i < kKindNames.size(); ++i) {
        if (kind == kKindNames[i]) {
            spec.kind = static_cast<CheckKind>(i);
            found = true;
        }
    }
    if (!found) {
        return Error{fmt::format("CHECK: unknown kind '{}'; expected tcp, tls, http, https, sip or sips", kind)};
    }
    auto rest = text.substr(colon + 1);
    auto comma = rest.find(',');
    auto main = rest.substr(0, comma);
    auto options = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);

    std::string_view port_text = main;
    if (spec.kind == CheckKind::Http || spec.kind == CheckKind::Https) {
        auto slash = main.find('/');
        if (slash == std::string_view::npos) {
            return Error{fmt::format("CHECK: '{}' needs a path: {}:PORT/PATH", text, kind)};
        }
        port_text = main.substr(0, slash);
        spec.path = std::string(main.substr(slash));
        if (!printable_token(spec.path)) return Error{fmt::format("CHECK: path '{}' has spaces or control characters", spec.path)};
    } else if (spec.kind == CheckKind::Tls) {
        auto c2 = main.find(':');
        if (c2 != std::string_view::npos) {
            port_text = main.substr(0, c2);
            spec.sni = std::string(main.substr(c2 + 1));
            if (spec.sni.empty()) return Error{fmt::format("CHECK: '{}' has an empty SNI after the port", text)};
        }
    }
    auto port = parse_u16(port_text, "port", 1);
    if (!port) return port.error();
    spec.port = *port;

    while (!options.empty()) {
        auto next = options.find(',');
        auto opt = options.substr(0, next);
        options = next == std::string_view::npos ? std::string_view{} : options.substr(next + 1);
        auto eq = opt.find('=');
        if (eq == std::string_view::npos || eq == 0 || eq + 1 == opt.size()) {
            return Error{fmt::format("CHECK: option '{}' is not KEY=VALUE", opt)};
        }
        auto key = opt.substr(0, eq);
        auto value = opt.substr(eq + 1);
        if (!printable_token(value)) return Error{fmt::format("CHECK: option {} has spaces or control characters", key)};
        if (key == "status") {
            if (spec.kind != CheckKind::Http && spec.kind != CheckKind::Https) {
                return Error{fmt::format("CHECK: status= applies to http and https checks, not {}", kind)};
            }
            auto dash = value.find('-');
            auto lo = parse_u16(value.substr(0, dash), "status", 100);
            if (!lo) return lo.error();
            auto hi = dash == std::string_view::npos ? lo : parse_u16(value.substr(dash + 1), "status", 100);
            if (!hi) return hi.error();
            if (*lo > 599 || *hi > 599 || *lo > *hi) {
                return Error{fmt::format("CHECK: status range '{}' must be LO-HI within 100-599", value)};
            }
            spec.status_min = *lo;
            spec.status_max = *hi;
        } else if (key == "host") {
            if (spec.kind == CheckKind::Tcp || spec.kind == CheckKind::Tls) {
                return Error{fmt::format("CHECK: host= applies to http, https, sip and sips checks, not {}", kind)};
            }
            spec.host = std::string(value);
        } else if (key == "sni") {
            if (!spec.uses_tls()) return Error{fmt::format("CHECK: sni= applies to tls, https and sips checks, not {}", kind)};
            spec.sni = std::string(value);
        } else if (key == "ca") {
            if (!spec.uses_tls()) return Error{fmt::format("CHECK: ca= applies to tls, https and sips checks, not {}", kind)};
            spec.ca_file = std::string(value);
        } else {
            return Error{fmt::format("CHECK: unknown option '{}'; expected status, host, sni or ca", key)};
        }
    }
    return spec;
}

std::string format_check_spec(const CheckSpec& spec) {
    std::string out = fmt::format("{}:{}", check_kind_name(spec.kind), spec.port);
    if (spec.kind == CheckKind::Http || spec.kind == CheckKind::Https) out += spec.path;
    if (spec.kind == CheckKind::Tls && !spec.sni.empty()) out += fmt::format(":{}", spec.sni);
    if ((spec.kind == CheckKind::Http || spec.kind == CheckKind::Https) &&
        (spec.status_min != 200 || spec.status_max != 399)) {
        out += fmt::format(",status={}-{}", spec.status_min, spec.status_max);
    }
    if (!spec.host.empty()) out += fmt::format(",host={}", spec.host);
    if (spec.kind != CheckKind::Tls && !spec.sni.empty()) out += fmt::format(",sni={}", spec.sni);
    if (!spec.ca_file.empty()) out += fmt::format(",ca={}", spec.ca_file);
    return out;
}

}  // namespace pooldns
