// What every transport does when a subscriber arrives: enforce the node-wide
// and per-address connection limits, greet with `connected`, and announce
// presence (available frames for @CONNECTION@ filters, a `connect` event for
// the clid's watchers). Loop thread of the connection's worker.
#pragma once

#include <event2/http.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth/claims.h"
#include "server/core/config.h"
#include "server/net/http.h"
#include "server/transport/connection.h"

namespace herald {

struct ServerContext;
class Worker;

// JWT auth of a space connection (handlers/auth.cc). Checked before
// admission: a bad token or ticket, or a space the token does not grant, is a
// 401; no credentials at all leaves the connection pending until POST
// /authenticate or auth.timeout_ms. `required` is false outside spaces and
// when no JWT key is configured (spaces are then open).
struct SpaceAuth {
  bool required = false;
  bool pending = false;
  Claims claims;
  // A `?ticket=` still to redeem (RedeemTicketThen): the claims are not
  // known yet.
  std::string ticket;
};
// Also refuses (403) filters outside `space/...` when auth is required.
// With a ticket, the result carries it to redeem (RedeemTicketThen).
Result<SpaceAuth> CheckSpaceAuth(ServerContext& ctx, const HttpRequest& req,
                                 const std::string& space, const std::vector<std::string>& filters);
// The checks a token's claims pass for `space`: not expired (with the
// leeway), the space granted. 401 otherwise.
Status CheckClaims(const ServerContext& ctx, const std::string& space, const Claims& claims);
// Finishes `checked` (CheckSpaceAuth's result): when it carries a ticket,
// redeems it through the ticket store (possibly on another node, answered
// later on this worker's loop; `req` is held meanwhile) and checks its
// claims; then calls `then(req, result)` on this loop. Inline when there is
// no ticket. Not called at all when the client left meanwhile; a store that
// cannot answer gets `req` a 503 with Retry-After here, and no `then`.
using SpaceAuthFn = std::function<void(evhttp_request* req, Result<SpaceAuth> auth)>;
void RedeemTicketThen(Worker& worker, evhttp_request* req, Result<SpaceAuth> checked,
                      const std::string& space, SpaceAuthFn then);
// A 503 for `s` (a store that cannot answer now), with Retry-After.
HttpResponse UnavailableResponse(const Status& s);
// Is `topic` inside `space` ($space/<space>/...)? Space connections stay inside their space.
bool InsideSpace(const std::string& space, const std::string& topic);
void ApplySpaceAuth(Worker& worker, Connection* conn, const SpaceAuth& auth);
// The space form of the stream body (POST /): {"space", "channels": [...]}
// adds `space/channel` filters; no space leaves everything untouched.
Status ParseBodySpace(const std::string& body, const Limits& limits, std::string* space,
                      std::vector<std::string>* filters);

// Reserves a connection slot for `ip`; a 503 Status when a limit is reached.
// A poll session counts against limits.max_poll_sessions instead of
// max_connections (it outlives its requests by poll.session_ttl_ms). A
// successful admission is released by Worker::Forget.
Status AdmitConnection(ServerContext& ctx, const std::string& ip, bool poll_session = false);
// The 503 reply for a refused admission, with Retry-After.
HttpResponse LimitResponse(const Status& refused);
// Space auth (tickets redeemed: RedeemTicketThen), then admission, as a
// subscribe does before it builds its connection. On refusal it answers the
// request (the auth error, or 503) and calls nothing; otherwise
// `admitted(req, auth)` runs on this worker's loop, maybe later.
using AdmittedFn = std::function<void(evhttp_request* req, SpaceAuth auth)>;
void AuthorizeAndAdmit(Worker& worker, evhttp_request* req, const HttpRequest& request,
                       const std::string& space, const std::vector<std::string>& filters,
                       bool poll_session, AdmittedFn admitted);

std::string ConnectedDetail(const ServerContext& ctx, const Connection& conn);
void SendConnected(const ServerContext& ctx, Connection* conn);
void AnnouncePresence(ServerContext& ctx, Connection* conn);
// The `available` event for one @CONNECTION@/<clid> filter (nothing for others).
void SendAvailable(const ServerContext& ctx, Connection* conn, std::string_view filter);

}  // namespace herald
