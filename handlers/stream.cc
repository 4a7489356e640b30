#include "handlers/stream.h"

#include <event2/buffer.h>

#include "auth/secret.h"
#include "handlers/admission.h"
#include "handlers/subscribe_request.h"
#include "server/context.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/public_listener.h"
#include "server/transport_stream.h"
#include "server/worker.h"

namespace herald {
namespace {

std::string ReadBody(evhttp_request* req) {
  evbuffer* in = evhttp_request_get_input_buffer(req);
  std::string body(evbuffer_get_length(in), '\0');
  evbuffer_remove(in, body.data(), body.size());
  return body;
}

}  // namespace

void HandleStreamSubscribe(Worker& worker, evhttp_request* req) {
  ServerContext& ctx = worker.ctx();
  if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
    Add(ctx.stats.rejected_bad);
    SendEvhttpResponse(worker, req, HttpResponse::Error(400, "Method is not POST"));
    return;
  }
  std::string body = ReadBody(req);
  auto parsed = ParseEsWebSubscribe(body, ctx.config.limits);
  if (!parsed.ok()) {
    Add(ctx.stats.rejected_bad);
    SendEvhttpResponse(worker, req, HttpResponse::FromStatus(parsed.status()));
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
  conn->clid = parsed->clid;
  conn->body = std::move(body);
  conn->body.shrink_to_fit();
  conn->remote = std::move(remote);
  conn->remote_ip = std::move(ip);
  AddCorsHeaders(worker, req);
  conn->StartResponse(StreamResponseHeaders());
  Connection* c = worker.Adopt(std::move(conn), parsed->filters);
  SendConnected(ctx, c);
  AnnouncePresence(ctx, c);
  if (!parsed->last_event_id.empty()) worker.StartReplay(c, parsed->last_event_id);
  LogDebug("stream", c->id(), "connected clid=%s filters=%zu", c->clid.c_str(),
           parsed->filters.size());
}

}  // namespace herald
