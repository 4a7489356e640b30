// LeanSocket: the socket of a plain-TCP stream once its response head is
// sent, taken from evhttp (TakeFromEvhttp) so that libevent's per-connection
// objects (evhttp connection and request, bufferevent, four evbuffers: about
// 2 KB with malloc's overhead) are freed for the stream's long idle life.
// What remains is the descriptor, one event (EV_READ to notice the client
// leaving and to discard what it sends; EV_WRITE only while the kernel did
// not take everything) and an output buffer that exists only while bytes
// wait in it.
//
// Finish sends what is left and closes the socket the way evhttp did
// (shutdown(SHUT_WR), then close); bytes the kernel does not take at once go
// on in a small self-owned finisher, cut after `timeout`.
//
// Threading: the owning loop thread only, like every Connection.
#pragma once

#include <event2/event.h>
#include <event2/http.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "server/util/c_handles.h"

namespace herald {

class LeanSocket {
 public:
  // Called (from the socket's event) when the client left or a write failed;
  // the socket is already closed. The callee may destroy the owner.
  using GoneFn = void (*)(void* owner);

  LeanSocket() = default;
  ~LeanSocket() { Drop(); }
  LeanSocket(const LeanSocket&) = delete;
  LeanSocket& operator=(const LeanSocket&) = delete;

  // Takes the socket of `req`'s connection and frees the connection (and the
  // request with it), keeping what evhttp had queued (the response head).
  // Not from inside an evhttp callback of that connection. On failure the
  // connection is left as it was and false is returned.
  bool TakeFromEvhttp(evhttp_request* req, GoneFn gone, void* owner);

  bool open() const { return fd_.get() >= 0; }
  // The buffer for bytes to send after what the socket already holds.
  evbuffer* Out();
  size_t Pending() const { return out_ ? evbuffer_get_length(out_.get()) : 0; }
  // Writes `iov` now when nothing waits before it; what the kernel does not
  // take is kept (in order) for the write event.
  void WriteV(const iovec* iov, int n);
  // Writes the buffer unless the write event already does.
  void Flush();
  // Sends what is left, then shuts the socket down and closes it; give-up
  // after `timeout`. Afterwards the socket is no longer this object's.
  void Finish(const timeval& timeout);
  // Closes the socket without sending anything more.
  void Drop();

  // Finishers still sending on `base` are freed (before the base is).
  static void DropFinishers(event_base* base);

 private:
  static void OnEvent(evutil_socket_t fd, short what, void* self);
  // Discards what the client sent; false if it left (or sent too much).
  bool DiscardInput();
  // After a write: arms or disarms the write event, frees a drained buffer.
  void AfterWrite(bool failed);
  void Arm(bool write);
  void Gone();

  UniqueFd fd_;
  EventPtr ev_;
  EvbufferPtr out_;
  GoneFn gone_ = nullptr;
  void* owner_ = nullptr;
  uint32_t discarded_ = 0;  // bytes of input thrown away
  bool writing_ = false;    // the write event is armed
  bool failed_ = false;     // a write failed: the event reports the client gone
};

}  // namespace herald
