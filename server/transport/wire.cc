#include "server/transport/wire.h"

#include <cstdio>

namespace herald {

void AppendStreamFrame(std::string* out, std::string_view json) {
  out->append("''");
  out->append(std::to_string(json.size()));
  out->append("''");
  out->append(json);
}

void AppendSseEvent(std::string* out, std::string_view id, std::string_view json) {
  out->append("id: ");
  out->append(id);
  out->append("\ndata: ");
  out->append(json);
  out->append("\n\n");
}

size_t SseEventSize(std::string_view id, std::string_view json) {
  return 4 + id.size() + 7 + json.size() + 2;
}

void AppendSseNamedEvent(std::string* out, std::string_view name, std::string_view json) {
  out->append("event: ");
  out->append(name);
  out->append("\ndata: ");
  out->append(json);
  out->append("\n\n");
}

size_t WriteChunkHead(char* buf, size_t payload_size) {
  const int n = std::snprintf(buf, kChunkHeadMax, "%zx\r\n", payload_size);
  return n < 0 ? 0 : static_cast<size_t>(n);
}

}  // namespace herald
