#include "server/transport/connection.h"

#include <cstdio>

#include "server/core/presence.h"
#include "server/transport/wire.h"

namespace herald {

void FrameCache::Reset(const Event* ev, std::string_view filter, const EventRef* ref) {
  event_ = ev;
  ref_ = ref;
  filter_ = filter;
  have_json_ = have_stream_ = have_sse_ = false;
}

std::string_view FrameCache::Json() {
  if (!have_json_) {
    json_.clear();  // keeps capacity: no allocation once warmed up
    AppendEventJson(&json_, *event_, filter_);
    have_json_ = true;
  }
  return json_;
}

template <class AppendPayload>
size_t FrameCache::BuildChunk(SharedBuffer* out, size_t payload_size, AppendPayload&& append) {
  // Connections may still queue the previous frame (until the end of the
  // loop iteration): then it gets a fresh buffer, else the old one is reused
  // (clear() keeps the capacity: no allocation once warmed up).
  if (!*out || out->use_count() > 1) *out = std::make_shared<std::string>();
  std::string* s = out->get();
  // Built in place (no temporary frame string): chunk head, payload, CRLF.
  char head[kChunkHeadMax];
  s->clear();
  s->append(head, WriteChunkHead(head, payload_size));
  const size_t offset = s->size();
  append(s);
  s->append(kChunkTail);
  return offset;
}

FrameView FrameCache::Slice(const SharedBuffer& chunk, size_t offset, bool chunked) {
  std::string_view all = *chunk;
  if (!chunked) all = all.substr(offset, all.size() - offset - 2);
  return FrameView{all, &chunk};
}

FrameView FrameCache::StreamFrame(bool chunked) {
  if (!have_stream_) {
    std::string_view json = Json();
    const size_t size = json.size() + std::to_string(json.size()).size() + 4;
    stream_offset_ =
        BuildChunk(&stream_chunk_, size, [&](std::string* out) { AppendStreamFrame(out, json); });
    have_stream_ = true;
  }
  return Slice(stream_chunk_, stream_offset_, chunked);
}

FrameView FrameCache::SseFrame(bool chunked) {
  if (!have_sse_) {
    std::string_view json = Json();
    const std::string& id = event_->id;
    const size_t size = SseEventSize(id, json);
    sse_offset_ =
        BuildChunk(&sse_chunk_, size, [&](std::string* out) { AppendSseEvent(out, id, json); });
    have_sse_ = true;
  }
  return Slice(sse_chunk_, sse_offset_, chunked);
}

namespace {
// 0: the filter ended, 1: exact level, 2: '+', 3: '#' (see MatchingFilter).
int LevelRank(std::string_view level, bool ended) {
  if (ended) return 0;
  if (level == kSingleLevelWildcard) return 2;
  if (level == kMultiLevelWildcard) return 3;
  return 1;
}

// True when `a` comes before `b` in the index's visiting order.
bool MoreSpecific(std::string_view a, std::string_view b) {
  TopicLevelReader ra(a), rb(b);
  while (!ra.done() || !rb.done()) {
    const bool a_ended = ra.done(), b_ended = rb.done();
    std::string_view la = a_ended ? std::string_view() : ra.Next();
    std::string_view lb = b_ended ? std::string_view() : rb.Next();
    const int x = LevelRank(la, a_ended), y = LevelRank(lb, b_ended);
    if (x != y) return x < y;
    if (x == 3) return false;  // both '#': equally specific
  }
  return false;
}
}  // namespace

bool FilterPrecedes(std::string_view a, std::string_view b) { return MoreSpecific(a, b); }

std::string_view MatchingFilter(const Connection& conn, std::string_view topic) {
  std::string_view best;
  for (const auto* sub : conn.subscriptions) {
    std::string_view f = ConnectionIndex::FilterOf(sub);
    if (!TopicsMatch(f, topic)) continue;
    if (best.empty() || MoreSpecific(f, best)) best = f;
  }
  return best;
}

void SendServerEvent(Connection* conn, std::string_view type, std::string_view detail_json) {
  conn->SendControl(type, ControlJson(NowMs(), kServerTopic, kServerTopic, type, detail_json));
}

}  // namespace herald
