#include "handlers/subscribe_request.h"

#include <algorithm>

#include "server/core/presence.h"
#include "server/core/space.h"
#include "server/util/json.h"

namespace herald {

TopicLimits ToTopicLimits(const Limits& limits) {
  TopicLimits t;
  t.max_bytes = static_cast<size_t>(limits.max_topic_bytes);
  t.max_levels = static_cast<size_t>(limits.max_topic_levels);
  return t;
}

Status ValidateFilter(const std::string& topic, const Limits& limits) {
  Status s = ValidateTopic(topic, ToTopicLimits(limits));
  if (!s.ok()) return Status::BadRequest("Invalid topic: " + s.reason());
  return Status::Ok();
}

Status ValidateClid(const std::string& clid, const Limits& limits) {
  if (clid.empty()) return Status::BadRequest("Clid should not be empty");
  if (clid.size() > static_cast<size_t>(limits.max_clid_bytes)) {
    return Status::BadRequest("Clid longer than " + std::to_string(limits.max_clid_bytes) +
                              " bytes");
  }
  if (clid.find_first_of("+#") != std::string::npos) {
    return Status::BadRequest("Clid should not contain + or #");
  }
  // Presence events travel on @CONNECTION@/<clid>: it must be a valid topic.
  TopicLimits t = ToTopicLimits(limits);
  t.max_bytes += sizeof(kPresencePrefix);
  t.max_levels += 1;
  Status s = ValidateTopic(kPresencePrefix + clid, t);
  if (!s.ok()) return Status::BadRequest("Invalid clid: " + s.reason());
  return Status::Ok();
}

Result<SubscribeRequest> ParseEsWebSubscribe(const std::string& body, const Limits& limits) {
  CJsonPtr root = ParseJson(body);
  if (!root || !cJSON_IsObject(root.get())) return Status::BadRequest("Invalid JSON in body");
  SubscribeRequest out;
  out.clid = kAnonClid;
  const cJSON* clid = cJSON_GetObjectItemCaseSensitive(root.get(), "clid");
  // Like the original, a clid that is not a string means anonymous (issue 10.6).
  if (clid && cJSON_IsString(clid)) {
    out.clid = clid->valuestring;
    Status s = ValidateClid(out.clid, limits);
    if (!s.ok()) return s;
  }
  const cJSON* bind_key = cJSON_GetObjectItemCaseSensitive(root.get(), "bind_key");
  if (bind_key && !cJSON_IsNull(bind_key)) {
    if (!cJSON_IsString(bind_key)) return Status::BadRequest("Bind key should be a string");
    out.bind_key = bind_key->valuestring;
  }
  const cJSON* last_id = cJSON_GetObjectItemCaseSensitive(root.get(), "last_event_id");
  if (last_id && !cJSON_IsNull(last_id)) {
    if (!cJSON_IsString(last_id)) return Status::BadRequest("Last event id should be a string");
    out.last_event_id = last_id->valuestring;
  }
  const cJSON* ep = cJSON_GetObjectItemCaseSensitive(root.get(), "ep");
  if (!cJSON_IsArray(ep)) return Status::BadRequest("Event Points should be an array");
  if (cJSON_GetArraySize(ep) > limits.max_filters_per_connection) {
    return Status::BadRequest("Too many event points (at most " +
                              std::to_string(limits.max_filters_per_connection) + ")");
  }
  const cJSON* item;
  cJSON_ArrayForEach(item, ep) {
    const cJSON* topic = item;
    bool binded = false;
    if (cJSON_IsObject(item)) {
      topic = cJSON_GetObjectItemCaseSensitive(item, "topic");
      if (!topic) return Status::BadRequest("Topic missing");
      const cJSON* b = cJSON_GetObjectItemCaseSensitive(item, "binded");
      binded = cJSON_IsTrue(b);
    }
    if (!cJSON_IsString(topic)) return Status::BadRequest("Topic should be a string");
    std::string t = topic->valuestring;
    Status s = CheckNotReserved(t);
    if (s.ok()) s = ValidateFilter(t, limits);
    if (!s.ok()) return s;
    // The same filter twice would only deliver once anyway: keep one.
    if (std::find(out.filters.begin(), out.filters.end(), t) == out.filters.end()) {
      if (binded) out.bound.push_back(t);
      out.filters.push_back(std::move(t));
    }
  }
  return out;
}

}  // namespace herald
