// Parsing of the subscribe parameters of GET /sse and GET/POST /poll: the
// query string (or, for POST /poll, a JSON body with the same fields). Pure
// functions, unit-tested alone (tests/unit/handlers/subscribe_query_test.cc).
//
//   topic=a&topic=b/+   filters (repeatable); `ep` is an alias
//   space=s&channel=c   the space form: channel c of space s is topic s/c
//                       (channel repeatable)
//   clid=x              client label (default @ANON_CONNECTION@)
//   lastEventId=<id>    resume cursor (SSE); `since` for /poll
//   connid, secret      a poll session's identity (later polls)
//   timeout=<ms>        how long a poll may be held
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/core/config.h"
#include "server/net/http.h"
#include "server/util/status.h"

namespace herald {

struct SubscribeParams {
  std::string clid;
  std::string space;                 // with the space form
  std::vector<std::string> filters;  // validated, distinct, in request order
  std::optional<std::string> cursor;
  std::optional<uint64_t> connid;     // /poll
  std::string secret;                 // /poll
  std::optional<int64_t> timeout_ms;  // /poll
};

using Params = std::vector<std::pair<std::string, std::string>>;

// Filters are required unless `filters_optional` (a later poll: the session
// already has them). Errors are 400s with a reason.
Result<SubscribeParams> ParseSubscribeParams(const Params& params, const Limits& limits,
                                             bool filters_optional);

// The parameters of a request: its query, and for a POST with a body, the
// body's JSON object fields too (a string array becomes repeated values,
// numbers their decimal text). A body that is not a JSON object is a 400.
Result<Params> CollectParams(const HttpRequest& req);

// The space form, one rule for the query (/sse, /poll) and the body (POST /).
// A space is a valid space name and a valid filter, else 400 `Invalid space`.
Status ValidateSpace(const std::string& space, const Limits& limits);
// Adds `$space/<space>/<channel>` for each channel (non-empty, else 400
// `Invalid channel`) to `filters`, once each, at most
// limits.max_filters_per_connection in all. REQUIRES: ValidateSpace ok.
Status AddChannelFilters(const std::string& space, const std::vector<std::string>& channels,
                         const Limits& limits, std::vector<std::string>* filters);

}  // namespace herald
