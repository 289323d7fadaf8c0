#!/bin/sh
# Smoke test of `jepsen-lite run` (ctest label "jepsen"):
#  1. a CI-sized register run (3 nodes, kill + partition + pause + member,
#     fixed seed) must come out valid, and afterwards nothing it made may
#     remain: no namespace, no route, no node process. Without root it runs
#     --local with kill, pause and member instead.
#  2. a sadd run (SADD/SMEMBERS on a few set keys), TLS everywhere, under
#     kill, pause and partition must be valid as a linearizable set.
#  3. a short run with --inject-stale-reads must be flagged invalid.
#  4. a register run through Lua scripts (EVAL) must be valid.
#  5. tricache-ack-before-commit, a test build whose primary answers SET +OK
#     before the write commits, must be caught (invalid, with lost adds).
# Needs JEPSEN_LITE, TC_BINARY and TC_BROKEN_BINARY (set by ctest).
set -u

JL=${JEPSEN_LITE:?set JEPSEN_LITE to the jepsen-lite binary}
TC=${TC_BINARY:?set TC_BINARY to the tricache binary}
TCB=${TC_BROKEN_BINARY:?set TC_BROKEN_BINARY to the tricache-ack-before-commit binary}
WORK=$(mktemp -d /tmp/jepsen-smoke.XXXXXX)
FAILED=0

fail() {
    echo "FAIL: $*" >&2
    FAILED=1
}

# A string member of summary.json ("name": "value").
member() {
    sed -n "s/^  \"$1\": \"\\([^\"]*\\)\",*\$/\\1/p" "$2"
}

# Nothing left behind by the run whose summary is $1: namespaces, the
# blackhole route, node processes (those started with files under $2).
nothing_left() {
    prefix=$(member netns_prefix "$1")
    subnet=$(member subnet "$1")
    if [ -n "$prefix" ]; then
        if ip netns list | grep -q "^$prefix-"; then fail "namespaces left: $(ip netns list | grep "^$prefix-")"; fi
        if ip route show | grep -q "$subnet"; then fail "route left: $(ip route show | grep "$subnet")"; fi
        for f in /var/run/netns/"$prefix"-*; do
            if [ -e "$f" ]; then fail "namespace file left: $f"; fi
        done
    fi
    pids=$(sed -n 's/^  "pids": \[\(.*\)\],$/\1/p' "$1" | tr -d ' ' | tr ',' ' ')
    [ -n "$pids" ] || fail "$1 lists no node processes"
    for p in $pids; do
        if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "$2"; then
            fail "node process $p is still running"
        fi
    done
}

if [ "$(id -u)" = 0 ]; then
    MODE="--nemesis kill,partition,pause,member"
else
    echo "not root: running --local with kill,pause,member (partitions need network namespaces)"
    MODE="--local --nemesis kill,pause,member"
fi

echo "== valid run: register, 3 nodes, $MODE"
start=$(date +%s)
# shellcheck disable=SC2086
"$JL" run --tricache "$TC" --nodes 3 --time 35s --workload register $MODE --seed 20240501 \
    --concurrency 10 --out "$WORK/valid"
rc=$?
echo "run took $(($(date +%s) - start)) s, exit $rc"
[ "$rc" = 0 ] || fail "the smoke run should be valid (exit 0), got exit $rc"
S="$WORK/valid/summary.json"
for f in history.jsonl summary.json report.html; do
    [ -s "$WORK/valid/$f" ] || fail "$f missing"
done
if [ -s "$S" ]; then
    grep -q '^  "valid": true,' "$S" || fail "summary.json does not say valid"
    "$JL" check --model register "$WORK/valid/history.jsonl" >/dev/null ||
        fail "jepsen-lite check disagrees on the recorded history"
    for kind in kill partition pause member; do
        case "$MODE" in *$kind*)
            grep -q "\"kind\": \"$kind\"" "$S" || fail "no $kind fault was injected" ;;
        esac
    done
    # The member fault happened: a node left the voters and came back.
    case "$MODE" in *member*)
        grep -q '"kind": "member".*"removed_after_ms": [0-9]' "$S" || fail "no node was removed from the voters"
        grep -q '"kind": "member".*"voter_again_after_heal_ms": [0-9]' "$S" || fail "no removed node became a voter again" ;;
    esac
    nothing_left "$S" "$WORK/valid"
fi

# The sadd workload: SADD unique elements into 3 set keys, SMEMBERS reads on
# the primary during the run and at the end, checked as a linearizable
# grow-only set (model set-full: every read holds every add acknowledged
# and every element read before it began). Seed 7 draws kill, pause and an
# isolated primary within 25 s (--local: kill and pause). ~26 s.
# It runs with --tls: TLS everywhere (transit_encryption_mode "required",
# mutual TLS between nodes, client certificates), so the cluster that must
# stay linearizable under faults is also one no plaintext reaches.
echo "== valid run: sadd, 3 nodes, --tls"
if [ "$(id -u)" = 0 ]; then
    SMODE="--nemesis kill,pause,partition"
else
    SMODE="--local --nemesis kill,pause"
fi
start=$(date +%s)
# shellcheck disable=SC2086
"$JL" run --tricache "$TC" --nodes 3 --time 25s --workload sadd $SMODE --seed 7 \
    --tls --concurrency 10 --out "$WORK/sadd" >"$WORK/sadd.out" 2>&1
rc=$?
echo "run took $(($(date +%s) - start)) s, exit $rc"
grep -E '^(\[|INVALID|VALID|UNKNOWN)' "$WORK/sadd.out" | cut -c1-160
[ "$rc" = 0 ] || fail "the sadd run should be valid (exit 0), got exit $rc"
S="$WORK/sadd/summary.json"
if [ -s "$S" ]; then
    grep -q '^  "valid": true,' "$S" || fail "sadd: summary.json does not say valid"
    grep -q '^transit_encryption_mode = "required"' "$WORK/sadd/cluster.toml" ||
        fail "sadd: the --tls run's cluster.toml does not require TLS"
    grep -q 'TLS clients on' "$WORK/sadd"/node-1.log || fail "sadd: node 1 opened no TLS client port"
    "$JL" check --model set-full "$WORK/sadd/history.jsonl" >/dev/null ||
        fail "sadd: jepsen-lite check --model set-full disagrees on the recorded history"
    for kind in kill pause partition; do
        case "$SMODE" in *$kind*)
            grep -q "\"kind\": \"$kind\"" "$S" || fail "sadd: no $kind fault was injected" ;;
        esac
    done
    # reads of the sets happened during the run, not only at the end
    reads=$(grep -c '"type":"ok","f":"read"' "$WORK/sadd/history.jsonl")
    [ "$reads" -gt 100 ] || fail "sadd: only $reads SMEMBERS reads completed"
    nothing_left "$S" "$WORK/sadd"
else
    fail "no summary.json for the sadd run"
fi

# The register workload through Lua scripts (--scripts: read, write and cas
# each an EVAL): the primary runs them once and logs their effects, many to
# an entry, and a reply that came from a state never committed shows up as
# a violation. Many clients at a high rate, so groups form; seed 7 draws
# kill, pause and an isolated primary (--local: kill and pause). ~25 s.
echo "== valid run: register through scripts, 3 nodes"
if [ "$(id -u)" = 0 ]; then
    LMODE="--nemesis kill,pause,partition"
else
    LMODE="--local --nemesis kill,pause"
fi
start=$(date +%s)
# shellcheck disable=SC2086
"$JL" run --tricache "$TC" --nodes 3 --time 20s --workload register --scripts $LMODE --seed 7 \
    --concurrency 16 --rate 1500 --out "$WORK/lua" >"$WORK/lua.out" 2>&1
rc=$?
echo "run took $(($(date +%s) - start)) s, exit $rc"
grep -E '^(jepsen-lite run|\[|INVALID|VALID|UNKNOWN)' "$WORK/lua.out" | cut -c1-160
[ "$rc" = 0 ] || fail "the scripts run should be valid (exit 0), got exit $rc"
grep -q '^jepsen-lite run: register workload (Lua scripts)' "$WORK/lua.out" || fail "scripts: the run did not use scripts"
S="$WORK/lua/summary.json"
if [ -s "$S" ]; then
    grep -q '^  "valid": true,' "$S" || fail "scripts: summary.json does not say valid"
    nothing_left "$S" "$WORK/lua"
else
    fail "no summary.json for the scripts run"
fi

# The stall nemesis: DEBUG SLEEP on a node (the primary half the time) for
# the fault's length, between kills: the node's command thread is stuck,
# its Raft thread is not. The history must stay linearizable. ~22 s.
echo "== valid run: register, 3 nodes, --nemesis stall,kill"
start=$(date +%s)
"$JL" run --tricache "$TC" --local --nodes 3 --time 20s --workload register --nemesis stall,kill --seed 11 \
    --concurrency 10 --out "$WORK/stall" >"$WORK/stall.out" 2>&1
rc=$?
echo "run took $(($(date +%s) - start)) s, exit $rc"
grep -E '^(\[|INVALID|VALID|UNKNOWN)' "$WORK/stall.out" | cut -c1-160
[ "$rc" = 0 ] || fail "the stall run should be valid (exit 0), got exit $rc"
S="$WORK/stall/summary.json"
if [ -s "$S" ]; then
    grep -q '^  "valid": true,' "$S" || fail "stall: summary.json does not say valid"
    grep -q '"kind": "stall", "what": "stall n' "$S" || fail "stall: no stall fault was injected"
    nothing_left "$S" "$WORK/stall"
else
    fail "no summary.json for the stall run"
fi

# The disk nemesis (root only: it mounts a tmpfs per node): a node's data
# directory filled with a ballast file (the primary's, half the time) and
# emptied to heal, between kills. Writes refused with -MISCONF are failures,
# writes stuck in the full node's log are indeterminate; the history must
# stay linearizable, writes must come back after each heal, and every tmpfs
# must be gone at the end. ~25 s.
if [ "$(id -u)" = 0 ]; then
    echo "== valid run: register, 3 nodes, --nemesis disk,kill"
    start=$(date +%s)
    "$JL" run --tricache "$TC" --nodes 3 --time 22s --workload register --nemesis disk,kill --seed 3 \
        --concurrency 10 --out "$WORK/disk" >"$WORK/disk.out" 2>&1
    rc=$?
    echo "run took $(($(date +%s) - start)) s, exit $rc"
    grep -E '^(\[|INVALID|VALID|UNKNOWN)' "$WORK/disk.out" | cut -c1-160
    [ "$rc" = 0 ] || fail "the disk run should be valid (exit 0), got exit $rc"
    S="$WORK/disk/summary.json"
    if [ -s "$S" ]; then
        grep -q '^  "valid": true,' "$S" || fail "disk: summary.json does not say valid"
        grep -q '"kind": "disk", "what": "disk full n' "$S" || fail "disk: no disk fault was injected"
        if grep -q '"kind": "disk".*"writes_again_after_heal_ms": null' "$S"; then
            fail "disk: no write was acknowledged after a disk fault healed"
        fi
        nothing_left "$S" "$WORK/disk"
    else
        fail "no summary.json for the disk run"
    fi
    if grep -q " $WORK/disk/data/" /proc/mounts; then
        fail "disk: a tmpfs is still mounted under $WORK/disk/data"
    fi
else
    echo "not root: skipping the disk nemesis run (it mounts a tmpfs per node)"
fi

echo "== injected stale reads must be caught"
"$JL" run --tricache "$TC" --local --nodes 3 --time 8s --nemesis none --seed 7 --inject-stale-reads \
    --out "$WORK/stale" >"$WORK/stale.out" 2>&1
rc=$?
tail -3 "$WORK/stale.out"
[ "$rc" = 1 ] || fail "a history with injected stale reads should be invalid (exit 1), got exit $rc"
grep -q '^  "valid": false,' "$WORK/stale/summary.json" 2>/dev/null || fail "summary.json does not say invalid"

# The broken build must be caught every time, not by luck. With root: the
# only fault is an isolated primary, 2-5 s from t=2 s, while the clients (in
# their own namespace) still reach it. It keeps its leadership until it has
# missed a majority for an election timeout (300 ms), and meanwhile answers
# +OK to every add as soon as it is in its own log: ~60 adds at 200 ops/s.
# None of them reaches another node, so none commits; the new primary never
# had them, and the old one's log is overwritten when it rejoins. Every final
# read lacks them: lost adds, invalid. Without root (no partitions) a
# register run catches the same build by its cas answered +OK although the
# value differed (most of them: ~85% do not match), a linearizability violation.
echo "== a node that acknowledges writes before they commit must be caught"
if [ "$(id -u)" = 0 ]; then
    BROKEN="--workload set --nemesis partition --partitions isolate-primary --concurrency 5"
else
    BROKEN="--local --workload register --nemesis none"
fi
start=$(date +%s)
# shellcheck disable=SC2086
"$JL" run --tricache "$TCB" --nodes 3 --time 10s $BROKEN --seed 11 --out "$WORK/broken" >"$WORK/broken.out" 2>&1
rc=$?
echo "run took $(($(date +%s) - start)) s, exit $rc"
grep -E '^(\[|INVALID|VALID|UNKNOWN)|lost' "$WORK/broken.out" | cut -c1-160
[ "$rc" = 1 ] || fail "the ack-before-commit build should be caught (exit 1), got exit $rc"
S="$WORK/broken/summary.json"
if [ -s "$S" ]; then
    grep -q '^  "valid": false,' "$S" || fail "summary.json does not say invalid"
    if [ "$(id -u)" = 0 ]; then
        grep -q '"what": "partition isolated primary n[0-9]:' "$S" || fail "the primary was not the node isolated"
        lost=$(sed -n 's/^  "lost_writes": \([0-9][0-9]*\),$/\1/p' "$S")
        [ "${lost:-0}" -gt 0 ] || fail "summary.json shows no lost adds (lost_writes: ${lost:-none})"
    fi
    nothing_left "$S" "$WORK/broken"
else
    fail "no summary.json for the broken build's run"
fi

if [ "$FAILED" = 0 ]; then
    rm -rf "$WORK"
    echo "PASS"
else
    echo "files kept in $WORK" >&2
fi
exit "$FAILED"
