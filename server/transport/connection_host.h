// ConnectionHost: what a transport connection may ask of the worker that owns
// it — the narrow face of Worker (server/worker.h) seen from
// server/transport/, so a transport never includes the runtime above it.
// The worker implements it; a connection keeps a pointer to it for its life
// (the worker outlives every connection it owns).
//
// Threading: every call on the owning worker's loop thread, like every
// Connection, except Post (any thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "server/core/config.h"
#include "server/core/session_kinds.h"

struct event_base;

namespace herald {

class Connection;
struct ServerContext;

// How long a connection of transport `t` lives without /alive (0: forever),
// and how often it gets a heartbeat (0: never).
int64_t TransportTimeoutMs(const Config& config, Transport t);
int64_t TransportHeartbeatMs(const Config& config, Transport t);

class ConnectionHost {
 public:
  // The loop the connection's timers and I/O run on.
  virtual event_base* base() const = 0;
  virtual const Config& config() const = 0;
  // The node's shared context. Only the poll session uses it, to read history
  // through the hub (server/hub.h); streaming transports need none of it.
  virtual ServerContext& ctx() const = 0;
  // Any thread: runs `task` on this loop (an asynchronous completion, e.g. a
  // store read, comes back through it).
  virtual void Post(std::function<void()> task) = 0;
  // Post as a store's PostFn, dropped once the server has destroyed its
  // workers (a completion arriving during shutdown).
  virtual std::function<void(std::function<void()>)> LoopPost() = 0;
  // The live connection `connid` of this worker, or nullptr (a completion
  // finds its connection again by id: it may have closed meanwhile).
  virtual Connection* Find(uint64_t connid) = 0;
  // Calls conn->Flush() once at the end of this loop iteration's work.
  virtual void RequestFlush(Connection* conn) = 0;
  // The HTTP layer saw the client go; the transport has already let go of
  // its request. Destroys `conn`.
  virtual void OnClientGone(Connection* conn) = 0;
  // After a write outside event delivery (control events, heartbeats): a
  // connection whose output, before these `written` bytes, is over
  // limits.max_output_buffer_bytes is closed as `slow` after the current
  // callback (never from inside it).
  virtual void CheckOutputCap(Connection* conn, size_t written) = 0;
  // Takes the connection out of / back into its idle timeout (a poll session
  // while one of its polls is held).
  virtual void PauseTimeout(Connection* conn) = 0;
  virtual void ResumeTimeout(Connection* conn) = 0;

 protected:
  ~ConnectionHost() = default;  // not owned through this interface
};

}  // namespace herald
