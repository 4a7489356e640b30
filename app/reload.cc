// SIGHUP: Server::Reload and the status /state reports.
//
// Reload re-reads the config file with the original command line (flags still
// override the file), loads every key file it names into a scratch context,
// and only when all of it loads swaps publisher tokens, JWT keys and policy,
// the bind-key private key, the ACL and the TLS certificate into the node,
// all at once: a bad file keeps every old value. The swap happens while every
// thread that reads those values (the worker loops, which also run the
// private API, and the background thread) is parked at a barrier between two
// tasks, so no request sees half of it and no reader needs a lock;
// connections stay open, their loops pause for the swap only. (The TLS slot
// has its own mutex: accepts take it without parking.)
#include <condition_variable>
#include <functional>
#include <memory>

#include "app/server.h"
#include "handlers/handlers.h"
#include "server/hub.h"
#include "server/util/json.h"
#include "server/util/log.h"
#include "server/worker.h"

namespace herald {

namespace {

// Runs `change` on the calling thread while every worker loop and the
// background thread wait at a barrier; returns once all of them run again.
void WithReadersParked(ServerContext& ctx, const std::function<void()>& change) {
  struct Barrier {
    std::mutex mu;
    std::condition_variable cv;
    size_t parked = 0;
    bool released = false;
  };
  // Shared: a parked thread may still be leaving wait() when this returns.
  auto b = std::make_shared<Barrier>();
  auto park = [b] {
    std::unique_lock<std::mutex> lock(b->mu);
    ++b->parked;
    b->cv.notify_all();
    b->cv.wait(lock, [&] { return b->released; });
  };
  for (auto& w : ctx.workers) w->Post(park);
  ctx.background->Post(park);
  const size_t readers = ctx.workers.size() + 1;
  std::unique_lock<std::mutex> lock(b->mu);
  b->cv.wait(lock, [&] { return b->parked == readers; });
  change();
  b->released = true;
  b->cv.notify_all();
}

// The certificate a reload swaps in; null when there is none to swap (TLS
// off). The HTTPS socket stays as started: turning TLS on or off, or moving
// tls.listen, needs a restart and is only logged.
Result<std::shared_ptr<const TlsContext>> LoadReloadedTls(const ServerContext& ctx,
                                                          const TlsConfig& next) {
  const TlsConfig& now = ctx.config.tls;
  if (next.enabled() != now.enabled() || next.listen.host != now.listen.host ||
      next.listen.port != now.listen.port) {
    LogWarn("server", 0, "SIGHUP: tls.listen and turning TLS on or off take effect on restart");
  }
  if (ctx.tls_listen_fd < 0 || !next.enabled()) return std::shared_ptr<const TlsContext>();
  return TlsContext::Load(next);
}

}  // namespace

Status Server::Reload(int argc, char** argv) {
  auto cl = ParseCommandLine(argc, argv);
  if (!cl.ok()) return ReloadFailed(cl.status());
  ServerContext scratch;
  scratch.config = std::move(cl->config);
  Status s = LoadBindKeyAuth(scratch);
  if (s.ok()) s = LoadJwtAuth(scratch);
  if (!s.ok()) return ReloadFailed(s);
  auto tls = LoadReloadedTls(ctx_, scratch.config.tls);
  if (!tls.ok()) return ReloadFailed(tls.status());
  // Where the ACL comes from is fixed at start (a RedisAclSource runs or not).
  scratch.config.auth.acl_source = ctx_.config.auth.acl_source;
  WithReadersParked(ctx_, [&] {
    ctx_.config.tokens = std::move(scratch.config.tokens);
    ctx_.config.auth = std::move(scratch.config.auth);
    ctx_.bind_key_private_key = std::move(scratch.bind_key_private_key);
    // Atomic: the Redis store's bridge thread reads it without being parked.
    // With auth.acl_source redis the ACL is the Redis hash's (server/redis_acl.h).
    if (ctx_.config.auth.acl_source != "redis") {
      std::atomic_store(&ctx_.acl, std::shared_ptr<const Acl>(std::move(scratch.acl)));
    }
    ctx_.jwt_keys = std::move(scratch.jwt_keys);
    ctx_.jwt_policy = std::move(scratch.jwt_policy);
    // New handshakes take it; open connections keep the context they began with.
    if (*tls) {
      ctx_.tls.Set(*tls);
      ctx_.config.tls.cert_file = scratch.config.tls.cert_file;
      ctx_.config.tls.key_file = scratch.config.tls.key_file;
    }
  });
  ctx_.reload.Succeeded(NowMs());
  LogInfo("server", 0,
          "SIGHUP: reloaded publisher tokens (%zu), JWT keys (%zu), bind-key private key (%s), "
          "ACL (%s)",
          ctx_.config.tokens.size(), ctx_.jwt_keys.keys.size(),
          ctx_.bind_key_private_key ? "set" : "none", ctx_.acl ? "loaded" : "none");
  if (*tls) LogInfo("server", 0, "SIGHUP: TLS certificate: %s", (*tls)->Describe().c_str());
  return Status::Ok();
}

Status Server::ReloadFailed(const Status& why) {
  ctx_.reload.Failed(NowMs(), why.reason());
  LogError("server", 0, "SIGHUP: reload failed, keeping the previous keys and tokens: %s",
           why.reason().c_str());
  return why;
}

}  // namespace herald
