// Store: where events get their ids and history lives, behind an
// asynchronous interface a shared store (Redis) can implement as well as the
// one-node memory store. The store assigns every id (an event's seq), keeps
// history, and feeds every appended event, in seq order and exactly once, to
// the live feed the Hub installs (which hands it to the workers' inboxes).
// Appends and reads complete through a PostFn onto the caller's loop, never
// inline, so every caller is written for a completion that arrives later.
// The caller chooses the PostFn: the publish handlers pass one that runs a
// completion arriving on their own loop thread at once (Hub::CallerPostOrRun).
//
// A store forgets old events on its own terms (count, bytes, age); what it has
// forgotten is reported to readers (ReadResult::covered), so a resume that
// history no longer covers becomes an explicit `reset`, never a silent gap.
// The epoch tags every id the store hands out: a store that lost its data (a
// restarted memory store) has a new epoch, so an old cursor is recognised.
//
// How a Redis store maps onto this: docs/architecture.md, "The Store interface".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "server/core/event.h"
#include "server/util/status.h"

namespace herald {

// Runs a completion on the caller's loop thread (e.g. Worker::LoopPost()).
using PostFn = std::function<void(std::function<void()>)>;

struct HistoryStats {
  int64_t count = 0;        // events retained
  int64_t bytes = 0;        // approximate heap bytes they hold
  uint64_t oldest_seq = 0;  // 0 when empty
  uint64_t last_seq = 0;    // the newest event ever appended, 0 before the first
};

struct StoreStatus {  // what /state and /metrics show under "store"
  StoreStatus() = default;
  // The four every store has ({kind, state, detail, round_trips} still reads
  // as before the Redis fields came).
  StoreStatus(std::string k, std::string s, std::string d, int64_t rt)
      : kind(std::move(k)), state(std::move(s)), detail(std::move(d)), round_trips(rt) {}
  std::string kind;         // "memory" | "redis"
  std::string state;        // "up" | "connecting" | "down"
  std::string detail;       // last error or empty
  int64_t round_trips = 0;  // commands answered (0 for memory)
  // Redis only (empty for memory): the bridge's two connections, and what
  // the subscribe connection holds (lists capped at kListed entries each).
  std::string commands_state;
  std::string subscriber_state;
  int64_t reconnects = 0;
  int64_t channels = 0;     // SUBSCRIBE held
  int64_t patterns = 0;     // PSUBSCRIBE held
  int64_t unconfirmed = 0;  // sent, not yet acknowledged by Redis
  std::vector<std::string> channel_list;
  std::vector<std::string> pattern_list;
  int64_t reads = 0;          // Store::Read and catch-ups
  int64_t read_commands = 0;  // Redis commands they sent
  int64_t read_rounds = 0;    // network round trips they waited for
  static constexpr size_t kListed = 100;
};

struct ReadRequest {
  std::vector<std::string> filters;  // the subscriber's topic filters, exactly as subscribed
                                     // (plain topics and +/# wildcards, $space/... included)
  uint64_t after_seq = 0;            // return events with seq > after_seq
  uint32_t epoch = 0;                // the cursor's epoch; 0 = the current one
  size_t limit = 0;                  // at most this many events
};

struct ReadResult {
  Status status;                 // not ok: the store could not answer (e.g. Redis down)
  bool covered = true;           // false: history no longer covers after_seq, or the epoch
                                 //  changed -> the caller sends `reset`
  std::vector<EventRef> events;  // matching events only, seq order
  uint64_t last_seq = 0;         // every event up to this seq was seen by the read: the
                                 //  matching ones are in `events` (unless cut at the limit)
};

// The live feed: every appended event (from any node, for Redis), in seq order,
// exactly once. Called on the store's own thread (memory: the appender's thread,
// under the store's lock; Redis: the bridge loop). The Hub installs it and hands
// events to the workers' inboxes.
using FeedFn = std::function<void(EventRef)>;

// Called on the store's thread when the store finds it lost its data (a new
// epoch: Redis restarted empty): ids start again, so every cursor and every
// id a connection has seen is void. Called before any event of the new epoch
// is fed, whether or not one comes.
using EpochFn = std::function<void(uint32_t epoch)>;

class Store {
 public:
  virtual ~Store() = default;
  virtual void SetFeed(FeedFn feed) = 0;  // once, before the first Append
  // Once, before the store starts. The memory store's epoch never changes
  // while the process runs: it never calls it.
  virtual void SetEpochListener(EpochFn fn) { (void)fn; }
  // Assigns the next id (ev->seq; the caller leaves it 0, see AssignEventSeq),
  // persists the event (history if Event::InHistory), feeds it, then calls
  // done(status, seq) via post. Not ok (e.g. Redis unreachable): nothing was
  // stored or fed; seq 0. REQUIRES: the caller hands over its only reference.
  virtual void Append(EventRef ev, PostFn post, std::function<void(Status, uint64_t seq)> done) = 0;
  // A batch publish: appends `events` as one step. Their ids are consecutive
  // in the given order (first_seq .. first_seq + n - 1) and either every one
  // is stored and fed or none is; done(status, first_seq) via post (0 when
  // not ok). REQUIRES: events not empty, the caller's only references.
  virtual void AppendBatch(std::vector<EventRef> events, PostFn post,
                           std::function<void(Status, uint64_t first_seq)> done) = 0;
  // Reads history matching req.filters after req.after_seq; done via post.
  virtual void Read(ReadRequest req, PostFn post, std::function<void(ReadResult)> done) = 0;
  // Interest: a node needs live events for this filter (memory: no-op;
  // Redis: SUBSCRIBE/PSUBSCRIBE while the count > 0). Called by the Hub/workers
  // when a filter gains its first / loses its last local subscriber.
  virtual void Watch(const std::string& filter) = 0;
  virtual void Unwatch(const std::string& filter) = 0;
  // When the feed carries `filter`'s events (call right after Watch):
  // returns true if it already does (memory: always, nothing is subscribed);
  // otherwise (Redis: until the SUBSCRIBE is acknowledged) returns false and
  // calls `fed` once, on the store's thread, when every event appended from
  // then on is fed. Never called if the filter is unwatched first.
  virtual bool WhenFed(const std::string& filter, std::function<void()> fed) {
    (void)filter;
    (void)fed;
    return true;
  }
  // True when every appended event is fed on this node (memory). A shared
  // store feeds only what this node watches: an event published before a
  // watch was confirmed is in history but was never fed here, so a replay
  // must deliver all that its read saw (ReadResult::last_seq) rather than
  // stop at what the worker dispatched (server/replayer.h).
  virtual bool FeedsEveryEvent() const { return true; }
  virtual uint32_t epoch() const = 0;  // thread-safe
  // Newest seq fed so far (a shared store: or known to exist, whichever is
  // newer), thread-safe. A connection that subscribes now starts after it.
  virtual uint64_t LastSeq() const = 0;
  virtual StoreStatus status() const = 0;  // thread-safe snapshot
  virtual HistoryStats Stats() const = 0;  // count, bytes, oldest, last; thread-safe
};

}  // namespace herald
