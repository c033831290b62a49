# The store commands on a real database: list, show (text and JSON), export/import between
# databases and models, relearn's store side, forget leaving no trace, and bad names.
. "$TESTS_DIR/lib.sh"
T=$(dirname "$P")/tests/test_store_tool
[ -x "$T" ] || fail "missing $T (make builds it with the unit tests)"
json_ok() { [ "$(sqlite3 :memory: "SELECT json_valid(readfile('$1'))")" = 1 ] || fail "not JSON: $(cat "$1")"; }
h1=$("$T" model m1.psm 1) && h2=$("$T" model m2.psm 2) && [ "$h1" != "$h2" ] || fail "models"
printf 'not a model' > junk.psm

# nothing yet: list is empty and creates nothing
"$P" list --json > l.json && json_ok l.json && [ "$(tr -d ' \n' < l.json)" = "[]" ] || fail "empty list"
[ ! -e "$PSTYLE_DB" ] || fail "list created a database"
expect 3 'no style database' -- "$P" show alice

"$T" put "$PSTYLE_DB" alice --count 2 --model-hash "$h1" --marker SECRET-THUMB-a1 >/dev/null || fail put
"$T" put "$PSTYLE_DB" alice --style ink --model-hash "$h1" >/dev/null || fail put
"$T" put "$PSTYLE_DB" bob --kb 0 --model-hash "$h1" >/dev/null || fail put
[ "$(stat -c %a "$PSTYLE_DB")" = 600 ] || fail "db mode $(stat -c %a "$PSTYLE_DB")"

"$P" list | grep -q '^alice/default  v2 (2 versions)' || fail "list: $("$P" list)"
"$P" list --json > l.json && json_ok l.json
[ "$(sqlite3 :memory: "SELECT json_array_length(readfile('l.json'))")" = 3 ] || fail "3 styles listed"
"$P" show alice > s.txt || fail show
grep -q "model $h1" s.txt && grep -Eq 'sample [0-9a-f]{64}' s.txt || fail "show text: $(cat s.txt)"
"$P" show alice --json > s.json && json_ok s.json
[ "$(sqlite3 :memory: "SELECT json_extract(readfile('s.json'), '\$.styles[0].versions[1].version')")" = 2 ] \
  || fail "show json: $(cat s.json)"
"$P" show alice --style ink --json > s.json && json_ok s.json
expect 2 "unknown user 'carol'" -- "$P" show carol
expect 2 "has no style 'oil'" -- "$P" show alice --style oil
"$P" show --db "$PSTYLE_DB" bob | grep -q 'no thumbnail' || fail "--db"

# export / import: same model, other model with thumbnails (note), other model without (refused)
"$P" export alice a.pst | grep -q 'exported alice' || fail export
"$P" export bob b.pst >/dev/null || fail export
expect 2 "unknown user" -- "$P" export nobody n.pst
[ ! -e n.pst ] || fail "failed export left a file"
"$P" import a.pst --as alice2 --model m1.psm > i.txt || fail "import: $(cat i.txt)"
grep -q "imported 3 style versions as user 'alice2'" i.txt && ! grep -q note i.txt || fail "$(cat i.txt)"
PSTYLE_MODEL=$PWD/m2.psm "$P" import a.pst --as alice3 | grep -q "relearn alice3" || fail "note"
expect 2 'no thumbnails to relearn' -- "$P" import b.pst --as bob2 --model m2.psm
expect 2 "unknown user 'bob2'" -- "$P" show bob2
"$T" verify "$PSTYLE_DB" > v.txt || fail "imported content differs"
grep -qx 'alice2/default 2' v.txt && grep -qx 'alice3/ink 1' v.txt || fail "$(cat v.txt)"
"$P" import --db other.db a.pst --model m1.psm >/dev/null || fail "import to a new db"
"$P" list --db other.db | grep -q '^alice/ink' || fail "new db"
head -c 200 a.pst > cut.pst
expect 2 'truncated' -- "$P" import cut.pst --model m1.psm
cp a.pst flip.pst; printf 'X' | dd of=flip.pst bs=1 seek=300 conv=notrunc 2>/dev/null
expect 2 'corrupt|not a valid' -- "$P" import flip.pst --model m1.psm
expect 2 'bad magic' -- "$P" import m1.psm --model m1.psm
expect 2 'bad user name' -- "$P" import a.pst --as '../x' --model m1.psm
expect 2 'junk.psm' -- "$P" import a.pst --model junk.psm

# relearn: styles already made with this model stay; a file that is not a pstyle model is refused
"$P" relearn alice --model m1.psm | grep -q 'relearned 0 styles; 2 already' || fail "up to date"
expect 2 'm2.psm: model: generator hyper-parameters' -- "$P" relearn alice --model m2.psm
expect 2 'no thumbnails stored' -- "$P" relearn bob --model m2.psm
expect 1 'USER, or --all' -- "$P" relearn
expect 2 'unknown user' -- "$P" relearn nobody --model m1.psm
expect 2 'junk.psm' -- "$P" relearn --all --model junk.psm

# forget: gone from every byte of the database and its WAL
grep -qa 'SECRET-THUMB-a1' "$PSTYLE_DB" "$PSTYLE_DB-wal" 2>/dev/null || fail "marker should be stored"
"$P" forget alice --style ink | grep -q "forgot style 'ink'" || fail "forget style"
expect 2 "has no style 'ink'" -- "$P" show alice --style ink
"$P" forget alice | grep -q "forgot user 'alice'" || fail "forget user"
"$P" forget alice3 >/dev/null && "$P" forget alice2 >/dev/null || fail "forget imported"
for f in "$PSTYLE_DB" "$PSTYLE_DB-wal"; do
  [ -e "$f" ] || continue
  grep -qa 'SECRET-THUMB-a1' "$f" && fail "thumbnail left in $f"
  grep -qa 'alice' "$f" && fail "name left in $f"
done
expect 2 "unknown user 'alice'" -- "$P" forget alice
"$P" show bob >/dev/null || fail "bob stays"

# names: quotes, semicolons, paths, non-UTF-8, too long, empty
long=$(printf 'a%.0s' $(seq 65))
for n in "a'b" 'a"b' 'x;DROP TABLE users' '../x' 'a/b' "$(printf '\xff\xfe')" "$long" '' 'a b'; do
  expect 2 'bad user name' -- "$P" show "$n"
  expect 2 'bad user name' -- "$P" forget "$n"
  expect 2 'bad style name' -- "$P" show bob --style "$n"
  expect 2 'bad user name' -- "$P" export "$n" x.pst
done
"$P" show "$(printf 'a%.0s' $(seq 64))" 2>&1 | grep -q 'unknown user' || fail "64 chars is a fine name"
[ "$(sqlite3 "$PSTYLE_DB" 'SELECT count(*) FROM users')" = 1 ] || fail "users table damaged"
for c in list show forget export import relearn; do "$P" $c --help | grep -q "usage: pstyle $c" || fail "$c --help"; done
expect 1 "^pstyle list: unknown option '--frob'" -- "$P" list --frob
expect 1 "unknown option '--frob'" -- "$P" show bob --frob
expect 1 "unknown option '--json'" -- "$P" forget bob --json
expect 1 'give exactly one USER' -- "$P" forget bob alice
expect 1 'give USER and FILE' -- "$P" export bob
[ "$(sqlite3 "$PSTYLE_DB" 'SELECT count(*) FROM users')" = 1 ] || fail "a usage error changed the store"

# the samples' file names travel through export and import
"$(dirname "$P")/tests/test_mkimg" names-one.png 64 48 1 >/dev/null || fail "test_mkimg"
"$(dirname "$P")/tests/test_mkimg" names-two.png 48 64 2 >/dev/null || fail "test_mkimg"
"$P" learn --user namer --steps 1 names-one.png names-two.png >/dev/null || fail "learn"
"$P" export namer n.pst >/dev/null && "$P" import n.pst --as namer2 >/dev/null ||
  fail "export/import with names"
"$P" show namer2 --json > n.json && json_ok n.json
[ "$(sqlite3 :memory: "SELECT group_concat(value ->> 'name', ',') FROM json_each(readfile('n.json'), '\$.styles[0].versions[0].samples')")" = names-one.png,names-two.png ] ||
  fail "names lost in export/import: $(cat n.json)"
echo ok
