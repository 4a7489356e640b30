#include "server/hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "server/worker.h"
#include "tests/unit/server/test_node.h"

namespace herald {
namespace {

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
  std::vector<EventRef> published;
  for (int i = 0; i < 5; ++i) published.push_back(hub().Publish("a/b", kE, 0));
  for (size_t i = 0; i < published.size(); ++i) {
    EXPECT_EQ(published[i]->seq, i + 1);
    EXPECT_EQ(published[i]->id, FormatEventId(hub().epoch(), i + 1));
    EXPECT_EQ(published[i]->topic, "a/b");
  }
  EXPECT_EQ(hub().LastSeq(), 5u);
  std::vector<EventRef> history;
  ASSERT_TRUE(hub().store().ReadAfter(0, 100, &history));
  ASSERT_EQ(history.size(), 5u);
  for (size_t i = 0; i < history.size(); ++i) EXPECT_EQ(history[i].get(), published[i].get());
  // Every worker got every shout, in order.
  EXPECT_EQ(LastDispatched(0), 5u);
  EXPECT_EQ(LastDispatched(1), 5u);
}

TEST_F(HubTest, ConcurrentPublishersGetDistinctIdsInHistoryOrder) {
  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t) {
    publishers.emplace_back([this] {
      for (int i = 0; i < 250; ++i) hub().Publish("x", kE, 0);
    });
  }
  for (auto& t : publishers) t.join();
  EXPECT_EQ(hub().LastSeq(), 1000u);
  std::vector<EventRef> history;
  ASSERT_TRUE(hub().store().ReadAfter(0, 2000, &history));
  ASSERT_EQ(history.size(), 1000u);
  for (size_t i = 0; i < history.size(); ++i) EXPECT_EQ(history[i]->seq, i + 1);
}

// Resume relies on it: an event a worker has dispatched is already in history. Checked from the
// worker's own loop while another thread publishes.
TEST_F(HubTest, HistoryHoldsEveryEventAWorkerHasDispatched) {
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    for (int i = 0; i < 3000; ++i) hub().Publish("x", kE, 0);
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
  hub().Publish("a", kE, 0);  // seq 1, to both workers
  Worker* owner = &node_.worker(1);
  const uint64_t connid = RunOn(1, [owner] { return owner->NextConnId(); });
  ASSERT_EQ(ConnIdWorker(connid), 1);
  EventRef whisper = hub().Publish("a", kE, connid);  // seq 2
  EXPECT_EQ(whisper->seq, 2u);
  EXPECT_EQ(whisper->whisper, connid);
  EXPECT_EQ(LastDispatched(1), 2u);
  EXPECT_EQ(LastDispatched(0), 1u);  // never saw it
  // A whisper belongs to one connection: it is not history a resume could replay.
  std::vector<EventRef> history;
  ASSERT_TRUE(hub().store().ReadAfter(0, 100, &history));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]->seq, 1u);
  // The next shout reaches both workers again, after the whisper's seq.
  hub().Publish("a", kE, 0);
  EXPECT_EQ(LastDispatched(0), 3u);
  EXPECT_EQ(LastDispatched(1), 3u);
}

}  // namespace
}  // namespace herald
