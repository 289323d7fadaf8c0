# bench/lib.sh: what node.sh, cluster.sh and backup.sh share. Sourced after
# the script has set BENCH_NAME (for messages), READY_TIMEOUT, TRICACHE and
# OUT, and defined usage().

usage_error() {
    echo "$BENCH_NAME: $*" >&2
    usage >&2
    exit 2
}

# Runtime failure: exit 1 (the EXIT trap still stops what was started).
die() {
    echo "$BENCH_NAME: error: $*" >&2
    exit 1
}

log() {
    echo "[bench $(date +%T)] $*" >&2
}

is_positive_int() {
    [[ $1 =~ ^[1-9][0-9]*$ ]]
}

# require_tools TOOL...: each on PATH, or die.
require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" > /dev/null || die "$tool not found on PATH"
    done
}

# The tricache binary exists; TRICACHE made absolute, so the report and the
# server commands do not depend on the working directory.
require_tricache() {
    [ -x "$TRICACHE" ] || die "tricache binary '$TRICACHE' is missing or not executable (build it with: scripts/build.sh release)"
    TRICACHE=$(cd "$(dirname "$TRICACHE")" && pwd)/$(basename "$TRICACHE")
}

# --out must be writable: fail now rather than after minutes of
# benchmarking (without truncating an existing report yet).
check_out_file() {
    [ -n "$OUT" ] || return 0
    local out_dir
    out_dir=$(dirname "$OUT")
    if [ -e "$OUT" ]; then
        if [ ! -f "$OUT" ] || [ ! -w "$OUT" ]; then die "cannot write --out file '$OUT'"; fi
    elif [ ! -d "$out_dir" ] || [ ! -w "$out_dir" ]; then
        die "cannot create --out file '$OUT' (directory '$out_dir' missing or not writable)"
    fi
}

# free_ports N: N distinct free TCP ports on 127.0.0.1 below the kernel's
# ephemeral range, so that no outgoing connection (a client, a Raft peer)
# can be handed one of them between this check and the server's bind().
free_ports() {
    python3 - "$1" <<'PY'
import random, socket, sys
want = int(sys.argv[1])
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError):
    low = 32768
low = min(low, 32768)
ports = list(range(max(1024, low - 12000), low))
random.shuffle(ports)
held = []
for port in ports:
    if len(held) == want:
        break
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)
if len(held) < want:
    sys.exit("not enough free ports below the ephemeral range")
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
}

cli() {
    local port=$1
    shift
    timeout 300 redis-cli -h 127.0.0.1 -p "$port" "$@" | tr -d '\r'
}

# wait_ready NAME PID PORT LOGFILE: polls PING until the deadline; dies with
# the log's tail if the process exits or never answers, and checks that the
# answering server is that pid (not something that grabbed the port).
wait_ready() {
    local name=$1 pid=$2 port=$3 logfile=$4 deadline answering
    deadline=$(($(date +%s) + READY_TIMEOUT))
    while true; do
        if ! kill -0 "$pid" 2> /dev/null; then
            echo "---- $logfile ----" >&2
            tail -n 20 "$logfile" >&2 || true
            die "$name exited during startup"
        fi
        if [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$port" PING 2> /dev/null)" = PONG ]; then
            break
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "---- $logfile ----" >&2
            tail -n 20 "$logfile" >&2 || true
            die "$name did not answer PING on port $port within ${READY_TIMEOUT}s"
        fi
        sleep 0.05
    done
    answering=$(cli "$port" INFO server | awk -F: '$1 == "process_id" {print $2}')
    [ "$answering" = "$pid" ] || die "port $port is answered by pid '$answering', not by our $name (pid $pid)"
}

machine_line() {
    local model
    model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2> /dev/null || true)
    echo "$(nproc) CPUs, ${model:-unknown CPU}; $("$TRICACHE" --version 2>&1 | head -n 1); $(redis-server --version)"
}

# start_three_nodes DIR NAME [SETTING...]: a fresh three-node cluster in DIR
# (DIR/data wiped) on six free ports, each SETTING a cluster.toml line;
# sets PORTS (client ports first), appends the nodes' pids to PIDS, waits
# for them, and sets PRIMARY to the index (0-2) of the elected primary.
start_three_nodes() {
    local dir=$1 name=$2 i
    shift 2
    read -r -a PORTS <<< "$(free_ports 6)"
    rm -rf "$dir/data"
    {
        echo "cluster_name = \"$name\""
        echo "data_dir = \"$dir/data\""
        for i in "$@"; do echo "$i"; done
        for i in 1 2 3; do
            printf '[[node]]\nid = %d\nclient_addr = "127.0.0.1:%d"\nraft_addr = "127.0.0.1:%d"\nzone = "zone-%d"\n' \
                "$i" "${PORTS[$((i - 1))]}" "${PORTS[$((i + 2))]}" "$i"
        done
    } > "$dir/cluster.toml"
    "$TRICACHE" --config "$dir/cluster.toml" --check > /dev/null || die "the cluster's settings ($*) are not valid"
    local first=${#PIDS[@]}
    for i in 1 2 3; do
        "$TRICACHE" --config "$dir/cluster.toml" --node "$i" > "$dir/node$i.log" 2>&1 &
        PIDS+=($!)
    done
    for i in 1 2 3; do
        wait_ready "tricache node $i" "${PIDS[$((first + i - 1))]}" "${PORTS[$((i - 1))]}" "$dir/node$i.log"
    done
    PRIMARY=""
    for _ in $(seq 1 100); do
        for i in 0 1 2; do [ "$(cli "${PORTS[$i]}" ROLE | head -n 1)" = master ] && PRIMARY=$i; done
        [ -n "$PRIMARY" ] && return 0
        sleep 0.1
    done
    die "no tricache primary elected"
}
