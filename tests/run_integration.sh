#!/usr/bin/env bash
# Runs tests/integration/*.sh against the real binary ($PSTYLE_BIN), each in a fresh temp dir
# with its own PSTYLE_DB and HOME, so nothing touches the user's real store.
set -u
here=$(cd "$(dirname "$0")" && pwd)
fail=0; n=0
for t in "$here"/integration/*.sh; do
  [ -e "$t" ] || continue
  n=$((n+1))
  d=$(mktemp -d)
  if ! (cd "$d" && HOME="$d/home" PSTYLE_DB="$d/styles.db" TESTS_DIR="$here" bash "$t" > "$d.log" 2>&1); then
    echo "FAILED: $(basename "$t")"; sed 's/^/    /' "$d.log" | tail -40; fail=$((fail+1))
  else
    echo "ok: $(basename "$t")"
  fi
  rm -rf "$d" "$d.log"
done
echo "integration: $((n-fail))/$n scripts passed"
[ "$fail" = 0 ]
