# Bad input to learn and apply gets `pstyle: <file>: <reason>`, the documented exit code, and loses
# nothing: no style stored, the previous version intact, other inputs still painted, no partial
# or temp output files (bad images, bad models, unwritable or missing output folders, a full disk).
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
"$B/test_mkmodel" m.psm 1 || fail "model"
export PSTYLE_MODEL=$PWD/m.psm
"$B/test_mkimg" g.png 80 60 1 && "$B/test_mkimg" g.jpg 70 90 2 && "$B/test_mkimg" h.png 64 64 3 ||
  fail "images"

# hostile images: empty, truncated PNG/JPEG, corrupt PNG data, text, random bytes, a folder, a
# header claiming 100000x100000 pixels, a missing file
: > empty.png
head -c 300 g.png > trunc.png
head -c 500 g.jpg > trunc.jpg
echo "hello, not an image" > text.png
head -c 3000 /dev/urandom > rand.jpg
mkdir dir.png
be32() { printf '\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
png() { # png FILE W H IDAT: a PNG with this header and image data (escaped bytes), zero CRCs
  printf "\x89PNG\r\n\x1a\n$(be32 13)IHDR$(be32 "$2")$(be32 "$3")\x08\x02\0\0\0$(be32 0)" > "$1"
  printf "$(be32 $(($(printf "$4" | wc -c))))IDAT$4$(be32 0)$(be32 0)IEND\xae\x42\x60\x82" >> "$1"
}
png huge.png 100000 100000 '\x78\x9c\x63\x60\0\0\0\x02\0\x01'
png bad.png 64 64 '\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e'
# a JPEG whose scan names a Huffman table no DHT defines (AC table 3 for its first component):
# stb_image decoded such files from uninitialised memory
cp g.jpg undef.jpg
sos=$(LC_ALL=C grep -obUaP '\xff\xda' g.jpg | head -1 | cut -d: -f1)
[ -n "$sos" ] && printf '\x03' | dd of=undef.jpg bs=1 seek=$((sos + 6)) conv=notrunc status=none ||
  fail "undef.jpg"
declare -A why=([empty.png]='empty' [trunc.png]='truncated|corrupt' [trunc.jpg]='truncated|corrupt'
  [text.png]='not an image' [rand.jpg]='not an image' [dir.png]='directory'
  [huge.png]='memory budget' [bad.png]='corrupt|CRC|checksum' [missing.png]='no such file'
  [undef.jpg]='corrupt JPEG: Huffman table')

# a store with one version; every failed learn leaves it exactly as it was
"$P" learn --user u --steps 1 g.png h.png > /dev/null || fail "learn"
"$P" apply --user u g.jpg -o before.png > /dev/null || fail "apply"
list0=$("$P" list); show0=$("$P" show u)
for f in "${!why[@]}"; do
  expect 2 "^pstyle: $f: .*(${why[$f]})" -- "$P" learn --user u --steps 1 g.png "$f" h.png
  expect 2 "^pstyle: $f: .*(${why[$f]})" -- "$P" learn --user newbie --steps 1 "$f"
  expect 2 "^pstyle: $f: .*(${why[$f]})" -- "$P" apply --user u "$f" -o out.png
done
[ "$("$P" list)" = "$list0" ] && [ "$("$P" show u)" = "$show0" ] || fail "a failed learn stored something"
expect 2 "unknown user 'newbie'" -- "$P" show newbie
[ ! -e out.png ] || fail "a failed apply wrote out.png"
"$P" apply --user u g.jpg -o after.png > /dev/null || fail "apply after the failures"
cmp -s before.png after.png || fail "the stored style changed"

# several inputs: the bad ones fail with their name, the others are still written, exit 2
mkdir o
err=$("$P" apply --user u g.png trunc.jpg text.png h.png dir.png --out-dir o 2>&1 >/dev/null)
[ $? = 2 ] || fail "mixed inputs: exit code"
echo "$err" | grep -q '^pstyle: trunc.jpg: ' && echo "$err" | grep -q '^pstyle: text.png: ' &&
  echo "$err" | grep -q '^pstyle: dir.png: ' || fail "mixed inputs: $err"
[ "$(ls -A o | tr '\n' ' ')" = "g.u.png h.u.png " ] || fail "mixed inputs wrote: $(ls -A o)"
# two inputs with one stem would share an output: the second is refused, the first kept
mkdir o2
expect 2 'o2/g.u.png: is the output of g.png too' -- "$P" apply --user u g.png g.jpg --out-dir o2 \
  --format png
"$B/test_mkimg" --diff o2/g.u.png o/g.u.png | grep -q '^0.0000 0$' || fail "g.jpg replaced g.png's"

# bad model files: truncated, random bytes, empty, missing, a folder, not a pstyle model
head -c 1000 m.psm > trunc.psm
head -c 5000 /dev/urandom > rand.psm
: > empty.psm
for m in trunc.psm:'corrupt|truncated' rand.psm:'not a pstyle model' empty.psm:'empty' \
         missing.psm:'No such file|not found|cannot open' dir.png:'not a regular file'; do
  f=${m%%:*} w=${m#*:}
  expect 2 "^pstyle: $f: .*($w)" -- "$P" learn --user u --model "$f" g.png
  expect 2 "^pstyle: $f: .*($w)" -- "$P" apply --user u --model "$f" g.png -o out.png
done
[ "$("$P" show u)" = "$show0" ] && [ ! -e out.png ] || fail "a bad model stored or wrote something"

# output folder missing or not writable: a clear error and no file (root writes through
# chmod, so root gets a folder that refuses new files to everyone: sysfs)
expect 2 '^pstyle: nodir/x.png: .*nodir' -- "$P" apply --user u g.png -o nodir/x.png
echo "not a folder" > notdir
expect 2 '^pstyle: notdir: not a directory' -- "$P" apply --user u g.png --out-dir notdir
[ "$(cat notdir)" = "not a folder" ] || fail "apply changed a file named as --out-dir"
if [ "$(id -u)" = 0 ]; then ro=/sys; else mkdir ro && chmod 555 ro && ro=ro; fi
expect 2 "^pstyle: $ro/g.u.png: cannot create" -- "$P" apply --user u g.png --out-dir "$ro"
ls -A "$ro" | grep -q 'g\.u\.png' && fail "a file was left in $ro"
[ "$ro" = ro ] && chmod 755 ro

# a full disk (RLIMIT_FSIZE below the output's size, above the store's): clear error, no partial
# output and no temp file left; a PNG and a JPEG, and the old output is kept when replacing
"$B/test_mkimg" big.png 1200 900 4 || fail "big image"
echo "old" > keep.png
for o in full.png full.jpg keep.png; do
  err=$(ulimit -f 128; "$P" apply --user u --quality 100 --force big.png -o "$o" 2>&1 >/dev/null)
  rc=$?
  [ "$rc" = 2 ] && echo "$err" | grep -Eq "^pstyle: $o: .*(too large|disk full|space)" ||
    fail "full disk on $o: exit $rc: $err"
done
[ ! -e full.png ] && [ ! -e full.jpg ] && [ "$(cat keep.png)" = old ] || fail "partial output left"
ls -A | grep -q '\.tmp$' && fail "temp files left: $(ls -A)"
"$P" apply --user u --quality 100 big.png -o full.png > /dev/null || fail "the same apply with room"
[ "$(sqlite3 "$PSTYLE_DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
echo ok
