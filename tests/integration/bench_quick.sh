# pstyle bench --quick: the harness runs end to end on the model the binary finds (or reports
# every model-dependent section as not measured when there is none) and writes a report, a
# results.json that parses, and valid PNG plots. Keeps the harness from rotting.
. "$TESTS_DIR/lib.sh"
expect 1 'unknown option' -- "$P" bench --frobnicate
expect 1 'unexpected argument' -- "$P" bench stray
: > afile
expect 2 'afile' -- "$P" bench --quick --out afile/sub
"$P" bench --help | grep -q -- '--quick' || fail "bench --help"

"$P" bench --quick --out out > log 2>&1 || fail "bench --quick: $(tail -5 log)"
[ -s out/REPORT.md ] || fail "no REPORT.md"
[ -s out/results.json ] || fail "no results.json"
for s in '## 1. Machine' '## 2. Engine' '## 3. Peer' '## 4. Speed' '## 5. Quality'; do
  grep -qF "$s" out/REPORT.md || fail "REPORT.md lacks '$s'"
done
grep -q 'sgemm .* GFLOP/s' out/REPORT.md || fail "no sgemm roof"
if grep -q '^## 6. Controls' out/REPORT.md; then   # a model was found: every section ran
  for s in '## 7. Few-shot' '## 8. Contact sheet'; do
    grep -qF "$s" out/REPORT.md || fail "REPORT.md lacks '$s'"
  done
  for png in speed_apply controls fewshot_k fewshot_steps contact_sheet; do
    [ "$(head -c 8 out/$png.png | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] \
      || fail "$png.png is not a PNG"
    grep -q "($png.png)" out/REPORT.md || fail "REPORT.md does not show $png.png"
  done
else
  grep -q 'Not measured' out/REPORT.md || fail "no model, yet no 'Not measured' note"
fi
if command -v python3 >/dev/null; then
  python3 - out/results.json <<'PY' || fail "results.json: see above"
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("machine", "engine", "peer", "speed", "quality", "bench_time"):
    assert k in r, f"missing key {k}"
assert r["machine"]["sgemm_roof"]["unit"] == "GFLOP/s" and r["machine"]["sgemm_roof"]["median"] > 0
assert r["quick"] == 1
PY
fi
echo ok
