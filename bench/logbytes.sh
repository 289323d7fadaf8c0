#!/usr/bin/env bash
# bench/logbytes.sh: what a node holds while its data is overwritten again
# and again (issue 17's workload) — a three-node cluster, one round per
# snapshot_bytes value given, each on a fresh cluster: 20,000 keys x 1 KB
# written REQUESTS times in all through redis-benchmark -P 16 into the
# primary. Reports SET/s, whether the term moved (an election), and per node
# used_memory, raft_log_memory, RSS now and at its peak (VmHWM), and the
# size of its data directory. A benchmark, not a test: it prints numbers and
# never passes or fails on them. Report on stdout (--out FILE); progress on
# stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/logbytes.sh
READY_TIMEOUT=20
TRICACHE=build/tricache
OUT=""
REQUESTS=600000
SETTINGS=("64mb" "0")

usage() {
    cat << EOF
usage: bench/logbytes.sh [--requests N] [--settings "64mb 0 ..."] [--tricache PATH] [--out FILE]

Overwrites 20,000 keys of 1 KB N times in all on a three-node cluster, once
per snapshot_bytes value, and reports memory, log and elections.
  --requests N     SETs per round (default 600000)
  --settings LIST  snapshot_bytes values, one round each (default "64mb 0")
  --tricache PATH  tricache binary (default <repo>/build/tricache)
  --out FILE       also write the report to FILE
EOF
}

# shellcheck source=bench/lib.sh
. bench/lib.sh

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --requests | --settings | --tricache | --out)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case "$1" in
                --requests) is_positive_int "$2" || usage_error "--requests must be a positive integer"; REQUESTS=$2 ;;
                --settings) read -r -a SETTINGS <<< "$2"; [ ${#SETTINGS[@]} -gt 0 ] || usage_error "--settings is empty" ;;
                --tricache) TRICACHE=$2 ;;
                --out) OUT=$2 ;;
            esac
            shift 2 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done
require_tools redis-cli redis-benchmark python3
require_tricache
check_out_file

WORK=$(mktemp -d /tmp/tricache-bench-logbytes.XXXXXX)
PIDS=()
stop_nodes() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
    PIDS=()
}
cleanup() {
    stop_nodes
    rm -rf "$WORK"
}
trap cleanup EXIT

field() { # field PORT SECTION NAME
    cli "$1" INFO "$2" | tr -d '\r' | sed -n "s/^$3://p"
}
mb() { python3 -c "print('%.0f' % ($1 / 1048576))"; }

rows=()
for setting in "${SETTINGS[@]}"; do
    start_three_nodes "$WORK" bench-logbytes "snapshot_bytes = \"$setting\""
    primary=$PRIMARY
    term0=$(field "${PORTS[$primary]}" replication raft_term)
    log "snapshot_bytes = \"$setting\": $REQUESTS SETs into node $((primary + 1))"
    rps=$(redis-benchmark -p "${PORTS[$primary]}" -t set -n "$REQUESTS" -r 20000 -d 1000 -P 16 -q 2>&1 |
        tr '\r' '\n' | sed -n 's/^SET: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1)
    # the replicas apply what the primary committed last
    sleep 1
    for i in 0 1 2; do
        p=${PORTS[$i]}
        pid=${PIDS[$i]}
        rss=$(awk '/^VmRSS/{print $2 * 1024}' "/proc/$pid/status")
        hwm=$(awk '/^VmHWM/{print $2 * 1024}' "/proc/$pid/status")
        dir=$(du -sb "$WORK/data/node-$((i + 1))" | cut -f1)
        term=$(field "$p" replication raft_term)
        rows+=("| \`$setting\` | $((i + 1))$([ "$i" = "$primary" ] && echo ' (primary)') | ${rps:-failed} | $term0 -> $term | $(mb "$(field "$p" memory used_memory)") | $(mb "$(field "$p" memory raft_log_memory)") | $(mb "$rss") | $(mb "$hwm") | $(mb "$dir") |")
    done
    stop_nodes
done

{
    echo "## The log bounded by bytes: 20,000 keys x 1 KB overwritten, three nodes"
    echo
    echo "$(machine_line)"
    echo
    echo "redis-benchmark -t set -n $REQUESTS -r 20000 -d 1000 -P 16 into the primary; sizes in MB (2^20 bytes)."
    echo
    echo "| snapshot_bytes | node | SET/s | raft_term | used_memory | raft_log_memory | RSS | peak RSS | data directory |"
    echo "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
} | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
