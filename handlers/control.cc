// POST /alive: keeps a connection open past its timeout and rotates its
// secret. POST /join, /leave: add or remove a filter at runtime. Routed to
// the connection's worker by connid.
#include "auth/secret.h"
#include "handlers/admission.h"
#include "handlers/connection_route.h"
#include "handlers/handlers.h"
#include "handlers/subscribe_request.h"
#include "server/context.h"
#include "server/core/space.h"
#include "server/util/json.h"
#include "server/worker.h"

namespace herald {
namespace {

void HandleAlive(ServerContext& ctx, const HttpRequest& req, Responder done) {
  if (req.method != "POST")
    return done(HttpResponse::FromStatus(Status::BadRequest("Method is not POST")));
  CJsonPtr root = ParseJson(req.body);
  std::optional<ConnIdSecret> who = ReadConnIdSecret(root.get());
  if (!who) {
    Add(ctx.stats.rejected_bad);
    return done(HttpResponse::FromStatus(Status::BadRequest("Invalid object")));
  }
  PostToConnection(
      ctx, who->connid, std::move(who->secret), std::move(done),
      [id = who->connid](Worker* worker, Connection* c, Responder done) {
        const Config& config = worker->ctx().config;
        if (c->alive_count >= config.stream.max_alive_count) {
          return done(HttpResponse::FromStatus(Status::BadRequest("Max alive reached")));
        }
        ++c->alive_count;
        c->secret = NewSecret();
        worker->RestartTimeout(c);
        done(HttpResponse::Json(
            "{\"connid\":" + std::to_string(id) + ",\"secret\":" + JsonString(c->secret) +
            ",\"timeout\":" + std::to_string(TransportTimeoutMs(config, c->transport())) + "}"));
      });
}

// {"connid", "secret", "topic"} or {"connid", "secret", "channel"} (the
// connection's space + "/" + channel). Answers {"connid", "topic"} and sends
// `joined_room` / `leaved_room` on the connection.
void HandleJoinLeave(ServerContext& ctx, const HttpRequest& req, Responder done, bool join) {
  if (req.method != "POST")
    return done(HttpResponse::FromStatus(Status::BadRequest("Method is not POST")));
  CJsonPtr root = ParseJson(req.body);
  const cJSON* topic_item = cJSON_GetObjectItemCaseSensitive(root.get(), "topic");
  const cJSON* channel_item = cJSON_GetObjectItemCaseSensitive(root.get(), "channel");
  std::optional<ConnIdSecret> who = ReadConnIdSecret(root.get());
  if (!who) {
    Add(ctx.stats.rejected_bad);
    return done(HttpResponse::FromStatus(Status::BadRequest("Invalid object")));
  }
  if ((topic_item != nullptr) == (channel_item != nullptr)) {
    Add(ctx.stats.rejected_bad);
    return done(
        HttpResponse::FromStatus(Status::BadRequest("Either topic or channel is required")));
  }
  const cJSON* target = topic_item ? topic_item : channel_item;
  if (!cJSON_IsString(target) || target->valuestring[0] == '\0') {
    Add(ctx.stats.rejected_bad);
    return done(HttpResponse::FromStatus(Status::BadRequest(
        topic_item ? "Topic should be a string" : "Channel should be a string")));
  }
  PostToConnection(
      ctx, who->connid, std::move(who->secret), std::move(done),
      [join, id = who->connid, name = std::string(target->valuestring),
       is_channel = channel_item != nullptr](Worker* worker, Connection* c, Responder done) {
        if (is_channel && c->space.empty()) {
          return done(HttpResponse::FromStatus(Status::BadRequest("Not a space connection")));
        }
        const ServerContext& ctx = worker->ctx();
        if (!is_channel) {
          Status reserved = CheckNotReserved(name);
          if (!reserved.ok()) return done(HttpResponse::FromStatus(reserved));
        }
        const std::string topic = is_channel ? SpaceTopic(c->space, name) : name;
        // With JWT auth on, a space connection's filters stay inside its space.
        if (!c->space.empty() && ctx.config.auth.JwtEnabled() && !InsideSpace(c->space, topic)) {
          return done(HttpResponse::FromStatus(Status::Forbidden("Topic outside the space")));
        }
        Status valid = ValidateFilter(topic, ctx.config.limits);
        if (!valid.ok()) return done(HttpResponse::FromStatus(valid));
        std::string detail = std::string("{\"") + (is_channel ? "channel" : "topic") +
                             "\":" + JsonString(name) + "}";
        if (join) {
          const auto max = static_cast<size_t>(ctx.config.limits.max_filters_per_connection);
          bool known = false;
          for (auto* sub : c->subscriptions) known |= ConnectionIndex::FilterOf(sub) == topic;
          if (!known && c->subscriptions.size() >= max) {
            return done(HttpResponse::FromStatus(
                Status::BadRequest("Too many event points (at most " + std::to_string(max) + ")")));
          }
          // Joining a joined channel changes nothing and sends nothing: a
          // client looping on /join must not fill its own stream with frames.
          if (!worker->Subscribe(c, topic)) {
            return done(HttpResponse::Json("{\"connid\":" + std::to_string(id) + ",\"topic\":" +
                                           JsonString(topic) + ",\"already_joined\":true}"));
          }
          SendServerEvent(c, "joined_room", detail);
          SendAvailable(ctx, c, topic);
        } else {
          if (!worker->Unsubscribe(c, topic))
            return done(HttpResponse::FromStatus(Status::BadRequest("Not joined")));
          SendServerEvent(c, "leaved_room", detail);
        }
        done(HttpResponse::Json("{\"connid\":" + std::to_string(id) +
                                ",\"topic\":" + JsonString(topic) + "}"));
      });
}

}  // namespace

void RegisterControlHandlers(ServerContext& ctx) {
  ctx.public_routes.Add(
      "/alive", [&ctx](const HttpRequest& req, Responder done) { HandleAlive(ctx, req, done); },
      false);
  ctx.public_routes.Add(
      "/join",
      [&ctx](const HttpRequest& req, Responder done) { HandleJoinLeave(ctx, req, done, true); },
      false);
  ctx.public_routes.Add(
      "/leave",
      [&ctx](const HttpRequest& req, Responder done) { HandleJoinLeave(ctx, req, done, false); },
      false);
}

}  // namespace herald
