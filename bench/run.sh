#!/usr/bin/env bash
# One command for the whole benchmark (issue #7): installs the Debian tools it needs, builds
# mip-build in Release into build-bench/, starts moto_server + nginx + a 20 ms latency proxy on
# 127.0.0.1, generates the data, runs every scenario with every competitor side by side (>= 5
# runs each), prints the table, writes bench/results/results.json, results.md and the PNG charts.
# Every server it starts is stopped on exit.
#
#   bench/run.sh [--runs N] [--no-big] [--quick] [--only index2000,cache500,...] [--work DIR] [--out DIR]
#                [--baseline REV]
#
# --baseline REV also builds mip-build at git revision REV (Release, build-bench/baseline-<sha>/)
# and runs it beside the current one in every libmip line ("libmip @<sha>"): a before/after
# comparison of a change in one run, under the same load.
# --out DIR writes the results elsewhere (e.g. a --quick validation run that must not replace the
# committed bench/results/).
# Never run by CTest; nothing here is a test (no timed assertions anywhere).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="${MIP_BENCH_WORK:-$ROOT/build-bench/bench-work}"
BUILD="${MIP_BENCH_BUILD:-$ROOT/build-bench}"
OUT="$ROOT/bench/results"
BASELINE=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) WORK="$2"; shift 2 ;;
    --out) OUT="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --baseline) BASELINE="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

bench/setup.sh

# mip-build, Release, its own build directory.
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMIP_BUILD_TESTS=OFF \
    -DMIP_BUILD_PYTHON=OFF -DMIP_BUILD_BENCH=ON -DPython_EXECUTABLE=/usr/bin/python3 >&2
fi
cmake --build "$BUILD" --target mip-build -j"$(nproc)" >&2
MIP="$BUILD/cli/mip-build"

if [ -n "$BASELINE" ]; then
  sha="$(git rev-parse --short=10 "$BASELINE^{commit}")"
  bdir="$BUILD/baseline-$sha"
  if [ ! -f "$bdir/src/CMakeLists.txt" ]; then
    rm -rf "$bdir/src"
    mkdir -p "$bdir/src"
    git archive "$sha" | tar -x -C "$bdir/src"
  fi
  if [ ! -f "$bdir/build/build.ninja" ]; then
    cmake -S "$bdir/src" -B "$bdir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMIP_BUILD_TESTS=OFF \
      -DMIP_BUILD_PYTHON=OFF -DPython_EXECUTABLE=/usr/bin/python3 >&2
  fi
  cmake --build "$bdir/build" --target mip-build -j"$(nproc)" >&2
  args+=(--mip-baseline "$bdir/build/cli/mip-build" --baseline-label "$sha")
fi

# The Python that has boto3, moto_server and the aws CLI (PATH, ~/.pyenv/shims, ~/.pyenv/versions).
PY=""
for cand in "$(command -v python3 || true)" "$HOME"/.pyenv/versions/*/bin/python3; do
  [ -x "$cand" ] || continue
  if "$cand" -c 'import boto3, moto' 2>/dev/null && [ -x "$(dirname "$cand")/moto_server" -o -n "$(command -v moto_server || true)" ]; then
    PY="$cand"; break
  fi
done
if [ -z "$PY" ]; then
  echo "bench: no Python with boto3 + moto found (PATH or ~/.pyenv/versions/*/bin)" >&2
  exit 1
fi
export PATH="$(dirname "$PY"):$PATH"

mkdir -p "$WORK" "$OUT"
BENCH_PID=""
cleanup() {
  # bench.py stops its servers in a finally block; this covers a kill of run.sh itself.
  if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
    kill -TERM "$BENCH_PID" 2>/dev/null || true
    wait "$BENCH_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

start=$(date +%s)
"$PY" bench/bench.py --mip "$MIP" --work "$WORK" --out "$OUT" "${args[@]}" &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=""
/usr/bin/python3 bench/report.py "$OUT/results.json"
echo "bench: finished in $(( $(date +%s) - start )) s (plus the build); results in $OUT/" >&2
