// libFuzzer target: the payload pass-through (server/util/json.h). What it accepts
// must round-trip: the output is pure ASCII, strict JSON again, unchanged by
// a second pass, and the same value as the input for cJSON. Member lookup
// agrees with cJSON's on which member is found and what it holds.
#include <cjson/cJSON.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/util/json.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// Compared as cJSON prints them: cJSON_Compare says an overflowing number
// (1e400, read as infinity) differs from itself.
bool SameValue(const cJSON* x, const cJSON* y) {
  if (!x || !y) return !x && !y;
  return herald::PrintAsciiJson(x) == herald::PrintAsciiJson(y);
}

bool SameValue(const std::string& a, const std::string& b) {
  return SameValue(herald::ParseJson(a).get(), herald::ParseJson(b).get());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto out = herald::PassThroughJson(input);
  Check(out.has_value() == herald::IsStrictJson(input));
  if (!out) return 0;
  for (unsigned char c : *out) Check(c < 0x80 && c != '\'');
  Check(herald::PassThroughJson(*out) == out);
  // cJSON may refuse what is strict JSON only past its own limits; when it
  // reads both, they are the same value (numbers included, as doubles).
  Check(SameValue(input, *out));

  // NUL in a key: cJSON compares keys as C strings, the scanner does not.
  if (input.find("\\u0000") != std::string::npos) return 0;
  herald::CJsonPtr doc = herald::ParseJson(input);
  for (const char* key : {"e", "type", "detail", ""}) {
    auto member = herald::JsonMemberText(input, key);
    const cJSON* item =
        cJSON_IsObject(doc.get()) ? cJSON_GetObjectItemCaseSensitive(doc.get(), key) : nullptr;
    if (doc) Check(member.has_value() == (item != nullptr));
    if (!member) continue;
    Check(herald::IsStrictJson(*member));
    if (item) {
      herald::CJsonPtr m = herald::ParseJson(std::string(*member));
      Check(SameValue(m.get(), item));
    }
  }
  return 0;
}
