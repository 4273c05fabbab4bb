#!/usr/bin/env bash
# Every C++ file of the project is as .clang-format says (clang-format --dry-run --Werror).
# usage: check_format.sh CLANG_FORMAT REPO_ROOT
set -u
clang_format=$1
cd "$2" || exit 1
files=$(git ls-files '*.cpp' '*.hpp' '*.h' 2>/dev/null || find src include tests bench -name '*.cpp' -o -name '*.hpp' -o -name '*.h')
failed=0
for f in $files; do
  if ! "$clang_format" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "FAIL: $f is not formatted (run: $clang_format --style=file -i $f)"
    failed=$((failed + 1))
  fi
done
total=$(echo "$files" | wc -w)
echo "format: $((total - failed)) passed, $failed failed"
[ "$failed" = 0 ]
