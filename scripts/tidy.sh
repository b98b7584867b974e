#!/usr/bin/env bash
# clang-tidy 14 (.clang-tidy: the checks of style.md §10) on every project file of
# compile_commands.json, in parallel; fails if any diagnostic remains (scripts/test.sh runs it).
# Prints each diagnostic once, then counts per file and per check, and the elapsed time.
# Results are cached per preprocessed translation unit in <build>/tidy-cache/ (scripts/tidy.py).
#
# Usage: scripts/tidy.sh [path-regex]     (default: every file; e.g. 'cli/|tests/cpp/')
#   MIP_BUILD_DIR   build directory with compile_commands.json (default build)
#   MIP_TIDY_JOBS   parallel clang-tidy processes (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${MIP_BUILD_DIR:-build}"
JOBS="${MIP_TIDY_JOBS:-$(nproc)}"
TIDY="$(command -v clang-tidy-14 || command -v clang-tidy || true)"
CLANG="$(command -v clang++-14 || command -v clang++ || true)"
if [ -z "$TIDY" ] || [ -z "$CLANG" ]; then
  echo "tidy.sh: clang-tidy or clang++ is missing (apt-get install clang-tidy clang)" >&2
  exit 1
fi
if [ ! -f "$BUILD_DIR/compile_commands.json" ]; then
  echo "tidy.sh: $BUILD_DIR/compile_commands.json is missing (run scripts/setup.sh first)" >&2
  exit 1
fi
exec python3 scripts/tidy.py --build-dir "$BUILD_DIR" --jobs "$JOBS" --tidy "$TIDY" \
  --clang "$CLANG" "${1:-.}"
