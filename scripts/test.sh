#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test suite, exiting non-zero if any fails:
#   1. CTest in build/: the C++ unit and integration tests (cpp.*) and the Python suite
#      (bindings, recipes, CLI end to end, S3 through moto_server and the verifying proxy,
#      faults, crashes, bad inputs, secrets, GNU Octave compiles, pip install).
#   2. The C++ tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#      (scripts/test-sanitizers.sh, build-asan/).
#   3. The libFuzzer targets for a bounded time each (tests/fuzz/run.sh, build-fuzz/).
# Usage: scripts/test.sh [--quick] [extra ctest arguments]   (--quick: step 1 only)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1
BUILD_DIR="${MIP_BUILD_DIR:-build}"

quick=0
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi

failed=()
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 "$@" || failed+=("ctest")
if [ "$quick" -eq 0 ]; then
  echo "== sanitizers (ASan + UBSan) ==" >&2
  scripts/test-sanitizers.sh || failed+=("sanitizers")
  echo "== fuzzing ==" >&2
  tests/fuzz/run.sh || failed+=("fuzzing")
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all suites passed" >&2
