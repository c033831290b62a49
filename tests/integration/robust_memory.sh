# Memory-bounded decoding: real bombs (a valid 291 KB PNG of 10000 x 10000, one just past the
# 50 MP budget, a 2 KB JPEG whose header claims 20000 x 20000) are refused from the header with
# exit 2 and the budget message, fast, at a small peak RSS, under an address-space limit far below
# what decoding them would take; a JPEG claiming 1536 x 16392 (inside the cap) over 64 x 48 of
# data fails as corrupt just as cheaply; /dev/zero and a FIFO are refused within a second; and
# apply's memory grows by at most 40 bytes a pixel, which the stated peak rests on (any image
# inside the 50 MP cap applies within 2.2 GB), and by at most 5 where the style is painted band by
# band (under 250 MB at the cap).
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
command -v python3 > /dev/null || fail "python3 missing (make deps)"
"$B/test_mkmodel" m.psm 1 || fail "model"
export PSTYLE_MODEL=$PWD/m.psm PSTYLE_THREADS=2
"$B/test_mkimg" g.png 80 60 1 && "$B/test_mkimg" h.png 64 64 3 && "$B/test_mkimg" s.jpg 64 48 2 || fail "images"
"$P" learn --user u --steps 1 g.png h.png > /dev/null || fail "learn"

# run AS_MB TIMEOUT_S cmd...: prints "rc peak_kb seconds" for the command run under an address-
# space limit (0: none), its stderr to err.txt; a command past TIMEOUT_S is killed (rc 124)
cat > run.py <<'PY'
import os, resource, subprocess, sys, time
lim, tmo, cmd = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
def limit():
    if lim:
        resource.setrlimit(resource.RLIMIT_AS, (lim << 20, lim << 20))
t0 = time.monotonic()
with open("err.txt", "wb") as err:
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=limit)
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - t0 > tmo:
            p.kill()
            pid, status, ru = os.wait4(p.pid, 0)
            status = 124 << 8
            break
        time.sleep(0.005)
rc = os.waitstatus_to_exitcode(status) if status != 124 << 8 else 124
print(rc, ru.ru_maxrss, "%.3f" % (time.monotonic() - t0))
PY
# refused AS_MB PATTERN cmd...: exit 2 with PATTERN, within a second, below 64 MiB of RSS (~14)
refused() {
  local as=$1 pat=$2; shift 2
  read -r rc kb s < <(python3 run.py "$as" 20 "$@")
  [ "$rc" = 2 ] || fail "'$*' under $as MB: exit $rc, wanted 2: $(cat err.txt)"
  grep -Eq "$pat" err.txt || fail "'$*': stderr lacks /$pat/: $(cat err.txt)"
  awk -v s="$s" 'BEGIN { exit !(s < 1.0) }' || fail "'$*': refused after $s s"
  [ "$kb" -lt 65536 ] || fail "'$*': peak RSS $kb KB"
}

# bombs. PNG: valid CRCs and a zlib stream of all the rows (zeros), so only the size is wrong
cat > bomb.py <<'PY'
import struct, sys, zlib
def png(path, w, h):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    z, row, parts = zlib.compressobj(9), bytes(1 + 3 * w), []
    for _ in range(h):
        parts.append(z.compress(row))
    parts.append(z.flush())
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))
def jpeg(src, path, w, h):  # the frame header of a real baseline JPEG, claiming w x h
    b = bytearray(open(src, "rb").read())
    i = 2
    while b[i + 1] != 0xC0:
        i += 2 + (b[i + 2] << 8 | b[i + 3])
    b[i + 5:i + 9] = struct.pack(">HH", h, w)
    open(path, "wb").write(b)
png("bomb.png", 10000, 10000)
png("over.png", 8000, 6300)
jpeg("s.jpg", "bomb.jpg", 20000, 20000)
jpeg("s.jpg", "tall.jpg", 1536, 16392)  # 25 MP, inside the cap, with 64 x 48 of data
PY
python3 bomb.py || fail "bomb files"
sz=$(stat -c %s bomb.png)
[ "$sz" -lt 400000 ] || fail "bomb.png is $sz bytes"
budget='more than the 50 MP pstyle can process within its memory budget$'
for as in 0 1024; do # decoding bomb.png would take 1.2 GB of float planes alone
  refused $as "^pstyle: bomb.png: image is 10000 x 10000 = 100.0 MP, $budget" "$P" apply --user u bomb.png -o o.png
  refused $as "^pstyle: bomb.png: image is 10000 x 10000 = 100.0 MP, $budget" "$P" learn --user v bomb.png
  refused $as "^pstyle: over.png: image is 8000 x 6300 = 50.4 MP, $budget" "$P" apply --user u over.png -o o.png
  refused $as "^pstyle: bomb.jpg: image is 20000 x 20000 = 400.0 MP, $budget" "$P" apply --user u bomb.jpg -o o.png
  refused $as "^pstyle: bomb.jpg: image is 20000 x 20000 = 400.0 MP, $budget" "$P" learn --user v bomb.jpg
  refused $as '^pstyle: tall.jpg: (truncated|corrupt)' "$P" apply --user u tall.jpg -o o.png
done
# an upscale past the budget is refused before it is allocated
refused 1024 "^pstyle: .*20000 x 15000 = 300.0 MP is $budget" "$P" apply --user u --size 20000 s.jpg -o o.png
[ ! -e o.png ] || fail "a refused apply wrote o.png"
"$P" show v > /dev/null 2>&1 && fail "a refused learn stored a style"

# inputs that are not regular files: refused at once, nothing read
mkfifo fifo
for f in /dev/zero fifo; do
  refused 0 "^pstyle: $f: not a regular file$" "$P" apply --user u "$f" -o o.png
  refused 0 "^pstyle: $f: not a regular file$" "$P" learn --user v g.png "$f"
done

# apply's memory per pixel, for a style that takes the photo whole (paint): the peak grows from
# 4 MP to 9 MP by at most 40 bytes a pixel (the raw, the photo and paint's copy as floats, its
# steps); at that rate from the shipped model's 9 MP peak, the 50 MP cap (with alpha: 5 bytes a
# pixel more) stays within 2.2 GB
dm=
for m in "$(dirname "$P")/models/default.psm" "$(dirname "$P")/../models/default.psm"; do
  [ -f "$m" ] && dm=$m && break
done
[ -n "$dm" ] && export PSTYLE_MODEL=$dm && { "$P" learn --user d --steps 1 g.png h.png > /dev/null || fail "learn d"; }
who=$([ -n "$dm" ] && echo d || echo u)
"$B/test_mkimg" p4.jpg 2448 1632 5 && "$B/test_mkimg" p9.jpg 3672 2448 5 || fail "photos"
read -r rc4 kb4 _ < <(python3 run.py 0 60 "$P" apply --user $who p4.jpg -o p4.u.png)
read -r rc9 kb9 _ < <(python3 run.py 0 60 "$P" apply --user $who p9.jpg -o p9.u.png)
[ "$rc4" = 0 ] && [ "$rc9" = 0 ] || fail "apply: exit $rc4 / $rc9: $(cat err.txt)"
bpp=$(( (kb9 - kb4) * 1024 / (3672 * 2448 - 2448 * 1632) ))
cap=$(( kb9 * 1024 + (bpp + 5) * (50000000 - 3672 * 2448) ))
echo "apply (${dm:-test model}): $((kb4 / 1024)) MiB at 4 MP, $((kb9 / 1024)) MiB at 9 MP: $bpp bytes a pixel"
[ "$bpp" -le 40 ] || fail "apply takes $bpp bytes a pixel (4 MP: $kb4 KB, 9 MP: $kb9 KB)"
if [ -n "$dm" ]; then
  echo "so about $((cap / 1000000)) MB at the 50 MP cap with alpha"
  [ "$cap" -le 2200000000 ] || fail "the 50 MP cap would take $cap bytes"
fi
# without its strokes (paint, which takes the photo whole) the style is painted band by band
# from the decoded file: its 3 bytes a pixel and a fixed window, so the 50 MP cap stays under
# 250 MB
read -r rc4 kb4 _ < <(python3 run.py 0 60 "$P" apply --user $who --stroke 0 p4.jpg -o p4.b.png)
read -r rc9 kb9 _ < <(python3 run.py 0 60 "$P" apply --user $who --stroke 0 p9.jpg -o p9.b.png)
[ "$rc4" = 0 ] && [ "$rc9" = 0 ] || fail "apply --stroke 0: exit $rc4 / $rc9: $(cat err.txt)"
bpp=$(( (kb9 - kb4) * 1024 / (3672 * 2448 - 2448 * 1632) ))
cap=$(( kb9 * 1024 + bpp * (50000000 - 3672 * 2448) ))
echo "apply in bands: $((kb4 / 1024)) MiB at 4 MP, $((kb9 / 1024)) MiB at 9 MP: $bpp bytes a pixel, about $((cap / 1000000)) MB at the cap"
[ "$bpp" -le 5 ] || fail "apply in bands takes $bpp bytes a pixel (4 MP: $kb4 KB, 9 MP: $kb9 KB)"
[ "$cap" -le 250000000 ] || fail "in bands the 50 MP cap would take $cap bytes"
echo ok
