// AcceptGuard: what stands between one worker's evhttp and connection floods
// on the public listener.
//
// Descriptor exhaustion: when accept() fails for lack of descriptors
// (EMFILE/ENFILE), libevent would log and retry at once, forever (100 % CPU,
// a log line per retry). Instead the listener is paused for a moment, a
// small process-wide reserve of descriptors is handed back so the private
// API (on the same process) can still accept, and the listener resumes on
// its own once the reserve could be taken again. Every worker's listener
// pauses together: one still accepting would take the reserve at once. One log line per interval
// says how often it happened.
//
// Slowloris: every accepted connection is armed in a PendingRequests with
// limits.request_timeout_ms until its request has fully arrived (evhttp
// calls our handler), and re-armed when an answer completes on a kept-alive
// connection. evhttp's own timeout is an idle timeout, reset by every byte.
//
// TLS (tls.*): a second listening socket on the same evhttp whose
// connections get an OpenSSL bufferevent with the slot's current context, so
// every route and transport is served on both listeners alike.
//
// Threading: the worker's loop thread only.
#pragma once

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>

#include <cstdint>

#include "server/core/stats.h"
#include "server/net/pending_requests.h"
#include "server/net/tls_context.h"
#include "server/util/c_handles.h"

namespace herald {

struct Limits;

class AcceptGuard {
 public:
  // `pending_max`: this worker's share of limits.max_pending_connections;
  // `cuts` counts the connections cut for being slow with their request.
  AcceptGuard(event_base* base, const Limits& limits, size_t pending_max, Counter* cuts);
  ~AcceptGuard();
  AcceptGuard(const AcceptGuard&) = delete;
  AcceptGuard& operator=(const AcceptGuard&) = delete;

  // Hooks into `http` (its bufferevents) and its bound listening socket.
  void Attach(evhttp* http, evhttp_bound_socket* bound);
  // After Attach: also accepts on a dup of `listen_fd`, speaking TLS there
  // with `tls`'s current context at each handshake. `tls` outlives the guard.
  Status AcceptTls(int listen_fd, const TlsContextSlot* tls);
  // Before the bound socket is freed (shutdown): no more resumes; the TLS
  // listener, if any, is closed here.
  void Detach();
  // evhttp handed us a complete request: its connection is no longer pending.
  void RequestArrived(evhttp_request* req);
  // Every worker tick: cuts overdue requests, forgets freed connections.
  void OnTick(int64_t now_ms);
  size_t pending() const { return pending_.size(); }

 private:
  static bufferevent* NewBufferevent(event_base* base, void* self);
  static void OnAcceptError(evconnlistener* listener, void* self);
  static void OnResume(evutil_socket_t, short, void* self);
  static void OnAnswered(evhttp_request* req, void* self);
  // Out of descriptors: pauses every worker's listener and hands the
  // reserve back; logs at most once per interval.
  void OnExhausted(int err);
  void PauseHere();
  void EnableListeners(bool on);
  // Whether the connection being accepted right now came in on the TLS socket.
  bool AcceptingTls(event_base* base) const;

  event_base* const base_;
  evhttp* http_ = nullptr;
  evconnlistener* listener_ = nullptr;
  evhttp_bound_socket* tls_bound_ = nullptr;
  evconnlistener* tls_listener_ = nullptr;
  const TlsContextSlot* tls_ = nullptr;
  EventPtr resume_;     // takes the reserve back, then accepts again
  EventPtr pause_now_;  // activated by another worker's OnExhausted
  EventPtr release_;    // hands the reserve back
  bool paused_ = false;
  PendingRequests pending_;
  int64_t last_log_ms_ = 0;
  uint64_t pauses_since_log_ = 0;
};

}  // namespace herald
