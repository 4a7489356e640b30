// RedisStore with two "nodes" (two stores) on one real redis-server: ids,
// cross-node feed, wildcards both ways, dedup, filtered reads, catch-up after
// a lost subscription, Redis down, Redis restarted empty.
#include "server/store/redis_store.h"

#include <event2/thread.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "server/core/event.h"
#include "tests/unit/store/redis_server.h"

namespace herald {
namespace {

// Completions run on the bridge thread; the test waits on futures.
const PostFn kInline = [](std::function<void()> f) { f(); };

// A node under test: a store and what its feed heard.
class Node {
 public:
  Node(int port, int node_id, std::function<void(RedisStoreOptions*)> tweak = nullptr) {
    RedisStoreOptions o;
    o.client.endpoint.host = "127.0.0.1";
    o.client.endpoint.port = port;
    o.client.connect_timeout_ms = 500;
    o.client.command_timeout_ms = 500;
    o.client.backoff_min_ms = 20;
    o.client.backoff_max_ms = 100;
    o.key_prefix = "t:";
    o.node_id = node_id;
    if (tweak) tweak(&o);
    store_ = std::make_unique<RedisStore>(o);
    store_->SetEpochListener([this](uint32_t) {
      std::lock_guard<std::mutex> lock(mu_);
      ++epoch_changes_;
      cv_.notify_all();
    });
    store_->SetFeed([this](EventRef ev) {
      std::lock_guard<std::mutex> lock(mu_);
      heard_.push_back(ev);
      cv_.notify_all();
    });
    store_->Start();
  }
  RedisStore& store() { return *store_; }

  bool WaitUp() {
    for (int i = 0; i < 500; ++i) {
      if (store_->status().state == "up" && store_->epoch() != 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // Publishes and returns the completion's status and id.
  std::pair<Status, uint64_t> Publish(const std::string& topic, const std::string& e_json,
                                      uint64_t whisper = 0) {
    std::promise<std::pair<Status, uint64_t>> p;
    store_->Append(MakeEvent(0, 0, 1000, topic, e_json, whisper), kInline,
                   [&p](Status s, uint64_t id) {
                     p.set_value({s, id});
                   });
    return p.get_future().get();
  }
  // Publishes `events` as one batch; returns the completion's status and first id.
  std::pair<Status, uint64_t> PublishBatch(std::vector<EventRef> events) {
    std::promise<std::pair<Status, uint64_t>> p;
    store_->AppendBatch(std::move(events), kInline, [&p](Status s, uint64_t id) {
      p.set_value({s, id});
    });
    return p.get_future().get();
  }
  ReadResult Read(std::vector<std::string> filters, uint64_t after, uint32_t epoch = 0) {
    std::promise<ReadResult> p;
    ReadRequest req;
    req.filters = std::move(filters);
    req.after_seq = after;
    req.epoch = epoch;
    req.limit = 100;
    store_->Read(req, kInline, [&p](ReadResult r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  // Waits (bounded) until the epoch listener heard `n` changes.
  int WaitEpochChanges(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return epoch_changes_ >= n; });
    return epoch_changes_;
  }
  // Waits (bounded) until the feed heard `n` events; returns what it heard.
  std::vector<EventRef> WaitHeard(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return heard_.size() >= n; });
    return heard_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<EventRef> heard_;
  int epoch_changes_ = 0;
  std::unique_ptr<RedisStore> store_;
};

// A plain synchronous connection for the test's own checks.
class Admin {
 public:
  explicit Admin(int port) : c_(redisConnect("127.0.0.1", port)) {}
  ~Admin() { redisFree(c_); }
  long long Integer(const std::vector<std::string>& argv) {
    std::vector<const char*> a;
    std::vector<size_t> l;
    for (const auto& s : argv) {
      a.push_back(s.data());
      l.push_back(s.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(a.size()), a.data(), l.data()));
    long long v = -1;
    if (r && r->type == REDIS_REPLY_INTEGER) v = r->integer;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) v = r->element[1]->integer;
    freeReplyObject(r);
    return v;
  }
  // Waits until `channel` has a subscriber (PUBSUB NUMSUB) or `pattern` is held.
  bool WaitSubscribed(const std::string& channel) {
    for (int i = 0; i < 500; ++i) {
      if (Integer({"PUBSUB", "NUMSUB", channel}) >= 1) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  bool WaitPatterns(long long n) {
    for (int i = 0; i < 500; ++i) {
      if (Integer({"PUBSUB", "NUMPAT"}) >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  redisContext* c_;
};

std::string Body(const Event& ev) {
  std::string json;
  AppendEventJson(&json, ev, ev.topic);
  return json;
}

class RedisStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { evthread_use_pthreads(); }
};

TEST_F(RedisStoreTest, APublishOnOneNodeReachesTheNodeThatWatchesItWithTheSameId) {
  RedisServer redis;
  Node a(redis.port(), 1), b(redis.port(), 2);
  ASSERT_TRUE(a.WaitUp() && b.WaitUp());
  EXPECT_EQ(a.store().epoch(), b.store().epoch());
  Admin admin(redis.port());
  b.store().Watch("room/1");
  ASSERT_TRUE(admin.WaitSubscribed("t:t:room/1"));
  const std::string e = R"({"type":"x","detail":{"big":1796286524043104123,"f":1e400}})";
  auto [s1, id1] = a.Publish("room/1", e);
  auto [s2, id2] = a.Publish("room/2", e);  // nobody watches it
  auto [s3, id3] = a.Publish("room/1", e);
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok());
  EXPECT_EQ(id2, id1 + 1);
  EXPECT_EQ(id3, id2 + 1);
  auto heard = b.WaitHeard(2);
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0]->seq, id1);
  EXPECT_EQ(heard[1]->seq, id3);
  EXPECT_NE(Body(*heard[0]).find(e), std::string::npos) << "the JSON passes byte for byte";
  EXPECT_EQ(b.store().LastSeq(), id3);
  EXPECT_GE(a.store().status().round_trips, 3);
}

TEST_F(RedisStoreTest, ABatchIsOneScriptCallWithConsecutiveIdsFedAndStoredInOrder) {
  RedisServer redis;
  Node a(redis.port(), 1), b(redis.port(), 2);
  ASSERT_TRUE(a.WaitUp() && b.WaitUp());
  Admin admin(redis.port());
  b.store().Watch("room/#");
  ASSERT_TRUE(admin.WaitPatterns(1));
  auto [s0, id0] = a.Publish("room/0", R"({"type":"before"})");
  ASSERT_TRUE(s0.ok());
  const std::string e = R"({"type":"x","detail":{"big":1796286524043104123}})";
  std::vector<EventRef> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(MakeEvent(0, 0, 1000, "room/" + std::to_string(i), e, 0));
  batch.push_back(MakeEvent(0, 0, 1000, "room/#", e, 0));
  auto [s1, first] = a.PublishBatch(std::move(batch));
  ASSERT_TRUE(s1.ok()) << s1.reason();
  EXPECT_EQ(first, id0 + 1);
  auto heard = b.WaitHeard(7);
  ASSERT_EQ(heard.size(), 7u);
  for (uint64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(heard[i + 1]->seq, first + i);
    EXPECT_NE(Body(*heard[i + 1]).find(e), std::string::npos);
  }
  EXPECT_EQ(heard[6]->topic, "room/#");
  ReadResult r = b.Read({"room/#"}, id0);
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.events.size(), 6u);
  for (uint64_t i = 0; i < 6; ++i) EXPECT_EQ(r.events[i]->seq, first + i);
  // Warm (the script is loaded now): a batch costs one round trip, whatever its size.
  const int64_t before = a.store().status().round_trips;
  std::vector<EventRef> more;
  for (int i = 0; i < 50; ++i) more.push_back(MakeEvent(0, 0, 1000, "room/1", e, 0));
  auto [s2, next] = a.PublishBatch(std::move(more));
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(next, first + 6);
  EXPECT_EQ(a.store().status().round_trips - before, 1);
}

TEST_F(RedisStoreTest, WildcardsMatchBothWaysAndAMessageHeardTwiceIsFedOnce) {
  RedisServer redis;
  Node a(redis.port(), 1), b(redis.port(), 2);
  ASSERT_TRUE(a.WaitUp() && b.WaitUp());
  Admin admin(redis.port());
  b.store().Watch("house/kitchen/temp");
  b.store().Watch("house/+/temp");
  ASSERT_TRUE(admin.WaitSubscribed("t:t:house/kitchen/temp"));
  ASSERT_TRUE(admin.WaitPatterns(1));
  auto [s1, id1] = a.Publish("house/#", R"({"type":"all"})");           // wildcard publish
  auto [s2, id2] = a.Publish("house/kitchen/temp", R"({"type":"k"})");  // channel + pattern
  auto [s3, id3] = a.Publish("house/hall/temp", R"({"type":"h"})");     // pattern only
  auto [s4, id4] = a.Publish("garden/temp", R"({"type":"g"})");         // nobody
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok() && s4.ok());
  auto heard = b.WaitHeard(3);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a duplicate would land now
  heard = b.WaitHeard(3);
  ASSERT_EQ(heard.size(), 3u);
  EXPECT_EQ(heard[0]->seq, id1);
  EXPECT_EQ(heard[1]->seq, id2);
  EXPECT_EQ(heard[2]->seq, id3);
}

TEST_F(RedisStoreTest, ReadsOnlyTheMatchingTopicsInIdOrder) {
  RedisServer redis;
  Node a(redis.port(), 1);
  ASSERT_TRUE(a.WaitUp());
  std::vector<uint64_t> ids;
  for (const char* t : {"a/1", "b/1", "a/2", "a/1", "b/2", "a/#"}) {
    auto [s, id] = a.Publish(t, R"({"type":"t"})");
    ASSERT_TRUE(s.ok());
    ids.push_back(id);
  }
  ReadResult all_a = a.Read({"a/+"}, 0);
  ASSERT_TRUE(all_a.status.ok());
  EXPECT_TRUE(all_a.covered);
  std::vector<uint64_t> got;
  for (auto& ev : all_a.events) got.push_back(ev->seq);
  EXPECT_EQ(got, (std::vector<uint64_t>{ids[0], ids[2], ids[3], ids[5]}));
  ReadResult plain = a.Read({"b/2", "a/1"}, ids[0]);
  got.clear();
  for (auto& ev : plain.events) got.push_back(ev->seq);
  // a/1 after the first, b/2, and the wildcard publish a/# that matches a/1.
  EXPECT_EQ(got, (std::vector<uint64_t>{ids[3], ids[4], ids[5]}));
  ReadResult old_epoch = a.Read({"a/1"}, 0, a.store().epoch() + 1);
  EXPECT_FALSE(old_epoch.covered);
  EXPECT_TRUE(old_epoch.events.empty());
}

TEST_F(RedisStoreTest, AStreamTrimmedPastTheCursorIsNotCovered) {
  RedisServer redis;
  Node a(redis.port(), 1);
  ASSERT_TRUE(a.WaitUp());
  Admin admin(redis.port());
  uint64_t first = 0;
  for (int i = 0; i < 5; ++i) {
    const uint64_t id = a.Publish("z", R"({"type":"t"})").second;
    if (i == 0) first = id;
  }
  EXPECT_EQ(admin.Integer({"XTRIM", "t:s:z", "MAXLEN", "2"}), 3);
  EXPECT_FALSE(a.Read({"z"}, first).covered);
  EXPECT_TRUE(a.Read({"z"}, first + 2).covered);
}

TEST_F(RedisStoreTest, ANodeThatLostItsSubscriptionCatchesUpFromTheStreams) {
  RedisServer redis;
  Node a(redis.port(), 1), b(redis.port(), 2);
  ASSERT_TRUE(a.WaitUp() && b.WaitUp());
  Admin admin(redis.port());
  b.store().Watch("feed");
  ASSERT_TRUE(admin.WaitSubscribed("t:t:feed"));
  ASSERT_TRUE(a.Publish("feed", R"({"n":0})").first.ok());
  ASSERT_EQ(b.WaitHeard(1).size(), 1u);
  // Cut B's subscriber connection; publish while it reconnects.
  EXPECT_GE(admin.Integer({"CLIENT", "KILL", "TYPE", "pubsub"}), 1);
  std::vector<uint64_t> ids;
  for (int i = 1; i <= 50; ++i) ids.push_back(a.Publish("feed", R"({"n":1})").second);
  auto heard = b.WaitHeard(51);
  ASSERT_EQ(heard.size(), 51u);
  for (size_t i = 1; i < heard.size(); ++i) EXPECT_EQ(heard[i]->seq, ids[i - 1]);
}

TEST_F(RedisStoreTest, RedisDownAnswersUnavailableAndRestartedEmptyChangesTheEpoch) {
  RedisServer redis;
  Node a(redis.port(), 1);
  ASSERT_TRUE(a.WaitUp());
  const uint32_t epoch = a.store().epoch();
  ASSERT_TRUE(a.Publish("x", R"({"type":"t"})").first.ok());
  redis.Kill();
  for (int i = 0; i < 200 && a.store().status().state == "up"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(a.store().status().state, "up");
  auto [down, id] = a.Publish("x", R"({"type":"t"})");
  EXPECT_EQ(down.kind(), StatusKind::kUnavailable);
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(a.Read({"x"}, 0).status.kind(), StatusKind::kUnavailable);
  redis.Start();  // empty: no persistence
  ASSERT_TRUE(a.WaitUp());
  a.store().Watch("x");
  Admin admin(redis.port());
  ASSERT_TRUE(admin.WaitSubscribed("t:t:x"));
  auto [up, id2] = a.Publish("x", R"({"type":"t"})");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(id2, 1u);  // Redis lost the sequence with the rest
  auto heard = a.WaitHeard(1);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_NE(a.store().epoch(), epoch);
  EXPECT_NE(heard[0]->id.find('-'), std::string::npos);
}

TEST_F(RedisStoreTest, RestartedEmptyTellsTheEpochListenerWithoutAPublishThenFeedsTheNewIds) {
  RedisServer redis;
  Node a(redis.port(), 1), b(redis.port(), 2);
  ASSERT_TRUE(a.WaitUp() && b.WaitUp());
  a.store().Watch("x");
  Admin admin(redis.port());
  ASSERT_TRUE(admin.WaitSubscribed("t:t:x"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.Publish("x", R"({"type":"t"})").first.ok());
  ASSERT_EQ(a.WaitHeard(5).size(), 5u);
  const uint32_t old_epoch = a.store().epoch();
  redis.Kill();
  redis.Start();  // empty: no persistence
  // Told on reconnect, with nothing published.
  EXPECT_EQ(a.WaitEpochChanges(1), 1);
  EXPECT_NE(a.store().epoch(), old_epoch);
  EXPECT_EQ(a.store().LastSeq(), 0u);
  Admin admin2(redis.port());
  ASSERT_TRUE(admin2.WaitSubscribed("t:t:x"));
  ASSERT_TRUE(b.WaitUp());
  // The new ids start again below the old ones; they are fed, not taken for
  // duplicates.
  auto [s1, id1] = b.Publish("x", R"({"type":"t"})");
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(id1, 1u);
  auto heard = a.WaitHeard(6);
  ASSERT_EQ(heard.size(), 6u);
  EXPECT_EQ(heard[5]->seq, 1u);
  EXPECT_EQ(heard[5]->id, FormatEventId(a.store().epoch(), 1));
}

TEST_F(RedisStoreTest, MinReplicasAckAcknowledgesOnlyWhatAReplicaHas) {
  // Diskless sync at once (Redis 7 waits 5 s for more replicas by default).
  RedisServer master({"--repl-diskless-sync-delay", "0"});
  auto wait_one = [](RedisStoreOptions* o) {
    o->min_replicas_ack = 1;
    // Generous: a replica on a loaded machine may take a while to answer
    // WAIT's GETACK (the command timeout stays above it, as config demands).
    o->replica_ack_timeout_ms = 2000;
    o->client.command_timeout_ms = 5000;
  };
  Node a(master.port(), 1, wait_one);
  ASSERT_TRUE(a.WaitUp());
  // No replica: refused, with the reason.
  auto [alone, none] = a.Publish("x", R"({"type":"t"})");
  EXPECT_EQ(alone.kind(), StatusKind::kUnavailable);
  EXPECT_NE(alone.reason().find("not acknowledged: 0 of 1 replicas"), std::string::npos)
      << alone.reason();
  EXPECT_EQ(none, 0u);
  RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
  Admin admin(master.port());
  bool synced = false;
  for (int i = 0; i < 500 && !synced; ++i) {
    synced = admin.Integer({"WAIT", "1", "10"}) >= 1;
  }
  ASSERT_TRUE(synced);
  // Many at once: one WAIT answers for a batch, every publish gets its id.
  std::vector<std::future<std::pair<Status, uint64_t>>> all;
  for (int i = 0; i < 50; ++i) {
    all.push_back(std::async(std::launch::async, [&a] { return a.Publish("x", R"({"t":1})"); }));
  }
  std::set<uint64_t> ids;
  for (auto& f : all) {
    auto [s, id] = f.get();
    EXPECT_TRUE(s.ok()) << s.reason();
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 50u);
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {

// Issue 12 item 1: WhenFed answers once Redis acknowledged the SUBSCRIBE;
// from then on every publish reaches the feed.
TEST_F(RedisStoreTest, WhenFedAnswersOnceTheSubscribeIsAcknowledged) {
  RedisServer redis;
  Node a(redis.port(), 1), b(redis.port(), 2);
  ASSERT_TRUE(a.WaitUp() && b.WaitUp());
  EXPECT_FALSE(b.store().FeedsEveryEvent());
  std::promise<void> fed;
  b.store().Watch("win/1");
  EXPECT_FALSE(b.store().WhenFed("win/1", [&fed] { fed.set_value(); }));
  ASSERT_EQ(fed.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  // Acknowledged: the next publish is heard, without waiting for NUMSUB.
  auto [s, id] = a.Publish("win/1", R"({"type":"x"})");
  ASSERT_TRUE(s.ok());
  auto heard = b.WaitHeard(1);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0]->seq, id);
  // A wildcard filter, then another on the same glob (win/*): no second
  // PSUBSCRIBE is sent, and it is fed as soon as the first one is.
  b.store().Watch("win/+");
  std::promise<void> p1;
  b.store().WhenFed("win/+", [&p1] { p1.set_value(); });
  ASSERT_EQ(p1.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  b.store().Watch("win/+/a");
  std::promise<void> p2;
  b.store().WhenFed("win/+/a", [&p2] { p2.set_value(); });
  ASSERT_EQ(p2.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

// Issue 12 item 2: a plain filter's read is one round trip, and its
// last_seq covers every event published before it (the live boundary).
TEST_F(RedisStoreTest, APlainFilterReadIsOneRoundTripAndSeesUpToItsLastSeq) {
  RedisServer redis;
  Node a(redis.port(), 1);
  ASSERT_TRUE(a.WaitUp());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 50; ++i) {  // many topics: a plain read lists none of them
    auto [s, id] = a.Publish("many/" + std::to_string(i), R"({"type":"t"})");
    ASSERT_TRUE(s.ok());
    if (i % 10 == 3) ids.push_back(id);
  }
  auto [s, last] = a.Publish("many/3", R"({"type":"t"})");
  ASSERT_TRUE(s.ok());
  ids.push_back(last);
  const StoreStatus before = a.store().status();
  ReadResult r = a.Read({"many/3"}, 0);
  const StoreStatus after = a.store().status();
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0]->seq, ids[0]);
  EXPECT_EQ(r.events[1]->seq, last);
  EXPECT_EQ(r.last_seq, last);
  EXPECT_EQ(after.reads - before.reads, 1);
  EXPECT_EQ(after.read_rounds - before.read_rounds, 1) << "one round trip";
  EXPECT_EQ(after.read_commands - before.read_commands, 4) << "MGET, ZRANGE wtopics, XINFO, XRANGE";
  // A wildcard-published topic matching the plain filter: a second round.
  auto [s2, wid] = a.Publish("many/#", R"({"type":"w"})");
  ASSERT_TRUE(s2.ok());
  ReadResult r2 = a.Read({"many/3"}, last);
  ASSERT_EQ(r2.events.size(), 1u);
  EXPECT_EQ(r2.events[0]->seq, wid);
  // A wildcard filter reads the topics under its literal prefix only.
  auto [s3, other] = a.Publish("manyother/3", R"({"type":"o"})");
  ASSERT_TRUE(s3.ok());
  ReadResult r3 = a.Read({"many/+"}, last);
  ASSERT_EQ(r3.events.size(), 1u) << "many/# only; manyother/3 is not under many/";
  EXPECT_EQ(r3.events[0]->seq, wid);
  EXPECT_GT(a.store().LastSeq(), last);
}

// Regression (found by redis_fanout.test.mjs): ZRANGEBYLEX on <p>topics,
// scored by last activity, is unspecified when scores differ: wildcard reads
// found nothing under load. The name index has one score.
TEST_F(RedisStoreTest, AWildcardReadFindsTopicsPublishedAtDifferentTimes) {
  RedisServer redis;
  Node a(redis.port(), 1);
  ASSERT_TRUE(a.WaitUp());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 40; ++i) {
    std::promise<uint64_t> p;
    const std::string topic = "lex/" + std::to_string(i % 7) + (i % 2 ? "/x" : "");
    a.store().Append(MakeEvent(0, 0, 1000 + (i * 7919) % 1000, topic, R"({"type":"t"})", 0),
                     kInline, [&p](Status, uint64_t id) { p.set_value(id); });
    ids.push_back(p.get_future().get());
    a.Publish("lew/" + std::to_string(i), R"({"type":"n"})");  // next to it in lex order
  }
  ReadResult r = a.Read({"lex/#"}, 0);
  ASSERT_TRUE(r.status.ok());
  std::vector<uint64_t> got;
  for (const EventRef& ev : r.events) got.push_back(ev->seq);
  EXPECT_EQ(got, ids);
}

}  // namespace
}  // namespace herald
