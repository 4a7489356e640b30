#include "server/util/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <string>

#include "server/util/json.h"

namespace herald {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
const char* kNames[] = {"error", "warn", "info", "debug"};

// "2026-11-22T04:32:09.262Z"
std::string Timestamp() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char when[40];
  size_t n = std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
  return when;
}

bool Json() {
  return g_format.load(std::memory_order_relaxed) == static_cast<int>(LogFormat::kJson);
}

// The start of a JSON line, up to and including the tag; the caller adds
// its fields and the closing brace.
std::string JsonHead(LogLevel level, const char* tag) {
  std::string line = "{\"ts\":\"" + Timestamp() + "\",\"level\":\"" +
                     kNames[static_cast<int>(level)] + "\",\"tag\":";
  AppendJsonString(&line, tag);
  return line;
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
void SetLogFormat(LogFormat format) { g_format.store(static_cast<int>(format)); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) <= g_level.load(); }

void LogLine(LogLevel level, const char* tag, uint64_t connid, const char* fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (Json()) {
    std::string line = JsonHead(level, tag);
    if (connid) line += ",\"conn\":" + std::to_string(connid);
    line += ",\"msg\":";
    AppendJsonString(&line, msg);
    line += "}\n";
    std::fputs(line.c_str(), stderr);
    return;
  }
  // One fprintf per line: stdio locks the stream, so lines never interleave.
  const std::string when = Timestamp();
  if (connid) {
    std::fprintf(stderr, "%s %s [%s] conn=%llu %s\n", when.c_str(), kNames[static_cast<int>(level)],
                 tag, static_cast<unsigned long long>(connid), msg);
  } else {
    std::fprintf(stderr, "%s %s [%s] %s\n", when.c_str(), kNames[static_cast<int>(level)], tag,
                 msg);
  }
}

void LogAccess(std::string_view method, std::string_view path, int status, double duration_ms,
               std::string_view remote) {
  if (!LogEnabled(LogLevel::kInfo)) return;
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", duration_ms);
  std::string line;
  if (Json()) {
    line = JsonHead(LogLevel::kInfo, "access") + ",\"method\":";
    AppendJsonString(&line, method);
    line += ",\"path\":";
    AppendJsonString(&line, path);
    line += ",\"status\":" + std::to_string(status) + ",\"duration_ms\":" + ms + ",\"remote\":";
    AppendJsonString(&line, remote);
    line += "}\n";
  } else {
    std::string safe_path(path);
    for (char& c : safe_path) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ') c = '?';
    }
    line = Timestamp() + " info [access] " + std::string(method) + " " + safe_path + " " +
           std::to_string(status) + " " + ms + "ms " + std::string(remote) + "\n";
  }
  std::fputs(line.c_str(), stderr);
}

}  // namespace herald
