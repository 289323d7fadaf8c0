#!/usr/bin/env bash
# bench/stall.sh: the Raft thread (issue 19), before and after, against Redis.
# Three systems on this machine, one after the other in one run: Redis (a
# primary with two replicaof replicas), tricache built before the Raft
# thread (--before, optional) and tricache now (--tricache). For each:
#   1. replicated SET on the primary and GET on a replica, redis-benchmark
#      -c 50 at -P 1 and -P 16 (median of --rounds);
#   2. a slow command: --keys keys made with DEBUG POPULATE, then KEYS * on
#      the primary while redis-benchmark sends SETs (-c 10 -P 1): how long
#      KEYS took, the SETs' p50/p99/max, and for tricache the primary's term
#      before and after (an election moves it).
# A benchmark, not a test: it prints numbers and never passes or fails on them.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/stall.sh
READY_TIMEOUT=30
TRICACHE=build/tricache
BEFORE=""
OUT=""
ROUNDS=3
REQUESTS=200000
KEYS=2000000

usage() {
    cat << EOF
usage: bench/stall.sh [--rounds N] [--requests N] [--keys N] [--before PATH] [--tricache PATH] [--out FILE]

  --rounds N       rounds of each throughput run (default 3)
  --requests N     requests per throughput run (default 200000)
  --keys N         keys KEYS * walks (default 2000000)
  --before PATH    a tricache binary from before the Raft thread, measured too
  --tricache PATH  tricache binary (default <repo>/build/tricache)
  --out FILE       also write the report to FILE
EOF
}

# shellcheck source=bench/lib.sh
. bench/lib.sh

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --rounds | --requests | --keys | --before | --tricache | --out)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case "$1" in
                --rounds) is_positive_int "$2" || usage_error "--rounds must be a positive integer"; ROUNDS=$2 ;;
                --requests) is_positive_int "$2" || usage_error "--requests must be a positive integer"; REQUESTS=$2 ;;
                --keys) is_positive_int "$2" || usage_error "--keys must be a positive integer"; KEYS=$2 ;;
                --before) BEFORE=$2; [ -x "$BEFORE" ] || usage_error "--before $BEFORE is not an executable" ;;
                --tricache) TRICACHE=$2 ;;
                --out) OUT=$2 ;;
            esac
            shift 2 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done
require_tools redis-cli redis-benchmark redis-server python3
require_tricache
check_out_file

WORK=$(mktemp -d /tmp/tricache-bench-stall.XXXXXX)
PIDS=()
stop_all() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
    PIDS=()
}
cleanup() {
    stop_all
    rm -rf "$WORK"
}
trap cleanup EXIT

median() {
    printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# rps PORT TEST PIPELINE: median requests/s over the rounds
rps() {
    local port=$1 test=$2 pipe=$3 r vals=()
    for ((r = 0; r < ROUNDS; r++)); do
        vals+=("$(redis-benchmark -h 127.0.0.1 -p "$port" -t "$test" -c 50 -P "$pipe" -n "$REQUESTS" -r 100000 -d 64 --csv \
            2> /dev/null | awk -F'","' 'NR == 2 {print $2}')")
    done
    median "${vals[@]}"
}

term_of() { cli "$1" INFO replication | sed -n 's/^raft_term://p'; }

wait_dbsize() { # wait_dbsize PORT N
    local deadline=$(($(date +%s) + 600))
    while [ "$(cli "$1" DBSIZE)" != "$2" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "port $1 never reached DBSIZE $2"
        sleep 0.2
    done
}

# measure NAME PRIMARY_PORT REPLICA_PORT [PORT...]: appends a row to each
# table; the PORTs are the nodes that must hold the populated keys too
THROUGHPUT=()
STALL=()
measure() {
    local name=$1 p=$2 r=$3 port
    shift 3
    log "$name: throughput"
    local s1 s16 g1 g16
    s1=$(rps "$p" set 1)
    s16=$(rps "$p" set 16)
    g1=$(rps "$r" get 1)
    g16=$(rps "$r" get 16)
    THROUGHPUT+=("$name|$s1|$s16|$g1|$g16")
    log "$name: DEBUG POPULATE $KEYS, then KEYS * under a SET load"
    cli "$p" FLUSHALL > /dev/null
    cli "$p" DEBUG POPULATE "$KEYS" > /dev/null
    # tricache replicates DEBUG POPULATE through the log (every node applies
    # it); Redis does not propagate it, so only its primary has the keys
    for port in "$p" "$@"; do wait_dbsize "$port" "$KEYS"; done
    local t0 t1 keys_ms csv
    t0=$(term_of "$p")
    redis-benchmark -h 127.0.0.1 -p "$p" -t set -c 10 -P 1 -n 400000 -r 1000000 -d 64 --csv > "$WORK/load.csv" 2> "$WORK/load.err" &
    local load=$!
    sleep 0.5 # the load is running before KEYS starts (not a test: nothing waits on it)
    keys_ms=$(python3 - "$p" << 'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
start = time.monotonic()
s.sendall(b"KEYS *\r\n")
buf = b""
while b"\r\n" not in buf:
    buf += s.recv(65536)
want = int(buf[1:buf.index(b"\r\n")])
# the reply is the count's line then want bulk strings, two lines each
# (the populated keys hold no newline): count line ends to the last one
got = buf.count(b"\n") - 1
while got < 2 * want:
    chunk = s.recv(1 << 20)
    if not chunk:
        break
    got += chunk.count(b"\n")
print(round((time.monotonic() - start) * 1000))
PY
)
    wait "$load" || true
    # redis-benchmark --csv: "test","rps","avg","min","p50","p95","p99","max" (ms)
    csv=$(awk -F',' 'NR == 2 {for (i = 1; i <= NF; i++) gsub(/"/, "", $i); print $5 "|" $7 "|" $8}' "$WORK/load.csv")
    # redis-benchmark stops at the first error reply (an election's -TRYAGAIN)
    [ -n "$csv" ] || csv="stopped: $(grep -m1 -o 'Error.*' "$WORK/load.err" | tr -d '|' | cut -c1-80)||"
    t1=$(term_of "$p")
    STALL+=("$name|$keys_ms|$csv|${t0:+$t0 -> $t1}")
}

run_tricache() { # run_tricache NAME BINARY
    local saved=$TRICACHE
    TRICACHE=$2
    start_three_nodes "$WORK" bench-stall
    local p=$PRIMARY r=$(((PRIMARY + 1) % 3)) o=$(((PRIMARY + 2) % 3))
    measure "$1" "${PORTS[$p]}" "${PORTS[$r]}" "${PORTS[$r]}" "${PORTS[$o]}"
    stop_all
    TRICACHE=$saved
}

run_redis() {
    local ports i
    read -r -a ports <<< "$(free_ports 3)"
    for i in 0 1 2; do
        mkdir -p "$WORK/redis-$i"
        local extra=()
        [ "$i" = 0 ] || extra=(--replicaof 127.0.0.1 "${ports[0]}")
        redis-server --port "${ports[i]}" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
            --dir "$WORK/redis-$i" --enable-debug-command local "${extra[@]}" > "$WORK/redis-$i.log" 2>&1 &
        PIDS+=($!)
    done
    for i in 0 1 2; do wait_ready "redis-server $i" "${PIDS[i]}" "${ports[i]}" "$WORK/redis-$i.log"; done
    measure "Redis (async replicas)" "${ports[0]}" "${ports[1]}"
    stop_all
}

run_redis
[ -z "$BEFORE" ] || run_tricache "tricache before" "$BEFORE"
run_tricache "tricache" "$TRICACHE"

{
    echo "## Slow commands and the Raft thread"
    echo
    echo "$(machine_line)"
    echo
    echo "Throughput: redis-benchmark -c 50 -n $REQUESTS -r 100000 -d 64, median of $ROUNDS; SET on the primary, GET on a replica; ratio to Redis in brackets."
    echo
    echo "| system | SET -P 1 | SET -P 16 | GET -P 1 | GET -P 16 |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    IFS='|' read -r _ rs1 rs16 rg1 rg16 <<< "${THROUGHPUT[0]}"
    for row in "${THROUGHPUT[@]}"; do
        IFS='|' read -r name s1 s16 g1 g16 <<< "$row"
        printf '| %s | %s (%s) | %s (%s) | %s (%s) | %s (%s) |\n' "$name" \
            "$s1" "$(awk -v a="$s1" -v b="$rs1" 'BEGIN {printf "%.2f", a / b}')" \
            "$s16" "$(awk -v a="$s16" -v b="$rs16" 'BEGIN {printf "%.2f", a / b}')" \
            "$g1" "$(awk -v a="$g1" -v b="$rg1" 'BEGIN {printf "%.2f", a / b}')" \
            "$g16" "$(awk -v a="$g16" -v b="$rg16" 'BEGIN {printf "%.2f", a / b}')"
    done
    echo
    echo "KEYS * over $KEYS keys on the primary while redis-benchmark -t set -c 10 -P 1 runs (its latency over the whole run, ms):"
    echo
    echo "| system | KEYS * took (ms) | SET p50 | SET p99 | SET max | primary's term |"
    echo "| --- | ---: | ---: | ---: | ---: | --- |"
    for row in "${STALL[@]}"; do
        IFS='|' read -r name k p50 p99 max term <<< "$row"
        echo "| $name | $k | $p50 | $p99 | $max | ${term:--} |"
    done
} | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
