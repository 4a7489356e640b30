// DeliveryPolicy: the one decision of who may receive an event. Live
// delivery (Worker::Dispatch / DeliverTo), replay (Replayer, server/replayer.h),
// whispers and long polling (PollConnection::Collect) all ask here, so a new
// path cannot forget a rule. The rules, in order:
//   - a whisper reaches only the connection it names;
//   - a space connection waiting for its token (auth_pending) gets nothing;
//   - an expired token (exp + leeway passed) gets nothing, and the caller
//     closes the connection as `unauthorized`;
//   - an event of space s (`$space/s/...`) reaches only a connection of space
//     s, through a filter inside s; a plain event never goes through a space
//     filter (server/core/space.h);
//   - bound ("binded") topics: the event's ACL decides (BoundAdmits below).
//
// Which filter an event names in `ep.requested` is decided here too
// (DeliveryFilter), the same way on every path (docs/protocol.md).
//
// Pure functions of their arguments; call on the connection's loop thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "server/core/event.h"
#include "server/transport/connection.h"

namespace herald {

enum class Verdict : uint8_t {
  kDeliver,
  kSkip,          // not for this connection (through this filter)
  kTokenExpired,  // not delivered; the connection must be closed `unauthorized`
};

// May `conn` receive `ev` through its filter `filter`? `now_ms` matters only
// for a connection with a token exp.
Verdict DecideDelivery(const Connection& conn, const Event& ev, std::string_view filter,
                       int64_t now_ms);
inline bool MayReceive(const Connection& conn, const Event& ev, std::string_view filter,
                       int64_t now_ms) {
  return DecideDelivery(conn, ev, filter, now_ms) == Verdict::kDeliver;
}

// The filter `ev` names when it reaches `conn`: among the connection's
// filters that match the topic and that MayReceive admits, the most specific
// (MatchingFilter's order), and among equally specific ones (possible only
// when the published topic holds wildcards) the one subscribed first. Empty
// when the event does not reach `conn` at all.
std::string_view DeliveryFilter(const Connection& conn, const Event& ev, int64_t now_ms);

// Has the connection's token passed exp + leeway?
bool TokenExpired(const Connection& conn, int64_t now_ms);
// Records a verified token's exp (0: none) and the leeway it was verified with.
void SetToken(Connection* conn, int64_t exp_s, int64_t leeway_s);

}  // namespace herald
