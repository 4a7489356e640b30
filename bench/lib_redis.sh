# shellcheck shell=bash
# Several servers sharing one Redis, for the *-redis scenarios of
# bench/compare.sh (sourced after lib.sh, not run): a redis-server of the
# bench's own and three herald nodes (--store redis), or three nginx+Nchan
# servers on Nchan's Redis store. Every process is recorded in STARTED_PIDS
# and stopped by PID, like lib.sh's.
#
# The start functions set the same variables as start_herald/start_nchan,
# with lists: HERALD_SUB/HERALD_PUB/NCHAN_ADDR "a:p,b:q,c:r" (herald-bench
# spreads subscribers and publisher connections over them), HERALD_PID and
# NCHAN_PIDS every PID to sample *including redis-server's*, so server CPU per
# delivery counts Redis's CPU for both.

CLUSTER_NODES=${CLUSTER_NODES:-3}

is_redis_scenario() { [[ $1 == *-redis ]]; }

# A fresh, empty redis-server (no persistence: both servers get the same) on a
# free port; sets REDIS_PID and REDIS_PORT.
start_redis() {
  REDIS_PORT=$(free_port)
  mkdir -p "$WORK_DIR/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK_DIR/redis" --save "" \
    --appendonly no --logfile "$WORK_DIR/redis/redis.log" &
  REDIS_PID=$!
  STARTED_PIDS+=("$REDIS_PID")
  wait_port "$REDIS_PORT" || die "redis-server did not start (see $WORK_DIR/redis/redis.log)"
}

stop_redis() {
  stop_pid "$REDIS_PID"
  forget_pid "$REDIS_PID"
}

# Redis's own view of a run: its CPU (INFO cpu, main thread and children) and
# the commands it ran (INFO commandstats). Appends "LABEL key value" lines.
redis_snapshot() {
  local label=$1 out=$2
  redis-cli -p "$REDIS_PORT" INFO cpu | tr -d '\r' | grep -E '^used_cpu_(sys|user):' |
    sed "s/^/$label /; s/:/ /" >>"$out"
  redis-cli -p "$REDIS_PORT" INFO commandstats | tr -d '\r' | grep '^cmdstat_' |
    sed -E "s/^cmdstat_([^:]+):calls=([0-9]+),usec=([0-9]+).*/$label cmd_\1 \2 \3/" >>"$out"
}

# Redis + CLUSTER_NODES herald nodes, one worker each (three nodes share the
# machine's two cores with the clients).
start_herald_cluster() {
  local i sub pub subs=() pubs=() pids=()
  start_redis
  cat >"$WORK_DIR/herald.json" <<EOF
{"limits": {"max_connections": 50000, "max_connections_per_ip": 0},
 "stream": {"timeout_ms": 900000}}
EOF
  for ((i = 1; i <= CLUSTER_NODES; i++)); do
    sub=$(free_port)
    pub=$(free_port)
    "${HERALD_RUN_BIN:-$HERALD_BIN}" --listen "127.0.0.1:$sub" --private-listen "127.0.0.1:$pub" \
      --workers 1 --node-id "$i" --token "$TOKEN" --config "$WORK_DIR/herald.json" \
      --store redis --redis "redis://127.0.0.1:$REDIS_PORT/0" >>"$WORK_DIR/herald$i.log" 2>&1 &
    pids+=("$!")
    STARTED_PIDS+=("$!")
    wait_port "$sub" && wait_port "$pub" || die "herald node $i did not start (see $WORK_DIR/herald$i.log)"
    subs+=("127.0.0.1:$sub")
    pubs+=("127.0.0.1:$pub")
  done
  HERALD_NODE_PIDS=("${pids[@]}")
  HERALD_PID=$(IFS=,; echo "$REDIS_PID,${pids[*]}")
  HERALD_SUB=$(IFS=,; echo "${subs[*]}")
  HERALD_PUB=$(IFS=,; echo "${pubs[*]}")
}

stop_herald_cluster() {
  local p
  for p in "${HERALD_NODE_PIDS[@]}"; do
    stop_pid "$p"
    forget_pid "$p"
  done
  stop_redis
}

# Redis + CLUSTER_NODES nginx+Nchan servers, one worker each, all on Nchan's
# Redis store in `distributed` mode (the mode in which several Nchan servers
# share channels and messages; `backup` allows one server per Redis, `nostore`
# keeps no history, which herald's store does keep). Nchan's other Redis
# settings are its defaults: nchan_redis_optimize_target only changes what
# replicas do (there are none here), nchan_redis_subscribe_weights only
# spreads subscriptions over replicas.
start_nchan_cluster() {
  local i j port dir master workers addrs=() pids=() masters=()
  start_redis
  for ((i = 1; i <= CLUSTER_NODES; i++)); do
    port=$(free_port)
    dir=$WORK_DIR/nchan$i
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
daemon off;
events { worker_connections 16000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream bench_redis {
    nchan_redis_server redis://127.0.0.1:$REDIS_PORT/0;
    nchan_redis_storage_mode distributed;
  }
  server {
    listen 127.0.0.1:$port backlog=4096;
    location ~ ^/sub/(.+)\$ {
      nchan_subscriber eventsource;
      nchan_channel_id \$1;
      nchan_subscriber_timeout 0;
      nchan_redis_pass bench_redis;
    }
    location = /pub {
      nchan_publisher;
      nchan_channel_id \$arg_id;
      nchan_redis_pass bench_redis;
    }
  }
}
EOF
    nginx -c "$dir/nginx.conf" -p "$dir/" >>"$dir/nginx.out" 2>&1 &
    master=$!
    masters+=("$master")
    STARTED_PIDS+=("$master")
    wait_port "$port" || die "nginx $i did not start (see $dir/error.log)"
    for j in $(seq 50); do
      workers=$(pgrep -P "$master" | paste -sd, -)
      [[ -n $workers ]] && break
      sleep 0.1
    done
    pids+=("$master${workers:+,$workers}")
    addrs+=("127.0.0.1:$port")
  done
  NCHAN_MASTER_PIDS=("${masters[@]}")
  # Nchan connects to Redis when a worker starts; give it that before the
  # first subscriber (a subscriber before the connection gets a 503).
  for j in $(seq 50); do
    (($(redis-cli -p "$REDIS_PORT" CLIENT LIST | grep -c .) > CLUSTER_NODES)) && break
    sleep 0.1
  done
  NCHAN_PIDS=$(IFS=,; echo "$REDIS_PID,${pids[*]}")
  NCHAN_ADDR=$(IFS=,; echo "${addrs[*]}")
}

stop_nchan_cluster() {
  local p
  for p in "${NCHAN_MASTER_PIDS[@]}"; do
    stop_pid "$p"
    forget_pid "$p"
  done
  stop_redis
}
