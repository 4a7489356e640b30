#include "server/flusher.h"

#include <utility>

#include "server/core/event.h"

namespace herald {

Status Flusher::Init(event_base* base, FindFn find, LatencyHistogram* latency) {
  find_ = std::move(find);
  latency_ = latency;
  flush_.reset(event_new(
      base, -1, 0, [](evutil_socket_t, short, void* self) { static_cast<Flusher*>(self)->Run(); },
      this));
  if (!flush_) return Status::Error(500, "cannot create the flush event");
  return Status::Ok();
}

void Flusher::Request(Connection* conn) {
  // Writes from handlers and timers are flushed too, still in this iteration.
  if (requests_.empty()) event_active(flush_.get(), 0, 0);
  requests_.push_back(conn->id());
}

void Flusher::Run() {
  // Runs only as the flush_ event, which Request activates: after the other
  // callbacks of this loop iteration, so their frames share a writev.
  size_t budget = kFlushSlice;
  for (;;) {
    if (flushing_next_ == flushing_.size()) {
      flushing_.clear();  // keeps capacity
      flushing_next_ = 0;
      // Flush may request more (it answers a poll, which may post).
      if (requests_.empty()) {
        pending_latency_.Observe(NowMs(), *latency_);
        return;
      }
      flushing_.swap(requests_);
    }
    if (budget == 0) break;
    --budget;
    if (Connection* c = find_(flushing_[flushing_next_++])) c->Flush();
  }
  event_active(flush_.get(), 0, 0);  // the rest in the next iteration
}

}  // namespace herald
