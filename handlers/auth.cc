// JWT auth of space connections (docs/auth.md). POST /ticket trades a JWT
// (Authorization header) for a single-use ticket for EventSource URLs.
// POST /authenticate {"connid","secret","token"} authorizes a pending space
// connection, or refreshes the token of a live one (`authorized`); a token
// that no longer grants the connection's space closes it as `unauthorized`.
// Tokens and secrets are never logged.
#include <algorithm>
#include <string>

#include "auth/jwt.h"
#include "handlers/admission.h"
#include "handlers/connection_route.h"
#include "handlers/handlers.h"
#include "handlers/subscribe_query.h"
#include "handlers/subscribe_request.h"
#include "server/context.h"
#include "server/core/event.h"
#include "server/core/space.h"
#include "server/delivery_policy.h"
#include "server/hub.h"
#include "server/public_listener.h"
#include "server/util/json.h"
#include "server/worker.h"

namespace herald {
namespace {

int64_t NowS() { return NowMs() / 1000; }

Status UnauthorizedBecause(const std::string& why) {
  return Status::Unauthorized("unauthorized: " + why);
}

void HandleTicket(ServerContext& ctx, const HttpRequest& req, Responder done) {
  if (req.method != "POST")
    return done(HttpResponse::FromStatus(Status::BadRequest("Method is not POST")));
  if (!ctx.config.auth.JwtEnabled())
    return done(HttpResponse::FromStatus(Status::NotFound("JWT auth is not configured")));
  const std::string_view token = req.BearerToken();
  if (token.empty())
    return done(
        HttpResponse::FromStatus(UnauthorizedBecause("Authorization: Bearer <jwt> missing")));
  auto claims = VerifyJwt(token, ctx.jwt_keys, ctx.jwt_policy, NowS());
  if (!claims.ok())
    return done(HttpResponse::FromStatus(UnauthorizedBecause(claims.status().reason())));
  const int64_t ttl = ctx.config.auth.ticket_ttl_ms;
  ctx.tickets->Issue(*claims, ttl, ctx.hub->CallerPost(), [done, ttl](Result<std::string> ticket) {
    if (!ticket.ok()) return done(UnavailableResponse(ticket.status()));
    done(HttpResponse::Json("{\"ticket\":" + JsonString(*ticket) +
                            ",\"expires_in_ms\":" + std::to_string(ttl) + "}"));
  });
}

void HandleAuthenticate(ServerContext& ctx, const HttpRequest& req, Responder done) {
  if (req.method != "POST")
    return done(HttpResponse::FromStatus(Status::BadRequest("Method is not POST")));
  CJsonPtr root = ParseJson(req.body);
  const cJSON* token_item = cJSON_GetObjectItemCaseSensitive(root.get(), "token");
  std::optional<ConnIdSecret> who = ReadConnIdSecret(root.get());
  if (!who || !cJSON_IsString(token_item)) {
    Add(ctx.stats.rejected_bad);
    return done(HttpResponse::FromStatus(Status::BadRequest("Invalid object")));
  }
  if (!ctx.config.auth.JwtEnabled())
    return done(HttpResponse::FromStatus(Status::NotFound("JWT auth is not configured")));
  // Verified here, off the connection's worker: signature checks are the costly part.
  auto claims = VerifyJwt(token_item->valuestring, ctx.jwt_keys, ctx.jwt_policy, NowS());
  if (!claims.ok())
    return done(HttpResponse::FromStatus(UnauthorizedBecause(claims.status().reason())));
  PostToConnection(
      ctx, who->connid, std::move(who->secret), std::move(done),
      [id = who->connid, claims = std::move(*claims)](Worker* worker, Connection* c,
                                                      Responder done) {
        if (c->space.empty())
          return done(HttpResponse::FromStatus(Status::BadRequest("Not a space connection")));
        if (!claims.GrantsSpace(c->space)) {
          worker->Close(c, CloseReason::kUnauthorized);
          return done(HttpResponse::FromStatus(UnauthorizedBecause("space not granted")));
        }
        c->auth_pending = false;
        SetToken(c, claims.exp_s, worker->ctx().config.auth.jwt_leeway_s);
        c->expiring_sent = false;
        if (c->user.empty()) c->user = claims.sub;
        // Rescheduled: the new token may expire before the old one.
        worker->WatchAuth(c);
        std::string detail =
            "{\"connid\":" + std::to_string(id) + ",\"exp\":" + std::to_string(claims.exp_s) + "}";
        SendServerEvent(c, "authorized", detail);
        done(HttpResponse::Json(detail));
      });
}

}  // namespace

bool InsideSpace(const std::string& space, const std::string& topic) {
  return !space.empty() && SpaceOfTopic(topic) == space;
}

Result<SpaceAuth> CheckSpaceAuth(ServerContext& ctx, const HttpRequest& req,
                                 const std::string& space,
                                 const std::vector<std::string>& filters) {
  SpaceAuth out;
  // Spaces are open when no JWT key is configured (docs/auth.md).
  if (space.empty() || !ctx.config.auth.JwtEnabled()) return out;
  out.required = true;
  for (const std::string& f : filters) {
    if (!InsideSpace(space, f)) return Status::Forbidden("Topic outside the space: " + f);
  }
  if (const std::string_view token = req.BearerToken(); !token.empty()) {
    auto claims = VerifyJwt(token, ctx.jwt_keys, ctx.jwt_policy, NowS());
    if (!claims.ok()) return UnauthorizedBecause(claims.status().reason());
    out.claims = std::move(*claims);
  } else if (const std::string* ticket = req.Query("ticket")) {
    out.ticket = *ticket;  // redeemed by RedeemTicketThen, which checks the claims
    return out;
  } else {
    out.pending = true;  // may still POST /authenticate within auth.timeout_ms
    return out;
  }
  Status valid = CheckClaims(ctx, space, out.claims);
  if (!valid.ok()) return valid;
  return out;
}

Status CheckClaims(const ServerContext& ctx, const std::string& space, const Claims& claims) {
  // VerifyJwt allowed the leeway; a ticket's token may have expired since.
  if (claims.exp_s != 0 && NowS() >= claims.exp_s + ctx.jwt_policy.leeway_s) {
    return UnauthorizedBecause("token expired");
  }
  if (!claims.GrantsSpace(space)) return UnauthorizedBecause("space not granted");
  return Status::Ok();
}

void RedeemTicketThen(Worker& worker, evhttp_request* req, Result<SpaceAuth> checked,
                      const std::string& space, SpaceAuthFn then) {
  if (!checked.ok() || checked->ticket.empty()) return then(req, std::move(checked));
  ServerContext& ctx = worker.ctx();
  // Held while the ticket store answers: the client may leave meanwhile, and
  // nothing of the connection exists yet (no half-admitted subscriber).
  Worker* w = &worker;
  const uint64_t token = worker.HoldRequest(req, [w](uint64_t, evhttp_request* r) {
    if (r)
      SendEvhttpResponse(*w, r, HttpResponse::FromStatus(Status::Unavailable("Shutting down")));
  });
  std::string ticket = std::move(checked->ticket);
  ctx.tickets->Redeem(std::move(ticket), w->LoopPost(),
                      [w, token, auth = std::move(*checked), space,
                       then = std::move(then)](Result<Claims> claims) mutable {
                        evhttp_request* r = w->ReleaseHeld(token);
                        if (!r) return;  // the client left; the ticket is spent either way
                        if (!claims.ok()) {
                          if (claims.status().kind() == StatusKind::kUnavailable) {
                            SendEvhttpResponse(*w, r, UnavailableResponse(claims.status()));
                            return;
                          }
                          return then(r, UnauthorizedBecause(claims.status().reason()));
                        }
                        Status valid = CheckClaims(w->ctx(), space, *claims);
                        if (!valid.ok()) return then(r, valid);
                        auth.claims = std::move(*claims);
                        then(r, std::move(auth));
                      });
}

HttpResponse UnavailableResponse(const Status& s) {
  HttpResponse resp = HttpResponse::FromStatus(s);
  resp.headers.emplace_back("Retry-After", "1");
  return resp;
}

Status ParseBodySpace(const std::string& body, const Limits& limits, std::string* space,
                      std::vector<std::string>* filters) {
  CJsonPtr root = ParseJson(body);
  const cJSON* sp = cJSON_GetObjectItemCaseSensitive(root.get(), "space");
  const cJSON* channels = cJSON_GetObjectItemCaseSensitive(root.get(), "channels");
  if (!sp || cJSON_IsNull(sp)) {
    if (channels && !cJSON_IsNull(channels)) return Status::BadRequest("Space missing");
    return Status::Ok();
  }
  if (!cJSON_IsString(sp)) return Status::BadRequest("Invalid space");
  Status valid = ValidateSpace(sp->valuestring, limits);
  if (!valid.ok()) return valid;
  *space = sp->valuestring;
  if (!channels || cJSON_IsNull(channels)) return Status::Ok();
  if (!cJSON_IsArray(channels)) return Status::BadRequest("Channels should be an array");
  std::vector<std::string> names;
  const cJSON* ch;
  cJSON_ArrayForEach(ch, channels) {
    if (!cJSON_IsString(ch)) return Status::BadRequest("Invalid channel");
    names.emplace_back(ch->valuestring);
  }
  return AddChannelFilters(*space, names, limits, filters);
}

void ApplySpaceAuth(Worker& worker, Connection* conn, const SpaceAuth& auth) {
  if (!auth.required) return;
  if (auth.pending) {
    conn->auth_pending = true;
    conn->auth_deadline_ms = NowMs() + worker.ctx().config.auth.timeout_ms;
  } else {
    SetToken(conn, auth.claims.exp_s, worker.ctx().config.auth.jwt_leeway_s);
    if (conn->user.empty()) conn->user = auth.claims.sub;
  }
  if (conn->auth_pending || conn->token_exp_s != 0) worker.WatchAuth(conn);
}

Status LoadJwtAuth(ServerContext& ctx) {
  const AuthConfig& a = ctx.config.auth;
  ctx.jwt_keys.keys.clear();
  // RFC 7518 3.2: an HS256 key shorter than the hash (32 bytes) is guessable.
  if (!a.jwt_hs256_secret.empty() && a.jwt_hs256_secret.size() < 32) {
    return Status::Config("auth.jwt_hs256_secret: must be at least 32 bytes");
  }
  if (!a.jwt_hs256_secret.empty()) {
    ctx.jwt_keys.keys.push_back({"", JwtKeyKind::kHmac, a.jwt_hs256_secret});
  }
  for (const std::string& path : a.jwt_public_keys) {
    auto key = LoadJwtPublicKeyFile(path);
    if (!key.ok()) return Status::Config("auth.jwt_public_keys: " + key.status().reason());
    ctx.jwt_keys.keys.push_back(std::move(*key));
  }
  ctx.jwt_policy.algorithms = a.jwt_algorithms;
  ctx.jwt_policy.leeway_s = a.jwt_leeway_s;
  ctx.jwt_policy.issuer = a.jwt_issuer;
  ctx.jwt_policy.audience = a.jwt_audience;
  ctx.jwt_policy.spaces_claim = a.jwt_spaces_claim;
  return Status::Ok();
}

void RegisterAuthHandlers(ServerContext& ctx) {
  ctx.public_routes.Add(
      "/ticket", [&ctx](const HttpRequest& req, Responder done) { HandleTicket(ctx, req, done); },
      false);
  ctx.public_routes.Add(
      "/authenticate",
      [&ctx](const HttpRequest& req, Responder done) { HandleAuthenticate(ctx, req, done); },
      false);
}

}  // namespace herald
