#!/usr/bin/env bash
# Fails when any C++ file differs from clang-format's output (.clang-format: Google, 100 cols).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cc' '*.h')
if ((${#files[@]} == 0)); then exit 0; fi
clang-format --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files clean"
