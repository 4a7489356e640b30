#include "server/store/redis_client.h"

#include <hiredis/async.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "server/store/redis_libevent.h"
#include "server/util/log.h"

namespace herald {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ReplyError(const redisReply* reply) {
  if (!reply) return "no reply";
  if (reply->type == REDIS_REPLY_ERROR) return std::string(reply->str, reply->len);
  return {};
}

}  // namespace

// One command in flight: hiredis hands it back to OnReply exactly once.
struct RedisClient::Pending {
  RedisClient* client;
  uint64_t generation;
  ReplyFn done;
};

std::string_view ReplyText(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string_view(r->str, r->len)
             : std::string_view();
}

Status RedisUnavailable(const std::string& detail) {
  return Status::Unavailable("Redis " + (detail.empty() ? std::string("down") : detail));
}

Status RedisUnavailable(const RedisClient* client) {
  return RedisUnavailable(client ? client->detail() : std::string());
}

const char* RedisStateName(RedisClient::State state) {
  switch (state) {
    case RedisClient::State::kConnecting:
      return "connecting";
    case RedisClient::State::kUp:
      return "up";
    case RedisClient::State::kDown:
      return "down";
  }
  return "?";
}

RedisClient::RedisClient(event_base* base, RedisClientOptions options, StateFn on_state,
                         MessageFn on_message)
    : base_(base),
      options_(std::move(options)),
      on_state_(std::move(on_state)),
      on_message_(std::move(on_message)),
      rng_(std::random_device{}()) {}

RedisClient::~RedisClient() {
  on_state_ = nullptr;
  EndSentinelQuery();
  if (ctx_) {
    redisAsyncContext* c = ctx_;
    ctx_ = nullptr;
    c->data = nullptr;
    redisAsyncFree(c);  // fails every pending command with a null reply
  }
}

void RedisClient::Start() {
  const int tick =
      std::clamp(std::min(options_.connect_timeout_ms, options_.command_timeout_ms) / 4, 10, 250);
  timer_.reset(event_new(base_, -1, EV_PERSIST, &RedisClient::OnTimer, this));
  timeval tv{tick / 1000, (tick % 1000) * 1000};
  if (event_add(timer_.get(), &tv) != 0) LogError("redis", 0, "event_add(watchdog) failed");
  reconnect_timer_.reset(event_new(base_, -1, 0, &RedisClient::OnReconnectTimer, this));
  Connect();
}

void RedisClient::SetState(State state, std::string detail) {
  if (state != State::kUp) {  // the connection's subscriptions went with it
    replies_due_.clear();
    confirmed_.clear();
  }
  if (state == state_ && detail == detail_) return;
  state_ = state;
  detail_ = std::move(detail);
  if (on_state_) on_state_(state_, detail_);
}

void RedisClient::Connect() {
  const RedisEndpoint& ep = options_.endpoint;
  if (ep.sentinels.empty()) return ConnectTo(ep.host, ep.port);
  sentinel_errors_.clear();
  AskSentinel(0, "");
}

std::string RedisClient::address() const {
  if (port_ == 0) return options_.endpoint.host + ":" + std::to_string(options_.endpoint.port);
  return host_ + ":" + std::to_string(port_);
}

void RedisClient::AskSentinel(size_t index, std::string why) {
  const std::vector<RedisHostPort>& sentinels = options_.endpoint.sentinels;
  if (!why.empty()) {
    const RedisHostPort& s = sentinels[sentinel_index_];
    sentinel_errors_ +=
        (sentinel_errors_.empty() ? "" : "; ") + s.host + ":" + std::to_string(s.port) + " " + why;
  }
  if (index >= sentinels.size()) {
    SetState(State::kDown, "no sentinel named master " + options_.endpoint.sentinel_master + " (" +
                               sentinel_errors_ + ")");
    ScheduleReconnect();
    return;
  }
  sentinel_index_ = index;
  connect_started_ms_ = SteadyMs();
  redisAsyncContext* c = redisAsyncConnect(sentinels[index].host.c_str(), sentinels[index].port);
  if (!c || c->err) {
    std::string err = c ? c->errstr : "out of memory";
    if (c) redisAsyncFree(c);
    return AskSentinel(index + 1, err);
  }
  sentinel_ctx_ = c;
  AttachRedisToLoop(c, base_);
  const std::string& master = options_.endpoint.sentinel_master;
  const char* args[] = {"SENTINEL", "get-master-addr-by-name", master.c_str()};
  const size_t lens[] = {8, 23, master.size()};
  // A failed connect also ends here, with a null reply.
  if (redisAsyncCommandArgv(c, &RedisClient::OnSentinelReply, this, 3, args, lens) != REDIS_OK) {
    EndSentinelQuery();
    AskSentinel(index + 1, "cannot send");
  }
}

void RedisClient::OnSentinelReply(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<RedisClient*>(privdata);
  if (ac != self->sentinel_ctx_) return;  // given up on (timeout, destructor)
  self->sentinel_ctx_ = nullptr;          // hiredis frees it after this callback
  const auto* r = static_cast<const redisReply*>(reply);
  if (r) redisAsyncDisconnect(ac);
  if (!r) return self->AskSentinel(self->sentinel_index_ + 1, ac->errstr[0] ? ac->errstr : "lost");
  self->OnSentinelAnswer(r);
}

void RedisClient::OnSentinelAnswer(const redisReply* r) {
  // ["host", "port"], or nil when this sentinel does not know the master.
  int port = 0;
  std::string_view port_text = r->type == REDIS_REPLY_ARRAY && r->elements == 2
                                   ? ReplyText(r->element[1])
                                   : std::string_view();
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      ReplyText(r->element[0]).empty()) {
    std::string err = ReplyError(r);
    return AskSentinel(sentinel_index_ + 1, err.empty() ? "does not know it" : err);
  }
  std::string host(ReplyText(r->element[0]));
  if (host != host_ || port != port_) {
    const RedisHostPort& s = options_.endpoint.sentinels[sentinel_index_];
    LogInfo("redis", 0, "sentinel %s:%d: master %s is %s:%d", s.host.c_str(), s.port,
            options_.endpoint.sentinel_master.c_str(), host.c_str(), port);
  }
  ConnectTo(host, port);
}

void RedisClient::EndSentinelQuery() {
  if (!sentinel_ctx_) return;
  redisAsyncContext* c = sentinel_ctx_;
  sentinel_ctx_ = nullptr;  // OnSentinelReply: no longer ours
  redisAsyncFree(c);
}

void RedisClient::ConnectTo(const std::string& host, int port) {
  host_ = host;
  port_ = port;
  ctx_ = redisAsyncConnect(host.c_str(), port);
  connect_started_ms_ = SteadyMs();
  ++generation_;
  sent_ms_.clear();
  if (!ctx_ || ctx_->err) {
    std::string why = ctx_ ? ctx_->errstr : "out of memory";
    if (ctx_) redisAsyncFree(ctx_);
    ctx_ = nullptr;
    SetState(State::kDown, "connect: " + why);
    ScheduleReconnect();
    return;
  }
  ctx_->data = this;
  // An idle connection (the subscribe one) to a server that vanished without
  // closing it (a partition, a dead host) is noticed by TCP keepalive: no
  // command is pending there for the watchdog to time out.
  redisEnableKeepAlive(&ctx_->c);
  AttachRedisToLoop(ctx_, base_);
  redisAsyncSetConnectCallback(ctx_, &RedisClient::OnConnect);
  redisAsyncSetDisconnectCallback(ctx_, &RedisClient::OnDisconnect);
  SetState(State::kConnecting, detail_);
  Handshake();
}

// AUTH and SELECT are queued before the socket connects; hiredis sends them
// first. PING's answer says the connection is usable.
void RedisClient::Handshake() {
  const RedisEndpoint& ep = options_.endpoint;
  auto check = [this](const char* what) {
    return [this, what](const redisReply* reply) {
      std::string err = ReplyError(reply);
      if (!err.empty() && ctx_) Drop(std::string(what) + ": " + err);
    };
  };
  if (!ep.password.empty()) Send({"AUTH", ep.password}, check("AUTH"));
  if (ep.db != 0) Send({"SELECT", std::to_string(ep.db)}, check("SELECT"));
  if (!ep.sentinels.empty()) {
    // The sentinels may still name a master that was just demoted.
    Send({"ROLE"}, [this](const redisReply* reply) {
      if (!reply || !ctx_) return;
      std::string_view role = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
                                  ? ReplyText(reply->element[0])
                                  : std::string_view();
      if (role != "master")
        Drop("ROLE is " + std::string(role.empty() ? "?" : role) + ", not master");
    });
  }
  Send({"PING"}, [this](const redisReply* reply) {
    if (!reply || reply->type == REDIS_REPLY_ERROR || !ctx_) return;  // Drop already ran
    backoff_ms_ = 0;
    SetState(State::kUp, "");
    for (const auto& [key, kind] : subscriptions_) {
      SendSubscription(kind, key.substr(kind.size() + 1));
    }
  });
}

void RedisClient::Drop(const std::string& why) {
  if (!ctx_) return;
  LogWarn("redis", 0, "%s: %s", address().c_str(), why.c_str());
  redisAsyncContext* c = ctx_;
  ctx_ = nullptr;
  c->data = nullptr;  // OnDisconnect: ours, not a second reconnect
  ++generation_;
  sent_ms_.clear();
  SetState(State::kDown, why);
  redisAsyncFree(c);
  ScheduleReconnect();
}

void RedisClient::ScheduleReconnect() {
  backoff_ms_ = backoff_ms_ == 0 ? options_.backoff_min_ms
                                 : std::min(backoff_ms_ * 2, options_.backoff_max_ms);
  // Half fixed, half random: spread, but never sooner than half the backoff.
  const int delay = backoff_ms_ / 2 + static_cast<int>(rng_() % (backoff_ms_ / 2 + 1));
  timeval tv{delay / 1000, (delay % 1000) * 1000};
  if (event_add(reconnect_timer_.get(), &tv) != 0) {
    LogError("redis", 0, "event_add(reconnect) failed");
  }
}

void RedisClient::OnReconnectTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<RedisClient*>(arg);
  ++self->reconnects_;
  self->Connect();
}

void RedisClient::OnTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<RedisClient*>(arg);
  const int64_t now = SteadyMs();
  if (self->sentinel_ctx_ && now - self->connect_started_ms_ > self->options_.connect_timeout_ms) {
    self->EndSentinelQuery();
    return self->AskSentinel(self->sentinel_index_ + 1, "timeout");
  }
  if (!self->ctx_) return;
  if (self->state_ != State::kUp) {
    // The handshake's commands count against the connect timeout, not their own.
    if (now - self->connect_started_ms_ > self->options_.connect_timeout_ms) {
      self->Drop("connect timeout");
    }
  } else if (!self->sent_ms_.empty() &&
             now - self->sent_ms_.front() > self->options_.command_timeout_ms) {
    self->Drop("command timeout");
  }
}

void RedisClient::OnConnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (!self || status == REDIS_OK) return;
  // hiredis frees the context after this callback.
  self->ctx_ = nullptr;
  ++self->generation_;
  self->sent_ms_.clear();
  self->SetState(State::kDown, std::string("connect: ") + ac->errstr);
  self->ScheduleReconnect();
}

void RedisClient::OnDisconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (!self) return;  // Drop() or the destructor ended it
  self->ctx_ = nullptr;
  ++self->generation_;
  self->sent_ms_.clear();
  self->SetState(State::kDown,
                 status == REDIS_OK ? "disconnected" : std::string("lost: ") + ac->errstr);
  self->ScheduleReconnect();
}

bool RedisClient::Command(const std::vector<std::string>& argv, ReplyFn done) {
  if (state_ != State::kUp || !ctx_) return false;
  return Send(argv, std::move(done));
}

bool RedisClient::Send(const std::vector<std::string>& argv, ReplyFn done) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* pending = new Pending{this, generation_, std::move(done)};
  if (redisAsyncCommandArgv(ctx_, &RedisClient::OnReply, pending, static_cast<int>(args.size()),
                            args.data(), lens.data()) != REDIS_OK) {
    delete pending;
    return false;
  }
  sent_ms_.push_back(SteadyMs());
  return true;
}

void RedisClient::OnReply(redisAsyncContext*, void* reply, void* privdata) {
  // Owned here from the moment hiredis hands it back, whatever happens next.
  std::unique_ptr<Pending> pending(static_cast<Pending*>(privdata));
  RedisClient* self = pending->client;
  if (pending->generation == self->generation_ && !self->sent_ms_.empty()) {
    self->sent_ms_.pop_front();
    if (reply) ++self->round_trips_;
  }
  const auto* r = static_cast<const redisReply*>(reply);
  if (pending->done) pending->done(r);
  // A replica (a demoted master) refuses writes: find the master again.
  if (r && r->type == REDIS_REPLY_ERROR && pending->generation == self->generation_ &&
      std::string_view(r->str, r->len).substr(0, 8) == "READONLY") {
    self->Drop(std::string(r->str, r->len));
  }
}

void RedisClient::Subscribe(const std::string& kind, const std::string& channel) {
  if (!subscriptions_.emplace(kind + " " + channel, kind).second) return;
  if (state_ == State::kUp && ctx_) SendSubscription(kind, channel);
}

void RedisClient::Unsubscribe(const std::string& kind, const std::string& channel) {
  const std::string key = kind + " " + channel;
  if (subscriptions_.erase(key) == 0) return;
  confirmed_.erase(key);
  if (state_ != State::kUp || !ctx_) return;  // a reconnect will not send it again
  const std::string un = kind == "PSUBSCRIBE" ? "PUNSUBSCRIBE" : "UNSUBSCRIBE";
  const char* args[] = {un.c_str(), channel.c_str()};
  const size_t lens[] = {un.size(), channel.size()};
  redisAsyncCommandArgv(ctx_, &RedisClient::OnSubscriptionReply, this, 2, args, lens);
}

bool RedisClient::Confirmed(const std::string& kind, std::string_view channel) const {
  std::string key = kind + " ";
  key += channel;
  return confirmed_.count(key) > 0;
}

void RedisClient::SendSubscription(const std::string& kind, const std::string& channel) {
  ++replies_due_[kind + " " + channel];
  // hiredis keeps this callback for the channel and calls it per message.
  const char* args[] = {kind.c_str(), channel.c_str()};
  const size_t lens[] = {kind.size(), channel.size()};
  redisAsyncCommandArgv(ctx_, &RedisClient::OnSubscriptionReply, this, 2, args, lens);
}

void RedisClient::OnSubscriptionReply(redisAsyncContext* ac, void* reply, void*) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (self) self->OnMessageReply(static_cast<const redisReply*>(reply));
}

void RedisClient::OnMessageReply(const redisReply* reply) {
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
  std::string_view type = ReplyText(reply->element[0]);
  if (type == "message" && on_message_) {
    on_message_(ReplyText(reply->element[1]), {}, ReplyText(reply->element[2]));
  } else if (type == "pmessage" && reply->elements >= 4 && on_message_) {
    on_message_(ReplyText(reply->element[2]), ReplyText(reply->element[1]),
                ReplyText(reply->element[3]));
  } else if (type == "subscribe" || type == "psubscribe") {
    OnSubscribeReply(type == "subscribe" ? "SUBSCRIBE" : "PSUBSCRIBE",
                     ReplyText(reply->element[1]));
  }
}

void RedisClient::OnSubscribeReply(const std::string& kind, std::string_view channel) {
  std::string key = kind + " ";
  key += channel;
  auto due = replies_due_.find(key);
  if (due == replies_due_.end()) return;  // sent on an earlier connection
  if (--due->second > 0) return;          // a later SUBSCRIBE is still on its way
  replies_due_.erase(due);
  if (subscriptions_.count(key) == 0 || !confirmed_.insert(key).second) return;
  if (on_subscribed_) on_subscribed_(kind, channel);
}

}  // namespace herald
