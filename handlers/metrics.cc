// GET /metrics: the /state and /memory counters in the Prometheus text
// exposition format 0.0.4, with conventional names (a `_total` suffix on
// counters, base units: seconds, bytes). Everything is read from atomics, so
// the answer needs no round trip through the workers.
#include <malloc.h>

#include <string>

#include "handlers/handlers.h"
#include "server/context.h"
#include "server/hub.h"
#include "server/util/version.h"
#include "server/worker.h"

namespace herald {
namespace {

// A label value as the format wants it: backslash, quote and newline escaped.
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Exposition {
 public:
  // Starts a metric family: its HELP and TYPE lines.
  void Family(const char* name, const char* type, const char* help) {
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(const std::string& name, int64_t value, const std::string& labels = "") {
    out_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(value) + "\n";
  }
  void Sample(const std::string& name, double value, const std::string& labels = "") {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.3f", value);  // only sums of whole ms
    out_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + buf + "\n";
  }
  std::string& text() { return out_; }

 private:
  std::string out_;
};

std::string Label(const char* name, const std::string& value) {
  return std::string(name) + "=\"" + LabelValue(value) + "\"";
}

void AppendLatency(const ServerContext& ctx, Exposition* x) {
  int64_t counts[LatencyHistogram::kBuckets] = {};
  int64_t sum_ms = 0;
  for (const auto& w : ctx.workers) w->stats().publish_to_write.AddTo(counts, &sum_ms);
  x->Family("herald_publish_to_write_seconds", "histogram",
            "Time from an event's publish (iat) to the flush that wrote it to a subscriber, "
            "one observation per live delivery (1 ms resolution).");
  int64_t cumulative = 0;
  for (int b = 0; b < LatencyHistogram::kBuckets; ++b) {
    cumulative += counts[b];
    char le[32];
    if (b < LatencyHistogram::kBuckets - 1) {
      std::snprintf(le, sizeof le, "%g", LatencyHistogram::kBounds[b]);
    } else {
      std::snprintf(le, sizeof le, "+Inf");
    }
    x->Sample("herald_publish_to_write_seconds_bucket", cumulative, Label("le", le));
  }
  x->Sample("herald_publish_to_write_seconds_sum", static_cast<double>(sum_ms) / 1000);
  x->Sample("herald_publish_to_write_seconds_count", cumulative);
}

std::string MetricsText(const ServerContext& ctx) {
  const NodeStats& s = ctx.stats;
  int64_t by_transport[kTransportCount] = {};
  int64_t delivered = 0, replayed = 0, filters = 0;
  for (const auto& w : ctx.workers) {
    const WorkerStats& ws = w->stats();
    for (int t = 0; t < kTransportCount; ++t) by_transport[t] += Read(ws.connections[t]);
    delivered += Read(ws.delivered);
    replayed += Read(ws.replayed);
    filters += Read(ws.filters);
  }
  Exposition x;
  x.Family("herald_build_info", "gauge", "Always 1; the labels say which herald this is.");
  x.Sample("herald_build_info", int64_t{1},
           Label("version", Version()) + "," + Label("git", GitDescribe()));
  x.Family("herald_uptime_seconds", "gauge", "Seconds since this node started.");
  x.Sample("herald_uptime_seconds", (NowMs() - ctx.start_ms) / 1000);
  x.Family("herald_workers", "gauge", "Event-loop threads.");
  x.Sample("herald_workers", static_cast<int64_t>(ctx.workers.size()));
  x.Family("herald_connections", "gauge", "Open subscriber connections by transport.");
  for (int t = 0; t < kTransportCount; ++t) {
    x.Sample("herald_connections", by_transport[t],
             Label("transport", TransportName(static_cast<Transport>(t))));
  }
  x.Family("herald_filters", "gauge", "Subscriptions (filters) held by open connections.");
  x.Sample("herald_filters", filters);
  x.Family("herald_events_published_total", "counter", "Events accepted by POST /event.");
  x.Sample("herald_events_published_total", Read(s.published));
  x.Family("herald_deliveries_total", "counter",
           "Event frames queued to subscribers (live and replayed).");
  x.Sample("herald_deliveries_total", delivered);
  x.Family("herald_replayed_total", "counter",
           "History events replayed to resuming subscribers (part of deliveries).");
  x.Sample("herald_replayed_total", replayed);
  x.Family("herald_dropped_total", "counter",
           "Deliveries lost because their subscriber was being closed as slow.");
  x.Sample("herald_dropped_total", Read(s.dropped));
  x.Family("herald_closed_total", "counter", "Subscriber connections closed, by reason.");
  for (int r = 0; r < kCloseReasonCount; ++r) {
    x.Sample("herald_closed_total", Read(s.closed[r]),
             Label("reason", CloseReasonName(static_cast<CloseReason>(r))));
  }
  x.Family("herald_rejected_total", "counter",
           "Requests refused (answered >= 400, or cut for arriving too slowly), by cause.");
  for (int c = 0; c < kRejectCauseCount; ++c) {
    const auto cause = static_cast<RejectCause>(c);
    x.Sample("herald_rejected_total", Rejected(s, cause), Label("cause", RejectCauseName(cause)));
  }
  AppendLatency(ctx, &x);
  const HistoryStats h = ctx.hub->store().Stats();
  x.Family("herald_history_events", "gauge", "Events retained for resume.");
  x.Sample("herald_history_events", h.count);
  x.Family("herald_history_bytes", "gauge", "Bytes held by retained events.");
  x.Sample("herald_history_bytes", h.bytes);
  const StoreStatus store = ctx.hub->store().status();
  x.Family("herald_store_up", "gauge", "1 when the store answers (state up), else 0.");
  x.Sample("herald_store_up", int64_t{store.state == "up"}, Label("kind", store.kind));
  x.Family("herald_resident_memory_bytes", "gauge", "Resident set size of the process.");
  x.Sample("herald_resident_memory_bytes", RssBytes());
  struct mallinfo2 mi = mallinfo2();
  x.Family("herald_heap_bytes", "gauge", "Bytes allocated by malloc and in use.");
  x.Sample("herald_heap_bytes", static_cast<int64_t>(mi.uordblks + mi.hblkhd));
  return std::move(x.text());
}

}  // namespace

void RegisterMetricsHandler(ServerContext& ctx) {
  ctx.private_routes.Add(
      "/metrics",
      [&ctx](const HttpRequest&, Responder done) {
        HttpResponse resp;
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
        resp.body = MetricsText(ctx);
        done(std::move(resp));
      },
      true);
}

}  // namespace herald
