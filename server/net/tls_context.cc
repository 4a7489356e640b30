#include "server/net/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cstring>

#include "server/core/config.h"

namespace herald {
namespace {

// "http/1.1" in ALPN wire format (length-prefixed): the only protocol spoken.
constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// OpenSSL's reason for the last failure, and an empty error queue after:
// a stale entry would be blamed on the next TLS call of this thread.
std::string OpensslError() {
  const unsigned long e = ERR_peek_last_error();
  std::string why = "unknown OpenSSL error";
  if (ERR_SYSTEM_ERROR(e)) {
    why = std::strerror(ERR_GET_REASON(e));  // the file: missing, unreadable
  } else if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
    why = "does not match the certificate";
  } else if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    why = buf;
  }
  ERR_clear_error();
  return why;
}

Status FileError(const char* key, const std::string& file, const std::string& why) {
  return Status::Config(std::string(key) + ": " + file + ": " + why);
}

int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, kAlpnHttp11, sizeof kAlpnHttp11, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    // A client offering only h2 gets no ALPN answer rather than an alert; it
    // may still speak HTTP/1.1 (curl --http2 falls back this way).
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

std::string NameLine(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "?";
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

std::string TimeLine(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !ASN1_TIME_print(bio.get(), t)) return "?";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

}  // namespace

Result<std::shared_ptr<const TlsContext>> TlsContext::Load(const TlsConfig& config) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Status::Internal("SSL_CTX_new: " + OpensslError());
  if (!SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION)) {
    return Status::Internal("TLS 1.2 minimum: " + OpensslError());
  }
  // An idle stream then holds no TLS read/write buffers (~34 KB each
  // connection otherwise); they come back for the next record.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), config.cert_file.c_str()) != 1) {
    return FileError("tls.cert_file", config.cert_file, OpensslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return FileError("tls.key_file", config.key_file, OpensslError());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return FileError("tls.key_file", config.key_file,
                     "does not match the certificate in " + config.cert_file);
  }
  SSL_CTX_set_alpn_select_cb(ctx.get(), SelectAlpn, nullptr);
  return std::shared_ptr<const TlsContext>(new TlsContext(std::move(ctx)));
}

std::string TlsContext::Describe() const {
  X509* cert = SSL_CTX_get0_certificate(ctx_.get());
  if (!cert) return "no certificate";
  std::string out = "subject " + NameLine(X509_get_subject_name(cert));
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(serial)) {
      out += ", serial " + std::string(hex);
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  out += ", expires " + TimeLine(not_after);
  if (X509_cmp_current_time(not_after) < 0) out += " (EXPIRED)";
  return out;
}

}  // namespace herald
