// libFuzzer target: the ACL file of bound topics (auth.acl_file). Any text
// either fails with a reason or gives records whose checks answer without
// crashing, for every kind of principal.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "auth/acl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto acl = herald::Acl::Parse(input, "fuzz.json");
  if (!acl.ok()) {
    if (acl.status().reason().empty()) std::abort();
    return 0;
  }
  const herald::Principal who[] = {{false, ""}, {true, ""}, {true, "alice"}, {true, "[][][]"}};
  for (const char* topic : {"orders/42", "a", "a/b", "", "#", "+"}) {
    herald::AclRecordRef r = (*acl)->Find(topic);
    if (!r) continue;
    if (r->ep != topic) std::abort();
    for (const herald::Principal& p : who) {
      (void)r->MayPublish(p);
      (void)r->MaySubscribe(p);
    }
    (void)r->SubAll();
  }
  return 0;
}
