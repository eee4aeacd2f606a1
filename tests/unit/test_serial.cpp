// RFC 1982 serial arithmetic and the date-aware serial bump.
#include "pooldns/serial.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>

using namespace pooldns;

namespace {

struct LessCase {
    std::uint32_t a, b;
    bool less;
};

}  // namespace

TEST_CASE("serial_less orders serials by RFC 1982 sequence space arithmetic") {
    const LessCase cases[] = {
        {0, 1, true},
        {1, 0, false},
        {5, 5, false},
        {1000, 2000, true},
        {2000, 1000, false},
        {0, 0x7FFFFFFFu, true},  // 2^31 - 1 ahead: still after
        {0x7FFFFFFFu, 0, false},
        {0x80000000u, 0xFFFFFFFFu, true},
        {2024061500u, 2024061501u, true},
    };
    for (const auto& c : cases) {
        CAPTURE(c.a);
        CAPTURE(c.b);
        CHECK(serial_less(c.a, c.b) == c.less);
    }
}

TEST_CASE("serial_less treats 0xFFFFFFFF as preceding 0 across the wrap") {
    const LessCase cases[] = {
        {0xFFFFFFFFu, 0, true},      {0, 0xFFFFFFFFu, false},          {0xFFFFFFF0u, 0x10u, true},
        {0x10u, 0xFFFFFFF0u, false}, {0xC0000000u, 0x3FFFFFFFu, true},  // 2^31 - 1 apart across the wrap
    };
    for (const auto& c : cases) {
        CAPTURE(c.a);
        CAPTURE(c.b);
        CHECK(serial_less(c.a, c.b) == c.less);
    }
}

TEST_CASE("serial_less is false both ways for a pair exactly 2^31 apart") {
    const std::uint32_t pairs[][2] = {
        {0, 0x80000000u}, {1, 0x80000001u}, {0x7FFFFFFFu, 0xFFFFFFFFu}, {2024061500u, 2024061500u + 0x80000000u}};
    for (const auto& p : pairs) {
        CAPTURE(p[0]);
        CAPTURE(p[1]);
        CHECK_FALSE(serial_less(p[0], p[1]));
        CHECK_FALSE(serial_less(p[1], p[0]));
    }
}

TEST_CASE("serial_add adds and wraps modulo 2^32") {
    struct Case {
        std::uint32_t s, n, sum;
    };
    const Case cases[] = {
        {5, 0, 5},
        {5, 1, 6},
        {0xFFFFFFFFu, 1, 0},
        {0xFFFFFFF0u, 0x20u, 0x10u},
        {0, 0x7FFFFFFFu, 0x7FFFFFFFu},
        {0x80000000u, 0x7FFFFFFFu, 0xFFFFFFFFu},
        {0x80000001u, 0x7FFFFFFFu, 0},
    };
    for (const auto& c : cases) {
        CAPTURE(c.s);
        CAPTURE(c.n);
        CHECK(serial_add(c.s, c.n) == c.sum);
    }
}

TEST_CASE("is_date_serial accepts YYYYMMDDnn with a real calendar date in 1970..2099") {
    struct Case {
        std::uint32_t serial;
        bool date;
    };
    const Case cases[] = {
        {2024061500u, true},  {2024061599u, true}, {2024123199u, true}, {1970010100u, true},  // first year accepted
        {2099123199u, true},                                                                  // last year accepted
        {1969123199u, false},                                                                 // year before 1970
        {2100010100u, false},                                                                 // year after 2099
        {2024022900u, true},                                                                  // Feb 29 in a leap year
        {2000022900u, true},   // Feb 29 in a year divisible by 400
        {2023022900u, false},  // Feb 29 in a common year
        {2024023000u, false},  // Feb 30 never exists
        {2024130100u, false},  // month 13
        {2024000100u, false},  // month 0
        {2024010000u, false},  // day 0
        {2024013200u, false},  // Jan 32
        {2024043100u, false},  // Apr 31
        {2024063100u, false},  // Jun 31
        {2024073100u, true},   // Jul 31
        {0u, false},          {1u, false},         {1000u, false},      {0xFFFFFFFFu, false},
    };
    for (const auto& c : cases) {
        CAPTURE(c.serial);
        CHECK(is_date_serial(c.serial) == c.date);
    }
}

TEST_CASE("next_serial moves a date serial older than today to today's first serial") {
    CHECK(next_serial(2024010105u, 20240615u) == 2024061500u);
    CHECK(next_serial(2023123199u, 20240615u) == 2024061500u);
    CHECK(next_serial(2024061499u, 20240615u) == 2024061500u);
}

TEST_CASE("next_serial counts up by one on the same day") {
    CHECK(next_serial(2024061500u, 20240615u) == 2024061501u);
    CHECK(next_serial(2024061507u, 20240615u) == 2024061508u);
}

TEST_CASE("next_serial counts YYYYMMDD99 up by one") {
    CHECK(next_serial(2024061599u, 20240615u) == 2024061600u);
}

TEST_CASE("next_serial counts a date serial ahead of today up by one") {
    CHECK(next_serial(2024070100u, 20240615u) == 2024070101u);
}

TEST_CASE("next_serial counts a non-date serial up by one") {
    CHECK(next_serial(1000u, 20240615u) == 1001u);
    CHECK(next_serial(0u, 20240615u) == 1u);
    CHECK(next_serial(2024023000u, 20240615u) == 2024023001u);  // Feb 30: not a date
}

TEST_CASE("next_serial wraps 0xFFFFFFFF to 0") {
    CHECK(next_serial(0xFFFFFFFFu, 20240615u) == 0u);
}

TEST_CASE("today_utc_yyyymmdd is today's UTC date") {
    auto utc_today = [] {
        auto days = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
        std::chrono::year_month_day ymd{days};
        return static_cast<std::uint32_t>(static_cast<int>(ymd.year()) * 10000 +
                                          static_cast<int>(static_cast<unsigned>(ymd.month())) * 100 +
                                          static_cast<int>(static_cast<unsigned>(ymd.day())));
    };
    std::uint32_t before = utc_today();
    std::uint32_t got = today_utc_yyyymmdd();
    std::uint32_t after = utc_today();
    CHECK((got == before || got == after));  // the two differ only across midnight UTC
    CHECK(is_date_serial(got * 100));
}
