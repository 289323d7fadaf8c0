#!/usr/bin/env bash
# Installs the Debian 12 packages tricache builds, tests and benchmarks with.
# Idempotent and quick when everything is already there: apt runs only for
# packages that are missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config      # toolchain
  libuv1-dev libssl-dev liblz4-dev      # event loop, crypto and TLS, compression
  openssl                               # the TLS tests make their certificates with its CLI
  libcmocka-dev                         # unit tests
  redis-tools redis-server              # real clients in tests; redis-server for bench/
  clang libclang-rt-14-dev              # libFuzzer and sanitizer runtimes
  libtsan2                              # gcc's ThreadSanitizer runtime (the two-thread node)
  python3 procps iproute2               # test and bench helpers
  python3-redis                         # redis-py's Sentinel and RedisCluster clients in the cluster tests
  nftables faketime                     # jepsen-lite: partitions inside namespaces, clock skew
  libcurl4-openssl-dev                  # S3 backups (requests signed with CURLOPT_AWS_SIGV4)
  awscli                                # reads back what the S3 backup test uploads
  postgresql python3-psycopg2           # examples/: the caching patterns run against a real database
  liblua5.1-0-dev lua-cjson-dev lua-bitop-dev  # scripting: Lua 5.1 as Redis embeds it, cjson and bit linked statically
)

# canonical/raft's maintained line (0.22.1) is in bookworm-backports; 0.15 in
# bookworm proper lacks fixes we rely on (see RAFT-NOTES.md).
RAFT_VERSION_PREFIX=0.22

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run s3rver, the S3 endpoint of the backup tests. A machine
# may have them from elsewhere (e.g. nodesource, whose nodejs bundles npm and
# conflicts with Debian's npm): Debian's are installed only when missing.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

# The npm packages of a test folder at the versions its package-lock.json
# pins (tests/s3: s3rver, the S3 endpoint of the backup tests; tests/bullmq:
# BullMQ and ioredis for test_bullmq.c and bench/bullmq.sh), into its
# node_modules; skipped when proof (a file npm installs) exists and
# node_modules is newer than the lock file.
install_npm_folder() {
  local dir proof=$2
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/$1"
  if [ -e "$dir/node_modules/$proof" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  echo "install-deps: installing $1's packages into $dir/node_modules (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}
install_npm_folders() {
  install_npm_folder s3 .bin/s3rver
  install_npm_folder bullmq bullmq/package.json
}
raft_ok=0
case "$(dpkg-query -W -f='${Status} ${Version}' libraft-dev 2>/dev/null)" in
  "install ok installed $RAFT_VERSION_PREFIX"*) raft_ok=1 ;;
esac
if [ ${#missing[@]} -eq 0 ] && [ $raft_ok -eq 1 ]; then
  install_npm_folders
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo) to install packages" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# Enable bookworm-backports on the Debian mirror this machine already uses.
if [ $raft_ok -eq 0 ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
           grep -v security | grep -oE 'https?://[^ ]+' | head -n 1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "install-deps: enabling bookworm-backports from $mirror"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" | $sudo tee /etc/apt/sources.list.d/tricache-bookworm-backports.sources >/dev/null
fi

echo "install-deps: installing ${missing[*]} libraft-dev (backports)"
$sudo apt-get update -q
[ ${#missing[@]} -eq 0 ] || $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
[ $raft_ok -eq 1 ] || $sudo apt-get install -y -q --no-install-recommends -t bookworm-backports libraft-dev
# The Debian package starts a redis-server on port 6379 where systemd runs;
# nothing here needs it (tests and bench/ start their own on free ports).
install_npm_folders
