// libFuzzer target: the subscribe parameters of every transport — the
// GET /sse and /poll query string, the POST /poll JSON body, and the
// es-web-notify POST / body. Whatever is accepted holds only valid, distinct
// filters within the limits and a valid clid.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "handlers/subscribe_query.h"
#include "handlers/subscribe_request.h"
#include "server/net/http.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckFilters(const std::vector<std::string>& filters, const herald::Limits& limits) {
  Check(filters.size() <= static_cast<size_t>(limits.max_filters_per_connection));
  for (size_t i = 0; i < filters.size(); ++i) {
    Check(herald::ValidateFilter(filters[i], limits).ok());
    Check(std::find(filters.begin(), filters.begin() + i, filters[i]) == filters.begin() + i);
  }
}

void CheckParams(const herald::Params& params, const herald::Limits& limits) {
  for (bool optional : {false, true}) {
    auto p = herald::ParseSubscribeParams(params, limits, optional);
    if (!p.ok()) continue;
    CheckFilters(p->filters, limits);
    Check(optional || !p->filters.empty());
    Check(herald::ValidateClid(p->clid, limits).ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  herald::Limits limits;
  limits.max_filters_per_connection = 8;
  limits.max_topic_levels = 6;
  limits.max_topic_bytes = 64;
  limits.max_clid_bytes = 32;

  CheckParams(herald::ParseQueryString(input), limits);

  herald::HttpRequest post;
  post.method = "POST";
  post.body = input;
  auto body = herald::CollectParams(post);
  if (body.ok()) CheckParams(*body, limits);

  auto esweb = herald::ParseEsWebSubscribe(input, limits);
  if (esweb.ok()) {
    CheckFilters(esweb->filters, limits);
    for (const std::string& b : esweb->bound) {
      Check(std::find(esweb->filters.begin(), esweb->filters.end(), b) != esweb->filters.end());
    }
  }
  return 0;
}
