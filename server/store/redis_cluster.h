// RedisCluster: what makes the nodes sharing one Redis one server beyond the
// event feed (issue 12 item 4; docs/scaling.md, "Across nodes: whisper,
// kick, presence, /connections"). It rides on the RedisStore's bridge loop
// and its two connections; it opens none of its own.
//  - Heartbeat: every node_ttl / 3 the node puts itself in <p>nodes with the
//    deadline now + node_ttl (Redis's clock) and refreshes its presence hash.
//    A node past its deadline is dead: the first live node to beat removes
//    it, deletes its presence hash and publishes a `disconnect` presence
//    event with the new cluster-wide count for each clid it had.
//  - Requests: Ask() sends a request to every live node (or to one) and
//    gathers their answers, bounded by request_timeout; the nodes that did
//    not answer are named. OnRequest() installs what this node answers.
//  - Presence: each node keeps its own counts per presence topic in
//    <p>pc:<node> (absolute values, read from Presence when the command is
//    sent, so they never drift); one script per change updates them, sums
//    the counts of the live nodes and publishes the presence event.
//
// Threading: public methods are thread-safe unless marked; completions go
// through the caller's PostFn. Request handlers run on the bridge thread and
// may answer from any thread, once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/store/redis_store.h"
#include "server/util/c_handles.h"

namespace herald {

class Presence;

struct RedisClusterOptions {
  int64_t node_ttl_ms = 10000;
  int64_t request_timeout_ms = 1000;
};

class RedisCluster {
 public:
  // `store` and `presence` outlive this object; `store` is started.
  RedisCluster(RedisStore* store, const Presence* presence, RedisClusterOptions options);
  // Leaves the cluster (removed from <p>nodes, its counts deleted) and waits
  // for the bridge to drop this object's timers and handlers.
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  int node_id() const { return store_->node_id(); }

  // What this node answers to a request of `kind`. Call before Start.
  using Reply = std::function<void(std::string payload)>;
  using RequestFn = std::function<void(std::string_view payload, Reply reply)>;
  void OnRequest(const std::string& kind, RequestFn fn);
  // Starts the heartbeat and listens for requests and answers.
  void Start();

  // The answers of the other live nodes (this node never asks itself), and
  // the nodes that did not answer in time (or all of them, Redis down).
  struct Answers {
    std::vector<std::pair<int, std::string>> replies;  // node, payload
    std::vector<int> unanswered;
    // `,"unanswered_nodes":[...]` to append to a JSON reply, or "" when all answered.
    std::string UnansweredMember() const;
  };
  static constexpr int kEveryNode = -1;
  // `node`: one node (answers nothing when it is not live), or kEveryNode.
  void Ask(const std::string& kind, std::string payload, int node, PostFn post,
           std::function<void(Answers)> done);

  // A connection came or went for presence key `key` (server/core/space.h):
  // publishes a `type` (connect, disconnect) presence event carrying the
  // cluster-wide count as of this change (`count`: this node's, after it;
  // the hash in Redis gets the newest). Nobody waits for it.
  void PresenceChanged(const std::string& key, std::string_view type, int64_t count);
  // The cluster-wide count of `key`, for `available`; -1 when Redis did not
  // answer.
  void PresenceCount(const std::string& key, PostFn post, std::function<void(int64_t)> done);

  // For /state: the live nodes as of the last heartbeat, and beats sent.
  std::string StateJson() const;

 private:
  struct Pending;
  static void OnBeatTimer(evutil_socket_t, short, void* arg);
  static void OnRequestTimeout(evutil_socket_t, short, void* arg);
  void Beat();
  void Resync();
  bool Up() const;
  void OnRequestMessage(std::string_view message);
  void OnReplyMessage(std::string_view message);
  void Finish(uint64_t id);
  void NoteRegistered(const redisReply* r);

  RedisStore* store_;
  const Presence* presence_;
  const RedisClusterOptions options_;
  std::map<std::string, RequestFn, std::less<>> handlers_;  // set before Start
  // Whether this object still exists, for the handlers the store keeps.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool started_ = false;

  // Bridge thread only.
  EventPtr beat_timer_;
  EventPtr retry_timer_;  // a beat that found Redis down tries again soon
  uint64_t next_request_ = 1;
  std::map<uint64_t, std::unique_ptr<Pending>> pending_;
  bool need_sync_ = true;  // this node's presence hash must be rewritten whole

  mutable std::mutex state_mu_;
  std::vector<int> live_;  // as of the last beat
  int64_t beats_ = 0;
};

}  // namespace herald
