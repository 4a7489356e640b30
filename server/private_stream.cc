#include "server/private_stream.h"

#include <event2/event.h>

#include <algorithm>
#include <cstring>

#include "server/context.h"
#include "server/util/event_add.h"
#include "server/worker.h"

namespace herald {
namespace {

// A reader this far behind skips snapshots until it catches up.
constexpr size_t kMaxBacklogBytes = 1 << 20;

}  // namespace

struct PrivateStreams::Reader {
  PrivateStreams* owner;
  MHD_Connection* connection;
  std::string path;
  std::string out;  // bytes not yet handed to MHD, from `sent` on
  size_t sent = 0;
  bool suspended = false;
};

PrivateStreams::PrivateStreams(ServerContext* ctx, Worker* worker, std::function<void()> run_mhd)
    : ctx_(ctx),
      worker_(worker),
      run_mhd_(std::move(run_mhd)),
      self_(std::make_shared<PrivateStreams*>(this)) {}

PrivateStreams::~PrivateStreams() = default;

bool PrivateStreams::IsStream(const std::string& path) const {
  return ctx_->private_streams.count(path) > 0;
}

std::optional<HttpResponse> PrivateStreams::Admit(const HttpRequest& req) {
  if (req.method != "GET") return HttpResponse::Error(405, "Method is not GET");
  const PrivateStream& stream = ctx_->private_streams.at(req.path);
  Counter& open = ctx_->stats.open_private_streams;
  if (open.fetch_add(1) >= stream.max_clients) {
    Add(open, -1);
    HttpResponse r = HttpResponse::Error(
        503, "Too many streams open (at most " + std::to_string(stream.max_clients) + ")");
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  return std::nullopt;
}

MHD_Result PrivateStreams::Open(MHD_Connection* connection, const std::string& path) {
  auto owned = std::make_unique<Reader>(Reader{this, connection, path, "", 0, false});
  Reader* reader = owned.get();
  // A comment first, so the client sees the stream open before any snapshot.
  reader->out = ": herald " + path + "\n\n";
  MHD_Response* resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, &Read, reader, &Free);
  if (!resp) {
    Add(ctx_->stats.open_private_streams, -1);
    return MHD_NO;
  }
  readers_.emplace(reader, std::move(owned));  // freed by Free, when MHD is done
  Path& p = paths_[path];
  ++p.readers;
  MHD_add_response_header(resp, "Content-Type", "text/event-stream");
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  MHD_add_response_header(resp, "X-Accel-Buffering", "no");  // nginx: pass it on at once
  MHD_add_response_header(resp, "Access-Control-Allow-Origin", ctx_->config.cors_origin.c_str());
  const MHD_Result ok = MHD_queue_response(connection, 200, resp);
  MHD_destroy_response(resp);
  if (!p.timer) {
    p.owner = this;
    p.name = path;
    auto tick = [](evutil_socket_t, short, void* arg) {
      auto* self = static_cast<Path*>(arg);
      self->owner->Tick(self->name);
    };
    p.timer.reset(event_new(worker_->base(), -1, EV_PERSIST, tick, &p));
  }
  if (p.readers == 1) {
    const int ms = ctx_->private_streams.at(path).period_ms;
    const timeval every = {ms / 1000, (ms % 1000) * 1000};
    AddEvent(p.timer.get(), &every, "private", "stream timer");
  }
  Tick(path);  // the first snapshot now, not a period later
  return ok;
}

void PrivateStreams::Tick(const std::string& path) {
  Path& p = paths_[path];
  if (p.asked || p.readers == 0) return;
  p.asked = true;
  std::weak_ptr<PrivateStreams*> alive = self_;
  Worker* worker = worker_;
  ctx_->private_streams.at(path).snapshot([alive, worker, path](std::string doc) {
    worker->Post([alive, path, doc = std::move(doc)] {
      if (auto self = alive.lock()) (*self)->Deliver(path, doc);
    });
  });
}

void PrivateStreams::Deliver(const std::string& path, const std::string& doc) {
  paths_[path].asked = false;
  if (stopping_) return;
  bool resumed = false;
  for (auto& [reader, owned] : readers_) {
    if (reader->path != path || reader->out.size() - reader->sent > kMaxBacklogBytes) continue;
    reader->out.append("data: ").append(doc).append("\n\n");
    if (reader->suspended) {
      reader->suspended = false;
      MHD_resume_connection(reader->connection);
      resumed = true;
    }
  }
  if (resumed) run_mhd_();
}

ssize_t PrivateStreams::Read(void* cls, uint64_t, char* buf, size_t max) {
  auto* r = static_cast<Reader*>(cls);
  if (r->sent < r->out.size()) {
    const size_t n = std::min(max, r->out.size() - r->sent);
    memcpy(buf, r->out.data() + r->sent, n);
    r->sent += n;
    if (r->sent == r->out.size()) {
      r->out.clear();
      r->sent = 0;
    }
    return static_cast<ssize_t>(n);
  }
  if (r->owner->stopping_) return MHD_CONTENT_READER_END_OF_STREAM;
  r->suspended = true;
  MHD_suspend_connection(r->connection);
  return 0;
}

void PrivateStreams::Free(void* cls) {
  auto* r = static_cast<Reader*>(cls);
  PrivateStreams* self = r->owner;
  Path& p = self->paths_[r->path];
  if (--p.readers == 0 && p.timer) event_del(p.timer.get());
  Add(self->ctx_->stats.open_private_streams, -1);
  self->readers_.erase(r);  // frees r
}

void PrivateStreams::Stop() {
  stopping_ = true;
  // Freed here, on the loop, while the event_base lives: the daemon (and
  // these paths) may be destroyed after the worker freed its base.
  for (auto& [path, p] : paths_) p.timer.reset();
  for (auto& [reader, owned] : readers_) {
    if (!reader->suspended) continue;
    reader->suspended = false;
    MHD_resume_connection(reader->connection);
  }
}

}  // namespace herald
