# The command line a photographer expects (issue 15): -h for every command; list on a missing
# or foreign store; export keeps an existing file unless --force; importing a file twice adds
# nothing; apply --out-dir makes its folder; names for people, not internal ids (synth), and
# show --json's settings and quality as objects. Each: exit code, message, nothing lost.
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel test_store_tool; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
T=$B/test_store_tool
q() { sqlite3 "${2:-$PSTYLE_DB}" "$1"; }
json_ok() { [ "$(sqlite3 :memory: "SELECT json_valid(readfile('$1'))")" = 1 ] || fail "not JSON: $(cat "$1")"; }

# 1. -h is --help for every command: the usage on stdout, nothing on stderr, exit 0
for c in learn apply list show forget export import relearn train bench synth; do
  out=$("$P" $c -h 2>err.txt) || fail "$c -h exited $?: $(cat err.txt)"
  [ -s err.txt ] && fail "$c -h wrote to stderr: $(cat err.txt)"
  echo "$out" | grep -q "usage: pstyle $c" || fail "$c -h: $out"
  [ "$out" = "$("$P" $c --help)" ] || fail "$c -h and --help differ"
done
"$P" -h | grep -q '^commands:' || fail "pstyle -h"
for c in list import relearn; do  # their own getopt loops: our message, not getopt's
  expect 1 "^pstyle $c: unknown option '-x'" -- "$P" $c -x
  "$P" $c -x 2>&1 | grep -q 'invalid option' && fail "$c: getopt's own message"
done
[ ! -e "$PSTYLE_DB" ] || fail "a -h or usage error created the store"

# 2. list: the default store before the first learn is an empty list; a --db that is missing,
#    a file that is not SQLite and a folder are errors (exit 3); neither list nor show creates
"$P" list > l.txt 2> e.txt && [ ! -s l.txt ] && grep -q 'no styles in .* yet' e.txt || fail "default: $(cat e.txt)"
"$P" list --json | tr -d ' \n' | grep -qx '\[\]' || fail "default --json"
PSTYLE_DB= XDG_DATA_HOME=$PWD/xdg "$P" list >/dev/null 2>&1 || fail "default XDG store"
[ ! -e "$PSTYLE_DB" ] && [ ! -e xdg ] || fail "list created a store"
expect 3 "^pstyle: /nonexistent/x.db: no style database" -- "$P" list --db /nonexistent/x.db
expect 3 "^pstyle: missing.db: no style database" -- "$P" list --db missing.db --json
expect 3 "^pstyle: missing.db: no style database" -- "$P" show alice --db missing.db
printf 'these are my notes, not a database\n' > notes.txt; cp notes.txt notes.orig
expect 3 "^pstyle: notes.txt: not a pstyle database" -- "$P" list --db notes.txt
mkdir folder.db
expect 3 "^pstyle: folder.db: not a pstyle database" -- "$P" list --db folder.db
ls missing.db* >/dev/null 2>&1 && fail "list or show created missing.db"
cmp -s notes.txt notes.orig || fail "list changed a file that is not a store"
: > empty.db  # 0 bytes: a store that learn was creating, an empty SQLite database
"$P" list --db empty.db >/dev/null 2>&1 || fail "an empty (0-byte) store lists nothing"

# 3. export: an existing FILE is kept (exit 1) unless --force, which replaces it whole
h=$("$T" model m.psm 1) || fail model
"$T" put "$PSTYLE_DB" alice --count 2 --model-hash "$h" >/dev/null || fail put
"$T" put "$PSTYLE_DB" alice --style ink --model-hash "$h" >/dev/null || fail put
"$P" export alice a.pst >/dev/null || fail "export"
cp a.pst a.orig
"$T" put "$PSTYLE_DB" alice --model-hash "$h" >/dev/null || fail put  # alice/default v3
expect 1 "^pstyle: export: a.pst exists; use --force to replace it" -- "$P" export alice a.pst
cmp -s a.pst a.orig || fail "a refused export changed the file"
echo 'keep me' > mine.txt
expect 1 "mine.txt exists; use --force" -- "$P" export alice mine.txt --style ink
[ "$(cat mine.txt)" = 'keep me' ] || fail "export overwrote mine.txt"
ln -s nowhere dangling.pst
expect 1 "dangling.pst exists; use --force" -- "$P" export alice dangling.pst
[ -L dangling.pst ] && [ ! -e nowhere ] || fail "export followed or replaced a symlink"
expect 1 "^pstyle: export: folder.db is a folder" -- "$P" export alice folder.db --force
expect 1 "unknown option '--force'" -- "$P" show alice --force
"$P" export alice a.pst --force | grep -q 'exported alice to a.pst' || fail "--force"
cmp -s a.pst a.orig && fail "--force did not replace the file"
ls .pstyle.tmp.* >/dev/null 2>&1 && fail "export left a temp file"

# 4. import: the same file twice adds nothing; a newer export adds only what is new
"$P" import a.orig --db b.db --model m.psm > i.txt || fail "import 1: $(cat i.txt)"
grep -qx "imported 3 style versions as user 'alice'" i.txt || fail "import 1: $(cat i.txt)"
"$P" import a.orig --db b.db --model m.psm > i.txt || fail "import 2 exited $?"
[ "$(cat i.txt)" = "already up to date: alice style 'default' v2
already up to date: alice style 'ink' v1" ] || fail "import 2: $(cat i.txt)"
[ "$(q 'SELECT count(*) FROM styles' b.db)" = 3 ] || fail "the second import added versions"
# a.pst has default v1..v3: only v3 is new to b.db, and ink is up to date
"$P" import a.pst --db b.db --model m.psm > i.txt || fail "import newer"
grep -qx "already up to date: alice style 'ink' v1" i.txt &&
  grep -qx "imported 1 style version as user 'alice'" i.txt || fail "import newer: $(cat i.txt)"
[ "$(q "SELECT group_concat(name || version, ' ') FROM (SELECT name, version FROM styles ORDER BY name, version)" b.db)" = \
  "default1 default2 default3 ink1" ] || fail "versions after the newer import"
"$P" import a.pst --db b.db --model m.psm | grep -qx "already up to date: alice style 'default' v3" || fail "again"
# under another name it is new; then up to date under that name too
"$P" import a.pst --db b.db --as carol --model m.psm | grep -qx "imported 4 style versions as user 'carol'" || fail "--as"
"$P" import a.pst --db b.db --as carol --model m.psm | grep -q "up to date: carol style 'ink' v1" || fail "--as twice"
"$T" verify b.db > /dev/null || fail "imported content differs or versions have gaps"
# what counts: one sample hash changed in the store, and the file's style is no longer the latest
q "UPDATE samples SET sha256='$(printf '0%.0s' $(seq 64))' WHERE style_id=(SELECT max(s.id) FROM styles s
   JOIN users u ON u.id=s.user_id WHERE u.name='carol' AND s.name='ink')" b.db
"$P" import a.pst --db b.db --as carol --model m.psm | grep -qx "imported 1 style version as user 'carol'" ||
  fail "a changed sample is not the same style"
# learned with another model (the file has thumbnails): the note counts only what was added
"$T" model m2.psm 2 > /dev/null || fail model
"$P" import a.pst --db b.db --model m2.psm > i.txt || fail "foreign up to date"
grep -q note i.txt && fail "a note about versions not added: $(cat i.txt)"
n=$(q 'SELECT count(*) FROM styles' b.db)
"$P" import a.pst --db b.db --as dave --model m2.psm | grep -q 'note: 4 of them' || fail "foreign note"
[ "$(q 'SELECT count(*) FROM styles' b.db)" = $((n + 4)) ] || fail "dave's versions"

# 5. apply --out-dir: a missing folder is made (mkdir -p, 0777 less the umask); a path that is
#    not a folder is an error; a run that fails before painting makes no folder
"$B/test_mkmodel" mm.psm 1 || fail "model"
export PSTYLE_MODEL=$PWD/mm.psm
"$B/test_mkimg" s.png 64 48 1 && "$B/test_mkimg" p.png 64 48 2 || fail "images"
"$P" learn --user u --steps 1 s.png > /dev/null || fail "learn"
expect 2 "unknown user 'nobody'" -- "$P" apply --user nobody p.png --out-dir never/made
[ ! -e never ] || fail "a failed apply made its folder"
(umask 027 && "$P" apply --user u p.png --out-dir new/a/b) | grep -qx 'new/a/b/p.u.png' || fail "--out-dir new"
[ -f new/a/b/p.u.png ] || fail "no output in the new folder"
[ "$(stat -c %a new new/a new/a/b)" = "750
750
750" ] || fail "folder modes $(stat -c %a new new/a new/a/b)"
"$P" apply --user u p.png --out-dir new/a/b > /dev/null || fail "--out-dir that exists"
"$P" apply --user u p.png --out-dir "$PWD/abs//x/" > /dev/null && [ -f abs/x/p.u.png ] || fail "absolute, slashes"
expect 2 "^pstyle: notes.txt: not a directory" -- "$P" apply --user u p.png --out-dir notes.txt
expect 2 "^pstyle: notes.txt/sub: cannot create folder notes.txt/sub" -- \
  "$P" apply --user u p.png --out-dir notes.txt/sub
cmp -s notes.txt notes.orig || fail "apply changed a file in the way"
expect 1 "out-dir: empty path" -- "$P" apply --user u p.png --out-dir ''

# 6. names for people: synth says "validation style 3", not the internal seed (bit 63 set)
mkdir syn
"$P" synth --val --seed 3 --render p.png --out-dir syn > o.txt || fail "synth --render"
grep -q '^validation style 3: color=' o.txt && ! grep -q 922337 o.txt || fail "synth --val: $(cat o.txt)"
"$P" synth --seed 3 --render p.png --out-dir syn | grep -q '^style 3: color=' || fail "synth: training style"
"$P" synth --val --seed 5 --count 2 --size 32 --data nodata --sheet sheet.png 2>/dev/null > o.txt
grep -q '^row 1: validation style 6 on' o.txt && ! grep -q 922337 o.txt || fail "sheet rows: $(cat o.txt)"
#    show --json: settings and quality are objects; text that is not one JSON object is a string
"$P" show u --json > s.json && json_ok s.json
v='$.styles[0].versions[0]'
[ "$(sqlite3 :memory: "SELECT json_type(readfile('s.json'), '$v.settings'), json_type(readfile('s.json'),
   '$v.quality'), json_extract(readfile('s.json'), '$v.settings.shots')")" = "object|object|1" ] ||
  fail "settings and quality are not objects: $(cat s.json)"
for t in 'not json' '{"a": 1}, "b": {"c": 2}' '{ ] }' '{"a": 1' '{"a": 01}' '{"a": "x
y"}' '{"a": tru}' '[1, 2]' '{"a": "caf'$'\xc3\xa9''"}'; do
  q "UPDATE styles SET settings='$t'"  # (no quote in any of them)
  "$P" show u --json > s.json && json_ok s.json
  [ "$(sqlite3 :memory: "SELECT json_extract(readfile('s.json'), '$v.settings')")" = "$t" ] ||
    fail "'$t' did not come back as a string: $(cat s.json)"
done
q "UPDATE styles SET settings='{\"a\": [1, -2.5e3, true, null, {\"b\": \"\\u00e9\\n\"}], \"c\": {}}', quality=NULL"
"$P" show u --json > s.json && json_ok s.json
[ "$(sqlite3 :memory: "SELECT json_extract(readfile('s.json'), '$v.settings.a[1]'), json_type(readfile('s.json'),
   '$v.quality')")" = "-2500.0|null" ] || fail "nested object: $(cat s.json)"
"$P" show u | grep -q '^      settings {"a": \[1' || fail "text output"
echo ok
