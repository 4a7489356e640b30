#include "auth/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <vector>

#include "auth/base64.h"

namespace herald {
namespace {

constexpr std::string_view kPrefix = "pbkdf2-sha256$";
constexpr size_t kHashBytes = 32;
constexpr int kMaxIterations = 10000000;

struct Parsed {
  int iterations = 0;
  std::string salt;
  std::string hash;
};

bool Parse(std::string_view text, Parsed* out) {
  if (text.substr(0, kPrefix.size()) != kPrefix) return false;
  text.remove_prefix(kPrefix.size());
  size_t a = text.find('$');
  if (a == std::string_view::npos || a == 0 || a > 8) return false;
  int iterations = 0;
  for (char c : text.substr(0, a)) {
    if (c < '0' || c > '9') return false;
    iterations = iterations * 10 + (c - '0');
  }
  if (iterations < 1 || iterations > kMaxIterations) return false;
  text.remove_prefix(a + 1);
  size_t b = text.find('$');
  if (b == std::string_view::npos) return false;
  if (!Base64Decode(text.substr(0, b), &out->salt) || out->salt.empty()) return false;
  if (!Base64Decode(text.substr(b + 1), &out->hash) || out->hash.size() != kHashBytes) {
    return false;
  }
  out->iterations = iterations;
  return true;
}

bool Derive(std::string_view password, const std::string& salt, int iterations, std::string* out) {
  out->assign(kHashBytes, '\0');
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                           reinterpret_cast<const unsigned char*>(salt.data()),
                           static_cast<int>(salt.size()), iterations, EVP_sha256(),
                           static_cast<int>(kHashBytes),
                           reinterpret_cast<unsigned char*>(out->data())) == 1;
}

}  // namespace

std::string HashPassword(std::string_view password, int iterations) {
  if (iterations < 1 || iterations > kMaxIterations) return "";
  std::string salt(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), 16) != 1) return "";
  std::string hash;
  if (!Derive(password, salt, iterations, &hash)) return "";
  return std::string(kPrefix) + std::to_string(iterations) + "$" + Base64Encode(salt) + "$" +
         Base64Encode(hash);
}

bool VerifyPassword(std::string_view password, std::string_view hash) {
  Parsed p;
  if (!Parse(hash, &p)) return false;
  std::string got;
  if (!Derive(password, p.salt, p.iterations, &got)) return false;
  return CRYPTO_memcmp(got.data(), p.hash.data(), kHashBytes) == 0;
}

bool IsPasswordHash(std::string_view hash) {
  Parsed p;
  return Parse(hash, &p);
}

}  // namespace herald
