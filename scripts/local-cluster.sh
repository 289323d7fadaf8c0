#!/usr/bin/env bash
# A local cluster on loopback from cluster.toml.example (or --config FILE).
#   scripts/local-cluster.sh start    install dependencies, build, start the nodes
#   scripts/local-cluster.sh stop     stop the nodes this script started
#   scripts/local-cluster.sh status   show which nodes run
# Nodes run in the background; logs and pid files go to <data_dir>/node-<id>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() { echo "usage: scripts/local-cluster.sh start|stop|status [--config FILE]" >&2; exit 2; }
[ $# -ge 1 ] || usage
cmd=$1; shift
config=cluster.toml.example
while [ $# -gt 0 ]; do
  case "$1" in
    --config) [ $# -ge 2 ] || usage; config=$2; shift 2 ;;
    *) usage ;;
  esac
done
[ -f "$config" ] || { echo "local-cluster: no such config file: $config" >&2; exit 1; }

# The data_dir and client ports come from the config itself.
data_dir=$(sed -nE 's/^data_dir *= *"([^"]*)".*/\1/p' "$config" | head -n 1)
data_dir=${data_dir:-./data}
# every [[node]] id listed in the config
mapfile -t nodes < <(awk '/^\[\[node\]\]/{n=1} n && /^id *=/{print $3; n=0}' "$config")
[ ${#nodes[@]} -gt 0 ] || { echo "local-cluster: no [[node]] in $config" >&2; exit 1; }

port_of() { # the client port of node $1
  awk -v id="$1" '/^\[\[node\]\]/{n=0} /^id *=/{n=($3==id)} n && /^client_addr/{gsub(/"/,"",$3); split($3,a,":"); print a[2]; exit}' "$config"
}
pidfile() { echo "$data_dir/node-$1/tricache.pid"; }
running() { local f; f=$(pidfile "$1"); [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

start() {
  scripts/install-deps.sh
  scripts/build.sh release >/dev/null
  build/tricache --config "$config" --check >/dev/null
  for id in "${nodes[@]}"; do
    if running "$id"; then echo "node $id already running (pid $(cat "$(pidfile "$id")"))"; continue; fi
    mkdir -p "$data_dir/node-$id"
    nohup "$root/build/tricache" --config "$config" --node "$id" >>"$data_dir/node-$id/tricache.log" 2>&1 &
    echo $! >"$(pidfile "$id")"
  done
  for id in "${nodes[@]}"; do
    local port deadline
    port=$(port_of "$id")
    deadline=$((SECONDS + 15))
    until [ "$(redis-cli -p "$port" PING 2>/dev/null)" = "PONG" ]; do
      if ! running "$id" || [ $SECONDS -ge $deadline ]; then
        echo "node $id did not start; its log:" >&2
        tail -n 20 "$data_dir/node-$id/tricache.log" >&2
        exit 1
      fi
      sleep 0.1
    done
    echo "node $id is up on 127.0.0.1:$port (log: $data_dir/node-$id/tricache.log)"
  done
  # With several nodes, wait for the election and say who is primary.
  local primary="" deadline=$((SECONDS + 15))
  while [ -z "$primary" ] && [ $SECONDS -lt $deadline ]; do
    for id in "${nodes[@]}"; do
      if redis-cli -p "$(port_of "$id")" INFO replication 2>/dev/null | grep -q "^role:master"; then primary=$id; fi
    done
    [ -n "$primary" ] || sleep 0.1
  done
  echo
  if [ -n "$primary" ]; then
    echo "Primary: node $primary. Connect with:  redis-cli -p $(port_of "$primary")"
    [ ${#nodes[@]} -gt 1 ] && echo "Replicas serve reads; writes sent to them answer -READONLY."
  else
    echo "No primary elected yet; see the logs. Connect with:  redis-cli -p $(port_of "${nodes[0]}")"
  fi
  echo "Stop with:     scripts/local-cluster.sh stop"
}

stop() {
  for id in "${nodes[@]}"; do
    if running "$id"; then
      local pid; pid=$(cat "$(pidfile "$id")")
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "node $id stopped"
    fi
    rm -f "$(pidfile "$id")"
  done
}

status() {
  for id in "${nodes[@]}"; do
    if running "$id"; then echo "node $id: running (pid $(cat "$(pidfile "$id")"), port $(port_of "$id"))"
    else echo "node $id: stopped"; fi
  done
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
