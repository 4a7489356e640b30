#include "server/store/redis_libevent.h"

#include <hiredis/hiredis.h>

#include <new>

namespace herald {
namespace {

struct LoopEvents {
  redisAsyncContext* context = nullptr;
  event* read = nullptr;   // EV_READ | EV_PERSIST
  event* write = nullptr;  // EV_WRITE, one-shot: a full or connecting socket
  event* flush = nullptr;  // no fd: activated to write at the end of the turn
  // Inside a write: hiredis asking for another means the socket is full
  // (it asks, or says done, before returning; on an error it frees us).
  bool writing = false;
};

void OnRead(evutil_socket_t, short, void* arg) {
  redisAsyncHandleRead(static_cast<LoopEvents*>(arg)->context);
}

// The writable socket and the flush alike. `e` may be freed by the call.
void OnWrite(evutil_socket_t, short, void* arg) {
  auto* e = static_cast<LoopEvents*>(arg);
  e->writing = (e->context->c.flags & REDIS_CONNECTED) != 0;
  redisAsyncHandleWrite(e->context);
}

void AddRead(void* data) {
  auto* e = static_cast<LoopEvents*>(data);
  // Already pending (persistent): libevent makes no syscall.
  if (!event_pending(e->read, EV_READ, nullptr)) event_add(e->read, nullptr);
}

void DelRead(void* data) { event_del(static_cast<LoopEvents*>(data)->read); }

void AddWrite(void* data) {
  auto* e = static_cast<LoopEvents*>(data);
  const bool connected = (e->context->c.flags & REDIS_CONNECTED) != 0;
  if (connected && !e->writing) {
    event_active(e->flush, EV_TIMEOUT, 0);
    return;
  }
  // Connecting (writable means connected), or a write left bytes behind.
  e->writing = false;
  event_add(e->write, nullptr);
}

void DelWrite(void* data) {
  auto* e = static_cast<LoopEvents*>(data);
  e->writing = false;
  event_del(e->write);
  event_del(e->flush);
}

void Cleanup(void* data) {
  auto* e = static_cast<LoopEvents*>(data);
  event_free(e->read);
  event_free(e->write);
  event_free(e->flush);
  delete e;
}

}  // namespace

int AttachRedisToLoop(redisAsyncContext* ac, event_base* base) {
  if (ac->ev.data != nullptr) return REDIS_ERR;
  auto* e = new (std::nothrow) LoopEvents;
  if (!e) return REDIS_ERR;
  e->context = ac;
  const int fd = ac->c.fd;
  e->read = event_new(base, fd, EV_READ | EV_PERSIST, OnRead, e);
  e->write = event_new(base, fd, EV_WRITE, OnWrite, e);
  e->flush = event_new(base, -1, 0, OnWrite, e);
  if (!e->read || !e->write || !e->flush) {
    Cleanup(e);
    return REDIS_ERR;
  }
  ac->ev.addRead = AddRead;
  ac->ev.delRead = DelRead;
  ac->ev.addWrite = AddWrite;
  ac->ev.delWrite = DelWrite;
  ac->ev.cleanup = Cleanup;
  ac->ev.data = e;
  // As hiredis's adapter: writable tells a non-blocking connect finished.
  event_add(e->read, nullptr);
  event_add(e->write, nullptr);
  return REDIS_OK;
}

}  // namespace herald
