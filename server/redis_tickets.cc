// See redis_tickets.h.
#include "server/redis_tickets.h"

#include "auth/secret.h"
#include "server/util/log.h"

namespace herald {
namespace {

bool Up(RedisClient* c) { return c && c->state() == RedisClient::State::kUp; }

}  // namespace

void RedisTicketStore::Issue(const Claims& claims, int64_t ttl_ms, PostFn post, IssuedFn done) {
  redis_->RunOnBridge([this, value = EncodeClaims(claims), ttl_ms, post = std::move(post),
                       done = std::move(done)]() mutable {
    RedisClient* c = redis_->commands();
    std::string ticket = NewSecret();
    auto reply = [c, post, done, ticket](const redisReply* r) {
      const bool ok = r && r->type == REDIS_REPLY_STATUS;
      Result<std::string> out =
          ok ? Result<std::string>(ticket) : Result<std::string>(RedisUnavailable(c));
      post([done, out = std::move(out)]() mutable { done(std::move(out)); });
    };
    if (!Up(c) ||
        !c->Command({"SET", redis_->keys().ticket(ticket), value, "PX", std::to_string(ttl_ms)},
                    reply)) {
      post([done, s = RedisUnavailable(c)] { done(s); });
    }
  });
}

void RedisTicketStore::Redeem(std::string ticket, PostFn post, RedeemedFn done) {
  redis_->RunOnBridge(
      [this, ticket = std::move(ticket), post = std::move(post), done = std::move(done)]() mutable {
        RedisClient* c = redis_->commands();
        auto reply = [c, post, done](const redisReply* r) {
          Result<Claims> out = Status::Unauthorized(kBadTicket);
          if (!r || r->type == REDIS_REPLY_ERROR) {
            out = RedisUnavailable(c);
          } else if (r->type == REDIS_REPLY_STRING) {
            out = DecodeClaims(std::string_view(r->str, r->len));
            if (!out.ok()) {
              LogWarn("auth", 0, "ticket: %s", out.status().reason().c_str());
              out = Status::Unauthorized(kBadTicket);
            }
          }
          post([done, out = std::move(out)]() mutable { done(std::move(out)); });
        };
        if (!Up(c) || !c->Command({"GETDEL", redis_->keys().ticket(ticket)}, reply)) {
          post([done, s = RedisUnavailable(c)] { done(s); });
        }
      });
}

}  // namespace herald
