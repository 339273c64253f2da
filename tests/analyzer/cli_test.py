#!/usr/bin/env python3
"""cli_test.py — fcgiscope's command line, exit statuses, ordering, timing and output safety on generated captures.

What is checked: analyzer/README.md "Usage" (options, exit statuses
0/1/2), "Output formats", "Output safety"; RFC 4180 (CSV), RFC 8259
(JSON). Standard library
only. The captures are generated here (pcap files written from scratch:
Ethernet/IPv4/TCP carrying FastCGI records); writing FastCGI is allowed to
generators, reading it is the decoder's job.

  cli_test.py FCGISCOPE [GROUP]     GROUP: cli, order, safety, input, user, stream (default: all)
"""
import csv
import io
import json
import os
import struct
import subprocess
import sys
import tempfile

BIN = sys.argv[1]
GROUP = sys.argv[2] if len(sys.argv) > 2 else "all"
passed = failed = 0


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + msg)


def run(args, stdin=None):
    p = subprocess.run([BIN] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout, p.stderr


# ---- capture writer -------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Pcap:
    def __init__(self, ns=False):
        self.ns = ns
        self.pkts = []

    def add(self, ts_ns, frame):
        self.pkts.append((ts_ns, frame))

    def bytes(self):
        magic = 0xA1B23C4D if self.ns else 0xA1B2C3D4
        out = [struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 262144, 1)]
        for ts, fr in self.pkts:
            sec, sub = divmod(ts, 10 ** 9)
            if not self.ns:
                sub //= 1000
            out.append(struct.pack("<IIII", sec, sub, len(fr), len(fr)) + fr)
        return b"".join(out)


class Flow:
    """One TCP connection client:cport -> server:sport on 10.0.0.1/10.0.0.2."""

    def __init__(self, pcap, cport, sport=9000):
        self.p = pcap
        self.cport, self.sport = cport, sport
        self.seq = {0: 1000, 1: 5000}

    def _frame(self, d, flags, payload):
        src, dst = (b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02") if d == 0 else (b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x01")
        sp, dp = (self.cport, self.sport) if d == 0 else (self.sport, self.cport)
        tcp = struct.pack("!HHIIBBHHH", sp, dp, self.seq[d], self.seq[1 - d], 5 << 4, flags, 65535, 0, 0) + payload
        ph = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        c = csum(ph + tcp)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
        return eth + ip + tcp

    def syn(self, t):
        self.p.add(t, self._frame(0, 0x02, b""))
        self.seq[0] += 1
        self.p.add(t + 1000, self._frame(1, 0x12, b""))
        self.seq[1] += 1
        self.p.add(t + 2000, self._frame(0, 0x10, b""))

    def send(self, t, d, payload):
        self.p.add(t, self._frame(d, 0x18, payload))
        self.seq[d] += len(payload)

    def fin(self, t):
        self.p.add(t, self._frame(0, 0x11, b""))
        self.seq[0] += 1
        self.p.add(t + 1000, self._frame(1, 0x11, b""))
        self.seq[1] += 1
        self.p.add(t + 2000, self._frame(0, 0x10, b""))


def rec(rtype, rid, content=b""):
    pad = (8 - len(content) % 8) % 8
    return struct.pack("!BBHHBB", 1, rtype, rid, len(content), pad, 0) + content + b"\0" * pad


def nv(name, value):
    def ln(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)
    return ln(len(name)) + ln(len(value)) + name + value


def request_bytes(rid, params, stdin=b"", keep=False):
    body = b"".join(nv(k, v) for k, v in params)
    out = rec(1, rid, struct.pack("!HB5x", 1, 1 if keep else 0))
    out += rec(4, rid, body) + rec(4, rid)
    if stdin:
        out += rec(5, rid, stdin)
    return out + rec(5, rid)


def response_bytes(rid, status=200, body=b"ok\n"):
    hdr = b"Status: %d X\r\nContent-Type: text/plain\r\n\r\n" % status
    return rec(6, rid, hdr + body) + rec(6, rid) + rec(3, rid, struct.pack("!IB3x", 0, 0))


def std_params(uri, script=b"/index.php", extra=()):
    return [(b"REQUEST_METHOD", b"GET"), (b"SCRIPT_FILENAME", b"/srv" + script), (b"SCRIPT_NAME", script),
            (b"REQUEST_URI", uri), (b"HTTP_HOST", b"example.test"), (b"CONTENT_LENGTH", b"")] + list(extra)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


T0 = 1795661488 * 10 ** 9  # 2026-11-26T02:51:28Z


def three_flows(ns=False, off=0):
    """c1 begins first and ends last; c2 and c3 inside it. Exact timings."""
    p = Pcap(ns)
    f1, f2, f3 = Flow(p, 40001), Flow(p, 40002), Flow(p, 40003)
    f1.syn(T0)
    f1.send(T0 + 1_000_000_000 + off, 0, request_bytes(1, std_params(b"/slow?a=1", b"/slow.php")))
    f2.syn(T0 + 1_500_000_000)
    f2.send(T0 + 2_000_000_000, 0, request_bytes(1, std_params(b"/fast", b"/fast.php")))
    f2.send(T0 + 2_250_000_000, 1, response_bytes(1, 404))
    f2.fin(T0 + 2_300_000_000)
    f3.syn(T0 + 3_500_000_000)
    f3.send(T0 + 4_000_000_000, 0, request_bytes(1, std_params(b"/mid", b"/mid.php")))
    f3.send(T0 + 4_500_000_000, 1, response_bytes(1, 500))
    f3.fin(T0 + 4_600_000_000)
    f1.send(T0 + 5_000_000_000 + 3 * off, 1, response_bytes(1, 200))
    f1.fin(T0 + 5_100_000_000 + 3 * off)
    p.pkts.sort(key=lambda x: x[0])
    return p


def jlines(out):
    return [json.loads(l) for l in out.decode("utf-8").splitlines()]


# ---- groups -----------------------------------------------------------------

def group_cli(tmp):
    rc, out, err = run(["--help"])
    check(rc == 0 and b"--fail-on" in out and b"-i IFACE" in out, "--help: rc %d" % rc)
    rc, out, err = run(["--version"])
    check(rc == 0 and out.startswith(b"fcgiscope "), "--version: rc %d %r" % (rc, out))
    for args, want in ((["--format", "xml", "x"], b"--format"), ([], b"no capture file"),
                       (["--fail-on", "bad", "x"], b"--fail-on"), (["--nope"], b"unknown option")):
        rc, out, err = run(args)
        check(rc == 2 and want in err and err.startswith(b"fcgiscope: ") and out == b"",
              "usage error %s: rc %d err %r" % (args, rc, err))
    rc, out, err = run([os.path.join(tmp, "nonexistent.pcap")])
    check(rc == 2 and b"nonexistent.pcap" in err and err.count(b"\n") == 1, "missing file: rc %d %r" % (rc, err))
    txt = os.path.join(tmp, "notes.txt")
    write(txt, b"hello, not a capture\n" * 10)
    rc, out, err = run([txt])
    check(rc == 2 and b"notes.txt" in err and b"not a pcap" in err, "not a capture: rc %d %r" % (rc, err))
    good = os.path.join(tmp, "three.pcap")
    write(good, three_flows().bytes())
    rc, out, err = run(["-o", os.path.join(tmp, "no/such/dir/out.txt"), good])
    check(rc == 2 and b"cannot write" in err, "-o into a missing dir: rc %d %r" % (rc, err))
    # a bad file among several: named on stderr and in the
    # summary, the others analyzed, exit 2 at the end
    missing = os.path.join(tmp, "missing.pcap")
    rc, out, err = run(["-f", "json", good, txt, missing])
    objs = jlines(out) if out else []
    reqs = [o for o in objs if o["type"] == "request"]
    check(rc == 2 and len(reqs) == 3 and objs[-1]["type"] == "summary", "bad files among several: rc %d, %d requests" % (rc, len(reqs)))
    check(b"notes.txt: not a pcap" in err and b"missing.pcap: cannot open" in err, "bad files named on stderr: %r" % err)
    if objs:
        fs = {os.path.basename(f["name"]): f for f in objs[-1]["files"]}
        check(fs.get("notes.txt", {}).get("unreadable") is True and "not a pcap" in (fs["notes.txt"].get("error") or ""),
              "summary: notes.txt unreadable: %s" % fs.get("notes.txt"))
        check(fs.get("three.pcap", {}).get("error", 1) is None and fs["three.pcap"]["requests"] == 3,
              "summary: three.pcap read: %s" % fs.get("three.pcap"))
    rc, out, err = run(["--color", "never", good, txt])
    t = out.decode("utf-8", "replace")
    check(rc == 2 and "unreadable" in t and "notes.txt" in t and "Requests" in t, "text report with a bad file: rc %d" % rc)
    # every file unreadable: one line each, no report
    rc, out, err = run([txt, missing])
    check(rc == 2 and out == b"" and err.count(b"\n") == 2, "no readable file: rc %d %r" % (rc, err))
    # -o writes the file, nothing on stdout
    o = os.path.join(tmp, "out.json")
    rc, out, err = run(["-f", "json", "-o", o, good])
    check(rc == 0 and out == b"" and len(jlines(open(o, "rb").read())) == 4, "-o: rc %d" % rc)

    # --fail-on against the severities actually found
    hostile = os.path.join(tmp, "hostile.pcap")
    write(hostile, hostile_capture().bytes())
    rc, out, err = run(["-f", "json", hostile])
    summ = jlines(out)[-1]
    sev = summ.get("max_severity")
    check(sev in ("warning", "error"), "hostile capture should raise at least a warning, max_severity %r" % sev)
    rank = {"note": 1, "warning": 2, "error": 3, None: 0}
    for level in ("note", "warning", "error", "never"):
        rc, out, err = run(["--fail-on", level, hostile])
        want = 1 if level != "never" and rank[sev] >= rank[level] else 0
        check(rc == want, "--fail-on %s with max severity %s: rc %d, want %d" % (level, sev, rc, want))
        if want:
            check(b"--fail-on" in err, "--fail-on tells why on stderr")
    rc, out, err = run(["--fail-on", "note", good])
    check(rc == 0, "--fail-on note on a clean capture: rc %d, stdout %s" % (rc, out[-400:]))
    # several files: the audit names the file that tripped, with a frame in it
    rc, out, err = run(["-q", "--fail-on", "warning", good, hostile, good])
    lines = [l for l in err.decode().splitlines() if "hostile.pcap: " in l]
    check(rc == 1 and len(lines) == 1 and " (frame " in lines[0] and "three.pcap:" not in err.decode(),
          "--fail-on names the file: rc %d %r" % (rc, err))


def group_order(tmp):
    for ns in (False, True):
        path = os.path.join(tmp, "three-%s.pcap" % ("ns" if ns else "us"))
        p = three_flows(ns=ns, off=123 if ns else 0)
        write(path, p.bytes())
        rc, out, err = run(["-f", "json", path])
        objs = jlines(out)
        reqs = [o for o in objs if o["type"] == "request"]
        check(rc == 0 and len(reqs) == 3, "three flows (%s): rc %d, %d requests" % ("ns" if ns else "us", rc, len(reqs)))
        if len(reqs) != 3:
            continue
        check([r["uri"] for r in reqs] == ["/slow?a=1", "/fast", "/mid"],
              "order of t_begin across flows: %s" % [r["uri"] for r in reqs])
        check([r["status"] for r in reqs] == [200, 404, 500], "statuses %s" % [r["status"] for r in reqs])
        lat_ns = [4_000_000_000 + 2 * p_off for p_off in [123 if ns else 0]] + [250_000_000, 500_000_000]
        check([r["latency_us"] for r in reqs] == [(x + 500) // 1000 for x in lat_ns],
              "latency_us exact: %s want %s" % ([r["latency_us"] for r in reqs], [(x + 500) // 1000 for x in lat_ns]))
        if ns:
            check([r.get("latency_ns") for r in reqs] == lat_ns, "latency_ns exact: %s" % [r.get("latency_ns") for r in reqs])
            check(reqs[0]["start"] == "2026-11-26T02:51:29.000000123Z", "ns start %s" % reqs[0]["start"])
        else:
            check("latency_ns" not in reqs[0], "no latency_ns on a us capture")
            check(reqs[0]["start"] == "2026-11-26T02:51:29.000000Z", "us start %s" % reqs[0]["start"])
        r = reqs[1]
        check(r["client"] == "10.0.0.1:40002" and r["server"] == "10.0.0.2:9000" and r["request_id"] == 1
              and r["role"] == "RESPONDER" and r["method"] == "GET" and r["script"] == "/fast.php"
              and r["host"] == "example.test" and r["complete"] is True and r["frame"] == 8,
              "request fields: %s" % r)
        s = objs[-1]
        check(s["type"] == "summary" and s["requests"] == {"total": 3, "complete": 3, "incomplete": 0}
              and s["statuses"] == {"200": 1, "404": 1, "500": 1} and s["connections"] == 3,
              "summary: %s" % {k: s.get(k) for k in ("requests", "statuses", "connections")})
        check(s["latency_us"]["max"] == (lat_ns[0] + 500) // 1000 and s["latency_us"]["min"] == 250000,
              "summary latency min/max exact: %s" % s["latency_us"])
        # multiple files as one timeline: same result as one file
        a, b = os.path.join(tmp, "part1.pcap"), os.path.join(tmp, "part2.pcap")
        half = len(p.pkts) // 2
        p1, p2 = Pcap(ns), Pcap(ns)
        p1.pkts, p2.pkts = p.pkts[:half], p.pkts[half:]
        write(a, p1.bytes())
        write(b, p2.bytes())
        rc, out2, err = run(["-f", "json", a, b])
        reqs2 = [o for o in jlines(out2) if o["type"] == "request"]
        strip = lambda rs: [{k: v for k, v in x.items()} for x in rs]
        # (file and frame are per file)
        nofile = lambda rs: [{k: v for k, v in x.items() if k not in ("file", "frame")} for x in rs]
        check(rc == 0 and nofile(reqs2) == nofile(reqs), "two files as one timeline differ")
        want = []
        for r in reqs:
            if r["frame"] <= half:
                want.append((a, r["frame"]))
            else:
                want.append((b, r["frame"] - half))
        check([(r["file"], r["frame"]) for r in reqs2] == want and all(r["file"] == path for r in reqs),
              "file and frame within it: %s want %s" % ([(r["file"], r["frame"]) for r in reqs2], want))
        summ = jlines(out2)[-1]
        per = [sum(1 for f, _ in want if f == x) for x in (a, b)]
        check([(f["requests"], f["error"], f["unreadable"]) for f in summ["files"]] == [(per[0], None, False), (per[1], None, False)]
              and summ["files"][0]["first"] < summ["files"][1]["first"] <= summ["files"][1]["last"],
              "summary files[]: %s (want requests %s)" % (summ["files"], per))
        # anomaly groups of several files: first_frames within their file,
        # first_files names it (two crafted captures, each alone as reference)
        cdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "captures", "crafted")
        fa, fb = os.path.join(cdir, "bad_body_length.pcap"), os.path.join(cdir, "bad_version.pcap")
        groups = lambda args: {g["id"]: g for g in jlines(run(["-f", "json"] + args)[1])[-1]["anomaly_groups"]}
        both, alone_a, alone_b = groups([fa, fb]), groups([fa]), groups([fb])
        want_g = {i: (g["first_frames"], [fa] * len(g["first_frames"])) for i, g in alone_a.items()}
        want_g.update({i: (g["first_frames"], [fb] * len(g["first_frames"])) for i, g in alone_b.items()})
        got_g = {i: (g["first_frames"], g["first_files"]) for i, g in both.items()}
        check(got_g == want_g and len(got_g) >= 2, "anomaly groups of two files: %s want %s" % (got_g, want_g))
        rc, txt, _ = run([fa, fb])
        check(any(l.split()[:2] == ["error", "bad_version"] and l.split()[-1] == "2:%d" % alone_b["bad_version"]["first_frames"][0]
                  for l in txt.decode().splitlines() if l.strip()), "text: first frames as FILE:FRAME")
        # stdin
        rc, out3, err = run(["-f", "json", "-"], stdin=p.bytes())
        reqs3 = [o for o in jlines(out3) if o["type"] == "request"]
        check(rc == 0 and [x["uri"] for x in reqs3] == [x["uri"] for x in reqs], "stdin input: rc %d" % rc)
    # a request that never ends: in start order it comes first; with a queue
    # cap it cannot hold the others back (they are written, the late one counted)
    p = Pcap()
    stuck = Flow(p, 42000)
    stuck.syn(T0)
    stuck.send(T0 + 10_000_000, 0, request_bytes(1, std_params(b"/stuck", b"/stuck.php")))
    for i in range(20):
        f = Flow(p, 42001 + i)
        t = T0 + 100_000_000 * (i + 1)
        f.syn(t)
        f.send(t + 5_000_000, 0, request_bytes(1, std_params(b"/q%d" % i, b"/q.php")))
        f.send(t + 6_000_000, 1, response_bytes(1, 200))
        f.fin(t + 7_000_000)
    p.pkts.sort(key=lambda x: x[0])
    path = os.path.join(tmp, "stuck.pcap")
    write(path, p.bytes())
    rc, out, err = run(["-f", "json", path])
    objs = jlines(out)
    uris = [o["uri"] for o in objs if o["type"] == "request"]
    check(rc == 0 and len(uris) == 21 and uris[0] == "/stuck" and objs[-1]["out_of_order_emitted"] == 0,
          "unbounded wait: the stuck request first: %s %s" % (uris[:3], objs[-1].get("out_of_order_emitted")))
    rc, out, err = run(["-f", "json", "--max-pending", "5", path])
    objs = jlines(out)
    uris = [o["uri"] for o in objs if o["type"] == "request"]
    check(rc == 0 and len(uris) == 21 and "/stuck" in uris and uris.index("/stuck") >= 10
          and uris[:3] == ["/q0", "/q1", "/q2"]
          and objs[-1]["out_of_order_emitted"] > 0,
          "--max-pending 5: %s ... %s, late %s" % (uris[:3], uris[-1:], objs[-1].get("out_of_order_emitted")))

    # CSV has the same rows
    rc, out, err = run(["-f", "csv", os.path.join(tmp, "three-us.pcap")])
    rows = list(csv.reader(io.StringIO(out.decode("utf-8"), newline="")))
    check(rc == 0 and len(rows) == 4 and all(len(r) == len(rows[0]) for r in rows), "csv rows %d" % len(rows))
    if rows:
        hdr = rows[0]
        for k in ("client", "server", "request_id", "role", "keep_conn", "method", "uri", "script", "host",
                  "status", "app_status", "protocol_status", "start", "latency_us", "ttfb_us", "server_us",
                  "stdin_bytes", "stdout_bytes", "stderr_bytes", "content_length", "complete", "frame"):
            check(k in hdr, "csv column %s" % k)
        if len(rows) == 4:
            check([r[hdr.index("uri")] for r in rows[1:]] == ["/slow?a=1", "/fast", "/mid"], "csv order")
    # text: the report names the slow request and its statuses
    rc, out, err = run(["--color", "never", os.path.join(tmp, "three-us.pcap")])
    t = out.decode("utf-8", "replace")
    check(rc == 0 and "/slow?a=1" in t and "404" in t and "Slowest" in t and "Latency" in t, "text report")


SCRIPT = b"@e\xc2\x9bv\xe2\x80\xaeil\x1b[1m.php"


def hostile_capture():
    p = Pcap()
    f = Flow(p, 41000)
    f.syn(T0)
    uri = b"/x?\x1b]0;pwned\x07\x1b[2J\xff\xfe\xc2\x9b31m\xe2\x80\xaeabc"
    extra = [(b"HTTP_X_TAG", b"a,b\"c\r\nd"), (b"HTTP_X_FORMULA", b"=HYPERLINK(\"http://e\")"),
             (b"PHP_VALUE", b"auto_prepend_file=/etc/passwd"), (b"HTTP_X_MINUS", b"-2+3"),
             (b"HTTP_X_UTF8", "caf\u00e9 \u2603".encode())]
    f.send(T0 + 1_000_000, 0, request_bytes(1, std_params(uri, SCRIPT, extra)))
    f.send(T0 + 2_000_000, 1, response_bytes(1, 200))
    f.fin(T0 + 3_000_000)
    return p


def latin1_fallback(b):
    """What fcgiscope's JSON makes of bytes: UTF-8 where valid, else U+00XX per byte."""
    out, i = [], 0
    while i < len(b):
        for n in (1, 2, 3, 4):
            try:
                ch = b[i:i + n].decode("utf-8")
                out.append(ch)
                i += n
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(chr(b[i]))
            i += 1
    return "".join(out)


def group_safety(tmp):
    path = os.path.join(tmp, "hostile.pcap")
    write(path, hostile_capture().bytes())
    uri = b"/x?\x1b]0;pwned\x07\x1b[2J\xff\xfe\xc2\x9b31m\xe2\x80\xaeabc"
    params = ["HTTP_X_TAG", "HTTP_X_FORMULA", "HTTP_X_MINUS", "HTTP_X_UTF8", "HTTP_X_ABSENT"]
    pargs = sum((["--param", n] for n in params), [])
    # text, as on a terminal with colours: SGR codes of our own only
    for color in ("never", "always"):
        rc, out, err = run(["--color", color, "--slowest", "5"] + pargs + [path])
        check(rc == 0, "text rc %d" % rc)
        for bad in (b"\x1b]", b"\x1b[2J", b"\x07", b"\xff", b"\xc2\x9b", b"\xe2\x80\xae", b"\r"):
            check(bad not in out, "text (%s colour) contains raw %r" % (color, bad))
        if color == "never":
            check(not any(c < 0x20 and c != 0x0a for c in out), "control bytes in text without colour")
            check(b"/x?\\x1b]0;pwned\\x07\\x1b[2J\\xff\\xfe" in out,
                  "the escaped uri is shown: %r" % out[out.find(b"/x?"):out.find(b"/x?") + 80])
            check(b"@e\\u{009b}v\\u{202e}il\\x1b[1m.php" in out, "the escaped script is shown")
        else:
            check(b"\x1b[" in out, "--color always colours")
    # JSON: valid, nothing dropped
    rc, out, err = run(["-f", "json"] + pargs + [path])
    check(rc == 0, "json rc %d" % rc)
    check(all(0x20 <= c < 0x7f or c >= 0x80 or c == 0x0a for c in out), "raw control bytes in JSON")
    objs = jlines(out)
    reqs = [o for o in objs if o["type"] == "request"]
    check(len(reqs) == 1, "hostile: %d requests" % len(reqs))
    if reqs:
        r = reqs[0]
        check(r["uri"] == latin1_fallback(uri), "json uri %r want %r" % (r["uri"], latin1_fallback(uri)))
        check(r["params"]["HTTP_X_TAG"] == "a,b\"c\r\nd", "json param with quotes/CRLF %r" % r["params"]["HTTP_X_TAG"])
        check(r["params"]["HTTP_X_UTF8"] == "caf\u00e9 \u2603", "json UTF-8 passes")
        check(r["params"]["HTTP_X_ABSENT"] is None, "absent param is null")
        check(r["script"] == latin1_fallback(SCRIPT), "script %r" % r["script"])
        check("php_ini_override" in r["anomalies"], "php_ini_override attached: %s" % r["anomalies"])
    # CSV: RFC 4180 quoting, formulas neutralised, bytes kept
    rc, out, err = run(["-f", "csv"] + pargs + [path])
    rows = list(csv.reader(io.StringIO(out.decode("latin-1"), newline="")))
    check(rc == 0 and len(rows) == 2 and len(rows[1]) == len(rows[0]), "csv shape %s" % [len(r) for r in rows])
    if len(rows) == 2:
        h, row = rows[0], rows[1]
        cellv = lambda name: row[h.index(name)]
        check(cellv("uri") == uri.decode("latin-1"), "csv uri bytes kept: %r" % cellv("uri"))
        check(cellv("script") == "'" + SCRIPT.decode("latin-1"), "csv @ neutralised: %r" % cellv("script"))
        check(cellv("param:HTTP_X_FORMULA") == "'=HYPERLINK(\"http://e\")", "csv = neutralised: %r" % cellv("param:HTTP_X_FORMULA"))
        check(cellv("param:HTTP_X_MINUS") == "'-2+3", "csv - neutralised: %r" % cellv("param:HTTP_X_MINUS"))
        check(cellv("param:HTTP_X_TAG") == "a,b\"c\r\nd", "csv quoting: %r" % cellv("param:HTTP_X_TAG"))
        check(cellv("param:HTTP_X_ABSENT") == "", "csv absent param empty")
    check(out.endswith(b"\r\n"), "csv rows end with CRLF")


def group_input(tmp):
    p = three_flows()
    data = p.bytes()
    # cut inside the last-but-two packet: what came before is reported, the damage named
    cut = os.path.join(tmp, "cut.pcap")
    # find the offset of the start of the 3rd-last packet record, cut 10 bytes into it
    off = 24
    offsets = []
    for ts, fr in p.pkts:
        offsets.append(off)
        off += 16 + len(fr)
    k = [i for i, (ts, fr) in enumerate(p.pkts) if ts == T0 + 5_000_000_000][0]  # c1's response
    write(cut, data[:offsets[k] + 16 + 10])
    rc, out, err = run(["-f", "json", cut])
    objs = jlines(out)
    reqs = [o for o in objs if o["type"] == "request"]
    an = [o for o in objs if o["type"] == "anomaly" and o["id"] == "capture_truncated"]
    check(rc == 0, "truncated capture: exit %d (not fatal)" % rc)
    check(b"cut.pcap" in err and (b"truncat" in err or b"corrupt" in err), "truncation named on stderr: %r" % err)
    check(len(an) == 1 and an[0]["frame"] == k + 1, "capture_truncated at frame %d: %s" % (k + 1, an))
    check([r["uri"] for r in reqs] == ["/slow?a=1", "/fast", "/mid"],
          "requests before the damage reported (the cut one incomplete): %s" % [(r["uri"], r["complete"]) for r in reqs])
    check(objs[-1]["type"] == "summary" and objs[-1]["files"][0]["damaged"] is True, "summary marks the damage")
    # the request whose END_REQUEST was cut is incomplete and says so
    if reqs:
        check(reqs[0]["complete"] is False and reqs[0]["latency_us"] is None and reqs[0]["end"] == "capture_end",
              "cut request incomplete: %s" % reqs[0])
        check(reqs[1]["complete"] is True and reqs[2]["complete"] is True, "the others complete")


USER_KEYS = ("severity", "status_source", "user_status", "user_outcome", "elapsed_us", "closed_by", "close",
             "abandoned_after_us", "gap")


def killed_capture():
    """/done answered; /killed: the server resets 1.5 s after BEGIN (a killed
    worker); /hang: no answer when the capture ends 2.25 s after its BEGIN;
    /notes: php-fpm style (END_REQUEST before the empty STDOUT: a note)."""
    p = Pcap()
    a, b, c, d = Flow(p, 43001), Flow(p, 43002), Flow(p, 43003), Flow(p, 43004)
    a.syn(T0)
    a.send(T0 + 10_000_000, 0, request_bytes(1, std_params(b"/done", b"/done.php", [(b"HTTP_X_TAG", b"t-done")])))
    a.send(T0 + 30_000_000, 1, response_bytes(1, 200))
    a.fin(T0 + 40_000_000)
    b.syn(T0 + 100_000_000)
    b.send(T0 + 200_000_000, 0, request_bytes(1, std_params(b"/killed", b"/killed.php", [(b"HTTP_X_TAG", b"t-killed")])))
    p.add(T0 + 1_700_000_000, b._frame(1, 0x14, b""))  # RST|ACK from the server
    c.syn(T0 + 250_000_000)
    c.send(T0 + 300_000_000, 0, request_bytes(1, std_params(b"/hang", b"/hang.php", [(b"HTTP_X_TAG", b"t-hang")])))
    d.syn(T0 + 400_000_000)
    d.send(T0 + 500_000_000, 0, request_bytes(1, std_params(b"/notes", b"/notes.php")))
    hdr = b"Content-Type: text/plain\r\n\r\nok"
    d.send(T0 + 510_000_000, 1, rec(6, 1, hdr) + rec(3, 1, struct.pack("!IB3x", 0, 0)))
    d.fin(T0 + 520_000_000)
    p.pkts.sort(key=lambda x: x[0])
    p.add(T0 + 2_550_000_000, a._frame(0, 0x10, b""))  # the capture's last packet (a stray ACK)
    return p


def group_user(tmp):
    """What the user got (user_status, user_outcome, elapsed, closed_by, abandoned;
    analyzer/README.md "Output formats" and "Attempts"), on generated captures."""
    path = os.path.join(tmp, "killed.pcap")
    write(path, killed_capture().bytes())
    rc, out, err = run(["-f", "json", "--param", "HTTP_X_TAG", path])
    objs = jlines(out)
    reqs = {o["uri"]: o for o in objs if o["type"] == "request"}
    check(rc == 0 and sorted(reqs) == ["/done", "/hang", "/killed", "/notes"], "killed capture: %s" % sorted(reqs))
    for r in reqs.values():
        missing = [k for k in USER_KEYS if k not in r]
        check(not missing, "%s lacks %s" % (r["uri"], missing))
    if len(reqs) != 4 or any(k not in r for r in reqs.values() for k in USER_KEYS):
        return
    done, killed, hang, notes = reqs["/done"], reqs["/killed"], reqs["/hang"], reqs["/notes"]
    check(done["complete"] and done["elapsed_us"] == done["latency_us"] == 20000,
          "complete: elapsed_us == latency_us: %s %s" % (done["elapsed_us"], done["latency_us"]))
    check(done["user_status"] == 200 and done["user_outcome"] == "as_answered" and done["severity"] is None
          and done["gap"] is False and done["closed_by"] is None and done["abandoned_after_us"] is None,
          "a clean request: %s" % {k: done[k] for k in USER_KEYS})
    check(killed["complete"] is False and killed["end"] == "reset" and killed["latency_us"] is None
          and killed["elapsed_us"] == 1_500_000,
          "killed: end reset, elapsed to the RST: %s" % {k: killed[k] for k in ("end", "elapsed_us", "latency_us")})
    check(killed["closed_by"] in (None, "server") and killed["close"] in (None, "rst")
          and (killed["closed_by"] is None) == (killed["close"] is None),
          "killed: closed by the server with a RST (or not known yet): %s %s" % (killed["closed_by"], killed["close"]))
    # the placeholder decoder cannot tell (null); once it derives it: 502 (backend failed)
    check(killed["severity"] in ("warning", "note") and killed["user_status"] in (None, 502)
          and killed["user_outcome"] in ("unknown", "backend_failed"),
          "killed: severity %s, user_status %s, %s" % (killed["severity"], killed["user_status"], killed["user_outcome"]))
    check(hang["complete"] is False and hang["end"] == "capture_end" and hang["elapsed_us"] == 2_250_000,
          "capture end: elapsed to the capture's last packet: %s %s" % (hang["end"], hang["elapsed_us"]))
    check(notes["severity"] == "note" and notes["anomalies"] == ["end_without_stdout_eos"] and notes["complete"],
          "php-fpm habits: severity note: %s %s" % (notes["severity"], notes["anomalies"]))
    s = objs[-1]
    check(s.get("user_statuses", {}).get("200") == 2 and sum(s["user_statuses"].values()) == 4
          and sum(s.get("user_outcomes", {}).values()) == 4 and s["user_outcomes"]["as_answered"] == 2,
          "summary user_statuses/user_outcomes: %s %s" % (s.get("user_statuses"), s.get("user_outcomes")))

    # CSV: the same fields, after anomalies, before the params
    rc, out, err = run(["-f", "csv", "--param", "HTTP_X_TAG", path])
    rows = list(csv.reader(io.StringIO(out.decode("utf-8"), newline="")))
    hdr = rows[0] if rows else []
    if "anomalies" in hdr:
        i = hdr.index("anomalies")
        tail = [h for h in hdr[i + 1:] if not h.startswith("param:")]
        check([h for h in tail if h in USER_KEYS] == list(USER_KEYS),
              "CSV columns after anomalies: %s" % tail)
        check(hdr[-1] == "param:HTTP_X_TAG", "params last: %s" % hdr[-1])
        byuri = {r[hdr.index("uri")]: r for r in rows[1:]}
        check(byuri.get("/killed", [""] * len(hdr))[hdr.index("elapsed_us")] == "1500000"
              and byuri.get("/done", [""] * len(hdr))[hdr.index("user_status")] == "200"
              and byuri.get("/done", [""] * len(hdr))[hdr.index("closed_by")] == "",
              "CSV values")
    else:
        check(False, "CSV header: %s" % hdr)

    # text: the slowest counts the incomplete ones (marked); incomplete table
    # with elapsed, in start order; --param values; notes only with -v
    rc, out, err = run(["--color", "never", "--param", "HTTP_X_TAG", path])
    t = out.decode("utf-8")
    sl = t[t.find("Slowest"):t.find("Incomplete requests")]
    inc = t[t.find("Incomplete requests"):t.find("Anomalies")]
    check("\u22652.25s" in sl and "incomplete: capture end" in sl and sl.find("/hang") < sl.find("/killed") < sl.find("/done"),
          "slowest takes incomplete requests, marked: %r" % sl)
    check("HTTP_X_TAG=t-hang" in sl and "HTTP_X_TAG=t-done" in sl, "--param values in the slowest table")
    check("elapsed" in inc and "1.50s" in inc and "2.25s" in inc and inc.find("/killed") < inc.find("/hang"),
          "incomplete table: elapsed, start order: %r" % inc)
    check("end_without_stdout_eos]" not in sl, "notes not tagged without -v")
    rc, out, err = run(["--color", "never", "-v", path])
    check("[note: end_without_stdout_eos" in out.decode("utf-8"), "notes tagged with -v")
    check("slowest \u22652.25s incomplete (/hang, frame 16)" in " ".join(t.split()), "Findings: the slowest is incomplete")

    # --max-header / --upstream-timeout are accepted and change nothing on healthy traffic
    rc2, out2, err2 = run(["-f", "json", "--max-header", "8192", "--upstream-timeout", "1.5", path])
    check(rc2 == 0 and len(jlines(out2)) == len(objs), "--max-header/--upstream-timeout: rc %d %r" % (rc2, err2))
    for args, want in ((["--max-header", "0", path], b"--max-header"), (["--max-header", "2M", path], b"--max-header"),
                       (["--upstream-timeout", "0", path], b"--upstream-timeout"),
                       (["--upstream-timeout", "soon", path], b"--upstream-timeout"),
                       (["--upstream-timeout"], b"needs a value")):
        rc, out, err = run(args)
        check(rc == 2 and want in err and out == b"", "usage error %s: rc %d %r" % (args, rc, err))
    # --metrics, --metrics-scripts, --host-name: where they do not apply, usage errors
    for args, want in ((["--metrics", "9464", path], b"--metrics is for live capture"),
                       (["-i", "lo", "--metrics", "70000"], b"1..65535"),
                       (["-i", "lo", "--metrics", "example.com:9464"], b"numeric"),
                       (["--metrics-scripts", "3", path], b"--metrics-scripts is for --metrics"),
                       (["-i", "lo", "--metrics", "9464", "--metrics-scripts", "x"], b"--metrics-scripts"),
                       (["--host-name", "web1", path], b"--host-name is for -f json and -f csv"),
                       (["-f", "json", "--host-name", "", path], b"--host-name")):
        rc, out, err = run(args)
        check(rc == 2 and want in err and out == b"", "usage error %s: rc %d %r" % (args, rc, err))
    # --host-name: second on every JSON line, the last CSV column
    rc, out, err = run(["-f", "json", "--host-name", 'web"7', path])
    lines = out.decode("utf-8").splitlines()
    check(rc == 0 and lines and all(l.startswith('{"type":"%s","hostname":"web\\"7",' % json.loads(l)["type"])
                                    for l in lines), "--host-name in JSON: %r" % lines[:1])
    rc, out, err = run(["-f", "csv", "--host-name", "web7", path])
    rows = out.decode("utf-8").split("\r\n")
    check(rc == 0 and rows[0].endswith(",hostname") and all(r.endswith(",web7") for r in rows[1:] if r),
          "--host-name in CSV: %r" % rows[:2])
    # one hint per usage error
    for args in (["--nope"], ["-Z"], [], ["--max-header", "x", path]):
        rc, out, err = run(args)
        check(rc == 2 and err.count(b"help") == 1 and err.count(b"\n") == 2,
              "one hint: %s -> %r" % (args, err))

    # no FastCGI: said so, with -p; a php-fpm socket on this host named, no --unix promised
    http = os.path.join(tmp, "http.pcap")
    p = Pcap()
    f = Flow(p, 44000, 80)
    f.syn(T0)
    f.send(T0 + 1_000_000, 0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    f.send(T0 + 2_000_000, 1, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    f.fin(T0 + 3_000_000)
    write(http, p.bytes())
    sock = os.path.join(tmp, "php8.2-fpm.sock")
    write(sock, b"")
    env = dict(os.environ, FCGISCOPE_PHP_SOCKETS=os.path.join(tmp, "*.sock"))
    q = subprocess.run([BIN, "--color", "never", http], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
    t = q.stdout.decode("utf-8")
    check(q.returncode == 0 and "no FastCGI traffic found" in t and "framing was sound" not in t and "-p PORT" in t,
          "no FastCGI: %r" % t)
    flat = " ".join(t.split())  # the report wraps at 80 columns
    check("php8.2-fpm.sock" in flat and "libpcap cannot see Unix sockets" in flat, "the socket is named: %r" % t)
    helptext = run(["--help"])[1]
    check(b"--unix" in helptext or "--unix" not in t, "no --unix promised while it does not exist")
    env["FCGISCOPE_PHP_SOCKETS"] = os.path.join(tmp, "none-*.sock")
    q = subprocess.run([BIN, "--color", "never", http], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
    t = q.stdout.decode("utf-8")
    check("no FastCGI traffic found" in t and "Unix socket" not in t, "no socket, no socket hint: %r" % t)
    rc, out, err = run(["--color", "never", path])
    check("no FastCGI traffic found" not in out.decode("utf-8"), "FastCGI found: no such line")


def stream_capture():
    """For the pipe test: /first ends before /long begins; /long begins next
    and ends only after the pause; /s0../s4 begin after /long and end before
    the pause (/s4 with a 500 that a retry could follow); /late0../late2 come
    after it."""
    p = Pcap()
    f = Flow(p, 43000)
    f.syn(T0)
    f.send(T0 + 100_000_000, 0, request_bytes(1, std_params(b"/first", b"/first.php")))
    f.send(T0 + 200_000_000, 1, response_bytes(1, 200))
    f.fin(T0 + 300_000_000)
    lg = Flow(p, 43001)
    lg.syn(T0 + 900_000_000)
    lg.send(T0 + 1_000_000_000, 0, request_bytes(1, std_params(b"/long", b"/long.php")))
    for i in range(5):
        g = Flow(p, 43010 + i)
        t = T0 + 2_000_000_000 + i * 500_000_000
        g.syn(t)
        g.send(t + 10_000_000, 0, request_bytes(1, std_params(b"/s%d" % i, b"/s.php")))
        # /s4 fails (500): the attempts stage holds it for a retry
        g.send(t + 20_000_000, 1, response_bytes(1, 500 if i == 4 else 200))
        g.fin(t + 30_000_000)
    cut = len(p.pkts)
    for i in range(3):
        g = Flow(p, 43020 + i)
        t = T0 + 10_000_000_000 + i * 500_000_000
        g.syn(t)
        g.send(t + 10_000_000, 0, request_bytes(1, std_params(b"/late%d" % i, b"/s.php")))
        g.send(t + 20_000_000, 1, response_bytes(1, 200))
        g.fin(t + 30_000_000)
    lg.send(T0 + 12_000_000_000, 1, response_bytes(1, 200))
    lg.fin(T0 + 12_100_000_000)
    return p, cut


def piped(args, first, rest, pause, env=None):
    """fcgiscope ARGS - reading a pipe: write FIRST, wait PAUSE seconds while
    reading its output, then write REST. Returns (lines read during the
    pause with their arrival times after the write, all output, rc)."""
    import select
    import time
    p = subprocess.Popen([BIN] + args + ["-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    p.stdin.write(first)
    p.stdin.flush()
    t0 = time.monotonic()
    buf, early = b"", []
    while time.monotonic() - t0 < pause:
        r, _, _ = select.select([p.stdout], [], [], 0.05)
        if r:
            b = os.read(p.stdout.fileno(), 65536)
            if not b:
                break
            buf += b
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                early.append((time.monotonic() - t0, line))
    p.stdin.write(rest)
    p.stdin.close()
    out = p.stdout.read()
    p.stderr.read()
    p.wait(timeout=60)
    return early, b"".join(l + b"\n" for _, l in early) + buf + out, p.returncode


def group_stream(tmp):
    """A pipe streams (analyzer/README.md "Ordering and memory"). Each completed request's line is out
    while the writer pauses: the one in start order at once, those that
    wait for a request still in flight within about a second (wall clock)."""
    p, cut = stream_capture()
    data = p.bytes()
    off = 24 + sum(16 + len(fr) for _, fr in p.pkts[:cut])
    env_thread = dict(os.environ, FCGISCOPE_READ_THREAD="1")
    # cut at a packet boundary, and 30 bytes into the next packet (the reader
    # then waits inside a record); without and with the read-ahead thread
    for name, split, env in (("boundary", off, None), ("mid-record", off + 30, None),
                             ("read-ahead thread", off, env_thread)):
        early, out, rc = piped(["-f", "json"], data[:split], data[split:], 3.0, env)
        got = {}
        for t, line in early:
            o = json.loads(line)
            if o.get("type") == "request":
                got[o["uri"]] = t
        want = ["/first"] + ["/s%d" % i for i in range(5)]
        check(sorted(got) == sorted(want), "%s: requests out during the pause: %s, want %s" % (name, sorted(got), want))
        if "/first" in got:
            check(got["/first"] < 0.5, "%s: /first (in start order) after %.2f s, want < 0.5" % (name, got["/first"]))
        late = [got[u] for u in want[1:] if u in got]
        if late:
            check(max(late) < 1.5, "%s: the requests behind /long after %.2f s, want ~1 (< 1.5)" % (name, max(late)))
        print("%s: in the pause: %s" % (name, ", ".join("%s %.2fs" % (u, got[u]) for u in want if u in got)))
        objs = jlines(out)
        reqs = [o for o in objs if o["type"] == "request"]
        check(rc == 0 and len(reqs) == 10 and objs[-1]["type"] == "summary",
              "%s: rc %d, %d requests in all" % (name, rc, len(reqs)))
        check(objs[-1].get("out_of_order_emitted", 0) >= 1, "%s: /long written late is counted" % name)
        lg = [r for r in reqs if r["uri"] == "/long"]
        check(len(lg) == 1 and lg[0]["complete"] is True, "%s: /long complete: %s" % (name, lg))
    # CSV streams too (header, then rows)
    early, out, rc = piped(["-f", "csv"], data[:off], data[off:], 2.0)
    check(len(early) == 7 and early[0][1].startswith(b"client,"), "csv: %d lines in the pause" % len(early))
    # a file keeps start order: /long before /s0
    path = os.path.join(tmp, "stream.pcap")
    write(path, data)
    rc, out, err = run(["-f", "json", path])
    uris = [o["uri"] for o in jlines(out) if o["type"] == "request"]
    check(uris[:3] == ["/first", "/long", "/s0"] and jlines(out)[-1]["out_of_order_emitted"] == 0,
          "file: start order %s" % uris[:3])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (("cli", group_cli), ("order", group_order), ("safety", group_safety), ("input", group_input),
                         ("user", group_user), ("stream", group_stream)):
            if GROUP in ("all", name):
                try:
                    fn(tmp)
                except Exception as ex:  # a crash of the test is a failure, not a pass
                    check(False, "%s: %s: %s" % (name, type(ex).__name__, ex))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
