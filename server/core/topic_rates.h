// TopicRates: events published per topic per second, for /state's
// "top_topics" (the dashboard's "top topics by events/s").
//
// Counts are kept in two fixed windows of kWindowMs (the current one and the
// one before); a rate is the events of both over the time they cover, so it
// follows a change within 5-10 s without keeping a timestamp per event. At
// most `max_topics` topics are tracked at once (a topic idle for two windows
// is forgotten); events on topics past that are counted as untracked, so a
// flood of one-off topics costs bounded memory.
//
// Threading: any thread (one mutex; Note is one hash lookup under it, like
// the hub's publish lock it sits next to).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace herald {

class TopicRates {
 public:
  static constexpr int64_t kWindowMs = 5000;
  explicit TopicRates(size_t max_topics = 4096) : max_topics_(max_topics) {}

  void Note(std::string_view topic, int64_t now_ms);

  struct Rate {
    std::string topic;
    double per_s = 0;
  };
  // The `n` busiest topics, busiest first (ties by name).
  std::vector<Rate> Top(size_t n, int64_t now_ms);
  // Events per second on topics not tracked (max_topics reached).
  double UntrackedPerSecond(int64_t now_ms);

 private:
  struct Counts {
    int64_t current = 0;
    int64_t previous = 0;
  };
  void RotateLocked(int64_t now_ms);
  double PerSecondLocked(const Counts& c, int64_t now_ms) const;

  const size_t max_topics_;
  std::mutex mu_;
  int64_t window_start_ms_ = -1;  // -1: nothing noted yet
  bool have_previous_ = false;    // the window before the current one was seen
  std::unordered_map<std::string, Counts> counts_;
  Counts untracked_;
};

}  // namespace herald
