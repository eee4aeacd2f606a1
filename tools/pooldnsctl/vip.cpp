// pooldnsctl vip add | set | list | delete, and the VIP text/JSON shared with status.
#include "cli.hpp"

#include "pooldns/vip_store.hpp"

namespace pooldnsctl {

using namespace pooldns;

std::string vip_scheme(const VipInfo& vip) {
    return vip.tls() ? "https" : "http";
}

std::string vip_settings_text(const VipInfo& v) {
    std::string out = fmt::format("{} {} -> {} port {}", vip_scheme(v), v.listen, v.pool, v.backend_port);
    if (v.backend_tls) {
        out += " over TLS";
        if (!v.backend_sni.empty()) out += " (SNI " + v.backend_sni + ")";
        out += v.backend_ca.empty() ? ", backends not verified" : ", backends verified";
    }
    out += ", persist " + v.persist;
    if (v.persist == "cookie") {
        out += fmt::format(" {}{}{}", v.cookie_name, v.cookie_httponly ? " HttpOnly" : "",
                           v.cookie_secure ? " Secure" : "");
    }
    return out;
}

std::string vip_json(const VipInfo& v) {
    auto text_or_null = [](const std::string& s) { return s.empty() ? std::string("null") : json_string(s); };
    std::string certs = "[";
    for (std::size_t i = 0; i < v.certs.size(); ++i) {
        certs += fmt::format("{}{{\"cert\": {}, \"key\": {}}}", i ? ", " : "", json_string(v.certs[i].cert),
                             json_string(v.certs[i].key));
    }
    certs += "]";
    return fmt::format(
        "{{\"name\": {}, \"listen\": {}, \"pool\": {}, \"backend_port\": {}, \"scheme\": {}, \"certs\": {}, "
        "\"backend_tls\": {}, \"backend_sni\": {}, \"backend_ca\": {}, \"persist\": {}, \"cookie_name\": {}, "
        "\"cookie_httponly\": {}, \"cookie_secure\": {}, \"idle_timeout_s\": {}, \"header_timeout_ms\": {}, "
        "\"connect_timeout_ms\": {}, \"response_timeout_ms\": {}, \"max_connections\": {}, \"max_request_line\": {}, "
        "\"max_header_bytes\": {}, \"max_header_count\": {}, \"max_body_bytes\": {}, \"access_log\": {}, "
        "\"created_at\": {}}}",
        json_string(v.name), json_string(v.listen), json_string(v.pool), v.backend_port, json_string(vip_scheme(v)),
        certs, v.backend_tls, text_or_null(v.backend_sni), text_or_null(v.backend_ca), json_string(v.persist),
        json_string(v.cookie_name), v.cookie_httponly, v.cookie_secure, v.idle_timeout_s, v.header_timeout_ms,
        v.connect_timeout_ms, v.response_timeout_ms, v.max_connections, v.max_request_line, v.max_header_bytes,
        v.max_header_count, v.max_body_bytes, v.access_log, json_string(v.created_at));
}

namespace {

constexpr std::string_view kUsage =
    "vip add NAME --listen ADDR:PORT --pool FQDN --backend-port N\n"
    "             [--tls-cert PEM --tls-key PEM]... [--backend-tls] [--backend-sni NAME] [--backend-ca PEM]\n"
    "             [--persist cookie|source|none] [--cookie-name NAME] [--cookie-httponly on|off]\n"
    "             [--cookie-secure on|off] [--idle-timeout S] [--header-timeout S] [--connect-timeout S]\n"
    "             [--response-timeout S] [--max-connections N] [--max-request-line N] [--max-header-bytes N]\n"
    "             [--max-header-count N] [--max-body N] [--access-log on|off]\n"
    "       pooldnsctl vip set NAME OPTION...   (the same options; only those given change; any --tls-cert/--tls-key\n"
    "                                           replaces every certificate; --tls none: plain HTTP;\n"
    "                                           --backend-tls off, --backend-sni none, --backend-ca none clear)\n"
    "       pooldnsctl vip list\n"
    "       pooldnsctl vip delete NAME\n"
    "ADDR:PORT: 192.0.2.1:443 or [2001:db8::1]:443. The first --tls-cert/--tls-key pair is the default\n"
    "certificate; the others are chosen by the client's SNI. S: seconds (decimals allowed, or 500ms).";

std::vector<OptionSpec> vip_options(bool set) {
    std::vector<OptionSpec> options = {{"--listen"},
                                       {"--pool"},
                                       {"--backend-port"},
                                       {"--tls-cert", true, true},
                                       {"--tls-key", true, true},
                                       {"--backend-tls"},
                                       {"--backend-sni"},
                                       {"--backend-ca"},
                                       {"--persist"},
                                       {"--cookie-name"},
                                       {"--cookie-httponly"},
                                       {"--cookie-secure"},
                                       {"--idle-timeout"},
                                       {"--header-timeout"},
                                       {"--connect-timeout"},
                                       {"--response-timeout"},
                                       {"--max-connections"},
                                       {"--max-request-line"},
                                       {"--max-header-bytes"},
                                       {"--max-header-count"},
                                       {"--max-body"},
                                       {"--access-log"}};
    if (set) options.push_back({"--tls"});
    return options;
}

// `--backend-tls` is a flag on add and takes on|off on set; both verbs accept
// both forms. Folding a following on/off into the option lets parse_args treat
// it as an option with a value.
std::vector<std::string> fold_backend_tls(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--") {
            out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
            break;
        }
        if (args[i] != "--backend-tls") {
            out.push_back(args[i]);
        } else if (i + 1 < args.size() && (args[i + 1] == "on" || args[i + 1] == "off")) {
            out.push_back("--backend-tls=" + args[++i]);
        } else {
            out.push_back("--backend-tls=on");
        }
    }
    return out;
}

VipSpec spec_from(const ParsedArgs& parsed) {
    VipSpec spec;
    spec.name = parsed.positional[0];
    auto set = [&](std::string_view option, std::optional<std::string>& field) {
        if (parsed.has(option)) field = parsed.value(option);
    };
    set("--listen", spec.listen);
    set("--pool", spec.pool);
    set("--backend-port", spec.backend_port);
    spec.tls_certs = parsed.values("--tls-cert");
    spec.tls_keys = parsed.values("--tls-key");
    set("--tls", spec.tls);
    set("--backend-tls", spec.backend_tls);
    set("--backend-sni", spec.backend_sni);
    set("--backend-ca", spec.backend_ca);
    set("--persist", spec.persist);
    set("--cookie-name", spec.cookie_name);
    set("--cookie-httponly", spec.cookie_httponly);
    set("--cookie-secure", spec.cookie_secure);
    set("--idle-timeout", spec.idle_timeout);
    set("--header-timeout", spec.header_timeout);
    set("--connect-timeout", spec.connect_timeout);
    set("--response-timeout", spec.response_timeout);
    set("--max-connections", spec.max_connections);
    set("--max-request-line", spec.max_request_line);
    set("--max-header-bytes", spec.max_header_bytes);
    set("--max-header-count", spec.max_header_count);
    set("--max-body", spec.max_body);
    set("--access-log", spec.access_log);
    return spec;
}

// 4294967296 -> "4GiB", 65536 -> "64KiB", 1000 -> "1000".
std::string bytes_text(std::uint64_t n) {
    constexpr std::pair<std::uint64_t, std::string_view> kUnits[] = {
        {std::uint64_t{1} << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}};
    for (auto [size, unit] : kUnits) {
        if (n >= size && n % size == 0) return fmt::format("{}{}", n / size, unit);
    }
    return std::to_string(n);
}

std::string certs_text(const VipInfo& v) {
    std::string out;
    for (std::size_t i = 0; i < v.certs.size(); ++i) {
        out += fmt::format("{}{}{}", i ? ", " : "", v.certs[i].cert, i == 0 ? " (default)" : "");
    }
    return out;
}

int add_or_set(const Cli& cli, const std::vector<std::string>& args, bool set) {
    std::string_view verb = set ? "vip set" : "vip add";
    auto parsed = parse_args(fold_backend_tls(args), vip_options(set), verb);
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, fmt::format("{} takes one NAME", verb), kUsage);
    if (set && parsed->options.empty()) return usage_error(cli, "vip set: give at least one option to change", kUsage);
    if (!set) {
        for (std::string_view required : {"--listen", "--pool", "--backend-port"}) {
            if (!parsed->has(required)) {
                return usage_error(cli, fmt::format("vip add: {} is required", required), kUsage);
            }
        }
    }
    VipSpec spec = spec_from(*parsed);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    VipStore store(*db, cli.command_line);
    auto vip = set ? store.update_vip(spec) : store.add_vip(spec);
    if (!vip) return fail(cli, vip.error());
    if (cli.json) {
        fmt::print("{}\n", vip_json(*vip));
        return kExitOk;
    }
    fmt::print("{} vip {}: {}\n", set ? "changed" : "added", vip->name, vip_settings_text(*vip));
    if (vip->tls()) fmt::print("  certificates: {}\n", certs_text(*vip));
    return kExitOk;
}

int list(const Cli& cli, const std::vector<std::string>& args) {
    if (!args.empty()) return usage_error(cli, "vip list takes no arguments", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    VipStore store(*db, cli.command_line);
    auto vips = store.vips();
    if (!vips) return fail(cli, vips.error());
    if (cli.json) {
        fmt::print("[");
        for (std::size_t i = 0; i < vips->size(); ++i) fmt::print("{}\n  {}", i ? "," : "", vip_json((*vips)[i]));
        fmt::print("{}]\n", vips->empty() ? "" : "\n");
        return kExitOk;
    }
    if (vips->empty()) {
        fmt::print("no VIPs ('pooldnsctl vip add' creates one)\n");
        return kExitOk;
    }
    std::vector<std::vector<std::string>> rows{
        {"NAME", "LISTEN", "SCHEME", "CERTS", "POOL", "BACKEND", "PERSIST", "TIMEOUTS", "LIMITS", "LOG"}};
    for (const auto& v : *vips) {
        std::string persist = v.persist;
        if (v.persist == "cookie") {
            persist = fmt::format("cookie {}{}{}", v.cookie_name, v.cookie_httponly ? " HttpOnly" : "",
                                  v.cookie_secure ? " Secure" : "");
        }
        std::string backend = fmt::format("port {}{}", v.backend_port, v.backend_tls ? " tls" : "");
        if (!v.backend_sni.empty()) backend += " sni " + v.backend_sni;
        if (!v.backend_ca.empty()) backend += " ca";
        std::string timeouts = fmt::format("idle {}s header {} connect {} response {}", v.idle_timeout_s,
                                           seconds_text(v.header_timeout_ms), seconds_text(v.connect_timeout_ms),
                                           seconds_text(v.response_timeout_ms));
        std::string limits = fmt::format("conns {} line {} header {} fields {} body {}", v.max_connections,
                                         bytes_text(v.max_request_line), bytes_text(v.max_header_bytes),
                                         v.max_header_count, bytes_text(v.max_body_bytes));
        rows.push_back({v.name, v.listen, vip_scheme(v), v.certs.empty() ? "-" : std::to_string(v.certs.size()), v.pool,
                        backend, persist, timeouts, limits, v.access_log ? "on" : "off"});
    }
    print_table(rows);
    return kExitOk;
}

int remove(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "vip delete");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, "vip delete takes one NAME", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    VipStore store(*db, cli.command_line);
    auto vip = store.delete_vip(parsed->positional[0]);
    if (!vip) return fail(cli, vip.error());
    if (cli.json) {
        fmt::print("{{\"deleted\": {}, \"vip\": {}}}\n", json_string(vip->name), vip_json(*vip));
        return kExitOk;
    }
    fmt::print("deleted vip {} ({} {})\n", vip->name, vip_scheme(*vip), vip->listen);
    return kExitOk;
}

}  // namespace

int run_vip(const Cli& cli, std::string_view verb, const std::vector<std::string>& args) {
    if (verb == "add") return add_or_set(cli, args, false);
    if (verb == "set") return add_or_set(cli, args, true);
    if (verb == "list") return list(cli, args);
    if (verb == "delete") return remove(cli, args);
    return usage_error(cli, fmt::format("vip: unknown verb '{}'", verb), kUsage);
}

}  // namespace pooldnsctl
