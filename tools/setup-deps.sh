#!/usr/bin/env bash
# Installs the Debian 12 packages Encore needs to build, test and benchmark
# (rocksdb-tools brings db_bench, RocksDB's own benchmark, for comparison;
# clang and libclang-rt-14-dev bring libFuzzer for the fuzz test; gnuplot
# draws encore-load's chart; prometheus and redis are the real peers of
# docs/operations.md and bench/compare-redis.sh; CLI11 parses every program's
# flags; clang-format and clang-tidy are the style checks of `make test`).
# Idempotent: checks each package with dpkg first and runs apt-get only when
# something is missing; prints nothing when all are present.
set -euo pipefail

packages=(
  build-essential cmake make pkg-config
  libboost1.81-dev libabsl-dev
  libflatbuffers-dev flatbuffers-compiler
  librocksdb-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  rocksdb-tools
  clang libclang-rt-14-dev
  gnuplot-nox
  prometheus
  redis-server redis-tools
  libcli11-dev nlohmann-json3-dev
  clang-format clang-tidy
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-deps: done"
