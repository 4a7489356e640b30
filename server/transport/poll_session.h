// PollConnection: a long-polling session (GET/POST /poll). Unlike the
// streaming transports it owns no request between polls: it is a connection
// in its worker and index (so presence, /connections, /alive, join/leave and
// whisper work as for any connection) whose events are read from history when
// a poll comes in. A poll is answered at once when something is waiting after
// its `since` cursor, else held until an event matches (the index's live
// delivery wakes it), or its timeout passes. Control events (joined_room,
// available, reset...) and whispers (not history) wait in the session until
// the next answer. History is read with the asynchronous Store::Read (the
// session's filters): a poll is answered when its read completes, later, on
// the session's loop; a completion for a poll answered or replaced meanwhile,
// or for a session gone, is dropped.
//
// The held poll's request may live on another worker (polls arrive on any
// worker): the session holds only a Responder, which posts the reply to the
// request's worker. Lifetime: the session lives poll.session_ttl_ms after its
// last poll ends (its timeout is paused while a poll is held).
//
// Threading: the loop thread of the owning worker, like every Connection.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "server/net/http.h"
#include "server/store/cursor.h"
#include "server/store/store.h"
#include "server/transport/connection.h"
#include "server/transport/connection_host.h"
#include "server/util/c_handles.h"

namespace herald {

class PollConnection : public Connection {
 public:
  PollConnection(uint64_t id, ConnectionHost* worker);

  // Live delivery: a whisper or presence change (not history) is kept for
  // the next answer; any matching event
  // wakes a held poll (the event itself is read back from history).
  void Deliver(FrameCache& frames) override;
  void SendControl(std::string_view type, std::string_view json) override;
  void SendHeartbeat() override {}
  void OnEpochChanged(std::string_view reset_json) override;
  // Answers a held poll with a `disconnect` entry.
  void Close(CloseReason reason) override;
  // Worker teardown: forgets a held poll without answering.
  void Abandon() override;
  size_t PendingBytes() const override { return pending_bytes_; }
  std::string HeadersJson() const override { return headers_json; }
  void Flush() override;

  // A poll for what follows `since` (a cursor; empty: from now). Answers
  // through `reply` at once if anything is waiting or `timeout_ms` is 0,
  // otherwise holds it. A poll already held is answered first, empty.
  // `token` names the held request for CancelPoll.
  void Poll(std::string_view since, int64_t timeout_ms, uint64_t token, Responder reply);
  // The client of held poll `token` is gone: stop holding it.
  void CancelPoll(uint64_t token);

  std::string headers_json;  // of the first poll, for /connections?details=true
  // With sessions shared through Redis (handlers/poll_share.h): the claim
  // this node's copy is of; a move notice of a later claim drops it.
  uint64_t share_gen = 0;

 private:
  // Appends what waits after *after_seq to `events` (JSON array items):
  // controls, then the history events of `read` (a Store::Read after
  // *after_seq; nullptr: none) and whispers in seq order, at most
  // poll.max_batch; a `reset` if history no longer covers the cursor.
  // Advances *after_seq past every history event examined. Returns the
  // number of entries appended.
  size_t Collect(const ReadResult* read, uint64_t* after_seq, std::string* events);
  void Answer(Responder reply, uint64_t after_seq, const std::string& events);
  // Reads history after held_after_ for the pending poll; the completion
  // (OnRead, on this loop) answers it or keeps holding it.
  void StartRead();
  void OnRead(uint64_t generation, ReadResult r);
  size_t ReadLimit() const;
  // Answers the pending poll with `events` and stops holding it.
  void AnswerPending(const std::string& events);
  // Something may be waiting: read and answer if so (or anyway).
  void AnswerHeld(bool even_if_empty);
  static void OnTimer(evutil_socket_t, short, void* self);

  ConnectionHost* const worker_;                            // the owning worker
  std::vector<std::string> controls_;                       // control JSON, oldest first
  std::vector<std::pair<EventRef, std::string>> whispers_;  // with the matched filter
  size_t pending_bytes_ = 0;
  // The pending poll, if any: reading history, or held until events come.
  bool held_ = false;
  Responder held_reply_;
  uint64_t held_after_ = 0;
  uint64_t held_token_ = 0;
  uint32_t read_epoch_ = 0;  // the `since` cursor's epoch until the first read
  std::string prefix_;       // a `reset` to answer before the events
  std::string epoch_reset_;  // the store's epoch changed: the `reset` for the next poll
  bool answer_now_ = false;  // answer at the next read's completion, even empty
  bool reading_ = false;     // a Store::Read in flight
  bool reread_ = false;      // something arrived meanwhile: read again if empty
  // Names the pending poll in a read's completion: a completion for a poll
  // answered, replaced or cancelled meanwhile is dropped.
  uint64_t generation_ = 0;
  bool flush_requested_ = false;
  EventPtr timer_;
};

}  // namespace herald
