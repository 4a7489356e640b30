#include "app/server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "handlers/handlers.h"
#include "handlers/poll.h"
#include "handlers/selftest.h"
#include "handlers/sse.h"
#include "handlers/stream.h"
#include "handlers/subscribe_request.h"
#include "server/core/connid.h"
#include "server/hub.h"
#include "server/net/net_address.h"
#include "server/redis_tickets.h"
#include "server/store/redis_store.h"
#include "server/store/redis_url.h"
#include "server/util/log.h"
#include "server/worker.h"

namespace herald {

Result<std::unique_ptr<Store>> MakeStore(ServerContext& ctx) {
  const Config& config = ctx.config;
  if (config.store.kind == "memory") return std::unique_ptr<Store>();  // the Hub's default
  auto endpoint = ParseRedisUrl(config.store.redis_url);
  if (!endpoint.ok()) return endpoint.status();
  RedisStoreOptions o;
  o.client.endpoint = *endpoint;
  if (!config.store.redis_password.empty())
    o.client.endpoint.password = config.store.redis_password;
  o.client.connect_timeout_ms = static_cast<int>(config.store.connect_timeout_ms);
  o.client.command_timeout_ms = static_cast<int>(config.store.command_timeout_ms);
  o.key_prefix = config.store.redis_key_prefix;
  o.node_id = ResolveNodeId(config.node_id);
  o.stream_maxlen = config.store.stream_maxlen;
  o.min_replicas_ack = static_cast<int>(config.store.min_replicas_ack);
  o.replica_ack_timeout_ms = static_cast<int>(config.store.replica_ack_timeout_ms);
  o.bound_record = [&ctx](const std::string& topic) -> std::shared_ptr<const AclRecord> {
    std::shared_ptr<const Acl> acl = std::atomic_load(&ctx.acl);
    return acl ? acl->Find(topic) : nullptr;
  };
  return std::unique_ptr<Store>(std::make_unique<RedisStore>(std::move(o)));
}

Server::Server(Config config) : private_listener_(&ctx_) {
  ctx_.config = std::move(config);
  ctx_.topic_limits = ToTopicLimits(ctx_.config.limits);
  ctx_.start_ms = NowMs();
}

Server::~Server() {
  Shutdown();
  // Worker 0 ran the Redis bridge: from here the store's own thread runs it
  // (the cluster parts' destructors wait for Redis), once no worker is left
  // on its loop (a failed Start leaves them unstarted).
  ctx_.workers_gone.store(true, std::memory_order_release);
  ctx_.workers.clear();
  if (hosted_redis_) hosted_redis_->RunOwnLoop();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (ctx_.tls_listen_fd >= 0) close(ctx_.tls_listen_fd);
}

Status Server::Start() {
  Status auth = LoadBindKeyAuth(ctx_);
  if (!auth.ok()) return auth;
  Status jwt = LoadJwtAuth(ctx_);
  if (!jwt.ok()) return jwt;
  RegisterAuthHandlers(ctx_);
  auto store = MakeStore(ctx_);
  if (!store.ok()) return store.status();
  RedisStore* redis = dynamic_cast<RedisStore*>(store->get());
  ctx_.hub =
      *store ? std::make_unique<Hub>(&ctx_, std::move(*store)) : std::make_unique<Hub>(&ctx_);
  if (redis) {
    ctx_.tickets = std::make_unique<RedisTicketStore>(redis);
    // After the Hub installed its feed. Worker 0's loop runs the bridge: a
    // publish, its reply and the feed cost no thread hand-off there.
    redis->StartHosted();
    hosted_redis_ = redis;
    ctx_.cluster =
        std::make_unique<RedisCluster>(redis, &ctx_.presence,
                                       RedisClusterOptions{ctx_.config.cluster.node_ttl_ms,
                                                           ctx_.config.cluster.request_timeout_ms});
    poll_share_ = std::make_unique<PollShare>(&ctx_, redis);
    ctx_.poll_share = poll_share_.get();
    poll_share_->Start();
    if (ctx_.config.auth.acl_source == "redis") {
      ServerContext* ctx = &ctx_;
      acl_source_ = std::make_unique<RedisAclSource>(
          redis, ctx_.config.auth.acl_refresh_ms,
          [ctx](std::shared_ptr<const Acl> acl) { std::atomic_store(&ctx->acl, std::move(acl)); });
      acl_source_->Start();
    }
  }
  ctx_.background = std::make_unique<BackgroundThread>();
  RegisterControlHandlers(ctx_);
  RegisterPublishHandlers(ctx_);
  RegisterOpsHandlers(ctx_);
  RegisterMetricsHandler(ctx_);
  RegisterDashboardHandlers(ctx_);
  RegisterAdminHandlers(ctx_);
  if (ctx_.cluster) ctx_.cluster->Start();  // after the handlers said what they answer
  ctx_.streaming_routes = {{"/", HandleStreamSubscribe},
                           {"/sse", HandleSseSubscribe},
                           {"/poll", HandlePoll},
                           {"/selftest", HandleSelftest}};

  auto fd = ListenSocket(ctx_.config.listen, "listen", &public_port_);
  if (!fd.ok()) return fd.status();
  listen_fd_ = *fd;
  Status tls = StartTls();
  if (!tls.ok()) return tls;
  for (int i = 0; i < ctx_.config.workers; ++i) {
    ctx_.workers.push_back(std::make_unique<Worker>(i, &ctx_));
    event_base* shared = i == 0 && hosted_redis_ ? hosted_redis_->bridge_base() : nullptr;
    Status s = ctx_.workers.back()->Init(listen_fd_, shared);
    if (!s.ok()) return s;
  }
  Status s = private_listener_.Start();
  if (!s.ok()) return s;
  for (auto& w : ctx_.workers) w->Start();
  started_ = true;
  LogInfo("server", 0, "public listener on %s:%u (%d workers)", ctx_.config.listen.host.c_str(),
          public_port_, ctx_.config.workers);
  LogInfo("server", 0, "private API on %s:%u", ctx_.config.private_listen.host.c_str(),
          private_listener_.port());
  if (ctx_.config.tokens.empty()) {
    LogWarn("server", 0,
            "no publisher token configured: the private API serves loopback clients only");
  }
  return Status::Ok();
}

Status Server::StartTls() {
  if (!ctx_.config.tls.enabled()) return Status::Ok();
  auto loaded = TlsContext::Load(ctx_.config.tls);
  if (!loaded.ok()) return loaded.status();
  ctx_.tls.Set(*loaded);
  uint16_t port = 0;
  auto fd = ListenSocket(ctx_.config.tls.listen, "tls.listen", &port);
  if (!fd.ok()) return fd.status();
  ctx_.tls_listen_fd = *fd;
  LogInfo("server", 0, "TLS listener on %s:%u, certificate: %s",
          ctx_.config.tls.listen.host.c_str(), port, (*loaded)->Describe().c_str());
  return Status::Ok();
}

void Server::Shutdown() {
  if (!started_) return;
  started_ = false;
  LogInfo("server", 0, "shutting down: ending every stream");
  private_listener_.Stop();
  ctx_.background->Stop();  // its tasks publish and answer through the workers
  for (auto& w : ctx_.workers) w->Shutdown();
  for (auto& w : ctx_.workers) w->Join();
  ctx_.workers.clear();
  LogInfo("server", 0, "stopped");
}

}  // namespace herald
