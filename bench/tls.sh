#!/usr/bin/env bash
# bench/tls.sh: clients over TLS, tricache against redis-server, same machine,
# same run, same certificates (made here with the openssl CLI, ECDSA P-256).
#
# A benchmark, not a test: it prints numbers and never passes or fails on
# them. Two setups, one after the other:
#   one node:    tricache alone (a one-node cluster.toml) and redis-server,
#                each with a plain and a TLS client port;
#   three nodes: tricache with mutual TLS between nodes (tls_replication) and
#                redis-server primary + two replicas with tls-replication;
#                clients on the primaries.
# For each: SET and GET with redis-benchmark over TLS at -P 1 and -P 16
# (-c 50), the same over plaintext (what TLS costs each server), and new
# connections per second: redis-benchmark -k 0 (a new connection, hence a
# full TLS handshake, for every PING). Rounds alternate the two servers;
# medians of --rounds and the ratio tricache / Redis are printed.
# The markdown report goes to stdout (and to --out FILE); progress to stderr.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
BENCH_NAME=bench/tls.sh
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"

ROUNDS=3
REQUESTS=100000
HANDSHAKES=10000
TRICACHE="$REPO_ROOT/build/tricache"
OUT=""
CLIENTS=50
KEYSPACE=100000
VALUE_SIZE=64
READY_TIMEOUT=15

TMP=""
PIDS=()
PORTS=()

usage() {
    cat >&2 << EOF
usage: bench/tls.sh [--rounds N] [--requests N] [--handshakes N] [--tricache PATH] [--out FILE]
  --rounds N      runs per figure, the median is reported (default $ROUNDS)
  --requests N    requests per SET/GET run (default $REQUESTS)
  --handshakes N  new connections per handshake run (default $HANDSHAKES)
  --tricache P    the tricache binary (default build/tricache)
  --out FILE      also write the report to FILE
EOF
    exit 2
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --rounds) ROUNDS=$2; shift 2 ;;
            --requests) REQUESTS=$2; shift 2 ;;
            --handshakes) HANDSHAKES=$2; shift 2 ;;
            --tricache) TRICACHE=$2; shift 2 ;;
            --out) OUT=$2; shift 2 ;;
            *) usage ;;
        esac
    done
    is_positive_int "$ROUNDS" && is_positive_int "$REQUESTS" && is_positive_int "$HANDSHAKES" || usage
}

stop_all() {
    local pid deadline
    for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
    deadline=$(($(date +%s) + 15))
    for pid in "${PIDS[@]}"; do
        while kill -0 "$pid" 2> /dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
        kill -KILL "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    PIDS=()
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_all
    [ -n "$TMP" ] && [ -d "$TMP" ] && rm -rf -- "$TMP"
    exit "$status"
}

make_certs() {
    log "making a CA, a server, a client and node-1..3 certificates"
    (
        cd "$TMP/certs"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
            -days 2 -subj /CN=bench-ca
        for name in server client node-1 node-2 node-3; do
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$name.key" \
                -out "$name.csr" -subj "/CN=$name" -addext "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1"
            openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" \
                -days 2 -copy_extensions copy
        done
    ) > "$TMP/certs.log" 2>&1 || die "openssl failed: $(tail -n 5 "$TMP/certs.log")"
}

tls_cli() { redis-cli --tls --cacert "$TMP/certs/ca.crt" --cert "$TMP/certs/client.crt" --key "$TMP/certs/client.key" "$@"; }

# wait_tls PORT: PING over TLS answers PONG, or die.
wait_tls() {
    local port=$1 deadline
    deadline=$(($(date +%s) + READY_TIMEOUT))
    until [ "$(tls_cli -p "$port" PING 2> /dev/null)" = PONG ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "nothing answers TLS on port $port"
        sleep 0.1
    done
}

# The TLS settings both setups of tricache share (clients need a certificate of the CA).
tricache_tls_settings() {
    cat << EOF
tls_cert_file = "$TMP/certs/server.crt"
tls_key_file = "$TMP/certs/server.key"
tls_ca_cert_file = "$TMP/certs/ca.crt"
tls_auth_clients = "yes"
EOF
}

redis_tls_args() {
    echo "--tls-cert-file $TMP/certs/server.crt --tls-key-file $TMP/certs/server.key" \
        "--tls-ca-cert-file $TMP/certs/ca.crt --tls-auth-clients yes"
}

# Sets T_PLAIN T_TLS (tricache's primary) and R_PLAIN R_TLS (redis's primary).
start_one_node() {
    read -r -a PORTS <<< "$(free_ports 5)"
    T_PLAIN=${PORTS[0]} T_TLS=${PORTS[1]} R_PLAIN=${PORTS[2]} R_TLS=${PORTS[3]}
    mkdir -p "$TMP/one"
    {
        echo 'cluster_name = "bench-tls"'
        echo "data_dir = \"$TMP/one/data\""
        tricache_tls_settings
        printf '[[node]]\nid = 1\nzone = "zone-1"\nclient_addr = "127.0.0.1:%d"\ntls_client_addr = "127.0.0.1:%d"\n' "$T_PLAIN" "$T_TLS"
        printf 'raft_addr = "127.0.0.1:%d"\n' "${PORTS[4]}"
    } > "$TMP/one/cluster.toml"
    "$TRICACHE" --config "$TMP/one/cluster.toml" --node 1 > "$TMP/one/tricache.log" 2>&1 &
    PIDS+=($!)
    wait_ready "tricache" "$!" "$T_PLAIN" "$TMP/one/tricache.log"
    # shellcheck disable=SC2046
    redis-server --port "$R_PLAIN" --tls-port "$R_TLS" $(redis_tls_args) --save '' --appendonly no \
        --dir "$TMP/one" > "$TMP/one/redis.log" 2>&1 &
    PIDS+=($!)
    wait_ready "redis-server" "$!" "$R_PLAIN" "$TMP/one/redis.log"
    wait_tls "$T_TLS"
    wait_tls "$R_TLS"
}

start_three_nodes_tls() {
    local dir="$TMP/three" i first
    mkdir -p "$dir"
    # client 0-2, TLS 3-5, Raft 6-8; redis primary 9-10, replicas 11-12 (plain) 13-14 (TLS)
    read -r -a PORTS <<< "$(free_ports 15)"
    {
        echo 'cluster_name = "bench-tls3"'
        echo "data_dir = \"$dir/data\""
        tricache_tls_settings
        echo 'tls_replication = true'
        echo "tls_raft_cert_file = \"$TMP/certs/node-{id}.crt\""
        echo "tls_raft_key_file = \"$TMP/certs/node-{id}.key\""
        for i in 1 2 3; do
            printf '[[node]]\nid = %d\nzone = "zone-%d"\nclient_addr = "127.0.0.1:%d"\n' "$i" "$i" "${PORTS[$((i - 1))]}"
            printf 'tls_client_addr = "127.0.0.1:%d"\nraft_addr = "127.0.0.1:%d"\n' "${PORTS[$((i + 2))]}" \
                "${PORTS[$((i + 5))]}"
        done
    } > "$dir/cluster.toml"
    first=${#PIDS[@]}
    for i in 1 2 3; do
        "$TRICACHE" --config "$dir/cluster.toml" --node "$i" > "$dir/node$i.log" 2>&1 &
        PIDS+=($!)
    done
    for i in 1 2 3; do
        wait_ready "tricache node $i" "${PIDS[$((first + i - 1))]}" "${PORTS[$((i - 1))]}" "$dir/node$i.log"
    done
    T_PLAIN=""
    for _ in $(seq 1 100); do
        for i in 0 1 2; do
            if [ "$(cli "${PORTS[$i]}" ROLE | head -n 1)" = master ]; then
                T_PLAIN=${PORTS[$i]} T_TLS=${PORTS[$((i + 3))]}
            fi
        done
        [ -n "$T_PLAIN" ] && break
        sleep 0.1
    done
    [ -n "$T_PLAIN" ] || die "no tricache primary elected"
    wait_tls "$T_TLS"
    # redis: a primary and two replicas, replication over TLS
    R_PLAIN=${PORTS[9]} R_TLS=${PORTS[10]}
    # shellcheck disable=SC2046
    redis-server --port "$R_PLAIN" --tls-port "$R_TLS" $(redis_tls_args) --tls-replication yes --save '' \
        --appendonly no --dir "$dir" > "$dir/redis-primary.log" 2>&1 &
    PIDS+=($!)
    wait_ready "redis primary" "$!" "$R_PLAIN" "$dir/redis-primary.log"
    for i in 0 1; do
        # its certificate is also the client certificate it shows the primary
        # shellcheck disable=SC2046
        redis-server --port "${PORTS[$((11 + i))]}" --tls-port "${PORTS[$((13 + i))]}" $(redis_tls_args) \
            --tls-replication yes --replicaof 127.0.0.1 "$R_TLS" --save '' --appendonly no --dir "$dir" \
            --dbfilename "replica$i.rdb" > "$dir/redis-replica$i.log" 2>&1 &
        PIDS+=($!)
        wait_ready "redis replica $i" "$!" "${PORTS[$((11 + i))]}" "$dir/redis-replica$i.log"
    done
    local deadline=$(($(date +%s) + 30))
    until [ "$(cli "$R_PLAIN" INFO replication | awk -F: '$1 == "connected_slaves" {print $2}')" = 2 ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "the redis replicas did not connect over TLS"
        sleep 0.2
    done
    wait_tls "$R_TLS"
}

# bench SERVER SETUP PORT TLS(0|1) TEST PIPELINE: one redis-benchmark run into results.csv.
bench_one() {
    local server=$1 setup=$2 port=$3 tls=$4 test=$5 pipeline=$6 out rps args=()
    [ "$tls" = 1 ] && args=(--tls --cacert "$TMP/certs/ca.crt" --cert "$TMP/certs/client.crt" --key "$TMP/certs/client.key")
    if [ "$test" = connect ]; then
        out=$(redis-benchmark -h 127.0.0.1 -p "$port" "${args[@]}" -t ping -n "$HANDSHAKES" -c 10 -k 0 --csv 2> /dev/null) ||
            die "redis-benchmark failed against $server"
        test=PING_INLINE
    else
        out=$(redis-benchmark -h 127.0.0.1 -p "$port" "${args[@]}" -t "$test" -n "$REQUESTS" -c "$CLIENTS" \
            -r "$KEYSPACE" -d "$VALUE_SIZE" -P "$pipeline" --csv 2> /dev/null) || die "redis-benchmark failed against $server"
    fi
    rps=$(printf '%s\n' "$out" | tr -d '"\r' | awk -F, -v t="${test^^}" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        $1 == t { print $col["rps"] "," $col["p50_latency_ms"]; exit }')
    [ -n "$rps" ] || die "no $test result from redis-benchmark against $server: $out"
    echo "$setup,$server,$tls,$5,$pipeline,$rps" >> "$TMP/results.csv"
}

run_setup() {
    local setup=$1 round server port_plain port_tls test p
    for ((round = 1; round <= ROUNDS; round++)); do
        for server in redis tricache; do
            if [ "$server" = redis ]; then port_plain=$R_PLAIN port_tls=$R_TLS; else port_plain=$T_PLAIN port_tls=$T_TLS; fi
            log "$setup: round $round/$ROUNDS, $server"
            for test in set get; do
                for p in 1 16; do
                    bench_one "$server" "$setup" "$port_tls" 1 "$test" "$p"
                    bench_one "$server" "$setup" "$port_plain" 0 "$test" "$p"
                done
            done
            bench_one "$server" "$setup" "$port_tls" 1 connect 1
            bench_one "$server" "$setup" "$port_plain" 0 connect 1
        done
    done
}

median() { sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }

# med SETUP SERVER TLS TEST PIPELINE -> median req/s
med() {
    awk -F, -v s="$1" -v v="$2" -v t="$3" -v x="$4" -v p="$5" '$1 == s && $2 == v && $3 == t && $4 == x && $5 == p {print $6}' \
        "$TMP/results.csv" | median
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

report() {
    local setup test p label r t
    echo "### Clients over TLS: tricache vs Redis (bench/tls.sh)"
    echo
    echo "$(machine_line). redis-benchmark -c $CLIENTS, $REQUESTS requests, $VALUE_SIZE-byte values, client"
    echo "certificates required; medians of $ROUNDS round(s), the two servers alternating. One node: tricache alone,"
    echo "redis-server alone. Three nodes: tricache with mutual TLS between nodes (every SET acknowledged by a"
    echo "majority), Redis primary + two replicas with tls-replication (asynchronous); clients on the primary."
    echo "New connections/s: redis-benchmark -k 0 -c 10, a new connection (full handshake over TLS) per PING."
    echo
    echo "| setup | test | Redis TLS | tricache TLS | ratio | Redis TLS / plain | tricache TLS / plain |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    for setup in one three; do
        for test in set get connect; do
            for p in 1 16; do
                [ "$test" = connect ] && [ "$p" = 16 ] && continue
                if [ "$test" = connect ]; then label="new connections/s"; else label="${test^^} -P $p"; fi
                r=$(med "$setup" redis 1 "$test" "$p")
                t=$(med "$setup" tricache 1 "$test" "$p")
                echo "| $setup node$([ "$setup" = three ] && echo s) | $label | $r | $t | $(ratio "$t" "$r") |" \
                    "$(ratio "$r" "$(med "$setup" redis 0 "$test" "$p")") |" \
                    "$(ratio "$t" "$(med "$setup" tricache 0 "$test" "$p")") |"
            done
        done
    done
}

main() {
    parse_args "$@"
    require_tools redis-benchmark redis-cli redis-server openssl
    require_tricache
    check_out_file
    trap cleanup EXIT INT TERM
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/tricache-tls-bench.XXXXXX")
    mkdir -p "$TMP/certs"
    make_certs
    : > "$TMP/results.csv"
    log "---- one node ----"
    start_one_node
    run_setup one
    stop_all
    log "---- three nodes ----"
    start_three_nodes_tls
    run_setup three
    stop_all
    if [ -n "$OUT" ]; then report | tee "$OUT"; else report; fi
}

main "$@"
