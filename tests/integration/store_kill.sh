# kill -9 a writer at random points, 50 times: every committed version survives, nothing
# half-written shows, and SQLite's own integrity check passes each time.
. "$TESTS_DIR/lib.sh"
T=$(dirname "$P")/tests/test_store_tool
[ -x "$T" ] || fail "missing $T (make builds it with the unit tests)"
db=$PWD/kill.db
"$T" put "$db" victim --kb 4 >/dev/null || fail "first version"
mid=0 latest=1
for i in $(seq 50); do
  "$T" put "$db" victim --loop --kb 4 > out.txt 2>err.txt &
  pid=$!
  # once it is writing (first commit reported; slow to start under sanitizers), kill at random
  for w in $(seq 400); do [ -s out.txt ] && break; sleep 0.005; done
  sleep "0.$(printf "%03d" $((RANDOM % 30)))"
  kill -9 $pid
  wait $pid 2>/dev/null
  [ $? = 137 ] || fail "writer ended before the kill: $(cat err.txt)"
  printed=$(tail -n1 out.txt | sed 's/.* v//')
  [ -n "$printed" ] || printed=$latest # killed before its first commit
  # the newest version must be whole (content checked byte for byte) ...
  "$T" get "$db" victim || fail "kill $i: newest version unreadable"
  # ... and be the last one reported committed, or the one committed just before the kill
  latest=$(sqlite3 "$db" "SELECT max(version) FROM styles")
  [ "$latest" -ge "$printed" ] && [ "$latest" -le $((printed + 1)) ] \
    || fail "kill $i: writer reported v$printed, store has v$latest"
  [ "$latest" -gt "$printed" ] && mid=$((mid + 1))
  [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || fail "kill $i: integrity_check failed"
done
"$T" verify "$db" > verify.txt || fail "verify after 50 kills"
echo "50 kills ok; $(cat verify.txt) versions; $mid kills landed after a commit reached the WAL but before it was reported"
