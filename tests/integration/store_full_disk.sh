# A store on a really full disk (a 4 MiB tmpfs filled to the last block): learn fails cleanly with
# exit 3 and changes nothing; forget still deletes (it spends the store's "-reserve" file), gives
# the space back, and leaves a store that passes PRAGMA integrity_check with every other style.
# Needs root for the mount; elsewhere it says so and passes (the RLIMIT_FSIZE cases in
# store_damage.sh run everywhere).
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
T=$B/test_store_tool
for t in test_store_tool test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t"; done
mkdir -p disk
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=4m,mode=0700 tmpfs disk 2>/dev/null; then
  echo "skip: cannot mount a small tmpfs (not root?)"; exit 0
fi
trap 'umount disk' EXIT
h=$("$T" model m.psm 1) || fail "model"
"$B/test_mkmodel" mm.psm 1 && "$B/test_mkimg" s1.png 96 64 1 || fail "model/image"
db=disk/s.db
free_kb() { df -k --output=avail disk | tail -1 | tr -d ' '; }
for u in alice bob carl; do
  "$T" put $db $u --count 2 --kb 100 --model-hash "$h" > /dev/null || fail "seed $u"
done
[ -s $db-reserve ] || fail "no reserve beside the store"
[ "$(sqlite3 $db 'PRAGMA auto_vacuum')" = 2 ] || fail "a new store is not incremental"
# the rest of the disk taken by someone else's file
dd if=/dev/zero of=disk/fill bs=4k 2> /dev/null
[ "$(free_kb)" = 0 ] || fail "the disk is not full: $(free_kb) KiB free"
sum=$(sha256sum $db | cut -d' ' -f1)

# writing new data fails cleanly, and does not spend the reserve
expect 3 'disk full' -- "$P" learn --user dave --steps 1 --model mm.psm s1.png --db $db
expect 3 'disk full' -- "$T" put $db dave --kb 100 --model-hash "$h"
[ -s $db-reserve ] || fail "a failed learn spent the reserve"

# forget works, gives room back, keeps the others, and the store is whole
before=$(stat -c %s $db)
"$P" forget alice --db $db > out.txt 2> err.txt || fail "forget on a full disk: $(cat err.txt)"
grep -qx "forgot user 'alice'" out.txt || fail "forget said: $(cat out.txt)"
[ "$(sqlite3 $db 'PRAGMA integrity_check')" = ok ] || fail "integrity after forget"
[ "$(sqlite3 $db 'PRAGMA freelist_count')" = 0 ] || fail "forget left free pages"
after=$(stat -c %s $db)
[ "$after" -lt $((before - 100000)) ] || fail "forget gave no room back: $before -> $after bytes"
"$T" verify $db > v.txt || fail "verify"
[ "$(cat v.txt)" = "$(printf 'bob/default 2\ncarl/default 2')" ] || fail "styles after forget: $(cat v.txt)"
expect 2 "unknown user 'alice'" -- "$P" show alice --db $db
[ -s $db-reserve ] || fail "forget did not make the reserve again"
[ ! -s $db-wal ] || fail "forget left a WAL of $(stat -c %s $db-wal) bytes"

# a style of the next user too, with the disk full again
dd if=/dev/zero of=disk/fill2 bs=4k 2> /dev/null
"$P" forget bob --style default --db $db > /dev/null 2> err.txt || fail "second forget: $(cat err.txt)"
[ "$(sqlite3 $db 'PRAGMA integrity_check')" = ok ] || fail "integrity after the second forget"
[ "$("$T" verify $db)" = "carl/default 2" ] || fail "after the second forget: $("$T" verify $db)"

# the space is real: once the other file goes, learn works again
rm disk/fill disk/fill2
"$P" learn --user dave --steps 1 --model mm.psm s1.png --db $db > /dev/null || fail "learn with room"
[ "$(sqlite3 $db 'PRAGMA integrity_check')" = ok ] || fail "integrity after learn"
echo ok
