# The floor (bench/floor, herald-floor) for bench/compare.sh (sourced after
# lib.sh, not run): built next to herald-bench, started and stopped by PID.
FLOOR_BIN=${FLOOR_BIN:-$BUILD_DIR/herald-floor}
# Threads of the floor (README "The floor": one is the cheaper per delivery).
FLOOR_THREADS=${FLOOR_THREADS:-1}

build_floor() {
  cmake --build "$BUILD_DIR" -j2 --target herald-floor >&2
}

# Which scenarios the floor can serve: those that need no wildcard, history,
# TLS or shared store (it is a single SSE fan-out process and nothing more).
floor_supports() {
  case $1 in
    wildcard | resume | *-redis | *-tls) return 1 ;;
    *) return 0 ;;
  esac
}

# Starts herald-floor on a fresh port; sets FLOOR_PID and FLOOR_ADDR.
start_floor() {
  local port
  port=$(free_port)
  "$FLOOR_BIN" --listen "127.0.0.1:$port" --threads "$FLOOR_THREADS" >>"$WORK_DIR/floor.log" 2>&1 &
  FLOOR_PID=$!
  STARTED_PIDS+=("$FLOOR_PID")
  wait_port "$port" || die "herald-floor did not start (see $WORK_DIR/floor.log)"
  FLOOR_ADDR=127.0.0.1:$port
}

stop_floor() {
  stop_pid "$FLOOR_PID"
  forget_pid "$FLOOR_PID"
}

# run_floor_bench SCENARIO LABEL JSONL [extra args...]: driven like Nchan.
run_floor_bench() {
  local scenario=$1 label=$2 out=$3
  shift 3
  timeout 180 "$BENCH_BIN" --scenario "$scenario" --server floor --sub "$FLOOR_ADDR" \
    --server-pid "$FLOOR_PID" --label "$label" --json-out "$out" "$@"
}
