#include "server/core/event.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "server/util/json.h"

namespace herald {

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void AppendEventId(std::string* out, uint32_t epoch, uint64_t seq) {
  // By hand rather than snprintf: every publish formats ids (a batch's
  // answer, one per event), and the printf machinery was a hot spot there.
  static const char kHex[] = "0123456789abcdef";
  char buf[8 + 1 + 20];
  for (int i = 7; i >= 0; --i, epoch >>= 4) buf[i] = kHex[epoch & 15];
  buf[8] = '-';
  char* end = std::to_chars(buf + 9, buf + sizeof buf, seq).ptr;
  out->append(buf, static_cast<size_t>(end - buf));
}

std::string FormatEventId(uint32_t epoch, uint64_t seq) {
  std::string id;
  AppendEventId(&id, epoch, seq);
  return id;
}

namespace {
void SetId(Event* ev, uint64_t seq, uint32_t epoch) {
  ev->seq = seq;
  ev->id.clear();
  AppendEventId(&ev->id, epoch, seq);
  ev->head.clear();
  ev->head.reserve(64);
  ev->head.append("{\"id\":\"").append(ev->id).append("\",\"iat\":");
  char iat[24];
  ev->head.append(iat,
                  static_cast<size_t>(std::to_chars(iat, iat + sizeof iat, ev->iat_ms).ptr - iat));
  ev->head.append(",\"ep\":{\"requested\":");
}
}  // namespace

void AssignEventSeq(const EventRef& ev, uint64_t seq, uint32_t epoch) {
  // Nobody else can see it yet: the const is the sharing contract, and the
  // Event itself was created non-const (make_shared in MakeEvent).
  if (ev.use_count() != 1) std::abort();
  SetId(const_cast<Event*>(ev.get()), seq, epoch);
}

EventRef MakeEvent(uint64_t seq, uint32_t epoch, int64_t iat_ms, std::string topic,
                   std::string_view e_json, uint64_t whisper,
                   std::shared_ptr<const AclRecord> bound, bool presence) {
  auto ev = std::make_shared<Event>();
  ev->presence = presence;
  ev->bound = std::move(bound);
  ev->iat_ms = iat_ms;
  ev->whisper = whisper;
  SetId(ev.get(), seq, epoch);
  ev->tail = ",\"emitted\":";
  AppendJsonString(&ev->tail, topic);
  ev->tail += "},\"e\":";
  ev->tail.append(e_json);
  ev->tail += "}";
  ev->topic = std::move(topic);
  return ev;
}

void AppendEventJson(std::string* out, const Event& ev, std::string_view filter) {
  out->append(ev.head);
  AppendJsonString(out, filter);
  out->append(ev.tail);
}

std::string ControlJson(int64_t iat_ms, std::string_view requested, std::string_view emitted,
                        std::string_view type, std::string_view detail_json) {
  std::string out = "{\"iat\":" + std::to_string(iat_ms) + ",\"ep\":{\"requested\":";
  AppendJsonString(&out, requested);
  out += ",\"emitted\":";
  AppendJsonString(&out, emitted);
  out += "},\"e\":{\"type\":";
  AppendJsonString(&out, type);
  out += ",\"detail\":";
  out.append(detail_json);
  out += "}}";
  return out;
}

}  // namespace herald
