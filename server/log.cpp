// Logging to stderr (see include/pooldns/log.hpp).
#include "pooldns/log.hpp"

#include <unistd.h>

#include <ctime>

namespace pooldns {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
constexpr const char* kNames[] = {"error", "warn", "info", "debug"};
}  // namespace

bool parse_log_level(std::string_view text, LogLevel& out) {
    for (int i = 0; i < 4; ++i) {
        if (text == kNames[i]) {
            out = static_cast<LogLevel>(i);
            return true;
        }
    }
    return false;
}

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed); }

void log_line(LogLevel level, std::string_view event, std::string_view fields) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    std::tm tm{};
    gmtime_r(&ts.tv_sec, &tm);
    std::string line = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {}{}{}\n", tm.tm_year + 1900,
                                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                                   kNames[static_cast<int>(level)], event, fields.empty() ? "" : " ", fields);
    // One write per line; a failed write to stderr has nowhere to be reported.
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace pooldns
