#!/usr/bin/env python3
"""attack.py — resource-attack captures for fcgiscope, generated at test time, and the checks on them.

Normative reference: issue 7 ("Resource attacks"), the caps in
decoder/include/fsd/fsd.h (fsd_limits defaults) and analyzer/src/tcp.h
(fcs_tcp_config defaults), analyzer/README.md ("Ordering and memory", exit
status, the JSON summary's "anomalies" object). FastCGI framing as in
/work/shared/docs/FASTCGI.md (this script only WRITES FastCGI).

  attack.py FCGISCOPE SCENARIO [--keep DIR] [--no-rss] [--timeout S]
  attack.py --gen SCENARIO FILE        (write the capture only)

Each scenario writes a classic pcap (Ethernet, IPv4, TCP; checksums 0, which
the analyzer does not verify) into a temporary folder, runs
`fcgiscope -f json -o OUT CAPTURE` as a child, reads its peak RSS with
wait4(), and checks: it finished within the timeout, exit status 0 (the
README's "done"), peak RSS within the scenario's bound, the expected cap
anomaly in the summary's "anomalies" counts, and scenario facts from the
request lines. Prints one line of numbers; exit 0 pass, 1 fail.
"""
import json
import os
import resource
import shutil
import signal
import struct
import sys
import tempfile
import time

MiB = 1 << 20

# ---------------------------------------------------------------- pcap writer

class Pcap:
    """Classic pcap, microsecond timestamps, LINKTYPE_ETHERNET, snaplen 262144."""

    def __init__(self, path):
        self.f = open(path, "wb", buffering=4 * MiB)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.ts_us = 1_700_000_000 * 1_000_000
        self.n = 0
        self.bytes = 0

    def tick(self, us=1):
        self.ts_us += us

    def frame(self, data):
        s, us = divmod(self.ts_us, 1_000_000)
        self.f.write(struct.pack("<IIII", s, us, len(data), len(data)))
        self.f.write(data)
        self.n += 1
        self.bytes += len(data)

    def close(self):
        self.f.close()


ETH = bytes.fromhex("020000000002" "020000000001" "0800")
ETH_R = bytes.fromhex("020000000001" "020000000002" "0800")

SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04


class Flow:
    """One TCP connection client (c_ip:c_port) <-> server (s_ip:9000)."""

    def __init__(self, pcap, c_ip, c_port, s_ip=(10, 0, 0, 1), s_port=9000):
        self.p = pcap
        self.c = bytes(c_ip)
        self.s = bytes(s_ip)
        self.cp, self.sp = c_port, s_port
        self.seq = [1000, 500000]  # next seq: [client, server]
        self.ipid = 0
        self.frames = 0  # frames and wire bytes this flow wrote
        self.bytes = 0

    def seg(self, d, flags, payload=b"", seq=None):
        """d 0 = client->server, 1 = server->client; seq=None: next in order."""
        if seq is None:
            seq = self.seq[d]
        ack = self.seq[1 - d] if flags != SYN else 0
        src, dst = (self.c, self.s) if d == 0 else (self.s, self.c)
        sp, dp = (self.cp, self.sp) if d == 0 else (self.sp, self.cp)
        tot = 20 + 20 + len(payload)
        assert tot <= 65535
        self.ipid = (self.ipid + 1) & 0xFFFF
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, self.ipid, 0x4000, 64, 6, 0, src, dst)
        tcp = struct.pack("!HHIIBBHHH", sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                          5 << 4, flags | (ACK if flags != SYN else 0), 65535, 0, 0)
        fr = (ETH if d == 0 else ETH_R) + ip + tcp + payload
        self.p.frame(fr)
        self.frames += 1
        self.bytes += len(fr)
        self.p.tick()
        adv = len(payload) + (1 if flags & (SYN | FIN) else 0)
        return seq + adv

    def send(self, d, payload, flags=PSH):
        self.seq[d] = self.seg(d, flags, payload)

    def send_big(self, d, data, mss=65000):
        mv = memoryview(data)
        for i in range(0, len(data), mss):
            self.send(d, bytes(mv[i:i + mss]))

    def handshake(self):
        self.seq[0] = self.seg(0, SYN)
        self.seq[1] = self.seg(1, SYN | ACK)

    def close(self):
        self.seq[0] = self.seg(0, FIN)
        self.seq[1] = self.seg(1, FIN)
        self.seg(0, 0)


# ----------------------------------------------------------- FastCGI writer

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT = 1, 2, 3, 4, 5, 6


def rec(t, rid, content=b"", pad=None):
    if pad is None:
        pad = (-len(content)) & 7
    return struct.pack("!BBHHBB", 1, t, rid, len(content), pad, 0) + content + b"\0" * pad


def begin(rid, keep=1):
    return rec(BEGIN, rid, struct.pack("!HB5x", 1, keep))


def end(rid):
    return rec(END, rid, struct.pack("!IB3x", 0, 0))


def nvlen(n):
    return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)


def nv(name, value):
    return nvlen(len(name)) + nvlen(len(value)) + name + value


def stream(t, rid, data, chunk=65535):
    out = bytearray()
    for i in range(0, len(data), chunk):
        out += rec(t, rid, data[i:i + chunk])
    out += rec(t, rid)
    return bytes(out)


def small_request(rid, uri=b"/a.php"):
    p = nv(b"REQUEST_METHOD", b"GET") + nv(b"SCRIPT_NAME", uri) + nv(b"REQUEST_URI", uri)
    return begin(rid) + rec(PARAMS, rid, p) + rec(PARAMS, rid) + rec(STDIN, rid)


def small_response(rid):
    return rec(STDOUT, rid, b"Content-Type: text/plain\r\n\r\nok") + rec(STDOUT, rid) + end(rid)


# --------------------------------------------------------------- scenarios

def gen_conns100k(path, n=100_000):
    """n connections, all open at once: every handshake and request first,
    then every response, then every close."""
    p = Pcap(path)
    flows = []
    for i in range(n):
        ip = (10, 1 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF)
        f = Flow(p, ip, 10000 + (i % 50000))
        f.handshake()
        f.send(0, small_request(1))
        flows.append(f)
    for f in flows:
        f.send(1, small_response(1))
    for f in flows:
        f.close()
    p.close()
    return {"connections": n}


def gen_req65535(path):
    """One connection; BEGIN_REQUEST + PARAMS for ids 1..65535, none ends until
    all were begun; then the server ends every one."""
    p = Pcap(path)
    f = Flow(p, (10, 2, 0, 1), 40000)
    f.handshake()
    buf = bytearray()
    for rid in range(1, 65536):
        buf += small_request(rid)
        if len(buf) > 60000:
            f.send(0, bytes(buf)); buf.clear()
    if buf:
        f.send(0, bytes(buf)); buf.clear()
    for rid in range(1, 65536):
        buf += small_response(rid)
        if len(buf) > 60000:
            f.send(1, bytes(buf)); buf.clear()
    if buf:
        f.send(1, bytes(buf))
    f.close()
    p.close()
    return {}


def gen_params100m(path, total=100 * MiB):
    """Request 1: a 100 MB PARAMS stream of 4 KiB pairs. Request 2 (same
    connection, after it): one pair whose value is 16 MiB (max_pair_bytes)."""
    p = Pcap(path)
    f = Flow(p, (10, 3, 0, 1), 40001)
    f.handshake()
    f.send(0, begin(1))
    val = b"v" * 4096
    pairs = bytearray()
    k = 0
    sent = 0
    while sent < total:
        while len(pairs) < 65535 * 8:
            pairs += nv(b"HTTP_X_%07d" % k, val)
            k += 1
        # whole records of 65535 bytes, several per segment
        seg = bytearray()
        for i in range(0, 65535 * 8, 65535):
            seg += rec(PARAMS, 1, bytes(pairs[i:i + 65535]))
        del pairs[:65535 * 8]
        mv = memoryview(bytes(seg))
        for i in range(0, len(mv), 65000):
            f.send(0, bytes(mv[i:i + 65000]))
        sent += 65535 * 8
    # finish the stream (the leftover partial pair is cut: counted as junk by the decoder is fine)
    f.send(0, rec(PARAMS, 1) + rec(STDIN, 1))
    f.send(1, small_response(1))
    big = nv(b"HTTP_BIG", b"b" * (16 * MiB))
    f.send(0, begin(2))
    f.send_big(0, stream(PARAMS, 2, big) + rec(STDIN, 2))
    f.send(1, small_response(2))
    f.close()
    p.close()
    return {"params_bytes": sent}


def gen_ooo(path, total=48 * MiB):
    """Two flows whose first data segment is never captured while `total`
    bytes arrive after it: flow A in 1400-byte segments (ooo_max_segments),
    flow B in 60000-byte segments (ooo_max_bytes). Each carries one request
    whose BEGIN_REQUEST was in the missing segment and a long STDIN."""
    p = Pcap(path)
    out = {}
    for name, ip, mss in (("small", (10, 4, 0, 1), 1400), ("big", (10, 4, 0, 2), 60000)):
        f = Flow(p, ip, 40002)
        f.handshake()
        first = small_request(1)[:-8]  # BEGIN + PARAMS, STDIN to follow
        lost_at = f.seq[0]
        f.seq[0] += len(first)  # never sent
        body = bytearray()
        chunk = b"s" * 65528
        while len(body) < total:
            body += rec(STDIN, 1, chunk)
        mv = memoryview(bytes(body))
        for i in range(0, len(mv), mss):
            f.send(0, bytes(mv[i:i + mss]))
        f.send(0, rec(STDIN, 1))
        f.send(1, small_response(1))
        f.close()
        out[name] = {"lost_seq": lost_at, "bytes": len(body)}
    # flow C: every other 1400-byte segment is never captured (a hole per segment)
    f = Flow(p, (10, 4, 0, 3), 40002)
    f.handshake()
    f.send(0, small_request(1)[:-8])
    body = bytearray()
    while len(body) < 16 * MiB:
        body += rec(STDIN, 1, b"h" * 65528)
    mv = memoryview(bytes(body))
    for k, i in enumerate(range(0, len(mv), 1400)):
        if k % 2:
            f.send(0, bytes(mv[i:i + 1400]))
        else:
            f.seq[0] += len(mv[i:i + 1400])
    f.send(0, rec(STDIN, 1))
    f.send(1, small_response(1))
    f.close()
    out["holes"] = {"bytes": len(body)}
    p.close()
    return out


def gen_tiny(path, n=1_000_000):
    """One request answered by n STDOUT records of 1 content byte each
    (a CGI header then body bytes), then END_REQUEST."""
    p = Pcap(path)
    f = Flow(p, (10, 5, 0, 1), 40003)
    f.handshake()
    f.send(0, small_request(1))
    hdr = b"Content-Type: text/plain\r\n\r\n"
    data = hdr + b"x" * (n - len(hdr))
    # 1 content byte, no padding: 9-byte records
    recs = bytearray()
    for i in range(n):
        recs += struct.pack("!BBHHBBB", 1, STDOUT, 1, 1, 0, 0, data[i])
        if len(recs) >= 64998:
            f.send(1, bytes(recs)); recs.clear()
    recs += rec(STDOUT, 1) + end(1)
    f.send(1, bytes(recs))
    f.close()
    p.close()
    return {"records": n}


FLOWFULL_MAX = 1000


def gen_flowfull(path, cap=FLOWFULL_MAX):
    """Run with --max-flows cap. cap connections open (request in flight);
    300 whole connections (handshake, request, response, close) come and go
    while the table is full; then the first cap end (closed: tombstones,
    which give their place); then cap + 200 connections open: the last 200
    are turned away (the table filled a second time) and end while it is
    still full; then the others end."""
    p = Pcap(path)
    untracked = []

    def opener(i):
        f = Flow(p, (10, 6 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF), 20000 + (i % 40000))
        f.handshake()
        f.send(0, small_request(1))
        return f

    def ender(f):
        f.send(1, small_response(1))
        f.close()

    first = [opener(i) for i in range(cap)]
    for i in range(300):
        f = opener(cap + i)
        ender(f)
        untracked.append(f)
    for f in first:
        ender(f)
    p.tick(1_000_000)
    second = [opener(100_000 + i) for i in range(cap + 200)]
    untracked += second[cap:]
    for f in second[cap:] + second[:cap]:  # the untracked ones end while the table is full
        ender(f)
    p.close()
    return {"tracked": 2 * cap, "untracked_flows": len(untracked),
            "untracked_packets": sum(f.frames for f in untracked),
            "untracked_bytes": sum(f.bytes for f in untracked)}


SYNFLOOD_CAP = 200_000  # FCS_TCP_MAX_FLOWS_DEFAULT (analyzer/src/tcp.h)


def gen_synflood(path, n=SYNFLOOD_CAP + 50_000):
    """n SYNs to the FastCGI port from distinct clients, nothing else: more
    flows than the default --max-flows."""
    p = Pcap(path)
    for i in range(n):
        f = Flow(p, (10, 1 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF), 10000 + (i % 50000))
        f.seg(0, SYN)
    p.close()
    return {"flows": n}


# Bounds. BASE covers the binary, libc, libpcap and the analyzer's fixed
# buffers (measured ~3-5 MB on a tiny capture; 512 KiB pcap block reader,
# histograms 43 KB each). Each scenario adds what the documented caps allow.
BASE = 24 * MiB
SCENARIOS = {
    # 100k connections: per connection a flow record, a decoder connection, one
    # request (params 3 pairs) and its queue entry. No cap is reached
    # (--max-flows default 200,000). No documented cap bounds the memory of one open
    # connection: measured 5.9 KiB at the start of session 2, 1.8 KiB after
    # the decoder's and the analyzer's shrinking (173.6 MiB peak); the bound is
    # 3 KiB per connection (analyzer/README.md counts up to 5 KB for --max-flows).
    "conns100k": (gen_conns100k, None, BASE + 100_000 * 3 * 1024, 240),
    # max_active_requests 1024 per connection: 1024 requests tracked (each with
    # 3 small params), the rest request_table_full. Each of those 64,511
    # anomalies waits in the ordering queue behind request 1 (capped by
    # --max-pending, default 100,000 records; measured ~500 B per queued
    # anomaly, 8.8 MB peak with --max-pending 1000): 100,000 x 640 B + 1024
    # requests x 1 KiB.
    "req65535": (gen_req65535, "request_table_full", BASE + 100_000 * 640 + 1 * MiB, 180),
    # max_params_bytes 256 KiB per request and max_pair_bytes 64 KiB per pair:
    # a 100 MB stream may cost only those plus the decoder's record buffer.
    "params100m": (gen_params100m, "param_cap_exceeded", BASE + 8 * MiB, 240),
    # ooo_max_bytes 4 MiB (and 1024 segments) per flow, three flows, one buffering at
    # a time here (bound allows two): 2 x 4 MiB plus per-segment overhead (1024 x ~100 B).
    "ooo": (gen_ooo, "tcp_ooo_cap", BASE + 2 * 4 * MiB + 8 * MiB, 180),
    # the default --max-flows (200,000): a SYN-only flow costs its flow record
    # (~320 B; the decoder connection is created at the first byte): the
    # bound is 512 B per flow (measured ~350 B).
    "synflood": (gen_synflood, "flow_table_full", BASE + SYNFLOOD_CAP * 512, 300),
    # a million 9-byte records: no cap, nothing kept per record.
    "tiny": (gen_tiny, None, BASE + 8 * MiB, 180),
    # --max-flows 1000: the table fills twice; every flow not tracked is
    # counted once, with its packets and bytes (summary "untracked").
    "flowfull": (gen_flowfull, "flow_table_full", BASE + 8 * MiB, 120),
}
# extra fcgiscope options per scenario
EXTRA_ARGS = {"flowfull": ["--max-flows", str(FLOWFULL_MAX)]}


def run(fcgiscope, cap, out, timeout, extra=(), fmt="json"):
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_RDONLY)
            os.dup2(fd, 0)
            os.execv(fcgiscope, [fcgiscope, "-f", fmt, "--progress", "never",
                                 *extra, "-o", out, cap])
        finally:
            os._exit(127)
    deadline = t0 + timeout
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            return None, None, timeout
        time.sleep(0.05)
    return status, ru.ru_maxrss * 1024, time.monotonic() - t0


def main(argv):
    if len(argv) == 4 and argv[1] == "--gen":
        print(json.dumps(SCENARIOS[argv[2]][0](argv[3])))
        return 0
    if len(argv) < 3 or argv[2] not in SCENARIOS:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        print("scenarios:", " ".join(SCENARIOS), file=sys.stderr)
        return 2
    fcgiscope, name = argv[1], argv[2]
    opts = argv[3:]
    check_rss = "--no-rss" not in opts
    timeout = None
    keep = None
    if "--timeout" in opts:
        timeout = float(opts[opts.index("--timeout") + 1])
    if "--keep" in opts:
        keep = opts[opts.index("--keep") + 1]
    gen, want_anomaly, rss_bound, default_timeout = SCENARIOS[name]
    timeout = timeout or default_timeout
    tmp = tempfile.mkdtemp(prefix="fcgiscope-attack-")
    fails = []
    try:
        cap = os.path.join(tmp, name + ".pcap")
        out = os.path.join(tmp, name + ".json")
        g0 = time.monotonic()
        facts = gen(cap)
        gsec = time.monotonic() - g0
        size = os.path.getsize(cap)
        extra = EXTRA_ARGS.get(name, [])
        status, rss, sec = run(fcgiscope, cap, out, timeout, extra)
        if status is None:
            fails.append(f"did not finish within {timeout:.0f} s (killed)")
        elif os.WIFSIGNALED(status):
            fails.append(f"killed by signal {os.WTERMSIG(status)}")
        elif os.WEXITSTATUS(status) != 0:
            fails.append(f"exit status {os.WEXITSTATUS(status)}, want 0")
        summary, reqs, anomalies_lines = None, [], 0
        if status is not None and os.path.exists(out):
            with open(out, "rb") as fh:
                for line in fh:
                    try:
                        o = json.loads(line)
                    except ValueError as e:
                        fails.append(f"invalid JSON line: {e}")
                        break
                    t = o.get("type")
                    if t == "summary":
                        summary = o
                    elif t == "request":
                        reqs.append({k: o.get(k) for k in ("request_id", "complete", "stdout_bytes",
                                                             "stdin_bytes", "anomalies", "end")})
                    elif t == "anomaly":
                        anomalies_lines += 1
        if status is not None and summary is None:
            fails.append("no summary line")
        an = (summary or {}).get("anomalies", {})
        if want_anomaly and not an.get(want_anomaly):
            fails.append(f"cap anomaly {want_anomaly} not reported (anomalies: {an})")
        if check_rss and rss is not None and rss > rss_bound:
            fails.append(f"peak RSS {rss / MiB:.1f} MiB > bound {rss_bound / MiB:.1f} MiB")
        # scenario facts
        if summary is not None:
            nreq = summary.get("requests", {})
            if name == "conns100k":
                if summary.get("connections") != facts["connections"]:
                    fails.append(f"connections {summary.get('connections')} != {facts['connections']}")
                if nreq.get("complete") != facts["connections"]:
                    fails.append(f"complete requests {nreq.get('complete')} != {facts['connections']}")
                if an.get("flow_table_full"):
                    fails.append("flow_table_full below the 200,000 cap")
            elif name == "req65535":
                if nreq.get("total", 0) < 1024:
                    fails.append(f"only {nreq.get('total')} requests reported, want >= 1024 (the cap)")
                if an.get("request_table_full", 0) < 65535 - 1024 - 64:
                    fails.append(f"request_table_full {an.get('request_table_full')} < ~64511")
                un = summary.get("untracked") or {}
                # one request_table_full per refused BEGIN_REQUEST (fsd.h); each
                # refused request has at least PARAMS, empty PARAMS, STDIN after it
                if un.get("requests") != an.get("request_table_full"):
                    fails.append(f"untracked.requests {un.get('requests')} != request_table_full "
                                 f"{an.get('request_table_full')}")
                if (un.get("request_records") or 0) < 3 * (un.get("requests") or 1):
                    fails.append(f"untracked.request_records {un.get('request_records')} < 3 per request")
                # and at least their PARAMS content (3 pairs, > 40 bytes each request)
                if (un.get("request_bytes") or 0) < 40 * (un.get("requests") or 1):
                    fails.append(f"untracked.request_bytes {un.get('request_bytes')} < 40 per request")
                if nreq.get("total", 0) + (un.get("requests") or 0) != 65535:
                    fails.append(f"reported {nreq.get('total')} + untracked {un.get('requests')} != 65535")
            elif name == "params100m":
                if nreq.get("complete") != 2:
                    fails.append(f"complete requests {nreq.get('complete')} != 2")
            elif name == "ooo":
                if an.get("tcp_ooo_cap", 0) < 3:
                    fails.append(f"tcp_ooo_cap {an.get('tcp_ooo_cap')} < 3 (at least one per flow)")
                if not an.get("capture_gap"):
                    fails.append("no capture_gap for the never-seen segment")
            elif name == "synflood":
                if summary.get("tcp_flows") != SYNFLOOD_CAP:
                    fails.append(f"tcp_flows {summary.get('tcp_flows')} != {SYNFLOOD_CAP:,} (the cap)")
                un = (summary.get("untracked") or {}).get("flows")
                if un != facts["flows"] - SYNFLOOD_CAP:
                    fails.append(f"untracked.flows {un} != {facts['flows'] - SYNFLOOD_CAP:,}")
            elif name == "flowfull":
                un = summary.get("untracked") or {}
                want = {"flows": facts["untracked_flows"], "fastcgi_port_flows": facts["untracked_flows"],
                        "packets": facts["untracked_packets"], "bytes": facts["untracked_bytes"],
                        "table_full": 2, "requests": 0, "request_records": 0, "request_bytes": 0}
                if un != want:
                    fails.append(f"untracked {un} != {want}")
                if an.get("flow_table_full") != 2:
                    fails.append(f"flow_table_full raised {an.get('flow_table_full')} times, want 2 "
                                 "(once per filling)")
                if nreq.get("complete") != facts["tracked"] or summary.get("tcp_flows") != facts["tracked"]:
                    fails.append(f"complete requests {nreq.get('complete')}, tcp_flows "
                                 f"{summary.get('tcp_flows')}: want {facts['tracked']} each")
                # the text report says it too
                txt = os.path.join(tmp, name + ".txt")
                st2, _, _ = run(fcgiscope, cap, txt, timeout, extra, fmt="text")
                line = ""
                if st2 is not None and os.path.exists(txt):
                    with open(txt, encoding="utf-8", errors="replace") as fh:
                        # the line and its continuation lines (the report wraps at 80 columns,
                        # continuations indented under the value)
                        lines = fh.read().splitlines()
                        line = ""
                        for i, l in enumerate(lines):
                            if l.startswith("Untracked"):
                                line = l
                                for c in lines[i + 1:]:
                                    if not c.startswith("            "):
                                        break
                                    line += " " + c.strip()
                                break
                wl = (f"{facts['untracked_flows']:,} TCP flows ({facts['untracked_flows']:,} to a FastCGI port), "
                      f"{facts['untracked_packets']:,} packets")
                if wl not in line or "2 times" not in line:
                    fails.append(f"text report: want an Untracked line with '{wl}' and '2 times': {line!r}")
            elif name == "tiny":
                if nreq.get("complete") != 1 or not reqs or reqs[0].get("stdout_bytes") != facts["records"]:
                    fails.append(f"want 1 complete request with stdout_bytes {facts['records']}: {reqs[:1]}")
        print(f"{name}: capture {size / MiB:.1f} MiB ({gsec:.1f} s to write), fcgiscope {sec:.1f} s, "
              f"exit {os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else status}, "
              f"peak RSS {(rss or 0) / MiB:.1f} MiB (bound {rss_bound / MiB:.1f} MiB{'' if check_rss else ', not checked'}), "
              f"requests {(summary or {}).get('requests')}, anomaly lines {anomalies_lines}, "
              f"anomalies {json.dumps(an, sort_keys=True)}")
        for f in fails:
            print(f"FAIL {name}: {f}")
        if keep:
            os.makedirs(keep, exist_ok=True)
            for fn in os.listdir(tmp):
                shutil.copy(os.path.join(tmp, fn), keep)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
