// Logging: one line per event worth knowing, tagged with a subsystem and,
// where there is one, the connid. Never log secrets or tokens.
#pragma once

#include <cstdint>

namespace herald {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, const char* tag, uint64_t connid, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define HERALD_LOG(level, tag, connid, ...)                                    \
  do {                                                                         \
    if (::herald::LogEnabled(level)) ::herald::LogLine(level, tag, connid, __VA_ARGS__); \
  } while (0)
#define LogError(tag, connid, ...) HERALD_LOG(::herald::LogLevel::kError, tag, connid, __VA_ARGS__)
#define LogWarn(tag, connid, ...) HERALD_LOG(::herald::LogLevel::kWarn, tag, connid, __VA_ARGS__)
#define LogInfo(tag, connid, ...) HERALD_LOG(::herald::LogLevel::kInfo, tag, connid, __VA_ARGS__)
#define LogDebug(tag, connid, ...) HERALD_LOG(::herald::LogLevel::kDebug, tag, connid, __VA_ARGS__)

}  // namespace herald
