#include "server/core/config.h"

#include <cjson/cJSON.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "server/core/connid.h"
#include "server/util/json.h"

namespace herald {
namespace {

Status KeyError(const std::string& origin, const std::string& key, const std::string& what) {
  return Status::Config(origin + ": " + key + ": " + what);
}

// One reader per key: the table below is the single list of keys herald
// accepts, so an unknown key is an error rather than a silent typo.
using KeyReader = std::function<Status(const cJSON*, const std::string& key)>;

KeyReader Int(int64_t* out, const std::string& origin, int64_t min, int64_t max) {
  return [=](const cJSON* v, const std::string& key) {
    if (!cJSON_IsNumber(v) || std::floor(v->valuedouble) != v->valuedouble) {
      return KeyError(origin, key, "expected an integer");
    }
    if (v->valuedouble < static_cast<double>(min) || v->valuedouble > static_cast<double>(max)) {
      return KeyError(origin, key,
                      "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    *out = static_cast<int64_t>(v->valuedouble);
    return Status::Ok();
  };
}

KeyReader Bool(bool* out, const std::string& origin) {
  return [=](const cJSON* v, const std::string& key) {
    if (!cJSON_IsBool(v)) return KeyError(origin, key, "expected true or false");
    *out = cJSON_IsTrue(v);
    return Status::Ok();
  };
}

KeyReader String(std::string* out, const std::string& origin) {
  return [=](const cJSON* v, const std::string& key) {
    if (!cJSON_IsString(v)) return KeyError(origin, key, "expected a string");
    *out = v->valuestring;
    return Status::Ok();
  };
}

KeyReader Address(HostPort* out, const std::string& origin) {
  return [=](const cJSON* v, const std::string& key) {
    if (!cJSON_IsString(v)) return KeyError(origin, key, "expected \"host:port\"");
    auto hp = ParseHostPort(v->valuestring);
    if (!hp.ok()) return KeyError(origin, key, hp.status().reason());
    *out = *hp;
    return Status::Ok();
  };
}

KeyReader StringList(std::vector<std::string>* out, const std::string& origin) {
  return [=](const cJSON* v, const std::string& key) {
    if (!cJSON_IsArray(v)) return KeyError(origin, key, "expected an array of strings");
    out->clear();
    const cJSON* item;
    cJSON_ArrayForEach(item, v) {
      if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
        return KeyError(origin, key, "expected an array of non-empty strings");
      }
      out->push_back(item->valuestring);
    }
    return Status::Ok();
  };
}

Status ReadObject(const cJSON* obj, const std::string& prefix, const std::string& origin,
                  const std::map<std::string, KeyReader>& readers) {
  if (!cJSON_IsObject(obj)) {
    return KeyError(origin, prefix.empty() ? "(top level)" : prefix, "expected an object");
  }
  const cJSON* item;
  cJSON_ArrayForEach(item, obj) {
    std::string key = prefix.empty() ? item->string : prefix + "." + item->string;
    auto it = readers.find(key);
    if (it == readers.end()) return KeyError(origin, key, "unknown key");
    Status s = it->second(item, key);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Result<HostPort> ParseHostPort(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return Status::Config("expected host:port");
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Config("port must be a number from 0 to 65535");
  }
  long p = std::stol(port);
  if (p > 65535) return Status::Config("port must be a number from 0 to 65535");
  hp.port = static_cast<uint16_t>(p);
  return hp;
}

Status ParseConfigJson(const std::string& text, const std::string& origin, Config* c) {
  CJsonPtr root = ParseJson(text);
  if (!root) return Status::Config(origin + ": not valid JSON");
  const int64_t kBig = int64_t{1} << 40;
  int64_t workers = c->workers;
  int64_t node_id = c->node_id;
  std::map<std::string, KeyReader> readers = {
      {"listen", Address(&c->listen, origin)},
      {"private_listen", Address(&c->private_listen, origin)},
      {"workers", Int(&workers, origin, 0, 64)},
      {"node_id", Int(&node_id, origin, -1, kMaxNodeId)},
      {"tokens", StringList(&c->tokens, origin)},
      {"cors_origin", String(&c->cors_origin, origin)},
      {"log_level", String(&c->log_level, origin)},
      {"log_format", String(&c->log_format, origin)},
      {"log", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"log.access", Bool(&c->log.access, origin)},
      {"stream", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"stream.timeout_ms", Int(&c->stream.timeout_ms, origin, 100, kBig)},
      {"stream.heartbeat_ms", Int(&c->stream.heartbeat_ms, origin, 50, kBig)},
      {"stream.max_alive_count", Int(&c->stream.max_alive_count, origin, 0, kBig)},
      {"sse", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"sse.retry_ms", Int(&c->sse.retry_ms, origin, 0, kBig)},
      {"sse.heartbeat_ms", Int(&c->sse.heartbeat_ms, origin, 50, kBig)},
      {"sse.timeout_ms", Int(&c->sse.timeout_ms, origin, 0, kBig)},
      {"poll", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"poll.timeout_ms", Int(&c->poll.timeout_ms, origin, 0, kBig)},
      {"poll.max_timeout_ms", Int(&c->poll.max_timeout_ms, origin, 0, kBig)},
      {"poll.max_batch", Int(&c->poll.max_batch, origin, 1, 100000)},
      {"poll.session_ttl_ms", Int(&c->poll.session_ttl_ms, origin, 100, kBig)},
      {"history", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"history.max_events", Int(&c->history.max_events, origin, 0, kBig)},
      {"history.max_bytes", Int(&c->history.max_bytes, origin, 0, kBig)},
      {"history.max_age_s", Int(&c->history.max_age_s, origin, 0, kBig)},
      {"limits", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"limits.max_connections", Int(&c->limits.max_connections, origin, 1, kBig)},
      {"limits.max_connections_per_ip", Int(&c->limits.max_connections_per_ip, origin, 0, kBig)},
      {"limits.max_filters_per_connection",
       Int(&c->limits.max_filters_per_connection, origin, 1, 100000)},
      {"limits.max_body_bytes", Int(&c->limits.max_body_bytes, origin, 256, 1 << 30)},
      {"limits.max_header_bytes", Int(&c->limits.max_header_bytes, origin, 1024, 1 << 20)},
      {"limits.max_topic_bytes", Int(&c->limits.max_topic_bytes, origin, 1, 65536)},
      {"limits.max_topic_levels", Int(&c->limits.max_topic_levels, origin, 1, 1024)},
      {"limits.max_output_buffer_bytes",
       Int(&c->limits.max_output_buffer_bytes, origin, 4096, kBig)},
      {"limits.max_clid_bytes", Int(&c->limits.max_clid_bytes, origin, 1, 65536)},
      {"limits.request_timeout_ms", Int(&c->limits.request_timeout_ms, origin, 100, kBig)},
      {"limits.max_pending_connections", Int(&c->limits.max_pending_connections, origin, 1, kBig)},
      {"limits.max_poll_sessions", Int(&c->limits.max_poll_sessions, origin, 1, kBig)},
      {"limits.max_event_bytes", Int(&c->limits.max_event_bytes, origin, 64, kBig)},
      {"limits.max_batch_events", Int(&c->limits.max_batch_events, origin, 1, 1000000)},
      {"compat", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"compat.public_private_api", Bool(&c->compat.public_private_api, origin)},
      {"auth", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"auth.bind_key_private_key", String(&c->auth.bind_key_private_key, origin)},
      {"auth.bind_key_max_age_ms", Int(&c->auth.bind_key_max_age_ms, origin, 1, kBig)},
      {"auth.acl_file", String(&c->auth.acl_file, origin)},
      {"auth.acl_source", String(&c->auth.acl_source, origin)},
      {"auth.acl_refresh_ms", Int(&c->auth.acl_refresh_ms, origin, 100, kBig)},
      {"auth.jwt_hs256_secret", String(&c->auth.jwt_hs256_secret, origin)},
      {"auth.jwt_public_keys", StringList(&c->auth.jwt_public_keys, origin)},
      {"auth.jwt_algorithms", StringList(&c->auth.jwt_algorithms, origin)},
      {"auth.jwt_leeway_s", Int(&c->auth.jwt_leeway_s, origin, 0, 86400)},
      {"auth.jwt_issuer", String(&c->auth.jwt_issuer, origin)},
      {"auth.jwt_audience", String(&c->auth.jwt_audience, origin)},
      {"auth.jwt_spaces_claim", String(&c->auth.jwt_spaces_claim, origin)},
      {"auth.timeout_ms", Int(&c->auth.timeout_ms, origin, 100, kBig)},
      {"auth.expiring_notice_s", Int(&c->auth.expiring_notice_s, origin, 0, kBig)},
      {"auth.ticket_ttl_ms", Int(&c->auth.ticket_ttl_ms, origin, 100, kBig)},
      {"tls", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"tls.cert_file", String(&c->tls.cert_file, origin)},
      {"tls.key_file", String(&c->tls.key_file, origin)},
      {"tls.listen", Address(&c->tls.listen, origin)},
      {"store", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"store.kind", String(&c->store.kind, origin)},
      {"store.redis_url", String(&c->store.redis_url, origin)},
      {"store.redis_password", String(&c->store.redis_password, origin)},
      {"store.redis_key_prefix", String(&c->store.redis_key_prefix, origin)},
      {"store.connect_timeout_ms", Int(&c->store.connect_timeout_ms, origin, 10, 600000)},
      {"store.command_timeout_ms", Int(&c->store.command_timeout_ms, origin, 10, 600000)},
      {"store.stream_maxlen", Int(&c->store.stream_maxlen, origin, 1, kBig)},
      {"store.min_replicas_ack", Int(&c->store.min_replicas_ack, origin, 0, 100)},
      {"store.replica_ack_timeout_ms", Int(&c->store.replica_ack_timeout_ms, origin, 1, 600000)},
      {"cluster", [](const cJSON*, const std::string&) { return Status::Ok(); }},
      {"cluster.node_ttl_ms", Int(&c->cluster.node_ttl_ms, origin, 300, 3600000)},
      {"cluster.request_timeout_ms", Int(&c->cluster.request_timeout_ms, origin, 10, 600000)},
  };
  Status s = ReadObject(root.get(), "", origin, readers);
  // Nested objects: the top-level pass checked they are known keys.
  for (const char* section : {"stream", "sse", "poll", "history", "limits", "compat", "auth", "log",
                              "tls", "store", "cluster"}) {
    if (!s.ok()) break;
    if (const cJSON* obj = cJSON_GetObjectItemCaseSensitive(root.get(), section)) {
      s = ReadObject(obj, section, origin, readers);
    }
  }
  if (!s.ok()) return s;
  for (const std::string& alg : c->auth.jwt_algorithms) {
    if (alg != "HS256" && alg != "RS256" && alg != "ES256") {
      return KeyError(origin, "auth.jwt_algorithms", "expected HS256, RS256 or ES256");
    }
  }
  if (c->store.kind != "memory" && c->store.kind != "redis") {
    return KeyError(origin, "store.kind", "expected \"memory\" or \"redis\"");
  }
  // WAIT blocks the command connection: past the command timeout the
  // watchdog would take the replicas' slowness for a dead Redis.
  if (c->store.min_replicas_ack > 0 &&
      c->store.replica_ack_timeout_ms >= c->store.command_timeout_ms) {
    return KeyError(origin, "store.replica_ack_timeout_ms",
                    "must be below store.command_timeout_ms");
  }
  if (c->auth.acl_source != "file" && c->auth.acl_source != "redis") {
    return KeyError(origin, "auth.acl_source", "expected \"file\" or \"redis\"");
  }
  if (c->auth.acl_source == "redis" && !c->auth.acl_file.empty()) {
    return KeyError(origin, "auth.acl_file", "not used with auth.acl_source \"redis\"");
  }
  if (c->auth.jwt_spaces_claim.empty()) {
    return KeyError(origin, "auth.jwt_spaces_claim", "must not be empty");
  }
  const cJSON* limits = cJSON_GetObjectItemCaseSensitive(root.get(), "limits");
  if (!cJSON_GetObjectItemCaseSensitive(limits, "max_event_bytes")) {
    // Not configured: the default, or a quarter of a smaller output cap.
    c->limits.max_event_bytes =
        std::min(c->limits.max_event_bytes, c->limits.max_output_buffer_bytes / 4);
  }
  if (c->limits.max_event_bytes >= c->limits.max_output_buffer_bytes) {
    // Else one event alone would fill a subscriber's output buffer.
    return KeyError(origin, "limits.max_event_bytes",
                    "must be below limits.max_output_buffer_bytes (" +
                        std::to_string(c->limits.max_output_buffer_bytes) + ")");
  }
  if (c->sse.timeout_ms != 0 && c->sse.timeout_ms < 100) {
    return KeyError(origin, "sse.timeout_ms", "must be 0 (no timeout) or at least 100");
  }
  if (c->tls.cert_file.empty() != c->tls.key_file.empty()) {
    return KeyError(origin, c->tls.cert_file.empty() ? "tls.cert_file" : "tls.key_file",
                    "tls.cert_file and tls.key_file go together");
  }
  c->workers = static_cast<int>(workers);
  c->node_id = static_cast<int>(node_id);
  static const char* kLevels[] = {"error", "warn", "info", "debug"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok |= c->log_level == l;
  if (!level_ok) return KeyError(origin, "log_level", "expected error, warn, info or debug");
  if (c->log_format != "text" && c->log_format != "json") {
    return KeyError(origin, "log_format", "expected text or json");
  }
  return Status::Ok();
}

Result<CommandLine> ParseCommandLine(int argc, char** argv) {
  CommandLine cl;
  std::vector<std::pair<std::string, std::string>> flags;
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      cl.help = true;
      return cl;
    }
    if (arg == "--version") {
      cl.version = true;
      return cl;
    }
    static const char* kWithValue[] = {
        "--config",         "--listen",          "--private-listen",       "--workers",
        "--node-id",        "--token",           "--bind-key-private-key", "--jwt-hs256-secret",
        "--jwt-public-key", "--auth-timeout-ms", "--check-config",         "--store",
        "--redis"};
    bool known = false;
    for (const char* f : kWithValue) known |= arg == f;
    if (!known) return Status::Config("unknown flag " + arg + " (see --help)");
    if (i + 1 >= argc) return Status::Config(arg + " needs a value");
    std::string value = argv[++i];
    if (arg == "--config" || arg == "--check-config") {
      if (arg == "--check-config") cl.check_config = value;
      config_path = value;
    } else {
      flags.emplace_back(arg, value);
    }
  }
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    if (!in) return Status::Config(config_path + ": cannot read: " + std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    Status s = ParseConfigJson(text.str(), config_path, &cl.config);
    if (!s.ok()) return s;
  }
  bool tokens_from_flags = false;
  bool jwt_keys_from_flags = false;
  for (const auto& [flag, value] : flags) {
    if (flag == "--listen" || flag == "--private-listen") {
      auto hp = ParseHostPort(value);
      if (!hp.ok()) return Status::Config(flag + ": " + hp.status().reason());
      (flag == "--listen" ? cl.config.listen : cl.config.private_listen) = *hp;
    } else if (flag == "--workers") {
      if (value.empty() || value.size() > 2 ||
          value.find_first_not_of("0123456789") != std::string::npos || std::stoi(value) > 64) {
        return Status::Config("--workers: expected a number from 0 to 64");
      }
      cl.config.workers = std::stoi(value);
    } else if (flag == "--node-id") {
      if (value.empty() || value.size() > 4 ||
          value.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(value) > kMaxNodeId) {
        return Status::Config("--node-id: expected a number from 0 to " +
                              std::to_string(kMaxNodeId));
      }
      cl.config.node_id = std::stoi(value);
    } else if (flag == "--jwt-hs256-secret") {
      if (value.empty()) return Status::Config("--jwt-hs256-secret: must not be empty");
      cl.config.auth.jwt_hs256_secret = value;
    } else if (flag == "--jwt-public-key") {
      // Repeatable; flags replace the file's list like --token does.
      if (!jwt_keys_from_flags) cl.config.auth.jwt_public_keys.clear();
      jwt_keys_from_flags = true;
      cl.config.auth.jwt_public_keys.push_back(value);
    } else if (flag == "--auth-timeout-ms") {
      if (value.empty() || value.size() > 9 ||
          value.find_first_not_of("0123456789") != std::string::npos || std::stol(value) < 100) {
        return Status::Config("--auth-timeout-ms: expected a number of ms, at least 100");
      }
      cl.config.auth.timeout_ms = std::stol(value);
    } else if (flag == "--store") {
      if (value != "memory" && value != "redis") {
        return Status::Config("--store: expected memory or redis");
      }
      cl.config.store.kind = value;
    } else if (flag == "--redis") {
      cl.config.store.redis_url = value;  // checked when the store starts (and by --check-config)
    } else if (flag == "--bind-key-private-key") {
      cl.config.auth.bind_key_private_key = value;
    } else if (flag == "--token") {
      if (value.empty()) return Status::Config("--token: must not be empty");
      // Flags replace the file's tokens rather than adding to them, like every other flag.
      if (!tokens_from_flags) cl.config.tokens.clear();
      tokens_from_flags = true;
      cl.config.tokens.push_back(value);
    }
  }
  // After the flags: --store may be what makes the Redis ACL possible.
  if (cl.config.auth.acl_source == "redis" && cl.config.store.kind != "redis") {
    return Status::Config(
        "auth.acl_source: \"redis\" needs store.kind \"redis\" (or --store redis)");
  }
  if (cl.config.workers == 0) {
    cl.config.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  return cl;
}

const char* HelpText() {
  return R"(herald - HTTP notification server (es-web-notify streams, SSE, long polling)

Usage: herald [--config FILE] [flags]

  --config FILE            JSON config (see etc/herald.json; every key is optional)
  --listen HOST:PORT       public listener for subscribers (default 127.0.0.1:8080)
  --private-listen HOST:PORT
                           private API for publishers and ops (default 127.0.0.1:8081)
  --workers N              event-loop threads (default: number of cores)
  --node-id N              this node's id in connids, 0 to 1023 (default: derived from
                           the host name and pid); give each node of a cluster its own
  --token TOKEN            publisher/ops bearer token; repeat for several. Without any,
                           the private API serves loopback clients only.
  --bind-key-private-key FILE
                           RSA private key (PEM) that decrypts es-web-notify bind keys
  --hash-password PASSWORD print a pub_password hash for the ACL file and exit
  --jwt-hs256-secret S     accept HS256 JWTs signed with S (space connections, tickets,
                           publisher JWTs). Without any JWT key, spaces are open.
  --jwt-public-key FILE    accept RS256/ES256 JWTs verified with this PEM public key
                           (kid = file base name); repeat for several
  --auth-timeout-ms N      a space connection must authenticate within N ms (default 5000)
  --store memory|redis     where ids and history live (default memory: one node);
                           redis: nodes sharing one Redis (docs/scaling.md)
  --redis URL              redis://[:password@]host[:port][/db] for --store redis, or
                           redis+sentinel://[:password@]s1[:port],s2.../master[/db]
                           (Sentinel: the master is looked up on every connect)
  --check-config FILE      validate FILE as start-up would (keys and ACL file
                           included) without binding any port; print OK and exit 0,
                           or the error naming the key and the file and exit 2
  --version                print the version (and git describe) and exit
  -h, --help               this text

Flags override the config file. Signals: SIGTERM/SIGINT end every stream with a
`disconnect` (reason `shutdown`) and exit 0; SIGHUP reloads tokens, JWT keys, the
bind-key private key and the ACL file from the config (all or nothing).
)";
}

}  // namespace herald
