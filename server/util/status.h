// Status and Result<T>: cheap error values for code that must not throw
// (hot paths, parsers, config). An error carries a kind (what went wrong, in
// words any layer understands) and a short human-readable reason that is safe
// to show to the client. Which HTTP status a kind becomes is decided in one
// place, HttpStatusFor (server/net/http.h), so code that fails says what
// went wrong and never picks an HTTP number.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace herald {

enum class StatusKind {
  kOk,
  kBadRequest,       // the request is malformed or breaks a limit on its shape
  kUnauthorized,     // no credentials, or credentials that do not verify
  kForbidden,        // verified, but not allowed to do this
  kNotFound,         // no such route or feature
  kGone,             // it existed and has expired (a poll session)
  kTooLarge,         // a body or event over its size limit
  kHeadersTooLarge,  // the request's head over its size limit
  kUnavailable,      // try again later: a limit is full, or the node is stopping
  kInternal,         // the node failed (a system call, an allocation)
  kConfig,           // the config (file, flags, key files) is wrong; a start-up
                     // or reload error, never the client's fault
};

class Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status BadRequest(std::string reason) {
    return Status(StatusKind::kBadRequest, std::move(reason));
  }
  static Status Unauthorized(std::string reason) {
    return Status(StatusKind::kUnauthorized, std::move(reason));
  }
  static Status Forbidden(std::string reason) {
    return Status(StatusKind::kForbidden, std::move(reason));
  }
  static Status NotFound(std::string reason) {
    return Status(StatusKind::kNotFound, std::move(reason));
  }
  static Status Gone(std::string reason) { return Status(StatusKind::kGone, std::move(reason)); }
  static Status TooLarge(std::string reason) {
    return Status(StatusKind::kTooLarge, std::move(reason));
  }
  static Status HeadersTooLarge(std::string reason) {
    return Status(StatusKind::kHeadersTooLarge, std::move(reason));
  }
  static Status Unavailable(std::string reason) {
    return Status(StatusKind::kUnavailable, std::move(reason));
  }
  static Status Internal(std::string reason) {
    return Status(StatusKind::kInternal, std::move(reason));
  }
  static Status Config(std::string reason) {
    return Status(StatusKind::kConfig, std::move(reason));
  }
  // Transitional, for code written before kinds (server/worker.cc, being
  // split in parallel, and branches merged after this one): the number's
  // kind, so such code answers as it did (an unknown 5xx is kInternal, an
  // unknown 4xx kBadRequest). New code uses the named factories; delete this
  // once no caller is left.
  static Status Error(int http_status, std::string reason) {
    return Status(KindOfHttpStatus(http_status), std::move(reason));
  }

  bool ok() const { return kind_ == StatusKind::kOk; }
  StatusKind kind() const { return kind_; }
  const std::string& reason() const { return reason_; }
  // The same error, its reason prefixed with where it happened ("Batch item 3: ").
  Status WithContext(std::string_view where) const {
    return Status(kind_, std::string(where) + reason_);
  }

 private:
  Status(StatusKind kind, std::string reason) : kind_(kind), reason_(std::move(reason)) {}
  static StatusKind KindOfHttpStatus(int http_status) {
    switch (http_status) {
      case 401:
        return StatusKind::kUnauthorized;
      case 403:
        return StatusKind::kForbidden;
      case 404:
        return StatusKind::kNotFound;
      case 410:
        return StatusKind::kGone;
      case 413:
        return StatusKind::kTooLarge;
      case 431:
        return StatusKind::kHeadersTooLarge;
      case 503:
        return StatusKind::kUnavailable;
      default:
        return http_status >= 500 ? StatusKind::kInternal : StatusKind::kBadRequest;
    }
  }
  StatusKind kind_ = StatusKind::kOk;
  std::string reason_;
};

// Holds either a value or an error Status.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}        // NOLINT: implicit on purpose
  Result(Status error) : status_(std::move(error)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace herald
