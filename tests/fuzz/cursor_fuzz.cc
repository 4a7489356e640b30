// libFuzzer target: resume cursors (Last-Event-ID, lastEventId, since,
// last_event_id). A well-formed cursor names the same position when printed
// back; resolving any text against a store never crashes and a reset always
// has a reason.
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string_view>

#include "server/core/config.h"
#include "server/core/event.h"
#include "server/store/cursor.h"
#include "server/store/memory_store.h"

namespace {

constexpr uint32_t kEpoch = 0x1234abcd;

// A store whose history is trimmed: events 1..3 forgotten, 4..8 retained.
const herald::MemoryStore& Store() {
  static herald::MemoryStore* store = [] {
    herald::HistoryConfig config;
    config.max_events = 5;
    auto* s = new herald::MemoryStore(config, kEpoch, [] { return int64_t{1}; });
    for (uint64_t seq = 1; seq <= 8; ++seq) {
      // The store assigns seq (1..8); completions run inline here.
      s->Append(
          herald::MakeEvent(0, kEpoch, 1, "t", "{\"type\":\"x\"}", 0),
          [](std::function<void()> f) { f(); }, nullptr);
    }
    return s;
  }();
  return *store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const herald::Cursor c = herald::ParseCursor(text);
  if (c.well_formed) {
    const herald::Cursor back = herald::ParseCursor(herald::FormatEventId(c.epoch, c.seq));
    if (!back.well_formed || back.epoch != c.epoch || back.seq != c.seq) std::abort();
  }
  const herald::ResumePoint p = herald::ResolveCursor(text, Store());
  if (!c.well_formed && p.reset != herald::ResetReason::kMalformed) std::abort();
  if (p.reset == herald::ResetReason::kNone && (c.epoch != kEpoch || c.seq > 8)) {
    std::abort();
  }
  (void)herald::ResetDetailJson(p.reset, Store());
  return 0;
}
