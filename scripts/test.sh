#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine:
#   1. install dependencies, build the release binaries;
#   2. unit and integration tests (ctest, two at a time) on the release build;
#   3. unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   4. the two-thread integration tests under ThreadSanitizer;
#   5. a Release (-O3) build, which must build warning-free (not run);
#   6. each libFuzzer target for FUZZ_SECONDS (default 15), two at a time,
#      under ASan/UBSan. The whole suite stays under half an hour on two cores.
# Prints one summary line at the end and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
passed=0
failed=0

step() { echo; echo "==> $*"; }
tally() { # tally <ctest output file>: adds ctest's counts
  local line
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$1" | tail -n 1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  local total bad
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.*tests passed, ([0-9]+) tests failed.*/\1/' <<<"$line")
  passed=$((passed + total - bad))
  failed=$((failed + bad))
}

step "dependencies"
scripts/install-deps.sh || exit 1

step "release build"
scripts/build.sh release || exit 1

step "unit and integration tests"
# Two test programs at a time: most of an integration test's time is spent
# waiting for elections, catch-ups and clients (a cluster test uses ~15% of a
# core); the tests that must run alone say so (RUN_SERIAL in CMakeLists.txt).
log=$(mktemp)
(cd build && ctest -j2 --output-on-failure) 2>&1 | tee "$log"
tally "$log"

step "unit tests under ASan + UBSan"
if scripts/build.sh asan; then
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest -L unit --output-on-failure) 2>&1 | tee "$log"
  tally "$log"
else
  failed=$((failed + 1))
fi

step "ThreadSanitizer: the integration tests of the two threads"
# A node runs a command thread and a Raft thread (raft/raft_thread.c). Under
# TSan, the integration tests that drive both threads hardest (slow commands
# and a wedged command thread, shutdown and its handover, stalled commits;
# the unit tests run one thread and are left to the ASan step, which keeps
# the suite within half an hour). TSan writes every report of every
# process to its log_path; any report fails the step.
if scripts/build.sh tsan; then
  tsan_dir=$(mktemp -d)
  export TSAN_OPTIONS="log_path=$tsan_dir/report second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
  (cd build-tsan && TC_STALL_KEYS=300000 TC_UNDER_TSAN=1 ctest -R '^integration_(stall|shutdown|commit_stall)$' --output-on-failure) 2>&1 | tee "$log"
  tally "$log"
  unset TSAN_OPTIONS
  if ls "$tsan_dir"/report* >/dev/null 2>&1; then
    echo "ThreadSanitizer reports:"
    head -n 200 "$tsan_dir"/report*
    failed=$((failed + 1))
  else
    echo "no ThreadSanitizer report"
    passed=$((passed + 1))
  fi
  rm -rf "$tsan_dir"
else
  failed=$((failed + 1))
fi

step "Release (-O3) build"
# -O3 inlines more, and gcc then warns (-Werror) where -O2 did not: it
# counts as one check, passed if everything builds.
if scripts/build.sh o3; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

step "fuzzing, ${FUZZ_SECONDS}s per target, two targets at a time"
# A fuzzer keeps one core busy: two run side by side on a two-core machine,
# each for its full FUZZ_SECONDS. Each writes its log and exit code; the
# results are printed in order once all are done.
fuzz_one() { # fuzz_one <target>
  local target=$1 corpus seeds=tests/fuzz/corpus/$1
  corpus=$(mktemp -d)
  [ -d "$seeds" ] && cp "$seeds"/* "$corpus"/ 2>/dev/null
  build-fuzz/fuzz_"$target" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=build-fuzz/ -print_final_stats=1 "$corpus" 2>"build-fuzz/fuzz_$target.log"
  echo $? >"build-fuzz/fuzz_$target.rc"
  rm -rf "$corpus"
}
if scripts/build.sh fuzz; then
  targets=()
  for bin in build-fuzz/fuzz_*; do
    [ -x "$bin" ] && [ -f "$bin" ] && targets+=("${bin#build-fuzz/fuzz_}")
  done
  for target in "${targets[@]}"; do
    rm -f "build-fuzz/fuzz_$target.rc"
    [ "$(jobs -rp | wc -l)" -ge 2 ] && wait -n
    fuzz_one "$target" &
  done
  wait
  for target in "${targets[@]}"; do
    echo "fuzz_$target:"
    if [ "$(cat "build-fuzz/fuzz_$target.rc" 2>/dev/null)" = 0 ]; then
      tail -n 3 "build-fuzz/fuzz_$target.log"
      passed=$((passed + 1))
    else
      tail -n 60 "build-fuzz/fuzz_$target.log"
      failed=$((failed + 1))
    fi
  done
else
  failed=$((failed + 1))
fi
rm -f "$log"

echo
echo "suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
