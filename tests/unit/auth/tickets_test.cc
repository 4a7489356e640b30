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
  MemoryTicketStore store;
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
  MemoryTicketStore store;
  std::string t = store.Issue(Some(), 1000, 500);
  EXPECT_FALSE(store.Redeem(t, 1500).has_value());
  std::string t2 = store.Issue(Some(), 1000, 500);
  EXPECT_TRUE(store.Redeem(t2, 1499).has_value());
}

TEST(Tickets, SweepBoundsTheMap) {
  MemoryTicketStore store;
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
  MemoryTicketStore store;
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

namespace herald {
namespace {

TEST(Tickets, AsyncCallsAnswerThroughPostNeverInline) {
  MemoryTicketStore store;
  std::vector<std::function<void()>> posted;
  PostFn post = [&](std::function<void()> f) { posted.push_back(std::move(f)); };
  std::string ticket;
  store.Issue(Some(), 10000, post, [&](Result<std::string> t) { ticket = *t; });
  EXPECT_TRUE(ticket.empty());
  ASSERT_EQ(posted.size(), 1u);
  posted[0]();
  ASSERT_FALSE(ticket.empty());
  std::vector<Result<Claims>> got;
  store.Redeem(ticket, post, [&](Result<Claims> c) { got.push_back(std::move(c)); });
  store.Redeem(ticket, post, [&](Result<Claims> c) { got.push_back(std::move(c)); });
  EXPECT_TRUE(got.empty());
  posted[1]();
  posted[2]();
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE(got[0].ok());
  EXPECT_EQ(got[0]->sub, "u1");
  EXPECT_EQ(got[1].status().kind(), StatusKind::kUnauthorized);
}

TEST(Claims, EncodeDecodeRoundTrip) {
  Claims c = Some();
  c.all_spaces = true;
  c.publish = {"a/#", "b"};
  c.has_publish = true;
  c.sub = "u\"\u00e9";
  auto back = DecodeClaims(EncodeClaims(c));
  ASSERT_TRUE(back.ok()) << back.status().reason();
  EXPECT_EQ(back->sub, c.sub);
  EXPECT_EQ(back->spaces, c.spaces);
  EXPECT_EQ(back->publish, c.publish);
  EXPECT_TRUE(back->all_spaces);
  EXPECT_TRUE(back->has_publish);
  EXPECT_EQ(back->exp_s, 123);
  EXPECT_FALSE(DecodeClaims("{\"sub\":1}").ok());
  EXPECT_FALSE(DecodeClaims("nope").ok());
}

}  // namespace
}  // namespace herald
