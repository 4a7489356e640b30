// Inbox on a real event_base with real threads: order, wake-ups, the bound on
// unwoken events. A non-blocking loop pass (EVLOOP_NONBLOCK) runs exactly
// what is ready, so "not woken" is checked without waiting.
#include "server/inbox.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "server/util/c_handles.h"

namespace herald {
namespace {

class InboxTest : public testing::Test {
 protected:
  void SetUp() override {
    base_.reset(event_base_new());
    ASSERT_TRUE(base_);
    ASSERT_TRUE(inbox_.Init(base_.get(), &loop_thread_, [this] { Drain(); }).ok());
  }

  void Drain() {
    ++wakeups_;
    std::vector<Inbox::Item> items;
    inbox_.Take(&items);
    for (Inbox::Item& item : items) {
      if (item.event) {
        seen_.push_back(item.event->topic);
      } else {
        item.task();
      }
    }
  }

  static EventRef Ev(uint64_t seq, std::string topic) {
    return MakeEvent(seq, 1, 0, std::move(topic), R"({"type":"t","detail":1})", 0);
  }

  // Runs whatever is ready now, without waiting.
  void RunReady() { event_base_loop(base_.get(), EVLOOP_NONBLOCK); }

  EventBasePtr base_;
  std::atomic<std::thread::id> loop_thread_{};
  Inbox inbox_;
  int wakeups_ = 0;
  std::vector<std::string> seen_;
};

TEST_F(InboxTest, TasksFromOtherThreadsRunOnTheLoopInPushOrder) {
  constexpr int kPerThread = 2000;
  std::vector<int> got[2];
  std::atomic<int> done{0};
  auto producer = [&](int p) {
    for (int i = 0; i < kPerThread; ++i) {
      inbox_.Push({nullptr, [&, p, i] {
                     got[p].push_back(i);
                     if (++done == 2 * kPerThread) event_base_loopbreak(base_.get());
                   }});
    }
  };
  std::thread a(producer, 0), b(producer, 1);
  loop_thread_ = std::this_thread::get_id();
  event_base_dispatch(base_.get());  // until the last task breaks the loop
  a.join();
  b.join();
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), static_cast<size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) ASSERT_EQ(g[i], i);
  }
}

// The wake-up eventfd is edge-triggered and never read back: each push from
// another thread after a drain must still wake the loop once, and a drained
// loop must not be woken again by the old count.
TEST_F(InboxTest, EachWakeUpFromAnotherThreadWakesTheLoopOnce) {
  // Bounds a lost wake-up: the test fails instead of hanging.
  EventPtr give_up(event_new(
      base_.get(), -1, 0,
      [](evutil_socket_t, short, void* b) { event_base_loopbreak(static_cast<event_base*>(b)); },
      base_.get()));
  const timeval two_s = {2, 0};
  loop_thread_ = std::this_thread::get_id();
  for (int round = 1; round <= 3; ++round) {
    std::thread([&] { inbox_.Push({nullptr, [] {}}); }).join();
    event_add(give_up.get(), &two_s);
    event_base_loop(base_.get(), EVLOOP_ONCE);  // waits for the wake-up
    event_del(give_up.get());
    ASSERT_EQ(wakeups_, round);
    RunReady();  // nothing pending: the old count wakes nobody
    ASSERT_EQ(wakeups_, round);
  }
}

TEST_F(InboxTest, AnEventNoFilterMatchesWaitsForTheNextWakeUp) {
  inbox_.interest().Add("a/b");
  std::thread([this] { inbox_.Push({Ev(1, "x/y"), nullptr}); }).join();
  RunReady();
  EXPECT_EQ(wakeups_, 0);
  EXPECT_GT(inbox_.PendingBytes(), 0u);
  std::thread([this] { inbox_.Push({Ev(2, "a/b"), nullptr}); }).join();
  RunReady();
  EXPECT_EQ(wakeups_, 1);
  // Both, in seq order: the unwoken event is not skipped.
  EXPECT_EQ(seen_, (std::vector<std::string>{"x/y", "a/b"}));
  EXPECT_EQ(inbox_.PendingBytes(), 0u);
}

TEST_F(InboxTest, UnwokenEventsAreBounded) {
  std::thread([this] {
    for (size_t i = 0; i < Inbox::kMaxQueuedUnwoken; ++i) inbox_.Push({Ev(i + 1, "x"), nullptr});
  }).join();
  RunReady();
  EXPECT_EQ(wakeups_, 0);
  std::thread([this] { inbox_.Push({Ev(1000, "x"), nullptr}); }).join();
  RunReady();
  EXPECT_EQ(wakeups_, 1);
  EXPECT_EQ(seen_.size(), Inbox::kMaxQueuedUnwoken + 1);
}

TEST_F(InboxTest, AFilterAddedAfterAnUnwokenEventDrainsIt) {
  std::thread([this] { inbox_.Push({Ev(1, "late/topic"), nullptr}); }).join();
  RunReady();
  EXPECT_EQ(wakeups_, 0);
  loop_thread_ = std::this_thread::get_id();
  inbox_.interest().Add("late/topic");  // on the loop thread, as Worker::AddFilter
  inbox_.DrainSoonIfQueued();
  RunReady();
  EXPECT_EQ(seen_, std::vector<std::string>{"late/topic"});
}

TEST_F(InboxTest, WhispersAndTasksAlwaysWake) {
  EventRef whisper = MakeEvent(1, 1, 0, "nobody/listens", R"({"type":"t","detail":1})", 42);
  std::thread([&] { inbox_.Push({whisper, nullptr}); }).join();
  RunReady();
  EXPECT_EQ(wakeups_, 1);
  bool ran = false;
  std::thread([&] { inbox_.Push({nullptr, [&] { ran = true; }}); }).join();
  RunReady();
  EXPECT_TRUE(ran);
  EXPECT_EQ(wakeups_, 2);
}

}  // namespace
}  // namespace herald
