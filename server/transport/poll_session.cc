#include "server/transport/poll_session.h"

#include <algorithm>

#include "server/context.h"
#include "server/delivery_policy.h"
#include "server/hub.h"
#include "server/store/store.h"
#include "server/util/event_add.h"
#include "server/util/json.h"
#include "server/util/log.h"

namespace herald {
namespace {
// Bounds on what a session keeps between polls; the oldest go first.
constexpr size_t kMaxControls = 64;
constexpr size_t kMaxWhispers = 1000;
// History events read per answer at least (matching ones only; poll.max_batch
// bounds what goes out).
constexpr size_t kMinReadLimit = 1000;
}  // namespace

PollConnection::PollConnection(uint64_t id, ConnectionHost* worker)
    : Connection(id, Transport::kPoll), worker_(worker) {}

void PollConnection::Deliver(FrameCache& frames) {
  if (!frames.event().InHistory() && frames.ref()) {
    if (whispers_.size() >= kMaxWhispers) {
      pending_bytes_ -= whispers_.front().first->tail.size();
      whispers_.erase(whispers_.begin());
      Add(worker_->ctx().stats.dropped);
    }
    whispers_.emplace_back(*frames.ref(), std::string(frames.filter()));
    pending_bytes_ += frames.event().tail.size();
  }
  if (held_ && !flush_requested_) {
    flush_requested_ = true;
    worker_->RequestFlush(this);
  }
}

void PollConnection::SendControl(std::string_view, std::string_view json) {
  if (controls_.size() >= kMaxControls) {
    pending_bytes_ -= controls_.front().size();
    controls_.erase(controls_.begin());
  }
  controls_.emplace_back(json);
  pending_bytes_ += json.size();
  if (held_ && !flush_requested_) {
    flush_requested_ = true;
    worker_->RequestFlush(this);
  }
}

void PollConnection::OnEpochChanged(std::string_view reset_json) {
  if (held_) {
    // The held poll's cursor is of the old epoch: from the new ids' start.
    held_after_ = 0;
    read_epoch_ = 0;
    prefix_ = std::string(reset_json);
    if (!flush_requested_) {
      flush_requested_ = true;
      worker_->RequestFlush(this);
    }
    return;
  }
  epoch_reset_ = std::string(reset_json);
}

void PollConnection::Flush() {
  flush_requested_ = false;
  if (held_) AnswerHeld(false);
}

size_t PollConnection::Collect(const ReadResult* read, uint64_t* after_seq, std::string* events) {
  size_t count = 0;
  auto add = [&](std::string_view json) {
    if (!events->empty()) events->push_back(',');
    events->append(json);
    ++count;
  };
  for (const std::string& c : controls_) add(c);
  controls_.clear();

  const ServerContext& ctx = worker_->ctx();
  const Store& store = ctx.hub->store();
  const size_t max_batch = static_cast<size_t>(ctx.config.poll.max_batch);
  std::string json;
  size_t batch = 0, w = 0;
  const int64_t now = NowMs();
  auto add_whispers_before = [&](uint64_t seq) {
    for (; w < whispers_.size() && whispers_[w].first->seq < seq && batch < max_batch; ++w) {
      // Decided again: the token may have expired since the whisper came.
      if (!MayReceive(*this, *whispers_[w].first, whispers_[w].second, now)) continue;
      json.clear();
      AppendEventJson(&json, *whispers_[w].first, whispers_[w].second);
      add(json);
      ++batch;
    }
  };
  // No read: the session is ending (End), or the store could not answer;
  // the cursor stays where it is, so nothing in history is skipped.
  if (read && read->status.ok() && !read->covered) {
    // History no longer covers the cursor: say so, and go on from now.
    const ResetReason why = read_epoch_ != 0 && read_epoch_ != store.epoch()
                                ? ResetReason::kEpoch
                                : ResetReason::kTrimmed;
    add(ControlJson(NowMs(), kServerTopic, kServerTopic, "reset", ResetDetailJson(why, store)));
    *after_seq = read->last_seq;
  } else if (read && read->status.ok()) {
    bool all = true;
    for (const EventRef& ev : read->events) {
      if (batch >= max_batch) {
        all = false;
        break;
      }
      add_whispers_before(ev->seq);
      *after_seq = ev->seq;
      std::string_view filter = DeliveryFilter(*this, *ev, now);
      if (filter.empty()) continue;
      json.clear();
      AppendEventJson(&json, *ev, filter);
      add(json);
      ++batch;
    }
    // The store had nothing more for these filters up to last_seq.
    if (all && read->events.size() < ReadLimit()) {
      *after_seq = std::max(*after_seq, read->last_seq);
    }
  }
  add_whispers_before(UINT64_MAX);
  whispers_.erase(whispers_.begin(), whispers_.begin() + static_cast<std::ptrdiff_t>(w));
  pending_bytes_ = 0;
  for (const auto& kept : whispers_) pending_bytes_ += kept.first->tail.size();
  return count;
}

void PollConnection::Answer(Responder reply, uint64_t after_seq, const std::string& events) {
  const uint32_t epoch = worker_->ctx().hub->epoch();
  reply(HttpResponse::Json("{\"connid\":" + std::to_string(id()) +
                           ",\"secret\":" + JsonString(secret) + ",\"events\":[" + events +
                           "],\"cursor\":\"" + FormatEventId(epoch, after_seq) + "\"}"));
}

size_t PollConnection::ReadLimit() const {
  return std::max(kMinReadLimit, static_cast<size_t>(worker_->ctx().config.poll.max_batch));
}

void PollConnection::StartRead() {
  if (reading_) {
    reread_ = true;  // something came meanwhile: look again once this read is in
    return;
  }
  reading_ = true;
  reread_ = false;
  ReadRequest req;
  for (auto* sub : subscriptions) req.filters.emplace_back(ConnectionIndex::FilterOf(sub));
  req.after_seq = held_after_;
  req.epoch = read_epoch_;
  req.limit = ReadLimit();
  ConnectionHost* w = worker_;
  const uint64_t connid = id();
  const uint64_t generation = generation_;
  worker_->ctx().hub->store().Read(
      std::move(req), w->LoopPost(), [w, connid, generation](ReadResult r) {
        // By connid: the session may have ended while the store answered.
        Connection* c = w->Find(connid);
        if (!c || c->transport() != Transport::kPoll) return;
        static_cast<PollConnection*>(c)->OnRead(generation, std::move(r));
      });
}

void PollConnection::OnRead(uint64_t generation, ReadResult r) {
  if (generation != generation_ || !held_) return;  // that poll was answered or replaced
  reading_ = false;
  if (!r.status.ok()) {
    LogInfo("poll", id(), "store read failed: %s", r.status.reason().c_str());
  }
  std::string events = std::move(prefix_);
  prefix_.clear();
  uint64_t after = held_after_;
  std::string more;
  const size_t n = Collect(&r, &after, &more);
  if (n > 0) {
    if (!events.empty()) events.push_back(',');
    events += more;
  }
  held_after_ = after;
  read_epoch_ = 0;  // the cursor is of the current epoch from here
  if (events.empty() && !answer_now_) {
    // An event came while the store answered, or the read stopped at its
    // limit with nothing this session may see: look further.
    if (reread_ || r.events.size() >= ReadLimit()) StartRead();
    return;  // keep holding
  }
  AnswerPending(events);
}

void PollConnection::AnswerPending(const std::string& events) {
  Responder reply = std::move(held_reply_);
  held_ = false;
  held_reply_ = nullptr;
  reading_ = false;
  ++generation_;
  if (timer_) event_del(timer_.get());
  worker_->ResumeTimeout(this);
  Answer(std::move(reply), held_after_, events);
}

void PollConnection::AnswerHeld(bool even_if_empty) {
  if (even_if_empty) answer_now_ = true;
  StartRead();
}

void PollConnection::OnTimer(evutil_socket_t, short, void* self) {
  auto* conn = static_cast<PollConnection*>(self);
  if (conn->held_) conn->AnswerHeld(true);
}

void PollConnection::Poll(std::string_view since, int64_t timeout_ms, uint64_t token,
                          Responder reply) {
  // A newer poll replaces the one pending, which gets an empty answer.
  if (held_) AnswerPending("");
  const Store& store = worker_->ctx().hub->store();
  held_after_ = store.LastSeq();
  read_epoch_ = 0;
  // Told once: by this, or by a cursor of the old epoch below.
  prefix_ = std::move(epoch_reset_);
  epoch_reset_.clear();
  if (!since.empty()) {
    ResumePoint p = ResolveCursor(since, store);
    if (p.reset != ResetReason::kNone) {
      // After a reset the session goes on from now (as SSE goes live).
      prefix_ = ControlJson(NowMs(), kServerTopic, kServerTopic, "reset",
                            ResetDetailJson(p.reset, store));
      LogDebug("poll", id(), "reset (%s)", ResetReasonName(p.reset));
    } else {
      held_after_ = p.after_seq;
      read_epoch_ = p.epoch;
    }
  }
  held_ = true;
  held_reply_ = std::move(reply);
  held_token_ = token;
  answer_now_ = timeout_ms <= 0;
  worker_->PauseTimeout(this);
  if (timeout_ms > 0) {
    if (!timer_) timer_.reset(event_new(worker_->base(), -1, 0, &PollConnection::OnTimer, this));
    timeval tv = {static_cast<time_t>(timeout_ms / 1000),
                  static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
    // A hold that cannot time out ends now: the client polls again at once.
    if (!AddEvent(timer_.get(), &tv, "poll", "hold timeout")) answer_now_ = true;
  }
  StartRead();
}

void PollConnection::CancelPoll(uint64_t token) {
  if (!held_ || held_token_ != token) return;
  held_ = false;
  held_reply_ = nullptr;
  reading_ = false;
  ++generation_;  // a read in flight is dropped
  if (timer_) event_del(timer_.get());
  worker_->ResumeTimeout(this);
}

void PollConnection::Close(CloseReason reason) {
  if (!held_) return;
  std::string detail =
      "{\"reason\":" + JsonString(close_text.empty() ? CloseReasonName(reason) : close_text) + "}";
  SendServerEvent(this, "disconnect", detail);
  // The session is going now: no history read (it would answer after the
  // session is gone). The cursor stays before anything unread, so a resume
  // from it misses nothing.
  std::string events = std::move(prefix_);
  prefix_.clear();
  std::string more;
  uint64_t after = held_after_;
  if (Collect(nullptr, &after, &more) > 0) {
    if (!events.empty()) events.push_back(',');
    events += more;
  }
  AnswerPending(events);
}

void PollConnection::Abandon() {
  held_ = false;
  held_reply_ = nullptr;
  ++generation_;
}

}  // namespace herald
