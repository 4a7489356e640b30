// A forked worker process that holds a slice of the subscribers. Each process
// stays under ~9,000 sockets because the machine caps a process at 20,000
// open files; the parent only publishes and aggregates.
#pragma once

#include <cstdint>

#include "bench/bench_config.h"
#include "bench/scenario.h"

namespace herald_bench {

// Runs subscribers [first, first + count) of `plan` until the parent sends
// kMsgStop on `ctl_fd` (or a hard time limit passes), then writes a Report.
// Returns the process exit code.
int RunWorker(const BenchConfig& cfg, const Plan& plan, int ctl_fd, uint32_t first, uint32_t count);

// Percent-encodes what a query string or path segment cannot carry ('+', '#').
std::string UrlEncode(const std::string& s);

}  // namespace herald_bench
