// What the store tests share: opening a file, unwrapping results, and looking
// at a whole database (every row of every table; a zone's SOA serial) to show
// that a refused edit changed nothing.
#pragma once

#include "pooldns/result.hpp"
#include "pooldns/serial.hpp"
#include "pooldns/store.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pooldns::test {

inline Database open_db(const std::string& path) {
    auto db = Database::open(path, OpenMode::ReadWrite);
    if (!db.ok()) FAIL(db.error().message);
    return std::move(db).value();
}

template <typename T>
T must(Result<T> r) {
    if (!r.ok()) FAIL(r.error().message);
    return std::move(r).value();
}

// The error of a Result that must have failed; "" when it succeeded.
template <typename T>
std::string error_of(const Result<T>& r) {
    return r.ok() ? std::string() : r.error().message;
}

// Every row of every table, as "table|quote(col)|...", in a stable order.
inline std::vector<std::string> dump_tables(const Database& db) {
    std::vector<std::string> tables;
    auto ts = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    while (ts.step()) tables.push_back(ts.column_text(0));
    std::vector<std::string> out;
    for (const auto& table : tables) {
        std::string columns;
        auto cs = db.prepare("SELECT name FROM pragma_table_info(?)");
        cs.bind(1, table);
        while (cs.step()) columns += " || '|' || quote(\"" + cs.column_text(0) + "\")";
        auto rows = db.prepare("SELECT '" + table + "'" + columns + " FROM \"" + table + "\" ORDER BY 1");
        while (rows.step()) out.push_back(rows.column_text(0));
    }
    return out;
}

// The SOA serial of the zone `origin` (absolute).
inline std::uint32_t zone_serial(const Database& db, std::string_view origin) {
    auto st = db.prepare(
        "SELECT r.rdata FROM records r JOIN zones z ON z.id = r.zone_id WHERE z.origin = ? AND r.type = 6");
    st.bind(1, origin);
    REQUIRE(st.step());
    auto s = soa_serial(st.column_blob(0));
    REQUIRE(s.ok());
    return *s;
}

}  // namespace pooldns::test
