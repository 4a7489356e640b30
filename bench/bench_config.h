// Run configuration and the parent <-> worker-process messages.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace herald_bench {

enum class Transport : uint8_t { kStream, kSse, kPoll };
// kFloor: bench/floor (herald-floor), which speaks Nchan's publish and SSE forms.
enum class ServerKind : uint8_t { kHerald, kNchan, kFloor };

inline const char* ServerName(ServerKind k) {
  return k == ServerKind::kNchan ? "nchan" : k == ServerKind::kFloor ? "floor" : "herald";
}

// One server address and its Host header value.
struct Endpoint {
  sockaddr_in addr{};
  std::string host;
};

struct BenchConfig {
  std::string scenario;
  ServerKind server = ServerKind::kHerald;
  Transport transport = Transport::kStream;
  bool transport_set = false;
  sockaddr_in sub_addr{};
  sockaddr_in pub_addr{};
  std::string sub_host;  // Host header values
  std::string pub_host;
  // Several servers sharing one store (--sub A,B,C --pub A,B,C): subscriber i
  // connects to subs[i % n], publisher connection j to pubs[j % n].
  // sub_addr/pub_addr are subs[0]/pubs[0].
  std::vector<Endpoint> subs;
  std::vector<Endpoint> pubs;
  std::string token;
  std::string sse_path;  // "{topic}" is replaced by the URL-encoded filter
  std::string pub_path;  // nchan: "/pub?id={topic}"
  std::vector<pid_t> server_pids;
  std::vector<in_addr> src_addrs;
  double ramp = 5000;        // new connections per second, all workers together
  uint32_t procs = 0;        // 0 = ceil(subscribers / per_proc), at least 2
  uint32_t per_proc = 9000;  // sockets per worker process (20,000-file cap)
  // Handshakes in flight, all workers together (each gets its share): herald
  // cuts the oldest unfinished request past limits.max_pending_connections
  // (1,024), so more in flight would measure that limit, not connect time.
  uint32_t max_pending = 1000;
  uint32_t pub_conns = 4;
  double drain_timeout_s = 5;  // give up on a phase after this long without progress
  double settle_s = 1;         // wait after connecting before the memory sample
  std::string label;           // free text carried into the JSON line
  std::string json_out;        // file the JSON line is appended to
  std::string resume_cursor;   // event id subscribers resume after
  bool verbose = false;
  bool tls = false;  // subscribers speak TLS to --sub (herald's tls.listen); publishing stays plain
};

// Parent <-> worker messages over a socketpair: header, then `len` bytes of
// a trivially copyable struct (same binary on both ends: it is a fork).
enum MsgType : uint32_t { kMsgReady = 1, kMsgProgress = 2, kMsgReport = 3, kMsgStop = 4 };
constexpr int kMaxPhases = 2;

struct MsgHeader {
  uint32_t type;
  uint32_t len;
};

struct Progress {
  uint64_t received[kMaxPhases] = {};
  uint64_t unknown_events = 0;  // data frames without our timestamp
  uint32_t established = 0;     // got a 200 and headers
  uint32_t failed = 0;          // gave up after retries or non-200
  uint32_t closed = 0;          // server ended an established stream
  uint32_t resets = 0;          // `reset` events (history did not reach back)
  uint32_t bad_status = 0;
  uint32_t last_bad_status = 0;
  uint32_t done_subs = 0;  // resume: subscribers that got every replayed event
  uint32_t retries = 0;
  uint32_t src_switches = 0;  // source address ran out of ports
};

struct Report {
  Progress progress;
  uint64_t bad_frames = 0;
  Histogram latency[kMaxPhases];
  Histogram connect;  // connect start -> response headers, µs
  Histogram done;     // resume: connect start -> last replayed event, µs
};

}  // namespace herald_bench
