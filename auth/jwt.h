// JWT verification (libjwt 1.10) for space connections, tickets and
// publishers. The header is parsed here first, before libjwt sees the token:
// its `alg` picks the kind of key (HMAC secret, RSA or EC public key) and a
// token whose alg does not match the key's kind is refused outright, so the
// bytes of an RSA public key are never used as an HMAC secret (the classic
// key-confusion attack). `alg: none` is always refused. Only then does
// jwt_decode verify the signature, and the registered claims are checked
// against the policy. Pure functions (no libevent, no clock: `now_s` is
// passed in); the error reasons are safe to show clients and never contain
// key material or the token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/claims.h"
#include "server/util/status.h"

namespace herald {

enum class JwtKeyKind { kHmac, kRsa, kEc };

struct JwtKey {
  std::string kid;  // empty: matches tokens without `kid` (and any kid when it is the only key)
  JwtKeyKind kind = JwtKeyKind::kHmac;
  std::string material;  // the HMAC secret, or the public key PEM
};

struct JwtKeys {
  std::vector<JwtKey> keys;
  bool empty() const { return keys.empty(); }
};

struct JwtPolicy {
  std::vector<std::string> algorithms{"HS256", "RS256", "ES256"};
  int64_t leeway_s = 30;  // clock skew allowed on exp, nbf and iat
  std::string issuer;     // empty: iss not checked
  std::string audience;   // empty: aud not checked
  std::string spaces_claim = "spaces";
  bool require_exp = true;  // a token without exp would never expire on a live stream
};

// Verifies `token` and returns its claims, or a 401 Status whose reason says
// why (e.g. "alg none refused", "token expired").
Result<Claims> VerifyJwt(std::string_view token, const JwtKeys& keys, const JwtPolicy& policy,
                         int64_t now_s);

// Reads a public key PEM (RSA or EC) and returns it as a key of the right
// kind; `kid` defaults to the file's base name without its extension.
Result<JwtKey> LoadJwtPublicKeyFile(const std::string& path, std::string kid = "");
Result<JwtKey> JwtPublicKeyFromPem(std::string pem, std::string kid);

}  // namespace herald
