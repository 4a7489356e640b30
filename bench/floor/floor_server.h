// herald-floor's server: one thread, one epoll loop, the least work a
// pub/sub server can do per delivery on this machine (see bench/README.md,
// "The floor"). It speaks the Nchan dialect herald-bench already uses:
//   GET /sub/<topic>        -> SSE response head once, then frames
//   POST /pub?id=<topic>    -> 202; the body goes out as one SSE frame,
//                              encoded once, one send() per subscriber
// No auth, no JSON parsing, no history, no wildcards, no URL decoding.
// With --threads N there are N servers, one per thread, each with its own
// SO_REUSEPORT listener and subscribers; a publish is fanned out by the
// server that received it to its own subscribers and handed, as the same
// frame bytes, to the others (Post, the only method called across threads).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
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

  // Servers that get a copy of every frame published here (set before Run).
  void SetPeers(std::vector<FloorServer*> peers) { peers_ = std::move(peers); }
  // Any thread: queues `frame` for this server's subscribers of `topic`.
  void Post(const std::string& topic, const std::string& frame);

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
  void FanOut(const std::string& topic, std::string_view frame);
  void DrainInbox();
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
  std::vector<FloorServer*> peers_;
  int wake_fd_;  // eventfd: Post() rang
  std::mutex inbox_mu_;
  std::vector<std::pair<std::string, std::string>> inbox_;  // (topic, frame), under inbox_mu_
};

}  // namespace herald_floor
