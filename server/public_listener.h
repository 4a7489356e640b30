// The public listener's request entry point (one evhttp per worker). It adds
// CORS headers to every response, answers OPTIONS preflights, sends POST / to
// the es-web stream handler and everything else through the route tables.
#pragma once

#include <event2/http.h>

#include <string>

#include "server/net/http.h"

namespace herald {

class Worker;

// evhttp callback; `worker` is the Worker that owns the evhttp.
void HandlePublicRequest(evhttp_request* req, void* worker);

// Builds the handler-facing request (copies method, path, query, headers, body).
HttpRequest ToHttpRequest(evhttp_request* req);
// Sends `resp` on `req` (adds CORS). Loop thread of the request's worker only.
void SendEvhttpResponse(Worker& worker, evhttp_request* req, const HttpResponse& resp);
void AddCorsHeaders(Worker& worker, evhttp_request* req);
// The client's "ip:port"; its ip alone goes to `ip`.
std::string PeerAddress(evhttp_request* req, std::string* ip);

}  // namespace herald
