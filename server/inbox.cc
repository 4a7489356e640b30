#include "server/inbox.h"

#include <sys/eventfd.h>

#include <utility>

#include "server/util/event_add.h"
#include "server/util/log.h"

namespace herald {

Status Inbox::Init(event_base* base, const std::atomic<std::thread::id>* loop_thread,
                   std::function<void()> drain) {
  loop_thread_ = loop_thread;
  drain_ = std::move(drain);
  wake_fd_ = UniqueFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (wake_fd_.get() < 0) return Status::Error(500, "eventfd failed");
  // Edge-triggered, and never read: epoll reports every write to an eventfd
  // as a new edge, so the counter needs no reset, and the read that reset it
  // was a syscall per cross-thread wake-up. The counter cannot fill: it
  // would take 2^64 - 1 writes of 1.
  wake_.reset(event_new(
      base, wake_fd_.get(), EV_READ | EV_PERSIST | EV_ET,
      [](evutil_socket_t, short, void* self) { static_cast<Inbox*>(self)->drain_(); }, this));
  if (!wake_ || !AddEvent(wake_.get(), nullptr, "inbox", "wake-up")) {
    return Status::Error(500, "cannot arm the inbox wake-up");
  }
  return Status::Ok();
}

void Inbox::Push(Item item) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool urgent = !item.event || item.event->whisper != 0 ||
                        interest_.MayMatch(item.event->topic) || items_.size() >= kMaxQueuedUnwoken;
    items_.push_back(std::move(item));
    if (urgent && !wake_pending_) wake = wake_pending_ = true;
  }
  if (wake) Wake();
}

void Inbox::Wake() {
  // From another thread, a write to the loop's own eventfd: event_active
  // there would take the event_base lock, which the loop holds much of the
  // time (that contention was a futex wait and wake per publish).
  if (loop_thread_ && std::this_thread::get_id() == loop_thread_->load()) {
    event_active(wake_.get(), EV_TIMEOUT, 0);  // not EV_READ: nothing to reset
    return;
  }
  // Fails only if the fd is gone or the counter is full; the slower
  // event_active still wakes the loop.
  if (eventfd_write(wake_fd_.get(), 1) != 0) {
    LogError("inbox", 0, "eventfd_write failed; waking through event_active");
    event_active(wake_.get(), EV_TIMEOUT, 0);
  }
}

void Inbox::DrainSoonIfQueued() {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!items_.empty() && !wake_pending_) wake = wake_pending_ = true;
  }
  if (wake) Wake();
}

void Inbox::Take(std::vector<Item>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (out->empty()) {
    out->swap(items_);  // the common case: no copy, capacities trade places
  } else {
    for (Item& item : items_) out->push_back(std::move(item));
    items_.clear();
  }
  wake_pending_ = false;
}

size_t Inbox::PendingBytes() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t total = 0;
  for (const Item& item : items_) {
    if (item.event) total += item.event->head.size() + item.event->tail.size();
  }
  return total;
}

}  // namespace herald
