// HeldRequests: public-listener requests a worker answers later — a held poll
// (answered when an event comes, possibly by another worker through
// Worker::AnswerHeld) or a stream driven by a timer (/selftest). Each is
// named by a token, so a callback that may outlive the request holds the
// token, never the pointer.
//
// Lifetimes: the request belongs to evhttp. While held, evhttp's idle timeout
// is off (a hold may outlast it); Release gives the request back to the
// caller, with the idle timeout restored, to answer. If the client leaves
// first, the entry goes and `on_end(token, nullptr)` runs (evhttp has freed
// the request). At shutdown EndAll releases every request and runs
// `on_end(token, req)`, which must answer or end `req`.
// Caveat: libevent 2.1 stops reading a connection while its request is being
// answered, so a client that leaves is noticed only when evhttp next fails
// that connection; until then the request stays held (a held poll until its
// hold timeout). Enabling reads is no fix: a byte read in that state aborts
// the process (evhttp_read_cb's "illegal connection state").
//
// Threading: the owning worker's loop thread only.
#pragma once

#include <event2/http.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

namespace herald {

class HeldRequests {
 public:
  using End = std::function<void(uint64_t token, evhttp_request* req)>;

  // `idle_timeout_s`: evhttp's keep-alive idle timeout, restored on release.
  explicit HeldRequests(int idle_timeout_s) : idle_timeout_s_(idle_timeout_s) {}
  // Detaches from the requests still held (evhttp frees them with its
  // connections); runs no on_end.
  ~HeldRequests();
  HeldRequests(const HeldRequests&) = delete;
  HeldRequests& operator=(const HeldRequests&) = delete;

  // Holds `req` (not yet answered); returns its token (never 0).
  uint64_t Hold(evhttp_request* req, End on_end);
  // The held request, or nullptr once released or gone.
  evhttp_request* Get(uint64_t token) const;
  // Stops holding; returns the request for the caller to answer (nullptr if
  // it is gone).
  evhttp_request* Release(uint64_t token);
  // Shutdown: releases every request and runs its on_end(token, req).
  void EndAll();
  size_t size() const { return held_.size(); }

 private:
  struct Entry {
    HeldRequests* owner;
    uint64_t token;
    evhttp_request* req;
    End on_end;
  };
  static void OnClose(evhttp_connection* evcon, void* entry);

  const int idle_timeout_s_;
  std::unordered_map<uint64_t, std::unique_ptr<Entry>> held_;
  uint64_t next_token_ = 1;
};

}  // namespace herald
