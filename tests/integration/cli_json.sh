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
echo ok
