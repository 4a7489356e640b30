// herald-floor's server: one thread, one epoll loop, the least work a
// pub/sub server can do per delivery on this machine (see bench/README.md,
// "The floor"). It speaks the Nchan dialect herald-bench already uses:
//   GET /sub/<topic>        -> SSE response head once, then frames
//   POST /pub?id=<topic>    -> 202; the body goes out as one SSE frame,
//                              encoded once, one send() per subscriber
// No auth, no JSON parsing, no history, no wildcards, no URL decoding.
// Not thread-safe: Run() owns everything it touches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace herald_floor {

class FloorServer {
 public:
  // Takes ownership of the listening socket `listen_fd` (non-blocking).
  explicit FloorServer(int listen_fd);
  ~FloorServer();
  FloorServer(const FloorServer&) = delete;
  FloorServer& operator=(const FloorServer&) = delete;

  // Serves until a fatal epoll error; returns the process exit code.
  int Run();

 private:
  struct Conn {
    int fd = -1;
    bool subscriber = false;
    bool dead = false;  // closed at the end of this loop turn
    std::string in;     // request bytes not handled yet (publishers only)
    std::string out;    // bytes the socket did not take yet
    std::string topic;  // subscribers: the topic they follow
  };

  void Accept();
  void OnReadable(Conn* c);
  void OnWritable(Conn* c);
  // Handles every complete request in c->in; false when c must close.
  bool HandleRequests(Conn* c);
  void Subscribe(Conn* c, std::string_view topic);
  void Publish(const std::string& topic, std::string_view body);
  // Sends `data` after whatever is queued; false when the peer is gone.
  bool Send(Conn* c, std::string_view data);
  void WatchWrites(Conn* c, bool on);
  // Conns close at the end of a loop turn, so no pointer or fd of this turn's
  // events goes stale (or gets reused by accept) while it is handled.
  void MarkDead(Conn* c);
  void Close(Conn* c);

  int listen_fd_;
  int epoll_fd_;
  uint64_t next_id_ = 1;
  std::vector<std::unique_ptr<Conn>> conns_;                  // indexed by fd
  std::unordered_map<std::string, std::vector<int>> topics_;  // topic -> subscriber fds
  std::vector<Conn*> dead_;                                   // see MarkDead
  std::string frame_;  // the frame being fanned out (reused buffer)
};

}  // namespace herald_floor
