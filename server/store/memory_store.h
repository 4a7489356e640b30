// MemoryStore: the one-node Store. History is a ring (a deque in seq order)
// bounded by count, bytes and age (history.max_events, history.max_bytes,
// history.max_age_s); the oldest events go first. The epoch is drawn at
// construction, so cursors from before a restart are told apart.
//
// Threading: one mutex guards the ring. Append runs under the Hub's mutex as
// well; readers hold the store's mutex only while they copy one slice.
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

  uint32_t epoch() const override { return epoch_; }
  void Append(EventRef ev) override;
  bool ReadAfter(uint64_t after_seq, size_t limit, std::vector<EventRef>* out) const override;
  uint64_t OldestSeq() const override;
  uint64_t LastSeq() const override;
  HistoryStats Stats() const override;

  // What one retained event is counted as against history.max_bytes.
  static int64_t EventBytes(const Event& ev);

 private:
  // Drops events past the bounds. REQUIRES: mu_ held.
  void TrimLocked() const;

  const HistoryConfig config_;
  const uint32_t epoch_;
  const std::function<int64_t()> now_ms_;
  mutable std::mutex mu_;
  // Trimming by age happens on reads too, hence mutable.
  mutable std::deque<EventRef> ring_;
  mutable int64_t bytes_ = 0;
  // The newest seq ever forgotten: cursors below it are not covered.
  mutable uint64_t forgotten_seq_ = 0;
  uint64_t last_seq_ = 0;
};

}  // namespace herald
