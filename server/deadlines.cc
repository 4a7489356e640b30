#include "server/deadlines.h"

#include <algorithm>
#include <climits>
#include <string>
#include <utility>

#include "server/delivery_policy.h"
#include "server/transport/connection_host.h"

namespace herald {
namespace {

// Seconds to ms, saturating: a token's exp comes from outside.
int64_t SecondsToMs(int64_t s) {
  if (s >= INT64_MAX / 1000) return INT64_MAX;
  if (s <= INT64_MIN / 1000) return INT64_MIN;
  return s * 1000;
}

// Rebuilds the auth heap once it holds this many more entries than watched
// connections (stale entries of closed or rescheduled connections).
constexpr size_t kStaleSlack = 64;

}  // namespace

Deadlines::Deadlines(const Config* config, CloseFn close)
    : config_(config), close_(std::move(close)) {}

void Deadlines::Track(Connection* c, int64_t now_ms) {
  const int t = static_cast<int>(c->transport());
  const int64_t timeout = TransportTimeoutMs(*config_, c->transport());
  const int64_t heartbeat = TransportHeartbeatMs(*config_, c->transport());
  c->deadline_ms = now_ms + timeout;
  c->next_heartbeat_ms = now_ms + heartbeat;
  if (timeout > 0) {
    timeouts_[t].PushBack(c);
  } else {
    c->timeout_paused = true;
  }
  if (heartbeat > 0) heartbeats_[t].PushBack(c);
}

void Deadlines::Forget(Connection* c) {
  timeouts_[static_cast<int>(c->transport())].Remove(c);
  heartbeats_[static_cast<int>(c->transport())].Remove(c);
  // Its heap entry, if any, is stale from now on.
  auth_due_.erase(c->id());
}

void Deadlines::RestartTimeout(Connection* c, int64_t now_ms) {
  if (c->timeout_paused) return;
  const int64_t timeout = TransportTimeoutMs(*config_, c->transport());
  if (timeout <= 0) return;
  c->deadline_ms = now_ms + timeout;
  timeouts_[static_cast<int>(c->transport())].MoveToBack(c);
}

void Deadlines::PauseTimeout(Connection* c) {
  timeouts_[static_cast<int>(c->transport())].Remove(c);
  c->timeout_paused = true;
}

void Deadlines::ResumeTimeout(Connection* c, int64_t now_ms) {
  if (TransportTimeoutMs(*config_, c->transport()) <= 0) return;
  c->timeout_paused = false;
  RestartTimeout(c, now_ms);
}

void Deadlines::WatchAuth(Connection* c) { ScheduleAuth(c); }

int64_t Deadlines::NextAuthDue(const Connection& c) const {
  int64_t due = INT64_MAX;
  if (c.auth_pending) due = c.auth_deadline_ms;
  if (c.token_exp_s != 0) {
    // TokenExpired: now_s >= exp + leeway, i.e. now_ms >= (exp + leeway) * 1000.
    due = std::min(due, SecondsToMs(c.token_exp_s + c.token_leeway_s));
    if (!c.expiring_sent) {
      due = std::min(due, SecondsToMs(c.token_exp_s - config_->auth.expiring_notice_s));
    }
  }
  return due;
}

void Deadlines::ScheduleAuth(Connection* c) {
  const int64_t due = NextAuthDue(*c);
  auto it = auth_due_.find(c->id());
  if (due == INT64_MAX) {
    if (it != auth_due_.end()) auth_due_.erase(it);
    return;
  }
  if (it != auth_due_.end() && it->second == due) return;  // already so
  auth_due_[c->id()] = due;
  PushAuth(AuthEntry{due, c->id(), c});
}

void Deadlines::PushAuth(AuthEntry entry) {
  auth_heap_.push_back(entry);
  std::push_heap(auth_heap_.begin(), auth_heap_.end(), std::greater<>());
  if (auth_heap_.size() > 2 * auth_due_.size() + kStaleSlack) CompactAuthHeap();
}

void Deadlines::CompactAuthHeap() {
  auto stale = [this](const AuthEntry& e) {
    auto it = auth_due_.find(e.connid);
    return it == auth_due_.end() || it->second != e.due_ms;
  };
  auth_heap_.erase(std::remove_if(auth_heap_.begin(), auth_heap_.end(), stale), auth_heap_.end());
  std::make_heap(auth_heap_.begin(), auth_heap_.end(), std::greater<>());
}

void Deadlines::Run(int64_t now_ms) {
  RunTimeouts(now_ms);
  RunHeartbeats(now_ms);
  RunAuth(now_ms);
}

void Deadlines::RunTimeouts(int64_t now_ms) {
  for (auto& list : timeouts_) {
    while (Connection* c = list.front()) {
      if (c->deadline_ms > now_ms) break;
      close_(c, CloseReason::kTimeout);  // Forget takes it off the list
    }
  }
}

void Deadlines::RunHeartbeats(int64_t now_ms) {
  for (int t = 0; t < kTransportCount; ++t) {
    const int64_t heartbeat = TransportHeartbeatMs(*config_, static_cast<Transport>(t));
    while (Connection* c = heartbeats_[t].front()) {
      if (c->next_heartbeat_ms > now_ms) break;
      c->SendHeartbeat();
      c->next_heartbeat_ms = now_ms + heartbeat;
      heartbeats_[t].MoveToBack(c);
    }
  }
}

void Deadlines::RunAuth(int64_t now_ms) {
  while (!auth_heap_.empty() && auth_heap_.front().due_ms <= now_ms) {
    std::pop_heap(auth_heap_.begin(), auth_heap_.end(), std::greater<>());
    const AuthEntry e = auth_heap_.back();
    auth_heap_.pop_back();
    auto it = auth_due_.find(e.connid);
    if (it == auth_due_.end() || it->second != e.due_ms) continue;  // stale
    auth_due_.erase(it);
    // Closing already (slow, or expired at delivery): the worker forgets it soon.
    if (e.conn->closing) continue;
    if (FireAuth(e.conn, now_ms)) ScheduleAuth(e.conn);
  }
}

bool Deadlines::FireAuth(Connection* c, int64_t now_ms) {
  if ((c->auth_pending && now_ms >= c->auth_deadline_ms) || TokenExpired(*c, now_ms)) {
    close_(c, CloseReason::kUnauthorized);
    return false;
  }
  const int64_t notice_s = config_->auth.expiring_notice_s;
  if (c->token_exp_s != 0 && !c->expiring_sent && now_ms / 1000 >= c->token_exp_s - notice_s) {
    c->expiring_sent = true;
    SendServerEvent(c, "auth_expiring",
                    "{\"connid\":" + std::to_string(c->id()) +
                        ",\"exp\":" + std::to_string(c->token_exp_s) + "}");
  }
  return true;
}

}  // namespace herald
