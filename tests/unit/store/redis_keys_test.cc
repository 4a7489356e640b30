#include "server/store/redis_keys.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(RedisKeysTest, NamesEveryKeyUnderThePrefix) {
  RedisKeys k("hx:");
  EXPECT_EQ(k.seq(), "hx:seq");
  EXPECT_EQ(k.stream("a/b"), "hx:s:a/b");
  EXPECT_EQ(k.channel("a/b"), "hx:t:a/b");
  EXPECT_EQ(k.node_channel(5), "hx:n:5");
  EXPECT_EQ(k.TopicOf("hx:t:a/b"), "a/b");
  EXPECT_EQ(k.TopicOf("hx:w"), "");
  EXPECT_EQ(k.TopicOf("other:t:a"), "");
}

TEST(RedisKeysTest, PatternIsAGlobSupersetOfTheFilter) {
  RedisKeys k("h:");
  EXPECT_EQ(k.pattern("house/+/temp"), "h:t:house/*");
  EXPECT_EQ(k.pattern("house/#"), "h:t:house*");  // matches `house` itself too
  EXPECT_EQ(k.pattern("#"), "h:t:*");
  EXPECT_EQ(k.pattern("+/x"), "h:t:*");
  EXPECT_EQ(k.pattern("a/b/+"), "h:t:a/b/*");
  EXPECT_EQ(k.pattern("we*rd?/[x]/#"), "h:t:we\\*rd\\?/\\[x\\]*");
  EXPECT_EQ(k.pattern("plain/topic"), "h:t:plain/topic");
}

TEST(StoredEventTest, RoundTripsEveryFieldAndTheJsonByteForByte) {
  StoredEvent ev;
  ev.topic = "odd topic:with 12: digits\nand newline";
  ev.iat_ms = 1796286524043;
  ev.whisper = (uint64_t{1} << 52) + 3;
  ev.presence = true;
  ev.bound = true;
  ev.e_json = R"({"type":"t","detail":{"n":1796286524043104123,"f":1e400,"s":"\u00e9 "}})";
  auto back = DecodeStoredEvent(EncodeStoredEvent(ev));
  ASSERT_TRUE(back.ok()) << back.status().reason();
  EXPECT_EQ(back->topic, ev.topic);
  EXPECT_EQ(back->iat_ms, ev.iat_ms);
  EXPECT_EQ(back->whisper, ev.whisper);
  EXPECT_TRUE(back->presence);
  EXPECT_TRUE(back->bound);
  EXPECT_EQ(back->e_json, ev.e_json);
}

TEST(StoredEventTest, RefusesMalformedData) {
  for (const char* bad : {"", "x:abc", "99:short", "3:abc", "3:abc1 2", "3:abc1 2 9 {}",
                          "3:abc-1 2 0 {}", "3:abc1 2 0"}) {
    EXPECT_FALSE(DecodeStoredEvent(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace herald
