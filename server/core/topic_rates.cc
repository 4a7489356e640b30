#include "server/core/topic_rates.h"

#include <algorithm>

namespace herald {

void TopicRates::RotateLocked(int64_t now_ms) {
  if (window_start_ms_ < 0) {
    window_start_ms_ = now_ms;
    return;
  }
  const int64_t elapsed = now_ms - window_start_ms_;
  if (elapsed < kWindowMs) return;
  // Two windows or more gone by: the previous one saw nothing either.
  const bool adjacent = elapsed < 2 * kWindowMs;
  for (auto it = counts_.begin(); it != counts_.end();) {
    it->second.previous = adjacent ? it->second.current : 0;
    it->second.current = 0;
    it = it->second.previous == 0 ? counts_.erase(it) : std::next(it);
  }
  untracked_.previous = adjacent ? untracked_.current : 0;
  untracked_.current = 0;
  have_previous_ = true;
  window_start_ms_ = now_ms - elapsed % kWindowMs;
}

double TopicRates::PerSecondLocked(const Counts& c, int64_t now_ms) const {
  const int64_t in_current = std::max<int64_t>(now_ms - window_start_ms_, 1);
  const int64_t covered = in_current + (have_previous_ ? kWindowMs : 0);
  return static_cast<double>(c.current + c.previous) * 1000 / static_cast<double>(covered);
}

void TopicRates::Note(std::string_view topic, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  RotateLocked(now_ms);
  auto it = counts_.find(std::string(topic));
  if (it == counts_.end()) {
    if (counts_.size() >= max_topics_) {
      ++untracked_.current;
      return;
    }
    it = counts_.emplace(std::string(topic), Counts{}).first;
  }
  ++it->second.current;
}

std::vector<TopicRates::Rate> TopicRates::Top(size_t n, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Rate> all;
  if (window_start_ms_ < 0) return all;
  RotateLocked(now_ms);
  all.reserve(counts_.size());
  for (const auto& [topic, c] : counts_) all.push_back({topic, PerSecondLocked(c, now_ms)});
  auto busier = [](const Rate& a, const Rate& b) {
    return a.per_s != b.per_s ? a.per_s > b.per_s : a.topic < b.topic;
  };
  if (all.size() > n) {
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), busier);
    all.resize(n);
  } else {
    std::sort(all.begin(), all.end(), busier);
  }
  return all;
}

double TopicRates::UntrackedPerSecond(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (window_start_ms_ < 0) return 0;
  RotateLocked(now_ms);
  return PerSecondLocked(untracked_, now_ms);
}

}  // namespace herald
