#include "server/store/memory_store.h"

#include <algorithm>

#include "server/core/topic.h"

namespace herald {

MemoryStore::MemoryStore(const HistoryConfig& config, uint32_t epoch,
                         std::function<int64_t()> now_ms)
    : config_(config), epoch_(epoch), now_ms_(std::move(now_ms)) {}

int64_t MemoryStore::EventBytes(const Event& ev) {
  // The control block of make_shared, the Event, its strings and the deque slot.
  return static_cast<int64_t>(sizeof(Event) + 32 + ev.id.capacity() + ev.topic.capacity() +
                              ev.head.capacity() + ev.tail.capacity() + sizeof(EventRef));
}

void MemoryStore::TrimLocked() const {
  const int64_t oldest_allowed = now_ms_() - config_.max_age_s * 1000;
  while (!ring_.empty()) {
    const Event& ev = *ring_.front();
    const bool over = static_cast<int64_t>(ring_.size()) > config_.max_events ||
                      bytes_ > config_.max_bytes || ev.iat_ms < oldest_allowed;
    if (!over) break;
    bytes_ -= EventBytes(ev);
    forgotten_seq_ = ev.seq;
    ring_.pop_front();
  }
}

void MemoryStore::SetFeed(FeedFn feed) {
  std::lock_guard<std::mutex> lock(mu_);
  feed_ = std::move(feed);
}

uint64_t MemoryStore::AppendLocked(EventRef ev) {
  const uint64_t seq = ++last_seq_;
  AssignEventSeq(ev, seq, epoch_);
  if (ev->InHistory()) {  // not a whisper, not a presence change
    bytes_ += EventBytes(*ev);
    ring_.push_back(ev);
    TrimLocked();
  }
  // Under the mutex: the feed gets ids in order, and every event fed is
  // already in history (a replay up to what a worker dispatched has no gap).
  if (feed_) feed_(std::move(ev));
  return seq;
}

void MemoryStore::Append(EventRef ev, PostFn post, std::function<void(Status, uint64_t)> done) {
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seq = AppendLocked(std::move(ev));
  }
  if (done) post([done = std::move(done), seq] { done(Status::Ok(), seq); });
}

void MemoryStore::AppendBatch(std::vector<EventRef> events, PostFn post,
                              std::function<void(Status, uint64_t)> done) {
  uint64_t first = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (EventRef& ev : events) {
      const uint64_t seq = AppendLocked(std::move(ev));
      if (first == 0) first = seq;
    }
  }
  if (done) post([done = std::move(done), first] { done(Status::Ok(), first); });
}

ReadResult MemoryStore::ReadLocked(const ReadRequest& req) const {
  ReadResult r;
  r.last_seq = last_seq_;
  TrimLocked();
  if ((req.epoch != 0 && req.epoch != epoch_) || req.after_seq < forgotten_seq_) {
    r.covered = false;
    return r;
  }
  // Seqs are increasing but not contiguous (whispers are not stored).
  auto it = std::upper_bound(ring_.begin(), ring_.end(), req.after_seq,
                             [](uint64_t seq, const EventRef& ev) { return seq < ev->seq; });
  for (; it != ring_.end() && r.events.size() < req.limit; ++it) {
    const std::string& topic = (*it)->topic;
    // The symmetric matcher live delivery's index implements: the events a
    // subscriber of these filters would have been offered live.
    for (const std::string& f : req.filters) {
      if (TopicsMatch(f, topic)) {
        r.events.push_back(*it);
        break;
      }
    }
  }
  return r;
}

void MemoryStore::Read(ReadRequest req, PostFn post, std::function<void(ReadResult)> done) {
  ReadResult r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    r = ReadLocked(req);
  }
  post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

uint64_t MemoryStore::LastSeq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_seq_;
}

StoreStatus MemoryStore::status() const {
  StoreStatus s;
  s.kind = "memory";
  s.state = "up";
  return s;
}

HistoryStats MemoryStore::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  TrimLocked();
  HistoryStats s;
  s.count = static_cast<int64_t>(ring_.size());
  s.bytes = bytes_;
  s.oldest_seq = ring_.empty() ? 0 : ring_.front()->seq;
  s.last_seq = last_seq_;
  return s;
}

}  // namespace herald
