// Claims: what a verified JWT grants, reduced to the few fields herald acts
// on. A plain value copied into connections and tickets, so that nothing
// downstream keeps libjwt objects (or the token text) alive. Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/util/status.h"

namespace herald {

struct Claims {
  std::string sub;                   // the user id
  bool all_spaces = false;           // the spaces claim was "*" (or contained it)
  std::vector<std::string> spaces;   // the spaces claim as a list
  std::vector<std::string> publish;  // publisher topic filters (the `publish` claim)
  bool has_publish = false;          // the `publish` claim was present at all
  int64_t exp_s = 0;                 // 0: the token has no exp

  bool GrantsSpace(std::string_view space) const {
    if (all_spaces) return true;
    for (const std::string& s : spaces) {
      if (s == space) return true;
    }
    return false;
  }
};

// Claims as a small JSON object, for stores shared between nodes (tickets and
// poll sessions in Redis): {"sub","all","spaces","publish","has_publish","exp"}.
std::string EncodeClaims(const Claims& claims);
// kInternal when `json` is not what EncodeClaims writes.
Result<Claims> DecodeClaims(std::string_view json);

}  // namespace herald
