#!/usr/bin/env bash
# bench/run.sh SCENARIO [herald-bench args...] — one scenario against a fresh
# herald (build/herald), e.g. `bench/run.sh fanout --transport sse`.
# With --tls the subscribers connect to herald's HTTPS listener (tls.listen).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
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
start_herald
if [[ -z $transport ]]; then
  transport=$(detect_transport)
  [[ $scenario == resume && $transport == stream ]] && transport=sse
fi
mkdir -p "$BENCH_DIR/out"
# A --transport among "$@" comes later on the command line and wins.
run_bench herald "$scenario" "$transport" "run.sh" "$BENCH_DIR/out/run.jsonl" "$@"
kill -0 "$HERALD_PID" 2>/dev/null || log "WARNING: herald died (log: $WORK_DIR/herald.log)"
