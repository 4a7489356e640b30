// Server: assembles a node — the listening socket shared by the workers, the
// workers themselves, the hub, the routes and the private listener — and
// takes it down in the right order: the private API first (its MHD daemons run
// in the worker loops, so they are stopped while those still run), then the
// background thread (its tasks post to the workers), then the workers.
#pragma once

#include "server/context.h"
#include "server/private_listener.h"

namespace herald {

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  Status Start();
  // Ends every stream with `shutdown` and joins all threads.
  void Shutdown();
  uint16_t public_port() const { return public_port_; }

 private:
  ServerContext ctx_;
  PrivateListener private_listener_;
  int listen_fd_ = -1;
  uint16_t public_port_ = 0;
  bool started_ = false;
};

}  // namespace herald
