// Argument parsing, database opening and error output shared by every noun.
#include "cli.hpp"

#include <cstdio>

namespace pooldnsctl {

using pooldns::Error;
using pooldns::Result;

Result<ParsedArgs> parse_args(const std::vector<std::string>& args, std::vector<OptionSpec> specs,
                              std::string_view verb) {
    ParsedArgs out;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (options_done || !a.starts_with("--")) {
            out.positional.push_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        std::string name = a, value;
        bool inline_value = false;
        if (auto eq = a.find('='); eq != std::string::npos) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
            inline_value = true;
        }
        const OptionSpec* spec = nullptr;
        for (const auto& s : specs) {
            if (s.name == name) spec = &s;
        }
        if (!spec) return Error{fmt::format("{}: unknown option '{}'", verb, name)};
        if (spec->takes_value && !inline_value) {
            if (i + 1 >= args.size()) return Error{fmt::format("{}: option '{}' needs a value", verb, name)};
            value = args[++i];
        } else if (!spec->takes_value && inline_value) {
            return Error{fmt::format("{}: option '{}' takes no value", verb, name)};
        }
        auto& slot = out.options[name];
        if (!slot.empty() && !spec->repeatable) {
            return Error{fmt::format("{}: option '{}' given more than once", verb, name)};
        }
        slot.push_back(value);
    }
    return out;
}

Result<pooldns::Database> open_for_read(const Cli& cli) {
    return pooldns::Database::open(cli.db_path, pooldns::OpenMode::ReadWriteExisting);
}

Result<pooldns::Database> open_for_edit(const Cli& cli) {
    return pooldns::Database::open(cli.db_path, pooldns::OpenMode::ReadWrite);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    out += fmt::format("\\u{:04x}", c);
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

std::string record_json(const pooldns::Record& r) {
    return fmt::format("{{\"name\": {}, \"ttl\": {}, \"type\": {}, \"rdata\": {}}}", json_string(r.owner), r.ttl,
                       json_string(pooldns::type_to_text(r.type)), json_string(pooldns::rdata_to_text(r)));
}

void print_records_json(const std::vector<pooldns::Record>& records) {
    fmt::print("[");
    bool first = true;
    for (const auto& r : records) {
        fmt::print("{}\n  {}", first ? "" : ",", record_json(r));
        first = false;
    }
    fmt::print("{}]\n", records.empty() ? "" : "\n");
}

int fail(const Cli& cli, const Error& error, int code) {
    if (cli.json) {
        fmt::print(stderr, "{{\"error\": {}}}\n", json_string(error.message));
    } else {
        std::string_view m = error.message;
        // Multi-line messages (several bad lines of a zone file) keep one problem per line.
        if (m.find('\n') != std::string_view::npos) {
            fmt::print(stderr, "pooldnsctl: error:\n{}\n", m);
        } else {
            fmt::print(stderr, "pooldnsctl: error: {}\n", m);
        }
    }
    return code;
}

int usage_error(const Cli& cli, std::string_view message, std::string_view usage) {
    return fail(cli, Error{fmt::format("{}\nusage: pooldnsctl {}", message, usage)}, kExitUsage);
}

}  // namespace pooldnsctl
