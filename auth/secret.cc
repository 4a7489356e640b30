#include "auth/secret.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "auth/base64.h"

namespace herald {

std::string NewSecret() {
  unsigned char bytes[16];
  // A failing CSPRNG leaves no safe way to go on: secrets would be guessable.
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();
  return Base64UrlEncode(bytes, sizeof bytes);
}

bool SecretsEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace herald
