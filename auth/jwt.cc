// See jwt.h. libjwt is trusted only for the signature; the header and the
// claims are read here with cJSON from the same bytes libjwt verified.
#include "auth/jwt.h"

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>

#include "auth/base64.h"
#include "server/util/handles.h"

namespace herald {
namespace {

Status Refuse(std::string reason) { return Status::Unauthorized(std::move(reason)); }

const char* KindName(JwtKeyKind k) {
  switch (k) {
    case JwtKeyKind::kHmac:
      return "HMAC";
    case JwtKeyKind::kRsa:
      return "RSA";
    case JwtKeyKind::kEc:
      return "EC";
  }
  return "?";
}

// Decodes one base64url JSON segment into an object.
CJsonPtr DecodeSegment(std::string_view seg) {
  std::string raw;
  if (seg.empty() || !Base64UrlDecode(seg, &raw)) return nullptr;
  CJsonPtr j(cJSON_ParseWithLength(raw.data(), raw.size()));
  if (!j || !cJSON_IsObject(j.get())) return nullptr;
  return j;
}

// A NumericDate claim: absent is fine (has = false), anything but a number is malformed.
bool ReadTime(const cJSON* obj, const char* name, bool* has, int64_t* out) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, name);
  *has = v != nullptr;
  if (!v) return true;
  if (!cJSON_IsNumber(v) || !std::isfinite(v->valuedouble) || v->valuedouble < 0 ||
      v->valuedouble > 1e15) {
    return false;
  }
  *out = static_cast<int64_t>(v->valuedouble);
  return true;
}

// A claim that is a string or a list of strings.
bool ReadStrings(const cJSON* v, std::vector<std::string>* out) {
  if (cJSON_IsString(v)) {
    out->push_back(v->valuestring);
    return true;
  }
  if (!cJSON_IsArray(v)) return false;
  const cJSON* item;
  cJSON_ArrayForEach(item, v) {
    if (!cJSON_IsString(item)) return false;
    out->push_back(item->valuestring);
  }
  return true;
}

Result<Claims> CheckClaims(const cJSON* p, const JwtPolicy& policy, int64_t now_s) {
  Claims c;
  bool has_exp, has_nbf, has_iat;
  int64_t exp = 0, nbf = 0, iat = 0;
  if (!ReadTime(p, "exp", &has_exp, &exp) || !ReadTime(p, "nbf", &has_nbf, &nbf) ||
      !ReadTime(p, "iat", &has_iat, &iat)) {
    return Refuse("malformed token: exp, nbf and iat must be numbers");
  }
  if (!has_exp && policy.require_exp) return Refuse("token has no exp");
  // RFC 7519 4.1.4: valid only before exp (+ leeway), as the worker closes at exp + leeway.
  if (has_exp && now_s >= exp + policy.leeway_s) return Refuse("token expired");
  if (has_nbf && now_s + policy.leeway_s < nbf) return Refuse("token not yet valid (nbf)");
  if (has_iat && now_s + policy.leeway_s < iat)
    return Refuse("token not yet valid (iat in the future)");
  c.exp_s = has_exp ? exp : 0;
  if (!policy.issuer.empty()) {
    const cJSON* iss = cJSON_GetObjectItemCaseSensitive(p, "iss");
    if (!cJSON_IsString(iss) || policy.issuer != iss->valuestring) return Refuse("wrong issuer");
  }
  if (!policy.audience.empty()) {
    std::vector<std::string> aud;
    const cJSON* a = cJSON_GetObjectItemCaseSensitive(p, "aud");
    if (!a || !ReadStrings(a, &aud) ||
        std::find(aud.begin(), aud.end(), policy.audience) == aud.end()) {
      return Refuse("wrong audience");
    }
  }
  if (const cJSON* sub = cJSON_GetObjectItemCaseSensitive(p, "sub")) {
    if (!cJSON_IsString(sub)) return Refuse("malformed token: sub must be a string");
    c.sub = sub->valuestring;
  }
  if (const cJSON* sp = cJSON_GetObjectItemCaseSensitive(p, policy.spaces_claim.c_str())) {
    if (!ReadStrings(sp, &c.spaces)) {
      return Refuse("malformed token: " + policy.spaces_claim +
                    " must be a list of strings or \"*\"");
    }
    c.all_spaces = std::find(c.spaces.begin(), c.spaces.end(), "*") != c.spaces.end();
  }
  if (const cJSON* pub = cJSON_GetObjectItemCaseSensitive(p, "publish")) {
    if (!ReadStrings(pub, &c.publish)) {
      return Refuse("malformed token: publish must be a list of topic filters");
    }
    c.has_publish = true;
  }
  return c;
}

}  // namespace

Result<Claims> VerifyJwt(std::string_view token, const JwtKeys& keys, const JwtPolicy& policy,
                         int64_t now_s) {
  if (token.size() > 16384) return Refuse("malformed token: too long");
  size_t d1 = token.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return Refuse("malformed token: expected header.payload.signature");
  }
  CJsonPtr header = DecodeSegment(token.substr(0, d1));
  if (!header) return Refuse("malformed token: header is not base64url JSON");
  CJsonPtr payload = DecodeSegment(token.substr(d1 + 1, d2 - d1 - 1));
  if (!payload) return Refuse("malformed token: payload is not base64url JSON");

  const cJSON* alg_j = cJSON_GetObjectItemCaseSensitive(header.get(), "alg");
  if (!cJSON_IsString(alg_j)) return Refuse("malformed token: header has no alg");
  std::string alg = alg_j->valuestring;
  std::string alg_upper = alg;
  for (char& ch : alg_upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (alg_upper == "NONE") return Refuse("alg none refused");
  JwtKeyKind want;
  jwt_alg_t want_alg;
  if (alg == "HS256") {
    want = JwtKeyKind::kHmac;
    want_alg = JWT_ALG_HS256;
  } else if (alg == "RS256") {
    want = JwtKeyKind::kRsa;
    want_alg = JWT_ALG_RS256;
  } else if (alg == "ES256") {
    want = JwtKeyKind::kEc;
    want_alg = JWT_ALG_ES256;
  } else {
    return Refuse("algorithm " + alg.substr(0, 16) + " not allowed");
  }
  if (std::find(policy.algorithms.begin(), policy.algorithms.end(), alg) ==
      policy.algorithms.end()) {
    return Refuse("algorithm " + alg + " not allowed");
  }
  if (keys.empty()) return Refuse("no JWT key configured");

  // Pick the candidate keys: by kid when the token names one, else every key
  // of the alg's kind. A key of another kind is never tried.
  std::string kid;
  if (const cJSON* k = cJSON_GetObjectItemCaseSensitive(header.get(), "kid")) {
    if (!cJSON_IsString(k)) return Refuse("malformed token: kid must be a string");
    kid = k->valuestring;
  }
  // A kid that names a key selects only that key (so a kid naming an RSA key
  // is refused as a mismatch for an HS token even when an HMAC secret exists);
  // otherwise the keys without a kid are the candidates.
  bool kid_named = false;
  for (const JwtKey& key : keys.keys) kid_named |= !kid.empty() && key.kid == kid;
  std::vector<const JwtKey*> candidates;
  const JwtKey* other_kind = nullptr;
  for (const JwtKey& key : keys.keys) {
    if (kid_named ? key.kid != kid : (!kid.empty() && !key.kid.empty())) continue;
    if (key.kind == want) {
      candidates.push_back(&key);
    } else if (!other_kind) {
      other_kind = &key;
    }
  }
  if (candidates.empty()) {
    if (other_kind) {
      return Refuse(std::string("key mismatch: ") + alg + " token against an " +
                    KindName(other_kind->kind) + " key");
    }
    return Refuse("unknown kid");
  }

  std::string token_str(token);
  bool verified = false;
  for (const JwtKey* key : candidates) {
    jwt_t* raw = nullptr;
    int rc = jwt_decode(&raw, token_str.c_str(),
                        reinterpret_cast<const unsigned char*>(key->material.data()),
                        static_cast<int>(key->material.size()));
    JwtPtr jwt(raw);
    // Belt and braces: libjwt must have verified with the alg we chose the key for.
    if (rc == 0 && jwt && jwt_get_alg(jwt.get()) == want_alg) {
      verified = true;
      break;
    }
  }
  if (!verified) return Refuse("bad signature");
  return CheckClaims(payload.get(), policy, now_s);
}

Result<JwtKey> JwtPublicKeyFromPem(std::string pem, std::string kid) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("out of memory");
  EvpPkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return Status::Config("not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  JwtKey key;
  switch (EVP_PKEY_base_id(pkey.get())) {
    case EVP_PKEY_RSA:
      key.kind = JwtKeyKind::kRsa;
      break;
    case EVP_PKEY_EC:
      key.kind = JwtKeyKind::kEc;
      break;
    default:
      return Status::Config("public key is neither RSA nor EC");
  }
  key.kid = std::move(kid);
  key.material = std::move(pem);
  return key;
}

Result<JwtKey> LoadJwtPublicKeyFile(const std::string& path, std::string kid) {
  std::ifstream in(path);
  if (!in) return Status::Config(path + ": cannot read");
  std::stringstream text;
  text << in.rdbuf();
  if (kid.empty()) {
    size_t slash = path.find_last_of('/');
    kid = slash == std::string::npos ? path : path.substr(slash + 1);
    size_t dot = kid.find('.');
    if (dot != std::string::npos && dot > 0) kid = kid.substr(0, dot);
  }
  auto key = JwtPublicKeyFromPem(text.str(), std::move(kid));
  if (!key.ok()) return Status::Config(path + ": " + key.status().reason());
  return key;
}

}  // namespace herald
