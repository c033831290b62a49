#!/usr/bin/env bash
# Runs every unit-test binary given; fails if any fails. Each runs in a fresh temp dir.
set -u
fail=0; n=0
for t in "$@"; do
  n=$((n+1))
  d=$(mktemp -d)
  if ! (cd "$d" && "$OLDPWD/$t"); then
    echo "FAILED: $t"; fail=$((fail+1))
  fi
  rm -rf "$d"
done
echo "unit: $((n-fail))/$n test programs passed"
[ "$fail" = 0 ]
