#!/usr/bin/env bash
# The style checks of `make test`: every C++ file tracked by git is formatted as
# .clang-format says, and Encore's own sources (not its tests or benchmarks)
# pass the clang-tidy checks of .clang-tidy.
#   usage: tools/check-style.sh <build dir with compile_commands.json>
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

mapfile -t all < <(git ls-files '*.h' '*.cc')
unformatted=()
for file in "${all[@]}"; do
  if ! clang-format --dry-run -Werror "$file" > /dev/null 2>&1; then
    unformatted+=("$file")
  fi
done
if [ ${#unformatted[@]} -ne 0 ]; then
  echo "check-style: not formatted (run clang-format -i on them):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "check-style: ${#all[@]} files formatted"

if [ ! -f "$build/compile_commands.json" ]; then
  echo "check-style: $build/compile_commands.json is missing (configure with" \
    "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON)" >&2
  exit 1
fi
mapfile -t sources < <(git ls-files 'engine/src/*.cc' 'net/src/*.cc' 'persistence/src/*.cc' 'tools/*.cc')
if ! printf '%s\n' "${sources[@]}" |
  xargs -P "${JOBS:-2}" -n 4 clang-tidy -p "$build" --quiet > "$build/clang-tidy.log" 2>&1; then
  grep -E "(warning|error):" "$build/clang-tidy.log" >&2 || cat "$build/clang-tidy.log" >&2
  echo "check-style: clang-tidy found the above (full log: $build/clang-tidy.log)" >&2
  exit 1
fi
echo "check-style: ${#sources[@]} sources pass clang-tidy"
