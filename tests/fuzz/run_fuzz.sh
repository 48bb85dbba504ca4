#!/usr/bin/env bash
# Builds one fuzz target with clang (libFuzzer, ASan, UBSan) and runs it for a
# bounded time over its corpus in tests/fuzz/corpus/<target>.
#   usage: run_fuzz.sh <target> <source dir> <work dir> [seconds (default 20)]
# Targets:
#   frame_decoder  bytes -> frames -> Request decode/encode round trip, and
#                  Response decode (net/src/protocol.cc, and the templated
#                  frames of wire_shapes.cc).
#   wire_template  bytes, and structured mutations of valid templated payloads
#                  -> a template match must be a buffer the Verifier accepts,
#                  whose decoded fields encode back to it (net/src/wire_template.cc,
#                  wire_shapes.cc; the bounded run in ctest is
#                  tests/fuzz/wire_template_fuzz_test.cc).
#   command_path   bytes -> frames -> requests -> a Core with a fixed catalog,
#                  invariants after every request, replay after each input
#                  (net/src/protocol.cc and the engine core, engine/src/*.cc
#                  and engine/src/internal/*.cc; the runtime's threads and
#                  rings are not part of it).
# A crashing input is written to <work dir>/<target>/crash-*; replay it with
# <work dir>/<target>/<target>_fuzz <file>.
# New inputs that reach new code are kept in <work dir>/<target>/corpus, not
# in the repo; copy the good ones to tests/fuzz/corpus/<target>/ by hand.
# libFuzzer's final stats (execs, coverage) are printed at the end.
set -euo pipefail
target=$1
source_dir=$2
work=$3/$target
seconds=${4:-20}

case "$target" in
  frame_decoder | wire_template)
    sources=("$source_dir/net/src/protocol.cc" "$source_dir/net/src/wire_template.cc"
             "$source_dir/net/src/wire_shapes.cc")
    ;;
  command_path)
    sources=("$source_dir/net/src/protocol.cc" "$source_dir/net/src/wire_template.cc"
             "$source_dir/net/src/wire_shapes.cc" "$source_dir"/engine/src/*.cc
             "$source_dir"/engine/src/internal/*.cc)
    ;;
  *)
    echo "run_fuzz.sh: unknown target '$target' (frame_decoder, wire_template, command_path)" >&2
    exit 2
    ;;
esac

mkdir -p "$work/generated" "$work/corpus"
flatc --cpp --scoped-enums -o "$work/generated" "$source_dir/net/schema/encore.fbs"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I "$source_dir/engine/include" -I "$source_dir/engine/src" -I "$source_dir/net/include" \
  -I "$source_dir/net/src" -I "$work/generated" \
  "${sources[@]}" "$source_dir/tests/fuzz/${target}_fuzz.cc" \
  -labsl_status -labsl_statusor -labsl_strings -labsl_cord -labsl_cordz_info \
  -labsl_cord_internal -labsl_cordz_functions -labsl_cordz_handle -labsl_str_format_internal \
  -labsl_raw_logging_internal -labsl_int128 -labsl_throw_delegate -labsl_strings_internal \
  -labsl_base -labsl_spinlock_wait -labsl_synchronization -labsl_time -labsl_time_zone \
  -labsl_stacktrace -labsl_symbolize -labsl_malloc_internal -labsl_debugging_internal \
  -labsl_demangle_internal -labsl_graphcycles_internal -labsl_exponential_biased \
  -labsl_hash -labsl_city -labsl_low_level_hash -labsl_raw_hash_set \
  -o "$work/${target}_fuzz"
if [[ -d "$source_dir/tests/fuzz/corpus/$target" ]]; then
  cp -n "$source_dir/tests/fuzz/corpus/$target"/* "$work/corpus/" 2>/dev/null || true
fi
"$work/${target}_fuzz" -max_total_time="$seconds" -seed=1 -max_len=70000 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus"
