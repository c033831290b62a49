# The C library as a user gets it (issue 14): `make install` into a temporary prefix gives the
# header, static and shared libraries and pstyle.pc; examples/*.c build against that prefix with
# pkg-config alone (shared, and static with --static) and run; the installed libraries hold no
# training or bench code and export only what pstyle.h declares; CPPFLAGS reaches the compiler.
. "$TESTS_DIR/lib.sh"
ROOT=$(cd "$TESTS_DIR/.." && pwd)
pre=$PWD/prefix
make -s -C "$ROOT" install PREFIX="$pre" >make.log 2>&1 || fail "make install: $(tail -5 make.log)"
for f in include/pstyle.h lib/libpstyle.a lib/libpstyle.so lib/libpstyle.so.0 lib/pkgconfig/pstyle.pc \
         bin/pstyle; do
  [ -e "$pre/$f" ] || fail "make install did not install $f"
done
[ "$(readelf -d "$pre/lib/libpstyle.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')" = libpstyle.so.0 ] ||
  fail "soname: $(readelf -d "$pre/lib/libpstyle.so" | grep SONAME)"

# no training, bench or synthesizer code in what users link
bad=$(nm "$pre/lib/libpstyle.a" 2>/dev/null | grep -E ' [TtDdBbRr] (ps_meta_|ps_bench_|ps_synth_|ps_train)' | head -3)
[ -z "$bad" ] || fail "training or bench symbols in libpstyle.a: $bad"
# the shared library exports exactly the functions pstyle.h declares
nm -D --defined-only "$pre/lib/libpstyle.so" | awk '$2 == "T" {print $3}' | sort > exported.txt
[ -s exported.txt ] || fail "libpstyle.so exports nothing"
grep -oE '\bps_[a-z_]+\(' "$pre/include/pstyle.h" | tr -d '(' | sort -u > declared.txt
extra=$(comm -23 exported.txt declared.txt | head -3)
[ -z "$extra" ] || fail "libpstyle.so exports internals: $extra"
missing=$(comm -13 exported.txt declared.txt | head -3)
[ -z "$missing" ] || fail "declared in pstyle.h but not exported: $missing"

# the example, against the prefix only (no -I or -L into the source tree)
export PKG_CONFIG_PATH=$pre/lib/pkgconfig
cflags=$(pkg-config --cflags pstyle) && libs=$(pkg-config --libs pstyle) || fail "pkg-config pstyle"
echo "$cflags $libs" | grep -q "$ROOT" && fail "pkg-config points into the source tree: $cflags $libs"
/usr/bin/python3 - <<'PY' || fail "making sample images"
from PIL import Image, ImageDraw
for i, (c, name) in enumerate([((200, 120, 40), "s1.jpg"), ((40, 90, 200), "s2.png"), ((90, 160, 90), "photo.jpg")]):
    im = Image.new("RGB", (160, 120), c)
    d = ImageDraw.Draw(im)
    for k in range(0, 160, 12):
        d.line([(k, 0), (159 - k, 119)], fill=(255 - c[0], 255 - c[1], 255 - c[2]), width=2)
    im.save(name)
PY
for ex in "$ROOT"/examples/*.c; do
  n=$(basename "$ex" .c)
  cc -Wall -Werror "$ex" $cflags $libs -o "$n" 2>cc.log || fail "$n against the installed prefix: $(cat cc.log)"
  readelf -d "$n" | grep -q 'NEEDED.*libpstyle.so.0' || fail "$n is not linked with the shared library"
  # static: the private requirements must be complete
  cc "$ex" $(pkg-config --static --cflags pstyle) \
     $(pkg-config --static --libs pstyle | sed 's/-lpstyle/-l:libpstyle.a/') -o "$n.static" 2>cc.log ||
    fail "$n static link: $(cat cc.log)"
  readelf -d "$n.static" | grep -q 'libpstyle' && fail "$n.static still needs libpstyle.so"
done
LD_LIBRARY_PATH=$pre/lib ./learn_apply photo.jpg out.png s1.jpg s2.png > run.txt 2>&1 ||
  fail "learn_apply: $(cat run.txt)"
grep -q '^wrote out.png (160x120)' run.txt || fail "learn_apply output: $(cat run.txt)"
grep -q 'stored as version 1' run.txt || fail "store round trip: $(cat run.txt)"
/usr/bin/python3 -c "from PIL import Image; im = Image.open('out.png'); assert im.size == (160, 120), im.size" ||
  fail "out.png is not a 160x120 image"
[ "$(sqlite3 out.png.styles.db "SELECT count(*) FROM styles")" = 1 ] || fail "no style in the store"
./learn_apply.static photo.jpg out2.png s1.jpg > run2.txt 2>&1 || fail "static learn_apply: $(cat run2.txt)"
# a bad sample is the library's error, not a crash
printf 'not an image' > bad.jpg
LD_LIBRARY_PATH=$pre/lib ./learn_apply photo.jpg out3.png bad.jpg > run3.txt 2>&1 && fail "learned from a non-image"
grep -q 'learn_apply: learn: bad.jpg: ' run3.txt || fail "bad sample message: $(cat run3.txt)"
[ ! -e out3.png ] || fail "an output after a failed learn"

# CPPFLAGS (the user's preprocessor flags) reaches every compile
make -s -C "$ROOT" -n -B build/src/base/clock.o CPPFLAGS=-DPS_CPPFLAGS_PROBE | grep -q PS_CPPFLAGS_PROBE ||
  fail "CPPFLAGS is not honoured"
make -s -C "$ROOT" uninstall PREFIX="$pre" >/dev/null 2>&1 || fail "make uninstall"
[ -e "$pre/lib/libpstyle.so" ] && fail "uninstall left the library"
echo ok
