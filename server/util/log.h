// Logging: one line per event worth knowing, tagged with a subsystem and,
// where there is one, the connid. Never log secrets or tokens. Lines are text
// (`<time> <level> [<tag>] conn=<id> <message>`) or, with log_format "json",
// one JSON object per line for log shippers. Any thread may log; a line is
// written with one fprintf, so lines never interleave.
#pragma once

#include <cstdint>
#include <string_view>

namespace herald {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
enum class LogFormat { kText = 0, kJson = 1 };
void SetLogLevel(LogLevel level);
void SetLogFormat(LogFormat format);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, const char* tag, uint64_t connid, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
// One access-log line (tag "access", level info) for a private-API request.
// `path` must not carry the query string (tokens may ride in it); control
// characters in it are replaced so a request cannot forge log lines.
void LogAccess(std::string_view method, std::string_view path, int status, double duration_ms,
               std::string_view remote);

#define HERALD_LOG(level, tag, connid, ...)                                              \
  do {                                                                                   \
    if (::herald::LogEnabled(level)) ::herald::LogLine(level, tag, connid, __VA_ARGS__); \
  } while (0)
#define LogError(tag, connid, ...) HERALD_LOG(::herald::LogLevel::kError, tag, connid, __VA_ARGS__)
#define LogWarn(tag, connid, ...) HERALD_LOG(::herald::LogLevel::kWarn, tag, connid, __VA_ARGS__)
#define LogInfo(tag, connid, ...) HERALD_LOG(::herald::LogLevel::kInfo, tag, connid, __VA_ARGS__)
#define LogDebug(tag, connid, ...) HERALD_LOG(::herald::LogLevel::kDebug, tag, connid, __VA_ARGS__)

}  // namespace herald
