# Sourced by tests/fuzz/run.sh and tests/fuzz/explore.sh: builds the libFuzzer targets with
# Debian's clang in their own build directory (the library with
# -fsanitize=fuzzer-no-link,address,undefined).
#   MIP_FUZZ_BUILD_DIR   build directory (default build-fuzz)
#   MIP_FUZZ_JOBS        compile jobs (default 2)
# Sets BUILD_DIR, ALL_TARGETS and the sanitizer options; fuzz_build <target...> builds.
BUILD_DIR="${MIP_FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${MIP_FUZZ_JOBS:-2}"
ALL_TARGETS=(package_spec prepare_yaml wheel_name s3_xml extract_zip sidecar_index)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Per-input limits shared by both scripts: a hang or a runaway allocation is a finding.
LIMITS=(-timeout=60 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536)

fuzz_build() {
  local tool
  for tool in clang clang++; do
    command -v "$tool" >/dev/null || {
      echo "fuzz: $tool is missing (apt-get install clang)" >&2
      exit 1
    }
  done
  local flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
  flags+=" -fno-omit-frame-pointer -g"
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    # shellcheck source=scripts/ccache.sh
    source scripts/ccache.sh
    CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPython_EXECUTABLE=/usr/bin/python3 "${MIP_CCACHE_ARGS[@]}" \
      -DMIP_BUILD_FUZZ=ON -DMIP_BUILD_PYTHON=OFF -DMIP_BUILD_CLI=OFF -DMIP_BUILD_TESTS=OFF \
      -DMIP_BUILD_EXAMPLES=OFF -DMIP_INSTALL=OFF "-DCMAKE_C_FLAGS=$flags" \
      "-DCMAKE_CXX_FLAGS=$flags" >&2
  fi
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
