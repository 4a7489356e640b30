#include "server/connection.h"

#include <cstdio>

#include "server/wire.h"

namespace herald {

const char* TransportName(Transport t) {
  switch (t) {
    case Transport::kStream: return "stream";
    case Transport::kSse: return "sse";
    case Transport::kPoll: return "poll";
  }
  return "?";
}

const char* CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kClient: return "client";
    case CloseReason::kTimeout: return "timeout";
    case CloseReason::kSlow: return "slow";
    case CloseReason::kShutdown: return "shutdown";
    case CloseReason::kKicked: return "kicked";
    case CloseReason::kUnauthorized: return "unauthorized";
  }
  return "?";
}

void FrameCache::Reset(const Event* ev, std::string_view filter) {
  event_ = ev;
  filter_ = filter;
  have_json_ = have_stream_ = false;
}

std::string_view FrameCache::Json() {
  if (!have_json_) {
    json_.clear();  // keeps capacity: no allocation once warmed up
    AppendEventJson(&json_, *event_, filter_);
    have_json_ = true;
  }
  return json_;
}

std::string_view FrameCache::StreamFrame(bool chunked) {
  if (!have_stream_) {
    // Built in place (no temporary frame string): chunk head, frame, CRLF.
    std::string_view json = Json();
    const std::string len = std::to_string(json.size());
    char head[24];
    int n = std::snprintf(head, sizeof head, "%zx\r\n", json.size() + len.size() + 4);
    stream_chunk_.clear();
    stream_chunk_.append(head, static_cast<size_t>(n));
    stream_offset_ = stream_chunk_.size();
    AppendStreamFrame(&stream_chunk_, json);
    stream_chunk_.append("\r\n");
    have_stream_ = true;
  }
  std::string_view all = stream_chunk_;
  if (chunked) return all;
  return all.substr(stream_offset_, all.size() - stream_offset_ - 2);
}

}  // namespace herald
