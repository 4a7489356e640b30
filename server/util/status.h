// Status and Result<T>: cheap error values for code that must not throw
// (hot paths, parsers, config). An error carries an HTTP-ish code so that
// handlers/ can map it to a response in one place, and a short
// human-readable reason that is safe to show to the client.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace herald {

class Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status Error(int http_status, std::string reason) {
    return Status(http_status, std::move(reason));
  }
  static Status BadRequest(std::string reason) { return Error(400, std::move(reason)); }

  bool ok() const { return http_status_ == 0; }
  int http_status() const { return http_status_; }
  const std::string& reason() const { return reason_; }

 private:
  Status(int code, std::string reason) : http_status_(code), reason_(std::move(reason)) {}
  int http_status_ = 0;
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
