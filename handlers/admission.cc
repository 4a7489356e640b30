#include "handlers/admission.h"

#include "server/context.h"
#include "server/hub.h"
#include "server/json.h"

namespace herald {

Status AdmitConnection(ServerContext& ctx, const std::string& ip) {
  const Limits& lim = ctx.config.limits;
  if (ctx.stats.open_connections.fetch_add(1) >= lim.max_connections) {
    Add(ctx.stats.open_connections, -1);
    Add(ctx.stats.rejected_limit);
    return Status::Error(503, "Too many connections");
  }
  if (!ctx.presence.TryAcquireIp(ip, lim.max_connections_per_ip)) {
    Add(ctx.stats.open_connections, -1);
    Add(ctx.stats.rejected_limit);
    return Status::Error(503, "Too many connections from this address");
  }
  return Status::Ok();
}

HttpResponse LimitResponse(const Status& refused) {
  HttpResponse resp = HttpResponse::FromStatus(refused);
  resp.headers.emplace_back("Retry-After", "5");
  return resp;
}

std::string ConnectedDetail(const ServerContext& ctx, const Connection& conn) {
  return "{\"connid\":" + std::to_string(conn.id()) + ",\"secret\":" + JsonString(conn.secret) +
         ",\"timeout\":" + std::to_string(ctx.config.stream.timeout_ms) + "}";
}

void SendConnected(const ServerContext& ctx, Connection* conn) {
  conn->SendControl(
      ControlJson(NowMs(), kServerTopic, kServerTopic, "connected", ConnectedDetail(ctx, *conn)));
}

void AnnouncePresence(ServerContext& ctx, Connection* conn) {
  const int64_t count = ctx.presence.Change(conn->clid, +1);
  const std::string prefix = kPresencePrefix;
  for (auto* sub : conn->subscriptions) {
    std::string_view filter = ConnectionIndex::FilterOf(sub);
    if (filter.rfind(prefix, 0) != 0) continue;
    std::string watched(filter.substr(prefix.size()));
    if (watched.find_first_of("+#") != std::string::npos) continue;
    std::string detail =
        "{\"clid_instances\":\"" + std::to_string(ctx.presence.Count(watched)) + "\"}";
    conn->SendControl(ControlJson(NowMs(), filter, filter, "available", detail));
  }
  PublishPresence(&ctx, conn->clid, "connect", count);
}

}  // namespace herald
