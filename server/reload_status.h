// What /state says about SIGHUP reloads: the config generation (1 at start,
// +1 per successful reload) and the last reload's result. Written by the main
// thread (Server::Reload), read by /state on any worker: guarded by a mutex.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace herald {

class ReloadStatus {
 public:
  void Succeeded(int64_t at_ms);
  void Failed(int64_t at_ms, std::string error);
  // `"config_generation":N,"last_reload":null|{"ok":..,"at_ms":..,"error":..}`,
  // members for the /state object.
  std::string JsonMembers() const;

 private:
  mutable std::mutex mu_;
  int64_t generation_ = 1;
  int64_t at_ms_ = 0;  // 0: no reload yet
  bool ok_ = true;
  std::string error_;
};

}  // namespace herald
