// EvhttpConnection: the part every streaming transport on the public
// (libevent) listener shares — it holds the evhttp request whose response is
// the stream, queues body bytes in the connection's output buffer with
// libevent's write event switched off ("corked"), and lets the worker flush
// every dirty connection with one writev per loop iteration; libevent's write
// event is switched on only when the kernel does not take it all. That saves
// two epoll_ctl calls per delivery. It adds HTTP/1.1 chunk framing
// when the response is chunked, notices the client leaving, and finishes the
// response. Loop-thread only, like every Connection.
#pragma once

#include <event2/http.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/connection.h"

namespace herald {

class Worker;

class EvhttpConnection : public Connection {
 public:
  EvhttpConnection(uint64_t id, Transport transport, Worker* worker, evhttp_request* req);

  // Sends status 200 with `headers`; from then on the body streams.
  void StartResponse(const std::vector<std::pair<const char*, std::string>>& headers);
  size_t PendingBytes() const override;
  // Says `disconnect` (with the custom close text, if any) in the
  // transport's own framing, then finishes the response.
  void End(CloseReason reason) override;
  void Abandon() override;
  // Writes what is queued with one writev; leaves the rest to libevent.
  void Flush() override;
  std::string HeadersJson() const override;

 protected:
  bool chunked() const { return chunked_; }
  bool open() const { return req_ != nullptr; }
  // Writes `payload` as one chunk (or as is when the response is not chunked).
  void WriteBody(std::string_view payload);
  // Writes bytes already framed for this connection's chunking.
  void WriteFramed(std::string_view bytes);
  // Ends the response (chunked terminator); the request is no longer ours.
  void Finish();

 private:
  static void OnClose(evhttp_connection* evcon, void* self);
  void MarkDirty();
  Worker* const worker_;
  evhttp_request* req_;
  evbuffer* out_ = nullptr;
  bufferevent* bev_ = nullptr;
  std::string headers_json_;  // the request's headers, kept after evhttp's copy is freed
  bool chunked_ = false;
  bool dirty_ = false;  // queued in the worker's flush list
};

}  // namespace herald
