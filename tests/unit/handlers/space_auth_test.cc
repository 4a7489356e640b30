// CheckSpaceAuth (handlers/admission.h): who may open a connection inside a space.
#include <gtest/gtest.h>
#include <jwt.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "handlers/admission.h"
#include "handlers/handlers.h"
#include "server/context.h"
#include "server/core/event.h"
#include "server/core/space.h"
#include "server/hub.h"
#include "server/worker.h"

namespace herald {
namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";

std::string Mint(const std::string& claims_json, const std::string& key = kSecret) {
  jwt_t* j = nullptr;
  jwt_new(&j);
  jwt_add_grants_json(j, claims_json.c_str());
  jwt_set_alg(j, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key.data()),
              static_cast<int>(key.size()));
  char* s = jwt_encode_str(j);
  std::string out = s ? s : "";
  free(s);
  jwt_free(j);
  return out;
}

std::string Exp(int64_t s_from_now) { return std::to_string(NowMs() / 1000 + s_from_now); }

class SpaceAuthTest : public testing::Test {
 protected:
  void SetUp() override {
    ctx_.config.auth.jwt_hs256_secret = kSecret;
    ASSERT_TRUE(LoadJwtAuth(ctx_).ok());
  }

  Result<SpaceAuth> Check(const HttpRequest& req, const std::string& space,
                          std::vector<std::string> filters = {}) {
    if (filters.empty() && !space.empty()) filters.push_back(SpaceTopic(space, "news"));
    return CheckSpaceAuth(ctx_, req, space, filters);
  }

  static HttpRequest WithBearer(const std::string& token) {
    HttpRequest req;
    req.headers.emplace_back("Authorization", "Bearer " + token);
    return req;
  }

  static int Code(const Result<SpaceAuth>& r) {
    return r.ok() ? 0 : HttpStatusFor(r.status().kind());
  }

  ServerContext ctx_;
};

TEST_F(SpaceAuthTest, OutsideASpaceNothingIsRequired) {
  auto r = Check(HttpRequest(), "", {"a/b"});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->required);
  EXPECT_FALSE(r->pending);
}

TEST_F(SpaceAuthTest, WithoutAJwtKeySpacesAreOpen) {
  ServerContext open;
  auto r = CheckSpaceAuth(open, HttpRequest(), "s1", {SpaceTopic("s1", "news")});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->required);
}

TEST_F(SpaceAuthTest, NoCredentialsLeavesTheConnectionPending) {
  auto r = Check(HttpRequest(), "s1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->required);
  EXPECT_TRUE(r->pending);
}

TEST_F(SpaceAuthTest, ATokenGrantingTheSpaceIsAccepted) {
  auto r =
      Check(WithBearer(Mint(R"({"sub":"u1","spaces":["s1","s2"],"exp":)" + Exp(60) + "}")), "s1");
  ASSERT_TRUE(r.ok()) << r.status().reason();
  EXPECT_TRUE(r->required);
  EXPECT_FALSE(r->pending);
  EXPECT_EQ(r->claims.sub, "u1");
}

TEST_F(SpaceAuthTest, ATokenForAnotherSpaceIsRefused) {
  auto r = Check(WithBearer(Mint(R"({"sub":"u1","spaces":["s2"],"exp":)" + Exp(60) + "}")), "s1");
  EXPECT_EQ(Code(r), 401);
  EXPECT_NE(r.status().reason().find("space not granted"), std::string::npos)
      << r.status().reason();
}

TEST_F(SpaceAuthTest, BadOrExpiredTokensAreRefused) {
  EXPECT_EQ(Code(Check(WithBearer("not.a.jwt"), "s1")), 401);
  const std::string good_claims = R"({"spaces":["s1"],"exp":)" + Exp(60) + "}";
  EXPECT_EQ(Code(Check(WithBearer(Mint(good_claims, "another-secret-another-secret-xx")), "s1")),
            401);
  EXPECT_EQ(Code(Check(WithBearer(Mint(R"({"spaces":["s1"]})")), "s1")), 401);  // no exp
  auto expired = Check(WithBearer(Mint(R"({"spaces":["s1"],"exp":)" + Exp(-3600) + "}")), "s1");
  EXPECT_EQ(Code(expired), 401);
  // The same claims, well signed, pass: the refusals above are about the token, not the space.
  EXPECT_TRUE(Check(WithBearer(Mint(good_claims)), "s1").ok());
}

TEST_F(SpaceAuthTest, FiltersOutsideTheSpaceAreForbidden) {
  const std::string token = Mint(R"({"spaces":["s1","s2"],"exp":)" + Exp(60) + "}");
  EXPECT_TRUE(Check(WithBearer(token), "s1", {SpaceTopic("s1", "news")}).ok());
  auto r = Check(WithBearer(token), "s1", {SpaceTopic("s1", "news"), "a/b"});
  EXPECT_EQ(Code(r), 403);
  // Another space's channel is outside too, even for a token that grants both.
  auto r2 = Check(WithBearer(token), "s1", {SpaceTopic("s2", "news")});
  EXPECT_EQ(Code(r2), 403);
}

TEST_F(SpaceAuthTest, ATicketIsHandedOnToBeRedeemed) {
  // The ticket store may be another node's (Redis): CheckSpaceAuth only
  // finds the ticket; RedeemTicketThen redeems it and checks its claims.
  HttpRequest req;
  req.query.emplace_back("ticket", "t-1");
  auto r = Check(req, "s1");
  ASSERT_TRUE(r.ok()) << r.status().reason();
  EXPECT_EQ(r->ticket, "t-1");
  EXPECT_FALSE(r->pending);
}

TEST_F(SpaceAuthTest, RedeemedClaimsAreCheckedForExpiryAndSpace) {
  Claims claims;
  claims.spaces = {"s1"};
  claims.exp_s = NowMs() / 1000 + 60;
  EXPECT_TRUE(CheckClaims(ctx_, "s1", claims).ok());
  EXPECT_EQ(CheckClaims(ctx_, "s2", claims).kind(), StatusKind::kUnauthorized);
  claims.exp_s = NowMs() / 1000 - 3600;
  EXPECT_EQ(CheckClaims(ctx_, "s1", claims).kind(), StatusKind::kUnauthorized);
}

}  // namespace
}  // namespace herald
