// Why a request was refused: the `cause` label of herald_rejected_total and
// the members of /state's "rejections". Every refusal is counted where its
// answer is sent (the public listener's SendEvhttpResponse, the private
// listener's Send), from the answer's status unless the answer names its
// cause itself (HttpResponse::cause), so no refusal path can forget to count.
#pragma once

#include <cstdint>

namespace herald {

enum class RejectCause : uint8_t {
  kBadRequest = 0,    // 400, 405, 411, 415: malformed or wrong method
  kUnauthorized,      // 401: missing or wrong credentials
  kForbidden,         // 403: credentials that do not grant this
  kNotFound,          // 404
  kTooLarge,          // 413, 414, 431: body, URI or headers past a limit
  kLimitConnections,  // limits.max_connections, _per_ip, max_poll_sessions
  kRateLimited,       // 429
  kTimeout,           // 408, and requests cut for arriving too slowly (or no room)
  kGone,              // 410: unknown or expired poll session
  kShuttingDown,      // 503 while the node stops
  kUnavailable,       // other 503 (e.g. too many /state/stream readers)
  kOther,             // any other status >= 400
};
inline constexpr int kRejectCauseCount = 12;
const char* RejectCauseName(RejectCause c);
// The cause an answer of `status` (>= 400) is counted under by default.
RejectCause RejectCauseOfStatus(int status);

}  // namespace herald
