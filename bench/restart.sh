#!/usr/bin/env bash
# bench/restart.sh: write unavailability of planned restarts on a three-node
# tricache cluster, as a writing client sees it.
#
#   1. restart of the primary, --trials times: SIGTERM (it hands its
#      leadership over, then exits), start it again, wait until the cluster
#      is healthy. Per trial: the longest gap between two acknowledged
#      writes and the failed writes; the report gives the median and max.
#   2. rolling restart of all three nodes, --rolling times: in the order
#      `tricachectl restart-plan` prints (replicas by id, the primary last),
#      each node SIGTERMed, started again, and restart-plan's pre-checks
#      passing before the next. Per run: total write unavailability (sum of
#      the gaps longer than 10 ms), the longest gap, failed writes.
# A benchmark, not a test: it never fails on a number. Report on stdout (and
# --out FILE), progress on stderr. See bench/README.md.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
BENCH_NAME=bench/restart.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

TRIALS=10
ROLLING=3
TRICACHE="$REPO_ROOT/build/tricache"
TRICACHECTL=""
OUT=""
READY_TIMEOUT=10
STOP_TIMEOUT=15
SETTLE_TIMEOUT=60
GAP_MS=10
BASELINE_SECONDS=3

TMP=""
TC_PID=("" "" "" "")
TC_PORT=()
RAFT_PORT=()
WRITER_PID=""
STOP_RC=""
WRITER_LINE=""

usage() {
    cat <<EOF
usage: bench/restart.sh [--trials N] [--rolling N] [--tricache PATH] [--out FILE]

Measures write unavailability of planned restarts of a three-node tricache
cluster on 127.0.0.1 and prints a markdown report to stdout.

  --trials N       restarts of the primary (default 10)
  --rolling N      rolling restarts of all three nodes (default 3)
  --tricache PATH  tricache binary (default <repo>/build/tricache; tricachectl
                   is taken from the same folder)
  --out FILE       also write the report to FILE
  -h, --help       show this help
EOF
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --trials | --rolling | --tricache | --out)
                [ $# -ge 2 ] || usage_error "$1 needs a value"
                case $1 in
                    --trials | --rolling)
                        is_positive_int "$2" || usage_error "$1 must be a positive integer, got '$2'"
                        if [ "$1" = --trials ]; then TRIALS=$2; else ROLLING=$2; fi
                        ;;
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

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [ -z "$WRITER_PID" ] || kill "$WRITER_PID" 2> /dev/null || true
    local i pid
    for i in 1 2 3; do
        pid=${TC_PID[$i]}
        [ -n "$pid" ] || continue
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    if [ -n "$TMP" ] && [ -d "$TMP" ] && [ -z "${KEEP_TMP:-}" ]; then rm -rf -- "$TMP"; fi
    exit "$status"
}

py() { python3 -B "$SCRIPT_DIR/$1" "${@:2}"; }
tc_nodes() { echo "1:${TC_PORT[1]},2:${TC_PORT[2]},3:${TC_PORT[3]}"; }
ports_csv() { echo "${TC_PORT[1]},${TC_PORT[2]},${TC_PORT[3]}"; }

start_node() {
    "$TRICACHE" --config "$TMP/cluster.toml" --node "$1" >> "$TMP/tricache-$1.log" 2>&1 &
    TC_PID[$1]=$!
}

# stop_node ID: SIGTERM and wait for the exit; its status in STOP_RC (not
# run in $(...): the node is this shell's child, and TC_PID must change here).
stop_node() {
    local id=$1 pid=${TC_PID[$1]} rc=0 deadline
    echo "stop $(date +%s.%N)" >> "$TMP/marks"
    kill -TERM "$pid"
    deadline=$(($(date +%s) + STOP_TIMEOUT))
    while kill -0 "$pid" 2> /dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || die "node $id did not exit within ${STOP_TIMEOUT}s of SIGTERM"
        sleep 0.01
    done
    wait "$pid" || rc=$?
    echo "exited $(date +%s.%N)" >> "$TMP/marks"
    TC_PID[$id]=""
    STOP_RC=$rc
}

restart_node() {
    start_node "$1"
    wait_ready "tricache node $1" "${TC_PID[$1]}" "${TC_PORT[$1]}" "$TMP/tricache-$1.log"
}

settle() {
    py failover.py settle --nodes "$(tc_nodes)" --timeout "$SETTLE_TIMEOUT" > /dev/null || die "the cluster did not settle"
}

primary_id() {
    local out
    out=$(py failover.py primary --nodes "$(tc_nodes)" --timeout 15) || die "no primary"
    echo "${out%% *}"
}

start_writer() {
    rm -f "$TMP/ready" "$TMP/stop" "$TMP/gaps" "$TMP/marks"
    py restart_writer.py --ports "$(ports_csv)" --ready "$TMP/ready" --stop "$TMP/stop" --gap-ms "$GAP_MS" --gaps "$TMP/gaps" \
        > "$TMP/writer.out" 2>> "$TMP/writer.err" &
    WRITER_PID=$!
    local deadline=$(($(date +%s) + 15))
    until [ -e "$TMP/ready" ]; do
        kill -0 "$WRITER_PID" 2> /dev/null || die "the writer exited: $(tail -n 3 "$TMP/writer.err")"
        [ "$(date +%s)" -lt "$deadline" ] || die "the writer did not get going"
        sleep 0.02
    done
}

# stop_writer: after a moment more of writes, stop it; its line in
# WRITER_LINE (not run in $(...): the writer is this shell's child).
stop_writer() {
    local n0 deadline
    n0=$(cli "${TC_PORT[$(primary_id)]}" GET restart:counter)
    deadline=$(($(date +%s) + 10))
    while [ "$(cli "${TC_PORT[$(primary_id)]}" GET restart:counter)" -lt $((n0 + 200)) ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "writes did not go on after the restart"
        sleep 0.02
    done
    touch "$TMP/stop"
    wait "$WRITER_PID" || die "the writer failed: $(tail -n 3 "$TMP/writer.err")"
    WRITER_PID=""
    WRITER_LINE="$(cat "$TMP/writer.out") $(stop_gap)"
}

# stop_gap: the gaps between acknowledged writes that overlap a node's stop
# (SIGTERM to exit, from $TMP/marks): what the stops themselves cost, apart
# from the noise of the rest of the run. Prints stop_gap_ms (the longest,
# 0 when no gap over GAP_MS did) and stop_total_ms (their sum).
stop_gap() {
    python3 - "$TMP/gaps" "$TMP/marks" <<'PY'
import sys
gaps = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
try:
    marks = [l.split() for l in open(sys.argv[2])]
except FileNotFoundError:
    marks = []
wins = [(float(a[1]), float(b[1])) for a, b in zip(marks[0::2], marks[1::2])]
hit = [(e - s) * 1000 for s, e in gaps for w0, w1 in wins if s <= w1 and e >= w0]
print(f"stop_gap_ms={max(hit) if hit else 0:.1f} stop_total_ms={sum(hit):.1f}")
PY
}

main() {
    parse_args "$@"
    require_tools redis-cli python3 timeout
    require_tricache
    TRICACHECTL=$(dirname "$TRICACHE")/tricachectl
    [ -x "$TRICACHECTL" ] || die "no tricachectl next to $TRICACHE"
    check_out_file
    trap cleanup EXIT INT TERM

    TMP=$(mktemp -d "${TMPDIR:-/tmp}/tricache-restart-bench.XXXXXX")
    local ports i
    read -r -a ports <<< "$(free_ports 6)"
    for i in 1 2 3; do
        TC_PORT[i]=${ports[i - 1]}
        RAFT_PORT[i]=${ports[i + 2]}
    done
    {
        echo 'cluster_name = "bench"'
        echo "data_dir = \"$TMP/data\""
        for i in 1 2 3; do
            printf '[[node]]\nid = %d\nzone = "zone-%d"\nclient_addr = "127.0.0.1:%d"\nraft_addr = "127.0.0.1:%d"\n' \
                "$i" "$i" "${TC_PORT[i]}" "${RAFT_PORT[i]}"
        done
    } > "$TMP/cluster.toml"
    for i in 1 2 3; do start_node "$i"; done
    for i in 1 2 3; do wait_ready "tricache node $i" "${TC_PID[i]}" "${TC_PORT[i]}" "$TMP/tricache-$i.log"; done
    settle

    local t p rc line
    # Baseline: the same client for a few seconds with nothing restarted;
    # on a shared machine a few gaps over 10 ms are scheduling noise.
    start_writer
    sleep "$BASELINE_SECONDS"
    stop_writer
    echo "0 - - $WRITER_LINE" > "$TMP/baseline.txt"
    log "baseline, ${BASELINE_SECONDS}s without restarts: $WRITER_LINE"

    : > "$TMP/primary.txt"
    for t in $(seq "$TRIALS"); do
        p=$(primary_id)
        start_writer
        stop_node "$p"
        rc=$STOP_RC
        restart_node "$p"
        settle
        stop_writer
        line=$WRITER_LINE
        log "primary restart $t (node $p, exit $rc): $line"
        echo "$t $p $rc $line" >> "$TMP/primary.txt"
    done

    : > "$TMP/rolling.txt"
    local r order rcs
    for r in $(seq "$ROLLING"); do
        "$TRICACHECTL" --config "$TMP/cluster.toml" restart-plan > "$TMP/plan.txt" || die "restart-plan's pre-checks failed"
        order=$(sed -n 's/^order: \([0-9 ]*[0-9]\).*/\1/p' "$TMP/plan.txt")
        start_writer
        rcs=""
        for i in $order; do
            stop_node "$i"
            rcs="$rcs$STOP_RC"
            restart_node "$i"
            "$TRICACHECTL" --config "$TMP/cluster.toml" restart-plan --timeout 30s > /dev/null ||
                die "restart-plan's pre-checks failed after restarting node $i"
        done
        stop_writer
        line=$WRITER_LINE
        log "rolling restart $r (order $order, exits $rcs): $line"
        echo "$r ${order// /-} $rcs $line" >> "$TMP/rolling.txt"
    done

    report | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
}

report() {
    python3 - "$TMP/primary.txt" "$TMP/rolling.txt" "$(machine_line_short)" "$GAP_MS" "$TMP/baseline.txt" \
        "$BASELINE_SECONDS" <<'PY'
import statistics, sys

def rows(path):
    out = []
    for line in open(path):
        parts = line.split()
        kv = dict(p.split("=", 1) for p in parts[3:])
        out.append((parts[0], parts[1], parts[2], kv))
    return out

prim, roll, machine, gap = rows(sys.argv[1]), rows(sys.argv[2]), sys.argv[3], sys.argv[4]
print("# Planned restarts: write unavailability\n")
print(f"Machine: {machine}\n")
base = rows(sys.argv[5])[0][3]
print(f"Baseline ({sys.argv[6]} s of writes, nothing restarted): {base['acked']} acked, longest gap "
      f"{base['max_gap_ms']} ms, {base['gaps']} gaps over {gap} ms totalling {base['total_gap_ms']} ms\n")
gaps = [float(r[3]["max_gap_ms"]) for r in prim]
sgaps = [float(r[3]["stop_gap_ms"]) for r in prim]
failed = sum(int(r[3]["failed"]) for r in prim)
print(f"## Restart of the primary (SIGTERM: handover, then exit), {len(prim)} trials\n")
print("| | median | max |\n|---|---:|---:|")
print(f"| longest gap between acknowledged writes overlapping the stop (SIGTERM to exit), ms "
      f"| {statistics.median(sgaps):.1f} | {max(sgaps):.1f} |")
print(f"| longest gap over the whole trial (stop, restart, catch-up), ms | {statistics.median(gaps):.1f} | {max(gaps):.1f} |")
print(f"\n0.0 at the stop: no gap over {gap} ms overlapped it. Failed writes over all trials: {failed}; "
      f"exit codes: {' '.join(r[2] for r in prim)}\n")
print("| trial | node | acked | failed | gap at the stop (ms) | longest gap (ms) |\n|---:|---:|---:|---:|---:|---:|")
for t, node, rc, kv in prim:
    print(f"| {t} | {node} | {kv['acked']} | {kv['failed']} | {kv['stop_gap_ms']} | {kv['max_gap_ms']} |")
print(f"\n## Rolling restart of the three nodes (restart-plan's order), {len(roll)} runs\n")
print(f"at the stops: the sum of the gaps over {gap} ms that overlap one of the three stops (SIGTERM to exit); "
      f"whole run: the sum of every gap over {gap} ms, restarts and catch-up included\n")
stot = [float(r[3]["stop_total_ms"]) for r in roll]
tot = [float(r[3]["total_gap_ms"]) for r in roll]
print(f"median total write unavailability: {statistics.median(stot):.1f} ms at the stops, "
      f"{statistics.median(tot):.1f} ms over the whole run; failed writes: {sum(int(r[3]['failed']) for r in roll)}\n")
print("| run | order | acked | failed | at the stops (ms) | whole run (ms) | gaps | longest gap (ms) |")
print("|---:|---|---:|---:|---:|---:|---:|---:|")
for r, order, rc, kv in roll:
    print(f"| {r} | {order} | {kv['acked']} | {kv['failed']} | {kv['stop_total_ms']} | {kv['total_gap_ms']} "
          f"| {kv['gaps']} | {kv['max_gap_ms']} |")
PY
}

machine_line_short() {
    local model
    model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2> /dev/null || true)
    echo "$(nproc) CPUs, ${model:-unknown CPU}, load average $(cut -d" " -f1-3 /proc/loadavg) at the end; $("$TRICACHE" --version 2>&1 | head -n 1)"
}

main "$@"
