#!/usr/bin/env bash
# bench/expire.sh: an expiry storm (issue 18) — a three-node tricache cluster
# against Redis as a primary with two replicaof replicas, on this machine, in
# one run. Each round, for each system (odd rounds Redis first, even rounds
# tricache first):
#   1. baseline: redis-benchmark -t set -P 16 on the primary, nothing expiring
#      (once more after step 3: the ratio's denominator is their mean, as the
#      machine's other work drifts);
#   2. reclaim: KEYS keys SET ... PX TTL_MS through redis-cli --pipe, then,
#      from the first deadline on, DBSIZE polled every 50 ms on all three
#      nodes: seconds from the last key's deadline (the end of the load plus
#      the TTL) until every node answers 0, and the CPU the primary spent
#      (utime+stime, /proc/PID/stat) from the first deadline until then, and
#      the two replicas' together (they apply the same deletes);
#   3. storm: the same load again, and from the first deadline on the same
#      redis-benchmark (into database 1, so that DBSIZE of database 0 counts
#      only the expiring keys), run after run until every node holds none of
#      them: the SET/s of those runs over the baseline's, and when the keys
#      were gone (seconds after the last deadline, DBSIZE polled every 50 ms).
# Medians over the rounds. A benchmark, not a test: it prints numbers and
# never passes or fails on them. Report on stdout (--out FILE); progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/expire.sh
READY_TIMEOUT=30
TRICACHE=build/tricache
OUT=""
ROUNDS=3
KEYS=1000000
TTL_MS=10000
REQUESTS=300000

usage() {
    cat << EOF
usage: bench/expire.sh [--rounds N] [--keys N] [--ttl-ms N] [--requests N] [--tricache PATH] [--out FILE]

  --rounds N       rounds per system (default 3; medians reported)
  --keys N         keys loaded with a TTL per storm (default 1000000)
  --ttl-ms N       their TTL in ms (default 10000)
  --requests N     SETs per redis-benchmark run (-P 16 -c 50; default 300000)
  --tricache PATH  tricache binary (default <repo>/build/tricache)
  --out FILE       also write the report to FILE
EOF
}

# shellcheck source=bench/lib.sh
. bench/lib.sh

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --rounds | --keys | --ttl-ms | --requests | --tricache | --out)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case "$1" in
                --rounds) is_positive_int "$2" || usage_error "--rounds must be a positive integer"; ROUNDS=$2 ;;
                --keys) is_positive_int "$2" || usage_error "--keys must be a positive integer"; KEYS=$2 ;;
                --ttl-ms) is_positive_int "$2" || usage_error "--ttl-ms must be a positive integer"; TTL_MS=$2 ;;
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

WORK=$(mktemp -d /tmp/tricache-bench-expire.XXXXXX)
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

# The load: KEYS x SET exp:i v PX TTL_MS, as a redis-cli --pipe file.
python3 - "$KEYS" "$TTL_MS" > "$WORK/load.resp" << 'PY'
import sys
n, ttl = int(sys.argv[1]), sys.argv[2].encode()
out = sys.stdout.buffer
for i in range(n):
    k = b"exp:%d" % i
    out.write(b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n$2\r\nPX\r\n$%d\r\n%s\r\n" % (len(k), k, len(ttl), ttl))
PY

set_rps() { # set_rps PORT: SET/s of one redis-benchmark run
    redis-benchmark -h 127.0.0.1 -p "$1" -t set -c 50 -P 16 -n "$REQUESTS" -r 100000 -d 64 --dbnum 1 --csv 2> /dev/null |
        awk -F'","' 'NR == 2 {print $2}'
}

# storm MODE PIDS PRIMARY_PORT PORT...: loads the keys into the primary
# (PIDS: the primary's pid, then the replicas', comma-separated); MODE
# reclaim prints "<seconds after the last deadline> <primary CPU seconds>
# <replicas' CPU seconds>", MODE storm prints the SET/s redis-benchmark measured from
# the first deadline until the keys were gone, how many runs that took, and
# when they were gone (seconds after the last deadline).
storm() {
    python3 - "$WORK/load.resp" "$TTL_MS" "$REQUESTS" "$@" << 'PY'
import os, socket, subprocess, sys, time
load, ttl, requests, mode, pids, primary = sys.argv[1], int(sys.argv[2]) / 1000, sys.argv[3], sys.argv[4], sys.argv[5].split(","), int(sys.argv[6])
ports = [int(p) for p in sys.argv[7:]]
tick = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick  # utime, stime
def dbsize(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"DBSIZE\r\n")
        return int(s.recv(64)[1:].split(b"\r\n")[0])
start = time.monotonic()
with open(load, "rb") as f:
    subprocess.run(["redis-cli", "-p", str(primary), "--pipe"], stdin=f, stdout=subprocess.DEVNULL, check=True)
end = time.monotonic()
first_deadline = start + ttl
if time.monotonic() < first_deadline:
    time.sleep(first_deadline - time.monotonic())
if mode == "storm":
    # back-to-back runs until every node holds none of the keys: the SETs
    # meet the whole of the reclaiming, however late a system does it. A
    # poller notes when that was: a system may reclaim more slowly while
    # clients write, and the ratio alone would not show it.
    import threading
    gone = []
    def poll():
        left = set(ports)
        while left:
            for p in list(left):
                if dbsize(p) == 0:
                    left.discard(p)
            if left:
                time.sleep(0.05)
        gone.append(time.monotonic())
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    sets = secs = 0.0
    runs = 0
    while runs == 0 or poller.is_alive():
        out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(primary), "-t", "set", "-c", "50", "-P", "16",
                              "-n", requests, "-r", "100000", "-d", "64", "--dbnum", "1", "--csv"],
                             capture_output=True, text=True, check=True)
        rps = float(out.stdout.splitlines()[1].split('","')[1])
        sets += int(requests)
        secs += int(requests) / rps
        runs += 1
        if time.monotonic() - first_deadline > 600:
            sys.exit("keys still held 600 s after the first deadline")
    poller.join()
    print("%.0f %d %.2f" % (sets / secs, runs, gone[0] - (end + ttl)))
    sys.exit(0)
cpu0 = [cpu(p) for p in pids]
left = set(ports)
while left and time.monotonic() - first_deadline < 600:
    for p in list(left):
        if dbsize(p) == 0:
            left.discard(p)
    if left:
        time.sleep(0.05)
done = time.monotonic()
if left:
    sys.exit("keys still held after 600 s on ports %s" % sorted(left))
used = [cpu(p) - c for p, c in zip(pids, cpu0)]
print("%.2f %.2f %.2f" % (done - (end + ttl), used[0], sum(used[1:])))
PY
}

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2f' % (a / b) if b else 'n/a')" "$1" "$2"; }

flush() { # flush PRIMARY_PORT PORT...: FLUSHALL, then every node empty
    local p=$1 port deadline
    cli "$p" FLUSHALL > /dev/null
    shift
    for port in "$@"; do
        deadline=$(($(date +%s) + 60))
        while [ "$(cli "$port" DBSIZE)" != 0 ]; do
            [ "$(date +%s)" -lt "$deadline" ] || die "port $port still holds keys after FLUSHALL"
            sleep 0.05
        done
    done
}

# measure SYSTEM PIDS PRIMARY_PORT PORT...: one round of the three phases;
# appends "SYSTEM base reclaim cpu storm_rps runs storm_reclaim base_after
# replicas_cpu" to rows.csv
measure() {
    local name=$1 pids=$2 p=$3 base base2 reclaim cpu rcpu srps runs sreclaim
    shift 3
    flush "$p" "$@"
    log "$name: baseline SET -P 16"
    base=$(set_rps "$p")
    flush "$p" "$@"
    log "$name: $KEYS keys with PX $TTL_MS, until every node holds none"
    read -r reclaim cpu rcpu <<< "$(storm reclaim "$pids" "$p" "$@")"
    log "$name: the same keys again, SET -P 16 while they expire"
    read -r srps runs sreclaim <<< "$(storm storm "$pids" "$p" "$@")"
    flush "$p" "$@"
    log "$name: baseline SET -P 16 again"
    base2=$(set_rps "$p")
    flush "$p" "$@"
    echo "$name $base $reclaim $cpu $srps $runs $sreclaim $base2 $rcpu" >> "$WORK/rows.csv"
    log "$name: baseline $base / $base2 SET/s, reclaimed $reclaim s after the last deadline, CPU primary $cpu s replicas $rcpu s, storm $srps SET/s = $(ratio "$srps" "$(python3 -c "import sys; print((float(sys.argv[1]) + float(sys.argv[2])) / 2)" "$base" "$base2")")x ($runs runs, reclaimed $sreclaim s after the last deadline)"
}

read -r -a RPORTS <<< "$(free_ports 3)"
for i in 0 1 2; do
    args=(--port "${RPORTS[$i]}" --save "" --appendonly no --dir "$WORK")
    [ "$i" -gt 0 ] && args+=(--replicaof 127.0.0.1 "${RPORTS[0]}")
    redis-server "${args[@]}" > "$WORK/redis$i.log" 2>&1 &
    PIDS+=($!)
done
REDIS_PIDS=("${PIDS[@]}")
for i in 0 1 2; do wait_ready "redis-server $i" "${REDIS_PIDS[$i]}" "${RPORTS[$i]}" "$WORK/redis$i.log"; done
for i in 1 2; do
    deadline=$(($(date +%s) + 30))
    until cli "${RPORTS[$i]}" INFO replication | grep -q '^master_link_status:up'; do
        [ "$(date +%s)" -lt "$deadline" ] || die "Redis replica $i never linked to its primary"
        sleep 0.1
    done
done
mkdir -p "$WORK/tc"
start_three_nodes "$WORK/tc" bench-expire
TPORTS=("${PORTS[@]:0:3}")
TPID=${PIDS[$((${#REDIS_PIDS[@]} + PRIMARY))]}
TPIDS=$TPID
for i in 0 1 2; do [ "$i" = "$PRIMARY" ] || TPIDS+=",${PIDS[$((${#REDIS_PIDS[@]} + i))]}"; done
RPIDS=$(IFS=,; echo "${REDIS_PIDS[*]}")
TPRIMARY=${TPORTS[$PRIMARY]}
log "Redis primary ${RPORTS[0]} (pid ${REDIS_PIDS[0]}); tricache primary $TPRIMARY (pid $TPID)"
term0=$(cli "$TPRIMARY" INFO replication | sed -n 's/^raft_term://p')

for round in $(seq 1 "$ROUNDS"); do
    log "round $round"
    if [ $((round % 2)) -eq 1 ]; then
        measure redis "$RPIDS" "${RPORTS[0]}" "${RPORTS[@]}"
        measure tricache "$TPIDS" "$TPRIMARY" "${TPORTS[@]}"
    else
        measure tricache "$TPIDS" "$TPRIMARY" "${TPORTS[@]}"
        measure redis "$RPIDS" "${RPORTS[0]}" "${RPORTS[@]}"
    fi
done
term1=$(cli "$TPRIMARY" INFO replication | sed -n 's/^raft_term://p')
stats=$(cli "$TPRIMARY" INFO stats | grep -E '^(expired_keys|expired_stale_perc|expired_time_cap_reached_count|expire_cycle_cpu_milliseconds):' | tr '\n' ' ')

col() { awk -v s="$1" -v c="$2" '$1 == s {print $c}' "$WORK/rows.csv"; }
{
    echo "## Expiry storm: $KEYS keys with PX $TTL_MS, three-node tricache vs Redis primary + two replicas"
    echo
    echo "$(machine_line)"
    echo
    echo "Medians of $ROUNDS round(s). Reclaim: seconds from the last key's deadline (end of the load + TTL) until"
    echo "DBSIZE is 0 on all three nodes; CPU: the primary's utime+stime from the first deadline until then, and the replicas' (both)."
    echo "SET/s: redis-benchmark -t set -c 50 -P 16 -n $REQUESTS -r 100000 -d 64 --dbnum 1 on the primary, alone (before and after), and"
    echo "run after run from the first deadline of a second load until every node holds none of its keys (the storm);"
    echo "storm / alone is the median of each round's storm SET/s over the mean of its two alone runs. Reclaim in the storm:"
    echo "when the keys were gone, after the last deadline."
    echo
    echo "| system | reclaim after last deadline (s) | primary CPU (s) | replicas' CPU (s) | SET/s alone | SET/s in the storm | storm / alone | reclaim in the storm (s) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for s in redis tricache; do
        # shellcheck disable=SC2046
        rc=$(median $(col $s 3)); c=$(median $(col $s 4)); st=$(median $(col $s 5)); sr=$(median $(col $s 7)); rpc=$(median $(col $s 9))
        # shellcheck disable=SC2046
        b=$(median $(awk -v s="$s" '$1 == s {printf "%.0f\n", ($2 + $8) / 2}' "$WORK/rows.csv"))
        # shellcheck disable=SC2046
        rr=$(median $(awk -v s="$s" '$1 == s && $2 + $8 > 0 {printf "%.4f\n", $5 * 2 / ($2 + $8)}' "$WORK/rows.csv"))
        echo "| $s | $rc | $c | $rpc | $b | $st | $(printf '%.2f' "$rr") | $sr |"
    done
    echo
    echo "tricache / Redis: reclaim $(ratio "$(median $(col tricache 3))" "$(median $(col redis 3))")×, primary CPU $(ratio "$(median $(col tricache 4))" "$(median $(col redis 4))")×."
    echo "tricache's Raft term: $term0 before, $term1 after. Its primary's INFO stats at the end: $stats"
    echo
    echo "Every round (system, SET/s alone before, reclaim s, primary CPU s, SET/s in the storm, redis-benchmark runs it took,"
    echo "reclaim in the storm s, SET/s alone after, replicas' CPU s):"
    echo
    echo '```'
    cat "$WORK/rows.csv"
    echo '```'
} | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
