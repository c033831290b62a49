#!/usr/bin/python3
"""pstyle serve's page in headless Chromium, driven through the DevTools protocol (python3-websocket):
load the page from the URL the server prints, choose a photo, drag the colour slider with the
mouse, check that the painted image changes (its pixels, read back from the page), toggle
before/after, write a screenshot. With --latency N it then times N slider moves, each from the
input event to the new preview decoded in the page, and prints the median and p95 (the figure for
bench/REPORT.md), and the same for full-size renders (the slider's release).

usage: serve_browser.py PSTYLE_BIN PHOTO SCREENSHOT.png [--latency N] [--user U] [--learn IMG...]
The store and model come from PSTYLE_DB / PSTYLE_MODEL; the server and Chromium run in the
current folder and are stopped at the end. Exit 0 ok, 1 failed, 77 Chromium could not start."""
import json, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

import websocket  # Debian python3-websocket


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Page:
    """One DevTools session on a page target: call(method, **params) -> result."""

    def __init__(self, ws_url):
        # no Origin header: Chromium refuses DevTools websockets from origins it was not told of
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.n = 0

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.n:
                if "error" in m:
                    fail("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def js(self, expr, quiet=False):
        """Evaluate expr in the page (awaiting a promise) and return its value; an exception fails
        the test, or with quiet is None (the page may still be loading)."""
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r and quiet:
            return None
        if "exceptionDetails" in r:
            fail("page script: %s: %s" % (expr[:80], r["exceptionDetails"].get("exception", {}).get("description", r["exceptionDetails"])))
        return r["result"].get("value")

    def wait(self, expr, what, timeout=30):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.js(expr, quiet=True):
                return
            time.sleep(0.05)
        fail("timed out waiting for " + what + "; status: " + str(self.js("document.getElementById('status').textContent", quiet=True)))


# a hash of the shown image's pixels, read back through a canvas (same origin: not tainted)
PIXELS = """(() => { const v = document.getElementById('view');
  if (!v.complete || !v.naturalWidth) return null;
  const c = document.createElement('canvas'); c.width = v.naturalWidth; c.height = v.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data; let h = 2166136261 >>> 0, s = 0;
  for (let i = 0; i < d.length; i += 7) { h = Math.imul(h ^ d[i], 16777619) >>> 0; s += d[i]; }
  return [c.width, c.height, h, s / (d.length / 7)]; })()"""
IDLE = "window.pstyle && !document.getElementById('view').hidden && window.pstyle.renders >= %d && window.pstyle.last.size === 'full'"


def start_server(exe):
    # the server's temporary folder under $SERVE_TMP when set (Chromium's own temp files stay apart)
    env = dict(os.environ, TMPDIR=os.environ["SERVE_TMP"]) if os.environ.get("SERVE_TMP") else None
    srv = subprocess.Popen([exe, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=open("serve.err", "w"),
                           text=True, env=env)
    line = srv.stdout.readline().strip()
    if not line.startswith("pstyle serve: http://127.0.0.1:"):
        fail("server did not start: %r %s" % (line, open("serve.err").read()))
    return srv, line.split(" ", 2)[2]


def start_chromium(url, profile):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("skip: no chromium")
        sys.exit(77)
    args = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync", "--mute-audio",
            "--window-size=1280,800", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            "--user-data-dir=" + profile, url]
    ch = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open("chromium.err", "w"))
    port_file = os.path.join(profile, "DevToolsActivePort")
    t0 = time.time()
    while not os.path.exists(port_file) or not open(port_file).read().strip():
        if ch.poll() is not None or time.time() - t0 > 30:
            print("skip: chromium did not start: " + open("chromium.err").read()[-500:])
            ch.kill()
            sys.exit(77)
        time.sleep(0.1)
    port = open(port_file).read().split()[0]
    for _ in range(100):
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port, timeout=10))
        pages = [t for t in targets if t.get("type") == "page" and t.get("url", "").startswith(url.split("?")[0])]
        if pages:
            return ch, Page(pages[0]["webSocketDebuggerUrl"])
        time.sleep(0.1)
    fail("no page target: %s" % targets)


def drag_slider(page, slider_id, to_frac):
    """A real mouse drag of the slider's thumb from its current value to to_frac of its range."""
    r = page.js("(() => { const e = document.getElementById('%s'); const b = e.getBoundingClientRect();"
                " return [b.left, b.top, b.width, b.height, +e.value, +e.min, +e.max]; })()" % slider_id)
    left, top, w, h, val, lo, hi = r
    pad = 8  # the thumb's half width: its centre runs over [left + pad, right - pad]
    x_of = lambda f: left + pad + f * (w - 2 * pad)
    y = top + h / 2
    x0 = x_of((val - lo) / (hi - lo))
    page.call("Input.dispatchMouseEvent", type="mouseMoved", x=x0, y=y)
    page.call("Input.dispatchMouseEvent", type="mousePressed", x=x0, y=y, button="left", clickCount=1)
    steps = 8
    for i in range(1, steps + 1):
        page.call("Input.dispatchMouseEvent", type="mouseMoved", x=x0 + (x_of(to_frac) - x0) * i / steps, y=y, button="left", buttons=1)
        time.sleep(0.03)
    page.call("Input.dispatchMouseEvent", type="mouseReleased", x=x_of(to_frac), y=y, button="left", clickCount=1)


# N moves of the colour slider, one at a time: from the input event to the new image decoded
LATENCY = """(async (n, size) => { const s = document.getElementById('color'), out = [];
  const idle = () => new Promise((ok) => { const t = () => (st.busy || st.pending) ? setTimeout(t, 1) : ok(); t(); });
  for (let i = 0; i < n; i++) {
    await idle(); const before = window.pstyle.renders;
    s.value = (0.2 + 1.6 * ((i * 7) %% n) / n).toFixed(2); const t0 = performance.now();
    s.dispatchEvent(new Event(size === 'full' ? 'change' : 'input'));
    await new Promise((ok) => { const t = () => window.pstyle.renders > before && !st.busy ? ok() : setTimeout(t, 1); t(); });
    out.push(performance.now() - t0);
  }
  return out; })(%d, '%s')"""


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    a = sys.argv[1:]
    if len(a) < 3:
        fail(__doc__)
    exe, photo, shot = a[0], os.path.abspath(a[1]), a[2]
    nlat = int(a[a.index("--latency") + 1]) if "--latency" in a else 0
    user = a[a.index("--user") + 1] if "--user" in a else "alice"
    learn_imgs = a[a.index("--learn") + 1:] if "--learn" in a else []
    profile = tempfile.mkdtemp(prefix="chromium.", dir=".")
    srv, url = start_server(exe)
    ch = None
    try:
        ch, page = start_chromium(url, profile)
        page.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
        page.wait("document.readyState === 'complete' && document.getElementById('style').options.length > 0 && window.pstyle", "the page")
        page.wait("document.getElementById('style').value !== ''", "a style in the list")
        if location_has_token(page):
            fail("the token stayed in the address bar")
        page.wait("document.querySelectorAll('#samples img').length > 0 && [...document.querySelectorAll('#samples img')].every((i) => i.complete && i.naturalWidth > 0)", "the samples' thumbnails")
        # choose the photo as a person would through the file dialog
        doc = page.call("DOM.getDocument")
        node = page.call("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="#photofile")["nodeId"]
        page.call("DOM.setFileInputFiles", nodeId=node, files=[photo])
        page.wait(IDLE % 2, "the first full-size result")
        first = page.js(PIXELS)
        if not first:
            fail("no image shown")
        drag_slider(page, "color", 0.0)
        page.wait("+document.getElementById('color').value < 0.1", "the slider to move")
        page.wait(IDLE % 3 + " && window.pstyle.last.params.color === document.getElementById('color').value", "the result after the drag")
        moved = page.js(PIXELS)
        previews = sum(1 for t in page.js("window.pstyle.times") if t["size"] == "preview")
        print("drag: colour %s, %d renders (%d previews while dragging), image %s -> %s" % (
            page.js("document.getElementById('color').value"), page.js("window.pstyle.renders"), previews, first, moved))
        if moved[:2] != first[:2]:
            fail("the full-size result changed size: %s -> %s" % (first, moved))
        if moved[2] == first[2] or abs(moved[3] - first[3]) < 0.5:
            fail("the image did not change when the colour slider moved: %s -> %s" % (first, moved))
        # before / after
        page.js("document.getElementById('before').click()")
        page.wait("document.getElementById('view').src === st.original && document.getElementById('view').complete", "the original")
        orig = page.js(PIXELS)
        if orig[2] == moved[2]:
            fail("before looks like after")
        page.js("document.getElementById('before').click()")
        page.wait("document.getElementById('view').src === st.shown.after && document.getElementById('view').complete", "the result again")
        if page.js(PIXELS)[2] != moved[2]:
            fail("after is not the result")
        if page.js("document.getElementById('download').disabled"):
            fail("download stays disabled")
        png = page.call("Page.captureScreenshot", format="png")["data"]
        import base64
        data = base64.b64decode(png)
        if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 10000:
            fail("screenshot is not a PNG of a page")
        open(shot, "wb").write(data)
        print("screenshot: %s (%d bytes)" % (shot, len(data)))
        # the download link: the full-size PNG, named for the user, the cookie alone as the token
        dl = page.js("fetch(document.getElementById('download').dataset.href).then(async (r) => [r.status,"
                     " r.headers.get('content-type'), r.headers.get('content-disposition'), (await r.arrayBuffer()).byteLength])")
        stem = os.path.splitext(os.path.basename(photo))[0]
        if dl[:3] != [200, "image/png", "attachment; filename=\"%s.%s.png\"; filename*=UTF-8''%s.%s.png" % (stem, user, stem, user)]:
            fail("download: %s" % dl)
        if nlat:
            w, h = page.js("[st.photo.width, st.photo.height]")
            pw, ph = page.js("[st.photo.preview_width, st.photo.preview_height]")
            for size, n in (("preview", nlat), ("full", max(10, nlat // 3))):
                page.js(LATENCY % (3, size))  # warm-up
                xs = page.js(LATENCY % (n, size))
                px = (pw, ph) if size == "preview" else (w, h)
                print("latency %s (%dx%d painted, photo %dx%d = %.2f MP): median %.1f ms, p95 %.1f ms, n %d" % (
                    size, px[0], px[1], w, h, w * h / 1e6, statistics.median(xs), pct(xs, 95), len(xs)))
        # learn a style from images given to the page's file input, with its progress bar
        if learn_imgs:
            node = page.call("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="#learnfiles")["nodeId"]
            page.call("DOM.setFileInputFiles", nodeId=node, files=[os.path.abspath(f) for f in learn_imgs])
            page.wait("!document.getElementById('learn').disabled", "the learn button")
            page.js("document.getElementById('luser').value = 'browser'; document.getElementById('lstyle').value = 'dropped';"
                    " document.getElementById('learn').click()")
            page.wait("document.getElementById('learnmsg').textContent.includes(\"learned browser's style 'dropped' v1\")", "learn")
            page.wait("document.getElementById('style').selectedOptions[0].text.startsWith('browser/dropped')", "the new style selected")
            print("learn: " + page.js("document.getElementById('learnmsg').textContent"))
            # the samples are named as the browser sent the files
            names = page.js("fetch('/api/samples?user=browser&style=dropped').then((r) => r.json())"
                            ".then((j) => j.samples.map((s) => s.name))")
            if names != [os.path.basename(f) for f in learn_imgs]:
                fail("sample names: %s" % names)
        errs = [l for l in open("serve.err") if "pstyle:" in l and "stopping" not in l]
        if errs:
            fail("server errors: " + "".join(errs))
    finally:
        if ch:
            ch.terminate()
            try:
                ch.wait(10)
            except subprocess.TimeoutExpired:
                ch.kill()
        srv.send_signal(signal.SIGINT)
        rc = srv.wait(20)
        shutil.rmtree(profile, ignore_errors=True)
    if rc != 0:
        fail("server exited %d after SIGINT" % rc)
    print("ok")


def location_has_token(page):
    return "t=" in page.js("location.href")


if __name__ == "__main__":
    main()
