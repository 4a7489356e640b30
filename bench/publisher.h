// Publisher: a few keep-alive HTTP/1.1 connections, one request in flight on
// each (no pipelining: libmicrohttpd and nginx both answer in order, but a
// lost connection would then lose several events at once).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_config.h"
#include "bench/http_response.h"

namespace herald_bench {

class Publisher {
 public:
  Publisher(event_base* base, const BenchConfig& cfg) : base_(base), cfg_(cfg) {}
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  bool Open(uint32_t conns);
  // Queues one event; it is stamped with the send time when it is written.
  void Publish(const std::string& topic, int phase);
  size_t outstanding() const { return queue_.size() + in_flight_; }
  uint32_t conns() const { return uint32_t(conns_.size()); }

  // Called after each response, so "as fast as accepted" refills at once.
  std::function<void()> on_response;
  bool record_ids = false;
  std::vector<std::string> ids;  // response ids in completion order
  uint64_t sent = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  // Connections opened again after the first: the server closed a keep-alive
  // connection (nginx's keepalive_requests) or it failed.
  uint64_t reconnects = 0;
  int last_fail_status = 0;
  std::string last_fail_body;

 private:
  struct Conn {
    Publisher* pub = nullptr;
    BufferEventPtr bev;
    EvbufferPtr body;
    HttpResponseParser http;
    const Endpoint* dst = nullptr;  // publisher connection j goes to pubs[j % n]
    bool busy = false;
    bool connected = false;
  };
  struct Pending {
    std::string topic;
    int phase;
  };
  bool Connect(Conn* c);
  void Pump();
  void Send(Conn* c, const Pending& p);
  static void OnRead(bufferevent* bev, void* arg);
  static void OnEvent(bufferevent* bev, short what, void* arg);

  event_base* base_;
  const BenchConfig& cfg_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::deque<Pending> queue_;
  size_t in_flight_ = 0;
  uint32_t reconnects_ = 0;  // bounded: a dead server must not spin us
};

}  // namespace herald_bench
