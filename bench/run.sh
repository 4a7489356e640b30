#!/usr/bin/env bash
# bench/run.sh SCENARIO [herald-bench args...] — one scenario against a fresh
# herald (build/herald), e.g. `bench/run.sh fanout --transport sse`.
# With --tls the subscribers connect to herald's HTTPS listener (tls.listen).
# A *-redis scenario (fanout-redis, channels-redis) runs against three nodes
# sharing one fresh redis-server (bench/lib_redis.sh), as compare.sh does.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_redis.sh"
(($#)) || { echo "usage: bench/run.sh SCENARIO [herald-bench args...]" >&2; exit 2; }
scenario=$1
shift
transport=
for a in "$@"; do
  [[ $a == --transport ]] && transport=given
  [[ $a == --tls ]] && export HERALD_TLS=1
done
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)"
build_bench
WORK_DIR=$(mktemp -d /tmp/herald-run.XXXXXX)
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
