# train's progress, on tiny procedural runs of a few seconds: "episode N/total" and an ETA from
# whichever limit (--episodes or --minutes) comes first; off a terminal one line every 10
# episodes, on a terminal (script's pseudo-terminal) one line redrawn; --quiet prints nothing.
. "$TESTS_DIR/lib.sh"
tiny="--procedural --shots 1 --queries 1 --inner-steps 0"
eta='ETA ([0-9]+[hm] )?[0-9]+[sm]' # 42s, 3m 05s, 1h 02m

"$P" train $tiny --episodes 20 --dir r1 --out m1.psm 2> e1 || fail "train exited $?: $(cat e1)"
grep -Eq "^episode 10/20: loss [0-9.]+ .*, $eta \\(episode limit\\)" e1 ||
  fail "no 'episode 10/20 ... ETA (episode limit)' line: $(cat e1)"
[ "$(grep -c '^episode [0-9]*/20: loss' e1)" = 2 ] || fail "want a line every 10 episodes: $(cat e1)"
grep -Eq '^episode 20/20: validation L1 [0-9.]+ .*\(best: saved\)' e1 || fail "validation: $(cat e1)"
grep -q 'min left' e1 && fail "the old 'min left': $(cat e1)"
grep -q $'\r' e1 && fail "a carriage return off a terminal"
[ -s m1.psm ] && [ -s r1/log.csv ] || fail "no model or log"

# the time limit comes first: its ETA, against the episode total (4.8 s: 10 episodes even
# under ASan on a busy machine)
"$P" train $tiny --minutes 0.08 --episodes 100000 --dir r2 --out m2.psm 2> e2 ||
  fail "train exited $?: $(cat e2)"
grep -Eq "^episode [0-9]+/100000: loss .*, $eta \\(time limit\\)" e2 ||
  fail "no 'ETA ... (time limit)' line: $(cat e2)"
last=$(grep -c ': loss' e2)
[ "$last" -ge 1 ] && [ "$last" -lt 10000 ] || fail "did not stop at the time limit"

# no episode limit: "episode N"
"$P" train $tiny --minutes 0.08 --dir r3 --out m3.psm 2> e3 || fail "train exited $?: $(cat e3)"
grep -Eq "^episode [0-9]+: loss .*, $eta \\(time limit\\)" e3 || fail "no-limit form: $(cat e3)"

"$P" train $tiny --episodes 10 --quiet --dir r4 --out m4.psm 2> e4 || fail "--quiet exited $?"
[ -s e4 ] && fail "--quiet printed: $(cat e4)"
[ -s m4.psm ] || fail "--quiet wrote no model"
"$P" train $tiny --episodes 5 -q --dir r4 --out m4.psm 2> e4 || fail "-q exited $?"
[ -s e4 ] && fail "-q printed: $(cat e4)"

if command -v script >/dev/null; then
  SHELL=/bin/sh script -qec "'$P' train $tiny --episodes 20 --dir r5 --out m5.psm" /dev/null \
    > tty.txt < /dev/null || fail "train under script exited $?: $(cat tty.txt)"
  grep -aq $'\rtrain: episode 20/20 100%, [0-9.]* s/episode, loss [0-9.]*, ETA 0s (episode limit)' tty.txt ||
    fail "no redrawn 'train: episode 20/20' line: $(od -c tty.txt | head -20)"
  grep -aq $'\rtrain: episode [0-9]*/20 ' tty.txt || fail "not redrawn"
  grep -aq 'episode 10/20: loss' tty.txt && fail "per-10-episode lines on a terminal"
  # the line is cleared (\r ESC[K) before the validation's own line
  tr '\r' '\n' < tty.txt | sed 's/\x1b\[K//g' | grep -aq '^episode 20/20: validation L1' ||
    fail "no validation line: $(cat tty.txt)"
else
  echo "skip the terminal check: no script(1)"
fi
echo ok
