// The es-web-notify stream transport: ''<N>''<json> frames over a long
// text/plain response (POST /). See docs/protocol.md.
#pragma once

#include "server/transport/evhttp_connection.h"

namespace herald {

class StreamConnection : public EvhttpConnection {
 public:
  StreamConnection(uint64_t id, ConnectionHost* host, evhttp_request* req)
      : EvhttpConnection(id, Transport::kStream, host, req) {}

  void Deliver(FrameCache& frames) override { WriteShared(frames.StreamFrame(chunked())); }
  void SendControl(std::string_view type, std::string_view json) override;
  void SendHeartbeat() override;
};

// The response headers of an es-web stream (CORS is added by the listener).
std::vector<std::pair<const char*, std::string>> StreamResponseHeaders();

}  // namespace herald
