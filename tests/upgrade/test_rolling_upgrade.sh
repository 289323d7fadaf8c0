#!/usr/bin/env bash
# A rolling upgrade from the previous release to this tree, under writes.
#
# Usage: test_rolling_upgrade.sh NEW_TRICACHE WRITER_PY REPO CACHE_DIR [COMMIT]
#   NEW_TRICACHE  this tree's tricache binary
#   WRITER_PY     tests/integration/shutdown_writer.py (INCRs a counter,
#                 follows the primary, prints acked/tryagain/other at the end)
#   REPO          this repository (git archive of COMMIT is built from it)
#   CACHE_DIR     where the previous release's build is kept between runs
#   COMMIT        the previous release (default d2f200a)
#
# Order, and why: this tree writes log entries of version 2, which the
# previous release cannot read (it would skip them and diverge). So an old
# node must never follow a new primary: the replicas are upgraded first
# (new nodes read version 1), then the old primary is stopped. The old
# release has no leadership handover, so that stop costs one election, won
# by a new node; the old primary's node then comes back on the new binary.
# Finally the new primary is stopped with SIGTERM, which hands over without
# an election (a transfer: the term goes up by exactly one).
#
# Checks: no election while replicas restart, exactly one primary change
# when the old primary stops, one transfer for the new one; no write the
# client saw acknowledged is lost, no -TRYAGAIN (but the one write in flight
# when the old primary stops) and no other error; every
# node's DEBUG DIGEST equal at the end; no node ever refused a log entry.
# Exit 77 (ctest: skipped) when REPO is not a git repository holding COMMIT.
set -uo pipefail

NEW=$1 WRITER=$2 REPO=$3 CACHE=$4 COMMIT=${5:-d2f200a}
HERE=$(cd "$(dirname "$0")" && pwd)
DEADLINE_S=30 # for any one thing to happen

if ! git -C "$REPO" cat-file -e "$COMMIT^{commit}" 2>/dev/null; then
    echo "SKIP: $REPO is not a git repository holding $COMMIT"
    exit 77
fi
OLD=$("$HERE/build_previous.sh" "$REPO" "$COMMIT" "$CACHE") || { echo "FAIL: building $COMMIT"; exit 1; }

T=$(mktemp -d /tmp/tc-upgrade.XXXXXX)
declare -a PID PORT RPORT BIN
WPID=
cleanup() {
    for i in 1 2 3; do [ -n "${PID[$i]:-}" ] && kill -9 "${PID[$i]}" 2>/dev/null; done
    [ -n "$WPID" ] && kill "$WPID" 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    for i in 1 2 3; do echo "--- node $i (${BIN[$i]:-}) log tail:"; tail -n 15 "$T/node$i.log" 2>/dev/null; done
    KEEP=1
    exit 1
}
say() { echo "[$(date +%H:%M:%S.%3N)] $*"; }

# Six free loopback ports below the kernel's ephemeral range, so that no
# outgoing connection (a client, a Raft peer) is handed one between this
# check and a node's bind().
read -r -a P < <(/usr/bin/python3 -c '
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError):
    low = 32768
cand = list(range(max(1024, min(low, 32768) - 12000), min(low, 32768)))
random.shuffle(cand)
held = []
for port in cand:
    if len(held) == 6:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        held.append(s)
    except OSError:
        s.close()
print(" ".join(str(s.getsockname()[1]) for s in held))')
[ "${#P[@]}" -eq 6 ] || fail "no six free ports"
for i in 1 2 3; do PORT[$i]=${P[$((i - 1))]}; RPORT[$i]=${P[$((i + 2))]}; done

# Only settings both releases know: an old node refuses unknown ones.
{
    echo "cluster_name = \"upgrade\""
    echo "data_dir = \"$T/data\""
    echo "election_timeout = \"300ms\""
    echo "heartbeat_interval = \"50ms\""
    for i in 1 2 3; do
        printf '[[node]]\nid = %d\nzone = "z%d"\nclient_addr = "127.0.0.1:%d"\nraft_addr = "127.0.0.1:%d"\n' \
            "$i" "$i" "${PORT[$i]}" "${RPORT[$i]}"
    done
} >"$T/cluster.toml"

cli() { local i=$1; shift; redis-cli -p "${PORT[$i]}" "$@" 2>/dev/null; }
info_field() { cli "$1" INFO replication | tr -d '\r' | sed -n "s/^$2://p"; }
role() { cli "$1" ROLE | head -n 1 ; }

start() { # start NODE BINARY
    BIN[$1]=$2
    echo "=== started with $2" >>"$T/node$1.log"
    "$2" --config "$T/cluster.toml" --node "$1" >>"$T/node$1.log" 2>&1 &
    PID[$1]=$!
}

stop() { # stop NODE: SIGTERM, wait for the exit, return its status
    kill -TERM "${PID[$1]}"
    local rc
    wait "${PID[$1]}"
    rc=$?
    PID[$1]=
    return $rc
}

primary() { # the node answering ROLE master, or nothing
    for i in 1 2 3; do
        [ -n "${PID[$i]}" ] && [ "$(role "$i")" = master ] && { echo "$i"; return; }
    done
}

wait_for() { # wait_for DESCRIPTION COMMAND...: polls until COMMAND succeeds
    local what=$1; shift
    local end=$((SECONDS + DEADLINE_S))
    until "$@"; do
        [ $SECONDS -ge $end ] && fail "timed out waiting for $what"
        sleep 0.05
    done
}

have_primary() { [ -n "$(primary)" ]; }

caught_up() { # caught_up NODE: a linked replica that applied what the primary had committed
    local p want
    p=$(primary)
    [ -n "$p" ] || return 1
    [ "$(info_field "$1" master_link_status)" = up ] || return 1
    want=$(info_field "$p" raft_commit_index)
    [ -n "$want" ] && [ "$(info_field "$1" raft_applied_index)" -ge "$want" ] 2>/dev/null
}

counter_at_least() { local v; v=$(cli "$(primary)" GET counter ); [ "${v:-0}" -ge "$1" ] 2>/dev/null; }

say "old release $COMMIT: $OLD"
for i in 1 2 3; do start "$i" "$OLD"; done
wait_for "a primary on the old release" have_primary
P0=$(primary)
for i in 1 2 3; do [ "$i" = "$P0" ] || wait_for "node $i to follow" caught_up "$i"; done

# Debian's interpreter, where python3-redis is installed
TC_WRITER_SECONDS=240 /usr/bin/python3 "$WRITER" "$T/STOP" "${PORT[1]}" "${PORT[2]}" "${PORT[3]}" >"$T/writer.out" 2>"$T/writer.err" &
WPID=$!
wait_for "the writer's first writes" counter_at_least 200
TERM0=$(info_field "$P0" raft_term)
say "old cluster up: primary node $P0, term $TERM0, writer running"

# 1. Replicas first, by id: each leaves, comes back on the new binary and
#    catches up from the old primary (entries of version 1).
for i in 1 2 3; do
    [ "$i" = "$P0" ] && continue
    stop "$i" || fail "old node $i exited with status $? on SIGTERM"
    start "$i" "$NEW"
    wait_for "new node $i to catch up" caught_up "$i"
    [ "$(primary)" = "$P0" ] || fail "the primary moved while replica $i restarted"
    [ "$(info_field "$P0" raft_term)" = "$TERM0" ] || fail "an election while replica $i restarted"
    before=$(cli "$P0" GET counter )
    wait_for "writes to go on" counter_at_least $((before + 100))
    say "node $i upgraded as a replica, no election"
done

# 2. The old primary: no handover in that release, so one election, which a
#    new node wins; its node comes back on the new binary.
stop "$P0" || fail "old primary node $P0 exited with status $? on SIGTERM"
wait_for "a new primary" have_primary
P1=$(primary)
TERM1=$(info_field "$P1" raft_term)
say "old primary node $P0 stopped: node $P1 elected, term $TERM1"
start "$P0" "$NEW"
wait_for "new node $P0 to catch up" caught_up "$P0"
[ "$(primary)" = "$P1" ] || fail "the primary moved when node $P0 came back"
[ "$(info_field "$P1" raft_term)" = "$TERM1" ] || fail "an election when node $P0 came back"
before=$(cli "$P1" GET counter )
wait_for "writes to go on" counter_at_least $((before + 100))
say "node $P0 upgraded; every node runs the new binary"

# 3. The upgraded cluster: its primary hands over on SIGTERM, no election.
stop "$P1" || fail "new primary node $P1 exited with status $? on SIGTERM (want 0)"
wait_for "the handover" have_primary
P2=$(primary)
TERM2=$(info_field "$P2" raft_term)
[ "$TERM2" = $((TERM1 + 1)) ] || fail "term went from $TERM1 to $TERM2 on a handover (want one transfer, +1)"
start "$P1" "$NEW"
wait_for "node $P1 to catch up" caught_up "$P1"
before=$(cli "$P2" GET counter )
wait_for "writes to go on" counter_at_least $((before + 100))
say "node $P1 handed over to node $P2 (term $TERM2) and came back"

touch "$T/STOP"
wait "$WPID"
WPID=
read -r out <"$T/writer.out"
say "writer: $out"
eval "$(tr ' ' '\n' <<<"$out" | grep -E '^(acked|tryagain|other)=')"
[ "${acked:-0}" -gt 0 ] || fail "the writer acknowledged nothing"
# The previous release answers a write in flight when it stops -TRYAGAIN
# (the cost of having no handover); the client writes one INCR at a time, so
# at most one whose outcome is unknown ("may or may not have been applied"),
# and only from the old primary. A write the client sends to the old primary
# again in the moment before it exits is refused as "not applied": harmless,
# and not counted. Any -TRYAGAIN from another node is a failure.
others=$(grep '^tryagain' "$T/writer.err" | grep -v "from port ${PORT[$P0]}:")
[ -z "$others" ] || fail "-TRYAGAIN from a node other than the old primary: $others"
unknown=$(grep '^tryagain' "$T/writer.err" | grep -c "may or may not")
[ "$unknown" -le 1 ] ||
    fail "$unknown writes answered -TRYAGAIN with an unknown outcome (the old primary's stop may cost one): $(grep '^tryagain' "$T/writer.err")"
[ "$other" = 0 ] || fail "$other writes failed: $(head -n 3 "$T/writer.err")"

for i in 1 2 3; do [ "$i" = "$P2" ] || wait_for "node $i to catch up at the end" caught_up "$i"; done
counter=$(cli "$P2" GET counter )
[ "$counter" -ge "$acked" ] || fail "counter $counter < $acked acknowledged INCRs: writes lost"
d1=$(cli 1 DEBUG DIGEST) d2=$(cli 2 DEBUG DIGEST) d3=$(cli 3 DEBUG DIGEST)
[ -n "$d1" ] && [ "$d1" = "$d2" ] && [ "$d2" = "$d3" ] || fail "digests differ: $d1 $d2 $d3"
[ "$(cli "$P2" SET upgraded yes)" = OK ] || fail "SET on the upgraded cluster"
if grep -n "refusing a log entry\|cannot apply Raft log entry" "$T"/node*.log; then
    fail "a node refused a log entry"
fi
say "PASS: counter $counter >= acked $acked, digests equal ($d1), elections: 1 (the old primary), transfers: 1"
