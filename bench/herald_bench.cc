// herald-bench: load generator for herald (es-web stream, SSE, long poll) and
// for other SSE servers (Nchan). The parent process publishes and samples the
// server from /proc; forked workers hold the subscribers. See bench/README.md.
#include <arpa/inet.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_config.h"
#include "bench/proc_stats.h"
#include "bench/publish_rate.h"
#include "bench/publisher.h"
#include "bench/scenario.h"
#include "bench/summarize.h"
#include "bench/worker.h"

namespace herald_bench {
namespace {

constexpr timeval kParentTick = {0, 2000};

void Usage() {
  fprintf(stderr,
          "usage: herald-bench --scenario NAME [options]\n"
          "       herald-bench summarize RESULTS.jsonl [PLOT.dat]\n"
          "  scenarios: %s\n"
          "  --server herald|nchan|floor  kind of server (default herald; floor = bench/floor,\n"
          "                               which speaks Nchan's forms)\n"
          "  --sub HOST:PORT[,HOST:PORT...]  subscriber address (default 127.0.0.1:8080);\n"
          "                               several: servers sharing one store, subscriber i\n"
          "                               connects to the (i mod n)th\n"
          "  --pub HOST:PORT[,HOST:PORT...]  publisher address (herald default 127.0.0.1:8081,\n"
          "                               nchan default = --sub); several: publisher\n"
          "                               connection j goes to the (j mod n)th\n"
          "  --token T                    herald publisher bearer token\n"
          "  --transport stream|sse|poll  herald transport (nchan: always sse)\n"
          "  --sse-path PATH              SSE path, {topic} = filter (herald /sse?topic={topic},\n"
          "                               nchan /sub/{topic})\n"
          "  --pub-path PATH              nchan publish path (default /pub?id={topic})\n"
          "  --server-pid PID[,PID...]    processes to sample (RSS, PSS, utime+stime)\n"
          "  --ramp N                     connections per second (default 5000)\n"
          "  --procs N                    worker processes (default: by subscriber count)\n"
          "  --pub-conns N                publisher connections (default 4)\n"
          "  --src-addrs A,B,...          loopback source addresses (default 127.0.0.1-4)\n"
          "  --subscribers N --events N --rate R   shrink a scenario for quick checks\n"
          "  --drain-timeout S            give up a phase after S seconds without progress\n"
          "  --tls                        subscribers connect with TLS (no certificate check);\n"
          "                               implied by the *-tls scenarios\n"
          "  --label TEXT --json-out FILE --verbose\n",
          ScenarioNames());
}

bool ParseAddr(const std::string& s, sockaddr_in* out, std::string* host) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::string ip = s.substr(0, colon);
  int port = atoi(s.c_str() + colon + 1);
  *out = sockaddr_in{};
  out->sin_family = AF_INET;
  out->sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, ip.c_str(), &out->sin_addr) != 1 || port <= 0) return false;
  *host = s;
  return true;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// "A:P,B:Q,..." -> at least one endpoint.
bool ParseAddrs(const std::string& list, std::vector<Endpoint>* out) {
  out->clear();
  for (const auto& s : Split(list, ',')) {
    Endpoint e;
    if (!ParseAddr(s, &e.addr, &e.host)) return false;
    out->push_back(std::move(e));
  }
  return !out->empty();
}

const char* TransportName(Transport t) {
  switch (t) {
    case Transport::kStream:
      return "stream";
    case Transport::kSse:
      return "sse";
    case Transport::kPoll:
      return "poll";
  }
  return "?";
}

struct WorkerHandle {
  pid_t pid = -1;
  BufferEventPtr ctl;
  bool ready = false;
  bool reported = false;
  bool gone = false;
  Progress progress;
  Report report;
};

struct PhaseResult {
  std::string name;
  uint32_t events = 0;
  double rate = 0;
  uint64_t expected = 0;
  uint64_t received = 0;
  uint64_t cpu_us = 0;
  uint64_t sys_us = 0;  // the kernel's part of cpu_us
  double publish_s = 0;
  double total_s = 0;
  uint64_t publish_failed = 0;
};

class Runner {
 public:
  Runner(BenchConfig cfg, Plan plan) : cfg_(std::move(cfg)), plan_(std::move(plan)) {}
  int Run();

 private:
  bool ForkWorkers();
  void StopWorkers();
  // Runs the loop until `done` holds or `timeout_s` passes; false on timeout.
  bool RunUntil(const std::function<bool()>& done, double timeout_s);
  void RunFor(double s) {
    uint64_t end = MonotonicUs() + uint64_t(s * 1e6);
    RunUntil([&] { return MonotonicUs() >= end; }, s + 1);
  }
  bool RunPhase(size_t idx, PhaseResult* out);
  void Refill();
  uint64_t Received(int phase) const;
  Progress Totals() const;
  void Print(const std::string& status);
  static void OnCtlRead(bufferevent* bev, void* arg);
  static void OnCtlEvent(bufferevent* bev, short what, void* arg);
  static void OnTick(evutil_socket_t, short, void* arg);

  BenchConfig cfg_;
  Plan plan_;
  EventBasePtr base_;
  EventPtr tick_;
  std::unique_ptr<Publisher> pub_;
  std::vector<std::unique_ptr<WorkerHandle>> workers_;
  // Phase being published.
  const Phase* phase_ = nullptr;
  int phase_idx_ = 0;
  uint32_t issued_ = 0;
  uint64_t phase_start_us_ = 0;
  // Results.
  ProcSample before_, after_connect_, end_;
  double connect_s_ = 0;
  double resume_s_ = 0;
  uint64_t resume_cpu_us_ = 0;
  std::vector<PhaseResult> phases_;
  Report merged_;
};

void Runner::OnTick(evutil_socket_t, short, void* arg) { static_cast<Runner*>(arg)->Refill(); }

// Issues the events that are due: on schedule for a fixed rate, or whenever
// the publisher has a free connection for "as fast as accepted".
void Runner::Refill() {
  if (!phase_ || !pub_) return;
  const Phase& ph = *phase_;
  uint64_t due = ph.events;
  if (ph.rate > 0) {
    double elapsed = double(MonotonicUs() - phase_start_us_) / 1e6;
    due = std::min<uint64_t>(ph.events, uint64_t(elapsed * ph.rate) + 1);
  }
  while (issued_ < due) {
    if (ph.rate <= 0 && pub_->outstanding() >= pub_->conns()) break;
    pub_->Publish(ph.topics[issued_ % ph.topics.size()], phase_idx_);
    ++issued_;
  }
}

void Runner::OnCtlRead(bufferevent* bev, void* arg) {
  auto* w = static_cast<WorkerHandle*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  while (evbuffer_get_length(in) >= sizeof(MsgHeader)) {
    MsgHeader h;
    evbuffer_copyout(in, &h, sizeof h);
    if (evbuffer_get_length(in) < sizeof h + h.len) return;
    evbuffer_drain(in, sizeof h);
    if ((h.type == kMsgReady || h.type == kMsgProgress) && h.len == sizeof(Progress)) {
      evbuffer_remove(in, &w->progress, sizeof(Progress));
      if (h.type == kMsgReady) w->ready = true;
    } else if (h.type == kMsgReport && h.len == sizeof(Report)) {
      evbuffer_remove(in, &w->report, sizeof(Report));
      w->progress = w->report.progress;
      w->reported = true;
    } else {
      evbuffer_drain(in, h.len);
    }
  }
}

void Runner::OnCtlEvent(bufferevent*, short what, void* arg) {
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) static_cast<WorkerHandle*>(arg)->gone = true;
}

bool Runner::RunUntil(const std::function<bool()>& done, double timeout_s) {
  uint64_t deadline = MonotonicUs() + uint64_t(timeout_s * 1e6);
  while (!done()) {
    if (MonotonicUs() >= deadline) return false;
    // The persistent tick guarantees this returns at least every 2 ms.
    event_base_loop(base_.get(), EVLOOP_ONCE);
  }
  return true;
}

Progress Runner::Totals() const {
  Progress t;
  for (const auto& w : workers_) {
    const Progress& p = w->progress;
    for (int i = 0; i < kMaxPhases; ++i) t.received[i] += p.received[i];
    t.unknown_events += p.unknown_events;
    t.established += p.established;
    t.failed += p.failed;
    t.closed += p.closed;
    t.resets += p.resets;
    t.bad_status += p.bad_status;
    if (p.last_bad_status) t.last_bad_status = p.last_bad_status;
    t.done_subs += p.done_subs;
    t.retries += p.retries;
    t.src_switches += p.src_switches;
  }
  return t;
}

uint64_t Runner::Received(int phase) const { return Totals().received[phase]; }

bool Runner::ForkWorkers() {
  uint32_t n = plan_.subscribers;
  uint32_t procs = cfg_.procs;
  if (procs == 0) {
    procs = (n + cfg_.per_proc - 1) / cfg_.per_proc;
    // Two cores: two client processes keep the client from being the bottleneck.
    if (n >= 2000) procs = std::max<uint32_t>(procs, 2);
    procs = std::max<uint32_t>(procs, 1);
  }
  // Each worker's share of the handshakes in flight, at most 500 per worker
  // (the workers read it from their copy of cfg_ after the fork).
  cfg_.max_pending = std::clamp<uint32_t>(cfg_.max_pending / procs, 1, 500);
  fflush(stdout);
  fflush(stderr);
  uint32_t first = 0;
  for (uint32_t w = 0; w < procs; ++w) {
    uint32_t count = n / procs + (w < n % procs ? 1 : 0);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return false;
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      close(sv[0]);
      // Earlier workers' pipe ends belong to the parent; holding them here
      // would hide the parent's death from those workers.
      for (auto& other : workers_) close(bufferevent_getfd(other->ctl.get()));
      // The child never returns into the parent's objects: it uses its own
      // event_base and leaves with _exit, so nothing of the parent is freed
      // twice (freeing the parent's epoll base here would unregister the
      // parent's descriptors too).
      _exit(RunWorker(cfg_, plan_, sv[1], first, count));
    }
    close(sv[1]);
    auto h = std::make_unique<WorkerHandle>();
    h->pid = pid;
    evutil_make_socket_nonblocking(sv[0]);
    h->ctl.reset(bufferevent_socket_new(base_.get(), sv[0], BEV_OPT_CLOSE_ON_FREE));
    bufferevent_setcb(h->ctl.get(), OnCtlRead, nullptr, OnCtlEvent, h.get());
    bufferevent_enable(h->ctl.get(), EV_READ | EV_WRITE);
    workers_.push_back(std::move(h));
    first += count;
  }
  return true;
}

void Runner::StopWorkers() {
  for (auto& w : workers_) {
    MsgHeader h{kMsgStop, 0};
    bufferevent_write(w->ctl.get(), &h, sizeof h);
  }
  RunUntil(
      [&] {
        for (auto& w : workers_) {
          if (!w->reported && !w->gone) return false;
        }
        return true;
      },
      30);
  for (auto& w : workers_) {
    int status = 0;
    bool reaped = false;
    for (int i = 0; i < 500 && !reaped; ++i) {  // up to 5 s
      reaped = waitpid(w->pid, &status, WNOHANG) == w->pid;
      if (!reaped) usleep(10000);
    }
    if (!reaped) {
      kill(w->pid, SIGKILL);
      waitpid(w->pid, &status, 0);
    }
    w->ctl.reset();
    if (w->reported) {
      Report& r = w->report;
      for (int i = 0; i < kMaxPhases; ++i) merged_.latency[i].Merge(r.latency[i]);
      merged_.connect.Merge(r.connect);
      merged_.done.Merge(r.done);
      merged_.bad_frames += r.bad_frames;
    }
  }
  merged_.progress = Totals();
}

bool Runner::RunPhase(size_t idx, PhaseResult* out) {
  const Phase& ph = plan_.phases[idx];
  int pidx = int(std::min<size_t>(idx, kMaxPhases - 1));
  out->name = ph.name;
  out->events = ph.events;
  out->rate = ph.rate;
  out->expected = ph.expected;
  uint64_t failed0 = pub_->failed;
  uint64_t received0 = Received(pidx);
  ProcSample s0 = SampleProcs(cfg_.server_pids);
  uint64_t t0 = MonotonicUs();
  phase_ = &ph;
  phase_idx_ = pidx;
  issued_ = 0;
  phase_start_us_ = t0;
  double publish_budget = (ph.rate > 0 ? ph.events / ph.rate : 0) + 60;
  RunUntil([&] { return issued_ >= ph.events && pub_->outstanding() == 0; }, publish_budget);
  phase_ = nullptr;
  out->publish_s = double(MonotonicUs() - t0) / 1e6;
  // Drain: wait for every expected delivery, or until nothing has arrived
  // for drain_timeout_s (lost events would otherwise stall the run).
  uint64_t last = Received(pidx), last_change = MonotonicUs();
  RunUntil(
      [&] {
        uint64_t r = Received(pidx);
        if (r - received0 >= ph.expected) return true;
        if (r != last) {
          last = r;
          last_change = MonotonicUs();
        }
        return double(MonotonicUs() - last_change) / 1e6 > cfg_.drain_timeout_s;
      },
      90);
  ProcSample s1 = SampleProcs(cfg_.server_pids);
  out->total_s = double(MonotonicUs() - t0) / 1e6;
  out->received = Received(pidx) - received0;
  out->cpu_us = s1.cpu_us - s0.cpu_us;
  out->sys_us = s1.sys_us - s0.sys_us;
  out->publish_failed = pub_->failed - failed0;
  return true;
}

double Div(double a, double b) { return b > 0 ? a / b : 0; }

void AddNum(cJSON* o, const char* k, double v) { cJSON_AddNumberToObject(o, k, v); }

void AddLatency(cJSON* o, const Histogram& h) {
  cJSON* l = cJSON_AddObjectToObject(o, "latency_us");
  AddNum(l, "count", double(h.total));
  AddNum(l, "p50", double(h.Percentile(50)));
  AddNum(l, "p90", double(h.Percentile(90)));
  AddNum(l, "p99", double(h.Percentile(99)));
  AddNum(l, "max", double(h.max));
}

void Runner::Print(const std::string& status) {
  const Progress& t = merged_.progress;
  Histogram all;
  for (int i = 0; i < kMaxPhases; ++i) all.Merge(merged_.latency[i]);
  uint64_t expected = 0, received = 0, cpu = 0, events = 0;
  for (const auto& p : phases_) {
    expected += p.expected;
    received += p.received;
    cpu += p.cpu_us;
    events += p.events;
  }
  if (plan_.resume) {
    expected = uint64_t(plan_.subscribers) * plan_.replay_events;
    received = t.received[0];
    cpu = resume_cpu_us_;
  }
  double conns = t.established ? t.established : 1;
  double rss_per = Div(double(after_connect_.rss_kb - before_.rss_kb) * 1024, conns);
  double pss_per = Div(double(after_connect_.pss_kb - before_.pss_kb) * 1024, conns);
  bool have_pids = !cfg_.server_pids.empty();

  CJsonPtr j(cJSON_CreateObject());
  cJSON* o = j.get();
  char date[32];
  time_t now = time(nullptr);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  cJSON_AddStringToObject(o, "date", date);
  cJSON_AddStringToObject(o, "scenario", plan_.scenario.c_str());
  cJSON_AddStringToObject(o, "server", ServerName(cfg_.server));
  cJSON_AddStringToObject(o, "transport", TransportName(cfg_.transport));
  cJSON_AddStringToObject(o, "label", cfg_.label.c_str());
  cJSON_AddBoolToObject(o, "tls", cfg_.tls);
  cJSON_AddStringToObject(o, "status", status.c_str());
  AddNum(o, "subscribers", plan_.subscribers);
  AddNum(o, "connected", t.established);
  AddNum(o, "connect_failed", t.failed);
  AddNum(o, "closed_by_server", t.closed);
  AddNum(o, "bad_status", t.bad_status);
  AddNum(o, "last_bad_status", t.last_bad_status);
  AddNum(o, "retries", t.retries);
  AddNum(o, "resets", t.resets);
  AddNum(o, "bad_frames", double(merged_.bad_frames));
  AddNum(o, "unknown_events", double(t.unknown_events));
  AddNum(o, "events", double(plan_.resume ? plan_.replay_events : events));
  AddNum(o, "publish_failed", double(pub_ ? pub_->failed : 0));
  AddNum(o, "publisher_reconnects", double(pub_ ? pub_->reconnects : 0));
  AddNum(o, "deliveries_expected", double(expected));
  AddNum(o, "deliveries_received", double(received));
  AddNum(o, "connect_ms", std::round(connect_s_ * 1000));
  AddNum(o, "connect_p50_us", double(merged_.connect.Percentile(50)));
  AddNum(o, "connect_p99_us", double(merged_.connect.Percentile(99)));
  if (have_pids) {
    AddNum(o, "rss_before_kb", double(before_.rss_kb));
    AddNum(o, "rss_connected_kb", double(after_connect_.rss_kb));
    AddNum(o, "rss_end_kb", double(end_.rss_kb));
    AddNum(o, "pss_before_kb", double(before_.pss_kb));
    AddNum(o, "pss_connected_kb", double(after_connect_.pss_kb));
    AddNum(o, "rss_per_conn_bytes", std::round(rss_per));
    AddNum(o, "pss_per_conn_bytes", std::round(pss_per));
    AddNum(o, "cpu_us", double(cpu));
    AddNum(o, "cpu_us_per_delivery", Div(double(cpu), double(received)));
    AddNum(o, "cpu_us_per_event", Div(double(cpu), double(plan_.resume ? 0 : events)));
  }
  if (plan_.resume) {
    AddNum(o, "resume_s", resume_s_);
    AddNum(o, "resume_done_subs", t.done_subs);
    AddNum(o, "resume_done_p50_us", double(merged_.done.Percentile(50)));
    AddNum(o, "resume_done_p99_us", double(merged_.done.Percentile(99)));
  } else {
    AddLatency(o, all);
  }
  cJSON* arr = cJSON_AddArrayToObject(o, "phases");
  for (size_t i = 0; i < phases_.size(); ++i) {
    const PhaseResult& p = phases_[i];
    cJSON* po = cJSON_CreateObject();
    cJSON_AddStringToObject(po, "name", p.name.c_str());
    AddNum(po, "events", p.events);
    AddNum(po, "rate", p.rate);
    AddNum(po, "deliveries_expected", double(p.expected));
    AddNum(po, "deliveries_received", double(p.received));
    AddNum(po, "publish_s", p.publish_s);
    AddNum(po, "total_s", p.total_s);
    AddNum(po, "publish_failed", double(p.publish_failed));
    if (have_pids) {
      AddNum(po, "cpu_us", double(p.cpu_us));
      AddNum(po, "cpu_us_per_delivery", Div(double(p.cpu_us), double(p.received)));
      AddNum(po, "cpu_sys_us", double(p.sys_us));
      AddNum(po, "cpu_sys_us_per_delivery", Div(double(p.sys_us), double(p.received)));
      AddNum(po, "cpu_us_per_event", Div(double(p.cpu_us), double(p.events)));
    }
    AddLatency(po, merged_.latency[std::min<size_t>(i, kMaxPhases - 1)]);
    cJSON_AddItemToArray(arr, po);
  }

  // Human table.
  printf("\n== %s  server=%s transport=%s  status=%s\n", plan_.scenario.c_str(),
         ServerName(cfg_.server), TransportName(cfg_.transport), status.c_str());
  printf(
      "  subscribers %u  connected %u  failed %u  closed-by-server %u  connect %.2f s"
      " (p50 %.1f ms, p99 %.1f ms)\n",
      plan_.subscribers, t.established, t.failed, t.closed, connect_s_,
      merged_.connect.Percentile(50) / 1e3, merged_.connect.Percentile(99) / 1e3);
  if (have_pids) {
    printf("  server RSS %lld -> %lld kB (%.0f B/conn)  PSS %lld -> %lld kB (%.0f B/conn)\n",
           (long long)before_.rss_kb, (long long)after_connect_.rss_kb, rss_per,
           (long long)before_.pss_kb, (long long)after_connect_.pss_kb, pss_per);
  }
  printf(
      "  deliveries %llu / %llu expected (%.2f %%)  resets %u  bad frames %llu  publisher "
      "reconnects %llu\n",
      (unsigned long long)received, (unsigned long long)expected,
      Div(100.0 * double(received), double(expected)), t.resets,
      (unsigned long long)merged_.bad_frames, (unsigned long long)(pub_ ? pub_->reconnects : 0));
  if (!phases_.empty()) {
    printf("  %-9s %7s %6s %10s %10s %9s %9s %9s %9s %9s\n", "phase", "events", "rate", "received",
           "cpu us", "us/deliv", "us/event", "p50 ms", "p99 ms", "max ms");
    for (size_t i = 0; i < phases_.size(); ++i) {
      const PhaseResult& p = phases_[i];
      const Histogram& h = merged_.latency[std::min<size_t>(i, kMaxPhases - 1)];
      printf("  %-9s %7u %6.0f %10llu %10llu %9.2f %9.1f %9.2f %9.2f %9.2f\n", p.name.c_str(),
             p.events, p.rate, (unsigned long long)p.received, (unsigned long long)p.cpu_us,
             Div(double(p.cpu_us), double(p.received)), Div(double(p.cpu_us), double(p.events)),
             h.Percentile(50) / 1e3, h.Percentile(99) / 1e3, h.max / 1e3);
    }
  }
  if (plan_.resume) {
    printf(
        "  resume: %u/%u subscribers got all %u events in %.2f s (p50 %.1f ms, p99 %.1f ms),"
        " server cpu %.2f us/delivery\n",
        t.done_subs, plan_.subscribers, plan_.replay_events, resume_s_,
        merged_.done.Percentile(50) / 1e3, merged_.done.Percentile(99) / 1e3,
        Div(double(cpu), double(received)));
  }
  char* line = cJSON_PrintUnformatted(o);
  printf("%s\n", line);
  fflush(stdout);
  if (!cfg_.json_out.empty()) {
    FILE* f = fopen(cfg_.json_out.c_str(), "a");
    if (f) {
      fprintf(f, "%s\n", line);
      fclose(f);
    }
  }
  cJSON_free(line);
}

int Runner::Run() {
  if (plan_.herald_only && cfg_.server != ServerKind::kHerald) {
    Print("unsupported: scenario needs herald (wildcards or its global resume cursor)");
    return 0;
  }
  if (plan_.resume && cfg_.transport == Transport::kStream) {
    Print("unsupported: the es-web stream has no resume; use --transport sse or poll");
    return 0;
  }
  base_.reset(event_base_new());
  tick_.reset(event_new(base_.get(), -1, EV_PERSIST, OnTick, this));
  event_add(tick_.get(), &kParentTick);
  pub_ = std::make_unique<Publisher>(base_.get(), cfg_);
  pub_->on_response = [this] { Refill(); };
  if (!plan_.phases.empty() || plan_.resume) {
    // One connection for the resume pre-publish keeps the ids in order.
    if (!pub_->Open(plan_.resume ? 1 : cfg_.pub_conns)) {
      Print("error: cannot open publisher connections");
      return 1;
    }
  }
  if (plan_.resume) {
    // History first: replay_events + 1 events; the cursor is the id of the
    // first, so a resuming subscriber is owed exactly replay_events.
    pub_->record_ids = true;
    for (uint32_t i = 0; i <= plan_.replay_events; ++i) pub_->Publish(plan_.filters[0], 0);
    RunUntil([&] { return pub_->outstanding() == 0; }, 60);
    if (pub_->failed || pub_->ids.empty() || pub_->ids[0].empty()) {
      char why[160];
      snprintf(why, sizeof why, "unsupported: publish for history failed (%llu failed, status %d)",
               (unsigned long long)pub_->failed, pub_->last_fail_status);
      Print(why);
      return 0;
    }
    cfg_.resume_cursor = pub_->ids[0];
  }
  before_ = SampleProcs(cfg_.server_pids);
  uint64_t t0 = MonotonicUs();
  if (!ForkWorkers()) {
    Print("error: fork failed");
    return 1;
  }
  double connect_budget = plan_.subscribers / cfg_.ramp + 60;
  RunUntil(
      [&] {
        for (auto& w : workers_) {
          if (!w->ready && !w->gone) return false;
        }
        return true;
      },
      connect_budget);
  connect_s_ = double(MonotonicUs() - t0) / 1e6;
  std::string status = "ok";
  if (plan_.resume) {
    uint64_t want = uint64_t(plan_.subscribers) * plan_.replay_events;
    uint64_t last = 0, last_change = MonotonicUs();
    RunUntil(
        [&] {
          uint64_t r = Received(0);
          if (r >= want) return true;
          Progress t = Totals();
          if (t.established == 0 && t.failed >= plan_.subscribers) return true;
          if (r != last) {
            last = r;
            last_change = MonotonicUs();
          }
          return double(MonotonicUs() - last_change) / 1e6 > cfg_.drain_timeout_s;
        },
        90);
    resume_s_ = double(MonotonicUs() - t0) / 1e6;
    after_connect_ = SampleProcs(cfg_.server_pids);
    resume_cpu_us_ = after_connect_.cpu_us - before_.cpu_us;
  } else {
    RunFor(cfg_.settle_s + plan_.idle_hold_s);
    after_connect_ = SampleProcs(cfg_.server_pids);
    for (size_t i = 0; i < plan_.phases.size(); ++i) {
      PhaseResult r;
      RunPhase(i, &r);
      phases_.push_back(r);
    }
  }
  end_ = SampleProcs(cfg_.server_pids);
  StopWorkers();
  const Progress& t = merged_.progress;
  if (plan_.resume) {
    if (t.bad_status && t.established == 0) {
      status = "unsupported: server answered " + std::to_string(t.last_bad_status);
    } else if (t.resets) {
      status = "reset: history did not reach the cursor";
    } else if (t.received[0] == 0) {
      status = "unsupported: nothing was replayed";
    }
  }
  if (status == "ok" && t.established < plan_.subscribers) status = "incomplete: connect failures";
  Print(status);
  return 0;
}

}  // namespace
}  // namespace herald_bench

int main(int argc, char** argv) {
  using namespace herald_bench;
  if (argc >= 3 && std::string(argv[1]) == "summarize") {
    return Summarize(argv[2], argc >= 4 ? argv[3] : "");
  }
  if (argc >= 2 && std::string(argv[1]) == "publish-rate") {
    return RunPublishRate(argc - 1, argv + 1);
  }
  BenchConfig cfg;
  Overrides ov;
  std::string sub = "127.0.0.1:8080", pub, transport, pids,
              srcs = "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4";
  std::string server = "herald";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s needs a value\n", a.c_str());
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--scenario")
      cfg.scenario = next();
    else if (a == "--server")
      server = next();
    else if (a == "--sub")
      sub = next();
    else if (a == "--pub")
      pub = next();
    else if (a == "--token")
      cfg.token = next();
    else if (a == "--transport")
      transport = next();
    else if (a == "--sse-path")
      cfg.sse_path = next();
    else if (a == "--pub-path")
      cfg.pub_path = next();
    else if (a == "--server-pid")
      pids = next();
    else if (a == "--ramp")
      cfg.ramp = atof(next().c_str());
    else if (a == "--procs")
      cfg.procs = uint32_t(atoi(next().c_str()));
    else if (a == "--pub-conns")
      cfg.pub_conns = uint32_t(atoi(next().c_str()));
    else if (a == "--src-addrs")
      srcs = next();
    else if (a == "--subscribers")
      ov.subscribers = uint32_t(atoi(next().c_str()));
    else if (a == "--events")
      ov.events = uint32_t(atoi(next().c_str()));
    else if (a == "--rate")
      ov.rate = atof(next().c_str());
    else if (a == "--drain-timeout")
      cfg.drain_timeout_s = atof(next().c_str());
    else if (a == "--label")
      cfg.label = next();
    else if (a == "--json-out")
      cfg.json_out = next();
    else if (a == "--verbose")
      cfg.verbose = true;
    else if (a == "--tls")
      cfg.tls = true;
    else {
      Usage();
      return 2;
    }
  }
  if (cfg.scenario.empty()) {
    Usage();
    return 2;
  }
  if (server == "nchan") {
    cfg.server = ServerKind::kNchan;
  } else if (server == "floor") {
    cfg.server = ServerKind::kFloor;
  } else if (server != "herald") {
    fprintf(stderr, "--server must be herald, nchan or floor\n");
    return 2;
  }
  // The floor is driven exactly like Nchan (same paths, SSE only).
  bool nchan = cfg.server != ServerKind::kHerald;
  if (pub.empty()) pub = nchan ? sub : "127.0.0.1:8081";
  if (!ParseAddrs(sub, &cfg.subs) || !ParseAddrs(pub, &cfg.pubs)) {
    fprintf(stderr, "bad --sub/--pub address (want IPv4:PORT[,IPv4:PORT...])\n");
    return 2;
  }
  cfg.sub_addr = cfg.subs[0].addr;
  cfg.sub_host = cfg.subs[0].host;
  cfg.pub_addr = cfg.pubs[0].addr;
  cfg.pub_host = cfg.pubs[0].host;
  Plan plan;
  std::string err;
  if (!BuildPlan(cfg.scenario, ov, &plan, &err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return 2;
  }
  if (IsTlsScenario(cfg.scenario)) cfg.tls = true;
  if (transport.empty()) {
    transport = nchan || plan.resume ? "sse" : "stream";
  } else {
    cfg.transport_set = true;
  }
  if (transport == "stream")
    cfg.transport = Transport::kStream;
  else if (transport == "sse")
    cfg.transport = Transport::kSse;
  else if (transport == "poll")
    cfg.transport = Transport::kPoll;
  else {
    fprintf(stderr, "--transport must be stream, sse or poll\n");
    return 2;
  }
  if (nchan && cfg.transport != Transport::kSse) {
    fprintf(stderr, "nchan and floor are measured over SSE only\n");
    return 2;
  }
  if (cfg.sse_path.empty()) cfg.sse_path = nchan ? "/sub/{topic}" : "/sse?topic={topic}";
  if (cfg.pub_path.empty()) cfg.pub_path = "/pub?id={topic}";
  for (const auto& p : Split(pids, ',')) cfg.server_pids.push_back(pid_t(atoi(p.c_str())));
  for (const auto& s : Split(srcs, ',')) {
    in_addr a;
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
      fprintf(stderr, "bad source address %s\n", s.c_str());
      return 2;
    }
    cfg.src_addrs.push_back(a);
  }
  if (cfg.ramp < 1) cfg.ramp = 1;
  // Every subscriber is a socket: use the whole per-process file allowance.
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  Runner runner(std::move(cfg), std::move(plan));
  return runner.Run();
}
