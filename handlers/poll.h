// GET/POST /poll — long polling (public listener only: a poll may be held,
// and its session may live on another worker). See docs/protocol.md,
// "Long polling".
#pragma once

#include <event2/http.h>

namespace herald {

class Worker;

// Loop thread of `worker`.
void HandlePoll(Worker& worker, evhttp_request* req);

}  // namespace herald
