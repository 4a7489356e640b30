#include "server/net/api_auth.h"

#include "auth/secret.h"

namespace herald {

bool IsLoopback(const std::string& ip) {
  return ip.rfind("127.", 0) == 0 || ip == "::1" || ip.rfind("::ffff:127.", 0) == 0;
}

bool AuthorizePrivate(const Config& config, const HttpRequest& req) {
  if (config.tokens.empty()) return IsLoopback(req.remote_ip);
  std::string_view given = req.BearerToken();
  if (given.empty()) {
    if (const std::string* q = req.Query("token")) given = *q;
  }
  if (given.empty()) return false;
  bool match = false;
  // Check every token so timing does not tell which one matched.
  for (const std::string& t : config.tokens) match |= SecretsEqual(t, given);
  return match;
}

bool ListenerChecksToken(const Config& config, const HttpRequest& req) {
  return !(req.path == "/event" && config.auth.JwtEnabled() && req.Header("Authorization"));
}

}  // namespace herald
