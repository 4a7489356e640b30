// TLS on the public listener (tls.*): the server's SSL_CTX, built from PEM
// files, and the slot holding the one new handshakes use.
//
// A TlsContext is immutable once loaded: TLS 1.2 minimum and otherwise
// OpenSSL's defaults, the certificate followed by its chain, ALPN answering
// http/1.1 only. A reload (SIGHUP) loads a new one and swaps it into the
// TlsContextSlot; connections already open keep theirs, because each SSL
// holds a reference to the SSL_CTX it was made from.
//
// Threading: Load runs on any thread (the main thread in practice); the slot
// is read by every worker's accept path and written by the reload, under a
// mutex held for a shared_ptr copy.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>

#include "server/util/handles.h"
#include "server/util/status.h"

namespace herald {

struct TlsConfig;

class TlsContext {
 public:
  // Loads the certificate chain and private key; an error names the key
  // (tls.cert_file / tls.key_file), the file and OpenSSL's reason. An expired
  // certificate loads (the client is the one to refuse it); see Describe.
  static Result<std::shared_ptr<const TlsContext>> Load(const TlsConfig& config);

  // Owned by this context; SSL_new takes its own reference.
  SSL_CTX* get() const { return ctx_.get(); }
  // "subject ..., serial ..., expires ..." for logs, with "(EXPIRED)" when it is.
  std::string Describe() const;

 private:
  explicit TlsContext(SslCtxPtr ctx) : ctx_(std::move(ctx)) {}
  SslCtxPtr ctx_;
};

class TlsContextSlot {
 public:
  // Null while TLS is off.
  std::shared_ptr<const TlsContext> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void Set(std::shared_ptr<const TlsContext> ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(ctx);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TlsContext> current_;
};

}  // namespace herald
