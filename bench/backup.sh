#!/usr/bin/env bash
# bench/backup.sh: tricache's backups against Redis's RDB, side by side on
# this machine, in one run.
#
# A benchmark, not a test: it prints numbers and never passes or fails on
# them. With N keys `key:<n>` holding random V-byte values (the same data in
# both, loaded with redis-cli --pipe) it measures, over several rounds:
#   1. backup: BGSAVE on a one-node tricache (lz4 + AES-256-GCM, to a file://
#      destination) and on redis-server: time until done, file size, fork
#      time, the latency a GET probe sees during it (event-loop stalls), and
#      the extra memory of the server and its forked child;
#   2. restore: `tricachectl restore` of that backup into a running empty
#      one-node and three-node tricache, against redis-server loading the
#      RDB at start;
#   3. catch-up: a new, empty tricache node joining a loaded three-node
#      cluster (MEMBERS ADD; it catches up from a Raft snapshot), against a
#      new `redis-server --replicaof` doing a full sync (disk-based and
#      diskless).
# The markdown report goes to stdout (and to --out FILE); progress goes to
# stderr. See bench/README.md.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
BENCH_NAME=bench/backup.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

# ---- settings (defaults; flags override) ------------------------------------

ROUNDS=3
KEYS=1000000
VALUE_SIZE=100
ALPHABET=printable
SEED=20240601
# SETs per second to random keys during each BGSAVE: a snapshot of an idle
# server copies almost nothing on write, which is not how it runs in use.
WRITE_RATE=1000
# Raft log entries between two snapshots in the catch-up cluster. Loading
# with redis-cli --pipe packs thousands of SETs into one log entry, so 1M
# keys make only a few hundred entries: with the default (65536) the log
# would never be compacted and a new node would replay it instead of
# installing a snapshot, which is what a long-running cluster does. After
# the load, 2 x this many single writes make the snapshot. (With a value
# below the load's entry count, snapshots of the growing keyspace run during
# the load; with 64 that cost several elections here.)
SNAPSHOT_THRESHOLD=1024
TRICACHE="$REPO_ROOT/build/tricache"
TRICACHECTL="$REPO_ROOT/build/tricachectl"
OUT=""
KEEP=0
ARGS_TEXT="$*"

READY_TIMEOUT=20 # seconds to wait for a server to answer PING
STOP_TIMEOUT=10  # seconds to wait for a server to exit after SIGTERM
LONG_TIMEOUT=600 # seconds for one load, restore or Redis sync
CATCHUP_TIMEOUT=600 # seconds for a new tricache node to catch up
RESTORE_ATTEMPTS=3  # a restore interrupted by a failover is run again

# ---- state used by cleanup() --------------------------------------------------
# PROC_NAME[pid] = what it is, for every process this script started and has
# not yet reaped. cleanup() stops exactly these pids.

TMP=""
declare -A PROC_NAME=()
STARTED_PID=""
RD_PORT=""
RL_PORT=""
RR_PORT=""
TS_PORT=""
TS_RAFT=""
RD_PID=""
TS_PID=""
declare -a T3_PORT=() T3_RAFT=() TC_PORT=() TC_RAFT=() TC_PID=()
TC_PRIMARY="" # client port of the catch-up cluster's primary
DATA_JSON=""
BACKUP_NAME=""
BACKUP_DIR=""

# ---- helpers --------------------------------------------------------------------

usage() {
    cat <<EOF
usage: bench/backup.sh [--rounds N] [--keys N] [--value-size N] [--quick]
                       [--alphabet printable|binary] [--write-rate N]
                       [--snapshot-threshold N] [--tricache PATH] [--out FILE] [--keep]

Compares tricache's backup, restore and replica catch-up with Redis's BGSAVE,
RDB loading and full sync on 127.0.0.1 and prints a markdown report to stdout.

  --rounds N              rounds of every measurement (default 3; medians reported)
  --keys N                keys in the data set (default 1000000)
  --value-size N          bytes per value (default 100)
  --quick                 a smoke run: 100000 keys, 1 round (--keys/--rounds after it override)
  --alphabet A            printable: values of 64 printable characters (6 random bits a
                          byte, what a text cache holds); binary: all 256 byte values
                          (default printable)
  --write-rate N          SETs per second during each BGSAVE, 0 for none (default 1000)
  --snapshot-threshold N  snapshot_threshold of the catch-up cluster (default 1024)
  --tricache PATH         tricache binary (default <repo>/build/tricache; tricachectl is
                          taken from the same folder)
  --out FILE              also write the report to FILE
  --keep                  keep the temp dir (logs, backups, raw results) and print its path
  -h, --help              show this help
EOF
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --rounds | --keys | --value-size | --alphabet | --write-rate | --snapshot-threshold | --tricache | --out)
                [ $# -ge 2 ] || usage_error "$1 needs a value"
                local flag=$1 value=$2
                shift 2
                case $flag in
                    --rounds | --keys | --value-size | --snapshot-threshold)
                        is_positive_int "$value" || usage_error "$flag must be a positive integer, got '$value'"
                        case $flag in
                            --rounds) ROUNDS=$value ;;
                            --keys) KEYS=$value ;;
                            --value-size) VALUE_SIZE=$value ;;
                            --snapshot-threshold) SNAPSHOT_THRESHOLD=$value ;;
                        esac
                        ;;
                    --write-rate)
                        [[ $value =~ ^(0|[1-9][0-9]*)$ ]] || usage_error "--write-rate must be 0 or a positive integer, got '$value'"
                        WRITE_RATE=$value
                        ;;
                    --alphabet)
                        [[ $value == printable || $value == binary ]] || usage_error "--alphabet must be printable or binary, got '$value'"
                        ALPHABET=$value
                        ;;
                    --tricache) TRICACHE=$value ;;
                    --out) OUT=$value ;;
                esac
                ;;
            --keep)
                KEEP=1
                shift
                ;;
            --quick)
                KEYS=100000
                ROUNDS=1
                shift
                ;;
            -h | --help)
                usage
                exit 0
                ;;
            *) usage_error "unknown argument '$1'" ;;
        esac
    done
    [ "$SNAPSHOT_THRESHOLD" -ge 64 ] || usage_error "--snapshot-threshold must be at least 64 (tricache's minimum)"
}

check_prerequisites() {
    require_tools redis-server redis-cli python3 timeout
    require_tricache
    TRICACHECTL=$(dirname "$TRICACHE")/tricachectl
    [ -x "$TRICACHECTL" ] || die "tricachectl is missing next to $TRICACHE"
    "$TRICACHECTL" --help 2>&1 | grep -q 'restore --from' ||
        die "$TRICACHECTL has no 'restore' command yet (rebuild it: scripts/build.sh release)"
    "$TRICACHECTL" --help 2>&1 | grep -q 'keys generate' ||
        die "$TRICACHECTL has no 'keys generate' command yet (rebuild it: scripts/build.sh release)"
    check_out_file
}

# ---- processes -------------------------------------------------------------------

# track PID NAME: remember a process this script started, for cleanup().
track() {
    PROC_NAME[$1]=$2
}

# stop_pid PID: SIGCONT (in case it was stopped), SIGTERM, up to STOP_TIMEOUT
# seconds, then SIGKILL; reaps it and forgets it. Only pids from track().
stop_pid() {
    local pid=$1 name deadline
    [ -n "$pid" ] || return 0
    name=${PROC_NAME[$pid]:-}
    [ -n "$name" ] || return 0
    if kill -0 "$pid" 2> /dev/null; then
        kill -CONT "$pid" 2> /dev/null || true
        kill "$pid" 2> /dev/null || true
        deadline=$(($(date +%s) + STOP_TIMEOUT))
        while kill -0 "$pid" 2> /dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
            sleep 0.05
        done
        if kill -0 "$pid" 2> /dev/null; then
            echo "[bench] $name (pid $pid) ignored SIGTERM; sending SIGKILL" >&2
            kill -KILL "$pid" 2> /dev/null || true
        fi
    fi
    wait "$pid" 2> /dev/null || true
    unset "PROC_NAME[$pid]"
}

# run_tracked NAME IN OUT CMD...: runs CMD in the background with stdin from
# IN, stdout to OUT and stderr to OUT.err, and waits for it; if it fails, the
# end of OUT.err is shown. Long steps go through here because bash runs a
# signal trap only once the foreground command returns, but interrupts `wait`
# at once: Ctrl-C or SIGTERM then stops the run (and CMD) without delay.
run_tracked() {
    local name=$1 in=$2 out=$3 pid rc=0
    shift 3
    "$@" < "$in" > "$out" 2> "$out.err" &
    pid=$!
    track "$pid" "$name"
    wait "$pid" || rc=$?
    unset "PROC_NAME[$pid]"
    if [ "$rc" != 0 ]; then
        echo "[bench] $name exited with status $rc:" >&2
        tail -n 20 "$out.err" >&2
    fi
    return "$rc"
}

# note TEXT: something that went wrong but did not stop the run; it goes
# into the report.
note() {
    log "note: $1"
    python3 -c 'import json, sys; print(json.dumps({"kind": "note", "text": sys.argv[1]}))' "$1" >> "$TMP/results.jsonl"
}

# Runs on every exit (normal, error, Ctrl-C, SIGTERM): stop exactly the
# processes this script started, then remove the temp dir.
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${!PROC_NAME[@]}"; do
        stop_pid "$pid"
    done
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        if [ "$KEEP" = 1 ]; then
            echo "[bench] --keep: logs, backups and results.jsonl are in $TMP" >&2
        else
            rm -rf -- "$TMP"
        fi
    fi
    exit "$status"
}

# py SUBCOMMAND ARGS...: bench/backup_report.py. Processes that run in the
# background call python3 directly instead, so that $! is python's own pid.
py() {
    python3 -B "$SCRIPT_DIR/backup_report.py" "$@"
}

now_ns() {
    date +%s%N
}

# start_redis NAME PORT DIR [ARGS...]: a redis-server without persistence
# schedules (BGSAVE is sent by hand). Sets STARTED_PID.
start_redis() {
    local name=$1 port=$2 dir=$3
    shift 3
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$dir" --dbfilename dump.rdb "$@" >> "$dir/redis.log" 2>&1 &
    STARTED_PID=$!
    track "$STARTED_PID" "$name"
}

# write_cluster_toml FILE DIR THRESHOLD CLIENT_PORT:RAFT_PORT[:join]...: a
# cluster of one or more nodes (ids 1, 2, …, zones zone-a, zone-b, …; ":join"
# marks a node added later with MEMBERS ADD) whose backups are encrypted with
# the key in TMP/keys and go to DIR/backups.
write_cluster_toml() {
    local file=$1 dir=$2 threshold=$3
    shift 3
    local zones=(zone-a zone-b zone-c zone-d zone-e) i=0 pair
    mkdir -p "$dir/data" "$dir/backups"
    {
        echo 'cluster_name = "bench"'
        echo "data_dir = \"$dir/data\""
        echo "keys_dir = \"$TMP/keys\""
        echo "snapshot_threshold = $threshold"
        # info: the Raft snapshot lines say how a replica caught up
        echo 'log_level = "info"'
        echo "[backup]"
        echo "destination = \"file://$dir/backups\""
        local client raft join
        for pair in "$@"; do
            i=$((i + 1))
            IFS=: read -r client raft join <<< "$pair"
            echo "[[node]]"
            echo "id = $i"
            echo "zone = \"${zones[i - 1]}\""
            echo "client_addr = \"127.0.0.1:$client\""
            echo "raft_addr = \"127.0.0.1:$raft\""
            [ -z "$join" ] || echo "join = true"
        done
    } > "$file"
}

# start_tricache NAME DIR NODE: node NODE of DIR/cluster.toml, logging to
# DIR/node-NODE.log. Sets STARTED_PID.
start_tricache() {
    local name=$1 dir=$2 node=$3
    "$TRICACHE" --config "$dir/cluster.toml" --node "$node" >> "$dir/node-$node.log" 2>&1 &
    STARTED_PID=$!
    track "$STARTED_PID" "$name"
}

# tc_primary_port PORT...: the client port of the node that says role:master
# (polls up to READY_TIMEOUT).
tc_primary_port() {
    local deadline port
    deadline=$(($(date +%s) + READY_TIMEOUT))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        for port in "$@"; do
            if [ "$(cli "$port" ROLE 2> /dev/null | head -n 1)" = master ]; then
                echo "$port"
                return 0
            fi
        done
        sleep 0.1
    done
    return 1
}

# max_raft_term PORT...: the highest raft_term the nodes report (0 if none answers).
max_raft_term() {
    local port t max=0
    for port in "$@"; do
        t=$(cli "$port" INFO replication 2> /dev/null | awk -F: '$1 == "raft_term" {print $2}')
        [[ $t =~ ^[0-9]+$ ]] && ((t > max)) && max=$t
    done
    echo "$max"
}

# wait_healthy CONFIG: until tricachectl status says one primary and every node up.
wait_healthy() {
    local config=$1 deadline
    deadline=$(($(date +%s) + READY_TIMEOUT))
    until "$TRICACHECTL" --config "$config" status > /dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || die "the cluster of $config did not become healthy: $("$TRICACHECTL" --config "$config" status 2>&1 || true)"
        sleep 0.1
    done
}

# discard_dir DIR LABEL: remove a trial's directory; with --keep its logs
# are kept first in TMP/kept/LABEL.
discard_dir() {
    local dir=$1 label=$2
    if [ "$KEEP" = 1 ]; then
        mkdir -p "$TMP/kept/$label"
        find "$dir" -maxdepth 2 -type f \( -name '*.log' -o -name '*.out' -o -name '*.err' \) \
            -exec cp {} "$TMP/kept/$label/" \;
    fi
    rm -rf -- "$dir"
}

# load_data NAME PORT [cluster]: the data set through redis-cli --pipe, then
# DBSIZE. The catch-up cluster ("cluster") may answer some SETs with an error
# (-TRYAGAIN when the primary loses its leadership under the flood); SETs of
# the same values are idempotent, so the load is sent again to the primary
# of the moment, up to 3 times, and noted in the report.
load_data() {
    local name=$1 port=$2 cluster=${3:-} out n attempt errors kinds
    for attempt in 1 2 3; do
        log "loading $KEYS keys into $name (port $port)"
        # redis-cli exits with 1 when any reply was an error: judged below
        # from its "errors: N, replies: M" line instead.
        # shellcheck disable=SC2016 # $1 and $2 are the inner bash's arguments
        run_tracked "redis-cli --pipe" "$TMP/data.resp" "$TMP/pipe.out" \
            bash -c 'timeout "$1" redis-cli -h 127.0.0.1 -p "$2" --pipe; echo "exit status $?"' _ "$LONG_TIMEOUT" "$port" ||
            die "redis-cli --pipe into $name failed"
        out=$(cat "$TMP/pipe.out")
        errors=$(sed -n 's/^errors: \([0-9]*\), replies: .*/\1/p' <<< "$out")
        [[ $errors =~ ^[0-9]+$ ]] || die "redis-cli --pipe into $name: $out $(tail -n 5 "$TMP/pipe.out.err")"
        [ "$errors" != 0 ] || break
        # redis-cli prints each error reply on stderr: count them by their first words.
        kinds=$(cut -c1-60 "$TMP/pipe.out.err" | sort | uniq -c | sort -rn | head -n 3 | sed 's/^ *//' | paste -sd ';' -)
        [ -n "$cluster" ] || die "redis-cli --pipe into $name: $errors error replies ($kinds)"
        note "loading $KEYS keys into $name with redis-cli --pipe, attempt $attempt: $errors error replies ($kinds); sent again"
        [ "$attempt" -lt 3 ] || die "$name refused part of the data set 3 times"
        # the cluster needs a primary again before the next attempt
        port=$(tc_primary_port "${TC_PORT[1]}" "${TC_PORT[2]}" "${TC_PORT[3]}") || die "no tricache primary"
        TC_PRIMARY=$port
    done
    n=$(cli "$port" DBSIZE)
    [ "$n" = "$KEYS" ] || die "$name holds $n keys after loading, expected $KEYS"
}

# ---- 0: data and the source servers -------------------------------------------------

make_data() {
    log "generating $KEYS keys with $VALUE_SIZE-byte $ALPHABET values (seed $SEED)"
    local gen
    run_tracked "data generator" /dev/null "$TMP/gen.json" python3 -B "$SCRIPT_DIR/backup_report.py" gen \
        --keys "$KEYS" --size "$VALUE_SIZE" --seed "$SEED" --alphabet "$ALPHABET" --out "$TMP/data.resp" ||
        die "generating the data failed"
    gen=$(cat "$TMP/gen.json")
    local raw alphabet_text
    raw=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["raw_bytes"])' "$gen")
    if [ "$ALPHABET" = printable ]; then
        alphabet_text="64 printable characters A–Z a–z 0–9 + /, 6 random bits a byte"
    else
        alphabet_text="all 256 byte values"
    fi
    DATA_JSON=$(printf '{"keys": %d, "size": %d, "seed": %d, "raw_bytes": %d, "alphabet": "%s", "alphabet_text": "%s"}' \
        "$KEYS" "$VALUE_SIZE" "$SEED" "$raw" "$ALPHABET" "$alphabet_text")
}

start_sources() {
    mkdir -p "$TMP/keys"
    "$TRICACHECTL" keys generate --dir "$TMP/keys" > "$TMP/keys.log" 2>&1 ||
        die "tricachectl keys generate failed: $(cat "$TMP/keys.log")"

    start_redis "redis-server (master)" "$RD_PORT" "$TMP/redis-master"
    RD_PID=$STARTED_PID
    write_cluster_toml "$TMP/single/cluster.toml" "$TMP/single" 65536 "$TS_PORT:$TS_RAFT"
    start_tricache "tricache (single node)" "$TMP/single" 1
    TS_PID=$STARTED_PID
    wait_ready "redis-server (master)" "$RD_PID" "$RD_PORT" "$TMP/redis-master/redis.log"
    wait_ready "tricache (single node)" "$TS_PID" "$TS_PORT" "$TMP/single/node-1.log"

    load_data redis "$RD_PORT"
    load_data "tricache (single node)" "$TS_PORT"
    # Same data on both sides: spot-check a few keys.
    local k
    for k in 0 $((KEYS / 2)) $((KEYS - 1)); do
        [ "$(cli "$RD_PORT" GET "key:$k" | md5sum)" = "$(cli "$TS_PORT" GET "key:$k" | md5sum)" ] ||
            die "key:$k differs between redis and tricache after loading"
    done
}

# ---- 1: BGSAVE ----------------------------------------------------------------------

# bgsave_trial SYSTEM ROUND: one BGSAVE with the probe (and the writer)
# running; appends a "bgsave" line to results.jsonl.
bgsave_trial() {
    local system=$1 round=$2 port pid probe_pid writer_pid="" rec extra=()
    if [ "$system" = redis ]; then
        port=$RD_PORT
        pid=$RD_PID
        extra=(--rdb "$TMP/redis-master/dump.rdb")
    else
        port=$TS_PORT
        pid=$TS_PID
        extra=(--log "$TMP/single/node-1.log")
    fi
    log "round $round/$ROUNDS  BGSAVE on $system"
    python3 -B "$SCRIPT_DIR/backup_report.py" probe --port "$port" --keys "$KEYS" --out "$TMP/probe.bin" &
    probe_pid=$!
    track "$probe_pid" "latency probe"
    if [ "$WRITE_RATE" -gt 0 ]; then
        python3 -B "$SCRIPT_DIR/backup_report.py" writer --port "$port" --keys "$KEYS" --size "$VALUE_SIZE" \
            --rate "$WRITE_RATE" --alphabet "$ALPHABET" > /dev/null &
        writer_pid=$!
        track "$writer_pid" "writer"
    fi
    sleep 0.3 # both connected and running before the baseline second starts
    run_tracked "BGSAVE driver" /dev/null "$TMP/bgsave.json" python3 -B "$SCRIPT_DIR/backup_report.py" bgsave \
        --system "$system" --port "$port" --pid "$pid" --round "$round" "${extra[@]}" ||
        die "BGSAVE on $system failed"
    rec=$(cat "$TMP/bgsave.json")
    stop_pid "$writer_pid"
    stop_pid "$probe_pid"
    rec=$(py stall --record "$rec" --probe "$TMP/probe.bin") || die "reading the probe's latencies failed"
    rm -f "$TMP/probe.bin"
    echo "$rec" >> "$TMP/results.jsonl"
    py summary --record "$rec" >&2
    [ "$(py summary --record "$rec" --field keys)" = "$KEYS" ] ||
        die "the $system backup does not hold $KEYS keys"
    sleep 1 # let the child's memory go back and the machine settle
}

run_bgsave() {
    local round
    for ((round = 1; round <= ROUNDS; round++)); do
        # Alternate who goes first, so neither always runs in the other's wake.
        if ((round % 2 == 1)); then
            bgsave_trial redis "$round"
            bgsave_trial tricache "$round"
        else
            bgsave_trial tricache "$round"
            bgsave_trial redis "$round"
        fi
    done
    # Restores use the last tricache backup (and Redis the last RDB).
    BACKUP_NAME=$(python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print([r["name"] for r in recs if r["kind"] == "bgsave" and r["system"] == "tricache"][-1])' "$TMP/results.jsonl")
    BACKUP_DIR="$TMP/single/backups"
    # The node is not needed any more; its backups stay in BACKUP_DIR.
    stop_pid "$TS_PID"
}

# ---- 2: restore ---------------------------------------------------------------------

# redis_load_trial ROUND: redis-server started on (a copy of) the last RDB,
# timed from its start until INFO says loading:0.
redis_load_trial() {
    local round=$1 dir="$TMP/redis-load" t0 res pid secs
    log "round $round/$ROUNDS  redis-server loading the RDB at start"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$TMP/redis-master/dump.rdb" "$dir/dump.rdb"
    t0=$(now_ns)
    start_redis "redis-server (loading)" "$RL_PORT" "$dir"
    pid=$STARTED_PID
    run_tracked "wait-loaded" /dev/null "$TMP/wait.json" python3 -B "$SCRIPT_DIR/backup_report.py" wait-loaded \
        --port "$RL_PORT" --t0 "$t0" --keys "$KEYS" --timeout "$LONG_TIMEOUT" ||
        { tail -n 20 "$dir/redis.log" >&2; die "redis-server did not load the RDB"; }
    res=$(cat "$TMP/wait.json")
    secs=$(sed -n 's/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' "$dir/redis.log" | tail -n 1)
    [ -n "$secs" ] || secs=nan
    stop_pid "$pid"
    discard_dir "$dir" "redis-load-$round"
    echo "$res" | python3 -c '
import json, sys
r = json.load(sys.stdin)
r.update(kind="load", system="redis", round=int(sys.argv[1]), redis_log_s=float(sys.argv[2]))
print(json.dumps(r))' "$round" "$secs" >> "$TMP/results.jsonl"
    log "  $(tail -n 1 "$TMP/results.jsonl")"
}

# duration_s TEXT: tricachectl's durations ("850 ms", "3.2 s", "1m05s") in seconds.
duration_s() {
    awk -v d="$1" 'BEGIN {
        if (d ~ / ms$/) { sub(/ ms$/, "", d); print d / 1000; exit }
        if (d ~ / s$/) { sub(/ s$/, "", d); print d + 0; exit }
        if (d ~ /^[0-9]+m[0-9]+s$/) { split(d, p, "m"); sub(/s/, "", p[2]); print p[1] * 60 + p[2]; exit }
        print "nan" }'
}

# tricache_restore_trial NODES ROUND: a fresh NODES-node cluster, started and
# healthy; `tricachectl restore` of the last backup timed from its start to
# its exit (it waits until every node applied the restore and their digests
# agree).
tricache_restore_trial() {
    local nodes=$1 round=$2 dir="$TMP/restore-$1" pairs=() ports=() pids=() i t0 t1 out committed n primary
    log "round $round/$ROUNDS  tricachectl restore into an empty $nodes-node cluster"
    rm -rf "$dir"
    mkdir -p "$dir"
    for ((i = 1; i <= nodes; i++)); do
        pairs+=("${T3_PORT[i]}:${T3_RAFT[i]}")
        ports+=("${T3_PORT[i]}")
    done
    write_cluster_toml "$dir/cluster.toml" "$dir" 65536 "${pairs[@]}"
    for ((i = 1; i <= nodes; i++)); do
        start_tricache "tricache restore-$nodes node $i" "$dir" "$i"
        pids+=("$STARTED_PID")
    done
    for ((i = 1; i <= nodes; i++)); do
        wait_ready "tricache restore-$nodes node $i" "${pids[i - 1]}" "${T3_PORT[i]}" "$dir/node-$i.log"
    done
    wait_healthy "$dir/cluster.toml"
    # A restore that fails changes nothing (tricachectl says so, and to run
    # it again): it is run again, up to RESTORE_ATTEMPTS times, and the
    # failures are reported with the Raft term before and after (a higher
    # term means an election happened).
    local attempt=0 failures="" term_before term_after why
    while true; do
        attempt=$((attempt + 1))
        term_before=$(max_raft_term "${ports[@]}")
        t0=$(now_ns)
        if run_tracked "tricachectl restore" /dev/null "$dir/restore.out" timeout "$LONG_TIMEOUT" "$TRICACHECTL" \
            --config "$dir/cluster.toml" restore --from "$BACKUP_NAME" --to "file://$BACKUP_DIR" --timeout 10m; then
            t1=$(now_ns)
            term_after=$(max_raft_term "${ports[@]}")
            break
        fi
        t1=$(now_ns)
        term_after=$(max_raft_term "${ports[@]}")
        why=$(grep -v '^\(fetch\|verify\|load\) ' "$dir/restore.out.err" | tr '\n' ' ' | sed 's/  */ /g')
        log "  attempt $attempt failed after $(((t1 - t0) / 1000000)) ms (Raft term $term_before -> $term_after): $why"
        failures+="attempt $attempt after $(((t1 - t0) / 1000000)) ms, Raft term $term_before -> $term_after: $why"$'\n'
        cp "$dir/restore.out.err" "$dir/restore-attempt-$attempt.err"
        [ "$attempt" -lt "$RESTORE_ATTEMPTS" ] ||
            { cat "$dir/restore.out" >&2; die "tricachectl restore into the $nodes-node cluster failed $attempt times"; }
        wait_healthy "$dir/cluster.toml"
    done
    out=$(cat "$dir/restore.out")
    committed=$(sed -n 's/^committed: .* in \(.*\)$/\1/p' <<< "$out")
    # tricachectl's progress lines: "fetch NAME: 107 MiB in 94 ms (1.11 GiB/s)", same for verify.
    local fetched verified
    fetched=$(sed -n 's/^fetch .* in \(.*\) (.*)$/\1/p' "$dir/restore.out.err" | tail -n 1)
    verified=$(sed -n 's/^verify .* in \(.*\) (.*)$/\1/p' "$dir/restore.out.err" | tail -n 1)
    primary=$(tc_primary_port "${ports[@]}") || die "no primary after the restore"
    n=$(cli "$primary" DBSIZE)
    [ "$n" = "$KEYS" ] || die "the $nodes-node cluster holds $n keys after the restore, expected $KEYS"
    for ((i = nodes; i >= 1; i--)); do stop_pid "${pids[i - 1]}"; done
    discard_dir "$dir" "restore-$nodes-node-$round"
    python3 -c '
import json, sys
nodes, rnd, t0, t1, commit_s, n, failures, term_before, term_after, fetch_s, verify_s = sys.argv[1:]
print(json.dumps({"kind": "restore", "system": "tricache-" + nodes, "round": int(rnd), "ms": (int(t1) - int(t0)) / 1e6,
                  "commit_s": float(commit_s), "fetch_s": float(fetch_s), "verify_s": float(verify_s),
                  "keys": int(n), "failed_attempts": failures.splitlines(),
                  "term_before": int(term_before), "term_after": int(term_after)}))' \
        "$nodes" "$round" "$t0" "$t1" "$(duration_s "$committed")" "$n" "$failures" "$term_before" "$term_after" \
        "$(duration_s "$fetched")" "$(duration_s "$verified")" >> "$TMP/results.jsonl"
    log "  $(tail -n 1 "$TMP/results.jsonl")"
}

run_restore() {
    local round
    for ((round = 1; round <= ROUNDS; round++)); do
        if ((round % 2 == 1)); then
            redis_load_trial "$round"
            tricache_restore_trial 1 "$round"
            tricache_restore_trial 3 "$round"
        else
            tricache_restore_trial 3 "$round"
            tricache_restore_trial 1 "$round"
            redis_load_trial "$round"
        fi
    done
}

# ---- 3: a new replica catching up --------------------------------------------------

# The catch-up cluster: nodes 1-3 founded with the data set loaded, and
# node 4 listed with join = true, started only for the trials.
start_catchup_cluster() {
    local dir="$TMP/catchup" pairs=() i
    for i in 1 2 3; do pairs+=("${TC_PORT[i]}:${TC_RAFT[i]}"); done
    pairs+=("${TC_PORT[4]}:${TC_RAFT[4]}:join")
    write_cluster_toml "$dir/cluster.toml" "$dir" "$SNAPSHOT_THRESHOLD" "${pairs[@]}"
    for i in 1 2 3; do
        start_tricache "tricache catch-up node $i" "$dir" "$i"
        TC_PID[i]=$STARTED_PID
    done
    for i in 1 2 3; do
        wait_ready "tricache catch-up node $i" "${TC_PID[i]}" "${TC_PORT[i]}" "$dir/node-$i.log"
    done
    TC_PRIMARY=$(tc_primary_port "${TC_PORT[1]}" "${TC_PORT[2]}" "${TC_PORT[3]}") || die "no tricache primary"
    load_data "the 3-node tricache (catch-up)" "$TC_PRIMARY" cluster
    # Single writes, one log entry each, so that the last snapshot covers
    # the whole data set and the log after it holds only small entries.
    py tick --ports "${TC_PORT[1]},${TC_PORT[2]},${TC_PORT[3]}" --count $((SNAPSHOT_THRESHOLD * 2)) ||
        die "writing single entries to the catch-up cluster failed"
    TC_PRIMARY=$(tc_primary_port "${TC_PORT[1]}" "${TC_PORT[2]}" "${TC_PORT[3]}") || die "no tricache primary"
    # libraft keeps its snapshots as raft/snapshot-TERM-INDEX-TIME(.meta):
    # wait until the primary has one (written in the background).
    local primary_id deadline
    for i in 1 2 3; do [ "${TC_PORT[i]}" = "$TC_PRIMARY" ] && primary_id=$i; done
    deadline=$(($(date +%s) + 120))
    until compgen -G "$dir/data/node-$primary_id/raft/snapshot-*.meta" > /dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            note "the catch-up cluster's primary wrote no Raft snapshot within 120 s; a new node replays the log"
            break
        fi
        sleep 0.2
    done
    for i in 1 2 3; do
        [ "${TC_PORT[i]}" = "$TC_PRIMARY" ] && continue
        run_tracked "wait-replica" /dev/null "$TMP/wait.json" python3 -B "$SCRIPT_DIR/backup_report.py" wait-replica \
            --system tricache --port "${TC_PORT[i]}" --primary-port "$TC_PRIMARY" --t0 "$(now_ns)" \
            --keys "$KEYS" --timeout "$LONG_TIMEOUT" || die "catch-up node $i did not catch up after the load"
    done
}

# redis_sync_trial MODE ROUND: a new empty redis-server --replicaof the
# master, timed from its start until the link is up, the sync is over and
# DBSIZE matches. MODE disk or diskless (the master's repl-diskless-sync).
redis_sync_trial() {
    local mode=$1 round=$2 dir="$TMP/redis-replica" t0 res pid
    log "round $round/$ROUNDS  Redis full sync ($mode) of a new replica"
    if [ "$mode" = disk ]; then
        cli "$RD_PORT" CONFIG SET repl-diskless-sync no > /dev/null
    else
        # Redis 7's default is diskless with a 5 s delay (to wait for more
        # replicas); a single replica should not wait.
        cli "$RD_PORT" CONFIG SET repl-diskless-sync yes repl-diskless-sync-delay 0 > /dev/null
    fi
    rm -rf "$dir"
    t0=$(now_ns)
    start_redis "redis-server (new replica)" "$RR_PORT" "$dir" --replicaof 127.0.0.1 "$RD_PORT"
    pid=$STARTED_PID
    run_tracked "wait-replica" /dev/null "$TMP/wait.json" python3 -B "$SCRIPT_DIR/backup_report.py" wait-replica \
        --system redis --port "$RR_PORT" --t0 "$t0" --keys "$KEYS" --timeout "$LONG_TIMEOUT" ||
        { tail -n 20 "$dir/redis.log" >&2; die "the new Redis replica did not sync"; }
    res=$(cat "$TMP/wait.json")
    stop_pid "$pid"
    discard_dir "$dir" "redis-replica-$mode-$round"
    echo "$res" | python3 -c '
import json, sys
r = json.load(sys.stdin)
r.update(kind="sync", system="redis-" + sys.argv[1], round=int(sys.argv[2]))
print(json.dumps(r))' "$mode" "$round" >> "$TMP/results.jsonl"
    log "  $(tail -n 1 "$TMP/results.jsonl")"
}

# tricache_sync_trial ROUND: node 4 started with an empty data directory and
# added with MEMBERS ADD 4 (the way README.md says to replace a node whose disk
# was lost), timed from its start until its applied index reaches the
# primary's commit index and DBSIZE matches. Then MEMBERS REMOVE 4, so the
# next round adds it afresh.
#
# (Restarting a founding node on an empty data directory is not used: it
# bootstraps a new log, and in our tries the primary never sent it the missing
# entries; that is not how Raft expects a lost disk to come back.)
tricache_sync_trial() {
    local round=$1 dir="$TMP/catchup" t0 t_added res how logfile out pid
    log "round $round/$ROUNDS  tricache: a new empty node 4 joins (MEMBERS ADD 4)"
    rm -rf "$dir/data/node-4"
    logfile="$dir/node-4.log"
    echo "---- round $round: node 4 starts with an empty data directory ----" >> "$logfile"
    local lines_before
    lines_before=$(wc -l < "$logfile")
    t0=$(now_ns)
    start_tricache "tricache catch-up node 4" "$dir" 4
    pid=$STARTED_PID
    wait_ready "tricache catch-up node 4" "$pid" "${TC_PORT[4]}" "$logfile"
    # The reply comes once node 4 has caught up and become a voter.
    run_tracked "MEMBERS ADD" /dev/null "$TMP/members.out" \
        timeout "$CATCHUP_TIMEOUT" redis-cli -h 127.0.0.1 -p "$TC_PRIMARY" MEMBERS ADD 4 ||
        { tail -n 30 "$logfile" >&2; die "MEMBERS ADD 4 did not complete"; }
    out=$(tr -d '\r' < "$TMP/members.out")
    [ "$out" = OK ] || { tail -n 30 "$logfile" >&2; die "MEMBERS ADD 4 answered: $out"; }
    t_added=$(now_ns)
    run_tracked "wait-replica" /dev/null "$TMP/wait.json" python3 -B "$SCRIPT_DIR/backup_report.py" wait-replica \
        --system tricache --port "${TC_PORT[4]}" --primary-port "$TC_PRIMARY" --t0 "$t0" \
        --keys "$KEYS" --timeout "$CATCHUP_TIMEOUT" ||
        { tail -n 30 "$logfile" >&2; die "node 4 did not catch up"; }
    res=$(cat "$TMP/wait.json")
    # How it caught up: installing a Raft snapshot logs "restored a Raft snapshot".
    if tail -n +"$lines_before" "$logfile" | grep -q "restored a Raft snapshot"; then
        how="Raft snapshot"
    else
        how="log replay"
    fi
    echo "$res" | python3 -c '
import json, sys
r = json.load(sys.stdin)
r.update(kind="sync", system="tricache", round=int(sys.argv[1]), how=sys.argv[2],
         members_add_ms=(int(sys.argv[4]) - int(sys.argv[3])) / 1e6)
print(json.dumps(r))' "$round" "$how" "$t0" "$t_added" >> "$TMP/results.jsonl"
    log "  $(tail -n 1 "$TMP/results.jsonl")"

    out=$(cli "$TC_PRIMARY" MEMBERS REMOVE 4)
    [ "$out" = OK ] || die "MEMBERS REMOVE 4 answered: $out"
    stop_pid "$pid"
}

run_catchup() {
    start_catchup_cluster
    local round
    for ((round = 1; round <= ROUNDS; round++)); do
        if ((round % 2 == 1)); then
            redis_sync_trial disk "$round"
            redis_sync_trial diskless "$round"
            tricache_sync_trial "$round"
        else
            tricache_sync_trial "$round"
            redis_sync_trial diskless "$round"
            redis_sync_trial disk "$round"
        fi
    done
}

# ---- report -------------------------------------------------------------------------

report() {
    py report --results "$TMP/results.jsonl" --data "$DATA_JSON" --rounds "$ROUNDS" --write-rate "$WRITE_RATE" \
        --machine "$(machine_line)" --command "bench/backup.sh${ARGS_TEXT:+ $ARGS_TEXT}"
}

main() {
    parse_args "$@"
    check_prerequisites
    trap cleanup EXIT
    # Signals become an ordinary exit, so cleanup() runs exactly once.
    trap 'exit 130' INT
    trap 'exit 143' TERM

    TMP=$(mktemp -d "${TMPDIR:-/tmp}/tricache-backup-bench.XXXXXX")
    : > "$TMP/results.jsonl"
    local ports
    read -r -a ports <<< "$(free_ports 19)"
    [ "${#ports[@]}" -eq 19 ] || die "could not find 19 free ports"
    RD_PORT=${ports[0]}
    RL_PORT=${ports[1]}
    RR_PORT=${ports[2]}
    TS_PORT=${ports[3]}
    TS_RAFT=${ports[4]}
    local i
    for i in 1 2 3; do
        T3_PORT[i]=${ports[4 + i]}
        T3_RAFT[i]=${ports[7 + i]}
        TC_PORT[i]=${ports[10 + i]}
        TC_RAFT[i]=${ports[13 + i]}
    done
    TC_PORT[4]=${ports[17]}
    TC_RAFT[4]=${ports[18]}

    make_data
    start_sources
    run_bgsave
    run_restore
    run_catchup

    local text
    text=$(report) || die "backup_report.py report failed"
    printf '%s\n' "$text"
    if [ -n "$OUT" ]; then
        printf '%s\n' "$text" > "$OUT"
        log "report written to $OUT"
    fi
}

main "$@"
