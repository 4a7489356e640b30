// POST /event: the es-web-notify publish (shout and whisper).
#include <vector>

#include "handlers/handlers.h"
#include "handlers/subscribe_request.h"
#include "server/context.h"
#include "server/hub.h"
#include "server/json.h"

namespace herald {
namespace {

struct Target {
  std::string topic;
  uint64_t whisper = 0;
};

Result<std::vector<Target>> ParseTargets(const cJSON* ep, const Limits& limits) {
  if (!cJSON_IsArray(ep)) return Status::BadRequest("Event Points should be an array");
  if (cJSON_GetArraySize(ep) == 0) return Status::BadRequest("Event Points should not be empty");
  if (cJSON_GetArraySize(ep) > limits.max_filters_per_connection) {
    return Status::BadRequest("Too many event points (at most " +
                              std::to_string(limits.max_filters_per_connection) + ")");
  }
  std::vector<Target> out;
  const cJSON* item;
  cJSON_ArrayForEach(item, ep) {
    Target t;
    const cJSON* topic = item;
    if (cJSON_IsObject(item)) {
      topic = cJSON_GetObjectItemCaseSensitive(item, "topic");
      if (!topic) return Status::BadRequest("Topic missing");
      const cJSON* whisper = cJSON_GetObjectItemCaseSensitive(item, "whisper");
      if (whisper && !cJSON_IsNull(whisper)) {
        auto id = JsonUint53(whisper);
        if (!id || *id == 0) return Status::BadRequest("Whisper should be a connection id");
        t.whisper = *id;
      }
    }
    if (!cJSON_IsString(topic)) return Status::BadRequest("Topic should be a string");
    t.topic = topic->valuestring;
    Status s = ValidateFilter(t.topic, limits);
    if (!s.ok()) return s;
    out.push_back(std::move(t));
  }
  return out;
}

HttpResponse Publish(ServerContext& ctx, const HttpRequest& req) {
  if (req.method != "POST") return HttpResponse::Error(400, "Method is not POST");
  if (!IsValidUtf8(req.body)) return HttpResponse::Error(400, "Body is not valid UTF-8");
  CJsonPtr root = ParseJson(req.body);
  if (!root || !cJSON_IsObject(root.get())) return HttpResponse::Error(400, "Invalid JSON in body");
  auto targets =
      ParseTargets(cJSON_GetObjectItemCaseSensitive(root.get(), "ep"), ctx.config.limits);
  if (!targets.ok()) return HttpResponse::FromStatus(targets.status());
  const cJSON* e = cJSON_GetObjectItemCaseSensitive(root.get(), "e");
  if (!cJSON_IsObject(e)) return HttpResponse::Error(400, "Event should be an object");
  const cJSON* type = cJSON_GetObjectItemCaseSensitive(e, "type");
  if (!cJSON_IsString(type)) return HttpResponse::Error(400, "Event type should be a string");
  const cJSON* detail = cJSON_GetObjectItemCaseSensitive(e, "detail");
  // Encoded once here; every worker and subscriber shares these bytes.
  std::string e_json = "{\"type\":" + JsonString(type->valuestring) +
                       ",\"detail\":" + (detail ? PrintAsciiJson(detail) : "null") + "}";
  std::string ids = "[";
  std::string first;
  for (Target& t : *targets) {
    EventRef ev = ctx.hub->Publish(std::move(t.topic), e_json, t.whisper);
    if (first.empty()) first = ev->id;
    if (ids.size() > 1) ids += ",";
    ids += JsonString(ev->id);
  }
  ids += "]";
  return HttpResponse::Json("{\"id\":" + JsonString(first) + ",\"ids\":" + ids + "}");
}

}  // namespace

void RegisterPublishHandlers(ServerContext& ctx) {
  ctx.private_routes.Add(
      "/event",
      [&ctx](const HttpRequest& req, Responder done) {
        HttpResponse resp = Publish(ctx, req);
        if (resp.status >= 400) Add(ctx.stats.rejected_bad);
        done(std::move(resp));
      },
      true);
}

}  // namespace herald
