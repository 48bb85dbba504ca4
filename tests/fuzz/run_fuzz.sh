#!/usr/bin/env bash
# Builds the frame-decoder fuzz target with clang (libFuzzer, ASan, UBSan) and
# runs it for a bounded time over the corpus in tests/fuzz/corpus.
#   usage: run_fuzz.sh <source dir> <work dir> [seconds (default 20)]
# New inputs that reach new code are kept in the work dir, not in the repo.
set -euo pipefail
source_dir=$1
work=$2
seconds=${3:-20}
mkdir -p "$work/generated" "$work/corpus"
flatc --cpp --scoped-enums -o "$work/generated" "$source_dir/net/schema/encore.fbs"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I "$source_dir/engine/include" -I "$source_dir/net/include" -I "$work/generated" \
  "$source_dir/net/src/protocol.cc" "$source_dir/tests/fuzz/frame_decoder_fuzz.cc" \
  -labsl_status -labsl_statusor -labsl_strings -labsl_cord -labsl_cordz_info \
  -labsl_cord_internal -labsl_cordz_functions -labsl_cordz_handle -labsl_str_format_internal \
  -labsl_raw_logging_internal -labsl_int128 -labsl_throw_delegate -labsl_strings_internal \
  -labsl_base -labsl_spinlock_wait -labsl_synchronization -labsl_time -labsl_time_zone \
  -labsl_stacktrace -labsl_symbolize -labsl_malloc_internal -labsl_debugging_internal \
  -labsl_demangle_internal -labsl_graphcycles_internal -labsl_exponential_biased \
  -labsl_hash -labsl_city -labsl_low_level_hash \
  -o "$work/frame_decoder_fuzz"
cp -n "$source_dir"/tests/fuzz/corpus/* "$work/corpus/" 2>/dev/null || true
"$work/frame_decoder_fuzz" -max_total_time="$seconds" -seed=1 -max_len=70000 \
  -print_final_stats=1 "$work/corpus"
