// Deadlines with a driven clock: what fires when, and that Run touches only
// what is due (token expiry in O(expiring), not a scan of every token).
#include "server/deadlines.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/core/config.h"
#include "server/delivery_policy.h"

namespace herald {
namespace {

// A connection that records what reaches it.
class RecordingConnection : public Connection {
 public:
  RecordingConnection(uint64_t id, Transport t) : Connection(id, t) {}
  void Deliver(FrameCache&) override {}
  void SendControl(std::string_view type, std::string_view) override {
    controls.emplace_back(type);
  }
  void SendHeartbeat() override { ++heartbeats; }
  void Close(CloseReason) override {}
  void Abandon() override {}
  size_t PendingBytes() const override { return 0; }
  std::string HeadersJson() const override { return "{}"; }

  std::vector<std::string> controls;
  int heartbeats = 0;
};

constexpr int64_t kT0 = 1'700'000'000'000;  // ms; a whole second
constexpr int64_t kT0s = kT0 / 1000;

class DeadlinesTest : public testing::Test {
 protected:
  DeadlinesTest() {
    config_.stream.timeout_ms = 60000;
    config_.stream.heartbeat_ms = 50000;
    config_.sse.timeout_ms = 0;
    config_.sse.heartbeat_ms = 15000;
    config_.auth.expiring_notice_s = 30;
  }

  RecordingConnection* Open(Transport t = Transport::kSse, int64_t now_ms = kT0) {
    const uint64_t id = next_id_++;
    auto conn = std::make_unique<RecordingConnection>(id, t);
    RecordingConnection* c = conn.get();
    conns_.emplace(id, std::move(conn));
    deadlines_.Track(c, now_ms);
    return c;
  }

  // A space connection holding a token valid until exp_s (+ leeway_s).
  RecordingConnection* OpenWithToken(int64_t exp_s, int64_t leeway_s) {
    RecordingConnection* c = Open();
    SetToken(c, exp_s, leeway_s);
    deadlines_.WatchAuth(c);
    return c;
  }

  // The worker's Close: forget, then destroy.
  void Close(Connection* c, CloseReason reason) {
    closed_[c->id()] = reason;
    deadlines_.Forget(c);
    conns_.erase(c->id());
  }

  bool IsClosed(uint64_t id) const { return closed_.count(id) != 0; }

  Config config_;
  Deadlines deadlines_{&config_, [this](Connection* c, CloseReason r) { Close(c, r); }};
  std::map<uint64_t, std::unique_ptr<RecordingConnection>> conns_;
  std::map<uint64_t, CloseReason> closed_;
  uint64_t next_id_ = 1;
};

TEST_F(DeadlinesTest, TokenExpiryFiresAtExpPlusLeewayForOnlyTheExpiringConnections) {
  const int64_t leeway_s = 5;
  const int64_t exp_s = kT0s + 100;
  std::vector<uint64_t> expiring;
  for (int i = 0; i < 3; ++i) expiring.push_back(OpenWithToken(exp_s, leeway_s)->id());
  std::vector<RecordingConnection*> lasting;
  for (int i = 0; i < 10000; ++i) lasting.push_back(OpenWithToken(kT0s + 3600, leeway_s));

  // A scan of every token-bearing connection would close this one at once:
  // its token now says expired, but nobody rescheduled it, so only its own
  // (later) heap entry may look at it, and none does before that.
  RecordingConnection* tampered = lasting.front();
  tampered->token_exp_s = kT0s - 1000;

  deadlines_.Run((exp_s + leeway_s) * 1000 - 1);
  EXPECT_TRUE(closed_.empty());
  deadlines_.Run((exp_s + leeway_s) * 1000);
  ASSERT_EQ(closed_.size(), expiring.size());
  for (uint64_t id : expiring) EXPECT_EQ(closed_[id], CloseReason::kUnauthorized);
  // The fire time agrees with the check before every delivery.
  EXPECT_FALSE(TokenExpired(*lasting.back(), (exp_s + leeway_s) * 1000));
  EXPECT_EQ(deadlines_.auth_watched(), lasting.size());
  EXPECT_FALSE(IsClosed(tampered->id()));
}

TEST_F(DeadlinesTest, ExpiringNoticeOnceBeforeExpThenClosed) {
  const int64_t exp_s = kT0s + 100;
  RecordingConnection* c = OpenWithToken(exp_s, 0);
  const uint64_t id = c->id();
  deadlines_.Run((exp_s - 30) * 1000 - 1);
  EXPECT_TRUE(c->controls.empty());
  deadlines_.Run((exp_s - 30) * 1000);
  EXPECT_EQ(c->controls, std::vector<std::string>{"auth_expiring"});
  deadlines_.Run((exp_s - 1) * 1000);
  EXPECT_EQ(c->controls.size(), 1u);
  EXPECT_FALSE(IsClosed(id));
  deadlines_.Run(exp_s * 1000);
  EXPECT_TRUE(IsClosed(id));
}

TEST_F(DeadlinesTest, PendingAuthClosesAtItsDeadline) {
  RecordingConnection* late = Open();
  late->auth_pending = true;
  late->auth_deadline_ms = kT0 + 5000;
  deadlines_.WatchAuth(late);
  RecordingConnection* prompt = Open();
  prompt->auth_pending = true;
  prompt->auth_deadline_ms = kT0 + 5000;
  deadlines_.WatchAuth(prompt);
  // prompt authenticates (handlers/auth.cc): no longer pending, a token until +1 h.
  prompt->auth_pending = false;
  SetToken(prompt, kT0s + 3600, 0);
  deadlines_.WatchAuth(prompt);

  const uint64_t late_id = late->id();
  deadlines_.Run(kT0 + 4999);
  EXPECT_TRUE(closed_.empty());
  deadlines_.Run(kT0 + 5000);
  EXPECT_EQ(closed_.size(), 1u);
  EXPECT_EQ(closed_[late_id], CloseReason::kUnauthorized);
  EXPECT_FALSE(IsClosed(prompt->id()));
}

TEST_F(DeadlinesTest, ANewTokenThatExpiresSoonerIsRescheduled) {
  RecordingConnection* c = OpenWithToken(kT0s + 3600, 0);
  SetToken(c, kT0s + 10, 0);
  c->expiring_sent = true;  // no notice in the way
  deadlines_.WatchAuth(c);
  const uint64_t id = c->id();
  deadlines_.Run((kT0s + 10) * 1000);
  EXPECT_TRUE(IsClosed(id));
}

TEST_F(DeadlinesTest, ForgottenConnectionsLeaveNoWorkAndTheHeapStaysBounded) {
  for (int i = 0; i < 5000; ++i) {
    RecordingConnection* c = OpenWithToken(kT0s + 100, 0);
    Close(c, CloseReason::kClient);
  }
  EXPECT_EQ(deadlines_.auth_watched(), 0u);
  EXPECT_LT(deadlines_.auth_heap_size(), 200u);
  closed_.clear();
  deadlines_.Run((kT0s + 200) * 1000);  // stale entries only: nothing fires
  EXPECT_TRUE(closed_.empty());
}

TEST_F(DeadlinesTest, IdleTimeoutRestartPauseResume) {
  RecordingConnection* a = Open(Transport::kStream);
  RecordingConnection* b = Open(Transport::kStream);
  RecordingConnection* sse = Open(Transport::kSse);  // sse.timeout_ms 0: never times out
  const uint64_t a_id = a->id(), b_id = b->id();
  deadlines_.RestartTimeout(b, kT0 + 30000);  // POST /alive
  deadlines_.Run(kT0 + 59999);
  EXPECT_TRUE(closed_.empty());
  deadlines_.Run(kT0 + 60000);
  EXPECT_EQ(closed_.size(), 1u);
  EXPECT_EQ(closed_[a_id], CloseReason::kTimeout);
  deadlines_.PauseTimeout(b);
  deadlines_.Run(kT0 + 200000);
  EXPECT_FALSE(IsClosed(b_id));
  deadlines_.ResumeTimeout(b, kT0 + 200000);
  deadlines_.Run(kT0 + 260000);
  EXPECT_EQ(closed_[b_id], CloseReason::kTimeout);
  EXPECT_FALSE(IsClosed(sse->id()));
}

TEST_F(DeadlinesTest, HeartbeatsEveryPeriod) {
  RecordingConnection* sse = Open(Transport::kSse);
  RecordingConnection* poll = Open(Transport::kPoll);  // polls get none
  deadlines_.Run(kT0 + 14999);
  EXPECT_EQ(sse->heartbeats, 0);
  deadlines_.Run(kT0 + 15000);
  EXPECT_EQ(sse->heartbeats, 1);
  deadlines_.Run(kT0 + 29999);
  EXPECT_EQ(sse->heartbeats, 1);
  deadlines_.Run(kT0 + 30000);
  EXPECT_EQ(sse->heartbeats, 2);
  EXPECT_EQ(poll->heartbeats, 0);
}

}  // namespace
}  // namespace herald
