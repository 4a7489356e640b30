// PendingRequests: the connections of one listener on one worker whose
// request has not fully arrived yet (slowloris defence). Each is armed with a
// deadline when it is accepted (or when its previous answer completed on a
// kept-alive connection) and disarmed when its request is complete. A
// connection still armed at its deadline is cut; past `max` armed
// connections the oldest is cut to make room, so a flood of trickling
// connections churns through a bounded budget instead of filling the
// listener, and a prompt client always gets in.
//
// Cost: O(1) per arm/disarm; deadlines share one duration, so a FIFO queue
// keeps them sorted; stale queue entries (disarmed, or re-armed later) are
// skipped by generation.
//
// Threading: the owning worker's loop thread only. Connections are opaque
// keys; `cut` and `release` are the listener's (cut: close the connection
// soon; release: called once whenever a key is forgotten, cut or not).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>

namespace herald {

class PendingRequests {
 public:
  using Fn = std::function<void(void* conn)>;
  PendingRequests(size_t max, int64_t timeout_ms, Fn cut, Fn release);
  ~PendingRequests();
  PendingRequests(const PendingRequests&) = delete;
  PendingRequests& operator=(const PendingRequests&) = delete;

  // Starts (or restarts) conn's deadline; may cut the oldest armed one.
  // True if conn was not armed yet (`release` will be called for it once).
  bool Arm(void* conn, int64_t now_ms);
  // Its request is complete, or it is gone: forget it.
  void Disarm(void* conn);
  // Cuts every connection past its deadline.
  void Expire(int64_t now_ms);
  // Forgets every armed connection for which `gone(conn)` is true.
  void Prune(const std::function<bool(void*)>& gone);
  size_t size() const { return armed_.size(); }
  // Connections cut so far (deadline or room).
  uint64_t cut_count() const { return cut_count_; }

 private:
  struct Entry {
    void* conn;
    uint64_t generation;
    int64_t deadline_ms;
  };
  void CutOldest();
  void CutArmed(void* conn);

  const size_t max_;
  const int64_t timeout_ms_;
  const Fn cut_;
  const Fn release_;
  std::unordered_map<void*, uint64_t> armed_;  // conn -> generation of its live entry
  std::deque<Entry> queue_;                    // by deadline; may hold stale entries
  uint64_t next_generation_ = 1;
  uint64_t cut_count_ = 0;
};

}  // namespace herald
