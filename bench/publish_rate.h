// publish-rate: how many events per second one herald node takes in through
// its private API, and how many of them reach a subscriber end to end
// (on another node when the nodes share a Redis store).
//
//   herald-bench publish-rate --pub 127.0.0.1:8081 --sub 127.0.0.1:8080
//       --token T --pub-conns 8 --batch 100 --events 200000
//       [--server-pid P,P] [--redis-pid P] [--duration 30] [--topics 8]
//
// Keep-alive publishers each keep one request in flight: the single form
// (`--batch 1`, one event per POST /event) or a batch (a JSON array of
// `--batch` items). One SSE subscriber to `pr/#` counts what is delivered
// (`--sub none`: no subscriber, the cost of the publish path alone).
// Prints events/s acknowledged and delivered, server and Redis CPU per event
// (from /proc), and the publishing node's Redis round trips per request and
// per event (/state store.round_trips). Bounded by --events and --duration.
#pragma once

namespace herald_bench {

int RunPublishRate(int argc, char** argv);

}  // namespace herald_bench
