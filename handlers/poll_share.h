// PollShare: long-poll sessions shared by the nodes of a cluster (store.kind
// redis), so a session whose next poll lands on another node (round-robin
// load balancers do that) keeps working. The state lives in Redis, not in
// the client (docs/protocol.md, "Long polling across nodes", says why):
//
//   <p>ps:<connid>  hash: `rec` what a node needs to adopt the session
//                   (secret, clid, space, filters, user, token expiry, auth
//                   state), `node` its owner now, `gen` a claim counter;
//                   PX poll.session_ttl_ms + poll.max_timeout_ms
//   <p>pm:<node>    "<connid> <gen>": the session moved away from <node>;
//                   "kick <connid> <reason>": /disconnect it
//
// Every poll first claims the session (one Lua script, one round trip):
// the claim makes this node the owner (whispers to the connid are routed to
// the owner by the publish script), bumps `gen`, and tells the previous
// owner, which drops its copy unless it claimed it again since. A node that
// held the session last serves the poll from its copy; any other adopts it
// from `rec`, as a connection of its own under the same connid, and reads
// from the client's `since` (ids are global, so nothing is lost or doubled).
// `rec` is written when the session starts and after every control request
// that changes it (join, leave, alive, authenticate). The adopting node
// applies the same auth as the owner did: an expired token or a missed auth
// deadline is refused (401) and the record is gone.
//
// Threading: the public calls from a worker's loop; Redis work on the store's
// bridge; answers posted back to the calling worker.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/net/http.h"
#include "server/store/redis_store.h"

namespace herald {

struct ServerContext;
class Worker;
class Connection;
class PollConnection;

class PollShare {
 public:
  // `redis` outlives this and its bridge stops after this is destroyed.
  PollShare(ServerContext* ctx, RedisStore* redis);
  ~PollShare();
  void Start();  // listens on this node's <p>pm:<node>

  // Writes the session's record (and, at `start`, makes this node its owner).
  void Save(const Connection& session, bool start);
  // /disconnect of `connid` wherever the session lives now: the record goes,
  // and its owner closes it with `reason`.
  void Kick(uint64_t connid, const std::string& reason);
  // Claims session `connid` for this node, then on the session's worker
  // (SessionWorker) runs `then(worker, session)` with the local session (its
  // copy, or one adopted from the record, secret checked), or answers `done`
  // with the refusal: 410 unknown/expired, 400 wrong secret, 401 token
  // expired, 503 Redis away.
  using SessionTask = std::function<void(Worker*, PollConnection*, Responder)>;
  // Degraded, the session stays where it is: when Redis cannot answer, or
  // has no record of it (it could not be saved, or Redis lost its data; the
  // record is written again), a local copy serves the request.
  void WithSession(uint64_t connid, std::string secret, Responder done, SessionTask then);

 private:
  struct Claim;
  void OnClaimed(Worker* target, uint64_t connid, const std::string& secret, Claim claim,
                 Responder done, SessionTask then);
  PollConnection* Adopt(Worker* target, uint64_t connid, const std::string& rec,
                        const std::string& secret, Status* refused);
  void OnMessage(std::string_view payload);

  ServerContext* const ctx_;
  RedisStore* const redis_;
  const int node_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The record of a session (JSON) and the fields it restores; exposed for tests.
std::string EncodePollSession(const Connection& session);
Status DecodePollSession(const std::string& rec, Connection* session,
                         std::vector<std::string>* filters);

}  // namespace herald
