#include "server/core/reject_cause.h"

namespace herald {

const char* RejectCauseName(RejectCause c) {
  switch (c) {
    case RejectCause::kBadRequest:
      return "bad_request";
    case RejectCause::kUnauthorized:
      return "unauthorized";
    case RejectCause::kForbidden:
      return "forbidden";
    case RejectCause::kNotFound:
      return "not_found";
    case RejectCause::kTooLarge:
      return "too_large";
    case RejectCause::kLimitConnections:
      return "limit_connections";
    case RejectCause::kRateLimited:
      return "rate_limited";
    case RejectCause::kTimeout:
      return "timeout";
    case RejectCause::kGone:
      return "gone";
    case RejectCause::kShuttingDown:
      return "shutting_down";
    case RejectCause::kUnavailable:
      return "unavailable";
    case RejectCause::kOther:
      return "other";
  }
  return "?";
}

RejectCause RejectCauseOfStatus(int status) {
  switch (status) {
    case 400:
    case 405:
    case 411:
    case 415:
      return RejectCause::kBadRequest;
    case 401:
      return RejectCause::kUnauthorized;
    case 403:
      return RejectCause::kForbidden;
    case 404:
      return RejectCause::kNotFound;
    case 408:
      return RejectCause::kTimeout;
    case 410:
      return RejectCause::kGone;
    case 413:
    case 414:
    case 431:
      return RejectCause::kTooLarge;
    case 429:
      return RejectCause::kRateLimited;
    case 503:
      return RejectCause::kUnavailable;
    default:
      return RejectCause::kOther;
  }
}

}  // namespace herald
