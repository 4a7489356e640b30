// ACL for bound ("binded") event points, es-web-notify's BINDED EVENT POINT
// record, loaded from a JSON file (auth.acl_file):
//   [{"ep": "topic", "owner": uid, "pub_password": "<HashPassword string>",
//     "pub": [uid | wildcard...], "sub": [uid | wildcard...]}, ...]
// (or {"event_points": [...]}). Wildcards in pub/sub: "*" every user (also
// anonymous ones), "+" every bound user, "[][][]" bound users without a uid.
// The owner is implicitly in pub and sub. `ep` is an exact topic (no + or #).
// Pure and immutable once loaded: records are shared by pointer with events.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/util/status.h"

struct cJSON;

namespace herald {

// Who is asking: anonymous (not bound), bound without uid, or bound as uid.
struct Principal {
  bool bound = false;
  std::string uid;  // empty with bound: unidentified
};

struct AclRecord {
  std::string ep;
  std::string owner;
  std::string pub_password;  // empty: none required
  std::vector<std::string> pub;
  std::vector<std::string> sub;

  bool MayPublish(const Principal& p) const { return Admits(pub, p); }
  bool MaySubscribe(const Principal& p) const { return Admits(sub, p); }
  // "*" in sub: the event also reaches the plain subscribers of ep.
  bool SubAll() const;
  // True when no password is set or `password` matches it.
  bool PasswordOk(std::string_view password) const;

 private:
  bool Admits(const std::vector<std::string>& list, const Principal& p) const;
};
using AclRecordRef = std::shared_ptr<const AclRecord>;

class Acl {
 public:
  // Parses the JSON text; `origin` names the file in errors.
  static Result<std::shared_ptr<const Acl>> Parse(const std::string& text,
                                                  const std::string& origin);
  // One record (an element of the file's array, or a value of the Redis
  // hash, auth.acl_source redis); `where` names it in errors.
  static Result<AclRecordRef> ParseRecord(const std::string& text, const std::string& where);
  // An ACL of records already parsed (one per ep; a later one wins).
  static std::shared_ptr<const Acl> FromRecords(const std::vector<AclRecordRef>& records);
  // The record for exactly `topic`, or nullptr.
  AclRecordRef Find(std::string_view topic) const;
  size_t size() const { return records_.size(); }

 private:
  static Result<AclRecordRef> ParseRecordItem(const cJSON* item, const std::string& where);
  std::unordered_map<std::string, AclRecordRef> records_;
};

}  // namespace herald
