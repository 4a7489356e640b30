// Resolving a configured HOST:PORT into a socket address to listen on,
// shared by the public listener and the private API.
#pragma once

#include <sys/socket.h>

#include "server/core/config.h"
#include "server/util/status.h"

namespace herald {

struct ListenAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
};

// `what` names the config key in the error ("listen", "private_listen").
Result<ListenAddress> ResolveListenAddress(const HostPort& hp, const char* what);

// A non-blocking listening socket on `hp` (SO_REUSEADDR, backlog 4096);
// `*bound_port` gets the port it got (for port 0).
Result<int> ListenSocket(const HostPort& hp, const char* what, uint16_t* bound_port);

}  // namespace herald
