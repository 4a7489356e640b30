// RedisStore: the Store shared by every node of a cluster (issue 12; the
// layout is in redis_keys.h, the design in docs/architecture.md, "The Redis
// store").
//
// One bridge thread runs a libevent loop with two Redis connections: one for
// commands (publishes, reads) and one in subscribe mode (the live feed).
//  - Append runs the publish script (one atomic step: id, stream, PUBLISH);
//    its completion carries the id Redis assigned. Redis down: kUnavailable,
//    and nothing was published.
//  - The feed is what this node hears on its subscriptions, deduplicated by id
//    (a message may come on a topic's channel and on a pattern) and rebuilt
//    into Events. After a reconnect the node catches up from the streams of
//    every watched filter, from the last id it fed, before feeding live
//    messages again (buffered meanwhile): nothing acknowledged is missed.
//  - Read merges the matching topics' streams (wildcard filters find their
//    topics in <p>topics) in id order.
//  - Watch/Unwatch hold SUBSCRIBE (plain filters) or PSUBSCRIBE (wildcards,
//    on a glob superset) while a filter has local subscribers.
//
// Threading: the public methods are thread-safe; they hand work to the bridge
// loop. Completions go through the caller's PostFn; the feed runs on the
// bridge thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server/store/redis_client.h"
#include "server/store/redis_keys.h"
#include "server/store/store.h"
#include "server/util/c_handles.h"

namespace herald {

struct AclRecord;

struct RedisStoreOptions {
  RedisClientOptions client;
  std::string key_prefix = "herald:";
  int node_id = 0;
  int64_t stream_maxlen = 10000;  // per topic, approximate (XADD MAXLEN ~)
  // The ACL record of a bound topic, looked up by the receiving node (the
  // ACL lives in each node's config, not in the message).
  std::function<std::shared_ptr<const AclRecord>(const std::string& topic)> bound_record;
};

class RedisStore : public Store {
 public:
  explicit RedisStore(RedisStoreOptions options);
  ~RedisStore() override;  // stops the bridge thread

  // Starts the bridge thread; Redis may still be unreachable (status says so).
  void Start();

  void SetFeed(FeedFn feed) override;
  void Append(EventRef ev, PostFn post, std::function<void(Status, uint64_t)> done) override;
  void Read(ReadRequest req, PostFn post, std::function<void(ReadResult)> done) override;
  void Watch(const std::string& filter) override;
  void Unwatch(const std::string& filter) override;
  uint32_t epoch() const override { return epoch_.load(std::memory_order_acquire); }
  uint64_t LastSeq() const override { return last_fed_.load(std::memory_order_acquire); }
  StoreStatus status() const override;
  HistoryStats Stats() const override;

  // The other cluster parts (node requests, tickets, presence counts, the
  // ACL hash) share this store's two connections and bridge loop:
  //  - RunOnBridge: any thread; `task` runs on the bridge loop.
  //  - commands(): bridge thread only; null until the bridge has started.
  //  - Listen: bridge thread only; hears `channel` with its own handler
  //    (not the event feed), kept across reconnects.
  void RunOnBridge(std::function<void()> task);
  RedisClient* commands() { return commands_.get(); }
  // The bridge's loop, for timers of those parts (bridge thread only).
  event_base* bridge_base() { return base_.get(); }
  const RedisKeys& keys() const { return keys_; }
  int node_id() const { return options_.node_id; }
  using ListenFn = std::function<void(std::string_view payload)>;
  void Listen(const std::string& channel, ListenFn fn);

 private:
  struct ReadJob;
  static void OnWake(evutil_socket_t, short, void* arg);
  uint32_t ProposeEpoch();
  void LoadEpoch();
  void OnMessage(std::string_view channel, std::string_view payload);
  void Feed(uint64_t id, uint32_t epoch, std::string_view body);
  void OnSubscriberState(RedisClient::State state);
  void CatchUp();
  void ReadOnBridge(std::shared_ptr<ReadJob> job);
  void ReadStreams(std::shared_ptr<ReadJob> job, std::vector<std::string> topics);
  void UpdateStatus();

  const RedisStoreOptions options_;
  const RedisKeys keys_;
  std::mt19937 rng_;  // epochs this node proposes; bridge thread only
  FeedFn feed_;

  EventBasePtr base_;
  EventPtr wake_;
  std::thread thread_;
  std::mutex tasks_mu_;
  std::vector<std::function<void()>> tasks_;

  // Bridge thread only.
  std::unique_ptr<RedisClient> commands_;
  std::unique_ptr<RedisClient> subscriber_;
  std::map<std::string, int> watched_;  // filter -> local subscribers
  bool was_up_ = false;                 // the subscriber has been up before
  bool catching_up_ = false;
  std::vector<std::string> held_;  // live messages that came during a catch-up
  std::map<std::string, ListenFn, std::less<>> listeners_;  // channel -> handler (Listen)

  std::atomic<uint32_t> epoch_{0};
  std::atomic<uint64_t> last_fed_{0};
  std::atomic<int64_t> round_trips_{0};
  mutable std::mutex status_mu_;
  StoreStatus status_;
};

}  // namespace herald
