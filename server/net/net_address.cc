#include "server/net/net_address.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace herald {

Result<ListenAddress> ResolveListenAddress(const HostPort& hp, const char* what) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(hp.host.c_str(), std::to_string(hp.port).c_str(), &hints, &found) != 0 ||
      !found) {
    return Status::Config(std::string(what) + ": cannot resolve " + hp.ToString());
  }
  ListenAddress out;
  std::memcpy(&out.addr, found->ai_addr, found->ai_addrlen);
  out.len = found->ai_addrlen;
  out.family = found->ai_family;
  freeaddrinfo(found);
  return out;
}

Result<int> ListenSocket(const HostPort& hp, const char* what, uint16_t* bound_port) {
  auto resolved = ResolveListenAddress(hp, what);
  if (!resolved.ok()) return resolved.status();
  int fd = socket(resolved->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&resolved->addr), resolved->len) != 0 ||
      listen(fd, 4096) != 0) {
    std::string err = std::strerror(errno);
    if (fd >= 0) close(fd);
    return Status::Internal(std::string(what) + ": cannot listen on " + hp.ToString() + ": " + err);
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound_port = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return fd;
}

}  // namespace herald
