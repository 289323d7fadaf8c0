#!/usr/bin/env bash
# bench/bigvalues.sh: the issue's 5M-member sorted set on a three-node cluster.
#
# Runs the integration test test_big_sorted_set_keeps_the_primary
# (tests/integration/test_zset_cluster.c) at a size CI does not use: it loads
# a sorted set of --members members (default 5,000,000) in ZADDs of 1000, then
# makes it go four ways - DEL, expiry, RENAME over it, a TCRESTORE that
# replaces the keyspace holding it - each time checking that the primary kept
# its Raft term, while a probe PINGs the primary and reports the slowest
# answer. The test itself fails only on an election, a lost write or
# diverging nodes; the times are printed, one line per way.
#
#   bench/bigvalues.sh                    # 5M members (several minutes on 2 CPUs)
#   bench/bigvalues.sh --members 2000000
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
MEMBERS=5000000
BUILD="$REPO_ROOT/build"

usage() {
    cat <<USAGE
usage: bench/bigvalues.sh [--members N] [--build DIR]

  --members N  members of the big sorted set (default 5000000)
  --build DIR  build directory with tricache and the integration tests (default <repo>/build)
USAGE
}

while [ $# -gt 0 ]; do
    case $1 in
        --members) MEMBERS=${2:?--members needs a value}; shift 2 ;;
        --build) BUILD=${2:?--build needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "bench/bigvalues.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $MEMBERS =~ ^[1-9][0-9]*$ ]] || { echo "bench/bigvalues.sh: --members must be a positive integer" >&2; exit 2; }
TEST="$BUILD/test_integration_zset_cluster"
[ -x "$TEST" ] && [ -x "$BUILD/tricache" ] || { echo "bench/bigvalues.sh: build first (scripts/build.sh)" >&2; exit 1; }

echo "# Big values: a ${MEMBERS}-member sorted set on three nodes"
echo
echo "$(nproc) CPUs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
TC_BINARY="$BUILD/tricache" TC_ZSET_BIG="$MEMBERS" TC_TEST_FILTER=test_big_sorted_set_keeps_the_primary \
    "$TEST" > "$log" 2>&1 || status=$?
echo "| way | load ms | gone on every node after ms | slowest PING meanwhile ms |"
echo "|---|---:|---:|---:|"
sed -n 's/^BIGVALUES \(.*\): [0-9]* members, load \([0-9]*\) ms, gone on every node after \([0-9]*\) ms, slowest PING meanwhile \([0-9.]*\) ms$/| \1 | \2 | \3 | \4 |/p' "$log"
echo
if [ "$status" -eq 0 ]; then
    echo "The primary kept its term throughout; every node converged."
else
    echo "FAILED (exit $status):"
    echo '```'
    grep -E 'ERROR|LINE|FAILED|TRYAGAIN|primary|election' "$log" | head -n 40
    echo '```'
fi
exit "$status"
