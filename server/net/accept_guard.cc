#include "server/net/accept_guard.h"

#include <event2/bufferevent_ssl.h>
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
  http_ = http;
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

Status AcceptGuard::AcceptTls(int listen_fd, const TlsContextSlot* tls) {
  const int fd = dup(listen_fd);
  if (fd < 0) return Status::Internal("dup failed");
  tls_bound_ = evhttp_accept_socket_with_handle(http_, fd);
  if (!tls_bound_) {
    close(fd);
    return Status::Internal("evhttp_accept_socket failed (tls.listen)");
  }
  tls_ = tls;
  tls_listener_ = evhttp_bound_socket_get_listener(tls_bound_);
  evconnlistener_set_error_cb(tls_listener_, &AcceptGuard::OnAcceptError);
  if (paused_) evconnlistener_disable(tls_listener_);
  return Status::Ok();
}

void AcceptGuard::Detach() {
  Unregister(this);  // first: no other thread activates pause_now_ afterwards
  listener_ = nullptr;
  if (tls_bound_) evhttp_del_accept_socket(http_, tls_bound_);
  tls_bound_ = nullptr;
  tls_listener_ = nullptr;
  resume_.reset();
  pause_now_.reset();
  release_.reset();
}

bool AcceptGuard::AcceptingTls(event_base* base) const {
  if (!tls_bound_) return false;
  // evhttp's bufferevent callback is not told which socket accepted: it runs
  // inside that listener's read event, whose descriptor says.
  const event* running = event_base_get_running_event(base);
  return running && event_get_fd(running) == evhttp_bound_socket_get_fd(tls_bound_);
}

bufferevent* AcceptGuard::NewBufferevent(event_base* base, void* arg) {
  auto* self = static_cast<AcceptGuard*>(arg);
  // What evhttp would create itself (or its TLS twin); evhttp sets its fd
  // and callbacks next, which starts the handshake.
  bufferevent* bev = nullptr;
  if (self->AcceptingTls(base)) {
    std::shared_ptr<const TlsContext> ctx = self->tls_->Get();
    SSL* ssl = ctx ? SSL_new(ctx->get()) : nullptr;  // holds its own reference to the SSL_CTX
    if (!ssl) return nullptr;
    // CLOSE_ON_FREE frees the SSL too.
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
      SSL_free(ssl);
      return nullptr;
    }
    // A client that closes without close_notify (most do) has left, not failed.
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  } else {
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  }
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
  EnableListeners(false);
  // Paused for good if it cannot be armed: stay listening rather than that.
  if (!AddEvent(resume_.get(), &kAcceptPause, "listen", "accept resume")) {
    paused_ = false;
    EnableListeners(true);
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
  self->EnableListeners(true);
}

void AcceptGuard::EnableListeners(bool on) {
  for (evconnlistener* l : {listener_, tls_listener_}) {
    if (!l) continue;
    if (on) {
      evconnlistener_enable(l);
    } else {
      evconnlistener_disable(l);
    }
  }
}

}  // namespace herald
