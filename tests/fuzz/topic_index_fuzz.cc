// libFuzzer target for server/topic.{h,cc} and server/core/topic_index.h.
//
// One input drives two checks:
//  1. ValidateTopic() on arbitrary bytes, against a reference validator written differently
//     (decode code points, then apply the rules in order): same verdict, same reason. Accepted
//     topics must match themselves, and TopicsMatch() must be symmetric.
//  2. A random sequence of Add / Remove / Match on a TopicIndex, with filters and topics built
//     from a small alphabet of levels so that they overlap a lot. Every Match() is compared
//     with brute force over the live subscriptions (TopicsMatch), every filter must be visited
//     at most once, plain topics must be visited most specific first, and the counters
//     (including node_count(), which checks pruning) must agree with a model.
// Any disagreement aborts, which libFuzzer reports as a crash.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/core/topic.h"
#include "server/core/topic_index.h"

namespace herald {
namespace {

void Check(bool ok, const char* what, const std::string& a = "", const std::string& b = "") {
  if (ok) return;
  std::fprintf(stderr, "topic_index_fuzz: %s [%s] [%s]\n", what, a.c_str(), b.c_str());
  std::abort();
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == '/') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

// Reference for ValidateTopic: "" when valid, else the reason.
std::string ReferenceReason(const std::string& t, const TopicLimits& limits) {
  if (t.empty()) return "Topic is empty";
  if (t.size() > limits.max_bytes) {
    return "Topic longer than " + std::to_string(limits.max_bytes) + " bytes";
  }
  // Decode: lead byte gives the length, continuation bytes carry 6 bits each; then refuse
  // overlong forms (below the minimum for the length), surrogates and beyond U+10FFFF.
  bool control = false;
  for (size_t i = 0; i < t.size();) {
    auto b = static_cast<uint8_t>(t[i]);
    size_t len;
    uint32_t cp, min;
    if (b < 0x80) {
      len = 1, cp = b, min = 0;
    } else if ((b >> 5) == 0x6) {
      len = 2, cp = b & 0x1F, min = 0x80;
    } else if ((b >> 4) == 0xE) {
      len = 3, cp = b & 0x0F, min = 0x800;
    } else if ((b >> 3) == 0x1E) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      return "Topic is not valid UTF-8";
    }
    if (i + len > t.size()) return "Topic is not valid UTF-8";
    for (size_t k = 1; k < len; ++k) {
      auto c = static_cast<uint8_t>(t[i + k]);
      if ((c >> 6) != 0x2) return "Topic is not valid UTF-8";
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return "Topic is not valid UTF-8";
    }
    // Whichever comes first, invalid UTF-8 or a control character, gives the reason.
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      control = true;
      break;
    }
    i += len;
  }
  if (control) return "Topic has a control character";
  std::vector<std::string> levels = Split(t);
  if (levels.size() > limits.max_levels) {
    return "Topic deeper than " + std::to_string(limits.max_levels) + " levels";
  }
  for (size_t i = 0; i < levels.size(); ++i) {
    const std::string& l = levels[i];
    bool wild = l == "+" || l == "#";
    if (!wild && l.find_first_of("+#") != std::string::npos) {
      return "Wildcard must be a whole level";
    }
    if (l == "#" && i + 1 != levels.size()) return "'#' must be the last level";
  }
  return "";
}

void CheckValidation(const std::string& t, const TopicLimits& limits) {
  Status s = ValidateTopic(t, limits);
  std::string want = ReferenceReason(t, limits);
  Check(s.ok() == want.empty(), "ValidateTopic verdict", t, want);
  if (!s.ok()) {
    Check(s.reason() == want, "ValidateTopic reason", s.reason(), want);
    Check(s.kind() == StatusKind::kBadRequest, "ValidateTopic status", t);
    return;
  }
  Check(TopicsMatch(t, t), "valid topic does not match itself", t);
  bool wild = false;
  for (const std::string& l : Split(t)) wild = wild || l == "+" || l == "#";
  Check(HasWildcard(t) == wild, "HasWildcard", t);
}

constexpr const char* kLevels[] = {"a", "b", "c", "dd", "+", "#"};
constexpr int kSubs = 8;

std::string MakeTopic(FuzzedDataProvider& in) {
  int depth = in.ConsumeIntegralInRange(1, 5);
  std::string t;
  for (int i = 0; i < depth; ++i) {
    if (i > 0) t += '/';
    t += kLevels[in.ConsumeIntegralInRange<size_t>(0, std::size(kLevels) - 1)];
  }
  return t;
}

struct Sub {
  int id;
};
using Index = TopicIndex<Sub>;

struct Live {
  std::string filter;
  int sub;
  Index::Subscription* handle;
};

// Specificity of a filter, level by level: exact < '+' < '#'. For a topic without wildcards
// the visit order must be non-decreasing in this, compared lexicographically.
std::vector<int> Rank(const std::string& filter) {
  std::vector<int> r;
  for (const std::string& l : Split(filter)) r.push_back(l == "+" ? 1 : l == "#" ? 2 : 0);
  return r;
}

void CheckModel(const Index& index, const std::vector<Live>& live) {
  std::set<std::string> filters, prefixes;
  for (const Live& l : live) {
    filters.insert(l.filter);
    for (size_t i = 0; i <= l.filter.size(); ++i) {
      if (i == l.filter.size() || l.filter[i] == '/') prefixes.insert(l.filter.substr(0, i));
    }
  }
  Check(index.subscription_count() == live.size(), "subscription_count");
  Check(index.filter_count() == filters.size(), "filter_count");
  Check(index.node_count() == prefixes.size(), "node_count (pruning)");
  Check((index.ApproxBytes() == 0) == live.empty(), "ApproxBytes");
}

void CheckMatch(const Index& index, const std::vector<Live>& live, const std::string& topic) {
  std::map<std::string, std::multiset<int>> want;
  for (const Live& l : live) {
    if (TopicsMatch(l.filter, topic)) want[l.filter].insert(l.sub);
  }
  std::map<std::string, std::multiset<int>> got;
  std::vector<int> last_rank;
  bool plain = !HasWildcard(topic);
  index.Match(topic, [&](std::string_view filter, const Index::SubscriberRange& subs) {
    std::string f(filter);
    auto [it, inserted] = got.emplace(f, std::multiset<int>());
    Check(inserted, "filter visited twice", f, topic);
    size_t n = 0;
    for (Sub* s : subs) {
      it->second.insert(s->id);
      ++n;
    }
    Check(n == subs.size() && n > 0, "SubscriberRange size", f, topic);
    if (plain) {
      std::vector<int> rank = Rank(f);
      Check(last_rank <= rank, "visit order", f, topic);
      last_rank = rank;
    }
  });
  Check(got == want, "Match differs from brute force", topic);
}

void FuzzIndex(FuzzedDataProvider& in) {
  Sub subs[kSubs];
  for (int i = 0; i < kSubs; ++i) subs[i].id = i;
  Index index;
  std::vector<Live> live;
  for (int ops = 0; ops < 300 && in.remaining_bytes() > 0; ++ops) {
    switch (in.ConsumeIntegralInRange(0, 3)) {
      case 0:
      case 1: {
        std::string filter = MakeTopic(in);
        int sub = in.ConsumeIntegralInRange(0, kSubs - 1);
        if (!ValidateTopic(filter).ok()) break;
        bool dup = std::any_of(live.begin(), live.end(),
                               [&](const Live& l) { return l.filter == filter && l.sub == sub; });
        if (dup) break;  // the caller de-duplicates, per the contract
        Index::Subscription* h = index.Add(filter, &subs[sub]);
        Check(Index::FilterOf(h) == filter, "FilterOf", filter);
        Check(Index::SubscriberOf(h) == &subs[sub], "SubscriberOf", filter);
        live.push_back({filter, sub, h});
        break;
      }
      case 2: {
        if (live.empty()) break;
        size_t i = in.ConsumeIntegralInRange<size_t>(0, live.size() - 1);
        index.Remove(live[i].handle);
        live[i] = live.back();
        live.pop_back();
        break;
      }
      case 3: {
        std::string topic = MakeTopic(in);
        std::string other = MakeTopic(in);
        Check(TopicsMatch(topic, other) == TopicsMatch(other, topic), "asymmetric", topic, other);
        if (ValidateTopic(topic).ok()) CheckMatch(index, live, topic);
        break;
      }
    }
    CheckModel(index, live);
  }
  // Drain from the front, so that removal order differs from the swap-removes above.
  for (const Live& l : live) index.Remove(l.handle);
  live.clear();
  CheckModel(index, live);
}

}  // namespace
}  // namespace herald

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::string raw = in.ConsumeRandomLengthString(300);
  herald::CheckValidation(raw, herald::TopicLimits());
  herald::TopicLimits small;
  small.max_bytes = 12;
  small.max_levels = 3;
  herald::CheckValidation(raw, small);
  herald::FuzzIndex(in);
  return 0;
}
