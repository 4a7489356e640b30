// Route registration, one function per endpoint family (one file each).
// Each adds its handlers to the context's route tables at start-up.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace herald {

struct ServerContext;
class Worker;

void RegisterControlHandlers(ServerContext& ctx);  // /alive, /join, /leave (public)
void RegisterPublishHandlers(ServerContext& ctx);  // /event (private)
void RegisterOpsHandlers(ServerContext& ctx);      // /connections, /state, /memory (private)

// Runs `collect` on every worker's loop thread and hands the results, in
// worker order, to `done` on the thread of the last worker to answer.
void GatherFromWorkers(ServerContext& ctx, std::function<std::string(Worker&)> collect,
                       std::function<void(std::vector<std::string>)> done);

}  // namespace herald
