# Sourced by tests/fuzz/run.sh and tests/fuzz/explore.sh: builds the libFuzzer targets with
# Debian's clang in the sanitizer build the C++ tests under ASan also use
# (scripts/sanitizer-build.sh: the library with -fsanitize=address,undefined,fuzzer-no-link).
#   MIP_ASAN_BUILD_DIR   build directory (default build-asan)
#   MIP_FUZZ_JOBS        compile jobs (default 2)
# Sets BUILD_DIR, ALL_TARGETS and the sanitizer options; fuzz_build <target...> builds.
# shellcheck source=scripts/sanitizer-build.sh
source scripts/sanitizer-build.sh
BUILD_DIR="$SANITIZER_BUILD_DIR"
JOBS="${MIP_FUZZ_JOBS:-2}"
ALL_TARGETS=(package_spec prepare_yaml wheel_name s3_xml extract_zip sidecar_index)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Per-input limits shared by both scripts: a hang or a runaway allocation is a finding.
LIMITS=(-timeout=60 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536)

fuzz_build() {
  sanitizer_configure
  cmake --build "$BUILD_DIR" -j"$JOBS" --target "${@/#/fuzz_}" >&2
}

# Every committed input of a target: its seed corpus and its past reproducers.
fuzz_inputs() {
  local t=$1 d
  for d in tests/fuzz/corpus/"$t" tests/fuzz/regressions/"$t"; do
    if [ -d "$d" ]; then
      find "$d" -maxdepth 1 -type f | LC_ALL=C sort
    fi
  done
}
