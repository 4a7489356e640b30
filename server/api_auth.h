// Who may use the private API: a configured publisher token, given as
// `Authorization: Bearer <token>` or `?token=`, compared in constant time.
// With no token configured, loopback clients only. Pure; any thread.
#pragma once

#include "server/config.h"
#include "server/http.h"

namespace herald {

bool IsLoopback(const std::string& ip);
bool AuthorizePrivate(const Config& config, const HttpRequest& req);

}  // namespace herald
