// Routing a client control request (/alive, /join, /leave, /authenticate,
// a held poll) to the connection it names by connid. The owning worker is
// read from the connid (server/core/connid.h); a connid minted by another node or
// naming no worker of this one has no local owner.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "server/net/http.h"

struct cJSON;

namespace herald {

struct ServerContext;
class Worker;
class Connection;

// The `connid` (an integer below 2^53) and `secret` (a string) of a control
// request's JSON body; nullopt when `root` is not an object or either is
// missing or of the wrong type (answered 400 `Invalid object`).
struct ConnIdSecret {
  uint64_t connid = 0;
  std::string secret;
};
std::optional<ConnIdSecret> ReadConnIdSecret(const cJSON* root);

// The local worker that owns `connid`, or nullptr. Any thread.
Worker* OwnerOf(ServerContext& ctx, uint64_t connid);

// Runs `fn(worker, conn, done)` on the owning worker's loop when the
// connection is open there and `secret` matches its current secret (compared
// in constant time); otherwise answers `done` with 400 `Invalid data`, the
// es-web-notify answer to a wrong pair. `done` is answered exactly once.
using ConnectionTask = std::function<void(Worker*, Connection*, Responder)>;
void PostToConnection(ServerContext& ctx, uint64_t connid, std::string secret, Responder done,
                      ConnectionTask fn);

}  // namespace herald
