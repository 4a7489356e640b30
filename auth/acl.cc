#include "auth/acl.h"

#include "auth/password.h"
#include "server/core/topic.h"
#include "server/util/json.h"

namespace herald {
namespace {

Result<std::string> Uid(const cJSON* item, const std::string& where) {
  if (cJSON_IsString(item) && item->valuestring[0]) return std::string(item->valuestring);
  if (auto n = JsonUint53(item)) return std::to_string(*n);
  return Status::Config(where + " should be a non-empty string or an integer");
}

Status UidList(const cJSON* list, const std::string& where, std::vector<std::string>* out) {
  if (!list) return Status::Ok();
  if (!cJSON_IsArray(list)) return Status::Config(where + " should be an array");
  const cJSON* item;
  cJSON_ArrayForEach(item, list) {
    auto uid = Uid(item, where + " entry");
    if (!uid.ok()) return uid.status();
    out->push_back(std::move(*uid));
  }
  return Status::Ok();
}

}  // namespace

bool AclRecord::Admits(const std::vector<std::string>& list, const Principal& p) const {
  if (p.bound && !p.uid.empty() && p.uid == owner) return true;
  for (const std::string& e : list) {
    if (e == "*") return true;
    if (!p.bound) continue;
    if (e == "+") return true;
    if (e == "[][][]" && p.uid.empty()) return true;
    if (!p.uid.empty() && e == p.uid) return true;
  }
  return false;
}

bool AclRecord::SubAll() const {
  for (const std::string& e : sub) {
    if (e == "*") return true;
  }
  return false;
}

bool AclRecord::PasswordOk(std::string_view password) const {
  return pub_password.empty() || VerifyPassword(password, pub_password);
}

Result<std::shared_ptr<const Acl>> Acl::Parse(const std::string& text, const std::string& origin) {
  CJsonPtr root = ParseJson(text);
  if (!root) return Status::Config(origin + ": invalid JSON");
  const cJSON* list = root.get();
  if (cJSON_IsObject(list)) list = cJSON_GetObjectItemCaseSensitive(list, "event_points");
  if (!cJSON_IsArray(list)) {
    return Status::Config(origin + ": expected an array of event point records");
  }
  auto acl = std::make_shared<Acl>();
  int i = 0;
  const cJSON* item;
  cJSON_ArrayForEach(item, list) {
    const std::string where = origin + ": record " + std::to_string(i++);
    auto rec = ParseRecordItem(item, where);
    if (!rec.ok()) return rec.status();
    if (!acl->records_.emplace((*rec)->ep, *rec).second) {
      return Status::Config(where + ": duplicate ep " + (*rec)->ep);
    }
  }
  return std::shared_ptr<const Acl>(std::move(acl));
}

Result<AclRecordRef> Acl::ParseRecord(const std::string& text, const std::string& where) {
  CJsonPtr root = ParseJson(text);
  if (!root) return Status::Config(where + ": invalid JSON");
  return ParseRecordItem(root.get(), where);
}

std::shared_ptr<const Acl> Acl::FromRecords(const std::vector<AclRecordRef>& records) {
  auto acl = std::make_shared<Acl>();
  for (const AclRecordRef& rec : records) acl->records_[rec->ep] = rec;
  return acl;
}

Result<AclRecordRef> Acl::ParseRecordItem(const cJSON* item, const std::string& where) {
  if (!cJSON_IsObject(item)) return Status::Config(where + " should be an object");
  auto rec = std::make_shared<AclRecord>();
  const cJSON* ep = cJSON_GetObjectItemCaseSensitive(item, "ep");
  if (!cJSON_IsString(ep) || !ep->valuestring[0]) {
    return Status::Config(where + ": ep should be a non-empty string");
  }
  rec->ep = ep->valuestring;
  if (HasWildcard(rec->ep)) return Status::Config(where + ": ep has a wildcard");
  const cJSON* owner = cJSON_GetObjectItemCaseSensitive(item, "owner");
  if (owner && !cJSON_IsNull(owner)) {
    auto o = Uid(owner, where + ": owner");
    if (!o.ok()) return o.status();
    rec->owner = std::move(*o);
  }
  const cJSON* pw = cJSON_GetObjectItemCaseSensitive(item, "pub_password");
  if (pw && !cJSON_IsNull(pw)) {
    if (!cJSON_IsString(pw)) return Status::Config(where + ": pub_password should be a string");
    rec->pub_password = pw->valuestring;
    if (!rec->pub_password.empty() && !IsPasswordHash(rec->pub_password)) {
      return Status::Config(where + ": pub_password is not a hash (use herald --hash-password)");
    }
  }
  Status s = UidList(cJSON_GetObjectItemCaseSensitive(item, "pub"), where + ": pub", &rec->pub);
  if (!s.ok()) return s;
  s = UidList(cJSON_GetObjectItemCaseSensitive(item, "sub"), where + ": sub", &rec->sub);
  if (!s.ok()) return s;
  return AclRecordRef(std::move(rec));
}

AclRecordRef Acl::Find(std::string_view topic) const {
  auto it = records_.find(std::string(topic));
  return it == records_.end() ? nullptr : it->second;
}

}  // namespace herald
