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
    : Hub(ctx, std::make_unique<MemoryStore>(ctx->config.history, DrawEpoch())) {}

Hub::Hub(ServerContext* ctx, std::unique_ptr<Store> store) : ctx_(ctx), store_(std::move(store)) {
  store_->SetFeed([this](EventRef ev) { Feed(ev); });
  store_->SetEpochListener([this](uint32_t) { OnEpochChanged(); });
}

void Hub::OnEpochChanged() {
  // Through the inboxes, which keep order with the events fed after it.
  for (auto& worker : ctx_->workers) {
    Worker* w = worker.get();
    w->Post([w] { w->OnStoreEpochChanged(); });
  }
}

void Hub::Publish(std::string topic, std::string_view e_json, uint64_t whisper,
                  std::shared_ptr<const AclRecord> bound, bool presence, PostFn post,
                  Published done) {
  // seq 0: the store assigns it (AssignEventSeq).
  EventRef ev = MakeEvent(0, store_->epoch(), NowMs(), std::move(topic), e_json, whisper,
                          std::move(bound), presence);
  store_->Append(std::move(ev), std::move(post),
                 [this, done = std::move(done)](Status s, uint64_t seq) {
                   if (s.ok()) Add(ctx_->stats.published);
                   if (done) done(std::move(s), seq);
                 });
}

void Hub::PublishBatch(std::vector<BatchItem> items, PostFn post, Published done) {
  const int64_t now = NowMs();
  std::vector<EventRef> events;
  events.reserve(items.size());
  for (BatchItem& item : items) {
    events.push_back(MakeEvent(0, store_->epoch(), now, std::move(item.topic), item.e_json,
                               item.whisper, std::move(item.bound), /*presence=*/false));
  }
  const auto n = static_cast<int64_t>(events.size());
  store_->AppendBatch(std::move(events), std::move(post),
                      [this, n, done = std::move(done)](Status s, uint64_t first_seq) {
                        if (s.ok()) Add(ctx_->stats.published, n);
                        if (done) done(std::move(s), first_seq);
                      });
}

void Hub::Feed(const EventRef& ev) {
  if (ev->whisper != 0) {
    // A whisper to another node's connid goes nowhere until a shared store
    // routes it there; here only a local owner can receive it.
    size_t w = static_cast<size_t>(ConnIdWorker(ev->whisper));
    if (IsLocalConnId(ev->whisper, ResolveNodeId(ctx_->config.node_id)) &&
        w < ctx_->workers.size()) {
      ctx_->workers[w]->PostEvent(ev);
    } else if (!ctx_->workers.empty()) {
      // Another node's connid that the store routed here: a long-poll
      // session this node adopted lives on SessionWorker's worker.
      ctx_->workers[SessionWorker(ev->whisper, ctx_->workers.size())]->PostEvent(ev);
    }
  } else {
    for (auto& worker : ctx_->workers) worker->PostEvent(ev);
  }
}

bool Hub::Watch(const std::string& filter, std::function<void()> fed) {
  // Under the mutex, so the store hears Watch and Unwatch of one filter in
  // the order the counts changed.
  std::lock_guard<std::mutex> lock(watch_mu_);
  Watched& w = watched_[filter];
  if (++w.subscribers == 1) {
    w.generation = ++watch_generation_;
    store_->Watch(filter);
    // The memory store feeds everything: no callback to build there.
    w.fed = store_->FeedsEveryEvent() ||
            store_->WhenFed(filter, [this, filter, g = w.generation] { OnFed(filter, g); });
  }
  if (w.fed) return true;
  if (fed) w.waiting.push_back(std::move(fed));
  return false;
}

void Hub::OnFed(const std::string& filter, uint64_t generation) {
  std::vector<std::function<void()>> waiting;
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    auto it = watched_.find(filter);
    if (it == watched_.end() || it->second.generation != generation) return;
    it->second.fed = true;
    waiting.swap(it->second.waiting);
  }
  for (auto& fn : waiting) fn();
}

void Hub::Unwatch(const std::string& filter) {
  std::vector<std::function<void()>> waiting;
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    auto it = watched_.find(filter);
    if (it == watched_.end()) return;
    if (--it->second.subscribers > 0) return;
    // Whoever still waits no longer needs this filter: released below.
    waiting.swap(it->second.waiting);
    watched_.erase(it);
    store_->Unwatch(filter);
  }
  for (auto& fn : waiting) fn();
}

PostFn Hub::CallerPost() const {
  for (auto& worker : ctx_->workers) {
    if (!worker->InLoopThread()) continue;
    return worker->LoopPost();
  }
  return [](std::function<void()> f) { f(); };
}

PostFn Hub::CallerPostOrRun() const {
  for (auto& worker : ctx_->workers) {
    if (!worker->InLoopThread()) continue;
    Worker* w = worker.get();
    return [w, ctx = ctx_, post = w->LoopPost()](std::function<void()> f) {
      if (!ctx->workers_gone.load(std::memory_order_acquire) && w->InLoopThread()) return f();
      post(std::move(f));
    };
  }
  return [](std::function<void()> f) { f(); };
}

void PublishPresence(ServerContext* ctx, const std::string& clid, std::string_view type,
                     int64_t count) {
  if (ctx->cluster) {
    // Every node's connections count: the cluster publishes the sum (and
    // must hear of every change, watched here or not).
    ctx->cluster->PresenceChanged(clid, type, count);
    return;
  }
  if (!ctx->presence.HasWatchers()) return;
  // A number here, as the original sends it; only `available` carries a string.
  std::string e = "{\"type\":" + JsonString(type) +
                  ",\"detail\":{\"clid_instances\":" + std::to_string(count) + "}}";
  // Not history: thousands of anonymous connects would otherwise flush it.
  // Nobody waits for its id.
  ctx->hub->Publish(
      PresenceTopicOfKey(clid), e, 0, nullptr, /*presence=*/true,
      [](std::function<void()> f) { f(); }, nullptr);
}

}  // namespace herald
