#include "auth/bound_topics.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "server/core/topic.h"

namespace herald {
namespace {

Result<std::string> ReadFile(const std::string& path, const char* key) {
  std::ifstream in(path);
  if (!in) {
    return Status::Config(std::string(key) + ": " + path +
                          ": cannot read: " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Status AuthorizeBoundTopics(EVP_PKEY* key, const Acl* acl, const std::string& bind_key,
                            const std::vector<std::string>& bound, int64_t now_ms,
                            int64_t max_age_ms, Principal* who) {
  *who = Principal{};
  if (bind_key.empty()) return Status::Ok();
  auto id = DecodeBindKey(key, bind_key, now_ms, max_age_ms);
  if (!id.ok()) return id.status();
  who->bound = true;
  who->uid = std::move(id->uid);
  for (const std::string& topic : bound) {
    if (HasWildcard(topic)) {
      return Status::BadRequest("Binded event points cannot have wildcards: " + topic);
    }
    AclRecordRef rec = acl ? acl->Find(topic) : nullptr;
    if (!rec) return Status::Forbidden("Event point is not registered: " + topic);
    if (!rec->MaySubscribe(*who)) return Status::Forbidden("Not allowed to subscribe to " + topic);
  }
  return Status::Ok();
}

Result<EvpPkeyPtr> LoadBindKeyPrivateKeyFile(const std::string& path) {
  auto pem = ReadFile(path, "auth.bind_key_private_key");
  if (!pem.ok()) return pem.status();
  auto key = LoadBindKeyPrivateKey(*pem);
  if (!key.ok()) {
    return Status::Config("auth.bind_key_private_key: " + path + ": " + key.status().reason());
  }
  return key;
}

Result<std::shared_ptr<const Acl>> LoadAclFile(const std::string& path) {
  auto text = ReadFile(path, "auth.acl_file");
  if (!text.ok()) return text.status();
  return Acl::Parse(*text, "auth.acl_file: " + path);
}

}  // namespace herald
