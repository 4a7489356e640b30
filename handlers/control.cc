// POST /alive: keeps a connection open past its timeout and rotates its
// secret. Routed to the connection's worker by connid.
#include "auth/secret.h"
#include "handlers/handlers.h"
#include "server/context.h"
#include "server/json.h"
#include "server/worker.h"

namespace herald {
namespace {

void HandleAlive(ServerContext& ctx, const HttpRequest& req, Responder done) {
  if (req.method != "POST") return done(HttpResponse::Error(400, "Method is not POST"));
  CJsonPtr root = ParseJson(req.body);
  const cJSON* connid_item = cJSON_GetObjectItemCaseSensitive(root.get(), "connid");
  const cJSON* secret_item = cJSON_GetObjectItemCaseSensitive(root.get(), "secret");
  std::optional<uint64_t> connid = JsonUint53(connid_item);
  if (!root || !cJSON_IsObject(root.get()) || !connid || !cJSON_IsString(secret_item)) {
    Add(ctx.stats.rejected_bad);
    return done(HttpResponse::Error(400, "Invalid object"));
  }
  const size_t w = static_cast<size_t>(ConnIdWorker(*connid));
  if (w >= ctx.workers.size()) return done(HttpResponse::Error(400, "Invalid data"));
  Worker* worker = ctx.workers[w].get();
  worker->Post([worker, id = *connid, secret = std::string(secret_item->valuestring),
                done = std::move(done)] {
    Connection* c = worker->Find(id);
    if (!c || c->closing || !SecretsEqual(c->secret, secret)) {
      return done(HttpResponse::Error(400, "Invalid data"));
    }
    const auto& stream = worker->ctx().config.stream;
    if (c->alive_count >= stream.max_alive_count) {
      return done(HttpResponse::Error(400, "Max alive reached"));
    }
    ++c->alive_count;
    c->secret = NewSecret();
    worker->RestartTimeout(c);
    done(HttpResponse::Json("{\"connid\":" + std::to_string(id) +
                            ",\"secret\":" + JsonString(c->secret) +
                            ",\"timeout\":" + std::to_string(stream.timeout_ms) + "}"));
  });
}

}  // namespace

void RegisterControlHandlers(ServerContext& ctx) {
  ctx.public_routes.Add(
      "/alive", [&ctx](const HttpRequest& req, Responder done) { HandleAlive(ctx, req, done); },
      false);
}

}  // namespace herald
