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

}  // namespace

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::Config("store.redis_url must start with redis://");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint ep;
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    size_t colon = userinfo.find(':');
    // `redis://user:pw@` or `redis://:pw@`; a bare `redis://pw@` is a password too.
    ep.password =
        std::string(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  std::string_view db;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (rest.empty()) return Status::Config("store.redis_url: missing host");
  std::string_view port;
  if (rest.front() == '[') {  // [::1]:6379
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Status::Config("store.redis_url: unclosed [");
    ep.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return Status::Config("store.redis_url: junk after ]");
    }
    if (!rest.empty()) port = rest.substr(1);
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    ep.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  } else if (!rest.empty()) {
    ep.host = std::string(rest);
  }
  if (ep.host.empty()) return Status::Config("store.redis_url: missing host");
  if (!port.empty() && !ParseInt(port, 1, 65535, &ep.port)) {
    return Status::Config("store.redis_url: port must be 1..65535");
  }
  if (!db.empty() && !ParseInt(db, 0, 1 << 20, &ep.db)) {
    return Status::Config("store.redis_url: database must be a number");
  }
  return ep;
}

}  // namespace herald
