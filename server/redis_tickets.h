// RedisTicketStore: tickets (auth/tickets.h) shared by every node of a
// cluster. A ticket is `SET <p>tk:<ticket> <claims JSON> PX <ttl>`; redeeming
// it is one `GETDEL`, atomic in Redis, so of any number of nodes redeeming
// one ticket at once exactly one gets the claims, and Redis's expiry ends it
// at its TTL. One round trip each, on the Redis store's command connection.
// Redis down: kUnavailable (the caller answers 503 with Retry-After).
//
// Threading: any thread; the commands run on the store's bridge loop and the
// answers come back through the caller's PostFn.
#pragma once

#include "auth/tickets.h"
#include "server/store/redis_store.h"

namespace herald {

class RedisTicketStore : public TicketStore {
 public:
  // `redis` outlives this store.
  explicit RedisTicketStore(RedisStore* redis) : redis_(redis) {}
  void Issue(const Claims& claims, int64_t ttl_ms, PostFn post, IssuedFn done) override;
  void Redeem(std::string ticket, PostFn post, RedeemedFn done) override;

 private:
  RedisStore* const redis_;
};

}  // namespace herald
