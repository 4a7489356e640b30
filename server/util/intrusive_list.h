// A doubly linked list threaded through its elements. Connections sit in two
// deadline lists (timeout, heartbeat) whose deadlines all share one duration,
// so appending at the tail keeps each list sorted and a worker only looks at
// the heads. Intrusive links cost 16 bytes per list per connection and never
// allocate, which matters at tens of thousands of idle connections.
// Not thread-safe: owned by one worker.
#pragma once

namespace herald {

template <class T>
struct ListLinks {
  T* prev = nullptr;
  T* next = nullptr;
  bool linked = false;
};

template <class T, ListLinks<T> T::*kLinks>
class IntrusiveList {
 public:
  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const { return head_ == nullptr; }
  T* front() const { return head_; }
  void PushBack(T* item) {
    ListLinks<T>& l = item->*kLinks;
    l.prev = tail_;
    l.next = nullptr;
    l.linked = true;
    if (tail_) {
      (tail_->*kLinks).next = item;
    } else {
      head_ = item;
    }
    tail_ = item;
  }
  void Remove(T* item) {
    ListLinks<T>& l = item->*kLinks;
    if (!l.linked) return;
    if (l.prev)
      (l.prev->*kLinks).next = l.next;
    else
      head_ = l.next;
    if (l.next)
      (l.next->*kLinks).prev = l.prev;
    else
      tail_ = l.prev;
    l = ListLinks<T>();
  }
  void MoveToBack(T* item) {
    Remove(item);
    PushBack(item);
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
};

}  // namespace herald
