// Server: assembles a node — the listening socket shared by the workers, the
// workers themselves, the hub, the routes and the private listener — and
// takes it down in the right order: the private API first (its MHD daemons run
// in the worker loops, so they are stopped while those still run), then the
// background thread (its tasks post to the workers), then the workers.
#pragma once

#include "handlers/poll_share.h"
#include "server/context.h"
#include "server/private_listener.h"
#include "server/redis_acl.h"

namespace herald {

class RedisStore;
class Store;
// The store the config names (store.kind): Redis (not started yet), or null
// for the memory store (the Hub's default).
Result<std::unique_ptr<Store>> MakeStore(ServerContext& ctx);

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  Status Start();
  // Ends every stream with `shutdown` and joins all threads.
  void Shutdown();
  uint16_t public_port() const { return public_port_; }
  // What --check-config runs: loads everything Start() loads from files (the
  // bind-key private key, the ACL file, the JWT keys) without binding a port
  // or starting a thread. Defined in app/check_config.cc.
  static Status CheckConfig(const Config& config);
  // SIGHUP (main thread, after Start): re-reads the config with the same
  // command line and swaps tokens and auth keys atomically, or keeps them
  // all and says why. Defined in app/reload.cc.
  Status Reload(int argc, char** argv);

 private:
  Status ReloadFailed(const Status& why);
  // tls.*: loads the certificate and binds the HTTPS socket the workers share.
  Status StartTls();
  ServerContext ctx_;
  // After ctx_: destroyed first, while the Redis store's bridge still runs.
  std::unique_ptr<RedisAclSource> acl_source_;  // auth.acl_source redis
  std::unique_ptr<PollShare> poll_share_;       // store.kind redis
  RedisStore* hosted_redis_ = nullptr;          // its bridge runs on worker 0's loop
  PrivateListener private_listener_;
  int listen_fd_ = -1;
  uint16_t public_port_ = 0;
  bool started_ = false;
};

}  // namespace herald
