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
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/core/stats.h"
#include "server/deadlines.h"
#include "server/flusher.h"
#include "server/held_requests.h"
#include "server/inbox.h"
#include "server/net/accept_guard.h"
#include "server/net/http.h"
#include "server/store/cursor.h"
#include "server/store/store.h"
#include "server/transport/connection.h"
#include "server/transport/connection_host.h"
#include "server/util/c_handles.h"
#include "server/util/status.h"

namespace herald {

struct ServerContext;

class Replayer;

// The parts (each header says its contract): Inbox (cross-thread events and
// tasks), Deadlines (timeouts, heartbeats, auth deadlines and token expiry),
// HeldRequests (requests answered later), Flusher (one write per dirty
// connection per loop iteration), Replayer (resumes). The worker owns the
// loop, the connections and their index, and dispatch, and wires the parts
// together; to its connections it is a ConnectionHost
// (server/transport/connection_host.h).
class Worker final : public ConnectionHost {
 public:
  Worker(int index, ServerContext* ctx);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Main thread, before Start: builds the loop and listens on a dup of `listen_fd`.
  Status Init(int listen_fd);
  // Runs its loop on `shared`, owned by someone who outlives this worker (the
  // Redis store's bridge base: RedisStore::StartHosted).
  Status Init(int listen_fd, event_base* shared);
  void Start();
  void Join();

  // --- Any thread ---
  void Post(std::function<void()> task) override;
  // A PostFn onto this loop for store completions: drops the task once the
  // server has destroyed its workers (ServerContext::workers_gone).
  PostFn LoopPost() override;
  void PostEvent(EventRef ev);
  // Stops accepting, ends every connection with `shutdown`, lets the output
  // drain briefly, then leaves the loop.
  void Shutdown();
  int index() const { return index_; }
  int node() const { return node_; }
  const WorkerStats& stats() const { return stats_; }
  ServerContext& ctx() const override { return *ctx_; }
  const Config& config() const override;

  // True on this worker's loop thread.
  bool InLoopThread() const { return std::this_thread::get_id() == loop_thread_.load(); }

  // --- Loop thread only ---
  event_base* base() const override { return base_.get(); }
  evhttp* http() const { return http_.get(); }
  AcceptGuard& accept_guard() { return *accept_guard_; }
  bool shutting_down() const { return shutting_down_; }
  uint64_t NextConnId();
  // Takes ownership, subscribes `filters` (validated, distinct) and starts the
  // connection's timeout and heartbeat clocks.
  Connection* Adopt(std::unique_ptr<Connection> conn, const std::vector<std::string>& filters);
  Connection* Find(uint64_t connid) override;
  // (Re)schedules a space connection's auth deadline and token expiry
  // (Deadlines::WatchAuth): call after setting auth_pending or a token.
  void WatchAuth(Connection* conn) { deadlines_.WatchAuth(conn); }
  // Restarts the connection's timeout (POST /alive), unless it is paused.
  void RestartTimeout(Connection* conn);
  // Takes the connection out of / back into its timeout list (a poll session
  // while one of its polls is held).
  void PauseTimeout(Connection* conn) override;
  void ResumeTimeout(Connection* conn) override;
  // Replays history after `cursor` to `conn` (server/replayer.h), then lets
  // live delivery continue; or, if history does not cover the cursor, sends
  // `reset` and goes live. Call after `connected`.
  void StartReplay(Connection* conn, std::string_view cursor);
  // Sends a `reset` control event saying why.
  void SendReset(Connection* conn, ResetReason reason);
  // The store lost its data (a new epoch; Hub::OnEpochChanged): ids start
  // again, so every connection is told (`reset`, reason `epoch`; a poll
  // session with its next answer), forgets the ids it has seen, and goes on
  // live with the new ones. A replay in progress ends there.
  void OnStoreEpochChanged();
  // Join/leave at runtime. False when `filter` already is / is not one of
  // the connection's filters. REQUIRES: filter validated.
  bool Subscribe(Connection* conn, const std::string& filter);
  bool Unsubscribe(Connection* conn, const std::string& filter);
  // After a write outside event delivery (control events, heartbeats): a
  // connection over limits.max_output_buffer_bytes is closed as `slow` at
  // the end of this loop iteration, like one that fell behind on events.
  // As for events, what counts is what was queued before the `written`
  // bytes of this write.
  void CheckOutputCap(Connection* conn, size_t written) override;
  // Calls conn->Flush() once at the end of this loop iteration's work.
  void RequestFlush(Connection* conn) override { flusher_.Request(conn); }
  uint64_t last_dispatched_seq() const { return last_dispatched_seq_; }

  // Held requests (server/held_requests.h): a request answered later,
  // possibly by another worker (a held poll), or streamed by a timer
  // (/selftest). If the client leaves first, `on_end(token, nullptr)` runs;
  // at shutdown `on_end(token, req)` runs and must answer or end `req`.
  using HeldEnd = HeldRequests::End;
  uint64_t HoldRequest(evhttp_request* req, HeldEnd on_end) {
    return held_.Hold(req, std::move(on_end));
  }
  // The held request, or nullptr once released or gone.
  evhttp_request* HeldRequest(uint64_t token) { return held_.Get(token); }
  // Stops holding; returns the request for the caller to answer (nullptr
  // if it is gone). The connection's idle timeout is restored.
  evhttp_request* ReleaseHeld(uint64_t token) { return held_.Release(token); }
  // Any thread: answers held request `token` with `resp` on this loop.
  void AnswerHeld(uint64_t token, HttpResponse resp);
  // Ends the connection with `reason` and forgets it.
  void Close(Connection* conn, CloseReason reason);
  // The HTTP layer saw the client go; the transport has already let go of
  // its request.
  void OnClientGone(Connection* conn) override;
  template <class Fn>
  void ForEachConnection(Fn&& fn) {
    for (auto& [id, conn] : conns_) fn(*conn);
  }
  // Bytes waiting in user space: output buffers and the inbox.
  size_t PendingBytes();
  size_t ApproxIndexBytes() const { return topics_.ApproxBytes(); }

 private:
  using InboxItem = Inbox::Item;
  void AddFilter(Connection* conn, const std::string& filter);
  void OnFilterFed(uint64_t connid);
  void ReplayUnfed(Connection* conn, uint64_t cursor);
  void RemoveFilter(ConnectionIndex::Subscription* sub);
  void Run();
  void Drain();
  void Dispatch(const EventRef& ev);
  void DispatchWhisper(const EventRef& ev);
  // Delivers unless DecideDelivery refuses; false when skipped (another of
  // the connection's filters may still admit the event), true when handled
  // (delivered, or the connection is closing).
  bool DeliverTo(Connection* conn, FrameCache& frames);
  void CloseSlow();
  void CloseOverCap();
  void OnTick();
  void Forget(Connection* conn, CloseReason reason);
  void UpdateIndexStats();
  static int64_t ConnectionBytes(const Connection& conn);

  const int index_;
  ServerContext* const ctx_;
  const int node_;  // this process's node id, minted into every connid
  WorkerStats stats_;
  EventBasePtr base_;
  bool base_shared_ = false;  // base_ is not ours to free (Init with `shared`)
  EvhttpPtr http_;
  evhttp_bound_socket* bound_ = nullptr;
  std::unique_ptr<AcceptGuard> accept_guard_;  // destroyed before http_: drops only its own refs
  EventPtr tick_;                              // drives deadlines_ and the accept guard
  std::thread thread_;
  std::atomic<std::thread::id> loop_thread_{};  // set when the loop starts

  Inbox inbox_;                      // its interest() is what topics_ may match
  std::vector<InboxItem> draining_;  // loop thread only
  Deadlines deadlines_;
  Flusher flusher_;
  HeldRequests held_;

  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  ConnectionIndex topics_;
  std::vector<Connection*> slow_;
  std::vector<uint64_t> over_cap_;         // connids found over the cap by CheckOutputCap
  EventPtr close_over_cap_;                // closes them after the current callback
  std::vector<Connection*> unauthorized_;  // token expired at delivery; closed with slow_
  FrameCache frames_;
  FrameCache chosen_frames_;  // a fanned-out event under the filter DeliveryFilter chose
  uint64_t last_dispatched_seq_ = 0;

  // Resumes (server/replayer.h); delivers through DeliverTo and CloseSlow.
  friend class Replayer;
  std::unique_ptr<Replayer> replayer_;
  uint64_t next_conn_seq_ = 1;
  bool shutting_down_ = false;
};

}  // namespace herald
