# Helpers sourced by integration scripts: expect an exit code and a message.
P=${PSTYLE_BIN:?}
fail() { echo "FAIL: $*"; exit 1; }
# expect CODE PATTERN -- cmd...   (PATTERN is a grep -E on stderr; '' to skip)
expect() {
  local code=$1 pat=$2; shift 3
  local err; err=$("$@" 2>&1 >/dev/null); local rc=$?
  [ "$rc" = "$code" ] || fail "'$*' exited $rc, wanted $code; stderr: $err"
  if [ -n "$pat" ]; then echo "$err" | grep -Eq "$pat" || fail "'$*' stderr lacks /$pat/: $err"; fi
}
