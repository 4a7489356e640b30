// Publish→write latency for /metrics: a fixed-bucket histogram each worker
// writes (relaxed atomics, read by /metrics from other threads, like the
// other WorkerStats), and the per-worker list of deliveries not yet written.
//
// What is measured: from the event's `iat` (ms, set at publish) to the end of
// the worker's flush pass that wrote the frames out (Flusher, server/flusher.h), one
// observation per delivery. Cost: one comparison per delivery (deliveries of
// one event in one tick share an entry) and one pass per flush over the
// distinct events of that tick, never per subscriber. Resolution: 1 ms, the
// resolution of `iat`.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace herald {

class LatencyHistogram {
 public:
  // Upper bounds in seconds (Prometheus `le`); one more bucket is +Inf.
  static constexpr double kBounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                       0.25,  0.5,    1,     2.5,  5,     10};
  static constexpr int kBuckets = sizeof(kBounds) / sizeof(kBounds[0]) + 1;

  // Records `n` observations of `ms` milliseconds. One writer thread.
  void Observe(int64_t ms, int64_t n);
  // Adds this histogram's counts (not cumulative) and sum into the arrays.
  void AddTo(int64_t (&counts)[kBuckets], int64_t* sum_ms) const;

 private:
  std::atomic<int64_t> counts_[kBuckets] = {};
  std::atomic<int64_t> sum_ms_{0};
};

// Deliveries queued since the last flush pass, grouped by event. Owned by one
// worker's loop thread.
class PendingLatency {
 public:
  void Note(int64_t iat_ms) {
    if (pending_.empty() || pending_.back().iat_ms != iat_ms) pending_.push_back({iat_ms, 0});
    ++pending_.back().deliveries;
  }
  // Everything noted was written by now_ms: observe it and start over.
  void Observe(int64_t now_ms, LatencyHistogram& into);

 private:
  struct Entry {
    int64_t iat_ms;
    int64_t deliveries;
  };
  std::vector<Entry> pending_;
};

}  // namespace herald
