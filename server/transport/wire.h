// Wire encodings of one event JSON for each transport, and HTTP/1.1 chunk
// framing. Pure functions over strings so they are unit-tested alone.
#pragma once

#include <string>
#include <string_view>

namespace herald {

// es-web-notify frame: ''<N>''<json>, N = byte length (= JS length: json is ASCII).
void AppendStreamFrame(std::string* out, std::string_view json);
inline constexpr std::string_view kStreamHeartbeat = "''0''";

// Server-Sent Events. An application event: "id: <id>\ndata: <json>\n\n"
// (the JSON is one line: JSON text escapes every newline). A named event:
// "event: <name>\ndata: <json>\n\n". The heartbeat is a comment line.
void AppendSseEvent(std::string* out, std::string_view id, std::string_view json);
size_t SseEventSize(std::string_view id, std::string_view json);
void AppendSseNamedEvent(std::string* out, std::string_view name, std::string_view json);
inline constexpr std::string_view kSseHeartbeat = ":\n\n";

// HTTP/1.1 chunk: <hex size>\r\n<payload>\r\n. The one chunk framer:
// WriteChunkHead writes the head into `buf` (kChunkHeadMax bytes) and
// returns its length, so callers building an evbuffer or a shared frame in
// place need no temporary string; kChunkTail follows the payload.
inline constexpr size_t kChunkHeadMax = 24;
inline constexpr std::string_view kChunkTail = "\r\n";
size_t WriteChunkHead(char* buf, size_t payload_size);

}  // namespace herald
