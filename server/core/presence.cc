#include "server/core/presence.h"

namespace herald {

int64_t Presence::Change(const std::string& clid, int64_t delta) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t& n = clids_[clid];
  n += delta;
  int64_t result = n;
  if (n <= 0) clids_.erase(clid);
  return result < 0 ? 0 : result;
}

namespace {
int64_t AddTo(std::unordered_map<std::string, int64_t>* counts, const std::string& name,
              int64_t delta) {
  int64_t& n = (*counts)[name];
  n += delta;
  int64_t result = n;
  if (n <= 0) counts->erase(name);
  return result < 0 ? 0 : result;
}
}  // namespace

int64_t Presence::ChangeKeyed(const std::string& clid, const std::string& key, int64_t delta) {
  std::lock_guard<std::mutex> lock(mu_);
  AddTo(&clids_, clid, delta);
  return AddTo(&keys_, key, delta);
}

int64_t Presence::CountKey(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(key);
  return it == keys_.end() ? 0 : it->second;
}

int64_t Presence::Count(const std::string& clid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clids_.find(clid);
  return it == clids_.end() ? 0 : it->second;
}

std::map<std::string, int64_t> Presence::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::map<std::string, int64_t>(clids_.begin(), clids_.end());
}

std::map<std::string, int64_t> Presence::KeySnapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::map<std::string, int64_t>(keys_.begin(), keys_.end());
}

bool Presence::TryAcquireIp(const std::string& ip, int64_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t& n = ips_[ip];
  if (limit > 0 && n >= limit) {
    if (n == 0) ips_.erase(ip);
    return false;
  }
  ++n;
  return true;
}

void Presence::ReleaseIp(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ips_.find(ip);
  if (it != ips_.end() && --it->second <= 0) ips_.erase(it);
}

void Presence::ChangeWatchers(int64_t delta) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_ += delta;
}

bool Presence::HasWatchers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watchers_ > 0;
}

}  // namespace herald
