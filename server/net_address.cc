#include "server/net_address.h"

#include <netdb.h>

#include <cstring>

namespace herald {

Result<ListenAddress> ResolveListenAddress(const HostPort& hp, const char* what) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(hp.host.c_str(), std::to_string(hp.port).c_str(), &hints, &found) != 0 ||
      !found) {
    return Status::Error(500, std::string(what) + ": cannot resolve " + hp.ToString());
  }
  ListenAddress out;
  std::memcpy(&out.addr, found->ai_addr, found->ai_addrlen);
  out.len = found->ai_addrlen;
  out.family = found->ai_family;
  freeaddrinfo(found);
  return out;
}

}  // namespace herald
