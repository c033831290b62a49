# bash completion (completion/pstyle.bash): commands and each command's options as the binary
# lists them, user and style names from the store (the one --db names too), folders for
# --out-dir, files for images; `make install` puts it where bash-completion looks, uninstall
# removes it.
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
T=$B/test_store_tool
[ -x "$T" ] || fail "missing $T (make builds it)"
ROOT=$TESTS_DIR/..
. "$ROOT/completion/pstyle.bash" || fail "the completion does not load"
comp() { COMP_WORDS=("$P" "$@"); COMP_CWORD=$#; COMPREPLY=(); _pstyle; printf '%s\n' "${COMPREPLY[@]}" | sort; }
has() { echo "$1" | grep -qx -- "$2" || fail "completion lacks '$2': $(echo $1)"; }
lacks() { echo "$1" | grep -qx -- "$2" && fail "completion offers '$2': $(echo $1)"; return 0; }

h=$("$T" model m.psm 1) || fail model
"$T" put "$PSTYLE_DB" alice --model-hash "$h" >/dev/null && "$T" put "$PSTYLE_DB" alice --style ink \
  --model-hash "$h" >/dev/null && "$T" put "$PSTYLE_DB" bob --style oil --model-hash "$h" >/dev/null &&
  "$T" put other.db carol --model-hash "$h" >/dev/null || fail put
mkdir -p outs/a photos; : > photos/p1.jpg; : > photos/p2.png

r=$(comp ""); for c in learn apply preview list show forget export import relearn train bench synth serve; do
  has "$r" $c; done
[ "$(comp pre)" = preview ] || fail "pre: $(comp pre)"
r=$(comp apply --st); has "$r" --style; has "$r" --stroke; has "$r" --strength; lacks "$r" --color
r=$(comp preview --); has "$r" --user; has "$r" --force; has "$r" --size
r=$(comp train --ep); [ "$r" = --episodes ] || fail "train --ep: $r"
[ "$(comp apply --user "")" = "alice
bob" ] || fail "users: $(comp apply --user "")"
[ "$(comp apply --user al)" = alice ] || fail "al"
[ "$(comp apply --user alice --style "")" = "default
ink" ] || fail "alice's styles: $(comp apply --user alice --style "")"
[ "$(comp preview --user bob --style "")" = oil ] || fail "bob's styles"
[ "$(comp show "")" = "alice
bob" ] || fail "show USER: $(comp show "")"
[ "$(comp show bob --style "")" = oil ] || fail "show bob --style"
[ "$(comp export alice "")" != "alice
bob" ] || fail "export's second positional is a file, not a user"
[ "$(comp show --db other.db "")" = carol ] || fail "--db: $(comp show --db other.db "")"
[ "$(comp apply --user alice --out-dir ou)" = outs ] || fail "--out-dir: $(comp apply --out-dir ou)"
r=$(comp apply --user alice photos/); has "$r" photos/p1.jpg; has "$r" photos/p2.png
[ "$(comp train --order "")" = "first
second" ] || fail "--order"
[ -z "$(comp apply --strength "")" ] || fail "a number has nothing to complete"
# a store that is not there: no names, no error on the terminal
[ -z "$(comp show --db nowhere.db "" 2>&1)" ] || fail "missing store"

# make install / uninstall
pre=$PWD/prefix
make -s -C "$ROOT" install PREFIX="$pre" >make.log 2>&1 || fail "make install: $(tail -5 make.log)"
cmp -s "$pre/share/bash-completion/completions/pstyle" "$ROOT/completion/pstyle.bash" ||
  fail "make install did not install the completion"
make -s -C "$ROOT" uninstall PREFIX="$pre" >/dev/null 2>&1 || fail "make uninstall"
[ -e "$pre/share/bash-completion/completions/pstyle" ] && fail "uninstall left the completion"
echo ok
