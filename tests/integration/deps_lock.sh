# make deps waits while another apt or dpkg holds apt's lock: `apt-get update` (to which apt
# does not apply DPkg::Lock::Timeout) is retried, install gets -o DPkg::Lock::Timeout, and any
# other error fails at once. A fake apt-get (APT_GET) and a fake sudo (on PATH, used when the
# tests do not run as root) stand in for the real ones; nothing is installed.
. "$TESTS_DIR/lib.sh"
root=$(cd "$TESTS_DIR/.." && pwd)
command -v make >/dev/null || { echo "skip: no make"; exit 0; }
mkdir -p bin
cat > bin/sudo <<'SH'
#!/bin/sh
echo sudo >> "$FAKE_LOG"
exec "$@"
SH
cat > bin/apt-get <<'SH'
#!/bin/sh
echo "apt-get $* DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}" >> "$FAKE_LOG"
case " $* " in *" update "*)
  n=$(cat "$FAKE_COUNT" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_COUNT"
  if [ "$n" -lt "$FAKE_LOCKED" ]; then
    echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
    echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
    exit 100
  fi
  if [ -n "$FAKE_ERROR" ]; then echo "E: $FAKE_ERROR" >&2; exit 100; fi ;;
esac
exit 0
SH
chmod +x bin/sudo bin/apt-get
# deps LOCKED_TIMES [make variables...]: runs make deps; its stderr in err, the calls in log
deps() {
  rm -f log count
  FAKE_LOCKED=$1; shift
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PATH="$PWD/bin:$PATH" FAKE_LOG="$PWD/log" \
    FAKE_COUNT="$PWD/count" FAKE_LOCKED=$FAKE_LOCKED FAKE_ERROR="${FAKE_ERROR:-}" \
    make -s -C "$root" deps APT_GET="$PWD/bin/apt-get" APT_LOCK_POLL=1 "$@" > out 2> err
}
# locked twice, then free: waits, then installs with the lock timeout
t0=$(date +%s)
deps 2 || fail "make deps exited $?: $(cat err)"
[ "$(grep -c ' update ' log)" = 3 ] || fail "update not retried until the lock was free: $(cat log)"
grep -q 'apt is busy' err || fail "no word about waiting: $(cat err)"
grep -q 'Could not get lock' err out && fail "the lock's error shown though it went away"
grep -q -- '-o DPkg::Lock::Timeout=600 install -y -qq build-essential .*DEBIAN_FRONTEND=noninteractive$' log ||
  fail "install without the lock timeout: $(cat log)"
[ $(($(date +%s) - t0)) -lt 30 ] || fail "waited too long"
if [ "$(id -u)" = 0 ]; then
  grep -q '^sudo' log && fail "sudo used as root"
else
  [ "$(grep -c '^sudo' log)" = 4 ] || fail "apt-get not run through sudo: $(cat log)"
fi
# locked for good: gives up after APT_LOCK_WAIT seconds, with apt's error, and installs nothing
deps 1000 APT_LOCK_WAIT=2 && fail "make deps succeeded though apt stayed locked"
grep -q 'Could not get lock' err || fail "apt's error not shown: $(cat err)"
grep -q 'giving up' err || fail "no word about giving up: $(cat err)"
grep -q ' install ' log && fail "installed though update failed"
[ "$(grep -c ' update ' log)" -ge 2 ] || fail "not retried: $(cat log)"
# another error: fails at once, no retry
FAKE_ERROR="The repository 'http://deb.example/debian bookworm Release' does not have a Release file." \
  deps 0 && fail "make deps succeeded though update failed"
[ "$(grep -c ' update ' log)" = 1 ] || fail "retried an error that is not the lock: $(cat log)"
grep -q 'Release file' err || fail "update's error not shown: $(cat err)"
grep -q 'apt is busy' err && fail "'busy' for an error that is not the lock"
echo ok
