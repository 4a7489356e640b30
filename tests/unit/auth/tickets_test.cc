#include "auth/tickets.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace herald {
namespace {

Claims Some() {
  Claims c;
  c.sub = "u1";
  c.spaces = {"s1"};
  c.exp_s = 123;
  return c;
}

TEST(Tickets, SingleUseAndBoundToClaims) {
  TicketStore store;
  std::string t = store.Issue(Some(), 1000, 10000);
  EXPECT_EQ(t.size(), 22u);
  auto c = store.Redeem(t, 2000);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->sub, "u1");
  EXPECT_TRUE(c->GrantsSpace("s1"));
  EXPECT_EQ(c->exp_s, 123);
  EXPECT_FALSE(store.Redeem(t, 2000).has_value());
  EXPECT_FALSE(store.Redeem("unknown", 2000).has_value());
}

TEST(Tickets, Expire) {
  TicketStore store;
  std::string t = store.Issue(Some(), 1000, 500);
  EXPECT_FALSE(store.Redeem(t, 1500).has_value());
  std::string t2 = store.Issue(Some(), 1000, 500);
  EXPECT_TRUE(store.Redeem(t2, 1499).has_value());
}

TEST(Tickets, SweepBoundsTheMap) {
  TicketStore store;
  for (int i = 0; i < 100; ++i) store.Issue(Some(), 0, 10);
  EXPECT_EQ(store.size(), 100u);
  store.Issue(Some(), 5000, 10);  // sweeps the expired ones
  EXPECT_EQ(store.size(), 1u);
  store.Issue(Some(), 5500, 10);  // within a second of that sweep: none
  EXPECT_EQ(store.size(), 2u);
  store.Issue(Some(), 6000, 10);  // a second later: both expired ones go
  EXPECT_EQ(store.size(), 1u);
}

TEST(Tickets, ConcurrentRedeemSucceedsOnce) {
  TicketStore store;
  std::string t = store.Issue(Some(), 0, 10000);
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (store.Redeem(t, 1)) ++wins;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
}

}  // namespace
}  // namespace herald
