# learn interrupted (SIGINT, SIGKILL at random moments) leaves the previous versions intact and the
# database sound; a read-only store fails learn at once (exit 3) but still serves apply; a writer
# holding the lock makes learn wait its turn, not fail; one holding it past busy_timeout (30 s)
# makes learn give up with exit 3 and a clear message, the store unchanged.
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
"$B/test_mkmodel" m.psm 1 || fail "model"
export PSTYLE_MODEL=$PWD/m.psm
imgs=
for i in 1 2 3 4; do "$B/test_mkimg" s$i.png $((60 + 9 * i)) 80 $i || fail img; imgs="$imgs s$i.png"; done
"$B/test_mkimg" p.png 96 64 40 || fail img
"$P" learn --user u --steps 1 s1.png s2.png > /dev/null || fail "learn v1"
"$P" apply --user u p.png -o v1.png > /dev/null || fail "apply v1"
versions() { "$P" show u | grep -c '^  v[0-9]'; }

# interrupt learns at random moments within a learn's duration (the faster of two measured here,
# so that signals land on fast and slow machines alike; half of them early in the learn, half
# anywhere up to the commit): each leaves the versions that committed, v1 paints as before, the
# newest is whole (it applies), the file passes integrity_check
ms=
for i in 1 2; do
  t0=$(date +%s%N)
  "$P" learn --user u $imgs > /dev/null || fail "learn"
  t=$((($(date +%s%N) - t0) / 1000000))
  [ -z "$ms" ] || [ "$t" -lt "$ms" ] && ms=$t
done
n0=$(versions)
started=0 landed=0
set -m # job control: without it, background commands of a script ignore SIGINT
for i in 1 2 3 4 5 6 7 8; do
  sig=$([ $((i % 2)) = 0 ] && echo KILL || echo INT)
  "$P" learn --user u $imgs > /dev/null 2>&1 & pid=$!
  d=$((RANDOM % (i <= 4 ? ms / 2 + 1 : ms * 6 / 5 + 1)))
  sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
  kill -s "$sig" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 130 ] || [ "$rc" = 137 ] || fail "learn exited $rc on SIG$sig"
  [ "$rc" = 0 ] || landed=$((landed + 1))
  started=$((started + 1))
  [ "$(sqlite3 "$PSTYLE_DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity after SIG$sig"
  n=$(versions)
  [ "$n" -ge "$n0" ] && [ "$n" -le $((n0 + started)) ] || fail "$n versions after $started learns"
  "$P" apply --user u --version 1 --force p.png -o a.png > /dev/null || fail "v1 after SIG$sig"
  cmp -s v1.png a.png || fail "v1 changed after SIG$sig"
  "$P" apply --user u --force p.png -o a.png > /dev/null || fail "newest version after SIG$sig"
done
set +m
ls -A | grep -q '\.tmp$' && fail "temp files left: $(ls -A)"
[ "$landed" -ge 2 ] || fail "only $landed of $started signals landed before learn ended"
echo "$landed of $started learns interrupted (learn takes $ms ms); $(($(versions) - n0)) committed"

# a read-only store: learn fails at once and stores nothing; apply still reads it
before=$(sha256sum "$PSTYLE_DB")
chmod a-w "$PSTYLE_DB"
t0=$(date +%s)
expect 3 "^pstyle: .*styles.db: database is read-only" -- "$P" learn --user u --steps 1 s1.png
[ $(($(date +%s) - t0)) -lt 10 ] || fail "read-only store: learn took $(($(date +%s) - t0)) s"
"$P" apply --user u --version 1 p.png -o r.png > /dev/null || fail "apply on a read-only store"
cmp -s v1.png r.png || fail "apply on a read-only store"
chmod u+w "$PSTYLE_DB"
[ "$(sha256sum "$PSTYLE_DB")" = "$before" ] || fail "the read-only store changed"

# another writer holds the lock for 2 s: learn queues behind it and then stores its version
n0=$(versions)
{ printf 'BEGIN IMMEDIATE;\nCREATE TABLE hold(x);\n.shell sleep 2\nROLLBACK;\n'; } |
  sqlite3 "$PSTYLE_DB" > /dev/null & holder=$!
sleep 0.5
out=$("$P" learn --user u --steps 1 s3.png 2>&1) || fail "learn behind a lock: $out"
wait $holder || fail "lock holder"
echo "$out" | grep -qi locked && fail "learn reported a lock: $out"
[ "$(versions)" = $((n0 + 1)) ] || fail "learn behind a lock stored $(($(versions) - n0)) versions"
[ "$(sqlite3 "$PSTYLE_DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"

# a lock held for longer than busy_timeout: exit 3 after ~30 s, nothing stored
n0=$(versions)
{ printf 'BEGIN IMMEDIATE;\nCREATE TABLE hold(x);\n.shell sleep 36\nROLLBACK;\n'; } |
  sqlite3 "$PSTYLE_DB" > /dev/null & holder=$!
sleep 0.5
t0=$(date +%s)
expect 3 "^pstyle: .*database is locked \(another process held it for 30 s\)" -- \
  "$P" learn --user u --steps 1 s3.png
[ $(($(date +%s) - t0)) -ge 29 ] || fail "learn gave up on a lock before busy_timeout"
wait $holder || fail "lock holder"
[ "$(versions)" = "$n0" ] || fail "learn stored a version despite the lock"
[ "$(sqlite3 "$PSTYLE_DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
echo ok
