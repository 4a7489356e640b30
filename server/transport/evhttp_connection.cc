#include "server/transport/evhttp_connection.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "server/transport/wire.h"
#include "server/util/json.h"

namespace herald {
namespace {
// A client may not feed a stream's request side forever: past this, reading
// pauses (the stream still ends on its timeout).
constexpr size_t kMaxUnreadInput = 64 * 1024;
// How long an ending stream may take to flush before it is cut.
constexpr timeval kFinishWriteTimeout = {5, 0};
// The last chunk of a chunked response (no trailers).
constexpr std::string_view kChunkEnd = "0\r\n\r\n";
std::string HeadersJsonOf(evhttp_request* req) {
  std::string out = "{";
  const evkeyvalq* headers = evhttp_request_get_input_headers(req);
  for (const evkeyval* kv = headers->tqh_first; kv; kv = kv->next.tqe_next) {
    if (out.size() > 1) out += ",";
    AppendJsonString(&out, kv->key);
    out += ":";
    AppendJsonString(&out, kv->value);
  }
  out += "}";
  out.shrink_to_fit();
  return out;
}

}  // namespace

EvhttpConnection::EvhttpConnection(uint64_t id, Transport transport, ConnectionHost* host,
                                   evhttp_request* req)
    : Connection(id, transport), host_(host), req_(req) {}

void EvhttpConnection::StartResponse(
    const std::vector<std::pair<const char*, std::string>>& headers) {
  evkeyvalq* out_headers = evhttp_request_get_output_headers(req_);
  for (const auto& [name, value] : headers) evhttp_add_header(out_headers, name, value.c_str());
  evhttp_send_reply_start(req_, 200, "OK");
  // evhttp chose chunked framing iff it added Transfer-Encoding (HTTP/1.1).
  chunked_ = evhttp_find_header(out_headers, "Transfer-Encoding") != nullptr;
  // evhttp keeps both header lists for the life of the request, three small
  // allocations per header: about a kilobyte per idle stream. The response
  // headers are on the wire already; the request's are kept as one compact
  // string for /connections?details.
  headers_json_ = HeadersJsonOf(req_);
  evhttp_clear_headers(out_headers);
  evhttp_clear_headers(evhttp_request_get_input_headers(req_));
  evhttp_connection* evcon = evhttp_request_get_connection(req_);
  bev_ = evhttp_connection_get_bufferevent(evcon);
  out_ = bufferevent_get_output(bev_);
  tls_ = bufferevent_openssl_get_ssl(bev_) != nullptr;
  // A stream is idle for long stretches: no read or write timeout. Slow
  // readers are bounded by the output cap instead.
  bufferevent_set_timeouts(bev_, nullptr, nullptr);
  bufferevent_setwatermark(bev_, EV_READ, 0, kMaxUnreadInput);
  evhttp_connection_set_closecb(evcon, &EvhttpConnection::OnClose, this);
  // Cork: the worker flushes; the status line and headers go with the first frames.
  bufferevent_disable(bev_, EV_WRITE);
  MarkDirty();
}

void EvhttpConnection::MarkDirty() {
  if (dirty_) return;
  dirty_ = true;
  host_->RequestFlush(this);
}

void EvhttpConnection::Flush() {
  dirty_ = false;
  if (req_ && !tls_) TakeSocket();
  if (lean_.open()) {
    if (n_queued_ > 0) {
      WriteQueued();
    } else {
      lean_.Flush();
    }
    return;
  }
  if (!out_) return;
  if (tls_) {
    SpillQueued();  // OpenSSL copies into its records anyway
  } else if (n_queued_ > 0) {
    WriteQueued();  // out_ is empty behind queued frames (see WriteShared)
  } else {
    if (evbuffer_get_length(out_) == 0) return;
    // While libevent is already writing a backlog, adding to it is enough.
    if (bufferevent_get_enabled(bev_) & EV_WRITE) return;
    evbuffer_write(out_, bufferevent_getfd(bev_));
  }
  // Whatever the kernel did not take (or an error, which libevent then
  // reports through evhttp's close path) is left to the write event; over
  // TLS, all of it.
  if (evbuffer_get_length(out_) > 0) bufferevent_enable(bev_, EV_WRITE);
}

void EvhttpConnection::TakeSocket() {
  // The head (and what followed it this tick) is in evhttp's buffer; queued
  // frames go behind it.
  SpillQueued();
  if (!lean_.TakeFromEvhttp(req_, &EvhttpConnection::OnLeanGone, this)) return;
  req_ = nullptr;  // freed with evhttp's connection
  out_ = nullptr;
  bev_ = nullptr;
}

evbuffer* EvhttpConnection::Output() { return lean_.open() ? lean_.Out() : out_; }

size_t EvhttpConnection::OutputLength() const {
  if (lean_.open()) return lean_.Pending();
  return out_ ? evbuffer_get_length(out_) : 0;
}

void EvhttpConnection::WriteQueued() {
  iovec iov[kMaxQueued];
  for (size_t i = 0; i < n_queued_; ++i) {
    iov[i].iov_base = const_cast<char*>(queued_[i].data());
    iov[i].iov_len = queued_[i].size;
  }
  if (lean_.open()) {
    lean_.WriteV(iov, static_cast<int>(n_queued_));
    DropQueued();
    return;
  }
  ssize_t n = writev(bufferevent_getfd(bev_), iov, static_cast<int>(n_queued_));
  // On EAGAIN or an error nothing was taken: all of it goes to out_, and a
  // real error surfaces when libevent writes it.
  size_t written = n > 0 ? static_cast<size_t>(n) : 0;
  for (size_t i = 0; i < n_queued_; ++i) {
    QueuedFrame& q = queued_[i];
    const size_t skip = written < q.size ? written : q.size;
    written -= skip;
    if (skip < q.size) evbuffer_add(out_, q.data() + skip, q.size - skip);
    q.buffer.reset();
  }
  n_queued_ = 0;
}

void EvhttpConnection::SpillQueued() {
  for (size_t i = 0; i < n_queued_; ++i) {
    QueuedFrame& q = queued_[i];
    if (writable()) evbuffer_add(Output(), q.data(), q.size);
    q.buffer.reset();
  }
  n_queued_ = 0;
}

void EvhttpConnection::DropQueued() {
  for (size_t i = 0; i < n_queued_; ++i) queued_[i].buffer.reset();
  n_queued_ = 0;
}

void EvhttpConnection::OnClose(evhttp_connection*, void* self) {
  auto* conn = static_cast<EvhttpConnection*>(self);
  // evhttp detached the unfinished request from the dying connection; ending
  // it now just frees it.
  evhttp_request* req = conn->req_;
  conn->req_ = nullptr;
  conn->out_ = nullptr;
  conn->bev_ = nullptr;
  conn->DropQueued();
  if (req) evhttp_send_reply_end(req);
  conn->host_->OnClientGone(conn);  // destroys conn
}

void EvhttpConnection::OnLeanGone(void* self) {
  auto* conn = static_cast<EvhttpConnection*>(self);
  conn->DropQueued();
  conn->host_->OnClientGone(conn);  // destroys conn
}

void EvhttpConnection::WriteBody(std::string_view payload) {
  if (!writable()) return;
  MarkDirty();
  SpillQueued();
  evbuffer* out = Output();
  if (chunked_) {
    char head[kChunkHeadMax];
    evbuffer_add(out, head, WriteChunkHead(head, payload.size()));
    evbuffer_add(out, payload.data(), payload.size());
    evbuffer_add(out, kChunkTail.data(), kChunkTail.size());
  } else {
    evbuffer_add(out, payload.data(), payload.size());
  }
  host_->CheckOutputCap(this, payload.size());  // events are checked by Worker::DeliverTo
}

void EvhttpConnection::WriteShared(const FrameView& frame) {
  if (!writable()) return;
  MarkDirty();
  // By reference only while nothing waits in out_: order is queued, then out_.
  if (n_queued_ < kMaxQueued && OutputLength() == 0 && frame.bytes.size() <= UINT32_MAX) {
    QueuedFrame& q = queued_[n_queued_++];
    q.buffer = *frame.buffer;
    q.offset = static_cast<uint32_t>(frame.bytes.data() - q.buffer->data());
    q.size = static_cast<uint32_t>(frame.bytes.size());
    return;
  }
  SpillQueued();
  evbuffer_add(Output(), frame.bytes.data(), frame.bytes.size());
}

size_t EvhttpConnection::PendingBytes() const {
  if (!writable()) return 0;
  size_t queued = 0;
  for (size_t i = 0; i < n_queued_; ++i) queued += queued_[i].size;
  return OutputLength() + queued;
}

void EvhttpConnection::CloseResponse() {
  if (lean_.open()) {
    SpillQueued();
    if (chunked_) evbuffer_add(lean_.Out(), kChunkEnd.data(), kChunkEnd.size());
    // The stream says Connection: close; the socket closes once this is sent.
    lean_.Finish(kFinishWriteTimeout);
    return;
  }
  if (!req_) return;
  SpillQueued();
  evhttp_connection* evcon = evhttp_request_get_connection(req_);
  if (evcon) {
    evhttp_connection_set_closecb(evcon, nullptr, nullptr);
    bufferevent* bev = evhttp_connection_get_bufferevent(evcon);
    bufferevent_set_timeouts(bev, nullptr, &kFinishWriteTimeout);
    // Uncork: evhttp finishes a close-delimited (HTTP/1.0) response by
    // waiting for the write event to drain the buffer.
    bufferevent_enable(bev, EV_WRITE);
  }
  // The headers went out long ago, but evhttp consults the request's output
  // headers again once the body is flushed: "Connection: close" there makes
  // it close the socket instead of waiting for another request on it. A
  // client whose stream ended reconnects anyway.
  evkeyvalq* out_headers = evhttp_request_get_output_headers(req_);
  evhttp_remove_header(out_headers, "Connection");
  evhttp_add_header(out_headers, "Connection", "close");
  evhttp_request* req = req_;
  req_ = nullptr;
  out_ = nullptr;
  bev_ = nullptr;
  evhttp_send_reply_end(req);  // switches libevent's writing back on
}

void EvhttpConnection::Close(CloseReason reason) {
  if (!open()) return;
  std::string detail =
      "{\"reason\":" + JsonString(close_text.empty() ? CloseReasonName(reason) : close_text);
  if (transport() == Transport::kStream) {
    // The original's clients take every @SERVER@ frame for `connected` and
    // read connid, secret and timeout from it (its alive example restarts
    // its /alive loop with them): the es-web frame carries the connection's
    // own, so such a client keeps valid values, not `undefined` (issue 10.2).
    detail += ",\"connid\":" + std::to_string(id()) + ",\"secret\":" + JsonString(secret) +
              ",\"timeout\":" + std::to_string(TransportTimeoutMs(host_->config(), transport()));
  }
  detail += "}";
  SendServerEvent(this, "disconnect", detail);
  CloseResponse();
}

void EvhttpConnection::Abandon() {
  if (lean_.open()) {
    DropQueued();
    lean_.Drop();
    return;
  }
  if (!req_) return;
  if (evhttp_connection* evcon = evhttp_request_get_connection(req_)) {
    evhttp_connection_set_closecb(evcon, nullptr, nullptr);
  }
  DropQueued();
  req_ = nullptr;  // evhttp frees it with its connection
  out_ = nullptr;
  bev_ = nullptr;
}

std::string EvhttpConnection::HeadersJson() const { return headers_json_; }

}  // namespace herald
