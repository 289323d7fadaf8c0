#!/usr/bin/env bash
# Builds the tricache binary of a pinned earlier commit of this repository
# into a cache directory, once: a rerun finds the binary and does nothing.
# RelWithDebInfo, not Release: d2f200a trips gcc -O3's maybe-uninitialized
# under -Werror (fixed later, in 560c7b8).
# Usage: build_previous.sh REPO COMMIT CACHE_DIR   (prints the binary's path)
set -euo pipefail
repo=$1 commit=$2 cache=$3
bin="$cache/$commit/build/tricache"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
src="$cache/$commit/src"
rm -rf "$cache/$commit"
mkdir -p "$src"
# git archive: the commit's tree exactly, whatever the worktree holds now
git -C "$repo" archive "$commit" | tar -x -C "$src"
cmake -S "$src" -B "$cache/$commit/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$cache/$commit/cmake.log" 2>&1
cmake --build "$cache/$commit/build" --target tricache -j2 >"$cache/$commit/build.log" 2>&1 || {
    tail -n 40 "$cache/$commit/build.log" >&2
    exit 1
}
echo "$bin"
