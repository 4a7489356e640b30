// The one HTTP/1.1 request head parser of herald-floor: just enough to tell a
// subscriber's GET from a publisher's POST and to find the body's length.
// No header beyond Content-Length is read, nothing is decoded or validated
// (the floor trusts herald-bench, which is all it ever talks to).
#pragma once

#include <cstddef>
#include <string_view>

namespace herald_floor {

struct RequestHead {
  std::string_view method;
  std::string_view target;  // path and query, as sent (not URL-decoded)
  size_t head_len = 0;      // bytes up to and including the blank line
  size_t body_len = 0;      // Content-Length, 0 when absent
};

enum class ParseResult { kIncomplete, kDone, kBad };

// Parses the head at the start of `in`; the views point into `in`.
ParseResult ParseRequestHead(std::string_view in, RequestHead* head);

// The value of query parameter `name` in `target` ("" when absent).
std::string_view QueryParam(std::string_view target, std::string_view name);

}  // namespace herald_floor
