#include "server/server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "handlers/handlers.h"
#include "handlers/subscribe_request.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/net_address.h"
#include "server/worker.h"

namespace herald {
namespace {

Result<int> Listen(const HostPort& hp, uint16_t* bound_port) {
  auto resolved = ResolveListenAddress(hp, "listen");
  if (!resolved.ok()) return resolved.status();
  int fd = socket(resolved->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&resolved->addr), resolved->len) != 0 ||
      listen(fd, 4096) != 0) {
    std::string err = std::strerror(errno);
    if (fd >= 0) close(fd);
    return Status::Error(500, "listen: cannot listen on " + hp.ToString() + ": " + err);
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound_port = ntohs(addr.ss_family == AF_INET6
                          ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                          : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return fd;
}

}  // namespace

Server::Server(Config config) : private_listener_(&ctx_) {
  ctx_.config = std::move(config);
  ctx_.topic_limits = ToTopicLimits(ctx_.config.limits);
  ctx_.start_ms = NowMs();
}

Server::~Server() {
  Shutdown();
  if (listen_fd_ >= 0) close(listen_fd_);
}

Status Server::Start() {
  Status auth = LoadBindKeyAuth(ctx_);
  if (!auth.ok()) return auth;
  Status jwt = LoadJwtAuth(ctx_);
  if (!jwt.ok()) return jwt;
  RegisterAuthHandlers(ctx_);
  ctx_.hub = std::make_unique<Hub>(&ctx_);
  RegisterControlHandlers(ctx_);
  RegisterPublishHandlers(ctx_);
  RegisterOpsHandlers(ctx_);
  RegisterAdminHandlers(ctx_);

  auto fd = Listen(ctx_.config.listen, &public_port_);
  if (!fd.ok()) return fd.status();
  listen_fd_ = *fd;
  for (int i = 0; i < ctx_.config.workers; ++i) {
    ctx_.workers.push_back(std::make_unique<Worker>(i, &ctx_));
    Status s = ctx_.workers.back()->Init(listen_fd_);
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

void Server::Shutdown() {
  if (!started_) return;
  started_ = false;
  LogInfo("server", 0, "shutting down: ending every stream");
  private_listener_.Stop();
  for (auto& w : ctx_.workers) w->Shutdown();
  for (auto& w : ctx_.workers) w->Join();
  ctx_.workers.clear();
  LogInfo("server", 0, "stopped");
}

}  // namespace herald
