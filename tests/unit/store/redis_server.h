// RedisServer: a real redis-server (Debian's package) on a free loopback
// port, for tests of the Redis store's client side. Started in the
// constructor, SIGKILLed in the destructor; Kill() and Restart() simulate a
// crash and a restart on the same port.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace herald {

class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    port_ = FreePort();
    // Its own directory: a replica writes the master's RDB there, and a
    // dump.rdb in a shared directory would fill the next "empty" Redis.
    char dir[] = "/tmp/herald-redis-XXXXXX";
    if (mkdtemp(dir)) {
      dir_ = dir;
    } else {
      ADD_FAILURE() << "mkdtemp failed";
    }
    Start();
  }
  ~RedisServer() {
    Kill();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  int port() const { return port_; }

  void Start() {
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<std::string> args = {
          "redis-server", "--port", std::to_string(port_),    "--bind", "127.0.0.1",
          "--save",       "",       "--appendonly",           "no",     "--loglevel",
          "warning",      "--dir",  dir_.empty() ? "." : dir_};
      args.insert(args.end(), extra_.begin(), extra_.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("redis-server", argv.data());
      _exit(127);
    }
    WaitListening();
  }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
  }
  void WaitListening() {
    for (int i = 0; i < 500; ++i) {  // bounded: 5 s
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(port_));
      const bool up = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(fd);
      if (up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "redis-server did not listen on " << port_;
  }
  std::vector<std::string> extra_;
  std::string dir_;  // created by the constructor, removed by the destructor
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace herald
