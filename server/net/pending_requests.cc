#include "server/net/pending_requests.h"

#include <utility>
#include <vector>

namespace herald {

PendingRequests::PendingRequests(size_t max, int64_t timeout_ms, Fn cut, Fn release)
    : max_(max ? max : 1),
      timeout_ms_(timeout_ms),
      cut_(std::move(cut)),
      release_(std::move(release)) {}

PendingRequests::~PendingRequests() {
  for (auto& [conn, generation] : armed_) release_(conn);
}

bool PendingRequests::Arm(void* conn, int64_t now_ms) {
  auto [it, fresh] = armed_.try_emplace(conn, 0);
  it->second = next_generation_++;
  queue_.push_back(Entry{conn, it->second, now_ms + timeout_ms_});
  if (fresh && armed_.size() > max_) CutOldest();  // never conn: it is the newest
  return fresh;
}

void PendingRequests::Disarm(void* conn) {
  if (armed_.erase(conn)) release_(conn);
  // Its queue entry goes stale; trim stale entries at the front now and
  // then, so a busy kept-alive connection does not grow the queue.
  while (!queue_.empty()) {
    auto it = armed_.find(queue_.front().conn);
    if (it != armed_.end() && it->second == queue_.front().generation) break;
    queue_.pop_front();
  }
}

void PendingRequests::Expire(int64_t now_ms) {
  while (!queue_.empty() && queue_.front().deadline_ms <= now_ms) {
    const Entry e = queue_.front();
    queue_.pop_front();
    auto it = armed_.find(e.conn);
    if (it == armed_.end() || it->second != e.generation) continue;  // stale
    CutArmed(e.conn);
  }
}

void PendingRequests::Prune(const std::function<bool(void*)>& gone) {
  std::vector<void*> dead;
  for (auto& [conn, generation] : armed_) {
    if (gone(conn)) dead.push_back(conn);
  }
  for (void* conn : dead) Disarm(conn);
}

void PendingRequests::CutOldest() {
  while (!queue_.empty()) {
    const Entry e = queue_.front();
    queue_.pop_front();
    auto it = armed_.find(e.conn);
    if (it == armed_.end() || it->second != e.generation) continue;
    CutArmed(e.conn);
    return;
  }
}

void PendingRequests::CutArmed(void* conn) {
  armed_.erase(conn);
  ++cut_count_;
  cut_(conn);
  release_(conn);
}

}  // namespace herald
