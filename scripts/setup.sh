#!/usr/bin/env bash
# Installs every build and test dependency from Debian packages (idempotent: installs only what
# is missing), then configures and builds libmip, mip-build, mip_native and the tests in build/.
# Usage: scripts/setup.sh [--no-build]
#   MIP_SETUP_EXTRA="pkg ..."  also install these Debian packages (bench/setup.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git zip unzip
  libssl-dev libcurl4-openssl-dev libzip-dev libdeflate-dev nlohmann-json3-dev libyaml-cpp-dev libpugixml-dev
  libcli11-dev catch2 pybind11-dev python3-dev python3-pytest python3-setuptools python3-pip
  python3-boto3 python3-botocore python3-venv
  python3-requests python3-yaml  # real Python recipes import requests; the conformance suite reads locks
  octave liboctave-dev
  gfortran  # Fortran sources in MEX builds and recipes that run make (fmm2d's shape)
  clang clang-format clang-tidy
  chromium fonts-dejavu-core
  strace  # test_site_replace.py kills index between two renames (syscall fault injection)
)
# shellcheck disable=SC2206
PACKAGES+=(${MIP_SETUP_EXTRA:-})

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ "${1:-}" = "--no-build" ]; then
  exit 0
fi

BUILD_DIR="${MIP_BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  # shellcheck source=scripts/ccache.sh
  source scripts/ccache.sh
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPython_EXECUTABLE=/usr/bin/python3 "${MIP_CCACHE_ARGS[@]}" >&2
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" >&2
