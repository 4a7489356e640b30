#include "bench/summarize.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace herald_bench {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Num(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

std::string Str(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

struct Metric {
  std::string name;  // row label, e.g. "fanout/rate50 CPU µs per delivery"
  bool lower_better = true;
  std::map<std::string, std::vector<double>> values;  // server -> samples
  std::map<std::string, std::string> note;            // server -> "unsupported"
};

std::string Fmt(double v) {
  char b[32];
  if (v >= 1000) {
    snprintf(b, sizeof b, "%.0f", v);
  } else if (v >= 10) {
    snprintf(b, sizeof b, "%.1f", v);
  } else {
    snprintf(b, sizeof b, "%.2f", v);
  }
  return b;
}

// Scenarios named X-tls (compare.sh --tls-rows) are X over herald's TLS
// listener: a second table puts each of their rows next to X's.
void PrintTlsVsPlain(const std::vector<std::string>& order,
                     const std::function<double(const std::string&, bool*)>& herald) {
  static const std::string kTls = "-tls";
  bool header = false;
  for (const auto& name : order) {
    size_t colon = name.find(": ");
    if (colon == std::string::npos || name.find(": p90") != std::string::npos ||
        name.find(": max") != std::string::npos) {
      continue;
    }
    std::string sc = name.substr(0, name.find_first_of("/:"));
    if (sc.size() <= kTls.size() || sc.compare(sc.size() - kTls.size(), kTls.size(), kTls) != 0) {
      continue;
    }
    std::string plain = sc.substr(0, sc.size() - kTls.size()) + name.substr(sc.size());
    bool hp = false, ht = false;
    double p = herald(plain, &hp), t = herald(name, &ht);
    if (!ht) continue;
    if (!header) {
      printf("\nherald over TLS vs plain (same run):\n\n");
      printf("| metric (median of runs) | plain | TLS | TLS/plain |\n");
      printf("|---|---:|---:|---:|\n");
      header = true;
    }
    printf("| %s | %s | %s | %s |\n", plain.c_str(), hp ? Fmt(p).c_str() : "—", Fmt(t).c_str(),
           hp && p != 0 ? Fmt(t / p).c_str() : "—");
  }
}

}  // namespace

int Summarize(const std::string& path, const std::string& plot_path) {
  std::ifstream in(path);
  if (!in) {
    fprintf(stderr, "cannot read %s\n", path.c_str());
    return 2;
  }
  std::vector<std::string> order;
  std::map<std::string, Metric> metrics;
  std::vector<std::string> plot_rows;  // scenario/phase in first-seen order
  auto add = [&](const std::string& name, const std::string& server, double v) {
    if (!metrics.count(name)) order.push_back(name);
    Metric& m = metrics[name];
    m.name = name;
    m.values[server].push_back(v);
  };
  auto mark = [&](const std::string& name, const std::string& server, const std::string& s) {
    if (!metrics.count(name)) order.push_back(name);
    metrics[name].name = name;
    metrics[name].note[server] = s;
  };
  std::string line;
  int runs = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    CJsonPtr j(cJSON_Parse(line.c_str()));
    if (!j) continue;
    ++runs;
    const cJSON* o = j.get();
    std::string sc = Str(o, "scenario"), server = Str(o, "server"), status = Str(o, "status");
    if (status.rfind("unsupported", 0) == 0) {
      mark(sc + ": status", server, "unsupported");
      continue;
    }
    double expected = Num(o, "deliveries_expected");
    if (sc.rfind("idle", 0) == 0 || sc == "fanout-max") {  // idle, idle-max, idle-tls
      add(sc + ": RSS bytes per connection", server, Num(o, "rss_per_conn_bytes"));
      add(sc + ": PSS bytes per connection", server, Num(o, "pss_per_conn_bytes"));
      add(sc + ": connect p99 ms", server, Num(o, "connect_p99_us") / 1000);
    }
    // The *-max scenarios: how long one process took to take all 19,000.
    if (sc == "idle-max" || sc == "fanout-max") {
      add(sc + ": all connected, s", server, Num(o, "connect_ms") / 1000);
    }
    if (sc == "resume") {
      add("resume: all replayed, s", server, Num(o, "resume_s"));
      add("resume: CPU µs per replayed delivery", server, Num(o, "cpu_us_per_delivery"));
      if (status != "ok") mark("resume: status", server, status);
    }
    if (expected > 0) {
      add(sc + ": deliveries received %", server, 100.0 * Num(o, "deliveries_received") / expected);
    }
    const cJSON* phases = cJSON_GetObjectItemCaseSensitive(o, "phases");
    const cJSON* ph = nullptr;
    cJSON_ArrayForEach(ph, phases) {
      std::string p = sc + "/" + Str(ph, "name");
      if (std::find(plot_rows.begin(), plot_rows.end(), p) == plot_rows.end()) {
        plot_rows.push_back(p);
      }
      const cJSON* lat = cJSON_GetObjectItemCaseSensitive(ph, "latency_us");
      // A server that cannot keep the offered rate paces the publisher: its
      // latencies then belong to a lower rate. This row shows what it took.
      const double publish_s = Num(ph, "publish_s");
      if (publish_s > 0) add(p + ": events/s accepted", server, Num(ph, "events") / publish_s);
      add(p + ": CPU µs per delivery", server, Num(ph, "cpu_us_per_delivery"));
      // What of it the kernel did (stime): the floor is nearly all kernel, so
      // herald's CPU minus this row is its own code's cost.
      if (cJSON_GetObjectItemCaseSensitive(ph, "cpu_sys_us_per_delivery")) {
        add(p + ": kernel CPU µs per delivery", server, Num(ph, "cpu_sys_us_per_delivery"));
      }
      if (sc == "channels") add(p + ": CPU µs per event", server, Num(ph, "cpu_us_per_event"));
      add(p + ": p50 latency ms", server, Num(lat, "p50") / 1000);
      add(p + ": p90 latency ms", server, Num(lat, "p90") / 1000);
      add(p + ": p99 latency ms", server, Num(lat, "p99") / 1000);
      add(p + ": max latency ms", server, Num(lat, "max") / 1000);
    }
  }
  if (runs == 0) {
    fprintf(stderr, "no runs in %s\n", path.c_str());
    return 1;
  }
  auto median = [&](const std::string& name, const std::string& server, bool* have) {
    auto& m = metrics[name];
    auto it = m.values.find(server);
    *have = it != m.values.end() && !it->second.empty();
    return *have ? Median(it->second) : 0.0;
  };
  auto cell = [&](const std::string& name, const char* server, bool* have, double* v) {
    *v = median(name, server, have);
    Metric& m = metrics[name];
    return *have ? Fmt(*v) : (m.note.count(server) ? m.note[server] : "—");
  };
  auto ratio = [](bool ha, double a, bool hb, double b) {
    return ha && hb && b != 0 ? Fmt(a / b) : std::string("—");
  };
  printf(
      "| metric (median of runs) | herald | Nchan | floor | herald/Nchan | herald/floor | runs "
      "|\n");
  printf("|---|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& name : order) {
    if (name.find(": p90") != std::string::npos || name.find(": max") != std::string::npos) {
      continue;  // kept for the plot; the table stays readable
    }
    bool hh = false, hn = false, hf = false;
    double h = 0, n = 0, f = 0;
    std::string hs = cell(name, "herald", &hh, &h), ns = cell(name, "nchan", &hn, &n),
                fs = cell(name, "floor", &hf, &f);
    Metric& m = metrics[name];
    size_t count = m.values["herald"].size() + m.values["nchan"].size() + m.values["floor"].size();
    printf("| %s | %s | %s | %s | %s | %s | %zu |\n", name.c_str(), hs.c_str(), ns.c_str(),
           fs.c_str(), ratio(hh, h, hn, n).c_str(), ratio(hh, h, hf, f).c_str(), count);
  }
  PrintTlsVsPlain(
      order, [&](const std::string& name, bool* have) { return median(name, "herald", have); });
  if (!plot_path.empty()) {
    FILE* f = fopen(plot_path.c_str(), "w");
    if (!f) return 2;
    fprintf(f,
            "# row herald_p50 herald_p90 herald_p99 nchan_p50 nchan_p90 nchan_p99 "
            "herald_cpu nchan_cpu floor_cpu (ms, ms, ms, ..., µs per delivery)\n");
    for (const auto& p : plot_rows) {
      bool have = false;
      fprintf(f, "%s", p.c_str());
      for (const char* server : {"herald", "nchan"}) {
        for (const char* q : {"p50", "p90", "p99"}) {
          double v = median(p + ": " + q + " latency ms", server, &have);
          if (have)
            fprintf(f, " %g", v);
          else
            fprintf(f, " NaN");  // gnuplot: missing
        }
      }
      for (const char* server : {"herald", "nchan", "floor"}) {
        double v = median(p + ": CPU µs per delivery", server, &have);
        if (have)
          fprintf(f, " %g", v);
        else
          fprintf(f, " NaN");
      }
      fprintf(f, "\n");
    }
    fclose(f);
  }
  return 0;
}

}  // namespace herald_bench
