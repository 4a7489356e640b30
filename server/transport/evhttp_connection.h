// EvhttpConnection: the part every streaming transport on the public
// (libevent) listener shares — it holds the evhttp request whose response is
// the stream, queues body bytes with libevent's write event switched off
// ("corked"), and lets the worker flush every dirty connection with one
// writev per loop iteration; libevent's write event is switched on only when
// the kernel does not take it all. That saves two epoll_ctl calls per
// delivery. An event's frame, encoded once for all its subscribers, is
// queued by reference while nothing else waits, so the common delivery
// copies and allocates nothing in user space (an evbuffer chain per
// subscriber per event cost malloc, page faults and heap trimming). It adds
// HTTP/1.1 chunk framing when the response is chunked, notices the client
// leaving, and finishes the response. Over TLS the bytes must pass through the
// OpenSSL bufferevent: Flush uncorks it instead of writing to the socket.
//
// A plain-TCP stream leaves evhttp at its first flush, once its response
// head is queued: its socket moves to a LeanSocket and evhttp's connection,
// request and bufferevent are freed (most of an idle stream's memory). From
// then on the same corked writev path writes to the LeanSocket; a TLS stream
// stays on evhttp's OpenSSL bufferevent.
// Loop-thread only, like every Connection.
#pragma once

#include <event2/http.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/transport/connection.h"
#include "server/transport/connection_host.h"
#include "server/transport/lean_socket.h"

namespace herald {

class EvhttpConnection : public Connection {
 public:
  EvhttpConnection(uint64_t id, Transport transport, ConnectionHost* host, evhttp_request* req);

  // Sends status 200 with `headers`; from then on the body streams.
  void StartResponse(const std::vector<std::pair<const char*, std::string>>& headers);
  size_t PendingBytes() const override;
  // Says `disconnect` (with the custom close text, if any) in the
  // transport's own framing, then finishes the response.
  void Close(CloseReason reason) override;
  void Abandon() override;
  // Writes what is queued with one writev; leaves the rest to libevent.
  void Flush() override;
  std::string HeadersJson() const override;

 protected:
  bool chunked() const { return chunked_; }
  bool open() const { return req_ != nullptr || lean_.open(); }
  // Writes `payload` as one chunk (or as is when the response is not chunked).
  void WriteBody(std::string_view payload);
  // The same for a frame in a shared buffer: queued by reference when it can be.
  void WriteShared(const FrameView& frame);
  // Ends the response (chunked terminator); the request is no longer ours.
  void CloseResponse();

 private:
  // A frame queued by reference; it goes before anything in out_.
  // Offsets, not pointers: every idle connection carries these slots.
  struct QueuedFrame {
    SharedBuffer buffer;
    uint32_t offset = 0;
    uint32_t size = 0;
    const char* data() const { return buffer->data() + offset; }
  };
  // Two cover the common tick (one event, maybe a heartbeat); more go by copy.
  static constexpr size_t kMaxQueued = 2;

  static void OnClose(evhttp_connection* evcon, void* self);
  static void OnLeanGone(void* self);
  // Moves the socket from evhttp to lean_ (plain TCP); stays on evhttp if
  // that fails.
  void TakeSocket();
  // Where body bytes go after the queued frames (nullptr once closed), and
  // how many wait there.
  evbuffer* Output();
  size_t OutputLength() const;
  bool writable() const { return out_ != nullptr || lean_.open(); }
  void MarkDirty();
  // Writes the queued frames with one writev; what the kernel does not take
  // is copied to out_.
  void WriteQueued();
  // Copies the queued frames to out_, keeping their order ahead of later bytes.
  void SpillQueued();
  void DropQueued();
  ConnectionHost* const host_;
  evhttp_request* req_;
  // evhttp's (the bufferevent's output), until the socket moves to lean_.
  evbuffer* out_ = nullptr;
  bufferevent* bev_ = nullptr;
  LeanSocket lean_;
  std::array<QueuedFrame, kMaxQueued> queued_;
  std::string headers_json_;  // the request's headers, kept after evhttp's copy is freed
  uint8_t n_queued_ = 0;
  bool chunked_ = false;
  bool dirty_ = false;  // queued in the worker's flush list
  // TLS: the bufferevent encrypts, so bytes go through it, never straight to the fd.
  bool tls_ = false;
};

}  // namespace herald
