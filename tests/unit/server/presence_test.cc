#include "server/core/presence.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

namespace herald {
namespace {

TEST(Presence, CountsPerClidAndForgetsAtZero) {
  Presence p;
  EXPECT_EQ(p.Count("a"), 0);
  EXPECT_EQ(p.Change("a", 1), 1);
  EXPECT_EQ(p.Change("a", 1), 2);
  EXPECT_EQ(p.Change("b", 1), 1);
  EXPECT_EQ(p.Count("a"), 2);
  EXPECT_EQ(p.Snapshot(), (std::map<std::string, int64_t>{{"a", 2}, {"b", 1}}));
  EXPECT_EQ(p.Change("a", -1), 1);
  EXPECT_EQ(p.Change("a", -1), 0);
  // A clid with no connection left is not listed by GET /connections.
  EXPECT_EQ(p.Snapshot(), (std::map<std::string, int64_t>{{"b", 1}}));
  // A stray extra release never makes a count negative.
  EXPECT_EQ(p.Change("a", -1), 0);
  EXPECT_EQ(p.Count("a"), 0);
}

TEST(Presence, KeyedCountsStayInsideTheirKeyButAddUpPerClid) {
  Presence p;
  // The same clid in two spaces: presence events count per key, /connections per clid.
  EXPECT_EQ(p.ChangeKeyed("u", "$space/s1/u", 1), 1);
  EXPECT_EQ(p.ChangeKeyed("u", "$space/s2/u", 1), 1);
  EXPECT_EQ(p.ChangeKeyed("u", "$space/s1/u", 1), 2);
  EXPECT_EQ(p.CountKey("$space/s1/u"), 2);
  EXPECT_EQ(p.CountKey("$space/s2/u"), 1);
  EXPECT_EQ(p.Count("u"), 3);
  EXPECT_EQ(p.ChangeKeyed("u", "$space/s1/u", -1), 1);
  EXPECT_EQ(p.ChangeKeyed("u", "$space/s1/u", -1), 0);
  EXPECT_EQ(p.CountKey("$space/s1/u"), 0);
  EXPECT_EQ(p.Count("u"), 1);
}

TEST(Presence, WatchersSayWhetherPresenceIsPublished) {
  Presence p;
  EXPECT_FALSE(p.HasWatchers());
  p.ChangeWatchers(2);
  EXPECT_TRUE(p.HasWatchers());
  p.ChangeWatchers(-1);
  EXPECT_TRUE(p.HasWatchers());
  p.ChangeWatchers(-1);
  EXPECT_FALSE(p.HasWatchers());
}

TEST(Presence, PerIpLimit) {
  Presence p;
  EXPECT_TRUE(p.TryAcquireIp("10.0.0.1", 2));
  EXPECT_TRUE(p.TryAcquireIp("10.0.0.1", 2));
  EXPECT_FALSE(p.TryAcquireIp("10.0.0.1", 2));  // at the limit
  EXPECT_TRUE(p.TryAcquireIp("10.0.0.2", 2));   // another address has its own count
  p.ReleaseIp("10.0.0.1");
  EXPECT_TRUE(p.TryAcquireIp("10.0.0.1", 2));  // a release frees one slot
  EXPECT_FALSE(p.TryAcquireIp("10.0.0.1", 2));
  // Limit 0: no limit.
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(p.TryAcquireIp("10.0.0.3", 0));
  // Releasing an address never acquired is harmless and grants nothing extra.
  p.ReleaseIp("10.0.0.4");
  EXPECT_TRUE(p.TryAcquireIp("10.0.0.4", 1));
  EXPECT_FALSE(p.TryAcquireIp("10.0.0.4", 1));
}

TEST(Presence, ConcurrentChangesFromSeveralWorkersAddUp) {
  Presence p;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&p] {
      for (int i = 0; i < 1000; ++i) {
        p.Change("c", 1);
        p.ChangeKeyed("c", "k", 1);
      }
      for (int i = 0; i < 500; ++i) p.ChangeKeyed("c", "k", -1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(p.Count("c"), 4 * 1000 + 4 * 500);
  EXPECT_EQ(p.CountKey("k"), 4 * 500);
}

}  // namespace
}  // namespace herald
