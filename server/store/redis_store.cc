#include "server/store/redis_store.h"

#include <algorithm>
#include <charconv>
#include <random>

#include "server/core/connid.h"
#include "server/core/topic.h"
#include "server/store/redis_script.h"
#include "server/util/json.h"
#include "server/util/log.h"

namespace herald {
namespace {

Status Unavailable(const std::string& detail) {
  return Status::Unavailable("Redis " + (detail.empty() ? std::string("down") : detail));
}

// The {"type","detail"} JSON inside a rendered event: the tail is
// `,"emitted":<topic>},"e":<e_json>}` (MakeEvent).
std::string_view EventBody(const Event& ev) {
  const size_t head = std::string_view(",\"emitted\":").size() + JsonString(ev.topic).size() +
                      std::string_view("},\"e\":").size();
  return std::string_view(ev.tail).substr(head, ev.tail.size() - head - 1);
}

template <class T>
bool ParseNumber(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string_view ReplyText(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string_view(r->str, r->len)
             : std::string_view();
}

uint64_t StreamSeq(std::string_view entry_id) {  // "<seq>-0"
  uint64_t seq = 0;
  ParseNumber(entry_id.substr(0, entry_id.find('-')), &seq);
  return seq;
}

}  // namespace

// One Read in progress on the bridge: the replies of its pipelined commands
// gather here until the last one answers.
struct RedisStore::ReadJob {
  ReadRequest req;
  PostFn post;
  std::function<void(ReadResult)> done;
  ReadResult result;
  int waiting = 0;
  bool failed = false;
};

RedisStore::RedisStore(RedisStoreOptions options)
    : options_(std::move(options)),
      keys_(options_.key_prefix),
      rng_(std::random_device{}()),
      base_(event_base_new()) {
  wake_.reset(event_new(base_.get(), -1, 0, &RedisStore::OnWake, this));
  status_.kind = "redis";
  status_.state = "connecting";
}

RedisStore::~RedisStore() {
  if (!thread_.joinable()) return;
  RunOnBridge([this] { event_base_loopbreak(base_.get()); });
  thread_.join();
}

void RedisStore::Start() {
  thread_ = std::thread([this] {
    commands_ = std::make_unique<RedisClient>(base_.get(), options_.client,
                                              [this](RedisClient::State state, const std::string&) {
                                                UpdateStatus();
                                                if (state == RedisClient::State::kUp) LoadEpoch();
                                              });
    subscriber_ = std::make_unique<RedisClient>(
        base_.get(), options_.client,
        [this](RedisClient::State state, const std::string&) { OnSubscriberState(state); },
        [this](std::string_view channel, std::string_view, std::string_view payload) {
          OnMessage(channel, payload);
        });
    // Always heard: publishes to wildcard topics (two-way matching) and this
    // node's own channel (whispers to its connids).
    subscriber_->Subscribe("SUBSCRIBE", keys_.wildcard_channel());
    subscriber_->Subscribe("SUBSCRIBE", keys_.node_channel(options_.node_id));
    commands_->Start();
    subscriber_->Start();
    event_base_loop(base_.get(), EVLOOP_NO_EXIT_ON_EMPTY);
    // Clients go on their own thread; pending commands fail (null replies).
    subscriber_.reset();
    commands_.reset();
  });
}

void RedisStore::RunOnBridge(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(tasks_mu_);
    tasks_.push_back(std::move(task));
  }
  event_active(wake_.get(), EV_TIMEOUT, 0);
}

void RedisStore::OnWake(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<RedisStore*>(arg);
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(self->tasks_mu_);
    tasks.swap(self->tasks_);
  }
  for (auto& task : tasks) task();
}

void RedisStore::SetFeed(FeedFn feed) { feed_ = std::move(feed); }

void RedisStore::Append(EventRef ev, PostFn post, std::function<void(Status, uint64_t)> done) {
  RunOnBridge([this, ev = std::move(ev), post = std::move(post), done = std::move(done)]() {
    auto fail = [post, done](Status s) { post([done, s] { done(s, 0); }); };
    if (!commands_ || commands_->state() != RedisClient::State::kUp) {
      return fail(Unavailable(commands_ ? commands_->detail() : ""));
    }
    StoredEvent stored{ev->topic,    ev->iat_ms,           ev->whisper,
                       ev->presence, ev->bound != nullptr, std::string(EventBody(*ev))};
    const std::string channel = ev->whisper ? keys_.node_channel(ConnIdNode(ev->whisper))
                                : HasWildcard(ev->topic) ? keys_.wildcard_channel()
                                                         : keys_.channel(ev->topic);
    // A whisper's session may have moved to another node (long polling):
    // the script reads its owner from <p>ps:<connid>.
    const std::vector<std::string> keys = {
        keys_.seq(),    ev->InHistory() ? keys_.stream(ev->topic) : "",
        keys_.topics(), keys_.epoch(),
        channel,        ev->whisper ? keys_.poll_session(ev->whisper) : ""};
    const std::vector<std::string> args = {ev->topic,
                                           EncodeStoredEvent(stored),
                                           std::to_string(options_.stream_maxlen),
                                           std::to_string(ev->iat_ms),
                                           std::to_string(ProposeEpoch()),
                                           keys_.node_channel_prefix()};
    const bool sent =
        PublishScript().Run(*commands_, keys, args, [this, post, done](const redisReply* r) {
          uint64_t id = 0;
          if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
              r->element[0]->type != REDIS_REPLY_INTEGER) {
            // Unanswered (timeout, lost connection): the script is atomic, so
            // it either ran whole or not at all; the publisher may retry.
            Status s = Unavailable(r && r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len)
                                                                     : commands_->detail());
            return post([done, s] { done(s, 0); });
          }
          id = static_cast<uint64_t>(r->element[0]->integer);
          round_trips_.store(commands_->round_trips(), std::memory_order_relaxed);
          post([done, id] { done(Status::Ok(), id); });
        });
    if (!sent) fail(Unavailable(commands_->detail()));
  });
}

// The cluster's epoch (set by the first node to find none) and, at start,
// the newest id: a subscriber that connects now starts live after it.
// A fresh value each time, never the current one: Redis restarted empty must
// get an epoch no cursor has seen.
uint32_t RedisStore::ProposeEpoch() {
  uint32_t e = 0;
  while (e == 0 || e == epoch_.load()) e = static_cast<uint32_t>(rng_());
  return e;
}

void RedisStore::LoadEpoch() {
  commands_->Command({"SET", keys_.epoch(), std::to_string(ProposeEpoch()), "NX"}, nullptr);
  commands_->Command({"GET", keys_.epoch()}, [this](const redisReply* r) {
    uint32_t epoch = 0;
    if (ParseNumber(ReplyText(r), &epoch)) epoch_.store(epoch, std::memory_order_release);
  });
  commands_->Command({"GET", keys_.seq()}, [this](const redisReply* r) {
    uint64_t seq = 0;
    ParseNumber(ReplyText(r), &seq);
    if (last_fed_.load() == 0) last_fed_.store(seq, std::memory_order_release);
  });
}

void RedisStore::Listen(const std::string& channel, ListenFn fn) {
  listeners_[channel] = std::move(fn);
  subscriber_->Subscribe("SUBSCRIBE", channel);
}

void RedisStore::OnMessage(std::string_view channel, std::string_view payload) {
  if (auto it = listeners_.find(channel); it != listeners_.end()) return it->second(payload);
  if (catching_up_) {
    held_.emplace_back(payload);
    return;
  }
  // "<id> <epoch> <stored event>"
  size_t a = payload.find(' ');
  size_t b = a == std::string_view::npos ? a : payload.find(' ', a + 1);
  uint64_t id = 0;
  uint32_t epoch = 0;
  if (b == std::string_view::npos || !ParseNumber(payload.substr(0, a), &id) ||
      !ParseNumber(payload.substr(a + 1, b - a - 1), &epoch)) {
    LogWarn("redis", 0, "malformed message on %.*s", static_cast<int>(channel.size()),
            channel.data());
    return;
  }
  Feed(id, epoch, payload.substr(b + 1));
}

void RedisStore::Feed(uint64_t id, uint32_t epoch, std::string_view body) {
  const uint32_t known = epoch_.load(std::memory_order_relaxed);
  if (known != 0 && epoch != known) {
    // Redis lost its data: ids restarted. Cursors of the old epoch are void.
    LogWarn("redis", 0, "store epoch changed (%u -> %u): Redis lost its data", known, epoch);
    last_fed_.store(0, std::memory_order_release);
  }
  epoch_.store(epoch, std::memory_order_release);
  if (id <= last_fed_.load(std::memory_order_relaxed)) return;  // heard twice
  auto stored = DecodeStoredEvent(body);
  if (!stored.ok()) {
    LogWarn("redis", 0, "event %llu: %s", static_cast<unsigned long long>(id),
            stored.status().reason().c_str());
    return;
  }
  std::shared_ptr<const AclRecord> bound;
  if (stored->bound && options_.bound_record) bound = options_.bound_record(stored->topic);
  EventRef ev = MakeEvent(id, epoch, stored->iat_ms, std::move(stored->topic), stored->e_json,
                          stored->whisper, std::move(bound), stored->presence);
  last_fed_.store(id, std::memory_order_release);
  if (feed_) feed_(std::move(ev));
}

void RedisStore::OnSubscriberState(RedisClient::State state) {
  UpdateStatus();
  if (state != RedisClient::State::kUp) return;
  if (was_up_) CatchUp();
  was_up_ = true;
}

// After a reconnect: what the node missed while it was away is in the
// streams of the filters it watches. Live messages wait until it is fed.
void RedisStore::CatchUp() {
  if (watched_.empty() || last_fed_.load() == 0) return;
  catching_up_ = true;
  auto job = std::make_shared<ReadJob>();
  for (const auto& [filter, count] : watched_) job->req.filters.push_back(filter);
  job->req.after_seq = last_fed_.load();
  job->req.limit = static_cast<size_t>(options_.stream_maxlen) * 4;
  job->post = [](std::function<void()> f) { f(); };  // already on the bridge
  job->done = [this](ReadResult result) {
    if (!result.status.ok()) LogWarn("redis", 0, "catch-up: %s", result.status.reason().c_str());
    for (const EventRef& ev : result.events) {
      if (ev->seq <= last_fed_.load()) continue;
      last_fed_.store(ev->seq);
      if (feed_) feed_(ev);
    }
    catching_up_ = false;
    std::vector<std::string> held;
    held.swap(held_);
    for (const std::string& m : held) OnMessage({}, m);
  };
  ReadOnBridge(job);
}

void RedisStore::Read(ReadRequest req, PostFn post, std::function<void(ReadResult)> done) {
  auto job = std::make_shared<ReadJob>();
  job->req = std::move(req);
  job->post = std::move(post);
  job->done = std::move(done);
  RunOnBridge([this, job] { ReadOnBridge(job); });
}

void RedisStore::ReadOnBridge(std::shared_ptr<ReadJob> job) {
  auto finish = [job](ReadResult result) {
    job->post([job, result = std::move(result)]() mutable { job->done(std::move(result)); });
  };
  if (!commands_ || commands_->state() != RedisClient::State::kUp) {
    ReadResult r;
    r.status = Unavailable(commands_ ? commands_->detail() : "");
    return finish(std::move(r));
  }
  if (job->req.epoch != 0 && job->req.epoch != epoch_.load()) {
    ReadResult r;
    r.covered = false;
    r.last_seq = last_fed_.load();
    return finish(std::move(r));
  }
  // Every topic published to is in <p>topics; a filter matches a topic by
  // the symmetric rule (a wildcard publish reaches a plain filter too).
  const bool sent =
      commands_->Command({"ZRANGE", keys_.topics(), "0", "-1"}, [this, job](const redisReply* r) {
        std::vector<std::string> topics;
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
          std::string_view topic = ReplyText(r->element[i]);
          for (const std::string& filter : job->req.filters) {
            if (TopicsMatch(filter, topic)) {
              topics.emplace_back(topic);
              break;
            }
          }
        }
        if (!r) job->failed = true;
        ReadStreams(job, std::move(topics));
      });
  if (!sent) {
    ReadResult r;
    r.status = Unavailable(commands_->detail());
    finish(std::move(r));
  }
}

void RedisStore::ReadStreams(std::shared_ptr<ReadJob> job, std::vector<std::string> topics) {
  auto finish = [this, job] {
    ReadResult result = std::move(job->result);
    if (job->failed) {
      result = ReadResult();
      result.status = Unavailable(commands_ ? commands_->detail() : "");
    } else {
      std::sort(result.events.begin(), result.events.end(),
                [](const EventRef& a, const EventRef& b) { return a->seq < b->seq; });
      if (result.events.size() > job->req.limit) result.events.resize(job->req.limit);
    }
    result.last_seq = last_fed_.load();
    if (commands_) round_trips_.store(commands_->round_trips(), std::memory_order_relaxed);
    job->post([job, result = std::move(result)]() mutable { job->done(std::move(result)); });
  };
  if (job->failed || topics.empty()) return finish();
  const std::string from = std::to_string(job->req.after_seq + 1) + "-0";
  const std::string count = std::to_string(std::max<size_t>(job->req.limit, 1));
  const uint32_t epoch = epoch_.load();
  for (const std::string& topic : topics) {
    const std::string stream = keys_.stream(topic);
    // What MAXLEN trimmed lies below the first entry left. XINFO gives no
    // exact "trimmed up to" (max-deleted-entry-id counts XDEL only), so a
    // cursor below the first entry of a trimmed stream is not covered; it
    // may be a false `reset` when the cursor sits in the gap of other
    // topics' ids, never a silent loss.
    ++job->waiting;
    const bool info =
        commands_->Command({"XINFO", "STREAM", stream}, [job, finish](const redisReply* r) {
          if (!r) job->failed = true;
          int64_t added = 0, length = 0;
          uint64_t first = 0;
          for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
            const std::string_view key = ReplyText(r->element[i]);
            const redisReply* v = r->element[i + 1];
            if (key == "entries-added" && v->type == REDIS_REPLY_INTEGER) added = v->integer;
            if (key == "length" && v->type == REDIS_REPLY_INTEGER) length = v->integer;
            if (key == "recorded-first-entry-id") first = StreamSeq(ReplyText(v));
          }
          if (added > length && first > job->req.after_seq + 1) job->result.covered = false;
          if (--job->waiting == 0) finish();
        });
    if (!info) --job->waiting;
    ++job->waiting;
    const bool range = commands_->Command(
        {"XRANGE", stream, from, "+", "COUNT", count},
        [this, job, epoch, finish](const redisReply* r) {
          if (!r || r->type != REDIS_REPLY_ARRAY) job->failed = true;
          for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
            const redisReply* entry = r->element[i];
            if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
            const redisReply* fields = entry->element[1];
            if (fields->type != REDIS_REPLY_ARRAY || fields->elements != 2) continue;
            auto stored = DecodeStoredEvent(ReplyText(fields->element[1]));
            if (!stored.ok()) continue;
            std::shared_ptr<const AclRecord> bound;
            if (stored->bound && options_.bound_record) {
              bound = options_.bound_record(stored->topic);
            }
            job->result.events.push_back(MakeEvent(StreamSeq(ReplyText(entry->element[0])), epoch,
                                                   stored->iat_ms, std::move(stored->topic),
                                                   stored->e_json, stored->whisper,
                                                   std::move(bound), stored->presence));
          }
          if (--job->waiting == 0) finish();
        });
    if (!range) --job->waiting;
    if (!info || !range) {
      job->failed = true;
      break;
    }
  }
  if (job->waiting == 0) finish();
}

void RedisStore::Watch(const std::string& filter) {
  RunOnBridge([this, filter] {
    if (watched_[filter]++ > 0) return;
    if (HasWildcard(filter)) {
      subscriber_->Subscribe("PSUBSCRIBE", keys_.pattern(filter));
    } else {
      subscriber_->Subscribe("SUBSCRIBE", keys_.channel(filter));
    }
  });
}

void RedisStore::Unwatch(const std::string& filter) {
  RunOnBridge([this, filter] {
    auto it = watched_.find(filter);
    if (it == watched_.end() || --it->second > 0) return;
    watched_.erase(it);
    if (HasWildcard(filter)) {
      // Another wildcard filter may share the pattern: keep it while one does.
      const std::string pattern = keys_.pattern(filter);
      for (const auto& [other, count] : watched_) {
        if (HasWildcard(other) && keys_.pattern(other) == pattern) return;
      }
      subscriber_->Unsubscribe("PSUBSCRIBE", pattern);
    } else {
      subscriber_->Unsubscribe("SUBSCRIBE", keys_.channel(filter));
    }
  });
}

void RedisStore::UpdateStatus() {
  StoreStatus s;
  s.kind = "redis";
  const RedisClient* worst = commands_.get();
  if (subscriber_ && (!worst || subscriber_->state() != RedisClient::State::kUp)) {
    if (!worst || worst->state() == RedisClient::State::kUp) worst = subscriber_.get();
  }
  s.state = worst ? RedisStateName(worst->state()) : "connecting";
  s.detail = worst ? worst->detail() : "";
  s.round_trips = (commands_ ? commands_->round_trips() : 0);
  std::lock_guard<std::mutex> lock(status_mu_);
  status_ = std::move(s);
}

StoreStatus RedisStore::status() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  StoreStatus s = status_;
  s.round_trips = round_trips_.load(std::memory_order_relaxed);
  return s;
}

HistoryStats RedisStore::Stats() const {
  HistoryStats stats;
  stats.last_seq = last_fed_.load();
  return stats;
}

}  // namespace herald
