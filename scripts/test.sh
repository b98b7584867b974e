#!/usr/bin/env bash
# The test command. Sets up (scripts/setup.sh: Debian packages, build/) and runs every suite,
# exiting non-zero if any fails:
#   format      clang-format 14 over every C++ file (scripts/format.sh --check)
#   ctest       build/: the C++ tests (cpp.*), the Python suite in groups that run side by side
#               (python.*: core, s3, faults, octave, packaging) and the installed library
#               (install.*: examples/consumer against a staged install), with ctest -j2
#   tidy        clang-tidy 14 on every file of compile_commands.json (scripts/tidy.sh)
#   sanitizers  the C++ tests under ASan + UBSan (scripts/test-sanitizers.sh, build-asan/, clang)
#   fuzzing     each libFuzzer target over its committed inputs, then a fixed -seed and -runs
#               (tests/fuzz/run.sh, in build-asan/ too: one sanitizer build): deterministic
# Nothing depends on wall-clock time. The last lines name each suite with its time and status,
# and every failing test (C++ test names, pytest ids, files, fuzz targets).
#
# Usage: scripts/test.sh [--quick] [extra ctest arguments]
#   --quick   format and ctest only
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1
BUILD_DIR="${MIP_BUILD_DIR:-build}"
export MIP_ASAN_BUILD_DIR="${MIP_ASAN_BUILD_DIR:-build-asan}"  # sanitizers and fuzzing

quick=0
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi

start=$(date +%s)
logs="$BUILD_DIR/Testing/test-sh"
rm -rf "$logs"
mkdir -p "$logs"
: >"$logs/suites.tsv"
failed=()

# run_suite <name> <junit report or ""> <command...>: output to the terminal and to a log.
run_suite() {
  local name=$1 report=$2
  shift 2
  local log="$logs/$name.log" t0 status
  echo "== $name" >&2
  t0=$(date +%s)
  if "$@" 2>&1 | tee "$log"; then
    status=ok
  else
    status=FAILED
    failed+=("$name")
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$(($(date +%s) - t0))" "$report" "$log" \
    >>"$logs/suites.tsv"
}

run_suite format "" scripts/format.sh --check
run_suite ctest "$PWD/$logs/ctest.xml" \
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 --output-junit "$PWD/$logs/ctest.xml" "$@"
if [ "$quick" -eq 0 ]; then
  run_suite tidy "" scripts/tidy.sh
  run_suite sanitizers "$PWD/$logs/asan.xml" \
    scripts/test-sanitizers.sh \
    --output-junit "$PWD/$logs/asan.xml"
  run_suite fuzzing "" tests/fuzz/run.sh
fi

python3 scripts/test_summary.py "$logs/suites.tsv" "$start" >&2
echo "test.sh: total $(($(date +%s) - start)) s (logs in $logs/)" >&2
if [ "${#failed[@]}" -gt 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all suites passed" >&2
