#include "server/util/event_add.h"

#include <event2/event.h>

#include "server/util/log.h"

namespace herald {

bool AddEvent(event* ev, const timeval* tv, const char* tag, const char* what) {
  if (ev && event_add(ev, tv) == 0) return true;
  LogError(tag, 0, "cannot arm the %s event", what);
  return false;
}

}  // namespace herald
