# apply's batches as ImageMagick users expect: each output in its input's format (JPEG in, JPEG
# out; .JPG keeps its spelling; other inputs PNG) unless --format or -o's name says otherwise;
# the style in the name when it is not the default; --out-dir made like mkdir -p; an output that
# exists is kept and said skipped (exit 0 when nothing else failed) unless --force; '-' reads
# standard input, -o - writes standard output (PNG, or --format's).
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
mk() { "$B/test_mkimg" "$@" || fail "test_mkimg $*"; }
magic() { head -c 3 "$1" | od -An -tx1 | tr -d ' \n'; }
is_jpeg() { [ "$(magic "$1")" = ffd8ff ] || fail "$1 is not a JPEG ($(magic "$1"))"; }
is_png() { [ "$(magic "$1")" = 89504e ] || fail "$1 is not a PNG ($(magic "$1"))"; }
"$B/test_mkmodel" m.psm 1 || fail model
export PSTYLE_MODEL=$PWD/m.psm
mk s.png 64 48 1; mk p.png 64 48 2; mk j.jpg 64 48 3; mk J.JPG 40 30 4; mk x.jpeg 30 40 5
cp p.png noext
"$P" learn --user u --steps 1 s.png > /dev/null && "$P" learn --user u --style ink --steps 1 s.png \
  > /dev/null || fail learn

# names and formats: the input's, case kept; other inputs PNG; another style in the name
mkdir a && cd a
"$P" apply --user u ../p.png ../j.jpg ../J.JPG ../x.jpeg ../noext > o.txt 2> e.txt || fail "apply: $(cat e.txt)"
[ "$(cat o.txt)" = "./p.u.png
./j.u.jpg
./J.u.JPG
./x.u.jpeg
./noext.u.png" ] || fail "names: $(cat o.txt)"
is_png p.u.png; is_jpeg j.u.jpg; is_jpeg J.u.JPG; is_jpeg x.u.jpeg; is_png noext.u.png
"$P" apply --user u --style ink ../j.jpg | grep -qx './j.u.ink.jpg' && is_jpeg j.u.ink.jpg ||
  fail "style in the name"
"$P" apply --user u --style default ../j.jpg 2>&1 | grep -q 'j.u.jpg exists; skipped' ||
  fail "--style default is the default name"
# --format: every output, whatever the input; with -o the name decides and must agree
"$P" apply --user u --format jpg ../p.png ../noext | tr '\n' ' ' | grep -qx './p.u.jpg ./noext.u.jpg ' &&
  is_jpeg p.u.jpg || fail "--format jpg"
"$P" apply --user u --format png ../j.jpg --out-dir f | grep -qx 'f/j.u.png' && is_png f/j.u.png ||
  fail "--format png"
"$P" apply --user u --format jpeg ../J.JPG | grep -qx './J.u.jpg' || fail "--format jpeg"
"$P" apply --user u ../p.png -o out.jpg --format jpg > /dev/null && is_jpeg out.jpg || fail "-o + --format"
expect 1 'out.png is not --format jpg' -- "$P" apply --user u ../p.png -o out.png --format jpg
expect 1 "format is png or jpg, not 'gif'" -- "$P" apply --user u ../p.png --format gif
[ ! -e out.png ] || fail "a refused apply wrote out.png"
cd ..

# --out-dir: made with its parents, 0777 less the umask (0755 here)
(umask 022 && "$P" apply --user u p.png --out-dir new/deep/er > /dev/null) || fail "--out-dir"
[ "$(stat -c %a new new/deep new/deep/er)" = "755
755
755" ] && [ -f new/deep/er/p.u.png ] || fail "--out-dir modes: $(stat -c %a new new/deep new/deep/er)"

# an output that exists is kept and skipped (exit 0) unless --force
mkdir k
"$P" apply --user u p.png j.jpg --out-dir k > /dev/null || fail "first run"
cp k/p.u.png p.keep; cp k/j.u.jpg j.keep
"$P" apply --user u --strength 0 p.png j.jpg --out-dir k > o.txt 2> e.txt || fail "second run exited $?"
[ ! -s o.txt ] || fail "skipped outputs printed as written: $(cat o.txt)"
grep -qx 'pstyle: apply: k/p.u.png exists; skipped (--force replaces it)' e.txt &&
  grep -qx 'pstyle: apply: k/j.u.jpg exists; skipped (--force replaces it)' e.txt || fail "skips: $(cat e.txt)"
cmp -s k/p.u.png p.keep && cmp -s k/j.u.jpg j.keep || fail "an existing output was replaced"
# one new, one existing, one bad: the new one written, the bad one fails, exit 2
printf 'not an image' > bad.png
"$P" apply --user u p.png x.jpeg bad.png --out-dir k > o.txt 2> e.txt; rc=$?
[ $rc = 2 ] && grep -qx 'k/x.u.jpeg' o.txt && grep -q 'k/p.u.png exists; skipped' e.txt &&
  grep -q '^pstyle: bad.png: ' e.txt || fail "mixed: exit $rc: $(cat o.txt e.txt)"
# -o that exists: kept, exit 0; --force replaces it (whole: the old file is never half written)
echo mine > mine.png
"$P" apply --user u p.png -o mine.png 2> e.txt > /dev/null && [ "$(cat mine.png)" = mine ] &&
  grep -q 'mine.png exists; skipped' e.txt || fail "-o over an existing file"
"$P" apply --user u --force p.png -o mine.png > /dev/null && is_png mine.png || fail "-o --force"
printf old > k/p.u.png
"$P" apply --user u --force p.png j.jpg --out-dir k > o.txt || fail "--force"
[ "$(wc -l < o.txt)" = 2 ] && cmp -s k/p.u.png p.keep || fail "--force did not replace"
# a folder in the way is an error, not a skip
mkdir k/noext.u.png
expect 2 'k/noext.u.png: is a folder' -- "$P" apply --user u --force noext --out-dir k

# standard input and output
"$P" apply --user u p.png -o ref.png > /dev/null || fail "ref"
"$P" apply --user u - -o - < p.png > s1.png || fail "stdin to stdout"
cmp -s s1.png ref.png || fail "- to - is not the file apply writes"
cat j.jpg | "$P" apply --user u - -o - --format jpg > s2.jpg && is_jpeg s2.jpg || fail "--format jpg to -"
"$P" apply --user u - -o s3.jpg < p.png > o.txt && is_jpeg s3.jpg && grep -qx s3.jpg o.txt || fail "- to a file"
"$P" apply --user u j.jpg -o - | cmp -s - <("$P" apply --user u --format png j.jpg -o - ) ||
  fail "stdout is deterministic"
expect 1 "standard input \('-'\) needs -o" -- "$P" apply --user u -
expect 1 'no --json' -- "$P" apply --user u p.png -o - --json
expect 2 '^pstyle: standard input: ' -- "$P" apply --user u - -o e.png < /dev/null
printf 'junk' | "$P" apply --user u - -o - > /dev/null 2> e.txt; [ $? = 2 ] || fail "junk on stdin"
grep -q '^pstyle: standard input: ' e.txt || fail "junk on stdin: $(cat e.txt)"
[ ! -e e.png ] || fail "a failed stdin apply wrote e.png"
if command -v script >/dev/null; then
  SHELL=/bin/sh script -qec "'$P' apply --user u p.png -o -" /dev/null > tty.txt < /dev/null
  grep -aq 'standard output is a terminal' tty.txt || fail "-o - on a terminal: $(cat tty.txt)"
fi
echo ok
