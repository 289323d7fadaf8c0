#!/usr/bin/env bash
# bench/bigvalue.sh: big string values (issue 18) on tricache's three nodes
# and on Redis (a primary with two replicaof replicas), one after the other
# in one run. For each size (--sizes, MB) and round: a client SETs a value
# of random bytes on the primary and GETs it back, timed by the client
# (bench/bigvalue_client.py); Redis's SET is followed by WAIT 1 0, so both
# answer once a second node holds the value (tricache answers at a majority
# commit). For tricache it also reports the primary's term before and after
# (an election moves it) and each node's RSS at the end.
# A benchmark, not a test: it prints numbers and never passes or fails on them.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/bigvalue.sh
READY_TIMEOUT=30
TRICACHE=build/tricache
OUT=""
ROUNDS=3
SIZES="100 500"
GAP=0

usage() {
    cat << EOF
usage: bench/bigvalue.sh [--rounds N] [--sizes "MB MB..."] [--gap SECONDS] [--tricache PATH] [--out FILE]

  --rounds N       rounds per size (default 3; the median is reported)
  --sizes LIST     value sizes in MB, at most 512 each (default "100 500")
  --gap SECONDS    pause before each round's SET (default 0: back to back, so
                   each SET shares the CPUs with the snapshots after the last)
  --tricache PATH  tricache binary (default <repo>/build/tricache)
  --out FILE       also write the report to FILE
EOF
}

# shellcheck source=bench/lib.sh
. bench/lib.sh

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --rounds | --sizes | --gap | --tricache | --out)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case "$1" in
                --rounds) is_positive_int "$2" || usage_error "--rounds must be a positive integer"; ROUNDS=$2 ;;
                --sizes) SIZES=$2 ;;
                --gap) is_positive_int "$2" || [ "$2" = 0 ] || usage_error "--gap must be a whole number of seconds"; GAP=$2 ;;
                --tricache) TRICACHE=$2 ;;
                --out) OUT=$2 ;;
            esac
            shift 2 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done
for mb in $SIZES; do
    is_positive_int "$mb" && [ "$mb" -le 512 ] || usage_error "--sizes: '$mb' is not a size from 1 to 512 (MB)"
done
require_tools redis-cli redis-server python3
require_tricache
check_out_file

WORK=$(mktemp -d /tmp/tricache-bench-bigvalue.XXXXXX)
PIDS=()
stop_all() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
    PIDS=()
}
cleanup() {
    stop_all
    rm -rf "$WORK"
}
trap cleanup EXIT

# The block device holding the data directories, whose written sectors the
# client reads around each SET (every node shares it here); "" if unknown.
DISK_STAT=""
dev=$(findmnt -n -o SOURCE --target "$WORK" 2> /dev/null || true)
dev=$(basename "${dev%%\[*}" 2> /dev/null || true)
[ -n "$dev" ] && [ -r "/sys/class/block/$dev/stat" ] && DISK_STAT=/sys/class/block/$dev/stat

# ROWS: system|MB|set ms|get ms|ok rounds|disk MB per SET (medians over the rounds)
ROWS=()
NOTES=()
measure() { # measure NAME PORT WAIT_REPLICAS
    local name=$1 port=$2 waitn=$3 mb line
    for mb in $SIZES; do
        log "$name: $mb MB x $ROUNDS"
        line=$(python3 bench/bigvalue_client.py --port "$port" --mb "$mb" --rounds "$ROUNDS" --wait "$waitn" \
            --gap "$GAP" --disk-stat "$DISK_STAT") ||
            die "the client failed against $name"
        ROWS+=("$name|$mb|$line")
    done
}

rss_mb() { cli "$1" INFO memory | sed -n 's/^used_memory_rss://p' | awk '{printf "%d", $1 / 1048576}'; }
discarded() { cli "$1" INFO replication | sed -n 's/^raft_snapshot_images_discarded://p' | tr -d '\r'; }
term_of() { cli "$1" INFO replication | sed -n 's/^raft_term://p'; }

run_tricache() {
    # the default limit is 128mb (README "Big string values"); the bench
    # measures the sizes it is given, up to 512 MB
    start_three_nodes "$WORK" bench-bigvalue 'replicated_write_max_bytes = "512mb"'
    local p=${PORTS[$PRIMARY]} t0 t1
    t0=$(term_of "$p")
    measure tricache "$p" 0
    t1=$(term_of "$p")
    NOTES+=("tricache: the primary's term $t0 -> $t1; RSS at the end (MB): $(rss_mb "${PORTS[0]}"), $(rss_mb "${PORTS[1]}"), $(rss_mb "${PORTS[2]}"); snapshot images discarded unused: $(discarded "${PORTS[0]}"), $(discarded "${PORTS[1]}"), $(discarded "${PORTS[2]}")")
    stop_all
}

run_redis() {
    local ports i
    read -r -a ports <<< "$(free_ports 3)"
    for i in 0 1 2; do
        mkdir -p "$WORK/redis-$i"
        local extra=()
        [ "$i" = 0 ] || extra=(--replicaof 127.0.0.1 "${ports[0]}")
        # replica output buffers unlimited: the default 256mb hard limit
        # would drop the replicas on every 500 MB write and resync them
        redis-server --port "${ports[i]}" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
            --client-output-buffer-limit "replica 0 0 0" --dir "$WORK/redis-$i" "${extra[@]}" > "$WORK/redis-$i.log" 2>&1 &
        PIDS+=($!)
    done
    for i in 0 1 2; do wait_ready "redis-server $i" "${PIDS[i]}" "${ports[i]}" "$WORK/redis-$i.log"; done
    local deadline=$(($(date +%s) + 30))
    until [ "$(cli "${ports[0]}" INFO replication | grep -c 'state=online')" = 2 ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "Redis replicas never came online"
        sleep 0.1
    done
    measure "Redis (SET + WAIT 1)" "${ports[0]}" 1
    NOTES+=("Redis: RSS at the end (MB): $(rss_mb "${ports[0]}"), $(rss_mb "${ports[1]}"), $(rss_mb "${ports[2]}")")
    stop_all
}

run_redis
run_tricache

{
    echo "## Big values"
    echo
    echo "$(machine_line)"
    echo
    spacing="back to back"
    [ "$GAP" != 0 ] && spacing="$GAP s before each SET"
    echo "A value of random bytes SET on the primary, then GET back by the same client ($spacing); median of $ROUNDS rounds (ms); ratio to Redis in brackets."
    echo "Disk MB: what ${DISK_STAT:-(no block device found)} wrote while a SET ran, every server's writes together (Redis here persists nothing)."
    echo
    echo "| system | MB | SET | GET | rounds answered OK | disk MB per SET |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for row in "${ROWS[@]}"; do
        IFS='|' read -r name mb set get ok disk <<< "$row"
        ref=""
        for r in "${ROWS[@]}"; do
            IFS='|' read -r rn rmb rset rget _ <<< "$r"
            [ "$rn" != "$name" ] && [ "$rmb" = "$mb" ] && [[ $rn == Redis* ]] && ref="$rset|$rget"
        done
        if [ -n "$ref" ] && [[ $name != Redis* ]]; then
            IFS='|' read -r rset rget <<< "$ref"
            printf '| %s | %s | %s (%s) | %s (%s) | %s | %s |\n' "$name" "$mb" \
                "$set" "$(awk -v a="$set" -v b="$rset" 'BEGIN {printf "%.2f", a / b}')" \
                "$get" "$(awk -v a="$get" -v b="$rget" 'BEGIN {printf "%.2f", a / b}')" "$ok" "$disk"
        else
            printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$mb" "$set" "$get" "$ok" "$disk"
        fi
    done
    echo
    for n in "${NOTES[@]}"; do echo "- $n"; done
} | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
