#!/usr/bin/env python3
"""net_test.py — fcgiscope's TCP-level evidence on captures generated here and on cut copies of captures/real.

What is checked (analyzer/README.md "Recognising FastCGI on other ports",
"Backend failures", docs/ANOMALIES.md): connections open before the capture
are recognised without -p, by the decoder's resync rule; connection_refused,
closed_before_request, connect_retried; connect_us, syn_retransmits and
--latency from-syn; the connection counts in the text report. Standard library only; captures are written from scratch
(Ethernet/IPv4/TCP carrying FastCGI records, as cli_test.py does); cut copies
of captures/real are made with editcap.

  net_test.py FCGISCOPE CAPTURES_DIR [GROUP]
  GROUP: midstream, falsepos, backend, latency, counts, real (default: all),
         plugin (only when named: NET_TEST_PLUGIN=fastcgi.so NET_TEST_ABI=4.0;
         the Wireshark plugin's heuristic against fcgiscope without -p)
"""
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

BIN = sys.argv[1]
CAPS = sys.argv[2]
GROUP = sys.argv[3] if len(sys.argv) > 3 else "all"
passed = failed = 0


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + msg)


def run(args):
    p = subprocess.run([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def jrun(args):
    rc, out, err = run(["-f", "json"] + args)
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    reqs = [l for l in lines if l.get("type") == "request"]
    anoms = [l for l in lines if l.get("type") == "anomaly"]
    summ = [l for l in lines if l.get("type") == "summary"]
    return rc, reqs, anoms, (summ[-1] if summ else {}), err


# ---- capture writer ---------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Pcap:
    def __init__(self):
        self.pkts = []

    def add(self, ts_ns, frame):
        self.pkts.append((ts_ns, frame))

    def write(self, path):
        self.pkts.sort(key=lambda x: x[0])
        out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
        for ts, fr in self.pkts:
            sec, sub = divmod(ts, 10 ** 9)
            out.append(struct.pack("<IIII", sec, sub // 1000, len(fr), len(fr)) + fr)
        with open(path, "wb") as f:
            f.write(b"".join(out))


class Flow:
    """One TCP connection 10.0.0.1:cport -> 10.0.0.S:sport; d 0 = client to server."""

    def __init__(self, pcap, cport, sport=9000, server=2, skip=0):
        self.p = self
        self.pcap = pcap
        self.skip = skip  # the first `skip` packets are not captured
        self.n = 0
        self.cport, self.sport = cport, sport
        self.srv = bytes([10, 0, 0, server])
        self.seq = {0: 1000, 1: 5000}

    def add(self, t, frame):
        self.n += 1
        if self.n > self.skip:
            self.pcap.add(t, frame)

    def frame(self, d, flags, payload=b"", seq=None):
        cli = b"\x0a\x00\x00\x01"
        src, dst = (cli, self.srv) if d == 0 else (self.srv, cli)
        sp, dp = (self.cport, self.sport) if d == 0 else (self.sport, self.cport)
        s = self.seq[d] if seq is None else seq
        tcp = struct.pack("!HHIIBBHHH", sp, dp, s, self.seq[1 - d], 5 << 4, flags, 65535, 0, 0) + payload
        ph = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp

    def syn(self, t, retrans_after=()):
        """SYN (retransmitted after each delay in retrans_after), SYN-ACK, ACK."""
        self.p.add(t, self.frame(0, 0x02))
        for dt in retrans_after:
            t += dt
            self.p.add(t, self.frame(0, 0x02))
        self.seq[0] += 1
        self.p.add(t + 100_000, self.frame(1, 0x12))
        self.seq[1] += 1
        self.p.add(t + 200_000, self.frame(0, 0x10))
        return t + 200_000

    def send(self, t, d, payload, mss=1448, emit=True):
        for i in range(0, len(payload), mss):
            if emit:
                self.p.add(t + i, self.frame(d, 0x18, payload[i:i + mss]))
            self.seq[d] += len(payload[i:i + mss])

    def fin(self, t):
        self.p.add(t, self.frame(0, 0x11))
        self.seq[0] += 1
        self.p.add(t + 1000, self.frame(1, 0x11))
        self.seq[1] += 1
        self.p.add(t + 2000, self.frame(0, 0x10))


def rec(rtype, rid, content=b""):
    pad = (8 - len(content) % 8) % 8
    return struct.pack("!BBHHBB", 1, rtype, rid, len(content), pad, 0) + content + b"\0" * pad


def nv(name, value):
    def ln(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)
    return ln(len(name)) + ln(len(value)) + name + value


def request_bytes(rid, uri, keep=True):
    params = [(b"REQUEST_METHOD", b"GET"), (b"SCRIPT_FILENAME", b"/srv/index.php"),
              (b"SCRIPT_NAME", b"/index.php"), (b"REQUEST_URI", uri), (b"CONTENT_LENGTH", b"")]
    body = b"".join(nv(k, v) for k, v in params)
    return (rec(1, rid, struct.pack("!HB5x", 1, 1 if keep else 0)) + rec(4, rid, body) + rec(4, rid)
            + rec(5, rid))


def response_bytes(rid, body):
    out = b""
    data = b"Status: 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
    for i in range(0, len(data), 8000):  # php-fpm-like 8 KB STDOUT records
        out += rec(6, rid, data[i:i + 8000])
    return out + rec(6, rid) + rec(3, rid, struct.pack("!IB3x", 0, 0))


T0 = 1795661488 * 10 ** 9  # 2026-11-26T02:51:28Z
MS = 1_000_000


def keepalive(p, port, cport, t, n, body_len, skip=0):
    """n requests on one kept-alive connection whose first `skip` packets
    were not captured (the capture started inside it: inside a record)."""
    f = Flow(p, cport, port, skip=skip)
    f.syn(t)
    for i in range(n):
        t += 10 * MS
        f.send(t, 0, request_bytes(1, b"/page?%d" % i))
        body = bytes((i * 7 + k) % 251 + 1 for k in range(body_len))
        t += 5 * MS
        f.send(t + i * 1000, 1, response_bytes(1, body))
    return f, t


# ---- groups -------------------------------------------------------------------

def group_midstream(tmp):
    """Connections open before the capture, on an unlisted port: the same
    requests without -p as with it."""
    # (body, packets not captured): the capture starts inside a response
    # (inside an 8 KB STDOUT record, or right after its header), or between
    # a request and its response
    for body_len, skip in ((300, 4), (20000, 6), (20000, 8), (70000, 25)):
        p = Pcap()
        keepalive(p, 19000, 41000, T0, 6, body_len, skip)
        keepalive(p, 19001, 41001, T0 + 1 * MS, 4, body_len, skip + 1)
        path = os.path.join(tmp, "mid-%d-%d.pcap" % (body_len, skip))
        p.write(path)
        _, ra, aa, sa, _ = jrun([path])             # default -p 9000: 19000/19001 unlisted
        _, rb, ab, sb, _ = jrun(["-p", "19000,19001", path])
        key = lambda r: (r["frame"], r["request_id"], r["uri"], r["status"], r["complete"], r["latency_us"])
        check(len(rb) > 0, "midstream %d: -p finds requests" % body_len)
        check([key(r) for r in ra] == [key(r) for r in rb],
              "midstream %d: without -p %d requests, with -p %d" % (body_len, len(ra), len(rb)))
        check(sa.get("connections") == 2 and sb.get("connections") == 2,
              "midstream %d: 2 connections both ways (%s, %s)" % (body_len, sa.get("connections"),
                                                                  sb.get("connections")))
        ids_a = sorted(a["id"] for a in aa)
        check("midstream_start" in ids_a, "midstream %d: midstream_start note (%s)" % (body_len, ids_a))
        check(ids_a == sorted(a["id"] for a in ab), "midstream %d: same anomalies" % body_len)
        check(all(r["status"] == 200 for r in ra if r["complete"]), "midstream %d: statuses" % body_len)
    # --no-detect: unlisted ports are not looked at
    _, rn, _, sn, _ = jrun(["--no-detect", path])
    check(len(rn) == 0 and sn.get("connections") == 0, "--no-detect: nothing on unlisted ports")


def group_falsepos(tmp):
    """HTTP and TLS on other ports, with and without their SYN, are not
    FastCGI (the midstream rule on 128 KiB of each direction)."""
    rnd = random.Random(12)
    p = Pcap()
    t = T0
    for i in range(40):
        # TLS-like: records 0x17 0x03 0x03 len + random bytes, 150 KB per direction
        f = Flow(p, 43000 + i, 443 if i % 2 else 8443, server=3)
        if i % 4 == 0:
            f.syn(t)
        for k in range(10):
            rec_c = bytes(rnd.getrandbits(8) for _ in range(15000))
            f.send(t + k * MS, 1, b"\x17\x03\x03" + struct.pack("!H", len(rec_c)) + rec_c)
            f.send(t + k * MS + 500_000, 0, b"\x17\x03\x03\x00\x40" + bytes(rnd.getrandbits(8) for _ in range(64)))
        t += 20 * MS
    for i in range(20):
        f = Flow(p, 44000 + i, 8080, server=4)
        if i % 2 == 0:
            f.syn(t)
        f.send(t, 0, b"GET /x%d HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n" % i)
        f.send(t + MS, 1, b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"<p>hello</p>\n" * 385)
        t += 5 * MS
    path = os.path.join(tmp, "notfcgi.pcap")
    p.write(path)
    rc, reqs, anoms, s, _ = jrun([path])
    check(rc == 0 and not reqs and s.get("connections") == 0,
          "TLS/HTTP: no FastCGI (rc %d, %d requests, %s connections)" % (rc, len(reqs), s.get("connections")))
    check(s.get("tcp_flows") == 60, "TLS/HTTP: 60 TCP flows (%s)" % s.get("tcp_flows"))
    rc, out, _ = run([path])
    check("(+60 other TCP flows)" in out, "text: 60 other TCP flows: %s" %
          [l for l in out.splitlines() if l.startswith("Traffic")])


def handshakes(p, port, t):
    """Backend failures on one server port; returns (t, expected counts)."""
    # refused: SYN answered by RST
    f = Flow(p, 45001, port)
    p.add(t, f.frame(0, 0x02))
    f.seq[0] += 1
    p.add(t + 50_000, f.frame(1, 0x14, seq=0))
    # closed before request: handshake, then the server's FIN
    f = Flow(p, 45002, port)
    t2 = f.syn(t + MS)
    p.add(t2 + 100_000, f.frame(1, 0x11))
    # reset before request
    f = Flow(p, 45003, port)
    t2 = f.syn(t + 2 * MS)
    p.add(t2 + 100_000, f.frame(1, 0x14))
    # never answered: two SYNs, the capture goes on 5 s
    f = Flow(p, 45004, port)
    p.add(t + 3 * MS, f.frame(0, 0x02))
    p.add(t + 1003 * MS, f.frame(0, 0x02))
    # retried: SYN, SYN 1 s later, connected, one request
    f = Flow(p, 45005, port)
    t2 = f.syn(t + 4 * MS, retrans_after=(1000 * MS,))
    f.send(t2 + 300_000, 0, request_bytes(1, b"/after-retry", keep=False))
    f.send(t2 + 20 * MS, 1, response_bytes(1, b"ok"))
    f.fin(t2 + 21 * MS)
    # a healthy connection: SYN, request 2 ms later
    f = Flow(p, 45006, port)
    t2 = f.syn(t + 6 * MS)
    f.send(t2 + 2 * MS, 0, request_bytes(1, b"/healthy", keep=False))
    f.send(t2 + 12 * MS, 1, response_bytes(1, b"ok"))
    f.fin(t2 + 13 * MS)
    # the client closes before sending: not the server's doing
    f = Flow(p, 45007, port)
    t2 = f.syn(t + 7 * MS)
    f.fin(t2 + MS)
    return t + 5000 * MS


def group_backend(tmp):
    """connection_refused, closed_before_request, connect_retried
    (docs/ANOMALIES.md): per server, on a listed port and on a port
    where FastCGI shows up later; nothing on a port that never carries it."""
    p = Pcap()
    handshakes(p, 9000, T0)
    handshakes(p, 19005, T0 + 10 * MS)    # FastCGI shows up there (the 45005/45006 flows)
    # port 7000: failures, but no FastCGI ever: not counted
    f = Flow(p, 46001, 7000)
    p.add(T0 + 20 * MS, f.frame(0, 0x02))
    f.seq[0] += 1
    p.add(T0 + 21 * MS, f.frame(1, 0x14, seq=0))
    # a server that never answered anything: plainly never answered
    f = Flow(p, 46010, 9000, server=3)
    p.add(T0 + 30 * MS, f.frame(0, 0x02))
    # a SYN in the capture's last second: not judged
    f = Flow(p, 46002, 9000)
    p.add(T0 + 4800 * MS, f.frame(0, 0x02))
    # the end of the capture: 5 s after the start
    g = Flow(p, 46003, 80, server=9)
    p.add(T0 + 5200 * MS, g.frame(0, 0x10))
    path = os.path.join(tmp, "backend.pcap")
    p.write(path)
    rc, reqs, anoms, s, _ = jrun([path])
    b = s.get("backend", {})
    check(b.get("connection_refused") == 5 and b.get("closed_before_request") == 4
          and b.get("connect_retried") == 2, "backend totals: %s" % b)
    servers = {x["server"]: x for x in b.get("servers", [])}
    for srv in ("10.0.0.2:9000", "10.0.0.2:19005"):
        x = servers.get(srv, {})
        check(x.get("connection_refused") == 2 and x.get("closed_before_request") == 2
              and x.get("connect_retried") == 1, "backend %s: %s" % (srv, x))
    check("10.0.0.2:7000" not in servers, "port 7000 (no FastCGI) not counted")
    ev = [(a["id"], a["client"], a["server"], a["frame"], a["severity"]) for a in anoms
          if a["id"] in ("connection_refused", "closed_before_request", "connect_retried")]
    check(len(ev) == 11 and all(e[4] == "warning" and e[3] for e in ev), "11 warning events with frames: %s" % ev)
    check(not any(e[1] == "10.0.0.1:46002" for e in ev), "a SYN 0.4 s before the end is not refused")
    check(not any(e[1] == "10.0.0.1:45007" for e in ev), "the client's own close is not closed_before_request")
    det = {(a["id"], a["client"]): a["detail"] for a in anoms}
    check("never answered while the server accepted other connections: accept queue full"
          in det.get(("connection_refused", "10.0.0.1:45004"), ""),
          "unanswered while the server accepted others (45005 at +1 s): %s"
          % det.get(("connection_refused", "10.0.0.1:45004")))
    d3 = det.get(("connection_refused", "10.0.0.1:46010"), "")
    check("never answered in" in d3 and "accept queue" not in d3,
          "unanswered by a server that accepted nothing: %s" % d3)
    check("RST" in det.get(("connection_refused", "10.0.0.1:45001"), ""), "refused detail")
    # connect_us / syn_retransmits on the first request of a connection
    by = {(r["server"], r["uri"]): r for r in reqs}
    r1 = by.get(("10.0.0.2:9000", "/after-retry"), {})
    check(r1.get("syn_retransmits") == 1 and r1.get("connect_us") == 1000100,
          "retried request: connect_us %s, syn_retransmits %s" % (r1.get("connect_us"), r1.get("syn_retransmits")))
    r2 = by.get(("10.0.0.2:9000", "/healthy"), {})
    check(r2.get("syn_retransmits") == 0 and r2.get("connect_us") == 100,
          "healthy request: connect_us %s" % r2.get("connect_us"))
    check(rc == 0, "rc %d" % rc)
    rc, _, _, _, _ = jrun(["--fail-on", "warning", path])
    check(rc == 1, "--fail-on warning trips on backend failures (rc %d)" % rc)
    rc, out, _ = run([path])
    line = [l for l in out.splitlines() if l.startswith("Backend")]
    check(line and "5 refused, 4 closed before a request, 2 connects retried" in line[0],
          "text Backend line: %s" % line)
    check("10.0.0.2:19005: 2 refused, 2 closed early, 1 retried" in out, "text per server")
    # --no-detect: only listed ports count
    _, _, _, s2, _ = jrun(["--no-detect", path])
    check(s2.get("backend", {}).get("connection_refused") == 3, "--no-detect: 9000 only: %s" % s2.get("backend"))
    # a SYN flood spread over 12 s: 250 SYNs to 9000, each answered by RST:
    # every one counted, the first 100 listed, the rest "unlisted"
    p = Pcap()
    f = Flow(p, 45500, 9000)     # FastCGI on 9000 first
    t2 = f.syn(T0)
    f.send(t2 + MS, 0, request_bytes(1, b"/ok", keep=False))
    f.send(t2 + 2 * MS, 1, response_bytes(1, b"ok"))
    f.fin(t2 + 3 * MS)
    for i in range(250):
        f = Flow(p, 20000 + i, 9000)
        t = T0 + 10 * MS + i * 48 * MS
        p.add(t, f.frame(0, 0x02))
        f.seq[0] += 1
        p.add(t + 100_000, f.frame(1, 0x14, seq=0))
    path = os.path.join(tmp, "flood.pcap")
    p.write(path)
    rc, reqs, anoms, s, _ = jrun([path])
    b = s.get("backend", {})
    ev = [a for a in anoms if a["id"] == "connection_refused"]
    check(b.get("connection_refused") == 250 and b.get("unlisted") == 150 and len(ev) == 100
          and s.get("anomalies", {}).get("connection_refused") == 250,
          "flood: 250 counted, 100 lines, 150 unlisted: %s, %d lines" % (b, len(ev)))
    rc, out, _ = run([path])
    check("150 events not listed (the first 100 per server and kind are)" in out,
          "text says what was not listed")
    # CSV carries the two columns
    rc, out, _ = run(["-f", "csv", path])
    hdr = out.splitlines()[0].split(",")
    check("connect_us" in hdr and "syn_retransmits" in hdr, "csv header: %s" % hdr)


def group_latency(tmp):
    """--latency from-syn: percentiles and the slowest list count a
    connection's wait to connect."""
    p = Pcap()
    f = Flow(p, 47001, 9000)
    t = f.syn(T0, retrans_after=(1000 * MS,))
    f.send(t + MS, 0, request_bytes(1, b"/first", keep=True))
    f.send(t + 201 * MS, 1, response_bytes(1, b"ok"))
    f.send(t + 300 * MS, 0, request_bytes(1, b"/second", keep=True))
    f.send(t + 350 * MS, 1, response_bytes(1, b"ok"))
    f.fin(t + 400 * MS)
    path = os.path.join(tmp, "lat.pcap")
    p.write(path)
    _, reqs, _, s1, _ = jrun([path])
    _, reqs2, _, s2, _ = jrun(["--latency", "from-syn", path])
    check([r["latency_us"] for r in reqs] == [r["latency_us"] for r in reqs2] == [200000, 50000],
          "request lines keep BEGIN->END: %s" % [r["latency_us"] for r in reqs2])
    check(reqs[1]["connect_us"] is None and reqs[0]["connect_us"] == 1000100,
          "connect_us on the first request only: %s" % [r["connect_us"] for r in reqs])
    m1 = s1.get("latency_us", {}).get("max")
    m2 = s2.get("latency_us", {}).get("max")
    check(m1 == 200000 and m2 == 1201200,  # first SYN -> END_REQUEST
          "from-syn max latency %s vs fcgi %s" % (m2, m1))
    rc, out, _ = run(["--latency", "from-syn", path])
    check("Latency (first SYN or BEGIN_REQUEST to END_REQUEST)" in out and "1.20s" in out,
          "text from-syn: %s" % [l for l in out.splitlines() if "Latency" in l or "slowest" in l])
    rc, _, err = run(["--latency", "bogus", path])
    check(rc == 2 and "--latency" in err, "--latency bogus: rc %d %s" % (rc, err.strip()))


def group_counts(tmp):
    """The text report's connection counts agree with -v:
    FastCGI-port flows without a byte are not 'other TCP flows'."""
    p = Pcap()
    for i in range(3):
        f = Flow(p, 48000 + i, 9000)
        t = f.syn(T0 + i * MS)
        f.send(t + MS, 0, request_bytes(1, b"/x", keep=False))
        f.send(t + 2 * MS, 1, response_bytes(1, b"ok"))
        f.fin(t + 3 * MS)
    for i in range(2):  # SYN-only (cut by the end of the capture)
        f = Flow(p, 48100 + i, 9000)
        p.add(T0 + 100 * MS, f.frame(0, 0x02))
    f = Flow(p, 48200, 8080, server=4)  # one HTTP flow
    f.send(T0 + 50 * MS, 0, b"GET / HTTP/1.1\r\n\r\n")
    path = os.path.join(tmp, "counts.pcap")
    p.write(path)
    rc, out, _ = run(["-v", path])
    lines = out.splitlines()
    traffic = [l + (" " + lines[i + 1].strip() if i + 1 < len(lines) and lines[i + 1].startswith(" " * 12) else "")
               for i, l in enumerate(lines) if l.startswith("Traffic")]
    flows = [l for l in lines if " flows: " in l]
    check(traffic and "3 FastCGI connections (+2 without data) (+1 other TCP flow)" in traffic[0],
          "Traffic line: %s" % traffic)
    check(all(len(l) <= 80 for l in lines if not l.startswith(" " * 12 + "6 flows")),
          "80 columns: %s" % [l for l in lines if len(l) > 80])
    check(flows and "6 flows: 5 FastCGI (2 without data), 1 other" in flows[0], "-v flows line: %s" % flows)


def group_real(tmp):
    """Cut copies of real keep-alive captures: the same requests without -p
    (port 9000 unlisted by -p 1) as with -p 9000, at several cut points."""
    if not shutil.which("editcap"):
        print("SKIP: editcap not found")
        sys.exit(77)
    total = 0
    for name, cuts in (("nginx-phpfpm-keepconn", (20, 60, 61, 75, 90)),
                       ("apache-phpfpm-reuse", (30, 60, 100, 150)),
                       ("haproxy-go", (10, 60, 95, 130))):
        src = os.path.join(CAPS, "real", name + ".pcap")
        for cut in cuts:
            dst = os.path.join(tmp, "%s-%d.pcap" % (name, cut))
            subprocess.run(["editcap", "-r", src, dst, "%d-1000000" % cut], check=True)
            _, ra, _, sa, _ = jrun(["-p", "1", dst])
            _, rb, _, sb, _ = jrun(["-p", "9000", dst])
            key = lambda r: (r["frame"], r["request_id"], r["status"], r["complete"], r["latency_us"], r["end"])
            check([key(r) for r in ra] == [key(r) for r in rb],
                  "%s cut %d-: without -p %d requests, with -p %d" % (name, cut, len(ra), len(rb)))
            total += len(rb)
            rc, _, _, _, _ = jrun(["-p", "1", "--fail-on", "warning", dst])
            check(rc in (0, 1), "rc")
        if name == "nginx-phpfpm-keepconn":
            # the case: 11 requests after the first 59 packets
            dst = os.path.join(tmp, "%s-60.pcap" % name)
            _, ra, _, _, _ = jrun(["-p", "1", dst])
            check(len(ra) == 11, "nginx keepconn cut 60-: 11 requests without -p (%d)" % len(ra))
    check(total > 0, "requests found on the cuts")


def group_plugin(tmp):
    """The plugin's heuristic and fcgiscope without -p find the same requests
    (one rule: fsd_recognise) on connections caught in their middle: the
    midstream captures above and cut real captures with the port moved off
    the plugin's default 9000."""
    plugin, abi = os.environ.get("NET_TEST_PLUGIN"), os.environ.get("NET_TEST_ABI")
    if not plugin or not abi or not shutil.which("tshark") or not shutil.which("editcap"):
        print("SKIP: needs NET_TEST_PLUGIN, NET_TEST_ABI, tshark and editcap")
        sys.exit(77)
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        "check_plugin", os.path.join(here, "..", "dissector", "check_plugin.py"))
    cp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cp)
    caps = []
    for body_len, skip in ((300, 4), (70000, 25)):
        p = Pcap()
        keepalive(p, 19000, 41000, T0, 6, body_len, skip)
        keepalive(p, 19001, 41001, T0 + 1 * MS, 4, body_len, skip + 1)
        caps.append(os.path.join(tmp, "pmid-%d.pcap" % body_len))
        p.write(caps[-1])
    for name in ("nginx-phpfpm-keepconn", "apache-phpfpm-reuse", "haproxy-go"):
        cut = os.path.join(tmp, "pcut-%s.pcap" % name)
        subprocess.run(["editcap", "-F", "pcap", "-r", os.path.join(CAPS, "real", name + ".pcap"), cut,
                        "60-1000000"], check=True)
        d = bytearray(open(cut, "rb").read())
        i = 24
        while i + 16 <= len(d):  # Ethernet/IPv4/TCP: port 9000 -> 19000 (checksums not checked)
            incl = struct.unpack("<I", d[i + 8:i + 12])[0]
            f = i + 16
            if d[f + 12:f + 14] == b"\x08\x00" and d[f + 23] == 6:
                t = f + 14 + (d[f + 14] & 15) * 4
                for o in (t, t + 2):
                    if d[o:o + 2] == b"\x23\x28":
                        d[o:o + 2] = b"\x4a\x38"
            i = f + incl
        open(cut, "wb").write(d)
        caps.append(cut)
    for cap in caps:
        preqs, _, _ = cp.plugin_view(plugin, abi, cap, {}, heuristic=True)
        _, areqs, _, _, _ = jrun([cap])
        pk = sorted((r["frame"], r["request_id"]) for r in preqs)
        ak = sorted((r["frame"], r["request_id"]) for r in areqs)
        check(ak and pk == ak, "%s: plugin heuristic %d requests, fcgiscope without -p %d"
              % (os.path.basename(cap), len(pk), len(ak)))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (("midstream", group_midstream), ("falsepos", group_falsepos),
                         ("backend", group_backend), ("latency", group_latency),
                         ("counts", group_counts), ("real", group_real), ("plugin", group_plugin)):
            if GROUP == name or (GROUP == "all" and name != "plugin"):
                try:
                    fn(tmp)
                except Exception as ex:  # a crash of the test is a failure
                    check(False, "%s: %s: %s" % (name, type(ex).__name__, ex))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
