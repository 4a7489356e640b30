// Parsing and validation of what a subscriber asks for, shared by every
// transport: the es-web-notify JSON body of POST / (and later the query
// forms). Pure functions, unit-tested alone; errors carry the original
// es-web-notify texts where the original had one.
#pragma once

#include <string>
#include <vector>

#include "server/core/config.h"
#include "server/core/topic.h"
#include "server/util/status.h"

namespace herald {

struct SubscribeRequest {
  std::string clid;
  std::string bind_key;
  std::vector<std::string> filters;  // validated, distinct, in request order
  std::vector<std::string> bound;    // filters marked "binded": checked against the bind key's ACL
  std::string last_event_id;         // resume cursor; empty: none
};

// Body: {"clid", "bind_key", "ep": ["topic", {"topic", "binded"}], "last_event_id"}.
Result<SubscribeRequest> ParseEsWebSubscribe(const std::string& body, const Limits& limits);

// Checks a clid: 1..max bytes, and usable as the last levels of the topic
// @CONNECTION@/<clid>.
Status ValidateClid(const std::string& clid, const Limits& limits);
Status ValidateFilter(const std::string& topic, const Limits& limits);
TopicLimits ToTopicLimits(const Limits& limits);

}  // namespace herald
