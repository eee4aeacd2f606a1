// pooldnsctl record add | replace | delete | list
#include "cli.hpp"

#include "pooldns/record.hpp"
#include "pooldns/zone_store.hpp"

namespace pooldnsctl {

namespace {

using namespace pooldns;

constexpr std::string_view kUsage =
    "record add ORIGIN NAME TTL TYPE RDATA...\n"
    "       pooldnsctl record replace ORIGIN NAME TTL TYPE RDATA...   (the RRset becomes this one record)\n"
    "       pooldnsctl record delete ORIGIN NAME TYPE [RDATA...]\n"
    "       pooldnsctl record list ORIGIN [NAME]";

// RDATA may arrive as several shell words or as one quoted string: both join
// with single spaces, as in a master file.
std::string join_from(const std::vector<std::string>& args, std::size_t from) {
    std::string out;
    for (std::size_t i = from; i < args.size(); ++i) {
        if (!out.empty()) out += ' ';
        out += args[i];
    }
    return out;
}

int print_change(const Cli& cli, std::string_view what, const RecordChange& change) {
    if (cli.json) {
        fmt::print("{{\"origin\": {}, \"changed\": {}, \"serial\": {}, \"note\": {}}}\n", json_string(change.origin),
                   change.changed, change.serial, json_string(change.note));
    } else {
        fmt::print("{} {} record{} in {} (serial {})\n", what, change.changed, change.changed == 1 ? "" : "s",
                   change.origin, change.serial);
        if (!change.note.empty()) fmt::print("note: {}\n", change.note);
    }
    return kExitOk;
}

int add_or_replace(const Cli& cli, const std::vector<std::string>& raw, bool replace) {
    auto parsed = parse_args(raw, {}, "record");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    const std::vector<std::string>& args = parsed->positional;
    if (args.size() < 5) {
        return usage_error(cli, fmt::format("record {} needs ORIGIN NAME TTL TYPE RDATA", replace ? "replace" : "add"),
                           kUsage);
    }
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    ZoneStore store(*db, cli.command_line);
    std::string rdata = join_from(args, 4);
    auto change = replace ? store.replace_record(args[0], args[1], args[2], args[3], rdata)
                          : store.add_record(args[0], args[1], args[2], args[3], rdata);
    if (!change) return fail(cli, change.error());
    return print_change(cli, replace ? "replaced with" : "added", *change);
}

int remove(const Cli& cli, const std::vector<std::string>& raw) {
    auto parsed = parse_args(raw, {}, "record");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    const std::vector<std::string>& args = parsed->positional;
    if (args.size() < 3) return usage_error(cli, "record delete needs ORIGIN NAME TYPE", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    ZoneStore store(*db, cli.command_line);
    auto change = store.delete_records(args[0], args[1], args[2], join_from(args, 3));
    if (!change) return fail(cli, change.error());
    return print_change(cli, "deleted", *change);
}

int list(const Cli& cli, const std::vector<std::string>& raw) {
    auto parsed = parse_args(raw, {}, "record");
    if (!parsed) return usage_error(cli, parsed.error().message, kUsage);
    const std::vector<std::string>& args = parsed->positional;
    if (args.empty() || args.size() > 2) return usage_error(cli, "record list takes ORIGIN [NAME]", kUsage);
    auto db = open_for_read(cli);
    if (!db) return fail(cli, db.error());
    ZoneStore store(*db, cli.command_line);
    auto records = store.records(args[0], args.size() == 2 ? std::string_view(args[1]) : std::string_view());
    if (!records) return fail(cli, records.error());
    if (cli.json) {
        print_records_json(*records);
        return kExitOk;
    }
    for (const auto& r : *records) fmt::print("{}\n", record_to_text(r));
    return kExitOk;
}

}  // namespace

int run_record(const Cli& cli, std::string_view verb, const std::vector<std::string>& args) {
    if (verb == "add") return add_or_replace(cli, args, false);
    if (verb == "replace") return add_or_replace(cli, args, true);
    if (verb == "delete") return remove(cli, args);
    if (verb == "list") return list(cli, args);
    return usage_error(cli, fmt::format("record: unknown verb '{}'", verb), kUsage);
}

}  // namespace pooldnsctl
