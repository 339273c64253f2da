#!/usr/bin/env python3
"""html_test.py — fcgiscope -f html: the page's numbers, its escaping, and the page in headless Chromium.

Normative reference: issue 14 (tests) and analyzer/README.md "The HTML report".

  html_test.py FCGISCOPE CAPTURES_DIR numbers   the page's machine-checkable numbers
                                                equal -f json's summary; every
                                                traffic string escaped (no browser)
  html_test.py FCGISCOPE CAPTURES_DIR browser   each page rendered by Debian's
                                                `chromium` over the DevTools protocol:
                                                no console error, no request but the
                                                page itself, a screenshot that is not
                                                blank, the numbers as rendered equal
                                                JSON's, point click and table sort work,
                                                the demo's page prints (PDF)

browser needs chromium, python3-websocket and python3-pil (scripts/deps/test.txt);
without them it exits 77 (skip) with the reason, or fails under CI=true.
"""
import base64
import html.parser
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cli_test as ct  # noqa: E402  (the capture writer; reads argv[1] = fcgiscope)

BIN = sys.argv[1]
CAPS = sys.argv[2]
GROUP = sys.argv[3] if len(sys.argv) > 3 else "numbers"
check = ct.check


def captures(tmp):
    """The pages under test: the demo, real ones, crafted ones, a hostile one and an empty one made here."""
    names = ["demo.pcapng", "real/nginx-phpfpm-failures.pcap", "real/haproxy-phpfpm-exhausted.pcap",
             "real/nginx-phpfpm-killed.pcap", "real/nginx-phpfpm-maxreq.pcap", "crafted/incomplete_request.pcap",
             "crafted/desync.pcap", "crafted/damaged_truncated.pcap"]
    out = [os.path.join(CAPS, n) for n in names if os.path.exists(os.path.join(CAPS, n))]
    check(len(out) == len(names), "captures present: %d of %d" % (len(out), len(names)))
    h = os.path.join(tmp, "hostile.pcap")
    ct.write(h, hostile_capture().bytes())
    out.append(h)
    e = os.path.join(tmp, "empty.pcap")  # no packet: a page without charts
    ct.write(e, ct.Pcap().bytes())
    out.append(e)
    return out


HOSTILE_URI = b"/q?<script>alert(1)</script>&x=\"'><img src=x onerror=alert(2)>"
HOSTILE_SCRIPT = b"/</td><script>alert(3)</script>.php"


def hostile_capture():
    """URIs, script names, methods and params with markup and quotes; a 500; an incomplete request."""
    p = ct.Pcap()
    f1, f2, f3 = ct.Flow(p, 42001), ct.Flow(p, 42002), ct.Flow(p, 42003)
    t = ct.T0
    f1.syn(t)
    params = ct.std_params(HOSTILE_URI, HOSTILE_SCRIPT, [(b"HTTP_X", b"\"><svg onload=alert(4)>")])
    params[0] = (b"REQUEST_METHOD", b"<b>GET\x1b[2J")
    f1.send(t + 1_000_000, 0, ct.request_bytes(1, params))
    f1.send(t + 9_000_000, 1, ct.response_bytes(1, 500))
    f1.fin(t + 10_000_000)
    f2.syn(t + 2_000_000)
    f2.send(t + 3_000_000, 0, ct.request_bytes(1, ct.std_params(b"/ok?a='b'", b"/ok.php")))
    f2.send(t + 4_000_000, 1, ct.response_bytes(1, 200))
    f2.fin(t + 5_000_000)
    f3.syn(t + 6_000_000)
    f3.send(t + 7_000_000, 0, ct.request_bytes(1, ct.std_params(b"/hang\"<x>", b"/hang.php")))
    p.add(t + 900_000_000, f3._frame(0, 0x10, b""))  # the capture ends with it unanswered
    p.pkts.sort(key=lambda x: x[0])
    return p


class Page(html.parser.HTMLParser):
    """What the checks read from a page: data- attributes by id and class, script tags, text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = {}
        self.scripts = []      # rows of tr.script: attrs + first cell text
        self.anoms = []
        self.tags = {}
        self._cell = None
        self._in_script_row = False
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for k, v in attrs:
            if k.startswith("on"):
                self.tags["on-attribute"] = self.tags.get("on-attribute", 0) + 1
            if k in ("src", "href", "xlink:href", "srcset", "action", "poster", "data"):
                self.tags["load-attribute"] = self.tags.get("load-attribute", 0) + 1
        if "id" in a:
            self.ids[a["id"]] = a
        if tag == "tr" and a.get("class") == "script":
            self.scripts.append({"attrs": a, "name": ""})
            self._in_script_row = True
            self._cell = 0
        elif tag == "tr":
            self._in_script_row = False
        if tag == "tr" and a.get("class") == "anomaly":
            self.anoms.append(a)
        if tag == "td" and self._in_script_row:
            self._cell += 1

    def handle_data(self, data):
        self.text.append(data)
        if self._in_script_row and self._cell == 1:
            self.scripts[-1]["name"] += data


def reports(cap, tmp):
    base = os.path.join(tmp, os.path.basename(cap))
    page = base + ".html"
    r1 = subprocess.run([BIN, "-q", "-f", "html", "-o", page, cap], capture_output=True, timeout=120)
    r2 = subprocess.run([BIN, "-f", "json", "--top", "100", cap], capture_output=True, timeout=120)
    check(r1.returncode == r2.returncode, "%s: exit status html %d json %d" % (cap, r1.returncode, r2.returncode))
    summ = json.loads(r2.stdout.decode().splitlines()[-1])
    with open(page, encoding="utf-8") as f:
        text = f.read()
    return page, text, summ


def json_p99(lat):
    return None if lat is None else lat["p99"]


def check_numbers(cap, text, summ):
    p = Page()
    p.feed(text)
    n = os.path.basename(cap)
    req = p.ids.get("requests", {})
    check(req.get("data-requests") == str(summ["requests"]["total"]),
          "%s: requests %s vs json %s" % (n, req.get("data-requests"), summ["requests"]["total"]))
    check(req.get("data-incomplete") == str(summ["requests"]["incomplete"]), "%s: incomplete" % n)
    lat = p.ids.get("latency", {})
    jl = summ["latency_us"]
    if jl is None:
        check("data-p99-us" not in lat, "%s: p99 without latencies" % n)
    else:
        for k in ("p50", "p90", "p99", "max"):
            check(lat.get("data-%s-us" % k) == str(jl[k]), "%s: %s %s vs json %s" % (n, k, lat.get("data-%s-us" % k), jl[k]))
        check(lat.get("data-count") == str(jl["count"]), "%s: latency count" % n)
    fail = p.ids.get("failures", {})
    s5 = sum(v for k, v in summ["statuses"].items() if k.isdigit() and 500 <= int(k) < 600)
    s4 = sum(v for k, v in summ["statuses"].items() if k.isdigit() and 400 <= int(k) < 500)
    check(fail.get("data-5xx") == str(s5) and fail.get("data-4xx") == str(s4), "%s: 5xx/4xx" % n)
    check(fail.get("data-refused") == str(summ["backend"]["connection_refused"]), "%s: refused" % n)
    # per script: same order (fcs_stats_top_scripts), same counts
    js = summ["scripts"]
    check(len(p.scripts) == len(js), "%s: %d script rows vs json %d" % (n, len(p.scripts), len(js)))
    for row, j in zip(p.scripts, js):
        a = row["attrs"]
        ok = (a.get("data-requests") == str(j["requests"]) and a.get("data-4xx") == str(j["4xx"])
              and a.get("data-5xx") == str(j["5xx"]) and a.get("data-incomplete") == str(j["incomplete"])
              and a.get("data-p99-us") == (None if j["latency_us"] is None else str(j["latency_us"]["p99"])))
        check(ok, "%s: script row %r vs json %r" % (n, a, j))
        if j["script"] and all(32 <= ord(ch) < 127 and ch != "\\" for ch in j["script"]):
            check(row["name"] == j["script"], "%s: script name %r vs %r" % (n, row["name"], j["script"]))
    # anomalies: one row per group, counts equal
    ja = {g["id"]: g["count"] for g in summ["anomaly_groups"]}
    pa = {a["data-id"]: int(a["data-count"]) for a in p.anoms}
    check(ja == pa, "%s: anomalies %r vs json %r" % (n, pa, ja))
    # self-contained: one script (ours), no on*= attribute, nothing loaded
    check(p.tags.get("script", 0) == 1, "%s: %d script tags" % (n, p.tags.get("script", 0)))
    check(p.tags.get("on-attribute", 0) == 0, "%s: an on* attribute" % n)
    for tag in ("img", "link", "iframe", "object", "embed", "image", "use", "a"):
        check(p.tags.get(tag, 0) == 0, "%s: a <%s> element" % (n, tag))
    check(p.tags.get("load-attribute", 0) == 0, "%s: a src=, href= or the like" % n)
    check("url(" not in text and "@import" not in text, "%s: a CSS url() or @import" % n)
    check("Content-Security-Policy" in text and "default-src 'none'" in text, "%s: CSP" % n)
    check(len(text.encode()) < 8 << 20, "%s: page of %d bytes" % (n, len(text.encode())))
    return p


def check_hostile(text, p):
    check("<script>alert" not in text and "<img" not in text and "<svg onload" not in text
          and "<b>GET" not in text and "</td><script>" not in text, "hostile: markup from the traffic unescaped")
    check("\x1b" not in text, "hostile: a raw ESC byte")
    check("&lt;script&gt;alert(1)&lt;/script&gt;" in text, "hostile: the URI escaped and shown")
    check(any("/</td><script>alert(3)</script>.php" == r["name"] for r in p.scripts),
          "hostile: the script name shown as text: %r" % [r["name"] for r in p.scripts])
    check("frame.number == " in text, "hostile: frame numbers for Wireshark")
    check('class="inc"' in text, "hostile: the incomplete request marked")


def group_numbers(tmp):
    for cap in captures(tmp):
        page, text, summ = reports(cap, tmp)
        p = check_numbers(cap, text, summ)
        if cap.endswith("hostile.pcap"):
            check_hostile(text, p)
    # -f html to stdout is the same page
    demo = os.path.join(CAPS, "demo.pcapng")
    a = subprocess.run([BIN, "-q", "-f", "html", demo], capture_output=True, timeout=60).stdout
    with open(os.path.join(tmp, "demo.pcapng.html"), "rb") as f:
        check(a == f.read(), "demo: stdout and -o differ")
    # deterministic: the same capture, the same page
    b = subprocess.run([BIN, "-q", "-f", "html", demo], capture_output=True, timeout=60).stdout
    check(a == b, "demo: two runs differ")
    r = subprocess.run([BIN, "-f", "pdf", demo], capture_output=True, timeout=60)
    check(r.returncode == 2 and b"html" in r.stderr, "-f pdf: %d %r" % (r.returncode, r.stderr))


# ---- the browser ------------------------------------------------------------

def skip(reason):
    print("SKIP: " + reason)
    if os.environ.get("CI") == "true":
        print("FAIL: CI=true: the browser test must run")
        sys.exit(1)
    sys.exit(77)


class Cdp:
    """Chrome DevTools Protocol over the browser's websocket, one page session (flat mode)."""

    def __init__(self, ws_url, websocket):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.n = 0
        self.events = []
        self.session = None

    def call(self, method, params=None, session=True, timeout=30):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        end = time.time() + timeout
        while time.time() < end:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)
        raise RuntimeError(method + ": no answer")

    def wait(self, method, timeout=30):
        end = time.time() + timeout
        for m in self.events:
            if m.get("method") == method:
                return m
        while time.time() < end:
            m = json.loads(self.ws.recv())
            self.events.append(m)
            if m.get("method") == method:
                return m
        raise RuntimeError(method + ": not seen")

    def drain(self, seconds):
        self.ws.settimeout(0.2)
        end = time.time() + seconds
        while time.time() < end:
            try:
                self.events.append(json.loads(self.ws.recv()))
            except Exception:
                pass
        self.ws.settimeout(30)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")


def start_chromium(tmp):
    exe = shutil.which("chromium")
    if not exe:
        skip("chromium is not installed (Debian package chromium)")
    prof = os.path.join(tmp, "profile")
    os.makedirs(prof, exist_ok=True)
    env = dict(os.environ, HOME=tmp)
    args = [exe, "--headless=new", "--remote-debugging-port=0", "--user-data-dir=" + prof,
            "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1100,900", "about:blank"]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")
    errf = open(os.path.join(tmp, "chromium.log"), "w+")
    # its own process group: chromium's helpers (zygote, renderers, network
    # service) are stopped with it (stop), not left writing into the profile
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=errf, env=env, start_new_session=True)
    url = None
    end = time.time() + 30
    while time.time() < end and proc.poll() is None:
        errf.seek(0)
        m = re.search(r"DevTools listening on (ws://\S+)", errf.read())
        if m:
            url = m.group(1)
            break
        time.sleep(0.1)
    if not url:
        errf.seek(0)
        log = errf.read()[-600:]
        stop(proc)
        skip("chromium does not start here: " + log.strip().replace("\n", " | "))
    return proc, url


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stop(proc):
    """Stop chromium and every helper it started (our own process group, made
    by start_chromium): a helper still running after the browser exited
    wrote into the profile while the temporary directory was being removed
    (rmtree: "Directory not empty: 'Default'", once in a CI run)."""
    pgid = proc.pid
    if group_alive(pgid):
        os.killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        proc.wait()
    for sig in (None, signal.SIGKILL):   # (bounded: an orphan's zombie may stay a member)
        if sig and group_alive(pgid):
            os.killpg(pgid, sig)
        end = time.time() + 5
        while group_alive(pgid) and time.time() < end:
            time.sleep(0.05)


def render(cdp, page):
    """Open page in a new target; returns (events of that page, screenshot PNG bytes)."""
    cdp.session = None
    t = cdp.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
    cdp.session = cdp.call("Target.attachToTarget", {"targetId": t, "flatten": True}, session=False)["sessionId"]
    for d in ("Network", "Log", "Runtime", "Page"):
        cdp.call(d + ".enable")
    cdp.events = []
    url = "file://" + page
    cdp.call("Page.navigate", {"url": url})
    cdp.wait("Page.loadEventFired")
    cdp.drain(0.5)
    m = cdp.call("Page.getLayoutMetrics")
    h = int(min(m["cssContentSize"]["height"], 12000))
    shot = cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                               "clip": {"x": 0, "y": 0, "width": 1100, "height": h, "scale": 1}})
    png = base64.b64decode(shot["data"])
    evs = [e for e in cdp.events if e.get("sessionId") == cdp.session]
    return t, url, evs, png


def console_errors(evs):
    bad = []
    for e in evs:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.exceptionThrown":
            bad.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            bad.append("console.%s: %s" % (p["type"], [a.get("value") for a in p.get("args", [])]))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
            bad.append("log: %s" % p["entry"].get("text"))
    return bad


def not_blank(png, name):
    from PIL import Image
    im = Image.open(io.BytesIO(png)).convert("RGB")
    small = im.resize((im.width // 4, im.height // 4))
    colors = small.getcolors(1 << 20) or []
    top = max(c for c, _ in colors) if colors else 0
    total = small.width * small.height
    check(len(colors) >= 50, "%s: screenshot has %d colours" % (name, len(colors)))
    check(top < 0.97 * total, "%s: screenshot %.1f%% one colour" % (name, 100.0 * top / max(total, 1)))


def group_browser(tmp):
    try:
        import websocket  # noqa: F401  (python3-websocket)
        import PIL  # noqa: F401  (python3-pil)
    except ImportError as ex:
        if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)  # Debian's, with its packages
        skip("python module missing: %s (python3-websocket, python3-pil)" % ex)
    import websocket
    proc, ws_url = start_chromium(tmp)
    try:
        cdp = Cdp(ws_url, websocket)
        for cap in captures(tmp):
            name = os.path.basename(cap)
            page, text, summ = reports(cap, tmp)
            t, url, evs, png = render(cdp, page)
            reqs = [e["params"]["request"]["url"] for e in evs if e.get("method") == "Network.requestWillBeSent"]
            check(reqs == [url], "%s: requests %r (only the page itself allowed)" % (name, reqs))
            errs = console_errors(evs)
            check(not errs, "%s: console: %s" % (name, errs))
            not_blank(png, name)
            got = cdp.eval("(function(){var r=document.getElementById('requests').dataset,"
                           "l=document.getElementById('latency').dataset;return {n:+r.requests,p99:l.p99Us?+l.p99Us:null,"
                           "scripts:Array.prototype.map.call(document.querySelectorAll('tr.script'),"
                           "function(e){return +e.dataset.requests;})};})()")
            check(got["n"] == summ["requests"]["total"], "%s: rendered requests %r" % (name, got))
            check(got["p99"] == json_p99(summ["latency_us"]), "%s: rendered p99 %r" % (name, got))
            check(got["scripts"] == [s["requests"] for s in summ["scripts"]], "%s: rendered scripts %r" % (name, got))
            if summ["latency_us"]:
                # a click on a point shows its details with the Wireshark filter
                pd = cdp.eval("(function(){var c=document.querySelector('g.pts circle');"
                              "c.dispatchEvent(new MouseEvent('click',{bubbles:true}));"
                              "return document.getElementById('pd').textContent;})()")
                check("frame.number == " in pd, "%s: point click: %r" % (name, pd))
                # sorting the script table by requests: most first, then least first
                order = cdp.eval("(function(){var th=document.querySelectorAll('#script-table th')[1];th.click();"
                                 "var a=Array.prototype.map.call(document.querySelectorAll('tr.script'),function(e){"
                                 "return +e.dataset.requests;});th.click();"
                                 "var b=Array.prototype.map.call(document.querySelectorAll('tr.script'),function(e){"
                                 "return +e.dataset.requests;});return [a,b];})()")
                check(order[0] == sorted(order[0], reverse=True) and order[1] == sorted(order[1]),
                      "%s: sort %r" % (name, order))
            if name == "demo.pcapng":
                # printable: the page as PDF, several pages, with its text
                pdf = base64.b64decode(cdp.call("Page.printToPDF", {"printBackground": False}, timeout=60)["data"])
                check(pdf.startswith(b"%PDF") and len(pdf) > 20000, "demo: PDF of %d bytes" % len(pdf))
            if name == "hostile.pcap":
                alerted = [e for e in cdp.events if e.get("method") == "Page.javascriptDialogOpening"]
                check(not alerted, "hostile: a dialog opened: %r" % alerted)
                shown = cdp.eval("document.body.textContent.indexOf('<script>alert(1)</script>')>=0")
                check(shown, "hostile: the URI is shown as text")
            cdp.call("Target.closeTarget", {"targetId": t}, session=False)
            cdp.session = None
    finally:
        stop(proc)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        try:
            {"numbers": group_numbers, "browser": group_browser}[GROUP](tmp)
        except SystemExit:
            raise
        except Exception as ex:  # a crash of the test is a failure, not a pass
            check(False, "%s: %s: %s" % (GROUP, type(ex).__name__, ex))
    print("%d passed, %d failed" % (ct.passed, ct.failed))
    return 1 if ct.failed else 0


if __name__ == "__main__":
    sys.exit(main())
