// The dashboard page (handlers/dashboard/dashboard.html), embedded at build
// time by CMake (server/CMakeLists.txt) into a generated source: the binary
// serves it without reading any file at run time.
#pragma once

#include <cstddef>

namespace herald {

extern const unsigned char kDashboardHtml[];
extern const size_t kDashboardHtmlSize;

}  // namespace herald
