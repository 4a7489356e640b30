// Counters read by /state, /memory and /metrics. Each worker writes only its
// own WorkerStats (relaxed atomics: ops read them from other threads and a
// slightly stale figure is fine); node-wide counters live in NodeStats.
#pragma once

#include <atomic>
#include <cstdint>

#include "server/core/metrics.h"
#include "server/core/reject_cause.h"
#include "server/core/session_kinds.h"

namespace herald {

using Counter = std::atomic<int64_t>;

inline void Add(Counter& c, int64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
inline int64_t Read(const Counter& c) { return c.load(std::memory_order_relaxed); }

struct WorkerStats {
  Counter connections[kTransportCount] = {};
  Counter delivered{0};  // event frames queued to subscribers
  Counter events_in{0};  // events this worker matched
  Counter replayed{0};   // history events replayed to resuming subscribers
  Counter filters{0};    // subscriptions in this worker's index
  Counter connection_bytes{0};
  LatencyHistogram publish_to_write;  // see server/core/metrics.h
};

struct NodeStats {
  Counter published{0};
  Counter dropped{0};  // deliveries lost because their subscriber was closed as slow
  Counter closed[kCloseReasonCount] = {};
  Counter rejected_limit{0};      // connections refused by a limit
  Counter rejected_bad{0};        // requests refused as malformed
  Counter open_connections{0};    // admitted against limits.max_connections
  Counter open_poll_sessions{0};  // admitted against limits.max_poll_sessions
  Counter slow_requests{
      0};  // connections cut: request not in by limits.request_timeout_ms, or no room
  Counter open_private_streams{0};           // GET /state/stream readers (private listener)
  Counter rejected[kRejectCauseCount] = {};  // answers >= 400 by cause (CountRejection)
};

// Refusals of one cause: the answers counted under it, and for kTimeout the
// connections cut without an answer too (slow_requests).
inline int64_t Rejected(const NodeStats& s, RejectCause c) {
  const int64_t answered = Read(s.rejected[static_cast<int>(c)]);
  return c == RejectCause::kTimeout ? answered + Read(s.slow_requests) : answered;
}

}  // namespace herald
