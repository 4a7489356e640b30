#include "server/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace herald {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
const char* kNames[] = {"error", "warn", "info", "debug"};
}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) <= g_level.load(); }

void LogLine(LogLevel level, const char* tag, uint64_t connid, const char* fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
  // One fprintf per line: stdio locks the stream, so lines never interleave.
  if (connid) {
    std::fprintf(stderr, "%s.%03ldZ %s [%s] conn=%llu %s\n", when, ts.tv_nsec / 1000000,
                 kNames[static_cast<int>(level)], tag, static_cast<unsigned long long>(connid),
                 msg);
  } else {
    std::fprintf(stderr, "%s.%03ldZ %s [%s] %s\n", when, ts.tv_nsec / 1000000,
                 kNames[static_cast<int>(level)], tag, msg);
  }
}

}  // namespace herald
