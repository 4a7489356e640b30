// Worker: one event loop thread. It owns the connections it accepted on the
// shared public listener, a topic index over their filters, and an inbox
// through which other threads hand it events and tasks. Nothing a worker owns
// is touched by another thread: cross-thread work is posted, never locked.
//
// Delivery: the inbox is drained in one go; each event is matched against the
// index, encoded once per matching filter (FrameCache) and appended to each
// subscriber's output buffer; libevent then writes each connection once per
// loop iteration. Subscribers over the output cap are closed after the drain,
// never from inside the delivery loop.
#pragma once

#include <event2/http.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/c_handles.h"
#include "server/connection.h"
#include "server/stats.h"
#include "server/status.h"

namespace herald {

struct ServerContext;

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
  const WorkerStats& stats() const { return stats_; }
  ServerContext& ctx() const { return *ctx_; }

  // --- Loop thread only ---
  event_base* base() const { return base_.get(); }
  evhttp* http() const { return http_.get(); }
  bool shutting_down() const { return shutting_down_; }
  uint64_t NextConnId();
  // Takes ownership, subscribes `filters` (validated, distinct) and starts the
  // connection's timeout and heartbeat clocks.
  Connection* Adopt(std::unique_ptr<Connection> conn, const std::vector<std::string>& filters);
  Connection* Find(uint64_t connid);
  // Restarts the connection's timeout (POST /alive).
  void RestartTimeout(Connection* conn);
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
  void Run();
  void Drain();
  void Dispatch(const Event& ev);
  void DispatchWhisper(const Event& ev);
  void DeliverTo(Connection* conn);
  void CloseSlow();
  void OnTick();
  void Forget(Connection* conn, CloseReason reason);
  void UpdateIndexStats();
  static int64_t ConnectionBytes(const Connection& conn);

  const int index_;
  ServerContext* const ctx_;
  WorkerStats stats_;
  EventBasePtr base_;
  EvhttpPtr http_;
  evhttp_bound_socket* bound_ = nullptr;
  EventPtr wake_;
  EventPtr tick_;
  std::thread thread_;

  std::mutex inbox_mu_;
  std::vector<InboxItem> inbox_;     // guarded by inbox_mu_
  std::vector<InboxItem> draining_;  // loop thread only

  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  ConnectionIndex topics_;
  IntrusiveList<Connection, &Connection::timeout_links> timeouts_;
  IntrusiveList<Connection, &Connection::heartbeat_links> heartbeats_;
  std::vector<Connection*> slow_;
  FrameCache frames_;
  uint64_t next_seq_ = 1;
  bool shutting_down_ = false;
};

}  // namespace herald
