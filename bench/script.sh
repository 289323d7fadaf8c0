#!/usr/bin/env bash
# bench/script.sh: a small script (one GET, one INCR) called with EVALSHA,
# and the same as a Redis 7 function called with FCALL, through
# redis-benchmark at -P 1 and -P 16 (-c 50): tricache on one node against
# redis-server, then a three-node tricache cluster (on its primary) against a
# Redis primary with two replicaof replicas, in one run on this machine.
# Each round measures every (setup, command, pipeline) for both systems,
# odd rounds Redis first; medians over the rounds, and tricache / Redis.
# A benchmark, not a test: it prints numbers and never passes or fails on
# them. Report on stdout (--out FILE); progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/script.sh
READY_TIMEOUT=30
TRICACHE=build/tricache
OUT=""
ROUNDS=3
REQUESTS=100000

usage() {
    cat << EOF
usage: bench/script.sh [--rounds N] [--requests N] [--tricache PATH] [--out FILE]

  --rounds N       rounds (default 3; medians reported)
  --requests N     calls per redis-benchmark run (-c 50; default 100000)
  --tricache PATH  tricache binary (default <repo>/build/tricache; use a Release build)
  --out FILE       also write the report to FILE
EOF
}

# shellcheck source=bench/lib.sh
. bench/lib.sh

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --rounds | --requests | --tricache | --out)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case "$1" in
                --rounds) is_positive_int "$2" || usage_error "--rounds must be a positive integer"; ROUNDS=$2 ;;
                --requests) is_positive_int "$2" || usage_error "--requests must be a positive integer"; REQUESTS=$2 ;;
                --tricache) TRICACHE=$2 ;;
                --out) OUT=$2 ;;
            esac
            shift 2 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done
require_tools redis-server redis-cli redis-benchmark python3
require_tricache
check_out_file

WORK=$(mktemp -d /tmp/tricache-bench-script.XXXXXX)
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

BODY="redis.call('get', KEYS[1]) return redis.call('incr', KEYS[1])"
LIBRARY="#!lua name=benchlib
redis.register_function('getincr', function(keys) redis.call('get', keys[1]) return redis.call('incr', keys[1]) end)"

# prepare PORT: the script cached and the library loaded (on a cluster's
# primary both go through the log, so every node has them)
prepare() {
    local sha
    sha=$(cli "$1" SCRIPT LOAD "$BODY")
    [ ${#sha} -eq 40 ] || die "SCRIPT LOAD on port $1 answered '$sha'"
    SHA=$sha
    [ "$(cli "$1" FUNCTION LOAD REPLACE "$LIBRARY")" = benchlib ] || die "FUNCTION LOAD on port $1 failed"
}

# rps PORT PIPELINE CMD...: calls/s of one redis-benchmark run
rps() {
    local port=$1 pipe=$2
    shift 2
    redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -P "$pipe" -n "$REQUESTS" --csv "$@" 2> /dev/null |
        awk -F'","' 'NR == 2 {print $2}'
}

# measure SETUP SYSTEM PORT: both commands at both pipelines; rows.csv gets
# "SETUP SYSTEM COMMAND PIPELINE calls/s"
measure() {
    local setup=$1 sys=$2 port=$3 pipe v
    for pipe in 1 16; do
        v=$(rps "$port" "$pipe" EVALSHA "$SHA" 1 counter)
        echo "$setup $sys evalsha $pipe $v" >> "$WORK/rows.csv"
        v=$(rps "$port" "$pipe" FCALL getincr 1 counter)
        echo "$setup $sys fcall $pipe $v" >> "$WORK/rows.csv"
        log "$setup $sys -P $pipe: EVALSHA $(tail -n 2 "$WORK/rows.csv" | head -n 1 | cut -d' ' -f5)/s, FCALL $v/s"
    done
}

# ---- one node ----
read -r -a OPORTS <<< "$(free_ports 3)"
redis-server --port "${OPORTS[0]}" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" > "$WORK/redis1.log" 2>&1 &
PIDS+=($!)
wait_ready "redis-server" "${PIDS[-1]}" "${OPORTS[0]}" "$WORK/redis1.log"
mkdir -p "$WORK/one/data"
cat > "$WORK/one/cluster.toml" << EOF
cluster_name = "bench-script"
data_dir = "$WORK/one/data"
[[node]]
id = 1
zone = "zone-a"
client_addr = "127.0.0.1:${OPORTS[1]}"
raft_addr = "127.0.0.1:${OPORTS[2]}"
EOF
"$TRICACHE" --config "$WORK/one/cluster.toml" --node 1 > "$WORK/one/tricache.log" 2>&1 &
PIDS+=($!)
wait_ready tricache "${PIDS[-1]}" "${OPORTS[1]}" "$WORK/one/tricache.log"
prepare "${OPORTS[0]}"
prepare "${OPORTS[1]}"
for round in $(seq 1 "$ROUNDS"); do
    log "one node, round $round"
    if [ $((round % 2)) -eq 1 ]; then
        measure one redis "${OPORTS[0]}"
        measure one tricache "${OPORTS[1]}"
    else
        measure one tricache "${OPORTS[1]}"
        measure one redis "${OPORTS[0]}"
    fi
done
# the two one-node servers stop before the three-node run
for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
PIDS=()

# ---- three nodes ----
read -r -a RPORTS <<< "$(free_ports 3)"
for i in 0 1 2; do
    args=(--port "${RPORTS[$i]}" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK")
    [ "$i" -gt 0 ] && args+=(--replicaof 127.0.0.1 "${RPORTS[0]}")
    redis-server "${args[@]}" > "$WORK/redis-r$i.log" 2>&1 &
    PIDS+=($!)
done
REDIS_PIDS=("${PIDS[@]}")
for i in 0 1 2; do wait_ready "redis-server $i" "${REDIS_PIDS[$i]}" "${RPORTS[$i]}" "$WORK/redis-r$i.log"; done
for i in 1 2; do
    deadline=$(($(date +%s) + 30))
    until cli "${RPORTS[$i]}" INFO replication | grep -q '^master_link_status:up'; do
        [ "$(date +%s)" -lt "$deadline" ] || die "Redis replica $i never linked to its primary"
        sleep 0.1
    done
done
mkdir -p "$WORK/tc"
start_three_nodes "$WORK/tc" bench-script
TPRIMARY=${PORTS[$PRIMARY]}
prepare "${RPORTS[0]}"
prepare "$TPRIMARY"
term0=$(cli "$TPRIMARY" INFO replication | sed -n 's/^raft_term://p')
for round in $(seq 1 "$ROUNDS"); do
    log "three nodes, round $round"
    if [ $((round % 2)) -eq 1 ]; then
        measure three redis "${RPORTS[0]}"
        measure three tricache "$TPRIMARY"
    else
        measure three tricache "$TPRIMARY"
        measure three redis "${RPORTS[0]}"
    fi
done
term1=$(cli "$TPRIMARY" INFO replication | sed -n 's/^raft_term://p')
# the counter is the same on every tricache node (every call's INCR applied everywhere)
deadline=$(($(date +%s) + 30))
while true; do
    counts=""
    for i in 0 1 2; do counts="$counts $(cli "${PORTS[$i]}" GET counter)"; done
    read -r c1 c2 c3 <<< "$counts"
    { [ "$c1" = "$c2" ] && [ "$c2" = "$c3" ]; } || [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.1
done

col() { awk -v a="$1" -v s="$2" -v c="$3" -v p="$4" '$1 == a && $2 == s && $3 == c && $4 == p {print $5}' "$WORK/rows.csv"; }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2f' % (a / b) if b else 'n/a')" "$1" "$2"; }
{
    echo "## Scripts: EVALSHA and FCALL of one GET + one INCR, tricache vs redis-server"
    echo
    echo "$(machine_line)"
    echo
    echo "Medians of $ROUNDS round(s) of redis-benchmark -c 50 -n $REQUESTS (calls/s): EVALSHA <sha> 1 counter and FCALL getincr 1 counter."
    echo "One node: tricache alone against redis-server alone. Three nodes: the tricache cluster's primary against a Redis"
    echo "primary with two replicaof replicas (writing scripts on a cluster wait for the log to drain, then the ones that"
    echo "arrived together run back to back and share one log entry: see README, Scripting)."
    echo
    echo "| setup | command | pipeline | Redis | tricache | tricache / Redis |"
    echo "| --- | --- | ---: | ---: | ---: | ---: |"
    for setup in one three; do
        for cmd in evalsha fcall; do
            for pipe in 1 16; do
                # shellcheck disable=SC2046
                r=$(median $(col $setup redis $cmd $pipe)); t=$(median $(col $setup tricache $cmd $pipe))
                echo "| $setup | $cmd | $pipe | $r | $t | $(ratio "$t" "$r") |"
            done
        done
    done
    echo
    echo "tricache's Raft term: $term0 before the three-node runs, $term1 after; counter on its three nodes:$counts."
    echo
    echo "Every run (setup, system, command, pipeline, calls/s):"
    echo
    echo '```'
    cat "$WORK/rows.csv"
    echo '```'
} | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
