#!/usr/bin/env bash
# bench/redis_commands.sh — what herald asks of Redis, counted by Redis
# itself: three herald nodes (--store redis) on a fresh redis-server, then
# herald-bench steps, with INFO commandstats and INFO cpu diffed around each
# step and divided by the step's unit:
#   subscribe  N subscribers on N distinct topics connect, hold, leave
#              (per subscriber)
#   publish    M events to one topic with 10 subscribers (per event)
# and the commands connection's own count (/state store.round_trips, summed
# over the nodes). Commands Redis runs inside a Lua script are counted by
# commandstats too: the EVALSHA line is the round trip, the rest its work.
# (Resume reads are not measured: on the Redis store today a node answers a
# cursor above the last id it was fed with `reset` "malformed" instead of
# reading the streams, so a resume on a node that had no subscriber on the
# topic reads nothing; see docs/scaling.md.)
# Usage: bench/redis_commands.sh [N=1000] [M=5000]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_redis.sh"
N=${1:-1000}
M=${2:-5000}

trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)"
build_bench
WORK_DIR=$(mktemp -d /tmp/herald-redis-commands.XXXXXX)
snapshot_herald
start_herald_cluster

round_trips() {
  local sum=0 pub rt
  for pub in ${HERALD_PUB//,/ }; do
    rt=$(curl -s -H "Authorization: Bearer $TOKEN" "http://$pub/state" |
      sed -n 's/.*"round_trips":\([0-9]*\).*/\1/p')
    sum=$((sum + ${rt:-0}))
  done
  echo "$sum"
}

# Context switches of every thread of the herald nodes (voluntary +
# involuntary): each wake-up of a sleeping thread (a task handed from the HTTP
# thread to the Redis bridge, a reply handed back, a fed message handed to a
# worker) is one.
ctx_switches() {
  local sum=0 pid n
  for pid in "${HERALD_NODE_PIDS[@]}"; do
    n=$(cat /proc/"$pid"/task/*/status 2>/dev/null |
      awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }')
    sum=$((sum + n))
  done
  echo "$sum"
}

# herald's CPU (utime + stime of the three nodes, all threads), in µs.
herald_cpu_us() {
  local sum=0 pid t
  for pid in "${HERALD_NODE_PIDS[@]}"; do
    t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    sum=$((sum + t))
  done
  echo $((sum * 1000000 / $(getconf CLK_TCK)))
}

# step NAME UNITS herald-bench-args...: runs one herald-bench step and prints
# Redis's commands per unit.
step() {
  local name=$1 units=$2 snap=$WORK_DIR/snap.txt rt0 rt1 cs0 cs1 cpu0 cpu1
  shift 2
  : >"$snap"
  rt0=$(round_trips)
  cs0=$(ctx_switches)
  cpu0=$(herald_cpu_us)
  redis_snapshot before "$snap"
  "$BENCH_BIN" --server herald --sub "$HERALD_SUB" --pub "$HERALD_PUB" --token "$TOKEN" \
    --transport sse --pub-conns 3 "$@" >/dev/null
  # Unsubscribes follow the subscribers' close; let them land.
  sleep 1
  redis_snapshot after "$snap"
  rt1=$(round_trips)
  cs1=$(ctx_switches)
  cpu1=$(herald_cpu_us)
  echo "## $name: $STEP_UNITS ${units}s"
  awk -v units="$units" -v n="$STEP_UNITS" -v rt=$((rt1 - rt0)) -v cs=$((cs1 - cs0)) \
    -v hcpu=$((cpu1 - cpu0)) '
    $1 == "before" { b[$2] = $3; bu[$2] = $4 }
    $1 == "after" { a[$2] = $3; au[$2] = $4 }
    END {
      printf "| command | calls per %s | Redis µs per %s |\n|---|---:|---:|\n", units, units
      for (k in a) {
        if (k !~ /^cmd_/ || k == "cmd_info") continue
        c = a[k] - b[k]; if (c <= 0) continue
        printf "| %s | %.3f | %.2f |\n", substr(k, 5), c / n, (au[k] - bu[k]) / n
      }
      cpu = (a["used_cpu_user"] + a["used_cpu_sys"] - b["used_cpu_user"] - b["used_cpu_sys"]) * 1e6
      printf "| (Redis CPU, user+sys) | | %.2f |\n", cpu / n
      printf "| (herald commands answered, /state round_trips) | %.3f | |\n", rt / n
      printf "| (herald context switches, 3 nodes, all threads) | %.1f | |\n", cs / n
      printf "| (herald CPU, 3 nodes, all threads) | | %.1f |\n", hcpu / n
    }' "$snap"
  echo
}

# Herald's own background traffic (PING, node heartbeat) is in the figures;
# the steps are short enough for it not to matter (a few per second).
STEP_UNITS=$N step subscribe subscriber --scenario idle --subscribers "$N"
STEP_UNITS=$M step publish event --scenario fanout-light --subscribers 10 --events "$M" --rate 2000
