// What every pooldnsctl noun shares: the global options, argument parsing,
// JSON and error output.
#pragma once

#include "pooldns/record.hpp"
#include "pooldns/result.hpp"
#include "pooldns/store.hpp"

#include <fmt/format.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pooldnsctl {

// Exit codes: 0 done, 1 the operation failed (bad data, unknown zone, busy),
// 2 the command line itself is wrong.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

struct Cli {
    std::string db_path;
    bool json = false;
    std::string command_line;  // recorded in the audit log
};

struct OptionSpec {
    std::string_view name;  // "--ns"
    bool takes_value = true;
    bool repeatable = false;
};

struct ParsedArgs {
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>, std::less<>> options;

    bool has(std::string_view name) const { return options.find(name) != options.end(); }
    std::string value(std::string_view name, std::string fallback = {}) const {
        auto it = options.find(name);
        return it == options.end() || it->second.empty() ? fallback : it->second.back();
    }
    const std::vector<std::string>& values(std::string_view name) const {
        static const std::vector<std::string> none;
        auto it = options.find(name);
        return it == options.end() ? none : it->second;
    }
};

// Splits a verb's arguments into options (from `specs`) and positionals.
// `--` ends option parsing. Errors name the option and the verb.
pooldns::Result<ParsedArgs> parse_args(const std::vector<std::string>& args, std::vector<OptionSpec> specs,
                                       std::string_view verb);

// Opens the database for reading (it must exist) or for editing (created).
pooldns::Result<pooldns::Database> open_for_read(const Cli& cli);
pooldns::Result<pooldns::Database> open_for_edit(const Cli& cli);

// Prints "pooldnsctl: error: ..." (or {"error": ...} with --json) and returns kExitFailed.
int fail(const Cli& cli, const pooldns::Error& error, int code = kExitFailed);
int usage_error(const Cli& cli, std::string_view message, std::string_view usage);

std::string json_string(std::string_view s);
// A JSON array of {name, ttl, type, rdata}.
void print_records_json(const std::vector<pooldns::Record>& records);

// Nouns.
int run_zone(const Cli& cli, std::string_view verb, const std::vector<std::string>& args);
int run_record(const Cli& cli, std::string_view verb, const std::vector<std::string>& args);

}  // namespace pooldnsctl
