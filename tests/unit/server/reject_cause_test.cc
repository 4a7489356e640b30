#include "server/core/reject_cause.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "server/net/http.h"

namespace herald {
namespace {

TEST(RejectCause, StatusesMapToTheirCause) {
  EXPECT_EQ(RejectCauseOfStatus(400), RejectCause::kBadRequest);
  EXPECT_EQ(RejectCauseOfStatus(405), RejectCause::kBadRequest);
  EXPECT_EQ(RejectCauseOfStatus(401), RejectCause::kUnauthorized);
  EXPECT_EQ(RejectCauseOfStatus(403), RejectCause::kForbidden);
  EXPECT_EQ(RejectCauseOfStatus(404), RejectCause::kNotFound);
  EXPECT_EQ(RejectCauseOfStatus(408), RejectCause::kTimeout);
  EXPECT_EQ(RejectCauseOfStatus(410), RejectCause::kGone);
  EXPECT_EQ(RejectCauseOfStatus(413), RejectCause::kTooLarge);
  EXPECT_EQ(RejectCauseOfStatus(431), RejectCause::kTooLarge);
  EXPECT_EQ(RejectCauseOfStatus(429), RejectCause::kRateLimited);
  EXPECT_EQ(RejectCauseOfStatus(503), RejectCause::kUnavailable);
  EXPECT_EQ(RejectCauseOfStatus(500), RejectCause::kOther);
}

TEST(RejectCause, NamesAreDistinctMetricLabels) {
  std::set<std::string> names;
  for (int c = 0; c < kRejectCauseCount; ++c) {
    const std::string name = RejectCauseName(static_cast<RejectCause>(c));
    EXPECT_NE(name, "?");
    EXPECT_TRUE(names.insert(name).second) << name;
  }
}

TEST(RejectCause, AnswersCountOnceUnderTheirOwnCauseOrTheirStatus) {
  NodeStats stats;
  CountRejection(stats, HttpResponse::Json("{}"));  // not a refusal
  CountRejection(stats, HttpResponse::Error(401, "no"));
  HttpResponse limit = HttpResponse::Error(503, "Too many connections");
  limit.cause = RejectCause::kLimitConnections;
  CountRejection(stats, limit);
  EXPECT_EQ(Rejected(stats, RejectCause::kUnauthorized), 1);
  EXPECT_EQ(Rejected(stats, RejectCause::kLimitConnections), 1);
  EXPECT_EQ(Rejected(stats, RejectCause::kUnavailable), 0);
  // Connections cut for a slow request count as timeouts.
  Add(stats.slow_requests);
  EXPECT_EQ(Rejected(stats, RejectCause::kTimeout), 1);
  int64_t total = 0;
  for (int c = 0; c < kRejectCauseCount; ++c) total += Rejected(stats, static_cast<RejectCause>(c));
  EXPECT_EQ(total, 3);
}

}  // namespace
}  // namespace herald
