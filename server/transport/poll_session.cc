#include "server/transport/poll_session.h"

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
// History events examined per answer: past this an answer goes out (perhaps
// empty, with the cursor moved on) rather than keep the loop busy.
constexpr size_t kMaxScan = 50000;
constexpr size_t kReadSlice = 256;
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

void PollConnection::Flush() {
  flush_requested_ = false;
  if (held_) AnswerHeld(false);
}

size_t PollConnection::Collect(uint64_t* after_seq, std::string* events) {
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
  std::vector<EventRef> slice;
  std::string json;
  size_t scanned = 0, batch = 0, w = 0;
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
  bool more = true;
  while (more && batch < max_batch && scanned < kMaxScan) {
    slice.clear();
    if (!store.ReadAfter(*after_seq, kReadSlice, &slice)) {
      // History no longer covers the cursor: say so, and go on from now.
      add(ControlJson(NowMs(), kServerTopic, kServerTopic, "reset",
                      ResetDetailJson(ResetReason::kTrimmed, store)));
      *after_seq = store.LastSeq();
      break;
    }
    more = slice.size() == kReadSlice;
    for (const EventRef& ev : slice) {
      if (batch >= max_batch) {
        more = false;
        break;
      }
      add_whispers_before(ev->seq);
      ++scanned;
      *after_seq = ev->seq;
      std::string_view filter = DeliveryFilter(*this, *ev, now);
      if (filter.empty()) continue;
      json.clear();
      AppendEventJson(&json, *ev, filter);
      add(json);
      ++batch;
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

void PollConnection::AnswerHeld(bool even_if_empty) {
  std::string events;
  uint64_t after = held_after_;
  const size_t n = Collect(&after, &events);
  held_after_ = after;
  if (n == 0 && !even_if_empty) return;  // keep holding
  Responder reply = std::move(held_reply_);
  held_ = false;
  held_reply_ = nullptr;
  if (timer_) event_del(timer_.get());
  worker_->ResumeTimeout(this);
  Answer(std::move(reply), after, events);
}

void PollConnection::OnTimer(evutil_socket_t, short, void* self) {
  auto* conn = static_cast<PollConnection*>(self);
  if (conn->held_) conn->AnswerHeld(true);
}

void PollConnection::Poll(std::string_view since, int64_t timeout_ms, uint64_t token,
                          Responder reply) {
  if (held_) {
    // A newer poll replaces the held one, which gets an empty answer.
    Responder old = std::move(held_reply_);
    held_ = false;
    held_reply_ = nullptr;
    if (timer_) event_del(timer_.get());
    Answer(std::move(old), held_after_, "");
  }
  const Store& store = worker_->ctx().hub->store();
  uint64_t after = store.LastSeq();
  std::string events;
  if (!since.empty()) {
    ResumePoint p = ResolveCursor(since, store);
    if (p.reset != ResetReason::kNone) {
      // After a reset the session goes on from now (as SSE goes live).
      events = ControlJson(NowMs(), kServerTopic, kServerTopic, "reset",
                           ResetDetailJson(p.reset, store));
      LogDebug("poll", id(), "reset (%s)", ResetReasonName(p.reset));
    } else {
      after = p.after_seq;
    }
  }
  std::string more;
  const size_t n = Collect(&after, &more);
  if (n > 0) {
    if (!events.empty()) events.push_back(',');
    events += more;
  }
  if (!events.empty() || timeout_ms <= 0) {
    worker_->ResumeTimeout(this);
    Answer(std::move(reply), after, events);
    return;
  }
  held_ = true;
  held_reply_ = std::move(reply);
  held_after_ = after;
  held_token_ = token;
  worker_->PauseTimeout(this);
  if (!timer_) timer_.reset(event_new(worker_->base(), -1, 0, &PollConnection::OnTimer, this));
  timeval tv = {static_cast<time_t>(timeout_ms / 1000),
                static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
  // A hold that cannot time out ends now: the client polls again at once.
  if (!AddEvent(timer_.get(), &tv, "poll", "hold timeout")) {
    event_active(timer_.get(), EV_TIMEOUT, 0);
  }
}

void PollConnection::CancelPoll(uint64_t token) {
  if (!held_ || held_token_ != token) return;
  held_ = false;
  held_reply_ = nullptr;
  if (timer_) event_del(timer_.get());
  worker_->ResumeTimeout(this);
}

void PollConnection::End(CloseReason reason) {
  if (!held_) return;
  std::string detail =
      "{\"reason\":" + JsonString(close_text.empty() ? CloseReasonName(reason) : close_text) + "}";
  SendServerEvent(this, "disconnect", detail);
  AnswerHeld(true);
}

void PollConnection::Abandon() {
  held_ = false;
  held_reply_ = nullptr;
}

}  // namespace herald
