// RFC 1035 master-file reader and writer. The reader groups the text into
// entries itself (so every message carries the line an RR starts on, and
// $INCLUDE resolves relative to the including file), then hands each RR, as one
// normalised line, to ldns for the rdata.
#include "pooldns/zonefile.hpp"

#include "pooldns/ldns_ptr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace pooldns {

namespace {

constexpr int kMaxIncludeDepth = 16;
constexpr std::size_t kProgressEvery = 5000;

struct Token {
    std::string text;
    bool quoted = false;
};

struct Entry {
    std::vector<Token> tokens;
    bool blank_owner = false;  // the entry's first line starts with white space
    int line = 0;
};

// Splits master-file text into entries: one line, or several joined by ( ).
class Lexer {
public:
    explicit Lexer(std::string_view text) : s_(text) {}

    // An entry, or std::nullopt at the end; errors carry their own line number.
    Result<std::optional<Entry>> next() {
        while (i_ < s_.size()) {
            Entry e;
            e.line = line_;
            e.blank_owner = s_[i_] == ' ' || s_[i_] == '\t';
            int depth = 0, open_line = 0;
            while (true) {
                if (i_ >= s_.size()) {
                    if (depth > 0) return fail(open_line, "'(' is never closed");
                    break;
                }
                char c = s_[i_];
                if (c == '\n') {
                    ++line_;
                    ++i_;
                    if (depth == 0) break;
                    continue;
                }
                if (c == ' ' || c == '\t' || c == '\r') {
                    ++i_;
                    continue;
                }
                if (c == ';') {
                    while (i_ < s_.size() && s_[i_] != '\n') ++i_;
                    continue;
                }
                if (c == '(') {
                    if (depth++ == 0) open_line = line_;
                    ++i_;
                    continue;
                }
                if (c == ')') {
                    if (depth == 0) return fail(line_, "')' without a matching '('");
                    --depth;
                    ++i_;
                    continue;
                }
                if (c == '"') {
                    auto tok = quoted();
                    if (!tok) return tok.error();
                    e.tokens.push_back(std::move(*tok));
                    continue;
                }
                e.tokens.push_back(plain());
            }
            if (!e.tokens.empty()) return std::optional<Entry>(std::move(e));
        }
        return std::optional<Entry>();
    }

    int line() const { return line_; }

private:
    Error fail(int line, std::string_view what) const { return Error{fmt::format("{}\x1f{}", line, what)}; }

    Result<Token> quoted() {
        int start = line_;
        Token t{"\"", true};
        ++i_;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_];
            if (c == '\n') return fail(start, "quoted string is not closed on its line");
            t.text += c;
            ++i_;
            if (c == '\\' && i_ < s_.size()) {
                if (s_[i_] == '\n') return fail(start, "quoted string is not closed on its line");
                t.text += s_[i_++];
            }
        }
        if (i_ >= s_.size()) return fail(start, "quoted string is not closed");
        t.text += '"';
        ++i_;
        return t;
    }

    Token plain() {
        Token t;
        while (i_ < s_.size()) {
            char c = s_[i_];
            // A '"' inside a token is data: ldns prints one unescaped in a name.
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '(' || c == ')') break;
            t.text += c;
            ++i_;
            if (c == '\\' && i_ < s_.size() && s_[i_] != '\n') t.text += s_[i_++];
        }
        return t;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    int line_ = 1;
};

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool is_class(std::string_view t) {
    if (iequals(t, "IN") || iequals(t, "CH") || iequals(t, "CS") || iequals(t, "HS")) return true;
    if (t.size() > 5 && iequals(t.substr(0, 5), "CLASS")) {
        return std::all_of(t.begin() + 5, t.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    }
    return false;
}

// Reader state that $INCLUDE copies into the included file and does not take back.
struct Scope {
    std::string origin;                   // canonical
    std::optional<std::uint32_t> dollar_ttl;
    std::optional<std::uint32_t> last_ttl;  // RFC 1035: a missing TTL repeats the last one
    std::string prev_owner;
};

class Reader {
public:
    Reader(std::vector<ZoneEntry>& out, const ProgressFn& progress) : out_(out), progress_(progress) {}

    // `dir` is where $INCLUDE paths are relative to; empty refuses $INCLUDE.
    Status read(std::string_view text, std::string_view name, const std::optional<std::filesystem::path>& dir,
                Scope scope, int depth) {
        // Master files are text: a raw control octet (a NUL would even cut the
        // record short on its way to ldns) must be written as \DDD.
        int line = 1;
        for (unsigned char c : text) {
            if (c == '\n') {
                ++line;
            } else if (c < 0x20 && c != '\t' && c != '\r') {
                return Error{fmt::format("{}:{}: control character 0x{:02x} in the text; write it as \\{:03}", name,
                                         line, c, c)};
            } else if (c == 0x7f) {
                return Error{fmt::format("{}:{}: control character 0x7f in the text; write it as \\127", name, line)};
            }
        }
        Lexer lex(text);
        while (true) {
            auto next = lex.next();
            if (!next) {
                const std::string& m = next.error().message;
                auto sep = m.find('\x1f');
                return Error{fmt::format("{}:{}: {}", name, m.substr(0, sep), m.substr(sep + 1))};
            }
            if (!*next) return {};
            const Entry& e = **next;
            std::string where = fmt::format("{}:{}", name, e.line);
            Status st = !e.blank_owner && e.tokens[0].text.starts_with('$') && !e.tokens[0].quoted
                            ? directive(e, where, dir, scope, depth)
                            : record(e, where, scope);
            if (!st) return st;
        }
    }

private:
    Status directive(const Entry& e, const std::string& where, const std::optional<std::filesystem::path>& dir,
                     Scope& scope, int depth) {
        const std::string& d = e.tokens[0].text;
        auto arg = [&](std::size_t i) -> std::string_view {
            return i < e.tokens.size() ? std::string_view(e.tokens[i].text) : std::string_view();
        };
        if (iequals(d, "$ORIGIN")) {
            if (e.tokens.size() != 2) return Error{fmt::format("{}: $ORIGIN takes exactly one name", where)};
            auto o = canonical_name(arg(1), scope.origin, where + ": $ORIGIN");
            if (!o) return o.error();
            scope.origin = *o;
            origin_rdf_.reset();
            return {};
        }
        if (iequals(d, "$TTL")) {
            if (e.tokens.size() != 2) return Error{fmt::format("{}: $TTL takes exactly one TTL", where)};
            auto ttl = parse_ttl(arg(1), where + ": $TTL");
            if (!ttl) return ttl.error();
            scope.dollar_ttl = *ttl;
            return {};
        }
        if (iequals(d, "$INCLUDE")) {
            if (e.tokens.size() < 2 || e.tokens.size() > 3) {
                return Error{fmt::format("{}: $INCLUDE takes a file name and an optional origin", where)};
            }
            if (!dir) return Error{fmt::format("{}: $INCLUDE is not allowed here", where)};
            if (depth >= kMaxIncludeDepth) {
                return Error{fmt::format("{}: $INCLUDE nested more than {} levels deep (a loop?)", where, kMaxIncludeDepth)};
            }
            std::string file(arg(1));
            if (e.tokens[1].quoted) file = file.substr(1, file.size() - 2);
            std::filesystem::path path = std::filesystem::path(file).is_absolute() ? std::filesystem::path(file) : *dir / file;
            Scope inner = scope;
            if (e.tokens.size() == 3) {
                auto o = canonical_name(arg(2), scope.origin, where + ": $INCLUDE origin");
                if (!o) return o.error();
                inner.origin = *o;
            }
            std::ifstream in(path, std::ios::binary);
            if (!in) return Error{fmt::format("{}: $INCLUDE cannot open '{}'", where, path.string())};
            std::stringstream ss;
            ss << in.rdbuf();
            origin_rdf_.reset();  // the included file starts from its own origin
            Status st = read(ss.str(), path.string(), path.parent_path(), inner, depth + 1);
            origin_rdf_.reset();  // and the parent's is rebuilt on next use
            return st;
        }
        if (iequals(d, "$GENERATE")) {
            return Error{fmt::format("{}: $GENERATE (a BIND extension) is not supported; expand it first", where)};
        }
        return Error{fmt::format("{}: unknown directive '{}'", where, d)};
    }

    Status record(const Entry& e, const std::string& where, Scope& scope) {
        std::size_t i = 0;
        std::string owner;
        if (e.blank_owner) {
            if (scope.prev_owner.empty()) {
                return Error{fmt::format("{}: the line starts with white space but no earlier record gives "
                                         "its owner name",
                                         where)};
            }
            owner = scope.prev_owner;
        } else {
            if (e.tokens[0].quoted) return Error{fmt::format("{}: an owner name cannot be quoted", where)};
            auto o = canonical_name(e.tokens[i++].text, scope.origin, where + ": owner");
            if (!o) return o.error();
            owner = *o;
        }
        std::optional<std::uint32_t> ttl;
        bool have_class = false;
        for (int k = 0; k < 2 && i < e.tokens.size() && !e.tokens[i].quoted; ++k) {
            const std::string& t = e.tokens[i].text;
            if (!have_class && is_class(t)) {
                if (!iequals(t, "IN")) return Error{fmt::format("{}: class {} is not supported (only IN)", where, t)};
                have_class = true;
                ++i;
            } else if (!ttl && std::isdigit(static_cast<unsigned char>(t[0]))) {
                auto v = parse_ttl(t, where);
                if (!v) return v.error();
                ttl = *v;
                ++i;
            } else {
                break;
            }
        }
        if (i >= e.tokens.size()) return Error{fmt::format("{}: the record has no type", where)};
        const std::string& type_text = e.tokens[i++].text;
        std::uint16_t type = type_from_text(type_text);
        if (type == 0) return Error{fmt::format("{}: unknown RR type '{}'", where, type_text)};

        std::uint32_t effective;
        if (ttl) {
            effective = *ttl;
            scope.last_ttl = *ttl;
        } else if (scope.dollar_ttl) {
            effective = *scope.dollar_ttl;
        } else if (scope.last_ttl) {
            effective = *scope.last_ttl;
        } else {
            return Error{fmt::format("{}: the record has no TTL and no $TTL came before it", where)};
        }

        std::string rdata;
        for (; i < e.tokens.size(); ++i) {
            if (!rdata.empty()) rdata += ' ';
            rdata += e.tokens[i].text;
        }
        std::string line = fmt::format("{} {} IN {} {}", owner, effective, type_to_text(type), rdata);
        if (!origin_rdf_) origin_rdf_.reset(ldns_dname_new_frm_str(scope.origin.c_str()));
        ldns_rr* raw = nullptr;
        ldns_status st = ldns_rr_new_frm_str(&raw, line.c_str(), effective, origin_rdf_.get(), nullptr);
        RrPtr rr(raw);
        if (st != LDNS_STATUS_OK) {
            return Error{fmt::format("{}: cannot parse {} rdata '{}': {}", where, type_to_text(type), rdata,
                                     ldns_get_errorstr_by_id(st))};
        }
        auto rec = record_from_ldns(rr.get());
        if (!rec) return Error{fmt::format("{}: {}", where, rec.error().message)};
        scope.prev_owner = owner;
        out_.push_back(ZoneEntry{std::move(*rec), where});
        if (progress_ && out_.size() % kProgressEvery == 0) progress_("read", out_.size());
        return {};
    }

    std::vector<ZoneEntry>& out_;
    const ProgressFn& progress_;
    RdfPtr origin_rdf_;  // ldns form of the current scope's origin, rebuilt when it changes
};

Result<std::string> canonical_origin(std::string_view origin) {
    return canonical_name(origin.ends_with('.') ? origin : std::string(origin) + ".", ".", "origin");
}

}  // namespace

Result<std::vector<ZoneEntry>> read_zone_file(const std::string& path, std::string_view origin,
                                              const ProgressFn& progress) {
    auto o = canonical_origin(origin);
    if (!o) return o.error();
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{fmt::format("cannot open zone file '{}'", path)};
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<ZoneEntry> out;
    Reader reader(out, progress);
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    Status st = reader.read(ss.str(), path, dir, Scope{*o, {}, {}, {}}, 0);
    if (!st) return st.error();
    if (progress) progress("read", out.size());
    return out;
}

Result<std::vector<ZoneEntry>> read_zone_text(std::string_view text, std::string_view origin,
                                              std::string_view name) {
    auto o = canonical_origin(origin);
    if (!o) return o.error();
    std::vector<ZoneEntry> out;
    ProgressFn none;
    Reader reader(out, none);
    Status st = reader.read(text, name, std::nullopt, Scope{*o, {}, {}, {}}, 0);
    if (!st) return st.error();
    return out;
}

std::string write_zone_text(std::string_view origin, const std::vector<Record>& records) {
    std::vector<Record> sorted = records;
    sort_canonical(sorted);
    std::stable_partition(sorted.begin(), sorted.end(), [](const Record& r) { return r.type == LDNS_RR_TYPE_SOA; });
    std::string out = fmt::format("$ORIGIN {}\n", origin);
    for (const auto& r : sorted) {
        out += record_to_text(r);
        out += '\n';
    }
    return out;
}

}  // namespace pooldns
