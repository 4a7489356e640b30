#include "server/core/connid.h"

#include <unistd.h>

#include <functional>
#include <string>

namespace herald {

int ResolveNodeId(int configured) {
  if (configured >= 0 && configured <= kMaxNodeId) return configured;
  // Computed once, so every worker of this process mints the same node id.
  static const int derived = [] {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    const size_t h = std::hash<std::string>{}(std::string(host) + "/" + std::to_string(getpid()));
    return static_cast<int>(h % (kMaxNodeId + 1));
  }();
  return derived;
}

}  // namespace herald
