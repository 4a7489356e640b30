#include "handlers/connection_route.h"

#include "auth/secret.h"
#include "server/context.h"
#include "server/transport/connection.h"
#include "server/util/json.h"
#include "server/worker.h"

namespace herald {

std::optional<ConnIdSecret> ReadConnIdSecret(const cJSON* root) {
  if (!root || !cJSON_IsObject(root)) return std::nullopt;
  const cJSON* secret = cJSON_GetObjectItemCaseSensitive(root, "secret");
  std::optional<uint64_t> connid = JsonUint53(cJSON_GetObjectItemCaseSensitive(root, "connid"));
  if (!connid || !cJSON_IsString(secret)) return std::nullopt;
  return ConnIdSecret{*connid, secret->valuestring};
}

Worker* OwnerOf(ServerContext& ctx, uint64_t connid) {
  if (ctx.workers.empty() || !IsLocalConnId(connid, ctx.workers.front()->node())) return nullptr;
  const size_t w = static_cast<size_t>(ConnIdWorker(connid));
  return w < ctx.workers.size() ? ctx.workers[w].get() : nullptr;
}

void PostToConnection(ServerContext& ctx, uint64_t connid, std::string secret, Responder done,
                      ConnectionTask fn) {
  Worker* worker = OwnerOf(ctx, connid);
  if (!worker) return done(HttpResponse::FromStatus(Status::BadRequest("Invalid data")));
  worker->Post([worker, connid, secret = std::move(secret), done = std::move(done),
                fn = std::move(fn)]() mutable {
    Connection* c = worker->Find(connid);
    if (!c || c->closing || !SecretsEqual(c->secret, secret)) {
      return done(HttpResponse::FromStatus(Status::BadRequest("Invalid data")));
    }
    fn(worker, c, std::move(done));
  });
}

}  // namespace herald
