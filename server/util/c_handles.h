// RAII owners for the C handles herald uses. Each is a std::unique_ptr with a
// deleter, so ownership is explicit and nothing leaks on early returns.
// hiredis's redisAsyncContext is the exception (STYLE.md habit 7): hiredis
// frees it itself after its disconnect callback, so its owner only clears
// its pointer there.
#pragma once

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <microhttpd.h>
#include <unistd.h>

#include <memory>
#include <utility>

#include "server/util/handles.h"  // CDeleter, and the cJSON / OpenSSL / libjwt owners

namespace herald {

using EventBasePtr = std::unique_ptr<event_base, CDeleter<event_base, event_base_free>>;
using EventPtr = std::unique_ptr<event, CDeleter<event, event_free>>;
using EvhttpPtr = std::unique_ptr<evhttp, CDeleter<evhttp, evhttp_free>>;
using EvbufferPtr = std::unique_ptr<evbuffer, CDeleter<evbuffer, evbuffer_free>>;
using MhdDaemonPtr = std::unique_ptr<MHD_Daemon, CDeleter<MHD_Daemon, MHD_stop_daemon>>;

// A file descriptor, closed when its owner goes.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

}  // namespace herald
