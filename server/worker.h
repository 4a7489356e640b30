// Worker: one event loop thread. It owns the connections it accepted on the
// shared public listener, a topic index over their filters, and an inbox
// through which other threads hand it events and tasks. Nothing a worker owns
// is touched by another thread: cross-thread work is posted, never locked.
//
// Delivery: the inbox is drained in one go; each event is matched against the
// index, encoded once per matching filter (FrameCache) and appended to each
// subscriber's output buffer; libevent then writes each connection once per
// loop iteration. Subscribers over the output cap are closed after the drain,
// never from inside the delivery loop. Whether a connection may receive an
// event, and under which filter, is DecideDelivery / DeliveryFilter's call
// (server/delivery_policy.h), on the live, replay and whisper paths alike.
//
// Resume: events reach the inbox in seq order, and each was appended to
// history before it was posted, so every event this worker has dispatched
// (up to last_dispatched_seq_) is in history. A resuming connection is marked
// `replaying`: live delivery skips it while the Replayer (server/replayer.h)
// reads history through the store's asynchronous reads and feeds it, up to
// last_dispatched_seq_; once caught up (on this thread, so no event can slip
// in between) it goes live. No gap, no duplicate.
#pragma once

#include <event2/http.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/core/interest_filter.h"
#include "server/core/stats.h"
#include "server/net/accept_guard.h"
#include "server/net/http.h"
#include "server/store/cursor.h"
#include "server/transport/connection.h"
#include "server/util/c_handles.h"
#include "server/util/status.h"

namespace herald {

struct ServerContext;
struct Config;

// How long a connection of transport `t` lives without /alive (0: forever),
// and how often it gets a heartbeat (0: never).
int64_t TransportTimeoutMs(const Config& config, Transport t);
int64_t TransportHeartbeatMs(const Config& config, Transport t);

class Replayer;

class Worker {
 public:
  Worker(int index, ServerContext* ctx);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Main thread, before Start: builds the loop and listens on a dup of `listen_fd`.
  Status Init(int listen_fd);
  void Start();
  void Join();

  // --- Any thread ---
  void Post(std::function<void()> task);
  void PostEvent(EventRef ev);
  // Stops accepting, ends every connection with `shutdown`, lets the output
  // drain briefly, then leaves the loop.
  void Shutdown();
  int index() const { return index_; }
  int node() const { return node_; }
  const WorkerStats& stats() const { return stats_; }
  ServerContext& ctx() const { return *ctx_; }

  // True on this worker's loop thread.
  bool InLoopThread() const { return std::this_thread::get_id() == loop_thread_.load(); }

  // --- Loop thread only ---
  event_base* base() const { return base_.get(); }
  evhttp* http() const { return http_.get(); }
  AcceptGuard& accept_guard() { return *accept_guard_; }
  bool shutting_down() const { return shutting_down_; }
  uint64_t NextConnId();
  // Takes ownership, subscribes `filters` (validated, distinct) and starts the
  // connection's timeout and heartbeat clocks.
  Connection* Adopt(std::unique_ptr<Connection> conn, const std::vector<std::string>& filters);
  Connection* Find(uint64_t connid);
  // Watches a space connection's auth deadline and token exp on every tick.
  void WatchAuth(Connection* conn) { auth_watch_.push_back(conn->id()); }
  // Restarts the connection's timeout (POST /alive), unless it is paused.
  void RestartTimeout(Connection* conn);
  // Takes the connection out of / back into its timeout list (a poll session
  // while one of its polls is held).
  void PauseTimeout(Connection* conn);
  void ResumeTimeout(Connection* conn);
  // Replays history after `cursor` to `conn` (server/replayer.h), then lets
  // live delivery continue; or, if history does not cover the cursor, sends
  // `reset` and goes live. Call after `connected`.
  void StartReplay(Connection* conn, std::string_view cursor);
  // Sends a `reset` control event saying why.
  void SendReset(Connection* conn, ResetReason reason);
  // Join/leave at runtime. False when `filter` already is / is not one of
  // the connection's filters. REQUIRES: filter validated.
  bool Subscribe(Connection* conn, const std::string& filter);
  bool Unsubscribe(Connection* conn, const std::string& filter);
  // After a write outside event delivery (control events, heartbeats): a
  // connection over limits.max_output_buffer_bytes is closed as `slow` at
  // the end of this loop iteration, like one that fell behind on events.
  // As for events, what counts is what was queued before the `written`
  // bytes of this write.
  void CheckOutputCap(Connection* conn, size_t written);
  // Calls conn->Flush() once at the end of this loop iteration's work.
  void RequestFlush(Connection* conn);
  uint64_t last_dispatched_seq() const { return last_dispatched_seq_; }

  // Held requests: a request answered later, possibly by another worker (a
  // held poll), or streamed by a timer (/selftest). The worker keeps it
  // until it is released; if the client leaves first, `on_end(token,
  // nullptr)` runs (the request is already freed); at shutdown
  // `on_end(token, req)` runs and must answer or end `req`.
  using HeldEnd = std::function<void(uint64_t token, evhttp_request* req)>;
  uint64_t HoldRequest(evhttp_request* req, HeldEnd on_end);
  // The held request, or nullptr once released or gone.
  evhttp_request* HeldRequest(uint64_t token);
  // Stops holding; returns the request for the caller to answer (nullptr
  // if it is gone). The connection's idle timeout is restored.
  evhttp_request* ReleaseHeld(uint64_t token);
  // Any thread: answers held request `token` with `resp` on this loop.
  void AnswerHeld(uint64_t token, HttpResponse resp);
  // Ends the connection with `reason` and forgets it.
  void Close(Connection* conn, CloseReason reason);
  // The HTTP layer saw the client go; the transport has already let go of
  // its request.
  void OnClientGone(Connection* conn);
  template <class Fn>
  void ForEachConnection(Fn&& fn) {
    for (auto& [id, conn] : conns_) fn(*conn);
  }
  // Bytes waiting in user space: output buffers and the inbox.
  size_t PendingBytes();
  size_t ApproxIndexBytes() const { return topics_.ApproxBytes(); }

 private:
  struct InboxItem {
    EventRef event;
    std::function<void()> task;
  };
  void Push(InboxItem item);
  // Makes the loop run Drain soon; any thread.
  void Wake();
  // After adding a filter: events queued without a wake-up may match it now.
  void DrainSoonIfQueued();
  void AddFilter(Connection* conn, const std::string& filter);
  void RemoveFilter(ConnectionIndex::Subscription* sub);
  void Run();
  void Drain();
  void Dispatch(const EventRef& ev);
  void DispatchWhisper(const EventRef& ev);
  void RunFlushes();
  void EndHeld();
  static void OnHeldClose(evhttp_connection* evcon, void* entry);
  // Delivers unless DecideDelivery refuses; false when skipped (another of
  // the connection's filters may still admit the event), true when handled
  // (delivered, or the connection is closing).
  bool DeliverTo(Connection* conn, FrameCache& frames);
  void CloseSlow();
  void CloseOverCap();
  void CheckAuth(int64_t now_ms);
  void OnTick();
  void Forget(Connection* conn, CloseReason reason);
  void UpdateIndexStats();
  static int64_t ConnectionBytes(const Connection& conn);

  const int index_;
  ServerContext* const ctx_;
  const int node_;  // this process's node id, minted into every connid
  WorkerStats stats_;
  PendingLatency pending_latency_;  // deliveries not yet flushed (server/core/metrics.h)
  EventBasePtr base_;
  EvhttpPtr http_;
  evhttp_bound_socket* bound_ = nullptr;
  std::unique_ptr<AcceptGuard> accept_guard_;  // destroyed before http_: drops only its own refs
  UniqueFd wake_fd_;                           // written by other threads to wake the loop
  EventPtr wake_;
  EventPtr tick_;
  EventPtr flush_;  // runs RunFlushes after whatever callback requested one
  std::thread thread_;
  std::atomic<std::thread::id> loop_thread_{};  // set when the loop starts

  std::mutex inbox_mu_;
  std::vector<InboxItem> inbox_;     // guarded by inbox_mu_
  bool wake_pending_ = false;        // guarded by inbox_mu_: wake_ is active
  InterestFilter interest_;          // what topics_ may match; read under inbox_mu_
  std::vector<InboxItem> draining_;  // loop thread only

  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  ConnectionIndex topics_;
  // One list per transport: within a list every deadline has one duration,
  // so appending keeps it sorted.
  IntrusiveList<Connection, &Connection::timeout_links> timeouts_[kTransportCount];
  IntrusiveList<Connection, &Connection::heartbeat_links> heartbeats_[kTransportCount];
  std::vector<Connection*> slow_;
  std::vector<uint64_t> over_cap_;         // connids found over the cap by CheckOutputCap
  EventPtr close_over_cap_;                // closes them after the current callback
  std::vector<Connection*> unauthorized_;  // token expired at delivery; closed with slow_
  std::vector<uint64_t> auth_watch_;       // space connections with a deadline or a token exp
  FrameCache frames_;
  FrameCache chosen_frames_;  // a fanned-out event under the filter DeliveryFilter chose
  uint64_t last_dispatched_seq_ = 0;

  // Resumes (server/replayer.h); delivers through DeliverTo and CloseSlow.
  friend class Replayer;
  std::unique_ptr<Replayer> replayer_;
  std::vector<uint64_t> flushes_;   // connids asking for a flush
  std::vector<uint64_t> flushing_;  // connids being flushed, slice by slice
  size_t flushing_next_ = 0;

  struct HeldEntry {
    Worker* worker;
    uint64_t token;
    evhttp_request* req;
    HeldEnd on_end;
  };
  std::unordered_map<uint64_t, std::unique_ptr<HeldEntry>> held_;
  uint64_t next_held_token_ = 1;
  uint64_t next_seq_ = 1;
  bool shutting_down_ = false;
};

}  // namespace herald
