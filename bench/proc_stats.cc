#include "bench/proc_stats.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

namespace herald_bench {
namespace {

// Value in kB of the first line starting with `key` in a /proc text file.
int64_t ReadKbField(const std::string& path, const char* key) {
  std::ifstream in(path);
  std::string line;
  size_t klen = strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, klen, key) == 0) return strtoll(line.c_str() + klen, nullptr, 10);
  }
  return -1;
}

// utime+stime (fields 14 and 15) of /proc/PID/stat in microseconds, and the
// stime part in *sys_us. The comm field may contain spaces, so parsing starts
// after its closing parenthesis.
int64_t ReadCpuUs(pid_t pid, int64_t* sys_us) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  std::getline(in, s);
  size_t rp = s.rfind(')');
  if (rp == std::string::npos) return -1;
  const char* p = s.c_str() + rp + 2;  // field 3 (state)
  unsigned long long utime = 0, stime = 0;
  // Fields 3..15: state ppid pgrp session tty tpgid flags minflt cminflt
  // majflt cmajflt utime stime.
  if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) {
    return -1;
  }
  const uint64_t hz = uint64_t(sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100);
  *sys_us = int64_t(stime * 1000000ull / hz);
  return int64_t((utime + stime) * 1000000ull / hz);
}

}  // namespace

ProcSample SampleProcs(const std::vector<pid_t>& pids) {
  ProcSample s;
  s.ok = !pids.empty();
  for (pid_t pid : pids) {
    std::string base = "/proc/" + std::to_string(pid);
    int64_t rss = ReadKbField(base + "/status", "VmRSS:");
    int64_t pss = ReadKbField(base + "/smaps_rollup", "Pss:");
    int64_t sys = 0;
    int64_t cpu = ReadCpuUs(pid, &sys);
    if (rss < 0 || cpu < 0) {
      s.ok = false;
      continue;
    }
    s.rss_kb += rss;
    s.pss_kb += pss > 0 ? pss : 0;
    s.cpu_us += uint64_t(cpu);
    s.sys_us += uint64_t(sys);
  }
  return s;
}

}  // namespace herald_bench
