#include "auth/bind_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cmath>
#include <vector>

#include "auth/base64.h"
#include "auth/password.h"
#include "server/util/json.h"

namespace herald {
namespace {

Status Bad(const std::string& why) { return Status::Unauthorized("Invalid bind key: " + why); }

bool Decrypt(EVP_PKEY* key, int padding, const std::string& in, std::string* out) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) <= 0) return false;
  if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) <= 0) return false;
  if (padding == RSA_PKCS1_PADDING) {
    // OpenSSL 3 answers random bytes instead of failing (implicit rejection);
    // turn that off so a wrong padding is an error we can fall back from.
    EVP_PKEY_CTX_ctrl_str(ctx.get(), "rsa_pkcs1_implicit_rejection", "0");
  }
  size_t len = 0;
  const auto* src = reinterpret_cast<const unsigned char*>(in.data());
  if (EVP_PKEY_decrypt(ctx.get(), nullptr, &len, src, in.size()) <= 0) return false;
  std::vector<unsigned char> buf(len);
  if (EVP_PKEY_decrypt(ctx.get(), buf.data(), &len, src, in.size()) <= 0) return false;
  out->assign(reinterpret_cast<const char*>(buf.data()), len);
  return true;
}

}  // namespace

Result<EvpPkeyPtr> LoadBindKeyPrivateKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("out of memory");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::Config("not a PEM private key");
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return Status::Config("not an RSA private key");
  }
  return key;
}

Result<BindIdentity> ParseBindKeyPayload(std::string_view json, int64_t now_ms,
                                         int64_t max_age_ms) {
  CJsonPtr root = ParseJson(std::string(json));
  if (!root || !cJSON_IsObject(root.get())) return Bad("payload is not a JSON object");
  const cJSON* iat = cJSON_GetObjectItemCaseSensitive(root.get(), "iat");
  if (!cJSON_IsNumber(iat) || !std::isfinite(iat->valuedouble) || iat->valuedouble < 0 ||
      iat->valuedouble > 1e15) {
    return Bad("iat should be a timestamp");
  }
  double v = iat->valuedouble;
  BindIdentity id;
  id.iat_ms = static_cast<int64_t>(v > 1e12 ? v : v * 1000.0);
  if (id.iat_ms > now_ms + kBindKeySkewMs) return Bad("issued in the future");
  if (id.iat_ms < now_ms - max_age_ms) return Bad("expired");
  const cJSON* uid = cJSON_GetObjectItemCaseSensitive(root.get(), "uid");
  if (!uid || cJSON_IsNull(uid)) return id;
  if (cJSON_IsString(uid)) {
    id.uid = uid->valuestring;
  } else if (auto n = JsonUint53(uid)) {
    id.uid = std::to_string(*n);
  } else {
    return Bad("uid should be a string or an integer");
  }
  if (id.uid.size() > 256) return Bad("uid too long");
  return id;
}

Result<BindIdentity> DecodeBindKey(EVP_PKEY* key, std::string_view bind_key, int64_t now_ms,
                                   int64_t max_age_ms) {
  if (!key) return Status::Unauthorized("Bind keys are not enabled (no auth.bind_key_private_key)");
  std::string cipher;
  if (bind_key.empty() || !Base64Decode(bind_key, &cipher) || cipher.empty()) {
    return Bad("not base64");
  }
  if (cipher.size() != static_cast<size_t>(EVP_PKEY_get_size(key))) {
    return Bad("wrong length for the key");
  }
  std::string plain;
  if (!Decrypt(key, RSA_PKCS1_PADDING, cipher, &plain) &&
      !Decrypt(key, RSA_PKCS1_OAEP_PADDING, cipher, &plain)) {
    return Bad("cannot decrypt");
  }
  return ParseBindKeyPayload(plain, now_ms, max_age_ms);
}

}  // namespace herald
