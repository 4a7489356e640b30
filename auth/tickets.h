// Tickets: short-lived, single-use stand-ins for a JWT in a URL. Browsers'
// EventSource cannot send headers, and a long-lived token in a URL ends up in
// access logs; so `POST /ticket` (with the JWT in the Authorization header)
// trades the verified claims for a random ticket that `?ticket=` redeems once,
// within its TTL. A mutex-guarded map: issued on one worker, redeemed on
// another. No libevent; the clock is passed in.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/claims.h"

namespace herald {

class TicketStore {
 public:
  // Stores `claims` under a new random ticket (auth/secret.h NewSecret) valid
  // until now_ms + ttl_ms, and returns the ticket. At most once a second it
  // first drops expired tickets, so the map stays bounded.
  std::string Issue(const Claims& claims, int64_t now_ms, int64_t ttl_ms);
  // The claims bound to `ticket`, once: the ticket is gone afterwards, and an
  // expired or unknown ticket yields nothing.
  std::optional<Claims> Redeem(std::string_view ticket, int64_t now_ms);
  size_t size() const;

 private:
  struct Entry {
    Claims claims;
    int64_t expires_ms;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> tickets_;
  int64_t next_sweep_ms_ = 0;
};

}  // namespace herald
