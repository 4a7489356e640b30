#include "handlers/poll.h"

#include <algorithm>

#include "auth/secret.h"
#include "handlers/admission.h"
#include "handlers/connection_route.h"
#include "handlers/poll_share.h"
#include "handlers/subscribe_query.h"
#include "server/context.h"
#include "server/core/connid.h"
#include "server/hub.h"
#include "server/public_listener.h"
#include "server/store/store.h"
#include "server/transport/poll_session.h"
#include "server/util/json.h"
#include "server/util/log.h"
#include "server/worker.h"

namespace herald {
namespace {

std::string HeadersJson(const HttpRequest& req) {
  std::string out = "{";
  for (const auto& [k, v] : req.headers) {
    if (out.size() > 1) out += ",";
    AppendJsonString(&out, k);
    out += ":";
    AppendJsonString(&out, v);
  }
  return out + "}";
}

// A body up to kMaxKeptBody bytes is kept as it came; a longer one only as
// a note of its size.
std::string BodySummary(const std::string& body) {
  constexpr size_t kMaxKeptBody = 1024;
  if (body.size() <= kMaxKeptBody) return body;
  return "{\"omitted_bytes\":" + std::to_string(body.size()) + "}";
}

// A poll held at SIGTERM ends as the streams do: `disconnect` `shutdown`
// (the session, on whichever worker, is going away too). The cursor is where
// the client stood, so it resumes elsewhere without a gap.
HttpResponse ShutdownAnswer(ServerContext& ctx, uint64_t connid, const std::string& secret,
                            const std::string& since) {
  const std::string cursor =
      since.empty() ? FormatEventId(ctx.hub->epoch(), ctx.hub->store().LastSeq()) : since;
  return HttpResponse::Json(
      "{\"connid\":" + std::to_string(connid) + ",\"secret\":" + JsonString(secret) +
      ",\"events\":[" +
      ControlJson(NowMs(), kServerTopic, kServerTopic, "disconnect", "{\"reason\":\"shutdown\"}") +
      "],\"cursor\":" + JsonString(cursor) + "}");
}

// The session admitted: it starts, and its first poll is answered at once.
void OpenSession(Worker& worker, evhttp_request* req, const HttpRequest& request,
                 const SubscribeParams& params, const SpaceAuth& space_auth) {
  ServerContext& ctx = worker.ctx();
  auto conn = std::make_unique<PollConnection>(worker.NextConnId(), &worker);
  conn->secret = NewSecret();
  conn->clid = params.clid;
  conn->space = params.space;
  // The session outlives this request by poll.session_ttl_ms: it keeps its
  // parsed filters, and of the body only what /connections?details shows.
  if (request.method == "POST") conn->subscribe_request = BodySummary(request.body);
  conn->remote_ip = request.remote_ip;
  conn->remote = request.remote_ip;
  conn->headers_json = HeadersJson(request);
  Connection* c = worker.Adopt(std::move(conn), params.filters);
  ApplySpaceAuth(worker, c, space_auth);
  AnnouncePresence(ctx, c);
  if (ctx.poll_share) ctx.poll_share->Save(*c, true);  // its next poll may land elsewhere
  Worker* w = &worker;
  auto* session = static_cast<PollConnection*>(c);
  LogDebug("poll", c->id(), "session started clid=%s filters=%zu", c->clid.c_str(),
           params.filters.size());
  // Timeout 0: the first poll never waits.
  session->Poll(params.cursor.value_or(""), 0, 0,
                [w, req](HttpResponse resp) { SendEvhttpResponse(*w, req, resp); });
}

// The first poll: a new session on this worker, answered at once.
void StartSession(Worker& worker, evhttp_request* req, const HttpRequest& request,
                  SubscribeParams params) {
  Worker* w = &worker;
  // Copies: the continuation takes `params` (argument order is unspecified).
  const std::string space = params.space;
  const std::vector<std::string> filters = params.filters;
  AuthorizeAndAdmit(
      worker, req, request, space, filters, true,
      [w, request, params = std::move(params)](evhttp_request* req, SpaceAuth space_auth) {
        OpenSession(*w, req, request, params, space_auth);
      });
}

}  // namespace

void HandlePoll(Worker& worker, evhttp_request* req) {
  ServerContext& ctx = worker.ctx();
  const evhttp_cmd_type cmd = evhttp_request_get_command(req);
  if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
    Add(ctx.stats.rejected_bad);
    SendEvhttpResponse(worker, req,
                       HttpResponse::FromStatus(Status::BadRequest("Method is not GET or POST")));
    return;
  }
  HttpRequest request = ToHttpRequest(req);
  auto collected = CollectParams(request);
  auto parsed = collected.ok() ? ParseSubscribeParams(*collected, ctx.config.limits, true)
                               : Result<SubscribeParams>(collected.status());
  if (!parsed.ok()) {
    Add(ctx.stats.rejected_bad);
    SendEvhttpResponse(worker, req, HttpResponse::FromStatus(parsed.status()));
    return;
  }
  SubscribeParams& p = *parsed;
  if (!p.connid) {
    if (p.filters.empty()) {
      Add(ctx.stats.rejected_bad);
      SendEvhttpResponse(worker, req,
                         HttpResponse::FromStatus(Status::BadRequest("Topic missing")));
      return;
    }
    StartSession(worker, req, request, std::move(p));
    return;
  }
  const PollConfig& cfg = ctx.config.poll;
  const int64_t timeout = std::min(p.timeout_ms.value_or(cfg.timeout_ms), cfg.max_timeout_ms);
  // Shared sessions (store.kind redis) live on SessionWorker's worker,
  // whichever node minted them.
  Worker* owner = ctx.poll_share ? ctx.workers[SessionWorker(*p.connid, ctx.workers.size())].get()
                                 : OwnerOf(ctx, *p.connid);
  if (!owner) {
    SendEvhttpResponse(worker, req,
                       HttpResponse::FromStatus(Status::Gone("Unknown or expired session")));
    return;
  }
  Worker* here = &worker;
  const uint64_t connid = *p.connid;
  // The request stays here; the session answers through `reply`, from its
  // own worker. If the client leaves first, the session is told.
  const uint64_t token =
      worker.HoldRequest(req, [here, owner, connid, secret = p.secret,
                               since = p.cursor.value_or("")](uint64_t t, evhttp_request* r) {
        if (r) SendEvhttpResponse(*here, r, ShutdownAnswer(here->ctx(), connid, secret, since));
        owner->Post([owner, connid, t] {
          if (Connection* c = owner->Find(connid); c && c->transport() == Transport::kPoll) {
            static_cast<PollConnection*>(c)->CancelPoll(t);
          }
        });
      });
  Responder reply = [here, token](HttpResponse resp) { here->AnswerHeld(token, std::move(resp)); };
  auto poll = [token, timeout, since = p.cursor.value_or("")](Worker*, PollConnection* session,
                                                              Responder reply) {
    session->Poll(since, timeout, token, std::move(reply));
  };
  if (ctx.poll_share) {
    ctx.poll_share->WithSession(connid, std::move(p.secret), std::move(reply), poll);
    return;
  }
  owner->Post(
      [owner, connid, secret = std::move(p.secret), reply = std::move(reply), poll]() mutable {
        Connection* c = owner->Find(connid);
        if (!c || c->closing)
          return reply(HttpResponse::FromStatus(Status::Gone("Unknown or expired session")));
        if (c->transport() != Transport::kPoll) {
          return reply(HttpResponse::FromStatus(Status::BadRequest("Not a poll session")));
        }
        if (!SecretsEqual(c->secret, secret))
          return reply(HttpResponse::FromStatus(Status::BadRequest("Invalid data")));
        poll(owner, static_cast<PollConnection*>(c), std::move(reply));
      });
}

}  // namespace herald
