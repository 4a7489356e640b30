// RedisCluster with several "nodes" (a store, presence counts and a cluster
// each) on one real redis-server: requests to every node or to one, answers
// gathered and the silent nodes named, presence sums over the live nodes,
// a node that leaves cleanly, and a dead node reaped with a `disconnect`
// saying the new count.
#include "server/store/redis_cluster.h"

#include <event2/thread.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "server/core/presence.h"
#include "tests/unit/store/redis_server.h"

namespace herald {
namespace {

const PostFn kInline = [](std::function<void()> f) { f(); };

class Node {
 public:
  Node(int port, int node_id, bool answers = true) {
    RedisStoreOptions o;
    o.client.endpoint.host = "127.0.0.1";
    o.client.endpoint.port = port;
    o.client.connect_timeout_ms = 500;
    o.client.command_timeout_ms = 500;
    o.client.backoff_min_ms = 20;
    o.client.backoff_max_ms = 100;
    o.key_prefix = "c:";
    o.node_id = node_id;
    store_ = std::make_unique<RedisStore>(o);
    store_->SetFeed([this](EventRef ev) {
      std::lock_guard<std::mutex> lock(mu_);
      heard_.push_back(ev);
      cv_.notify_all();
    });
    store_->Start();
    cluster_ =
        std::make_unique<RedisCluster>(store_.get(), &presence_, RedisClusterOptions{600, 300});
    cluster_->OnRequest("echo", [node_id, answers](std::string_view p, RedisCluster::Reply r) {
      if (answers) r(std::to_string(node_id) + ":" + std::string(p));
    });
    cluster_->Start();
  }
  ~Node() {
    cluster_.reset();  // before its store
  }
  RedisStore& store() { return *store_; }
  RedisCluster& cluster() { return *cluster_; }

  void Connect(const std::string& clid, int delta) {
    const int64_t count = presence_.ChangeKeyed(clid, clid, delta);
    cluster_->PresenceChanged(clid, delta > 0 ? "connect" : "disconnect", count);
  }
  int64_t Count(const std::string& clid) {
    std::promise<int64_t> p;
    cluster_->PresenceCount(clid, kInline, [&p](int64_t n) { p.set_value(n); });
    return p.get_future().get();
  }
  RedisCluster::Answers Ask(const std::string& payload, int node = RedisCluster::kEveryNode) {
    std::promise<RedisCluster::Answers> p;
    cluster_->Ask("echo", payload, node, kInline,
                  [&p](RedisCluster::Answers a) { p.set_value(std::move(a)); });
    return p.get_future().get();
  }
  // Waits (bounded) for an event heard whose JSON contains `text`.
  bool WaitHeard(const std::string& text) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] {
      for (const EventRef& ev : heard_) {
        if (ev->tail.find(text) != std::string::npos) return true;
      }
      return false;
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<EventRef> heard_;
  Presence presence_;
  std::unique_ptr<RedisStore> store_;
  std::unique_ptr<RedisCluster> cluster_;
};

// Waits (bounded) until `node` sees `n` live nodes in its /state member.
bool WaitLive(Node& node, const std::string& live) {
  for (int i = 0; i < 500; ++i) {
    if (node.cluster().StateJson().find("\"live_nodes\":" + live) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class RedisClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { evthread_use_pthreads(); }
};

TEST_F(RedisClusterTest, AskGathersEveryOtherLiveNodeAndNamesTheSilentOnes) {
  RedisServer redis;
  Node a(redis.port(), 1), b(redis.port(), 2), c(redis.port(), 3, /*answers=*/false);
  ASSERT_TRUE(WaitLive(a, "[1,2,3]"));
  ASSERT_TRUE(WaitLive(b, "[1,2,3]"));  // b listens once it has beaten
  ASSERT_TRUE(WaitLive(c, "[1,2,3]"));
  RedisCluster::Answers all = a.Ask("hi");
  ASSERT_EQ(all.replies.size(), 1u);
  EXPECT_EQ(all.replies[0], std::make_pair(2, std::string("2:hi")));
  EXPECT_EQ(all.unanswered, std::vector<int>{3});
  EXPECT_EQ(all.UnansweredMember(), ",\"unanswered_nodes\":[3]");

  RedisCluster::Answers one = a.Ask("only b", 2);
  ASSERT_EQ(one.replies.size(), 1u);
  EXPECT_EQ(one.replies[0].second, "2:only b");
  EXPECT_TRUE(one.unanswered.empty());

  // A node that is not live is not asked, nor waited for.
  RedisCluster::Answers none = a.Ask("x", 9);
  EXPECT_TRUE(none.replies.empty());
  EXPECT_TRUE(none.unanswered.empty());
  EXPECT_EQ(none.UnansweredMember(), "");
}

TEST_F(RedisClusterTest, PresenceSumsTheLiveNodesAndADeadNodeIsReapedWithADisconnect) {
  RedisServer redis;
  Node a(redis.port(), 1);
  auto b = std::make_unique<Node>(redis.port(), 2);
  ASSERT_TRUE(WaitLive(a, "[1,2]"));
  a.store().Watch("@CONNECTION@/alice");
  a.Connect("alice", +1);
  b->Connect("alice", +1);
  b->Connect("alice", +1);
  // Scripts run one at a time: the last of the three sums all three.
  ASSERT_TRUE(a.WaitHeard("\"connect\",\"detail\":{\"clid_instances\":3}"));
  EXPECT_EQ(b->Count("alice"), 3);
  b->Connect("alice", -1);
  ASSERT_TRUE(a.WaitHeard("\"disconnect\",\"detail\":{\"clid_instances\":2}"));
  EXPECT_EQ(a.Count("alice"), 2);

  // b leaves cleanly: its counts go at once.
  b.reset();
  EXPECT_EQ(a.Count("alice"), 1);
  EXPECT_TRUE(WaitLive(a, "[1]"));

  // Node 7 died without leaving (SIGKILL): its heartbeat deadline passed and
  // its counts are still there. a's next beat reaps it.
  redisContext* admin = redisConnect("127.0.0.1", redis.port());
  ASSERT_TRUE(admin && !admin->err);
  freeReplyObject(redisCommand(admin, "ZADD c:nodes 1 7"));
  freeReplyObject(redisCommand(admin, "HSET c:pc:7 @CONNECTION@/alice 5"));
  ASSERT_TRUE(a.WaitHeard("\"disconnect\",\"detail\":{\"clid_instances\":1}"));
  auto* exists = static_cast<redisReply*>(redisCommand(admin, "EXISTS c:pc:7"));
  EXPECT_EQ(exists->integer, 0);
  freeReplyObject(exists);
  redisFree(admin);
  EXPECT_EQ(a.Count("alice"), 1);
}

TEST_F(RedisClusterTest, ANodeRewritesItsCountsWhenRedisComesBackEmpty) {
  RedisServer redis;
  Node a(redis.port(), 1);
  ASSERT_TRUE(WaitLive(a, "[1]"));
  a.Connect("bob", +1);
  a.Connect("bob", +1);
  EXPECT_EQ(a.Count("bob"), 2);
  redis.Kill();
  redis.Start();  // empty
  // The next beat finds the node unregistered and rewrites its hash.
  int64_t n = -1;
  for (int i = 0; i < 300 && n != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    n = a.Count("bob");
  }
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace herald
