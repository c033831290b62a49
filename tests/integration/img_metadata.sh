# apply keeps metadata, through the real CLI on files made by real tools (PIL for pixels, an ICC
# profile and 16-bit PNGs; exiftool for EXIF, XMP and comments, and to read the outputs back):
# EXIF with its orientation reset to 1 (the pixels are upright), ICC (a Display P3 input is
# converted, checked against lcms2 through PIL's ImageCms, and comes out tagged sRGB), XMP and
# comments (all of them, in order), JPEG -> JPEG, PNG -> PNG and across, XMP over 64 KB into a
# JPEG as ExtendedXMP, a warning for what a JPEG cannot hold; --strip drops them all; 16-bit PNG in gives
# 16-bit PNG out with the values kept (dials at 0).
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
PY=/usr/bin/python3
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
command -v exiftool > /dev/null || fail "exiftool missing (make deps installs libimage-exiftool-perl)"
$PY -c 'import PIL.ImageCms' 2> /dev/null || fail "python3-pil missing (make deps installs it)"
"$B/test_mkmodel" m.psm 1 || fail "model"
export PSTYLE_MODEL=$PWD/m.psm

cat > mk.py <<'EOF'
import io, struct, sys, zlib
from PIL import Image, ImageCms

def s15(v): return struct.pack('>i', round(v * 65536))

def icc_p3():
    """A Display P3 matrix/TRC profile (D50-adapted colorants, gamma 2.2), ICC v2."""
    def xyz(x, y, z): return b'XYZ \0\0\0\0' + s15(x) + s15(y) + s15(z)
    def desc(t): a = t.encode() + b'\0'; return b'desc\0\0\0\0' + struct.pack('>I', len(a)) + a + b'\0' * 79
    curv = b'curv\0\0\0\0' + struct.pack('>IH', 1, round(2.2 * 256)) + b'\0\0'
    tags = [(b'desc', desc('Display P3 test')), (b'wtpt', xyz(0.9642, 1.0, 0.8249)),
            (b'rXYZ', xyz(0.51512, 0.24120, -0.00105)), (b'gXYZ', xyz(0.29198, 0.69225, 0.04189)),
            (b'bXYZ', xyz(0.15710, 0.06657, 0.78407)), (b'rTRC', curv), (b'gTRC', curv),
            (b'bTRC', curv), (b'cprt', b'text\0\0\0\0none\0\0\0\0')]
    off = 128 + 4 + 12 * len(tags); table = b''; data = b''
    for sig, d in tags:
        while len(d) % 4: d += b'\0'
        table += sig + struct.pack('>II', off + len(data), len(d)); data += d
    body = struct.pack('>I', len(tags)) + table + data
    hdr = (struct.pack('>I', 128 + len(body)) + b'\0\0\0\0' + bytes([2, 0x10, 0, 0]) + b'mntrRGB XYZ ' +
           b'\0' * 12 + b'acsp' + b'\0' * 24 + b'\0' * 4 + s15(0.9642) + s15(1.0) + s15(0.8249) + b'\0' * 48)
    return hdr + body

def colors(w, h):
    """Saturated and mid colours in bands, then a gradient: enough for P3 to move."""
    pal = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 100, 50), (60, 180, 220), (128, 128, 128),
           (250, 240, 10), (20, 30, 40)]
    im = Image.new('RGB', (w, h))
    for y in range(h):
        for x in range(w):
            im.putpixel((x, y), pal[x * 8 // w] if y < h // 2 else (x * 255 // w, y * 255 // h, 128))
    return im

def png16(path, w, h):
    """A 16-bit RGB PNG (PIL writes 16 bits for gray only), samples a smooth ramp of odd values."""
    raw = b''
    for y in range(h):
        raw += b'\0' + b''.join(struct.pack('>HHH', (x * 1237 + y * 71) % 65536 | 1,
                                             (x * 311 + y * 977) % 65536, 65535 - x * 601 % 65536)
                                for x in range(w))
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, 2, 0, 0, 0)) +
                           chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))

def read_png(path):
    """(width, height, depth, channels, rows of samples) of a non-interlaced 8/16-bit PNG."""
    b = open(path, 'rb').read(); i = 8; idat = b''
    while i < len(b):
        n, t = struct.unpack('>I4s', b[i:i + 8]); d = b[i + 8:i + 8 + n]; i += 12 + n
        if t == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', d[:10])
        if t == b'IDAT': idat += d
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]; bpp = ch * depth // 8; stride = w * bpp
    raw = zlib.decompress(idat); prev = bytearray(stride); rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]; r = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = r[x - bpp] if x >= bpp else 0; c = prev[x - bpp] if x >= bpp else 0; u = prev[x]
            if f == 1: r[x] = (r[x] + a) & 255
            elif f == 2: r[x] = (r[x] + u) & 255
            elif f == 3: r[x] = (r[x] + (a + u) // 2) & 255
            elif f == 4:
                p = a + u - c; pa, pb, pc = abs(p - a), abs(p - u), abs(p - c)
                r[x] = (r[x] + (a if pa <= pb and pa <= pc else u if pb <= pc else c)) & 255
        prev = r
        rows.append([int.from_bytes(r[k:k + depth // 8], 'big') for k in range(0, stride, depth // 8)])
    return w, h, depth, ch, rows

cmd = sys.argv[1]
if cmd == 'inputs':
    icc = icc_p3(); open('p3.icc', 'wb').write(icc)
    im = colors(64, 48)
    im.save('p3.png', icc_profile=icc)
    im.save('p3.jpg', quality=95, subsampling=0, icc_profile=icc)
    im.save('plain.jpg', quality=95)
    png16('deep.png', 40, 30)
elif cmd == 'comments':  # two comments each (a tool's, then a person's): two COMs, two PNG texts
    from PIL import PngImagePlugin
    texts = ['Created with GIMP', '\u00c9t\u00e9 \u00e0 Paris \u2600']
    buf = io.BytesIO(); colors(32, 24).save(buf, 'JPEG', quality=90); j = buf.getvalue()
    com = b''.join(b'\xff\xfe' + struct.pack('>H', len(t.encode()) + 2) + t.encode() for t in texts)
    open('two.jpg', 'wb').write(j[:2] + com + j[2:])
    info = PngImagePlugin.PngInfo()
    for t in texts: info.add_text('Comment', t)
    colors(32, 24).save('two.png', pnginfo=info)
elif cmd == 'bigexif':  # a PNG whose EXIF (a TIFF header, then zeros) is over a JPEG segment's
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    buf = io.BytesIO(); colors(32, 24).save(buf, 'PNG'); b = buf.getvalue()
    exif = b'II*\0' + struct.pack('<IH', 8, 0) + b'\0' * 70000
    open('bigexif.png', 'wb').write(b[:33] + chunk(b'eXIf', exif) + b[33:])
elif cmd == 'chunks':  # a PNG's chunks: type and length, space-separated
    b = open(sys.argv[2], 'rb').read(); i = 8; out = []
    while i < len(b):
        n, t = struct.unpack('>I4s', b[i:i + 8]); out.append('%s:%d' % (t.decode(), n)); i += 12 + n
    print(' '.join(out))
elif cmd == 'extxmp':  # a JPEG's ExtendedXMP: the GUID is the MD5 of the parts joined by offset
    import hashlib
    b = open(sys.argv[2], 'rb').read(); i = 2; std = None; parts = {}
    while b[i] == 0xff and b[i + 1] != 0xda:
        n = struct.unpack('>H', b[i + 2:i + 4])[0]; d = b[i + 4:i + 2 + n]; i += 2 + n
        if b[i - 2 - n + 1] != 0xe1: continue
        if d.startswith(b'http://ns.adobe.com/xap/1.0/\0'): std = d[29:]
        if d.startswith(b'http://ns.adobe.com/xmp/extension/\0'):
            guid, full, off = d[35:67], *struct.unpack('>II', d[67:75]); parts[off] = (guid, full, d[75:])
    ext = b''.join(parts[k][2] for k in sorted(parts))
    guids = {g for g, _, _ in parts.values()}; fulls = {f for _, f, _ in parts.values()}
    g = hashlib.md5(ext).hexdigest().upper().encode()
    print(len(parts), guids == {g} and fulls == {len(ext)} and b'HasExtendedXMP="' + g + b'"' in std and len(std) < 65504)
elif cmd == 'expect':  # max difference of out.png's colours from lcms2's P3 -> sRGB of the input,
    # and the largest move that conversion makes (so that an unconverted output would fail)
    src = Image.open(sys.argv[2]).convert('RGB')
    p3 = ImageCms.ImageCmsProfile(io.BytesIO(open('p3.icc', 'rb').read()))
    want = ImageCms.profileToProfile(src, p3, ImageCms.createProfile('sRGB'), renderingIntent=0, outputMode='RGB')
    got = Image.open(sys.argv[3]).convert('RGB')
    d = max(abs(a - b) for p, q in zip(got.getdata(), want.getdata()) for a, b in zip(p, q))
    moved = max(abs(a - b) for p, q in zip(src.getdata(), want.getdata()) for a, b in zip(p, q))
    print(d, moved)
elif cmd == 'deep':  # depth of a PNG, and the largest sample difference from deep.png
    w, h, depth, ch, rows = read_png(sys.argv[2])
    _, _, _, _, ref = read_png('deep.png')
    print(depth, max(abs(a - b) for r, s in zip(rows, ref) for a, b in zip(r, s)) if (w, h, ch) == (40, 30, 3) else -1)
EOF
$PY mk.py inputs || fail "making inputs"
# EXIF (orientation 6: stored 64x48, shown 48x64), XMP and a comment, by exiftool, on each input
for f in p3.png p3.jpg plain.jpg deep.png; do
  exiftool -q -overwrite_original -EXIF:Orientation#=6 -EXIF:Make=pstyle-test -XMP-dc:Title=StyledTitle \
    -Comment='made for pstyle' "$f" || fail "exiftool on $f"
  [ "$(exiftool -s3 -EXIF:Orientation# "$f")" = 6 ] || fail "$f lacks orientation 6"
done
exiftool -s3 -ICC_Profile:ProfileDescription p3.jpg | grep -q 'Display P3 test' || fail "input lacks its profile"

"$B/test_mkimg" s1.png 96 64 1 && "$B/test_mkimg" s2.jpg 64 96 2 || fail "samples"
"$P" learn --user u --steps 1 s1.png s2.jpg p3.jpg deep.png > /dev/null || fail "learn with metadata-laden images"

# tag VALUE FILE: exiftool's value of a tag (-n: numbers, not words)
tag() { exiftool -s3 -n "-$1" "$2"; }
for in in p3.jpg p3.png; do
  for ext in jpg png; do
    out=out_${in%.*}_${in##*.}.$ext
    "$P" apply --user u "$in" -o "$out" > /dev/null || fail "apply $in -> $out"
    [ "$(tag EXIF:Orientation "$out")" = 1 ] || fail "$out: orientation $(tag EXIF:Orientation "$out"), want 1"
    [ "$(tag EXIF:Make "$out")" = pstyle-test ] || fail "$out: EXIF Make lost"
    [ "$(tag ImageWidth "$out")x$(tag ImageHeight "$out")" = 48x64 ] || fail "$out: not upright"
    [ "$(tag XMP-dc:Title "$out")" = StyledTitle ] || fail "$out: XMP lost"
    c=$( [ $ext = jpg ] && tag File:Comment "$out" || tag PNG:Comment "$out")
    [ "$c" = 'made for pstyle' ] || fail "$out: comment '$c'"
    [ $ext = jpg ] || [ "$($PY mk.py chunks "$out" | grep -o eXIf | wc -l)" = 1 ] ||
      fail "$out: not one eXIf: $($PY mk.py chunks "$out")"
    d=$(tag ICC_Profile:ProfileDescription "$out")
    echo "$d" | grep -q sRGB || fail "$out: ICC profile '$d', want lcms2's sRGB"
    # --strip: none of it, still upright
    "$P" apply --user u --strip "$in" -o "strip_$out" > /dev/null || fail "apply --strip $in"
    left=$(exiftool -s -EXIF:all -XMP:all -ICC_Profile:all -File:Comment -PNG:Comment "strip_$out")
    [ -z "$left" ] || fail "strip_$out keeps: $left"
    [ "$(tag ImageWidth "strip_$out")x$(tag ImageHeight "strip_$out")" = 48x64 ] || fail "strip_$out: not upright"
  done
done
# every comment, in order: JPEG COMs and PNG Comment texts (iTXt for the one beyond Latin-1)
$PY mk.py comments || fail "making two.jpg, two.png"
want=$(printf 'Created with GIMP\n\303\211t\303\251 \303\240 Paris \342\230\200')
for in in two.jpg two.png; do
  [ "$(exiftool -a -s3 -File:Comment -PNG:Comment "$in")" = "$want" ] || fail "$in lacks its two comments"
  for ext in jpg png; do
    out=out_${in%.*}_${in##*.}.$ext
    "$P" apply --user u "$in" -o "$out" > /dev/null || fail "apply $in -> $out"
    got=$(exiftool -a -s3 -File:Comment -PNG:Comment "$out")
    [ "$got" = "$want" ] || fail "$out: comments '$got'"
  done
done

# XMP over a JPEG segment (a 100 KB description) goes out as ExtendedXMP, which exiftool merges
# back; the GUID is the MD5 of the parts (python's hashlib)
long=$(head -c 100000 /dev/zero | tr '\0' x)
"$B/test_mkimg" bigxmp.png 40 30 3 && exiftool -q -overwrite_original -XMP-dc:Title=BigTitle \
  "-XMP-dc:Description=$long" bigxmp.png || fail "bigxmp.png"
"$P" apply --user u bigxmp.png -o bigxmp.jpg > /dev/null 2> e.txt || fail "apply bigxmp.png: $(cat e.txt)"
grep -q warning e.txt && fail "a warning for XMP that fits as ExtendedXMP: $(cat e.txt)"
[ "$(tag XMP-dc:Title bigxmp.jpg)" = BigTitle ] && [ "$(tag XMP-dc:Description bigxmp.jpg)" = "$long" ] ||
  fail "bigxmp.jpg: the XMP is not all there: $(exiftool -s -XMP:all bigxmp.jpg | cut -c1-100)"
[ "$($PY mk.py extxmp bigxmp.jpg)" = "2 True" ] || fail "ExtendedXMP: $($PY mk.py extxmp bigxmp.jpg)"
# a JPEG input's ExtendedXMP is left out (on phones: the depth map, the unstyled original), said so
"$P" apply --user u bigxmp.jpg -o again_bigxmp.jpg > /dev/null 2> e.txt || fail "apply bigxmp.jpg: $(cat e.txt)"
grep -q "^pstyle: warning: again_bigxmp.jpg: the input's ExtendedXMP (100[0-9]* bytes; .*) is left out$" e.txt ||
  fail "no warning for the ExtendedXMP left out: $(cat e.txt)"
[ "$(tag XMP-dc:Description again_bigxmp.jpg)" = "" ] || fail "again_bigxmp.jpg: ExtendedXMP carried?"
# what a JPEG cannot hold (EXIF over 64 KB) is left out with a warning; a PNG keeps it, no word
$PY mk.py bigexif || fail "bigexif.png"
"$P" apply --user u bigexif.png -o bigexif.jpg > /dev/null 2> e.txt || fail "apply bigexif.png: $(cat e.txt)"
grep -q "^pstyle: warning: bigexif.jpg: the input's EXIF is 70010 bytes, over the 65527 of a JPEG segment: left out" e.txt ||
  fail "no warning for the EXIF left out: $(cat e.txt)"
[ -z "$(exiftool -s -EXIF:all bigexif.jpg)" ] || fail "bigexif.jpg has EXIF"
"$P" apply --user u bigexif.png -o bigexif.png.png > /dev/null 2> e.txt && ! grep -q warning e.txt ||
  fail "apply bigexif.png to PNG: $(cat e.txt)"
$PY mk.py chunks bigexif.png.png | grep -Eq '^IHDR:13 eXIf:70010( IDAT:[0-9]+)+ IEND:0$' ||
  fail "the PNG output's EXIF: $($PY mk.py chunks bigexif.png.png)"
"$P" apply --user u --strip --force bigexif.png -o bigexif.jpg > /dev/null 2> e.txt && ! grep -q warning e.txt ||
  fail "a warning with --strip: $(cat e.txt)"

# the same input gives the same bytes a second later (lcms2 would date the sRGB profile)
sleep 1
"$P" apply --user u p3.jpg -o again.png > /dev/null && cmp -s again.png out_p3_jpg.png || fail "output not reproducible"
# an input without a profile gets none
"$P" apply --user u plain.jpg -o plain_out.jpg > /dev/null || fail "apply plain.jpg"
[ -z "$(exiftool -s -ICC_Profile:all plain_out.jpg)" ] || fail "an untagged input got a profile"
[ "$(tag EXIF:Orientation plain_out.jpg)" = 1 ] || fail "plain_out.jpg: orientation"

# colours: with the dials at 0 the output is the photo as decoded, so a P3 input must come out as
# lcms2 converts it (PIL's ImageCms is lcms2 too); 8-bit rounding twice allows 2 steps
exiftool -q -overwrite_original -Orientation#=1 p3.png || fail "exiftool"
"$P" apply --user u --strength 0 p3.png -o p3_0.png > /dev/null || fail "apply --strength 0"
read -r d moved <<< "$($PY mk.py expect p3.png p3_0.png)"
[ "$d" -le 2 ] && [ "$moved" -ge 20 ] || fail "P3 colours: $d steps from lcms2's (the conversion moves $moved)"

# 16 bits: in and out, values kept (to 1 unit of 16 bits); to JPEG 8 bits; --strip keeps 16 bits
exiftool -q -overwrite_original -Orientation#=1 deep.png || fail "exiftool"
"$P" apply --user u --strength 0 deep.png -o deep_0.png > /dev/null || fail "apply deep.png"
read -r depth diff <<< "$($PY mk.py deep deep_0.png)"
[ "$depth" = 16 ] && [ "$diff" -ge 0 ] && [ "$diff" -le 1 ] || fail "16-bit PNG out: depth $depth, values off by $diff"
"$P" apply --user u --strip deep.png -o deep_s.png > /dev/null || fail "apply --strip deep.png"
[ "$(tag PNG:BitDepth deep_s.png)" = 16 ] || fail "--strip lost the 16 bits"
"$P" apply --user u s1.png -o eight.png > /dev/null || fail "apply s1.png"
[ "$(tag PNG:BitDepth eight.png)" = 8 ] || fail "8-bit in: $(tag PNG:BitDepth eight.png)-bit out"
"$P" apply --user u --help | grep -q -- '--strip' || fail "--help lacks --strip"
echo ok
