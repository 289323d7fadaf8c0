#!/usr/bin/env bash
# bench/catchup.sh: a replica that has fallen behind the primary's last
# snapshot and catches up through InstallSnapshot, on a three-node cluster:
# KEYS keys of 100 bytes (DEBUG POPULATE), one replica stopped (SIGSTOP)
# while 150,000 SETs of 1 KB go into the primary (past snapshot_bytes, so
# the primary's log no longer holds what the replica lacks), then resumed.
# Reports the primary's RSS before and at its peak while it sends the
# snapshot (VmHWM, reset just before), the snapshots it sent and the sends
# it refused (raft/snapshot_sends.c), how long the replica took to hold the
# primary's log, and whether the term moved. tricache only: Redis's full
# resync is a different mechanism (an RDB streamed from a fork). A benchmark,
# not a test: it prints numbers and never passes or fails on them.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/catchup.sh
READY_TIMEOUT=30
TRICACHE=build/tricache
OUT=""
KEYS=6000000

usage() {
    cat << EOF
usage: bench/catchup.sh [--keys N] [--tricache PATH] [--out FILE]

  --keys N         keys of 100 bytes before the replica stops (default 6000000)
  --tricache PATH  tricache binary (default <repo>/build/tricache)
  --out FILE       also write the report to FILE
EOF
}

# shellcheck source=bench/lib.sh
. bench/lib.sh

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --keys | --tricache | --out)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case "$1" in
                --keys) is_positive_int "$2" || usage_error "--keys must be a positive integer"; KEYS=$2 ;;
                --tricache) TRICACHE=$2 ;;
                --out) OUT=$2 ;;
            esac
            shift 2 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done
require_tools redis-cli redis-benchmark
require_tricache
check_out_file

WORK=$(mktemp -d /tmp/tricache-bench-catchup.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -CONT "$p" 2> /dev/null || true; kill "$p" 2> /dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

field() { cli "$1" INFO replication | sed -n "s/^$2://p" | tr -d '\r'; }
kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

start_three_nodes "$WORK" bench-catchup 'log_level = "info"' # its snapshot lines
P=${PORTS[$PRIMARY]}
PP=${PIDS[$PRIMARY]}
R=$(((PRIMARY + 1) % 3))
log "populating $KEYS keys"
cli "$P" DEBUG POPULATE "$KEYS" key 100 > /dev/null
t0=$(field "$P" raft_term)
kill -STOP "${PIDS[$R]}"
log "replica node $((R + 1)) stopped; 150,000 SETs of 1 KB into the primary"
redis-benchmark -p "$P" -t set -d 1000 -n 150000 -c 20 -P 4 -r 1000000 -q > /dev/null 2>&1
target=$(field "$P" raft_commit_index)
rss_before=$(kb "$PP" VmRSS)
echo 5 > "/proc/$PP/clear_refs" # VmHWM from now on
start=$(date +%s%N)
kill -CONT "${PIDS[$R]}"
deadline=$(($(date +%s) + 300))
until [ "$(field "${PORTS[$R]}" raft_applied_index)" -ge "$target" ] 2> /dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || die "the replica did not catch up within 300 s"
    sleep 0.1
done
secs=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN {printf "%.1f", ns / 1e9}')
sleep 2 # the primary's last sends finish
{
    echo "## A replica catching up from a snapshot"
    echo
    echo "$(machine_line)"
    echo
    echo "| keys | primary RSS before | primary RSS peak | snapshots sent | sends refused | caught up after | term |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    echo "| $KEYS | $((rss_before / 1024)) MB | $(($(kb "$PP" VmHWM) / 1024)) MB | $(field "$P" raft_snapshots_sent) | $(field "$P" raft_snapshot_sends_refused) | $secs s | $t0 -> $(field "$P" raft_term) |"
    echo
    grep -h "raft snapshot at index" "$WORK/node$((PRIMARY + 1)).log" | tail -n 1 | sed 's/^[^-]*- /- the primary'"'"'s last snapshot: /'
} | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
