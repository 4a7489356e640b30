#include "handlers/connection_route.h"

#include "auth/secret.h"
#include "handlers/poll_share.h"
#include "server/context.h"
#include "server/core/connid.h"
#include "server/transport/connection.h"
#include "server/transport/poll_session.h"
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
  if (!worker && ctx.poll_share && !ctx.workers.empty()) {
    worker = ctx.workers[SessionWorker(connid, ctx.workers.size())].get();
  }
  if (!worker) return done(HttpResponse::FromStatus(Status::BadRequest("Invalid data")));
  worker->Post([&ctx, worker, connid, secret = std::move(secret), done = std::move(done),
                fn = std::move(fn)]() mutable {
    Connection* c = worker->Find(connid);
    if (ctx.poll_share && (!c || c->transport() == Transport::kPoll)) {
      // A long-poll session may live on another node now, or this copy be
      // stale: claim it first (handlers/poll_share.h), and save what the
      // request changed (joins, secret, token) for the next node.
      Responder control = [done](HttpResponse resp) {
        // An unknown connid is the es-web-notify `Invalid data`, as locally.
        if (resp.status == 410) resp = HttpResponse::FromStatus(Status::BadRequest("Invalid data"));
        done(std::move(resp));
      };
      ctx.poll_share->WithSession(
          connid, std::move(secret), std::move(control),
          [&ctx, fn = std::move(fn)](Worker* w, PollConnection* s, Responder d) {
            const uint64_t id = s->id();
            fn(w, s, std::move(d));
            if (Connection* after = w->Find(id); after && !after->closing) {
              ctx.poll_share->Save(*after, false);
            }
          });
      return;
    }
    if (!c || c->closing || !SecretsEqual(c->secret, secret)) {
      return done(HttpResponse::FromStatus(Status::BadRequest("Invalid data")));
    }
    fn(worker, c, std::move(done));
  });
}

}  // namespace herald
