// pooldnsctl zone create | import | export | list | delete | check
#include "cli.hpp"

#include "pooldns/record.hpp"
#include "pooldns/zone_store.hpp"

#include <chrono>
#include <cstdio>
#include <unistd.h>

namespace pooldnsctl {

namespace {

using namespace pooldns;

constexpr std::string_view kUsage =
    "zone create ORIGIN --ns NAME [--ns NAME]... [--mbox EMAIL] [--ttl N]\n"
    "       pooldnsctl zone import ORIGIN FILE\n"
    "       pooldnsctl zone export ORIGIN\n"
    "       pooldnsctl zone list\n"
    "       pooldnsctl zone delete ORIGIN\n"
    "       pooldnsctl zone check [ORIGIN]";

int create(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {{"--ns", true, true}, {"--mbox"}, {"--ttl"}}, "zone create");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, "zone create takes one ORIGIN", kUsage);
    ZoneCreateOptions options;
    options.nameservers = parsed->values("--ns");
    options.mbox = parsed->value("--mbox");
    if (parsed->has("--ttl")) {
        auto ttl = parse_ttl(parsed->value("--ttl"), "--ttl");
        if (!ttl) return fail(cli, ttl.error(), kExitUsage);
        options.ttl = *ttl;
    }
    auto db = open_for_edit(cli);
    if (!db) return fail(cli, db.error());
    ZoneStore store(*db, cli.command_line);
    auto zone = store.create(parsed->positional[0], options);
    if (!zone) return fail(cli, zone.error());
    if (cli.json) {
        fmt::print("{{\"origin\": {}, \"serial\": {}, \"records\": {}}}\n", json_string(zone->origin), zone->serial,
                   zone->records);
    } else {
        fmt::print("created zone {} (serial {}, {} records)\n", zone->origin, zone->serial, zone->records);
    }
    return kExitOk;
}

int import(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "zone import");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 2) return usage_error(cli, "zone import takes ORIGIN and FILE", kUsage);
    auto db = open_for_edit(cli);
    if (!db) return fail(cli, db.error());
    ZoneStore store(*db, cli.command_line);
    bool show_progress = !cli.json && isatty(STDERR_FILENO);
    ProgressFn progress;
    if (show_progress) {
        progress = [](std::string_view phase, std::size_t n) {
            fmt::print(stderr, "\r{} {} records...", phase == "read" ? "read" : "wrote", n);
            std::fflush(stderr);
        };
    }
    auto start = std::chrono::steady_clock::now();
    auto report = store.import(parsed->positional[0], parsed->positional[1], progress);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (show_progress) fmt::print(stderr, "\r\x1b[K");
    if (!report) return fail(cli, report.error());
    for (const auto& w : report->warnings) fmt::print(stderr, "pooldnsctl: warning: {}\n", w);
    if (cli.json) {
        fmt::print("{{\"origin\": {}, \"records\": {}, \"serial\": {}, \"replaced\": {}, \"warnings\": {}, "
                   "\"seconds\": {:.3f}}}\n",
                   json_string(report->origin), report->records, report->serial, report->replaced,
                   report->warnings.size(), seconds);
    } else {
        fmt::print("{} zone {}: {} records, serial {}, in {:.2f} s\n", report->replaced ? "replaced" : "imported",
                   report->origin, report->records, report->serial, seconds);
    }
    return kExitOk;
}

int export_zone(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "zone export");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, "zone export takes one ORIGIN", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    ZoneStore store(*db, cli.command_line);
    if (cli.json) {
        auto records = store.records(parsed->positional[0]);
        if (!records) return fail(cli, records.error());
        print_records_json(*records);
        return kExitOk;
    }
    auto text = store.export_text(parsed->positional[0]);
    if (!text) return fail(cli, text.error());
    fmt::print("{}", *text);
    return kExitOk;
}

int list(const Cli& cli, const std::vector<std::string>& args) {
    if (!args.empty()) return usage_error(cli, "zone list takes no arguments", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    ZoneStore store(*db, cli.command_line);
    auto zones = store.list();
    if (!zones) return fail(cli, zones.error());
    if (cli.json) {
        fmt::print("[");
        for (std::size_t i = 0; i < zones->size(); ++i) {
            const auto& z = (*zones)[i];
            fmt::print("{}\n  {{\"origin\": {}, \"serial\": {}, \"records\": {}, \"updated_at\": {}}}", i ? "," : "",
                       json_string(z.origin), z.serial, z.records, json_string(z.updated_at));
        }
        fmt::print("{}]\n", zones->empty() ? "" : "\n");
        return kExitOk;
    }
    std::size_t width = 6;
    for (const auto& z : *zones) width = std::max(width, z.origin.size());
    fmt::print("{:<{}}  {:>10}  {:>8}  {}\n", "ORIGIN", width, "SERIAL", "RECORDS", "UPDATED");
    for (const auto& z : *zones) {
        fmt::print("{:<{}}  {:>10}  {:>8}  {}\n", z.origin, width, z.serial, z.records, z.updated_at);
    }
    return kExitOk;
}

int remove(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "zone delete");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() != 1) return usage_error(cli, "zone delete takes one ORIGIN", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    ZoneStore store(*db, cli.command_line);
    auto zone = store.remove(parsed->positional[0]);
    if (!zone) return fail(cli, zone.error());
    if (cli.json) {
        fmt::print("{{\"deleted\": {}, \"records\": {}}}\n", json_string(zone->origin), zone->records);
    } else {
        fmt::print("deleted zone {} ({} records)\n", zone->origin, zone->records);
    }
    return kExitOk;
}

int check(const Cli& cli, const std::vector<std::string>& args) {
    auto parsed = parse_args(args, {}, "zone check");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    if (parsed->positional.size() > 1) return usage_error(cli, "zone check takes at most one ORIGIN", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    ZoneStore store(*db, cli.command_line);
    auto problems = store.check(parsed->positional.empty() ? "" : parsed->positional[0]);
    if (!problems) return fail(cli, problems.error());
    if (cli.json) {
        fmt::print("[");
        for (std::size_t i = 0; i < problems->size(); ++i) {
            fmt::print("{}\n  {{\"where\": {}, \"problem\": {}}}", i ? "," : "", json_string((*problems)[i].where),
                       json_string((*problems)[i].message));
        }
        fmt::print("{}]\n", problems->empty() ? "" : "\n");
    } else if (problems->empty()) {
        fmt::print("ok: no problems found\n");
    } else {
        fmt::print("{}\n", format_problems(*problems, problems->size()));
    }
    return problems->empty() ? kExitOk : kExitFailed;
}

}  // namespace

int run_zone(const Cli& cli, std::string_view verb, const std::vector<std::string>& args) {
    if (verb == "create") return create(cli, args);
    if (verb == "import") return import(cli, args);
    if (verb == "export") return export_zone(cli, args);
    if (verb == "list") return list(cli, args);
    if (verb == "delete") return remove(cli, args);
    if (verb == "check") return check(cli, args);
    return usage_error(cli, fmt::format("zone: unknown verb '{}'", verb), kUsage);
}

}  // namespace pooldnsctl
