#include "server/store/redis_cluster.h"

#include <algorithm>
#include <future>

#include "server/core/presence.h"
#include "server/core/space.h"
#include "server/core/topic.h"
#include "server/store/redis_script.h"
#include "server/util/event_add.h"
#include "server/util/log.h"

namespace herald {
namespace {

// Redis's clock, so nodes with skewed clocks agree on who is live.
constexpr char kNowLua[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
)lua";

// The sum over the live nodes of one presence topic's counts.
constexpr char kSumLua[] = R"lua(
local function presence_sum(prefix, live, topic)
  local sum = 0
  for _, n in ipairs(live) do
    sum = sum + tonumber(redis.call('HGET', prefix .. 'pc:' .. n, topic) or 0)
  end
  return sum
end
)lua";

// A presence event as the publish script sends it ("<id> <epoch> <stored
// event>", redis_keys.h): live only (flags 1), iat Redis's time.
constexpr char kPresenceEventLua[] = R"lua(
local function presence_message(id, epoch, now, topic, type, sum)
  return id .. ' ' .. epoch .. ' ' .. #topic .. ':' .. topic .. now .. ' 0 1 ' ..
         '{"type":"' .. type .. '","detail":{"clid_instances":' .. sum .. '}}'
end
)lua";

// KEYS: nodes, seq, epoch. ARGV: node, ttl ms, prefix.
// Beats, then reaps the dead nodes: each clid a dead node counted gets a
// `disconnect` with the new sum. Returns {1 if this node was not registered
// (its hash must be rewritten), live nodes...}.
const RedisScript& BeatScript() {
  static const RedisScript script(std::string(kNowLua) + kSumLua + kPresenceEventLua + R"lua(
local prefix = ARGV[3]
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', prefix .. 'pc:' .. ARGV[1], 3 * tonumber(ARGV[2]))
local live = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
local epoch = redis.call('GET', KEYS[3])
for _, node in ipairs(dead) do
  redis.call('ZREM', KEYS[1], node)
  local pc = prefix .. 'pc:' .. node
  local counts = redis.call('HGETALL', pc)
  redis.call('DEL', pc)
  for i = 1, #counts, 2 do
    if epoch then
      local topic = counts[i]
      local id = redis.call('INCR', KEYS[2])
      redis.call('PUBLISH', prefix .. 't:' .. topic, presence_message(id, epoch, now, topic,
                 'disconnect', presence_sum(prefix, live, topic)))
    end
  end
end
local out = {added}
for _, n in ipairs(live) do out[#out + 1] = tonumber(n) end
return out
)lua");
  return script;
}

// KEYS: nodes, seq, epoch, own presence hash, the topic's channel.
// ARGV: node, ttl ms, prefix, topic, own count now, type, proposed epoch,
// own count as of this change.
// Returns {1 if this node was not registered, sum, id}.
const RedisScript& PresenceScript() {
  static const RedisScript script(std::string(kNowLua) + kSumLua + kPresenceEventLua + R"lua(
local prefix, topic = ARGV[3], ARGV[4]
if tonumber(ARGV[5]) > 0 then
  redis.call('HSET', KEYS[4], topic, ARGV[5])
else
  redis.call('HDEL', KEYS[4], topic)
end
redis.call('PEXPIRE', KEYS[4], 3 * tonumber(ARGV[2]))
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local sum = presence_sum(prefix, redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf'), topic)
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[7]
  redis.call('SET', KEYS[3], epoch)
end
local id = redis.call('INCR', KEYS[2])
-- The event tells the count as of its own change (ARGV[8]), the hash keeps
-- the newest (ARGV[5]): two changes sent together still say 1 then 2.
local told = sum - tonumber(ARGV[5]) + tonumber(ARGV[8])
redis.call('PUBLISH', KEYS[5], presence_message(id, epoch, now, topic, ARGV[6], told))
return {added, sum, id}
)lua");
  return script;
}

// KEYS: nodes. ARGV: prefix, topic. Returns the sum over the live nodes.
const RedisScript& CountScript() {
  static const RedisScript script(std::string(kNowLua) + kSumLua + R"lua(
return presence_sum(ARGV[1], redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf'), ARGV[2])
)lua");
  return script;
}

// KEYS: nodes, the request channel. ARGV: message, target node ('' = every
// node). Publishes the request; returns the live nodes it went to.
const RedisScript& AskScript() {
  static const RedisScript script(std::string(kNowLua) + R"lua(
local live = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
if ARGV[2] ~= '' then
  local found = false
  for _, n in ipairs(live) do
    if n == ARGV[2] then found = true end
  end
  if not found then return {} end
  live = {ARGV[2]}
end
redis.call('PUBLISH', KEYS[2], ARGV[1])
local out = {}
for _, n in ipairs(live) do out[#out + 1] = tonumber(n) end
return out
)lua");
  return script;
}

// Splits "<a> <rest>" at the first space.
bool Cut(std::string_view* s, std::string_view* head) {
  const size_t sp = s->find(' ');
  if (sp == std::string_view::npos) return false;
  *head = s->substr(0, sp);
  s->remove_prefix(sp + 1);
  return true;
}

std::string JoinInts(const std::vector<int>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "]";
}

}  // namespace

// One Ask waiting for the other nodes' answers (bridge thread).
struct RedisCluster::Pending {
  RedisCluster* self = nullptr;
  uint64_t id = 0;
  std::vector<int> waiting;  // nodes not yet answered
  Answers answers;
  PostFn post;
  std::function<void(Answers)> done;
  EventPtr timer;
};

RedisCluster::RedisCluster(RedisStore* store, const Presence* presence, RedisClusterOptions options)
    : store_(store), presence_(presence), options_(options) {}

RedisCluster::~RedisCluster() {
  if (!started_) return;
  auto left = std::make_shared<std::promise<void>>();
  store_->RunOnBridge([this, left] {
    *alive_ = false;
    beat_timer_.reset();
    retry_timer_.reset();
    // Not answered: at shutdown the workers their answers go to are gone.
    pending_.clear();
    // A clean stop leaves at once: the others stop asking this node (and
    // waiting for it) now rather than after its TTL. Its connections, closed
    // before, already took their counts out.
    const RedisKeys& k = store_->keys();
    if (!Up() ||
        !store_->commands()->Command({"ZREM", k.nodes(), std::to_string(node_id())}, nullptr)) {
      return left->set_value();
    }
    const bool sent = store_->commands()->Command({"DEL", k.presence_counts(node_id())},
                                                  [left](const redisReply*) { left->set_value(); });
    if (!sent) left->set_value();
  });
  // Bounded by the command timeout: a dropped connection fails the command.
  left->get_future().wait();
}

void RedisCluster::OnRequest(const std::string& kind, RequestFn fn) {
  handlers_[kind] = std::move(fn);
}

void RedisCluster::Start() {
  started_ = true;
  store_->RunOnBridge([this] {
    const RedisKeys& k = store_->keys();
    auto alive = alive_;
    auto on_request = [this, alive](std::string_view m) {
      if (*alive) OnRequestMessage(m);
    };
    store_->Listen(k.requests(), on_request);
    store_->Listen(k.requests(node_id()), on_request);
    store_->Listen(k.replies(node_id()), [this, alive](std::string_view m) {
      if (*alive) OnReplyMessage(m);
    });
    beat_timer_.reset(event_new(store_->bridge_base(), -1, EV_PERSIST, &OnBeatTimer, this));
    retry_timer_.reset(event_new(store_->bridge_base(), -1, 0, &OnBeatTimer, this));
    const int64_t period = std::max<int64_t>(options_.node_ttl_ms / 3, 1);
    timeval tv{static_cast<time_t>(period / 1000), static_cast<suseconds_t>(period % 1000 * 1000)};
    AddEvent(beat_timer_.get(), &tv, "cluster", "heartbeat");
    Beat();
  });
}

bool RedisCluster::Up() const {
  return store_->commands() && store_->commands()->state() == RedisClient::State::kUp;
}

void RedisCluster::OnBeatTimer(evutil_socket_t, short, void* arg) {
  static_cast<RedisCluster*>(arg)->Beat();
}

void RedisCluster::Beat() {
  if (!Up()) {
    need_sync_ = true;  // changes made meanwhile never reached Redis
    // Soon rather than a period later: the others learn of this node (and
    // its counts) as soon as Redis is there.
    timeval soon{0, 100 * 1000};
    if (!event_pending(retry_timer_.get(), EV_TIMEOUT, nullptr)) {
      AddEvent(retry_timer_.get(), &soon, "cluster", "beat retry");
    }
    return;
  }
  const RedisKeys& k = store_->keys();
  const bool sent = BeatScript().Run(
      *store_->commands(), {k.nodes(), k.seq(), k.epoch()},
      {std::to_string(node_id()), std::to_string(options_.node_ttl_ms), k.prefix()},
      [this, alive = alive_](const redisReply* r) {
        if (!*alive) return;
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
          need_sync_ = true;
          return;
        }
        std::vector<int> live;
        for (size_t i = 1; i < r->elements; ++i) {
          if (r->element[i]->type == REDIS_REPLY_INTEGER) {
            live.push_back(static_cast<int>(r->element[i]->integer));
          }
        }
        std::sort(live.begin(), live.end());
        {
          std::lock_guard<std::mutex> lock(state_mu_);
          live_ = std::move(live);
          ++beats_;
        }
        NoteRegistered(r);
      });
  if (!sent) need_sync_ = true;
}

// A script answered whether this node had to be added to <p>nodes: then
// (first beat, reaped while away, Redis restarted empty) its presence hash
// is gone or stale and is rewritten from the local counts.
void RedisCluster::NoteRegistered(const redisReply* r) {
  if (r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 1) need_sync_ = true;
  if (need_sync_) Resync();
}

void RedisCluster::Resync() {
  if (!Up()) return;
  const std::string hash = store_->keys().presence_counts(node_id());
  std::vector<std::string> hset = {"HSET", hash};
  for (const auto& [key, n] : presence_->KeySnapshot()) {
    if (n <= 0) continue;
    hset.push_back(PresenceTopicOfKey(key));
    hset.push_back(std::to_string(n));
  }
  // Pipelined in this order on the one command connection: a change sent
  // after this reads its count later and overwrites it.
  store_->commands()->Command({"DEL", hash}, nullptr);
  if (hset.size() > 2) store_->commands()->Command(hset, nullptr);
  store_->commands()->Command({"PEXPIRE", hash, std::to_string(3 * options_.node_ttl_ms)},
                              [this, alive = alive_](const redisReply* r) {
                                if (*alive && r && r->type != REDIS_REPLY_ERROR) need_sync_ = false;
                              });
}

void RedisCluster::PresenceChanged(const std::string& key, std::string_view type, int64_t count) {
  store_->RunOnBridge([this, key, type = std::string(type), count] {
    if (!Up()) {
      need_sync_ = true;
      return;
    }
    const RedisKeys& k = store_->keys();
    const std::string topic = PresenceTopicOfKey(key);
    // Read now, on the bridge: the last change sent carries the latest count.
    const int64_t own = presence_->CountKey(key);
    const std::string channel = HasWildcard(topic) ? k.wildcard_channel() : k.channel(topic);
    const bool sent = PresenceScript().Run(
        *store_->commands(), {k.nodes(), k.seq(), k.epoch(), k.presence_counts(node_id()), channel},
        {std::to_string(node_id()), std::to_string(options_.node_ttl_ms), k.prefix(), topic,
         std::to_string(own), type, std::to_string(store_->epoch() ? store_->epoch() : 1),
         std::to_string(count)},
        [this, alive = alive_](const redisReply* r) {
          if (!*alive) return;
          if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
            need_sync_ = true;
            return;
          }
          NoteRegistered(r);
        });
    if (!sent) need_sync_ = true;
  });
}

void RedisCluster::PresenceCount(const std::string& key, PostFn post,
                                 std::function<void(int64_t)> done) {
  store_->RunOnBridge([this, key, post = std::move(post), done = std::move(done)] {
    auto answer = [post, done](int64_t n) { post([done, n] { done(n); }); };
    if (!Up()) return answer(-1);
    const RedisKeys& k = store_->keys();
    const bool sent =
        CountScript().Run(*store_->commands(), {k.nodes()}, {k.prefix(), PresenceTopicOfKey(key)},
                          [answer](const redisReply* r) {
                            answer(r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1);
                          });
    if (!sent) answer(-1);
  });
}

void RedisCluster::Ask(const std::string& kind, std::string payload, int node, PostFn post,
                       std::function<void(Answers)> done) {
  store_->RunOnBridge([this, kind, payload = std::move(payload), node, post = std::move(post),
                       done = std::move(done)]() mutable {
    auto p = std::make_unique<Pending>();
    p->self = this;
    p->id = next_request_++;
    p->post = std::move(post);
    p->done = std::move(done);
    auto fail = [this, node](Pending* p) {
      // Redis down: every node we last knew live (or the one asked) is unanswered.
      if (node != kEveryNode) {
        p->answers.unanswered = {node};
      } else {
        std::lock_guard<std::mutex> lock(state_mu_);
        for (int n : live_) {
          if (n != node_id()) p->answers.unanswered.push_back(n);
        }
      }
      p->post([done = std::move(p->done), a = std::move(p->answers)] { done(a); });
    };
    if (!Up()) return fail(p.get());
    const RedisKeys& k = store_->keys();
    const std::string message =
        std::to_string(node_id()) + " " + std::to_string(p->id) + " " + kind + " " + payload;
    const uint64_t id = p->id;
    pending_[id] = std::move(p);
    const bool sent = AskScript().Run(
        *store_->commands(), {k.nodes(), node == kEveryNode ? k.requests() : k.requests(node)},
        {message, node == kEveryNode ? "" : std::to_string(node)},
        [this, alive = alive_, id](const redisReply* r) {
          if (!*alive) return;
          auto it = pending_.find(id);
          if (it == pending_.end()) return;
          Pending* p = it->second.get();
          if (!r || r->type != REDIS_REPLY_ARRAY) {
            std::lock_guard<std::mutex> lock(state_mu_);
            for (int n : live_) {
              if (n != node_id()) p->waiting.push_back(n);
            }
            return Finish(id);
          }
          for (size_t i = 0; i < r->elements; ++i) {
            const int n = static_cast<int>(r->element[i]->integer);
            // Answers that came before this reply (a fast node) are already in.
            const bool answered = std::any_of(p->answers.replies.begin(), p->answers.replies.end(),
                                              [n](const auto& reply) { return reply.first == n; });
            if (n != node_id() && !answered) p->waiting.push_back(n);
          }
          if (p->waiting.empty()) return Finish(id);
          p->timer.reset(event_new(store_->bridge_base(), -1, 0, &OnRequestTimeout, p));
          const int64_t ms = options_.request_timeout_ms;
          timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
          if (!AddEvent(p->timer.get(), &tv, "cluster", "request timeout")) Finish(id);
        });
    if (!sent) {
      std::unique_ptr<Pending> back = std::move(pending_[id]);
      pending_.erase(id);
      fail(back.get());
    }
  });
}

void RedisCluster::OnRequestTimeout(evutil_socket_t, short, void* arg) {
  auto* p = static_cast<Pending*>(arg);
  p->self->Finish(p->id);
}

void RedisCluster::Finish(uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  std::unique_ptr<Pending> p = std::move(it->second);
  pending_.erase(it);
  p->answers.unanswered = p->waiting;
  std::sort(p->answers.replies.begin(), p->answers.replies.end());
  if (!p->answers.unanswered.empty()) {
    LogWarn("cluster", 0, "request %llu: nodes %s did not answer",
            static_cast<unsigned long long>(id), JoinInts(p->answers.unanswered).c_str());
  }
  p->post([done = std::move(p->done), a = std::move(p->answers)] { done(a); });
}

// "<from> <request id> <kind> <payload>"
void RedisCluster::OnRequestMessage(std::string_view m) {
  std::string_view from_s, id_s, kind;
  int from = 0;
  uint64_t id = 0;
  if (!Cut(&m, &from_s) || !Cut(&m, &id_s) || !Cut(&m, &kind) || !ParseDecimal(from_s, &from) ||
      !ParseDecimal(id_s, &id)) {
    LogWarn("cluster", 0, "malformed request");
    return;
  }
  if (from == node_id()) return;  // the asking node answers for itself
  auto it = handlers_.find(kind);
  if (it == handlers_.end()) {
    LogWarn("cluster", 0, "request of unknown kind %.*s from node %d",
            static_cast<int>(kind.size()), kind.data(), from);
    return;
  }
  const std::string head = std::to_string(id) + " " + std::to_string(node_id()) + " ";
  const std::string channel = store_->keys().replies(from);
  it->second(m, [this, alive = alive_, head, channel](std::string payload) {
    store_->RunOnBridge([this, alive, head, channel, payload = std::move(payload)] {
      if (*alive && Up())
        store_->commands()->Command({"PUBLISH", channel, head + payload}, nullptr);
    });
  });
}

// "<request id> <node> <payload>"
void RedisCluster::OnReplyMessage(std::string_view m) {
  std::string_view id_s, node_s;
  uint64_t id = 0;
  int node = 0;
  if (!Cut(&m, &id_s) || !Cut(&m, &node_s) || !ParseDecimal(id_s, &id) ||
      !ParseDecimal(node_s, &node)) {
    LogWarn("cluster", 0, "malformed answer");
    return;
  }
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // too late: already answered without it
  Pending* p = it->second.get();
  p->answers.replies.emplace_back(node, std::string(m));
  auto w = std::find(p->waiting.begin(), p->waiting.end(), node);
  if (w != p->waiting.end()) p->waiting.erase(w);
  // Before the Ask script's reply `waiting` is empty: wait for that reply.
  if (p->waiting.empty() && p->timer) Finish(id);
}

std::string RedisCluster::Answers::UnansweredMember() const {
  return unanswered.empty() ? "" : ",\"unanswered_nodes\":" + JoinInts(unanswered);
}

std::string RedisCluster::StateJson() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return "{\"node\":" + std::to_string(node_id()) + ",\"live_nodes\":" + JoinInts(live_) +
         ",\"node_ttl_ms\":" + std::to_string(options_.node_ttl_ms) +
         ",\"heartbeats\":" + std::to_string(beats_) + "}";
}

}  // namespace herald
