#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format (.clang-format) would make of it.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cc' '*.h')
[ ${#files[@]} -gt 0 ] || exit 0
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/kubecnn-format.log; then
  head -40 /tmp/kubecnn-format.log
  echo "check-format: run 'clang-format -i \$(git ls-files \"*.cc\" \"*.h\")' and commit" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files clean"
