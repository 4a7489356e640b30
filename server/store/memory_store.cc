#include "server/store/memory_store.h"

#include <algorithm>

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

void MemoryStore::Append(EventRef ev) {
  std::lock_guard<std::mutex> lock(mu_);
  last_seq_ = ev->seq;
  if (!ev->InHistory()) return;  // a whisper or a presence change
  bytes_ += EventBytes(*ev);
  ring_.push_back(std::move(ev));
  TrimLocked();
}

bool MemoryStore::ReadAfter(uint64_t after_seq, size_t limit, std::vector<EventRef>* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  TrimLocked();
  if (after_seq < forgotten_seq_) return false;
  // Seqs are increasing but not contiguous (whispers are not stored).
  auto it = std::upper_bound(ring_.begin(), ring_.end(), after_seq,
                             [](uint64_t seq, const EventRef& ev) { return seq < ev->seq; });
  for (size_t n = 0; it != ring_.end() && n < limit; ++it, ++n) out->push_back(*it);
  return true;
}

uint64_t MemoryStore::OldestSeq() const {
  std::lock_guard<std::mutex> lock(mu_);
  TrimLocked();
  return ring_.empty() ? 0 : ring_.front()->seq;
}

uint64_t MemoryStore::LastSeq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_seq_;
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
