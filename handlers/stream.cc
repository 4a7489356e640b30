#include "handlers/stream.h"

#include <event2/buffer.h>

#include "auth/secret.h"
#include "handlers/admission.h"
#include "handlers/handlers.h"
#include "handlers/subscribe_request.h"
#include "server/context.h"
#include "server/hub.h"
#include "server/public_listener.h"
#include "server/transport/transport_stream.h"
#include "server/util/log.h"
#include "server/worker.h"

namespace herald {
namespace {

std::string ReadBody(evhttp_request* req) {
  evbuffer* in = evhttp_request_get_input_buffer(req);
  std::string body(evbuffer_get_length(in), '\0');
  evbuffer_remove(in, body.data(), body.size());
  return body;
}

// After the space auth (a ticket redeemed): the bind key, admission, and the
// stream starts.
void OpenStream(Worker& worker, evhttp_request* req, SubscribeRequest parsed, std::string body,
                std::string space, Result<SpaceAuth> space_auth) {
  ServerContext& ctx = worker.ctx();
  if (!space_auth.ok()) {
    Add(ctx.stats.rejected_bad);
    SendEvhttpResponse(worker, req, HttpResponse::FromStatus(space_auth.status()));
    return;
  }
  Principal who;
  Status bind = AuthorizeBoundSubscribe(ctx, parsed.bind_key, parsed.bound, &who);
  if (!bind.ok()) {
    Add(ctx.stats.rejected_bad);
    SendEvhttpResponse(worker, req, HttpResponse::FromStatus(bind));
    return;
  }
  std::string ip;
  std::string remote = PeerAddress(req, &ip);
  Status admitted = AdmitConnection(ctx, ip);
  if (!admitted.ok()) {
    SendEvhttpResponse(worker, req, LimitResponse(admitted));
    return;
  }

  auto conn = std::make_unique<StreamConnection>(worker.NextConnId(), &worker, req);
  conn->secret = NewSecret();
  conn->clid = parsed.clid;
  if (who.bound) {
    conn->bound = true;
    conn->user = std::move(who.uid);
    conn->bound_filters = parsed.bound;
  }
  conn->subscribe_request = std::move(body);
  conn->subscribe_request.shrink_to_fit();
  conn->remote = std::move(remote);
  conn->remote_ip = std::move(ip);
  AddCorsHeaders(worker, req);
  conn->StartResponse(StreamResponseHeaders());
  conn->space = std::move(space);
  Connection* c = worker.Adopt(std::move(conn), parsed.filters);
  ApplySpaceAuth(worker, c, *space_auth);
  SendConnected(ctx, c);
  AnnouncePresence(ctx, c);
  if (!parsed.last_event_id.empty()) worker.StartReplay(c, parsed.last_event_id);
  LogDebug("stream", c->id(), "connected clid=%s filters=%zu", c->clid.c_str(),
           parsed.filters.size());
}

}  // namespace

void HandleStreamSubscribe(Worker& worker, evhttp_request* req) {
  ServerContext& ctx = worker.ctx();
  if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
    Add(ctx.stats.rejected_bad);
    SendEvhttpResponse(worker, req,
                       HttpResponse::FromStatus(Status::BadRequest("Method is not POST")));
    return;
  }
  std::string body = ReadBody(req);
  auto parsed = ParseEsWebSubscribe(body, ctx.config.limits);
  if (!parsed.ok()) {
    Add(ctx.stats.rejected_bad);
    SendEvhttpResponse(worker, req, HttpResponse::FromStatus(parsed.status()));
    return;
  }
  std::string space;
  Status space_ok = ParseBodySpace(body, ctx.config.limits, &space, &parsed->filters);
  auto space_auth = space_ok.ok() ? CheckSpaceAuth(ctx, ToHttpRequest(req), space, parsed->filters)
                                  : Result<SpaceAuth>(space_ok);
  Worker* w = &worker;
  RedeemTicketThen(worker, req, std::move(space_auth), space,
                   [w, parsed = std::move(*parsed), body = std::move(body), space](
                       evhttp_request* req, Result<SpaceAuth> space_auth) mutable {
                     OpenStream(*w, req, std::move(parsed), std::move(body), std::move(space),
                                std::move(space_auth));
                   });
}

}  // namespace herald
