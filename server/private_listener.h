// The private API listener on libmicrohttpd, on its own address, run by the
// workers' event loops: each worker drives one MHD daemon (MHD_USE_EPOLL, no
// MHD thread) accepting on a dup of one listening socket, the way the public
// listener shares its socket. A publish is thus parsed, stored and fanned out
// on a thread that is awake anyway, with no hand-off to an MHD thread first
// (a context switch per request was half the CPU of a publish). A handler
// that answers later (after asking the other workers) suspends its MHD
// connection and resumes it on the owning loop. Serves ctx.private_routes,
// behind the publisher token (see api_auth.h).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "server/util/status.h"

namespace herald {

struct ServerContext;

class PrivateListener {
 public:
  explicit PrivateListener(ServerContext* ctx);
  ~PrivateListener();
  // Main thread, after the workers' Init and before their Start.
  Status Start();
  // Main thread, while the loops run: stops accepting, closes every private
  // API connection (an answer still awaited gets 503), and returns when done.
  void Stop();
  uint16_t port() const { return port_; }

 private:
  class WorkerDaemon;
  ServerContext* ctx_;
  std::vector<std::unique_ptr<WorkerDaemon>> daemons_;
  uint16_t port_ = 0;
};

}  // namespace herald
