#include "server/delivery_policy.h"

#include <gtest/gtest.h>

#include <memory>

#include "auth/acl.h"
#include "server/core/space.h"

namespace herald {
namespace {

class FakeConnection : public Connection {
 public:
  explicit FakeConnection(uint64_t id = 64) : Connection(id, Transport::kPoll) {}
  ~FakeConnection() override {
    for (auto* s : subscriptions) index_.Remove(s);
  }
  void Subscribe(const char* filter) { subscriptions.push_back(index_.Add(filter, this)); }
  void Deliver(FrameCache&) override {}
  void SendControl(std::string_view, std::string_view) override {}
  void SendHeartbeat() override {}
  void Close(CloseReason) override {}
  void Abandon() override {}
  size_t PendingBytes() const override { return 0; }
  std::string HeadersJson() const override { return "{}"; }

 private:
  ConnectionIndex index_;
};

constexpr int64_t kNow = 1'700'000'000'000;  // ms

EventRef Ev(std::string topic, uint64_t whisper = 0,
            std::shared_ptr<const AclRecord> bound = nullptr) {
  return MakeEvent(1, 1, kNow, std::move(topic), R"({"type":"t","detail":null})", whisper,
                   std::move(bound));
}

TEST(DeliveryPolicy, PlainEventReachesPlainFilters) {
  FakeConnection c;
  EXPECT_TRUE(MayReceive(c, *Ev("a/b"), "a/b", kNow));
  EXPECT_TRUE(MayReceive(c, *Ev("a/b"), "#", kNow));
}

TEST(DeliveryPolicy, SpaceEventOnlyInsideItsSpaceThroughASpaceFilter) {
  const std::string topic = SpaceTopic("shop", "orders");
  EventRef ev = Ev(topic);
  FakeConnection plain;
  for (const char* f : {"#", "+/shop/orders", "$space/#"}) {
    EXPECT_FALSE(MayReceive(plain, *ev, f, kNow)) << f;
  }
  EXPECT_FALSE(MayReceive(plain, *ev, topic, kNow)) << "a plain connection holding the name";
  FakeConnection other;
  other.space = "mall";
  EXPECT_FALSE(MayReceive(other, *ev, topic, kNow)) << "another space";
  FakeConnection shop;
  shop.space = "shop";
  EXPECT_TRUE(MayReceive(shop, *ev, topic, kNow));
  EXPECT_TRUE(MayReceive(shop, *ev, "$space/shop/#", kNow));
  EXPECT_FALSE(MayReceive(shop, *ev, "#", kNow)) << "through a plain filter";
  // A plain event never goes through a space filter (a publish to `#`).
  EXPECT_FALSE(MayReceive(shop, *Ev("#"), topic, kNow));
}

TEST(DeliveryPolicy, PendingAuthGetsNothing) {
  FakeConnection c;
  c.space = "shop";
  c.auth_pending = true;
  EXPECT_EQ(DecideDelivery(c, *Ev(SpaceTopic("shop", "o")), "$space/shop/o", kNow), Verdict::kSkip);
}

TEST(DeliveryPolicy, TokenExpiresAtExpPlusLeeway) {
  FakeConnection c;
  c.space = "shop";
  const int64_t now_s = kNow / 1000;
  SetToken(&c, now_s - 10, 30);  // 10 s past exp, 30 s leeway: still valid
  EventRef ev = Ev(SpaceTopic("shop", "o"));
  EXPECT_EQ(DecideDelivery(c, *ev, "$space/shop/o", kNow), Verdict::kDeliver);
  EXPECT_FALSE(TokenExpired(c, (now_s + 19) * 1000));
  EXPECT_TRUE(TokenExpired(c, (now_s + 20) * 1000));
  EXPECT_EQ(DecideDelivery(c, *ev, "$space/shop/o", (now_s + 20) * 1000), Verdict::kTokenExpired);
  SetToken(&c, 0, 30);  // no exp: never expires
  EXPECT_FALSE(TokenExpired(c, INT64_MAX / 2));
}

TEST(DeliveryPolicy, WhisperOnlyToItsTarget) {
  FakeConnection target(64), other(128);
  EventRef ev = Ev("a", 64);
  EXPECT_TRUE(MayReceive(target, *ev, "a", kNow));
  EXPECT_FALSE(MayReceive(other, *ev, "a", kNow));
}

TEST(DeliveryPolicy, BoundEventFollowsTheAcl) {
  auto acl = std::make_shared<AclRecord>();
  acl->ep = "orders/42";
  acl->sub = {"carol"};
  EventRef ev = Ev("orders/42", 0, acl);
  FakeConnection anon;
  EXPECT_FALSE(MayReceive(anon, *ev, "orders/42", kNow));
  FakeConnection mallory;
  mallory.bound = true;
  mallory.user = "mallory";
  mallory.bound_filters = {"orders/42"};
  EXPECT_FALSE(MayReceive(mallory, *ev, "orders/42", kNow));
  FakeConnection carol;
  carol.bound = true;
  carol.user = "carol";
  carol.bound_filters = {"orders/42"};
  EXPECT_TRUE(MayReceive(carol, *ev, "orders/42", kNow));
  // A plain event never reaches a bound filter; a bound one a plain filter only with "*".
  EXPECT_FALSE(MayReceive(carol, *Ev("orders/42"), "orders/42", kNow));
  EXPECT_FALSE(MayReceive(carol, *ev, "orders/#", kNow));
}

TEST(DeliveryFilter, MostSpecificThenFirstSubscribed) {
  FakeConnection c;
  for (const char* f : {"k2/x", "k0/x", "+/x", "k1/+"}) c.Subscribe(f);
  // A wildcard publish: k2/x and k0/x are equally specific; k2/x came first.
  EXPECT_EQ(DeliveryFilter(c, *Ev("+/x"), kNow), "k2/x");
  EXPECT_EQ(DeliveryFilter(c, *Ev("k1/x"), kNow), "k1/+");
  EXPECT_EQ(DeliveryFilter(c, *Ev("k9/x"), kNow), "+/x");
  EXPECT_EQ(DeliveryFilter(c, *Ev("q/q"), kNow), "");
}

TEST(DeliveryFilter, SkipsFiltersThatMayNotReceive) {
  auto acl = std::make_shared<AclRecord>();
  acl->ep = "orders/42";
  acl->sub = {"carol"};
  FakeConnection c;
  c.bound = true;
  c.user = "carol";
  c.bound_filters = {"orders/42"};
  c.Subscribe("orders/42");
  c.Subscribe("orders/#");
  // The plain event cannot go through the bound filter: the next one names it.
  EXPECT_EQ(DeliveryFilter(c, *Ev("orders/42"), kNow), "orders/#");
  EXPECT_EQ(DeliveryFilter(c, *Ev("orders/42", 0, acl), kNow), "orders/42");
}

TEST(Space, Namespace) {
  EXPECT_EQ(SpaceTopic("shop", "orders"), "$space/shop/orders");
  EXPECT_EQ(SpaceOfTopic("$space/shop/orders"), "shop");
  EXPECT_EQ(SpaceOfTopic("shop/orders"), "");
  EXPECT_FALSE(CheckNotReserved("$space/shop/orders").ok());
  EXPECT_FALSE(CheckNotReserved("$SYS").ok());
  EXPECT_TRUE(CheckNotReserved("shop/$x").ok());
  EXPECT_FALSE(IsValidSpaceName("$x"));
  EXPECT_FALSE(IsValidSpaceName("a/b"));
  EXPECT_TRUE(IsValidSpaceName("shop"));
  EXPECT_EQ(PresenceKey("c", ""), "c");
  EXPECT_EQ(PresenceKey("c", "shop"), "$space/shop/@CONNECTION@/c");
  EXPECT_EQ(PresenceTopicOfKey("c"), "@CONNECTION@/c");
  EXPECT_EQ(PresenceTopicOfKey("$space/shop/@CONNECTION@/c"), "$space/shop/@CONNECTION@/c");
  EXPECT_EQ(PresenceKeyWatched("@CONNECTION@/c"), "c");
  EXPECT_EQ(PresenceKeyWatched("$space/shop/@CONNECTION@/c"), "$space/shop/@CONNECTION@/c");
  EXPECT_EQ(PresenceKeyWatched("@CONNECTION@/+"), "+");  // as es-web-notify
  EXPECT_EQ(PresenceKeyWatched("@CONNECTION@/a/b"), "");
  EXPECT_TRUE(IsPresenceFilter("$space/shop/@CONNECTION@/#"));
  EXPECT_FALSE(IsPresenceFilter("shop/@CONNECTION@/c"));
}

}  // namespace
}  // namespace herald
