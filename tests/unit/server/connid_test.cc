#include "server/core/connid.h"

#include <gtest/gtest.h>

#include "server/context.h"
#include "server/core/config.h"
#include "server/hub.h"
#include "server/util/background_thread.h"
#include "server/worker.h"

namespace herald {
namespace {

TEST(ConnId, WorkerNodeAndSequenceAreRecoverable) {
  for (uint64_t seq : {uint64_t{1}, uint64_t{1000000}, kMaxConnSeq}) {
    for (int node : {0, 1, 513, kMaxNodeId}) {
      for (int w : {0, 1, 63}) {
        const uint64_t id = MakeConnId(seq, node, w);
        EXPECT_EQ(ConnIdWorker(id), w);
        EXPECT_EQ(ConnIdNode(id), node);
        EXPECT_EQ(id >> (kNodeBits + kWorkerBits), seq);
        EXPECT_LT(id, uint64_t{1} << 53);  // exact as a JSON / JavaScript number
      }
    }
  }
}

TEST(ConnId, TellsLocalFromAnotherNode) {
  const uint64_t id = MakeConnId(7, 3, 2);
  EXPECT_TRUE(IsLocalConnId(id, 3));
  EXPECT_FALSE(IsLocalConnId(id, 4));
  // The same sequence and worker on two nodes give two connids.
  EXPECT_NE(MakeConnId(7, 3, 2), MakeConnId(7, 4, 2));
}

TEST(ConnId, ResolveNodeIdKeepsAConfiguredIdAndDerivesOneOtherwise) {
  EXPECT_EQ(ResolveNodeId(0), 0);
  EXPECT_EQ(ResolveNodeId(kMaxNodeId), kMaxNodeId);
  const int derived = ResolveNodeId(-1);
  EXPECT_GE(derived, 0);
  EXPECT_LE(derived, kMaxNodeId);
  EXPECT_EQ(ResolveNodeId(-1), derived);  // one id for the whole process
}

TEST(ConnId, WorkerMintsConnIdsWithItsNodeAndIndex) {
  ServerContext ctx;
  ctx.config.node_id = 42;
  Worker worker(5, &ctx);
  const uint64_t a = worker.NextConnId();
  const uint64_t b = worker.NextConnId();
  EXPECT_NE(a, b);
  for (uint64_t id : {a, b}) {
    EXPECT_EQ(ConnIdWorker(id), 5);
    EXPECT_EQ(ConnIdNode(id), 42);
  }
}

TEST(ConnId, NodeIdConfigKeyAndFlag) {
  Config c;
  EXPECT_TRUE(ParseConfigJson(R"({"node_id":17})", "t.json", &c).ok());
  EXPECT_EQ(c.node_id, 17);
  EXPECT_FALSE(ParseConfigJson(R"({"node_id":1024})", "t.json", &c).ok());
  const char* ok[] = {"herald", "--node-id", "9"};
  auto cl = ParseCommandLine(3, const_cast<char**>(ok));
  ASSERT_TRUE(cl.ok()) << cl.status().reason();
  EXPECT_EQ(cl->config.node_id, 9);
  const char* bad[] = {"herald", "--node-id", "5000"};
  EXPECT_FALSE(ParseCommandLine(3, const_cast<char**>(bad)).ok());
}

}  // namespace
}  // namespace herald
