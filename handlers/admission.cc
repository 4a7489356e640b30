#include "handlers/admission.h"

#include "server/context.h"
#include "server/core/connid.h"
#include "server/core/space.h"
#include "server/hub.h"
#include "server/public_listener.h"
#include "server/util/json.h"
#include "server/worker.h"

namespace herald {

Status AdmitConnection(ServerContext& ctx, const std::string& ip, bool poll_session) {
  const Limits& lim = ctx.config.limits;
  Counter& open = poll_session ? ctx.stats.open_poll_sessions : ctx.stats.open_connections;
  const int64_t max = poll_session ? lim.max_poll_sessions : lim.max_connections;
  if (open.fetch_add(1) >= max) {
    Add(open, -1);
    Add(ctx.stats.rejected_limit);
    return Status::Unavailable(poll_session ? "Too many poll sessions" : "Too many connections");
  }
  if (!ctx.presence.TryAcquireIp(ip, lim.max_connections_per_ip)) {
    Add(open, -1);
    Add(ctx.stats.rejected_limit);
    return Status::Unavailable("Too many connections from this address");
  }
  return Status::Ok();
}

HttpResponse LimitResponse(const Status& refused) {
  HttpResponse resp = HttpResponse::FromStatus(refused);
  resp.cause = RejectCause::kLimitConnections;
  resp.headers.emplace_back("Retry-After", "5");
  return resp;
}

void AuthorizeAndAdmit(Worker& worker, evhttp_request* req, const HttpRequest& request,
                       const std::string& space, const std::vector<std::string>& filters,
                       bool poll_session, AdmittedFn admitted) {
  ServerContext& ctx = worker.ctx();
  Worker* w = &worker;
  RedeemTicketThen(worker, req, CheckSpaceAuth(ctx, request, space, filters), space,
                   [w, ip = request.remote_ip, poll_session, admitted = std::move(admitted)](
                       evhttp_request* r, Result<SpaceAuth> space_auth) {
                     ServerContext& ctx = w->ctx();
                     if (!space_auth.ok()) {
                       Add(ctx.stats.rejected_bad);
                       SendEvhttpResponse(*w, r, HttpResponse::FromStatus(space_auth.status()));
                       return;
                     }
                     Status ok = AdmitConnection(ctx, ip, poll_session);
                     if (!ok.ok()) return SendEvhttpResponse(*w, r, LimitResponse(ok));
                     admitted(r, std::move(*space_auth));
                   });
}

std::string ConnectedDetail(const ServerContext& ctx, const Connection& conn) {
  // `cursor`: the last event published before the connection subscribed
  // (Worker::Adopt); live delivery starts after it, so resuming from it
  // loses nothing even if the stream ends before its first event.
  return "{\"connid\":" + std::to_string(conn.id()) + ",\"secret\":" + JsonString(conn.secret) +
         ",\"timeout\":" + std::to_string(TransportTimeoutMs(ctx.config, conn.transport())) +
         ",\"cursor\":\"" + FormatEventId(ctx.hub->epoch(), conn.last_seq) + "\"}";
}

void SendConnected(const ServerContext& ctx, Connection* conn) {
  SendServerEvent(conn, "connected", ConnectedDetail(ctx, *conn));
}

namespace {

void SendAvailableCount(Connection* conn, std::string_view filter, int64_t count) {
  std::string detail = "{\"clid_instances\":\"" + std::to_string(count) + "\"}";
  conn->SendControl("available", ControlJson(NowMs(), filter, filter, "available", detail));
}

// With Redis the count is every live node's (docs/scaling.md, "Across
// nodes"): read asynchronously, then sent from the connection's own loop if
// it is still open. Redis down: this node's own count.
void SendClusterAvailable(const ServerContext& ctx, Connection* conn, const std::string& watched,
                          std::string_view filter) {
  Worker* w = ctx.workers[static_cast<size_t>(ConnIdWorker(conn->id()))].get();
  ctx.cluster->PresenceCount(
      watched, w->LoopPost(),
      [&ctx, w, id = conn->id(), watched, filter = std::string(filter)](int64_t n) {
        Connection* c = w->Find(id);
        if (!c || c->closing) return;
        SendAvailableCount(c, filter, n >= 0 ? n : ctx.presence.CountKey(watched));
      });
}

}  // namespace

void SendAvailable(const ServerContext& ctx, Connection* conn, std::string_view filter) {
  // As the original: one level after the prefix gets an `available`, even
  // `#` or `+` (a clid of that name: "0"), with requested = emitted = filter.
  // A space's presence filter counts inside the space (server/core/space.h).
  const std::string watched(PresenceKeyWatched(filter));
  if (watched.empty() || conn->auth_pending) return;  // no presence before the token
  if (ctx.cluster) return SendClusterAvailable(ctx, conn, watched, filter);
  SendAvailableCount(conn, filter, ctx.presence.CountKey(watched));
}

void AnnouncePresence(ServerContext& ctx, Connection* conn) {
  const std::string key = PresenceKey(conn->clid, conn->space);
  const int64_t count = ctx.presence.ChangeKeyed(conn->clid, key, +1);
  // The change first: with Redis, the `available` read that follows it on
  // the one command connection then counts this connection too.
  PublishPresence(&ctx, key, "connect", count);
  for (auto* sub : conn->subscriptions) SendAvailable(ctx, conn, ConnectionIndex::FilterOf(sub));
}

}  // namespace herald
