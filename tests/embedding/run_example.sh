#!/usr/bin/env bash
# Builds and runs examples/embedding against Encore both ways a user would:
# installed (find_package) and as a subdirectory (add_subdirectory): the
# engine alone (embedding_example), and all three libraries (durable_server).
# usage: run_example.sh <encore build dir> <encore source dir>
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/examples/embedding" -B "$work/installed" \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/installed" -j2 >/dev/null
"$work/installed/embedding_example"
"$work/installed/durable_server"

cmake -S "$source_dir/examples/embedding" -B "$work/subdirectory" \
  -DENCORE_SOURCE_DIR="$source_dir" >/dev/null
cmake --build "$work/subdirectory" -j2 >/dev/null
"$work/subdirectory/embedding_example"
"$work/subdirectory/durable_server"
