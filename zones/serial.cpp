// SOA serial arithmetic (RFC 1982) and the date-aware bump used on every edit.
#include "pooldns/serial.hpp"

#include <ctime>

namespace pooldns {

bool serial_less(std::uint32_t a, std::uint32_t b) {
    constexpr std::uint32_t half = 1u << 31;
    return (a < b && b - a < half) || (a > b && a - b > half);
}

std::uint32_t serial_add(std::uint32_t s, std::uint32_t n) {
    return s + (n & 0x7fffffffu);  // unsigned arithmetic wraps modulo 2^32
}

bool is_date_serial(std::uint32_t s) {
    std::uint32_t date = s / 100;
    std::uint32_t year = date / 10000, month = date / 100 % 100, day = date % 100;
    if (year < 1970 || year > 2099 || month < 1 || month > 12 || day < 1) return false;
    static constexpr std::uint32_t days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    std::uint32_t limit = days[month - 1];
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && !leap) limit = 28;
    return day <= limit;
}

std::uint32_t next_serial(std::uint32_t current, std::uint32_t today_yyyymmdd) {
    if (is_date_serial(current)) {
        std::uint32_t first_today = today_yyyymmdd * 100;
        if (serial_less(current, first_today)) return first_today;
    }
    return serial_add(current, 1);
}

std::uint32_t today_utc_yyyymmdd() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    return static_cast<std::uint32_t>((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

}  // namespace pooldns
