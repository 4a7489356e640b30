// Store: where history lives. Every event but a whisper is appended once, in
// sequence order, by the Hub (under the Hub's mutex, before any worker sees
// the event); readers copy EventRefs out in slices, so a long replay never
// holds the store for long and never blocks a publish for more than one slice.
// A store forgets old events on its own terms (count, bytes, age); what it has
// forgotten is reported to readers, so a resume that history no longer covers
// becomes an explicit `reset`, never a silent gap.
//
// The epoch tags every id the store hands out: a store that lost its data (a
// restarted memory store) has a new epoch, so an old cursor is recognised.
//
// Threading: every method is safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "server/core/event.h"

namespace herald {

struct HistoryStats {
  int64_t count = 0;        // events retained
  int64_t bytes = 0;        // approximate heap bytes they hold
  uint64_t oldest_seq = 0;  // 0 when empty
  uint64_t last_seq = 0;    // the newest event ever appended, 0 before the first
};

class Store {
 public:
  virtual ~Store() = default;

  virtual uint32_t epoch() const = 0;

  // Appends `ev`. REQUIRES: ev->seq is greater than every seq appended before.
  // An event that is not history (Event::InHistory: whispers, presence) only
  // advances LastSeq; any other event is retained, the store sharing ownership.
  virtual void Append(EventRef ev) = 0;

  // Appends to `out` up to `limit` retained events whose seq is greater than
  // `after_seq`, in seq order. Returns false if history no longer covers
  // `after_seq` (an event after it has been forgotten); `out` then receives
  // nothing. Covered and the events returned are read atomically.
  virtual bool ReadAfter(uint64_t after_seq, size_t limit, std::vector<EventRef>* out) const = 0;

  // The seq of the oldest retained event (0 when none) and of the newest
  // event ever appended (0 before the first).
  virtual uint64_t OldestSeq() const = 0;
  virtual uint64_t LastSeq() const = 0;

  virtual HistoryStats Stats() const = 0;
};

}  // namespace herald
