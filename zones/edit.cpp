// What every edit of the store shares: the serial bump, the audit row, duration options.
#include "edit.hpp"

#include "pooldns/record.hpp"
#include "pooldns/serial.hpp"

#include <charconv>
#include <cmath>

namespace pooldns {

std::optional<std::uint32_t> current_serial(const Database& db, std::int64_t zone_id) {
    auto st = db.prepare("SELECT rdata FROM records WHERE zone_id = ? AND type = 6 LIMIT 1");
    st.bind(1, zone_id);
    if (!st.step()) return std::nullopt;
    auto serial = soa_serial(st.column_blob(0));
    if (!serial) return std::nullopt;
    return *serial;
}

Result<std::uint32_t> bump_serial(const Database& db, std::int64_t zone_id, std::optional<std::uint32_t> previous,
                                  std::optional<std::uint32_t> proposed) {
    auto st = db.prepare("SELECT id, rdata FROM records WHERE zone_id = ? AND type = 6 LIMIT 1");
    st.bind(1, zone_id);
    if (!st.step()) return Error{"the zone has no SOA record"};
    std::int64_t id = st.column_int(0);
    auto rdata = st.column_blob(1);
    auto stored = soa_serial(rdata);
    if (!stored) return Error{fmt::format("stored SOA: {}", stored.error().message)};
    // One edit made of several (a topology) moves each zone's serial once.
    if (!db.first_bump_in_transaction(zone_id)) return *stored;
    std::uint32_t base = previous.value_or(*stored);
    std::uint32_t next = next_serial(base, today_utc_yyyymmdd());
    if (proposed && serial_less(base, *proposed)) next = *proposed;
    if (auto s = set_soa_serial(rdata, next); !s) return s.error();
    auto up = db.prepare("UPDATE records SET rdata = ? WHERE id = ?");
    up.bind(1, std::span<const std::uint8_t>(rdata)).bind(2, id);
    up.run();
    auto z = db.prepare("UPDATE zones SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?");
    z.bind(1, zone_id);
    z.run();
    return next;
}

std::optional<ZoneRef> containing_zone(const Database& db, std::string_view name) {
    auto st = db.prepare("SELECT id, origin FROM zones");
    std::optional<ZoneRef> best;
    while (st.step()) {
        auto origin = st.column_text_view(1);
        if (name_in_zone(name, origin) && (!best || origin.size() > best->origin.size())) {
            best = ZoneRef{st.column_int(0), std::string(origin)};
        }
    }
    return best;
}

std::string with_article(std::uint16_t type) {
    std::string t = type_to_text(type);
    return (t[0] == 'A' ? "an " : "a ") + t;
}

void audit(const Database& db, std::string_view command, std::string_view action, std::string_view object,
           std::string_view detail) {
    auto st = db.prepare("INSERT INTO audit (command, action, object, detail) VALUES (?, ?, ?, ?)");
    st.bind_all(command, action, object, detail);
    st.run();
}

Result<std::uint32_t> parse_duration_ms(std::string_view text, std::string_view what, std::uint32_t min_ms,
                                        std::uint32_t max_ms) {
    std::string_view number = text;
    double scale = 1000;
    if (number.ends_with("ms")) {
        number.remove_suffix(2);
        scale = 1;
    } else if (number.ends_with('s')) {
        number.remove_suffix(1);
    }
    double v = 0;
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
    if (number.empty() || ec != std::errc() || p != number.data() + number.size() || !std::isfinite(v) || v < 0) {
        return Error{fmt::format("{}: '{}' is not a duration (seconds, e.g. 2 or 0.5, or 500ms)", what, text)};
    }
    double ms = std::round(v * scale);
    if (ms < min_ms || ms > max_ms) {
        return Error{fmt::format("{}: {} is out of range {} ms..{} s", what, text, min_ms, max_ms / 1000)};
    }
    return static_cast<std::uint32_t>(ms);
}

Result<std::uint64_t> parse_whole(std::string_view text, std::string_view what, std::uint64_t min, std::uint64_t max) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < min || v > max) {
        return Error{fmt::format("{}: '{}' is not a whole number in {}..{}", what, text, min, max)};
    }
    return v;
}

Status valid_object_name(std::string_view name) {
    if (name.empty() || name.size() > 63) return Error{fmt::format("NAME: '{}' must be 1-63 characters", name)};
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.';
        if (!ok) return Error{fmt::format("NAME: '{}' may hold only letters, digits, '-', '_' and '.'", name)};
    }
    return {};
}

}  // namespace pooldns
