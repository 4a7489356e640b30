#include "bench/publish_rate.h"

#include <event2/util.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/http_response.h"
#include "bench/proc_stats.h"

namespace herald_bench {
namespace {

struct Options {
  sockaddr_in pub{};
  sockaddr_in sub{};
  bool with_sub = true;  // --sub none: the publish path alone
  std::string token;
  unsigned conns = 8;
  unsigned batch = 1;
  unsigned topics = 8;
  uint64_t events = 100000;
  double duration_s = 30;
  double drain_s = 5;  // give up waiting for deliveries after this long without one
  std::vector<pid_t> server_pids;
  std::vector<pid_t> redis_pids;
  std::string label;
};

bool ParseAddress(const char* s, sockaddr_in* out) {
  int len = sizeof *out;
  return evutil_parse_sockaddr_port(s, reinterpret_cast<sockaddr*>(out), &len) == 0 &&
         out->sin_family == AF_INET;
}

std::vector<pid_t> ParsePids(const char* s) {
  std::vector<pid_t> pids;
  for (const char* p = s; *p;) {
    pids.push_back(pid_t(atoi(p)));
    const char* comma = strchr(p, ',');
    if (!comma) break;
    p = comma + 1;
  }
  return pids;
}

// The publishing node's Redis round trips so far (/state store.round_trips),
// over a blocking connection: sampled once before and once after the run.
int64_t StoreRoundTrips(const Options& o) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&o.pub), sizeof o.pub) != 0) {
    close(fd);
    return -1;
  }
  const std::string req = "GET /state HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer " + o.token +
                          "\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) != ssize_t(req.size())) {
    close(fd);
    return -1;
  }
  std::string resp;
  char buf[16384];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) resp.append(buf, size_t(n));
  close(fd);
  const size_t at = resp.find("\"round_trips\":");
  return at == std::string::npos ? -1 : atoll(resp.c_str() + at + 14);
}

class Run {
 public:
  explicit Run(Options o) : o_(std::move(o)), base_(event_base_new()) {}

  int Go() {
    if (o_.with_sub) {
      if (!OpenSubscriber()) return Fail("cannot connect the subscriber");
      // Publishing starts once the subscriber's stream is open.
      Loop([&] { return sub_ready_ || sub_failed_; }, 10);
      if (!sub_ready_) return Fail("the subscriber got no connected event");
    }
    const int64_t rt0 = StoreRoundTrips(o_);
    const ProcSample s0 = SampleProcs(o_.server_pids), r0 = SampleProcs(o_.redis_pids);
    t0_ = MonotonicUs();
    for (unsigned i = 0; i < o_.conns; ++i) OpenPublisher();
    const uint64_t deadline = t0_ + uint64_t(o_.duration_s * 1e6);
    Loop([&] { return (issued_ >= o_.events || MonotonicUs() > deadline) && in_flight_ == 0; },
         o_.duration_s + 30);
    uint64_t last = delivered_, last_change = MonotonicUs();
    Loop(
        [&] {
          if (!o_.with_sub || delivered_ >= acked_) return true;
          if (delivered_ != last) last = delivered_, last_change = MonotonicUs();
          return double(MonotonicUs() - last_change) / 1e6 > o_.drain_s;
        },
        o_.drain_s + 60);
    const ProcSample s1 = SampleProcs(o_.server_pids), r1 = SampleProcs(o_.redis_pids);
    const int64_t rt1 = StoreRoundTrips(o_);
    Report(s1.cpu_us - s0.cpu_us, r1.cpu_us - r0.cpu_us, rt0 >= 0 && rt1 >= 0 ? rt1 - rt0 : -1);
    return failed_ == 0 && (!o_.with_sub || delivered_ == acked_) ? 0 : 1;
  }

 private:
  struct Conn {
    Run* run = nullptr;
    BufferEventPtr bev;
    EvbufferPtr body{evbuffer_new()};
    HttpResponseParser http;
    unsigned events = 0;  // in the request in flight
  };

  int Fail(const char* why) {
    fprintf(stderr, "publish-rate: %s\n", why);
    return 2;
  }

  template <class Done>
  void Loop(Done done, double budget_s) {
    const uint64_t end = MonotonicUs() + uint64_t(budget_s * 1e6);
    while (!done() && MonotonicUs() < end) event_base_loop(base_.get(), EVLOOP_ONCE);
  }

  bool Connect(Conn* c, const sockaddr_in& to, bufferevent_data_cb on_read) {
    c->run = this;
    c->bev.reset(bufferevent_socket_new(base_.get(), -1, BEV_OPT_CLOSE_ON_FREE));
    bufferevent_setcb(c->bev.get(), on_read, nullptr, OnEvent, c);
    bufferevent_enable(c->bev.get(), EV_READ | EV_WRITE);
    sockaddr_in dst = to;
    return bufferevent_socket_connect(c->bev.get(), reinterpret_cast<sockaddr*>(&dst),
                                      sizeof dst) == 0;
  }

  bool OpenSubscriber() {
    sub_.events = 0;
    if (!Connect(&sub_, o_.sub, OnSubRead)) return false;
    evbuffer_add_printf(bufferevent_get_output(sub_.bev.get()),
                        "GET /sse?topic=pr%%2F%%23 HTTP/1.1\r\nHost: bench\r\n\r\n");
    return true;
  }

  void OpenPublisher() {
    pubs_.push_back(std::make_unique<Conn>());
    Conn* c = pubs_.back().get();
    if (Connect(c, o_.pub, OnPubRead)) SendNext(c);
  }

  // One request: the single form, or a batch of up to o_.batch items.
  void SendNext(Conn* c) {
    const uint64_t deadline = t0_ + uint64_t(o_.duration_s * 1e6);
    if (issued_ >= o_.events || MonotonicUs() > deadline) return;
    const unsigned n = unsigned(std::min<uint64_t>(o_.batch, o_.events - issued_));
    std::string body;
    body.reserve(n * 80 + 2);
    if (o_.batch > 1) body += '[';
    char item[160];
    for (unsigned i = 0; i < n; ++i) {
      snprintf(item, sizeof item,
               "%s{\"ep\":[\"pr/%llu\"],\"e\":{\"type\":\"bench\",\"detail\":{\"n\":%llu}}}",
               i ? "," : "", static_cast<unsigned long long>(issued_ % o_.topics),
               static_cast<unsigned long long>(issued_));
      body += item;
      ++issued_;
    }
    if (o_.batch > 1) body += ']';
    evbuffer* out = bufferevent_get_output(c->bev.get());
    evbuffer_add_printf(out,
                        "POST /event HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n"
                        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                        o_.token.c_str(), body.size());
    evbuffer_add(out, body.data(), body.size());
    c->events = n;
    ++requests_;
    ++in_flight_;
  }

  static void OnPubRead(bufferevent*, void* arg) {
    Conn* c = static_cast<Conn*>(arg);
    Run* run = c->run;
    for (;;) {
      HttpResponseParser::Result r =
          c->http.Feed(bufferevent_get_input(c->bev.get()), c->body.get());
      if (r.error) return OnEvent(c->bev.get(), BEV_EVENT_ERROR, c);
      if (!r.complete) return;
      evbuffer_drain(c->body.get(), evbuffer_get_length(c->body.get()));
      --run->in_flight_;
      if (c->http.status() == 200) {
        run->acked_ += c->events;
        run->t_ack_ = MonotonicUs();
      } else {
        run->failed_ += c->events;
        run->last_status_ = c->http.status();
      }
      c->http.Reset();
      run->SendNext(c);
    }
  }

  // SSE: every application event carries an `id:` line; control events do not.
  static void OnSubRead(bufferevent*, void* arg) {
    Conn* c = static_cast<Conn*>(arg);
    Run* run = c->run;
    HttpResponseParser::Result r = c->http.Feed(bufferevent_get_input(c->bev.get()), c->body.get());
    if (r.error || r.complete) run->sub_failed_ = true;
    char line[256];
    while (ReadLine(c->body.get(), line, sizeof line) >= 0) {
      if (strncmp(line, "id:", 3) == 0) {
        ++run->delivered_;
        run->t_del_ = MonotonicUs();
      } else if (strcmp(line, "event: connected") == 0) {
        run->sub_ready_ = true;
      }
    }
  }

  static void OnEvent(bufferevent*, short what, void* arg) {
    Conn* c = static_cast<Conn*>(arg);
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) return;
    Run* run = c->run;
    if (c == &run->sub_) {
      run->sub_failed_ = true;
    } else if (c->events) {
      // Not retried: it may have been published; the count would lie.
      run->failed_ += c->events;
      --run->in_flight_;
      c->events = 0;
      run->last_status_ = -1;
    }
    c->bev.reset();
  }

  void Report(uint64_t server_cpu_us, uint64_t redis_cpu_us, int64_t round_trips) {
    const double ack_s = double((t_ack_ > t0_ ? t_ack_ : MonotonicUs()) - t0_) / 1e6;
    const double del_s = double((t_del_ > t0_ ? t_del_ : MonotonicUs()) - t0_) / 1e6;
    const double acked = double(acked_), delivered = double(delivered_);
    auto per_event = [&](double v) { return acked > 0 ? v / acked : 0; };
    printf(
        "publish-rate %s: batch %u x %u conns, %llu acked (%.0f/s), %llu delivered (%.0f/s end "
        "to end), %llu failed (last status %d); server CPU %.2f us/event, Redis CPU %.2f "
        "us/event, %.3f Redis round trips per request, %.4f per event\n",
        o_.label.c_str(), o_.batch, o_.conns, static_cast<unsigned long long>(acked_),
        acked / ack_s, static_cast<unsigned long long>(delivered_), delivered / del_s,
        static_cast<unsigned long long>(failed_), last_status_, per_event(double(server_cpu_us)),
        per_event(double(redis_cpu_us)),
        round_trips >= 0 && requests_ ? double(round_trips) / double(requests_) : -1.0,
        round_trips >= 0 ? per_event(double(round_trips)) : -1.0);
    printf(
        "{\"scenario\":\"publish-rate\",\"label\":\"%s\",\"batch\":%u,\"conns\":%u,"
        "\"acked\":%llu,\"acked_per_s\":%.0f,\"delivered\":%llu,\"delivered_per_s\":%.0f,"
        "\"failed\":%llu,\"server_cpu_us_per_event\":%.3f,\"redis_cpu_us_per_event\":%.3f,"
        "\"round_trips\":%lld,\"requests\":%llu}\n",
        o_.label.c_str(), o_.batch, o_.conns, static_cast<unsigned long long>(acked_),
        acked / ack_s, static_cast<unsigned long long>(delivered_), delivered / del_s,
        static_cast<unsigned long long>(failed_), per_event(double(server_cpu_us)),
        per_event(double(redis_cpu_us)), static_cast<long long>(round_trips),
        static_cast<unsigned long long>(requests_));
    fflush(stdout);
  }

  const Options o_;
  EventBasePtr base_;
  Conn sub_;
  std::vector<std::unique_ptr<Conn>> pubs_;
  bool sub_ready_ = false, sub_failed_ = false;
  uint64_t t0_ = 0, t_ack_ = 0, t_del_ = 0;
  uint64_t issued_ = 0, acked_ = 0, failed_ = 0, delivered_ = 0, requests_ = 0;
  uint64_t in_flight_ = 0;
  int last_status_ = 0;
};

void Usage() {
  fprintf(stderr,
          "usage: herald-bench publish-rate [--pub HOST:PORT] [--sub HOST:PORT|none] --token T\n"
          "  [--pub-conns N] [--batch K] [--events N] [--duration S] [--topics N]\n"
          "  [--server-pid P,P] [--redis-pid P] [--label TEXT]\n");
}

}  // namespace

int RunPublishRate(int argc, char** argv) {
  Options o;
  ParseAddress("127.0.0.1:8081", &o.pub);
  ParseAddress("127.0.0.1:8080", &o.sub);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Usage(), 2;
    const char* v = argv[++i];
    if (a == "--pub") {
      if (!ParseAddress(v, &o.pub)) return Usage(), 2;
    } else if (a == "--sub") {
      o.with_sub = strcmp(v, "none") != 0;
      if (o.with_sub && !ParseAddress(v, &o.sub)) return Usage(), 2;
    } else if (a == "--token") {
      o.token = v;
    } else if (a == "--pub-conns") {
      o.conns = unsigned(std::max(1, atoi(v)));
    } else if (a == "--batch") {
      o.batch = unsigned(std::max(1, atoi(v)));
    } else if (a == "--events") {
      o.events = strtoull(v, nullptr, 10);
    } else if (a == "--duration") {
      o.duration_s = atof(v);
    } else if (a == "--topics") {
      o.topics = unsigned(std::max(1, atoi(v)));
    } else if (a == "--server-pid") {
      o.server_pids = ParsePids(v);
    } else if (a == "--redis-pid") {
      o.redis_pids = ParsePids(v);
    } else if (a == "--label") {
      o.label = v;
    } else {
      return Usage(), 2;
    }
  }
  return Run(std::move(o)).Go();
}

}  // namespace herald_bench
