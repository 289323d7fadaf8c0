#!/usr/bin/env bash
# Installs the Debian 12 packages tricache builds, tests and benchmarks with.
# Idempotent and quick when everything is already there: apt runs only for
# packages that are missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config      # toolchain
  libuv1-dev libssl-dev liblz4-dev      # event loop, crypto, compression
  libcmocka-dev                         # unit tests
  redis-tools redis-server              # real clients in tests; redis-server for bench/
  clang libclang-rt-14-dev              # libFuzzer and sanitizer runtimes
  python3 procps iproute2               # test and bench helpers
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
# The Debian package starts a redis-server on port 6379 where systemd runs;
# nothing here needs it (tests and bench/ start their own on free ports).
