// A tiny incremental HTTP/1.1 response parser for the load generator. It keeps
// ~16 bytes of state per connection (10,000 subscribers must stay cheap) and
// moves de-chunked body bytes into a caller-owned evbuffer without copying.
#pragma once

#include <event2/buffer.h>

#include <cstdint>

namespace herald_bench {

class HttpResponseParser {
 public:
  struct Result {
    bool headers_done = false;  // status line and headers were consumed now
    bool complete = false;      // the whole message was consumed
    bool error = false;         // malformed input; close the connection
  };

  // Consumes what it can from `in`; body bytes go to `body`. Stops right
  // after a complete message, so the caller can Reset() for the next one.
  Result Feed(evbuffer* in, evbuffer* body);
  void Reset() { *this = HttpResponseParser(); }

  int status() const { return status_; }
  bool keep_alive() const { return !close_; }
  bool in_body() const { return state_ >= kChunkSize && state_ != kDone; }
  bool done() const { return state_ == kDone; }

 private:
  enum State : uint8_t {
    kStatus,
    kHeaders,
    kChunkSize,
    kChunkData,
    kChunkCrlf,
    kTrailers,
    kLength,
    kUntilClose,
    kDone,
  };
  uint64_t left_ = 0;
  uint16_t status_ = 0;
  State state_ = kStatus;
  bool chunked_ = false;
  bool close_ = false;
  bool has_length_ = false;
};

// Reads one CRLF/LF-terminated line into out (truncated to cap-1 bytes,
// NUL-terminated) and drains it. Returns the full line length, or -1 when no
// complete line is buffered yet.
long ReadLine(evbuffer* in, char* out, size_t cap);

}  // namespace herald_bench
