#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang in their own build directory (the library with
# -fsanitize=fuzzer-no-link,address,undefined) and runs each one for a bounded time on a scratch
# copy of its committed seed corpus (tests/fuzz/corpus/<target>/). Fails on any crash, leak,
# sanitizer report, timeout or out-of-memory; the reproducer is left in the build directory.
#
# Usage: tests/fuzz/run.sh [target ...]      (default: all five)
#   MIP_FUZZ_BUILD_DIR   build directory (default build-fuzz)
#   MIP_FUZZ_SECONDS     seconds per target (default 20)
#   MIP_FUZZ_JOBS        compile jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD_DIR="${MIP_FUZZ_BUILD_DIR:-build-fuzz}"
SECONDS_PER_TARGET="${MIP_FUZZ_SECONDS:-20}"
JOBS="${MIP_FUZZ_JOBS:-2}"
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=(package_spec prepare_yaml wheel_name s3_xml extract_zip)
fi

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install clang)" >&2; exit 1; }
done

FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPython_EXECUTABLE=/usr/bin/python3 \
    -DMIP_BUILD_FUZZ=ON -DMIP_BUILD_PYTHON=OFF -DMIP_BUILD_CLI=OFF -DMIP_BUILD_TESTS=OFF \
    -DMIP_INSTALL=OFF "-DCMAKE_C_FLAGS=$FLAGS" "-DCMAKE_CXX_FLAGS=$FLAGS" >&2
fi
cmake --build "$BUILD_DIR" -j"$JOBS" --target "${TARGETS[@]/#/fuzz_}" >&2

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
summary=()
for t in "${TARGETS[@]}"; do
  work="$BUILD_DIR/fuzz-work/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
  log="$work/fuzz.log"
  echo "== fuzz_$t: ${SECONDS_PER_TARGET}s" >&2
  if "$BUILD_DIR/tests/fuzz/fuzz_$t" "$work/corpus" -max_total_time="$SECONDS_PER_TARGET" \
       -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$work/artifacts/" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    summary+=("fuzz_$t: ok, $runs executions in ${SECONDS_PER_TARGET}s")
  else
    status=1
    summary+=("fuzz_$t: FAILED (see $log; reproducer in $work/artifacts/)")
    grep -E "ERROR|SUMMARY|==[0-9]+==|deadly|Test unit written" "$log" | head -20 >&2 || true
  fi
done
printf '%s\n' "${summary[@]}"
exit "$status"
