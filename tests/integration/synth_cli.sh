# pstyle synth: a contact sheet from procedural images (no data/ here), options and errors.
. "$TESTS_DIR/lib.sh"
out=$("$P" synth --seed 3 --count 2 --size 48 --data nodata --sheet sheet.png 2>err.txt) || fail "synth failed: $(cat err.txt)"
grep -q 'using procedural images' err.txt || fail "no notice about the missing photos: $(cat err.txt)"
[ "$(echo "$out" | grep -c '^row [01]: seed')" = 2 ] || fail "one line per row: $out"
echo "$out" | grep -Eq 'color=[a-z_]+(\(|none)' || fail "style descriptions: $out"
# a real PNG, 5 columns x 2 rows of 48 px
head -c 8 sheet.png | od -An -c | grep -q 'P   N   G' || fail "sheet is not a PNG"
[ "$(od -An -tu1 -j16 -N8 sheet.png | tr -s ' ' | sed 's/^ //')" = "0 0 0 240 0 0 0 96" ] || fail "sheet size"
# same seed, same sheet; validation styles differ
"$P" synth --seed 3 --count 2 --size 48 --data nodata --sheet again.png 2>/dev/null || fail "rerun"
cmp -s sheet.png again.png || fail "not reproducible"
"$P" synth --seed 3 --count 2 --size 48 --data nodata --val --sheet val.png 2>/dev/null || fail "--val"
cmp -s sheet.png val.png && fail "--val gives the training styles"
expect 1 'seed and --sheet are required' -- "$P" synth --count 2 --sheet x.png
expect 1 'count' -- "$P" synth --seed 1 --count 0 --sheet x.png
expect 1 'unknown option' -- "$P" synth --seed 1 --sheet x.png --frobnicate
expect 2 'nodir' -- "$P" synth --seed 1 --count 1 --size 32 --data nodata --sheet nodir/x.png
echo ok
