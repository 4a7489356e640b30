#include "server/replayer.h"

#include <algorithm>

#include "server/context.h"
#include "server/delivery_policy.h"
#include "server/hub.h"
#include "server/util/event_add.h"
#include "server/util/log.h"
#include "server/worker.h"

namespace herald {
namespace {
// A store that could not answer is asked again after this long.
constexpr int kRetryMs = 500;
// A paused replay (its client reads slowly) looks again after this long.
constexpr int kPausedMs = 10;
}  // namespace

Replayer::Replayer(Worker* worker) : worker_(worker) {}

void Replayer::Init() {
  timer_.reset(event_new(
      worker_->base(), -1, 0,
      [](evutil_socket_t, short, void* self) { static_cast<Replayer*>(self)->RunWaiting(); },
      this));
}

size_t Replayer::PauseAt() const {
  // Keep half the output cap free for live traffic and heartbeats.
  return static_cast<size_t>(worker_->ctx().config.limits.max_output_buffer_bytes) / 2;
}

void Replayer::SendReset(Connection* conn, ResetReason reason) {
  LogDebug("replay", conn->id(), "resume: reset (%s)", ResetReasonName(reason));
  SendServerEvent(conn, "reset", ResetDetailJson(reason, worker_->ctx().hub->store()));
}

void Replayer::Start(Connection* conn, std::string_view cursor) {
  ResumePoint p = ResolveCursor(cursor, worker_->ctx().hub->store());
  if (p.reset != ResetReason::kNone) {
    SendReset(conn, p.reset);
    return;
  }
  conn->replaying = true;
  conn->replay_after = p.after_seq;
  conn->replay_epoch = p.epoch;
  conn->last_seq = p.after_seq;  // the replay covers what Adopt's start skipped
  ReadNext(conn);
}

void Replayer::StartFrom(Connection* conn, uint64_t after_seq) {
  if (conn->replaying) return;  // a replay under way reads these filters too
  conn->replaying = true;
  conn->replay_after = after_seq;
  conn->replay_epoch = worker_->ctx().hub->epoch();
  ReadNext(conn);
}

void Replayer::OnFed(Connection* conn) {
  if (conn->unfed_filters > 0 || !conn->replay_parked) return;
  conn->replay_parked = false;
  if (conn->replay_epoch == 0) {
    // It came before the node first reached the store: no cursor then. It
    // starts from what the node knows now (the store feeds only once its
    // epoch is known, RedisStore::IsFed).
    conn->replay_epoch = worker_->ctx().hub->epoch();
    conn->replay_after = std::max(conn->replay_after, worker_->ctx().hub->LastSeq());
    conn->last_seq = std::max(conn->last_seq, conn->replay_after);
  }
  if (conn->replaying && !conn->closing) ReadNext(conn);
}

void Replayer::ReadNext(Connection* conn) {
  if (conn->unfed_filters > 0) {
    conn->replay_parked = true;  // OnFed reads on
    return;
  }
  ReadRequest req;
  req.filters.reserve(conn->subscriptions.size());
  for (auto* sub : conn->subscriptions) {
    req.filters.emplace_back(ConnectionIndex::FilterOf(sub));
  }
  req.after_seq = conn->replay_after;
  req.epoch = conn->replay_epoch;
  req.limit = kSliceEvents;
  Worker* w = worker_;
  const uint64_t connid = conn->id();
  worker_->ctx().hub->store().Read(std::move(req), w->LoopPost(),
                                   [this, connid](ReadResult r) { OnRead(connid, std::move(r)); });
}

void Replayer::OnRead(uint64_t connid, ReadResult result) {
  // By connid: the connection may have gone while the store answered.
  Connection* c = worker_->Find(connid);
  if (!c || c->closing || !c->replaying) return;
  if (!result.status.ok()) {
    LogInfo("replay", connid, "store read failed (%s), retrying", result.status.reason().c_str());
    Wait(connid, kRetryMs);
    return;
  }
  if (!result.covered) {
    // History was trimmed past the cursor (before or during the replay), or
    // the store lost its data (a new epoch).
    const bool epoch_changed = c->replay_epoch != worker_->ctx().hub->epoch();
    SendReset(c, epoch_changed ? ResetReason::kEpoch : ResetReason::kTrimmed);
    Finish(c);
    worker_->CloseSlow();
    return;
  }
  bool paused = false;
  const bool over = DeliverSlice(c, result, &paused);
  worker_->CloseSlow();
  if (over) return;
  if (paused) return Wait(connid, kPausedMs);
  ReadNext(c);
}

bool Replayer::DeliverSlice(Connection* c, const ReadResult& result, bool* paused) {
  // Everything up to here has passed this worker's live delivery, which
  // skipped this connection (see the header).
  uint64_t boundary = worker_->last_dispatched_seq();
  // A store that feeds only what this node watches may never feed what the
  // read saw (see the header): all of it is delivered from here.
  if (!worker_->ctx().hub->store().FeedsEveryEvent()) {
    boundary = std::max(boundary, result.last_seq);
  }
  // A filter not fed yet: what the read found is delivered, but the replay
  // goes on (parked) until it is, and reads again.
  const bool unfed = c->unfed_filters > 0;
  for (const EventRef& ref : result.events) {
    const Event& ev = *ref;
    if (ev.seq > boundary) {
      if (unfed) return false;
      Finish(c);  // the rest is still in (or on its way to) the inbox: live from here
      return true;
    }
    ReleaseHeld(c, ev.seq);
    c->replay_after = ev.seq;
    if (c->last_seq >= ev.seq) continue;
    std::string_view filter = DeliveryFilter(*c, ev, NowMs());
    if (filter.empty()) continue;
    c->last_seq = ev.seq;
    frames_.Reset(&ev, filter, &ref);
    worker_->DeliverTo(c, frames_);
    Add(worker_->stats_.replayed);
    if (c->closing) return true;  // closed as slow: nothing more to replay
    if (c->PendingBytes() > PauseAt()) {
      *paused = true;  // the rest waits for the client
      return false;
    }
  }
  if (result.events.size() >= kSliceEvents) return false;  // more to read
  // The store saw nothing more for these filters up to result.last_seq.
  if (result.last_seq >= boundary && !unfed) {
    Finish(c);
    return true;
  }
  // Events in (last_seq, boundary] went past live delivery after the store
  // answered: read them.
  c->replay_after = std::max(c->replay_after, result.last_seq);
  return false;
}

void Replayer::ReleaseHeld(Connection* c, uint64_t before_seq) {
  while (!c->held_whispers.empty() && c->held_whispers.front()->seq < before_seq) {
    const EventRef w = c->held_whispers.front();
    c->held_whispers.erase(c->held_whispers.begin());
    std::string_view wf = DeliveryFilter(*c, *w, NowMs());
    if (wf.empty()) continue;
    frames_.Reset(w.get(), wf, &w);
    worker_->DeliverTo(c, frames_);
  }
}

void Replayer::Finish(Connection* c) {
  c->replaying = false;
  ReleaseHeld(c, UINT64_MAX);
  LogDebug("replay", c->id(), "resume: replay done, live from seq %llu",
           static_cast<unsigned long long>(worker_->last_dispatched_seq()));
}

void Replayer::Wait(uint64_t connid, int delay_ms) {
  waiting_.push_back(connid);
  if (timer_pending_) return;
  timer_pending_ = true;
  // A timer rather than event_active: it runs after the next poll for I/O,
  // so paused replays and other connections' traffic take turns.
  timeval tv = {0, delay_ms * 1000};
  if (!AddEvent(timer_.get(), &tv, "replay", "wait")) {
    event_active(timer_.get(), EV_TIMEOUT, 0);  // try now rather than never
  }
}

void Replayer::RunWaiting() {
  timer_pending_ = false;
  std::vector<uint64_t> ids;
  ids.swap(waiting_);
  for (uint64_t id : ids) {
    Connection* c = worker_->Find(id);
    if (!c || c->closing || !c->replaying) continue;
    if (c->PendingBytes() > PauseAt()) {
      Wait(id, kPausedMs);
      continue;
    }
    ReadNext(c);
  }
}

}  // namespace herald
