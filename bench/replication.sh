#!/usr/bin/env bash
# Replicated tricache (three nodes, Raft) against Redis (a primary with two
# `replicaof` replicas) on this machine, in one run; then failover trials.
# A benchmark, not a test: it fails only when something does not run.
#
#   bench/replication.sh [--requests N] [--trials N] [--tricache PATH] [--out FILE]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REQUESTS=200000
TRIALS=10
TRICACHE=$ROOT/build/tricache
OUT=""

usage() { echo "usage: bench/replication.sh [--requests N] [--trials N] [--tricache PATH] [--out FILE]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --requests) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || usage; REQUESTS=$2; shift 2 ;;
        --trials) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || usage; TRIALS=$2; shift 2 ;;
        --tricache) [ $# -ge 2 ] || usage; TRICACHE=$2; shift 2 ;;
        --out) [ $# -ge 2 ] || usage; OUT=$2; shift 2 ;;
        *) usage ;;
    esac
done
[ -x "$TRICACHE" ] || { echo "bench: no tricache at $TRICACHE (build it first)" >&2; exit 1; }
PY=/usr/bin/python3

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    # our redis pids, and whatever node pids the pid files name now (the
    # failover trials restart nodes)
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for f in "$TMP"/node-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
log() { echo "[bench] $*" >&2; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() {
    local port=$1 deadline=$((SECONDS + 15))
    until [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ]; do
        [ $SECONDS -lt $deadline ] || { echo "bench: port $port does not answer" >&2; exit 1; }
        sleep 0.05
    done
}

# --- tricache: three nodes ---------------------------------------------------
TP=(); { echo "cluster_name = \"bench\""; echo "data_dir = \"$TMP/data\""; } > "$TMP/cluster.toml"
for id in 1 2 3; do
    TP[$id]=$(free_port)
    printf '[[node]]\nid = %d\nzone = "zone-%d"\nclient_addr = "127.0.0.1:%d"\nraft_addr = "127.0.0.1:%d"\n' \
        "$id" "$id" "${TP[$id]}" "$(free_port)" >> "$TMP/cluster.toml"
done
for id in 1 2 3; do
    "$TRICACHE" --config "$TMP/cluster.toml" --node "$id" >> "$TMP/node-$id.log" 2>&1 &
    echo $! > "$TMP/node-$id.pid"
done
for id in 1 2 3; do wait_ping "${TP[$id]}"; done
tprimary() {
    local deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ]; do
        for id in 1 2 3; do
            redis-cli -p "${TP[$id]}" INFO replication 2>/dev/null | grep -q '^role:master' && { echo "${TP[$id]}"; return; }
        done
        sleep 0.05
    done
    echo "bench: no tricache primary" >&2; exit 1
}

# --- redis: a primary and two replicas ----------------------------------------
RP=$(free_port); RR1=$(free_port); RR2=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" > "$TMP/redis-p.log" 2>&1 &
PIDS+=($!)
for port in $RR1 $RR2; do
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
        --replicaof 127.0.0.1 "$RP" > "$TMP/redis-$port.log" 2>&1 &
    PIDS+=($!)
done
for port in $RP $RR1 $RR2; do wait_ping "$port"; done
until redis-cli -p "$RP" INFO replication | grep -q '^connected_slaves:2'; do sleep 0.05; done

rps() { # rps PORT PIPELINE TEST -> "rps p50 p99"
    redis-benchmark -h 127.0.0.1 -p "$1" -t "$3" -n "$REQUESTS" -c 50 -r 100000 -d 64 -P "$2" --csv 2>/dev/null |
        tr -d '"' | awk -F, 'NR > 1 { print $2, $5, $7 }'
}

TPRI=$(tprimary)
TREP=${TP[1]}; [ "$TREP" = "$TPRI" ] && TREP=${TP[2]}
log "loading keys"
rps "$TPRI" 16 set > /dev/null
rps "$RP" 16 set > /dev/null
row() { # row LABEL T_RESULT R_RESULT
    read -r tr tp50 tp99 <<< "$2"; read -r rr rp50 rp99 <<< "$3"
    printf '| %s | %.0f | %.0f | %.2f | %s / %s | %s / %s |\n' "$1" "$rr" "$tr" "$(echo "$tr / $rr" | bc -l)" \
        "$rp50" "$rp99" "$tp50" "$tp99"
}
{
    echo "## Replication: tricache (3 nodes, Raft, majority-acknowledged writes) vs Redis (primary + 2 replicas, asynchronous)"
    echo
    echo "Command: \`redis-benchmark -t set|get -n $REQUESTS -c 50 -r 100000 -d 64 -P 1|16\`; one run, same machine."
    echo
    echo "| test | redis req/s | tricache req/s | tricache/redis | redis p50/p99 ms | tricache p50/p99 ms |"
    echo "|---|---:|---:|---:|---|---|"
    for p in 1 16; do
        log "GET on a replica, -P $p"
        row "GET on a replica, -P $p" "$(rps "$TREP" "$p" get)" "$(rps "$RR1" "$p" get)"
    done
    for p in 1 16; do
        log "SET on the primary, -P $p"
        row "SET on the primary, -P $p" "$(rps "$TPRI" "$p" set)" "$(rps "$RP" "$p" set)"
    done
    echo
    echo "### Failover (kill -9 of the primary while a client writes; $TRIALS trials)"
    echo
    log "failover trials"
    $PY "$ROOT/bench/failover_trials.py" "$TMP/cluster.toml" "$TRICACHE" "$TRIALS" "$TMP"
} | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
