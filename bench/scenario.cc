#include "bench/scenario.h"

#include <string_view>
#include <unordered_map>

namespace herald_bench {
namespace {

// idle-max and fanout-max: subscribers held by one server process.
constexpr uint32_t kMaxSubscribers = 19000;

std::string Num(const char* prefix, uint32_t i) { return prefix + std::to_string(i); }

// Wildcard topics are wc/g<G>/t<T> (100 groups x 10 leaves = 1,000 topics).
// Filters cycle over four shapes so the index must handle '+' in the middle,
// '+' last, '#' and exact topics at once.
std::string WildcardFilter(uint32_t i) {
  uint32_t g = (i / 4) % 100, t = (i / 400) % 10;
  switch (i % 4) {
    case 0:
      return "wc/g" + std::to_string(g) + "/+";
    case 1:
      return "wc/+/t" + std::to_string(t);
    case 2:
      return "wc/g" + std::to_string(g) + "/#";
    default:
      return "wc/g" + std::to_string(g) + "/t" + std::to_string(t);
  }
}

void ComputeExpected(Plan* plan) {
  std::unordered_map<std::string, uint64_t> per_filter;
  bool wild = false;
  for (const auto& f : plan->filters) {
    ++per_filter[f];
    if (f.find_first_of("+#") != std::string::npos) wild = true;
  }
  for (auto& ph : plan->phases) {
    std::vector<uint64_t> per_topic(ph.topics.size(), 0);
    for (size_t k = 0; k < ph.topics.size(); ++k) {
      if (!wild) {
        auto it = per_filter.find(ph.topics[k]);
        per_topic[k] = it == per_filter.end() ? 0 : it->second;
        continue;
      }
      for (const auto& [f, n] : per_filter) {
        if (FilterMatches(f, ph.topics[k])) per_topic[k] += n;
      }
    }
    ph.expected = 0;
    if (ph.topics.empty()) continue;
    for (uint32_t e = 0; e < ph.events; ++e) ph.expected += per_topic[e % ph.topics.size()];
  }
}

}  // namespace

const char* ScenarioNames() {
  return "idle fanout fanout-light channels wildcard resume fanout-redis channels-redis idle-max "
         "fanout-max idle-tls fanout-light-tls";
}

namespace {

// "fanout-redis" and "channels-redis" are fanout and channels against several
// servers sharing one Redis (--sub/--pub lists): the same plan under its own
// name, so results of the two deployments are summarized apart.
// Likewise "idle-tls" and "fanout-light-tls": idle and fanout-light with the
// subscribers on TLS (herald-bench turns --tls on for them).
std::string BasePlanName(const std::string& name) {
  static const std::string kSuffix = "-redis";
  if (name == "fanout" + kSuffix || name == "channels" + kSuffix) {
    return name.substr(0, name.size() - kSuffix.size());
  }
  if (IsTlsScenario(name)) return name.substr(0, name.size() - 4);
  return name;
}

}  // namespace

bool IsTlsScenario(const std::string& name) {
  return name == "idle-tls" || name == "fanout-light-tls";
}

bool FilterMatches(const std::string& filter, const std::string& topic) {
  size_t f = 0, t = 0;
  for (;;) {
    size_t fe = filter.find('/', f), te = topic.find('/', t);
    std::string_view fl(filter.data() + f, (fe == std::string::npos ? filter.size() : fe) - f);
    if (fl == "#") return true;
    if (t > topic.size()) return false;
    std::string_view tl(topic.data() + t, (te == std::string::npos ? topic.size() : te) - t);
    if (fl != "+" && fl != tl) return false;
    bool fend = fe == std::string::npos, tend = te == std::string::npos;
    if (fend || tend) return fend && tend;
    f = fe + 1;
    t = te + 1;
  }
}

bool BuildPlan(const std::string& scenario, const Overrides& ov, Plan* plan, std::string* err) {
  Plan p;
  p.scenario = scenario;
  const std::string name = BasePlanName(scenario);
  auto subs = [&](uint32_t n) { return ov.subscribers ? ov.subscribers : n; };
  auto events = [&](uint32_t n) { return ov.events ? ov.events : n; };
  auto rate = [&](double r) { return ov.rate > 0 ? ov.rate : r; };
  if (name == "idle") {
    p.subscribers = subs(10000);
    for (uint32_t i = 0; i < p.subscribers; ++i) p.filters.push_back(Num("idle-", i % 1000));
    p.idle_hold_s = 2;
  } else if (name == "idle-max") {
    // One server process at the machine's scale: 19,000 of the 20,000 files a
    // process may open, the rest left for the server's own descriptors.
    p.subscribers = subs(kMaxSubscribers);
    for (uint32_t i = 0; i < p.subscribers; ++i) p.filters.push_back(Num("idle-", i % 1000));
    p.idle_hold_s = 2;
  } else if (name == "fanout-max") {
    // 2 events/s: 38,000 deliveries a second, which both servers sustain on
    // two cores shared with the clients (5/s saturated Nchan).
    p.subscribers = subs(kMaxSubscribers);
    p.filters.assign(p.subscribers, "fanout");
    p.phases.push_back({"rate2", events(60), rate(2), {"fanout"}, 0});
  } else if (name == "fanout" || name == "fanout-light") {
    p.subscribers = subs(5000);
    p.filters.assign(p.subscribers, "fanout");
    if (name == "fanout") {
      p.phases.push_back({"rate50", events(200), rate(50), {"fanout"}, 0});
      p.phases.push_back({"burst", events(200), 0, {"fanout"}, 0});
    } else {
      p.phases.push_back({"rate5", events(100), rate(5), {"fanout"}, 0});
    }
  } else if (name == "channels") {
    p.subscribers = subs(10000);
    Phase ph{"rate2000", events(20000), rate(2000), {}, 0};
    for (uint32_t i = 0; i < p.subscribers; ++i) {
      p.filters.push_back(Num("ch-", i));
      ph.topics.push_back(p.filters.back());
    }
    p.phases.push_back(std::move(ph));
  } else if (name == "wildcard") {
    p.subscribers = subs(5000);
    p.herald_only = true;
    for (uint32_t i = 0; i < p.subscribers; ++i) p.filters.push_back(WildcardFilter(i));
    Phase ph{"rate500", events(2000), rate(500), {}, 0};
    for (uint32_t g = 0; g < 100; ++g) {
      for (uint32_t t = 0; t < 10; ++t) {
        ph.topics.push_back("wc/g" + std::to_string(g) + "/t" + std::to_string(t));
      }
    }
    p.phases.push_back(std::move(ph));
  } else if (name == "resume") {
    p.subscribers = subs(1000);
    p.herald_only = true;
    p.resume = true;
    p.replay_events = events(1000);
    p.filters.assign(p.subscribers, "resume");
  } else {
    *err = "unknown scenario '" + scenario + "' (known: " + ScenarioNames() + ")";
    return false;
  }
  ComputeExpected(&p);
  *plan = std::move(p);
  return true;
}

}  // namespace herald_bench
