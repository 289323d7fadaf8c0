#!/usr/bin/env bash
# bench/expiry.sh: how fast expired keys give their memory back — a
# three-node tricache cluster (expiry decided by the primary, replicated as
# deletes) against redis-server (its active expiry cycle), on this machine,
# in one run.
#
# Each round loads KEYS keys with SET ... PX TTL_MS through redis-cli --pipe,
# then polls DBSIZE every 100 ms (on the tricache primary and on one replica,
# on redis-server) and reports how long from the start of the load each
# still holds keys: the first poll that answers 0. A benchmark, not a test: it prints
# numbers and never passes or fails on them. Report on stdout (--out FILE);
# progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=bench/expiry.sh
READY_TIMEOUT=20
TRICACHE=build/tricache
OUT=""
ROUNDS=3
KEYS=100000
TTL_MS=1500
POLL_LIMIT_S=120

usage() {
    cat << EOF
usage: bench/expiry.sh [--rounds N] [--keys N] [--ttl-ms N] [--tricache PATH] [--out FILE]

Loads N keys with a TTL into a three-node tricache cluster and into
redis-server, and reports how long after the load each still holds keys.
  --rounds N       rounds per system (default 3)
  --keys N         keys per round (default 100000)
  --ttl-ms N       their TTL in ms (default 1500)
  --tricache PATH  tricache binary (default <repo>/build/tricache)
  --out FILE       also write the report to FILE
EOF
}

# shellcheck source=bench/lib.sh
. bench/lib.sh

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --rounds | --keys | --ttl-ms | --tricache | --out)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case "$1" in
                --rounds) is_positive_int "$2" || usage_error "--rounds must be a positive integer"; ROUNDS=$2 ;;
                --keys) is_positive_int "$2" || usage_error "--keys must be a positive integer"; KEYS=$2 ;;
                --ttl-ms) is_positive_int "$2" || usage_error "--ttl-ms must be a positive integer"; TTL_MS=$2 ;;
                --tricache) TRICACHE=$2 ;;
                --out) OUT=$2 ;;
            esac
            shift 2 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done
require_tools redis-server redis-cli python3
require_tricache
check_out_file

WORK=$(mktemp -d /tmp/tricache-bench-expiry.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# The load: KEYS x SET key v PX TTL_MS, as a redis-cli --pipe file.
python3 - "$KEYS" "$TTL_MS" > "$WORK/load.resp" << 'PY'
import sys
n, ttl = int(sys.argv[1]), sys.argv[2].encode()
out = sys.stdout.buffer
for i in range(n):
    k = b"exp:%d" % i
    out.write(b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n$2\r\nPX\r\n$%d\r\n%s\r\n" % (len(k), k, len(ttl), ttl))
PY

# seconds from now until every port answers DBSIZE 0 (polling every 100 ms)
time_to_empty() {
    python3 - "$POLL_LIMIT_S" "$@" << 'PY'
import socket, sys, time
limit, ports = float(sys.argv[1]), [int(p) for p in sys.argv[2:]]
def dbsize(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"DBSIZE\r\n")
        return int(s.recv(64)[1:].split(b"\r\n")[0])
start = time.monotonic()
left = set(ports)
done = {}
while left and time.monotonic() - start < limit:
    for p in list(left):
        if dbsize(p) == 0:
            done[p] = time.monotonic() - start
            left.discard(p)
    time.sleep(0.1)
print(" ".join("%.2f" % done.get(p, float("nan")) for p in ports))
PY
}

load() { # load PORT -> seconds the load took
    local start end
    start=$(date +%s.%N)
    redis-cli -p "$1" --pipe < "$WORK/load.resp" > /dev/null
    end=$(date +%s.%N)
    python3 -c "print('%.2f' % ($end - $start))"
}

read -r -a PORTS <<< "$(free_ports 7)"
log "redis-server on ${PORTS[0]}"
redis-server --port "${PORTS[0]}" --save "" --appendonly no --dir "$WORK" > "$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_ready redis-server "${PIDS[0]}" "${PORTS[0]}" "$WORK/redis.log"

cat > "$WORK/cluster.toml" << EOF
cluster_name = "bench-expiry"
data_dir = "$WORK/data"
$(for i in 1 2 3; do printf '[[node]]\nid = %d\nclient_addr = "127.0.0.1:%d"\nraft_addr = "127.0.0.1:%d"\nzone = "zone-%d"\n' "$i" "${PORTS[$i]}" "${PORTS[$((i + 3))]}" "$i"; done)
EOF
for i in 1 2 3; do
    "$TRICACHE" --config "$WORK/cluster.toml" --node "$i" > "$WORK/node$i.log" 2>&1 &
    PIDS+=($!)
done
for i in 1 2 3; do wait_ready "tricache node $i" "${PIDS[$i]}" "${PORTS[$i]}" "$WORK/node$i.log"; done
primary=""
for _ in $(seq 1 100); do
    for i in 1 2 3; do [ "$(cli "${PORTS[$i]}" ROLE | head -n 1)" = master ] && primary=$i; done
    [ -n "$primary" ] && break
    sleep 0.1
done
[ -n "$primary" ] || die "no tricache primary elected"
replica=$((primary % 3 + 1))

rows=()
for round in $(seq 1 "$ROUNDS"); do
    log "round $round: redis-server"
    took=$(load "${PORTS[0]}")
    redis_empty=$(time_to_empty "${PORTS[0]}")
    log "round $round: tricache (primary node $primary)"
    ttook=$(load "${PORTS[$primary]}")
    read -r p_empty r_empty <<< "$(time_to_empty "${PORTS[$primary]}" "${PORTS[$replica]}")"
    total() { python3 -c "print('%.2f' % ($1 + $2))"; }
    rows+=("| $round | $(total "$took" "$redis_empty") | $(total "$ttook" "$p_empty") | $(total "$ttook" "$r_empty") |")
done

{
    echo "## Expired keys reclaimed: $KEYS keys with PX $TTL_MS, three-node tricache vs redis-server"
    echo
    echo "$(machine_line)"
    echo
    echo "Seconds from the start of the load (redis-cli --pipe) until DBSIZE answered 0, polled every 100 ms;"
    echo "the first keys expire $TTL_MS ms after the load starts."
    echo
    echo "| round | Redis | tricache primary | tricache replica |"
    echo "| ---: | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
} | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
