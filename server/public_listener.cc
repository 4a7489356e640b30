#include "server/public_listener.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include <thread>

#include "server/context.h"
#include "server/net/api_auth.h"
#include "server/worker.h"

namespace herald {
namespace {

const char* MethodName(evhttp_cmd_type cmd) {
  switch (cmd) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_TRACE:
      return "TRACE";
    case EVHTTP_REQ_CONNECT:
      return "CONNECT";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
  }
  return "?";
}

HttpResponse ShuttingDownResponse() {
  HttpResponse r = HttpResponse::Error(503, "Server is shutting down");
  r.cause = RejectCause::kShuttingDown;
  return r;
}

void Dispatch(Worker& worker, evhttp_request* req, const Router::Route& route) {
  HttpRequest request = ToHttpRequest(req);
  const Config& config = worker.ctx().config;
  if (route.is_private && ListenerChecksToken(config, request) &&
      !AuthorizePrivate(config, request)) {
    SendEvhttpResponse(worker, req,
                       HttpResponse::FromStatus(Status::Unauthorized("Missing or wrong token")));
    return;
  }
  // Held while the handler works: an answer from another thread (a gather, a
  // background publish) must not touch a request whose client has left.
  Worker* w = &worker;
  const uint64_t token = w->HoldRequest(req, [w](uint64_t, evhttp_request* r) {
    if (r) SendEvhttpResponse(*w, r, ShuttingDownResponse());
  });
  route.handler(request, [w, token](HttpResponse resp) {
    if (w->InLoopThread()) {
      if (evhttp_request* r = w->ReleaseHeld(token)) SendEvhttpResponse(*w, r, resp);
    } else {
      w->AnswerHeld(token, std::move(resp));
    }
  });
}

// Request smuggling: a proxy in front may read the body by one of two
// conflicting lengths and herald by the other. Refused, and the connection
// closed, rather than guessed (RFC 9112 section 6.3).
bool AmbiguousLength(evhttp_request* req) {
  const evkeyvalq* headers = evhttp_request_get_input_headers(req);
  int lengths = 0;
  bool transfer_encoding = false;
  for (const evkeyval* kv = headers->tqh_first; kv; kv = kv->next.tqe_next) {
    if (evutil_ascii_strcasecmp(kv->key, "Content-Length") == 0) ++lengths;
    if (evutil_ascii_strcasecmp(kv->key, "Transfer-Encoding") == 0) transfer_encoding = true;
  }
  return lengths > 1 || (lengths > 0 && transfer_encoding);
}

}  // namespace

std::string PeerAddress(evhttp_request* req, std::string* ip) {
  char* host = nullptr;
  ev_uint16_t port = 0;
  evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
  *ip = host ? host : "";
  return *ip + ":" + std::to_string(port);
}

HttpRequest ToHttpRequest(evhttp_request* req) {
  HttpRequest r;
  r.method = MethodName(evhttp_request_get_command(req));
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* path = uri ? evhttp_uri_get_path(uri) : nullptr;
  r.path = path && *path ? path : "/";
  if (const char* q = uri ? evhttp_uri_get_query(uri) : nullptr) r.query = ParseQueryString(q);
  const evkeyvalq* headers = evhttp_request_get_input_headers(req);
  for (const evkeyval* kv = headers->tqh_first; kv; kv = kv->next.tqe_next) {
    r.headers.emplace_back(kv->key, kv->value);
  }
  evbuffer* in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  r.body.resize(len);
  evbuffer_remove(in, r.body.data(), len);
  PeerAddress(req, &r.remote_ip);
  return r;
}

void AddCorsHeaders(Worker& worker, evhttp_request* req) {
  evkeyvalq* out = evhttp_request_get_output_headers(req);
  evhttp_add_header(out, "Access-Control-Allow-Origin", worker.ctx().config.cors_origin.c_str());
  evhttp_add_header(out, "Access-Control-Expose-Headers", "Retry-After");
}

void SendEvhttpResponse(Worker& worker, evhttp_request* req, const HttpResponse& response) {
  HttpResponse adapted;
  const HttpResponse* chosen = &response;
  if (response.status >= 400) {
    const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
    const char* path = uri ? evhttp_uri_get_path(uri) : nullptr;
    adapted = response;
    AdaptErrorBody(path && *path ? path : "/", &adapted);
    chosen = &adapted;
  }
  const HttpResponse& resp = *chosen;
  CountRejection(worker.ctx().stats, resp);
  AddCorsHeaders(worker, req);
  evkeyvalq* out = evhttp_request_get_output_headers(req);
  if (!resp.body.empty() || resp.status != 204) {
    evhttp_add_header(out, "Content-Type", resp.content_type.c_str());
  }
  evhttp_add_header(out, "Cache-Control", "no-store");
  for (const auto& [k, v] : resp.headers) evhttp_add_header(out, k.c_str(), v.c_str());
  evbuffer* body = evhttp_request_get_output_buffer(req);
  evbuffer_add(body, resp.body.data(), resp.body.size());
  const std::string& reason = resp.reason.empty() ? StandardReason(resp.status) : resp.reason;
  evhttp_send_reply(req, resp.status, reason.c_str(), nullptr);
}

void HandlePublicRequest(evhttp_request* req, void* arg) {
  Worker& worker = *static_cast<Worker*>(arg);
  ServerContext& ctx = worker.ctx();
  worker.accept_guard().RequestArrived(req);
  if (AmbiguousLength(req)) {
    Add(ctx.stats.rejected_bad);
    HttpResponse resp = HttpResponse::FromStatus(
        Status::BadRequest("Content-Length twice, or with Transfer-Encoding"));
    resp.headers.emplace_back("Connection", "close");
    SendEvhttpResponse(worker, req, resp);
    return;
  }
  if (evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS) {
    HttpResponse resp;
    resp.status = 204;
    resp.headers = {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                    {"Access-Control-Allow-Headers", kCorsAllowHeaders},
                    {"Access-Control-Max-Age", "600"}};
    SendEvhttpResponse(worker, req, resp);
    return;
  }
  if (worker.shutting_down()) {
    HttpResponse resp = ShuttingDownResponse();
    resp.headers.emplace_back("Retry-After", "1");
    SendEvhttpResponse(worker, req, resp);
    return;
  }
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* raw_path = uri ? evhttp_uri_get_path(uri) : nullptr;
  const std::string path = raw_path && *raw_path ? raw_path : "/";
  // Streaming and held responses: these own their request beyond the handler.
  if (auto it = ctx.streaming_routes.find(path); it != ctx.streaming_routes.end()) {
    it->second(worker, req);
    return;
  }
  if (const Router::Route* route = ctx.public_routes.Find(path)) {
    Dispatch(worker, req, *route);
    return;
  }
  if (ctx.config.compat.public_private_api) {
    if (const Router::Route* route = ctx.private_routes.Find(path)) {
      Dispatch(worker, req, *route);
      return;
    }
  }
  SendEvhttpResponse(worker, req, HttpResponse::FromStatus(Status::NotFound("Not found")));
}

}  // namespace herald
