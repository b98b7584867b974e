#!/usr/bin/env bash
# Builds libmip and the C++ tests with AddressSanitizer + UndefinedBehaviorSanitizer (clang, in
# the build directory the fuzz targets share: scripts/sanitizer-build.sh) and runs every C++
# test (cpp.*, the moto-backed [integration] cases included) through CTest. Any sanitizer report fails the run: ASan aborts, UBSan halts on the first error.
# The Python module is off (it would need libasan preloaded into the interpreter).
#
# Usage: scripts/test-sanitizers.sh [extra ctest arguments]
#   MIP_ASAN_BUILD_DIR   build directory (default build-asan)
#   MIP_ASAN_JOBS        parallel compile/test jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS="${MIP_ASAN_JOBS:-2}"
# shellcheck source=scripts/sanitizer-build.sh
source scripts/sanitizer-build.sh
BUILD_DIR="$SANITIZER_BUILD_DIR"
sanitizer_configure
cmake --build "$BUILD_DIR" --target mip_tests mip-build -j"$JOBS" >&2

# detect_leaks: LeakSanitizer needs ptrace; where a container forbids it, set
# ASAN_OPTIONS=detect_leaks=0 yourself (the script never turns it off silently).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$BUILD_DIR" -R '^cpp\.' --output-on-failure -j"$JOBS" "$@"
