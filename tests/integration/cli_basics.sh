# CLI skeleton: help, version, unknown command/flag, exit codes.
. "$TESTS_DIR/lib.sh"
"$P" --version | grep -Eq '^pstyle [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
"$P" --help | grep -q 'learn' || fail "--help lists commands"
expect 1 'unknown command' -- "$P" frobnicate
expect 1 'unknown option' -- "$P" --frobnicate
expect 1 '' -- "$P"
for c in learn apply list show forget export import train bench synth; do
  "$P" $c --help >/dev/null || fail "$c --help"
done
echo ok
