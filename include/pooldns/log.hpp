// Logging: one line per event on stderr, "LEVEL event key=value ...", through fmt.
// Lines are written with a single write() so threads never interleave them.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <string_view>

namespace pooldns {

enum class LogLevel : int { Error = 0, Warn = 1, Info = 2, Debug = 3 };

bool parse_log_level(std::string_view text, LogLevel& out);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view event, std::string_view fields);

template <typename... Args>
void log(LogLevel level, std::string_view event, fmt::format_string<Args...> fields, Args&&... args) {
    if (!log_enabled(level)) return;
    log_line(level, event, fmt::format(fields, std::forward<Args>(args)...));
}

}  // namespace pooldns
