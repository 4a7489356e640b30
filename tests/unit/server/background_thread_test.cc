#include "server/util/background_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace herald {
namespace {

TEST(BackgroundThread, RunsTasksInOrderOffTheCallingThread) {
  BackgroundThread background;
  std::vector<int> seen;
  std::promise<std::thread::id> ran_on;
  for (int i = 0; i < 100; ++i) background.Post([&seen, i] { seen.push_back(i); });
  background.Post([&ran_on] { ran_on.set_value(std::this_thread::get_id()); });
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
  ASSERT_EQ(seen.size(), 100u);  // the promise orders these reads after the writes
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

TEST(BackgroundThread, StopFinishesTheRunningTaskAndDropsTheRest) {
  BackgroundThread background;
  std::promise<void> started;
  std::promise<void> release;
  std::atomic<int> ran{0};
  background.Post([&] {
    started.set_value();
    release.get_future().wait();
    ran.fetch_add(1);
  });
  started.get_future().wait();
  for (int i = 0; i < 10; ++i) background.Post([&ran] { ran.fetch_add(1); });
  // Stop clears the queue at once, then waits for the running task, which a
  // helper releases a good while later.
  std::thread releaser([&release] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    release.set_value();
  });
  background.Stop();
  releaser.join();
  EXPECT_EQ(ran.load(), 1);
  background.Post([&ran] { ran.fetch_add(1); });  // after Stop: dropped
  background.Stop();                              // idempotent
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace herald
