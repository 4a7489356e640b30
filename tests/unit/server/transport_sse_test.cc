#include <gtest/gtest.h>

#include "server/transport/connection.h"
#include "server/transport/wire.h"

namespace herald {
namespace {

TEST(FrameCache, BuildsSseFramesOnceBareAndChunked) {
  EventRef ev = MakeEvent(3, 0xabc, 5, "a/b", R"({"type":"x","detail":"l1\nl2"})", 0);
  FrameCache cache;
  cache.Reset(ev.get(), "a/+");
  std::string json(cache.Json());
  std::string bare(cache.SseFrame(false));
  EXPECT_EQ(bare, "id: 00000abc-3\ndata: " + json + "\n\n");
  EXPECT_EQ(json.find('\n'), std::string::npos) << "one data line";
  char head[16];
  snprintf(head, sizeof head, "%zx\r\n", bare.size());
  EXPECT_EQ(std::string(cache.SseFrame(true)), head + bare + "\r\n");
  // The stream frame of the same event is independent.
  EXPECT_EQ(std::string(cache.StreamFrame(false)),
            "''" + std::to_string(json.size()) + "''" + json);
}

TEST(Wire, SseNamedEvent) {
  std::string out;
  AppendSseNamedEvent(&out, "reset", "{}");
  EXPECT_EQ(out, "event: reset\ndata: {}\n\n");
  EXPECT_EQ(SseEventSize("id", "js"), std::string("id: id\ndata: js\n\n").size());
}

class FakeConnection : public Connection {
 public:
  FakeConnection() : Connection(1, Transport::kSse) {}
  void Deliver(FrameCache&) override {}
  void SendControl(std::string_view, std::string_view) override {}
  void SendHeartbeat() override {}
  void Close(CloseReason) override {}
  void Abandon() override {}
  size_t PendingBytes() const override { return 0; }
  std::string HeadersJson() const override { return "{}"; }
};

TEST(MatchingFilter, PicksWhatTheIndexVisitsFirst) {
  ConnectionIndex index;
  FakeConnection c;
  for (const char* f : {"#", "+/b/c", "a/#", "a/+/c", "a", "x/y"}) {
    c.subscriptions.push_back(index.Add(f, &c));
  }
  EXPECT_EQ(MatchingFilter(c, "a/b/c"), "a/+/c");
  EXPECT_EQ(MatchingFilter(c, "a"), "a");
  EXPECT_EQ(MatchingFilter(c, "a/q"), "a/#");
  EXPECT_EQ(MatchingFilter(c, "z/b/c"), "+/b/c");
  EXPECT_EQ(MatchingFilter(c, "q"), "#");
  // The same choice as the index's Match(), which visits most specific first.
  for (const char* topic : {"a/b/c", "a", "a/q", "z/b/c", "q", "x/y", "a/b/c/d"}) {
    std::string first;
    index.Match(topic, [&](std::string_view f, const auto&) {
      if (first.empty()) first = std::string(f);
    });
    EXPECT_EQ(MatchingFilter(c, topic), first) << topic;
  }
  for (auto* s : c.subscriptions) index.Remove(s);
}

}  // namespace
}  // namespace herald
