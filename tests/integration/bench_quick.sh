# pstyle bench --quick: the harness runs end to end on the model the binary finds (or reports
# every model-dependent section as not measured when there is none) and writes a report, a
# results.json that parses, and valid PNG plots. Keeps the harness from rotting.
. "$TESTS_DIR/lib.sh"
expect 1 'unknown option' -- "$P" bench --frobnicate
expect 1 'unexpected argument' -- "$P" bench stray
: > afile
expect 2 'afile' -- "$P" bench --quick --out afile/sub
"$P" bench --help | grep -q -- '--quick' || fail "bench --help"

# A tiny external set in make_extval.py's layout: a style painted by the synthesizer on three
# demo photos (two samples, one query) and the control (the photos themselves).
demo=$TESTS_DIR/../bench/demo
mkdir -p ext/photos
cp "$demo/chelsea.jpg" "$demo/rocket.jpg" "$demo/coffee.jpg" ext/photos/
mkdir -p ext/s2
"$P" synth --val --seed 2 --render ext/photos/*.jpg --out-dir ext/s2 > /dev/null || fail "synth --render"
{ printf 'style\tgroup\tquick\trole\tphoto\timage\n'
  printf 'control\tcontrol\t1\tsupport\tphotos/%s\tphotos/%s\n' chelsea.jpg chelsea.jpg rocket.jpg rocket.jpg
  printf 'control\tcontrol\t1\tquery\tphotos/coffee.jpg\tphotos/coffee.jpg\n'
  printf 's2\tcolor\t1\tsupport\tphotos/%s.jpg\ts2/%s.png\n' chelsea chelsea rocket rocket
  printf 's2\tcolor\t1\tquery\tphotos/coffee.jpg\ts2/coffee.png\n'
  printf 'unused\tstroke\t0\tsupport\tphotos/rocket.jpg\ts2/rocket.png\n'
  printf 'unused\tstroke\t0\tquery\tphotos/coffee.jpg\ts2/coffee.png\n'
} > ext/manifest.tsv

"$P" bench --quick --extval ext --out out > log 2>&1 || fail "bench --quick: $(tail -5 log)"
[ -s out/REPORT.md ] || fail "no REPORT.md"
# progress on stderr: each section announced, then its time (it is never silent for long)
for sec in engine peer speed quality external; do
  grep -Eq "^bench: section [1-5]/5: $sec\$" log || fail "no progress line for $sec: $(cat log)"
  grep -Eq "^bench: $sec done in [0-9]+ s\$" log || fail "no end line for $sec"
done
[ -s out/results.json ] || fail "no results.json"
for s in '## 1. Machine' '## 2. Engine' '## 3. Peer' '## 4. Speed' '## 5. Quality'; do
  grep -qF "$s" out/REPORT.md || fail "REPORT.md lacks '$s'"
done
grep -q 'sgemm .* GFLOP/s' out/REPORT.md || fail "no sgemm roof"
if grep -q '^## 6. Controls' out/REPORT.md; then   # a model was found: every section ran
  for s in '## 7. Few-shot' '## 8. Contact sheet' '## 9. External styles' 'Control'; do
    grep -qF "$s" out/REPORT.md || fail "REPORT.md lacks '$s'"
  done
  grep -q '^| s2 | color |' out/REPORT.md || fail "no row for the external style s2"
  ! grep -q '^| unused |' out/REPORT.md || fail "the quick run measured a style not marked quick"
  for png in speed_apply controls fewshot_k fewshot_steps contact_sheet external_sheet; do
    [ "$(head -c 8 out/$png.png | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] \
      || fail "$png.png is not a PNG"
    grep -q "($png.png)" out/REPORT.md || fail "REPORT.md does not show $png.png"
  done
else
  grep -q 'Not measured' out/REPORT.md || fail "no model, yet no 'Not measured' note"
fi
! ls -A out | grep -q partial || fail "partial report files left behind: $(ls -A out)"
# a second bench into a folder another bench is writing to is refused and changes nothing
cp out/results.json before.json
flock out/.bench.lock sleep 30 & holder=$!
sleep 0.5
expect 2 'another bench is writing its report there' -- "$P" bench --quick --only engine --out out
kill $holder; wait $holder 2>/dev/null
cmp -s before.json out/results.json || fail "a refused bench changed results.json"
# --only: just the named sections
"$P" bench --quick --only external --extval ext --out only > log 2>&1 || fail "bench --only: $(tail -5 log)"
grep -qF '## 9. External styles' only/REPORT.md || fail "--only external: no section 9"
! grep -qF '## 4. Speed' only/REPORT.md || fail "--only external ran the speed section"

if command -v python3 >/dev/null; then
  # the report committed with the repo parses too (it once held two runs spliced together)
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$TESTS_DIR/../bench/results.json" \
    || fail "bench/results.json in the repo does not parse"
  python3 - out/results.json <<'PY' || fail "results.json: see above"
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("machine", "engine", "peer", "speed", "quality", "bench_time"):
    assert k in r, f"missing key {k}"
assert r["machine"]["sgemm_roof"]["unit"] == "GFLOP/s" and r["machine"]["sgemm_roof"]["median"] > 0
assert r["quick"] == 1
e = r.get("external", {})
if "skipped" not in e:
    assert [s["style"] for s in e["styles"]] == ["control", "s2"], e["styles"]
    ctl = e["styles"][0]
    # the control's ground truth is the photo: doing nothing scores perfectly
    assert ctl["mean"]["photo"]["psnr"]["value"] == 99 and ctl["mean"]["photo"]["delta_e2000"]["value"] == 0
    assert len(e["styles"][1]["queries"]) == 1 and set(e["overall"]) == {"photo", "reinhard", "pstyle", "network"}
PY
fi
echo ok
