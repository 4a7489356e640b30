// Resume cursors. A cursor is an event id, "<epoch as 8 hex digits>-<seq>",
// the same on every transport (SSE Last-Event-ID / lastEventId, the stream's
// last_event_id, the poll's since). Parsing is pure; Resolve checks a parsed
// cursor against a store and says whether history covers it, and if not, why
// (the `reset` the client gets). Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace herald {

class Store;

enum class ResetReason : uint8_t { kNone = 0, kTrimmed, kEpoch, kMalformed };
const char* ResetReasonName(ResetReason r);

struct Cursor {
  bool well_formed = false;
  uint32_t epoch = 0;
  uint64_t seq = 0;
};

// Exactly 8 hex digits, '-', 1..19 decimal digits (no sign, no spaces).
Cursor ParseCursor(std::string_view text);

// Where a resume from `text` starts: `after_seq` (and the cursor's epoch,
// for ReadRequest::epoch), otherwise the reason for a reset. A cursor of this
// epoch past the newest event counts as malformed (no such id was ever
// handed out). Whether history still covers `after_seq` is not checked here:
// the first Store::Read says (ReadResult::covered, a `trimmed` reset).
struct ResumePoint {
  ResetReason reset = ResetReason::kNone;
  uint64_t after_seq = 0;
  uint32_t epoch = 0;
};
ResumePoint ResolveCursor(std::string_view text, const Store& store);

// The detail of a `reset` event: {"reason": "...", "oldest": "<id>" | null}.
std::string ResetDetailJson(ResetReason reason, const Store& store);

}  // namespace herald
