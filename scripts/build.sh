#!/usr/bin/env bash
# Builds one flavour of tricache into its own directory:
#   scripts/build.sh            release build (build/)
#   scripts/build.sh o3         Release (-O3, NDEBUG; build-o3/): gcc's optimiser
#                               finds warnings -O2 does not, so CI builds it too
#   scripts/build.sh asan       ASan + UBSan with gcc (build-asan/)
#   scripts/build.sh tsan       ThreadSanitizer with gcc (build-tsan/)
#   scripts/build.sh fuzz       libFuzzer targets with clang (build-fuzz/)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
jobs=$(nproc)
case "$flavour" in
  release) dir=build; opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  o3)      dir=build-o3; opts=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir=build-asan; opts=(-DCMAKE_BUILD_TYPE=Debug -DTC_SANITIZE=ON) ;;
  tsan)    dir=build-tsan; opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_TSAN=ON) ;;
  fuzz)    dir=build-fuzz; opts=(-DCMAKE_BUILD_TYPE=Debug -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang) ;;
  *) echo "usage: scripts/build.sh [release|o3|asan|tsan|fuzz]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${opts[@]}" >/dev/null
cmake --build "$dir" -j"$jobs"
