#include "server/core/interest_filter.h"

#include <gtest/gtest.h>

#include <string>

#include "server/core/topic.h"

namespace herald {
namespace {

TEST(InterestFilter, EmptyMatchesOnlyWildcardTopics) {
  InterestFilter f;
  EXPECT_FALSE(f.MayMatch("news/today"));
  // A publish to a wildcard topic could reach anything: always yes.
  EXPECT_TRUE(f.MayMatch("news/+"));
  EXPECT_TRUE(f.MayMatch("#"));
}

TEST(InterestFilter, ExactFiltersCountPerSubscription) {
  InterestFilter f;
  f.Add("news/today");
  f.Add("news/today");
  EXPECT_TRUE(f.MayMatch("news/today"));
  f.Remove("news/today");
  EXPECT_TRUE(f.MayMatch("news/today")) << "one subscriber is left";
  f.Remove("news/today");
  EXPECT_FALSE(f.MayMatch("news/today"));
}

TEST(InterestFilter, AWildcardFilterMakesEveryTopicAMaybe) {
  InterestFilter f;
  f.Add("sport/#");
  EXPECT_TRUE(f.MayMatch("news/today"));
  f.Remove("sport/#");
  EXPECT_FALSE(f.MayMatch("news/today"));
}

// No false negatives: every subscribed exact filter is a maybe; most others
// are not (a shared slot is rare at this size).
TEST(InterestFilter, NeverMissesAndRarelyWakesNeedlessly) {
  InterestFilter f;
  for (int i = 0; i < 5000; ++i) f.Add("t/" + std::to_string(i));
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(f.MayMatch("t/" + std::to_string(i))) << i;
  int needless = 0;
  for (int i = 5000; i < 15000; ++i) needless += f.MayMatch("t/" + std::to_string(i));
  EXPECT_LT(needless, 2000) << "of 10,000 topics nobody subscribes to";
  for (int i = 0; i < 5000; ++i) f.Remove("t/" + std::to_string(i));
  for (int i = 0; i < 15000; ++i) ASSERT_FALSE(f.MayMatch("t/" + std::to_string(i))) << i;
}

}  // namespace
}  // namespace herald
