# The man page renders without warnings and documents every command the binary lists,
# the environment variables and every exit code.
. "$TESTS_DIR/lib.sh"
man=$TESTS_DIR/../man/pstyle.1
[ -f "$man" ] || fail "no man/pstyle.1"
if command -v groff >/dev/null; then
  w=$(groff -man -Tutf8 -ww "$man" 2>&1 >/dev/null)
  [ -z "$w" ] || fail "groff warnings: $w"
fi
cmds=$("$P" --help | awk '/^commands:/ {f=1; next} f && NF == 0 {exit} f {print $1}')
[ -n "$cmds" ] || fail "no commands in --help"
for c in $cmds; do
  grep -q "^\.B pstyle $c\$" "$man" || fail "SYNOPSIS lacks '$c'"
  grep -q "^\.B $c\$" "$man" || fail "COMMANDS lacks '$c'"
done
for v in PSTYLE_DB PSTYLE_MODEL XDG_DATA_HOME; do
  grep -q "^\.B $v\$" "$man" || fail "ENVIRONMENT lacks $v"
done
for code in 0 1 2 3 4; do
  sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$man" | grep -q "^\.B $code\$" || fail "EXIT STATUS lacks $code"
done
echo ok
