#!/usr/bin/env bash
# The main job: set up, build, and publish examples/packages into the local store.
# Everything lands under build/examples/: store/ (the .mhl files and sidecars) and gh-pages/
# (index.json, packages.html).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
OUT="build/examples"
build/cli/mip-build publish --recipes examples/packages --build-dir "$OUT" "$@"
echo
echo "bundles:    $(pwd)/$OUT/store/"
echo "index.json: $(pwd)/$OUT/gh-pages/index.json"
echo "html:       $(pwd)/$OUT/gh-pages/packages.html"
