#!/usr/bin/env bash
# Several herald nodes as one, on this machine, in one command: a redis-server
# of its own, N herald nodes (--store redis, distinct node ids) and Debian's
# nginx as a round-robin load balancer in front of them. See docs/scaling.md
# ("Deployment") and the README ("Several nodes").
#
#   scripts/cluster.sh [start] [options]    start, print the URLs, return
#   scripts/cluster.sh stop [--dir DIR]     stop everything started in DIR
#   scripts/cluster.sh status [--dir DIR]   what is running
#
# Every process is recorded by PID in DIR/pids and stopped by PID, never by
# name. Nothing here touches a system service (no systemctl, no port 6379).
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${HERALD_CLUSTER_DIR:-${TMPDIR:-/tmp}/herald-cluster}
NODES=3
PORT=8080         # nginx: public (subscribers)
PRIVATE_PORT=8081 # nginx: private API (publishers), loopback only
REDIS_PORT=6390   # not 6379: never the system's Redis
NODE_PORT=9080    # node i listens on NODE_PORT+2(i-1) (public) and +1 (private)
WORKERS=1
TOKEN=dev-token
HERALD=${HERALD_BIN:-}
CONFIG=
STARTING=0

usage() {
  cat <<EOF
usage: scripts/cluster.sh [start] [--nodes N] [--port P] [--private-port P]
                          [--redis-port P] [--node-port P] [--workers N]
                          [--token T] [--herald BIN] [--config FILE] [--dir DIR]
       scripts/cluster.sh stop|status [--dir DIR]
  start   redis-server on --redis-port ($REDIS_PORT), --nodes ($NODES) herald nodes
          (node i on --node-port+2(i-1) public and +1 private, from $NODE_PORT),
          nginx round-robin on --port ($PORT, subscribers) and --private-port
          ($PRIVATE_PORT, publishers); all on 127.0.0.1, all files under --dir
          ($DIR). Without --herald (or \$HERALD_BIN), builds build-run/herald.
  stop    stops every process recorded in DIR/pids (TERM, then KILL after 5 s).
EOF
}

say() { printf 'cluster: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The start time of PID in clock ticks since boot (field 22 of /proc/PID/stat):
# with the PID it names one process, so a PID reused since is left alone.
# A zombie (exited, not yet reaped) counts as gone.
start_time() {
  local stat f
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the command name may hold spaces: skip past it
  read -r -a f <<<"$stat"
  [[ ${f[0]} != Z ]] || return 1
  echo "${f[19]}"
}

# True while the process recorded as PID with START_TIME is alive.
owns_pid() {
  local pid=$1 started=$2 now
  now=$(start_time "$pid") || return 1
  [[ $now == "$started" ]]
}

stop_one() {
  local name=$1 pid=$2 started=$3 i
  owns_pid "$pid" "$started" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do
    owns_pid "$pid" "$started" || return 0
    sleep 0.1
  done
  say "$name ($pid) ignored TERM for 5 s: KILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# Stops in reverse start order: the load balancer first, Redis last, so no
# node sees its Redis vanish while it still has clients.
cmd_stop() {
  local pids=$DIR/pids lines=() i name pid started
  [[ -f $pids ]] || { say "nothing recorded in $pids"; return 0; }
  mapfile -t lines <"$pids"
  for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
    read -r name pid started _ <<<"${lines[i]}"
    stop_one "$name" "$pid" "$started"
  done
  rm -f "$pids"
  say "stopped (logs kept in $DIR)"
}

cmd_status() {
  local pids=$DIR/pids name pid started what up=0
  [[ -f $pids ]] || { say "not running ($pids missing)"; return 1; }
  while read -r name pid started what; do
    if owns_pid "$pid" "$started"; then
      echo "up    $name $pid $what"
      up=$((up + 1))
    else
      echo "DOWN  $name $pid $what"
    fi
  done <"$pids"
  ((up > 0))
}

wait_port() {
  local port=$1 i
  for i in $(seq 100); do
    port_busy "$port" && return 0
    owns_pid "$LAST_PID" "$LAST_START" || return 1
    sleep 0.1
  done
  return 1
}

# Starts CMD... in the background, in a session of its own so the cluster
# outlives the script and its terminal; records it in DIR/pids as
# "NAME PID START_TIME WHAT". (setsid execs in place: a background job of a
# non-interactive shell is no process group leader, so $! is CMD itself.)
spawn() {
  local name=$1 what=$2 log=$3
  shift 3
  setsid "$@" </dev/null >>"$log" 2>&1 &
  LAST_PID=$!
  LAST_START=$(start_time "$LAST_PID") || LAST_START=gone
  echo "$name $LAST_PID $LAST_START $what" >>"$DIR/pids"
}

find_herald() {
  if [[ -n $HERALD ]]; then
    [[ -x $HERALD ]] || die "herald binary '$HERALD' is missing or not executable"
    HERALD=$(cd "$(dirname "$HERALD")" && pwd)/$(basename "$HERALD")
    return
  fi
  command -v cmake >/dev/null || die "no --herald given and cmake is missing to build one (bash scripts/install-deps.sh)"
  say "building herald into build-run/ (Release)"
  cmake -S "$REPO_DIR" -B "$REPO_DIR/build-run" -DCMAKE_BUILD_TYPE=Release -DHERALD_TESTS=OFF \
    -DHERALD_FUZZ=OFF -DHERALD_SANITIZE= >/dev/null
  cmake --build "$REPO_DIR/build-run" -j"$(nproc)" --target herald >&2
  HERALD=$REPO_DIR/build-run/herald
}

write_nginx_conf() {
  local pub_servers="" priv_servers="" i p
  for ((i = 1; i <= NODES; i++)); do
    p=$((NODE_PORT + 2 * (i - 1)))
    pub_servers+="    server 127.0.0.1:$p;"$'\n'
    priv_servers+="    server 127.0.0.1:$((p + 1));"$'\n'
  done
  mkdir -p "$DIR/nginx"
  # proxy_buffering off: SSE and es-web stream frames go out as herald writes
  # them. Long read timeouts: a stream is quiet between heartbeats. HTTP/1.1
  # with an empty Connection header: upstream keep-alive (publishes reuse
  # connections instead of a TCP handshake each).
  cat >"$DIR/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx/body;
  proxy_temp_path $DIR/nginx/proxy;
  fastcgi_temp_path $DIR/nginx/fastcgi;
  uwsgi_temp_path $DIR/nginx/uwsgi;
  scgi_temp_path $DIR/nginx/scgi;
  upstream herald_public {
$pub_servers    keepalive 32;
  }
  upstream herald_private {
$priv_servers    keepalive 32;
  }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host \$host;
  proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
  proxy_buffering off;
  proxy_request_buffering off;
  proxy_cache off;
  proxy_read_timeout 1h;
  proxy_send_timeout 1h;
  server {
    listen 127.0.0.1:$PORT;
    location / { proxy_pass http://herald_public; }
  }
  server {
    listen 127.0.0.1:$PRIVATE_PORT;
    location / { proxy_pass http://herald_private; }
  }
}
EOF
}

cmd_start() {
  local ports=("$PORT" "$PRIVATE_PORT" "$REDIS_PORT") i p bin
  ((NODES >= 1 && NODES <= 64)) || die "--nodes must be 1 to 64"
  for bin in redis-server redis-cli nginx curl setsid; do
    command -v "$bin" >/dev/null || die "$bin is missing (apt-get install redis-server nginx curl)"
  done
  if [[ -f $DIR/pids ]] && cmd_status >/dev/null 2>&1; then
    die "a cluster is already running from $DIR (scripts/cluster.sh stop --dir $DIR)"
  fi
  for ((i = 1; i <= NODES; i++)); do
    p=$((NODE_PORT + 2 * (i - 1)))
    ports+=("$p" "$((p + 1))")
  done
  [[ $(printf '%s\n' "${ports[@]}" | sort -u | wc -l) == "${#ports[@]}" ]] ||
    die "ports overlap: ${ports[*]}"
  for p in "${ports[@]}"; do
    port_busy "$p" && die "port $p on 127.0.0.1 is busy (choose others: --port, --private-port, --redis-port, --node-port)"
  done
  [[ -z $CONFIG || -r $CONFIG ]] || die "--config $CONFIG is not readable"
  find_herald

  mkdir -p "$DIR/redis"
  : >"$DIR/pids"
  # From here on any failure stops what was started.
  STARTING=1
  trap 'if ((STARTING)); then say "start failed: stopping what was started"; cmd_stop; fi' EXIT

  spawn redis-server "redis 127.0.0.1:$REDIS_PORT" "$DIR/redis/redis.out" \
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DIR/redis" \
    --appendonly yes --appendfsync everysec --save "" --logfile "$DIR/redis/redis.log"
  wait_port "$REDIS_PORT" || fail_start "redis-server did not start (see $DIR/redis/redis.log)"

  local url=redis://127.0.0.1:$REDIS_PORT/0 conf_args=()
  [[ -n $CONFIG ]] && conf_args=(--config "$CONFIG")
  for ((i = 1; i <= NODES; i++)); do
    p=$((NODE_PORT + 2 * (i - 1)))
    spawn herald "node $i: 127.0.0.1:$p public, 127.0.0.1:$((p + 1)) private" "$DIR/node$i.log" \
      "$HERALD" "${conf_args[@]}" --listen "127.0.0.1:$p" --private-listen "127.0.0.1:$((p + 1))" \
      --workers "$WORKERS" --node-id "$i" --token "$TOKEN" --store redis --redis "$url"
    wait_port "$p" && wait_port "$((p + 1))" ||
      fail_start "herald node $i did not start (see $DIR/node$i.log)"
  done

  write_nginx_conf
  nginx -t -q -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx/" 2>>"$DIR/nginx/error.log" ||
    fail_start "nginx rejected $DIR/nginx/nginx.conf (see $DIR/nginx/error.log)"
  spawn nginx "load balancer 127.0.0.1:$PORT public, 127.0.0.1:$PRIVATE_PORT private" \
    "$DIR/nginx/nginx.out" nginx -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx/"
  wait_port "$PORT" && wait_port "$PRIVATE_PORT" ||
    fail_start "nginx did not start (see $DIR/nginx/error.log)"
  STARTING=0

  cat <<EOF
herald cluster: $NODES nodes (ids 1..$NODES) on one Redis, behind nginx (round robin)
  subscribers:  http://127.0.0.1:$PORT/       (nginx -> nodes' public listeners)
  publishers:   http://127.0.0.1:$PRIVATE_PORT/       (nginx -> nodes' private APIs; token $TOKEN)
  redis:        redis://127.0.0.1:$REDIS_PORT/0 (data and logs in $DIR)
  nodes:        $(for ((i = 1; i <= NODES; i++)); do printf '127.0.0.1:%s ' $((NODE_PORT + 2 * (i - 1))); done)
try it (each subscriber may land on another node; every one gets the event):
  curl -N 'http://127.0.0.1:$PORT/sse?topic=house/%23' &
  curl -N 'http://127.0.0.1:$PORT/sse?topic=house/kitchen' &
  curl -H 'Authorization: Bearer $TOKEN' \\
    -d '{"ep":["house/kitchen"],"e":{"type":"temp","detail":21.5}}' http://127.0.0.1:$PRIVATE_PORT/event
stop it:
  scripts/cluster.sh stop --dir $DIR
EOF
}

# The EXIT trap set by cmd_start stops what was started.
fail_start() {
  say "error: $*"
  exit 1
}

ACTION=start
if (($#)) && [[ $1 != -* ]]; then
  ACTION=$1
  shift
fi
while (($#)); do
  case $1 in
    --nodes) NODES=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --private-port) PRIVATE_PORT=$2; shift 2 ;;
    --redis-port) REDIS_PORT=$2; shift 2 ;;
    --node-port) NODE_PORT=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --token) TOKEN=$2; shift 2 ;;
    --herald) HERALD=$2; shift 2 ;;
    --config) CONFIG=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ $REDIS_PORT != 6379 ]] || die "--redis-port 6379 is the system Redis's port: choose another"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

case $ACTION in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage >&2; exit 2 ;;
esac
