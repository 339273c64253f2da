#!/usr/bin/env python3
"""attempts_test.py — FastCGI attempts of one user request grouped (analyzer/src/attempt.h), on generated captures.

Normative reference: analyzer/README.md "Attempts".
Each scenario is a capture written here (cli_test.py's writer) with what a
web server does: retry on a new connection after a reset, an internal
redirect after a 404 (error_page), next_upstream to another server after a
503; and the look-alikes that are NOT retries (a client repeating its
request, another client, a retry too late).

  attempts_test.py FCGISCOPE
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test as w  # noqa: E402  (the capture writer; its main() does not run on import)

BIN = sys.argv[1]
passed = failed = 0


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + msg)


class Flow(w.Flow):
    def __init__(self, pcap, cport, sport=9000, server=b"\x0a\x00\x00\x02"):
        super().__init__(pcap, cport, sport)
        self.server = server

    def _frame(self, d, flags, payload):
        fr = super()._frame(d, flags, payload)
        if self.server == b"\x0a\x00\x00\x02":
            return fr
        # another server address: rewrite it and the checksums
        eth, ip, tcp = fr[:14], bytearray(fr[14:34]), bytearray(fr[34:])
        if d == 0:
            ip[16:20] = self.server
        else:
            ip[12:16] = self.server
        ip[10:12] = b"\0\0"
        ip[10:12] = struct.pack("!H", w.csum(bytes(ip)))
        tcp[16:18] = b"\0\0"
        ph = bytes(ip[12:20]) + struct.pack("!BBH", 0, 6, len(tcp))
        tcp[16:18] = struct.pack("!H", w.csum(ph + bytes(tcp)))
        return eth + bytes(ip) + bytes(tcp)

    def server_rst(self, t):
        self.p.add(t, self._frame(1, 0x14, b""))


def params(uri, script, port=b"51000", addr=b"192.0.2.7", extra=()):
    return w.std_params(uri, script, [(b"REMOTE_ADDR", addr), (b"REMOTE_PORT", port)] + list(extra))


MS = 1_000_000


def run_json(path, *opts):
    p = subprocess.run([BIN, "-f", "json"] + list(opts) + [path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    lines = [json.loads(l) for l in p.stdout.decode().splitlines()]
    return p.returncode, [l for l in lines if l["type"] == "request"], lines[-1] if lines else {}


def scenario(tmp, name, build):
    p = w.Pcap()
    build(p)
    p.pkts.sort(key=lambda x: x[0])
    path = os.path.join(tmp, name + ".pcap")
    w.write(path, p.bytes())
    return path


def reset_then_retry(p):
    """nginx on a kept-alive connection whose php-fpm worker was recycled:
    the request is sent, the server resets, nginx retries on a new one."""
    a = Flow(p, 40001)
    a.syn(w.T0)
    a.send(w.T0 + 10 * MS, 0, w.request_bytes(1, params(b"/a?x=1", b"/a.php"), keep=True))
    a.server_rst(w.T0 + 11 * MS)
    b = Flow(p, 40002)
    b.syn(w.T0 + 12 * MS)
    b.send(w.T0 + 13 * MS, 0, w.request_bytes(1, params(b"/a?x=1", b"/a.php"), keep=True))
    b.send(w.T0 + 20 * MS, 1, w.response_bytes(1, 200))
    b.fin(w.T0 + 30 * MS)


def redirect_after_404(p):
    """error_page 404 = /fallback.php: same client request, another script."""
    a = Flow(p, 40001)
    a.syn(w.T0)
    a.send(w.T0 + 10 * MS, 0, w.request_bytes(1, params(b"/missing", b"/missing.php")))
    a.send(w.T0 + 11 * MS, 1, w.response_bytes(1, 404))
    a.fin(w.T0 + 12 * MS)
    b = Flow(p, 40002)
    b.syn(w.T0 + 13 * MS)
    b.send(w.T0 + 14 * MS, 0, w.request_bytes(1, params(b"/missing", b"/fallback.php")))
    b.send(w.T0 + 20 * MS, 1, w.response_bytes(1, 200))
    b.fin(w.T0 + 21 * MS)


def next_upstream_503(p):
    """fastcgi_next_upstream http_503: the same request to another server."""
    a = Flow(p, 40001)
    a.syn(w.T0)
    a.send(w.T0 + 10 * MS, 0, w.request_bytes(1, params(b"/busy", b"/busy.php")))
    a.send(w.T0 + 11 * MS, 1, w.response_bytes(1, 503))
    a.fin(w.T0 + 12 * MS)
    b = Flow(p, 40002, server=b"\x0a\x00\x00\x03")
    b.syn(w.T0 + 13 * MS)
    b.send(w.T0 + 14 * MS, 0, w.request_bytes(1, params(b"/busy", b"/busy.php")))
    b.send(w.T0 + 20 * MS, 1, w.response_bytes(1, 200))
    b.fin(w.T0 + 21 * MS)


def client_repeats_404(p):
    """A client asking for the same missing page twice on one kept-alive
    HTTP connection: two user requests, not a retry."""
    for i, port in enumerate((40001, 40002)):
        f = Flow(p, port)
        t = w.T0 + i * 20 * MS
        f.syn(t)
        f.send(t + 5 * MS, 0, w.request_bytes(1, params(b"/missing", b"/missing.php")))
        f.send(t + 6 * MS, 1, w.response_bytes(1, 404))
        f.fin(t + 7 * MS)


def other_client_after_reset(p):
    """A reset, then the same URI from another client port: not a retry."""
    a = Flow(p, 40001)
    a.syn(w.T0)
    a.send(w.T0 + 10 * MS, 0, w.request_bytes(1, params(b"/a", b"/a.php", port=b"51000")))
    a.server_rst(w.T0 + 11 * MS)
    b = Flow(p, 40002)
    b.syn(w.T0 + 12 * MS)
    b.send(w.T0 + 13 * MS, 0, w.request_bytes(1, params(b"/a", b"/a.php", port=b"51001")))
    b.send(w.T0 + 20 * MS, 1, w.response_bytes(1, 200))
    b.fin(w.T0 + 30 * MS)


def too_late(p):
    """The same request 2 s after the reset: outside the window."""
    a = Flow(p, 40001)
    a.syn(w.T0)
    a.send(w.T0 + 10 * MS, 0, w.request_bytes(1, params(b"/a", b"/a.php")))
    a.server_rst(w.T0 + 11 * MS)
    b = Flow(p, 40002)
    b.syn(w.T0 + 2000 * MS)
    b.send(w.T0 + 2001 * MS, 0, w.request_bytes(1, params(b"/a", b"/a.php")))
    b.send(w.T0 + 2010 * MS, 1, w.response_bytes(1, 200))
    b.fin(w.T0 + 2020 * MS)


def tagged_retry(p):
    """No REMOTE_PORT, but the same X-Request-ID on both attempts; a third,
    unrelated request in between keeps its place in start order."""
    tag = [(b"HTTP_X_REQUEST_ID", b"req-42")]
    a = Flow(p, 40001)
    a.syn(w.T0)
    a.send(w.T0 + 10 * MS, 0, w.request_bytes(1, w.std_params(b"/t", b"/t.php", tag)))
    a.send(w.T0 + 11 * MS, 1, w.response_bytes(1, 502))
    a.fin(w.T0 + 12 * MS)
    c = Flow(p, 40003)
    c.syn(w.T0 + 12 * MS)
    c.send(w.T0 + 12 * MS + 500_000, 0, w.request_bytes(1, params(b"/other", b"/other.php", port=b"9")))
    c.send(w.T0 + 15 * MS, 1, w.response_bytes(1, 200))
    c.fin(w.T0 + 16 * MS)
    b = Flow(p, 40002, server=b"\x0a\x00\x00\x03")
    b.syn(w.T0 + 13 * MS)
    b.send(w.T0 + 14 * MS, 0, w.request_bytes(1, w.std_params(b"/t", b"/t.php", tag)))
    b.send(w.T0 + 20 * MS, 1, w.response_bytes(1, 200))
    b.fin(w.T0 + 21 * MS)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # grouped: (name, builder, statuses the users got)
        for name, build in (("reset_then_retry", reset_then_retry), ("redirect_after_404", redirect_after_404),
                            ("next_upstream_503", next_upstream_503)):
            path = scenario(tmp, name, build)
            rc, reqs, summ = run_json(path, "--fail-on", "warning")
            check(len(reqs) == 2, "%s: 2 FastCGI requests, got %d" % (name, len(reqs)))
            if len(reqs) != 2:
                continue
            a, b = reqs
            check(a["retried"] is True and a["attempt"] == 1, "%s: first attempt retried: %s" % (name, a))
            check(b["retried"] is False and b["attempt"] == 2, "%s: second attempt 2: %s" % (name, b))
            check("attempt_retried" in a["anomalies"], "%s: attempt_retried on the first: %s" % (name, a["anomalies"]))
            check(summ.get("user_requests") == 1 and summ.get("retried_attempts") == 1,
                  "%s: 1 user request, 1 retried: %s/%s" % (name, summ.get("user_requests"), summ.get("retried_attempts")))
            check(summ.get("user_statuses") in (None, {"200": 1}) or summ["user_statuses"] == {"200": 1},
                  "%s: the user saw one 200: %s" % (name, summ.get("user_statuses")))
            # nobody saw the failure: no warning, the audit gate passes
            check(rc == 0 and summ.get("max_severity") == "note",
                  "%s: --fail-on warning exit %d, max_severity %s" % (name, rc, summ.get("max_severity")))
            groups = {g["id"]: g for g in summ.get("anomaly_groups", [])}
            if "incomplete_request" in groups:
                check(groups["incomplete_request"]["severity"] == "note",
                      "%s: incomplete_request of a retried attempt is a note: %s" % (name, groups["incomplete_request"]))

        # not grouped
        for name, build, n in (("client_repeats_404", client_repeats_404, 2),
                               ("other_client_after_reset", other_client_after_reset, 2),
                               ("too_late", too_late, 2)):
            path = scenario(tmp, name, build)
            rc, reqs, summ = run_json(path)
            check(len(reqs) == n and all(r["attempt"] == 1 and r["retried"] is False for r in reqs),
                  "%s: %d separate user requests: %s" % (name, n, [(r["uri"], r["attempt"], r["retried"]) for r in reqs]))
            check(summ.get("user_requests") == n and summ.get("retried_attempts") == 0,
                  "%s: user_requests %s" % (name, summ.get("user_requests")))
        path = scenario(tmp, "other_client_after_reset", other_client_after_reset)
        rc, _, _ = run_json(path, "--fail-on", "warning")
        check(rc == 1, "a reset nobody retried stays a warning: exit %d" % rc)

        path = scenario(tmp, "tagged_retry", tagged_retry)
        rc, reqs, summ = run_json(path)
        uris = [(r["uri"], r["attempt"], r["retried"]) for r in reqs]
        check(uris == [("/t", 1, True), ("/other", 1, False), ("/t", 2, False)],
              "tagged retry grouped, start order kept: %s" % uris)
        check(summ.get("user_requests") == 2, "tagged: 2 user requests: %s" % summ.get("user_requests"))
        # CSV carries the same columns
        p = subprocess.run([BIN, "-f", "csv", path], stdout=subprocess.PIPE, timeout=60)
        rows = p.stdout.decode().splitlines()
        head = rows[0].split(",")
        check("attempt" in head and "retried" in head, "csv columns: %s" % head)
        if "attempt" in head:
            ia, ir = head.index("attempt"), head.index("retried")
            vals = [(r.split(",")[ia], r.split(",")[ir]) for r in rows[1:]]
            check(vals == [("1", "true"), ("1", "false"), ("2", "false")], "csv attempt/retried: %s" % vals)
        # text: the Requests line says so
        p = subprocess.run([BIN, "--color", "never", path], stdout=subprocess.PIPE, timeout=60)
        check(b"2 user requests (1 retried)" in p.stdout, "text: user requests in the Requests line")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
