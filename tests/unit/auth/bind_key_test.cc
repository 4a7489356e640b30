#include "auth/bind_key.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <vector>

#include "auth/base64.h"
#include "auth/password.h"

namespace herald {
namespace {

constexpr int64_t kNow = 1700000000000;

EVP_PKEY* TestKey() {
  static EVP_PKEY* key = EVP_RSA_gen(2048);
  return key;
}

std::string Encrypt(const std::string& plain, int padding = RSA_PKCS1_PADDING) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(TestKey(), nullptr);
  EXPECT_GT(EVP_PKEY_encrypt_init(ctx), 0);
  EXPECT_GT(EVP_PKEY_CTX_set_rsa_padding(ctx, padding), 0);
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(plain.data());
  EXPECT_GT(EVP_PKEY_encrypt(ctx, nullptr, &len, in, plain.size()), 0);
  std::vector<unsigned char> out(len);
  EXPECT_GT(EVP_PKEY_encrypt(ctx, out.data(), &len, in, plain.size()), 0);
  EVP_PKEY_CTX_free(ctx);
  return Base64Encode(std::string(reinterpret_cast<const char*>(out.data()), len));
}

TEST(BindKey, DecodesPkcs1AndOaep) {
  for (int padding : {RSA_PKCS1_PADDING, RSA_PKCS1_OAEP_PADDING}) {
    auto id = DecodeBindKey(TestKey(), Encrypt(R"({"iat":1700000000000,"uid":"alice"})", padding),
                            kNow + 100, 3000);
    ASSERT_TRUE(id.ok()) << id.status().reason();
    EXPECT_EQ(id->uid, "alice");
    EXPECT_EQ(id->iat_ms, kNow);
  }
}

TEST(BindKey, IatInSecondsAndNumericUid) {
  auto id = DecodeBindKey(TestKey(), Encrypt(R"({"iat":1700000000,"uid":42})"), kNow + 5, 3000);
  ASSERT_TRUE(id.ok()) << id.status().reason();
  EXPECT_EQ(id->uid, "42");
  EXPECT_EQ(id->iat_ms, kNow);
}

TEST(BindKey, UnidentifiedWhenUidNullOrAbsent) {
  auto id = ParseBindKeyPayload(R"({"iat":1700000000000,"uid":null})", kNow, 3000);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->uid, "");
  EXPECT_TRUE(ParseBindKeyPayload(R"({"iat":1700000000000})", kNow, 3000).ok());
}

TEST(BindKey, WindowAndSkew) {
  EXPECT_TRUE(ParseBindKeyPayload(R"({"iat":1700000000000,"uid":"a"})", kNow + 3000, 3000).ok());
  auto old = ParseBindKeyPayload(R"({"iat":1700000000000,"uid":"a"})", kNow + 3001, 3000);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().kind(), StatusKind::kUnauthorized);
  EXPECT_EQ(old.status().reason(), "Invalid bind key: expired");
  EXPECT_TRUE(ParseBindKeyPayload(R"({"iat":1700000001000,"uid":"a"})", kNow, 3000).ok());
  auto future = ParseBindKeyPayload(R"({"iat":1700000001001,"uid":"a"})", kNow, 3000);
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.status().reason(), "Invalid bind key: issued in the future");
}

TEST(BindKey, RefusesGarbage) {
  const char* bad[] = {"", "!!!!", "aGVsbG8=", "AAAA"};
  for (const char* b : bad) EXPECT_FALSE(DecodeBindKey(TestKey(), b, kNow, 3000).ok()) << b;
  std::string k = Encrypt(R"({"iat":1700000000000,"uid":"a"})");
  k[10] = k[10] == 'A' ? 'B' : 'A';
  auto r = DecodeBindKey(TestKey(), k, kNow, 3000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), StatusKind::kUnauthorized);
  EXPECT_FALSE(DecodeBindKey(TestKey(), Encrypt("not json"), kNow, 3000).ok());
  EXPECT_FALSE(DecodeBindKey(TestKey(), Encrypt(R"({"uid":"a"})"), kNow, 3000).ok());
  EXPECT_FALSE(DecodeBindKey(TestKey(), Encrypt(R"({"iat":"x","uid":"a"})"), kNow, 3000).ok());
  EXPECT_FALSE(
      DecodeBindKey(TestKey(), Encrypt(R"({"iat":1700000000000,"uid":[1]})"), kNow, 3000).ok());
  EXPECT_FALSE(DecodeBindKey(nullptr, k, kNow, 3000).ok());
}

TEST(BindKey, LoadsPem) {
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, TestKey(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  auto key = LoadBindKeyPrivateKey(pem);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(
      DecodeBindKey(key->get(), Encrypt(R"({"iat":1700000000000,"uid":"a"})"), kNow, 3000).ok());
  EXPECT_FALSE(LoadBindKeyPrivateKey("nope").ok());
}

TEST(Password, HashAndVerify) {
  std::string h = HashPassword("s3cret", 1000);
  EXPECT_EQ(h.rfind("pbkdf2-sha256$1000$", 0), 0u);
  EXPECT_TRUE(IsPasswordHash(h));
  EXPECT_TRUE(VerifyPassword("s3cret", h));
  EXPECT_FALSE(VerifyPassword("s3cres", h));
  EXPECT_FALSE(VerifyPassword("", h));
  EXPECT_NE(HashPassword("s3cret", 1000), h);  // salted
  EXPECT_FALSE(IsPasswordHash("pbkdf2-sha256$0$AAAA$AAAA"));
  EXPECT_FALSE(IsPasswordHash("plain"));
  EXPECT_FALSE(VerifyPassword("plain", "plain"));
}

TEST(Password, Base64RoundTrip) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    std::string back;
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &back));
    EXPECT_EQ(back, s);
  }
  std::string out;
  EXPECT_FALSE(Base64Decode("abc", &out));
  EXPECT_FALSE(Base64Decode("a=bc", &out));
  EXPECT_FALSE(Base64Decode("ab$c", &out));
}

}  // namespace
}  // namespace herald
