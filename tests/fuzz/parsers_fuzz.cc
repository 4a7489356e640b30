// Fuzzes every parser of outside input that the core has: the es-web
// subscribe body, the config file, the query string, and the pure-ASCII JSON
// rewriting (whose output must stay ASCII and valid JSON).
#include <cjson/cJSON.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "handlers/subscribe_request.h"
#include "server/core/config.h"
#include "server/net/http.h"
#include "server/util/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  herald::Limits limits;
  limits.max_filters_per_connection = 8;
  (void)herald::ParseEsWebSubscribe(input, limits);
  herald::Config config;
  (void)herald::ParseConfigJson(input, "fuzz.json", &config);
  (void)herald::ParseQueryString(input);
  if (herald::IsValidUtf8(input)) {
    herald::CJsonPtr doc = herald::ParseJson(input);
    if (doc) {
      std::string ascii = herald::PrintAsciiJson(doc.get());
      for (unsigned char c : ascii) {
        if (c >= 0x80 || c == '\'') std::abort();
      }
      if (!herald::ParseJson(ascii)) std::abort();
    }
    std::string quoted = herald::JsonString(input);
    herald::CJsonPtr back = herald::ParseJson(quoted);
    if (!back || !cJSON_IsString(back.get()) || input.find('\0') == std::string::npos) {
      if (!back || std::string(back->valuestring) != input) std::abort();
    }
  }
  return 0;
}
