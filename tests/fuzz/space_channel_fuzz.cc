// libFuzzer target: the space/channel selector of GET /sse and /poll
// (space=s&channel=c...). The input is split on NUL into a space and its
// channels, so the fuzzer reaches the selector's own checks rather than the
// query string decoding. Accepted selectors yield valid filters only.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "handlers/subscribe_query.h"
#include "handlers/subscribe_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  herald::Limits limits;
  limits.max_filters_per_connection = 8;
  limits.max_topic_levels = 6;
  limits.max_topic_bytes = 64;

  herald::Params params;
  size_t start = 0;
  for (bool first = true;; first = false) {
    const size_t end = input.find('\0', start);
    params.emplace_back(first ? "space" : "channel", input.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  // The first byte mixes in the other fields a request may carry.
  if (data[0] & 1) params.emplace_back("topic", "plain/topic");
  if (data[0] & 2) params.emplace_back("space", params.front().second);
  if (data[0] & 4) params.emplace(params.begin(), "channel", "c");
  const bool optional = data[0] & 8;

  auto p = herald::ParseSubscribeParams(params, limits, optional);
  if (!p.ok()) return 0;
  if (p->space.empty() || p->space.find_first_of("/+#") != std::string::npos) std::abort();
  if (p->filters.size() > static_cast<size_t>(limits.max_filters_per_connection)) std::abort();
  for (const std::string& f : p->filters) {
    if (!herald::ValidateFilter(f, limits).ok()) std::abort();
  }
  return 0;
}
