// pooldnsctl: the zone-editing CLI and admin tool over the SQLite file.
// Global options, then NOUN VERB ARGS; each noun lives in its own file.
#include "cli.hpp"

#include <cstdlib>
#include <exception>

namespace {

constexpr std::string_view kHelp = R"(usage: pooldnsctl [--db PATH] [--json] NOUN VERB ...

  zone   create ORIGIN --ns NAME [--ns NAME]... [--mbox EMAIL] [--ttl N]
         import ORIGIN FILE | export ORIGIN | list | delete ORIGIN | check [ORIGIN]
  record add ORIGIN NAME TTL TYPE RDATA... | replace ORIGIN NAME TTL TYPE RDATA...
         delete ORIGIN NAME TYPE [RDATA...] | list ORIGIN [NAME]
  server add NAME --host FQDN --addr IP [--addr IP]... [--service-addr IP]...
             [--ttl TTL] | list
         delete NAME | enable NAME | drain NAME | block NAME
  pool   add FQDN [--type A|AAAA] [--ttl N] [--degraded-ttl N] [--max-records N]
             [--check SPEC] [--interval S] [--timeout S] [--rise N] [--fall N]
             [--all-down all|none|backup:FQDN] [--source IP]
         set FQDN OPTION... (only the options given change) | list | delete FQDN
  member add POOL SERVER ADDR [--weight N] [--probe IP] | remove POOL SERVER
  vip    add NAME --listen ADDR:PORT --pool FQDN --backend-port N
             [--tls-cert PEM --tls-key PEM]... [--backend-tls] [--backend-sni NAME]
             [--backend-ca PEM] [--persist cookie|source|none] [--cookie-name NAME]
             [--cookie-httponly on|off] [--cookie-secure on|off] [--idle-timeout S]
             [--header-timeout S] [--connect-timeout S] [--response-timeout S]
             [--max-connections N] [--max-request-line N] [--max-header-bytes N]
             [--max-header-count N] [--max-body N] [--access-log on|off]
         set NAME OPTION... (only the options given change; --tls none: plain HTTP;
             --backend-tls off, --backend-sni none, --backend-ca none clear)
         list | delete NAME
         (the first --tls-cert/--tls-key pair is the default certificate, the
         others are chosen by SNI; giving any on set replaces them all)
  topology frontend|director POOL --server NAME,HOST,ADDR... --web-internal FQDN
             --web-external FQDN --vip ADDR [--vip-external ADDR] --tls-cert PEM --tls-key PEM
             [--ports P,P,P,P] [--backend-ports P,P,P,P] [--check SPEC] [--discovery] ...
         edge POOL --server NAME,HOST,INTERNAL,ACCESS,WEBCONF,AV... --access FQDN
             --webconf FQDN --av FQDN [--internal-hlb ADDR --external-hlb A,W,V] ...
         mediation POOL --server NAME,HOST,ADDR... [--check SPEC]
         show [POOL] | check | delete POOL
         (a Skype for Business / Lync pool in one transaction: servers, host records,
         pools with role health checks, web services FQDN and VIPs, discovery
         records; 'pooldnsctl topology help' shows every option)
  status [POOL]   each pool's members and their health, each VIP's counters and
                  backends, and the checker's heartbeat

Options:
  --db PATH   the SQLite file (default: $POOLDNS_DB, else ./pooldns.db)
  --json      machine-readable output on stdout (errors as {"error": ...} on stderr)
  --help      this text

Every edit is one transaction: on bad input pooldnsctl names the argument or
file line, exits non-zero and changes nothing. Exit codes: 0 done, 1 failed,
2 bad command line.
)";

}  // namespace

int main(int argc, char** argv) {
    using namespace pooldnsctl;
    Cli cli;
    const char* env_db = std::getenv("POOLDNS_DB");
    cli.db_path = env_db && *env_db ? env_db : "pooldns.db";
    for (int i = 0; i < argc; ++i) {
        if (i) cli.command_line += ' ';
        cli.command_line += argv[i];
    }

    // Global options may stand anywhere before a "--".
    std::vector<std::string> words;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--") {
            for (; i < argc; ++i) words.emplace_back(argv[i]);
            break;
        }
        if (a == "--json") {
            cli.json = true;
        } else if (a == "--db") {
            if (i + 1 >= argc) return fail(cli, pooldns::Error{"--db needs a PATH"}, kExitUsage);
            cli.db_path = argv[++i];
        } else if (a.starts_with("--db=")) {
            cli.db_path = std::string(a.substr(5));
        } else if (a == "--help" || a == "-h") {
            fmt::print("{}", kHelp);
            return kExitOk;
        } else {
            words.emplace_back(a);
        }
    }
    if (cli.db_path.empty()) return fail(cli, pooldns::Error{"--db: empty path"}, kExitUsage);
    // status is the one noun without a verb.
    if (!words.empty() && words[0] == "status") {
        try {
            return run_status(cli, std::vector<std::string>(words.begin() + 1, words.end()));
        } catch (const std::exception& e) {
            return fail(cli, pooldns::Error{fmt::format("internal error: {}", e.what())});
        }
    }
    if (words.size() < 2) {
        fmt::print(stderr, "{}", kHelp);
        return kExitUsage;
    }
    std::string noun = words[0], verb = words[1];
    std::vector<std::string> rest(words.begin() + 2, words.end());
    try {
        if (noun == "zone") return run_zone(cli, verb, rest);
        if (noun == "record") return run_record(cli, verb, rest);
        if (noun == "server") return run_server(cli, verb, rest);
        if (noun == "pool") return run_pool(cli, verb, rest);
        if (noun == "member") return run_member(cli, verb, rest);
        if (noun == "vip") return run_vip(cli, verb, rest);
        if (noun == "topology") return run_topology(cli, verb, rest);
    } catch (const std::exception& e) {
        return fail(cli, pooldns::Error{fmt::format("internal error: {}", e.what())});
    }
    fmt::print(stderr, "pooldnsctl: error: unknown noun '{}'\n{}", noun, kHelp);
    return kExitUsage;
}
