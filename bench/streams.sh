#!/usr/bin/env bash
# bench/streams.sh: streams on tricache against redis-server on this machine.
#
# A benchmark, not a test: it prints numbers and never passes or fails on
# them. Persistence off on both, everything on 127.0.0.1:
#   1. one node vs redis-server, redis-benchmark custom commands, 50
#      clients: BullMQ's event append (XADD MAXLEN ~ 10000 *), XADD * at
#      pipeline 16, XRANGE and XREVRANGE COUNT 10 on a 200,000-entry stream;
#   2. memory: MEMORY USAGE of that stream (4 strings an entry);
#   3. a three-node cluster's primary vs redis-server: the event append
#      from a script (EVAL, as BullMQ's scripts do) against a script that
#      SETs a key, which tells the stream's own cost from the script path's.
# Usage: bench/streams.sh [--rounds N] [--out FILE]. Report on stdout.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
BENCH_NAME=bench/streams.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

ROUNDS=3
TRICACHE="$REPO_ROOT/build/tricache"
OUT=""
READY_TIMEOUT=10
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) is_positive_int "${2:-}" || usage_error "--rounds needs a positive integer"; ROUNDS=$2; shift 2 ;;
        --out) OUT=${2:-}; shift 2 ;;
        --tricache) TRICACHE=${2:-}; shift 2 ;;
        *) usage_error "unknown argument $1" ;;
    esac
done
require_tools redis-server redis-cli redis-benchmark python3
require_tricache
check_out_file

WORK=$(mktemp -d /tmp/tricache-bench-streams.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

median() {
    printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# rps PORT N ARGS...: requests per second redis-benchmark reports.
rps() {
    local port=$1 n=$2
    shift 2
    redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -n "$n" -q "$@" 2> /dev/null | tr '\r' '\n' |
        awk '/requests per second/ {for (i = 1; i <= NF; i++) if ($i == "requests") print $(i - 1)}' | tail -n 1
}

# row NAME TRICACHE_PORT REDIS_PORT N ARGS...: the median of ROUNDS runs on
# each, alternating which goes first.
row() {
    local name=$1 tp=$2 rp=$3 n=$4 r t=() q=()
    shift 4
    for r in $(seq 1 "$ROUNDS"); do
        if [ $((r % 2)) -eq 1 ]; then t+=("$(rps "$tp" "$n" "$@")"); q+=("$(rps "$rp" "$n" "$@")")
        else q+=("$(rps "$rp" "$n" "$@")"); t+=("$(rps "$tp" "$n" "$@")"); fi
    done
    printf '| %s | %s | %s | %s / %s |\n' "$name" "$(median "${t[@]}")" "$(median "${q[@]}")" "${t[*]}" "${q[*]}"
}

read -r RPORT NPORT NRAFT <<< "$(free_ports 3)"
redis-server --port "$RPORT" --save "" --appendonly no --dir "$WORK" > "$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_ready redis-server "${PIDS[-1]}" "$RPORT" "$WORK/redis.log"
mkdir -p "$WORK/one"
printf 'cluster_name = "bench"\ndata_dir = "%s/one/data"\n[[node]]\nid = 1\nzone = "a"\nclient_addr = "127.0.0.1:%d"\nraft_addr = "127.0.0.1:%d"\n' \
    "$WORK" "$NPORT" "$NRAFT" > "$WORK/one/cluster.toml"
"$TRICACHE" --config "$WORK/one/cluster.toml" --node 1 > "$WORK/one/node.log" 2>&1 &
PIDS+=($!)
wait_ready tricache "${PIDS[-1]}" "$NPORT" "$WORK/one/node.log"

EVENT=(XADD bench:events MAXLEN '~' 10000 '*' event completed jobId 12345)
SCRIPT_XADD="return redis.call('XADD', KEYS[1], 'MAXLEN', '~', '10000', '*', 'event', 'completed', 'jobId', ARGV[1])"
SCRIPT_SET="return redis.call('SET', KEYS[1], ARGV[1])"
{
    echo "## Streams ($(machine_line))"
    echo
    echo "One node and redis-server, 50 clients, requests per second (median of $ROUNDS; every round after)."
    echo
    echo "| command | tricache | redis | rounds (tricache / redis) |"
    echo "| --- | --- | --- | --- |"
    log "one node"
    row "XADD MAXLEN ~ 10000 *" "$NPORT" "$RPORT" 200000 "${EVENT[@]}"
    for p in "$NPORT" "$RPORT"; do cli "$p" DEL bench:big > /dev/null; done
    row "XADD * (pipeline 16)" "$NPORT" "$RPORT" 200000 -P 16 XADD bench:big '*' event completed jobId 12345
    for p in "$NPORT" "$RPORT"; do  # the same 200,000 entries on both
        cli "$p" XTRIM bench:big MAXLEN 200000 > /dev/null
    done
    row "XRANGE - + COUNT 10" "$NPORT" "$RPORT" 100000 XRANGE bench:big - + COUNT 10
    row "XREVRANGE + - COUNT 10" "$NPORT" "$RPORT" 100000 XREVRANGE bench:big + - COUNT 10
    echo
    tm=$(cli "$NPORT" MEMORY USAGE bench:big) rm=$(cli "$RPORT" MEMORY USAGE bench:big)
    n=$(cli "$NPORT" XLEN bench:big)
    echo "Memory of a $n-entry stream (MEMORY USAGE): tricache $tm bytes ($((tm / n)) per entry), redis $rm bytes ($((rm / n)) per entry)."
    echo
    log "three nodes"
    start_three_nodes "$WORK" bench-streams
    P=${PORTS[$PRIMARY]}
    cli "$RPORT" FLUSHALL > /dev/null
    echo "A three-node cluster's primary and redis-server, scripts (EVAL), 50 clients; the stream holds 10,000 entries."
    echo
    echo "| script | tricache | redis | rounds (tricache / redis) |"
    echo "| --- | --- | --- | --- |"
    row "XADD MAXLEN ~ 10000 *" "$P" "$RPORT" 30000 EVAL "$SCRIPT_XADD" 1 bench:ev 1
    row "SET" "$P" "$RPORT" 30000 EVAL "$SCRIPT_SET" 1 bench:k 1
    echo
    echo "Digests of the three nodes: $(for i in 0 1 2; do cli "${PORTS[$i]}" DEBUG DIGEST; done | sort -u | wc -l) distinct."
} | tee "${OUT:-/dev/null}"
