#include "handlers/sse.h"

#include "auth/secret.h"
#include "handlers/admission.h"
#include "handlers/subscribe_query.h"
#include "server/context.h"
#include "server/public_listener.h"
#include "server/transport/transport_sse.h"
#include "server/util/log.h"
#include "server/worker.h"

namespace herald {

namespace {

// The subscriber admitted: its stream starts.
void OpenSse(Worker& worker, evhttp_request* req, const SubscribeParams& parsed,
             const std::optional<std::string>& cursor, const SpaceAuth& space_auth) {
  ServerContext& ctx = worker.ctx();
  auto conn = std::make_unique<SseConnection>(worker.NextConnId(), &worker, req);
  conn->secret = NewSecret();
  conn->clid = parsed.clid;
  conn->space = parsed.space;
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* query = uri ? evhttp_uri_get_query(uri) : nullptr;
  conn->subscribe_request = query ? query : "";
  conn->remote = PeerAddress(req, &conn->remote_ip);
  AddCorsHeaders(worker, req);
  conn->StartResponse(SseResponseHeaders());
  conn->SendRetry(ctx.config.sse.retry_ms);
  Connection* c = worker.Adopt(std::move(conn), parsed.filters);
  ApplySpaceAuth(worker, c, space_auth);
  SendConnected(ctx, c);
  AnnouncePresence(ctx, c);
  if (cursor && !cursor->empty()) worker.StartReplay(c, *cursor);
  LogDebug("sse", c->id(), "connected clid=%s filters=%zu%s", c->clid.c_str(),
           parsed.filters.size(), cursor ? " (resuming)" : "");
}

}  // namespace

void HandleSseSubscribe(Worker& worker, evhttp_request* req) {
  ServerContext& ctx = worker.ctx();
  if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
    Add(ctx.stats.rejected_bad);
    SendEvhttpResponse(worker, req,
                       HttpResponse::FromStatus(Status::BadRequest("Method is not GET")));
    return;
  }
  HttpRequest request = ToHttpRequest(req);
  auto parsed = ParseSubscribeParams(request.query, ctx.config.limits, false);
  if (!parsed.ok()) {
    Add(ctx.stats.rejected_bad);
    SendEvhttpResponse(worker, req, HttpResponse::FromStatus(parsed.status()));
    return;
  }
  // EventSource reconnects to the same URL (with its original lastEventId, if
  // any) and sends the newest id it saw as Last-Event-ID: the header wins.
  std::optional<std::string> cursor = parsed->cursor;
  if (const std::string* h = request.Header("Last-Event-ID")) cursor = *h;

  Worker* w = &worker;
  // Copies: the continuation takes `parsed` (argument order is unspecified).
  const std::string space = parsed->space;
  const std::vector<std::string> filters = parsed->filters;
  AuthorizeAndAdmit(
      worker, req, request, space, filters, false,
      [w, parsed = std::move(*parsed), cursor](evhttp_request* req, SpaceAuth space_auth) {
        OpenSse(*w, req, parsed, cursor, space_auth);
      });
}

}  // namespace herald
