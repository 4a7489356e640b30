// Hub: the publish path. A publish becomes one immutable Event with the next
// global sequence number, is appended to history (the Store), and only then
// is handed to every worker's inbox (a whisper only to the worker that owns
// its target). Ids, history order and inbox order are assigned under one
// mutex, so every worker sees events in id order and every event a worker has
// dispatched is already in history: a replay up to a worker's last dispatched
// event, followed by live delivery, has no gap and no duplicate.
//
// Thread-safe: called on the worker loops (the public and the private API's
// handlers both run there) and on the background thread (a publish whose
// token needs a PBKDF2 check, see background_pool.h).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "server/core/event.h"
#include "server/store/store.h"

namespace herald {

struct ServerContext;

class Hub {
 public:
  explicit Hub(ServerContext* ctx);
  // Publishes `e_json` ({"type","detail"}, pure ASCII) on `topic`.
  // REQUIRES: topic validated. Returns the event (its id for the reply).
  // `bound`: a bound publish's ACL record (see Event::bound).
  // `presence`: a presence change, delivered live only (Event::presence).
  EventRef Publish(std::string topic, std::string_view e_json, uint64_t whisper,
                   std::shared_ptr<const AclRecord> bound = nullptr, bool presence = false);
  uint32_t epoch() const { return store_->epoch(); }
  // The seq of the newest event published so far. Every event at or below
  // it is already in every worker's inbox (Publish posts under the same
  // mutex), so a connection that subscribes now starts live after it.
  uint64_t LastSeq();
  // History. Thread-safe; lives as long as the Hub.
  const Store& store() const { return *store_; }

 private:
  ServerContext* ctx_;
  // Its epoch is drawn at start-up: a restarted node never mistakes an old cursor.
  std::unique_ptr<Store> store_;
  std::mutex mu_;
  uint64_t seq_ = 0;
};

// Publishes a presence event (connect/disconnect) for `clid`, a presence key
// (server/core/space.h: a space connection's presence stays inside its space), if
// anyone listens.
void PublishPresence(ServerContext* ctx, const std::string& clid, std::string_view type,
                     int64_t count);

}  // namespace herald
