// Where the Redis store connects. Two forms:
//   redis://[[user]:password@]host[:port][/db]
//       one Redis (the form redis-cli -u and most clients accept);
//   redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]
//       Redis Sentinel: the hosts are sentinels (port 26379 by default),
//       asked in turn for the address of `master` on every (re)connect.
// A password in the URL is the simplest way to pass it (it is the master's,
// not the sentinels'); store.redis_password overrides it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/util/status.h"

namespace herald {

struct RedisHostPort {
  std::string host;
  int port = 0;
};

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;  // empty: no AUTH
  // Sentinel: non-empty means host/port above are unused; the master named
  // `sentinel_master` is looked up through these on every connect.
  std::vector<RedisHostPort> sentinels;
  std::string sentinel_master;
};

Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

}  // namespace herald
