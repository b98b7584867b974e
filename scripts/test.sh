#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test suite through CTest: the C++ unit and
# integration tests (cpp.*), the Python suite (bindings, recipes, CLI end to end, S3 through
# moto_server and the verifying proxy, Octave compile). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR="${MIP_BUILD_DIR:-build}"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 "$@"
