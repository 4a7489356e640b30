#include "server/store/memory_store.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/store/cursor.h"

namespace herald {
namespace {

// Built as the Hub builds them: seq 0, the store assigns it.
EventRef Ev(int64_t iat = 1000, uint64_t whisper = 0, std::string topic = "t") {
  return MakeEvent(0, 0xabc, iat, std::move(topic), R"({"type":"x","detail":null})", whisper);
}

// Completions queued as a loop's inbox would hold them, run by RunAll.
struct Queue {
  std::vector<std::function<void()>> tasks;
  PostFn post() {
    return [this](std::function<void()> f) { tasks.push_back(std::move(f)); };
  }
  void RunAll() {
    std::vector<std::function<void()>> now;
    now.swap(tasks);
    for (auto& f : now) f();
  }
};

uint64_t Append(MemoryStore& s, EventRef ev) {
  Queue q;
  std::optional<uint64_t> seq;
  s.Append(std::move(ev), q.post(), [&](Status st, uint64_t n) {
    EXPECT_TRUE(st.ok());
    seq = n;
  });
  q.RunAll();
  EXPECT_TRUE(seq.has_value());
  return seq.value_or(0);
}

ReadResult Read(MemoryStore& s, std::vector<std::string> filters, uint64_t after,
                size_t limit = 100, uint32_t epoch = 0) {
  Queue q;
  std::optional<ReadResult> out;
  s.Read(ReadRequest{std::move(filters), after, epoch, limit}, q.post(),
         [&](ReadResult r) { out = std::move(r); });
  q.RunAll();
  EXPECT_TRUE(out.has_value());
  return out ? std::move(*out) : ReadResult{};
}

std::vector<uint64_t> Seqs(const ReadResult& r) {
  std::vector<uint64_t> out;
  for (const auto& e : r.events) out.push_back(e->seq);
  return out;
}

const std::vector<std::string> kAll = {"#"};

TEST(MemoryStore, AssignsIdsAndFeedsInOrder) {
  HistoryConfig c;
  MemoryStore s(c, 0xabc, [] { return int64_t{1000}; });
  std::vector<EventRef> fed;
  s.SetFeed([&](EventRef ev) { fed.push_back(std::move(ev)); });
  for (uint64_t i = 1; i <= 3; ++i) EXPECT_EQ(Append(s, Ev()), i);
  ASSERT_EQ(fed.size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(fed[i]->seq, i + 1);
    EXPECT_EQ(fed[i]->id, FormatEventId(0xabc, i + 1));
    // The rendered JSON carries the id the store assigned.
    std::string json;
    AppendEventJson(&json, *fed[i], "t");
    EXPECT_NE(json.find("\"id\":\"" + fed[i]->id + "\""), std::string::npos) << json;
  }
  EXPECT_EQ(s.LastSeq(), 3u);
  EXPECT_EQ(s.status().kind, "memory");
  EXPECT_EQ(s.status().state, "up");
}

TEST(MemoryStore, CompletesThroughPostNeverInline) {
  HistoryConfig c;
  MemoryStore s(c, 1, [] { return int64_t{1000}; });
  Queue q;
  bool appended = false, read = false;
  s.Append(Ev(), q.post(), [&](Status, uint64_t) { appended = true; });
  s.Read(ReadRequest{kAll, 0, 0, 10}, q.post(), [&](ReadResult) { read = true; });
  EXPECT_FALSE(appended);
  EXPECT_FALSE(read);
  ASSERT_EQ(q.tasks.size(), 2u);
  q.RunAll();
  EXPECT_TRUE(appended);
  EXPECT_TRUE(read);
}

TEST(MemoryStore, ABatchTakesConsecutiveIdsUnderOneLockAndFeedsThemInOrder) {
  HistoryConfig c;
  MemoryStore s(c, 0xabc, [] { return int64_t{1000}; });
  std::vector<EventRef> fed;
  s.SetFeed([&](EventRef ev) { fed.push_back(std::move(ev)); });
  EXPECT_EQ(Append(s, Ev()), 1u);
  Queue q;
  std::optional<uint64_t> first;
  std::vector<EventRef> batch = {Ev(1000, 0, "a"), Ev(1000, 77, "b"), Ev(1000, 0, "c")};
  s.AppendBatch(std::move(batch), q.post(), [&](Status st, uint64_t n) {
    EXPECT_TRUE(st.ok());
    first = n;
  });
  EXPECT_FALSE(first.has_value()) << "completes through post, never inline";
  q.RunAll();
  EXPECT_EQ(first, 2u);
  ASSERT_EQ(fed.size(), 4u);
  for (uint64_t i = 1; i < 4; ++i) EXPECT_EQ(fed[i]->seq, i + 1);
  EXPECT_EQ(fed[1]->topic, "a");
  EXPECT_EQ(fed[3]->topic, "c");
  // The whisper took its id but is not history.
  EXPECT_EQ(Seqs(Read(s, kAll, 0)), (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(Append(s, Ev()), 5u);
}

TEST(MemoryStore, ReadsAfterASeqInSlices) {
  HistoryConfig c;
  MemoryStore s(c, 0xabc, [] { return int64_t{1000}; });
  for (int i = 1; i <= 10; ++i) Append(s, Ev());
  EXPECT_EQ(Seqs(Read(s, kAll, 0, 3)), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(Seqs(Read(s, kAll, 8)), (std::vector<uint64_t>{9, 10}));
  ReadResult end = Read(s, kAll, 10);
  EXPECT_TRUE(end.covered);
  EXPECT_TRUE(end.events.empty());
  EXPECT_EQ(end.last_seq, 10u);
  EXPECT_EQ(s.Stats().oldest_seq, 1u);
  EXPECT_EQ(s.LastSeq(), 10u);
}

TEST(MemoryStore, ReadsOnlyTheTopicsTheFiltersMatch) {
  HistoryConfig c;
  MemoryStore s(c, 1, [] { return int64_t{1000}; });
  const char* topics[] = {"a/1", "b/1", "a/2/x", "$space/shop/orders", "a", "$space/shop/orders/7",
                          "c/+"};
  for (const char* t : topics) Append(s, Ev(1000, 0, t));  // seqs 1..7
  EXPECT_EQ(Seqs(Read(s, {"a/+"}, 0)), (std::vector<uint64_t>{1}));
  EXPECT_EQ(Seqs(Read(s, {"a/#"}, 0)), (std::vector<uint64_t>{1, 3, 5}));  // `a/#` matches `a`
  EXPECT_EQ(Seqs(Read(s, {"b/1", "a/2/+"}, 0)), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(Seqs(Read(s, {"$space/shop/orders"}, 0)), (std::vector<uint64_t>{4}));
  EXPECT_EQ(Seqs(Read(s, {"$space/shop/#"}, 0)), (std::vector<uint64_t>{4, 6}));
  // A published wildcard matches symmetrically, as live delivery does.
  EXPECT_EQ(Seqs(Read(s, {"c/9"}, 0)), (std::vector<uint64_t>{7}));
  // The limit counts matching events only; last_seq is the store's newest.
  ReadResult r = Read(s, {"a/#", "$space/shop/#"}, 1, 2);
  EXPECT_EQ(Seqs(r), (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(r.last_seq, 7u);
  EXPECT_TRUE(Read(s, {"zzz"}, 0).events.empty());
}

TEST(MemoryStore, WhispersAdvanceLastSeqButAreNotKept) {
  HistoryConfig c;
  MemoryStore s(c, 1, [] { return int64_t{1000}; });
  Append(s, Ev());
  Append(s, Ev(1000, 77));
  Append(s, Ev());
  EXPECT_EQ(Seqs(Read(s, kAll, 0)), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(Seqs(Read(s, kAll, 2)), (std::vector<uint64_t>{3}));  // a whisper's id is a cursor
  EXPECT_EQ(s.Stats().count, 2);
  EXPECT_EQ(s.LastSeq(), 3u);
}

TEST(MemoryStore, TrimsByCountAndReportsUncoveredCursors) {
  HistoryConfig c;
  c.max_events = 3;
  MemoryStore s(c, 1, [] { return int64_t{1000}; });
  for (int i = 1; i <= 5; ++i) Append(s, Ev());
  EXPECT_FALSE(Read(s, kAll, 0).covered);
  ReadResult gone = Read(s, kAll, 1);
  EXPECT_FALSE(gone.covered);
  EXPECT_TRUE(gone.events.empty());
  EXPECT_EQ(gone.last_seq, 5u);
  ReadResult kept = Read(s, kAll, 2);  // everything after 2 is still here
  EXPECT_TRUE(kept.covered);
  EXPECT_EQ(Seqs(kept), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(s.Stats().oldest_seq, 3u);
  // Another epoch's cursor is never covered.
  EXPECT_FALSE(Read(s, kAll, 4, 10, 2).covered);
  EXPECT_TRUE(Read(s, kAll, 4, 10, 1).covered);
}

TEST(MemoryStore, TrimsByBytesAndAge) {
  HistoryConfig c;
  c.max_bytes =
      MemoryStore::EventBytes(*MakeEvent(1, 1, 1, "t", R"({"type":"x","detail":null})", 0)) * 2;
  int64_t now = 10000;
  MemoryStore s(c, 1, [&now] { return now; });
  for (int i = 1; i <= 4; ++i) Append(s, Ev(now));
  EXPECT_EQ(s.Stats().count, 2);
  EXPECT_LE(s.Stats().bytes, c.max_bytes);

  HistoryConfig a;
  a.max_age_s = 10;
  MemoryStore aged(a, 1, [&now] { return now; });
  Append(aged, Ev(10000));
  Append(aged, Ev(15000));
  now = 21000;  // the first is 11 s old, the second 6 s
  EXPECT_EQ(aged.Stats().oldest_seq, 2u);
  EXPECT_FALSE(Read(aged, kAll, 0).covered);
  now = 100000;
  EXPECT_EQ(aged.Stats().count, 0);
  EXPECT_EQ(aged.Stats().last_seq, 2u);
}

TEST(Cursor, ParsesIdsAndRejectsEverythingElse) {
  Cursor c = ParseCursor("00000abc-42");
  ASSERT_TRUE(c.well_formed);
  EXPECT_EQ(c.epoch, 0xabcu);
  EXPECT_EQ(c.seq, 42u);
  EXPECT_TRUE(ParseCursor("DEADBEEF-0").well_formed);
  for (const char* bad :
       {"", "abc-1", "00000abc-", "00000abc1", "00000abc-1x", "0000xabc-1", "00000abc--1",
        "00000abc-+1", " 0000abc-1", "00000abc-12345678901234567890"}) {
    EXPECT_FALSE(ParseCursor(bad).well_formed) << bad;
  }
}

TEST(Cursor, ResolvesAgainstAStore) {
  HistoryConfig c;
  c.max_events = 2;
  MemoryStore s(c, 0xabc, [] { return int64_t{1000}; });
  for (int i = 1; i <= 4; ++i) Append(s, Ev());
  EXPECT_EQ(ResolveCursor("00000abc-3", s).reset, ResetReason::kNone);
  EXPECT_EQ(ResolveCursor("00000abc-3", s).after_seq, 3u);
  EXPECT_EQ(ResolveCursor("00000abc-3", s).epoch, 0xabcu);
  EXPECT_EQ(ResolveCursor("00000abc-2", s).reset, ResetReason::kNone);
  // Coverage is the first read's to say (ReadResult::covered), not the cursor's.
  EXPECT_EQ(ResolveCursor("00000abc-1", s).reset, ResetReason::kNone);
  EXPECT_FALSE(Read(s, kAll, 1).covered);
  EXPECT_EQ(ResolveCursor("00000abd-3", s).reset, ResetReason::kEpoch);
  EXPECT_EQ(ResolveCursor("00000abc-5", s).reset, ResetReason::kMalformed);
  EXPECT_EQ(ResolveCursor("x", s).reset, ResetReason::kMalformed);
  EXPECT_EQ(ResetDetailJson(ResetReason::kTrimmed, s),
            R"({"reason":"trimmed","oldest":"00000abc-3"})");
  MemoryStore empty(c, 1, [] { return int64_t{1000}; });
  EXPECT_EQ(ResetDetailJson(ResetReason::kEpoch, empty), R"({"reason":"epoch","oldest":null})");
  EXPECT_EQ(ResolveCursor("00000001-0", empty).reset, ResetReason::kNone);
}

}  // namespace
}  // namespace herald
