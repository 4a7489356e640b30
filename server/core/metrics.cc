#include "server/core/metrics.h"

namespace herald {

constexpr double LatencyHistogram::kBounds[];

void LatencyHistogram::Observe(int64_t ms, int64_t n) {
  if (ms < 0) ms = 0;  // a clock step backwards; not worth a bucket of its own
  int b = 0;
  while (b < kBuckets - 1 && static_cast<double>(ms) > kBounds[b] * 1000) ++b;
  counts_[b].fetch_add(n, std::memory_order_relaxed);
  sum_ms_.fetch_add(ms * n, std::memory_order_relaxed);
}

void LatencyHistogram::AddTo(int64_t (&counts)[kBuckets], int64_t* sum_ms) const {
  for (int b = 0; b < kBuckets; ++b) counts[b] += counts_[b].load(std::memory_order_relaxed);
  *sum_ms += sum_ms_.load(std::memory_order_relaxed);
}

void PendingLatency::Observe(int64_t now_ms, LatencyHistogram& into) {
  for (const Entry& e : pending_) into.Observe(now_ms - e.iat_ms, e.deliveries);
  pending_.clear();  // keeps capacity
}

}  // namespace herald
