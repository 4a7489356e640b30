// MemoryStore: the one-node Store. History is a ring (a deque in seq order)
// bounded by count, bytes and age (history.max_events, history.max_bytes,
// history.max_age_s); the oldest events go first. The epoch is drawn at
// construction, so cursors from before a restart are told apart.
//
// Threading: one mutex guards the ids and the ring. Append assigns the id,
// retains the event and feeds it under that mutex, so the feed sees ids in
// order; a read scans the ring under it (at most history.max_events events).
// Completions go through the caller's PostFn, after the mutex is released,
// never inline: callers take the same asynchronous path as with Redis.
#pragma once

#include <deque>
#include <functional>
#include <mutex>

#include "server/core/config.h"
#include "server/store/store.h"

namespace herald {

class MemoryStore : public Store {
 public:
  // `now_ms` is the clock used for max_age_s (tests pass a fake one).
  MemoryStore(const HistoryConfig& config, uint32_t epoch, std::function<int64_t()> now_ms = NowMs);

  void SetFeed(FeedFn feed) override;
  void Append(EventRef ev, PostFn post, std::function<void(Status, uint64_t)> done) override;
  // Under one lock: the batch's ids are consecutive and no other append
  // comes between its events.
  void AppendBatch(std::vector<EventRef> events, PostFn post,
                   std::function<void(Status, uint64_t)> done) override;
  void Read(ReadRequest req, PostFn post, std::function<void(ReadResult)> done) override;
  void Watch(const std::string&) override {}  // every event is fed here anyway
  void Unwatch(const std::string&) override {}
  uint32_t epoch() const override { return epoch_; }
  uint64_t LastSeq() const override;
  StoreStatus status() const override;
  HistoryStats Stats() const override;

  // What one retained event is counted as against history.max_bytes.
  static int64_t EventBytes(const Event& ev);

 private:
  // Assigns the next seq, retains and feeds `ev`; returns its seq. REQUIRES: mu_ held.
  uint64_t AppendLocked(EventRef ev);
  // Drops events past the bounds. REQUIRES: mu_ held.
  void TrimLocked() const;
  ReadResult ReadLocked(const ReadRequest& req) const;

  const HistoryConfig config_;
  const uint32_t epoch_;
  const std::function<int64_t()> now_ms_;
  FeedFn feed_;  // set once before the first Append
  mutable std::mutex mu_;
  // Trimming by age happens on reads too, hence mutable.
  mutable std::deque<EventRef> ring_;
  mutable int64_t bytes_ = 0;
  // The newest seq ever forgotten: cursors below it are not covered.
  mutable uint64_t forgotten_seq_ = 0;
  uint64_t last_seq_ = 0;
};

}  // namespace herald
