#include "server/transport/lean_socket.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <unordered_set>
#include <utility>

namespace herald {
namespace {

// A client may not feed a stream's request side forever: past this much
// input after its request, the stream is cut as if the client had left
// (a paused read, as evhttp had it, would no longer notice it leave).
constexpr uint32_t kMaxDiscard = 64 * 1024;

bool Retriable(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

// evhttp_connection_free shuts the connection's descriptor down for writing
// whatever its bufferevent's options say (libevent 2.1, http.c), so the
// taken socket is first re-pointed: its number is made to name this
// harmless descriptor, which evhttp then "shuts down" (ENOTSOCK) and closes.
// Opened at first use, retried while descriptors run out (-1 meanwhile:
// streams then stay on evhttp).
int Placeholder() {
  static std::atomic<int> placeholder{-1};
  int fd = placeholder.load();
  if (fd >= 0) return fd;
  fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int none = -1;
  if (!placeholder.compare_exchange_strong(none, fd)) {
    close(fd);  // another worker's won
    return none;
  }
  return fd;
}

// Bytes still to send when a stream ended: sent on their own, then the
// socket is shut down and closed (or cut at the timeout).
struct Finisher {
  event_base* base;
  UniqueFd fd;
  EvbufferPtr out;
  EventPtr ev;
};

std::mutex finishers_mu;
std::unordered_set<Finisher*> finishers;  // guarded by finishers_mu

void EndFinisher(Finisher* f, bool sent) {
  if (sent) shutdown(f->fd.get(), SHUT_WR);
  {
    std::lock_guard<std::mutex> lock(finishers_mu);
    finishers.erase(f);
  }
  delete f;  // frees its event (from inside its callback: allowed), closes the socket
}

void OnFinisherEvent(evutil_socket_t fd, short what, void* arg) {
  auto* f = static_cast<Finisher*>(arg);
  if (what & EV_TIMEOUT) return EndFinisher(f, false);
  const int n = evbuffer_write(f->out.get(), fd);
  if (n < 0 && !Retriable(errno)) return EndFinisher(f, false);
  if (evbuffer_get_length(f->out.get()) == 0) EndFinisher(f, true);
}

}  // namespace

bool LeanSocket::TakeFromEvhttp(evhttp_request* req, GoneFn gone, void* owner) {
  evhttp_connection* evcon = evhttp_request_get_connection(req);
  bufferevent* bev = evcon ? evhttp_connection_get_bufferevent(evcon) : nullptr;
  const int fd = bev ? bufferevent_getfd(bev) : -1;
  if (fd < 0 || Placeholder() < 0) return false;
  UniqueFd own(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (own.get() < 0) return false;
  event_base* base = bufferevent_get_base(bev);
  EventPtr ev(event_new(base, own.get(), EV_READ | EV_PERSIST, &LeanSocket::OnEvent, this));
  // What evhttp queued (the head, maybe the first frames) is copied: a
  // kept-alive connection's output buffer may refuse to give up its chains.
  EvbufferPtr head(evbuffer_new());
  if (!ev || !head) return false;
  evbuffer* queued = bufferevent_get_output(bev);
  if (const size_t len = evbuffer_get_length(queued); len > 0) {
    const unsigned char* bytes = evbuffer_pullup(queued, -1);
    if (!bytes || evbuffer_add(head.get(), bytes, len) != 0) return false;
  }
  // Off epoll while `fd` still names the socket: epoll keys a registration
  // on the open file, so one left under a re-pointed number would outlive it.
  bufferevent_disable(bev, EV_READ | EV_WRITE);
  if (dup2(Placeholder(), fd) < 0) {
    bufferevent_enable(bev, EV_READ);
    return false;
  }
  evhttp_connection_set_closecb(evcon, nullptr, nullptr);
  evhttp_connection_free(evcon);  // frees `req` too
  fd_ = std::move(own);
  ev_ = std::move(ev);
  out_ = std::move(head);
  gone_ = gone;
  owner_ = owner;
  if (event_add(ev_.get(), nullptr) != 0) failed_ = true;  // reported at the next Flush
  return true;
}

evbuffer* LeanSocket::Out() {
  if (!out_) out_.reset(evbuffer_new());
  return out_.get();
}

void LeanSocket::WriteV(const iovec* iov, int n) {
  if (!open()) return;
  if (writing_ || failed_ || Pending() > 0) {
    for (int i = 0; i < n; ++i) evbuffer_add(Out(), iov[i].iov_base, iov[i].iov_len);
    return;
  }
  const ssize_t w = writev(fd_.get(), iov, n);
  if (w < 0 && !Retriable(errno)) return AfterWrite(true);
  size_t written = w > 0 ? static_cast<size_t>(w) : 0;
  for (int i = 0; i < n; ++i) {
    const size_t skip = written < iov[i].iov_len ? written : iov[i].iov_len;
    written -= skip;
    if (skip < iov[i].iov_len) {
      evbuffer_add(Out(), static_cast<const char*>(iov[i].iov_base) + skip, iov[i].iov_len - skip);
    }
  }
  AfterWrite(false);
}

void LeanSocket::Flush() {
  if (!open() || writing_ || failed_ || !out_) return;
  if (evbuffer_get_length(out_.get()) == 0) {
    out_.reset();
    return;
  }
  const int n = evbuffer_write(out_.get(), fd_.get());
  AfterWrite(n < 0 && !Retriable(errno));
}

void LeanSocket::AfterWrite(bool failed) {
  if (failed) {
    // Reported from the event, not from inside the caller's write.
    failed_ = true;
    event_active(ev_.get(), EV_WRITE, 0);
    return;
  }
  if (Pending() > 0) {
    if (!writing_) Arm(true);
    return;
  }
  out_.reset();  // an idle stream keeps no buffer
  if (writing_) Arm(false);
}

void LeanSocket::Arm(bool write) {
  writing_ = write;
  event_base* base = event_get_base(ev_.get());
  event_del(ev_.get());
  const short what = EV_READ | (write ? EV_WRITE : 0) | EV_PERSIST;
  event_assign(ev_.get(), base, fd_.get(), what, &LeanSocket::OnEvent, this);
  if (event_add(ev_.get(), nullptr) != 0) {
    failed_ = true;
    event_active(ev_.get(), EV_WRITE, 0);
  }
}

bool LeanSocket::DiscardInput() {
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n == 0) return false;
    if (n < 0) return Retriable(errno);
    discarded_ += static_cast<uint32_t>(n);
    if (discarded_ > kMaxDiscard) return false;
    if (static_cast<size_t>(n) < sizeof buf) return true;
  }
}

void LeanSocket::OnEvent(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<LeanSocket*>(arg);
  if (self->failed_) return self->Gone();
  if ((what & EV_READ) && !self->DiscardInput()) return self->Gone();
  if ((what & EV_WRITE) && self->out_) {
    const int n = evbuffer_write(self->out_.get(), self->fd_.get());
    if (n < 0 && !Retriable(errno)) return self->Gone();
    self->AfterWrite(false);
  }
}

void LeanSocket::Gone() {
  GoneFn gone = gone_;
  void* owner = owner_;
  Drop();
  if (gone) gone(owner);  // may destroy this
}

void LeanSocket::Finish(const timeval& timeout) {
  if (!open()) return;
  // Unread input at close() makes the kernel reset the connection, and the
  // client could lose the last frames: take what arrived.
  if (!failed_ && !DiscardInput()) failed_ = true;
  if (!failed_ && !writing_ && Pending() > 0) {
    if (evbuffer_write(out_.get(), fd_.get()) < 0 && !Retriable(errno)) failed_ = true;
  }
  if (failed_ || Pending() == 0) {
    if (!failed_) shutdown(fd_.get(), SHUT_WR);
    Drop();
    return;
  }
  event_base* base = event_get_base(ev_.get());
  ev_.reset();
  auto* f = new Finisher{base, std::move(fd_), std::move(out_), nullptr};
  f->ev.reset(event_new(base, f->fd.get(), EV_WRITE | EV_PERSIST, &OnFinisherEvent, f));
  if (!f->ev || event_add(f->ev.get(), &timeout) != 0) {
    delete f;
    return;
  }
  std::lock_guard<std::mutex> lock(finishers_mu);
  finishers.insert(f);
}

void LeanSocket::Drop() {
  ev_.reset();
  out_.reset();
  fd_.Reset();
  writing_ = false;
}

void LeanSocket::DropFinishers(event_base* base) {
  std::lock_guard<std::mutex> lock(finishers_mu);
  for (auto it = finishers.begin(); it != finishers.end();) {
    if ((*it)->base != base) {
      ++it;
      continue;
    }
    delete *it;
    it = finishers.erase(it);
  }
}

}  // namespace herald
