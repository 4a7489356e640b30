// herald-floor: the hardware floor for bench/compare.sh — the least a server
// could do per scenario on this machine. See floor_server.h and
// bench/README.md ("The floor"). Usage: herald-floor --listen 127.0.0.1:PORT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/floor/floor_server.h"

namespace {

// A non-blocking listening socket on "IPv4:PORT", or -1 with a message.
int Listen(const std::string& addr) {
  size_t colon = addr.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  int port = colon == std::string::npos ? 0 : atoi(addr.c_str() + colon + 1);
  if (port <= 0 || port > 65535 ||
      inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
    fprintf(stderr, "herald-floor: bad --listen '%s' (want IPv4:PORT)\n", addr.c_str());
    return -1;
  }
  sa.sin_port = htons(uint16_t(port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 4096) != 0) {
    fprintf(stderr, "herald-floor: cannot listen on %s: %s\n", addr.c_str(), strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || strcmp(argv[1], "--listen") != 0) {
    fprintf(stderr, "usage: herald-floor --listen IPv4:PORT\n");
    return 2;
  }
  // Every subscriber is a socket: use the whole per-process file allowance.
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  int fd = Listen(argv[2]);
  if (fd < 0) return 1;
  herald_floor::FloorServer server(fd);
  return server.Run();
}
