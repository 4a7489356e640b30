#include "handlers/subscribe_query.h"

#include <algorithm>
#include <cmath>

#include "handlers/subscribe_request.h"
#include "server/core/presence.h"
#include "server/core/space.h"
#include "server/util/json.h"

namespace herald {
namespace {

bool AllDigits(const std::string& s) {
  return !s.empty() && s.size() <= 16 && s.find_first_not_of("0123456789") == std::string::npos;
}

Status AddFilter(std::vector<std::string>* filters, std::string filter, const Limits& limits) {
  Status s = ValidateFilter(filter, limits);
  if (!s.ok()) return s;
  if (std::find(filters->begin(), filters->end(), filter) == filters->end()) {
    if (filters->size() >= static_cast<size_t>(limits.max_filters_per_connection)) {
      return Status::BadRequest("Too many event points (at most " +
                                std::to_string(limits.max_filters_per_connection) + ")");
    }
    filters->push_back(std::move(filter));
  }
  return Status::Ok();
}

}  // namespace

Status ValidateSpace(const std::string& space, const Limits& limits) {
  if (!IsValidSpaceName(space) || !ValidateFilter(space, limits).ok()) {
    return Status::BadRequest("Invalid space");
  }
  return Status::Ok();
}

Status AddChannelFilters(const std::string& space, const std::vector<std::string>& channels,
                         const Limits& limits, std::vector<std::string>* filters) {
  for (const std::string& c : channels) {
    if (c.empty()) return Status::BadRequest("Invalid channel");
    Status s = AddFilter(filters, SpaceTopic(space, c), limits);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Result<SubscribeParams> ParseSubscribeParams(const Params& params, const Limits& limits,
                                             bool filters_optional) {
  SubscribeParams out;
  out.clid = kAnonClid;
  std::vector<std::string> channels;
  bool have_space = false;
  for (const auto& [key, value] : params) {
    if (key == "topic" || key == "ep") {
      Status reserved = CheckNotReserved(value);
      if (!reserved.ok()) return reserved;
      Status s = AddFilter(&out.filters, value, limits);
      if (!s.ok()) return s;
    } else if (key == "channel") {
      channels.push_back(value);
    } else if (key == "space") {
      if (have_space && value != out.space) return Status::BadRequest("Only one space allowed");
      have_space = true;
      out.space = value;
    } else if (key == "clid") {
      Status s = ValidateClid(value, limits);
      if (!s.ok()) return s;
      out.clid = value;
    } else if (key == "lastEventId" || key == "since") {
      out.cursor = value;
    } else if (key == "connid") {
      if (!AllDigits(value)) return Status::BadRequest("Invalid data");
      out.connid = std::stoull(value);
    } else if (key == "secret") {
      out.secret = value;
    } else if (key == "timeout") {
      if (!AllDigits(value)) return Status::BadRequest("Invalid timeout");
      out.timeout_ms = std::stoll(value);
    }
    // Anything else (cache busters such as `_=<time>`) is ignored.
  }
  if (have_space) {
    Status s = ValidateSpace(out.space, limits);
    if (!s.ok()) return s;
    if (channels.empty() && !filters_optional) return Status::BadRequest("Channel missing");
  } else if (!channels.empty()) {
    return Status::BadRequest("Space missing");
  }
  Status added = AddChannelFilters(out.space, channels, limits, &out.filters);
  if (!added.ok()) return added;
  if (out.filters.empty() && !filters_optional) return Status::BadRequest("Topic missing");
  return out;
}

Result<Params> CollectParams(const HttpRequest& req) {
  Params out = req.query;
  if (req.method != "POST" || req.body.empty()) return out;
  CJsonPtr root = ParseJson(req.body);
  if (!root || !cJSON_IsObject(root.get())) return Status::BadRequest("Invalid JSON in body");
  const cJSON* item;
  cJSON_ArrayForEach(item, root.get()) {
    const std::string key = item->string;
    auto add = [&](const cJSON* v) -> Status {
      if (cJSON_IsString(v)) {
        out.emplace_back(key, v->valuestring);
      } else if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9.0e15 &&
                 std::floor(v->valuedouble) == v->valuedouble) {
        out.emplace_back(key, std::to_string(static_cast<uint64_t>(v->valuedouble)));
      } else if (!cJSON_IsNull(v)) {
        return Status::BadRequest("Invalid value for " + key);
      }
      return Status::Ok();
    };
    if (cJSON_IsArray(item)) {
      const cJSON* v;
      cJSON_ArrayForEach(v, item) {
        Status s = add(v);
        if (!s.ok()) return s;
      }
    } else {
      Status s = add(item);
      if (!s.ok()) return s;
    }
  }
  return out;
}

}  // namespace herald
