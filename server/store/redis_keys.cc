#include "server/store/redis_keys.h"

#include <charconv>

namespace herald {
namespace {

// Glob metacharacters in a literal level must not act as patterns.
void AppendGlobEscaped(std::string* out, std::string_view s) {
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') *out += '\\';
    *out += c;
  }
}

template <class T>
bool ReadNumber(std::string_view* s, char end, T* out) {
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), *out);
  if (ec != std::errc() || p == s->data() + s->size() || *p != end) return false;
  s->remove_prefix(static_cast<size_t>(p - s->data()) + 1);
  return true;
}

}  // namespace

std::string RedisKeys::pattern(std::string_view filter) const {
  std::string out = p_ + "t:";
  std::string_view rest = filter;
  std::string prefix;
  bool first = true;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view level = rest.substr(0, slash);
    if (level == "+" || level == "#") {
      AppendGlobEscaped(&out, prefix);
      // `a/#` also matches `a` itself, so no slash before the star.
      out += level == "#" || first ? "*" : "/*";
      return out;
    }
    if (!first) prefix += '/';
    prefix += level;
    first = false;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  AppendGlobEscaped(&out, prefix);  // no wildcard: the channel itself
  return out;
}

std::string_view RedisKeys::TopicOf(std::string_view channel) const {
  const std::string head = p_ + "t:";
  if (channel.substr(0, head.size()) != head) return {};
  return channel.substr(head.size());
}

std::string EncodeStoredEvent(const StoredEvent& ev) {
  std::string out = std::to_string(ev.topic.size());
  out += ':';
  out += ev.topic;
  out += std::to_string(ev.iat_ms);
  out += ' ';
  out += std::to_string(ev.whisper);
  out += ' ';
  out += std::to_string((ev.presence ? 1 : 0) | (ev.bound ? 2 : 0));
  out += ' ';
  out += ev.e_json;
  return out;
}

Result<StoredEvent> DecodeStoredEvent(std::string_view s) {
  StoredEvent ev;
  size_t len = 0;
  if (!ReadNumber(&s, ':', &len) || len > s.size()) {
    return Status::Internal("stored event: bad topic length");
  }
  ev.topic = std::string(s.substr(0, len));
  s.remove_prefix(len);
  int flags = 0;
  if (!ReadNumber(&s, ' ', &ev.iat_ms) || !ReadNumber(&s, ' ', &ev.whisper) ||
      !ReadNumber(&s, ' ', &flags) || flags < 0 || flags > 3 || ev.iat_ms < 0) {
    return Status::Internal("stored event: bad header");
  }
  ev.presence = flags & 1;
  ev.bound = flags & 2;
  ev.e_json = std::string(s);
  return ev;
}

}  // namespace herald
