# The man page renders without warnings and documents every command the binary lists, every
# option each command's --help lists (in its SYNOPSIS entry and under OPTIONS), the environment
# variables and every exit code.
. "$TESTS_DIR/lib.sh"
man=$TESTS_DIR/../man/pstyle.1
[ -f "$man" ] || fail "no man/pstyle.1"
if command -v groff >/dev/null; then
  w=$(groff -man -Tutf8 -ww "$man" 2>&1 >/dev/null)
  [ -z "$w" ] || fail "groff warnings: $w"
fi
if command -v man >/dev/null; then
  w=$(MANWIDTH=80 man -l "$man" 2>&1 >/dev/null)
  [ -z "$w" ] || fail "man -l warnings: $w"
fi
cmds=$("$P" --help | awk '/^commands:/ {f=1; next} f && NF == 0 {exit} f {print $1}')
[ -n "$cmds" ] || fail "no commands in --help"
for c in $cmds; do
  grep -q "^\.B pstyle $c\$" "$man" || fail "SYNOPSIS lacks '$c'"
  grep -q "^\.B $c\$" "$man" || fail "COMMANDS lacks '$c'"
done
# the page without font changes, \- as -
plain=$(sed 's/\\f[BIRP]//g; s/\\-/-/g' "$man")
section() { echo "$plain" | awk -v h="$1" '$0 == h {f=1; next} f && /^\.S[HS] / {exit} f'; }
# the option names of some text: --name, exactly
opts_of() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
has_opt() { grep -qE -- "$1([^a-z0-9-]|\$)"; }
general=$(section '.SH OPTIONS' | awk 'p == ".TP" {print} {p = $0}')
for c in $cmds; do
  help=$("$P" "$c" --help) || fail "$c --help exited $?"
  # the usage lines: the first and the indented ones right after it
  usage=$(echo "$help" | awk 'NR == 1 || /^[ \t]+[^ \t]/ {print; next} {exit}')
  syn=$(echo "$plain" | awk -v e=".B pstyle $c" '$0 == e {f=1} f && /^\.br/ {f=0} f')
  # what OPTIONS says about c: its own subsection, or the general list
  tags=$(section ".SS \"$c options\"" | awk 'p == ".TP" {print} {p = $0}')
  [ -n "$tags" ] || tags=$general
  for o in $(echo "$help" | opts_of); do
    echo "$tags" | has_opt "$o" || fail "OPTIONS lacks $c's $o"
    case $o in --db|--model|--help) continue ;; esac
    if echo "$usage" | has_opt "$o"; then
      echo "$syn" | has_opt "$o" || fail "SYNOPSIS of $c lacks $o"
    fi
  done
  for o in $(echo "$syn" | opts_of); do
    echo "$help" | has_opt "$o" || fail "SYNOPSIS of $c has $o, which '$c --help' does not list"
  done
done
echo "$plain" | grep -q '^\.B pstyle [a-z]* *$' || fail "no SYNOPSIS entries"
echo "$plain" | grep -q 'OPTIONS \]' && fail "a SYNOPSIS entry is only [OPTIONS]"
for v in PSTYLE_DB PSTYLE_MODEL XDG_DATA_HOME PSTYLE_THREADS OMP_WAIT_POLICY; do
  grep -q "^\.B $v\$" "$man" || fail "ENVIRONMENT lacks $v"
done
# PSTYLE_THREADS: its default and the OMP/OpenBLAS variables, in the man page and in --help
env_text=$(section '.SH ENVIRONMENT' | tr '\n' ' ')
for w in OMP_NUM_THREADS OPENBLAS_NUM_THREADS 'per online CPU core'; do
  echo "$env_text" | grep -q "$w" || fail "ENVIRONMENT's PSTYLE_THREADS does not say '$w'"
done
top=$("$P" --help)
for w in PSTYLE_THREADS OMP_NUM_THREADS OPENBLAS_NUM_THREADS PSTYLE_DB PSTYLE_MODEL; do
  echo "$top" | grep -q "$w" || fail "pstyle --help does not mention $w"
done
for code in 0 1 2 3 4; do
  sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$man" | grep -q "^\.B $code\$" || fail "EXIT STATUS lacks $code"
done
echo ok
