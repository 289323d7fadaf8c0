#!/bin/sh
# Smoke test of `jepsen-lite run` (ctest label "jepsen"):
#  1. a CI-sized register run (3 nodes, kill + partition + pause, fixed seed)
#     must come out valid, and afterwards nothing it made may remain: no
#     namespace, no route, no node process. Without root it runs --local with
#     kill and pause instead.
#  2. a short run with --inject-stale-reads must be flagged invalid.
# Needs JEPSEN_LITE and TC_BINARY (set by ctest).
set -u

JL=${JEPSEN_LITE:?set JEPSEN_LITE to the jepsen-lite binary}
TC=${TC_BINARY:?set TC_BINARY to the tricache binary}
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

if [ "$(id -u)" = 0 ]; then
    MODE="--nemesis kill,partition,pause"
else
    echo "not root: running --local with kill,pause (partitions need network namespaces)"
    MODE="--local --nemesis kill,pause"
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
    for kind in kill partition pause; do
        case "$MODE" in *$kind*)
            grep -q "\"kind\": \"$kind\"" "$S" || fail "no $kind fault was injected" ;;
        esac
    done
    # Nothing left behind: namespaces, the blackhole route, node processes.
    prefix=$(member netns_prefix "$S")
    subnet=$(member subnet "$S")
    if [ -n "$prefix" ]; then
        if ip netns list | grep -q "^$prefix-"; then fail "namespaces left: $(ip netns list | grep "^$prefix-")"; fi
        if ip route show | grep -q "$subnet"; then fail "route left: $(ip route show | grep "$subnet")"; fi
        if ls /var/run/netns 2>/dev/null | grep -q "^$prefix-"; then
            fail "namespace files left in /var/run/netns"
        fi
    fi
    pids=$(sed -n 's/^  "pids": \[\(.*\)\],$/\1/p' "$S" | tr -d ' ' | tr ',' ' ')
    [ -n "$pids" ] || fail "summary.json lists no node processes"
    for p in $pids; do
        if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "$WORK/valid"; then
            fail "node process $p is still running"
        fi
    done
fi

echo "== injected stale reads must be caught"
"$JL" run --tricache "$TC" --local --nodes 3 --time 8s --nemesis none --seed 7 --inject-stale-reads \
    --out "$WORK/stale" >"$WORK/stale.out" 2>&1
rc=$?
tail -3 "$WORK/stale.out"
[ "$rc" = 1 ] || fail "a history with injected stale reads should be invalid (exit 1), got exit $rc"
grep -q '^  "valid": false,' "$WORK/stale/summary.json" 2>/dev/null || fail "summary.json does not say invalid"

if [ "$FAILED" = 0 ]; then
    rm -rf "$WORK"
    echo "PASS"
else
    echo "files kept in $WORK" >&2
fi
exit "$FAILED"
