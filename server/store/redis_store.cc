#include "server/store/redis_store.h"

#include <algorithm>
#include <random>
#include <set>

#include "server/core/connid.h"
#include "server/core/topic.h"
#include "server/store/redis_script.h"
#include "server/util/json.h"
#include "server/util/log.h"

namespace herald {
namespace {

// The {"type","detail"} JSON inside a rendered event: the tail is
// `,"emitted":<topic>},"e":<e_json>}` (MakeEvent).
std::string_view EventBody(const Event& ev) {
  const size_t head = std::string_view(",\"emitted\":").size() + JsonString(ev.topic).size() +
                      std::string_view("},\"e\":").size();
  return std::string_view(ev.tail).substr(head, ev.tail.size() - head - 1);
}

// What the publish scripts store and publish for `ev` (StoredEvent).
std::string StoredBody(const Event& ev) {
  return EncodeStoredEvent(StoredEvent{ev.topic, ev.iat_ms, ev.whisper, ev.presence,
                                       ev.bound != nullptr, std::string(EventBody(ev))});
}

uint64_t StreamSeq(std::string_view entry_id) {  // "<seq>-0"
  uint64_t seq = 0;
  ParseDecimal(entry_id.substr(0, entry_id.find('-')), &seq);
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
  uint32_t epoch = 0;                          // this node's, when the read started
  uint32_t redis_epoch = 0;                    // Redis's, as the read found it (0: none yet)
  std::set<std::string, std::less<>> streams;  // topics whose stream is read
  int waiting = 0;                             // replies due (+1 while sending)
  int rounds = 1;                              // 2 once a reply led to more commands
  bool failed = false;
};

RedisStore::RedisStore(RedisStoreOptions options)
    : options_(std::move(options)),
      keys_(options_.key_prefix),
      rng_(std::random_device{}()),
      base_(event_base_new()) {
  wake_.reset(event_new(base_.get(), -1, 0, &RedisStore::OnWake, this));
  tick_.reset(event_new(base_.get(), -1, EV_PERSIST, &RedisStore::OnTick, this));
  refresh_.reset(event_new(
      base_.get(), -1, 0,
      [](evutil_socket_t, short, void* self) {
        static_cast<RedisStore*>(self)->UpdateSubscriptions();
      },
      this));
  status_.kind = "redis";
  status_.state = "connecting";
}

RedisStore::~RedisStore() {
  if (thread_.joinable()) {
    RunOnBridge([this] { event_base_loopbreak(base_.get()); });
    thread_.join();
  } else if (commands_) {
    TearDown();  // hosted, and the host's loop never handed it back
  }
}

void RedisStore::Start() {
  thread_ = std::thread([this] {
    SetUp();
    RunLoop();
  });
}

void RedisStore::StartHosted() { SetUp(); }

void RedisStore::RunOwnLoop() {
  if (thread_.joinable() || !commands_) return;
  thread_ = std::thread([this] { RunLoop(); });
}

void RedisStore::SetUp() {
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
  catch_up_timer_.reset(event_new(
      base_.get(), -1, 0,
      [](evutil_socket_t, short, void* arg) {
        auto* self = static_cast<RedisStore*>(arg);
        if (self->catching_up_ && self->subscriber_->state() == RedisClient::State::kUp) {
          self->CatchUpFrom(self->catch_up_run_);
        }
      },
      this));
  subscriber_->SetSubscribedCallback(
      [this](const std::string&, std::string_view) { OnSubscribed(); });
  // Always heard: publishes to wildcard topics (two-way matching) and this
  // node's own channel (whispers to its connids).
  subscriber_->Subscribe("SUBSCRIBE", keys_.wildcard_channel());
  subscriber_->Subscribe("SUBSCRIBE", keys_.node_channel(options_.node_id));
  commands_->Start();
  subscriber_->Start();
  const timeval tick = {1, 0};
  if (event_add(tick_.get(), &tick) != 0) LogError("redis", 0, "event_add(tick) failed");
}

void RedisStore::RunLoop() {
  event_base_loop(base_.get(), EVLOOP_NO_EXIT_ON_EMPTY);
  TearDown();
}

void RedisStore::TearDown() {
  // Pending commands fail (null replies) on the thread that runs the loop.
  subscriber_.reset();
  commands_.reset();
  catch_up_timer_.reset();
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
      return fail(RedisUnavailable(commands_ ? commands_->detail() : ""));
    }
    const std::vector<std::string> keys = {
        keys_.seq(), ev->InHistory() ? keys_.stream(ev->topic) : "", keys_.topics(), keys_.epoch(),
        ChannelOf(*ev), IndexOf(ev->topic),
        // A whisper's session may have moved to another node (long polling):
        // the script reads its owner from <p>ps:<connid>.
        ev->whisper ? keys_.poll_session(ev->whisper) : ""};
    const std::vector<std::string> args = {
        ev->topic, StoredBody(*ev), std::to_string(options_.stream_maxlen),
        std::to_string(ev->iat_ms), std::to_string(ProposeEpoch()),
        // Never an id this node has already seen: after a failover the new
        // master may lack the newest (unacknowledged) ones.
        std::to_string(last_fed_.load(std::memory_order_relaxed)), std::to_string(epoch_.load()),
        keys_.node_channel_prefix()};
    const bool sent = PublishScript().Run(
        *commands_, keys, args,
        [this, post, done](const redisReply* r) { OnPublished(r, 1, post, done); });
    if (!sent) fail(RedisUnavailable(commands_->detail()));
  });
}

// The publish scripts' reply {first id, epoch}; `count` events took the ids
// from the first on.
void RedisStore::OnPublished(const redisReply* r, size_t count, const PostFn& post,
                             const std::function<void(Status, uint64_t)>& done) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_INTEGER) {
    // Unanswered (timeout, lost connection): a script is atomic, so it ran
    // whole (every event of a batch) or not at all; the publisher may retry.
    Status s = RedisUnavailable(r && r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len)
                                                                  : commands_->detail());
    return post([done, s] { done(s, 0); });
  }
  const auto first = static_cast<uint64_t>(r->element[0]->integer);
  uint32_t epoch = 0;
  if (ParseDecimal(ReplyText(r->element[1]), &epoch)) {
    // Redis's own: a new one (it lost its data) names these ids too.
    NoteEpoch(epoch);
    NoteSeq(first + count - 1, epoch);
  }
  round_trips_.store(commands_->round_trips(), std::memory_order_relaxed);
  Acknowledge(first, post, done);
}

void RedisStore::Acknowledge(uint64_t id, PostFn post, std::function<void(Status, uint64_t)> done) {
  if (options_.min_replicas_ack <= 0) return post([done, id] { done(Status::Ok(), id); });
  unreplicated_.push_back({id, std::move(post), std::move(done)});
  if (!wait_in_flight_) SendWait();
}

// WAIT waits for every write this connection sent before it, so one WAIT
// answers for every publish the script answered before it went out: under
// load it costs one command per batch, not per publish.
void RedisStore::SendWait() {
  auto batch = std::make_shared<std::vector<Unreplicated>>();
  batch->swap(unreplicated_);
  const int want = options_.min_replicas_ack;
  auto answer = [this, batch, want](const redisReply* r) {
    wait_in_flight_ = false;
    const bool ok = r && r->type == REDIS_REPLY_INTEGER && r->integer >= want;
    const Status s =
        ok ? Status::Ok()
           : RedisUnavailable("not acknowledged: " +
                              (r && r->type == REDIS_REPLY_INTEGER
                                   ? std::to_string(r->integer) + " of " + std::to_string(want) +
                                         " replicas within " +
                                         std::to_string(options_.replica_ack_timeout_ms) + " ms"
                                   : commands_->detail()));
    for (Unreplicated& u : *batch) {
      const uint64_t id = u.id;
      u.post([done = std::move(u.done), s, id] { done(s, s.ok() ? id : 0); });
    }
    if (!unreplicated_.empty()) SendWait();
  };
  wait_in_flight_ = true;
  if (!commands_->Command(
          {"WAIT", std::to_string(want), std::to_string(options_.replica_ack_timeout_ms)},
          answer)) {
    answer(nullptr);
  }
}

// The name goes in an index for reads (RedisKeys): wildcard topics in a
// small set of their own, read whole by every read, so a plain filter's read
// never lists every topic.
std::string RedisStore::IndexOf(const std::string& topic) const {
  return HasWildcard(topic) ? keys_.wildcard_topics() : keys_.topic_index();
}

std::string RedisStore::ChannelOf(const Event& ev) const {
  return ev.whisper              ? keys_.node_channel(ConnIdNode(ev.whisper))
         : HasWildcard(ev.topic) ? keys_.wildcard_channel()
                                 : keys_.channel(ev.topic);
}

void RedisStore::AppendBatch(std::vector<EventRef> events, PostFn post,
                             std::function<void(Status, uint64_t)> done) {
  RunOnBridge([this, events = std::move(events), post = std::move(post), done = std::move(done)]() {
    auto fail = [post, done](Status s) { post([done, s] { done(s, 0); }); };
    if (!commands_ || commands_->state() != RedisClient::State::kUp) {
      return fail(RedisUnavailable(commands_ ? commands_->detail() : ""));
    }
    std::vector<std::string> keys = {keys_.seq(), keys_.topics(), keys_.epoch()};
    // As Append: the floor keeps ids this node has seen from being handed out again.
    std::vector<std::string> args = {std::to_string(options_.stream_maxlen),
                                     std::to_string(NowMs()), std::to_string(ProposeEpoch()),
                                     std::to_string(last_fed_.load(std::memory_order_relaxed)),
                                     std::to_string(epoch_.load())};
    keys.reserve(keys.size() + 3 * events.size());
    args.reserve(args.size() + 2 * events.size());
    for (const EventRef& ev : events) {
      keys.push_back(ev->InHistory() ? keys_.stream(ev->topic) : "");
      keys.push_back(ChannelOf(*ev));
      keys.push_back(IndexOf(ev->topic));
      args.push_back(ev->topic);
      args.push_back(StoredBody(*ev));
    }
    const bool sent = PublishBatchScript().Run(
        *commands_, keys, args, [this, n = events.size(), post, done](const redisReply* r) {
          OnPublished(r, n, post, done);
        });
    if (!sent) fail(RedisUnavailable(commands_->detail()));
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
    if (ParseDecimal(ReplyText(r), &epoch)) NoteEpoch(epoch);
  });
  if (seq_loaded_) return;
  commands_->Command({"GET", keys_.seq()}, [this](const redisReply* r) {
    if (!r || seq_loaded_) return;
    seq_loaded_ = true;
    uint64_t seq = 0;
    ParseDecimal(ReplyText(r), &seq);
    if (last_fed_.load() == 0) last_fed_.store(seq, std::memory_order_release);
    if (!r || epoch_.load() == 0) return;
    loaded_ = true;
    OnSubscribed();  // the node knows where it is: waiting filters may be fed now (IsFed)
  });
}

void RedisStore::Listen(const std::string& channel, ListenFn fn) {
  listeners_[channel] = std::move(fn);
  subscriber_->Subscribe("SUBSCRIBE", channel);
  SubscriptionsChanged();
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
  if (b == std::string_view::npos || !ParseDecimal(payload.substr(0, a), &id) ||
      !ParseDecimal(payload.substr(a + 1, b - a - 1), &epoch)) {
    LogWarn("redis", 0, "malformed message on %.*s", static_cast<int>(channel.size()),
            channel.data());
    return;
  }
  Feed(id, epoch, payload.substr(b + 1));
}

void RedisStore::Feed(uint64_t id, uint32_t epoch, std::string_view body) {
  NoteEpoch(epoch);
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

bool RedisStore::NoteEpoch(uint32_t epoch) {
  const uint32_t known = epoch_.load(std::memory_order_relaxed);
  if (epoch == 0 || epoch == known) return false;
  epoch_.store(epoch, std::memory_order_release);
  if (known == 0) return false;  // the first one this node learns
  // Redis lost its data: ids restarted. Cursors of the old epoch are void.
  LogWarn("redis", 0, "store epoch changed (%08x -> %08x): Redis lost its data", known, epoch);
  last_fed_.store(0, std::memory_order_release);
  known_seq_.store(0, std::memory_order_release);
  if (on_epoch_) on_epoch_(epoch);
  return true;
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
  catching_up_ = true;
  CatchUpFrom(++catch_up_run_);
}

void RedisStore::RetryCatchUp(uint64_t run, const std::string& why) {
  if (run != catch_up_run_) return;
  LogWarn("redis", 0, "catch-up: %s; retrying", why.c_str());
  timeval tv{0, 100 * 1000};
  event_add(catch_up_timer_.get(), &tv);
}

void RedisStore::CatchUpFrom(uint64_t run) {
  if (run != catch_up_run_) return;
  if (!commands_ || commands_->state() != RedisClient::State::kUp) {
    return RetryCatchUp(run, "commands connection not up");
  }
  // The epoch first: Redis may have come back empty (then the first node to
  // look sets a new one, as the publish script would). The sequence too: a
  // promoted replica may lack the newest ids this node has seen.
  commands_->Command({"SET", keys_.epoch(), std::to_string(ProposeEpoch()), "NX"}, nullptr);
  commands_->Command({"EVAL",
                      "local s = tonumber(redis.call('GET', KEYS[1]) or '0') "
                      "if redis.call('GET', KEYS[2]) == ARGV[2] and s < tonumber(ARGV[1]) then "
                      "redis.call('SET', KEYS[1], ARGV[1]) end "
                      "return s",
                      "2", keys_.seq(), keys_.epoch(), std::to_string(last_fed_.load()),
                      std::to_string(epoch_.load())},
                     [this](const redisReply* r) {
                       if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0 &&
                           static_cast<uint64_t>(r->integer) < last_fed_.load()) {
                         LogWarn("redis", 0,
                                 "Redis's sequence (%lld) is behind the ids this node saw (%llu): "
                                 "unacknowledged events were lost; ids go on after %llu",
                                 r->integer, static_cast<unsigned long long>(last_fed_.load()),
                                 static_cast<unsigned long long>(last_fed_.load()));
                       }
                     });
  const bool sent = commands_->Command({"GET", keys_.epoch()}, [this, run](const redisReply* r) {
    uint32_t epoch = 0;
    if (!ParseDecimal(ReplyText(r), &epoch)) return RetryCatchUp(run, "no epoch");
    if (run != catch_up_run_) return;
    NoteEpoch(epoch);
    if (watched_.empty()) return EndCatchUp();  // nothing to read; whispers may be held
    auto job = std::make_shared<ReadJob>();
    for (const auto& [filter, count] : watched_) job->req.filters.push_back(filter);
    job->req.after_seq = last_fed_.load();
    job->req.limit = static_cast<size_t>(options_.stream_maxlen) * 4;
    job->post = [](std::function<void()> f) { f(); };  // already on the bridge
    job->done = [this, run](ReadResult result) {
      if (run != catch_up_run_) return;
      if (!result.status.ok()) return RetryCatchUp(run, result.status.reason());
      for (const EventRef& ev : result.events) {
        if (ev->seq <= last_fed_.load()) continue;
        last_fed_.store(ev->seq);
        if (feed_) feed_(ev);
      }
      // A full read may have left more: read on from where it stopped.
      if (result.events.size() >= static_cast<size_t>(options_.stream_maxlen) * 4) {
        return CatchUpFrom(run);
      }
      EndCatchUp();
    };
    ReadOnBridge(job);
  });
  if (!sent) RetryCatchUp(run, "commands connection not up");
}

void RedisStore::EndCatchUp() {
  catching_up_ = false;
  std::vector<std::string> held;
  held.swap(held_);
  for (const std::string& m : held) OnMessage({}, m);
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
    r.status = RedisUnavailable(commands_ ? commands_->detail() : "");
    return finish(std::move(r));
  }
  if (job->req.epoch != 0 && job->req.epoch != epoch_.load()) {
    ReadResult r;
    r.covered = false;
    r.last_seq = LastSeq();
    return finish(std::move(r));
  }
  reads_.fetch_add(1, std::memory_order_relaxed);
  job->epoch = epoch_.load();
  job->waiting = 1;  // until every first-round command is sent
  // The newest id first: every event up to it is complete, so the streams
  // read after it hold all of them (ReadResult::last_seq). With the epoch:
  // a node that heard nothing since Redis lost its data learns it here.
  ReadCommand(job, {"MGET", keys_.epoch(), keys_.seq()}, [job](const redisReply* r) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return;
    ParseDecimal(ReplyText(r->element[0]), &job->redis_epoch);
    ParseDecimal(ReplyText(r->element[1]), &job->result.last_seq);
  });
  // A plain filter matches its own topic and the wildcard topics that match
  // it (symmetric rule); a wildcard filter, the topics under its literal
  // prefix (the levels before its first wildcard) and wildcard topics.
  std::set<std::string> prefixes;
  bool every_topic = false;
  for (const std::string& filter : job->req.filters) {
    if (!HasWildcard(filter)) {
      ReadStream(job, filter);
      continue;
    }
    const size_t wild = std::min(filter.find("/+"), filter.find("/#"));
    if (filter[0] == '+' || filter[0] == '#' || wild == std::string::npos) {
      every_topic = true;  // `#`, `+/...`: no prefix narrows it
    } else {
      prefixes.insert(filter.substr(0, wild));
    }
  }
  auto lookup = [this, job](const redisReply* r) { ReadMatchingStreams(job, r); };
  if (!job->req.filters.empty()) {
    ReadCommand(job, {"ZRANGE", keys_.wildcard_topics(), "0", "-1"}, lookup);
  }
  if (every_topic) {
    ReadCommand(job, {"ZRANGE", keys_.topic_index(), "0", "-1"}, lookup);
  } else {
    // Topics are UTF-8: no byte 0xff, so [p, p\xff] holds every topic
    // starting with p (`house/#` also matches `house`).
    for (const std::string& p : prefixes) {
      ReadCommand(job, {"ZRANGEBYLEX", keys_.topic_index(), "[" + p, "[" + p + "\xff"}, lookup);
    }
  }
  if (--job->waiting == 0) FinishRead(job);
}

void RedisStore::ReadCommand(const std::shared_ptr<ReadJob>& job,
                             const std::vector<std::string>& argv,
                             std::function<void(const redisReply*)> on_reply) {
  if (job->failed) return;
  ++job->waiting;
  read_commands_.fetch_add(1, std::memory_order_relaxed);
  const bool sent =
      commands_->Command(argv, [this, job, on_reply = std::move(on_reply)](const redisReply* r) {
        if (!r) job->failed = true;  // no answer: the connection went
        on_reply(r);
        if (--job->waiting == 0) FinishRead(job);
      });
  if (!sent) {
    --job->waiting;
    job->failed = true;
  }
}

// Reads, from a reply listing topics, the streams of those the filters match.
void RedisStore::ReadMatchingStreams(const std::shared_ptr<ReadJob>& job, const redisReply* r) {
  for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
    const std::string_view topic = ReplyText(r->element[i]);
    if (job->streams.count(topic)) continue;
    for (const std::string& filter : job->req.filters) {
      if (TopicsMatch(filter, topic)) {
        job->rounds = 2;
        ReadStream(job, std::string(topic));
        break;
      }
    }
  }
}

void RedisStore::ReadStream(const std::shared_ptr<ReadJob>& job, const std::string& topic) {
  if (!job->streams.insert(topic).second) return;
  const std::string stream = keys_.stream(topic);
  // What MAXLEN trimmed lies below the first entry left. XINFO gives no
  // exact "trimmed up to" (max-deleted-entry-id counts XDEL only), so a
  // cursor below the first entry of a trimmed stream is not covered; it
  // may be a false `reset` when the cursor sits in the gap of other
  // topics' ids, never a silent loss. (No such stream: an error, no fields.)
  ReadCommand(job, {"XINFO", "STREAM", stream}, [job](const redisReply* r) {
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
  });
  const std::string from = std::to_string(job->req.after_seq + 1) + "-0";
  const std::string count = std::to_string(std::max<size_t>(job->req.limit, 1));
  ReadCommand(job, {"XRANGE", stream, from, "+", "COUNT", count}, [this, job](const redisReply* r) {
    if (r && r->type != REDIS_REPLY_ARRAY) job->failed = true;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
      const redisReply* entry = r->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
      const redisReply* fields = entry->element[1];
      if (fields->type != REDIS_REPLY_ARRAY || fields->elements != 2) continue;
      auto stored = DecodeStoredEvent(ReplyText(fields->element[1]));
      if (!stored.ok()) continue;
      std::shared_ptr<const AclRecord> bound;
      if (stored->bound && options_.bound_record) bound = options_.bound_record(stored->topic);
      job->result.events.push_back(MakeEvent(StreamSeq(ReplyText(entry->element[0])), job->epoch,
                                             stored->iat_ms, std::move(stored->topic),
                                             stored->e_json, stored->whisper, std::move(bound),
                                             stored->presence));
    }
  });
}

void RedisStore::FinishRead(const std::shared_ptr<ReadJob>& job) {
  ReadResult result = std::move(job->result);
  read_rounds_.fetch_add(job->rounds, std::memory_order_relaxed);
  if (job->failed) {
    result = ReadResult();
    result.status = RedisUnavailable(commands_ ? commands_->detail() : "");
  } else {
    std::sort(result.events.begin(), result.events.end(),
              [](const EventRef& a, const EventRef& b) { return a->seq < b->seq; });
    if (result.events.size() > job->req.limit) result.events.resize(job->req.limit);
    // A cursor past the newest id is not one of this store's.
    if (job->req.after_seq > result.last_seq) result.covered = false;
    if (job->redis_epoch != 0 && job->epoch != 0 && job->redis_epoch != job->epoch) {
      NoteEpoch(job->redis_epoch);  // Redis lost its data: the cursor is void
      result = ReadResult();
      result.covered = false;
    }
    NoteSeq(result.last_seq, job->epoch);
  }
  if (commands_) round_trips_.store(commands_->round_trips(), std::memory_order_relaxed);
  job->post([job, result = std::move(result)]() mutable { job->done(std::move(result)); });
}

void RedisStore::Watch(const std::string& filter) {
  RunOnBridge([this, filter] {
    if (watched_[filter]++ > 0) return;
    SubscriptionsChanged();
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
    SubscriptionsChanged();
    fed_waiting_.erase(std::remove_if(fed_waiting_.begin(), fed_waiting_.end(),
                                      [&](const auto& w) { return w.first == filter; }),
                       fed_waiting_.end());
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

bool RedisStore::WhenFed(const std::string& filter, std::function<void()> fed) {
  RunOnBridge([this, filter, fed = std::move(fed)]() mutable {
    if (watched_.count(filter) == 0) return;  // unwatched meanwhile
    if (IsFed(filter)) return fed();          // a pattern another filter holds
    fed_waiting_.emplace_back(filter, std::move(fed));
  });
  return false;
}

bool RedisStore::IsFed(const std::string& filter) const {
  // The epoch and the newest id too: a subscriber that came before they
  // were known replays from where the node is once they are (Replayer::OnFed).
  if (!loaded_) return false;
  if (!subscriber_->Confirmed("SUBSCRIBE", keys_.wildcard_channel())) return false;
  return HasWildcard(filter) ? subscriber_->Confirmed("PSUBSCRIBE", keys_.pattern(filter))
                             : subscriber_->Confirmed("SUBSCRIBE", keys_.channel(filter));
}

void RedisStore::OnSubscribed() {
  SubscriptionsChanged();
  std::vector<std::function<void()>> fed;
  auto it = std::remove_if(fed_waiting_.begin(), fed_waiting_.end(), [&](auto& w) {
    if (!IsFed(w.first)) return false;
    fed.push_back(std::move(w.second));
    return true;
  });
  fed_waiting_.erase(it, fed_waiting_.end());
  for (auto& fn : fed) fn();
}

void RedisStore::NoteSeq(uint64_t seq, uint32_t epoch) {
  if (epoch != epoch_.load(std::memory_order_acquire)) return;  // ids of another epoch
  uint64_t known = known_seq_.load(std::memory_order_relaxed);
  while (seq > known && !known_seq_.compare_exchange_weak(known, seq)) {
  }
}

void RedisStore::OnTick(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<RedisStore*>(arg);
  // Where the cluster's sequence is (see LastSeq).
  if (!self->commands_ || self->commands_->state() != RedisClient::State::kUp) return;
  self->commands_->Command({"MGET", self->keys_.epoch(), self->keys_.seq()},
                           [self](const redisReply* r) {
                             if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return;
                             uint32_t epoch = 0;
                             uint64_t seq = 0;
                             if (!ParseDecimal(ReplyText(r->element[0]), &epoch)) return;
                             // A node that hears nothing learns here that
                             // Redis lost its data (FLUSHALL, restart).
                             self->NoteEpoch(epoch);
                             if (ParseDecimal(ReplyText(r->element[1]), &seq)) {
                               self->NoteSeq(seq, epoch);
                             }
                           });
}

// The subscriptions /state shows: rebuilt on the bridge once per loop
// iteration that changed them (a node may hold thousands: not per change).
void RedisStore::SubscriptionsChanged() {
  if (subscriptions_changed_ || !refresh_) return;
  subscriptions_changed_ = true;
  event_active(refresh_.get(), EV_TIMEOUT, 0);
}

void RedisStore::UpdateSubscriptions() {
  subscriptions_changed_ = false;
  if (!subscriber_) return;
  StoreStatus s;
  subscriber_->ForEachSubscription(
      [&](const std::string& kind, std::string_view channel, bool confirmed) {
        const bool pattern = kind == "PSUBSCRIBE";
        ++(pattern ? s.patterns : s.channels);
        if (!confirmed) ++s.unconfirmed;
        auto& list = pattern ? s.pattern_list : s.channel_list;
        if (list.size() < StoreStatus::kListed) list.emplace_back(channel);
      });
  std::lock_guard<std::mutex> lock(status_mu_);
  status_.channels = s.channels;
  status_.patterns = s.patterns;
  status_.unconfirmed = s.unconfirmed;
  status_.channel_list = std::move(s.channel_list);
  status_.pattern_list = std::move(s.pattern_list);
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
  s.commands_state = commands_ ? RedisStateName(commands_->state()) : "connecting";
  s.subscriber_state = subscriber_ ? RedisStateName(subscriber_->state()) : "connecting";
  s.reconnects =
      (commands_ ? commands_->reconnects() : 0) + (subscriber_ ? subscriber_->reconnects() : 0);
  SubscriptionsChanged();  // a lost connection's subscriptions are unconfirmed
  std::lock_guard<std::mutex> lock(status_mu_);
  s.channels = status_.channels;
  s.patterns = status_.patterns;
  s.unconfirmed = status_.unconfirmed;
  s.channel_list = std::move(status_.channel_list);
  s.pattern_list = std::move(status_.pattern_list);
  status_ = std::move(s);
}

StoreStatus RedisStore::status() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  StoreStatus s = status_;
  s.round_trips = round_trips_.load(std::memory_order_relaxed);
  s.reads = reads_.load(std::memory_order_relaxed);
  s.read_commands = read_commands_.load(std::memory_order_relaxed);
  s.read_rounds = read_rounds_.load(std::memory_order_relaxed);
  return s;
}

HistoryStats RedisStore::Stats() const {
  HistoryStats stats;
  stats.last_seq = LastSeq();
  return stats;
}

}  // namespace herald
