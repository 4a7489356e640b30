// Who may use the private API: a configured publisher token, given as
// `Authorization: Bearer <token>` or `?token=`, compared in constant time.
// With no token configured, loopback clients only. Pure; any thread.
#pragma once

#include "server/core/config.h"
#include "server/net/http.h"

namespace herald {

bool IsLoopback(const std::string& ip);
bool AuthorizePrivate(const Config& config, const HttpRequest& req);
// Whether a listener checks the token itself before running the route's
// handler. A publisher JWT is no static token: with JWT keys configured,
// /event verifies the bearer and its `publish` claim itself (handlers/publish.cc).
bool ListenerChecksToken(const Config& config, const HttpRequest& req);

}  // namespace herald
