#include "server/private_listener.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <microhttpd.h>
#include <netdb.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "server/context.h"
#include "server/net/api_auth.h"
#include "server/net/net_address.h"
#include "server/net/pending_requests.h"
#include "server/private_stream.h"
#include "server/util/c_handles.h"
#include "server/util/event_add.h"
#include "server/util/log.h"
#include "server/worker.h"

namespace herald {
namespace {

constexpr unsigned kConnectionsPerWorker = 512;
constexpr unsigned kIdleTimeoutS = 30;
constexpr timeval kExpireEvery = {0, 100 * 1000};

// One request on an MHD connection, from its first callback to OnCompleted.
struct PendingRequest {
  uint64_t id = 0;
  MHD_Connection* connection = nullptr;
  HttpRequest request;
  bool too_large = false;
  bool suspended = false;  // waiting for a handler that answers later
  bool stream = false;     // admitted to a private stream (private_stream.h)
  std::optional<HttpResponse> answer;
  std::chrono::steady_clock::time_point start;  // for the access log (log.access)
};

MHD_Result CollectValue(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* out = static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
  out->emplace_back(key ? key : "", value ? value : "");
  return MHD_YES;
}

std::string ClientIp(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!info || !info->client_addr) return "";
  char host[INET6_ADDRSTRLEN] = {0};
  const sockaddr* sa = info->client_addr;
  socklen_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  getnameinfo(sa, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
  return host;
}

MHD_Result Send(MHD_Connection* connection, ServerContext& ctx, const HttpResponse& r) {
  MHD_Response* resp = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (!resp) return MHD_NO;
  CountRejection(ctx.stats, r);
  if (r.status != 204) MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
  MHD_add_response_header(resp, "Access-Control-Allow-Origin", ctx.config.cors_origin.c_str());
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  for (const auto& [k, v] : r.headers) MHD_add_response_header(resp, k.c_str(), v.c_str());
  MHD_Result ok = MHD_queue_response(connection, static_cast<unsigned>(r.status), resp);
  MHD_destroy_response(resp);
  return ok;
}

// The request line and header block as they came on the wire, near enough.
size_t HeadBytes(const HttpRequest& req) {
  size_t n = req.method.size() + req.path.size() + 12;                  // " HTTP/1.1\r\n"
  for (const auto& [k, v] : req.headers) n += k.size() + v.size() + 4;  // ": ", CRLF
  return n;
}

// libmicrohttpd's own messages. Out of descriptors, it retries accept() in a
// busy loop and says so each time: at most one line per interval, with the
// count of the rest.
void LogMhd(void*, const char* fmt, va_list ap) {
  constexpr int64_t kIntervalMs = 10000;
  static std::mutex mu;
  static int64_t last_ms = -kIntervalMs;
  static uint64_t suppressed = 0;
  std::lock_guard<std::mutex> lock(mu);
  const int64_t now = NowMs();
  if (now - last_ms < kIntervalMs) {
    ++suppressed;
    return;
  }
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  line[strcspn(line, "\r\n")] = '\0';
  LogWarn("private", 0, "libmicrohttpd: %s (%llu more messages in the last %lld s)", line,
          static_cast<unsigned long long>(suppressed), static_cast<long long>(kIntervalMs / 1000));
  last_ms = now;
  suppressed = 0;
}

// Request smuggling: a proxy in front may frame the body by one length and
// herald by the other; libmicrohttpd picks one silently (RFC 9112 6.3).
bool AmbiguousLength(const HttpRequest& req) {
  int lengths = 0;
  bool transfer_encoding = false;
  for (const auto& [k, v] : req.headers) {
    if (strcasecmp(k.c_str(), "Content-Length") == 0) ++lengths;
    if (strcasecmp(k.c_str(), "Transfer-Encoding") == 0) transfer_encoding = true;
  }
  return lengths > 1 || (lengths > 0 && transfer_encoding);
}

// The access-log line of an answered request. MHD's url is the path alone
// (the query, which may hold ?token=, is parsed apart); headers are not logged.
void LogRequest(const PendingRequest& p) {
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - p.start;
  LogAccess(p.request.method, p.request.path, p.answer->status, took.count(), p.request.remote_ip);
}

// What the listener answers itself, before any handler runs.
std::optional<HttpResponse> Precheck(const ServerContext& ctx, const PendingRequest& p) {
  const HttpRequest& req = p.request;
  const auto max_head = static_cast<size_t>(ctx.config.limits.max_header_bytes);
  if (HeadBytes(req) > max_head) {
    return HttpResponse::FromStatus(Status::HeadersTooLarge("Request headers too large (at most " +
                                                            std::to_string(max_head) + " bytes)"));
  }
  if (AmbiguousLength(req)) {
    HttpResponse r = HttpResponse::FromStatus(
        Status::BadRequest("Content-Length twice, or with Transfer-Encoding"));
    r.headers.emplace_back("Connection", "close");
    return r;
  }
  if (p.too_large) return HttpResponse::FromStatus(Status::TooLarge("Body too large"));
  if (req.method == "OPTIONS") {
    HttpResponse r;
    r.status = 204;
    r.headers = {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                 {"Access-Control-Allow-Headers", kCorsAllowHeaders}};
    return r;
  }
  const Router::Route* route = ctx.private_routes.Find(req.path);
  const bool stream = ctx.private_streams.count(req.path) > 0;
  if (!route && !stream) return HttpResponse::FromStatus(Status::NotFound("Not found"));
  // A route registered as not private (the dashboard page) needs no token.
  const bool needs_token = stream || route->is_private;
  if (needs_token && ListenerChecksToken(ctx.config, req) && !AuthorizePrivate(ctx.config, req)) {
    return HttpResponse::FromStatus(Status::Unauthorized("Missing or wrong token"));
  }
  return std::nullopt;
}

}  // namespace

// One MHD daemon in one worker's loop: libevent watches MHD's epoll fd and a
// timer for MHD's own timeouts; MHD_run does the work. Every MHD call and
// every PendingRequest stays on that loop thread.
class PrivateListener::WorkerDaemon {
 public:
  WorkerDaemon(ServerContext* ctx, Worker* worker)
      : ctx_(ctx),
        worker_(worker),
        heads_(
            PendingMax(ctx->config), ctx->config.limits.request_timeout_ms,
            [this](void* c) { Cut(c); }, [](void*) {}),
        streams_(ctx, worker, [this] { event_active(timer_.get(), EV_TIMEOUT, 0); }) {}
  ~WorkerDaemon() { StopOnLoop(); }

  // Main thread, before the loop runs. Takes `listen_fd`.
  Status Start(int listen_fd, bool v6) {
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG |
                     (v6 ? MHD_USE_IPv6 : 0);
    daemon_.reset(MHD_start_daemon(
        flags, 0, nullptr, nullptr, &WorkerDaemon::OnRequest, this, MHD_OPTION_LISTEN_SOCKET,
        listen_fd, MHD_OPTION_NOTIFY_COMPLETED, &WorkerDaemon::OnCompleted, this,
        MHD_OPTION_CONNECTION_LIMIT, kConnectionsPerWorker, MHD_OPTION_CONNECTION_TIMEOUT,
        kIdleTimeoutS, MHD_OPTION_NOTIFY_CONNECTION, &WorkerDaemon::OnConnection, this,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, MemoryLimit(ctx_->config), MHD_OPTION_EXTERNAL_LOGGER,
        &LogMhd, nullptr, MHD_OPTION_END));
    if (!daemon_) {
      close(listen_fd);
      return Status::Internal("private_listen: cannot start libmicrohttpd");
    }
    const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_.get(), MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) return Status::Internal("private_listen: libmicrohttpd has no epoll fd");
    auto run = [](evutil_socket_t, short, void* self) { static_cast<WorkerDaemon*>(self)->Run(); };
    ready_.reset(event_new(worker_->base(), info->epoll_fd, EV_READ | EV_PERSIST, run, this));
    timer_.reset(event_new(worker_->base(), -1, 0, run, this));
    auto expire = [](evutil_socket_t, short, void* self) {
      static_cast<WorkerDaemon*>(self)->heads_.Expire(NowMs());
    };
    expire_.reset(event_new(worker_->base(), -1, EV_PERSIST, expire, this));
    if (!ready_ || !timer_ || !expire_ || event_add(ready_.get(), nullptr) != 0 ||
        event_add(expire_.get(), &kExpireEvery) != 0) {
      return Status::Internal("private_listen: cannot watch libmicrohttpd's epoll fd");
    }
    return Status::Ok();
  }

  // Loop thread (or any thread once the loop is gone).
  void StopOnLoop() {
    if (!daemon_) return;
    // MHD refuses to stop with suspended connections: resume them first.
    streams_.Stop();
    for (auto& [id, p] : pending_) {
      if (!p->suspended) continue;
      p->answer = HttpResponse::FromStatus(Status::Unavailable("Shutting down"));
      p->answer->cause = RejectCause::kShuttingDown;
      p->suspended = false;
      MHD_resume_connection(p->connection);
    }
    ready_.reset();
    timer_.reset();
    expire_.reset();
    daemon_.reset();  // closes every connection; OnCompleted frees its request
    pending_.clear();
  }

 private:
  void Run() {
    MHD_run(daemon_.get());
    // MHD's next timeout; 0 while it still has ready connections of its own.
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(daemon_.get(), &ms) == MHD_YES) {
      const timeval tv = {static_cast<time_t>(ms / 1000),
                          static_cast<suseconds_t>((ms % 1000) * 1000)};
      // Without it MHD's own timeouts wait until its epoll fd next wakes us.
      AddEvent(timer_.get(), &tv, "private", "MHD timeout");
    } else {
      event_del(timer_.get());
    }
  }

  // This worker's share of limits.max_pending_connections, and at most half
  // of MHD's own connection limit, so trickling connections never fill it.
  static size_t PendingMax(const Config& config) {
    const int workers = config.workers > 0 ? config.workers : 1;
    const auto share = static_cast<size_t>(config.limits.max_pending_connections / workers);
    return std::min<size_t>(share, kConnectionsPerWorker / 2);
  }

  // MHD's per-connection memory pool holds the request head: big enough that
  // limits.max_header_bytes, not MHD, decides (see HeadBytes).
  static size_t MemoryLimit(const Config& config) {
    return std::max<size_t>(32 * 1024,
                            2 * static_cast<size_t>(config.limits.max_header_bytes) + 16 * 1024);
  }

  // A connection whose request is overdue, or the oldest when room is
  // needed: MHD sees the shutdown as the client leaving and closes it.
  void Cut(void* connection) {
    Add(ctx_->stats.slow_requests);
    const MHD_ConnectionInfo* info = MHD_get_connection_info(
        static_cast<MHD_Connection*>(connection), MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info) shutdown(info->connect_fd, SHUT_RDWR);
  }

  static void OnConnection(void* cls, MHD_Connection* connection, void**,
                           MHD_ConnectionNotificationCode code) {
    auto* self = static_cast<WorkerDaemon*>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      self->heads_.Arm(connection, NowMs());
    } else {
      self->heads_.Disarm(connection);
    }
  }

  static MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char*, const char* upload_data,
                              size_t* upload_data_size, void** con_cls) {
    auto* self = static_cast<WorkerDaemon*>(cls);
    auto* p = static_cast<PendingRequest*>(*con_cls);
    if (!p) {
      // Owned by pending_ until OnCompleted; MHD keeps a borrowed pointer.
      auto owned = std::make_unique<PendingRequest>();
      p = owned.get();
      p->id = self->next_id_++;
      p->connection = connection;
      p->request.method = method;
      p->request.path = url;
      p->start = std::chrono::steady_clock::now();
      self->pending_.emplace(p->id, std::move(owned));
      *con_cls = p;
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      self->TakeBody(p, upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (!p->answer && !p->suspended) self->Serve(p);
    if (p->stream) {
      if (self->ctx_->config.log.access)
        LogAccess(p->request.method, p->request.path, 200, 0, p->request.remote_ip);
      return self->streams_.Open(connection, p->request.path);
    }
    if (p->answer) {
      AdaptErrorBody(p->request.path, &*p->answer);
      if (self->ctx_->config.log.access) LogRequest(*p);
      return Send(connection, *self->ctx_, *p->answer);
    }
    if (!p->suspended) {
      p->suspended = true;
      MHD_suspend_connection(connection);
    }
    return MHD_YES;
  }

  void TakeBody(PendingRequest* p, const char* data, size_t size) {
    std::string& body = p->request.body;
    if (body.size() + size > static_cast<size_t>(ctx_->config.limits.max_body_bytes)) {
      p->too_large = true;
    } else if (!p->too_large) {
      body.append(data, size);
    }
  }

  // Runs the handler; p->answer is set at once if it answered at once.
  void Serve(PendingRequest* p) {
    heads_.Disarm(p->connection);  // the whole request is in
    HttpRequest& req = p->request;
    MHD_get_connection_values(p->connection, MHD_GET_ARGUMENT_KIND, CollectValue, &req.query);
    MHD_get_connection_values(p->connection, MHD_HEADER_KIND, CollectValue, &req.headers);
    req.remote_ip = ClientIp(p->connection);
    if (auto early = Precheck(*ctx_, *p)) {
      p->answer = std::move(*early);
      return;
    }
    if (streams_.IsStream(req.path)) {
      p->answer = streams_.Admit(req);
      p->stream = !p->answer;
      return;
    }
    const uint64_t id = p->id;
    ctx_->private_routes.Find(req.path)->handler(
        req, [this, id](HttpResponse r) { Answer(id, std::move(r)); });
  }

  // Any thread: the handler's answer goes to the loop that owns the request.
  void Answer(uint64_t id, HttpResponse r) {
    if (worker_->InLoopThread()) return AnswerOnLoop(id, std::move(r));
    worker_->Post([this, id, r = std::move(r)]() mutable { AnswerOnLoop(id, std::move(r)); });
  }

  void AnswerOnLoop(uint64_t id, HttpResponse r) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // the client left, or the listener stopped
    PendingRequest* p = it->second.get();
    p->answer = std::move(r);
    if (!p->suspended) return;  // answered from inside the handler: sent on return
    p->suspended = false;
    MHD_resume_connection(p->connection);
    event_active(timer_.get(), EV_TIMEOUT, 0);  // MHD picks it up on its next run
  }

  static void OnCompleted(void* cls, MHD_Connection* connection, void** con_cls,
                          MHD_RequestTerminationCode code) {
    auto* self = static_cast<WorkerDaemon*>(cls);
    // Kept alive: the next request has the same deadline. A closing
    // connection is disarmed again by its CLOSED notification.
    if (code == MHD_REQUEST_TERMINATED_COMPLETED_OK) self->heads_.Arm(connection, NowMs());
    auto* p = static_cast<PendingRequest*>(*con_cls);
    if (!p) return;
    *con_cls = nullptr;
    self->pending_.erase(p->id);  // frees p
  }

  ServerContext* const ctx_;
  Worker* const worker_;
  MhdDaemonPtr daemon_;
  EventPtr ready_;         // MHD's epoll fd is readable
  EventPtr timer_;         // MHD's next timeout, or "run again now"
  EventPtr expire_;        // cuts overdue requests
  PendingRequests heads_;  // connections whose request has not fully arrived
  std::unordered_map<uint64_t, std::unique_ptr<PendingRequest>> pending_;
  uint64_t next_id_ = 1;
  PrivateStreams streams_;  // after timer_: it runs MHD through it
};

PrivateListener::PrivateListener(ServerContext* ctx) : ctx_(ctx) {}
PrivateListener::~PrivateListener() = default;

Status PrivateListener::Start() {
  auto fd = ListenSocket(ctx_->config.private_listen, "private_listen", &port_);
  if (!fd.ok()) return fd.status();
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const bool v6 = addr.ss_family == AF_INET6;
  Status s = Status::Ok();
  for (auto& worker : ctx_->workers) {
    const int own = dup(*fd);  // each daemon closes its own
    if (own < 0) {
      s = Status::Internal("private_listen: dup failed");
      break;
    }
    auto d = std::make_unique<WorkerDaemon>(ctx_, worker.get());
    s = d->Start(own, v6);
    daemons_.push_back(std::move(d));
    if (!s.ok()) break;
  }
  close(*fd);
  return s;
}

void PrivateListener::Stop() {
  for (size_t i = 0; i < daemons_.size(); ++i) {
    std::promise<void> stopped;
    WorkerDaemon* d = daemons_[i].get();
    ctx_->workers[i]->Post([d, &stopped] {
      d->StopOnLoop();
      stopped.set_value();
    });
    stopped.get_future().wait();
  }
}

}  // namespace herald
