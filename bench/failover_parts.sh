#!/usr/bin/env bash
# bench/failover_parts.sh: where a failover's time goes, and how often a
# short election timeout elects a new primary that nobody killed.
#
# A benchmark, not a test: it prints numbers and never passes or fails on
# them. Two parts, each on a fresh three-node cluster of this machine:
#   1. --trials kill -9 failovers of the primary while one client writes
#      (bench/failover.py trial). For each, from the nodes' own logs (ms
#      timestamps): detection = kill -> the first survivor logs "no primary
#      known" (its election timer ran out: libraft's pre-vote starts);
#      election = that -> "this node is now the primary" (pre-vote and vote
#      rounds, the new leader's first barrier); client = that -> the client's
#      first acknowledged write on the new primary (its redirect, a new
#      connection, the write's commit). Medians and maxima.
#   2. false elections: redis-benchmark SET -P 16 -c 50 for --load-seconds
#      against the primary of a cluster with election_timeout 150ms, then
#      300ms (the default); the Raft term's growth is the number of elections
#      nobody asked for.
# The markdown report goes to stdout (and to --out FILE); progress to stderr.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
BENCH_NAME=bench/failover_parts.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

TRIALS=10
LOAD_SECONDS=60
TRICACHE="$REPO_ROOT/build/tricache"
OUT=""
READY_TIMEOUT=10
SETTLE_TIMEOUT=60

TMP=""
PIDS=()
PORTS=()
NODE_PID=("" "" "" "")

usage() {
    cat >&2 << EOF
usage: bench/failover_parts.sh [--trials N] [--load-seconds S] [--tricache PATH] [--out FILE]
  --trials N        kill -9 failovers measured (default $TRIALS)
  --load-seconds S  write load per election timeout in the false-election part (default $LOAD_SECONDS)
  --tricache P      the tricache binary (default build/tricache)
  --out FILE        also write the report to FILE
EOF
    exit 2
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --trials) TRIALS=$2; shift 2 ;;
            --load-seconds) LOAD_SECONDS=$2; shift 2 ;;
            --tricache) TRICACHE=$2; shift 2 ;;
            --out) OUT=$2; shift 2 ;;
            *) usage ;;
        esac
    done
    is_positive_int "$TRIALS" && is_positive_int "$LOAD_SECONDS" || usage
}

stop_pid() {
    local pid=$1 deadline
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2> /dev/null; then
        kill -KILL "$pid" 2> /dev/null || true
        deadline=$(($(date +%s) + 10))
        while kill -0 "$pid" 2> /dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
    fi
    wait "$pid" 2> /dev/null || true
}

stop_cluster() {
    local i
    for i in 1 2 3; do
        stop_pid "${NODE_PID[$i]}"
        NODE_PID[i]=""
    done
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_cluster
    [ -n "$TMP" ] && [ -d "$TMP" ] && rm -rf -- "$TMP"
    exit "$status"
}

py() { python3 -B "$SCRIPT_DIR/$1" "${@:2}"; }
nodes_arg() { echo "1:${PORTS[0]},2:${PORTS[1]},3:${PORTS[2]}"; }

start_node() {
    local i=$1
    "$TRICACHE" --config "$TMP/cluster.toml" --node "$i" >> "$TMP/node$i.log" 2>&1 &
    NODE_PID[i]=$!
}

# start_cluster ELECTION_TIMEOUT: a fresh cluster.
start_cluster() {
    local et=$1 i
    read -r -a PORTS <<< "$(free_ports 6)"
    rm -rf "$TMP/data" "$TMP"/node*.log
    {
        echo 'cluster_name = "bench"'
        echo "data_dir = \"$TMP/data\""
        echo "election_timeout = \"$et\""
        for i in 1 2 3; do
            printf '[[node]]\nid = %d\nclient_addr = "127.0.0.1:%d"\nraft_addr = "127.0.0.1:%d"\nzone = "zone-%d"\n' \
                "$i" "${PORTS[$((i - 1))]}" "${PORTS[$((i + 2))]}" "$i"
        done
    } > "$TMP/cluster.toml"
    for i in 1 2 3; do start_node "$i"; done
    for i in 1 2 3; do wait_ready "tricache node $i" "${NODE_PID[i]}" "${PORTS[$((i - 1))]}" "$TMP/node$i.log"; done
    py failover.py settle --nodes "$(nodes_arg)" --timeout "$SETTLE_TIMEOUT" > /dev/null || die "the cluster did not settle"
}

primary() { # sets P_ID, P_PORT
    local out
    out=$(py failover.py primary --nodes "$(nodes_arg)" --timeout 15) || die "no primary"
    read -r P_ID P_PORT <<< "$out"
}

# parts KILL_MS VICTIM FAILOVER_MS: "detect,elect,client" from the survivors' logs.
parts() {
    python3 - "$1" "$2" "$3" "$TMP" << 'EOF'
import datetime, re, sys
kill_ms, victim, failover_ms, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
line_re = re.compile(r"^\d+:\w (\d+ \w+ \d+ \d+:\d+:\d+\.\d+) . (.*)$")
def ms(stamp):  # the nodes log local time, as time.time() is read here
    return int(datetime.datetime.strptime(stamp, "%d %b %Y %H:%M:%S.%f").timestamp() * 1000)
detect = elect = None
for node in (1, 2, 3):
    if node == victim:
        continue
    for raw in open("%s/node%d.log" % (tmp, node), errors="replace"):
        m = line_re.match(raw)
        if not m:
            continue
        t = ms(m.group(1))
        if t < kill_ms:
            continue
        msg = m.group(2)
        if msg.startswith("no primary known") and (detect is None or t < detect):
            detect = t
        if msg.startswith("this node is now the primary") and (elect is None or t < elect):
            elect = t
if detect is None or elect is None or not failover_ms:
    print(",,")
else:
    done = kill_ms + float(failover_ms)
    print("%d,%d,%d" % (detect - kill_ms, elect - detect, done - elect))
EOF
}

run_trials() {
    local n result pid id kill_ms fo
    : > "$TMP/acked.txt"
    for ((n = 1; n <= TRIALS; n++)); do
        primary
        id=$P_ID
        pid=${NODE_PID[id]}
        log "failover trial $n/$TRIALS, kill -9 node $id"
        result=$(py failover.py trial --nodes "$(nodes_arg)" --victim "$id" --pid "$pid" --signal kill \
            --acked "$TMP/acked.txt" --prefix "t$n" --signal-at "$TMP/kill_ms") || die "failover.py trial failed"
        wait "$pid" 2> /dev/null || true
        NODE_PID[id]=""
        kill_ms=$(cat "$TMP/kill_ms")
        fo=${result%%,*}
        echo "$n,$fo,$(parts "$kill_ms" "$id" "$fo")" >> "$TMP/trials.csv"
        start_node "$id"
        wait_ready "tricache node $id" "${NODE_PID[id]}" "${PORTS[$((id - 1))]}" "$TMP/node$id.log"
        py failover.py settle --nodes "$(nodes_arg)" --timeout "$SETTLE_TIMEOUT" > /dev/null ||
            die "the cluster did not settle after trial $n"
    done
}

term_of() { cli "$1" INFO replication | awk -F: '$1 == "raft_term" {print $2}'; }

run_load() {
    local et=$1 before after
    start_cluster "$et"
    primary
    before=$(term_of "$P_PORT")
    log "election_timeout $et: SET -P 16 -c 50 for ${LOAD_SECONDS}s on node $P_ID"
    timeout "$LOAD_SECONDS" redis-benchmark -h 127.0.0.1 -p "$P_PORT" -t set -n 2000000000 -c 50 -P 16 -r 1000000 \
        -d 64 -q > "$TMP/load-$et.txt" 2>&1 || true
    primary
    after=$(term_of "$P_PORT")
    echo "$et,$before,$after" >> "$TMP/load.csv"
    stop_cluster
}

median() { sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
col() { awk -F, -v c="$1" '$c != "" {print $c}' "$TMP/trials.csv"; }

report() {
    local c name
    echo "### Where a failover's time goes (bench/failover_parts.sh)"
    echo
    echo "$(machine_line). Three nodes on loopback, default election timeout (300 ms);"
    echo "$TRIALS kill -9 of the primary while one client writes; parts from the nodes' logs."
    echo
    echo "| part | median (ms) | max (ms) |"
    echo "| --- | ---: | ---: |"
    for c in 3:"detection (kill -> a survivor's election timer fires)" 4:"election (pre-vote, vote, leader's first barrier)" \
        5:"client (redirect, new connection, first write's commit)" 2:"total (kill -> first acknowledged write)"; do
        name=${c#*:}
        echo "| $name | $(col "${c%%:*}" | median) | $(col "${c%%:*}" | sort -n | tail -n 1) |"
    done
    echo
    echo "False elections under write load (SET -P 16 -c 50 on the primary, ${LOAD_SECONDS} s each):"
    echo
    echo "| election_timeout | term before | term after | elections nobody asked for |"
    echo "| --- | ---: | ---: | ---: |"
    awk -F, '{printf "| %s | %s | %s | %d |\n", $1, $2, $3, $3 - $2}' "$TMP/load.csv"
}

main() {
    parse_args "$@"
    require_tools redis-benchmark redis-cli python3
    require_tricache
    check_out_file
    trap cleanup EXIT INT TERM
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/tricache-failover-parts.XXXXXX")
    : > "$TMP/trials.csv"
    : > "$TMP/load.csv"
    start_cluster 300ms
    run_trials
    stop_cluster
    run_load 150ms
    run_load 300ms
    if [ -n "$OUT" ]; then report | tee "$OUT"; else report; fi
}

main "$@"
