// Event: one published message. Immutable once built and shared by reference
// (std::shared_ptr, atomic count) between the publishing thread and every
// worker that delivers it. The JSON pieces that do not depend on the
// subscriber are rendered once here; a worker adds only the matched filter.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace herald {

struct AclRecord;

struct Event {
  uint64_t seq = 0;      // global sequence, strictly increasing in publish order
  std::string id;        // "<epoch hex>-<seq>": the resume cursor clients echo back
  int64_t iat_ms = 0;    // publish time, ms since the Unix epoch
  std::string topic;     // as published (may hold + and #: matching is symmetric)
  uint64_t whisper = 0;  // connid of the only recipient, 0 for a shout
  // Set for a bound ("binded") publish: the ACL record of `topic`, whose
  // `sub` list decides which bound subscribers get it (Worker::DeliverTo).
  std::shared_ptr<const AclRecord> bound;
  // A presence change (@CONNECTION@/<clid> connect/disconnect): live only,
  // so connection churn can never push application events out of history.
  bool presence = false;
  // Pre-rendered pure-ASCII JSON: head + JsonString(filter) + tail is the
  // whole event object {"id","iat","ep":{"requested","emitted"},"e"}.
  std::string head;
  std::string tail;

  // Whether history keeps it: a whisper belongs to one connection, and a
  // presence change is current state (`available` gives it on subscribe).
  bool InHistory() const { return whisper == 0 && !presence; }
};
using EventRef = std::shared_ptr<const Event>;

// Builds an event. `e_json` is the pure-ASCII JSON of {"type", "detail"}.
EventRef MakeEvent(uint64_t seq, uint32_t epoch, int64_t iat_ms, std::string topic,
                   std::string_view e_json, uint64_t whisper,
                   std::shared_ptr<const AclRecord> bound = nullptr, bool presence = false);

// For a Store only (Store::Append): gives an event built with seq 0 its id
// (seq, id and the rendered head). The store assigns ids, so the event is
// built before its id is known; it is still private then (the store holds
// the only reference, checked), and immutable from the moment it is shared.
void AssignEventSeq(const EventRef& ev, uint64_t seq, uint32_t epoch);

std::string FormatEventId(uint32_t epoch, uint64_t seq);
// Appends FormatEventId's text to `out`, without a temporary.
void AppendEventId(std::string* out, uint32_t epoch, uint64_t seq);

// Appends the event JSON as matched by `filter`.
void AppendEventJson(std::string* out, const Event& ev, std::string_view filter);

// The JSON of a frame that is not a stored event (connected, available,
// disconnect...): same shape, no id.
std::string ControlJson(int64_t iat_ms, std::string_view requested, std::string_view emitted,
                        std::string_view type, std::string_view detail_json);

int64_t NowMs();

}  // namespace herald
