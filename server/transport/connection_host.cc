#include "server/transport/connection_host.h"

namespace herald {

int64_t TransportTimeoutMs(const Config& config, Transport t) {
  switch (t) {
    case Transport::kStream:
      return config.stream.timeout_ms;
    case Transport::kSse:
      return config.sse.timeout_ms;
    case Transport::kPoll:
      return config.poll.session_ttl_ms;
  }
  return 0;
}

int64_t TransportHeartbeatMs(const Config& config, Transport t) {
  switch (t) {
    case Transport::kStream:
      return config.stream.heartbeat_ms;
    case Transport::kSse:
      return config.sse.heartbeat_ms;
    case Transport::kPoll:
      return 0;  // a poll is answered, never kept open
  }
  return 0;
}

}  // namespace herald
