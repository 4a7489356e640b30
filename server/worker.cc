#include "server/worker.h"

#include <event2/thread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "auth/acl.h"
#include "server/context.h"
#include "server/core/presence.h"
#include "server/core/space.h"
#include "server/delivery_policy.h"
#include "server/hub.h"
#include "server/public_listener.h"
#include "server/replayer.h"
#include "server/store/store.h"
#include "server/transport/lean_socket.h"
#include "server/util/event_add.h"
#include "server/util/log.h"

namespace herald {
namespace {
constexpr int kTickMs = 50;  // resolution of timeouts and heartbeats
constexpr timeval kShutdownDrain = {0, 300 * 1000};
constexpr int kIdleTimeoutS = 30;  // evhttp's keep-alive idle and request read timeout
constexpr size_t kMaxHeldWhispers = 1000;
}  // namespace

Worker::Worker(int index, ServerContext* ctx)
    : index_(index),
      ctx_(ctx),
      node_(ResolveNodeId(ctx->config.node_id)),
      deadlines_(&ctx->config, [this](Connection* c, CloseReason r) { Close(c, r); }),
      held_(kIdleTimeoutS),
      replayer_(std::make_unique<Replayer>(this)) {}

Worker::~Worker() {
  // Connections and held requests (held_, destroyed before http_) belong to
  // http_: drop them first.
  for (auto& [id, conn] : conns_) conn->Abandon();
  conns_.clear();
  // Streams that ended with bytes still to send hold the loop's events.
  if (base_) LeanSocket::DropFinishers(base_.get());
  if (base_shared_) (void)base_.release();  // its owner frees it
}

const Config& Worker::config() const { return ctx_->config; }

Status Worker::Init(int listen_fd) { return Init(listen_fd, nullptr); }

Status Worker::Init(int listen_fd, event_base* shared) {
  base_shared_ = shared != nullptr;
  base_.reset(shared ? shared : event_base_new());
  if (!base_) return Status::Internal("event_base_new failed");
  http_.reset(evhttp_new(base_.get()));
  if (!http_) return Status::Internal("evhttp_new failed");
  const Limits& lim = ctx_->config.limits;
  evhttp_set_max_body_size(http_.get(), lim.max_body_bytes);
  evhttp_set_max_headers_size(http_.get(), lim.max_header_bytes);
  evhttp_set_timeout(http_.get(), kIdleTimeoutS);
  evhttp_set_allowed_methods(http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_OPTIONS |
                                              EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_PATCH);
  evhttp_set_gencb(http_.get(), HandlePublicRequest, this);
  // Every worker accepts on its own dup of the one listening socket; the
  // kernel hands each new connection to one of them.
  int fd = dup(listen_fd);
  if (fd < 0) return Status::Internal("dup failed");
  bound_ = evhttp_accept_socket_with_handle(http_.get(), fd);
  if (!bound_) {
    close(fd);
    return Status::Internal("evhttp_accept_socket failed");
  }
  const int workers = ctx_->config.workers > 0 ? ctx_->config.workers : 1;
  accept_guard_ = std::make_unique<AcceptGuard>(
      base_.get(), lim, static_cast<size_t>(lim.max_pending_connections / workers),
      &ctx_->stats.slow_requests);
  accept_guard_->Attach(http_.get(), bound_);
  if (ctx_->tls_listen_fd >= 0) {
    Status tls = accept_guard_->AcceptTls(ctx_->tls_listen_fd, &ctx_->tls);
    if (!tls.ok()) return tls;
  }
  Status inbox = inbox_.Init(base_.get(), &loop_thread_, [this] { Drain(); });
  if (!inbox.ok()) return inbox;
  Status flusher = flusher_.Init(
      base_.get(), [this](uint64_t id) { return Find(id); }, &stats_.publish_to_write);
  if (!flusher.ok()) return flusher;
  tick_.reset(event_new(
      base_.get(), -1, EV_PERSIST,
      [](evutil_socket_t, short, void* self) { static_cast<Worker*>(self)->OnTick(); }, this));
  replayer_->Init();
  close_over_cap_.reset(event_new(
      base_.get(), -1, 0,
      [](evutil_socket_t, short, void* self) { static_cast<Worker*>(self)->CloseOverCap(); },
      this));
  timeval tick = {0, kTickMs * 1000};
  if (!AddEvent(tick_.get(), &tick, "worker", "tick")) {
    return Status::Internal("worker " + std::to_string(index_) + ": cannot arm its events");
  }
  return Status::Ok();
}

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  loop_thread_.store(std::this_thread::get_id());
  event_base_dispatch(base_.get());
}

void Worker::AddFilter(Connection* conn, const std::string& filter) {
  conn->subscriptions.push_back(topics_.Add(filter, conn));
  inbox_.interest().Add(filter);
  // By connid: the store may confirm after the connection has gone.
  const bool fed =
      ctx_->hub->Watch(filter, [this, id = conn->id()] { Post([this, id] { OnFilterFed(id); }); });
  if (!fed) ++conn->unfed_filters;
}

void Worker::OnFilterFed(uint64_t connid) {
  Connection* conn = Find(connid);
  if (!conn || conn->unfed_filters == 0) return;
  if (--conn->unfed_filters > 0) return;
  if (conn->replaying) {
    replayer_->OnFed(conn);
  } else {
    RequestFlush(conn);  // a held poll reads again: it may have missed a wake-up
  }
}

// A connection some of whose filters the store does not feed yet (Redis:
// the SUBSCRIBE is on its way) would miss what is published meanwhile:
// it replays from `cursor` once they are fed. Poll sessions read history on
// every poll anyway (OnFilterFed only wakes a held one).
void Worker::ReplayUnfed(Connection* conn, uint64_t cursor) {
  if (conn->unfed_filters == 0 || conn->transport() == Transport::kPoll) return;
  replayer_->StartFrom(conn, cursor);
}

void Worker::RemoveFilter(ConnectionIndex::Subscription* sub) {
  inbox_.interest().Remove(ConnectionIndex::FilterOf(sub));
  ctx_->hub->Unwatch(std::string(ConnectionIndex::FilterOf(sub)));
  topics_.Remove(sub);
}

void Worker::Post(std::function<void()> task) { inbox_.Push(InboxItem{nullptr, std::move(task)}); }
PostFn Worker::LoopPost() {
  ServerContext* ctx = ctx_;
  return [this, ctx](std::function<void()> task) {
    if (ctx->workers_gone.load(std::memory_order_acquire)) return;
    Post(std::move(task));
  };
}

void Worker::PostEvent(EventRef ev) { inbox_.Push(InboxItem{std::move(ev), nullptr}); }

void Worker::Shutdown() {
  Post([this] {
    shutting_down_ = true;
    if (bound_) {
      accept_guard_->Detach();
      evhttp_del_accept_socket(http_.get(), bound_);
      bound_ = nullptr;
    }
    std::vector<Connection*> all;
    for (auto& [id, conn] : conns_) all.push_back(conn.get());
    for (Connection* c : all) Close(c, CloseReason::kShutdown);
    held_.EndAll();
    event_base_loopexit(base_.get(), &kShutdownDrain);
  });
}

void Worker::Drain() {
  inbox_.Take(&draining_);
  for (InboxItem& item : draining_) {
    if (item.event) {
      Add(stats_.events_in);
      // In seq order: the Hub posts under its mutex.
      last_dispatched_seq_ = item.event->seq;
      if (item.event->whisper) {
        DispatchWhisper(item.event);
      } else {
        Dispatch(item.event);
      }
    } else if (item.task) {
      item.task();
    }
  }
  draining_.clear();  // keeps capacity
  CloseSlow();
}

namespace {

// An event that is not history (whisper, presence) for a connection still
// replaying: it waits for the replay to pass its seq.
void HoldUntilReplayed(Connection* conn, const EventRef& ref, NodeStats* stats) {
  // Once, though several of its filters match (events come in seq order).
  if (!conn->held_whispers.empty() && conn->held_whispers.back() == ref) return;
  if (conn->held_whispers.size() >= kMaxHeldWhispers) {
    conn->held_whispers.erase(conn->held_whispers.begin());
    Add(stats->dropped);
  }
  conn->held_whispers.push_back(ref);
}

}  // namespace

void Worker::Dispatch(const EventRef& ref) {
  const Event& ev = *ref;
  // For a topic without wildcards the index visits a connection's matching
  // filters in DeliveryFilter's order, so the first one admitted is the one
  // to name. A wildcard topic fans out in hash order: a connection with
  // several filters then gets its filter chosen by DeliveryFilter, so live
  // names the same `requested` as replay and poll.
  const bool fans_out = HasWildcard(ev.topic);
  topics_.Match(ev.topic, [&](std::string_view filter, const auto& subscribers) {
    frames_.Reset(&ev, filter, &ref);
    for (Connection* conn : subscribers) {
      // Delivered through another filter, or published before the connection
      // subscribed (Adopt).
      if (conn->last_seq >= ev.seq) continue;
      // A resuming connection gets this event from its replay if it is in
      // history; a presence change waits for the replay to pass it.
      if (conn->replaying) {
        if (!ev.InHistory()) HoldUntilReplayed(conn, ref, &ctx_->stats);
        continue;
      }
      if (fans_out && conn->subscriptions.size() > 1) {
        conn->last_seq = ev.seq;  // DeliveryFilter looked at all its filters
        std::string_view chosen = DeliveryFilter(*conn, ev, NowMs());
        if (chosen.empty()) continue;
        if (chosen == filter) {
          DeliverTo(conn, frames_);
        } else {
          chosen_frames_.Reset(&ev, chosen, &ref);
          DeliverTo(conn, chosen_frames_);
        }
        continue;
      }
      // Skipped through this filter: a later one may still admit it.
      if (DeliverTo(conn, frames_)) conn->last_seq = ev.seq;
    }
  });
}

void Worker::DispatchWhisper(const EventRef& ref) {
  const Event& ev = *ref;
  Connection* conn = Find(ev.whisper);
  if (!conn) return;
  std::string_view filter = DeliveryFilter(*conn, ev, NowMs());
  if (filter.empty()) return;
  if (conn->replaying) {
    HoldUntilReplayed(conn, ref, &ctx_->stats);
    return;
  }
  frames_.Reset(&ev, filter, &ref);
  DeliverTo(conn, frames_);
}

bool Worker::DeliverTo(Connection* conn, FrameCache& frames) {
  if (conn->closing) {
    Add(ctx_->stats.dropped);
    return true;
  }
  // The clock matters only for a token's exp: no clock read per delivery otherwise.
  const int64_t now = conn->token_exp_s != 0 ? NowMs() : 0;
  switch (DecideDelivery(*conn, frames.event(), frames.filter(), now)) {
    case Verdict::kSkip:
      return false;
    case Verdict::kTokenExpired:
      // `disconnect` `unauthorized` instead of the event. Closed after the
      // dispatch loop, like a slow subscriber, so the loop stays valid.
      conn->closing = true;
      unauthorized_.push_back(conn);
      return true;
    case Verdict::kDeliver:
      break;
  }
  // Only what was queued before this frame counts: one frame, however large
  // (limits.max_event_bytes bounds it), never makes a reader that keeps up slow.
  const size_t queued_before = conn->PendingBytes();
  conn->Deliver(frames);
  Add(stats_.delivered);
  // Live deliveries only: a replayed event's iat says when it was published, long ago.
  if (&frames == &frames_) flusher_.NoteDelivery(frames.event().iat_ms);
  if (queued_before > static_cast<size_t>(ctx_->config.limits.max_output_buffer_bytes)) {
    conn->closing = true;
    slow_.push_back(conn);
  }
  return true;
}

void Worker::CloseSlow() {
  for (Connection* conn : slow_) {
    LogInfo("worker", conn->id(), "closing slow subscriber (%zu bytes queued)",
            conn->PendingBytes());
    Close(conn, CloseReason::kSlow);
  }
  slow_.clear();
  for (Connection* conn : unauthorized_) {
    LogInfo("worker", conn->id(), "closing: token expired");
    Close(conn, CloseReason::kUnauthorized);
  }
  unauthorized_.clear();
}

void Worker::CheckOutputCap(Connection* conn, size_t written) {
  if (conn->closing) return;
  const size_t pending = conn->PendingBytes();
  const size_t before = pending - std::min(pending, written);
  if (before <= static_cast<size_t>(ctx_->config.limits.max_output_buffer_bytes)) return;
  // Not closed here: the caller (a handler, a timer) still holds conn.
  conn->closing = true;
  if (over_cap_.empty()) event_active(close_over_cap_.get(), 0, 0);
  over_cap_.push_back(conn->id());
}

void Worker::CloseOverCap() {
  std::vector<uint64_t> ids;
  ids.swap(over_cap_);
  for (uint64_t id : ids) {
    Connection* conn = Find(id);
    if (!conn) continue;  // the client left meanwhile
    LogInfo("worker", id, "closing slow subscriber (%zu bytes queued, control frames)",
            conn->PendingBytes());
    Close(conn, CloseReason::kSlow);
  }
}

void Worker::OnTick() {
  const int64_t now = NowMs();
  deadlines_.Run(now);
  accept_guard_->OnTick(now);
}

uint64_t Worker::NextConnId() { return MakeConnId(next_conn_seq_++, node_, index_); }

Connection* Worker::Adopt(std::unique_ptr<Connection> conn,
                          const std::vector<std::string>& filters) {
  Connection* c = conn.get();
  const int64_t now = NowMs();
  c->since_ms = now;
  // Live delivery starts after what was published before this moment: the
  // events of the inbox that woke nobody are older than the connection
  // (issue 10.1). Read before the filters go in, so nothing newer is missed.
  c->last_seq = ctx_->hub->LastSeq();
  c->subscriptions.reserve(filters.size());
  int64_t watchers = 0;
  for (const std::string& f : filters) {
    AddFilter(c, f);
    if (IsPresenceFilter(f)) ++watchers;
  }
  inbox_.DrainSoonIfQueued();
  ReplayUnfed(c, c->last_seq);
  if (watchers) ctx_->presence.ChangeWatchers(watchers);
  deadlines_.Track(c, now);
  conns_.emplace(c->id(), std::move(conn));
  Add(stats_.connections[static_cast<int>(c->transport())]);
  Add(stats_.connection_bytes, ConnectionBytes(*c));
  UpdateIndexStats();
  return c;
}

Connection* Worker::Find(uint64_t connid) {
  auto it = conns_.find(connid);
  return it == conns_.end() ? nullptr : it->second.get();
}

void Worker::RestartTimeout(Connection* conn) { deadlines_.RestartTimeout(conn, NowMs()); }
void Worker::PauseTimeout(Connection* conn) { deadlines_.PauseTimeout(conn); }
void Worker::ResumeTimeout(Connection* conn) { deadlines_.ResumeTimeout(conn, NowMs()); }

void Worker::Close(Connection* conn, CloseReason reason) {
  conn->Close(reason);
  Forget(conn, reason);
}

void Worker::OnClientGone(Connection* conn) { Forget(conn, CloseReason::kClient); }

void Worker::Forget(Connection* conn, CloseReason reason) {
  int64_t watchers = 0;
  for (auto* sub : conn->subscriptions) {
    if (IsPresenceFilter(ConnectionIndex::FilterOf(sub))) ++watchers;
    RemoveFilter(sub);
  }
  conn->subscriptions.clear();
  if (watchers) ctx_->presence.ChangeWatchers(-watchers);
  deadlines_.Forget(conn);
  Add(stats_.connections[static_cast<int>(conn->transport())], -1);
  Add(stats_.connection_bytes, -ConnectionBytes(*conn));
  Add(ctx_->stats.closed[static_cast<int>(reason)]);
  Add(conn->transport() == Transport::kPoll ? ctx_->stats.open_poll_sessions
                                            : ctx_->stats.open_connections,
      -1);
  ctx_->presence.ReleaseIp(conn->remote_ip);
  const std::string clid = conn->clid;
  const std::string presence_key = PresenceKey(clid, conn->space);
  LogDebug("worker", conn->id(), "closed: %s", CloseReasonName(reason));
  conns_.erase(conn->id());  // destroys conn
  UpdateIndexStats();
  int64_t left = ctx_->presence.ChangeKeyed(clid, presence_key, -1);
  PublishPresence(ctx_, presence_key, "disconnect", left);
}

void Worker::UpdateIndexStats() {
  stats_.filters.store(static_cast<int64_t>(topics_.subscription_count()),
                       std::memory_order_relaxed);
}

int64_t Worker::ConnectionBytes(const Connection& c) {
  return static_cast<int64_t>(sizeof(Connection) + 64 /* transport part */ + c.secret.capacity() +
                              c.clid.capacity() + c.subscribe_request.capacity() +
                              c.remote.capacity() + c.remote_ip.capacity() +
                              c.subscriptions.capacity() * sizeof(void*));
}

size_t Worker::PendingBytes() {
  size_t total = 0;
  for (auto& [id, conn] : conns_) total += conn->PendingBytes();
  return total + inbox_.PendingBytes();
}

void Worker::SendReset(Connection* conn, ResetReason reason) { replayer_->SendReset(conn, reason); }

void Worker::OnStoreEpochChanged() {
  last_dispatched_seq_ = 0;
  const std::string reset = ControlJson(NowMs(), kServerTopic, kServerTopic, "reset",
                                        ResetDetailJson(ResetReason::kEpoch, ctx_->hub->store()));
  LogWarn("worker", 0, "store epoch changed: `reset` to %zu connections", conns_.size());
  for (auto& [id, conn] : conns_) {
    Connection* c = conn.get();
    if (c->closing) continue;
    if (c->replaying) replayer_->Abort(c);
    c->last_seq = 0;
    c->OnEpochChanged(reset);
  }
  CloseSlow();
}

void Worker::StartReplay(Connection* conn, std::string_view cursor) {
  replayer_->Start(conn, cursor);
}

bool Worker::Subscribe(Connection* conn, const std::string& filter) {
  for (auto* sub : conn->subscriptions) {
    if (ConnectionIndex::FilterOf(sub) == filter) return false;
  }
  Add(stats_.connection_bytes, -ConnectionBytes(*conn));
  const uint64_t cursor = ctx_->hub->LastSeq();  // before the filter goes in
  AddFilter(conn, filter);
  inbox_.DrainSoonIfQueued();
  ReplayUnfed(conn, cursor);
  Add(stats_.connection_bytes, ConnectionBytes(*conn));
  if (IsPresenceFilter(filter)) ctx_->presence.ChangeWatchers(1);
  UpdateIndexStats();
  return true;
}

bool Worker::Unsubscribe(Connection* conn, const std::string& filter) {
  auto& subs = conn->subscriptions;
  for (size_t i = 0; i < subs.size(); ++i) {
    if (ConnectionIndex::FilterOf(subs[i]) != filter) continue;
    RemoveFilter(subs[i]);
    subs.erase(subs.begin() + static_cast<std::ptrdiff_t>(i));
    if (IsPresenceFilter(filter)) ctx_->presence.ChangeWatchers(-1);
    UpdateIndexStats();
    return true;
  }
  return false;
}

void Worker::AnswerHeld(uint64_t token, HttpResponse resp) {
  Post([this, token, resp = std::move(resp)] {
    if (evhttp_request* req = ReleaseHeld(token)) SendEvhttpResponse(*this, req, resp);
  });
}

}  // namespace herald
