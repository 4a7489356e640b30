// GET /selftest — streams a few timestamped events so that a client can tell
// whether something between it and herald buffers streams (and fall back to
// long polling if so). See docs/protocol.md, "Self-test".
#pragma once

#include <event2/http.h>

namespace herald {

class Worker;

// Loop thread of `worker`.
void HandleSelftest(Worker& worker, evhttp_request* req);

}  // namespace herald
