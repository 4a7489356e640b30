// PollConnection against a real worker and the real memory store: what one poll answers, in
// which order, within which bounds.
#include "server/transport/poll_session.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "server/util/json.h"
#include "tests/unit/server/test_node.h"

namespace herald {
namespace {

constexpr char kE[] = R"({"type":"t","detail":1})";

// One answer, parsed.
struct Answer {
  std::string cursor;
  // Each entry as "<e.type>@<ep.emitted>", or "<e.type>:<detail>" for server events.
  std::vector<std::string> entries;
};

Answer Parse(const HttpResponse& resp) {
  Answer a;
  EXPECT_EQ(resp.status, 200);
  CJsonPtr root = ParseJson(resp.body);
  EXPECT_TRUE(root) << resp.body;
  if (!root) return a;
  const cJSON* cursor = cJSON_GetObjectItemCaseSensitive(root.get(), "cursor");
  if (cJSON_IsString(cursor)) a.cursor = cursor->valuestring;
  const cJSON* ev;
  cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(root.get(), "events")) {
    const cJSON* e = cJSON_GetObjectItemCaseSensitive(ev, "e");
    const cJSON* ep = cJSON_GetObjectItemCaseSensitive(ev, "ep");
    std::string type = cJSON_GetObjectItemCaseSensitive(e, "type")->valuestring;
    std::string emitted = cJSON_GetObjectItemCaseSensitive(ep, "emitted")->valuestring;
    a.entries.push_back(type + "@" + emitted);
  }
  return a;
}

class PollSessionTest : public testing::Test {
 protected:
  void Start() { node_.Start(1); }

  // Opens a poll session on worker 0 subscribed to `filters`; returns its connid.
  uint64_t Open(std::vector<std::string> filters) {
    Worker* w = &node_.worker(0);
    return node_.RunOn(0, [w, filters] {
      auto conn = std::make_unique<PollConnection>(w->NextConnId(), w);
      return w->Adopt(std::move(conn), filters)->id();
    });
  }

  // Polls at once (timeout 0) for what follows `since`; the answer comes once the store's
  // read has completed, on the worker's loop.
  Answer PollNow(uint64_t connid, const std::string& since) {
    Worker* w = &node_.worker(0);
    auto answered = std::make_shared<std::promise<HttpResponse>>();
    auto resp = answered->get_future();
    node_.RunOn(0, [w, connid, since, answered] {
      auto* conn = static_cast<PollConnection*>(w->Find(connid));
      conn->Poll(since, 0, 1, [answered](HttpResponse r) { answered->set_value(std::move(r)); });
    });
    return Parse(resp.get());
  }

  void SendControls(uint64_t connid, int n) {
    Worker* w = &node_.worker(0);
    node_.RunOn(0, [w, connid, n] {
      for (int i = 0; i < n; ++i) {
        SendServerEvent(w->Find(connid), "c" + std::to_string(i), "{}");
      }
    });
  }

  std::string Cursor(uint64_t seq) { return FormatEventId(node_.hub().epoch(), seq); }

  TestNode node_;
};

TEST_F(PollSessionTest, ControlsFirstThenHistoryAndWhispersInSeqOrder) {
  Start();
  const uint64_t id = Open({"a/#"});
  const std::string since = PollNow(id, "").cursor;
  EXPECT_EQ(since, Cursor(0));
  node_.Publish("a/1", kE, 0);   // seq 1
  node_.Publish("b/1", kE, 0);   // seq 2: not for this session
  node_.Publish("a/2", kE, id);  // seq 3: a whisper, kept in the session
  node_.Publish("a/3", kE, 0);   // seq 4
  SendControls(id, 1);           // after the events, answered before them
  Answer a = PollNow(id, since);
  EXPECT_EQ(a.entries, (std::vector<std::string>{"c0@@SERVER@", "t@a/1", "t@a/2", "t@a/3"}));
  EXPECT_EQ(a.cursor, Cursor(4));
  // Nothing is answered twice: controls and whispers are gone, history is read after the cursor.
  Answer again = PollNow(id, a.cursor);
  EXPECT_TRUE(again.entries.empty());
  EXPECT_EQ(again.cursor, Cursor(4));
}

TEST_F(PollSessionTest, ControlsAreBoundedOldestDropped) {
  Start();
  const uint64_t id = Open({"a"});
  SendControls(id, 100);
  Answer a = PollNow(id, "");
  ASSERT_EQ(a.entries.size(), 64u);
  EXPECT_EQ(a.entries.front(), "c36@@SERVER@");
  EXPECT_EQ(a.entries.back(), "c99@@SERVER@");
}

TEST_F(PollSessionTest, AnAnswerHoldsAtMostMaxBatchAndTheCursorResumesThere) {
  node_.ctx().config.poll.max_batch = 3;
  Start();
  const uint64_t id = Open({"a"});
  for (int i = 0; i < 5; ++i) node_.Publish("a", kE, 0);
  Answer first = PollNow(id, Cursor(0));
  EXPECT_EQ(first.entries.size(), 3u);
  EXPECT_EQ(first.cursor, Cursor(3));
  Answer second = PollNow(id, first.cursor);
  EXPECT_EQ(second.entries.size(), 2u);
  EXPECT_EQ(second.cursor, Cursor(5));
}

TEST_F(PollSessionTest, ATrimmedCursorGetsResetAndGoesOnFromNow) {
  node_.ctx().config.history.max_events = 3;
  Start();
  const uint64_t id = Open({"a"});
  for (int i = 0; i < 10; ++i) node_.Publish("a", kE, 0);
  Answer a = PollNow(id, Cursor(1));  // seq 2..7 are gone
  ASSERT_EQ(a.entries.size(), 1u);
  EXPECT_EQ(a.entries[0], "reset@@SERVER@");
  EXPECT_EQ(a.cursor, Cursor(10));
  // A cursor history still covers is answered from history.
  Answer b = PollNow(id, Cursor(8));
  EXPECT_EQ(b.entries, (std::vector<std::string>{"t@a", "t@a"}));
}

// The store answers later: a poll replaced, or a session closed, while its read is in flight gets
// exactly one answer, and the late completion is dropped (looked up by connid and generation).
TEST_F(PollSessionTest, AReadInFlightForAReplacedPollOrAClosedSessionIsDropped) {
  Start();
  const uint64_t id = Open({"a"});
  for (int i = 0; i < 3; ++i) node_.Publish("a", kE, 0);
  Worker* w = &node_.worker(0);
  struct Replies {
    std::vector<HttpResponse> first, second, closed;
  };
  auto replies = std::make_shared<Replies>();
  const std::string since = Cursor(0);
  node_.RunOn(0, [w, id, since, replies] {
    auto* conn = static_cast<PollConnection*>(w->Find(id));
    conn->Poll(since, 0, 1, [replies](HttpResponse r) { replies->first.push_back(std::move(r)); });
    // Replaces the first before its read completes: the first is answered now, empty.
    conn->Poll(since, 0, 2, [replies](HttpResponse r) { replies->second.push_back(std::move(r)); });
  });
  const uint64_t other = Open({"a"});
  node_.RunOn(0, [w, other, since, replies] {
    auto* conn = static_cast<PollConnection*>(w->Find(other));
    conn->Poll(since, 0, 3, [replies](HttpResponse r) { replies->closed.push_back(std::move(r)); });
    w->Close(conn, CloseReason::kKicked);  // before the read completes
  });
  node_.RunOn(0, [] {});  // every completion posted so far has run
  ASSERT_EQ(replies->first.size(), 1u);
  EXPECT_TRUE(Parse(replies->first[0]).entries.empty());
  EXPECT_EQ(Parse(replies->first[0]).cursor, Cursor(0));
  ASSERT_EQ(replies->second.size(), 1u);
  EXPECT_EQ(Parse(replies->second[0]).entries, (std::vector<std::string>{"t@a", "t@a", "t@a"}));
  ASSERT_EQ(replies->closed.size(), 1u);
  Answer closed = Parse(replies->closed[0]);
  EXPECT_EQ(closed.entries, (std::vector<std::string>{"disconnect@@SERVER@"}));
  EXPECT_EQ(closed.cursor, Cursor(0));  // nothing read: a resume from here misses nothing
}

}  // namespace
}  // namespace herald
