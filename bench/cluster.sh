#!/usr/bin/env bash
# bench/cluster.sh: a three-node tricache cluster (Raft) against Redis (a
# primary with two `replicaof` replicas, and three Sentinels for failover),
# all on this machine, in one run.
#
# A benchmark, not a test: it prints numbers and never passes or fails on
# them. It measures:
#   1. GET on a replica (redis-benchmark -P 1 and -P 16);
#   2. SET on the primary: redis-benchmark (tricache majority-acknowledged vs
#      Redis asynchronous), and bench/setwait.py for Redis SET + WAIT 2 0
#      against tricache SET with the same client;
#   3. failover: kill -9 of the primary while a client writes; time from the
#      kill to the first write acknowledged by the new primary (tricache, and
#      Redis with Sentinel, down-after-milliseconds 1000);
#   4. acknowledged writes lost in each kill trial and in one SIGSTOP trial.
# The markdown report goes to stdout (and to --out FILE); progress goes to
# stderr. See bench/README.md.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
BENCH_NAME=bench/cluster.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

# ---- settings (defaults; flags override) ------------------------------------

ROUNDS=3
REQUESTS=200000
TRIALS=10
TRICACHE="$REPO_ROOT/build/tricache"
OUT=""

PIPELINES=(1 16)
CLIENTS=50
KEYSPACE=100000
VALUE_SIZE=64
FREEZE_SECONDS=3
DOWN_AFTER_MS=1000     # Sentinel's down-after-milliseconds
SENTINEL_QUORUM=2
READY_TIMEOUT=10       # seconds to wait for a server to answer PING
STOP_TIMEOUT=10        # seconds to wait for a server to exit after SIGTERM
SETTLE_TIMEOUT=60      # seconds for a cluster to agree again after a trial
SENTINEL_EARLIER="Sentinel with down-after 1 s: ~2.2 s"

# ---- state used by cleanup() --------------------------------------------------
# Index 1..3 in each array; the pids are exactly the processes this script
# started (a restarted node replaces its entry once the old one is reaped).

TMP=""
TC_PID=("" "" "" "")
RD_PID=("" "" "" "")
SN_PID=("" "" "" "")
TC_PORT=()
RAFT_PORT=()
RD_PORT=()
SN_PORT=()
SENTINEL_NOTE=""
TCP_ID=""
TCP_PORT=""

# ---- helpers --------------------------------------------------------------------

usage() {
    cat <<EOF
usage: bench/cluster.sh [--rounds N] [--requests N] [--trials N] [--tricache PATH] [--out FILE]

Benchmarks a three-node tricache cluster against Redis (primary + 2 replicas,
3 Sentinels) on 127.0.0.1 and prints a markdown report to stdout.

  --rounds N       rounds of the throughput runs (default 3)
  --requests N     requests per throughput run (default 200000)
  --trials N       kill -9 failover trials per system (default 10)
  --tricache PATH  tricache binary (default <repo>/build/tricache)
  --out FILE       also write the report to FILE
  -h, --help       show this help
EOF
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --rounds | --requests | --trials | --tricache | --out)
                [ $# -ge 2 ] || usage_error "$1 needs a value"
                local flag=$1 value=$2
                shift 2
                case $flag in
                    --rounds | --requests | --trials)
                        is_positive_int "$value" || usage_error "$flag must be a positive integer, got '$value'"
                        case $flag in
                            --rounds) ROUNDS=$value ;;
                            --requests) REQUESTS=$value ;;
                            --trials) TRIALS=$value ;;
                        esac
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

# Runs on every exit: stop exactly the processes this script started (the
# current pid of each node), then remove the temp dir.
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local i
    for i in 1 2 3; do
        stop_server "${SN_PID[$i]}" "sentinel $i"
        stop_server "${RD_PID[$i]}" "redis-server $i"
        stop_server "${TC_PID[$i]}" "tricache node $i"
    done
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        rm -rf -- "$TMP"
    fi
    exit "$status"
}

# stop_server PID NAME: SIGCONT (a node may be frozen by a trial that was
# interrupted), SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL.
stop_server() {
    local pid=$1 name=$2 deadline
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2> /dev/null; then
        kill -CONT "$pid" 2> /dev/null || true
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

py() {
    # -B: no __pycache__ next to the scripts
    python3 -B "$SCRIPT_DIR/$1" "${@:2}"
}

tc_nodes() { echo "1:${TC_PORT[1]},2:${TC_PORT[2]},3:${TC_PORT[3]}"; }
rd_nodes() { echo "1:${RD_PORT[1]},2:${RD_PORT[2]},3:${RD_PORT[3]}"; }
sn_ports() { echo "${SN_PORT[1]},${SN_PORT[2]},${SN_PORT[3]}"; }

# ---- starting the servers ----------------------------------------------------------

start_tricache_node() {
    local id=$1
    "$TRICACHE" --config "$TMP/cluster.toml" --node "$id" >> "$TMP/tricache-$id.log" 2>&1 &
    TC_PID[id]=$!
}

start_redis_node() {
    local id=$1 master_port=${2:-}
    local extra=()
    [ -z "$master_port" ] || extra=(--replicaof 127.0.0.1 "$master_port")
    # Persistence off (as in node.sh); DEBUG DIGEST needs the debug command.
    redis-server --port "${RD_PORT[$id]}" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --dir "$TMP/redis-$id" --enable-debug-command local "${extra[@]}" \
        >> "$TMP/redis-$id.log" 2>&1 &
    RD_PID[id]=$!
}

start_servers() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/tricache-cluster-bench.XXXXXX")
    local ports i
    read -r -a ports <<< "$(free_ports 12)"
    [ "${#ports[@]}" -eq 12 ] || die "could not find 12 free ports"
    for i in 1 2 3; do
        TC_PORT[i]=${ports[i - 1]}
        RAFT_PORT[i]=${ports[i + 2]}
        RD_PORT[i]=${ports[i + 5]}
        SN_PORT[i]=${ports[i + 8]}
    done

    mkdir -p "$TMP/data"
    {
        echo 'cluster_name = "bench"'
        echo "data_dir = \"$TMP/data\""
        local zones=("" zone-a zone-b zone-c)
        for i in 1 2 3; do
            echo "[[node]]"
            echo "id = $i"
            echo "zone = \"${zones[i]}\""
            echo "client_addr = \"127.0.0.1:${TC_PORT[i]}\""
            echo "raft_addr = \"127.0.0.1:${RAFT_PORT[i]}\""
        done
    } > "$TMP/cluster.toml"
    for i in 1 2 3; do start_tricache_node "$i"; done

    for i in 1 2 3; do mkdir -p "$TMP/redis-$i"; done
    start_redis_node 1
    start_redis_node 2 "${RD_PORT[1]}"
    start_redis_node 3 "${RD_PORT[1]}"

    for i in 1 2 3; do wait_ready "tricache node $i" "${TC_PID[i]}" "${TC_PORT[i]}" "$TMP/tricache-$i.log"; done
    for i in 1 2 3; do wait_ready "redis-server $i" "${RD_PID[i]}" "${RD_PORT[i]}" "$TMP/redis-$i.log"; done

    log "waiting for the tricache primary and for Redis's replicas"
    py failover.py settle --nodes "$(tc_nodes)" --timeout 30 > /dev/null || die "the tricache cluster did not settle"
    py failover.py settle --nodes "$(rd_nodes)" --timeout 30 > /dev/null || die "Redis's replicas did not come up"
}

# tc_primary: sets TCP_ID and TCP_PORT to the tricache primary's node id and
# client port (polls; exits on failure). Not for use in $(...).
tc_primary() {
    local out
    out=$(py failover.py primary --nodes "$(tc_nodes)" --timeout 15) || die "no tricache primary"
    read -r TCP_ID TCP_PORT <<< "$out"
}

# ---- 1 and 2: throughput ------------------------------------------------------------

load_keyspace() {
    tc_primary
    log "loading $KEYSPACE keys of $VALUE_SIZE bytes into tricache (primary: node $TCP_ID) and Redis"
    py setwait.py load --port "$TCP_PORT" --keys "$KEYSPACE" --size "$VALUE_SIZE" || die "loading tricache failed"
    py setwait.py load --port "${RD_PORT[1]}" --keys "$KEYSPACE" --size "$VALUE_SIZE" || die "loading Redis failed"
    py failover.py settle --nodes "$(tc_nodes)" --timeout "$SETTLE_TIMEOUT" > /dev/null || die "tricache replicas did not catch up"
    py failover.py settle --nodes "$(rd_nodes)" --timeout "$SETTLE_TIMEOUT" > /dev/null || die "Redis replicas did not catch up"
    local i n
    for i in 1 2 3; do
        n=$(cli "${TC_PORT[i]}" DBSIZE)
        [ "$n" = "$KEYSPACE" ] || die "tricache node $i holds $n keys, expected $KEYSPACE"
        n=$(cli "${RD_PORT[i]}" DBSIZE)
        [ "$n" = "$KEYSPACE" ] || die "redis-server $i holds $n keys, expected $KEYSPACE"
    done
}

bench_cmd_text() {
    echo "redis-benchmark -h 127.0.0.1 -p PORT -t TEST -n $REQUESTS -c $CLIENTS -r $KEYSPACE -d $VALUE_SIZE -P PIPELINE --csv"
}

# raft_term: the tricache primary's Raft term (to spot elections during the
# throughput runs, which would disturb them).
raft_term() {
    tc_primary
    cli "$TCP_PORT" INFO replication | awk -F: '$1 == "raft_term" {print $2}'
}

# cpu_ticks PID: user + system CPU the process used so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# bench_one SYSTEM ROUND TEST PIPELINE: one redis-benchmark run; appends
# system,round,test,pipeline,rps,p50,p99,node,cpu_us to bench.csv (cpu_us: CPU
# microseconds the node that served the test used per request, from /proc).
bench_one() {
    local system=$1 round=$2 test=$3 pipeline=$4 port node out row pid t0 t1 cpu_us
    if [ "$system" = redis ]; then
        if [ "$test" = get ]; then node=2; else node=1; fi
        port=${RD_PORT[node]}
        pid=${RD_PID[node]}
    else
        tc_primary
        node=$TCP_ID
        port=$TCP_PORT
        if [ "$test" = get ]; then
            # the first node that is not the primary
            node=1
            [ "$node" != "$TCP_ID" ] || node=2
            port=${TC_PORT[node]}
        fi
        pid=${TC_PID[node]}
    fi
    log "round $round/$ROUNDS  $test -P $pipeline  $system (node $node)"
    t0=$(cpu_ticks "$pid")
    out=$(redis-benchmark -h 127.0.0.1 -p "$port" -t "$test" -n "$REQUESTS" -c "$CLIENTS" \
        -r "$KEYSPACE" -d "$VALUE_SIZE" -P "$pipeline" --csv 2> "$TMP/bench.err") ||
        die "redis-benchmark against $system failed: $(cat "$TMP/bench.err")"
    t1=$(cpu_ticks "$pid")
    cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$REQUESTS" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')
    row=$(printf '%s\n' "$out" | tr -d '"\r' | awk -F, -v s="$system" -v r="$round" -v p="$pipeline" -v n="$node" -v c="$cpu_us" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        $1 == "SET" || $1 == "GET" {
            printf "%s,%s,%s,%s,%s,%s,%s,%s,%s\n", s, r, $1, p, $col["rps"], $col["p50_latency_ms"], $col["p99_latency_ms"], n, c
        }')
    [ "$(printf '%s\n' "$row" | grep -c .)" -eq 1 ] ||
        die "unexpected redis-benchmark output from $system:"$'\n'"$out"
    printf '%s\n' "$row" >> "$TMP/bench.csv"
}

# client_one MODE ROUND: one bench/setwait.py run; appends
# mode,round,ops,p50,p99,errors,first_error to client.csv.
#   redis-set      SET on the Redis primary (asynchronous replication)
#   redis-setwait  SET + WAIT 2 0 on the Redis primary
#   tricache-set   SET on the tricache primary (majority-acknowledged)
client_one() {
    local mode=$1 round=$2 port wait=0 out
    case $mode in
        redis-set) port=${RD_PORT[1]} ;;
        redis-setwait)
            port=${RD_PORT[1]}
            wait=2
            ;;
        tricache-set)
            tc_primary
            port=$TCP_PORT
            ;;
    esac
    log "round $round/$ROUNDS  setwait.py  $mode"
    out=$(py setwait.py run --port "$port" --requests "$REQUESTS" --clients "$CLIENTS" \
        --keyspace "$KEYSPACE" --size "$VALUE_SIZE" --wait "$wait") || die "setwait.py ($mode) failed"
    echo "$mode,$round,$out" >> "$TMP/client.csv"
}

# Rounds alternate which system goes first, so neither always runs in the
# other's wake.
run_throughput() {
    echo "system,round,test,pipeline,rps,p50,p99,node,cpu_us" > "$TMP/bench.csv"
    echo "mode,round,ops,p50,p99,errors,first_error" > "$TMP/client.csv"
    local round test pipeline system order modes mode term_before term_after
    term_before=$(raft_term)
    for ((round = 1; round <= ROUNDS; round++)); do
        if ((round % 2 == 1)); then
            order="redis tricache"
            modes="redis-set redis-setwait tricache-set"
        else
            order="tricache redis"
            modes="tricache-set redis-setwait redis-set"
        fi
        for test in get set; do
            for pipeline in "${PIPELINES[@]}"; do
                for system in $order; do
                    bench_one "$system" "$round" "$test" "$pipeline"
                done
            done
        done
        for mode in $modes; do
            client_one "$mode" "$round"
        done
    done
    term_after=$(raft_term)
    echo "$term_before,$term_after" > "$TMP/terms.csv"
}

# ---- 3 and 4: failover --------------------------------------------------------------

# failover.csv: system,kind,trial,failover_ms,acked,old_acked,old_refused,checked,missing,wrong,settle_s,victim,new_primary

# tc_trial KIND N: kill (or freeze) the tricache primary while writing, bring
# the node back, wait until all three agree, check the acknowledged writes.
tc_trial() {
    local kind=$1 n=$2 id pid result check settle
    tc_primary
    id=$TCP_ID
    pid=${TC_PID[id]}
    log "tricache $kind trial $n: primary is node $id (pid $pid)"
    result=$(py failover.py trial --nodes "$(tc_nodes)" --victim "$id" --pid "$pid" --signal "$kind" \
        --freeze "$FREEZE_SECONDS" --acked "$TMP/acked.txt" --prefix "tc:$kind:$n") ||
        die "failover.py trial failed"
    if [ "$kind" = kill ]; then
        wait "$pid" 2> /dev/null || true
        TC_PID[id]=""
        start_tricache_node "$id"
        wait_ready "tricache node $id" "${TC_PID[id]}" "${TC_PORT[id]}" "$TMP/tricache-$id.log"
    fi
    settle=$(py failover.py settle --nodes "$(tc_nodes)" --timeout "$SETTLE_TIMEOUT") ||
        die "tricache did not settle after $kind trial $n (logs: $TMP)"
    tc_primary
    check=$(py failover.py verify --port "$TCP_PORT" --acked "$TMP/acked.txt") || die "verify failed"
    log "  failover_ms,acked,old_acked,old_refused = $result; checked,missing,wrong = $check; settled in ${settle}s"
    echo "tricache,$kind,$n,$result,$check,$settle,$id,$TCP_ID" >> "$TMP/failover.csv"
}

run_tricache_failover() {
    local n
    for ((n = 1; n <= TRIALS; n++)); do
        tc_trial kill "$n"
    done
    tc_trial stop 1
}

# ---- Redis with Sentinel ------------------------------------------------------------
# Failures here do not stop the benchmark: the report then says why and
# quotes the figure measured earlier on this machine. (errexit does not apply
# inside a function called with ||, so every step checks for itself.)

start_sentinels() {
    local i
    for i in 1 2 3; do
        mkdir -p "$TMP/sentinel-$i"
        cat > "$TMP/sentinel-$i/sentinel.conf" <<EOF
port ${SN_PORT[i]}
bind 127.0.0.1
daemonize no
dir $TMP/sentinel-$i
sentinel monitor bench 127.0.0.1 ${RD_PORT[1]} $SENTINEL_QUORUM
sentinel down-after-milliseconds bench $DOWN_AFTER_MS
sentinel failover-timeout bench 10000
EOF
        redis-server "$TMP/sentinel-$i/sentinel.conf" --sentinel >> "$TMP/sentinel-$i.log" 2>&1 &
        SN_PID[i]=$!
    done
    for i in 1 2 3; do wait_ready "sentinel $i" "${SN_PID[i]}" "${SN_PORT[i]}" "$TMP/sentinel-$i.log"; done
    log "waiting for the Sentinels to find each other and the replicas"
    py failover.py settle --nodes "$(rd_nodes)" --sentinels "$(sn_ports)" --timeout "$SETTLE_TIMEOUT" > /dev/null
}

rd_trial() {
    local n=$1 id port pid result new_id new_port check settle
    read -r id port <<< "$(py failover.py primary --nodes "$(rd_nodes)" --timeout 15)" || return 1
    [ -n "$port" ] || return 1
    pid=${RD_PID[id]}
    log "redis kill trial $n: master is redis-server $id (pid $pid)"
    result=$(py failover.py trial --nodes "$(rd_nodes)" --victim "$id" --pid "$pid" --signal kill \
        --acked "$TMP/acked.txt" --prefix "rd:kill:$n") || return 1
    wait "$pid" 2> /dev/null
    RD_PID[id]=""
    [ -n "${result%%,*}" ] || { SENTINEL_NOTE="Sentinel did not promote a replica within 30 s in trial $n"; return 1; }
    read -r new_id new_port <<< "$(py failover.py primary --nodes "$(rd_nodes)" --timeout 15)" || return 1
    [ -n "$new_port" ] || return 1
    # The killed master comes back empty (no persistence) as a replica of the
    # new one, as an operator would restart it.
    start_redis_node "$id" "$new_port"
    wait_ready "redis-server $id" "${RD_PID[id]}" "${RD_PORT[id]}" "$TMP/redis-$id.log"
    settle=$(py failover.py settle --nodes "$(rd_nodes)" --sentinels "$(sn_ports)" --timeout "$SETTLE_TIMEOUT") ||
        { SENTINEL_NOTE="Redis did not settle after trial $n"; return 1; }
    # Sentinel may have moved the master again while settling: report and
    # read back from the master the trial ended with.
    read -r new_id new_port <<< "$(py failover.py primary --nodes "$(rd_nodes)" --timeout 15)" || return 1
    [ -n "$new_port" ] || return 1
    check=$(py failover.py verify --port "$new_port" --acked "$TMP/acked.txt") || return 1
    log "  failover_ms,acked,old_acked,old_refused = $result; checked,missing,wrong = $check; settled in ${settle}s"
    echo "redis,kill,$n,$result,$check,$settle,$id,$new_id" >> "$TMP/failover.csv"
}

run_redis_failover() {
    start_sentinels || {
        SENTINEL_NOTE="the Sentinels did not come up"
        return 1
    }
    local n
    for ((n = 1; n <= TRIALS; n++)); do
        rd_trial "$n" || {
            [ -n "$SENTINEL_NOTE" ] || SENTINEL_NOTE="Sentinel trial $n failed"
            return 1
        }
    done
}

run_failover() {
    echo "system,kind,trial,failover_ms,acked,old_acked,old_refused,checked,missing,wrong,settle_s,victim,new_primary" \
        > "$TMP/failover.csv"
    run_tricache_failover
    if ! run_redis_failover; then
        log "Sentinel trials stopped: $SENTINEL_NOTE (see the logs in $TMP)"
        # keep only the trials that completed; the report says what happened
    fi
}

# ---- syscalls per request -------------------------------------------------------------

# What the primary asks of the kernel per SET: perf counts its syscalls
# (tracepoints, every thread) during one more SET -P 16 run per system, as
# system,requests,writes,reads,epoll_waits in syscalls.csv. Needs perf and
# the right to read tracepoints (root); without them the file stays empty
# and the report says so.
SYSCALL_EVENTS=syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto
SYSCALL_EVENTS=$SYSCALL_EVENTS,syscalls:sys_enter_read,syscalls:sys_enter_readv,syscalls:sys_enter_recvfrom,syscalls:sys_enter_recvmsg
SYSCALL_EVENTS=$SYSCALL_EVENTS,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait
run_syscalls() {
    : > "$TMP/syscalls.csv"
    command -v perf > /dev/null || return 0
    local system pid port perf_pid
    for system in redis tricache; do
        if [ "$system" = redis ]; then
            pid=${RD_PID[1]} port=${RD_PORT[1]}
        else
            tc_primary
            pid=${TC_PID[$TCP_ID]} port=$TCP_PORT
        fi
        log "syscalls of the $system primary during SET -P 16"
        perf stat -x, -e "$SYSCALL_EVENTS" -p "$pid" -o "$TMP/perf-$system.txt" 2> /dev/null &
        perf_pid=$!
        sleep 0.5 # perf attaches
        redis-benchmark -h 127.0.0.1 -p "$port" -t set -n "$REQUESTS" -c "$CLIENTS" -r "$KEYSPACE" \
            -d "$VALUE_SIZE" -P 16 -q > /dev/null 2>&1 || die "redis-benchmark against $system failed"
        kill -INT "$perf_pid" 2> /dev/null || true
        wait "$perf_pid" 2> /dev/null || true
        awk -F, -v s="$system" -v n="$REQUESTS" '
            $3 ~ /sys_enter_(write|writev|sendmsg|sendto)$/ { w += $1 }
            $3 ~ /sys_enter_(read|readv|recvfrom|recvmsg)$/ { r += $1 }
            $3 ~ /sys_enter_epoll_(p)?wait$/ { e += $1 }
            END { if (w + r + e > 0) printf "%s,%d,%d,%d,%d\n", s, n, w, r, e }' "$TMP/perf-$system.txt" \
            >> "$TMP/syscalls.csv"
    done
}

# ---- report -------------------------------------------------------------------------

report() {
    python3 "$SCRIPT_DIR/cluster_report.py" \
        --bench "$TMP/bench.csv" --client "$TMP/client.csv" --failover "$TMP/failover.csv" \
        --terms "$TMP/terms.csv" --syscalls "$TMP/syscalls.csv" --machine "$(machine_line)" --command "$(bench_cmd_text)" \
        --client-command "bench/setwait.py run --port PORT --requests $REQUESTS --clients $CLIENTS --keyspace $KEYSPACE --size $VALUE_SIZE [--wait 2]" \
        --trials "$TRIALS" --freeze "$FREEZE_SECONDS" --down-after "$DOWN_AFTER_MS" \
        --sentinel-note "$SENTINEL_NOTE" --sentinel-earlier "$SENTINEL_EARLIER"
}

main() {
    parse_args "$@"
    check_prerequisites
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    start_servers
    load_keyspace
    run_throughput
    run_syscalls
    run_failover

    local text
    text=$(report) || die "cluster_report.py failed"
    printf '%s\n' "$text"
    if [ -n "$OUT" ]; then
        printf '%s\n' "$text" > "$OUT"
        log "report written to $OUT"
    fi
}

main "$@"
