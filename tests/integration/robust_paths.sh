# Paths that could destroy or surprise: an output that is the store, its -wal/-shm or the model
# (however spelled: ./x, symlinks, hard links) is refused before any work with exit 1 and nothing
# changes; a bad output extension is refused before the model loads; 254-byte output names work;
# devices and FIFOs as inputs are refused at once; --db "", a relative XDG_DATA_HOME and no HOME
# resolve the store path predictably.
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
"$B/test_mkmodel" m.psm 1 || fail "model"
export PSTYLE_MODEL=$PWD/m.psm
"$B/test_mkimg" g.png 80 60 1 && "$B/test_mkimg" h.png 64 64 3 || fail "images"
printf 'not a model' > junk.psm
A() { "$P" apply --user u --db st.png "$@"; }      # apply with the store named st.png
J() { A --model junk.psm "$@"; }                    # ... and a model that fails to load
T() { timeout 20 "$P" "$@"; }                       # a hang fails (124) instead of hanging
"$P" learn --user u --steps 1 --db st.png g.png h.png > /dev/null || fail "learn"
A g.png -o before.png > /dev/null || fail "apply"
sums() { sha256sum st.png m.psm g.png h.png; }
sum0=$(sums) show0=$("$P" show u --db st.png)
kept() {
  [ "$(sums)" = "$sum0" ] && [ "$("$P" show u --db st.png)" = "$show0" ] ||
    fail "$1 changed the store, the model or an input"
}

# 1. outputs that are the store or the model: exit 1 before the store or the model is read (an
# unknown user or a junk model would fail later, with exit 2), for -o and --out-dir
ln -s st.png sym.png && ln st.png hard.png && mkdir o && ln st.png o/g.u.png
for o in st.png ./st.png "$PWD/st.png" sym.png hard.png o/../st.png; do
  expect 1 "^pstyle: apply: output '$o' is the style store$" -- A g.png -o "$o"
  expect 1 "^pstyle: apply: output '$o' is the style store$" -- J --user nobody g.png -o "$o"
done
expect 1 "^pstyle: apply: output 'o/g.u.png' is the style store$" -- \
  "$P" apply --user u --db o/g.u.png --out-dir o h.png g.png
[ ! -e o/h.u.png ] || fail "an aliased --out-dir apply painted another input"
ln m.psm mh.png && ln -s m.psm ms.jpg
expect 1 "output 'mh.png' is the model file" -- A g.png -o mh.png
expect 1 "output 'ms.jpg' is the model file" -- A --model ms.jpg g.png -o ms.jpg
# the companions (a read-only open leaves them; made empty if this SQLite does not), by inode
for c in wal shm; do [ -e st.png-$c ] || : > st.png-$c; done
ln st.png-wal w.png && ln -s st.png-shm s.png
expect 1 "output 'w.png' is the style store's -wal file" -- A g.png -o w.png
expect 1 "output 's.png' is the style store's -shm file" -- A g.png -o s.png
[ -e st.png-reserve ] || : > st.png-reserve # forget's room on a full disk, made when there is room
ln st.png-reserve r.png
expect 1 "output 'r.png' is the style store's -reserve file" -- A g.png -o r.png
rm w.png s.png r.png
kept "an aliased apply"
# an output that would replace an input is known before work too (exit 2, as before)
expect 2 "^pstyle: ./g.png: refusing to overwrite an input image" -- J g.png -o ./g.png
# export: the store and its companions, by any spelling, existing and not yet (no connection is
# open, so the empty -wal and -shm may go)
for round in present absent; do
  [ $round = absent ] && rm st.png-wal st.png-shm
  for f in st.png ./st.png sym.png hard.png st.png-wal ./st.png-shm "$PWD/st.png-journal"; do
    expect 1 "^pstyle: export: output '$f' is the style store" -- "$P" export u "$f" --db st.png
  done
done
[ ! -e st.png-wal ] && [ ! -e st.png-shm ] && [ ! -e st.png-journal ] ||
  fail "a refused export opened the store"
kept "an aliased export"

# 2. an output format ps_img_save cannot write is refused before the model loads
for o in out.gif out noext. dir.png/; do
  expect 1 "^pstyle: $o: unsupported output format" -- J g.png -o "$o"
done
A g.png -o UP.PNG > /dev/null && A g.png -o up.JpEg > /dev/null || fail "upper-case extensions"

# 3. the longest file names a folder holds (255 bytes; 254 here), for images and exports
long=$(printf 'a%.0s' $(seq 250))
for o in "$long.png" "$long.jpg" "o/$long.png"; do
  A g.png -o "$o" > /dev/null || fail "apply -o a ${#o}-byte name"
  "$B/test_mkimg" --diff "$o" before.png > /dev/null || fail "$o is not an image"
done
"$P" export u "$long.pst" --db st.png > /dev/null &&
  "$P" import "$long.pst" --db i.db > /dev/null ||
  fail "export to a 254-byte name"
ls -A . o | grep -q 'tmp' && fail "temp files left: $(ls -A . o)"

# (4. a model hyper-parameter beyond int is tested in tests/unit/test_psm.c)
# 5. devices and FIFOs as inputs are refused at once, never read or waited on
mkfifo fifo.png fifo.psm
for f in /dev/zero fifo.png; do
  expect 2 "^pstyle: $f: not a regular file" -- T apply --user u --db st.png "$f" -o z.png
  expect 2 "^pstyle: $f: not a regular file" -- T learn --user u --db st.png --steps 1 g.png "$f"
done
expect 2 "^pstyle: fifo.psm: not a regular file" -- \
  T apply --user u --db st.png --model fifo.psm g.png -o z.png
expect 2 "^pstyle: fifo.psm: not a pstyle export \(not a regular" -- T import fifo.psm --db st.png
[ ! -e z.png ] || fail "a refused input wrote z.png"
kept "a device or FIFO input"

# 6. the store's path: --db "" is a slip, a relative XDG_DATA_HOME is ignored, no HOME is exit 3
for c in "list" "show u" "apply --user u g.png -o e.png" "learn --user u g.png"; do
  expect 1 '^pstyle: --db: empty path' -- "$P" $c --db ""
done
mkdir -p home rel
E() { env -u PSTYLE_DB -u XDG_DATA_HOME "$@"; }
E HOME="$PWD/home" XDG_DATA_HOME=rel "$P" learn --user x --steps 1 g.png > /dev/null ||
  fail "learn with a relative XDG_DATA_HOME"
[ -f home/.local/share/pstyle/styles.db ] && [ -z "$(ls -A rel)" ] ||
  fail "a relative XDG_DATA_HOME was used"
E HOME="$PWD/home" XDG_DATA_HOME="$PWD/xdg" "$P" learn --user x --steps 1 g.png > /dev/null &&
  [ -f xdg/pstyle/styles.db ] || fail "an absolute XDG_DATA_HOME was not used"
E HOME= XDG_DATA_HOME="$PWD/xdg" "$P" show x > /dev/null || fail "XDG_DATA_HOME without HOME"
for h in HOME= -uHOME; do
  expect 3 '^pstyle: no style store: HOME is not set' -- E "$h" XDG_DATA_HOME=rel "$P" list
  expect 3 'HOME is not set' -- E "$h" "$P" learn --user x --steps 1 g.png
done
[ -z "$(ls -A rel)" ] && [ ! -e pstyle-styles.db ] || fail "a store appeared elsewhere: $(ls -A)"
echo ok
