#!/usr/bin/env bash
# bench/slowdisk.sh: does a slow disk cost a three-node cluster its primary?
# (issue 17). Root only: one node at a time is put in a blkio cgroup (v1, or
# io.max under cgroup v2) that throttles writes to the device holding the
# data directory to --iops writes a second, which makes each of its Raft log
# writes (direct I/O, synced) take hundreds of milliseconds. For each case —
# no throttle, a replica throttled, the primary throttled — a writer runs for
# --seconds (redis-benchmark SET, 4 clients, -P 1) into the primary and the
# report shows SET/s, p50/p99, whether the term moved (an election), and the
# throttled node's log write latency (INFO raft_log_write_*). A benchmark,
# not a test: it prints numbers and never passes or fails on them.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/slowdisk.sh
READY_TIMEOUT=20
TRICACHE=build/tricache
OUT=""
IOPS=5
SECONDS_PER_CASE=20

usage() {
    cat << EOF
usage: bench/slowdisk.sh [--iops N] [--seconds N] [--tricache PATH] [--out FILE]

Runs a writer against a three-node cluster with no node, a replica, then
the primary limited to N disk writes a second (root; blkio cgroup).
  --iops N         writes a second the slow node may make (default 5)
  --seconds N      length of the writer per case (default 20)
  --tricache PATH  tricache binary (default <repo>/build/tricache)
  --out FILE       also write the report to FILE
EOF
}

# shellcheck source=bench/lib.sh
. bench/lib.sh

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --iops | --seconds | --tricache | --out)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case "$1" in
                --iops) is_positive_int "$2" || usage_error "--iops must be a positive integer"; IOPS=$2 ;;
                --seconds) is_positive_int "$2" || usage_error "--seconds must be a positive integer"; SECONDS_PER_CASE=$2 ;;
                --tricache) TRICACHE=$2 ;;
                --out) OUT=$2 ;;
            esac
            shift 2 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "throttling a disk needs root (a blkio cgroup)"
require_tools redis-cli redis-benchmark findmnt
require_tricache
check_out_file

WORK=$(mktemp -d /tmp/tricache-bench-slowdisk.XXXXXX)
CG=""
trap 'rm -rf "$WORK"' EXIT
DEVICE=$(findmnt -no MAJ:MIN -T "$WORK" | head -n 1 | tr -d ' ')
[[ $DEVICE =~ ^[0-9]+:[0-9]+$ ]] || die "cannot tell the block device under $WORK"
# a filesystem on a partition is throttled at its disk: use the whole disk's numbers
if [ -e "/sys/dev/block/$DEVICE/partition" ]; then
    DEVICE=$(cat "/sys/dev/block/$DEVICE/../dev")
fi
if [ -d /sys/fs/cgroup/blkio ]; then
    CG=/sys/fs/cgroup/blkio/tricache-bench-slowdisk-$$
    LIMIT_FILE=blkio.throttle.write_iops_device
    LIMIT="$DEVICE $IOPS"
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw io /sys/fs/cgroup/cgroup.controllers; then
    CG=/sys/fs/cgroup/tricache-bench-slowdisk-$$
    LIMIT_FILE=io.max
    LIMIT="$DEVICE wiops=$IOPS"
else
    die "no blkio (cgroup v1) or io (cgroup v2) controller to throttle a disk with"
fi
PIDS=()
stop_nodes() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
    PIDS=()
}
cleanup() {
    stop_nodes
    if [ -n "$CG" ] && [ -d "$CG" ]; then
        # a cgroup is removed once empty; its processes are gone by now
        rmdir "$CG" 2> /dev/null || echo "$BENCH_NAME: could not remove cgroup $CG" >&2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir "$CG"
echo "$LIMIT" > "$CG/$LIMIT_FILE" || die "cannot set $LIMIT_FILE to '$LIMIT'"

field() { # field PORT SECTION NAME
    cli "$1" INFO "$2" | sed -n "s/^$3://p"
}

rows=()
for case in none replica primary; do
    start_three_nodes "$WORK" bench-slowdisk
    primary=$PRIMARY
    slow=""
    case $case in
        replica) slow=$(((primary + 1) % 3)) ;;
        primary) slow=$primary ;;
    esac
    [ -z "$slow" ] || echo "${PIDS[$slow]}" > "$CG/cgroup.procs"
    term0=$(field "${PORTS[$primary]}" replication raft_term)
    log "case $case: writer for ${SECONDS_PER_CASE}s into node $((primary + 1))${slow:+, node $((slow + 1)) throttled to $IOPS writes/s}"
    out=$(timeout $((SECONDS_PER_CASE + 30)) redis-benchmark -p "${PORTS[$primary]}" -t set -c 4 -P 1 -r 100000 -n 100000000 \
        --precision 1 -q 2>&1 & bpid=$!; sleep "$SECONDS_PER_CASE"; kill -INT "$bpid" 2> /dev/null; wait "$bpid" || true)
    last=$(printf '%s' "$out" | tr '\r' '\n' | grep 'SET: rps=' | tail -n 1)
    rps=$(printf '%s' "$last" | sed -n 's/^SET: rps=[0-9.]* (overall: \([0-9.]*\)).*/\1/p')
    avg=$(printf '%s' "$last" | sed -n 's/.*avg_msec=[0-9.]* (overall: \([0-9.]*\)).*/\1/p')
    terms=""
    for i in 0 1 2; do terms+="$(field "${PORTS[$i]}" replication raft_term) "; done
    lat="-"
    if [ -n "$slow" ]; then
        p=${PORTS[$slow]}
        lat="$(field "$p" replication raft_log_writes) writes, avg $(field "$p" replication raft_log_write_avg_ms) ms, max $(field "$p" replication raft_log_write_max_ms) ms, $(field "$p" replication raft_log_writes_slow) over 100 ms"
        echo "${PIDS[$slow]}" > "$(dirname "$CG")/cgroup.procs" 2> /dev/null || true
    fi
    [ -z "${KEEP_LOGS:-}" ] || for i in 1 2 3; do cp "$WORK/node$i.log" "$KEEP_LOGS/$case-node$i.log"; done
    rows+=("| $case | ${rps:-?} | ${avg:-?} | $term0 -> ${terms% } | $lat |")
    stop_nodes
done

{
    echo "## A slow disk: one node limited to $IOPS writes/s ($LIMIT_FILE on $DEVICE)"
    echo
    echo "$(machine_line)"
    echo
    echo "redis-benchmark -t set -c 4 -P 1 into the primary for ${SECONDS_PER_CASE}s per case; term of the primary before -> of each node after."
    echo
    echo "| throttled | SET/s | avg ms | raft_term | the throttled node's log writes |"
    echo "| --- | ---: | ---: | --- | --- |"
    printf '%s\n' "${rows[@]}"
} | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
