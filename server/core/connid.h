// Connection ids: the layout of the integer every client sees as `connid`.
//
//   connid = seq << (kNodeBits + kWorkerBits) | node << kWorkerBits | worker
//
// Any thread can tell from a connid which node and which worker own the
// connection, so routing by connid (alive, join, authenticate, whisper, kick)
// needs no table. 6 worker bits + 10 node bits leave 37 bits of per-worker
// sequence: a connid stays below 2^53 (exact in JSON and JavaScript) for
// 137 billion connections per worker. Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace herald {

inline constexpr int kWorkerBits = 6;
inline constexpr int kNodeBits = 10;
inline constexpr int kMaxNodeId = (1 << kNodeBits) - 1;
inline constexpr int kSeqBits = 53 - kNodeBits - kWorkerBits;
inline constexpr uint64_t kMaxConnSeq = (uint64_t{1} << kSeqBits) - 1;

// REQUIRES: 1 <= seq <= kMaxConnSeq, 0 <= node <= kMaxNodeId, 0 <= worker < 2^kWorkerBits.
inline constexpr uint64_t MakeConnId(uint64_t seq, int node, int worker) {
  return seq << (kNodeBits + kWorkerBits) | static_cast<uint64_t>(node) << kWorkerBits |
         static_cast<uint64_t>(worker);
}
inline constexpr int ConnIdWorker(uint64_t connid) {
  return static_cast<int>(connid & ((1u << kWorkerBits) - 1));
}
inline constexpr int ConnIdNode(uint64_t connid) {
  return static_cast<int>((connid >> kWorkerBits) & kMaxNodeId);
}
// True when the connection lives on node `local_node`; false for a connid
// minted by another node (to be routed through the shared store).
inline constexpr bool IsLocalConnId(uint64_t connid, int local_node) {
  return ConnIdNode(connid) == local_node;
}

// The worker (of `workers`) that holds a connection by this connid: its own
// for a local connid; for a long-poll session adopted from another node
// (handlers/poll_share.h), the connid's worker bits modulo this node's count.
inline constexpr size_t SessionWorker(uint64_t connid, size_t workers) {
  return static_cast<size_t>(ConnIdWorker(connid)) % workers;
}

// This process's node id: `configured` when it is 0..kMaxNodeId, otherwise
// one derived once per process from a hash of the host name and the pid, so
// two nodes on one host or two hosts differ unless they collide by chance
// (set `node_id` explicitly on a cluster to rule that out).
int ResolveNodeId(int configured);

}  // namespace herald
