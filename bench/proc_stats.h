// Server-side figures sampled from /proc by PID, so the bench needs no help
// from the server under test (herald, nginx+Nchan, anything).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace herald_bench {

struct ProcSample {
  bool ok = false;      // every PID was readable
  int64_t rss_kb = 0;   // sum of VmRSS
  int64_t pss_kb = 0;   // sum of Pss (smaps_rollup); shared pages split fairly
  uint64_t cpu_us = 0;  // sum of utime+stime of every PID (all its threads)
  uint64_t sys_us = 0;  // the stime part: the kernel's work (on loopback, both ends of TCP)
};

// Sums over all `pids` (nginx: master and workers; herald: one process).
ProcSample SampleProcs(const std::vector<pid_t>& pids);

}  // namespace herald_bench
