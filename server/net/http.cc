#include "server/net/http.h"

#include <strings.h>

#include "server/util/json.h"

namespace herald {

const std::string* HttpRequest::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string_view HttpRequest::BearerToken() const {
  const std::string* h = Header("Authorization");
  constexpr size_t kScheme = 7;  // "Bearer "
  if (!h || h->size() <= kScheme || strncasecmp(h->c_str(), "bearer ", kScheme) != 0) return {};
  std::string_view token = std::string_view(*h).substr(kScheme);
  if (token.find_first_of(" \t") != std::string_view::npos) return {};
  return token;
}

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), name.size()) == 0) return &v;
  }
  return nullptr;
}

HttpResponse HttpResponse::Json(std::string body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(int status, std::string_view reason) {
  HttpResponse r;
  r.status = status;
  // The reason phrase must stay on one line of visible ASCII.
  for (char c : reason) r.reason.push_back((c < 0x20 || c > 0x7e) ? '?' : c);
  r.body = "{\"error\":" + JsonString(reason) + "}";
  return r;
}

void CountRejection(NodeStats& stats, const HttpResponse& resp) {
  if (resp.status < 400) return;
  const RejectCause cause = resp.cause ? *resp.cause : RejectCauseOfStatus(resp.status);
  Add(stats.rejected[static_cast<int>(cause)]);
}

HttpResponse HttpResponse::FromStatus(const Status& s) {
  HttpResponse r = Error(HttpStatusFor(s.kind()), s.reason());
  // RFC 9110 15.5.2: a 401 carries a challenge. herald's credentials are
  // bearer tokens (publisher tokens, JWTs).
  if (s.kind() == StatusKind::kUnauthorized) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

int HttpStatusFor(StatusKind kind) {
  switch (kind) {
    case StatusKind::kOk:
      return 200;
    case StatusKind::kBadRequest:
      return 400;
    case StatusKind::kUnauthorized:
      return 401;
    case StatusKind::kForbidden:
      return 403;
    case StatusKind::kNotFound:
      return 404;
    case StatusKind::kGone:
      return 410;
    case StatusKind::kTooLarge:
      return 413;
    case StatusKind::kHeadersTooLarge:
      return 431;
    case StatusKind::kUnavailable:
      return 503;
    case StatusKind::kInternal:
    case StatusKind::kConfig:
      return 500;
  }
  return 500;  // unreachable: -Wswitch makes a new kind add its case above
}

bool IsEsWebPath(std::string_view path) {
  return path == "/" || path == "/alive" || path == "/event" || path == "/connections";
}

void AdaptErrorBody(std::string_view path, HttpResponse* resp) {
  if (resp->status < 400 || !IsEsWebPath(path)) return;
  resp->content_type = "text/plain; charset=utf-8";
  resp->body = resp->reason.empty() ? StandardReason(resp->status) : resp->reason;
}

const char* StandardReason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 410:
      return "Gone";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

void Router::Add(std::string path, Handler handler, bool is_private) {
  routes_[std::move(path)] = Route{std::move(handler), is_private};
}

const Router::Route* Router::Find(const std::string& path) const {
  auto it = routes_.find(path);
  return it == routes_.end() ? nullptr : &it->second;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() + 0 && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(Decode(part), "");
    } else {
      out.emplace_back(Decode(part.substr(0, eq)), Decode(part.substr(eq + 1)));
    }
  }
  return out;
}

}  // namespace herald
