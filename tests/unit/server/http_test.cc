#include "server/net/http.h"

#include <gtest/gtest.h>

#include <iterator>

#include "server/net/api_auth.h"

namespace herald {
namespace {

TEST(QueryString, DecodesPairs) {
  auto q = ParseQueryString("topic=a%2Fb&topic=c+d&flag&x=%zz");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"topic", "a/b"}));
  EXPECT_EQ(q[1].second, "c d");
  EXPECT_EQ(q[2].first, "flag");
  EXPECT_EQ(q[3].second, "%zz");
}

// Issue 11.6: one function maps every error kind to its HTTP status.
TEST(HttpStatusFor, EveryKind) {
  const std::pair<StatusKind, int> kWant[] = {
      {StatusKind::kOk, 200},           {StatusKind::kBadRequest, 400},
      {StatusKind::kUnauthorized, 401}, {StatusKind::kForbidden, 403},
      {StatusKind::kNotFound, 404},     {StatusKind::kGone, 410},
      {StatusKind::kTooLarge, 413},     {StatusKind::kHeadersTooLarge, 431},
      {StatusKind::kUnavailable, 503},  {StatusKind::kInternal, 500},
      {StatusKind::kConfig, 500},
  };
  // A new kind must get a row here (and a case in HttpStatusFor).
  static_assert(static_cast<size_t>(StatusKind::kConfig) + 1 == std::size(kWant));
  for (const auto& [kind, status] : kWant) {
    EXPECT_EQ(HttpStatusFor(kind), status) << static_cast<int>(kind);
  }
}

TEST(HttpResponse, FromStatusUsesTheKindAndTheReason) {
  const std::pair<Status, int> kCases[] = {
      {Status::BadRequest("Topic missing"), 400},
      {Status::Unauthorized("Missing or wrong token"), 401},
      {Status::Forbidden("Not allowed to publish to a"), 403},
      {Status::NotFound("Not found"), 404},
      {Status::Gone("Unknown or expired session"), 410},
      {Status::TooLarge("Event too large"), 413},
      {Status::HeadersTooLarge("Request headers too large"), 431},
      {Status::Unavailable("Too many connections"), 503},
      {Status::Internal("dup failed"), 500},
      {Status::Config("auth.acl_file: cannot read"), 500},
  };
  for (const auto& [s, status] : kCases) {
    HttpResponse r = HttpResponse::FromStatus(s);
    EXPECT_EQ(r.status, status) << s.reason();
    EXPECT_EQ(r.reason, s.reason());
    EXPECT_EQ(r.body, "{\"error\":\"" + s.reason() + "\"}");
    EXPECT_STRNE(StandardReason(r.status), "Error") << r.status;
  }
}

// Transitional Status::Error(int, ...): code that still passes a number
// answers with that number.
TEST(Status, ErrorFromANumberAnswersThatNumber) {
  for (int status : {400, 401, 403, 404, 410, 413, 431, 500, 503}) {
    EXPECT_EQ(HttpStatusFor(Status::Error(status, "x").kind()), status);
  }
  EXPECT_EQ(Status::Error(502, "x").kind(), StatusKind::kInternal);
  EXPECT_EQ(Status::Error(418, "x").kind(), StatusKind::kBadRequest);
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().kind(), StatusKind::kOk);
}

TEST(HttpResponse, ErrorIsJsonWithReasonPhrase) {
  HttpResponse r = HttpResponse::Error(400, "Bad \"thing\"\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.reason, "Bad \"thing\"?");
  EXPECT_EQ(r.body, R"({"error":"Bad \"thing\"\n"})");
}

// Issue 10.2: the es-web endpoints answer errors as the original, a text/plain reason.
TEST(HttpResponse, EsWebPathsGetPlainTextErrors) {
  for (const char* path : {"/", "/alive", "/event", "/connections"}) {
    HttpResponse r = HttpResponse::Error(400, "Max alive reached");
    AdaptErrorBody(path, &r);
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8") << path;
    EXPECT_EQ(r.body, "Max alive reached") << path;
    EXPECT_EQ(r.reason, "Max alive reached") << path;
  }
  for (const char* path : {"/sse", "/poll", "/join", "/authenticate", "/state", "/alive/x"}) {
    HttpResponse r = HttpResponse::Error(400, "Invalid data");
    AdaptErrorBody(path, &r);
    EXPECT_EQ(r.body, "{\"error\":\"Invalid data\"}") << path;
  }
  HttpResponse ok = HttpResponse::Json("{\"connid\":1}");
  AdaptErrorBody("/alive", &ok);
  EXPECT_EQ(ok.body, "{\"connid\":1}");
  EXPECT_EQ(ok.content_type, "application/json");
}

TEST(PrivateAuth, BearerOrQueryTokenOrLoopbackWhenNoneConfigured) {
  Config c;
  HttpRequest req;
  req.remote_ip = "10.0.0.5";
  EXPECT_FALSE(AuthorizePrivate(c, req));
  req.remote_ip = "127.0.0.1";
  EXPECT_TRUE(AuthorizePrivate(c, req));

  c.tokens = {"t1", "t2"};
  EXPECT_FALSE(AuthorizePrivate(c, req));  // a token is configured: loopback is not enough
  req.headers = {{"authorization", "Bearer t2"}};
  EXPECT_TRUE(AuthorizePrivate(c, req));
  req.headers = {{"Authorization", "Bearer t3"}};
  EXPECT_FALSE(AuthorizePrivate(c, req));
  req.headers.clear();
  req.query = {{"token", "t1"}};
  EXPECT_TRUE(AuthorizePrivate(c, req));
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {

std::string_view BearerOf(HttpRequest& req, std::string header) {
  req.headers = {{"Authorization", std::move(header)}};
  return req.BearerToken();
}

// One rule for /event, /ticket, space connections and the private API.
TEST(BearerToken, SchemeCaseInsensitiveOneSpaceNonEmptyToken) {
  HttpRequest req;
  EXPECT_EQ(req.BearerToken(), "");
  EXPECT_EQ(BearerOf(req, "Bearer abc.def"), "abc.def");
  EXPECT_EQ(BearerOf(req, "bEaReR abc"), "abc");
  EXPECT_EQ(BearerOf(req, "Bearer "), "");
  EXPECT_EQ(BearerOf(req, "Bearer"), "");
  EXPECT_EQ(BearerOf(req, "Bearer  abc"), "");  // two spaces
  EXPECT_EQ(BearerOf(req, "Bearer a b"), "");
  EXPECT_EQ(BearerOf(req, "Basic abc"), "");
  EXPECT_EQ(BearerOf(req, "Bearerabc"), "");
}

}  // namespace
}  // namespace herald
