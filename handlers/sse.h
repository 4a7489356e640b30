// GET /sse — the Server-Sent Events subscription (public listener only: the
// response is a stream). See docs/protocol.md, "Server-Sent Events".
#pragma once

#include <event2/http.h>

namespace herald {

class Worker;

// Loop thread of `worker`. Answers with an error, or starts the stream.
void HandleSseSubscribe(Worker& worker, evhttp_request* req);

}  // namespace herald
