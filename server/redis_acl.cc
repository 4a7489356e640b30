// See redis_acl.h.
#include "server/redis_acl.h"

#include <vector>

#include "server/util/event_add.h"
#include "server/util/log.h"

namespace herald {
namespace {
constexpr int64_t kRetryMs = 100;  // until the first load succeeds
}  // namespace

RedisAclSource::RedisAclSource(RedisStore* redis, int64_t refresh_ms, InstallFn install)
    : redis_(redis), refresh_ms_(refresh_ms), install_(std::move(install)) {}

RedisAclSource::~RedisAclSource() {
  std::promise<void> dropped;
  redis_->RunOnBridge([this, &dropped] {
    *alive_ = false;
    timer_.reset();
    redis_->Listen(redis_->keys().acl_changed(), [](std::string_view) {});
    dropped.set_value();
  });
  dropped.get_future().wait();
}

void RedisAclSource::Start() {
  redis_->RunOnBridge([this] {
    timer_.reset(event_new(redis_->bridge_base(), -1, 0, &RedisAclSource::OnTimer, this));
    redis_->Listen(redis_->keys().acl_changed(), [this](std::string_view) { Load(); });
    Load();
  });
}

void RedisAclSource::OnTimer(evutil_socket_t, short, void* arg) {
  static_cast<RedisAclSource*>(arg)->Load();
}

void RedisAclSource::Arm(int64_t ms) {
  timeval tv = {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  AddEvent(timer_.get(), &tv, "acl", "refresh timer");
}

void RedisAclSource::Load() {
  if (loading_) return;  // the reply on its way reads the hash as of now or later
  RedisClient* c = redis_->commands();
  const bool sent =
      c && c->state() == RedisClient::State::kUp &&
      c->Command({"HGETALL", redis_->keys().acl()}, [this, alive = alive_](const redisReply* r) {
        if (*alive) OnLoaded(r);
      });
  loading_ = sent;
  if (!sent) Arm(loaded_ ? refresh_ms_ : kRetryMs);
}

void RedisAclSource::OnLoaded(const redisReply* r) {
  loading_ = false;
  if (!r || r->type != REDIS_REPLY_ARRAY) {
    // Redis away or the key of another type: keep the records in force.
    if (r && r->type == REDIS_REPLY_ERROR) {
      LogError("acl", 0, "HGETALL %s: %.*s", redis_->keys().acl().c_str(), static_cast<int>(r->len),
               r->str);
    }
    Arm(loaded_ ? refresh_ms_ : kRetryMs);
    return;
  }
  std::vector<AclRecordRef> records;
  std::map<std::string, std::string> refused;
  for (size_t i = 0; i + 1 < r->elements; i += 2) {
    const std::string field(r->element[i]->str, r->element[i]->len);
    const std::string value(r->element[i + 1]->str, r->element[i + 1]->len);
    const std::string where = "ACL record " + redis_->keys().acl() + " " + field;
    auto rec = Acl::ParseRecord(value, where);
    Status bad = rec.ok() ? Status::Ok() : rec.status();
    if (rec.ok() && (*rec)->ep != field) {
      bad = Status::Config(where + ": ep \"" + (*rec)->ep + "\" is not the field's topic");
    }
    if (bad.ok()) {
      records.push_back(std::move(*rec));
      continue;
    }
    // Logged once per bad value, not at every refresh.
    if (auto it = refused_.find(field); it == refused_.end() || it->second != value) {
      LogError("acl", 0, "%s (record refused: the topic is not registered)", bad.reason().c_str());
    }
    refused[field] = value;
  }
  refused_ = std::move(refused);
  if (!loaded_) {
    LogInfo("acl", 0, "ACL: %zu bound event points from Redis %s", records.size(),
            redis_->keys().acl().c_str());
  }
  loaded_ = true;
  install_(Acl::FromRecords(records));
  Arm(refresh_ms_);
}

}  // namespace herald
