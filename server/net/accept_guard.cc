#include "server/net/accept_guard.h"

#include <event2/event.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "server/core/config.h"
#include "server/core/event.h"
#include "server/util/event_add.h"
#include "server/util/log.h"

namespace herald {
namespace {

// How long the listener rests after running out of descriptors, and how
// often that is logged at most.
constexpr timeval kAcceptPause = {0, 200 * 1000};
constexpr int64_t kLogIntervalMs = 10000;
constexpr timeval kReleaseDelay = {0, 10 * 1000};

// Descriptors held back for the private API and the store while the public
// listener is out of them. Process-wide: every worker's listener shares it.
class FdReserve {
 public:
  static FdReserve& Get() {
    static FdReserve reserve;
    return reserve;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) close(fd);
    fds_.clear();
  }
  // True once the whole reserve is held again.
  bool Acquire() {
    std::lock_guard<std::mutex> lock(mu_);
    while (fds_.size() < kSize) {
      const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) return false;
      fds_.push_back(fd);
    }
    return true;
  }

 private:
  static constexpr size_t kSize = 16;
  std::mutex mu_;
  std::vector<int> fds_;
};

// The listener's user data is evhttp's (the evhttp itself): its error
// callback finds the guard here. Written at start-up and shutdown only.
std::mutex registry_mu;
std::vector<std::pair<const evhttp*, AcceptGuard*>> registry;

AcceptGuard* GuardOf(const evhttp* http) {
  std::lock_guard<std::mutex> lock(registry_mu);
  for (const auto& [h, guard] : registry) {
    if (h == http) return guard;
  }
  return nullptr;
}

void Unregister(const AcceptGuard* guard) {
  std::lock_guard<std::mutex> lock(registry_mu);
  for (size_t i = 0; i < registry.size(); ++i) {
    if (registry[i].second != guard) continue;
    registry.erase(registry.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
}

}  // namespace

AcceptGuard::AcceptGuard(event_base* base, const Limits& limits, size_t pending_max, Counter* cuts)
    : base_(base),
      pending_(
          pending_max, limits.request_timeout_ms,
          [cuts](void* bev) {
            Add(*cuts);
            // evhttp notices the shutdown as the client leaving and frees
            // the connection in its own callback.
            const evutil_socket_t fd = bufferevent_getfd(static_cast<bufferevent*>(bev));
            if (fd >= 0) shutdown(fd, SHUT_RDWR);
          },
          [](void* bev) { bufferevent_decref(static_cast<bufferevent*>(bev)); }) {
  FdReserve::Get().Acquire();
}

AcceptGuard::~AcceptGuard() { Unregister(this); }

void AcceptGuard::Attach(evhttp* http, evhttp_bound_socket* bound) {
  {
    std::lock_guard<std::mutex> lock(registry_mu);
    registry.emplace_back(http, this);
  }
  evhttp_set_bevcb(http, &AcceptGuard::NewBufferevent, this);
  listener_ = evhttp_bound_socket_get_listener(bound);
  evconnlistener_set_error_cb(listener_, &AcceptGuard::OnAcceptError);
  resume_.reset(event_new(base_, -1, 0, &AcceptGuard::OnResume, this));
  pause_now_.reset(event_new(
      base_, -1, 0,
      [](evutil_socket_t, short, void* self) { static_cast<AcceptGuard*>(self)->PauseHere(); },
      this));
  release_.reset(event_new(
      base_, -1, 0, [](evutil_socket_t, short, void*) { FdReserve::Get().Release(); }, nullptr));
}

void AcceptGuard::Detach() {
  Unregister(this);  // first: no other thread activates pause_now_ afterwards
  listener_ = nullptr;
  resume_.reset();
  pause_now_.reset();
  release_.reset();
}

bufferevent* AcceptGuard::NewBufferevent(event_base* base, void* arg) {
  auto* self = static_cast<AcceptGuard*>(arg);
  // What evhttp would create itself; evhttp sets its fd and callbacks next.
  bufferevent* bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) return nullptr;
  // Our reference keeps the pointer valid after evhttp frees the connection
  // (it is then dropped at the next tick), so a pending entry never dangles.
  if (self->pending_.Arm(bev, NowMs())) bufferevent_incref(bev);
  return bev;
}

void AcceptGuard::RequestArrived(evhttp_request* req) {
  evhttp_connection* evcon = evhttp_request_get_connection(req);
  if (!evcon) return;
  pending_.Disarm(evhttp_connection_get_bufferevent(evcon));
  evhttp_request_set_on_complete_cb(req, &AcceptGuard::OnAnswered, this);
}

void AcceptGuard::OnAnswered(evhttp_request* req, void* arg) {
  auto* self = static_cast<AcceptGuard*>(arg);
  evhttp_connection* evcon = evhttp_request_get_connection(req);
  if (!evcon) return;
  // A kept-alive connection now waits for its next request: the same
  // deadline applies. If evhttp closes it instead, OnTick forgets it.
  bufferevent* bev = evhttp_connection_get_bufferevent(evcon);
  if (self->pending_.Arm(bev, NowMs())) bufferevent_incref(bev);
}

void AcceptGuard::OnTick(int64_t now_ms) {
  pending_.Expire(now_ms);
  // evhttp clears a bufferevent's callbacks when it frees its connection.
  pending_.Prune([](void* bev) {
    bufferevent_event_cb eventcb = nullptr;
    bufferevent_getcb(static_cast<bufferevent*>(bev), nullptr, nullptr, &eventcb, nullptr);
    return eventcb == nullptr;
  });
}

void AcceptGuard::OnAcceptError(evconnlistener*, void* http) {
  // Retriable errors (EAGAIN, ECONNABORTED...) never get here. The rest is
  // out of descriptors or memory in practice, and retrying at once would spin.
  const int err = EVUTIL_SOCKET_ERROR();
  if (AcceptGuard* self = GuardOf(static_cast<const evhttp*>(http))) self->OnExhausted(err);
}

void AcceptGuard::OnExhausted(int err) {
  // Every worker's listener pauses, not just this one: another worker still
  // accepting would take the reserve as soon as it is handed back.
  {
    std::lock_guard<std::mutex> lock(registry_mu);
    for (const auto& [http, guard] : registry) {
      if (guard != this) event_active(guard->pause_now_.get(), EV_TIMEOUT, 0);
    }
  }
  PauseHere();
  // The reserve goes back once the others have had a moment to pause.
  if (!AddEvent(release_.get(), &kReleaseDelay, "listen", "reserve release")) {
    event_active(release_.get(), EV_TIMEOUT, 0);  // hand the reserve back now
  }
  ++pauses_since_log_;
  const int64_t now = NowMs();
  if (now - last_log_ms_ >= kLogIntervalMs) {
    LogWarn("listen", 0,
            "accept failed (%s): accepting paused %llu time(s) since the last report "
            "(%zu connections waiting for their request on this worker)",
            evutil_socket_error_to_string(err), static_cast<unsigned long long>(pauses_since_log_),
            pending_.size());
    last_log_ms_ = now;
    pauses_since_log_ = 0;
  }
}

void AcceptGuard::PauseHere() {
  if (!listener_ || paused_) return;
  paused_ = true;
  evconnlistener_disable(listener_);
  // Paused for good if it cannot be armed: stay listening rather than that.
  if (!AddEvent(resume_.get(), &kAcceptPause, "listen", "accept resume")) {
    paused_ = false;
    evconnlistener_enable(listener_);
  }
}

void AcceptGuard::OnResume(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<AcceptGuard*>(arg);
  if (!self->listener_) return;
  // Resume only with the reserve back in hand: the next exhaustion must find
  // descriptors to give the private API again.
  if (!FdReserve::Get().Acquire() &&
      AddEvent(self->resume_.get(), &kAcceptPause, "listen", "accept resume")) {
    return;
  }
  self->paused_ = false;
  evconnlistener_enable(self->listener_);
}

}  // namespace herald
