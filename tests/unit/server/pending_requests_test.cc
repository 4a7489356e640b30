#include "server/net/pending_requests.h"

#include <gtest/gtest.h>

#include <vector>

namespace herald {
namespace {

struct Recorder {
  std::vector<void*> cut, released;
  PendingRequests Make(size_t max, int64_t timeout_ms) {
    return PendingRequests(
        max, timeout_ms, [this](void* c) { cut.push_back(c); },
        [this](void* c) { released.push_back(c); });
  }
};

void* Conn(int i) { return reinterpret_cast<void*>(static_cast<uintptr_t>(0x1000 + i * 16)); }

TEST(PendingRequestsTest, CutsOnlyWhatIsStillArmedAtItsDeadline) {
  Recorder r;
  PendingRequests p = r.Make(10, 100);
  EXPECT_TRUE(p.Arm(Conn(1), 0));
  EXPECT_TRUE(p.Arm(Conn(2), 50));
  p.Disarm(Conn(1));  // its request arrived
  p.Expire(99);
  EXPECT_TRUE(r.cut.empty());
  p.Expire(150);
  EXPECT_EQ(r.cut, std::vector<void*>{Conn(2)});
  EXPECT_EQ(r.released, (std::vector<void*>{Conn(1), Conn(2)}));
  EXPECT_EQ(p.size(), 0u);
  EXPECT_EQ(p.cut_count(), 1u);
}

TEST(PendingRequestsTest, ReArmingRestartsTheDeadlineWithoutASecondRelease) {
  Recorder r;
  PendingRequests p = r.Make(10, 100);
  EXPECT_TRUE(p.Arm(Conn(1), 0));
  EXPECT_FALSE(p.Arm(Conn(1), 80));  // kept alive: the next request's deadline
  p.Expire(150);
  EXPECT_TRUE(r.cut.empty()) << "the first deadline is stale";
  p.Expire(180);
  EXPECT_EQ(r.cut, std::vector<void*>{Conn(1)});
  EXPECT_EQ(r.released.size(), 1u);
}

TEST(PendingRequestsTest, PastMaxTheOldestIsCutToMakeRoom) {
  Recorder r;
  PendingRequests p = r.Make(2, 1000);
  p.Arm(Conn(1), 0);
  p.Arm(Conn(2), 1);
  p.Disarm(Conn(1));
  p.Arm(Conn(3), 2);
  EXPECT_TRUE(r.cut.empty()) << "two armed: within the budget";
  p.Arm(Conn(4), 3);
  EXPECT_EQ(r.cut, std::vector<void*>{Conn(2)});
  EXPECT_EQ(p.size(), 2u);
}

TEST(PendingRequestsTest, PruneForgetsGoneConnectionsAndTheDestructorReleasesTheRest) {
  Recorder r;
  {
    PendingRequests p = r.Make(10, 1000);
    p.Arm(Conn(1), 0);
    p.Arm(Conn(2), 0);
    p.Prune([](void* c) { return c == Conn(1); });
    EXPECT_EQ(p.size(), 1u);
    EXPECT_EQ(r.released, std::vector<void*>{Conn(1)});
  }
  EXPECT_EQ(r.released, (std::vector<void*>{Conn(1), Conn(2)}));
  EXPECT_TRUE(r.cut.empty());
}

}  // namespace
}  // namespace herald
