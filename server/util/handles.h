// RAII owners for the C handles of OpenSSL, libjwt and cJSON: each a
// std::unique_ptr with a deleter, so nothing leaks on early returns. No
// libevent here, so auth/ stays free of it; server/util/c_handles.h adds the
// libevent and libmicrohttpd owners on top of CDeleter.
#pragma once

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <memory>

namespace herald {

template <class T, void (*Free)(T*)>
struct CDeleter {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};

// BIO_free returns int; the deleter needs a void function.
inline void BioFreeVoid(BIO* b) { BIO_free(b); }

using CJsonPtr = std::unique_ptr<cJSON, CDeleter<cJSON, cJSON_Delete>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, CDeleter<EVP_PKEY, EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, CDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, CDeleter<BIO, BioFreeVoid>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, CDeleter<SSL_CTX, SSL_CTX_free>>;
using JwtPtr = std::unique_ptr<jwt_t, CDeleter<jwt_t, jwt_free>>;

}  // namespace herald
