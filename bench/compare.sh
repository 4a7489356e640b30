#!/usr/bin/env bash
# Side-by-side benchmark of herald and Nchan on this machine: the same
# scenarios, alternately, several rounds; prints medians and herald/Nchan
# ratios. Usage: bench/compare.sh [options]   (see --help)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_redis.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_floor.sh"

INVOCATION="bench/compare.sh$( (($#)) && printf ' %q' "$@" || true)"
ROUNDS=3
SCENARIOS="idle fanout fanout-light channels wildcard resume"
TRANSPORT=auto
OUT_DIR=$BENCH_DIR/out
WRITE_RESULTS=0
EXTRA=()
FLOOR=1
TLS_ROWS=0

usage() {
  cat <<EOF
usage: bench/compare.sh [--rounds N] [--scenarios "idle fanout ..."]
                        [--transport auto|stream|sse|poll] [--out DIR]
                        [--write-results] [--no-floor] [--tls-rows]
                        [-- extra herald-bench args]
  Installs nginx, libnginx-mod-nchan and gnuplot-nox when missing, builds
  herald-bench (and herald if build/herald is missing), then for each round and
  scenario starts a fresh herald and a fresh Nchan, runs herald-bench against
  each (order alternates per round) and stops them by PID. wildcard and resume
  run against herald only. fanout-redis and channels-redis (opt-in: name them
  in --scenarios) run fanout and channels against three herald nodes
  (--store redis) and three nginx+Nchan servers (Nchan's Redis store), each
  trio sharing a fresh redis-server whose CPU counts as server CPU;
  DIR/redis_stats.txt gets Redis's CPU and INFO commandstats for each run.
  idle-max and fanout-max (opt-in too, ~2 min a round for both) hold 19,000
  subscribers in one server process (herald; nginx with 2 workers).
  NCHAN_TUNING=stock runs Nchan as before issue 15 (bench/README.md).
  The floor (bench/floor, herald-floor: the least a server could do) runs
  every scenario it can (not wildcard, resume, *-redis, *-tls) as a third
  server, alternating with the others; --no-floor leaves it out.
  --tls-rows adds idle-tls and fanout-light-tls (herald only, subscribers on
  its TLS listener) after idle and fanout-light, and a TLS vs plain table;
  it makes a round about 2 minutes longer (10,000 TLS handshakes).
  Results: DIR/results.jsonl, DIR/summary.md,
  DIR/plot.png; --write-results also rewrites bench/RESULTS.md and
  bench/results.png.
EOF
}

while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --transport) TRANSPORT=$2; shift 2 ;;
    --out) OUT_DIR=$2; shift 2 ;;
    --write-results) WRITE_RESULTS=1; shift ;;
    --no-floor) FLOOR=0; shift ;;
    --tls-rows) TLS_ROWS=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) usage; exit 2 ;;
  esac
done

trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)"
ensure_packages nginx libnginx-mod-nchan gnuplot-nox curl redis-server
build_bench
((FLOOR)) && build_floor
WORK_DIR=$(mktemp -d /tmp/herald-compare.XXXXXX)
snapshot_herald
mkdir -p "$OUT_DIR"
JSONL=$OUT_DIR/results.jsonl
: >"$JSONL"
REDIS_STATS=$OUT_DIR/redis_stats.txt
: >"$REDIS_STATS"

# --tls-rows: each TLS row runs right after its plain twin (added if missing).
if ((TLS_ROWS)); then
  with_tls=
  for s in $SCENARIOS; do
    with_tls+=" $s"
    [[ $s == idle || $s == fanout-light ]] && [[ " $SCENARIOS " != *" $s-tls "* ]] && with_tls+=" $s-tls"
  done
  for s in idle fanout-light; do
    [[ " $with_tls " == *" $s-tls "* ]] || with_tls+=" $s $s-tls"
  done
  SCENARIOS=${with_tls# }
fi

if [[ $TRANSPORT == auto ]]; then
  start_herald
  TRANSPORT=$(detect_transport)
  stop_herald
fi
log "herald transport: $TRANSPORT; rounds: $ROUNDS; scenarios: $SCENARIOS"
CMDLINE="$INVOCATION (herald transport: $TRANSPORT)"

herald_only() { [[ $1 == wildcard || $1 == resume || $1 == *-tls ]]; }

# run_redis_scenario herald|nchan SCENARIO TRANSPORT ROUND: three servers and
# their Redis, fresh; six publisher connections, two per server.
run_redis_scenario() {
  local server=$1 scenario=$2 transport=$3 round=$4 label="$1 $2 round=$4"
  if [[ $server == herald ]]; then
    start_herald_cluster
    redis_snapshot "$label before" "$REDIS_STATS"
    run_bench herald "$scenario" "$transport" "round=$round" "$JSONL" --pub-conns 6 "${EXTRA[@]}" |
      grep -v '^{' || log "herald-bench failed on $scenario/herald"
    redis_snapshot "$label after" "$REDIS_STATS"
    local p
    for p in "${HERALD_NODE_PIDS[@]}"; do
      kill -0 "$p" 2>/dev/null || log "WARNING: a herald node died during $scenario"
    done
    stop_herald_cluster
  else
    start_nchan_cluster
    redis_snapshot "$label before" "$REDIS_STATS"
    run_bench nchan "$scenario" sse "round=$round" "$JSONL" --pub-conns 6 "${EXTRA[@]}" |
      grep -v '^{' || log "herald-bench failed on $scenario/nchan"
    redis_snapshot "$label after" "$REDIS_STATS"
    stop_nchan_cluster
  fi
}

for round in $(seq "$ROUNDS"); do
  for scenario in $SCENARIOS; do
    # Alternate who goes first, so neither server always runs on a machine
    # still settling from the other's run.
    if ((round % 2)); then order="herald nchan floor"; else order="floor nchan herald"; fi
    ((FLOOR)) && floor_supports "$scenario" || order=${order//floor/}
    herald_only "$scenario" && order=herald
    for server in $order; do
      log "round $round: $scenario on $server"
      transport=$TRANSPORT
      # Resume needs history: SSE (Last-Event-ID) or poll (since).
      [[ $scenario == resume && $transport == stream ]] && transport=sse
      if is_redis_scenario "$scenario"; then
        run_redis_scenario "$server" "$scenario" "$transport" "$round"
      elif [[ $server == floor ]]; then
        start_floor
        run_floor_bench "$scenario" "round=$round" "$JSONL" "${EXTRA[@]}" |
          grep -v '^{' || log "herald-bench failed on $scenario/floor"
        kill -0 "$FLOOR_PID" 2>/dev/null || log "WARNING: herald-floor died during $scenario"
        stop_floor
      elif [[ $server == herald && $scenario == *-tls ]]; then
        HERALD_TLS=1 start_herald
        # TLS handshakes are CPU-bound (10,000 took ~60 s on the shared cores):
        # a slower ramp gives herald-bench's connect budget (N / ramp + 60 s)
        # room for them. Extra args come later and may override it.
        run_bench herald "$scenario" "$transport" "round=$round" "$JSONL" --ramp 250 "${EXTRA[@]}" |
          grep -v '^{' || log "herald-bench failed on $scenario/herald"
        kill -0 "$HERALD_PID" 2>/dev/null || log "WARNING: herald died during $scenario"
        stop_herald
      elif [[ $server == herald ]]; then
        start_herald
        run_bench herald "$scenario" "$transport" "round=$round" "$JSONL" "${EXTRA[@]}" |
          grep -v '^{' || log "herald-bench failed on $scenario/herald"
        kill -0 "$HERALD_PID" 2>/dev/null || log "WARNING: herald died during $scenario"
        stop_herald
      else
        start_nchan "$scenario"
        run_bench nchan "$scenario" sse "round=$round" "$JSONL" "${EXTRA[@]}" |
          grep -v '^{' || log "herald-bench failed on $scenario/nchan"
        stop_nchan
      fi
    done
  done
done

"$BENCH_BIN" summarize "$JSONL" "$OUT_DIR/plot.dat" >"$OUT_DIR/summary.md"
"$BENCH_DIR/plot.sh" "$OUT_DIR/plot.dat" "$OUT_DIR/plot.png" || log "plot failed"
echo
echo "herald ($TRANSPORT) vs Nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null)" \
  "and the floor (bench/floor), medians of $ROUNDS rounds:"
cat "$OUT_DIR/summary.md"
if [[ -s $REDIS_STATS ]]; then
  echo
  echo "Redis's side of the *-redis runs (bench/redis_stats.sh $REDIS_STATS):"
  "$BENCH_DIR/redis_stats.sh" "$REDIS_STATS" | tee "$OUT_DIR/redis_summary.md"
fi
echo
echo "raw runs: $JSONL   plot: $OUT_DIR/plot.png"

if ((WRITE_RESULTS)); then
  cp "$OUT_DIR/plot.png" "$BENCH_DIR/results.png" 2>/dev/null || true
  # Via a temp file: write_results.sh reads the notes of the current file.
  "$BENCH_DIR/write_results.sh" "$OUT_DIR" "$CMDLINE" >"$OUT_DIR/RESULTS.md"
  mv "$OUT_DIR/RESULTS.md" "$BENCH_DIR/RESULTS.md"
  log "wrote bench/RESULTS.md and bench/results.png"
fi
