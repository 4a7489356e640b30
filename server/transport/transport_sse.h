// The Server-Sent Events transport (GET /sse): a text/event-stream response
// that browsers read with EventSource. Application events are unnamed
// messages ("id: <event id>" and one "data:" line with the event JSON, the
// same JSON as an es-web frame), encoded once per filter per worker by
// FrameCache; control events are named after their type (connected, reset,
// joined_room, leaved_room, available, disconnect) and carry the whole control
// JSON. Heartbeats are ":" comment lines. Loop-thread only, like every
// Connection. See docs/protocol.md.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "server/transport/evhttp_connection.h"

namespace herald {

class SseConnection : public EvhttpConnection {
 public:
  SseConnection(uint64_t id, ConnectionHost* host, evhttp_request* req)
      : EvhttpConnection(id, Transport::kSse, host, req) {}

  void Deliver(FrameCache& frames) override { WriteShared(frames.SseFrame(chunked())); }
  void SendControl(std::string_view type, std::string_view json) override;
  void SendHeartbeat() override;
  // The first bytes of the stream: "retry: <ms>".
  void SendRetry(int64_t retry_ms);
};

// The response headers of an SSE stream (CORS is added by the listener).
std::vector<std::pair<const char*, std::string>> SseResponseHeaders();

}  // namespace herald
