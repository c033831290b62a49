# Damaged or unusable databases: not SQLite, another program's, corrupt, newer, read-only, disk
# full. Each gives a clear message and exit 3, and none is ever changed by pstyle.
. "$TESTS_DIR/lib.sh"
T=$(dirname "$P")/tests/test_store_tool
[ -x "$T" ] || fail "missing $T (make builds it with the unit tests)"
h=$("$T" model m.psm 1) || fail "model"
sum() { sha256sum "$1" | cut -d' ' -f1; }
# every command on $1 exits 3 with /$2/ and leaves the file as it was
refused() {
  local db=$1 pat=$2 before; before=$(sum "$db")
  expect 3 "$pat" -- "$P" list --db "$db"
  expect 3 "$pat" -- "$P" show alice --db "$db"
  expect 3 "$pat" -- "$P" export alice x.pst --db "$db"
  expect 3 "$pat" -- "$P" forget alice --db "$db"
  expect 3 "$pat" -- "$P" import good.pst --db "$db" --model m.psm
  expect 3 "$pat" -- "$P" relearn --all --db "$db" --model m.psm
  [ "$(sum "$db")" = "$before" ] || fail "$db was changed"
}
"$T" put good.db alice --count 2 --model-hash "$h" >/dev/null || fail seed
"$P" export alice good.pst --db good.db >/dev/null || fail export

head -c 5000 /dev/urandom > junk.db;           refused junk.db 'not a pstyle database'
sqlite3 other.db 'CREATE TABLE t(a); INSERT INTO t VALUES(1)'; refused other.db 'not a pstyle database'
cp good.db newer.db; sqlite3 newer.db 'PRAGMA user_version=7'
refused newer.db 'newer pstyle \(schema 7 > [0-9]+\); upgrade pstyle'
# a pstyle database with its style pages overwritten
cp good.db bad.db
pages=$(sqlite3 bad.db 'PRAGMA page_count')
dd if=/dev/urandom of=bad.db bs=4096 seek=2 count=$((pages - 2)) conv=notrunc 2>/dev/null
before=$(sum bad.db)
expect 3 'database is corrupt' -- "$P" show alice --db bad.db
expect 3 'database is corrupt' -- "$P" import good.pst --db bad.db --model m.psm
[ "$(sum bad.db)" = "$before" ] || fail "corrupt db changed"
head -c 3000 good.db > short.db
expect 3 'database is corrupt' -- "$P" show alice --db short.db
: > empty.db
expect 3 'empty database' -- "$P" show alice --db empty.db
"$P" list --db empty.db >/dev/null || fail "list of an empty file is an empty list"
mkdir dir.db; expect 3 'not a regular file' -- "$P" list --db dir.db

# read-only (chmod a-w; honoured even by root): reading works, writing fails cleanly
cp good.db ro.db; chmod 0444 ro.db; before=$(sum ro.db)
"$P" list --db ro.db | grep -q alice || fail "list read-only"
"$P" show alice --db ro.db >/dev/null || fail "show read-only"
"$P" export alice ro.pst --db ro.db >/dev/null || fail "export read-only"
"$T" get ro.db alice || fail "apply-style read of a read-only db"
expect 3 'read-only' -- "$P" forget alice --db ro.db
expect 3 'read-only' -- "$P" import good.pst --db ro.db --model m.psm
expect 3 'read-only' -- "$T" put ro.db alice
[ "$(sum ro.db)" = "$before" ] || fail "read-only db changed"

# disk full (RLIMIT_FSIZE): a big import or learn fails with exit 3 and the store stays whole
"$T" put big.db carl --count 3 --kb 60 --model-hash "$h" >/dev/null || fail seed
"$P" export carl big.pst --db big.db >/dev/null || fail export
cp good.db full.db
expect 3 'disk full' -- bash -c "ulimit -f 100; exec '$P' import big.pst --db full.db --model m.psm"
expect 3 'disk full' -- bash -c "ulimit -f 100; exec '$T' put full.db alice --kb 200"
expect 3 'disk full' -- bash -c "ulimit -f 50; exec '$P' export carl out.pst --db big.db"
ls out.pst* >/dev/null 2>&1 && fail "a failed export left a file"
[ "$(sqlite3 full.db 'PRAGMA integrity_check')" = ok ] || fail "integrity after disk full"
"$T" verify full.db | grep -qx 'alice/default 2' || fail "disk full lost or added versions"
expect 2 "unknown user 'carl'" -- "$P" show carl --db full.db
"$P" import big.pst --db full.db --model m.psm >/dev/null || fail "import once there is room"
echo ok
