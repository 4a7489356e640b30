#include "server/core/topic_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/core/topic.h"

// This test binary counts live heap allocations, so that DestructorFreesWhatIsLeft can tell
// whether the index freed everything it allocated (without needing an ASan build).
namespace {
std::atomic<int64_t> g_live_allocations{0};
int64_t LiveAllocations() { return g_live_allocations.load(); }
// Out of line: with free() inlined into operator delete, GCC's optimizer pairs it with the
// operator new at a call site and reports -Wmismatched-new-delete (a Release build failed).
__attribute__((noinline)) void ReleaseBlock(void* p) { std::free(p); }
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (!p) throw std::bad_alloc();
  ++g_live_allocations;
  return p;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  --g_live_allocations;
  ReleaseBlock(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace herald {
namespace {

struct Conn {
  int id;
};

using Index = TopicIndex<Conn>;

// One Match() call, flattened: the filters in visit order, each with its subscribers' ids in
// the order the range yields them.
using Visits = std::vector<std::pair<std::string, std::vector<int>>>;

Visits MatchAll(const Index& index, std::string_view topic) {
  Visits out;
  index.Match(topic, [&](std::string_view filter, const Index::SubscriberRange& subs) {
    std::vector<int> ids;
    for (Conn* c : subs) ids.push_back(c->id);
    EXPECT_EQ(ids.size(), subs.size());
    out.emplace_back(std::string(filter), std::move(ids));
  });
  return out;
}

// Just the filters, sorted, for tests where the order is not the point.
std::vector<std::string> MatchedFilters(const Index& index, std::string_view topic) {
  std::vector<std::string> out;
  for (auto& v : MatchAll(index, topic)) out.push_back(v.first);
  std::sort(out.begin(), out.end());
  return out;
}

using Filters = std::vector<std::string>;

class TopicIndexTest : public testing::Test {
 protected:
  Conn conns_[8] = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};
  Index index_;

  Index::Subscription* Add(std::string_view filter, int conn = 0) {
    EXPECT_TRUE(ValidateTopic(filter).ok()) << filter;
    return index_.Add(filter, &conns_[conn]);
  }
};

TEST_F(TopicIndexTest, EmptyIndex) {
  EXPECT_TRUE(MatchAll(index_, "a").empty());
  EXPECT_TRUE(MatchAll(index_, "#").empty());
  EXPECT_EQ(index_.node_count(), 0u);
  EXPECT_EQ(index_.filter_count(), 0u);
  EXPECT_EQ(index_.subscription_count(), 0u);
  EXPECT_EQ(index_.ApproxBytes(), 0u);
}

TEST_F(TopicIndexTest, Exact) {
  Add("a/b/c", 1);
  EXPECT_EQ(MatchAll(index_, "a/b/c"), (Visits{{"a/b/c", {1}}}));
  EXPECT_TRUE(MatchAll(index_, "a/b").empty());
  EXPECT_TRUE(MatchAll(index_, "a").empty());
  EXPECT_TRUE(MatchAll(index_, "a/b/c/d").empty());
  EXPECT_TRUE(MatchAll(index_, "a/b/d").empty());
  EXPECT_TRUE(MatchAll(index_, "b/b/c").empty());
}

// Issue 10.6: empty levels (`a/`, `/a`, `a//b`) are levels like any other. A trailing '/'
// adds one: `a/` is not `a`, and `a/+` and `a/#` match `a/`.
TEST_F(TopicIndexTest, EmptyLevels) {
  Add("wid-0001/", 1);
  Add("/abs", 2);
  Add("a//b", 3);
  Add("a/+", 4);
  Add("wid-0001/#", 5);
  Add("wid-0001", 6);
  EXPECT_EQ(MatchAll(index_, "wid-0001/"), (Visits{{"wid-0001/", {1}}, {"wid-0001/#", {5}}}));
  EXPECT_EQ(MatchAll(index_, "wid-0001"), (Visits{{"wid-0001", {6}}, {"wid-0001/#", {5}}}));
  EXPECT_EQ(MatchAll(index_, "/abs"), (Visits{{"/abs", {2}}}));
  EXPECT_TRUE(MatchAll(index_, "abs").empty());
  EXPECT_EQ(MatchAll(index_, "a//b"), (Visits{{"a//b", {3}}}));
  EXPECT_EQ(MatchAll(index_, "a/b"), (Visits{{"a/+", {4}}}));  // not `a//b`
  EXPECT_EQ(MatchAll(index_, "a/"), (Visits{{"a/+", {4}}}));
  // Wildcards in the published topic reach empty levels too.
  EXPECT_EQ(MatchedFilters(index_, "+/abs"), (Filters{"/abs", "a/+", "wid-0001/#"}));
  EXPECT_EQ(MatchedFilters(index_, "a/+/b"), (Filters{"a//b"}));
  EXPECT_EQ(MatchedFilters(index_, "wid-0001/+"), (Filters{"wid-0001/", "wid-0001/#"}));
  for (const char* t : {"wid-0001/", "/abs", "a//b", "a/", "+/abs", "a/+/b", "wid-0001/+"}) {
    std::vector<std::string> expected;
    for (const char* f : {"wid-0001/", "/abs", "a//b", "a/+", "wid-0001/#", "wid-0001"}) {
      if (TopicsMatch(f, t)) expected.push_back(f);
    }
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(MatchedFilters(index_, t), expected) << t;
  }
}

TEST_F(TopicIndexTest, SingleLevelFilter) {
  Add("a/+/c");
  EXPECT_EQ(MatchedFilters(index_, "a/b/c"), Filters{"a/+/c"});
  EXPECT_EQ(MatchedFilters(index_, "a/x/c"), Filters{"a/+/c"});
  EXPECT_TRUE(MatchAll(index_, "a/c").empty());
  EXPECT_TRUE(MatchAll(index_, "a/b/c/d").empty());
  EXPECT_TRUE(MatchAll(index_, "a/b/d").empty());
  Add("+");
  EXPECT_EQ(MatchedFilters(index_, "x"), Filters{"+"});
  EXPECT_TRUE(MatchAll(index_, "x/y").empty());
}

TEST_F(TopicIndexTest, MultiLevelFilter) {
  Add("a/#");
  EXPECT_EQ(MatchedFilters(index_, "a/b"), Filters{"a/#"});
  EXPECT_EQ(MatchedFilters(index_, "a/b/c/d"), Filters{"a/#"});
  EXPECT_TRUE(MatchAll(index_, "b").empty());
  EXPECT_TRUE(MatchAll(index_, "b/a").empty());
  Add("#");
  EXPECT_EQ(MatchedFilters(index_, "b/a"), Filters{"#"});
  EXPECT_EQ(MatchedFilters(index_, "a/b/c"), (Filters{"#", "a/#"}));
}

TEST_F(TopicIndexTest, MultiLevelFilterMatchesItsParentLevel) {
  Add("house/#");
  Add("a/b/#");
  EXPECT_EQ(MatchedFilters(index_, "house"), Filters{"house/#"});
  EXPECT_EQ(MatchedFilters(index_, "a/b"), Filters{"a/b/#"});
  EXPECT_TRUE(MatchAll(index_, "a").empty());
}

TEST_F(TopicIndexTest, WildcardPublishReachesPlainSubscribers) {
  Add("house/kitchen/temp");
  Add("house/garden/temp");
  Add("house");
  Add("office/kitchen");
  EXPECT_EQ(MatchedFilters(index_, "house/#"),
            (Filters{"house", "house/garden/temp", "house/kitchen/temp"}));
  EXPECT_EQ(MatchedFilters(index_, "house/+/temp"),
            (Filters{"house/garden/temp", "house/kitchen/temp"}));
  EXPECT_EQ(MatchedFilters(index_, "+/kitchen"), Filters{"office/kitchen"});
  EXPECT_EQ(MatchedFilters(index_, "+"), Filters{"house"});
  EXPECT_EQ(MatchedFilters(index_, "+/#"),
            (Filters{"house", "house/garden/temp", "house/kitchen/temp", "office/kitchen"}));
  EXPECT_EQ(MatchedFilters(index_, "#").size(), 4u);
  EXPECT_TRUE(MatchAll(index_, "house/+").empty());
}

TEST_F(TopicIndexTest, WildcardPublishReachesWildcardSubscribers) {
  Add("house/+/temp");
  Add("house/#");
  Add("+/kitchen/+");
  Add("#");
  Add("a/+");
  EXPECT_EQ(MatchedFilters(index_, "house/+"), (Filters{"#", "house/#"}));
  EXPECT_EQ(MatchedFilters(index_, "house/+/+"),
            (Filters{"#", "+/kitchen/+", "house/#", "house/+/temp"}));
  EXPECT_EQ(MatchedFilters(index_, "+/kitchen/temp"),
            (Filters{"#", "+/kitchen/+", "house/#", "house/+/temp"}));
  EXPECT_EQ(MatchedFilters(index_, "a/#"), (Filters{"#", "+/kitchen/+", "a/+"}));
  EXPECT_EQ(MatchedFilters(index_, "a/x"), (Filters{"#", "a/+"}));
  EXPECT_EQ(MatchedFilters(index_, "+"), (Filters{"#", "house/#"}));
  EXPECT_EQ(MatchedFilters(index_, "#").size(), 5u);
}

TEST_F(TopicIndexTest, OverlappingFiltersOfOneSubscriberMostSpecificFirst) {
  // Added least specific first, so that insertion order cannot explain the visit order.
  Add("+/b/c", 1);
  Add("a/#", 1);
  Add("a/+/c", 1);
  Add("a/b/c", 1);
  EXPECT_EQ(MatchAll(index_, "a/b/c"),
            (Visits{{"a/b/c", {1}}, {"a/+/c", {1}}, {"a/#", {1}}, {"+/b/c", {1}}}));

  // What a caller delivering once per subscriber does: keep the first filter it meets.
  std::map<int, std::string> first;
  index_.Match("a/b/c", [&](std::string_view filter, const Index::SubscriberRange& subs) {
    for (Conn* c : subs) first.emplace(c->id, std::string(filter));
  });
  EXPECT_EQ(first, (std::map<int, std::string>{{1, "a/b/c"}}));
}

TEST_F(TopicIndexTest, WildcardTopicVisitsEachFilterOnce) {
  for (const char* f : {"a", "a/b", "a/+", "a/#", "+", "+/b", "+/#", "#", "a/b/c", "+/+/+"}) {
    Add(f);
  }
  for (const char* topic : {"+/#", "#", "+/+", "+/+/+", "a/#", "+", "a/+/#"}) {
    std::vector<std::string> filters = MatchedFilters(index_, topic);
    std::set<std::string> unique(filters.begin(), filters.end());
    EXPECT_EQ(unique.size(), filters.size()) << topic;
    for (const char* f : {"a", "a/b", "a/+", "a/#", "+", "+/b", "+/#", "#", "a/b/c", "+/+/+"}) {
      EXPECT_EQ(unique.count(f) == 1, TopicsMatch(f, topic)) << f << " vs " << topic;
    }
  }
  EXPECT_EQ(MatchAll(index_, "#").size(), 10u);
  EXPECT_EQ(MatchAll(index_, "+/#").size(), 10u);
}

TEST_F(TopicIndexTest, RemoveAndPrune) {
  const size_t empty_bytes = index_.ApproxBytes();
  auto* abc = Add("a/b/c");
  EXPECT_EQ(index_.node_count(), 3u);
  auto* ab = Add("a/b");
  auto* abx = Add("a/b/#");
  auto* plus = Add("+/b/c");
  auto* hash = Add("#");
  EXPECT_EQ(index_.node_count(), 8u);  // a, a/b, a/b/c, a/b/#, +, +/b, +/b/c, #
  EXPECT_EQ(index_.filter_count(), 5u);
  EXPECT_EQ(index_.subscription_count(), 5u);
  EXPECT_GT(index_.ApproxBytes(), empty_bytes);

  index_.Remove(abc);  // a/b/c is a leaf: it goes, a/b stays (it holds a subscription)
  EXPECT_EQ(index_.node_count(), 7u);
  EXPECT_EQ(MatchedFilters(index_, "a/b/c"), (Filters{"#", "+/b/c", "a/b/#"}));
  index_.Remove(ab);  // a/b still has the '#' child
  EXPECT_EQ(index_.node_count(), 7u);
  EXPECT_EQ(MatchedFilters(index_, "a/b"), (Filters{"#", "a/b/#"}));
  index_.Remove(abx);  // now a/b/#, a/b and a all go
  EXPECT_EQ(index_.node_count(), 4u);
  index_.Remove(plus);
  EXPECT_EQ(index_.node_count(), 1u);
  index_.Remove(hash);

  EXPECT_EQ(index_.node_count(), 0u);
  EXPECT_EQ(index_.filter_count(), 0u);
  EXPECT_EQ(index_.subscription_count(), 0u);
  EXPECT_EQ(index_.ApproxBytes(), empty_bytes);
  EXPECT_TRUE(MatchAll(index_, "#").empty());

  // The pruned paths can be used again.
  Add("a/b/c", 2);
  EXPECT_EQ(MatchAll(index_, "a/b/c"), (Visits{{"a/b/c", {2}}}));
}

TEST_F(TopicIndexTest, ManySubscribersOnOneNode) {
  std::vector<Conn> conns(1000);
  std::vector<Index::Subscription*> handles;
  std::vector<int> want;
  for (int i = 0; i < 1000; ++i) {
    conns[i].id = i;
    handles.push_back(index_.Add("space/alerts", &conns[i]));
    want.push_back(i);
  }
  EXPECT_EQ(index_.filter_count(), 1u);
  EXPECT_EQ(index_.subscription_count(), 1000u);
  EXPECT_EQ(index_.node_count(), 2u);
  EXPECT_EQ(MatchAll(index_, "space/alerts"), (Visits{{"space/alerts", want}}));
  for (Index::Subscription* h : handles) {
    EXPECT_EQ(Index::FilterOf(h), "space/alerts");
    index_.Remove(h);
  }
  EXPECT_EQ(index_.node_count(), 0u);
}

TEST_F(TopicIndexTest, RemoveFromMiddleHeadAndTailOfAList) {
  Index::Subscription* h[6];
  for (int i = 1; i <= 5; ++i) h[i] = Add("a/b", i);
  index_.Remove(h[3]);
  EXPECT_EQ(MatchAll(index_, "a/b"), (Visits{{"a/b", {1, 2, 4, 5}}}));
  index_.Remove(h[1]);
  EXPECT_EQ(MatchAll(index_, "a/b"), (Visits{{"a/b", {2, 4, 5}}}));
  index_.Remove(h[5]);
  EXPECT_EQ(MatchAll(index_, "a/b"), (Visits{{"a/b", {2, 4}}}));
  Add("a/b", 6);
  EXPECT_EQ(MatchAll(index_, "a/b"), (Visits{{"a/b", {2, 4, 6}}}));
  EXPECT_EQ(index_.filter_count(), 1u);
  EXPECT_EQ(index_.subscription_count(), 3u);
}

TEST_F(TopicIndexTest, HandlesKnowTheirFilterAndSubscriber) {
  auto* s = Add("a/+/c", 3);
  auto* t = Add("a/+/c", 4);
  EXPECT_EQ(Index::FilterOf(s), "a/+/c");
  EXPECT_EQ(Index::SubscriberOf(s), &conns_[3]);
  EXPECT_EQ(Index::SubscriberOf(t), &conns_[4]);
  // The filter is stored once per node and shared by its subscriptions.
  EXPECT_EQ(Index::FilterOf(s).data(), Index::FilterOf(t).data());
}

TEST_F(TopicIndexTest, SameFilterAndSubscriberTwiceIsNotDeduplicated) {
  auto* first = Add("a", 1);
  auto* second = Add("a", 1);
  EXPECT_NE(first, second);
  EXPECT_EQ(MatchAll(index_, "a"), (Visits{{"a", {1, 1}}}));
  EXPECT_EQ(index_.filter_count(), 1u);
  index_.Remove(first);
  EXPECT_EQ(MatchAll(index_, "a"), (Visits{{"a", {1}}}));
}

TEST_F(TopicIndexTest, DestructorFreesWhatIsLeft) {
  // Every allocation the index made (nodes, child maps, filter strings, subscription handles)
  // must be gone once it is destroyed with subscriptions still in it.
  const int64_t before = LiveAllocations();
  auto index = std::make_unique<Index>();
  index->Add("a/b", &conns_[0]);
  index->Add("a/#", &conns_[1]);
  index->Add("+", &conns_[2]);
  index->Add("x/y/z", &conns_[3]);
  EXPECT_GT(LiveAllocations(), before + 4);  // the counter does see the index allocate
  index.reset();
  EXPECT_EQ(LiveAllocations(), before);
}

// Random filters and topics over a tiny alphabet, so that they collide and overlap a lot, with
// interleaved removals; every Match must agree with the brute-force TopicsMatch.
TEST(TopicIndexRandomTest, AgreesWithBruteForce) {
  std::mt19937 rng(20240611);
  const char* kLevels[] = {"a", "b", "c", "+", "#"};
  auto random_topic = [&]() {
    for (;;) {
      std::string t;
      int depth = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < depth; ++i) {
        if (i > 0) t += '/';
        t += kLevels[rng() % 5];
      }
      if (ValidateTopic(t).ok()) return t;  // drops '#' that is not last
    }
  };

  std::vector<Conn> conns(16);
  for (int i = 0; i < 16; ++i) conns[i].id = i;
  Index index;
  // (filter, conn) -> handle: the caller-side dedup the index expects.
  std::map<std::pair<std::string, int>, Index::Subscription*> live;

  auto check = [&](const std::string& topic) {
    std::map<std::string, std::vector<int>> want;
    for (auto& [key, handle] : live) {
      if (TopicsMatch(key.first, topic)) want[key.first].push_back(key.second);
    }
    std::map<std::string, std::vector<int>> got;
    index.Match(topic, [&](std::string_view filter, const Index::SubscriberRange& subs) {
      auto [it, inserted] = got.emplace(std::string(filter), std::vector<int>());
      EXPECT_TRUE(inserted) << "filter " << filter << " visited twice for " << topic;
      for (Conn* c : subs) it->second.push_back(c->id);
      std::sort(it->second.begin(), it->second.end());
    });
    EXPECT_EQ(got, want) << topic;
  };

  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 1500; ++i) {
      std::string filter = random_topic();
      int conn = static_cast<int>(rng() % 16);
      auto key = std::make_pair(filter, conn);
      if (live.count(key) == 0) live[key] = index.Add(filter, &conns[conn]);
    }
    for (int i = 0; i < 1000; ++i) check(random_topic());
    // Remove about half.
    for (auto it = live.begin(); it != live.end();) {
      if (rng() % 2) {
        index.Remove(it->second);
        it = live.erase(it);
      } else {
        ++it;
      }
    }
    for (int i = 0; i < 1000; ++i) check(random_topic());
    std::set<std::string> filters;
    for (auto& entry : live) filters.insert(entry.first.first);
    EXPECT_EQ(index.subscription_count(), live.size());
    EXPECT_EQ(index.filter_count(), filters.size());
  }
  for (auto& entry : live) index.Remove(entry.second);
  EXPECT_EQ(index.node_count(), 0u);
  EXPECT_EQ(index.ApproxBytes(), 0u);
}

}  // namespace
}  // namespace herald
