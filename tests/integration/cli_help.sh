# Every command `pstyle --help` lists answers -h and --help alike (usage on stdout, exit 0,
# nothing on stderr, no store made), and the commands that take --threads say in their help
# what it and PSTYLE_THREADS do; --threads takes 1 to 4096.
. "$TESTS_DIR/lib.sh"
cmds=$("$P" --help | awk '/^commands:/ {f=1; next} f && NF == 0 {exit} f {print $1}')
[ "$(echo $cmds)" = "learn apply preview list show forget export import relearn train bench synth serve" ] ||
  fail "commands: $(echo $cmds)"
for c in $cmds; do
  out=$("$P" $c -h 2> err.txt) || fail "$c -h exited $?"
  [ -s err.txt ] && fail "$c -h wrote to stderr: $(cat err.txt)"
  echo "$out" | head -1 | grep -q "^usage: pstyle $c" || fail "$c -h: $(echo "$out" | head -1)"
  [ "$out" = "$("$P" $c --help)" ] || fail "$c -h and --help differ"
done
[ ! -e "$PSTYLE_DB" ] || fail "-h made the store"
for c in learn apply preview train bench serve; do
  h=$("$P" $c --help)
  echo "$h" | grep -q -- '--threads N' && echo "$h" | grep -q PSTYLE_THREADS || fail "$c --help: threads"
  expect 1 "^pstyle $c: --threads wants 1 to 4096, not '0'" -- "$P" $c --threads 0
  expect 1 "^pstyle $c: --threads wants 1 to 4096, not 'x'" -- "$P" $c --threads x
done
for c in learn apply preview train; do
  "$P" $c --help | grep -Eq -- '-q, --quiet' || fail "$c --help lacks -q, --quiet"
done
echo ok
