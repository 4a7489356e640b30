#!/usr/bin/env bash
# bench/redis_commands.sh — what herald asks of Redis, counted by Redis
# itself: three herald nodes (--store redis) on a fresh redis-server, then
# herald-bench steps, with INFO commandstats and INFO cpu diffed around each
# step and divided by the step's unit:
#   subscribe  N subscribers on N distinct topics connect, hold, leave
#              (per subscriber)
#   publish    M events to one topic with 10 subscribers (per event)
#   resume     R subscribers resume 100 events back on one topic (per resume)
# and the commands connection's own count (/state store.round_trips, summed
# over the nodes). Commands Redis runs inside a Lua script are counted by
# commandstats too: the EVALSHA line is the round trip, the rest its work.
# Usage: bench/redis_commands.sh [N=1000] [M=5000] [R=100]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_redis.sh"
N=${1:-1000}
M=${2:-5000}
R=${3:-100}

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

# step NAME UNITS herald-bench-args...: runs one herald-bench step and prints
# Redis's commands per unit.
step() {
  local name=$1 units=$2 snap=$WORK_DIR/snap.txt rt0 rt1
  shift 2
  : >"$snap"
  rt0=$(round_trips)
  redis_snapshot before "$snap"
  "$BENCH_BIN" --server herald --sub "$HERALD_SUB" --pub "$HERALD_PUB" --token "$TOKEN" \
    --transport sse --pub-conns 3 "$@" >/dev/null
  # Unsubscribes follow the subscribers' close; let them land.
  sleep 1
  redis_snapshot after "$snap"
  rt1=$(round_trips)
  echo "## $name: $STEP_UNITS ${units}s"
  awk -v units="$units" -v n="$STEP_UNITS" -v rt=$((rt1 - rt0)) '
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
    }' "$snap"
  echo
}

# Herald's own background traffic (PING, node heartbeat) is in the figures;
# the steps are short enough for it not to matter (a few per second).
STEP_UNITS=$N step subscribe subscriber --scenario idle --subscribers "$N"
STEP_UNITS=$M step publish event --scenario fanout-light --subscribers 10 --events "$M" --rate 2000
STEP_UNITS=$R step resume resume --scenario resume --subscribers "$R" --events 100
