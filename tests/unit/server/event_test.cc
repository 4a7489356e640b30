#include "server/core/event.h"

#include <gtest/gtest.h>

#include "server/context.h"
#include "server/hub.h"
#include "server/transport/connection.h"
#include "server/worker.h"

namespace herald {
namespace {

TEST(Event, JsonNamesTheMatchedFilter) {
  EventRef ev = MakeEvent(7, 0xabc, 1000, "house/kitchen", R"({"type":"t","detail":1})", 0);
  EXPECT_EQ(ev->id, "00000abc-7");
  std::string json;
  AppendEventJson(&json, *ev, "house/#");
  EXPECT_EQ(
      json,
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

// The connids a worker hands out name that worker, increase, and stay below 2^53 (JavaScript
// clients hold them in a double).
TEST(ConnId, WorkerIsRecoverable) {
  ServerContext ctx;
  for (int w : {0, 1, 7, 63}) {
    Worker worker(w, &ctx);
    uint64_t prev = 0;
    for (int i = 0; i < 1000; ++i) {
      const uint64_t id = worker.NextConnId();
      EXPECT_NE(id, 0u);
      EXPECT_GT(id, prev);
      EXPECT_EQ(ConnIdWorker(id), w) << id;
      EXPECT_LT(id, uint64_t{1} << 53);
      prev = id;
    }
  }
}

}  // namespace
}  // namespace herald
