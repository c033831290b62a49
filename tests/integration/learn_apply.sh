# learn and apply end to end on real files with small untrained models (never the shipped
# weights): 1, 3 and 10 samples of mixed formats, sizes and channels; versions; outputs (names,
# formats, sizes, alpha); weights 0 give the photo back; inputs are never overwritten; bad
# weights, users and versions; a style from another model needs relearn; export/import.
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
mk() { "$B/test_mkimg" "$@" || fail "test_mkimg $*"; }
info() { "$B/test_mkimg" --info "$1" || fail "cannot read $1"; }
# mean and max difference in 8-bit steps; weights 0 must give the photo back up to rounding
same_img() {
  local d; d=$("$B/test_mkimg" --diff "$1" "$2") || fail "diff $1 $2"
  awk -v d="$d" 'BEGIN { split(d, a, " "); exit !(a[1] < 0.05 && a[2] <= 1) }' ||
    fail "$1 and $2 differ: mean/max $d"
}
"$B/test_mkmodel" m1.psm 1 && "$B/test_mkmodel" m2.psm 2 || fail "models"
export PSTYLE_MODEL=$PWD/m1.psm

# samples: PNG and JPEG, landscape, portrait, 4:1, odd sizes, gray, RGBA
mk s1.png 96 64 1; mk s2.jpg 64 96 2; mk s3.png 200 50 3; mk s4.jpg 120 120 4
mk s5.png 80 60 5 1; mk s6.png 90 70 6 4; mk s7.jpg 300 200 7; mk s8.png 33 47 8
mk s9.jpg 150 80 9; mk s10.png 64 64 10; mk s11.png 70 50 11
mk p.jpg 120 80 20; mk q.png 57 91 21; mk a.png 64 48 22 4
[ "$(info s5.png)" = "80 60 3" ] && [ "$(info s6.png)" = "90 70 4" ] || fail "gray/RGBA samples"

"$P" learn --user solo --steps 1 s5.png | grep -q "solo's style 'default' v1 from 1 image" ||
  fail "learn from one gray image"
"$P" learn --user alice --steps 1 s1.png s2.jpg s6.png | grep -q "v1 from 3 images" ||
  fail "learn from 3"
"$P" apply --user alice p.jpg q.png --out-dir . --format png > /dev/null || fail "apply v1"
mv p.alice.png p.v1.png
expect 1 '11 images given' -- "$P" learn --user alice s1.png s2.jpg s3.png s4.jpg s5.png s6.png \
  s7.jpg s8.png s9.jpg s10.png s11.png
"$P" learn --user alice --steps 1 s1.png s2.jpg s3.png s4.jpg s5.png s6.png s7.jpg s8.png s9.jpg \
  s10.png | grep -q "v2 from 10 images" || fail "learn from 10"
"$P" learn --user bob --steps 1 --shots-max 4 s1.png s2.jpg s3.png s4.jpg s5.png s6.png s7.jpg \
  s8.png s9.jpg s10.png s11.png | grep -q "v1 from 4 images" || fail "--shots-max 4 of 11"
expect 1 'shots-max' -- "$P" learn --user bob --shots-max 11 s1.png
"$P" list | grep -q '^alice/default  v2 (2 versions)  10 shots' || fail "list: $("$P" list)"
"$P" show alice | grep -Eq '^  v1 .* 3 shots' || fail "show v1: $("$P" show alice)"
[ "$("$P" show bob | grep -c 'sample ')" = 4 ] || fail "bob has 4 samples: $("$P" show bob)"

# outputs: default name in cwd, same size; -o JPEG; --out-dir; --size; alpha kept
"$P" apply --user alice --format png p.jpg > o.txt || fail "apply"
[ "$(cat o.txt)" = "./p.alice.png" ] && [ "$(info p.alice.png)" = "120 80 3" ] ||
  fail "default output: $(cat o.txt) $(info p.alice.png)"
"$P" apply --user alice q.png -o out.jpg > /dev/null || fail "apply -o out.jpg"
[ "$(head -c 3 out.jpg | od -An -tx1 | tr -d ' ')" = ffd8ff ] || fail "out.jpg is not a JPEG"
[ "$(info out.jpg)" = "57 91 3" ] || fail "out.jpg size $(info out.jpg)"
mkdir outs
"$P" apply --user alice p.jpg q.png a.png --out-dir outs > /dev/null || fail "--out-dir"
[ "$(ls outs | tr '\n' ' ')" = "a.alice.png p.alice.jpg q.alice.png " ] || fail "outs: $(ls outs)"
[ "$(info outs/a.alice.png)" = "64 48 4" ] || fail "alpha lost: $(info outs/a.alice.png)"
"$P" apply --user alice --size 50 p.jpg -o small.png > /dev/null || fail "--size"
[ "$(info small.png)" = "50 33 3" ] || fail "--size 50 gave $(info small.png)"
expect 1 'size' -- "$P" apply --user alice --size 0 p.jpg -o x.png

# weights 0,0,0 (and strength 0) give the photo back, alpha included; 1,1,1 changes it
"$P" apply --user alice --color 0 --texture 0 --stroke 0 q.png -o q0.png > /dev/null || fail "w=0"
same_img q.png q0.png
"$P" apply --user alice --strength 0 a.png -o a0.png > /dev/null || fail "strength 0"
same_img a.png a0.png
"$P" apply --user alice --color 0 --texture 0 --stroke 0 p.jpg -o p0.png > /dev/null || fail "w=0"
same_img p.jpg p0.png
d=$("$B/test_mkimg" --diff q.png outs/q.alice.png)
awk -v d="$d" 'BEGIN { split(d, a, " "); exit !(a[2] > 1) }' || fail "style changed nothing: $d"

# versions: --version 1 is the style as it was; a missing one is bad input
"$P" apply --user alice --version 1 p.jpg -o p1.png > /dev/null || fail "--version 1"
same_img p.v1.png p1.png
expect 2 'no version 9' -- "$P" apply --user alice --version 9 p.jpg -o p9.png
expect 1 'version' -- "$P" apply --user alice --version 0 p.jpg -o p9.png
[ ! -e p9.png ] || fail "failed apply left p9.png"

# never overwrite an input: -o naming it (any spelling), or a default name that is an input
h=$(sha256sum q.png p.alice.png)
expect 2 'refusing to overwrite' -- "$P" apply --user alice q.png -o q.png
expect 2 'refusing to overwrite' -- "$P" apply --user alice q.png -o ./outs/../q.png
expect 2 'refusing to overwrite' -- "$P" apply --user alice --format png p.jpg p.alice.png
[ -e p.alice.alice.png ] || fail "the other input was not written"
[ "$(sha256sum q.png p.alice.png)" = "$h" ] || fail "an input changed"

# bad users and weights
expect 2 "unknown user 'nobody'" -- "$P" apply --user nobody p.jpg
expect 2 "has no style 'oil'" -- "$P" apply --user alice --style oil p.jpg
expect 2 "bad user name" -- "$P" apply --user 'a/b' p.jpg
for w in -1 3 abc nan inf 2.5 '' 1e400; do
  expect 1 'weight in \[0, 2\]' -- "$P" apply --user alice --color "$w" p.jpg -o w.png
  expect 1 'weight in \[0, 2\]' -- "$P" apply --user alice --strength "$w" p.jpg -o w.png
done
expect 1 'one output' -- "$P" apply --user alice p.jpg q.png -o x.png
[ ! -e w.png ] && [ ! -e x.png ] || fail "a refused apply wrote a file"

# a style's program does not depend on the model: another model paints it the same
PSTYLE_MODEL="$PWD/m2.psm" "$P" apply --user alice p.jpg -o m.png > /dev/null || fail "program, other model"
"$P" apply --user alice p.jpg -o m0.png > /dev/null || fail "program, own model"
same_img m.png m0.png
"$P" show alice | grep -q "^      program  colour: " || fail "show states the program"
# a damaged program: a bad CRC is a store error (3), an unknown layout asks for relearn (2);
# neither writes an output or changes the store
sqlite3 "$PSTYLE_DB" "UPDATE styles SET program_crc = program_crc + 1 WHERE name = 'default' AND
  user_id = (SELECT id FROM users WHERE name = 'solo')" || fail "damage the crc"
expect 3 "program blob is corrupt" -- "$P" apply --user solo p.jpg -o bad.png
python3 - "$PSTYLE_DB" <<'PY' || fail "rewrite the program"
import sqlite3, struct, sys, zlib
db = sqlite3.connect(sys.argv[1])
sid, blob = db.execute("SELECT s.id, s.program FROM styles s JOIN users u ON u.id = s.user_id"
                       " WHERE u.name = 'solo'").fetchone()
raw = bytearray(zlib.decompress(blob))
raw[0:4] = struct.pack("<f", 99.0)  # a program version this pstyle does not know
db.execute("UPDATE styles SET program = ?, program_crc = ? WHERE id = ?",
           (zlib.compress(bytes(raw)), zlib.crc32(bytes(raw)), sid))
db.commit()
PY
expect 2 "style program: unknown format.*pstyle relearn solo" -- "$P" apply --user solo p.jpg -o bad.png
[ ! -e bad.png ] || fail "a damaged program wrote an output"
"$P" apply --user alice p.jpg -o ok.png > /dev/null || fail "other users still paint"
sqlite3 "$PSTYLE_DB" "PRAGMA integrity_check" | grep -qx ok || fail "integrity after damage"
# a style from before programs (tokens only) needs its own model: refused until relearn
sqlite3 "$PSTYLE_DB" "UPDATE styles SET program = NULL, program_crc = NULL WHERE version = 2 AND
  name = 'default'" || fail "strip the program"
"$P" show alice | grep -q "program  none (learned before style programs: pstyle relearn alice)" ||
  fail "show: no program"
rm -f m.png
expect 2 "relearn alice" -- env PSTYLE_MODEL="$PWD/m2.psm" "$P" apply --user alice p.jpg -o m.png
[ ! -e m.png ] || fail "mismatched apply wrote a file"
"$P" apply --user alice --version 2 p.jpg -o m1.png > /dev/null || fail "v2 with its own model"
"$P" relearn alice --model m2.psm | grep -q "v2 relearned as v3" || fail "relearn"
"$P" show alice | grep -A1 "^  v3" | grep -q "program  colour: " || fail "relearn fits a program"
PSTYLE_MODEL=$PWD/m2.psm "$P" apply --user alice p.jpg -o m.png > /dev/null || fail "after relearn"
# the same model, but no program (learned before programs): relearn picks it up too
sqlite3 "$PSTYLE_DB" "UPDATE styles SET program = NULL, program_crc = NULL WHERE version = 3 AND
  name = 'default'" || fail "strip v3's program"
"$P" relearn alice --model m2.psm | grep -q "v3 relearned as v4" || fail "relearn a program-less style"
"$P" relearn alice --model m2.psm | grep -q "v4 relearned" && fail "relearned a current style"

# export / import round trip: the imported style paints exactly like the original
"$P" export alice alice.pst > /dev/null || fail "export"
"$P" import alice.pst --as carol > /dev/null || fail "import"
"$P" apply --user carol --version 2 p.jpg -o c.png > /dev/null || fail "apply imported"
same_img m1.png c.png
[ "$(sqlite3 "$PSTYLE_DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
echo ok
