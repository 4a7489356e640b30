// Arming libevent events with the failure logged. event_add fails only when
// the backend cannot register the event (out of memory, a closed fd); the
// caller then takes its own fallback, since a timer that never fires would
// otherwise stall a connection silently.
#pragma once

#include <sys/time.h>

struct event;

namespace herald {

// event_add(ev, tv); on failure logs an error naming `what` under `tag` and
// returns false. Thread: whoever may call event_add on `ev`.
bool AddEvent(event* ev, const timeval* tv, const char* tag, const char* what);

}  // namespace herald
