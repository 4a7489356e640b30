#include "server/net/http.h"

#include <gtest/gtest.h>

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
