// What every transport does when a subscriber arrives: enforce the node-wide
// and per-address connection limits, greet with `connected`, and announce
// presence (available frames for @CONNECTION@ filters, a `connect` event for
// the clid's watchers). Loop thread of the connection's worker.
#pragma once

#include <string>

#include "server/connection.h"
#include "server/http.h"

namespace herald {

struct ServerContext;

// Reserves a connection slot for `ip`; a 503 Status when a limit is reached.
// A successful admission is released by Worker::Forget.
Status AdmitConnection(ServerContext& ctx, const std::string& ip);
// The 503 reply for a refused admission, with Retry-After.
HttpResponse LimitResponse(const Status& refused);

std::string ConnectedDetail(const ServerContext& ctx, const Connection& conn);
void SendConnected(const ServerContext& ctx, Connection* conn);
void AnnouncePresence(ServerContext& ctx, Connection* conn);
// The `available` event for one @CONNECTION@/<clid> filter (nothing for others).
void SendAvailable(const ServerContext& ctx, Connection* conn, std::string_view filter);

}  // namespace herald
