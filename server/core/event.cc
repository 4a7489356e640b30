#include "server/core/event.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "server/util/json.h"

namespace herald {

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string FormatEventId(uint32_t epoch, uint64_t seq) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%llu", epoch, static_cast<unsigned long long>(seq));
  return buf;
}

namespace {
void SetId(Event* ev, uint64_t seq, uint32_t epoch) {
  ev->seq = seq;
  ev->id = FormatEventId(epoch, seq);
  ev->head = "{\"id\":\"" + ev->id + "\",\"iat\":" + std::to_string(ev->iat_ms) +
             ",\"ep\":{\"requested\":";
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
