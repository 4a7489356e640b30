#include "server/core/topic.h"

#include <cstdint>
#include <string>

namespace herald {
namespace {

enum class CharError { kNone, kInvalidUtf8, kControl };

bool IsContinuation(uint8_t c) { return (c & 0xC0) == 0x80; }

// Checks UTF-8 by the table in RFC 3629 section 4, which rules out overlong forms, UTF-16
// surrogates and code points above U+10FFFF by narrowing the range of the second byte. Control
// characters are refused too: a topic is echoed in logs, JSON and the dashboard, where a stray
// newline, escape or C1 code (U+0080..U+009F) would corrupt the output or forge lines.
CharError CheckCharacters(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const uint8_t* end = p + s.size();
  while (p < end) {
    uint8_t c = *p;
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return CharError::kControl;
      ++p;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return CharError::kInvalidUtf8;  // continuation byte, C0/C1 overlong lead, or F5..FF
    }
    if (static_cast<size_t>(end - p) < len) return CharError::kInvalidUtf8;
    if (p[1] < lo || p[1] > hi) return CharError::kInvalidUtf8;
    for (size_t i = 2; i < len; ++i) {
      if (!IsContinuation(p[i])) return CharError::kInvalidUtf8;
    }
    if (c == 0xC2 && p[1] <= 0x9F) return CharError::kControl;  // C1 controls
    p += len;
  }
  return CharError::kNone;
}

bool IsWildcard(std::string_view level) {
  return level == kSingleLevelWildcard || level == kMultiLevelWildcard;
}

}  // namespace

Status ValidateTopic(std::string_view topic, const TopicLimits& limits) {
  if (topic.empty()) return Status::BadRequest("Topic is empty");
  if (topic.size() > limits.max_bytes) {
    return Status::BadRequest("Topic longer than " + std::to_string(limits.max_bytes) + " bytes");
  }
  switch (CheckCharacters(topic)) {
    case CharError::kInvalidUtf8:
      return Status::BadRequest("Topic is not valid UTF-8");
    case CharError::kControl:
      return Status::BadRequest("Topic has a control character");
    case CharError::kNone:
      break;
  }
  // Depth first, over the whole topic, so that the reason does not depend on where in a
  // too-deep topic some other fault sits.
  size_t levels = 1;
  for (char c : topic) levels += (c == '/');
  if (levels > limits.max_levels) {
    return Status::BadRequest("Topic deeper than " + std::to_string(limits.max_levels) + " levels");
  }
  for (TopicLevelReader r(topic); !r.done();) {
    std::string_view level = r.Next();
    if (level.find_first_of("+#") != std::string_view::npos && !IsWildcard(level)) {
      return Status::BadRequest("Wildcard must be a whole level");
    }
    if (level == kMultiLevelWildcard && !r.done()) {
      return Status::BadRequest("'#' must be the last level");
    }
  }
  return Status::Ok();
}

bool HasWildcard(std::string_view topic) {
  for (TopicLevelReader r(topic); !r.done();) {
    if (IsWildcard(r.Next())) return true;
  }
  return false;
}

bool TopicsMatch(std::string_view a, std::string_view b) {
  TopicLevelReader ra(a), rb(b);
  while (!ra.done() && !rb.done()) {
    std::string_view la = ra.Next(), lb = rb.Next();
    if (la == kMultiLevelWildcard || lb == kMultiLevelWildcard) return true;
    if (la != kSingleLevelWildcard && lb != kSingleLevelWildcard && la != lb) return false;
  }
  if (ra.done() && rb.done()) return true;
  // One side has levels left: they match only as a trailing '#', which may match zero levels
  // (`a/#` matches `a`). Anything else there ('+' included) needs a level the other side lacks.
  TopicLevelReader& rest = ra.done() ? rb : ra;
  return rest.Next() == kMultiLevelWildcard;
}

}  // namespace herald
