#!/usr/bin/env bash
# bench/bullmq.sh: BullMQ jobs processed per second, tricache against
# redis-server in the same run, with the same producers and workers
# (tests/bullmq/jobs.mjs bench: --jobs plain jobs are added first, then
# --workers BullMQ Workers of --concurrency each are started, and the time
# until every job is completed gives jobs per second).
#
# Four setups, all on 127.0.0.1, all started once and used in turn in each
# round (so a slow moment of the machine hits each setup alike):
#   redis-1     one redis-server (persistence off)
#   tricache-1  one tricache node
#   redis-3     redis-server primary with two `replicaof` replicas (the
#               workers talk to the primary; replication is asynchronous)
#   tricache-3  three tricache nodes (the workers talk to the primary; every
#               write, hence every BullMQ script, is committed by a majority)
# The report (markdown, medians of the rounds and every round) goes to stdout
# and to --out FILE; progress to stderr. A benchmark, not a test: it never
# passes or fails on the numbers.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
BENCH_NAME=bench/bullmq.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

ROUNDS=3
JOBS=5000
WORKERS=4
CONCURRENCY=8
TRICACHE="$REPO_ROOT/build-o3/tricache"
OUT=""
READY_TIMEOUT=10
STOP_TIMEOUT=10
JOBS_SCRIPT="$REPO_ROOT/tests/bullmq/jobs.mjs"
SETUPS=(redis-1 tricache-1 redis-3 tricache-3)

TMP=""
PIDS=()

usage() {
    cat << EOF
usage: bench/bullmq.sh [--rounds N] [--jobs N] [--workers N] [--concurrency N] [--tricache PATH] [--out FILE]

BullMQ jobs per second against redis-server and tricache (one node each, and
three nodes each) on 127.0.0.1; markdown report on stdout.

  --rounds N       rounds (default 3); the report gives medians
  --jobs N         jobs per run (default 5000)
  --workers N      BullMQ Worker instances (default 4)
  --concurrency N  concurrency of each Worker (default 8)
  --tricache PATH  tricache binary (default <repo>/build-o3/tricache)
  --out FILE       also write the report to FILE
  -h, --help       show this help
EOF
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --rounds | --jobs | --workers | --concurrency | --tricache | --out)
                [ $# -ge 2 ] || usage_error "$1 needs a value"
                case $1 in
                    --rounds | --jobs | --workers | --concurrency)
                        is_positive_int "$2" || usage_error "$1 must be a positive integer, got '$2'" ;;
                esac
                case $1 in
                    --rounds) ROUNDS=$2 ;;
                    --jobs) JOBS=$2 ;;
                    --workers) WORKERS=$2 ;;
                    --concurrency) CONCURRENCY=$2 ;;
                    --tricache) TRICACHE=$2 ;;
                    --out) OUT=$2 ;;
                esac
                shift 2
                ;;
            -h | --help)
                usage
                exit 0
                ;;
            *) usage_error "unknown argument '$1'" ;;
        esac
    done
}

# Stops exactly the processes this script started, then removes the temp dir.
cleanup() {
    local status=$? pid deadline
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
    deadline=$(($(date +%s) + STOP_TIMEOUT))
    for pid in "${PIDS[@]}"; do
        while kill -0 "$pid" 2> /dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
        kill -KILL "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    [ -z "$TMP" ] || rm -rf -- "$TMP"
    exit "$status"
}

start_redis() {
    local name=$1 port=$2 master=${3:-}
    local extra=()
    [ -z "$master" ] || extra=(--replicaof 127.0.0.1 "$master")
    mkdir -p "$TMP/$name"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$TMP/$name" "${extra[@]}" > "$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    wait_ready "$name" "$!" "$port" "$TMP/$name.log"
}

# Sets PORT_<setup> to the port the workers talk to.
start_servers() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/tricache-bullmq-bench.XXXXXX")
    local p
    read -r -a p <<< "$(free_ports 6)"
    start_redis redis-1 "${p[0]}"
    PORT_redis_1=${p[0]}
    start_redis redis-3-primary "${p[1]}"
    start_redis redis-3-replica-1 "${p[2]}" "${p[1]}"
    start_redis redis-3-replica-2 "${p[3]}" "${p[1]}"
    PORT_redis_3=${p[1]}
    local deadline=$(($(date +%s) + READY_TIMEOUT))
    until [ "$(cli "${p[1]}" INFO replication | grep -c '^slave[0-9]*:.*state=online')" = 2 ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "redis replicas did not come online"
        sleep 0.05
    done

    mkdir -p "$TMP/one/data"
    cat > "$TMP/one/cluster.toml" << EOF
cluster_name = "bench"
data_dir = "$TMP/one/data"
[[node]]
id = 1
zone = "zone-a"
client_addr = "127.0.0.1:${p[4]}"
raft_addr = "127.0.0.1:${p[5]}"
EOF
    "$TRICACHE" --config "$TMP/one/cluster.toml" --node 1 > "$TMP/one/node.log" 2>&1 &
    PIDS+=($!)
    wait_ready tricache-1 "$!" "${p[4]}" "$TMP/one/node.log"
    PORT_tricache_1=${p[4]}

    mkdir -p "$TMP/three"
    start_three_nodes "$TMP/three" bench
    PORT_tricache_3=${PORTS[$PRIMARY]}
}

port_of() {
    local v="PORT_${1//-/_}"
    echo "${!v}"
}

# run_one SETUP ROUND: one jobs.mjs bench run; prints jobs per second.
run_one() {
    local setup=$1 round=$2 port out
    port=$(port_of "$setup")
    out=$(timeout 600 node "$JOBS_SCRIPT" bench --server "127.0.0.1:$port" --jobs "$JOBS" \
        --workers "$WORKERS" --concurrency "$CONCURRENCY" --queue "bench$round" --deadline 500000 2> "$TMP/client.err") ||
        die "jobs.mjs against $setup failed: $out $(tail -n 5 "$TMP/client.err")"
    awk '$1 == "jobs_per_sec" {print $2}' <<< "$out"
}

median() {
    sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

main() {
    parse_args "$@"
    require_tools redis-server redis-cli node python3 timeout
    require_tricache
    check_out_file
    [ -f "$REPO_ROOT/tests/bullmq/node_modules/bullmq/package.json" ] ||
        die "BullMQ is not installed: run scripts/install-deps.sh (npm ci in tests/bullmq)"
    trap cleanup EXIT INT TERM
    start_servers
    declare -A got
    local r s v
    for r in $(seq 1 "$ROUNDS"); do
        for s in "${SETUPS[@]}"; do
            log "round $r/$ROUNDS: $s"
            v=$(run_one "$s" "$r")
            got[$s]="${got[$s]:-} $v"
            log "  $v jobs/s"
        done
    done
    declare -A med
    for s in "${SETUPS[@]}"; do med[$s]=$(tr ' ' '\n' <<< "${got[$s]}" | grep . | median); done
    local ratio1 ratio3
    ratio1=$(awk -v a="${med[tricache-1]}" -v b="${med[redis-1]}" 'BEGIN {printf "%.2f", a / b}')
    ratio3=$(awk -v a="${med[tricache-3]}" -v b="${med[redis-3]}" 'BEGIN {printf "%.2f", a / b}')
    {
        echo "#### BullMQ jobs per second (median of $ROUNDS round(s); higher is better)"
        echo
        echo "$(machine_line); BullMQ $(node -p "require('$REPO_ROOT/tests/bullmq/node_modules/bullmq/package.json').version"), Node $(node --version)."
        echo "$JOBS plain jobs added first, then $WORKERS Workers × concurrency $CONCURRENCY in one Node process until all are completed."
        echo
        echo "| setup | jobs/s (median) | rounds | tricache / Redis |"
        echo "| --- | ---: | --- | ---: |"
        echo "| redis-server, one | ${med[redis-1]} |${got[redis-1]} | |"
        echo "| tricache, one node | ${med[tricache-1]} |${got[tricache-1]} | ${ratio1}× |"
        echo "| redis-server primary + 2 replicas | ${med[redis-3]} |${got[redis-3]} | |"
        echo "| tricache, three nodes | ${med[tricache-3]} |${got[tricache-3]} | ${ratio3}× |"
    } | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
}

main "$@"
