// The small request/response interface every non-streaming handler sees, so
// the same handler code serves the public libevent listener and the private
// libmicrohttpd listener. Streaming transports are libevent-only and live
// outside this interface.
//
// Threading: a handler runs on a worker loop (the private API's MHD daemons
// are driven by the worker loops too) and must not block. It answers by
// calling the Responder exactly once, from any thread, possibly later (after
// asking other workers, or from the background thread).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/core/reject_cause.h"
#include "server/core/stats.h"
#include "server/util/status.h"

namespace herald {

struct HttpRequest {
  std::string method;                                        // upper case: GET, POST, OPTIONS...
  std::string path;                                          // without the query string
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string body;
  std::string remote_ip;

  // First value of a query parameter / header (case-insensitive name), or nullptr.
  const std::string* Query(std::string_view name) const;
  const std::string* Header(std::string_view name) const;
  // The token of `Authorization: Bearer <token>`, the one rule for every
  // endpoint: the scheme case-insensitive, then exactly one space, then a
  // non-empty token with no space or tab in it. Empty when absent or off-rule.
  // The view points into this request.
  std::string_view BearerToken() const;
};

struct HttpResponse {
  int status = 200;
  std::string reason;  // empty: the standard phrase
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Counted under this cause if refused; unset: by status (reject_cause.h).
  std::optional<RejectCause> cause;

  static HttpResponse Json(std::string body, int status = 200);
  // An error Status as a response: HttpStatusFor(kind), and {"error": reason}
  // with the reason as the status line's phrase too; a 401 also gets its
  // `WWW-Authenticate: Bearer` challenge. How handlers and listeners answer
  // an error.
  static HttpResponse FromStatus(const Status& s);
  // The body and phrase of FromStatus for a bare HTTP status. Use FromStatus,
  // which keeps the kind -> status decision in one place.
  static HttpResponse Error(int status, std::string_view reason);
};

// The one place an error kind becomes an HTTP status. kConfig is 500: a
// config error is the operator's, never the client's (it stops start-up or a
// reload and should not reach a client at all).
int HttpStatusFor(StatusKind kind);

// Request headers a CORS preflight allows, on both ports: the original
// es-web-notify's list (its browser client may send X-Requested-With) plus
// what herald's own clients send (Last-Event-ID, Cache-Control).
inline constexpr char kCorsAllowHeaders[] =
    "Authorization, X-API-KEY, Origin, X-Requested-With, Content-Type, Accept, "
    "Last-Event-ID, Cache-Control";

// The es-web-notify endpoints (POST /, /alive, /event, /connections) answer
// errors as the original does: the reason in the status line and as a
// text/plain body. The original's clients call response.json() and keep
// their state when it throws, so a JSON error body would look like success.
// herald's own endpoints keep the JSON body of HttpResponse::Error.
bool IsEsWebPath(std::string_view path);
// For a response to `path`: an error on an es-web path gets the plain body.
void AdaptErrorBody(std::string_view path, HttpResponse* resp);

// Counts `resp` in stats.rejected if it is a refusal (status >= 400). Called
// once per answer, where the listeners send it.
void CountRejection(NodeStats& stats, const HttpResponse& resp);

using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(const HttpRequest&, Responder)>;

const char* StandardReason(int status);

// Path → handler table. `is_private` routes need a publisher token.
class Router {
 public:
  struct Route {
    Handler handler;
    bool is_private = false;
  };
  void Add(std::string path, Handler handler, bool is_private);
  const Route* Find(const std::string& path) const;

 private:
  std::map<std::string, Route> routes_;
};

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space, see
// docs/protocol.md). Not libevent's evhttp_parse_query_str: it refuses the
// whole query over one bare key (`?flag&topic=a`) and leaves keys encoded.
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query);

}  // namespace herald
