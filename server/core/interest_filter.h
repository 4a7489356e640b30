// InterestFilter: which topics a worker may have subscribers for, readable
// from the publishing thread so the Hub wakes only workers an event can
// reach. A count of wildcard filters, and a counting hash filter over exact
// filters (an exact filter matches an exact topic only when the two are
// equal). May answer yes wrongly (two topics sharing a slot: a needless
// wake-up), never no wrongly. Hand-written: it is forty lines, and no Debian
// package offers a lock-free counting filter.
//
// Threading: Add/Remove on the owning worker's loop thread; MayMatch from
// any thread. The caller orders them (Worker::Push reads it under the inbox
// lock, and a worker that adds a filter then checks its inbox under that lock).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace herald {

class InterestFilter {
 public:
  InterestFilter();
  void Add(std::string_view filter) { Change(filter, 1); }
  void Remove(std::string_view filter) { Change(filter, -1); }
  // Could a subscriber's filter match `topic` (wildcards allowed on both sides)?
  bool MayMatch(std::string_view topic) const;

 private:
  // 64 Ki slots: a worker with 5,000 distinct exact filters wakes needlessly
  // for ~8 % of the events it cannot match. 256 KiB per worker, all of it
  // touched at construction (each slot is zeroed: atomics are not
  // zero-initialised by new[]).
  static constexpr size_t kSlots = size_t{1} << 16;
  static size_t Slot(std::string_view topic);
  void Change(std::string_view filter, int delta);

  std::atomic<int64_t> wildcard_filters_{0};
  std::unique_ptr<std::atomic<uint32_t>[]> exact_;
};

}  // namespace herald
