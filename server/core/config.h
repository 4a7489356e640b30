// Config: every setting herald reads, as plain structs, parsed and validated
// in one place at start-up (JSON file, then command-line flags that override
// it). Errors name the key and the file. Handlers receive these structs and
// never parse configuration themselves. Immutable after start-up, so any
// thread may read it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/util/status.h"

namespace herald {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

struct StreamConfig {
  int64_t timeout_ms = 60000;    // a stream ends this long after its start or last /alive
  int64_t heartbeat_ms = 50000;  // ''0'' frames keep proxies from timing the stream out
  int64_t max_alive_count = 60;  // /alive resets allowed per connection
};

// History kept for resume (the memory store); the oldest events go first.
struct HistoryConfig {
  int64_t max_events = 10000;
  int64_t max_bytes = int64_t{64} << 20;
  int64_t max_age_s = 3600;
};

// Where ids and history live (docs/scaling.md): "memory" (one node) or
// "redis" (nodes sharing one Redis).
struct StoreConfig {
  std::string kind = "memory";
  std::string redis_url = "redis://127.0.0.1:6379/0";  // store/redis_url.h
  std::string redis_password;                          // overrides a password in the URL
  std::string redis_key_prefix = "herald:";
  int64_t connect_timeout_ms = 2000;
  int64_t command_timeout_ms = 2000;
  int64_t stream_maxlen = 10000;  // history kept per topic (approximate)
  // Acknowledge a publish once this many replicas have it (WAIT); with
  // Sentinel, 1 makes a failover lose no acknowledged event.
  int64_t min_replicas_ack = 0;
  int64_t replica_ack_timeout_ms = 500;  // past it: 503, unacknowledged
};

// The nodes of a Redis cluster (store.kind redis; docs/scaling.md, "Across
// nodes"): each node beats every node_ttl_ms / 3; a node silent for
// node_ttl_ms is dead (its presence counts leave the sums). A request to the
// other nodes (/disconnect, /connections) waits request_timeout_ms at most.
struct ClusterConfig {
  int64_t node_ttl_ms = 10000;
  int64_t request_timeout_ms = 1000;
};

struct SseConfig {
  int64_t retry_ms = 3000;       // the `retry:` sent first: browsers wait this long to reconnect
  int64_t heartbeat_ms = 15000;  // `:` comment lines
  int64_t timeout_ms = 0;        // 0 = no timeout (browsers stay connected); else as stream
};

struct PollConfig {
  int64_t timeout_ms = 30000;       // how long a poll is held when nothing matches
  int64_t max_timeout_ms = 120000;  // cap on the client's `timeout`
  int64_t max_batch = 100;          // events per reply
  int64_t session_ttl_ms = 60000;   // a session lives this long after its last poll ends
};

struct Limits {
  int64_t max_connections = 100000;    // open subscriber connections per node
  int64_t max_connections_per_ip = 0;  // 0 = no per-address limit
  int64_t max_filters_per_connection = 64;
  int64_t max_body_bytes = 1 << 20;
  int64_t max_header_bytes = 8192;
  int64_t max_topic_bytes = 256;
  int64_t max_topic_levels = 16;
  int64_t max_output_buffer_bytes = 1 << 20;  // past this a subscriber is closed as `slow`
  int64_t max_clid_bytes = 128;
  // Slowloris: a request (line, headers, body) must arrive within this long
  // after its connection was accepted or its previous answer completed; at
  // most this many such unfinished requests per node (split evenly across
  // workers), past which the oldest is cut to make room.
  int64_t request_timeout_ms = 10000;
  int64_t max_pending_connections = 4096;
  // Poll sessions outlive their requests by poll.session_ttl_ms: they have a
  // budget of their own instead of using up max_connections.
  int64_t max_poll_sessions = 10000;
  // Largest event a publish may create, counted as encoded for the wire
  // ({"type","detail"} after the pure-ASCII escaping, which can triple
  // non-ASCII text). A quarter of the default output cap: a reader that
  // keeps up can hold a few of the largest events queued without being slow.
  int64_t max_event_bytes = 256 << 10;
  // Events one batch publish (POST /event with an array) may create, all
  // targets of all items counted; the body is bounded by max_body_bytes.
  int64_t max_batch_events = 1000;
};

struct CompatConfig {
  bool public_private_api = false;  // also serve the private API on the public port
};

// Bind keys and topic ACLs (docs/auth.md).
struct AuthConfig {
  std::string bind_key_private_key;    // PEM file; empty: bind keys refused
  int64_t bind_key_max_age_ms = 3000;  // a bind key is valid this long after its iat
  std::string acl_file;                // JSON ACL for bound topics; empty: none registered
  // Where bound topics' ACL records come from: "file" (acl_file) or "redis"
  // (the hash <prefix>acl, store.kind redis; server/redis_acl.h), reloaded on
  // a publish to <prefix>acl:changed and every acl_refresh_ms.
  std::string acl_source = "file";
  int64_t acl_refresh_ms = 5000;
  // JWT (auth/jwt.h). With no hs256_secret and no public key, spaces are open.
  std::string jwt_hs256_secret;              // HMAC secret for HS256 tokens
  std::vector<std::string> jwt_public_keys;  // PEM files (RSA/EC); kid = base name
  std::vector<std::string> jwt_algorithms{"HS256", "RS256", "ES256"};
  int64_t jwt_leeway_s = 30;  // clock skew allowed on exp/nbf/iat
  std::string jwt_issuer;     // empty: not checked
  std::string jwt_audience;   // empty: not checked
  std::string jwt_spaces_claim = "spaces";
  int64_t timeout_ms = 5000;       // a space connection must authenticate within this
  int64_t expiring_notice_s = 30;  // `auth_expiring` this long before the token's exp
  int64_t ticket_ttl_ms = 10000;   // a ticket from POST /ticket is valid this long
  bool JwtEnabled() const { return !jwt_hs256_secret.empty() || !jwt_public_keys.empty(); }
};

// Logging beyond log_level/log_format (docs/operations.md, "Logs").
struct LogConfig {
  bool access = false;  // one line per private-API request: method, path, status, duration
};

// HTTPS on a second public listener (docs/operations.md, "TLS"). Off while
// cert_file is empty; the plain `listen` keeps serving either way.
struct TlsConfig {
  std::string cert_file;  // PEM: the server certificate, then its chain
  std::string key_file;   // PEM private key of that certificate
  HostPort listen{"127.0.0.1", 8443};
  bool enabled() const { return !cert_file.empty(); }
};

struct Config {
  HostPort listen{"127.0.0.1", 8080};
  HostPort private_listen{"127.0.0.1", 8081};
  int workers = 0;   // 0 = number of cores
  int node_id = -1;  // -1 = derived at start (server/core/connid.h ResolveNodeId)
  std::vector<std::string> tokens;
  std::string cors_origin = "*";
  StreamConfig stream;
  SseConfig sse;
  PollConfig poll;
  HistoryConfig history;
  StoreConfig store;
  ClusterConfig cluster;
  Limits limits;
  CompatConfig compat;
  AuthConfig auth;
  std::string log_level = "info";   // error, warn, info, debug
  std::string log_format = "text";  // text, or json: one JSON object per line
  LogConfig log;
  TlsConfig tls;
};

// What the command line asked for beyond the config itself.
struct CommandLine {
  Config config;
  bool help = false;
  bool version = false;      // --version: print VersionLine() and exit
  std::string check_config;  // --check-config FILE: validate FILE (and the flags), then exit
};

// Parses argv: --config FILE is read first, then the other flags override it.
Result<CommandLine> ParseCommandLine(int argc, char** argv);
// Parses a JSON config text; `origin` names the file in error messages.
Status ParseConfigJson(const std::string& text, const std::string& origin, Config* config);
Result<HostPort> ParseHostPort(const std::string& text);
const char* HelpText();

}  // namespace herald
