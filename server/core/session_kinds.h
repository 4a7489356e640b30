// The kinds every layer counts by: a subscriber's transport and why its
// connection ended (stats, /state, /metrics and the transports share them).
#pragma once

#include <cstdint>

namespace herald {

enum class Transport : uint8_t { kStream = 0, kSse = 1, kPoll = 2 };
inline constexpr int kTransportCount = 3;
const char* TransportName(Transport t);

enum class CloseReason : uint8_t {
  kClient = 0,  // the client went away
  kTimeout,
  kSlow,
  kShutdown,
  kKicked,
  kUnauthorized,
};
inline constexpr int kCloseReasonCount = 6;
const char* CloseReasonName(CloseReason r);

}  // namespace herald
