#include "server/store/cursor.h"

#include "server/core/event.h"
#include "server/store/store.h"

namespace herald {

const char* ResetReasonName(ResetReason r) {
  switch (r) {
    case ResetReason::kNone:
      return "none";
    case ResetReason::kTrimmed:
      return "trimmed";
    case ResetReason::kEpoch:
      return "epoch";
    case ResetReason::kMalformed:
      return "malformed";
  }
  return "?";
}

Cursor ParseCursor(std::string_view text) {
  Cursor c;
  if (text.size() < 10 || text.size() > 28 || text[8] != '-') return c;
  uint32_t epoch = 0;
  for (size_t i = 0; i < 8; ++i) {
    const char ch = text[i];
    int v;
    if (ch >= '0' && ch <= '9') {
      v = ch - '0';
    } else if (ch >= 'a' && ch <= 'f') {
      v = ch - 'a' + 10;
    } else if (ch >= 'A' && ch <= 'F') {
      v = ch - 'A' + 10;
    } else {
      return c;
    }
    epoch = epoch << 4 | static_cast<uint32_t>(v);
  }
  std::string_view digits = text.substr(9);
  if (digits.empty() || digits.size() > 19) return c;
  uint64_t seq = 0;
  for (char ch : digits) {
    if (ch < '0' || ch > '9') return c;
    seq = seq * 10 + static_cast<uint64_t>(ch - '0');  // 19 digits cannot overflow 2^64
  }
  c.well_formed = true;
  c.epoch = epoch;
  c.seq = seq;
  return c;
}

ResumePoint ResolveCursor(std::string_view text, const Store& store) {
  ResumePoint p;
  Cursor c = ParseCursor(text);
  if (!c.well_formed) {
    p.reset = ResetReason::kMalformed;
  } else if (c.epoch != store.epoch()) {
    p.reset = ResetReason::kEpoch;
  } else if (store.FeedsEveryEvent() && c.seq > store.LastSeq()) {
    // (A shared store's LastSeq is this node's view, maybe behind a cursor
    // from another node: its read answers "not covered" for a future one.)
    p.reset = ResetReason::kMalformed;
  } else {
    // Whether history still covers it is the answer of the first read
    // (ReadResult::covered): a shared store is not asked twice.
    p.after_seq = c.seq;
    p.epoch = c.epoch;
  }
  return p;
}

std::string ResetDetailJson(ResetReason reason, const Store& store) {
  const uint64_t oldest = store.Stats().oldest_seq;
  std::string out = std::string("{\"reason\":\"") + ResetReasonName(reason) + "\",\"oldest\":";
  out += oldest ? "\"" + FormatEventId(store.epoch(), oldest) + "\"" : std::string("null");
  out += "}";
  return out;
}

}  // namespace herald
