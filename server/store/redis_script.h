// RedisScript: a Lua script run with EVALSHA, loaded (SCRIPT LOAD) and retried
// once when Redis answers NOSCRIPT — after a restart or SCRIPT FLUSH, or on a
// replica just promoted by Sentinel. EVALSHA sends 40 bytes instead of the
// script on every call.
#pragma once

#include <string>
#include <vector>

#include "server/store/redis_client.h"

namespace herald {

class RedisScript {
 public:
  explicit RedisScript(std::string source);
  const std::string& sha1() const { return sha1_; }
  const std::string& source() const { return source_; }
  // Runs the script; `done` gets its reply (or null, see RedisClient::ReplyFn).
  // Returns false when the client is not up (`done` is not called).
  bool Run(RedisClient& client, const std::vector<std::string>& keys,
           const std::vector<std::string>& args, RedisClient::ReplyFn done) const;

 private:
  std::string source_;
  std::string sha1_;  // lowercase hex, what EVALSHA takes
};

// The publish script (docs/architecture.md, "The Redis store"): the next
// global id, XADD to the topic's stream with that id, the topic's last
// activity, the store epoch, PUBLISH — one atomic step, so the order of ids,
// of streams and of messages is the same.
//   KEYS: 1 sequence counter, 2 topic stream ("" for a live-only event),
//         3 last-activity sorted set, 4 epoch, 5 channel to PUBLISH to,
//         6 the topic's name index for reads (score 0, so ZRANGEBYLEX
//           works: <p>tindex, or <p>wtopics for a wildcard topic)
//   ARGV: 1 topic, 2 event body, 3 stream MAXLEN (approximate), 4 now (ms),
//         5 a fresh epoch, used when Redis has none (it lost its data)
//   Reply: {id, epoch}; the message published is "<id> <epoch> <body>".
const RedisScript& PublishScript();

}  // namespace herald
