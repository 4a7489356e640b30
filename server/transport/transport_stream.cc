#include "server/transport/transport_stream.h"

#include "server/core/presence.h"
#include "server/transport/wire.h"
#include "server/util/json.h"

namespace herald {

std::vector<std::pair<const char*, std::string>> StreamResponseHeaders() {
  return {{"Content-Type", "text/plain;charset=utf-8"},
          {"X-Content-Type-Options", "nosniff"},
          {"Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"},
          {"Pragma", "no-cache"},
          {"X-Accel-Buffering", "no"},
          // The socket closes when the stream ends (timeout, kick, shutdown):
          // say so up front, or a keep-alive client (Node's http.Agent) would
          // send its next request on the dead socket (issue 10.3).
          {"Connection", "close"}};
}

void StreamConnection::SendControl(std::string_view, std::string_view json) {
  std::string frame;
  AppendStreamFrame(&frame, json);
  WriteBody(frame);
}

void StreamConnection::SendHeartbeat() { WriteBody(kStreamHeartbeat); }

}  // namespace herald
