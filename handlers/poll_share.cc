// See poll_share.h.
#include "handlers/poll_share.h"

#include <future>

#include "auth/secret.h"
#include "handlers/admission.h"
#include "server/context.h"
#include "server/core/connid.h"
#include "server/core/event.h"
#include "server/store/redis_script.h"
#include "server/transport/poll_session.h"
#include "server/util/json.h"
#include "server/util/log.h"
#include "server/worker.h"

namespace herald {
namespace {

// KEYS[1] the session's hash; ARGV: this node, the TTL (ms), the move
// channels' prefix, the connid. Nil when there is no such session.
const RedisScript& ClaimScript() {
  static const RedisScript script(R"lua(
local rec = redis.call('HGET', KEYS[1], 'rec')
if not rec then return false end
local prev = redis.call('HGET', KEYS[1], 'node')
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'node', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if prev and prev ~= ARGV[1] then
  redis.call('PUBLISH', ARGV[3] .. prev, ARGV[4] .. ' ' .. gen)
end
return {prev or '', gen, rec}
)lua");
  return script;
}

// KEYS[1] the session's hash; ARGV: the move channels' prefix, the connid,
// the reason. The record goes; its owner closes the session.
const RedisScript& KickScript() {
  static const RedisScript script(R"lua(
local owner = redis.call('HGET', KEYS[1], 'node')
redis.call('DEL', KEYS[1])
if owner then
  redis.call('PUBLISH', ARGV[1] .. owner, 'kick ' .. ARGV[2] .. ' ' .. ARGV[3])
end
return owner
)lua");
  return script;
}

std::string Str(const cJSON* root, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(root, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

int64_t Int(const cJSON* root, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(root, key);
  return cJSON_IsNumber(v) ? static_cast<int64_t>(v->valuedouble) : 0;
}

}  // namespace

struct PollShare::Claim {
  static Claim Failed(Status s) {
    Claim c;
    c.status = std::move(s);
    return c;
  }
  Status status;
  bool found = false;
  int prev_node = -1;
  uint64_t gen = 0;
  std::string rec;
};

std::string EncodePollSession(const Connection& s) {
  std::string out = "{\"secret\":" + JsonString(s.secret) + ",\"clid\":" + JsonString(s.clid) +
                    ",\"space\":" + JsonString(s.space) + ",\"user\":" + JsonString(s.user) +
                    ",\"remote_ip\":" + JsonString(s.remote_ip) + ",\"filters\":[";
  bool first = true;
  for (auto* sub : s.subscriptions) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(&out, ConnectionIndex::FilterOf(sub));
  }
  out += "],\"auth_pending\":" + std::string(s.auth_pending ? "true" : "false") +
         ",\"auth_deadline_ms\":" + std::to_string(s.auth_deadline_ms) +
         ",\"token_exp_s\":" + std::to_string(s.token_exp_s) +
         ",\"token_leeway_s\":" + std::to_string(s.token_leeway_s) +
         ",\"since_ms\":" + std::to_string(s.since_ms) + "}";
  return out;
}

Status DecodePollSession(const std::string& rec, Connection* s, std::vector<std::string>* filters) {
  CJsonPtr root = ParseJson(rec);
  const cJSON* list = cJSON_GetObjectItemCaseSensitive(root.get(), "filters");
  if (!cJSON_IsObject(root.get()) || !cJSON_IsArray(list) || Str(root.get(), "secret").empty()) {
    return Status::Internal("poll session record: malformed");
  }
  s->secret = Str(root.get(), "secret");
  s->clid = Str(root.get(), "clid");
  s->space = Str(root.get(), "space");
  s->user = Str(root.get(), "user");
  s->remote_ip = Str(root.get(), "remote_ip");
  s->remote = s->remote_ip;
  s->auth_pending = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root.get(), "auth_pending"));
  s->auth_deadline_ms = Int(root.get(), "auth_deadline_ms");
  s->token_exp_s = Int(root.get(), "token_exp_s");
  s->token_leeway_s = Int(root.get(), "token_leeway_s");
  s->since_ms = Int(root.get(), "since_ms");
  const cJSON* f;
  cJSON_ArrayForEach(f, list) {
    if (!cJSON_IsString(f)) return Status::Internal("poll session record: malformed filter");
    filters->emplace_back(f->valuestring);
  }
  return Status::Ok();
}

PollShare::PollShare(ServerContext* ctx, RedisStore* redis)
    : ctx_(ctx), redis_(redis), node_(redis->node_id()) {}

PollShare::~PollShare() {
  std::promise<void> dropped;
  redis_->RunOnBridge([this, &dropped] {
    *alive_ = false;
    redis_->Listen(redis_->keys().poll_moves(node_), [](std::string_view) {});
    dropped.set_value();
  });
  dropped.get_future().wait();
}

void PollShare::Start() {
  redis_->RunOnBridge([this] {
    redis_->Listen(redis_->keys().poll_moves(node_),
                   [this](std::string_view payload) { OnMessage(payload); });
  });
}

void PollShare::Save(const Connection& session, bool start) {
  const PollConfig& poll = ctx_->config.poll;
  // The record outlives the session's idle TTL by a held poll's longest hold.
  const std::string ttl = std::to_string(poll.session_ttl_ms + poll.max_timeout_ms);
  redis_->RunOnBridge([this, key = redis_->keys().poll_session(session.id()),
                       rec = EncodePollSession(session), ttl, start] {
    RedisClient* c = redis_->commands();
    if (!c || c->state() != RedisClient::State::kUp) {
      LogWarn("poll", 0, "%s not saved: Redis down (the session cannot move)", key.c_str());
      return;
    }
    if (start) {
      c->Command({"HSET", key, "rec", rec, "node", std::to_string(node_), "gen", "0"}, nullptr);
    } else {
      c->Command({"HSET", key, "rec", rec}, nullptr);
    }
    c->Command({"PEXPIRE", key, ttl}, nullptr);
  });
}

void PollShare::Kick(uint64_t connid, const std::string& reason) {
  redis_->RunOnBridge([this, connid, reason] {
    RedisClient* c = redis_->commands();
    if (!c || c->state() != RedisClient::State::kUp) return;
    KickScript().Run(*c, {redis_->keys().poll_session(connid)},
                     {redis_->keys().poll_moves_prefix(), std::to_string(connid), reason},
                     [](const redisReply*) {});  // Run calls its callback: never null
  });
}

void PollShare::WithSession(uint64_t connid, std::string secret, Responder done, SessionTask then) {
  Worker* target = ctx_->workers[SessionWorker(connid, ctx_->workers.size())].get();
  const PollConfig& poll = ctx_->config.poll;
  const std::string ttl = std::to_string(poll.session_ttl_ms + poll.max_timeout_ms);
  redis_->RunOnBridge([this, target, connid, ttl, secret = std::move(secret),
                       done = std::move(done), then = std::move(then)]() mutable {
    RedisClient* c = redis_->commands();
    auto finish = [this, target, connid, secret, done, then](Claim claim) mutable {
      target->LoopPost()(
          [this, target, connid, secret, claim = std::move(claim), done, then]() mutable {
            OnClaimed(target, connid, secret, std::move(claim), std::move(done), std::move(then));
          });
    };
    if (!c || c->state() != RedisClient::State::kUp)
      return finish(Claim::Failed(RedisUnavailable(c)));
    const bool sent = ClaimScript().Run(
        *c, {redis_->keys().poll_session(connid)},
        {std::to_string(node_), ttl, redis_->keys().poll_moves_prefix(), std::to_string(connid)},
        [c, finish, alive = alive_](const redisReply* r) mutable {
          if (!*alive) return;
          Claim claim;
          if (!r || r->type == REDIS_REPLY_ERROR) {
            claim.status = RedisUnavailable(c);
          } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
            claim.found = true;
            if (!ParseDecimal(ReplyText(r->element[0]), &claim.prev_node)) claim.prev_node = -1;
            claim.gen = static_cast<uint64_t>(r->element[1]->integer);
            claim.rec = std::string(ReplyText(r->element[2]));
          }
          finish(std::move(claim));
        });
    if (!sent) finish(Claim::Failed(RedisUnavailable(c)));
  });
}

void PollShare::OnClaimed(Worker* target, uint64_t connid, const std::string& secret, Claim claim,
                          Responder done, SessionTask then) {
  Connection* c = target->Find(connid);
  const bool local = c && !c->closing && c->transport() == Transport::kPoll;
  if (!claim.status.ok() || !claim.found) {
    if (!local) {
      return done(claim.status.ok()
                      ? HttpResponse::FromStatus(Status::Gone("Unknown or expired session"))
                      : UnavailableResponse(claim.status));
    }
    if (!SecretsEqual(c->secret, secret)) {
      return done(HttpResponse::FromStatus(Status::BadRequest("Invalid data")));
    }
    if (claim.status.ok()) Save(*c, true);  // Redis has no record: register it again
    return then(target, static_cast<PollConnection*>(c), std::move(done));
  }
  PollConnection* session = nullptr;
  if (local && claim.prev_node == node_) {
    session = static_cast<PollConnection*>(c);  // it stayed here
  } else {
    // A copy from before the session moved away and back is stale.
    if (local) target->Close(c, CloseReason::kClient);
    Status refused;
    session = Adopt(target, connid, claim.rec, secret, &refused);
    if (!session) return done(HttpResponse::FromStatus(refused));
  }
  session->share_gen = claim.gen;
  if (!SecretsEqual(session->secret, secret)) {
    return done(HttpResponse::FromStatus(Status::BadRequest("Invalid data")));
  }
  then(target, session, std::move(done));
}

PollConnection* PollShare::Adopt(Worker* target, uint64_t connid, const std::string& rec,
                                 const std::string& secret, Status* refused) {
  auto conn = std::make_unique<PollConnection>(connid, target);
  std::vector<std::string> filters;
  Status s = DecodePollSession(rec, conn.get(), &filters);
  if (!s.ok()) {
    LogWarn("poll", connid, "%s", s.reason().c_str());
    *refused = Status::Gone("Unknown or expired session");
    return nullptr;
  }
  // A wrong secret adopts nothing.
  if (!SecretsEqual(conn->secret, secret)) {
    *refused = Status::BadRequest("Invalid data");
    return nullptr;
  }
  // The owner's auth decision, applied as it would have applied it now.
  const int64_t now = NowMs();
  if (conn->token_exp_s != 0 && now / 1000 >= conn->token_exp_s + conn->token_leeway_s) {
    *refused = Status::Unauthorized("unauthorized: token expired");
  } else if (conn->auth_pending && now >= conn->auth_deadline_ms) {
    *refused = Status::Unauthorized("unauthorized: not authenticated in time");
  }
  if (!refused->ok()) {
    Kick(connid, "unauthorized");
    return nullptr;
  }
  Status admitted = AdmitConnection(*ctx_, conn->remote_ip, true);
  if (!admitted.ok()) {
    *refused = admitted;
    return nullptr;
  }
  LogDebug("poll", connid, "session adopted from Redis (filters=%zu)", filters.size());
  Connection* c = target->Adopt(std::move(conn), filters);
  if (c->auth_pending || c->token_exp_s != 0) target->WatchAuth(c);
  AnnouncePresence(*ctx_, c);
  return static_cast<PollConnection*>(c);
}

void PollShare::OnMessage(std::string_view payload) {
  // "<connid> <gen>" (moved away) or "kick <connid> <reason>".
  const bool kick = payload.substr(0, 5) == "kick ";
  if (kick) payload.remove_prefix(5);
  const size_t sp = payload.find(' ');
  uint64_t connid = 0;
  if (sp == std::string_view::npos || !ParseDecimal(payload.substr(0, sp), &connid) ||
      ctx_->workers.empty()) {
    LogWarn("poll", 0, "malformed session notice");
    return;
  }
  std::string arg(payload.substr(sp + 1));
  uint64_t gen = 0;
  if (!kick && !ParseDecimal(std::string_view(arg), &gen)) return;
  Worker* w = ctx_->workers[SessionWorker(connid, ctx_->workers.size())].get();
  w->Post([w, connid, kick, arg = std::move(arg), gen] {
    Connection* c = w->Find(connid);
    if (!c || c->closing || c->transport() != Transport::kPoll) return;
    if (kick) {
      c->close_text = arg;
      return w->Close(c, CloseReason::kKicked);
    }
    // Claimed again here since: this copy is the live one.
    if (static_cast<PollConnection*>(c)->share_gen >= gen) return;
    LogDebug("poll", connid, "session moved to another node");
    w->Close(c, CloseReason::kClient);
  });
}

}  // namespace herald
