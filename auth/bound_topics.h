// Bound ("binded") topics, es-web-notify style: who a bind key names, and
// whether the ACL lets them subscribe to each bound topic. Also the start-up
// loading of the bind-key private key and the ACL file. Pure functions over
// their arguments (file reads aside); any thread. The handlers keep only the
// HTTP glue (handlers/admin.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/acl.h"
#include "auth/bind_key.h"
#include "server/util/status.h"

namespace herald {

// With an empty `bind_key`, `who` is unbound and Ok ("binded" only works with
// a bind key; the topics are then plain subscriptions). Otherwise decodes the
// key with `key` (valid for `max_age_ms` before `now_ms`) into `who`, and
// checks each bound topic: no wildcard (400), registered in `acl` (403), and
// subscribable by `who` (403). `key` and `acl` may be null (nothing decodes /
// nothing is registered).
Status AuthorizeBoundTopics(EVP_PKEY* key, const Acl* acl, const std::string& bind_key,
                            const std::vector<std::string>& bound, int64_t now_ms,
                            int64_t max_age_ms, Principal* who);

// Reads the PEM private key at `path`; errors name the config key and file.
Result<EvpPkeyPtr> LoadBindKeyPrivateKeyFile(const std::string& path);
// Reads and parses the ACL file at `path`; errors name the config key and file.
Result<std::shared_ptr<const Acl>> LoadAclFile(const std::string& path);

}  // namespace herald
