#include "auth/bound_topics.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(BoundTopics, NoBindKeyMeansUnboundPlainTopics) {
  Principal who;
  who.bound = true;
  EXPECT_TRUE(AuthorizeBoundTopics(nullptr, nullptr, "", {"a/b"}, 0, 3000, &who).ok());
  EXPECT_FALSE(who.bound);
}

TEST(BoundTopics, AnUndecodableBindKeyIsRefused) {
  Principal who;
  Status s = AuthorizeBoundTopics(nullptr, nullptr, "not-a-key", {"a/b"}, 0, 3000, &who);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.kind(), StatusKind::kUnauthorized);
  EXPECT_FALSE(who.bound);
}

TEST(BoundTopics, FileLoadersNameTheKeyAndTheFile) {
  auto key = LoadBindKeyPrivateKeyFile("/nonexistent/key.pem");
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().reason().find("auth.bind_key_private_key: /nonexistent/key.pem"),
            std::string::npos);
  auto acl = LoadAclFile("/nonexistent/acl.json");
  ASSERT_FALSE(acl.ok());
  EXPECT_NE(acl.status().reason().find("auth.acl_file: /nonexistent/acl.json"), std::string::npos);
}

}  // namespace
}  // namespace herald
