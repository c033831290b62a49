# pstyle serve through a real HTTP client (curl) against the real server on a free port: the
# token (URL, cookie, header), styles, samples and thumbnails, a photo painted at preview and full
# size (the full PNG byte-identical to `pstyle apply`'s), learn from uploads (the samples named
# as uploaded, sanitized), concurrent requests;
# hostile requests (oversized and endless bodies, wrong or missing token, another Host, path
# traversal, malformed multipart, non-images, bad names and numbers) each get a 4xx with a JSON
# error and the server keeps serving; SIGINT and SIGTERM stop it with exit 0, its temporary
# folder gone, nothing written but the store.
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
command -v curl > /dev/null || fail "curl missing (make deps)"
mk() { "$B/test_mkimg" "$@" || fail "test_mkimg $*"; }
"$B/test_mkmodel" m.psm 1 || fail model
export PSTYLE_MODEL=$PWD/m.psm
# gray samples: a style whose colour gate is open, so the dials visibly change the photo
mk g1.png 96 64 1 1; mk g2.png 80 80 2 1; mk g3.jpg 120 90 3 1
mk c1.png 100 80 7; mk c2.jpg 90 80 8; mk p.jpg 300 200 20; mk a.png 64 48 22 4
"$P" learn --user alice --steps 1 g1.png g2.png g3.jpg > /dev/null || fail "learn alice"
mkdir tmp srv
export TMPDIR=$PWD/tmp

# a failing check exits at once: the server must not outlive the test
SPID=
trap '[ -z "$SPID" ] || kill "$SPID" 2> /dev/null' EXIT
# start_server ARGS...: the server in srv/ (so a stray file would show), its URL from stdout;
# sets SPID, BASE, TOK, H (the token header)
start_server() {
  set -m # job control: without it a script's background job ignores SIGINT
  (cd srv && exec "$P" serve --port 0 "$@" > ../serve.out 2> ../serve.err) & SPID=$!
  set +m
  for _ in $(seq 100); do grep -q '^pstyle serve: http' serve.out 2> /dev/null && break; sleep 0.1; done
  URL=$(sed -n 's/^pstyle serve: //p' serve.out)
  [ -n "$URL" ] || fail "no URL printed: $(cat serve.err)"
  echo "$URL" | grep -Eq '^http://127\.0\.0\.1:[0-9]+/\?t=[0-9a-f]{32}$' || fail "URL: $URL"
  BASE=${URL%%/\?t=*}; TOK=${URL##*t=}; H="X-Pstyle-Token: $TOK"
}
# stop_server SIG: it exits 0 within 10 s and leaves no temporary folder
stop_server() {
  kill -s "$1" "$SPID"
  for _ in $(seq 100); do kill -0 "$SPID" 2> /dev/null || break; sleep 0.1; done
  kill -0 "$SPID" 2> /dev/null && fail "still running 10 s after SIG$1"
  wait "$SPID"; local rc=$?
  SPID=
  [ "$rc" = 0 ] || fail "exit $rc after SIG$1: $(cat serve.err)"
  [ -z "$(ls -A tmp)" ] || fail "temporary folder left after SIG$1: $(ls -A tmp)"
}
# [O=FILE] req EXPECTED_STATUS CURL_ARGS...: the body in FILE (default body), the status checked
req() {
  local want=$1; shift
  code=$(curl -s --max-time 60 -o "${O:-body}" -w '%{http_code}' "$@") || fail "curl $* failed ($?)"
  [ "$code" = "$want" ] || fail "curl $*: status $code, wanted $want: $(head -c 300 body)"
}
# a 4xx whose body is a JSON error matching PATTERN, and the server still answers
hostile() {
  local want=$1 pat=$2; shift 2
  req "$want" "$@"
  grep -Eq "^\{\"error\":\".*$pat" body || fail "curl $*: error lacks /$pat/: $(head -c 300 body)"
  req 200 -H "$H" "$BASE/api/styles"
}
json() { python3 -c "import json,sys; d=json.load(open('body')); print($1)"; }

start_server --max-upload-mb 1
grep -q "store $PSTYLE_DB" serve.err || fail "the store is not named at start: $(cat serve.err)"
port=${BASE##*:}
sd=$(ls -d tmp/pstyle-serve.*) && [ -d "$sd" ] || fail "no temporary folder in TMPDIR"
[ "$(stat -c %a "$sd")" = 700 ] || fail "temporary folder mode $(stat -c %a "$sd")"

# the page: the token in the URL sets a per-port HttpOnly cookie, which then suffices
req 403 "$BASE/"
req 200 -D hdr "$BASE/?t=$TOK"
grep -q '<title>pstyle</title>' body || fail "not the page"
grep -qi "^Set-Cookie: pstyle_$port=$TOK; Path=/; HttpOnly; SameSite=Strict" hdr || fail "cookie: $(cat hdr)"
grep -qi "^Content-Security-Policy: default-src 'self'" hdr || fail "no CSP: $(cat hdr)"
grep -Eq 'src="(https?:)?//' body && fail "the page loads something from elsewhere"
req 200 -b "pstyle_$port=$TOK" "$BASE/api/styles"
req 403 -b "pstyle_1=$TOK" "$BASE/api/styles"

# styles, samples, thumbnails
req 200 -H "$H" "$BASE/api/styles"
[ "$(json "[(s['user'], s['style'], s['version'], s['samples'], s['program']) for s in d['styles']]")" = \
  "[('alice', 'default', 1, 3, True)]" ] || fail "styles: $(cat body)"
req 200 -H "$H" "$BASE/api/samples?user=alice&style=default&version=1"
[ "$(json "[(s['width'], s['height'], s['thumbnail']) for s in d['samples']]")" = \
  "[(96, 64, True), (80, 80, True), (120, 90, True)]" ] || fail "samples: $(cat body)"
json "d['program']" | grep -q '^colour: ' || fail "no program text: $(cat body)"
O=th.png req 200 -H "$H" "$BASE/api/thumb?user=alice&i=2"
[ "$("$B/test_mkimg" --info th.png)" = "120 90 3" ] || fail "thumbnail (at most 160 px, never enlarged): $("$B/test_mkimg" --info th.png)"
hostile 404 "no thumbnail 3" -H "$H" "$BASE/api/thumb?user=alice&i=3"
hostile 404 "unknown user 'nobody'" -H "$H" "$BASE/api/samples?user=nobody"

# a photo: preview and full size; the full PNG is what `pstyle apply` writes, byte for byte
req 200 -H "$H" -F "photo=@p.jpg" "$BASE/api/photo"
id=$(json "d['photo']")
[ "$(json "(d['name'], d['width'], d['height'], d['preview_width'], d['preview_height'])")" = \
  "('p.jpg', 300, 200, 300, 200)" ] || fail "photo: $(cat body)"
mk big.jpg 1600 1000 21
req 200 -H "$H" -F "photo=@big.jpg" "$BASE/api/photo"
bid=$(json "d['photo']")
[ "$(json "(d['preview_width'], d['preview_height'])")" = "(512, 320)" ] || fail "preview size: $(cat body)"
q="user=alice&style=default&version=1"
O=prev.jpg req 200 -H "$H" "$BASE/api/apply?photo=$bid&$q"
[ "$("$B/test_mkimg" --info prev.jpg)" = "512 320 3" ] || fail "preview: $("$B/test_mkimg" --info prev.jpg)"
O=full.png req 200 -H "$H" -D hdr "$BASE/api/apply?photo=$id&$q&size=full&format=png&color=0.5&texture=1.5&stroke=0.25&strength=0.8"
grep -qi '^Content-Disposition: attachment; filename="p.alice.png"' hdr || fail "download name: $(cat hdr)"
"$P" apply --user alice --color 0.5 --texture 1.5 --stroke 0.25 --strength 0.8 p.jpg -o cli.png > /dev/null ||
  fail "cli apply"
cmp -s full.png cli.png || fail "the server's full PNG differs from pstyle apply's"
O=zero.png req 200 -H "$H" "$BASE/api/apply?photo=$id&$q&size=full&format=png&strength=0"
"$P" apply --user alice --strength 0 p.jpg -o cli0.png > /dev/null || fail "cli apply 0"
cmp -s zero.png cli0.png || fail "strength 0 differs from pstyle apply's"
# solo's program is of a layout this pstyle does not know: the server says to relearn it
"$P" learn --user solo --steps 1 g1.png > /dev/null || fail "learn solo"
python3 - "$PSTYLE_DB" <<'PY' || fail "rewrite solo's program"
import sqlite3, struct, sys, zlib
db = sqlite3.connect(sys.argv[1])
sid, blob = db.execute("SELECT s.id, s.program FROM styles s JOIN users u ON s.user_id = u.id"
                       " WHERE u.name = 'solo'").fetchone()
raw = bytearray(zlib.decompress(blob))
raw[0:4] = struct.pack("<f", 99.0)
db.execute("UPDATE styles SET program = ?, program_crc = ? WHERE id = ?",
           (zlib.compress(bytes(raw)), zlib.crc32(bytes(raw)), sid))
db.commit()
PY
hostile 409 "unknown format.*pstyle relearn solo" -H "$H" "$BASE/api/apply?photo=$id&user=solo"
"$B/test_mkimg" --diff full.png zero.png | awk '{ exit !($1 > 2) }' || fail "the dials change nothing"
O=orig.jpg req 200 -H "$H" "$BASE/api/original?photo=$id&size=full"
[ "$("$B/test_mkimg" --info orig.jpg)" = "300 200 3" ] || fail "original"
# alpha survives the download
req 200 -H "$H" -F "photo=@a.png" "$BASE/api/photo"
O=alpha.png req 200 -H "$H" "$BASE/api/apply?photo=$(json "d['photo']")&$q&size=full&format=png"
[ "$("$B/test_mkimg" --info alpha.png)" = "64 48 4" ] || fail "alpha dropped"

# learn from uploads: a new style, its samples' hashes those of the uploaded files
req 200 -H "$H" -F user=bob -F style=warm -F "images=@c1.png" -F "images=@c2.jpg" "$BASE/api/learn"
json "d['message']" | grep -q "learned bob's style 'warm' v1 from 2 images" || fail "learn: $(cat body)"
for f in c1.png c2.jpg; do
  "$P" show bob | grep -q "sample $(sha256sum "$f" | cut -c1-64) " || fail "$f's hash not stored"
done
[ -z "$(ls -A "$sd")" ] || fail "uploads left in the temporary folder: $(ls -A "$sd")"
# ... each sample named as it was uploaded, in the API and in the store
names() { "$P" show --json "$1" | python3 -c "import json, sys
print([s['name'] for s in json.load(sys.stdin)['styles'][0]['versions'][0]['samples']])"; }
req 200 -H "$H" "$BASE/api/samples?user=bob&style=warm"
[ "$(json "[s['name'] for s in d['samples']]")" = "['c1.png', 'c2.jpg']" ] || fail "API's sample names: $(cat body)"
[ "$(names bob)" = "['c1.png', 'c2.jpg']" ] || fail "stored sample names: $(names bob)"
# names sanitized: the base name after '/' or '\', UTF-8 kept, control bytes dropped, other bytes
# not UTF-8 as '?', at most 127 bytes with the extension kept, "upload" for what is no name
python3 - c1.png c2.jpg <<'PY' || fail "multipart body"
import sys
parts = [('C:\\fakepath\\\u00c9t\u00e9 \u00e0 Paris.png'.encode(), 1), (b'../../x/a\x01b\xffc.jpg', 2),
         (b'n' * 300 + b'.png', 1), (b'..', 2)]
body = b''
for name, f in parts:
    body += (b'--XYZ\r\nContent-Disposition: form-data; name="images"; filename="' + name +
             b'"\r\nContent-Type: image/png\r\n\r\n' + open(sys.argv[f], 'rb').read() + b'\r\n')
body += b'--XYZ\r\nContent-Disposition: form-data; name="user"\r\n\r\ndave\r\n--XYZ--\r\n'
open('names.txt', 'wb').write(body)
PY
req 200 -H "$H" -H "Content-Type: multipart/form-data; boundary=XYZ" --data-binary @names.txt "$BASE/api/learn"
want="['\u00c9t\u00e9 \u00e0 Paris.png', 'ab?c.jpg', '$(printf 'n%.0s' $(seq 123)).png', 'upload']"
want=$(python3 -c "print($want)")
req 200 -H "$H" "$BASE/api/samples?user=dave"
[ "$(json "[s['name'] for s in d['samples']]")" = "$want" ] || fail "API's sanitized names: $(cat body)"
[ "$(names dave)" = "$want" ] || fail "stored sanitized names: $(names dave)"
[ -z "$(ls -A "$sd")" ] || fail "uploads left in the temporary folder: $(ls -A "$sd")"
# a photo's UTF-8 name: in JSON as it is, in the download's header as RFC 6266 has it
ete=$(printf '\303\211t\303\251.jpg')
req 200 -H "$H" -F "photo=@p.jpg;filename=\"dir/$ete\"" "$BASE/api/photo"
[ "$(json "d['name']")" = "$ete" ] || fail "photo's name: $(cat body)"
O=utf.png req 200 -H "$H" -D hdr "$BASE/api/apply?photo=$(json "d['photo']")&$q&size=full&format=png"
grep -qi "^Content-Disposition: attachment; filename=\"__t__.alice.png\"; filename\*=UTF-8''%C3%89t%C3%A9.alice.png" hdr ||
  fail "UTF-8 download name: $(cat hdr)"

# concurrent: 8 previews at once (all the same bytes) beside a learn
pids=
for i in 1 2 3 4 5 6 7 8; do
  curl -s --max-time 60 -f -H "$H" -o "conc$i.jpg" "$BASE/api/apply?photo=$bid&$q&color=0.3" & pids="$pids $!"
done
curl -s --max-time 60 -f -H "$H" -F user=carol -F "images=@c1.png" -o learn.json "$BASE/api/learn" & pids="$pids $!"
for p in $pids; do wait "$p" || fail "a concurrent request failed"; done
for i in 2 3 4 5 6 7 8; do cmp -s conc1.jpg "conc$i.jpg" || fail "concurrent previews differ"; done
grep -q "carol's style" learn.json || fail "concurrent learn: $(cat learn.json)"

# hostile requests
head -c 1500000 /dev/urandom > big.bin
hostile 413 "upload too large: [0-9]+ bytes, at most 1048576" -H "$H" -F "photo=@big.bin" "$BASE/api/photo"
hostile 413 "upload too large: more than 1048576" -H "$H" -H "Transfer-Encoding: chunked" \
  -F "photo=@big.bin" "$BASE/api/photo"
hostile 403 "missing or wrong token" "$BASE/api/styles"
# the token with its last digit changed (to 0, or to 1 when it is 0: a 1 in 16 chance that
# "change it to 0" kept the right token made this check fail now and then)
[ "${TOK: -1}" = 0 ] && wrong=${TOK%?}1 || wrong=${TOK%?}0
hostile 403 "missing or wrong token" -H "X-Pstyle-Token: $wrong" "$BASE/api/styles"
hostile 403 "missing or wrong token" "$BASE/api/styles?t=$TOK$TOK"
hostile 403 "missing or wrong token" -F "photo=@p.jpg" "$BASE/api/photo"
hostile 403 "wrong Host" -H "$H" -H "Host: evil.example:$port" "$BASE/api/styles"
hostile 404 "not found" -H "$H" --path-as-is "$BASE/../../../../etc/passwd"
hostile 404 "not found" -H "$H" --path-as-is "$BASE/api/../../etc/passwd"
hostile 404 "not found" -H "$H" "$BASE/api/thumb/%2e%2e/%2e%2e/etc/passwd"
hostile 404 "not found" -H "$H" "$BASE/page.html"
hostile 400 "bad user name" -H "$H" "$BASE/api/samples?user=../../etc"
hostile 400 "bad style name" -H "$H" "$BASE/api/apply?photo=$id&user=alice&style=a/b"
hostile 400 "bad user name" -H "$H" -F "user=../x" -F "images=@c1.png" "$BASE/api/learn"
hostile 405 "method not allowed" -H "$H" "$BASE/api/photo"
hostile 405 "method not allowed" -H "$H" -X DELETE "$BASE/api/styles"
echo hello > notimage.jpg
hostile 400 "notimage.jpg: not an image" -H "$H" -F "photo=@notimage.jpg" "$BASE/api/photo"
hostile 400 "learn: notimage.jpg: not an image" -H "$H" -F user=bob -F "images=@c1.png" \
  -F "images=@notimage.jpg" "$BASE/api/learn"
head -c 3000 p.jpg > cut.jpg
hostile 400 "cut.jpg: " -H "$H" -F "photo=@cut.jpg" "$BASE/api/photo"
hostile 400 "expected a multipart/form-data body" -H "$H" -H "Content-Type: multipart/form-data" \
  --data-binary garbage "$BASE/api/photo"
hostile 400 "expected a multipart/form-data body" -H "$H" -H "Content-Type: application/json" \
  --data-binary '{}' "$BASE/api/photo"
hostile 400 "send one image file" -H "$H" -H "Content-Type: multipart/form-data; boundary=XYZ" \
  --data-binary "garbage garbage" "$BASE/api/photo"
printf -- '--XYZ\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\nabcdef' > trunc.txt
hostile 400 "malformed multipart body" -H "$H" -H "Content-Type: multipart/form-data; boundary=XYZ" \
  --data-binary @trunc.txt "$BASE/api/photo"
hostile 400 "send one image file" -H "$H" -F "photo=@p.jpg" -F "photo2=@p.jpg" "$BASE/api/photo"
many=; for i in $(seq 11); do many="$many -F images=@c1.png"; done
hostile 400 "at most 10 files" -H "$H" -F user=bob $many "$BASE/api/learn"
hostile 400 "field 'user' is longer" -H "$H" -F "user=$(printf 'u%.0s' $(seq 100))" -F "images=@c1.png" \
  "$BASE/api/learn"
hostile 400 "'color' wants a number in \[0, 2\]" -H "$H" "$BASE/api/apply?photo=$id&$q&color=2.5"
hostile 400 "'texture' wants a number" -H "$H" "$BASE/api/apply?photo=$id&$q&texture=nan"
hostile 400 "'size' is 'preview' or 'full'" -H "$H" "$BASE/api/apply?photo=$id&$q&size=huge"
hostile 400 "'format' is 'jpg' or 'png'" -H "$H" "$BASE/api/apply?photo=$id&$q&format=gif"
hostile 404 "unknown photo" -H "$H" "$BASE/api/apply?photo=p999999&$q"
hostile 404 "has no version 7" -H "$H" "$BASE/api/apply?photo=$id&user=alice&version=7"
# a pixel bomb: the image module's cap refuses it from its header
python3 - <<'PY' || fail "bomb"
import struct, zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
open("bomb.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                             chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
PY
hostile 400 "bomb.png: image is 30000 x 30000" -H "$H" -F "photo=@bomb.png" "$BASE/api/photo"
# everything still works
O=again.png req 200 -H "$H" "$BASE/api/apply?photo=$id&$q&size=full&format=png&color=0.5&texture=1.5&stroke=0.25&strength=0.8"
cmp -s again.png full.png || fail "the result changed after the hostile requests"
[ -z "$(ls -A "$sd")" ] || fail "uploads left in the temporary folder: $(ls -A "$sd")"

# a second server on the same port is refused; SIGINT stops the first cleanly
expect 2 "127.0.0.1:$port: Address already in use" -- "$P" serve --port "$port"
stop_server INT
[ -z "$(ls -A srv)" ] || fail "the server wrote into its folder: $(ls -A srv)"
grep -q "stopping" serve.err || fail "no word on stopping: $(cat serve.err)"
start_server
req 200 -H "$H" "$BASE/api/styles"
stop_server TERM
expect 1 "port wants 0 to 65535" -- "$P" serve --port 70000
expect 1 "max-upload-mb wants 1 to 512" -- "$P" serve --max-upload-mb 0
expect 1 "unexpected argument" -- "$P" serve extra
echo ok
