// Deadlines: the clocks of one worker's connections, and what happens when
// one passes.
//   - idle timeout: the connection ends `timeout` unless /alive restarts it
//     (paused while a poll session holds a poll, absent for an SSE stream
//     without a timeout);
//   - heartbeat: the transport's keep-alive frame, every heartbeat period;
//   - auth, for a space connection: a pending one ends `unauthorized` at its
//     auth deadline; a token gets `auth_expiring` auth.expiring_notice_s
//     before its exp, and ends `unauthorized` at exp + leeway (the same
//     instant TokenExpired, checked before every delivery, says so).
//
// Cost: Run(now) touches only what is due, whatever the number of
// connections. Timeouts and heartbeats sit in one intrusive list per
// transport: within a list every deadline has one duration, so appending
// keeps it sorted and Run looks at the heads. Auth deadlines have no common
// duration: each watched connection has one entry, keyed by its next due
// time, in a min-heap; an entry made stale by a reschedule or by Forget is
// dropped when it surfaces (and the heap is rebuilt when stale entries
// outnumber live ones), so nothing is ever scanned per tick.
//
// Threading: the owning worker's loop thread only. Run is driven by the
// worker's tick; times are ms since the Unix epoch, passed in (the tests
// drive the clock).
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "server/core/config.h"
#include "server/transport/connection.h"
#include "server/util/intrusive_list.h"

namespace herald {

class Deadlines {
 public:
  // Ends a connection whose deadline passed. Must call Forget(conn) (the
  // worker's Close does, through Worker::Forget) before destroying it.
  using CloseFn = std::function<void(Connection* conn, CloseReason reason)>;
  // `config` outlives this; its durations are read when a clock starts.
  Deadlines(const Config* config, CloseFn close);
  Deadlines(const Deadlines&) = delete;
  Deadlines& operator=(const Deadlines&) = delete;

  // A new connection: its idle timeout and heartbeat start at now_ms.
  void Track(Connection* conn, int64_t now_ms);
  // Stops every clock of `conn`; call before it is destroyed.
  void Forget(Connection* conn);
  // Restarts the idle timeout (POST /alive), unless it is paused.
  void RestartTimeout(Connection* conn, int64_t now_ms);
  void PauseTimeout(Connection* conn);
  void ResumeTimeout(Connection* conn, int64_t now_ms);
  // (Re)schedules `conn`'s auth clocks from its auth_pending,
  // auth_deadline_ms, token_exp_s, token_leeway_s and expiring_sent; call
  // after setting them (a new token may expire sooner than the old one).
  // Idempotent; a connection with nothing to watch is left alone.
  void WatchAuth(Connection* conn);
  // Fires everything due by now_ms: ends timed-out, unauthenticated and
  // expired connections, sends heartbeats and `auth_expiring` notices.
  void Run(int64_t now_ms);

  // Connections with an auth clock, and heap entries (live and stale): for tests.
  size_t auth_watched() const { return auth_due_.size(); }
  size_t auth_heap_size() const { return auth_heap_.size(); }

 private:
  struct AuthEntry {
    int64_t due_ms;
    uint64_t connid;
    Connection* conn;  // dereferenced only while auth_due_[connid] == due_ms
    bool operator>(const AuthEntry& o) const { return due_ms > o.due_ms; }
  };
  // When `conn`'s next auth clock fires; INT64_MAX if none.
  int64_t NextAuthDue(const Connection& conn) const;
  void ScheduleAuth(Connection* conn);
  void RunTimeouts(int64_t now_ms);
  void RunHeartbeats(int64_t now_ms);
  void RunAuth(int64_t now_ms);
  // Fires what is due for one watched connection; false if it was closed.
  bool FireAuth(Connection* conn, int64_t now_ms);
  void PushAuth(AuthEntry entry);
  void CompactAuthHeap();

  const Config* const config_;
  const CloseFn close_;
  IntrusiveList<Connection, &Connection::timeout_links> timeouts_[kTransportCount];
  IntrusiveList<Connection, &Connection::heartbeat_links> heartbeats_[kTransportCount];
  // Min-heap by due_ms (std::push_heap with greater<>).
  std::vector<AuthEntry> auth_heap_;
  // connid -> the due time of its one live heap entry.
  std::unordered_map<uint64_t, int64_t> auth_due_;
};

}  // namespace herald
