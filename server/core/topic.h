// Topics and filters: validation, wildcard detection, level splitting and the brute-force
// symmetric matcher. A topic is a '/'-separated path such as `house/kitchen/temp`; a filter is
// a topic that may hold MQTT wildcards ('+' for exactly one level, '#' for all remaining
// levels, including none). Publishers may use wildcards too (es-web-notify), so matching is
// symmetric and one validator serves both. Everything here is a pure function of its
// arguments: safe to call from any thread, no allocation except for error reasons.
#pragma once

#include <cstddef>
#include <string_view>

#include "server/util/status.h"

namespace herald {

inline constexpr std::string_view kSingleLevelWildcard = "+";
inline constexpr std::string_view kMultiLevelWildcard = "#";

struct TopicLimits {
  size_t max_bytes = 256;
  size_t max_levels = 16;
};

// Validates a topic or filter. Rules, checked in this order so that a topic breaking several
// gets a predictable reason:
//   1..max_bytes bytes                      "Topic is empty", "Topic longer than 256 bytes"
//   valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF)
//                                           "Topic is not valid UTF-8"
//   no control character (C0, DEL, C1)      "Topic has a control character"
//   at most max_levels levels               "Topic deeper than 16 levels"
//   (levels may be empty: `a//b`, `/a`, `a/` are valid, as in MQTT and es-web-notify)
//   '+' and '#' only as a whole level       "Wildcard must be a whole level"
//   '#' only as the last level              "'#' must be the last level"
// The numbers in the reasons are the limits passed in. Errors are Status::BadRequest.
Status ValidateTopic(std::string_view topic, const TopicLimits& limits = TopicLimits());

// True when some level of `topic` is exactly '+' or '#'.
bool HasWildcard(std::string_view topic);

// Does `a` match `b` under the symmetric rule? Level by level, '+' on either side matches
// exactly one level of the other, '#' on either side matches all remaining levels of the other,
// zero or more (so `house/#` matches `house`, as in MQTT). Symmetric: TopicsMatch(a, b) ==
// TopicsMatch(b, a). This is the plain reference matcher, O(levels), used by ACL checks and as
// the oracle for TopicIndex in tests and fuzzing. Meant for validated input; on anything else it
// compares the '/'-separated pieces literally and does not crash.
bool TopicsMatch(std::string_view a, std::string_view b);

// Walks the '/'-separated levels of a topic without allocating. A topic of n slashes has n + 1
// levels, some possibly empty when the topic was not validated ("" is one empty level).
//   for (TopicLevelReader r(topic); !r.done();) { std::string_view level = r.Next(); ... }
class TopicLevelReader {
 public:
  explicit TopicLevelReader(std::string_view topic) : topic_(topic) {}

  bool done() const { return done_; }

  // REQUIRES: !done().
  std::string_view Next() {
    size_t slash = topic_.find('/', pos_);
    if (slash == std::string_view::npos) {
      done_ = true;
      return topic_.substr(pos_);
    }
    std::string_view level = topic_.substr(pos_, slash - pos_);
    pos_ = slash + 1;
    return level;
  }

 private:
  std::string_view topic_;
  size_t pos_ = 0;
  bool done_ = false;
};

}  // namespace herald
