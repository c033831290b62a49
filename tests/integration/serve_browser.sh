# pstyle serve's page in headless Chromium (serve_browser.py, over the DevTools protocol): it
# loads, lists the style and its samples, takes a photo, a mouse drag of the colour slider changes
# the painted image, before/after toggles, a screenshot is written (copied to $SERVE_SCREENSHOT
# when set), the download link gives the full-size PNG, and two images given to the learn box
# become a new style, its samples named as the files. SERVE_LATENCY=N adds the latency figure (serve_browser.py). Skipped, saying so, when Chromium or python3-websocket is missing
# (make deps installs both).
. "$TESTS_DIR/lib.sh"
B=$(dirname "$P")/tests
for t in test_mkimg test_mkmodel; do [ -x "$B/$t" ] || fail "missing $B/$t (make builds it)"; done
py=/usr/bin/python3 # Debian's, which has python3-websocket
if ! command -v chromium > /dev/null || ! "$py" -c 'import websocket' 2> /dev/null; then
  echo "skip: the browser test needs chromium and python3-websocket (make deps installs them)"
  exit 0
fi
"$B/test_mkmodel" m.psm 1 || fail model
export PSTYLE_MODEL=$PWD/m.psm
for i in 1 2 3; do "$B/test_mkimg" g$i.png $((80 + 16 * i)) 72 $i 1 || fail img; done
"$B/test_mkimg" photo.jpg 1224 816 20 || fail img # 1 MP
"$P" learn --user alice --steps 1 g1.png g2.png g3.png > /dev/null || fail "learn"
mkdir tmp && export SERVE_TMP=$PWD/tmp
"$B/test_mkimg" c1.png 100 80 7 && "$B/test_mkimg" c2.jpg 90 80 8 || fail img
"$py" "$TESTS_DIR/integration/serve_browser.py" "$P" photo.jpg screenshot.png \
  ${SERVE_LATENCY:+--latency "$SERVE_LATENCY"} --learn c1.png c2.jpg
rc=$?
[ "$rc" = 77 ] && { echo "skip: chromium could not start here (see above)"; exit 0; }
[ "$rc" = 0 ] || fail "the browser test failed (exit $rc); server log: $(tail -5 serve.err)"
[ -z "$(ls -A tmp)" ] || fail "left in the temporary folder: $(ls -A tmp)"
[ -n "${SERVE_SCREENSHOT:-}" ] && cp screenshot.png "$SERVE_SCREENSHOT"
echo ok
