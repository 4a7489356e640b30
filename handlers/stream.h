// POST / — the es-web-notify stream subscription (public listener only,
// since the response is a stream). See docs/protocol.md.
#pragma once

#include <event2/http.h>

namespace herald {

class Worker;

// Loop thread of `worker`. Answers with an error, or starts the stream.
void HandleStreamSubscribe(Worker& worker, evhttp_request* req);

}  // namespace herald
