// Presence: how many connections each clid has on this node, for the
// @CONNECTION@/<clid> events and GET /connections. Updated on connect and
// disconnect only (never per event), from any worker, under one mutex.
// Also the per-address connection counts for limits.max_connections_per_ip.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace herald {

class Presence {
 public:
  // Adds `delta` to clid's count; returns the new count.
  int64_t Change(const std::string& clid, int64_t delta);
  int64_t Count(const std::string& clid) const;
  // Presence keys (server/core/space.h): the counts presence events and
  // `available` carry, so a space's connections are counted only inside it.
  // Adds `delta` to clid's count (above, for GET /connections) and to its
  // key's; returns the key's new count.
  int64_t ChangeKeyed(const std::string& clid, const std::string& key, int64_t delta);
  int64_t CountKey(const std::string& key) const;
  std::map<std::string, int64_t> Snapshot() const;
  // Every presence key's count (what a node writes to Redis whole after a
  // reconnect, docs/scaling.md).
  std::map<std::string, int64_t> KeySnapshot() const;

  // Per-address counts. TryAcquire fails when `limit` (> 0) is reached.
  bool TryAcquireIp(const std::string& ip, int64_t limit);
  void ReleaseIp(const std::string& ip);

  // Filters on @CONNECTION@/... across all workers: when none, presence
  // events are not published at all, which saves a publish per connect.
  void ChangeWatchers(int64_t delta);
  bool HasWatchers() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> clids_;
  std::unordered_map<std::string, int64_t> keys_;
  std::unordered_map<std::string, int64_t> ips_;
  int64_t watchers_ = 0;
};

inline constexpr char kPresencePrefix[] = "@CONNECTION@/";
inline constexpr char kServerTopic[] = "@SERVER@";
inline constexpr char kAnonClid[] = "@ANON_CONNECTION@";

}  // namespace herald
