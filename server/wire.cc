#include "server/wire.h"

#include <cstdio>

namespace herald {

void AppendStreamFrame(std::string* out, std::string_view json) {
  out->append("''");
  out->append(std::to_string(json.size()));
  out->append("''");
  out->append(json);
}

void AppendChunk(std::string* out, std::string_view payload) {
  char head[20];
  int n = std::snprintf(head, sizeof head, "%zx\r\n", payload.size());
  out->append(head, static_cast<size_t>(n));
  out->append(payload);
  out->append("\r\n");
}

}  // namespace herald
