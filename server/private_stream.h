// PrivateStreams: the private API's event streams (ServerContext::
// private_streams, e.g. GET /state/stream) on one worker's MHD daemon.
//
// A reader gets a chunked text/event-stream response whose body MHD pulls
// from a content-reader callback. With nothing to send, the callback
// suspends the connection (MHD would otherwise call it again on every run);
// a new snapshot is appended as one `data:` line and the connection resumed.
// While a path has readers on this daemon, a timer asks for its snapshot
// every period: one snapshot per daemon and period, whatever the number of
// readers. A suspended connection does not see its client leave; it does at
// the next snapshot (the write fails), which frees its slot.
//
// Threading: everything on the owning worker's loop thread, like its daemon.
#pragma once

#include <microhttpd.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "server/net/http.h"
#include "server/util/c_handles.h"

namespace herald {

struct ServerContext;
class Worker;

class PrivateStreams {
 public:
  // `run_mhd` makes the daemon run again soon (a resumed connection waits
  // for MHD's next run).
  PrivateStreams(ServerContext* ctx, Worker* worker, std::function<void()> run_mhd);
  ~PrivateStreams();

  bool IsStream(const std::string& path) const;
  // The answer refusing `req` (wrong method, too many readers node-wide), or
  // nullopt with a slot taken: then Open must follow.
  std::optional<HttpResponse> Admit(const HttpRequest& req);
  // From MHD's request callback: queues the stream response on `connection`.
  MHD_Result Open(MHD_Connection* connection, const std::string& path);
  // Before the daemon stops: ends every stream (MHD must not stop with
  // suspended connections).
  void Stop();

 private:
  struct Reader;
  // One per path ever opened on this daemon (never erased: the timer's
  // argument is its address).
  struct Path {
    PrivateStreams* owner = nullptr;
    std::string name;
    EventPtr timer;
    bool asked = false;  // a snapshot is on its way
    int readers = 0;
  };
  static ssize_t Read(void* cls, uint64_t pos, char* buf, size_t max);
  static void Free(void* cls);
  void Tick(const std::string& path);
  void Deliver(const std::string& path, const std::string& doc);

  ServerContext* const ctx_;
  Worker* const worker_;
  const std::function<void()> run_mhd_;
  bool stopping_ = false;
  std::map<std::string, Path> paths_;
  std::map<Reader*, std::unique_ptr<Reader>> readers_;
  // Snapshots come back from other threads: they check this is still alive.
  std::shared_ptr<PrivateStreams*> self_;
};

}  // namespace herald
