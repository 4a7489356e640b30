// See claims.h.
#include "auth/claims.h"

#include "server/util/json.h"

namespace herald {
namespace {

void AppendList(std::string* out, const std::vector<std::string>& list) {
  out->push_back('[');
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out->push_back(',');
    AppendJsonString(out, list[i]);
  }
  out->push_back(']');
}

bool ReadList(const cJSON* root, const char* key, std::vector<std::string>* out) {
  const cJSON* list = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!cJSON_IsArray(list)) return false;
  const cJSON* item;
  cJSON_ArrayForEach(item, list) {
    if (!cJSON_IsString(item)) return false;
    out->emplace_back(item->valuestring);
  }
  return true;
}

}  // namespace

std::string EncodeClaims(const Claims& c) {
  std::string out = "{\"sub\":";
  AppendJsonString(&out, c.sub);
  out += ",\"all\":";
  out += c.all_spaces ? "true" : "false";
  out += ",\"spaces\":";
  AppendList(&out, c.spaces);
  out += ",\"publish\":";
  AppendList(&out, c.publish);
  out += ",\"has_publish\":";
  out += c.has_publish ? "true" : "false";
  out += ",\"exp\":" + std::to_string(c.exp_s) + "}";
  return out;
}

Result<Claims> DecodeClaims(std::string_view json) {
  CJsonPtr root = ParseJson(std::string(json));
  const cJSON* sub = cJSON_GetObjectItemCaseSensitive(root.get(), "sub");
  const cJSON* all = cJSON_GetObjectItemCaseSensitive(root.get(), "all");
  const cJSON* has_publish = cJSON_GetObjectItemCaseSensitive(root.get(), "has_publish");
  const auto exp = JsonUint53(cJSON_GetObjectItemCaseSensitive(root.get(), "exp"));
  Claims c;
  if (!cJSON_IsString(sub) || !cJSON_IsBool(all) || !cJSON_IsBool(has_publish) || !exp ||
      !ReadList(root.get(), "spaces", &c.spaces) || !ReadList(root.get(), "publish", &c.publish)) {
    return Status::Internal("stored claims: malformed");
  }
  c.sub = sub->valuestring;
  c.all_spaces = cJSON_IsTrue(all);
  c.has_publish = cJSON_IsTrue(has_publish);
  c.exp_s = static_cast<int64_t>(*exp);
  return c;
}

}  // namespace herald
