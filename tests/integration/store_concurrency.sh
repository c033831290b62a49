# 4 processes learning (writing) different users — and one shared user — while 4 others apply
# (read): no "database is locked", no lost or duplicated versions, every read byte-exact.
. "$TESTS_DIR/lib.sh"
T=$(dirname "$P")/tests/test_store_tool
[ -x "$T" ] || fail "missing $T (make builds it with the unit tests)"
# six processes creating the same new database at once: one schema, nobody fails
pids=
for u in 1 2 3 4 5 6; do "$T" put fresh.db new$u --count 2 > /dev/null 2> f$u.err & pids="$pids $!"; done
for p in $pids; do wait $p || fail "creating a new db at once: $(cat f*.err)"; done
[ "$("$T" verify fresh.db | wc -l)" = 6 ] || fail "fresh db content"
pids=
db=$PWD/conc.db
for u in 1 2 3 4; do "$T" put "$db" user$u >/dev/null || fail "seed user$u"; done
"$T" put "$db" shared >/dev/null || fail "seed shared"
pids=
for u in 1 2 3 4; do
  "$T" put "$db" user$u --count 20 --also shared > w$u.out 2> w$u.err & pids="$pids $!"
  "$T" get "$db" user$u --count 150 > r$u.out 2> r$u.err & pids="$pids $!"
done
for p in $pids; do wait $p || fail "a process failed: $(cat ./*.err)"; done
cat ./*.err | grep -qi 'locked' && fail "database is locked: $(cat ./*.err)"
"$T" verify "$db" > verify.txt || fail "verify: $(cat verify.txt)"
for u in 1 2 3 4; do grep -qx "user$u/default 21" verify.txt || fail "user$u: $(cat verify.txt)"; done
grep -qx "shared/default 81" verify.txt || fail "shared user lost or doubled versions: $(cat verify.txt)"
[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
# the CLI reads while a writer runs
"$T" put "$db" user1 --count 10 >/dev/null & w=$!
for i in 1 2 3 4 5; do
  "$P" list --db "$db" >/dev/null || fail "list during a write"
  "$P" show user1 --db "$db" --json >/dev/null || fail "show during a write"
done
wait $w || fail "writer"
echo ok
