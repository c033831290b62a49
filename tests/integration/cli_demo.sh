# The demo (bench/demo.sh, `make demo`) on the shipped model, in a scratch folder: it runs, names
# the style by its number and the samples by their file names, never by an internal id (the
# synthesizer's 64-bit seed, a database row), and leaves its results and the preview sheet.
. "$TESTS_DIR/lib.sh"
ROOT=$(cd "$TESTS_DIR/.." && pwd)
[ -f "$ROOT/models/default.psm" ] || fail "no shipped model"
mkdir run && ln -s "$ROOT/bench" run/bench
(cd run && PSTYLE="$P" PSTYLE_THREADS=2 bash bench/demo.sh) > out.txt 2> err.txt ||
  fail "demo exited $?: $(tail -5 err.txt)"
grep -qx '== the user.s images: validation style 3 painted on three photos' out.txt &&
  grep -q '^validation style 3: color=' out.txt || fail "the style by its number: $(head -3 out.txt)"
# (hashes are the files' and the model's own; a long number anywhere else is an id)
sed -E 's/[0-9a-f]{16,}//g' out.txt | grep -Eq '[0-9]{7}' && fail "an internal id: $(cat out.txt)"
for f in coffee.png chelsea.png rocket.png; do
  grep -Eq "^      sample [0-9a-f]{64}  [0-9]+ bytes  [0-9]+x[0-9]+  thumbnail  $f\$" out.txt ||
    fail "sample $f not named: $(cat out.txt)"
done
for f in astronaut.demo.jpg astronaut.color.png astronaut.texture.png astronaut.stroke.png \
         astronaut.x1.5.png astronaut.preview.png; do
  [ -s "run/demo/$f" ] || fail "no demo/$f: $(ls run/demo)"
done
echo ok
