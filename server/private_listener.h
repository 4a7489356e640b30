// The private API listener on libmicrohttpd: its own threads (one per
// connection, so a handler may wait for the workers' answer without stalling
// any event loop) on its own address. Serves ctx.private_routes, behind the
// publisher token (see api_auth.h).
#pragma once

#include "server/c_handles.h"
#include "server/status.h"

namespace herald {

struct ServerContext;

class PrivateListener {
 public:
  explicit PrivateListener(ServerContext* ctx) : ctx_(ctx) {}
  Status Start();
  // Stops accepting and waits for in-flight requests to finish.
  void Stop() { daemon_.reset(); }
  uint16_t port() const;

 private:
  ServerContext* ctx_;
  MhdDaemonPtr daemon_;
};

}  // namespace herald
