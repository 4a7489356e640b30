// RedisAclSource: the ACL of bound topics read from a Redis hash
// (auth.acl_source redis), for operators who keep it in a database as
// es-web-notify did. `<p>acl` holds one field per bound topic, its value the
// record JSON of the ACL file ({"ep","owner","pub","sub","pub_password"}).
//
// Each node caches the whole hash as an immutable Acl and swaps it into the
// node atomically (`install`), so the one authorization decision
// (server/delivery_policy.h, the publish and subscribe checks) reads records
// as before; only their source changes. A reload (HGETALL, one round trip)
// happens at start (retried every 100 ms until Redis answers), on every
// publish to `<p>acl:changed` (so a change reaches every node within a round
// trip), and every auth.acl_refresh_ms (a change made while a node was away
// from Redis, or written without the publish). A record that does not parse,
// or whose ep is not its field, is refused (left out: its topic is not
// registered, so bound subscribes and publishes to it get 403) with one
// error line in the log; the other records still load.
//
// Threading: Start from any thread; everything else runs on the Redis
// store's bridge loop. `install` is called there.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>

#include "auth/acl.h"
#include "server/store/redis_store.h"
#include "server/util/c_handles.h"

namespace herald {

class RedisAclSource {
 public:
  using InstallFn = std::function<void(std::shared_ptr<const Acl>)>;
  // `redis` outlives this source and its bridge stops before it is destroyed.
  RedisAclSource(RedisStore* redis, int64_t refresh_ms, InstallFn install);
  // REQUIRES: the bridge still runs (destroy this before the store). Waits
  // for the bridge to drop the timer and the listener.
  ~RedisAclSource();
  void Start();

 private:
  static void OnTimer(evutil_socket_t, short, void* arg);
  void Load();
  void OnLoaded(const redisReply* reply);
  void Arm(int64_t ms);

  RedisStore* const redis_;
  const int64_t refresh_ms_;
  InstallFn install_;
  // Bridge thread only.
  EventPtr timer_;
  bool loaded_ = false;
  bool loading_ = false;
  // False once destroyed: a reply still on its way finds it so.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::map<std::string, std::string> refused_;  // field -> value already logged
};

}  // namespace herald
