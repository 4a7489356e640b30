// Replayer: resumes a connection from a cursor (SSE Last-Event-ID or
// lastEventId, the stream's last_event_id) on its worker's loop. One per
// worker; loop thread only.
//
// Contract:
//   - A resuming connection is marked `replaying`. History after its cursor
//     is read with Store::Read (its filters, a slice at a time); each
//     completion arrives later, through the worker's inbox. Nothing is held
//     across that wait but the connid: a completion for a connection that
//     has gone (or stopped replaying) is dropped.
//   - Live delivery skips a replaying connection for history events, and
//     keeps the others (whispers, presence changes) in held_whispers, which
//     go out in seq order between the replayed events (Worker::Dispatch).
//   - The live boundary: when a completion arrives, every event up to the
//     worker's last_dispatched_seq has passed live delivery (skipped for
//     this connection). Replayed events up to it are delivered (each decided
//     by DeliveryFilter / DecideDelivery, as live); the first read event past
//     it, or a read that saw the whole store up to it (ReadResult::last_seq
//     >= boundary), ends the replay: the connection goes live, and the later
//     events, still in the inbox, reach it through live delivery. A read that
//     saw less than the boundary reads again. conn->last_seq drops whatever
//     both paths would deliver: no gap, no duplicate.
//   - History that no longer covers the cursor (trimmed, or the epoch
//     changed) ends the replay with a `reset` saying why; the connection
//     goes live. A store that cannot answer is asked again later.
//   - With a store that feeds only what the node watches (Redis,
//     Store::FeedsEveryEvent false), a connection whose filters are not fed
//     yet (Connection::unfed_filters) replays from its connect cursor once
//     they are (Worker::Adopt, Worker::Subscribe), and a replay reads only
//     then: an event published before the SUBSCRIBE took effect is in
//     history but never reaches live delivery here. So the boundary is also
//     at least what the read saw (ReadResult::last_seq): every later event
//     comes live, since every read starts after the watches were confirmed.
//   - A client reading slowly pauses its replay (half the output cap stays
//     free for live traffic and heartbeats); it reads on once it has drained.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "server/store/cursor.h"
#include "server/store/store.h"
#include "server/transport/connection.h"
#include "server/util/c_handles.h"

namespace herald {

class Worker;

class Replayer {
 public:
  explicit Replayer(Worker* worker);
  // Main thread, from Worker::Init: the retry timer on the worker's loop.
  void Init();

  // Replays history after `cursor` to `conn`, then lets live delivery go on;
  // or, if the cursor cannot be resumed, sends `reset` and leaves it live.
  // Call after `connected`.
  void Start(Connection* conn, std::string_view cursor);
  // Replays to `conn` what its filters got after `after_seq`, once they are
  // fed (a connection whose watches the store has not confirmed yet).
  void StartFrom(Connection* conn, uint64_t after_seq);
  // Every filter of `conn` is fed now: a replay parked for it reads on.
  void OnFed(Connection* conn);
  // Sends a `reset` control event saying why.
  void SendReset(Connection* conn, ResetReason reason);
  // Ends `conn`'s replay now (the store's epoch changed): it goes live; a
  // read still in flight for it is dropped.
  void Abort(Connection* conn) { Finish(conn); }

  // Events per read: a long replay never stalls the worker's other connections.
  static constexpr size_t kSliceEvents = 200;

 private:
  void ReadNext(Connection* conn);
  void OnRead(uint64_t connid, ReadResult result);
  // Delivers what the read brought up to the live boundary; true when the
  // replay is over (caught up), false when it must read again or pause.
  bool DeliverSlice(Connection* c, const ReadResult& result, bool* paused);
  // Delivers the held whispers (and presence changes) before `seq`.
  void ReleaseHeld(Connection* c, uint64_t before_seq);
  void Finish(Connection* c);
  void Wait(uint64_t connid, int delay_ms);
  void RunWaiting();
  size_t PauseAt() const;

  Worker* const worker_;
  std::vector<uint64_t> waiting_;  // connids paused (slow client) or retrying
  EventPtr timer_;
  bool timer_pending_ = false;
  FrameCache frames_;
};

}  // namespace herald
