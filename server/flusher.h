// Flusher: one write per dirty connection per loop iteration. A connection
// that queued bytes (an event, a control frame, a poll to answer) asks once
// (Request); after the other callbacks of this loop iteration have run, the
// flusher calls each one's Connection::Flush, so frames queued by several
// callbacks share a writev. At most kFlushSlice connections per iteration:
// between slices the loop takes new publishes (the private API runs on this
// loop too), so under load the frames of several events leave in one writev
// per connection; a light load is one slice anyway.
//
// It also measures publish-to-write latency: deliveries noted (NoteDelivery)
// are observed, with the time of the flush that wrote them, into a histogram
// once every requested flush is done.
//
// Threading: the owning worker's loop thread only. Connections are named by
// connid, so one closed before its flush is skipped.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "server/core/metrics.h"
#include "server/transport/connection.h"
#include "server/util/c_handles.h"
#include "server/util/status.h"

namespace herald {

class Flusher {
 public:
  // The live connection named `connid`, or nullptr.
  using FindFn = std::function<Connection*(uint64_t connid)>;
  // Connections flushed per loop iteration: ~1 ms of writev.
  static constexpr size_t kFlushSlice = 256;

  Flusher() = default;
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  // Before the loop runs. `latency` outlives this.
  Status Init(event_base* base, FindFn find, LatencyHistogram* latency);
  // Calls conn->Flush() once at the end of this loop iteration's work (the
  // connection asks once per batch: it keeps its own dirty flag).
  void Request(Connection* conn);
  // A live delivery of an event published at iat_ms, written by the next flush.
  void NoteDelivery(int64_t iat_ms) { pending_latency_.Note(iat_ms); }

 private:
  void Run();

  FindFn find_;
  LatencyHistogram* latency_ = nullptr;
  EventPtr flush_;                  // runs Run after whatever callback requested one
  std::vector<uint64_t> requests_;  // connids asking for a flush
  std::vector<uint64_t> flushing_;  // connids being flushed, slice by slice
  size_t flushing_next_ = 0;
  PendingLatency pending_latency_;  // deliveries not yet flushed
};

}  // namespace herald
