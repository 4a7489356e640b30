# Shared helpers for bench/compare.sh and bench/run.sh (sourced, not run).
# Every process started here is recorded by PID and stopped by PID on exit.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO_DIR/build}
HERALD_BIN=${HERALD_BIN:-$BUILD_DIR/herald}
BENCH_BIN=${BENCH_BIN:-$BUILD_DIR/herald-bench}
TOKEN=${TOKEN:-bench-token}
STARTED_PIDS=()

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Stops one process we started: TERM, up to 5 s of grace, then KILL.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
  STARTED_PIDS=()
  [[ -n ${WORK_DIR:-} && -d $WORK_DIR && -z ${KEEP_WORK_DIR:-} ]] && rm -rf "$WORK_DIR"
  return 0
}

forget_pid() {
  local keep=() p
  for p in "${STARTED_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  STARTED_PIDS=("${keep[@]}")
}

# A loopback port nobody listens on (bounded number of tries), below the
# ephemeral range: a port that a client connection holds as its source port
# (tens of thousands on a busy machine) answers no connect, yet bind() on it
# fails, and the server would not start.
free_port() {
  local p i lo
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((lo > 12000)) || lo=32768
  for i in $(seq 200); do
    p=$((10000 + RANDOM % (lo - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "no free port"
}

wait_port() {
  local port=$1 i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Debian packages, installed only when missing.
ensure_packages() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

build_bench() {
  if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
    cmake -S "$REPO_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >&2
  fi
  cmake --build "$BUILD_DIR" -j2 --target herald-bench >&2
  if [[ ! -x $HERALD_BIN ]]; then
    log "building herald (Release)"
    cmake --build "$BUILD_DIR" -j2 --target herald >&2
  fi
}

# Copies build/herald into WORK_DIR so every run of a comparison uses the same
# binary even if someone rebuilds build/ meanwhile; records how it was built.
snapshot_herald() {
  [[ -x $HERALD_BIN ]] || die "$HERALD_BIN missing"
  cp "$HERALD_BIN" "$WORK_DIR/herald"
  HERALD_RUN_BIN=$WORK_DIR/herald
  local cache=$BUILD_DIR/CMakeCache.txt type san
  type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$cache" 2>/dev/null)
  san=$(sed -n 's/^HERALD_SANITIZE:STRING=//p' "$cache" 2>/dev/null)
  HERALD_BUILD_INFO="${type:-unknown build type}${san:+, sanitizer $san}"
  [[ -n $san ]] && log "WARNING: build/ is configured with HERALD_SANITIZE=$san: figures are not representative"
  export HERALD_BUILD_INFO
}

# Starts herald on fresh ports; sets HERALD_PID, HERALD_SUB, HERALD_PUB.
# HERALD_TLS=1: with a fresh self-signed certificate and HERALD_SUB on its
# HTTPS listener (tls.listen); publishing stays on the plain private port.
start_herald() {
  local sub pub tls_port= tls_conf=
  sub=$(free_port)
  pub=$(free_port)
  if [[ ${HERALD_TLS:-} == 1 ]]; then
    tls_port=$(free_port)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
      -subj /CN=127.0.0.1 -keyout "$WORK_DIR/tls.key" -out "$WORK_DIR/tls.pem" 2>/dev/null
    tls_conf=", \"tls\": {\"cert_file\": \"$WORK_DIR/tls.pem\", \"key_file\": \"$WORK_DIR/tls.key\", \"listen\": \"127.0.0.1:$tls_port\"}"
  fi
  # Long streams (the default 60 s would end them mid-run) and room for
  # 10,000+ subscribers from a handful of loopback addresses. 4,096 pending
  # requests, as nginx's backlog=4096: the bench keeps up to 1,000 handshakes
  # in flight and the default 1,024 (512 per worker) cut a few of 19,000.
  cat >"$WORK_DIR/herald.json" <<EOF
{"limits": {"max_connections": 50000, "max_connections_per_ip": 0, "max_pending_connections": 4096},
 "stream": {"timeout_ms": 900000}$tls_conf}
EOF
  "${HERALD_RUN_BIN:-$HERALD_BIN}" --listen "127.0.0.1:$sub" --private-listen "127.0.0.1:$pub" --workers "${HERALD_WORKERS:-2}" \
    --token "$TOKEN" --config "$WORK_DIR/herald.json" >>"$WORK_DIR/herald.log" 2>&1 &
  HERALD_PID=$!
  STARTED_PIDS+=("$HERALD_PID")
  wait_port "$sub" && wait_port "$pub" || die "herald did not start (see $WORK_DIR/herald.log)"
  HERALD_SUB=127.0.0.1:$sub
  HERALD_PUB=127.0.0.1:$pub
  if [[ -n $tls_port ]]; then
    wait_port "$tls_port" || die "herald's TLS listener did not start (see $WORK_DIR/herald.log)"
    HERALD_SUB=127.0.0.1:$tls_port
  fi
}

stop_herald() {
  stop_pid "$HERALD_PID"
  forget_pid "$HERALD_PID"
}

# Nchan's settings (bench/README.md "Nchan's settings" says why each).
# NCHAN_TUNING=best (default) is Nchan at its best for these scenarios;
# NCHAN_TUNING=stock is the configuration compare.sh used before issue 15
# (nginx's and Nchan's defaults, 2 workers everywhere; only
# worker_connections differs: 19900 for idle-max), kept to reproduce the
# before/after figures.
# NCHAN_WORKERS (default 2), NCHAN_HTTP_EXTRA, NCHAN_SUB_EXTRA and
# NCHAN_PUB_EXTRA (directives added to the http block and to the subscriber
# and publisher locations) are for A/B runs of one setting at a time.
nchan_tuning() {
  NCHAN_LISTEN_OPTS=
  NCHAN_HTTP_TUNING=
  NCHAN_SUB_TUNING=
  NCHAN_PUB_TUNING=
  case ${NCHAN_TUNING:-best} in
    stock) ;;
    best)
      # reuseport: the kernel spreads connections evenly over the workers
      # (an accept race can leave one worker with most of 19,000).
      NCHAN_LISTEN_OPTS=reuseport
      # nginx closes a keep-alive connection after 1,000 requests by default:
      # the publisher would reconnect every 1,000 events.
      NCHAN_HTTP_TUNING='keepalive_requests 1000000; keepalive_timeout 900s;'
      ;;
    *) die "NCHAN_TUNING must be best or stock" ;;
  esac
}

# start_nchan [SCENARIO]: starts nginx+Nchan (NCHAN_WORKERS, default 2) on a
# fresh port; sets NCHAN_PID (master), NCHAN_PIDS (master and workers,
# comma-separated) and NCHAN_ADDR. With NCHAN_TUNING=best `channels` gets one worker
# (two workers cost Nchan ~19 syscalls per event in inter-worker messages
# against ~3 with one; see RESULTS.md "Nchan at its best").
start_nchan() {
  local port dir=$WORK_DIR/nchan i workers nworkers=${NCHAN_WORKERS:-2}
  port=$(free_port)
  mkdir -p "$dir"
  nchan_tuning
  if [[ -z ${NCHAN_WORKERS:-} && ${NCHAN_TUNING:-best} == best && ${1:-} == channels ]]; then
    nworkers=1
  fi
  # worker_rlimit_nofile: the per-process cap (20,000 here); with
  # worker_connections 19900 one worker may hold most of idle-max's 19,000.
  cat >"$dir/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes $nworkers;
worker_rlimit_nofile 20000;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
daemon off;
events { worker_connections 19900; multi_accept on; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  $NCHAN_HTTP_TUNING ${NCHAN_HTTP_EXTRA:-}
  server {
    listen 127.0.0.1:$port backlog=4096 $NCHAN_LISTEN_OPTS;
    location ~ ^/sub/(.+)\$ {
      nchan_subscriber eventsource;
      nchan_channel_id \$1;
      nchan_subscriber_timeout 0;
      $NCHAN_SUB_TUNING ${NCHAN_SUB_EXTRA:-}
    }
    location = /pub {
      nchan_publisher;
      nchan_channel_id \$arg_id;
      $NCHAN_PUB_TUNING ${NCHAN_PUB_EXTRA:-}
    }
    # The path form of the channel id (--pub-path '/pub/{topic}'), for A/B
    # runs against the query form above.
    location ~ ^/pub/(.+)\$ {
      nchan_publisher;
      nchan_channel_id \$1;
      $NCHAN_PUB_TUNING ${NCHAN_PUB_EXTRA:-}
    }
  }
}
EOF
  log "nginx+Nchan: $nworkers worker(s), NCHAN_TUNING=${NCHAN_TUNING:-best}"
  nginx -c "$dir/nginx.conf" -p "$dir/" >>"$dir/nginx.out" 2>&1 &
  NCHAN_PID=$!
  STARTED_PIDS+=("$NCHAN_PID")
  wait_port "$port" || die "nginx did not start (see $dir/error.log)"
  for i in $(seq 50); do
    workers=$(pgrep -P "$NCHAN_PID" | paste -sd, -)
    [[ $(tr ',' '\n' <<<"$workers" | grep -c .) -ge $nworkers ]] && break
    sleep 0.1
  done
  NCHAN_PIDS=$NCHAN_PID${workers:+,$workers}
  NCHAN_ADDR=127.0.0.1:$port
}

stop_nchan() {
  # nginx's master stops its workers on TERM.
  stop_pid "$NCHAN_PID"
  forget_pid "$NCHAN_PID"
}

# Herald's best transport: SSE once it serves /sse, else the es-web stream.
detect_transport() {
  local code
  local scheme=http
  [[ ${HERALD_TLS:-} == 1 ]] && scheme=https
  code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 1 \
    "$scheme://$HERALD_SUB/sse?topic=probe" 2>/dev/null || true)
  if [[ $code == 200 ]]; then echo sse; else echo stream; fi
}

# run_bench herald|nchan SCENARIO TRANSPORT LABEL JSONL [extra args...]
run_bench() {
  local server=$1 scenario=$2 transport=$3 label=$4 out=$5
  shift 5
  if [[ $server == herald ]]; then
    timeout 180 "$BENCH_BIN" --scenario "$scenario" --server herald --sub "$HERALD_SUB" \
      --pub "$HERALD_PUB" --token "$TOKEN" --transport "$transport" \
      --server-pid "$HERALD_PID" --label "$label" --json-out "$out" "$@"
  else
    timeout 180 "$BENCH_BIN" --scenario "$scenario" --server nchan --sub "$NCHAN_ADDR" \
      --server-pid "$NCHAN_PIDS" --label "$label" --json-out "$out" "$@"
  fi
}
