#include "server/worker.h"

#include <event2/thread.h>
#include <unistd.h>

#include <cstdio>

#include "server/context.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/public_listener.h"

namespace herald {
namespace {
constexpr int kTickMs = 50;  // resolution of timeouts and heartbeats
constexpr timeval kShutdownDrain = {0, 300 * 1000};

bool IsPresenceFilter(std::string_view f) { return f.rfind(kPresencePrefix, 0) == 0; }
}  // namespace

Worker::Worker(int index, ServerContext* ctx) : index_(index), ctx_(ctx) {}

Worker::~Worker() {
  // Connections hold requests that belong to http_: drop them first.
  for (auto& [id, conn] : conns_) conn->Abandon();
  conns_.clear();
}

Status Worker::Init(int listen_fd) {
  base_.reset(event_base_new());
  if (!base_) return Status::Error(500, "event_base_new failed");
  http_.reset(evhttp_new(base_.get()));
  if (!http_) return Status::Error(500, "evhttp_new failed");
  const Limits& lim = ctx_->config.limits;
  evhttp_set_max_body_size(http_.get(), lim.max_body_bytes);
  evhttp_set_max_headers_size(http_.get(), lim.max_header_bytes);
  evhttp_set_timeout(http_.get(), 30);  // idle keep-alive and request read timeout
  evhttp_set_allowed_methods(http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_OPTIONS |
                                              EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
  evhttp_set_gencb(http_.get(), HandlePublicRequest, this);
  // Every worker accepts on its own dup of the one listening socket; the
  // kernel hands each new connection to one of them.
  int fd = dup(listen_fd);
  if (fd < 0) return Status::Error(500, "dup failed");
  bound_ = evhttp_accept_socket_with_handle(http_.get(), fd);
  if (!bound_) {
    close(fd);
    return Status::Error(500, "evhttp_accept_socket failed");
  }
  wake_.reset(event_new(
      base_.get(), -1, EV_PERSIST,
      [](evutil_socket_t, short, void* self) { static_cast<Worker*>(self)->Drain(); }, this));
  tick_.reset(event_new(
      base_.get(), -1, EV_PERSIST,
      [](evutil_socket_t, short, void* self) { static_cast<Worker*>(self)->OnTick(); }, this));
  timeval tick = {0, kTickMs * 1000};
  event_add(wake_.get(), nullptr);
  event_add(tick_.get(), &tick);
  return Status::Ok();
}

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() { event_base_dispatch(base_.get()); }

void Worker::Push(InboxItem item) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    wake = inbox_.empty();
    inbox_.push_back(std::move(item));
  }
  // One wake-up per batch: a busy worker drains everything queued meanwhile.
  if (wake) event_active(wake_.get(), EV_READ, 0);
}

void Worker::Post(std::function<void()> task) { Push(InboxItem{nullptr, std::move(task)}); }
void Worker::PostEvent(EventRef ev) { Push(InboxItem{std::move(ev), nullptr}); }

void Worker::Shutdown() {
  Post([this] {
    shutting_down_ = true;
    if (bound_) {
      evhttp_del_accept_socket(http_.get(), bound_);
      bound_ = nullptr;
    }
    std::vector<Connection*> all;
    for (auto& [id, conn] : conns_) all.push_back(conn.get());
    for (Connection* c : all) Close(c, CloseReason::kShutdown);
    event_base_loopexit(base_.get(), &kShutdownDrain);
  });
}

void Worker::Drain() {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    draining_.swap(inbox_);
  }
  for (InboxItem& item : draining_) {
    if (item.event) {
      Add(stats_.events_in);
      if (item.event->whisper) {
        DispatchWhisper(*item.event);
      } else {
        Dispatch(*item.event);
      }
    } else if (item.task) {
      item.task();
    }
  }
  draining_.clear();  // keeps capacity
  CloseSlow();
}

void Worker::Dispatch(const Event& ev) {
  topics_.Match(ev.topic, [&](std::string_view filter, const auto& subscribers) {
    frames_.Reset(&ev, filter);
    for (Connection* conn : subscribers) {
      // Visit order is most specific filter first, so the first match wins.
      if (conn->last_seq == ev.seq) continue;
      conn->last_seq = ev.seq;
      DeliverTo(conn);
    }
  });
}

void Worker::DispatchWhisper(const Event& ev) {
  Connection* conn = Find(ev.whisper);
  if (!conn) return;
  for (auto* sub : conn->subscriptions) {
    std::string_view filter = ConnectionIndex::FilterOf(sub);
    if (TopicsMatch(filter, ev.topic)) {
      frames_.Reset(&ev, filter);
      DeliverTo(conn);
      return;
    }
  }
}

void Worker::DeliverTo(Connection* conn) {
  if (conn->closing) {
    Add(ctx_->stats.dropped);
    return;
  }
  conn->Deliver(frames_);
  Add(stats_.delivered);
  if (conn->PendingBytes() > static_cast<size_t>(ctx_->config.limits.max_output_buffer_bytes)) {
    conn->closing = true;
    slow_.push_back(conn);
  }
}

void Worker::CloseSlow() {
  for (Connection* conn : slow_) {
    LogInfo("worker", conn->id(), "closing slow subscriber (%zu bytes queued)",
            conn->PendingBytes());
    Close(conn, CloseReason::kSlow);
  }
  slow_.clear();
}

void Worker::OnTick() {
  const int64_t now = NowMs();
  while (Connection* c = timeouts_.front()) {
    if (c->deadline_ms > now) break;
    Close(c, CloseReason::kTimeout);
  }
  const int64_t heartbeat = ctx_->config.stream.heartbeat_ms;
  while (Connection* c = heartbeats_.front()) {
    if (c->next_heartbeat_ms > now) break;
    c->SendHeartbeat();
    c->next_heartbeat_ms = now + heartbeat;
    heartbeats_.MoveToBack(c);
  }
}

uint64_t Worker::NextConnId() {
  return ((next_seq_++) << kWorkerBits) | static_cast<uint64_t>(index_);
}

Connection* Worker::Adopt(std::unique_ptr<Connection> conn,
                          const std::vector<std::string>& filters) {
  Connection* c = conn.get();
  const int64_t now = NowMs();
  c->since_ms = now;
  c->deadline_ms = now + ctx_->config.stream.timeout_ms;
  c->next_heartbeat_ms = now + ctx_->config.stream.heartbeat_ms;
  c->subscriptions.reserve(filters.size());
  int64_t watchers = 0;
  for (const std::string& f : filters) {
    c->subscriptions.push_back(topics_.Add(f, c));
    if (IsPresenceFilter(f)) ++watchers;
  }
  if (watchers) ctx_->presence.ChangeWatchers(watchers);
  timeouts_.PushBack(c);
  heartbeats_.PushBack(c);
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
  conn->deadline_ms = NowMs() + ctx_->config.stream.timeout_ms;
  timeouts_.MoveToBack(conn);
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
    topics_.Remove(sub);
  }
  conn->subscriptions.clear();
  if (watchers) ctx_->presence.ChangeWatchers(-watchers);
  timeouts_.Remove(conn);
  heartbeats_.Remove(conn);
  Add(stats_.connections[static_cast<int>(conn->transport())], -1);
  Add(stats_.connection_bytes, -ConnectionBytes(*conn));
  Add(ctx_->stats.closed[static_cast<int>(reason)]);
  Add(ctx_->stats.open_connections, -1);
  ctx_->presence.ReleaseIp(conn->remote_ip);
  const std::string clid = conn->clid;
  LogDebug("worker", conn->id(), "closed: %s", CloseReasonName(reason));
  conns_.erase(conn->id());  // destroys conn
  UpdateIndexStats();
  int64_t left = ctx_->presence.Change(clid, -1);
  PublishPresence(ctx_, clid, "disconnect", left);
}

void Worker::UpdateIndexStats() {
  stats_.filters.store(static_cast<int64_t>(topics_.subscription_count()),
                       std::memory_order_relaxed);
  stats_.topics.store(static_cast<int64_t>(topics_.filter_count()), std::memory_order_relaxed);
}

int64_t Worker::ConnectionBytes(const Connection& c) {
  return static_cast<int64_t>(sizeof(Connection) + 64 /* transport part */ +
                              c.secret.capacity() + c.clid.capacity() + c.body.capacity() +
                              c.remote.capacity() + c.remote_ip.capacity() +
                              c.subscriptions.capacity() * sizeof(void*));
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

}  // namespace herald
