#!/usr/bin/env bash
# bench/node.sh: compare one tricache node with redis-server on this machine.
#
# A benchmark, not a test: it prints numbers and never passes or fails on
# them. Both servers run side by side on 127.0.0.1 and are measured with the
# same redis-benchmark command:
#   - throughput and latency of SET and GET, pipeline depths 1 and 16,
#     repeated over several rounds (the report shows medians and every round);
#   - memory per key after DEBUG POPULATE 1000000 key 100.
# The markdown report goes to stdout (and to --out FILE); progress goes to
# stderr, so `bench/node.sh > report.md` gives a clean report.
#
# See bench/README.md for how to read the numbers.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
BENCH_NAME=bench/node.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

# ---- settings (defaults; flags override) ------------------------------------

ROUNDS=3
REQUESTS=200000
TRICACHE="$REPO_ROOT/build/tricache"
OUT=""

PIPELINES=(1 16)
CLIENTS=50
KEYSPACE=100000
VALUE_SIZE=64
POPULATE_KEYS=1000000
POPULATE_SIZE=100
READY_TIMEOUT=10 # seconds to wait for a server to answer PING
STOP_TIMEOUT=10  # seconds to wait for a server to exit after SIGTERM

# ---- state used by cleanup() ---------------------------------------------------

TMP=""
REDIS_PID=""
TRICACHE_PID=""

# ---- helpers --------------------------------------------------------------------

usage() {
    cat <<EOF
usage: bench/node.sh [--rounds N] [--requests N] [--tricache PATH] [--out FILE]

Benchmarks one tricache node against redis-server on 127.0.0.1 and prints a
markdown report to stdout.

  --rounds N       rounds of the throughput runs (default 3)
  --requests N     requests per redis-benchmark test (default 200000)
  --tricache PATH  tricache binary (default <repo>/build/tricache)
  --out FILE       also write the report to FILE
  -h, --help       show this help
EOF
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --rounds | --requests | --tricache | --out)
                [ $# -ge 2 ] || usage_error "$1 needs a value"
                local flag=$1 value=$2
                shift 2
                case $flag in
                    --rounds)
                        is_positive_int "$value" || usage_error "--rounds must be a positive integer, got '$value'"
                        ROUNDS=$value
                        ;;
                    --requests)
                        is_positive_int "$value" || usage_error "--requests must be a positive integer, got '$value'"
                        REQUESTS=$value
                        ;;
                    --tricache) TRICACHE=$value ;;
                    --out) OUT=$value ;;
                esac
                ;;
            -h | --help)
                usage
                exit 0
                ;;
            *) usage_error "unknown argument '$1'" ;;
        esac
    done
}

check_prerequisites() {
    require_tools redis-server redis-cli redis-benchmark python3 timeout
    require_tricache
    check_out_file
}

# Runs on every exit (normal, error, Ctrl-C, SIGTERM): stop exactly the
# servers this script started, then remove the temp dir.
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_server "$REDIS_PID" redis-server
    stop_server "$TRICACHE_PID" tricache
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        rm -rf -- "$TMP"
    fi
    exit "$status"
}

# stop_server PID NAME: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL.
stop_server() {
    local pid=$1 name=$2 deadline
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2> /dev/null; then
        kill "$pid" 2> /dev/null || true
        deadline=$(($(date +%s) + STOP_TIMEOUT))
        while kill -0 "$pid" 2> /dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
            sleep 0.1
        done
        if kill -0 "$pid" 2> /dev/null; then
            echo "[bench] $name (pid $pid) ignored SIGTERM; sending SIGKILL" >&2
            kill -KILL "$pid" 2> /dev/null || true
        fi
    fi
    wait "$pid" 2> /dev/null || true
}

start_servers() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/tricache-bench.XXXXXX")
    read -r REDIS_PORT TRICACHE_PORT RAFT_PORT <<< "$(free_ports 3)"

    # Persistence off so disk I/O does not disturb the numbers.
    # --enable-debug-command local: Redis 7 refuses DEBUG (needed for
    # DEBUG POPULATE in the memory step) unless this is set at startup.
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --dir "$TMP" --enable-debug-command local \
        > "$TMP/redis.log" 2>&1 &
    REDIS_PID=$!

    mkdir -p "$TMP/data"
    cat > "$TMP/cluster.toml" <<EOF
cluster_name = "bench"
data_dir = "$TMP/data"
[[node]]
id = 1
zone = "zone-a"
client_addr = "127.0.0.1:$TRICACHE_PORT"
raft_addr = "127.0.0.1:$RAFT_PORT"
EOF
    "$TRICACHE" --config "$TMP/cluster.toml" --node 1 > "$TMP/tricache.log" 2>&1 &
    TRICACHE_PID=$!

    wait_ready redis-server "$REDIS_PID" "$REDIS_PORT" "$TMP/redis.log"
    wait_ready tricache "$TRICACHE_PID" "$TRICACHE_PORT" "$TMP/tricache.log"
}

port_of() {
    case $1 in
        redis) echo "$REDIS_PORT" ;;
        tricache) echo "$TRICACHE_PORT" ;;
    esac
}

# The benchmark command, with PORT and PIPELINE left as placeholders in the
# report and filled in when run.
bench_cmd_text() {
    echo "redis-benchmark -h 127.0.0.1 -p PORT -t set,get -n $REQUESTS -c $CLIENTS -r $KEYSPACE -d $VALUE_SIZE -P PIPELINE --csv"
}

# cpu_ticks PID: user + system CPU time the process has used, in clock ticks.
cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

pid_of() {
    if [ "$1" = redis ]; then echo "$REDIS_PID"; else echo "$TRICACHE_PID"; fi
}

# run_one SERVER ROUND PIPELINE: one redis-benchmark run; appends a SET and
# a GET row to raw.csv (server,round,pipeline,test,rps,p50,p99), and the
# server's CPU time per request of the run to cpu.csv. CPU per request is
# the steadier figure on a shared machine: req/s also moves with whatever
# else runs, the client included.
run_one() {
    local server=$1 round=$2 pipeline=$3 port out rows pid before after hz
    port=$(port_of "$server")
    pid=$(pid_of "$server")
    log "round $round/$ROUNDS  pipeline $pipeline  $server"
    before=$(cpu_ticks "$pid")
    out=$(redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -n "$REQUESTS" -c "$CLIENTS" \
        -r "$KEYSPACE" -d "$VALUE_SIZE" -P "$pipeline" --csv 2> "$TMP/bench.err") ||
        die "redis-benchmark against $server failed: $(cat "$TMP/bench.err")"
    # CSV columns: test,rps,avg,min,p50,p95,p99,max (quoted). Look the
    # columns up by header name rather than by position, in case a future
    # redis-benchmark adds one.
    rows=$(printf '%s\n' "$out" | tr -d '"\r' | awk -F, -v s="$server" -v r="$round" -v p="$pipeline" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        $1 == "SET" || $1 == "GET" {
            printf "%s,%s,%s,%s,%s,%s,%s\n", s, r, p, $1, $col["rps"], $col["p50_latency_ms"], $col["p99_latency_ms"]
        }')
    [ "$(printf '%s\n' "$rows" | grep -c .)" -eq 2 ] ||
        die "unexpected redis-benchmark output from $server:"$'\n'"$out"
    printf '%s\n' "$rows" >> "$TMP/raw.csv"
    after=$(cpu_ticks "$pid")
    hz=$(getconf CLK_TCK)
    # two tests (SET and GET) of REQUESTS each
    awk -v s="$server" -v r="$round" -v p="$pipeline" -v t=$((after - before)) -v hz="$hz" -v n=$((2 * REQUESTS)) \
        'BEGIN { printf "%s,%s,%s,%.3f\n", s, r, p, t / hz * 1e6 / n }' >> "$TMP/cpu.csv"
}

# Rounds alternate which server goes first, so neither one always benefits
# from (or pays for) running right after the other.
run_throughput() {
    echo "server,round,pipeline,test,rps,p50,p99" > "$TMP/raw.csv"
    echo "server,round,pipeline,cpu_us" > "$TMP/cpu.csv"
    local round pipeline server order
    for ((round = 1; round <= ROUNDS; round++)); do
        if ((round % 2 == 1)); then order="redis tricache"; else order="tricache redis"; fi
        for pipeline in "${PIPELINES[@]}"; do
            for server in $order; do
                run_one "$server" "$round" "$pipeline"
            done
        done
    done
}

used_memory() {
    cli "$1" INFO memory | awk -F: '$1 == "used_memory" {print $2}'
}

# measure_memory SERVER: used_memory growth from an empty keyspace to
# POPULATE_KEYS keys; appends server,before,after,keys to memory.csv.
measure_memory() {
    local server=$1 port before after keys reply
    port=$(port_of "$server")
    log "memory: DEBUG POPULATE $POPULATE_KEYS key $POPULATE_SIZE on $server"
    reply=$(cli "$port" FLUSHALL)
    [ "$reply" = OK ] || die "FLUSHALL on $server: $reply"
    before=$(used_memory "$port")
    reply=$(cli "$port" DEBUG POPULATE "$POPULATE_KEYS" key "$POPULATE_SIZE")
    [ "$reply" = OK ] || die "DEBUG POPULATE on $server: $reply"
    after=$(used_memory "$port")
    keys=$(cli "$port" DBSIZE)
    [[ $before =~ ^[0-9]+$ && $after =~ ^[0-9]+$ && $keys =~ ^[1-9][0-9]*$ ]] ||
        die "bad memory readings from $server: before='$before' after='$after' keys='$keys'"
    echo "$server,$before,$after,$keys" >> "$TMP/memory.csv"
}

run_memory() {
    echo "server,before,after,keys" > "$TMP/memory.csv"
    measure_memory redis
    measure_memory tricache
}

report() {
    python3 "$SCRIPT_DIR/summarize.py" \
        --raw "$TMP/raw.csv" --cpu "$TMP/cpu.csv" --memory "$TMP/memory.csv" \
        --machine "$(machine_line)" --command "$(bench_cmd_text)" \
        --populate "DEBUG POPULATE $POPULATE_KEYS key $POPULATE_SIZE"
}

main() {
    parse_args "$@"
    check_prerequisites
    trap cleanup EXIT
    # Turn signals into an ordinary exit so cleanup() runs exactly once.
    # (bash runs the trap once the current foreground command returns; Ctrl-C
    # also reaches redis-benchmark itself, so that is immediate in a terminal.)
    trap 'exit 130' INT
    trap 'exit 143' TERM

    start_servers
    run_throughput
    run_memory

    # Build the whole report first, so a failure never leaves half a report.
    local text
    text=$(report) || die "summarize.py failed"
    printf '%s\n' "$text"
    if [ -n "$OUT" ]; then
        printf '%s\n' "$text" > "$OUT"
        log "report written to $OUT"
    fi
}

main "$@"
