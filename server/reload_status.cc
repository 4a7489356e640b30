// What /state says about SIGHUP reloads (see reload_status.h).
#include "server/reload_status.h"

#include "server/util/json.h"

namespace herald {

void ReloadStatus::Succeeded(int64_t at_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  at_ms_ = at_ms;
  ok_ = true;
  error_.clear();
}

void ReloadStatus::Failed(int64_t at_ms, std::string error) {
  std::lock_guard<std::mutex> lock(mu_);
  at_ms_ = at_ms;
  ok_ = false;
  error_ = std::move(error);
}

std::string ReloadStatus::JsonMembers() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out = "\"config_generation\":" + std::to_string(generation_) + ",\"last_reload\":";
  if (at_ms_ == 0) return out + "null";
  out += std::string("{\"ok\":") + (ok_ ? "true" : "false") +
         ",\"at_ms\":" + std::to_string(at_ms_) +
         ",\"error\":" + (ok_ ? "null" : JsonString(error_)) + "}";
  return out;
}

}  // namespace herald
