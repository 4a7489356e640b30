// The fixed benchmark scenarios (names are part of the bench's interface:
// compare.sh, RESULTS.md and issue notes refer to them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace herald_bench {

struct Phase {
  std::string name;
  uint32_t events = 0;
  double rate = 0;                  // events per second; 0 = as fast as accepted
  std::vector<std::string> topics;  // event k goes to topics[k % size]
  uint64_t expected = 0;            // deliveries if every subscriber gets its share
};

struct Plan {
  std::string scenario;
  uint32_t subscribers = 0;
  std::vector<std::string> filters;  // filter of subscriber i
  std::vector<Phase> phases;
  bool herald_only = false;  // needs wildcards or history other servers lack
  bool resume = false;       // subscribers connect with a cursor into history
  uint32_t replay_events = 0;
  double idle_hold_s = 0;  // extra wait before the "after" memory sample
};

struct Overrides {
  uint32_t subscribers = 0;  // 0 = scenario default
  uint32_t events = 0;       // per phase
  double rate = 0;           // for fixed-rate phases
};

bool BuildPlan(const std::string& name, const Overrides& ov, Plan* plan, std::string* err);

// MQTT-style match of a subscription filter against a published topic
// ('+' one level, '#' the remaining levels).
bool FilterMatches(const std::string& filter, const std::string& topic);

const char* ScenarioNames();

// idle-tls, fanout-light-tls: a plan of its own name whose subscribers speak TLS.
bool IsTlsScenario(const std::string& name);

}  // namespace herald_bench
