# --json for scripts: list, show, import, learn and apply each print JSON that python's json
# module parses, with the documented keys and types (man page: JSON OUTPUT); nothing else on
# stdout.
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel test_store_tool; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
T=$B/test_store_tool
# jq PROGRAM FILE: run python on the parsed JSON as j; its output, or fail
jq() { /usr/bin/python3 -c 'import json,sys; j = json.load(open(sys.argv[2])); exec(sys.argv[1])' "$@" ||
  fail "python on $2: $1: $(cat "$2")"; }

# list: [] before anything; then one object per style with ints and strings
"$P" list --json > l.json && jq 'assert j == []' l.json
h=$("$T" model m.psm 1) || fail model
"$T" put "$PSTYLE_DB" alice --count 2 --model-hash "$h" >/dev/null &&
  "$T" put "$PSTYLE_DB" alice --style ink --model-hash "$h" >/dev/null || fail put
"$P" list --json > l.json || fail "list --json"
jq '
assert [(r["user"], r["style"], r["version"], r["versions"]) for r in j] == [("alice", "default", 2, 2), ("alice", "ink", 1, 1)], j
for r in j:
    assert set(r) == {"user", "style", "version", "versions", "shots", "samples", "thumbnails", "model_hash", "created_at"}, r
    assert all(isinstance(r[k], int) for k in ("version", "versions", "shots", "samples", "thumbnails"))
    assert r["model_hash"] == sys.argv[3] and r["created_at"].endswith("Z")
' l.json "$h"

# import --json: each version of the file, added or not, with its number in the store
"$P" export alice a.pst > /dev/null || fail export
"$P" import a.pst --db b.db --model m.psm --json > i.json || fail "import --json"
jq '
assert j["file"] == "a.pst" and j["user"] == "alice" and j["added"] == 3 and j["to_relearn"] == 0, j
assert [(v["style"], v["file_version"], v["added"], v["version"]) for v in j["versions"]] == \
    [("default", 1, True, 1), ("default", 2, True, 2), ("ink", 1, True, 1)], j["versions"]
' i.json
"$P" import a.pst --db b.db --model m.psm --json > i.json || fail "import --json again"
jq '
assert j["added"] == 0, j
assert [(v["style"], v["file_version"], v["added"], v["version"]) for v in j["versions"]] == \
    [("default", 1, False, None), ("default", 2, False, 2), ("ink", 1, False, 1)], j["versions"]
' i.json
"$P" import a.pst --db b.db --model m.psm --json --as carol > i.json && jq 'assert j["user"] == "carol" and j["added"] == 3' i.json
"$T" model m2.psm 2 > /dev/null || fail model
"$P" import a.pst --db b.db --model m2.psm --json --as dave > i.json &&
  jq 'assert j["added"] == 3 and j["to_relearn"] == 3, j' i.json

# learn --json: the new version, its figures and its samples with their file names (base names)
"$B/test_mkmodel" mm.psm 1 || fail model
export PSTYLE_MODEL=$PWD/mm.psm
mkdir -p imgs
"$B/test_mkimg" imgs/one.png 64 48 1 && "$B/test_mkimg" 'imgs/two words.jpg' 48 64 2 &&
  "$B/test_mkimg" p.png 40 30 3 || fail images
"$P" learn --user lea --steps 1 imgs/one.png 'imgs/two words.jpg' --json > l.json 2> e.txt || fail "learn --json"
jq '
assert (j["user"], j["style"], j["version"]) == ("lea", "default", 1), j
assert isinstance(j["seconds"], float) and isinstance(j["inner_loss_before"], float), j
assert isinstance(j["program"], str) and j["program"].startswith("colour"), j
assert [(m["name"], m["width"], m["height"]) for m in j["samples"]] == [("one.png", 64, 48), ("two words.jpg", 48, 64)], j
assert all(len(m["sha256"]) == 64 and m["bytes"] > 0 for m in j["samples"]), j
' l.json
# show: the same names, text and JSON
"$P" show lea --json > s.json || fail "show --json"
jq '
v = j["styles"][0]["versions"][0]
assert [m["name"] for m in v["samples"]] == ["one.png", "two words.jpg"], v
assert isinstance(v["settings"], dict) and isinstance(v["quality"], dict), v
' s.json
"$P" show lea | grep -Eq '^      sample [0-9a-f]{64}  [0-9]+ bytes  48x64  thumbnail  two words.jpg$' ||
  fail "show's text: $("$P" show lea)"
# a style stored before names (null, and no name in the text)
"$T" put "$PSTYLE_DB" old --model-hash "$h" > /dev/null || fail put
"$P" show old --json > s.json && jq 'assert all(m["name"] is None for m in j["styles"][0]["versions"][0]["samples"])' s.json
"$P" show old | grep -Eq 'thumbnail$' || fail "show old: $("$P" show old)"

# apply --json: an array, one object per input: written, skipped or failed
printf junk > bad.png
"$P" apply --user lea p.png imgs/one.png --out-dir out > /dev/null || fail apply
rm out/p.lea.png
"$P" apply --user lea --json p.png imgs/one.png bad.png --out-dir out > a.json 2> e.txt
[ $? = 2 ] || fail "apply --json with a bad input: exit code"
jq '
assert [(o["input"], o["output"], o["status"]) for o in j] == [("p.png", "out/p.lea.png", "written"),
    ("imgs/one.png", "out/one.lea.png", "skipped"), ("bad.png", "out/bad.lea.png", "failed")], j
w = j[0]
assert (w["width"], w["height"]) == (40, 30) and isinstance(w["seconds"], float) and "error" not in w, w
assert j[1]["error"] == "exists" and "width" not in j[1], j[1]
assert "bad.png" in j[2]["error"], j[2]
' a.json
"$P" apply --user lea --json --force p.png -o x.jpg -q > a.json 2> e.txt && [ ! -s e.txt ] || fail "apply --json -o"
jq 'assert len(j) == 1 and j[0]["output"] == "x.jpg" and j[0]["status"] == "written"' a.json
echo ok
