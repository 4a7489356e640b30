#include "server/event.h"

#include <gtest/gtest.h>

#include "server/connection.h"

namespace herald {
namespace {

TEST(Event, JsonNamesTheMatchedFilter) {
  EventRef ev = MakeEvent(7, 0xabc, 1000, "house/kitchen", R"({"type":"t","detail":1})", 0);
  EXPECT_EQ(ev->id, "00000abc-7");
  std::string json;
  AppendEventJson(&json, *ev, "house/#");
  EXPECT_EQ(json,
            R"({"id":"00000abc-7","iat":1000,"ep":{"requested":"house/#","emitted":"house/kitchen"},)"
            R"("e":{"type":"t","detail":1}})");
}

TEST(FrameCache, BuildsChunkedAndBareStreamFrames) {
  EventRef ev = MakeEvent(1, 1, 5, "a", R"({"type":"x","detail":null})", 0);
  FrameCache cache;
  cache.Reset(ev.get(), "a");
  std::string json(cache.Json());
  std::string bare(cache.StreamFrame(false));
  EXPECT_EQ(bare, "''" + std::to_string(json.size()) + "''" + json);
  std::string chunked(cache.StreamFrame(true));
  char head[16];
  snprintf(head, sizeof head, "%zx\r\n", bare.size());
  EXPECT_EQ(chunked, head + bare + "\r\n");
  // Reset for another filter re-encodes.
  cache.Reset(ev.get(), "+");
  EXPECT_NE(std::string(cache.Json()), json);
}

TEST(ConnId, WorkerIsRecoverable) {
  for (uint64_t seq : {1ull, 2ull, 1000000ull}) {
    for (int w = 0; w < 64; ++w) {
      uint64_t id = (seq << kWorkerBits) | static_cast<uint64_t>(w);
      EXPECT_EQ(ConnIdWorker(id), w);
      EXPECT_LE(id, kMaxConnId);
    }
  }
}

}  // namespace
}  // namespace herald
