#include "server/hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "handlers/handlers.h"
#include "server/store/memory_store.h"
#include "server/transport/poll_session.h"
#include "server/worker.h"
#include "tests/unit/server/test_node.h"

namespace herald {
namespace {

// History as a worker's read sees it (the completion runs inline here).
std::vector<EventRef> History(Store& store, size_t limit = 5000) {
  std::vector<EventRef> out;
  store.Read(
      ReadRequest{{"#"}, 0, 0, limit}, [](std::function<void()> f) { f(); },
      [&out](ReadResult r) {
        EXPECT_TRUE(r.covered);
        out = std::move(r.events);
      });
  return out;
}

class HubTest : public testing::Test {
 protected:
  void SetUp() override { node_.Start(2); }
  Hub& hub() { return node_.hub(); }
  template <class Fn>
  auto RunOn(size_t w, Fn fn) {
    return node_.RunOn(w, std::move(fn));
  }
  uint64_t LastDispatched(size_t w) { return node_.LastDispatched(w); }

  TestNode node_;
};

constexpr char kE[] = R"({"type":"t","detail":1})";

TEST_F(HubTest, PublishAssignsIncreasingIdsAndKeepsHistory) {
  EXPECT_EQ(hub().LastSeq(), 0u);
  for (uint64_t i = 1; i <= 5; ++i) EXPECT_EQ(node_.Publish("a/b", kE), i);
  EXPECT_EQ(hub().LastSeq(), 5u);
  std::vector<EventRef> history = History(hub().store());
  ASSERT_EQ(history.size(), 5u);
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i]->seq, i + 1);
    EXPECT_EQ(history[i]->id, FormatEventId(hub().epoch(), i + 1));
    EXPECT_EQ(history[i]->topic, "a/b");
  }
  // Every worker got every shout, in order.
  EXPECT_EQ(LastDispatched(0), 5u);
  EXPECT_EQ(LastDispatched(1), 5u);
}

TEST_F(HubTest, ConcurrentPublishersGetDistinctIdsInHistoryOrder) {
  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t) {
    publishers.emplace_back([this] {
      for (int i = 0; i < 250; ++i) node_.Publish("x", kE);
    });
  }
  for (auto& t : publishers) t.join();
  EXPECT_EQ(hub().LastSeq(), 1000u);
  std::vector<EventRef> history = History(hub().store());
  ASSERT_EQ(history.size(), 1000u);
  for (size_t i = 0; i < history.size(); ++i) EXPECT_EQ(history[i]->seq, i + 1);
}

// Resume relies on it: an event a worker has dispatched is already in history. Checked from the
// worker's own loop while another thread publishes.
TEST_F(HubTest, HistoryHoldsEveryEventAWorkerHasDispatched) {
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    for (int i = 0; i < 3000; ++i) node_.Publish("x", kE);
    stop = true;
  });
  Worker* worker = &node_.worker(0);
  const Store* store = &hub().store();
  int checks = 0, behind = 0;
  while (!stop) {
    const bool ok =
        RunOn(0, [worker, store] { return store->LastSeq() >= worker->last_dispatched_seq(); });
    ++checks;
    if (!ok) ++behind;
  }
  publisher.join();
  EXPECT_GT(checks, 0);
  EXPECT_EQ(behind, 0);
  EXPECT_EQ(LastDispatched(0), 3000u);
}

TEST_F(HubTest, WhisperGoesOnlyToTheOwningWorker) {
  node_.Publish("a", kE);  // seq 1, to both workers
  Worker* owner = &node_.worker(1);
  const uint64_t connid = RunOn(1, [owner] { return owner->NextConnId(); });
  ASSERT_EQ(ConnIdWorker(connid), 1);
  EXPECT_EQ(node_.Publish("a", kE, connid), 2u);  // a whisper
  EXPECT_EQ(LastDispatched(1), 2u);
  EXPECT_EQ(LastDispatched(0), 1u);  // never saw it
  // A whisper belongs to one connection: it is not history a resume could replay.
  std::vector<EventRef> history = History(hub().store());
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]->seq, 1u);
  // The next shout reaches both workers again, after the whisper's seq.
  node_.Publish("a", kE);
  EXPECT_EQ(LastDispatched(0), 3u);
  EXPECT_EQ(LastDispatched(1), 3u);
}

// A store that cannot take anything (a shared store unreachable): answers every append and
// read with a failure, through `post` like any store.
class FailingStore : public Store {
 public:
  void SetFeed(FeedFn) override {}
  void Append(EventRef, PostFn post, std::function<void(Status, uint64_t)> done) override {
    post([done] { done(Status::Error(503, "store unreachable"), 0); });
  }
  void AppendBatch(std::vector<EventRef>, PostFn post,
                   std::function<void(Status, uint64_t)> done) override {
    post([done] { done(Status::Error(503, "store unreachable"), 0); });
  }
  void Read(ReadRequest, PostFn post, std::function<void(ReadResult)> done) override {
    post([done] {
      ReadResult r;
      r.status = Status::Error(503, "store unreachable");
      done(std::move(r));
    });
  }
  void Watch(const std::string&) override {}
  void Unwatch(const std::string&) override {}
  uint32_t epoch() const override { return 7; }
  uint64_t LastSeq() const override { return 0; }
  StoreStatus status() const override { return {"test", "down", "store unreachable", 0}; }
  HistoryStats Stats() const override { return {}; }
};

TEST(HubFailingStore, AFailedAppendIsReportedAndDeliversNothing) {
  TestNode node;
  node.Start(1, std::make_unique<FailingStore>());
  EXPECT_EQ(node.Publish("a", kE), 0u);  // 0: the completion said not ok
  EXPECT_EQ(node.LastDispatched(0), 0u);
  EXPECT_EQ(node.ctx().stats.published.load(), 0);
}

TEST(HubFailingStore, PostEventAnswers503WithRetryAfter) {
  TestNode node;
  node.ctx().config.tokens = {"tok"};
  node.Start(1, std::make_unique<FailingStore>());
  RegisterPublishHandlers(node.ctx());
  const Router::Route* route = node.ctx().private_routes.Find("/event");
  ASSERT_NE(route, nullptr);
  HttpRequest req;
  req.method = "POST";
  req.path = "/event";
  req.headers = {{"Authorization", "Bearer tok"}};
  req.body = R"({"ep":["a","b"],"e":{"type":"t"}})";
  req.remote_ip = "127.0.0.1";
  // On the worker's loop, as the private API runs it: the answer comes from the completion.
  auto answered = std::make_shared<std::promise<HttpResponse>>();
  auto resp = answered->get_future();
  node.RunOn(0, [route, req, answered] {
    route->handler(req, [answered](HttpResponse r) { answered->set_value(std::move(r)); });
  });
  HttpResponse r = resp.get();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("Store unavailable: store unreachable"), std::string::npos) << r.body;
  bool retry_after = false;
  for (const auto& [k, v] : r.headers) retry_after |= k == "Retry-After" && v == "1";
  EXPECT_TRUE(retry_after);
}

// A memory store that records what the Hub tells it about interest.
class WatchRecordingStore : public MemoryStore {
 public:
  WatchRecordingStore() : MemoryStore(HistoryConfig(), 9) {}
  void Watch(const std::string& f) override { Record("+" + f); }
  void Unwatch(const std::string& f) override { Record("-" + f); }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  void Record(std::string s) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::move(s));
  }
  std::mutex mu_;
  std::vector<std::string> calls_;
};

TEST(HubInterest, TheStoreHearsAFiltersFirstAndLastLocalSubscriber) {
  TestNode node;
  auto owned = std::make_unique<WatchRecordingStore>();
  WatchRecordingStore* store = owned.get();
  node.Start(2, std::move(owned));
  auto open = [&node](size_t w, std::vector<std::string> filters) {
    Worker* worker = &node.worker(w);
    return node.RunOn(w, [worker, filters] {
      auto conn = std::make_unique<PollConnection>(worker->NextConnId(), worker);
      return worker->Adopt(std::move(conn), filters)->id();
    });
  };
  auto close = [&node](size_t w, uint64_t id) {
    Worker* worker = &node.worker(w);
    node.RunOn(w, [worker, id] { worker->Close(worker->Find(id), CloseReason::kKicked); });
  };
  const uint64_t first = open(0, {"a", "b/+"});
  const uint64_t second = open(1, {"a"});  // another worker, same filter: no new interest
  EXPECT_EQ(store->calls(), (std::vector<std::string>{"+a", "+b/+"}));
  close(0, first);
  EXPECT_EQ(store->calls(), (std::vector<std::string>{"+a", "+b/+", "-b/+"}));
  close(1, second);
  EXPECT_EQ(store->calls(), (std::vector<std::string>{"+a", "+b/+", "-b/+", "-a"}));
}

}  // namespace
}  // namespace herald
