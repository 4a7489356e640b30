// ServerContext: what every part of a running node shares — the config, the
// workers, the hub, presence, node counters and the two route tables. Built on
// the main thread before any worker starts; afterwards only the thread-safe
// members (Hub, Presence, counters, workers' Post) are used across threads.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/acl.h"
#include "auth/bind_key.h"
#include "auth/jwt.h"
#include "auth/tickets.h"
#include "server/core/config.h"
#include "server/core/presence.h"
#include "server/core/stats.h"
#include "server/core/topic.h"
#include "server/core/topic_rates.h"
#include "server/net/http.h"
#include "server/net/tls_context.h"
#include "server/reload_status.h"
#include "server/store/redis_cluster.h"
#include "server/util/background_thread.h"

struct evhttp_request;

namespace herald {

class Hub;
class PollShare;
class Worker;

// A private-API event stream (GET, text/event-stream, served by the private
// listener): while at least one client listens, the listener calls
// `snapshot` every `period_ms` and sends the document it yields (on any
// thread, exactly once) to every client as one `data:` line. At most
// `max_clients` at once node-wide; past that, 503.
struct PrivateStream {
  std::function<void(std::function<void(std::string)>)> snapshot;
  int period_ms = 1000;
  int max_clients = 16;
};

// Public endpoints that own their request beyond the handler (streams, SSE,
// held polls): called on the worker's loop with the raw libevent request.
using StreamingHandler = std::function<void(Worker&, evhttp_request*)>;

struct ServerContext {
  Config config;
  TopicLimits topic_limits;
  NodeStats stats;
  Presence presence;
  int64_t start_ms = 0;
  std::vector<std::unique_ptr<Worker>> workers;
  // Set by the server before it destroys the workers: a store completion that
  // arrives after that (a Redis reply during shutdown) is dropped instead of
  // being posted to a worker that no longer exists (Worker::LoopPost).
  std::atomic<bool> workers_gone{false};
  std::unique_ptr<Hub> hub;
  // The other nodes (store.kind redis): heartbeat, requests, presence counts
  // (docs/scaling.md, "Across nodes"). Null with the memory store. Declared
  // after the hub, so it goes first, while the hub's store still runs.
  std::unique_ptr<RedisCluster> cluster;
  // Slow request work (see background_thread.h); stopped before the workers.
  std::unique_ptr<BackgroundThread> background;
  Router public_routes;   // served by every worker on the public listener
  Router private_routes;  // the private API (MHD), and the public one in compat mode
  // Filled by the assembler (app/server.cc) so the listener needs no handler.
  std::map<std::string, StreamingHandler> streaming_routes;
  std::map<std::string, PrivateStream> private_streams;  // e.g. /state/stream
  TopicRates topic_rates;                                // events/s per topic, noted by POST /event
  // Bind keys and the ACL of bound topics (auth.*); loaded before the workers
  // start, read-only afterwards. Null: bind keys refused / no topic registered.
  EvpPkeyPtr bind_key_private_key;
  std::shared_ptr<const Acl> acl;
  // JWT keys and policy (auth.jwt_*), loaded by LoadJwtAuth before the workers
  // start; read-only afterwards. The ticket store is thread-safe: in memory,
  // or in Redis with store.kind redis (set by the assembler before the
  // workers start).
  JwtKeys jwt_keys;
  JwtPolicy jwt_policy;
  std::unique_ptr<TicketStore> tickets = std::make_unique<MemoryTicketStore>();
  // Long-poll sessions shared through Redis (handlers/poll_share.h); null
  // with the memory store. Owned by the assembler.
  PollShare* poll_share = nullptr;
  // The HTTPS listener (tls.*): its socket, shared by the workers like the
  // plain one (-1: TLS off), and the certificate new handshakes take,
  // swapped by a SIGHUP reload.
  int tls_listen_fd = -1;
  TlsContextSlot tls;
  ReloadStatus reload;  // SIGHUP reloads (app/reload.cc), shown by /state
};

}  // namespace herald
