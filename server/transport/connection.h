// Connection: one subscriber session, whatever its transport. The transport
// subclasses implement the Subscriber side (deliver, heartbeat, end with a
// reason); the fields here are what every transport shares.
//
// Threading: a connection belongs to the worker that accepted it; only that
// worker's loop thread touches it. Other threads reach it by posting to the
// worker named in its connid (see ConnIdWorker).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/connid.h"
#include "server/core/event.h"
#include "server/core/session_kinds.h"
#include "server/core/topic_index.h"
#include "server/util/intrusive_list.h"

namespace herald {

// The connid layout (node and worker bits) is in server/core/connid.h.

// An encoded frame and the buffer it lies in. The buffer is shared by every
// subscriber the frame goes to: a connection that queues the frame instead of
// copying it holds a reference until its bytes are written.
using SharedBuffer = std::shared_ptr<std::string>;  // connections only read it
struct FrameView {
  std::string_view bytes;
  const SharedBuffer* buffer;
  operator std::string_view() const { return bytes; }  // NOLINT: a view of the bytes
};

// The encodings of one event as matched by one filter, built lazily the first
// time a subscriber of that transport needs them, then shared by every
// subscriber of the filter on this worker: no per-subscriber encoding.
class FrameCache {
 public:
  // `ref`, when given, is the owning reference to `ev`, for a subscriber that
  // must keep the event past the delivery (a poll session's whispers).
  void Reset(const Event* ev, std::string_view filter, const EventRef* ref = nullptr);
  const Event& event() const { return *event_; }
  const EventRef* ref() const { return ref_; }
  std::string_view filter() const { return filter_; }
  std::string_view Json();
  // The es-web frame, and the same wrapped as an HTTP/1.1 chunk.
  FrameView StreamFrame(bool chunked);
  // The SSE message "id: <id>\ndata: <json>\n\n", bare or as a chunk.
  FrameView SseFrame(bool chunked);

 private:
  // Builds `*out` as chunk head + payload + CRLF; returns where the payload
  // starts. Reuses the buffer when no connection still queues it.
  template <class AppendPayload>
  static size_t BuildChunk(SharedBuffer* out, size_t payload_size, AppendPayload&& append);
  static FrameView Slice(const SharedBuffer& chunk, size_t offset, bool chunked);

  const Event* event_ = nullptr;
  const EventRef* ref_ = nullptr;
  std::string_view filter_;
  std::string json_;
  SharedBuffer stream_chunk_;  // chunk head + frame + CRLF
  size_t stream_offset_ = 0;   // where the bare frame starts inside stream_chunk_
  SharedBuffer sse_chunk_;
  size_t sse_offset_ = 0;
  bool have_json_ = false, have_stream_ = false, have_sse_ = false;
};

class Connection;
using ConnectionIndex = TopicIndex<Connection>;

class Connection {
 public:
  Connection(uint64_t id, Transport transport) : id_(id), transport_(transport) {}
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues an event; the bytes leave in one write per loop iteration.
  virtual void Deliver(FrameCache& frames) = 0;
  // Sends a control event named `type` (connected, reset, joined_room...;
  // SSE names the message after it); `json` is its whole ControlJson.
  virtual void SendControl(std::string_view type, std::string_view json) = 0;
  virtual void SendHeartbeat() = 0;
  // Says `disconnect` with `reason` (where the transport can) and finishes
  // the response. Afterwards the connection never touches its request again.
  virtual void Close(CloseReason reason) = 0;
  // The client is gone and its request already freed by the HTTP layer.
  virtual void Abandon() = 0;
  virtual size_t PendingBytes() const = 0;
  // Runs once at the end of the loop iteration in which Worker::RequestFlush
  // asked for it: a streaming transport writes what it queued, a poll session
  // answers its held poll (once per batch either way).
  virtual void Flush() {}
  // The store lost its data (a new epoch): `reset_json` is the `reset`
  // control event (a whole ControlJson) telling the client. A streaming
  // transport sends it now; a poll session answers it with its next poll.
  virtual void OnEpochChanged(std::string_view reset_json) { SendControl("reset", reset_json); }
  // Request headers as a JSON object, for /connections?details=true.
  virtual std::string HeadersJson() const = 0;

  uint64_t id() const { return id_; }
  Transport transport() const { return transport_; }

  // Shared state, owned by the worker's loop thread.
  std::string secret;
  std::string clid;
  std::string space;  // the space form (space + channel); empty otherwise
  std::string user;   // the bound uid (bind key / JWT sub); empty when anonymous
  // Says why in the `disconnect` event instead of CloseReasonName (POST
  // /disconnect's `reason`); the /state counters still count the CloseReason.
  std::string close_text;
  // Bound with a bind key (`user` is its uid, empty if unidentified), and the
  // filters subscribed as bound ("binded"): those get only the bound
  // publishes the topic's ACL lets `user` read (Worker::DeliverTo).
  bool bound = false;
  std::vector<std::string> bound_filters;
  // The subscribe request as sent (a stream's body, an SSE query string),
  // shown as `body` in /connections details.
  std::string subscribe_request;
  std::string remote;     // "ip:port"
  std::string remote_ip;  // for the per-address limit
  int64_t since_ms = 0;
  int64_t deadline_ms = 0;  // the stream ends at this time unless /alive
  int64_t next_heartbeat_ms = 0;
  int64_t alive_count = 0;
  uint64_t last_seq = 0;  // last event delivered: overlapping filters deliver once
  bool closing = false;   // queued for closing at the end of the tick
  // JWT auth of a space connection (auth/jwt.h, handlers/auth.cc). A pending
  // connection gets no events until POST /authenticate, and is closed as
  // `unauthorized` at auth_deadline_ms. token_exp_s is checked before every
  // delivery: a stored integer, so the check costs nothing.
  bool auth_pending = false;
  int64_t auth_deadline_ms = 0;
  int64_t token_exp_s = 0;     // 0: no token (or one without exp)
  int64_t token_leeway_s = 0;  // the JWT leeway: closed at token_exp_s + this (SetToken)
  bool expiring_sent = false;  // `auth_expiring` sent for the current token
  // Resuming: live delivery is skipped while the worker replays history
  // after `replay_after` (server/replayer.h; `replay_epoch` is the
  // cursor's, for Store::Read). Whispers that arrive
  // meanwhile wait in `held_whispers` (they are not history; presence
  // changes wait there too).
  bool replaying = false;
  uint64_t replay_after = 0;
  uint32_t replay_epoch = 0;
  // Filters whose live events the store does not feed yet (Hub::Watch; a
  // shared store until Redis acknowledges the SUBSCRIBE). The replay waits
  // for them (`replay_parked`), then reads what was published meanwhile.
  int unfed_filters = 0;
  bool replay_parked = false;
  std::vector<EventRef> held_whispers;
  // Not in the worker's timeout list: an SSE connection without a timeout,
  // or a poll session while one of its polls is held.
  bool timeout_paused = false;
  std::vector<ConnectionIndex::Subscription*> subscriptions;
  ListLinks<Connection> timeout_links;
  ListLinks<Connection> heartbeat_links;

 private:
  const uint64_t id_;
  const Transport transport_;
};

// The filter of `conn` through which an event on `topic` reaches it: the
// first one the topic index would visit (most specific first, level by level:
// a topic that ended, then an exact level, then '+', then '#'), so a replayed
// event names the same `requested` filter as a live one. Empty if none.
std::string_view MatchingFilter(const Connection& conn, std::string_view topic);
// True when filter `a` comes strictly before `b` in that order (both match
// the same topic). Equally specific filters are ordered by the caller (the
// connection's subscription order; see DeliveryFilter).
bool FilterPrecedes(std::string_view a, std::string_view b);

// Sends a control event on @SERVER@ with `detail_json`.
void SendServerEvent(Connection* conn, std::string_view type, std::string_view detail_json);

}  // namespace herald
