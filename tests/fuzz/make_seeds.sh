#!/usr/bin/env bash
# Remakes the fuzz seeds in tests/fuzz/corpus/ (they are committed; run this only to change them).
# Needs python3-pil, and build/pstyle + build/tests/test_mkmodel (`make build/pstyle
# build/tests/test_mkmodel`). Images are a few hundred bytes; the model is the unit tests' tiny
# architecture, so that the export and the store seeds hold small token vectors too.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tests/fuzz/corpus
mkdir -p $out/img $out/psm $out/import $out/store
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$out/img" "$tmp" <<'PY'
import sys
from PIL import Image
out, tmp = sys.argv[1], sys.argv[2]
def pic(mode, w=8, h=6):
    im = Image.new('RGB', (w, h))
    for y in range(h):
        for x in range(w):
            im.putpixel((x, y), (x * 32 % 256, y * 40 % 256, x * y * 9 % 256))
    if mode == 'RGBA':
        a = Image.new('L', (w, h))
        for y in range(h):
            for x in range(w):
                a.putpixel((x, y), (x + y) * 20 % 256)
        im = im.convert('RGBA')
        im.putalpha(a)
    elif mode != 'RGB':
        im = im.convert(mode)
    return im
pic('RGB').save(f'{out}/rgb.png')
pic('RGBA').save(f'{out}/rgba.png')
pic('L').save(f'{out}/gray.png')
pic('LA').save(f'{out}/gray_alpha.png')
pic('P').quantize(8).save(f'{out}/palette.png')
g16 = Image.new('I;16', (8, 6))
for y in range(6):
    for x in range(8):
        g16.putpixel((x, y), x * 8000 + y * 300)
g16.save(f'{out}/gray16.png')
pic('RGB').save(f'{out}/baseline.jpg', quality=80)
pic('RGB', 16, 16).save(f'{out}/progressive.jpg', quality=60, progressive=True)
pic('L').save(f'{out}/gray.jpg')
pic('CMYK').save(f'{out}/cmyk.jpg')
exif = Image.Exif()
exif[0x0112] = 6  # orientation: rotate 90
pic('RGB').save(f'{out}/exif_rot6.jpg', exif=exif.tobytes())
pic('RGB').save(f'{out}/rgb24.bmp')
pic('RGBA').save(f'{out}/rgba32.bmp')
pic('RGB').save(f'{out}/raw.tga')
pic('RGBA').save(f'{out}/rle.tga', compression='tga_rle')
# two sample photos for the export and store seeds (learn wants 48 px or more)
pic('RGB', 64, 48).save(f'{tmp}/a.png')
pic('RGB', 48, 64).rotate(90, expand=True).save(f'{tmp}/b.png')
PY

# The unit tests' tiny model (random weights, 350 KB) learns the styles below; the seed is the
# same file with every tensor zeroed, which zlib shrinks to a few KB (the layout is src/nn/psm.c's).
build/tests/test_mkmodel "$tmp/tiny.psm" 1
/usr/bin/python3 - "$tmp/tiny.psm" $out/psm/tiny_zero.psm <<'PY'
import struct, sys, zlib
b = open(sys.argv[1], 'rb').read()[:-4]
out = bytearray(b[:16])
nhp, nt = struct.unpack_from('<II', b, 8)
at = 16
for _ in range(nhp):
    at += 1 + b[at] + 8
out += b[16:at]
for _ in range(nt):
    nl = b[at]
    raw, zb = struct.unpack_from('<QQ', b, at + 1 + nl + 16)
    zero = bytes(raw)
    z = zlib.compress(zero, 9)
    out += b[at:at + 1 + nl + 16] + struct.pack('<QQI', raw, len(z), zlib.crc32(zero)) + z
    at += 1 + nl + 16 + 20 + zb
assert at == len(b)
out += struct.pack('<I', zlib.crc32(out))
open(sys.argv[2], 'wb').write(out)
PY
build/pstyle learn --model "$tmp/tiny.psm" --db "$tmp/s.db" --user u "$tmp/a.png" "$tmp/b.png"
build/pstyle learn --model "$tmp/tiny.psm" --db "$tmp/s.db" --user u --style two "$tmp/a.png"
build/pstyle export --db "$tmp/s.db" u $out/import/u.pstyle
# Stores as single files (the WAL folded in): as pstyle leaves one (WAL mode, 4 KB pages); the
# same in rollback mode with 512-byte pages (small, and open has to switch it to WAL); and at
# schema 1 (no thumbnails or image sizes yet), which a read-write open migrates.
sqlite3 "$tmp/s.db" 'PRAGMA wal_checkpoint(TRUNCATE); VACUUM;' >/dev/null
cp "$tmp/s.db" $out/store/wal.db
sqlite3 "$tmp/s.db" 'PRAGMA journal_mode=DELETE; PRAGMA page_size=512; VACUUM;' >/dev/null
cp "$tmp/s.db" $out/store/rollback_512.db
sqlite3 "$tmp/s.db" 'ALTER TABLE samples DROP COLUMN thumb; ALTER TABLE samples DROP COLUMN width;
  ALTER TABLE samples DROP COLUMN height; PRAGMA user_version=1; VACUUM;'
cp "$tmp/s.db" $out/store/schema1.db
chmod 644 $out/*/*
ls -l $out/*/
