#include "bench/floor/request_head.h"

#include <strings.h>

#include <cstdlib>

namespace herald_floor {
namespace {

constexpr std::string_view kContentLength = "content-length:";

}  // namespace

ParseResult ParseRequestHead(std::string_view in, RequestHead* head) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return ParseResult::kIncomplete;
  *head = RequestHead{};
  head->head_len = end + 4;
  size_t line_end = in.find("\r\n");
  std::string_view line = in.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return ParseResult::kBad;
  head->method = line.substr(0, sp1);
  head->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  for (size_t at = line_end + 2; at < end;) {
    size_t next = in.find("\r\n", at);
    std::string_view h = in.substr(at, next - at);
    if (h.size() > kContentLength.size() &&
        strncasecmp(h.data(), kContentLength.data(), kContentLength.size()) == 0) {
      // The head ends in "\r\n\r\n", so strtoull stops inside `in`.
      head->body_len = strtoull(h.data() + kContentLength.size(), nullptr, 10);
    }
    at = next + 2;
  }
  return ParseResult::kDone;
}

std::string_view QueryParam(std::string_view target, std::string_view name) {
  size_t q = target.find('?');
  while (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    q = amp == std::string_view::npos ? amp : q + 1 + amp;
  }
  return {};
}

}  // namespace herald_floor
