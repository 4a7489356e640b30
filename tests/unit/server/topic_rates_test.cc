#include "server/core/topic_rates.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(TopicRates, BusiestFirstOverTheTimeCovered) {
  TopicRates r;
  for (int i = 0; i < 10; ++i) r.Note("a", 1000);
  for (int i = 0; i < 20; ++i) r.Note("b", 1000);
  r.Note("c", 1000);
  // 2 s into the first window: no previous window yet, so 2 s are covered.
  auto top = r.Top(2, 3000);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].topic, "b");
  EXPECT_DOUBLE_EQ(top[0].per_s, 10);
  EXPECT_EQ(top[1].topic, "a");
  EXPECT_DOUBLE_EQ(top[1].per_s, 5);
}

TEST(TopicRates, ForgetsATopicIdleForTwoWindows) {
  TopicRates r;
  r.Note("old", 0);
  // Next window: still counted from the previous one.
  EXPECT_EQ(r.Top(10, TopicRates::kWindowMs + 1000).size(), 1u);
  // Two windows on: gone.
  EXPECT_TRUE(r.Top(10, 2 * TopicRates::kWindowMs + 1000).empty());
  // A long silence forgets everything at once.
  r.Note("x", 3 * TopicRates::kWindowMs);
  EXPECT_TRUE(r.Top(10, 10 * TopicRates::kWindowMs).empty());
}

TEST(TopicRates, TopicsPastTheCapAreCountedAsUntracked) {
  TopicRates r(2);
  r.Note("a", 0);
  r.Note("b", 0);
  r.Note("c", 0);
  r.Note("d", 0);
  EXPECT_EQ(r.Top(10, 1000).size(), 2u);
  EXPECT_DOUBLE_EQ(r.UntrackedPerSecond(1000), 2);
}

}  // namespace
}  // namespace herald
