#include "server/util/version.h"

// Defined by server/CMakeLists.txt for this file only.
#ifndef HERALD_VERSION
#define HERALD_VERSION "unknown"
#endif
#ifndef HERALD_GIT_DESCRIBE
#define HERALD_GIT_DESCRIBE ""
#endif

namespace herald {

const char* Version() { return HERALD_VERSION; }
const char* GitDescribe() { return HERALD_GIT_DESCRIBE; }

std::string VersionLine() {
  std::string line = std::string("herald ") + Version();
  if (*GitDescribe()) line += std::string(" (git ") + GitDescribe() + ")";
  return line;
}

}  // namespace herald
