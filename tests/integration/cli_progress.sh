# Progress on stderr for learn and apply: off a terminal one line per finished item (learn: each
# image read, then the learning phase as it starts, with its inner steps, and as it ends; apply:
# "N/TOTAL FILE 0.4 s, ETA 9 s", and a line of its own before a large image), on a terminal
# (script's pseudo-terminal) one line redrawn (learn's phase: each inner step with an ETA, then
# the program's fit) and cleared before the command's own output; --quiet prints none; stdout is
# unchanged by all this.
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
mk() { "$B/test_mkimg" "$@" || fail "test_mkimg $*"; }
"$B/test_mkmodel" m.psm 1 || fail model
export PSTYLE_MODEL=$PWD/m.psm
mk s1.png 64 48 1; mk s2.jpg 48 64 2; mk p.png 64 48 3; mk q.jpg 50 40 4; mk r.png 40 50 5
dur='[0-9]+(\.[0-9])? s|[0-9]+ min [0-9]{2} s' # 0.4 s, 12 s, 3 min 05 s

# learn, off a terminal
"$P" learn --user u --steps 1 s1.png s2.jpg > o.txt 2> e.txt || fail "learn: $(cat e.txt)"
grep -q "^learned u's style 'default' v1 from 2 images" o.txt || fail "learn's stdout: $(cat o.txt)"
[ "$(sed -E "s/($dur)\$/D/" e.txt)" = "learn: 1/2 s1.png 64x48, D
learn: 2/2 s2.jpg 48x64, D
learn: learning from 2 images, 1 inner step
learn: learned in D" ] || fail "learn's progress: $(cat e.txt)"
"$P" learn --user u --steps 7 s1.png > /dev/null 2> e.txt && grep -q '^learn: learning from 1 image, 7 inner steps$' e.txt &&
  [ "$(wc -l < e.txt)" = 3 ] || fail "learn's progress, 7 steps: $(cat e.txt)"
grep -q $'\r' e.txt && fail "a carriage return off a terminal"
"$P" learn --user u --steps 1 -q s1.png > o.txt 2> e.txt && [ ! -s e.txt ] && [ -s o.txt ] ||
  fail "learn --quiet: $(cat e.txt)"
"$P" learn --user u --steps 1 --quiet s1.png 2>&1 >/dev/null | grep -q . && fail "learn --quiet"

# apply, off a terminal: a line per finished file with the ETA of the rest; the last has none
mkdir o
"$P" apply --user u p.png q.jpg r.png --out-dir o > o.txt 2> e.txt || fail "apply: $(cat e.txt)"
[ "$(cat o.txt)" = "o/p.u.png
o/q.u.jpg
o/r.u.png" ] || fail "apply's stdout: $(cat o.txt)"
grep -Eq "^apply: 1/3 p.png ($dur), ETA ($dur)\$" e.txt &&
  grep -Eq "^apply: 2/3 q.jpg ($dur), ETA ($dur)\$" e.txt && grep -Eq "^apply: 3/3 r.png ($dur)\$" e.txt &&
  [ "$(wc -l < e.txt)" = 3 ] || fail "apply's progress: $(cat e.txt)"
# a skipped file is not counted; a failed one is (with its error, no progress line)
printf 'junk' > bad.png
"$P" apply --user u p.png bad.png s1.png --out-dir o > /dev/null 2> e.txt
grep -Eq "^apply: 2/2 s1.png ($dur)\$" e.txt && ! grep -q 'p.png [0-9]' e.txt &&
  grep -q '^pstyle: bad.png: ' e.txt || fail "progress with a skip and a failure: $(cat e.txt)"
"$P" apply --user u -q --force p.png q.jpg --out-dir o > /dev/null 2> e.txt && [ ! -s e.txt ] ||
  fail "apply --quiet: $(cat e.txt)"
# a large image (12 MP) gets a line as it starts, before its seconds of work
mk big.png 4000 3000 6
"$P" apply --user u --size 64 big.png -o big.u.png > /dev/null 2> e.txt || fail "big: $(cat e.txt)"
[ "$(head -1 e.txt)" = "apply: 1/1 big.png: 4000x3000, 12.0 MP" ] && grep -Eq "^apply: 1/1 big.png ($dur)\$" e.txt ||
  fail "large image: $(cat e.txt)"

# on a terminal: one line, redrawn (\r), cleared (\r ESC[K) before each output name and at the
# end; stdout's names still come whole, one a line
if command -v script >/dev/null; then
  SHELL=/bin/sh script -qec "'$P' apply --user u --force p.png q.jpg r.png --out-dir o" /dev/null \
    > tty.txt < /dev/null || fail "apply under script: $(cat tty.txt)"
  grep -aq $'\rapply \\[#\\{10\\} *\\] 1/3 p.png ' tty.txt && grep -aq $'\rapply \\[#\\{30\\}\\] 3/3 r.png ' tty.txt ||
    fail "no redrawn apply line: $(od -c tty.txt | head -30)"
  tr '\r' '\n' < tty.txt | sed 's/\x1b\[K//g' | grep -q '^o/q.u.jpg$' || fail "an output name drawn over"
  grep -aq 'apply: [0-9]/3' tty.txt && fail "log lines on a terminal"
  [ "$(tail -c 4 tty.txt | od -An -c | tr -d ' ')" = '\r033[K' ] || fail "the line is not cleared at the end"
  SHELL=/bin/sh script -qec "'$P' learn --user u --steps 1 s1.png s2.jpg" /dev/null > tty.txt < /dev/null ||
    fail "learn under script"
  grep -aq $'\rlearn \\[#* *\\] 2/2 s2.jpg 48x64' tty.txt && grep -aq $'\rlearn: learning from 2 images, ' tty.txt ||
    fail "no redrawn learn line: $(od -c tty.txt | head -30)"
  tr '\r' '\n' < tty.txt | sed 's/\x1b\[K//g' | grep -q "^learned u's style 'default' v5 from 2 images" ||
    fail "learn's own line drawn over: $(od -c tty.txt | tail -10)"
  # the inner steps, one line redrawn: some with an ETA on the way, the last without, then the
  # program's fit; none of it a line of its own
  SHELL=/bin/sh script -qec "'$P' learn --user u --steps 100 s1.png s2.jpg" /dev/null > tty.txt < /dev/null ||
    fail "learn --steps 100 under script"
  lines=$(tr '\r' '\n' < tty.txt | sed 's/\x1b\[K//g')
  echo "$lines" | grep -Eq "^learn \[#* *\] [1-9][0-9]?/100 steps, ($dur), ETA ($dur)\$" &&
    echo "$lines" | grep -Eq "^learn \[#{30}\] 100/100 steps, ($dur)\$" &&
    echo "$lines" | grep -Eq "^learn: fitting the style program, ($dur)\$" ||
    fail "no redrawn inner steps: $(echo "$lines" | grep -a learn | tail -20)"
  echo "$lines" | grep -Eq "/100 steps, .*ETA.*ETA|^learn: .*inner step" && fail "steps drawn wrong: $(echo "$lines" | tail)"
  grep -aq '^learn' tty.txt && fail "learn's progress breaks lines on a terminal: $(od -c tty.txt | head)"
  SHELL=/bin/sh script -qec "'$P' learn -q --user u --steps 3 s1.png" /dev/null > tty.txt < /dev/null
  [ "$(tr -d '\r' < tty.txt)" = "$(tr -d '\r' < tty.txt | grep "^learned u's style 'default' v7 from 1 image")" ] &&
    [ "$(wc -l < tty.txt)" = 1 ] || fail "learn --quiet on a terminal: $(od -c tty.txt | head)"
  SHELL=/bin/sh script -qec "'$P' apply -q --user u --force p.png --out-dir o" /dev/null > tty.txt < /dev/null
  grep -aq -e $'\x1b' -e 'apply \[' tty.txt && fail "--quiet on a terminal: $(od -c tty.txt | head)"
  [ "$(tr -d '\r' < tty.txt)" = o/p.u.png ] || fail "--quiet on a terminal: $(od -c tty.txt | head)"
else
  echo "skip the terminal checks: no script(1)"
fi
echo ok
