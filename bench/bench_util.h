// Small shared pieces of herald-bench: RAII owners for libevent/cJSON handles,
// clocks and the latency histogram. herald-bench is deliberately standalone
// (it does not link herald_core) so it builds even while the server is mid-edit
// and can measure any server, not only herald.
#pragma once

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <time.h>

#include <array>
#include <cstdint>
#include <memory>

namespace herald_bench {

template <class T, void (*Free)(T*)>
struct CDeleter {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};

using EventBasePtr = std::unique_ptr<event_base, CDeleter<event_base, event_base_free>>;
using EventPtr = std::unique_ptr<event, CDeleter<event, event_free>>;
using BufferEventPtr = std::unique_ptr<bufferevent, CDeleter<bufferevent, bufferevent_free>>;
using EvbufferPtr = std::unique_ptr<evbuffer, CDeleter<evbuffer, evbuffer_free>>;
using CJsonPtr = std::unique_ptr<cJSON, CDeleter<cJSON, cJSON_Delete>>;

// Wall-clock microseconds: the publisher stamps payloads with it and the
// subscribers (other processes) subtract it, so it must be a shared clock.
inline uint64_t RealtimeUs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000u + uint64_t(ts.tv_nsec) / 1000u;
}

// Monotonic microseconds for local durations (immune to clock steps).
inline uint64_t MonotonicUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000u + uint64_t(ts.tv_nsec) / 1000u;
}

// Log-linear histogram of microsecond values: exact below 256 µs, then 128
// sub-buckets per power of two (< 0.8 % error). Trivially copyable on purpose:
// worker processes send it to the parent as raw bytes over a socketpair.
struct Histogram {
  static constexpr int kLinear = 256;
  static constexpr int kSub = 128;
  static constexpr int kExponents = 40;
  static constexpr int kBuckets = kLinear + kExponents * kSub;

  std::array<uint64_t, kBuckets> counts{};
  uint64_t total = 0;
  uint64_t max = 0;
  uint64_t sum = 0;

  static int Index(uint64_t v) {
    if (v < uint64_t(kLinear)) return int(v);
    int e = 63 - __builtin_clzll(v);  // >= 8
    int shift = e - 7;
    int idx = kLinear + (e - 8) * kSub + int((v >> shift) - kSub);
    return idx < kBuckets ? idx : kBuckets - 1;
  }
  // Midpoint of a bucket, so percentiles are not biased low.
  static uint64_t Value(int idx) {
    if (idx < kLinear) return uint64_t(idx);
    int k = idx - kLinear;
    int e = 8 + k / kSub;
    uint64_t m = uint64_t(kSub + k % kSub);
    uint64_t lo = m << (e - 7);
    uint64_t hi = ((m + 1) << (e - 7)) - 1;
    return (lo + hi) / 2;
  }
  void Record(uint64_t v) {
    ++counts[size_t(Index(v))];
    ++total;
    sum += v;
    if (v > max) max = v;
  }
  void Merge(const Histogram& o) {
    for (int i = 0; i < kBuckets; ++i) counts[size_t(i)] += o.counts[size_t(i)];
    total += o.total;
    sum += o.sum;
    if (o.max > max) max = o.max;
  }
  uint64_t Percentile(double p) const {
    if (total == 0) return 0;
    uint64_t rank = uint64_t(p / 100.0 * double(total) + 0.5);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts[size_t(i)];
      if (seen >= rank) {
        uint64_t v = Value(i);
        return v < max ? v : max;
      }
    }
    return max;
  }
};

}  // namespace herald_bench
