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
//    The catch-up first reads the epoch: Redis that came back empty has a
//    new one (set then if none), and the epoch listener hears it before
//    anything of the new epoch is fed, even if nothing is ever published.
//    A catch-up Redis cannot answer is retried; live messages stay held.
//  - Read merges the matching topics' streams in id order, in one round trip
//    for plain filters (GET seq, their own streams, and <p>wtopics for the
//    wildcard-published topics that match them), two when the first finds
//    more streams (wildcard filters: ZRANGEBYLEX <p>topics on the literal
//    prefix). ReadResult::last_seq is the GET seq sent first: every event up
//    to it is complete (scripts run one at a time), so the streams hold it.
//  - Watch/Unwatch hold SUBSCRIBE (plain filters) or PSUBSCRIBE (wildcards,
//    on a glob superset) while a filter has local subscribers. WhenFed
//    answers once Redis acknowledged the subscription (and the wildcard
//    channel's): an event published before that is in the streams but may
//    never be fed here, so a new subscriber replays from its connect cursor
//    (Worker::Adopt, server/replayer.h).
//  - LastSeq is the newest id fed, or known to exist (publish replies,
//    reads, a GET seq every second), whichever is newer: a node that hears
//    little still starts new subscribers near the cluster's newest id.
//
// Threading: the public methods are thread-safe; they hand work to the bridge
// loop. Completions go through the caller's PostFn; the feed runs on the
// bridge thread. The bridge loop runs on a thread of its own (Start) or on a
// worker's loop (StartHosted: herald runs it on worker 0, see
// docs/scaling.md "Threading"); "bridge thread" below is whichever runs it.
#pragma once

#include <algorithm>
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
  // A publish is acknowledged only once this many replicas have it (WAIT
  // after the publish script; one WAIT covers every publish answered before
  // it was sent); 0: when the master has it. With Sentinel, 1 makes a
  // failover lose no acknowledged event.
  int min_replicas_ack = 0;
  int replica_ack_timeout_ms = 500;  // WAIT's timeout; past it: 503, unacknowledged
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
  // Instead of Start: no thread of its own. The caller runs bridge_base()'s
  // loop on a thread of its own (a worker's, which then hands publishes,
  // replies and the feed to itself without waking another thread), and,
  // once that loop has stopped for good, calls RunOwnLoop: the store's own
  // thread runs it from then on (destructors of the cluster parts still
  // wait for Redis's replies). Main thread, before the host loop runs.
  void StartHosted();
  void RunOwnLoop();

  void SetFeed(FeedFn feed) override;
  void SetEpochListener(EpochFn fn) override { on_epoch_ = std::move(fn); }
  void Append(EventRef ev, PostFn post, std::function<void(Status, uint64_t)> done) override;
  // One batch script call (PublishBatchScript): one round trip, all or none.
  void AppendBatch(std::vector<EventRef> events, PostFn post,
                   std::function<void(Status, uint64_t)> done) override;
  void Read(ReadRequest req, PostFn post, std::function<void(ReadResult)> done) override;
  void Watch(const std::string& filter) override;
  void Unwatch(const std::string& filter) override;
  bool WhenFed(const std::string& filter, std::function<void()> fed) override;
  bool FeedsEveryEvent() const override { return false; }
  uint32_t epoch() const override { return epoch_.load(std::memory_order_acquire); }
  uint64_t LastSeq() const override {
    return std::max(last_fed_.load(std::memory_order_acquire),
                    known_seq_.load(std::memory_order_acquire));
  }
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
  // A publish the script has answered (min_replicas_ack > 0): its publisher
  // hears about it once a WAIT says enough replicas have it.
  struct Unreplicated {
    uint64_t id;
    PostFn post;
    std::function<void(Status, uint64_t)> done;
  };
  static void OnWake(evutil_socket_t, short, void* arg);
  // The connections and timers, on base_ (before its loop runs).
  void SetUp();
  // Runs base_'s loop on this thread until stopped, then TearDown.
  void RunLoop();
  void TearDown();
  uint32_t ProposeEpoch();
  // Where `ev` is published: its topic's channel, the wildcard channel, or
  // its whisper target's node channel.
  std::string ChannelOf(const Event& ev) const;
  std::string IndexOf(const std::string& topic) const;
  void LoadEpoch();
  void OnMessage(std::string_view channel, std::string_view payload);
  void Feed(uint64_t id, uint32_t epoch, std::string_view body);
  void OnSubscriberState(RedisClient::State state);
  // Bridge thread: records the epoch Redis has; true (and the listener
  // told, last_fed_ reset) when it is not the one known.
  bool NoteEpoch(uint32_t epoch);
  void CatchUp();
  void CatchUpFrom(uint64_t run);
  void RetryCatchUp(uint64_t run, const std::string& why);
  // Feeds the live messages held meanwhile (deduplicated by id) and goes live.
  void EndCatchUp();
  void OnPublished(const redisReply* r, size_t count, const PostFn& post,
                   const std::function<void(Status, uint64_t)>& done);
  void Acknowledge(uint64_t id, PostFn post, std::function<void(Status, uint64_t)> done);
  void SendWait();
  void ReadOnBridge(std::shared_ptr<ReadJob> job);
  // Sends one command of `job`; its reply goes to `on_reply`, then the job
  // finishes once no reply is due.
  void ReadCommand(const std::shared_ptr<ReadJob>& job, const std::vector<std::string>& argv,
                   std::function<void(const redisReply*)> on_reply);
  void ReadStream(const std::shared_ptr<ReadJob>& job, const std::string& topic);
  void ReadMatchingStreams(const std::shared_ptr<ReadJob>& job, const redisReply* topics);
  void FinishRead(const std::shared_ptr<ReadJob>& job);
  // Whether the feed carries `filter`'s events (its subscription and the
  // wildcard channel's are acknowledged). Bridge thread.
  bool IsFed(const std::string& filter) const;
  void OnSubscribed();
  void NoteSeq(uint64_t seq, uint32_t epoch);
  static void OnTick(evutil_socket_t, short, void* arg);
  void SubscriptionsChanged();
  void UpdateSubscriptions();
  void UpdateStatus();

  const RedisStoreOptions options_;
  const RedisKeys keys_;
  std::mt19937 rng_;  // epochs this node proposes; bridge thread only
  FeedFn feed_;
  EpochFn on_epoch_;

  EventBasePtr base_;
  EventPtr wake_;
  EventPtr tick_;     // refreshes known_seq_ once a second
  EventPtr refresh_;  // rebuilds the subscriptions /state shows
  std::thread thread_;
  std::mutex tasks_mu_;
  std::vector<std::function<void()>> tasks_;

  // Bridge thread only.
  std::unique_ptr<RedisClient> commands_;
  std::unique_ptr<RedisClient> subscriber_;
  std::map<std::string, int> watched_;  // filter -> local subscribers
  bool was_up_ = false;                 // the subscriber has been up before
  bool loaded_ = false;                 // the epoch and the newest id were read once
  bool catching_up_ = false;
  uint64_t catch_up_run_ = 0;  // a completion of an older catch-up is ignored
  EventPtr catch_up_timer_;    // retries a catch-up Redis could not answer
  bool seq_loaded_ = false;    // the start-up GET seq has answered
  // Publishes the script answered, waiting for the next WAIT (min_replicas_ack).
  std::vector<Unreplicated> unreplicated_;
  bool wait_in_flight_ = false;
  std::vector<std::string> held_;  // live messages that came during a catch-up
  std::map<std::string, ListenFn, std::less<>> listeners_;  // channel -> handler (Listen)
  // WhenFed callers until their filter's subscription is acknowledged.
  std::vector<std::pair<std::string, std::function<void()>>> fed_waiting_;
  bool subscriptions_changed_ = false;

  std::atomic<uint32_t> epoch_{0};
  std::atomic<uint64_t> last_fed_{0};
  std::atomic<uint64_t> known_seq_{0};  // see LastSeq
  std::atomic<int64_t> round_trips_{0};
  std::atomic<int64_t> reads_{0};
  std::atomic<int64_t> read_commands_{0};
  std::atomic<int64_t> read_rounds_{0};
  mutable std::mutex status_mu_;
  StoreStatus status_;
};

}  // namespace herald
