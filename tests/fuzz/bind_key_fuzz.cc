// libFuzzer target: bind-key decoding. The first byte picks the path: the
// payload parser alone (most of the logic a decrypted key reaches), or the
// whole DecodeBindKey (base64, length check, RSA decryption with both
// paddings) with a fixed key generated once.
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/base64.h"
#include "auth/bind_key.h"
#include "auth/password.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static EVP_PKEY* key = EVP_RSA_gen(1024);
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr int64_t kNow = 1700000000000;
  switch (data[0] % 3) {
    case 0:
      (void)herald::ParseBindKeyPayload(in, kNow, 3000);
      break;
    case 1:
      (void)herald::DecodeBindKey(key, in, kNow, 3000);
      break;
    default: {
      std::string out;
      if (herald::Base64Decode(in, &out))
        (void)herald::DecodeBindKey(key, herald::Base64Encode(out), kNow, 3000);
      (void)herald::IsPasswordHash(in);
    }
  }
  return 0;
}
