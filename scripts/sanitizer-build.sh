# Sourced by scripts/test-sanitizers.sh and tests/fuzz/common.sh: the one sanitizer build both
# use, so the test command compiles the library once for the two (it compiled it twice, once
# with g++ for the tests and once with clang for the fuzz targets).
#   clang, RelWithDebInfo, -fsanitize=address,undefined + fuzzer-no-link (libFuzzer's coverage
#   hooks; the tests link them from the ASan runtime and never call them), MIP_BUILD_FUZZ=ON.
#   MIP_ASAN_BUILD_DIR   the build directory (default build-asan)
# sanitizer_configure: configures it when missing, or when it is an older, differently
# configured directory (reconfigured from scratch).
SANITIZER_BUILD_DIR="${MIP_ASAN_BUILD_DIR:-build-asan}"
SANITIZER_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
SANITIZER_FLAGS+=" -fno-omit-frame-pointer -g"

sanitizer_configure() {
  local tool
  for tool in clang clang++; do
    command -v "$tool" >/dev/null || {
      echo "sanitizer build: $tool is missing (apt-get install clang)" >&2
      exit 1
    }
  done
  local cache="$SANITIZER_BUILD_DIR/CMakeCache.txt"
  if [ -f "$SANITIZER_BUILD_DIR/build.ninja" ] && grep -q '^MIP_BUILD_FUZZ:BOOL=ON' "$cache" &&
    grep -qF -- "CMAKE_CXX_FLAGS:STRING=$SANITIZER_FLAGS" "$cache"; then
    return 0
  fi
  rm -rf "$SANITIZER_BUILD_DIR"
  # shellcheck source=scripts/ccache.sh
  source scripts/ccache.sh
  CC=clang CXX=clang++ cmake -S . -B "$SANITIZER_BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython_EXECUTABLE=/usr/bin/python3 \
    "${MIP_CCACHE_ARGS[@]}" -DMIP_BUILD_FUZZ=ON -DMIP_BUILD_PYTHON=OFF \
    -DMIP_BUILD_EXAMPLES=OFF -DMIP_INSTALL=OFF \
    "-DCMAKE_C_FLAGS=$SANITIZER_FLAGS" "-DCMAKE_CXX_FLAGS=$SANITIZER_FLAGS" \
    "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" >&2
}
