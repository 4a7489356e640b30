// es-web-notify bind keys: base64(RSA_encrypt(JSON {"iat", "uid"})) made by
// the application server with the public half of a key pair; herald holds
// the private key. PKCS#1 v1.5 padding (as the original), OAEP (SHA-1) also
// accepted.
//
// `iat` is a number: values above 1e12 are milliseconds since the epoch,
// smaller ones seconds. A key is valid while now - max_age_ms <= iat <=
// now + kBindKeySkewMs. `uid` is a string or an integer (kept as its
// decimal text); null, "" or absent means "bound but unidentified" (the
// ACL wildcard "[][][]").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "server/util/handles.h"
#include "server/util/status.h"

namespace herald {

inline constexpr int64_t kBindKeySkewMs = 1000;

// Reads an RSA private key from PEM text (PKCS#1 or PKCS#8).
Result<EvpPkeyPtr> LoadBindKeyPrivateKey(const std::string& pem);

struct BindIdentity {
  std::string uid;  // empty: bound but unidentified
  int64_t iat_ms = 0;
};

// Decodes and checks a bind key. Errors are 401 with a reason.
Result<BindIdentity> DecodeBindKey(EVP_PKEY* key, std::string_view bind_key, int64_t now_ms,
                                   int64_t max_age_ms);

// The JSON payload alone (after decryption); exposed for tests and fuzzing.
Result<BindIdentity> ParseBindKeyPayload(std::string_view json, int64_t now_ms, int64_t max_age_ms);

}  // namespace herald
