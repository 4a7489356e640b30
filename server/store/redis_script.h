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
//           works: <p>tindex, or <p>wtopics for a wildcard topic),
//         7 (optional) a whisper target's poll-session record <p>ps:<connid>
//           ("" otherwise): its `node`, if any, names the channel instead
//   ARGV: 1 topic, 2 event body, 3 stream MAXLEN (approximate), 4 now (ms),
//         5 a fresh epoch, used when Redis has none (it lost its data),
//         6 (optional) a floor: the newest id the caller has seen, and 7 the
//         epoch it saw it in; in that epoch the id is never at or below the
//         floor (a promoted replica may lack the newest, unacknowledged ids
//         that subscribers already got: reusing them would be a duplicate),
//         8 the node channel prefix (<p>n:) for KEYS[7]'s owner
//   Reply: {id, epoch}; the message published is "<id> <epoch> <body>".
const RedisScript& PublishScript();

// The batch publish script: the publish script's steps for n events in one
// atomic call (one round trip; either every event is published or none).
// Their ids are consecutive (INCRBY n), in the given order.
//   KEYS: 1 sequence counter, 2 last-activity sorted set, 3 epoch, then per
//         event i (from 0): 4+3i its topic stream ("" for a live-only event),
//         5+3i its channel, 6+3i the name index its topic goes in (as the
//         publish script's KEYS[6])
//   ARGV: 1 stream MAXLEN (approximate), 2 now (ms), 3 a fresh epoch,
//         4 the floor and 5 its epoch (as the publish script's 6 and 7), then
//         per event i: 6+2i its topic, 7+2i its body
//   Reply: {first id, epoch}; each message published is "<id> <epoch> <body>".
const RedisScript& PublishBatchScript();

}  // namespace herald
