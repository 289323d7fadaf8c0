#!/usr/bin/env bash
# bench/bigvalue.sh: big string values on three tricache nodes against a
# redis-server primary with two replicas (issue 18).
#
#   1. SET + GET of a value at replicated_write_max_bytes and at a quarter of
#      it, --rounds times each: tricache acknowledges a SET once a majority
#      holds it; Redis is asked SET + WAIT 2 0, so both wait for replicas.
#      Medians and maxima, the ratio tricache / Redis, and the Raft terms of
#      the three nodes before and after (any change is an election).
#   2. One value --stall-mb large built by APPENDs at the limit, then a slow
#      client that GETs it and does not read for 2 s while another client
#      runs SET + GET of a small key: how long that client waited.
#
#   bench/bigvalue.sh                        # limit 1mb, 10 rounds, 400 MB
#   bench/bigvalue.sh --rounds 5 --stall-mb 64
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
BENCH_NAME=bench/bigvalue.sh
READY_TIMEOUT=30
STOP_TIMEOUT=15
TRICACHE="$REPO_ROOT/build/tricache"
OUT=""
ROUNDS=10
STALL_MB=400
LIMIT=$((1 << 20)) # replicated_write_max_bytes's default

usage() {
    cat <<USAGE
usage: bench/bigvalue.sh [--rounds N] [--stall-mb M] [--tricache PATH]

  --rounds N      SET + GET rounds per size (default 10)
  --stall-mb M    size of the value built by APPENDs for the slow reader (default 400; 0 = skip)
  --tricache PATH the tricache binary (default <repo>/build/tricache)
USAGE
}

# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

while [ $# -gt 0 ]; do
    case $1 in
        --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
        --stall-mb) STALL_MB=${2:?--stall-mb needs a value}; shift 2 ;;
        --tricache) TRICACHE=${2:?--tricache needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done
is_positive_int "$ROUNDS" || usage_error "--rounds must be a positive integer"
[[ $STALL_MB =~ ^[0-9]+$ ]] || usage_error "--stall-mb must be a whole number of MB"
require_tools redis-server redis-cli python3 timeout
require_tricache

PIDS=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tricache-bigvalue.XXXXXX")
stop_pid() {
    local pid=$1 deadline
    kill -0 "$pid" 2> /dev/null || { wait "$pid" 2> /dev/null || true; return 0; }
    kill "$pid" 2> /dev/null || true
    deadline=$(($(date +%s) + STOP_TIMEOUT))
    while kill -0 "$pid" 2> /dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
    kill -0 "$pid" 2> /dev/null && kill -KILL "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null || true
}
cleanup() {
    local status=$? p
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    rm -rf -- "$TMP"
    exit "$status"
}
trap cleanup EXIT INT TERM

py() { python3 -B "$SCRIPT_DIR/bigvalue.py" "$@"; }

log "starting three tricache nodes"
start_three_nodes "$TMP" bigvalue
TC_PRIMARY=${PORTS[$PRIMARY]}
TERM_PORTS="${PORTS[0]},${PORTS[1]},${PORTS[2]}"

log "starting redis-server with two replicas"
read -r -a RP <<< "$(free_ports 3)"
for i in 0 1 2; do
    mkdir -p "$TMP/redis-$i"
    extra=()
    [ "$i" -eq 0 ] || extra=(--replicaof 127.0.0.1 "${RP[0]}")
    redis-server --port "${RP[$i]}" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$TMP/redis-$i" "${extra[@]}" > "$TMP/redis-$i.log" 2>&1 &
    PIDS+=($!)
    wait_ready "redis-server $i" "${PIDS[-1]}" "${RP[$i]}" "$TMP/redis-$i.log"
done
deadline=$(($(date +%s) + READY_TIMEOUT))
until [ "$(cli "${RP[0]}" INFO replication | awk -F: '$1 == "connected_slaves" {print $2}')" = 2 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "the Redis replicas did not connect"
    sleep 0.1
done

echo "# Big values: three tricache nodes vs redis-server + 2 replicas (SET + WAIT 2 0)"
echo
echo "$(machine_line)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); replicated_write_max_bytes = $LIMIT; $ROUNDS rounds per size"
echo
echo "| value | tricache SET p50 / max ms | Redis SET+WAIT p50 / max ms | ratio | tricache GET p50 ms | Redis GET p50 ms | ratio | tricache errors | elections |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
ratio() { python3 -c "import sys; a, b = float(sys.argv[1] or 0), float(sys.argv[2] or 0); print(f'{a / b:.2f}' if b else '-')" "$1" "$2"; }
for size in $((LIMIT - 16)) $((LIMIT / 4)); do
    IFS=, read -r tw tmax tr _ terr tfirst tel <<< "$(py rw --port "$TC_PRIMARY" --size "$size" --rounds "$ROUNDS" --term-ports "$TERM_PORTS")"
    IFS=, read -r rw rmax rr _ rerr _ _ <<< "$(py rw --port "${RP[0]}" --wait 2 --size "$size" --rounds "$ROUNDS")"
    [ "$rerr" = 0 ] || die "Redis failed a round at $size bytes"
    echo "| $((size / 1024)) KiB | $tw / $tmax | $rw / $rmax | $(ratio "$tw" "$rw") | $tr | $rr | $(ratio "$tr" "$rr") | $terr${tfirst:+ ($tfirst)} | $tel |"
done
echo

if [ "$STALL_MB" -gt 0 ]; then
    total=$((STALL_MB << 20))
    echo "## A ${STALL_MB} MB value read by a slow client"
    echo
    echo "| server | built in s | probe SET+GET pairs | probe p50 ms | probe max ms | slow reader drained in s |"
    echo "|---|---:|---:|---:|---:|---:|"
    IFS=, read -r b n p50 mx s <<< "$(py stall --port "$TC_PRIMARY" --piece $((LIMIT - 32)) --total "$total")"
    echo "| tricache (3 nodes) | $b | $n | $p50 | $mx | $s |"
    IFS=, read -r b n p50 mx s <<< "$(py stall --port "${RP[0]}" --wait 2 --piece $((LIMIT - 32)) --total "$total")"
    echo "| redis-server + 2 replicas | $b | $n | $p50 | $mx | $s |"
    echo
    echo "Raft terms after everything: $(for p in "${PORTS[@]:0:3}"; do cli "$p" INFO replication | awk -F: '$1 == "raft_term" {printf "%s ", $2}'; done)"
fi
