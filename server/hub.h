// Hub: the publish path. A publish becomes one immutable Event, built with
// seq 0 and handed to the Store, which assigns its id, keeps it in history
// and feeds it back to the Hub's feed in id order; the feed hands it to every
// worker's inbox (a whisper only to the worker that owns its target). The
// memory store feeds under its mutex, after the event is in history, so
// every worker sees events in id order and every event a worker has
// dispatched is already in history: a replay up to a worker's last
// dispatched event, followed by live delivery, has no gap and no duplicate.
// The publisher learns the id (or the failure) through a completion posted
// to its own loop, later: a shared store answers asynchronously.
//
// Thread-safe: called on the worker loops (the public and the private API's
// handlers both run there) and on the background thread (a publish whose
// token needs a PBKDF2 check, see background_thread.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/core/event.h"
#include "server/store/store.h"

namespace herald {

struct ServerContext;

class Hub {
 public:
  explicit Hub(ServerContext* ctx);
  // A hub over another store (tests: a store that fails).
  Hub(ServerContext* ctx, std::unique_ptr<Store> store);
  // What a publish learns once the store has answered: ok and the event's
  // seq, or why it was not stored (nothing was delivered then; seq 0).
  using Published = std::function<void(Status, uint64_t seq)>;
  // Publishes `e_json` ({"type","detail"}, pure ASCII) on `topic`.
  // REQUIRES: topic validated. `done` (may be empty) runs through `post`.
  // `bound`: a bound publish's ACL record (see Event::bound).
  // `presence`: a presence change, delivered live only (Event::presence).
  void Publish(std::string topic, std::string_view e_json, uint64_t whisper,
               std::shared_ptr<const AclRecord> bound, bool presence, PostFn post, Published done);
  // One event of a batch publish: Publish's arguments (no presence).
  struct BatchItem {
    std::string topic;
    std::string_view e_json;  // read before PublishBatch returns
    uint64_t whisper = 0;
    std::shared_ptr<const AclRecord> bound;
  };
  // Publishes `items` as one store step (Store::AppendBatch): their ids are
  // consecutive, first_seq .. first_seq + n - 1, and either all are stored
  // and delivered or none is. REQUIRES: items not empty, topics validated.
  void PublishBatch(std::vector<BatchItem> items, PostFn post, Published done);
  uint32_t epoch() const { return store_->epoch(); }
  // The seq of the newest event fed so far. Every event at or below it is
  // already in every worker's inbox (the memory store feeds under its
  // mutex), so a connection that subscribes now starts live after it.
  uint64_t LastSeq() const { return store_->LastSeq(); }
  // History. Thread-safe; lives as long as the Hub.
  Store& store() const { return *store_; }
  // Interest: a local connection subscribed / unsubscribed `filter`. The
  // store hears Watch when the node's first subscriber of a filter comes and
  // Unwatch when its last goes (a shared store subscribes to what this node
  // needs live). Any thread.
  void Watch(const std::string& filter) { Watch(filter, nullptr); }
  // Watch for a subscriber that must know when the node is fed `filter`'s
  // events (Store::WhenFed): true if it already is; otherwise `fed` runs
  // once (on the store's thread, or on the caller's in Unwatch) when it is,
  // or when the filter's last local subscriber leaves first.
  bool Watch(const std::string& filter, std::function<void()> fed);
  void Unwatch(const std::string& filter);
  // A PostFn onto the calling thread's worker loop; on any other thread
  // (the background pool, a test) the completion runs on the store's thread.
  PostFn CallerPost() const;
  // Like CallerPost, but a completion that comes on the caller's own loop
  // thread runs at once instead of a loop turn later. The memory store
  // completes inside Append: the private API then answers in the same MHD
  // run that read the request, with no suspend and resume (an eventfd write
  // and read and a second MHD run per publish). REQUIRES: the completion
  // may run before the call that takes this PostFn returns.
  PostFn CallerPostOrRun() const;

 private:
  void Feed(const EventRef& ev);
  // The store lost its data (a new epoch): every worker tells its
  // connections (`reset`) before any event of the new epoch reaches them.
  void OnEpochChanged();
  void OnFed(const std::string& filter, uint64_t generation);

  struct Watched {
    int64_t subscribers = 0;
    uint64_t generation = 0;  // a confirmation of an earlier Watch is not this one's
    bool fed = false;
    std::vector<std::function<void()>> waiting;  // Watch's `fed`, until it is
  };

  ServerContext* ctx_;
  // Its epoch is drawn at start-up: a restarted node never mistakes an old cursor.
  std::unique_ptr<Store> store_;
  std::mutex watch_mu_;
  std::unordered_map<std::string, Watched> watched_;  // by filter
  uint64_t watch_generation_ = 0;
};

// Publishes a presence event (connect/disconnect) for `clid`, a presence key
// (server/core/space.h: a space connection's presence stays inside its space), if
// anyone listens. With store.kind redis the event carries the cluster-wide
// count instead of `count` (RedisCluster::PresenceChanged).
void PublishPresence(ServerContext* ctx, const std::string& clid, std::string_view type,
                     int64_t count);

}  // namespace herald
