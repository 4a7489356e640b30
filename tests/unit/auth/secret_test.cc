#include "auth/secret.h"

#include <gtest/gtest.h>

#include <set>

#include "auth/base64.h"

namespace herald {
namespace {

TEST(Secret, Is22Base64UrlCharsAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string s = NewSecret();
    EXPECT_EQ(s.size(), 22u);
    EXPECT_EQ(
        s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Secret, ConstantTimeCompare) {
  EXPECT_TRUE(SecretsEqual("abc", "abc"));
  EXPECT_FALSE(SecretsEqual("abc", "abd"));
  EXPECT_FALSE(SecretsEqual("abc", "abcd"));
}

TEST(Base64Url, KnownVectors) {
  auto enc = [](const char* s) {
    return Base64UrlEncode(reinterpret_cast<const unsigned char*>(s), strlen(s));
  };
  EXPECT_EQ(enc("f"), "Zg");
  EXPECT_EQ(enc("fo"), "Zm8");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("\xfb\xff"), "-_8");
}

}  // namespace
}  // namespace herald
