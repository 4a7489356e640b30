#include "server/store/memory_store.h"

#include <gtest/gtest.h>

#include "server/store/cursor.h"

namespace herald {
namespace {

EventRef Ev(uint64_t seq, int64_t iat = 1000, uint64_t whisper = 0, std::string topic = "t") {
  return MakeEvent(seq, 0xabc, iat, std::move(topic), R"({"type":"x","detail":null})", whisper);
}

std::vector<uint64_t> Seqs(const std::vector<EventRef>& v) {
  std::vector<uint64_t> out;
  for (const auto& e : v) out.push_back(e->seq);
  return out;
}

TEST(MemoryStore, ReadsAfterASeqInSlices) {
  HistoryConfig c;
  MemoryStore s(c, 0xabc, [] { return int64_t{1000}; });
  for (uint64_t i = 1; i <= 10; ++i) s.Append(Ev(i));
  std::vector<EventRef> out;
  ASSERT_TRUE(s.ReadAfter(0, 3, &out));
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{1, 2, 3}));
  out.clear();
  ASSERT_TRUE(s.ReadAfter(8, 100, &out));
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{9, 10}));
  out.clear();
  ASSERT_TRUE(s.ReadAfter(10, 100, &out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s.OldestSeq(), 1u);
  EXPECT_EQ(s.LastSeq(), 10u);
}

TEST(MemoryStore, WhispersAdvanceLastSeqButAreNotKept) {
  HistoryConfig c;
  MemoryStore s(c, 1, [] { return int64_t{1000}; });
  s.Append(Ev(1));
  s.Append(Ev(2, 1000, 77));
  s.Append(Ev(3));
  std::vector<EventRef> out;
  ASSERT_TRUE(s.ReadAfter(0, 10, &out));
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{1, 3}));
  out.clear();
  ASSERT_TRUE(s.ReadAfter(2, 10, &out));  // a whisper's id is a valid cursor
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{3}));
  EXPECT_EQ(s.Stats().count, 2);
}

TEST(MemoryStore, TrimsByCountAndReportsUncoveredCursors) {
  HistoryConfig c;
  c.max_events = 3;
  MemoryStore s(c, 1, [] { return int64_t{1000}; });
  for (uint64_t i = 1; i <= 5; ++i) s.Append(Ev(i));
  std::vector<EventRef> out;
  EXPECT_FALSE(s.ReadAfter(0, 10, &out));
  EXPECT_FALSE(s.ReadAfter(1, 10, &out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(s.ReadAfter(2, 10, &out));  // everything after 2 is still here
  EXPECT_EQ(Seqs(out), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(s.OldestSeq(), 3u);
}

TEST(MemoryStore, TrimsByBytesAndAge) {
  HistoryConfig c;
  c.max_bytes = MemoryStore::EventBytes(*Ev(1)) * 2;
  int64_t now = 10000;
  MemoryStore s(c, 1, [&now] { return now; });
  for (uint64_t i = 1; i <= 4; ++i) s.Append(Ev(i, now));
  EXPECT_EQ(s.Stats().count, 2);
  EXPECT_LE(s.Stats().bytes, c.max_bytes);

  HistoryConfig a;
  a.max_age_s = 10;
  MemoryStore aged(a, 1, [&now] { return now; });
  aged.Append(Ev(1, 10000));
  aged.Append(Ev(2, 15000));
  now = 21000;  // the first is 11 s old, the second 6 s
  EXPECT_EQ(aged.OldestSeq(), 2u);
  std::vector<EventRef> out;
  EXPECT_FALSE(aged.ReadAfter(0, 10, &out));
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
  for (uint64_t i = 1; i <= 4; ++i) s.Append(Ev(i));
  EXPECT_EQ(ResolveCursor("00000abc-3", s).reset, ResetReason::kNone);
  EXPECT_EQ(ResolveCursor("00000abc-3", s).after_seq, 3u);
  EXPECT_EQ(ResolveCursor("00000abc-2", s).reset, ResetReason::kNone);
  EXPECT_EQ(ResolveCursor("00000abc-1", s).reset, ResetReason::kTrimmed);
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
