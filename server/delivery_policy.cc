#include "server/delivery_policy.h"

#include "auth/acl.h"
#include "server/core/space.h"

namespace herald {
namespace {

// Bound topics: a bound event reaches a bound filter if the ACL's `sub`
// admits the connection's user, and a plain filter only with "*" in `sub`;
// a plain event never reaches a bound filter. Plain events to connections
// without bound filters skip all of it.
bool BoundAdmits(const Connection& conn, const Event& ev, std::string_view filter) {
  if (!ev.bound && conn.bound_filters.empty()) return true;
  bool bound_filter = false;
  for (const std::string& f : conn.bound_filters) bound_filter |= f == filter;
  if (!ev.bound) return !bound_filter;
  if (!bound_filter) return ev.bound->SubAll();
  return ev.bound->MaySubscribe(Principal{conn.bound, conn.user});
}

// A space event only inside its space, through a filter of that space; a
// plain event never through a space filter.
bool SpaceAdmits(const Connection& conn, const Event& ev, std::string_view filter) {
  const std::string_view ev_space = SpaceOfTopic(ev.topic);
  const std::string_view filter_space = SpaceOfTopic(filter);
  if (ev_space.empty()) return filter_space.empty();
  return filter_space == ev_space && conn.space == ev_space;
}

}  // namespace

bool TokenExpired(const Connection& conn, int64_t now_ms) {
  return conn.token_exp_s != 0 && now_ms / 1000 >= conn.token_exp_s + conn.token_leeway_s;
}

void SetToken(Connection* conn, int64_t exp_s, int64_t leeway_s) {
  conn->token_exp_s = exp_s;
  conn->token_leeway_s = exp_s != 0 ? leeway_s : 0;
}

Verdict DecideDelivery(const Connection& conn, const Event& ev, std::string_view filter,
                       int64_t now_ms) {
  if (ev.whisper != 0 && ev.whisper != conn.id()) return Verdict::kSkip;
  if (conn.auth_pending) return Verdict::kSkip;  // no events before the token
  if (TokenExpired(conn, now_ms)) return Verdict::kTokenExpired;
  if (!SpaceAdmits(conn, ev, filter)) return Verdict::kSkip;
  if (!BoundAdmits(conn, ev, filter)) return Verdict::kSkip;
  return Verdict::kDeliver;
}

std::string_view DeliveryFilter(const Connection& conn, const Event& ev, int64_t now_ms) {
  std::string_view best;
  for (const auto* sub : conn.subscriptions) {
    std::string_view f = ConnectionIndex::FilterOf(sub);
    if (!TopicsMatch(f, ev.topic)) continue;
    if (!best.empty() && !FilterPrecedes(f, best)) continue;
    if (MayReceive(conn, ev, f, now_ms)) best = f;
  }
  return best;
}

}  // namespace herald
