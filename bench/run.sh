#!/usr/bin/env bash
# bench/run.sh SCENARIO [herald-bench args...] — one scenario against a fresh
# herald (build/herald), e.g. `bench/run.sh fanout --transport sse`.
# With --tls the subscribers connect to herald's HTTPS listener (tls.listen).
# With --floor the scenario runs against bench/floor (herald-floor) instead.
# A *-redis scenario (fanout-redis, channels-redis) runs against three nodes
# sharing one fresh redis-server (bench/lib_redis.sh), as compare.sh does.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_floor.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_redis.sh"
(($#)) || { echo "usage: bench/run.sh SCENARIO [herald-bench args...]" >&2; exit 2; }
scenario=$1
shift
transport=
floor=0
args=()
for a in "$@"; do
  [[ $a == --transport ]] && transport=given
  [[ $a == --tls ]] && export HERALD_TLS=1
  if [[ $a == --floor ]]; then floor=1; else args+=("$a"); fi
done
set -- ${args[@]+"${args[@]}"}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)"
build_bench
WORK_DIR=$(mktemp -d /tmp/herald-run.XXXXXX)
mkdir -p "$BENCH_DIR/out"
if ((floor)); then
  build_floor
  start_floor
  run_floor_bench "$scenario" "run.sh" "$BENCH_DIR/out/run.jsonl" "$@"
  kill -0 "$FLOOR_PID" 2>/dev/null || log "WARNING: herald-floor died (log: $WORK_DIR/floor.log)"
  exit 0
fi
snapshot_herald
if is_redis_scenario "$scenario"; then
  # Three nodes on one Redis, six publisher connections (as compare.sh).
  start_herald_cluster
  set -- --pub-conns 6 "$@"
else
  start_herald
fi
if [[ -z $transport ]]; then
  transport=$(detect_transport)
  [[ $scenario == resume && $transport == stream ]] && transport=sse
fi
mkdir -p "$BENCH_DIR/out"
# A --transport among "$@" comes later on the command line and wins.
run_bench herald "$scenario" "$transport" "run.sh" "$BENCH_DIR/out/run.jsonl" "$@"
for p in ${HERALD_PID//,/ }; do
  kill -0 "$p" 2>/dev/null || log "WARNING: herald (or its Redis) died (logs in $WORK_DIR)"
done
