#include "server/store/redis_url.h"

#include <charconv>

namespace herald {
namespace {

bool ParseInt(std::string_view s, int min, int max, int* out) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) return false;
  *out = v;
  return true;
}

// host, host:port, [v6] or [v6]:port; `port` keeps its default when absent.
Status ParseHostPort(std::string_view rest, std::string* host, int* port) {
  if (rest.empty()) return Status::Config("store.redis_url: missing host");
  std::string_view port_text;
  if (rest.front() == '[') {  // [::1]:6379
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Status::Config("store.redis_url: unclosed [");
    *host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return Status::Config("store.redis_url: junk after ]");
    }
    if (!rest.empty()) port_text = rest.substr(1);
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    *host = std::string(rest.substr(0, colon));
    port_text = rest.substr(colon + 1);
  } else {
    *host = std::string(rest);
  }
  if (host->empty()) return Status::Config("store.redis_url: missing host");
  if (!port_text.empty() && !ParseInt(port_text, 1, 65535, port)) {
    return Status::Config("store.redis_url: port must be 1..65535");
  }
  return Status::Ok();
}

}  // namespace

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  constexpr std::string_view kSentinelScheme = "redis+sentinel://";
  const bool sentinel = url.substr(0, kSentinelScheme.size()) == kSentinelScheme;
  if (!sentinel && url.substr(0, kScheme.size()) != kScheme) {
    return Status::Config("store.redis_url must start with redis:// or redis+sentinel://");
  }
  std::string_view rest = url.substr(sentinel ? kSentinelScheme.size() : kScheme.size());
  RedisEndpoint ep;
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    size_t colon = userinfo.find(':');
    // `redis://user:pw@` or `redis://:pw@`; a bare `redis://pw@` is a password too.
    ep.password =
        std::string(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  std::string_view path;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::string_view db = path;
  if (sentinel) {
    // path: master[/db]
    const size_t slash = path.find('/');
    ep.sentinel_master = std::string(path.substr(0, slash));
    db = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (ep.sentinel_master.empty()) {
      return Status::Config(
          "store.redis_url: redis+sentinel:// needs the master's name: "
          "redis+sentinel://host:26379/mymaster");
    }
    while (true) {
      const size_t comma = rest.find(',');
      RedisHostPort s{"", 26379};
      Status st = ParseHostPort(rest.substr(0, comma), &s.host, &s.port);
      if (!st.ok()) return st;
      ep.sentinels.push_back(std::move(s));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
  } else {
    Status st = ParseHostPort(rest, &ep.host, &ep.port);
    if (!st.ok()) return st;
  }
  if (!db.empty() && !ParseInt(db, 0, 1 << 20, &ep.db)) {
    return Status::Config("store.redis_url: database must be a number");
  }
  return ep;
}

}  // namespace herald
