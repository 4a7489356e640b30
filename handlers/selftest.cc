#include "handlers/selftest.h"

#include <event2/buffer.h>

#include <memory>

#include "server/context.h"
#include "server/core/event.h"
#include "server/public_listener.h"
#include "server/transport/transport_sse.h"
#include "server/transport/transport_stream.h"
#include "server/transport/wire.h"
#include "server/util/c_handles.h"
#include "server/util/event_add.h"
#include "server/worker.h"

namespace herald {
namespace {

constexpr int kSelftestEvents = 5;
constexpr int kSelftestIntervalMs = 400;
constexpr char kSelftestTopic[] = "@SELFTEST@";

// One self-test stream. Owned by the worker's held-request entry (through
// its end callback), so it lives exactly as long as the request is held.
struct Selftest : std::enable_shared_from_this<Selftest> {
  Worker* worker = nullptr;
  uint64_t token = 0;
  bool sse = false;
  int sent = 0;
  EventPtr timer;

  void SendNext() {
    evhttp_request* req = worker->HeldRequest(token);
    if (!req) return;
    ++sent;
    const int64_t now = NowMs();
    const std::string detail = "{\"n\":" + std::to_string(sent) +
                               ",\"count\":" + std::to_string(kSelftestEvents) +
                               ",\"interval_ms\":" + std::to_string(kSelftestIntervalMs) +
                               ",\"sent_ms\":" + std::to_string(now) + "}";
    const std::string json = ControlJson(now, kSelftestTopic, kSelftestTopic, "selftest", detail);
    std::string frame;
    if (sse) {
      frame = "data: " + json + "\n\n";
    } else {
      AppendStreamFrame(&frame, json);
    }
    EvbufferPtr buf(evbuffer_new());
    evbuffer_add(buf.get(), frame.data(), frame.size());
    evhttp_send_reply_chunk(req, buf.get());
    if (sent >= kSelftestEvents) {
      // Keeps this object alive while the entry (its owner) is dropped.
      std::shared_ptr<Selftest> self = shared_from_this();
      if (evhttp_request* r = worker->ReleaseHeld(token)) evhttp_send_reply_end(r);
      timer.reset();
      return;
    }
    timeval tv = {0, kSelftestIntervalMs * 1000};
    if (!AddEvent(timer.get(), &tv, "selftest", "next frame")) {
      // No next frame can come: end the stream so the client decides now.
      std::shared_ptr<Selftest> self = shared_from_this();
      if (evhttp_request* r = worker->ReleaseHeld(token)) evhttp_send_reply_end(r);
      timer.reset();
    }
  }
};

}  // namespace

void HandleSelftest(Worker& worker, evhttp_request* req) {
  const evhttp_cmd_type cmd = evhttp_request_get_command(req);
  if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
    SendEvhttpResponse(worker, req,
                       HttpResponse::FromStatus(Status::BadRequest("Method is not GET or POST")));
    return;
  }
  HttpRequest request = ToHttpRequest(req);
  const std::string* accept = request.Header("Accept");
  const std::string* transport = request.Query("transport");
  auto test = std::make_shared<Selftest>();
  test->worker = &worker;
  test->sse = (accept && accept->find("text/event-stream") != std::string::npos) ||
              (transport && *transport == "sse");
  AddCorsHeaders(worker, req);
  evkeyvalq* out = evhttp_request_get_output_headers(req);
  for (const auto& [name, value] : test->sse ? SseResponseHeaders() : StreamResponseHeaders()) {
    evhttp_add_header(out, name, value.c_str());
  }
  evhttp_send_reply_start(req, 200, "OK");
  test->timer.reset(event_new(
      worker.base(), -1, 0,
      [](evutil_socket_t, short, void* self) { static_cast<Selftest*>(self)->SendNext(); },
      test.get()));
  test->token = worker.HoldRequest(req, [test](uint64_t, evhttp_request* r) {
    test->timer.reset();              // no more ticks
    if (r) evhttp_send_reply_end(r);  // shutting down: end the stream
  });
  test->SendNext();
}

}  // namespace herald
