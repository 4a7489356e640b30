#include <atomic>
#include <memory>

#include "handlers/handlers.h"
#include "server/context.h"
#include "server/worker.h"

namespace herald {

void GatherFromWorkers(ServerContext& ctx, std::function<std::string(Worker&)> collect,
                       std::function<void(std::vector<std::string>)> done) {
  struct Pending {
    std::vector<std::string> parts;
    std::atomic<size_t> left;
    std::function<void(std::vector<std::string>)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->parts.resize(ctx.workers.size());
  pending->left = ctx.workers.size();
  pending->done = std::move(done);
  for (size_t i = 0; i < ctx.workers.size(); ++i) {
    Worker* w = ctx.workers[i].get();
    w->Post([w, i, pending, collect] {
      // Each worker writes only its own slot; the acq_rel countdown publishes
      // every slot to whichever thread finishes last.
      pending->parts[i] = collect(*w);
      if (pending->left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        pending->done(std::move(pending->parts));
      }
    });
  }
}

}  // namespace herald
