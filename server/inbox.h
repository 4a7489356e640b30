// Inbox: how other threads hand a worker events and tasks. Any thread pushes;
// the worker's loop takes the whole queue in one go (Take) when woken.
//
// Wake-ups: a push wakes the loop through an eventfd the loop watches (from
// its own thread, through event_active). An event no filter of this worker
// can match (InterestFilter) is queued without a wake-up: every event still
// passes through every worker in seq order (resume relies on it), but a
// publish wakes only the workers it reaches. The unwoken queue is bounded:
// past kMaxQueuedUnwoken items the push wakes the loop anyway. One wake-up
// per batch: a busy worker drains everything queued meanwhile.
//
// Threading: Push and PendingBytes from any thread (under the inbox mutex);
// everything else on the loop thread. interest() is changed on the loop
// thread and read by Push under the mutex; after adding a filter the loop
// calls DrainSoonIfQueued, so an event queued unwoken just before cannot be
// left waiting.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "server/core/event.h"
#include "server/core/interest_filter.h"
#include "server/util/c_handles.h"
#include "server/util/status.h"

namespace herald {

class Inbox {
 public:
  struct Item {
    EventRef event;              // an event to dispatch, or
    std::function<void()> task;  // a task to run on the loop
  };
  // Events queued without a wake-up (no filter here can match them) before
  // the loop is woken anyway: bounds the memory they hold.
  static constexpr size_t kMaxQueuedUnwoken = 256;

  Inbox() = default;
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Before the loop runs: watches the wake-up eventfd on `base`. `drain`
  // runs on the loop each time it is woken and should Take everything.
  // `loop_thread` is the loop's thread id once it runs (Push from that
  // thread wakes it without a syscall); both outlive the inbox.
  Status Init(event_base* base, const std::atomic<std::thread::id>* loop_thread,
              std::function<void()> drain);

  // --- Any thread ---
  void Push(Item item);
  // Bytes of the events still queued.
  size_t PendingBytes();

  // --- Loop thread ---
  // Moves everything queued to the end of *out, in push order.
  void Take(std::vector<Item>* out);
  // After adding a filter: events queued without a wake-up may match it now.
  void DrainSoonIfQueued();
  // Topics this worker may have subscribers for.
  InterestFilter& interest() { return interest_; }

 private:
  void Wake();

  const std::atomic<std::thread::id>* loop_thread_ = nullptr;
  std::function<void()> drain_;
  UniqueFd wake_fd_;  // written by other threads to wake the loop
  EventPtr wake_;
  std::mutex mu_;
  std::vector<Item> items_;    // guarded by mu_
  bool wake_pending_ = false;  // guarded by mu_: wake_ is active
  InterestFilter interest_;    // read under mu_ by Push
};

}  // namespace herald
