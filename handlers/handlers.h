// Route registration, one function per endpoint family (one file each).
// Each adds its handlers to the context's route tables at start-up.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "server/util/status.h"

namespace herald {

struct ServerContext;
struct Principal;
class Worker;

void RegisterControlHandlers(ServerContext& ctx);  // /alive, /join, /leave (public)
void RegisterPublishHandlers(ServerContext& ctx);  // /event (private)
void RegisterOpsHandlers(ServerContext& ctx);      // /connections, /state, /memory (private)
void RegisterMetricsHandler(ServerContext& ctx);   // /metrics, Prometheus text (private)
// GET /dashboard and the GET /state/stream private stream (dashboard.cc).
void RegisterDashboardHandlers(ServerContext& ctx);
// The /state document, as GET /state answers it, handed to `done` on some
// worker's thread once every worker has answered.
void BuildState(ServerContext& ctx, std::function<void(std::string)> done);
// /state's members for the dashboard (time_ms, latency, memory, rejections,
// top_topics, state_streams), as ",\"name\":..." to append to the object.
void GatherStateExtras(ServerContext& ctx, std::function<void(std::string)> done);
// The process's resident set size (/proc/self/statm), for /memory and /metrics.
int64_t RssBytes();
void RegisterAdminHandlers(ServerContext& ctx);  // /disconnect (private)
void RegisterAuthHandlers(ServerContext& ctx);   // /authenticate, /ticket (public)
// Loads auth.jwt_* (secret, public key files, policy) into the context.
Status LoadJwtAuth(ServerContext& ctx);
// Loads auth.bind_key_private_key and auth.acl_file into the context.
Status LoadBindKeyAuth(ServerContext& ctx);
// Checks a subscriber's bind key and bound ("binded") filters against the
// ACL; on success fills `who` (who.bound false when there is no bind key:
// then `bound` is ignored, the topics are plain subscriptions).
Status AuthorizeBoundSubscribe(const ServerContext& ctx, const std::string& bind_key,
                               const std::vector<std::string>& bound, Principal* who);

// Runs `collect` on every worker's loop thread and hands the results, in
// worker order, to `done` on the thread of the last worker to answer.
void GatherFromWorkers(ServerContext& ctx, std::function<std::string(Worker&)> collect,
                       std::function<void(std::vector<std::string>)> done);

}  // namespace herald
