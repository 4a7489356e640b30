// herald-floor: the hardware floor for bench/compare.sh — the least a server
// could do per scenario on this machine. See floor_server.h and
// bench/README.md ("The floor").
// Usage: herald-floor --listen 127.0.0.1:PORT [--threads N]   (default 1)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/floor/floor_server.h"

namespace {

// A non-blocking listening socket on "IPv4:PORT", or -1 with a message.
// `shared`: several threads' listeners on this port (SO_REUSEPORT).
int Listen(const std::string& addr, bool shared) {
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
  // One listener per thread on the same port: the kernel spreads connections.
  if (shared) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 4096) != 0) {
    fprintf(stderr, "herald-floor: cannot listen on %s: %s\n", addr.c_str(), strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--listen") == 0) {
      listen = argv[i + 1];
    } else if (strcmp(argv[i], "--threads") == 0) {
      threads = atoi(argv[i + 1]);
    } else {
      listen.clear();
      break;
    }
  }
  if (listen.empty() || argc % 2 == 0 || threads < 1 || threads > 64) {
    fprintf(stderr, "usage: herald-floor --listen IPv4:PORT [--threads N (1..64)]\n");
    return 2;
  }
  // Every subscriber is a socket: use the whole per-process file allowance.
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::unique_ptr<herald_floor::FloorServer>> servers;
  for (int t = 0; t < threads; ++t) {
    int fd = Listen(listen, threads > 1);
    if (fd < 0) return 1;
    servers.push_back(std::make_unique<herald_floor::FloorServer>(fd));
  }
  for (auto& s : servers) {
    std::vector<herald_floor::FloorServer*> peers;
    for (auto& p : servers) {
      if (p != s) peers.push_back(p.get());
    }
    s->SetPeers(std::move(peers));
  }
  // Threads serve until the process is killed; exit() does not join them.
  for (size_t t = 1; t < servers.size(); ++t) {
    std::thread([s = servers[t].get()] { exit(s->Run()); }).detach();
  }
  return servers[0]->Run();
}
