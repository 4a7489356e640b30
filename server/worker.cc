#include "server/worker.h"

#include <event2/bufferevent.h>
#include <event2/thread.h>
#include <sys/eventfd.h>
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
#include "server/util/event_add.h"
#include "server/util/log.h"

namespace herald {
namespace {
constexpr int kTickMs = 50;  // resolution of timeouts and heartbeats
constexpr timeval kShutdownDrain = {0, 300 * 1000};
// Events queued for a worker without waking it (no filter there can match
// them) before it drains anyway: bounds the memory they hold.
constexpr size_t kMaxQueuedUnwoken = 256;
// Connections flushed per loop iteration (see RunFlushes): ~1 ms of writev.
constexpr size_t kFlushSlice = 256;
constexpr int kIdleTimeoutS = 30;  // evhttp's keep-alive idle and request read timeout
constexpr size_t kMaxHeldWhispers = 1000;
}  // namespace

int64_t TransportTimeoutMs(const Config& config, Transport t) {
  switch (t) {
    case Transport::kStream:
      return config.stream.timeout_ms;
    case Transport::kSse:
      return config.sse.timeout_ms;
    case Transport::kPoll:
      return config.poll.session_ttl_ms;
  }
  return 0;
}

int64_t TransportHeartbeatMs(const Config& config, Transport t) {
  switch (t) {
    case Transport::kStream:
      return config.stream.heartbeat_ms;
    case Transport::kSse:
      return config.sse.heartbeat_ms;
    case Transport::kPoll:
      return 0;  // a poll is answered, never kept open
  }
  return 0;
}

Worker::Worker(int index, ServerContext* ctx)
    : index_(index),
      ctx_(ctx),
      node_(ResolveNodeId(ctx->config.node_id)),
      replayer_(std::make_unique<Replayer>(this)) {}

Worker::~Worker() {
  // Connections and held requests belong to http_: drop them first.
  for (auto& [id, conn] : conns_) conn->Abandon();
  conns_.clear();
  for (auto& [token, entry] : held_) {
    if (evhttp_connection* evcon = evhttp_request_get_connection(entry->req)) {
      evhttp_connection_set_closecb(evcon, nullptr, nullptr);
    }
  }
  held_.clear();
}

Status Worker::Init(int listen_fd) {
  base_.reset(event_base_new());
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
  wake_fd_ = UniqueFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (wake_fd_.get() < 0) return Status::Internal("eventfd failed");
  wake_.reset(event_new(
      base_.get(), wake_fd_.get(), EV_READ | EV_PERSIST,
      [](evutil_socket_t fd, short what, void* self) {
        if (what & EV_READ) {  // woken through the eventfd: reset it
          eventfd_t ignored;
          eventfd_read(fd, &ignored);
        }
        static_cast<Worker*>(self)->Drain();
      },
      this));
  tick_.reset(event_new(
      base_.get(), -1, EV_PERSIST,
      [](evutil_socket_t, short, void* self) { static_cast<Worker*>(self)->OnTick(); }, this));
  replayer_->Init();
  flush_.reset(event_new(
      base_.get(), -1, 0,
      [](evutil_socket_t, short, void* self) { static_cast<Worker*>(self)->RunFlushes(); }, this));
  close_over_cap_.reset(event_new(
      base_.get(), -1, 0,
      [](evutil_socket_t, short, void* self) { static_cast<Worker*>(self)->CloseOverCap(); },
      this));
  timeval tick = {0, kTickMs * 1000};
  if (!AddEvent(wake_.get(), nullptr, "worker", "wake-up") ||
      !AddEvent(tick_.get(), &tick, "worker", "tick")) {
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

void Worker::Push(InboxItem item) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    // An event no filter here can match is queued without a wake-up: every
    // event still passes through every worker in seq order (resume relies on
    // it), but a publish wakes only the workers it reaches. The queue is
    // bounded: past kMaxQueuedUnwoken the worker drains anyway.
    const bool urgent = !item.event || item.event->whisper != 0 ||
                        interest_.MayMatch(item.event->topic) || inbox_.size() >= kMaxQueuedUnwoken;
    inbox_.push_back(std::move(item));
    // One wake-up per batch: a busy worker drains everything queued meanwhile.
    if (urgent && !wake_pending_) wake = wake_pending_ = true;
  }
  if (wake) Wake();
}

void Worker::Wake() {
  // From another thread, a write to the worker's own eventfd: event_active
  // there would take the worker's event_base lock, which its loop holds
  // much of the time (that contention was a futex wait and wake per publish).
  if (InLoopThread()) {
    event_active(wake_.get(), EV_TIMEOUT, 0);  // not EV_READ: nothing to reset
  } else {
    // Fails only if the fd is gone or the counter is full; the slower
    // event_active still wakes the loop.
    if (eventfd_write(wake_fd_.get(), 1) != 0) event_active(wake_.get(), EV_TIMEOUT, 0);
  }
}

void Worker::DrainSoonIfQueued() {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    if (!inbox_.empty() && !wake_pending_) wake = wake_pending_ = true;
  }
  if (wake) Wake();
}

void Worker::AddFilter(Connection* conn, const std::string& filter) {
  conn->subscriptions.push_back(topics_.Add(filter, conn));
  interest_.Add(filter);
  ctx_->hub->Watch(filter);
}

void Worker::RemoveFilter(ConnectionIndex::Subscription* sub) {
  interest_.Remove(ConnectionIndex::FilterOf(sub));
  ctx_->hub->Unwatch(std::string(ConnectionIndex::FilterOf(sub)));
  topics_.Remove(sub);
}

void Worker::Post(std::function<void()> task) { Push(InboxItem{nullptr, std::move(task)}); }
void Worker::PostEvent(EventRef ev) { Push(InboxItem{std::move(ev), nullptr}); }

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
    EndHeld();
    event_base_loopexit(base_.get(), &kShutdownDrain);
  });
}

void Worker::Drain() {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    draining_.swap(inbox_);
    wake_pending_ = false;
  }
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
  if (&frames == &frames_) pending_latency_.Note(frames.event().iat_ms);
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

void Worker::CheckAuth(int64_t now_ms) {
  const int64_t now_s = now_ms / 1000;
  const int64_t notice_s = ctx_->config.auth.expiring_notice_s;
  size_t keep = 0;
  for (size_t i = 0; i < auth_watch_.size(); ++i) {
    Connection* c = Find(auth_watch_[i]);
    if (!c || c->closing) continue;
    if (c->auth_pending && now_ms >= c->auth_deadline_ms) {
      Close(c, CloseReason::kUnauthorized);
      continue;
    }
    if (TokenExpired(*c, now_ms)) {
      Close(c, CloseReason::kUnauthorized);
      continue;
    }
    if (c->token_exp_s != 0 && !c->expiring_sent && now_s >= c->token_exp_s - notice_s) {
      c->expiring_sent = true;
      SendServerEvent(c, "auth_expiring",
                      "{\"connid\":" + std::to_string(c->id()) +
                          ",\"exp\":" + std::to_string(c->token_exp_s) + "}");
    }
    auth_watch_[keep++] = auth_watch_[i];
  }
  auth_watch_.resize(keep);
}

void Worker::OnTick() {
  const int64_t now = NowMs();
  for (auto& list : timeouts_) {
    while (Connection* c = list.front()) {
      if (c->deadline_ms > now) break;
      Close(c, CloseReason::kTimeout);
    }
  }
  for (int t = 0; t < kTransportCount; ++t) {
    const int64_t heartbeat = TransportHeartbeatMs(ctx_->config, static_cast<Transport>(t));
    while (Connection* c = heartbeats_[t].front()) {
      if (c->next_heartbeat_ms > now) break;
      c->SendHeartbeat();
      c->next_heartbeat_ms = now + heartbeat;
      heartbeats_[t].MoveToBack(c);
    }
  }
  if (!auth_watch_.empty()) CheckAuth(now);
  accept_guard_->OnTick(now);
}

uint64_t Worker::NextConnId() { return MakeConnId(next_seq_++, node_, index_); }

Connection* Worker::Adopt(std::unique_ptr<Connection> conn,
                          const std::vector<std::string>& filters) {
  Connection* c = conn.get();
  const int64_t now = NowMs();
  const int t = static_cast<int>(c->transport());
  const int64_t timeout = TransportTimeoutMs(ctx_->config, c->transport());
  const int64_t heartbeat = TransportHeartbeatMs(ctx_->config, c->transport());
  c->since_ms = now;
  c->deadline_ms = now + timeout;
  c->next_heartbeat_ms = now + heartbeat;
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
  DrainSoonIfQueued();
  if (watchers) ctx_->presence.ChangeWatchers(watchers);
  if (timeout > 0) {
    timeouts_[t].PushBack(c);
  } else {
    c->timeout_paused = true;
  }
  if (heartbeat > 0) heartbeats_[t].PushBack(c);
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

void Worker::RestartTimeout(Connection* conn) {
  if (conn->timeout_paused) return;
  const int64_t timeout = TransportTimeoutMs(ctx_->config, conn->transport());
  if (timeout <= 0) return;
  conn->deadline_ms = NowMs() + timeout;
  timeouts_[static_cast<int>(conn->transport())].MoveToBack(conn);
}

void Worker::PauseTimeout(Connection* conn) {
  timeouts_[static_cast<int>(conn->transport())].Remove(conn);
  conn->timeout_paused = true;
}

void Worker::ResumeTimeout(Connection* conn) {
  if (TransportTimeoutMs(ctx_->config, conn->transport()) <= 0) return;
  conn->timeout_paused = false;
  RestartTimeout(conn);
}

void Worker::Close(Connection* conn, CloseReason reason) {
  conn->End(reason);
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
  timeouts_[static_cast<int>(conn->transport())].Remove(conn);
  heartbeats_[static_cast<int>(conn->transport())].Remove(conn);
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
                              c.clid.capacity() + c.body.capacity() + c.remote.capacity() +
                              c.remote_ip.capacity() + c.subscriptions.capacity() * sizeof(void*));
}

size_t Worker::PendingBytes() {
  size_t total = 0;
  for (auto& [id, conn] : conns_) total += conn->PendingBytes();
  std::lock_guard<std::mutex> lock(inbox_mu_);
  for (const auto& item : inbox_) {
    if (item.event) total += item.event->head.size() + item.event->tail.size();
  }
  return total;
}

void Worker::SendReset(Connection* conn, ResetReason reason) { replayer_->SendReset(conn, reason); }

void Worker::StartReplay(Connection* conn, std::string_view cursor) {
  replayer_->Start(conn, cursor);
}

bool Worker::Subscribe(Connection* conn, const std::string& filter) {
  for (auto* sub : conn->subscriptions) {
    if (ConnectionIndex::FilterOf(sub) == filter) return false;
  }
  Add(stats_.connection_bytes, -ConnectionBytes(*conn));
  AddFilter(conn, filter);
  DrainSoonIfQueued();
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

void Worker::RequestFlush(Connection* conn) {
  // Writes from handlers and timers are flushed too, still in this iteration.
  if (flushes_.empty()) event_active(flush_.get(), 0, 0);
  flushes_.push_back(conn->id());
}

void Worker::RunFlushes() {
  // Runs only as the flush_ event, which RequestFlush activates: after the
  // other callbacks of this loop iteration, so their frames share a writev.
  // At most kFlushSlice connections per loop iteration. Between slices the
  // loop takes new publishes (the private API runs on this loop too), so
  // under load the frames of several events leave in one writev per
  // connection instead of one writev each; a light load is one slice anyway.
  size_t budget = kFlushSlice;
  for (;;) {
    if (flushing_next_ == flushing_.size()) {
      flushing_.clear();  // keeps capacity
      flushing_next_ = 0;
      // Flush may queue more (it answers a poll, which may post).
      if (flushes_.empty()) {
        pending_latency_.Observe(NowMs(), stats_.publish_to_write);
        return;
      }
      flushing_.swap(flushes_);
    }
    if (budget == 0) break;
    --budget;
    if (Connection* c = Find(flushing_[flushing_next_++])) c->Flush();
  }
  event_active(flush_.get(), 0, 0);  // the rest in the next iteration
}

uint64_t Worker::HoldRequest(evhttp_request* req, HeldEnd on_end) {
  const uint64_t token = next_held_token_++;
  auto entry = std::make_unique<HeldEntry>(HeldEntry{this, token, req, std::move(on_end)});
  evhttp_connection* evcon = evhttp_request_get_connection(req);
  // Held for longer than evhttp's idle timeout: no read/write timeout meanwhile.
  bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), nullptr, nullptr);
  evhttp_connection_set_closecb(evcon, &Worker::OnHeldClose, entry.get());
  held_.emplace(token, std::move(entry));
  return token;
}

void Worker::OnHeldClose(evhttp_connection*, void* arg) {
  auto* entry = static_cast<HeldEntry*>(arg);
  Worker* w = entry->worker;
  auto it = w->held_.find(entry->token);
  if (it == w->held_.end()) return;
  std::unique_ptr<HeldEntry> owned = std::move(it->second);
  w->held_.erase(it);
  // evhttp detached the unanswered request from the dying connection;
  // answering it now just frees it.
  evhttp_send_reply_end(owned->req);
  if (owned->on_end) owned->on_end(owned->token, nullptr);
}

evhttp_request* Worker::HeldRequest(uint64_t token) {
  auto it = held_.find(token);
  return it == held_.end() ? nullptr : it->second->req;
}

evhttp_request* Worker::ReleaseHeld(uint64_t token) {
  auto it = held_.find(token);
  if (it == held_.end()) return nullptr;
  evhttp_request* req = it->second->req;
  held_.erase(it);
  if (evhttp_connection* evcon = evhttp_request_get_connection(req)) {
    evhttp_connection_set_closecb(evcon, nullptr, nullptr);
    evhttp_connection_set_timeout(evcon, kIdleTimeoutS);
  }
  return req;
}

void Worker::AnswerHeld(uint64_t token, HttpResponse resp) {
  Post([this, token, resp = std::move(resp)] {
    if (evhttp_request* req = ReleaseHeld(token)) SendEvhttpResponse(*this, req, resp);
  });
}

void Worker::EndHeld() {
  std::vector<uint64_t> tokens;
  for (auto& [token, entry] : held_) tokens.push_back(token);
  for (uint64_t token : tokens) {
    auto it = held_.find(token);
    if (it == held_.end()) continue;
    HeldEnd on_end = std::move(it->second->on_end);
    evhttp_request* req = ReleaseHeld(token);
    if (on_end) on_end(token, req);
  }
}

}  // namespace herald
