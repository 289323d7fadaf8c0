#!/usr/bin/env bash
# bench/raft_tls.sh: the cost of mutual TLS between nodes (tls_replication).
# Two three-node tricache clusters on this machine, one after the other,
# identical but for the Raft transport: plaintext, then mutual TLS
# (certificates made here with the openssl CLI, ECDSA P-256).
#
# A benchmark, not a test: it prints numbers and never passes or fails on
# them. It measures, for each transport:
#   1. SET on the primary with redis-benchmark (-c 50, -P 1 and -P 16;
#      every SET is acknowledged by a majority, so it crosses the Raft
#      transport), median of --rounds runs;
#   2. failover: kill -9 of the primary while a client writes (bench/failover.py
#      trial); time from the kill to the first write acknowledged by the new
#      primary, median and max of --trials, and acknowledged writes lost.
# The markdown report goes to stdout (and to --out FILE); progress to stderr.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
BENCH_NAME=bench/raft_tls.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

ROUNDS=3
REQUESTS=100000
TRIALS=5
TRICACHE="$REPO_ROOT/build/tricache"
OUT=""
CLIENTS=50
KEYSPACE=100000
VALUE_SIZE=64
READY_TIMEOUT=10
STOP_TIMEOUT=15
SETTLE_TIMEOUT=60

TMP=""
PIDS=()
PORTS=()
NODE_PID=("" "" "" "")

usage() {
    cat >&2 << EOF
usage: bench/raft_tls.sh [--rounds N] [--requests N] [--trials N] [--tricache PATH] [--out FILE]
  --rounds N     redis-benchmark runs per figure, the median is reported (default $ROUNDS)
  --requests N   requests per redis-benchmark run (default $REQUESTS)
  --trials N     kill -9 failovers per transport (default $TRIALS)
  --tricache P   the tricache binary (default build/tricache)
  --out FILE     also write the report to FILE
EOF
    exit 2
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --rounds) ROUNDS=$2; shift 2 ;;
            --requests) REQUESTS=$2; shift 2 ;;
            --trials) TRIALS=$2; shift 2 ;;
            --tricache) TRICACHE=$2; shift 2 ;;
            --out) OUT=$2; shift 2 ;;
            *) usage ;;
        esac
    done
    is_positive_int "$ROUNDS" && is_positive_int "$REQUESTS" && is_positive_int "$TRIALS" || usage
}

stop_pid() {
    local pid=$1 deadline
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2> /dev/null; then
        kill "$pid" 2> /dev/null || true
        deadline=$(($(date +%s) + STOP_TIMEOUT))
        while kill -0 "$pid" 2> /dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
        kill -0 "$pid" 2> /dev/null && kill -KILL "$pid" 2> /dev/null
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

make_certs() {
    log "making a CA and node-1..3 certificates"
    (
        cd "$TMP/certs"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
            -days 2 -subj /CN=bench-ca
        for i in 1 2 3; do
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "node-$i.key" \
                -out "node-$i.csr" -subj "/CN=node-$i" -addext "subjectAltName=DNS:node-$i"
            openssl x509 -req -in "node-$i.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "node-$i.crt" \
                -days 2 -copy_extensions copy
        done
    ) > "$TMP/certs.log" 2>&1 || die "openssl failed: $(tail -n 5 "$TMP/certs.log")"
}

start_node() {
    local i=$1
    "$TRICACHE" --config "$TMP/cluster.toml" --node "$i" >> "$TMP/node$i.log" 2>&1 &
    NODE_PID[i]=$!
}

# start_cluster MODE: a fresh cluster, Raft in plaintext or over mutual TLS.
start_cluster() {
    local mode=$1 i
    read -r -a PORTS <<< "$(free_ports 6)"
    rm -rf "$TMP/data" "$TMP"/node*.log
    {
        echo 'cluster_name = "bench"'
        echo "data_dir = \"$TMP/data\""
        if [ "$mode" = tls ]; then
            echo 'tls_replication = true'
            echo "tls_raft_cert_file = \"$TMP/certs/node-{id}.crt\""
            echo "tls_raft_key_file = \"$TMP/certs/node-{id}.key\""
            echo "tls_ca_cert_file = \"$TMP/certs/ca.crt\""
        fi
        for i in 1 2 3; do
            printf '[[node]]\nid = %d\nclient_addr = "127.0.0.1:%d"\nraft_addr = "127.0.0.1:%d"\nzone = "zone-%d"\n' \
                "$i" "${PORTS[$((i - 1))]}" "${PORTS[$((i + 2))]}" "$i"
        done
    } > "$TMP/cluster.toml"
    for i in 1 2 3; do start_node "$i"; done
    for i in 1 2 3; do wait_ready "tricache node $i" "${NODE_PID[i]}" "${PORTS[$((i - 1))]}" "$TMP/node$i.log"; done
    py failover.py settle --nodes "$(nodes_arg)" --timeout "$SETTLE_TIMEOUT" > /dev/null || die "the cluster did not settle"
    local want=off
    [ "$mode" = tls ] && want=required
    [ "$(cli "${PORTS[0]}" INFO replication | awk -F: '$1 == "raft_peer_tls" {print $2}')" = "$want" ] ||
        die "node 1 does not report raft_peer_tls:$want"
}

primary() { # sets P_ID, P_PORT
    local out
    out=$(py failover.py primary --nodes "$(nodes_arg)" --timeout 15) || die "no primary"
    read -r P_ID P_PORT <<< "$out"
}

median() { sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }

run_set() {
    local mode=$1 pipeline=$2 round out rps
    for ((round = 1; round <= ROUNDS; round++)); do
        primary
        log "$mode: SET -P $pipeline round $round/$ROUNDS (primary node $P_ID)"
        out=$(redis-benchmark -h 127.0.0.1 -p "$P_PORT" -t set -n "$REQUESTS" -c "$CLIENTS" -r "$KEYSPACE" \
            -d "$VALUE_SIZE" -P "$pipeline" --csv 2> /dev/null) || die "redis-benchmark failed"
        rps=$(printf '%s\n' "$out" | tr -d '"\r' | awk -F, '
            NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
            $1 == "SET" { print $col["rps"] "," $col["p50_latency_ms"] "," $col["p99_latency_ms"] }')
        echo "$mode,$pipeline,$rps" >> "$TMP/set.csv"
    done
}

run_failover() {
    local mode=$1 n result pid id
    : > "$TMP/acked-$mode.txt"
    for ((n = 1; n <= TRIALS; n++)); do
        primary
        id=$P_ID
        pid=${NODE_PID[id]}
        log "$mode: failover trial $n/$TRIALS, kill -9 node $id"
        result=$(py failover.py trial --nodes "$(nodes_arg)" --victim "$id" --pid "$pid" --signal kill \
            --acked "$TMP/acked-$mode.txt" --prefix "$mode:$n") || die "failover.py trial failed"
        wait "$pid" 2> /dev/null || true
        NODE_PID[id]=""
        start_node "$id"
        wait_ready "tricache node $id" "${NODE_PID[id]}" "${PORTS[$((id - 1))]}" "$TMP/node$id.log"
        py failover.py settle --nodes "$(nodes_arg)" --timeout "$SETTLE_TIMEOUT" > /dev/null ||
            die "the cluster did not settle after trial $n"
        primary
        echo "$mode,$n,$result,$(py failover.py verify --port "$P_PORT" --acked "$TMP/acked-$mode.txt")" \
            >> "$TMP/failover.csv"
    done
}

report() {
    local mode p
    echo "### TLS between nodes: cost and failover (bench/raft_tls.sh)"
    echo
    echo "$(machine_line). Three nodes on loopback; SET on the primary, $REQUESTS requests, -c $CLIENTS,"
    echo "$VALUE_SIZE-byte values; median of $ROUNDS run(s). Failover: kill -9 of the primary while one"
    echo "client writes, $TRIALS trial(s) per transport."
    echo
    echo "| Raft transport | SET -P 1 (req/s) | p50 / p99 ms | SET -P 16 (req/s) | p50 / p99 ms | failover median / max (ms) | acknowledged writes lost |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for mode in plain tls; do
        local row=()
        for p in 1 16; do
            local med
            med=$(awk -F, -v m="$mode" -v p="$p" '$1 == m && $2 == p {print $3}' "$TMP/set.csv" | median)
            row+=("$med")
            row+=("$(awk -F, -v m="$mode" -v p="$p" -v r="$med" '$1 == m && $2 == p && $3 == r {print $4 " / " $5; exit}' "$TMP/set.csv")")
        done
        local fo_med fo_max lost
        fo_med=$(awk -F, -v m="$mode" '$1 == m && $3 != "" {print $3}' "$TMP/failover.csv" | median)
        fo_max=$(awk -F, -v m="$mode" '$1 == m && $3 != "" {print $3}' "$TMP/failover.csv" | sort -n | tail -n 1)
        lost=$(awk -F, -v m="$mode" '$1 == m {s += $8} END {print s + 0}' "$TMP/failover.csv")
        local name="plaintext"
        [ "$mode" = tls ] && name="mutual TLS (tls_replication)"
        echo "| $name | ${row[0]} | ${row[1]} | ${row[2]} | ${row[3]} | $fo_med / $fo_max | $lost |"
    done
}

main() {
    parse_args "$@"
    require_tools redis-benchmark redis-cli python3 openssl
    require_tricache
    check_out_file
    trap cleanup EXIT INT TERM
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/tricache-raft-tls-bench.XXXXXX")
    mkdir -p "$TMP/certs"
    make_certs
    : > "$TMP/set.csv"
    : > "$TMP/failover.csv"
    local mode
    for mode in plain tls; do
        log "---- Raft in $mode ----"
        start_cluster "$mode"
        run_set "$mode" 1
        run_set "$mode" 16
        run_failover "$mode"
        stop_cluster
    done
    if [ -n "$OUT" ]; then report | tee "$OUT"; else report; fi
}

main "$@"
