// See tickets.h.
#include "auth/tickets.h"

#include <iterator>

#include "auth/secret.h"
#include "server/core/event.h"

namespace herald {

void MemoryTicketStore::Issue(const Claims& claims, int64_t ttl_ms, PostFn post, IssuedFn done) {
  std::string ticket = Issue(claims, NowMs(), ttl_ms);
  post([done = std::move(done), ticket = std::move(ticket)]() mutable { done(std::move(ticket)); });
}

void MemoryTicketStore::Redeem(std::string ticket, PostFn post, RedeemedFn done) {
  std::optional<Claims> claims = Redeem(std::string_view(ticket), NowMs());
  post([done = std::move(done), claims = std::move(claims)]() mutable {
    if (!claims) return done(Status::Unauthorized(kBadTicket));
    done(std::move(*claims));
  });
}

std::string MemoryTicketStore::Issue(const Claims& claims, int64_t now_ms, int64_t ttl_ms) {
  std::string ticket = NewSecret();
  std::lock_guard<std::mutex> lock(mu_);
  // Sweep at most once a second: issuing stays O(1) amortised.
  if (now_ms >= next_sweep_ms_) {
    for (auto it = tickets_.begin(); it != tickets_.end();) {
      it = it->second.expires_ms <= now_ms ? tickets_.erase(it) : std::next(it);
    }
    next_sweep_ms_ = now_ms + 1000;
  }
  tickets_[ticket] = Entry{claims, now_ms + ttl_ms};
  return ticket;
}

std::optional<Claims> MemoryTicketStore::Redeem(std::string_view ticket, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tickets_.find(std::string(ticket));
  if (it == tickets_.end()) return std::nullopt;
  Entry e = std::move(it->second);
  tickets_.erase(it);  // single use, even when it has just expired
  if (e.expires_ms <= now_ms) return std::nullopt;
  return std::move(e.claims);
}

size_t MemoryTicketStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tickets_.size();
}

}  // namespace herald
