// Server::CheckConfig: --check-config's validation. The JSON was already
// parsed and checked key by key by ParseCommandLine; what is left is what
// Start() reads from other files (the TLS certificate and key included),
// loaded into a throw-away context (its destructor needs Hub and Worker
// complete, hence their headers).
#include "app/server.h"
#include "handlers/handlers.h"
#include "server/hub.h"
#include "server/store/redis_url.h"
#include "server/worker.h"

namespace herald {

Status Server::CheckConfig(const Config& config) {
  ServerContext ctx;
  ctx.config = config;
  if (config.store.kind == "redis") {
    auto endpoint = ParseRedisUrl(config.store.redis_url);
    if (!endpoint.ok()) return endpoint.status();
  }
  Status s = LoadBindKeyAuth(ctx);
  if (!s.ok()) return s;
  if (config.tls.enabled()) {
    auto tls = TlsContext::Load(config.tls);
    if (!tls.ok()) return tls.status();
  }
  return LoadJwtAuth(ctx);
}

}  // namespace herald
