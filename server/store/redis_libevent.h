// A hiredis async context on a libevent loop, like hiredis's own adapter
// (hiredis/adapters/libevent.h) but cheaper per command:
//  - the read event is persistent: hiredis re-adds it after every read, and
//    the stock adapter's one-shot event cost two epoll_ctl each time;
//  - once connected, a command's write is not a one-shot EV_WRITE event (an
//    epoll_ctl to arm it, one to disarm it, a loop turn) but a deferred
//    flush on the loop (event_active, no syscall) that writes at the end of
//    the loop turn: every command queued in the turn leaves in one write,
//    so publishes from many connections are still pipelined. Only a socket
//    that is full (or still connecting) waits for EV_WRITE.
// Loop thread only, like the context itself.
#pragma once

#include <event2/event.h>
#include <hiredis/async.h>

namespace herald {

// REDIS_OK, or REDIS_ERR if something is already attached to `ac`.
int AttachRedisToLoop(redisAsyncContext* ac, event_base* base);

}  // namespace herald
