#!/usr/bin/env bash
# Exploratory fuzzing, outside the test command: a random seed and a wall-clock budget per target.
# What it finds is meant to be committed:
#   - inputs that reach new code are merged (minimised, libFuzzer -merge=1) into the seed
#     corpus tests/fuzz/corpus/<target>/, which the deterministic run (tests/fuzz/run.sh) starts
#     from;
#   - a crash, leak, hang or out-of-memory input is copied to tests/fuzz/regressions/<target>/ —
#     commit it together with the fix (run.sh then fails until the bug is fixed).
#
# Usage: tests/fuzz/explore.sh [target ...]   (default: all six)
#   MIP_FUZZ_SECONDS   seconds per target (default 300)
#   MIP_FUZZ_SEED      seed (default: random, printed)
#   MIP_ASAN_BUILD_DIR, MIP_FUZZ_JOBS: see tests/fuzz/common.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/fuzz/common.sh

SECONDS_PER_TARGET="${MIP_FUZZ_SECONDS:-300}"
SEED="${MIP_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=("${ALL_TARGETS[@]}")
fi
fuzz_build "${TARGETS[@]}"

status=0
for t in "${TARGETS[@]}"; do
  exe="$BUILD_DIR/tests/fuzz/fuzz_$t"
  work="$BUILD_DIR/fuzz-explore/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts" tests/fuzz/corpus/"$t"
  mapfile -t inputs < <(fuzz_inputs "$t")
  if [ "${#inputs[@]}" -gt 0 ]; then
    cp "${inputs[@]}" "$work/corpus/"
  fi
  echo "== fuzz_$t: ${SECONDS_PER_TARGET}s, seed $SEED" >&2
  if ! "$exe" "$work/corpus" -seed="$SEED" -max_total_time="$SECONDS_PER_TARGET" "${LIMITS[@]}" \
         -print_final_stats=1 -artifact_prefix="$work/artifacts/" >"$work/fuzz.log" 2>&1; then
    status=1
    grep -E "ERROR|SUMMARY|deadly|Test unit written" "$work/fuzz.log" | head -20 >&2 || true
  fi
  for a in "$work"/artifacts/*; do
    [ -f "$a" ] || continue
    mkdir -p tests/fuzz/regressions/"$t"
    cp "$a" tests/fuzz/regressions/"$t"/
    echo "fuzz_$t: reproducer tests/fuzz/regressions/$t/$(basename "$a") (fix the bug, commit both)"
  done
  # New coverage only: merge the scratch corpus into the committed one (adds what is new); the
  # reproducers stay in regressions/ alone.
  if [ -d tests/fuzz/regressions/"$t" ]; then
    for r in tests/fuzz/regressions/"$t"/*; do
      rm -f "$work/corpus/$(basename "$r")"
    done
  fi
  before=$(find tests/fuzz/corpus/"$t" -type f | wc -l)
  # -use_counters=0: an input is new when it reaches new code, not new hit counts of known code
  # (which would commit several times as many files).
  "$exe" -merge=1 -use_counters=0 "${LIMITS[@]}" tests/fuzz/corpus/"$t" "$work/corpus" \
    >"$work/merge.log" 2>&1 || {
    status=1
    echo "fuzz_$t: merge failed (see $work/merge.log)" >&2
  }
  after=$(find tests/fuzz/corpus/"$t" -type f | wc -l)
  echo "fuzz_$t: $((after - before)) new seed(s) in tests/fuzz/corpus/$t/"
done
echo "explore.sh: seed $SEED; review and commit tests/fuzz/corpus/ and tests/fuzz/regressions/"
exit "$status"
