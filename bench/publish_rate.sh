#!/bin/sh
# publish-rate runs (bench/publish_rate.h): single and batch publishes into
# one herald node with the memory store, then through one redis-server with
# one node (publisher and subscriber on it) and with three nodes (publish on
# A, subscriber on B). Prints herald-bench's lines plus Redis's commandstats
# (calls per event). Usage: bench/publish_rate.sh [build-dir] [events]
set -eu
BUILD=${1:-build}
EVENTS=${2:-200000}
HERALD=$BUILD/herald
BENCH=$BUILD/herald-bench
TOKEN=bench-token
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {  # bounded: 10 s
  i=0
  until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "port $1 not open" >&2; exit 1; }; sleep 0.1
  done
}

# start_node NAME EXTRA_ARGS...: sets NAME_PUB, NAME_PRIV, NAME_PID
start_node() {
  name=$1; shift
  pub=$(free_port); priv=$(free_port)
  "$HERALD" --listen 127.0.0.1:$pub --private-listen 127.0.0.1:$priv --workers 2 --token $TOKEN \
    "$@" >/dev/null 2>&1 &
  pid=$!; PIDS="$PIDS $pid"
  wait_port $pub; wait_port $priv
  # A port taken between free_port and the bind would leave another
  # process answering there: make sure ours is the one that runs.
  kill -0 $pid 2>/dev/null || { echo "herald $name exited at start" >&2; exit 1; }
  eval "${name}_PUB=$pub ${name}_PRIV=$priv ${name}_PID=$pid"
}

stop_all() { cleanup; PIDS=""; }

run() {  # label pub sub pids redis_pid batch conns
  sub=127.0.0.1:$3; [ "$3" = none ] && sub=none
  "$BENCH" publish-rate --label "$1" --pub 127.0.0.1:$2 --sub $sub --token $TOKEN \
    --server-pid "$4" ${5:+--redis-pid $5} --batch $6 --pub-conns $7 --events $EVENTS --duration 30 |
    head -1
}

redis_calls() {  # total calls of evalsha/publish/xadd so far
  redis-cli -p $REDIS_PORT INFO commandstats | tr -d '\r' |
    awk -F'[=,:]' '/^cmdstat_(evalsha|publish|xadd|zadd|incrby|incr)/ {printf "%s=%s ", $1, $3}'
  echo
}

echo "== memory store, one node"
start_node A
run "memory single" $A_PRIV $A_PUB $A_PID "" 1 8
run "memory batch 100" $A_PRIV $A_PUB $A_PID "" 100 4
run "memory batch 100, no subscriber" $A_PRIV none $A_PID "" 100 4
stop_all

REDIS_PORT=$(free_port)
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --loglevel warning >/dev/null &
REDIS_PID=$!
wait_port $REDIS_PORT
URL=redis://127.0.0.1:$REDIS_PORT/0

echo "== redis store, one node"
start_node A --store redis --redis $URL --node-id 1
run "redis 1 node single" $A_PRIV $A_PUB $A_PID $REDIS_PID 1 8
redis_calls
run "redis 1 node batch 100" $A_PRIV $A_PUB $A_PID $REDIS_PID 100 4
redis_calls
kill $A_PID; wait $A_PID 2>/dev/null || true

echo "== redis store, three nodes (publish on A, subscriber on B)"
start_node A --store redis --redis $URL --node-id 1
start_node B --store redis --redis $URL --node-id 2
start_node C --store redis --redis $URL --node-id 3
run "redis 3 nodes single" $A_PRIV $B_PUB "$A_PID,$B_PID,$C_PID" $REDIS_PID 1 8
redis_calls
run "redis 3 nodes batch 100" $A_PRIV $B_PUB "$A_PID,$B_PID,$C_PID" $REDIS_PID 100 4
redis_calls
kill $REDIS_PID
