#include "bench/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/http_response.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace herald_bench {

std::string UrlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

// A worker never runs longer than this, whatever the parent does.
constexpr uint64_t kWorkerHardLimitUs = 400ull * 1000000;
constexpr int kMaxAttempts = 3;
constexpr uint32_t kMaxPollRestarts = 100;
constexpr timeval kTick = {0, 5000};
constexpr int kProgressEveryTicks = 10;

struct WorkerCtx;

class Subscriber {
 public:
  Subscriber(WorkerCtx* ctx, uint32_t local, uint32_t global)
      : ctx_(ctx), local_(local), global_(global) {}
  void Start();
  // Closes with RST so thousands of client sockets do not sit in TIME_WAIT
  // and exhaust ports for the next run.
  void Abort();

 private:
  static void OnRead(bufferevent* bev, void* arg);
  static void OnEvent(bufferevent* bev, short what, void* arg);
  void HandleRead();
  void HandleClose();
  void HandleBadStatus(int status);
  void ParseStream();
  void ParseSse();
  void FinishPoll();
  void Deliver(const char* data, size_t len);
  void Count(uint64_t t_us, int phase);
  void SendRequest();
  int OpenSocket();
  bufferevent* NewBufferevent(int fd);  // plain, or TLS with --tls
  // Subscribers are spread over the --sub servers by their global index.
  const Endpoint& server() const;

  WorkerCtx* ctx_;
  BufferEventPtr bev_;
  EvbufferPtr body_;
  std::string cursor_;   // SSE: last event id; poll: `since`
  std::string session_;  // poll: "&connid=..&secret=.."
  HttpResponseParser http_;
  uint64_t start_us_ = 0;
  uint32_t local_;
  uint32_t global_;
  uint32_t received_ = 0;
  uint32_t restarts_ = 0;
  uint8_t attempts_ = 0;
  uint8_t sse_event_ = 0;  // 0 = message, 1 = reset, 2 = other named event
  bool established_ = false;
  bool pending_ = false;
};

struct WorkerCtx {
  const BenchConfig* cfg = nullptr;
  SSL_CTX* ssl_ctx = nullptr;  // --tls; no certificate check: the bench measures, it does not trust
  const Plan* plan = nullptr;
  event_base* base = nullptr;
  uint32_t first = 0;
  uint32_t count = 0;
  std::vector<std::unique_ptr<Subscriber>> subs;
  std::vector<uint32_t> retry;
  uint32_t next_start = 0;
  uint32_t pending = 0;
  size_t src_idx = 0;
  uint64_t ramp_start_us = 0;
  uint64_t deadline_us = 0;
  double rate = 0;
  int ticks = 0;
  bool ready_sent = false;
  bool stop = false;
  uint64_t now_us = 0;  // realtime, refreshed once per read callback
  Report report;
  BufferEventPtr ctl;
  EventPtr tick;

  void Send(uint32_t type, const void* data, uint32_t len) {
    MsgHeader h{type, len};
    bufferevent_write(ctl.get(), &h, sizeof h);
    bufferevent_write(ctl.get(), data, len);
  }
};

const Endpoint& Subscriber::server() const {
  const auto& subs = ctx_->cfg->subs;
  return subs[global_ % subs.size()];
}

int Subscriber::OpenSocket() {
  const auto& srcs = ctx_->cfg->src_addrs;
  size_t tries = srcs.empty() ? 1 : srcs.size();
  for (size_t i = 0; i < tries; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (!srcs.empty()) {
      // Defer the port choice to connect(), which can then reuse a port per
      // destination: a plain bind() would reserve it for every destination.
      int one = 1;
      setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr = srcs[ctx_->src_idx % srcs.size()];
      if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
        close(fd);
        return -1;
      }
    }
    const sockaddr_in& dst = server().addr;
    int rc = connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst);
    if (rc == 0 || errno == EINPROGRESS) return fd;
    int err = errno;
    close(fd);
    if (err != EADDRNOTAVAIL || srcs.empty()) return -1;
    // This source address has no free port left: move on to the next one.
    ++ctx_->src_idx;
    ++ctx_->report.progress.src_switches;
  }
  return -1;
}

bufferevent* Subscriber::NewBufferevent(int fd) {
  if (!ctx_->ssl_ctx) return bufferevent_socket_new(ctx_->base, fd, BEV_OPT_CLOSE_ON_FREE);
  SSL* ssl = SSL_new(ctx_->ssl_ctx);
  if (!ssl) return nullptr;
  bufferevent* bev = bufferevent_openssl_socket_new(ctx_->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                    BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    SSL_free(ssl);
    return nullptr;
  }
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  return bev;
}

void Subscriber::Start() {
  start_us_ = MonotonicUs();
  if (!established_ && !pending_) {
    pending_ = true;
    ++ctx_->pending;
  }
  int fd = OpenSocket();
  if (fd < 0) {
    HandleClose();
    return;
  }
  bev_.reset(NewBufferevent(fd));
  if (!bev_) {
    close(fd);
    HandleClose();
    return;
  }
  if (!body_) body_.reset(evbuffer_new());
  evbuffer_drain(body_.get(), evbuffer_get_length(body_.get()));
  http_.Reset();
  sse_event_ = 0;
  bufferevent_setcb(bev_.get(), OnRead, nullptr, OnEvent, this);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  SendRequest();
}

void Subscriber::SendRequest() {
  const BenchConfig& cfg = *ctx_->cfg;
  const std::string& filter = ctx_->plan->filters[global_];
  evbuffer* out = bufferevent_get_output(bev_.get());
  if (cfg.transport == Transport::kStream) {
    std::string body = "{\"clid\":\"bench\",\"ep\":[\"" + filter + "\"]}";
    evbuffer_add_printf(out,
                        "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\n\r\n%s",
                        server().host.c_str(), body.size(), body.c_str());
    return;
  }
  if (cfg.transport == Transport::kSse) {
    std::string path = cfg.sse_path;
    size_t at = path.find("{topic}");
    if (at != std::string::npos) path.replace(at, 7, UrlEncode(filter));
    evbuffer_add_printf(out, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n",
                        path.c_str(), server().host.c_str());
    if (!cfg.resume_cursor.empty()) {
      evbuffer_add_printf(out, "Last-Event-ID: %s\r\n", cfg.resume_cursor.c_str());
    }
    evbuffer_add(out, "\r\n", 2);
    return;
  }
  // Long poll: the first request of a resume run starts from the cursor.
  if (cursor_.empty() && session_.empty()) cursor_ = cfg.resume_cursor;
  std::string path = "/poll?topic=" + UrlEncode(filter) + session_;
  if (!cursor_.empty()) path += "&since=" + UrlEncode(cursor_);
  evbuffer_add_printf(out, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path.c_str(),
                      server().host.c_str());
}

void Subscriber::OnRead(bufferevent*, void* arg) { static_cast<Subscriber*>(arg)->HandleRead(); }

void Subscriber::OnEvent(bufferevent*, short what, void* arg) {
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) static_cast<Subscriber*>(arg)->HandleClose();
}

void Subscriber::HandleRead() {
  ctx_->now_us = RealtimeUs();
  evbuffer* in = bufferevent_get_input(bev_.get());
  HttpResponseParser::Result r = http_.Feed(in, body_.get());
  if (r.error) {
    ++ctx_->report.bad_frames;
    HandleClose();
    return;
  }
  if (r.headers_done) {
    if (http_.status() != 200) {
      HandleBadStatus(http_.status());
      return;
    }
    if (!established_) {
      established_ = true;
      pending_ = false;
      --ctx_->pending;
      ++ctx_->report.progress.established;
      ctx_->report.connect.Record(MonotonicUs() - start_us_);
    }
  }
  switch (ctx_->cfg->transport) {
    case Transport::kStream:
      ParseStream();
      break;
    case Transport::kSse:
      ParseSse();
      break;
    case Transport::kPoll:
      if (r.complete) {
        FinishPoll();
        return;
      }
      break;
  }
  if (r.complete) HandleClose();  // a stream ended (timeout or server close)
}

void Subscriber::HandleBadStatus(int status) {
  Progress& p = ctx_->report.progress;
  ++p.bad_status;
  p.last_bad_status = uint32_t(status);
  bev_.reset();
  if (pending_) {
    pending_ = false;
    --ctx_->pending;
    ++p.failed;
  } else {
    ++p.closed;
  }
}

void Subscriber::HandleClose() {
  bev_.reset();
  Progress& p = ctx_->report.progress;
  if (!established_) {
    if (attempts_ + 1 < kMaxAttempts) {
      ++attempts_;
      ++p.retries;
      ctx_->retry.push_back(local_);  // restarted by the ramp timer, paced
      return;
    }
    if (pending_) {
      pending_ = false;
      --ctx_->pending;
    }
    ++p.failed;
    return;
  }
  ++p.closed;
  // A long-poll client reconnects by design; streams are not reopened so
  // that a server dropping them shows up as missing deliveries.
  if (ctx_->cfg->transport == Transport::kPoll && !ctx_->stop && ++restarts_ < kMaxPollRestarts) {
    Start();
  }
}

void Subscriber::Abort() {
  if (!bev_) return;
  linger lg{1, 0};
  setsockopt(bufferevent_getfd(bev_.get()), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  bev_.reset();
}

// es-web-notify frames: ''<N>''<N bytes of JSON>; ''0'' is a heartbeat.
void Subscriber::ParseStream() {
  evbuffer* body = body_.get();
  for (;;) {
    size_t len = evbuffer_get_length(body);
    if (len < 5) return;
    char hdr[24];
    size_t h = len < sizeof hdr ? len : sizeof hdr;
    evbuffer_copyout(body, hdr, h);
    size_t i = 2;
    uint64_t n = 0;
    bool bad = hdr[0] != '\'' || hdr[1] != '\'';
    while (!bad && i < h && hdr[i] >= '0' && hdr[i] <= '9') n = n * 10 + uint64_t(hdr[i++] - '0');
    if (!bad && i + 2 > h) {
      if (h < sizeof hdr) return;  // header not complete yet
      bad = true;
    }
    if (!bad && (i == 2 || hdr[i] != '\'' || hdr[i + 1] != '\'')) bad = true;
    if (bad) {
      // Out of sync: nothing after this can be trusted.
      ++ctx_->report.bad_frames;
      evbuffer_drain(body, len);
      return;
    }
    size_t total = i + 2 + size_t(n);
    if (len < total) return;
    if (n > 0) {
      const char* p = reinterpret_cast<const char*>(evbuffer_pullup(body, ssize_t(total)));
      Deliver(p + i + 2, size_t(n));
    }
    evbuffer_drain(body, total);
  }
}

void Subscriber::ParseSse() {
  evbuffer* body = body_.get();
  for (;;) {
    size_t eol = 0;
    evbuffer_ptr at = evbuffer_search_eol(body, nullptr, &eol, EVBUFFER_EOL_LF);
    if (at.pos < 0) {
      if (evbuffer_get_length(body) > (1u << 20)) {
        ++ctx_->report.bad_frames;
        evbuffer_drain(body, evbuffer_get_length(body));
      }
      return;
    }
    size_t n = size_t(at.pos);
    const char* line = reinterpret_cast<const char*>(evbuffer_pullup(body, ssize_t(n + eol)));
    size_t ln = n;
    if (ln && line[ln - 1] == '\r') --ln;
    auto value = [&](size_t skip, size_t* vl) {
      const char* v = line + skip;
      *vl = ln - skip;
      if (*vl && *v == ' ') ++v, --*vl;
      return v;
    };
    size_t vl = 0;
    if (ln == 0) {
      sse_event_ = 0;  // blank line ends an event
    } else if (ln >= 5 && memcmp(line, "data:", 5) == 0) {
      const char* v = value(5, &vl);
      if (sse_event_ == 0) Deliver(v, vl);
    } else if (ln >= 3 && memcmp(line, "id:", 3) == 0) {
      if (ctx_->plan->resume) {
        const char* v = value(3, &vl);
        cursor_.assign(v, vl);
      }
    } else if (ln >= 6 && memcmp(line, "event:", 6) == 0) {
      const char* v = value(6, &vl);
      if (vl == 7 && memcmp(v, "message", 7) == 0) {
        sse_event_ = 0;
      } else if (vl == 5 && memcmp(v, "reset", 5) == 0) {
        sse_event_ = 1;
        ++ctx_->report.progress.resets;
      } else {
        sse_event_ = 2;
      }
    }
    evbuffer_drain(body, n + eol);
  }
}

void Subscriber::Deliver(const char* data, size_t len) {
  const char* q = static_cast<const char*>(memmem(data, len, "\"t\":", 4));
  if (!q) {
    if (memmem(data, len, "\"type\":\"reset\"", 14)) {
      ++ctx_->report.progress.resets;
    } else if (!memmem(data, len, "@SERVER@", 8)) {
      ++ctx_->report.progress.unknown_events;
    }
    return;
  }
  // Copy the number out: the frame is not NUL-terminated.
  char num[40];
  size_t avail = len - size_t(q + 4 - data);
  size_t k = avail < sizeof num - 1 ? avail : sizeof num - 1;
  memcpy(num, q + 4, k);
  num[k] = '\0';
  double t = strtod(num, nullptr);
  int phase = 0;
  const char* pp = static_cast<const char*>(memmem(data, len, "\"p\":", 4));
  if (pp && size_t(pp + 4 - data) < len) phase = pp[4] - '0';
  Count(t > 0 ? uint64_t(t) : 0, phase);
}

void Subscriber::Count(uint64_t t_us, int phase) {
  if (phase < 0 || phase >= kMaxPhases) phase = 0;
  uint64_t lat = ctx_->now_us > t_us ? ctx_->now_us - t_us : 0;
  ctx_->report.latency[phase].Record(lat);
  ++ctx_->report.progress.received[phase];
  ++received_;
  if (ctx_->plan->resume && received_ == ctx_->plan->replay_events) {
    ++ctx_->report.progress.done_subs;
    ctx_->report.done.Record(MonotonicUs() - start_us_);
  }
}

void Subscriber::FinishPoll() {
  evbuffer* body = body_.get();
  size_t len = evbuffer_get_length(body);
  const char* p = reinterpret_cast<const char*>(evbuffer_pullup(body, -1));
  CJsonPtr root(cJSON_ParseWithLength(p, len));
  evbuffer_drain(body, len);
  if (!root) {
    ++ctx_->report.bad_frames;
  } else {
    const cJSON* connid = cJSON_GetObjectItemCaseSensitive(root.get(), "connid");
    const cJSON* secret = cJSON_GetObjectItemCaseSensitive(root.get(), "secret");
    const cJSON* cursor = cJSON_GetObjectItemCaseSensitive(root.get(), "cursor");
    if (connid && cJSON_IsString(secret)) {
      char id[32];
      if (cJSON_IsNumber(connid)) {
        snprintf(id, sizeof id, "%.0f", connid->valuedouble);
      } else {
        snprintf(id, sizeof id, "%s", cJSON_IsString(connid) ? connid->valuestring : "");
      }
      session_ = std::string("&connid=") + id + "&secret=" + UrlEncode(secret->valuestring);
    }
    if (cJSON_IsString(cursor)) cursor_ = cursor->valuestring;
    const cJSON* events = cJSON_GetObjectItemCaseSensitive(root.get(), "events");
    const cJSON* ev = nullptr;
    cJSON_ArrayForEach(ev, events) {
      const cJSON* e = cJSON_GetObjectItemCaseSensitive(ev, "e");
      const cJSON* type = cJSON_GetObjectItemCaseSensitive(e, "type");
      if (cJSON_IsString(type) && strcmp(type->valuestring, "reset") == 0) {
        ++ctx_->report.progress.resets;
        continue;
      }
      const cJSON* detail = cJSON_GetObjectItemCaseSensitive(e, "detail");
      const cJSON* t = cJSON_GetObjectItemCaseSensitive(detail, "t");
      const cJSON* ph = cJSON_GetObjectItemCaseSensitive(detail, "p");
      if (!cJSON_IsNumber(t)) {
        ++ctx_->report.progress.unknown_events;
        continue;
      }
      Count(uint64_t(t->valuedouble), cJSON_IsNumber(ph) ? ph->valueint : 0);
    }
  }
  if (http_.keep_alive() && !ctx_->stop) {
    http_.Reset();
    SendRequest();
    return;
  }
  bev_.reset();
  if (!ctx_->stop && ++restarts_ < kMaxPollRestarts) Start();
}

void OnTick(evutil_socket_t, short, void* arg) {
  auto* ctx = static_cast<WorkerCtx*>(arg);
  uint64_t now = MonotonicUs();
  if (now > ctx->deadline_us) {
    ctx->stop = true;
    event_base_loopbreak(ctx->base);
    return;
  }
  // Ramp: start subscribers at the configured rate, retries first, never
  // more than max_pending handshakes in flight (the server's accept backlog).
  double elapsed = double(now - ctx->ramp_start_us) / 1e6;
  uint64_t target = uint64_t(ctx->rate * elapsed) + 1;
  if (target > ctx->count) target = ctx->count;
  uint32_t budget = 2000;  // bound the work of one tick
  while (budget-- > 0 && ctx->pending < ctx->cfg->max_pending) {
    if (!ctx->retry.empty()) {
      uint32_t i = ctx->retry.back();
      ctx->retry.pop_back();
      ctx->subs[i]->Start();
    } else if (ctx->next_start < target) {
      ctx->subs[ctx->next_start++]->Start();
    } else {
      break;
    }
  }
  Progress& p = ctx->report.progress;
  if (!ctx->ready_sent && p.established + p.failed >= ctx->count) {
    ctx->ready_sent = true;
    ctx->Send(kMsgReady, &p, sizeof p);
  }
  if (++ctx->ticks % kProgressEveryTicks == 0) ctx->Send(kMsgProgress, &p, sizeof p);
}

void OnCtlRead(bufferevent* bev, void* arg) {
  auto* ctx = static_cast<WorkerCtx*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  while (evbuffer_get_length(in) >= sizeof(MsgHeader)) {
    MsgHeader h;
    evbuffer_copyout(in, &h, sizeof h);
    if (evbuffer_get_length(in) < sizeof h + h.len) return;
    evbuffer_drain(in, sizeof h + h.len);
    if (h.type == kMsgStop) {
      ctx->stop = true;
      event_base_loopbreak(ctx->base);
    }
  }
}

void OnCtlEvent(bufferevent*, short what, void* arg) {
  // The parent died or closed the pipe: stop at once.
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    auto* ctx = static_cast<WorkerCtx*>(arg);
    ctx->stop = true;
    event_base_loopbreak(ctx->base);
  }
}

bool WriteAll(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= size_t(n);
  }
  return true;
}

}  // namespace

int RunWorker(const BenchConfig& cfg, const Plan& plan, int ctl_fd, uint32_t first,
              uint32_t count) {
  EventBasePtr base(event_base_new());
  if (!base) return 2;
  auto ctx = std::make_unique<WorkerCtx>();
  ctx->cfg = &cfg;
  ctx->plan = &plan;
  ctx->base = base.get();
  if (cfg.tls) {
    ctx->ssl_ctx = SSL_CTX_new(TLS_client_method());  // lives as long as the process
    if (!ctx->ssl_ctx) return 2;
    SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_NONE, nullptr);
    // 10,000 client connections per process: no idle TLS buffers on this side either.
    SSL_CTX_set_mode(ctx->ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
  }
  ctx->first = first;
  ctx->count = count;
  ctx->rate = cfg.ramp * double(count) / double(plan.subscribers ? plan.subscribers : 1);
  if (ctx->rate < 1) ctx->rate = 1;
  ctx->ramp_start_us = MonotonicUs();
  ctx->deadline_us = ctx->ramp_start_us + kWorkerHardLimitUs;
  // Workers start on different source addresses, so each has its own ports.
  ctx->src_idx = count ? first / count : 0;
  ctx->subs.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    ctx->subs.push_back(std::make_unique<Subscriber>(ctx.get(), i, first + i));
  }
  evutil_make_socket_nonblocking(ctl_fd);
  ctx->ctl.reset(bufferevent_socket_new(base.get(), ctl_fd, 0));
  bufferevent_setcb(ctx->ctl.get(), OnCtlRead, nullptr, OnCtlEvent, ctx.get());
  bufferevent_enable(ctx->ctl.get(), EV_READ | EV_WRITE);
  ctx->tick.reset(event_new(base.get(), -1, EV_PERSIST, OnTick, ctx.get()));
  event_add(ctx->tick.get(), &kTick);

  while (!ctx->stop) {
    if (event_base_dispatch(base.get()) != 0) break;
  }

  for (auto& s : ctx->subs) s->Abort();
  // Flush what the bufferevent still holds, then write the report blocking:
  // the loop has stopped, and the parent waits for exactly these bytes.
  evbuffer* pending = bufferevent_get_output(ctx->ctl.get());
  std::string rest(evbuffer_get_length(pending), '\0');
  evbuffer_remove(pending, rest.data(), rest.size());
  ctx->ctl.reset();
  int flags = fcntl(ctl_fd, F_GETFL);
  fcntl(ctl_fd, F_SETFL, flags & ~O_NONBLOCK);
  MsgHeader h{kMsgReport, uint32_t(sizeof(Report))};
  bool ok = WriteAll(ctl_fd, rest.data(), rest.size()) && WriteAll(ctl_fd, &h, sizeof h) &&
            WriteAll(ctl_fd, &ctx->report, sizeof(Report));
  close(ctl_fd);
  return ok ? 0 : 3;
}

}  // namespace herald_bench
