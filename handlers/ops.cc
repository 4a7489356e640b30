// GET /connections, /state, /memory: what ops read. Counters come from
// atomics; per-connection details and byte counts are gathered from the
// workers that own them.
#include <malloc.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <string_view>
#include <unordered_set>

#include "handlers/handlers.h"
#include "server/context.h"
#include "server/core/connid.h"
#include "server/hub.h"
#include "server/util/json.h"
#include "server/worker.h"

namespace herald {
namespace {

// The Redis store's bridge, subscriptions and reads (docs/operations.md).
std::string RedisStatusJson(const StoreStatus& st) {
  auto list = [](const std::vector<std::string>& items) {
    std::string out = "[";
    for (const std::string& item : items) {
      if (out.size() > 1) out += ",";
      AppendJsonString(&out, item);
    }
    return out + "]";
  };
  return ",\"bridge\":{\"commands\":" + JsonString(st.commands_state) +
         ",\"subscriber\":" + JsonString(st.subscriber_state) +
         ",\"reconnects\":" + std::to_string(st.reconnects) +
         "},\"subscriptions\":{\"channels\":" + std::to_string(st.channels) +
         ",\"patterns\":" + std::to_string(st.patterns) +
         ",\"unconfirmed\":" + std::to_string(st.unconfirmed) +
         ",\"channel_list\":" + list(st.channel_list) +
         ",\"pattern_list\":" + list(st.pattern_list) +
         "},\"reads\":{\"count\":" + std::to_string(st.reads) +
         ",\"commands\":" + std::to_string(st.read_commands) +
         ",\"round_trips\":" + std::to_string(st.read_rounds) + "}";
}

// /state's "store": what the store says of itself ("status" is its state).
std::string StoreStatusJson(const StoreStatus& st) {
  std::string out = "{\"kind\":" + JsonString(st.kind) + ",\"status\":" + JsonString(st.state) +
                    ",\"detail\":" + JsonString(st.detail) +
                    ",\"round_trips\":" + std::to_string(st.round_trips);
  if (st.kind == "redis") out += RedisStatusJson(st);
  return out + "}";
}

constexpr char kRedacted[] = "[redacted]";

// Request headers as /connections shows them: lower-case names, as the
// original (Node) server shows them, and credentials redacted (issue 9 A.5).
std::string RedactedHeadersJson(const std::string& headers_json) {
  CJsonPtr headers = ParseJson(headers_json);
  std::string out = "{";
  for (const cJSON* h = headers ? headers->child : nullptr; h; h = h->next) {
    std::string name = h->string ? h->string : "";
    for (char& c : name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    if (out.size() > 1) out += ",";
    AppendJsonString(&out, name);
    out += ":";
    const bool secret = name == "authorization" || name == "proxy-authorization" ||
                        name == "cookie" || name == "x-api-key";
    AppendJsonString(&out, secret ? kRedacted : (cJSON_IsString(h) ? h->valuestring : ""));
  }
  return out + "}";
}

bool IsCredentialName(std::string_view name) {
  return name == "bind_key" || name == "token" || name == "ticket";
}

// The subscribe body: JSON (POST /, POST /poll) with bind_key, token and
// ticket redacted, or a query string (SSE) with token and ticket redacted.
std::string RedactedBodyJson(const std::string& body) {
  if (CJsonPtr json = ParseJson(body)) {
    if (!cJSON_IsObject(json.get())) return PrintAsciiJson(json.get());
    CJsonPtr shown(cJSON_CreateObject());
    for (const cJSON* item = json->child; item; item = item->next) {
      if (!item->string) continue;
      cJSON_AddItemToObject(shown.get(), item->string,
                            IsCredentialName(item->string) ? cJSON_CreateString(kRedacted)
                                                           : cJSON_Duplicate(item, true));
    }
    return PrintAsciiJson(shown.get());
  }
  std::string query;
  std::string_view rest = body;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (!query.empty()) query += '&';
    auto decoded = ParseQueryString(part);
    if (!decoded.empty() && IsCredentialName(decoded[0].first)) {
      query.append(part.substr(0, part.find('='))).append("=").append(kRedacted);
    } else {
      query.append(part);
    }
  }
  return JsonString(query);
}

// `?view=herald`: a list entry per connection, with transport, worker,
// filters. Otherwise the original's shape: "<connid>": {headers, body}.
// `node` >= 0: each entry says its node (always in herald's view; in the
// original's only across nodes, so one node answers as the original did).
std::string ConnectionDetails(Worker& w, const std::string& clid, bool herald_view, int node) {
  const std::string node_member = node >= 0 ? ",\"node\":" + std::to_string(node) : "";
  std::string out;
  w.ForEachConnection([&](Connection& c) {
    if (c.clid != clid || c.closing) return;
    if (!out.empty()) out += ",";
    if (!herald_view) {
      out += "\"" + std::to_string(c.id()) +
             "\":{\"headers\":" + RedactedHeadersJson(c.HeadersJson()) +
             ",\"body\":" + RedactedBodyJson(c.subscribe_request) + node_member + "}";
      return;
    }
    out += "{\"connid\":" + std::to_string(c.id()) + ",\"clid\":" + JsonString(c.clid) +
           ",\"transport\":\"" + TransportName(c.transport()) + "\"" + node_member +
           ",\"worker\":" + std::to_string(w.index()) + ",\"since\":" + std::to_string(c.since_ms) +
           ",\"remote\":" + JsonString(c.remote) +
           ",\"headers\":" + RedactedHeadersJson(c.HeadersJson()) +
           ",\"body\":" + RedactedBodyJson(c.subscribe_request);
    out += ",\"filters\":[";
    for (size_t i = 0; i < c.subscriptions.size(); ++i) {
      if (i) out += ",";
      AppendJsonString(&out, ConnectionIndex::FilterOf(c.subscriptions[i]));
    }
    out += "]}";
  });
  return out;
}

std::string JoinNonEmpty(const std::vector<std::string>& parts) {
  std::string list;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!list.empty()) list += ",";
    list += p;
  }
  return list;
}

// GET /connections with Redis: every live node's part (RedisCluster::Ask),
// merged. The request names what is asked, "<details 0|1><view h|o>
// <-|+clid>"; a node's part is "<counts JSON>\n<entries>": the counts of one
// clid or of all, and, for a clid with details, its connections in the
// requested view, each saying its node, comma-separated.
struct ConnectionsQuery {
  bool one = false;  // one clid
  std::string clid;
  bool details = false;
  bool herald_view = false;

  std::string Encode() const {
    return std::string(details ? "1" : "0") + (herald_view ? "h" : "o") + " " +
           (one ? "+" + clid : "-");
  }
  static ConnectionsQuery Decode(std::string_view request) {
    ConnectionsQuery q;
    q.details = request.substr(0, 1) == "1";
    q.herald_view = request.substr(1, 1) == "h";
    q.one = request.substr(3, 1) == "+";
    if (q.one) q.clid = std::string(request.substr(4));
    return q;
  }
};

void NodeConnections(ServerContext& ctx, const ConnectionsQuery& q,
                     std::function<void(std::string)> done) {
  std::string counts = "{";
  if (q.one) {
    counts += JsonString(q.clid) + ":" + std::to_string(ctx.presence.Count(q.clid));
  } else {
    for (const auto& [name, n] : ctx.presence.Snapshot()) {
      counts += (counts.size() > 1 ? "," : "") + JsonString(name) + ":" + std::to_string(n);
    }
  }
  counts += "}\n";
  if (!q.one || !q.details) return done(counts);
  GatherFromWorkers(
      ctx,
      [q, node = ctx.cluster->node_id()](Worker& w) {
        return ConnectionDetails(w, q.clid, q.herald_view, node);
      },
      [counts, done](std::vector<std::string> parts) { done(counts + JoinNonEmpty(parts)); });
}

// The nodes' parts merged into the answer one node would give, plus the
// nodes that did not answer (docs/protocol.md, "GET /connections").
HttpResponse MergedConnections(const ConnectionsQuery& q, const std::vector<std::string>& parts,
                               const std::string& unanswered) {
  std::map<std::string, int64_t> counts;
  std::vector<std::string> entries;
  for (const std::string& part : parts) {
    const size_t nl = part.find('\n');
    CJsonPtr c = ParseJson(part.substr(0, nl));
    for (const cJSON* item = c ? c->child : nullptr; item; item = item->next) {
      if (item->string && cJSON_IsNumber(item)) {
        counts[item->string] += static_cast<int64_t>(item->valuedouble);
      }
    }
    if (nl != std::string::npos && nl + 1 < part.size()) entries.push_back(part.substr(nl + 1));
  }
  if (!q.one) {
    int64_t total = 0;
    std::string out = "{";
    for (const auto& [name, n] : counts) {
      if (n <= 0) continue;
      out += JsonString(name) + ":" + std::to_string(n) + ",";
      total += n;
    }
    if (total == 0 && !q.herald_view && unanswered.empty()) return HttpResponse::Json("{}");
    return HttpResponse::Json(out + "\"@TOTAL@\":" + std::to_string(total) + unanswered + "}");
  }
  const std::string number = std::to_string(counts[q.clid]);
  const std::string count = JsonString(q.clid) + ":" + number;
  if (!q.details)
    return HttpResponse::Json(q.herald_view ? "{" + count + unanswered + "}" : number);
  const std::string list = JoinNonEmpty(entries);
  if (q.herald_view) {
    return HttpResponse::Json("{" + count + ",\"connections\":[" + list + "]" + unanswered + "}");
  }
  if (list.empty())
    return HttpResponse::Json("{" + unanswered.substr(unanswered.empty() ? 0 : 1) + "}");
  return HttpResponse::Json("{" + list + unanswered + "}");
}

void ConnectionsAcrossNodes(ServerContext& ctx, const ConnectionsQuery& q, Responder done) {
  NodeConnections(ctx, q, [&ctx, q, post = ctx.hub->CallerPost(), done](std::string mine) {
    ctx.cluster->Ask("connections", q.Encode(), RedisCluster::kEveryNode, post,
                     [q, mine, done](RedisCluster::Answers a) {
                       std::vector<std::string> parts = {mine};
                       for (auto& [node, part] : a.replies) parts.push_back(std::move(part));
                       done(MergedConnections(q, parts, a.UnansweredMember()));
                     });
  });
}

// The original's answers by default (issue 10.5): counts per clid with
// @TOTAL@ ({} when nobody is connected), `?clid=x` the bare count,
// `&details=true` {"<connid>": {"headers", "body"}}. `view=herald` keeps
// herald's richer shapes. Credentials are redacted in both.
void HandleConnections(ServerContext& ctx, const HttpRequest& req, Responder done) {
  const std::string* view = req.Query("view");
  const bool herald_view = view && *view == "herald";
  const std::string* clid = req.Query("clid");
  const std::string* local = req.Query("local");
  if (ctx.cluster && !(local && *local == "true")) {
    const std::string* details = req.Query("details");
    ConnectionsQuery q;
    q.one = clid != nullptr;
    q.clid = clid ? *clid : "";
    q.details = details && *details == "true";
    q.herald_view = herald_view;
    return ConnectionsAcrossNodes(ctx, q, done);
  }
  if (!clid) {
    std::string out = "{";
    int64_t total = 0;
    for (const auto& [name, n] : ctx.presence.Snapshot()) {
      out += JsonString(name) + ":" + std::to_string(n) + ",";
      total += n;
    }
    if (total == 0 && !herald_view) return done(HttpResponse::Json("{}"));
    out += "\"@TOTAL@\":" + std::to_string(total) + "}";
    return done(HttpResponse::Json(out));
  }
  const std::string number = std::to_string(ctx.presence.Count(*clid));
  const std::string count = JsonString(*clid) + ":" + number;
  const std::string* details = req.Query("details");
  if (!details || *details != "true") {
    return done(HttpResponse::Json(herald_view ? "{" + count + "}" : number));
  }
  GatherFromWorkers(
      ctx,
      [name = *clid, herald_view, node = ResolveNodeId(ctx.config.node_id)](Worker& w) {
        return ConnectionDetails(w, name, herald_view, herald_view ? node : -1);
      },
      [count, herald_view, done](std::vector<std::string> parts) {
        const std::string list = JoinNonEmpty(parts);
        done(HttpResponse::Json(herald_view ? "{" + count + ",\"connections\":[" + list + "]}"
                                            : "{" + list + "}"));
      });
}

// A worker's distinct filters, one per line (a filter never holds a newline).
std::string DistinctFilters(Worker& w) {
  std::unordered_set<std::string_view> seen;
  std::string out;
  w.ForEachConnection([&](Connection& c) {
    for (auto* sub : c.subscriptions) {
      std::string_view f = ConnectionIndex::FilterOf(sub);
      if (seen.insert(f).second) out.append(f).push_back('\n');
    }
  });
  return out;
}

// Filters subscribed on several workers count once: the union of the workers' sets.
int64_t CountDistinct(const std::vector<std::string>& parts) {
  std::unordered_set<std::string_view> all;
  for (const std::string& p : parts) {
    std::string_view rest = p;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      all.insert(rest.substr(0, nl));
      rest.remove_prefix(nl + 1);
    }
  }
  return static_cast<int64_t>(all.size());
}

std::string StateJson(const ServerContext& ctx, int64_t topics) {
  const NodeStats& s = ctx.stats;
  int64_t by_transport[kTransportCount] = {};
  int64_t total = 0, filters = 0, delivered = 0, replayed = 0;
  std::string by_worker = "[";
  for (size_t i = 0; i < ctx.workers.size(); ++i) {
    const WorkerStats& ws = ctx.workers[i]->stats();
    int64_t n = 0;
    for (int t = 0; t < kTransportCount; ++t) {
      by_transport[t] += Read(ws.connections[t]);
      n += Read(ws.connections[t]);
    }
    total += n;
    filters += Read(ws.filters);
    delivered += Read(ws.delivered);
    replayed += Read(ws.replayed);
    by_worker += (i ? "," : "") + std::to_string(n);
  }
  by_worker += "]";
  const Limits& l = ctx.config.limits;
  std::string out = "{\"uptime_s\":" + std::to_string((NowMs() - ctx.start_ms) / 1000) +
                    ",\"workers\":" + std::to_string(ctx.workers.size()) + ",\"epoch\":\"" +
                    FormatEventId(ctx.hub->epoch(), 0).substr(0, 8) + "\"" +
                    ",\"connections\":{\"total\":" + std::to_string(total) + ",\"by_transport\":{";
  for (int t = 0; t < kTransportCount; ++t) {
    out += std::string(t ? "," : "") + "\"" + TransportName(static_cast<Transport>(t)) +
           "\":" + std::to_string(by_transport[t]);
  }
  out += "},\"by_worker\":" + by_worker + "}";
  out += ",\"topics\":" + std::to_string(topics) + ",\"filters\":" + std::to_string(filters);
  out += ",\"events\":{\"published\":" + std::to_string(Read(s.published)) +
         ",\"delivered\":" + std::to_string(delivered) +
         ",\"replayed\":" + std::to_string(replayed) +
         ",\"dropped\":" + std::to_string(Read(s.dropped)) + "}";
  out += ",\"closed\":{";
  for (int r = 0; r < kCloseReasonCount; ++r) {
    out += std::string(r ? "," : "") + "\"" + CloseReasonName(static_cast<CloseReason>(r)) +
           "\":" + std::to_string(Read(s.closed[r]));
  }
  out += "},\"rejected\":{\"limit_connections\":" + std::to_string(Read(s.rejected_limit)) +
         ",\"bad_request\":" + std::to_string(Read(s.rejected_bad)) +
         ",\"slow_request\":" + std::to_string(Read(s.slow_requests)) + "}";
  out += ",\"store\":" + StoreStatusJson(ctx.hub->store().status());
  if (ctx.cluster) out += ",\"cluster\":" + ctx.cluster->StateJson();
  out += "," + ctx.reload.JsonMembers();
  const HistoryStats h = ctx.hub->store().Stats();
  const uint32_t epoch = ctx.hub->epoch();
  out += ",\"history\":{\"count\":" + std::to_string(h.count) +
         ",\"bytes\":" + std::to_string(h.bytes) +
         ",\"oldest\":" + (h.oldest_seq ? JsonString(FormatEventId(epoch, h.oldest_seq)) : "null") +
         ",\"last\":" + (h.last_seq ? JsonString(FormatEventId(epoch, h.last_seq)) : "null") +
         ",\"max_events\":" + std::to_string(ctx.config.history.max_events) +
         ",\"max_bytes\":" + std::to_string(ctx.config.history.max_bytes) +
         ",\"max_age_s\":" + std::to_string(ctx.config.history.max_age_s) + "}";
  out += ",\"limits\":{\"max_connections\":" + std::to_string(l.max_connections) +
         ",\"max_connections_per_ip\":" + std::to_string(l.max_connections_per_ip) +
         ",\"max_filters_per_connection\":" + std::to_string(l.max_filters_per_connection) +
         ",\"max_body_bytes\":" + std::to_string(l.max_body_bytes) +
         ",\"max_header_bytes\":" + std::to_string(l.max_header_bytes) +
         ",\"max_topic_bytes\":" + std::to_string(l.max_topic_bytes) +
         ",\"max_topic_levels\":" + std::to_string(l.max_topic_levels) +
         ",\"max_output_buffer_bytes\":" + std::to_string(l.max_output_buffer_bytes) +
         ",\"max_clid_bytes\":" + std::to_string(l.max_clid_bytes) +
         ",\"request_timeout_ms\":" + std::to_string(l.request_timeout_ms) +
         ",\"max_pending_connections\":" + std::to_string(l.max_pending_connections) +
         ",\"max_poll_sessions\":" + std::to_string(l.max_poll_sessions) +
         ",\"max_event_bytes\":" + std::to_string(l.max_event_bytes) +
         ",\"max_batch_events\":" + std::to_string(l.max_batch_events) + "}}";
  return out;
}

}  // namespace

int64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

namespace {

void HandleMemory(ServerContext& ctx, Responder done) {
  GatherFromWorkers(
      ctx,
      [](Worker& w) {
        return std::to_string(w.PendingBytes()) + " " + std::to_string(w.ApproxIndexBytes());
      },
      [&ctx, done](std::vector<std::string> parts) {
        int64_t queue = 0, index = 0, conns = 0;
        for (const std::string& p : parts) {
          queue += std::stoll(p.substr(0, p.find(' ')));
          index += std::stoll(p.substr(p.find(' ') + 1));
        }
        for (const auto& w : ctx.workers) conns += Read(w->stats().connection_bytes);
        struct mallinfo2 mi = mallinfo2();
        done(HttpResponse::Json(
            "{\"rss_bytes\":" + std::to_string(RssBytes()) +
            ",\"heap_bytes\":" + std::to_string(mi.uordblks + mi.hblkhd) +
            ",\"connections_bytes\":" + std::to_string(conns) + ",\"index_bytes\":" +
            std::to_string(index) + ",\"queue_bytes\":" + std::to_string(queue) +
            ",\"history_bytes\":" + std::to_string(ctx.hub->store().Stats().bytes) + "}"));
      });
}

}  // namespace

void BuildState(ServerContext& ctx, std::function<void(std::string)> done) {
  GatherFromWorkers(ctx, DistinctFilters, [&ctx, done](std::vector<std::string> parts) {
    std::string state = StateJson(ctx, CountDistinct(parts));
    // The dashboard's members (handlers/dashboard.cc) go at the end.
    GatherStateExtras(ctx, [state = std::move(state), done](std::string extras) mutable {
      state.pop_back();  // the closing brace
      done(state + extras + "}");
    });
  });
}

void RegisterOpsHandlers(ServerContext& ctx) {
  ctx.private_routes.Add(
      "/connections",
      [&ctx](const HttpRequest& req, Responder done) { HandleConnections(ctx, req, done); }, true);
  ctx.private_routes.Add(
      "/state",
      [&ctx](const HttpRequest&, Responder done) {
        BuildState(ctx, [done](std::string state) { done(HttpResponse::Json(std::move(state))); });
      },
      true);
  ctx.private_routes.Add(
      "/memory", [&ctx](const HttpRequest&, Responder done) { HandleMemory(ctx, done); }, true);
  if (ctx.cluster) {
    // Another node's GET /connections: this node's part.
    ctx.cluster->OnRequest("connections",
                           [&ctx](std::string_view request, RedisCluster::Reply reply) {
                             NodeConnections(ctx, ConnectionsQuery::Decode(request), reply);
                           });
  }
}

}  // namespace herald
