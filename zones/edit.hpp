// What every edit of the store shares (internal to zones/): SQLite failures
// turned into user-facing errors, zone lookup, the serial bump and the audit row.
#pragma once

#include "pooldns/result.hpp"
#include "pooldns/store.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pooldns {

// Turns SQLite failures into user-facing errors at the edge of an operation.
template <typename T, typename F>
Result<T> guarded(std::string_view what, F&& body) {
    try {
        return body();
    } catch (const StoreError& e) {
        if (e.busy()) {
            return Error{fmt::format("{}: the database is busy (another writer held it for 5 s); nothing was "
                                     "changed, try again",
                                     what)};
        }
        return Error{fmt::format("{}: {}; nothing was changed", what, e.what())};
    }
}

inline std::optional<std::int64_t> find_zone(const Database& db, std::string_view origin) {
    auto st = db.prepare("SELECT id FROM zones WHERE origin = ?");
    st.bind(1, origin);
    if (!st.step()) return std::nullopt;
    return st.column_int(0);
}

inline Error unknown_zone(std::string_view origin) {
    return Error{fmt::format("ORIGIN: unknown zone '{}' ('pooldnsctl zone list' shows the zones)", origin)};
}

std::optional<std::uint32_t> current_serial(const Database& db, std::int64_t zone_id);

// Moves the zone's serial forward: to `proposed` when that is ahead of the
// previous serial (an operator's own choice), else by next_serial().
Result<std::uint32_t> bump_serial(const Database& db, std::int64_t zone_id, std::optional<std::uint32_t> previous,
                                  std::optional<std::uint32_t> proposed = std::nullopt);

// A whole-number option in min..max; the error names `what` and the text.
Result<std::uint64_t> parse_whole(std::string_view text, std::string_view what, std::uint64_t min, std::uint64_t max);

// The name of a server or VIP: 1-63 letters, digits, '-', '_' or '.' (errors name NAME).
Status valid_object_name(std::string_view name);

// A duration option: "2", "0.5", "2s", "500ms" -> milliseconds within
// min_ms..max_ms; the error names `what` (the option) and the text.
Result<std::uint32_t> parse_duration_ms(std::string_view text, std::string_view what, std::uint32_t min_ms,
                                        std::uint32_t max_ms);

struct ZoneRef {
    std::int64_t id = 0;
    std::string origin;
};

// The deepest zone we serve that contains `name` (absolute, lower case).
std::optional<ZoneRef> containing_zone(const Database& db, std::string_view name);

// A record type with its article, for messages: "an A", "a CNAME".
std::string with_article(std::uint16_t type);

void audit(const Database& db, std::string_view command, std::string_view action, std::string_view object,
           std::string_view detail);

}  // namespace pooldns
