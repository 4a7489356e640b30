// GET /dashboard (the page), GET /state/stream (a /state snapshot a second,
// as server-sent events) and the /state members the dashboard draws that the
// rest of /state lacks: latency buckets, memory, rejections by cause, top
// topics. See docs/operations.md, "Dashboard".
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "handlers/dashboard_html.h"
#include "handlers/handlers.h"
#include "server/context.h"
#include "server/hub.h"
#include "server/util/json.h"
#include "server/worker.h"

namespace herald {
namespace {

constexpr size_t kTopTopics = 10;
// Each worker reports its busiest filters; the merge is exact for a filter
// in every worker's list, and a lower bound otherwise.
constexpr size_t kTopPerWorker = 50;

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// One worker's part: its output-queue bytes on the first line, then
// "<subscribers> <filter>" for its busiest filters.
std::string WorkerExtras(Worker& w) {
  std::unordered_map<std::string_view, int64_t> subscribers;
  w.ForEachConnection([&](Connection& c) {
    if (c.closing) return;
    for (auto* sub : c.subscriptions) ++subscribers[ConnectionIndex::FilterOf(sub)];
  });
  std::vector<std::pair<std::string_view, int64_t>> top(subscribers.begin(), subscribers.end());
  const size_t n = std::min(top.size(), kTopPerWorker);
  std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(n), top.end(),
                    [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second : a.first < b.first;
                    });
  std::string out = std::to_string(w.PendingBytes()) + "\n";
  for (size_t i = 0; i < n; ++i) {
    out += std::to_string(top[i].second) + " ";
    out.append(top[i].first).push_back('\n');
  }
  return out;
}

std::string TopBySubscribers(const std::vector<std::string>& parts, int64_t* queue_bytes) {
  std::unordered_map<std::string, int64_t> merged;
  for (const std::string& p : parts) {
    std::string_view rest = p;
    const size_t first = rest.find('\n');
    *queue_bytes += std::stoll(std::string(rest.substr(0, first)));
    rest.remove_prefix(first + 1);
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl + 1);
      const size_t sp = line.find(' ');
      merged[std::string(line.substr(sp + 1))] += std::stoll(std::string(line.substr(0, sp)));
    }
  }
  std::vector<std::pair<std::string, int64_t>> top(merged.begin(), merged.end());
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (top.size() > kTopTopics) top.resize(kTopTopics);
  std::string out = "[";
  for (const auto& [filter, n] : top) {
    if (out.size() > 1) out += ",";
    out += "{\"filter\":" + JsonString(filter) + ",\"subscribers\":" + std::to_string(n) + "}";
  }
  return out + "]";
}

// The smallest bucket bound under which `q` of the observations fall (the
// histogram's resolution), or null without observations.
std::string Quantile(const int64_t (&counts)[LatencyHistogram::kBuckets], double q) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  if (total == 0) return "null";
  int64_t seen = 0;
  for (int b = 0; b < LatencyHistogram::kBuckets - 1; ++b) {
    seen += counts[b];
    if (static_cast<double>(seen) >= q * static_cast<double>(total)) {
      return Number(LatencyHistogram::kBounds[b]);
    }
  }
  return "null";  // in the +Inf bucket: above the last bound
}

std::string LatencyJson(const ServerContext& ctx) {
  int64_t counts[LatencyHistogram::kBuckets] = {};
  int64_t sum_ms = 0;
  for (const auto& w : ctx.workers) w->stats().publish_to_write.AddTo(counts, &sum_ms);
  std::string out = "{\"bounds_s\":[";
  for (int b = 0; b < LatencyHistogram::kBuckets - 1; ++b) {
    out += std::string(b ? "," : "") + Number(LatencyHistogram::kBounds[b]);
  }
  out += "],\"counts\":[";
  for (int b = 0; b < LatencyHistogram::kBuckets; ++b) {
    out += std::string(b ? "," : "") + std::to_string(counts[b]);
  }
  return out + "],\"sum_ms\":" + std::to_string(sum_ms) + ",\"p50_s\":" + Quantile(counts, 0.5) +
         ",\"p99_s\":" + Quantile(counts, 0.99) + "}";
}

std::string RejectionsJson(const NodeStats& s) {
  std::string out = "{";
  for (int c = 0; c < kRejectCauseCount; ++c) {
    const auto cause = static_cast<RejectCause>(c);
    out += std::string(c ? "," : "") + "\"" + RejectCauseName(cause) +
           "\":" + std::to_string(Rejected(s, cause));
  }
  return out + "}";
}

std::string ByEventsJson(ServerContext& ctx, int64_t now) {
  std::string out = "[";
  for (const TopicRates::Rate& r : ctx.topic_rates.Top(kTopTopics, now)) {
    if (out.size() > 1) out += ",";
    out += "{\"topic\":" + JsonString(r.topic) + ",\"per_s\":" + Number(r.per_s) + "}";
  }
  return out + "]";
}

std::string ExtrasJson(ServerContext& ctx, const std::vector<std::string>& parts) {
  int64_t queue_bytes = 0;
  const std::string by_subscribers = TopBySubscribers(parts, &queue_bytes);
  int64_t connection_bytes = 0;
  for (const auto& w : ctx.workers) connection_bytes += Read(w->stats().connection_bytes);
  struct mallinfo2 mi = mallinfo2();
  const int64_t now = NowMs();
  return ",\"time_ms\":" + std::to_string(now) + ",\"latency\":" + LatencyJson(ctx) +
         ",\"memory\":{\"rss_bytes\":" + std::to_string(RssBytes()) +
         ",\"heap_bytes\":" + std::to_string(mi.uordblks + mi.hblkhd) +
         ",\"history_bytes\":" + std::to_string(ctx.hub->store().Stats().bytes) +
         ",\"queue_bytes\":" + std::to_string(queue_bytes) +
         ",\"connections_bytes\":" + std::to_string(connection_bytes) +
         "},\"rejections\":" + RejectionsJson(ctx.stats) +
         ",\"top_topics\":{\"by_subscribers\":" + by_subscribers +
         ",\"by_events\":" + ByEventsJson(ctx, now) +
         ",\"untracked_per_s\":" + Number(ctx.topic_rates.UntrackedPerSecond(now)) +
         "},\"state_streams\":{\"open\":" + std::to_string(Read(ctx.stats.open_private_streams)) +
         "}";
}

}  // namespace

void GatherStateExtras(ServerContext& ctx, std::function<void(std::string)> done) {
  GatherFromWorkers(ctx, WorkerExtras,
                    [&ctx, done](std::vector<std::string> parts) { done(ExtrasJson(ctx, parts)); });
}

void RegisterDashboardHandlers(ServerContext& ctx) {
  // The page holds no data and no token: served without one, so a browser
  // can open it; everything it shows comes from /state/stream, which needs
  // the token (see docs/operations.md).
  ctx.private_routes.Add(
      "/dashboard",
      [](const HttpRequest&, Responder done) {
        HttpResponse r;
        r.content_type = "text/html; charset=utf-8";
        r.body.assign(reinterpret_cast<const char*>(kDashboardHtml), kDashboardHtmlSize);
        // The page's only script is inline and it talks to its own origin.
        r.headers.emplace_back("Content-Security-Policy",
                               "default-src 'none'; script-src 'unsafe-inline'; style-src "
                               "'unsafe-inline'; connect-src 'self'; img-src data:");
        r.headers.emplace_back("Referrer-Policy", "no-referrer");
        // The page's stream comes on a connection of its own: this one would
        // idle until cut (counted as a rejection, cause timeout).
        r.headers.emplace_back("Connection", "close");
        done(std::move(r));
      },
      false);
  PrivateStream state;
  state.snapshot = [&ctx](std::function<void(std::string)> done) { BuildState(ctx, done); };
  ctx.private_streams.emplace("/state/stream", std::move(state));
}

}  // namespace herald
