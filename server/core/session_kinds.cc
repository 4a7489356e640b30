#include "server/core/session_kinds.h"

namespace herald {

const char* TransportName(Transport t) {
  switch (t) {
    case Transport::kStream:
      return "stream";
    case Transport::kSse:
      return "sse";
    case Transport::kPoll:
      return "poll";
  }
  return "?";
}

const char* CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kClient:
      return "client";
    case CloseReason::kTimeout:
      return "timeout";
    case CloseReason::kSlow:
      return "slow";
    case CloseReason::kShutdown:
      return "shutdown";
    case CloseReason::kKicked:
      return "kicked";
    case CloseReason::kUnauthorized:
      return "unauthorized";
  }
  return "?";
}

}  // namespace herald
