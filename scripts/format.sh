#!/usr/bin/env bash
# clang-format 14 (.clang-format) over every C++ file of the repository: tracked files and new
# ones not yet added (what .gitignore ignores is skipped).
#
# Usage: scripts/format.sh           reformat in place
#        scripts/format.sh --check   change nothing; list each file that is not formatted and
#                                    fail (scripts/test.sh runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
FORMAT="$(command -v clang-format-14 || command -v clang-format || true)"
if [ -z "$FORMAT" ]; then
  echo "format.sh: clang-format is missing (apt-get install clang-format)" >&2
  exit 1
fi
if ! "$FORMAT" --version | grep -q "version 14\."; then
  echo "format.sh: $("$FORMAT" --version) is not clang-format 14 (.clang-format is for 14)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
  '*.cpp' '*.hpp' '*.h' '*.cc' '*.cxx' '*.hh' | LC_ALL=C sort -u)
if [ "${1:-}" != "--check" ]; then
  printf '%s\0' "${files[@]}" | xargs -0 "$FORMAT" -i
  echo "format.sh: ${#files[@]} files formatted"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue   # deleted in the worktree, not yet in the index
  if ! "$FORMAT" --dry-run -Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
  fi
done
if [ "${#bad[@]}" -gt 0 ]; then
  printf 'format.sh: not formatted: %s\n' "${bad[@]}"
  echo "format.sh: FAILED: ${#bad[@]} of ${#files[@]} C++ files differ from .clang-format" \
       "(run scripts/format.sh)"
  exit 1
fi
echo "format.sh: ${#files[@]} C++ files formatted"
