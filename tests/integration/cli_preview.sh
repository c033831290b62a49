# pstyle preview: one contact sheet of a style on a photo. The layout (samples strip, then 4 x 4
# cells with a label strip under each) is checked by its size and by its pixels: the PHOTO cell
# and every cell at dials 0 are the photo, STRENGTH 1 is apply's output, COLOR 1 is apply's with
# texture and stroke at 0, the sample thumbnails are there, every label has ink; JPEG by name;
# an existing sheet is kept unless --force; the photo, the store and the model are never the
# sheet; usage and bad input exit codes; progress only on a terminal.
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
"$B/test_mkmodel" m.psm 1 || fail model
export PSTYLE_MODEL=$PWD/m.psm
"$B/test_mkimg" b1.png 96 64 1 && "$B/test_mkimg" b2.png 96 64 2 && "$B/test_mkimg" p.png 80 60 3 ||
  fail images
# samples with a style in them: one of the synthesizer's validation styles (colour)
mkdir smp
"$P" synth --val --seed 1 --render b1.png b2.png --out-dir smp > /dev/null || fail synth
"$P" learn --user u --steps 1 smp/b1.png smp/b2.png > /dev/null || fail learn
"$P" show u | grep -q 'program  colour: none; texture: none; stroke: none' &&
  fail "the samples' style was not learned, so the cells could not differ: $("$P" show u)"

# pixels of PNGs, read with python's zlib (8-bit RGB or RGBA, every filter type)
cat > png.py <<'PY'
import struct, sys, zlib
def read(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'\x89PNG\r\n\x1a\n', path
    i, idat = 8, b''
    while i < len(b):
        n, t = struct.unpack('>I4s', b[i:i + 8]); d = b[i + 8:i + 8 + n]; i += 12 + n
        if t == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', d[:10])
        if t == b'IDAT': idat += d
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    c = 3 if ctype == 2 else 4
    raw, rows, prev = zlib.decompress(idat), [], bytearray(w * c)
    for y in range(h):
        f, line = raw[y * (w * c + 1)], bytearray(raw[y * (w * c + 1) + 1:(y + 1) * (w * c + 1)])
        for x in range(w * c):
            a = line[x - c] if x >= c else 0; up = prev[x]; ul = prev[x - c] if x >= c else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + up) & 255
            elif f == 3: line[x] = (line[x] + (a + up) // 2) & 255
            elif f == 4:
                p = a + up - ul; pa, pb, pc = abs(p - a), abs(p - up), abs(p - ul)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
        rows.append(line); prev = line
    return w, h, c, rows
def px(img, x, y):
    w, h, c, rows = img
    return tuple(rows[y][x * c:x * c + 3])
cmd = sys.argv[1]
if cmd == 'size':
    w, h, c, _ = read(sys.argv[2]); print(w, h)
elif cmd == 'cell':  # cell SHEET X Y IMG: IMG's pixels are the sheet's at (X, Y) exactly
    s, o = read(sys.argv[2]), read(sys.argv[5]); x0, y0 = int(sys.argv[3]), int(sys.argv[4])
    bad = sum(px(s, x0 + x, y0 + y) != px(o, x, y) for y in range(o[1]) for x in range(o[0]))
    sys.exit(1 if bad else 0)
elif cmd == 'px':  # px SHEET X Y: "R G B"
    print(*px(read(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
elif cmd == 'ink':  # ink SHEET X Y W H: how many label pixels (sRGB 235) in the box
    s = read(sys.argv[2]); x0, y0, w, h = map(int, sys.argv[3:7])
    print(sum(px(s, x0 + x, y0 + y) == (235, 235, 235) for y in range(h) for x in range(w)))
PY
py() { /usr/bin/python3 png.py "$@"; }

# the sheet: default name, printed; its size follows the layout of the man page
out=$("$P" preview --user u p.png 2> err.txt) || fail "preview exited $?: $(cat err.txt)"
[ "$out" = p.u.preview.png ] && [ -s p.u.preview.png ] || fail "default sheet: '$out'"
[ -s err.txt ] && fail "stderr off a terminal: $(cat err.txt)"
# gap 8, label strip 20, sample box min(cell width, 128) = 80: W = 8 + 4 (80 + 8),
# H = 8 + 20 (title) + (80 + 20 + 8) (samples) + 4 (60 + 20 + 8)
[ "$(py size p.u.preview.png)" = "360 488" ] || fail "sheet size $(py size p.u.preview.png)"
grid=136
cell() { # cell ROW COL IMG
  py cell p.u.preview.png $((8 + $2 * 88)) $((grid + $1 * 88)) "$3" || fail "cell $1,$2 is not $3"
}
"$P" apply --user u --strength 0 p.png -o photo.png > /dev/null || fail "apply 0"
"$P" apply --user u p.png -o full.png > /dev/null || fail "apply"
"$P" apply --user u --texture 0 --stroke 0 p.png -o color1.png > /dev/null || fail "apply color"
"$B/test_mkimg" --diff photo.png full.png | grep -q '^0 0' && fail "the style changes nothing"
cell 0 0 photo.png; cell 1 0 photo.png; cell 2 0 photo.png; cell 3 0 photo.png
cell 0 2 full.png; cell 1 2 color1.png
py cell p.u.preview.png $((8 + 88)) $grid full.png && fail "strength 0.5 is strength 1"
# labels: ink in every label strip, none in the photo cells; the title; both thumbnails
for r in 0 1 2 3; do for c in 0 1 2 3; do
  [ "$(py ink p.u.preview.png $((8 + c * 88)) $((grid + r * 88 + 60)) 80 20)" -gt 20 ] ||
    fail "no label under cell $r,$c"
done; done
[ "$(py ink p.u.preview.png 8 $grid 80 60)" -lt 5 ] || fail "label ink inside a cell"
[ "$(py ink p.u.preview.png 8 0 340 28)" -gt 100 ] || fail "no title"
# the thumbnails (160 px, fit into 80 x 80 boxes standing on their labels: 80 x 53)
for k in 0 1; do
  [ "$(py ink p.u.preview.png $((8 + k * 88)) 28 80 80)" -lt 5 ] &&
  [ "$(py ink p.u.preview.png $((8 + k * 88)) 108 80 20)" -gt 20 ] || fail "sample $k label"
  [ "$(py px p.u.preview.png $((8 + k * 88)) 40)" = "40 40 40" ] &&
  [ "$(py px p.u.preview.png $((8 + k * 88 + 40)) 80)" != "40 40 40" ] ||
    fail "sample $k: no thumbnail on the label"
done
[ "$(py ink p.u.preview.png $((8 + 2 * 88)) 108 80 20)" = 0 ] || fail "a third sample label"

# an existing sheet is kept without --force (exit 1); --force replaces it
cp p.u.preview.png keep.png
expect 1 'p.u.preview.png exists; use --force' -- "$P" preview --user u p.png
cmp -s keep.png p.u.preview.png || fail "a refused preview changed the sheet"
echo mine > mine.png
expect 1 'mine.png exists' -- "$P" preview --user u p.png -o mine.png
[ "$(cat mine.png)" = mine ] || fail "preview overwrote mine.png"
"$P" preview --user u p.png -o mine.png --force > /dev/null && [ "$(py size mine.png)" = "360 488" ] ||
  fail "--force"
# JPEG by name; another style's name in the default; --size
"$P" preview --user u p.png -o sheet.jpg > /dev/null || fail "jpg"
[ "$(head -c 3 sheet.jpg | od -An -tx1 | tr -d ' ')" = ffd8ff ] || fail "sheet.jpg is not a JPEG"
"$P" learn --user u --style ink --steps 1 smp/b1.png > /dev/null || fail "learn ink"
"$P" preview --user u --style ink p.png | grep -qx 'p.u.ink.preview.png' || fail "style in the name"
"$B/test_mkimg" big.png 1000 500 4 || fail big
"$P" preview --user u --size 64 big.png -o s64.png > /dev/null || fail "--size 64"
# W = 8 + 4 (64 + 8) = 296; H = 28 + (64 + 28) + 4 (32 + 28)
[ "$(py size s64.png)" = "296 360" ] || fail "--size 64: $(py size s64.png)"

# refusals: the photo, the store, the model; usage (1); bad user, photo (2); missing store (3)
expect 1 'refusing to overwrite the photo' -- "$P" preview --user u p.png -o ./p.png --force
ln -s "$PSTYLE_DB" db.png; ln -s m.psm model.jpg
expect 1 'is the style store' -- "$P" preview --user u p.png -o db.png --force
expect 1 'is the model file' -- "$P" preview --user u p.png -o model.jpg --force
expect 1 'unsupported output format' -- "$P" preview --user u p.png -o x.gif
expect 1 'user NAME is required' -- "$P" preview p.png
expect 1 'exactly one PHOTO' -- "$P" preview --user u p.png b1.png
expect 1 'size wants 64 to 1024' -- "$P" preview --user u --size 32 p.png
expect 1 "unknown option '--bogus'" -- "$P" preview --user u --bogus p.png
expect 2 "unknown user 'nobody'" -- "$P" preview --user nobody p.png -o n.png
expect 2 'has no version 9' -- "$P" preview --user u --version 9 p.png -o n.png
expect 2 'nothere.png' -- "$P" preview --user u nothere.png -o n.png
expect 3 'no style database' -- "$P" preview --user u p.png --db missing.db -o n.png
[ ! -e n.png ] && [ ! -e missing.db ] || fail "a failed preview left a file"
"$P" preview -h | grep -q '^usage: pstyle preview' || fail "-h"

# progress on a terminal (script's pseudo-terminal): one line redrawn, cleared at the end
if command -v script >/dev/null; then
  SHELL=/bin/sh script -qec "'$P' preview --user u p.png -o tty.png --force" /dev/null > tty.txt \
    < /dev/null || fail "preview under script exited $?: $(cat tty.txt)"
  [ -s tty.png ] || fail "no sheet under a terminal"
  grep -aq $'\rpreview \\[#* *\\] *[0-9]*% ' tty.txt && grep -aq $'\rpreview \\[#*\\] 100% ' tty.txt &&
    grep -aq $'\r\x1b\\[K' tty.txt || fail "no redrawn progress line: $(od -c tty.txt | head)"
  "$P" preview --user u p.png -o tty.png --force 2> e.txt > /dev/null && [ ! -s e.txt ] ||
    fail "progress off a terminal: $(cat e.txt)"
else
  echo "skip the terminal check: no script(1)"
fi
echo ok
