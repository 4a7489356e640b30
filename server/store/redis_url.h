// Where the Redis store connects: `redis://[[user]:password@]host[:port][/db]`
// (the form redis-cli -u and most clients accept). A password in the URL is
// the simplest way to pass it; store.redis_password overrides it.
#pragma once

#include <string>
#include <string_view>

#include "server/util/status.h"

namespace herald {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;  // empty: no AUTH
};

Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

}  // namespace herald
