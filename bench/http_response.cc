#include "bench/http_response.h"

#include <strings.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace herald_bench {

long ReadLine(evbuffer* in, char* out, size_t cap) {
  size_t eol_len = 0;
  evbuffer_ptr p = evbuffer_search_eol(in, nullptr, &eol_len, EVBUFFER_EOL_CRLF);
  if (p.pos < 0) return -1;
  size_t n = size_t(p.pos);
  size_t copy = std::min(n, cap - 1);
  evbuffer_copyout(in, out, copy);
  out[copy] = '\0';
  evbuffer_drain(in, n + eol_len);
  return long(n);
}

namespace {
// A peer that sends an endless header line is broken; do not buffer forever.
constexpr size_t kMaxLine = 16 * 1024;
}  // namespace

HttpResponseParser::Result HttpResponseParser::Feed(evbuffer* in, evbuffer* body) {
  Result r;
  char line[256];
  for (;;) {
    switch (state_) {
      case kStatus: {
        long n = ReadLine(in, line, sizeof line);
        if (n < 0) {
          r.error = evbuffer_get_length(in) > kMaxLine;
          return r;
        }
        if (n == 0) continue;  // tolerate a stray CRLF between messages
        if (strncmp(line, "HTTP/1.", 7) != 0 || n < 12) {
          r.error = true;
          return r;
        }
        status_ = uint16_t(atoi(line + 9));
        close_ = line[7] == '0';  // HTTP/1.0 closes unless told otherwise
        state_ = kHeaders;
        break;
      }
      case kHeaders: {
        long n = ReadLine(in, line, sizeof line);
        if (n < 0) {
          r.error = evbuffer_get_length(in) > kMaxLine;
          return r;
        }
        if (n > 0) {
          if (strncasecmp(line, "transfer-encoding:", 18) == 0) {
            chunked_ = strcasestr(line + 18, "chunked") != nullptr;
          } else if (strncasecmp(line, "content-length:", 15) == 0) {
            has_length_ = true;
            left_ = strtoull(line + 15, nullptr, 10);
          } else if (strncasecmp(line, "connection:", 11) == 0) {
            if (strcasestr(line + 11, "close")) close_ = true;
            if (strcasestr(line + 11, "keep-alive")) close_ = false;
          }
          break;
        }
        r.headers_done = true;
        if (chunked_) {
          state_ = kChunkSize;
        } else if (has_length_) {
          state_ = left_ ? kLength : kDone;
        } else if (status_ == 204 || status_ == 304) {
          state_ = kDone;
        } else {
          state_ = kUntilClose;
          close_ = true;
        }
        if (state_ == kDone) {
          r.complete = true;
          return r;
        }
        break;
      }
      case kChunkSize: {
        long n = ReadLine(in, line, sizeof line);
        if (n < 0) {
          r.error = evbuffer_get_length(in) > kMaxLine;
          return r;
        }
        char* end = nullptr;
        left_ = strtoull(line, &end, 16);
        if (end == line) {
          r.error = true;
          return r;
        }
        state_ = left_ ? kChunkData : kTrailers;
        break;
      }
      case kChunkData:
      case kLength: {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0) return r;
        size_t n = size_t(std::min<uint64_t>(avail, left_));
        evbuffer_remove_buffer(in, body, n);
        left_ -= n;
        if (left_ == 0) {
          if (state_ == kLength) {
            state_ = kDone;
            r.complete = true;
            return r;
          }
          state_ = kChunkCrlf;
        }
        break;
      }
      case kChunkCrlf: {
        long n = ReadLine(in, line, sizeof line);
        if (n < 0) return r;
        if (n != 0) {
          r.error = true;
          return r;
        }
        state_ = kChunkSize;
        break;
      }
      case kTrailers: {
        long n = ReadLine(in, line, sizeof line);
        if (n < 0) return r;
        if (n == 0) {
          state_ = kDone;
          r.complete = true;
          return r;
        }
        break;
      }
      case kUntilClose: {
        size_t avail = evbuffer_get_length(in);
        if (avail) evbuffer_remove_buffer(in, body, avail);
        return r;
      }
      case kDone:
        return r;
    }
  }
}

}  // namespace herald_bench
