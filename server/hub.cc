#include "server/hub.h"

#include <openssl/rand.h>

#include "server/context.h"
#include "server/core/space.h"
#include "server/store/memory_store.h"
#include "server/util/json.h"
#include "server/worker.h"

namespace herald {
namespace {
uint32_t DrawEpoch() {
  uint32_t e = 0;
  while (e == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&e), sizeof e) != 1) std::abort();
  }
  return e;
}
}  // namespace

Hub::Hub(ServerContext* ctx)
    : ctx_(ctx), store_(std::make_unique<MemoryStore>(ctx->config.history, DrawEpoch())) {}

EventRef Hub::Publish(std::string topic, std::string_view e_json, uint64_t whisper,
                      std::shared_ptr<const AclRecord> bound, bool presence) {
  std::lock_guard<std::mutex> lock(mu_);
  EventRef ev = MakeEvent(++seq_, store_->epoch(), NowMs(), std::move(topic), e_json, whisper,
                          std::move(bound), presence);
  Add(ctx_->stats.published);
  store_->Append(ev);  // before any worker can dispatch it (see the header)
  if (whisper != 0) {
    // A whisper to another node's connid goes nowhere until a shared store
    // routes it there; here only a local owner can receive it.
    size_t w = static_cast<size_t>(ConnIdWorker(whisper));
    if (IsLocalConnId(whisper, ResolveNodeId(ctx_->config.node_id)) && w < ctx_->workers.size()) {
      ctx_->workers[w]->PostEvent(ev);
    }
  } else {
    for (auto& worker : ctx_->workers) worker->PostEvent(ev);
  }
  return ev;
}

uint64_t Hub::LastSeq() {
  std::lock_guard<std::mutex> lock(mu_);
  return seq_;
}

void PublishPresence(ServerContext* ctx, const std::string& clid, std::string_view type,
                     int64_t count) {
  if (!ctx->presence.HasWatchers()) return;
  // A number here, as the original sends it; only `available` carries a string.
  std::string e = "{\"type\":" + JsonString(type) +
                  ",\"detail\":{\"clid_instances\":" + std::to_string(count) + "}}";
  // Not history: thousands of anonymous connects would otherwise flush it.
  ctx->hub->Publish(PresenceTopicOfKey(clid), e, 0, nullptr, /*presence=*/true);
}

}  // namespace herald
