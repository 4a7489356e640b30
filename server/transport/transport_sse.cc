#include "server/transport/transport_sse.h"

#include "server/transport/wire.h"
#include "server/util/json.h"

namespace herald {

std::vector<std::pair<const char*, std::string>> SseResponseHeaders() {
  return {{"Content-Type", "text/event-stream"},
          {"Cache-Control", "no-cache, no-transform"},
          {"X-Accel-Buffering", "no"},
          // The socket closes when the stream ends (timeout, kick, shutdown):
          // say so up front, or a keep-alive client (Node's http.Agent) would
          // send its next request on the dead socket (issue 10.3).
          {"Connection", "close"}};
}

void SseConnection::SendControl(std::string_view type, std::string_view json) {
  std::string message;
  AppendSseNamedEvent(&message, type, json);
  WriteBody(message);
}

void SseConnection::SendHeartbeat() { WriteBody(kSseHeartbeat); }

void SseConnection::SendRetry(int64_t retry_ms) {
  WriteBody("retry: " + std::to_string(retry_ms) + "\n\n");
}

}  // namespace herald
