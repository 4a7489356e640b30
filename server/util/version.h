// herald's version, fixed at build time: the CMake project version and, when
// the tree was a git checkout at configure time, `git describe` of it.
#pragma once

#include <string>

namespace herald {

const char* Version();      // "0.1.0"
const char* GitDescribe();  // "b3041c0-dirty", or "" outside a git checkout
std::string VersionLine();  // "herald 0.1.0 (git b3041c0-dirty)", as --version prints

}  // namespace herald
