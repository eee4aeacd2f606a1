// What every pooldnsctl noun shares: the global options, argument parsing,
// JSON and error output.
#pragma once

#include "pooldns/pool_store.hpp"
#include "pooldns/record.hpp"
#include "pooldns/result.hpp"
#include "pooldns/store.hpp"
#include "pooldns/vip_store.hpp"

#include <fmt/format.h>

#include <algorithm>
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
// The items with `separator` between them.
std::string join(const std::vector<std::string>& items, std::string_view separator);
// {name, ttl, type, rdata}; print_records_json prints an array of them.
std::string record_json(const pooldns::Record& record);
void print_records_json(const std::vector<pooldns::Record>& records);

// Prints rows as columns separated by two spaces, each as wide as its widest
// cell, each line after `indent`; the first row is the header. The last column
// is not padded.
inline void print_table(const std::vector<std::vector<std::string>>& rows, std::string_view indent = {}) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        if (width.size() < row.size()) width.resize(row.size(), 0);
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    for (const auto& row : rows) {
        std::string line(indent);
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i) line += "  ";
            line += row[i];
            if (i + 1 < row.size()) line.append(width[i] - row[i].size(), ' ');
        }
        fmt::print("{}\n", line);
    }
}

// Shared by pool and status (defined in pool.cpp).
// Milliseconds as seconds without trailing zeros: 2000 -> "2s", 500 -> "0.5s".
std::string seconds_text(std::uint32_t ms);
// "A", "AAAA".
std::string pool_type_text(const pooldns::PoolInfo& pool);
// The pool's settings as one line: "A, ttl 30, check tcp:5061 every 2s (timeout 1s, rise 2, fall 3), all-down all".
std::string pool_settings_text(const pooldns::PoolInfo& pool);
// The pool's settings as JSON members (no braces, no members list): "\"fqdn\": ..., ...".
std::string pool_settings_json(const pooldns::PoolInfo& pool);

// Shared by status and topology (defined in status.cpp).
// A member is in the answers: enabled, and up or unchecked.
bool member_answering(const pooldns::PoolInfo& pool, const pooldns::MemberInfo& m);
std::size_t answering_count(const pooldns::PoolInfo& pool);
// " (all down: policy 'all' answers every enabled member)" when nobody is up, else "".
std::string all_down_note(const pooldns::PoolInfo& pool);

// Shared by vip and status (defined in vip.cpp).
// "http" or "https".
std::string vip_scheme(const pooldns::VipInfo& vip);
// What the VIP does, as one line:
// "https 192.0.2.1:443 -> pool01.contoso.com. port 443 over TLS, backends not verified, persist cookie MS-WSMAN".
std::string vip_settings_text(const pooldns::VipInfo& vip);
// Every field of the VIP as one JSON object.
std::string vip_json(const pooldns::VipInfo& vip);

// Nouns.
int run_zone(const Cli& cli, std::string_view verb, const std::vector<std::string>& args);
int run_record(const Cli& cli, std::string_view verb, const std::vector<std::string>& args);
int run_server(const Cli& cli, std::string_view verb, const std::vector<std::string>& args);
int run_pool(const Cli& cli, std::string_view verb, const std::vector<std::string>& args);
int run_member(const Cli& cli, std::string_view verb, const std::vector<std::string>& args);
int run_vip(const Cli& cli, std::string_view verb, const std::vector<std::string>& args);
int run_topology(const Cli& cli, std::string_view verb, const std::vector<std::string>& args);
// status [POOL]: a noun without a verb; `args` are the words after "status".
int run_status(const Cli& cli, const std::vector<std::string>& args);

}  // namespace pooldnsctl
