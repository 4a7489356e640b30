// Tickets: short-lived, single-use stand-ins for a JWT in a URL. Browsers'
// EventSource cannot send headers, and a long-lived token in a URL ends up in
// access logs; so `POST /ticket` (with the JWT in the Authorization header)
// trades the verified claims for a random ticket that `?ticket=` redeems once,
// within its TTL.
//
// TicketStore is the seam: the memory store keeps tickets in this process
// (store.kind memory); the Redis one (server/redis_tickets.h) keeps them in
// Redis, so a ticket issued on one node is redeemable on any other, once.
// Both answer asynchronously, through the caller's PostFn and never inline
// (as the event Store does), so every caller is written for a later answer.
// Thread-safe: issued on one worker, redeemed on another.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/claims.h"
#include "server/store/store.h"
#include "server/util/status.h"

namespace herald {

class TicketStore {
 public:
  using IssuedFn = std::function<void(Result<std::string> ticket)>;
  // The claims, or kUnauthorized (unknown, used or expired ticket) or
  // kUnavailable (the store cannot answer now; the caller says 503).
  using RedeemedFn = std::function<void(Result<Claims> claims)>;

  virtual ~TicketStore() = default;
  // Stores `claims` under a new random ticket (auth/secret.h NewSecret) valid
  // for `ttl_ms`; `done` gets the ticket through `post`.
  virtual void Issue(const Claims& claims, int64_t ttl_ms, PostFn post, IssuedFn done) = 0;
  // The claims bound to `ticket`, once: the ticket is gone afterwards,
  // whichever node redeemed it.
  virtual void Redeem(std::string ticket, PostFn post, RedeemedFn done) = 0;
};

// The reason every refused redemption gives (no oracle for which case).
inline constexpr const char* kBadTicket = "unknown, used or expired ticket";

// One node: a mutex-guarded map. The synchronous calls take the clock.
class MemoryTicketStore : public TicketStore {
 public:
  void Issue(const Claims& claims, int64_t ttl_ms, PostFn post, IssuedFn done) override;
  void Redeem(std::string ticket, PostFn post, RedeemedFn done) override;

  // At most once a second Issue first drops expired tickets, so the map stays
  // bounded.
  std::string Issue(const Claims& claims, int64_t now_ms, int64_t ttl_ms);
  // Expired or unknown: nothing (and an expired ticket is gone too).
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
