#!/usr/bin/env bash
# The fuzzing step of the test command: deterministic, so it fails only on a real bug.
# For each libFuzzer target (tests/fuzz/fuzz_<target>.cpp):
#   1. regression: every committed input runs once — the seed corpus tests/fuzz/corpus/<target>/
#      and every past reproducer tests/fuzz/regressions/<target>/;
#   2. fuzzing: a fixed number of executions (-runs) from a fixed -seed over a scratch copy of
#      those inputs, with no wall-clock limit, no periodic corpus reload (-reload=0) and address
#      space randomisation off (setarch -R: libFuzzer mutates with values the target compared,
#      pointers included): the same executions and the same corpus on every run of the same code.
# Fails on any crash, leak, sanitizer report, hang (-timeout) or out-of-memory; the reproducer is
# left in the build directory (commit it to tests/fuzz/regressions/<target>/ with the fix).
# Exploratory fuzzing (random seeds, wall time) is tests/fuzz/explore.sh.
#
# Usage: tests/fuzz/run.sh [target ...]      (default: all six)
#   MIP_FUZZ_SEED   libFuzzer -seed (default 1)
#   MIP_FUZZ_RUNS   executions per target (default: per target below, about 20 s each at the
#                   rates measured on the 2-core machine under load)
#   MIP_ASAN_BUILD_DIR, MIP_FUZZ_JOBS: see tests/fuzz/common.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/fuzz/common.sh

SEED="${MIP_FUZZ_SEED:-1}"
# Executions per target: the targets differ 10x in speed (the YAML loader and the extractor
# touch the file system; measured 600-10000 executions/s on 2 loaded cores).
declare -A DEFAULT_RUNS=(
  [package_spec]=100000 [prepare_yaml]=8000 [wheel_name]=200000 [s3_xml]=200000 [extract_zip]=20000 [sidecar_index]=5000
)
command -v setarch >/dev/null || { echo "run.sh: setarch is missing (util-linux)" >&2; exit 1; }
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=("${ALL_TARGETS[@]}")
fi
fuzz_build "${TARGETS[@]}"

status=0
summary=()
for t in "${TARGETS[@]}"; do
  exe="$BUILD_DIR/tests/fuzz/fuzz_$t"
  work="$BUILD_DIR/fuzz-work/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  mapfile -t inputs < <(fuzz_inputs "$t")
  if [ "${#inputs[@]}" -eq 0 ]; then
    summary+=("fuzz_$t: FAILED (no committed inputs in tests/fuzz/corpus/$t/)")
    status=1
    continue
  fi
  start=$(date +%s)

  log="$work/regression.log"
  if ! "$exe" "${LIMITS[@]}" -artifact_prefix="$work/artifacts/" "${inputs[@]}" >"$log" 2>&1; then
    status=1
    summary+=("fuzz_$t: FAILED on a committed input (see $log)")
    grep -E "Running:|ERROR|SUMMARY|deadly" "$log" | tail -20 >&2 || true
    continue
  fi

  cp "${inputs[@]}" "$work/corpus/"
  runs="${MIP_FUZZ_RUNS:-${DEFAULT_RUNS[$t]:-50000}}"
  log="$work/fuzz.log"
  if setarch "$(uname -m)" -R "$exe" "$work/corpus" -seed="$SEED" -runs="$runs" -reload=0 \
       "${LIMITS[@]}" -print_final_stats=1 -artifact_prefix="$work/artifacts/" >"$log" 2>&1; then
    # "cov: N ft: N corp: N/size": equal on every run of the same code.
    stats=$(grep -E '#[0-9]+[[:space:]]+DONE' "$log" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' || true)
    summary+=("fuzz_$t: ok, ${#inputs[@]} committed inputs + $runs runs, seed $SEED (${stats:-no stats}), $(($(date +%s) - start)) s")
  else
    status=1
    summary+=("fuzz_$t: FAILED (seed $SEED; see $log; reproducer in $work/artifacts/)")
    grep -E "ERROR|SUMMARY|==[0-9]+==|deadly|Test unit written" "$log" | head -20 >&2 || true
  fi
done
printf '%s\n' "${summary[@]}"
exit "$status"
