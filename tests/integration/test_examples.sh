#!/bin/sh
# CI run of examples/ (issue 16): every caching pattern on a short request
# stream against a real PostgreSQL and a real three-node cluster, with the
# patterns' claims asserted (--check), then: nothing the run started is
# still running. Needs TC_BINARY (ctest sets it).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
/usr/bin/python3 "$here/examples/run.py" --quick --check --tricache "$TC_BINARY" >"$out" 2>&1 || status=$?
cat "$out"
[ "$status" -eq 0 ] || { echo "examples: run.py failed ($status)"; exit 1; }
# run.py names its temp dir; every process it started had it on its command line.
dir=$(sed -n 's/^world in \(.*\)$/\1/p' "$out")
[ -n "$dir" ] || { echo "examples: run.py did not name its temp dir"; exit 1; }
if pgrep -f "$dir" >/dev/null; then
  echo "examples: processes left behind:"; pgrep -af "$dir"; exit 1
fi
[ ! -e "$dir" ] || { echo "examples: $dir left behind"; exit 1; }
echo "examples: passed, nothing left behind"
