#!/usr/bin/env python3
"""check_crafted.py — checks the crafted captures in captures/crafted/ and their expected results.

Normative reference: captures/EXPECT.md (expected-result schema; extension keys
documented in captures/crafted/README.md), decoder/include/fsd/anomalies.def
(anomaly ids), ../shared/docs/FASTCGI.md "Timing points".

Modes (each is one CTest test):
  regen    GEN DIR          run the generator into a temp dir; every file must equal DIR's byte for byte
  expect   DIR DEF          validate every *.expect.json (schema, ids, counts, frames vs the capture)
  coverage DIR DEF          every decoder-level id of DEF is in some crafted capture's anomalies_must
  tshark   DIR              tshark opens every good capture, fails on the damaged ones as listed, and
                            (where its built-in fcgi dissector applies) agrees with frame and latency_ns
Exit 0 pass, 1 fail, 77 skipped (tshark missing).

This script reads capture containers (pcap/pcapng headers) only; it never
interprets FastCGI bytes (tshark's own dissector does, in the tshark mode).
"""
import filecmp
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

FAILS = []


def fail(msg):
    FAILS.append(msg)
    print("FAIL: " + msg)


def done():
    if FAILS:
        print("%d failure(s)" % len(FAILS))
        sys.exit(1)
    print("ok")
    sys.exit(0)


# ---------------------------------------------------------------- helpers

def load_ids(defpath):
    """(all ids, decoder-level ids) from anomalies.def, in order."""
    ids, decoder = [], []
    capture_level = False
    with open(defpath, encoding="utf-8") as f:
        for line in f:
            if "capture-level ids" in line:
                capture_level = True
            m = re.match(r"\s*FSD_ANOMALY\(\s*([a-z0-9_]+)\s*,", line)
            if m:
                ids.append(m.group(1))
                if not capture_level:
                    decoder.append(m.group(1))
    return ids, decoder


def expect_files(d):
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".expect.json"))


def read_container(path):
    """(format, precision, [(ts_ns, caplen, origlen)], error) of a pcap/pcapng file.
    Stops at the first damage and reports it in error (None if clean)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        return None, None, [], "short file"
    pk = []
    magic = data[:4]
    classic = {b"\xd4\xc3\xb2\xa1": ("<", "us"), b"\x4d\x3c\xb2\xa1": ("<", "ns"),
               b"\xa1\xb2\xc3\xd4": (">", "us"), b"\xa1\xb2\x3c\x4d": (">", "ns")}
    if magic in classic:
        bo, prec = classic[magic]
        if len(data) < 24:
            return "pcap", prec, pk, "short header"
        off = 24
        while off < len(data):
            if off + 16 > len(data):
                return "pcap", prec, pk, "short record header"
            sec, frac, cl, ol = struct.unpack(bo + "IIII", data[off:off + 16])
            if off + 16 + cl > len(data):
                return "pcap", prec, pk, "short packet"
            pk.append((sec * 10**9 + frac * (1 if prec == "ns" else 1000), cl, ol))
            off += 16 + cl
        return "pcap", prec, pk, None
    if magic == b"\x0a\x0d\x0d\x0a":
        bom = data[8:12]
        bo = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
        off, res = 0, 10**3  # ns per unit, default microseconds
        prec = "us"
        while off < len(data):
            if off + 12 > len(data):
                return "pcapng", prec, pk, "short block"
            btype, blen = struct.unpack(bo + "II", data[off:off + 8])
            if blen < 12 or off + blen > len(data):
                return "pcapng", prec, pk, "bad block length"
            body = data[off + 8:off + blen - 4]
            if btype == 1:  # IDB
                o = 8
                while o + 4 <= len(body):
                    code, ln = struct.unpack(bo + "HH", body[o:o + 4])
                    if code == 0:
                        break
                    if code == 9 and ln >= 1:
                        v = body[o + 4]
                        if v & 0x80:
                            return "pcapng", prec, pk, "binary tsresol not handled"
                        res = 10 ** (9 - v) if v <= 9 else 1
                        prec = "ns" if v == 9 else ("us" if v == 6 else "other")
                    o += 4 + ((ln + 3) & ~3)
            elif btype == 6:  # EPB
                _, hi, lo, cl, ol = struct.unpack(bo + "IIIII", body[:20])
                pk.append((((hi << 32) | lo) * res, cl, ol))
            off += blen
        return "pcapng", prec, pk, None
    return None, None, [], "unknown magic"


# ---------------------------------------------------------------- regen

def mode_regen(gen, d):
    tmp = tempfile.mkdtemp(prefix="crafted-regen-")
    try:
        r = subprocess.run([gen, tmp], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            fail("generator exited %d: %s" % (r.returncode, r.stderr.strip()))
            done()
        made = sorted(os.listdir(tmp))
        if not made:
            fail("generator wrote nothing")
        for n in made:
            ref = os.path.join(d, n)
            if not os.path.exists(ref):
                fail("%s: generated but not checked in (run the craft-captures target)" % n)
            elif not filecmp.cmp(os.path.join(tmp, n), ref, shallow=False):
                fail("%s: checked-in file differs from the generator's output" % n)
        for n in sorted(os.listdir(d)):
            if n not in made:
                fail("%s: checked in but the generator no longer writes it" % n)
        # Determinism: a second run gives the same bytes.
        tmp2 = tempfile.mkdtemp(prefix="crafted-regen2-")
        try:
            subprocess.run([gen, tmp2], stdout=subprocess.DEVNULL, check=True)
            for n in made:
                if not filecmp.cmp(os.path.join(tmp, n), os.path.join(tmp2, n), shallow=False):
                    fail("%s: two generator runs differ" % n)
        finally:
            shutil.rmtree(tmp2)
        print("%d files compared" % len(made))
    finally:
        shutil.rmtree(tmp)
    done()


# ---------------------------------------------------------------- expect

TOP_KEYS = {"capture", "kind", "description", "server_ports", "precision", "error",
            "exit_status", "request_count", "requests", "anomalies_must", "anomalies_may"}
EXT_KEYS = {"request_count_may", "requests_partial", "nondefault_port"}
REQ_KEYS = {"client", "server", "request_id", "frame", "method", "uri", "script", "status",
            "complete", "latency_ns", "ttfb_ns", "server_ns", "stdin_bytes", "stdout_bytes",
            "stderr_bytes", "anomalies"}
ENDPOINT = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]):\d{1,5}$")


def check_ids(name, where, lst, ids):
    if not isinstance(lst, list) or not all(isinstance(x, str) for x in lst):
        fail("%s: %s is not a list of strings" % (name, where))
        return
    for x in lst:
        if x not in ids:
            fail("%s: %s names %r, not an id in anomalies.def" % (name, where, x))
    if lst != sorted(set(lst)):
        fail("%s: %s is not sorted and unique" % (name, where))


def mode_expect(d, defpath):
    ids, _ = load_ids(defpath)
    files = expect_files(d)
    if not files:
        fail("no *.expect.json in " + d)
    for path in files:
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as f:
                e = json.load(f)
        except (OSError, ValueError) as x:
            fail("%s: does not parse: %s" % (name, x))
            continue
        keys = set(e)
        if TOP_KEYS - keys:
            fail("%s: missing keys %s" % (name, sorted(TOP_KEYS - keys)))
            continue
        if keys - TOP_KEYS - EXT_KEYS:
            fail("%s: unknown keys %s" % (name, sorted(keys - TOP_KEYS - EXT_KEYS)))
        base = name[:-len(".expect.json")]
        if e["capture"] not in (base + ".pcap", base + ".pcapng"):
            fail("%s: capture %r does not match the file name" % (name, e["capture"]))
        cpath = os.path.join(d, e["capture"])
        if not os.path.exists(cpath):
            fail("%s: capture %s missing" % (name, e["capture"]))
            continue
        if e["kind"] != "crafted":
            fail("%s: kind must be crafted" % name)
        if not isinstance(e["description"], str) or len(e["description"]) < 10:
            fail("%s: description missing" % name)
        if not e["server_ports"] or not all(isinstance(p, int) and 0 < p < 65536 for p in e["server_ports"]):
            fail("%s: bad server_ports" % name)
        check_ids(name, "anomalies_must", e["anomalies_must"], ids)
        check_ids(name, "anomalies_may", e["anomalies_may"], ids)
        both = set(e["anomalies_must"]) & set(e["anomalies_may"])
        if both:
            fail("%s: ids both in must and may: %s" % (name, sorted(both)))
        err = e["error"]
        fmt, prec, pk, damage = read_container(cpath)
        if err is None:
            if damage:
                fail("%s: capture is damaged (%s) but error is null" % (name, damage))
            if e["exit_status"] != 0:
                fail("%s: exit_status must be 0 without an error" % name)
        else:
            if set(err) != {"fatal", "frame", "contains"} or not isinstance(err["fatal"], bool) \
                    or not (err["frame"] is None or isinstance(err["frame"], int)) \
                    or not isinstance(err["contains"], str):
                fail("%s: bad error object" % name)
                continue
            if e["exit_status"] != (2 if err["fatal"] else 0):
                fail("%s: exit_status %d does not match fatal=%s" % (name, e["exit_status"], err["fatal"]))
            if not err["fatal"]:
                if not damage:
                    fail("%s: non-fatal error but the capture reads cleanly" % name)
                if err["frame"] != len(pk) + 1:
                    fail("%s: error frame %s, but the damage is at frame %d" % (name, err["frame"], len(pk) + 1))
                if "capture_truncated" not in e["anomalies_must"]:
                    fail("%s: a truncated capture must list capture_truncated" % name)
        if fmt is not None and prec is not None and e["precision"] != prec:
            fail("%s: precision %s but the file says %s" % (name, e["precision"], prec))
        if e["precision"] not in ("us", "ns"):
            fail("%s: precision must be us or ns" % name)
        reqs = e["requests"]
        if not isinstance(reqs, list):
            fail("%s: requests is not a list" % name)
            continue
        partial = e.get("requests_partial", False)
        if not partial and e["request_count"] != len(reqs):
            fail("%s: request_count %d != %d requests listed" % (name, e["request_count"], len(reqs)))
        if partial and len(reqs) > e["request_count"]:
            fail("%s: more requests listed than request_count" % name)
        for c in e.get("request_count_may", []):
            if not isinstance(c, int) or c == e["request_count"]:
                fail("%s: bad request_count_may" % name)
        allowed = set(e["anomalies_must"]) | set(e["anomalies_may"])
        last_frame = 0
        for i, r in enumerate(reqs):
            w = "%s: requests[%d]" % (name, i)
            if set(r) - REQ_KEYS:
                fail("%s: unknown keys %s" % (w, sorted(set(r) - REQ_KEYS)))
            for k in ("client", "server"):
                if k in r and not ENDPOINT.match(r[k]):
                    fail("%s: bad %s %r" % (w, k, r[k]))
            if not isinstance(r.get("request_id"), int) or not 0 <= r["request_id"] <= 65535:
                fail("%s: bad request_id" % w)
            if "frame" in r:
                if not isinstance(r["frame"], int) or r["frame"] < 1:
                    fail("%s: bad frame" % w)
                else:
                    if r["frame"] > len(pk):
                        fail("%s: frame %d beyond the %d readable frames" % (w, r["frame"], len(pk)))
                    if r["frame"] < last_frame:
                        fail("%s: requests not in t_begin (frame) order" % w)
                    last_frame = r["frame"]
            if "status" in r and not (r["status"] is None or (isinstance(r["status"], int) and 100 <= r["status"] <= 999)):
                fail("%s: bad status" % w)
            for k in ("latency_ns", "ttfb_ns", "server_ns", "stdin_bytes", "stdout_bytes", "stderr_bytes"):
                if k in r and (not isinstance(r[k], int) or r[k] < 0):
                    fail("%s: bad %s" % (w, k))
            if "latency_ns" in r and "ttfb_ns" in r and r["ttfb_ns"] > r["latency_ns"]:
                fail("%s: ttfb_ns > latency_ns" % w)
            if "server_ns" in r and "ttfb_ns" in r and r["server_ns"] > r["ttfb_ns"]:
                fail("%s: server_ns > ttfb_ns" % w)
            if "latency_ns" in r and r.get("complete") is False:
                fail("%s: latency_ns on an incomplete request" % w)
            if "anomalies" in r:
                check_ids(name, "requests[%d].anomalies" % i, r["anomalies"], ids)
                extra = set(r["anomalies"]) - allowed
                if extra:
                    fail("%s: anomalies %s are in neither must nor may" % (w, sorted(extra)))
            if e["precision"] == "us":
                for k in ("latency_ns", "ttfb_ns", "server_ns"):
                    if k in r and r[k] % 1000:
                        fail("%s: %s not a whole microsecond in a us capture" % (w, k))
            if "frame" in r and r["frame"] <= len(pk) and "latency_ns" in r:
                # t_end must be a packet's time: begin + latency is some later frame's timestamp
                t = pk[r["frame"] - 1][0] + r["latency_ns"]
                if not any(p[0] == t for p in pk[r["frame"] - 1:]):
                    fail("%s: t_begin + latency_ns matches no later packet's timestamp" % w)
        print("%s: ok (%d requests, must %s)" % (name, e["request_count"], e["anomalies_must"]))
    done()


def mode_coverage(d, defpath):
    _, decoder = load_ids(defpath)
    covered = set()
    for path in expect_files(d):
        with open(path, encoding="utf-8") as f:
            covered |= set(json.load(f)["anomalies_must"])
    missing = [i for i in decoder if i not in covered]
    for i in missing:
        fail("decoder-level id %s has no crafted capture that must fire it" % i)
    print("%d decoder-level ids, %d covered" % (len(decoder), len(decoder) - len(missing)))
    done()


# ---------------------------------------------------------------- tshark

def tshark_cmd(args):
    return subprocess.run(["tshark"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=dict(os.environ, LC_ALL="C"))


def ts_ns(s):
    sec, _, frac = s.partition(".")
    return int(sec) * 10**9 + int((frac + "000000000")[:9])


# Captures whose FastCGI framing tshark's built-in fcgi dissector cannot
# follow (by design of the capture): no frame/latency cross-check there.
NO_FCGI_CROSSCHECK = {
    "nv_straddle",        # built-in dissector reports a straddling pair as malformed
    "tcp_midstream",      # starts inside a record
    "tcp_lost_segment",   # missing bytes
    "snaplen_truncated",  # missing bytes
    "desync",             # garbage after the request
    "tcp_tiny_segments",  # tshark shows a record in the packet that completes it, not where it starts
}


def mode_tshark(d):
    if shutil.which("tshark") is None:
        print("SKIP: tshark not found (apt-get install tshark)")
        sys.exit(77)
    checked = 0
    for path in expect_files(d):
        with open(path, encoding="utf-8") as f:
            e = json.load(f)
        name = e["capture"]
        cpath = os.path.join(d, name)
        base = os.path.basename(path)[:-len(".expect.json")]
        err = e["error"]
        if err is None:
            r = tshark_cmd(["-r", cpath, "-c", "1"])
            if r.returncode != 0 or not r.stdout.strip():
                fail("%s: tshark -c 1 failed (%d): %s" % (name, r.returncode, r.stderr.strip()))
                continue
            if base in NO_FCGI_CROSSCHECK:
                r = tshark_cmd(["-r", cpath, "-T", "fields", "-e", "frame.number"])
                if r.returncode != 0:
                    fail("%s: tshark could not read the whole file: %s" % (name, r.stderr.strip()))
        elif base == "damaged_empty":
            # tshark treats a 0-byte file as an empty capture (no packets, exit 0);
            # fcgiscope (libpcap) refuses it.
            r = tshark_cmd(["-r", cpath])
            if r.stdout.strip():
                fail("%s: tshark printed packets for an empty file" % name)
        elif err["fatal"]:
            r = tshark_cmd(["-r", cpath, "-c", "1"])
            if r.returncode == 0:
                fail("%s: tshark opened a capture that must be fatal" % name)
            elif base == "damaged_linktype" and "unknown or unsupported" not in r.stderr:
                fail("%s: tshark did not name the link type: %s" % (name, r.stderr.strip()))
            elif base == "damaged_text" and "isn't a capture file" not in r.stderr:
                fail("%s: unexpected tshark message: %s" % (name, r.stderr.strip()))
        else:
            n = err["frame"] - 1
            r = tshark_cmd(["-r", cpath, "-c", str(n), "-T", "fields", "-e", "frame.number"])
            if r.returncode != 0 or len(r.stdout.split()) != n:
                fail("%s: tshark could not read the %d frames before the damage" % (name, n))
            r = tshark_cmd(["-r", cpath, "-T", "fields", "-e", "frame.number"])
            if r.returncode == 0 or "cut short" not in r.stderr:
                fail("%s: tshark did not report the cut (%d): %s" % (name, r.returncode, r.stderr.strip()))
        checked += 1
        if err is not None and err["fatal"]:
            continue
        if base in NO_FCGI_CROSSCHECK:
            continue
        # Cross-check frames and latency with tshark's built-in fcgi dissector.
        args = ["-r", cpath, "-T", "fields", "-E", "separator=|", "-e", "frame.number",
                "-e", "frame.time_epoch", "-e", "tcp.stream", "-e", "fcgi.type", "-e", "fcgi.id",
                "-e", "tcp.srcport", "-e", "tcp.len"]
        for p in e["server_ports"]:
            args[2:2] = ["-d", "tcp.port==%d,fcgi" % p]
        r = tshark_cmd(args)
        if r.returncode != 0 and err is None:
            fail("%s: tshark could not read the whole file: %s" % (name, r.stderr.strip()))
        rows = []
        for line in r.stdout.splitlines():
            f = line.split("|")
            if len(f) < 7 or not f[0]:
                continue
            types = [int(x) for x in f[3].split(",") if x]
            rids = [int(x) for x in f[4].split(",") if x]
            from_server = f[5].isdigit() and int(f[5]) in e["server_ports"]
            paylen = int(f[6]) if f[6].isdigit() else 0
            rows.append((int(f[0]), ts_ns(f[1]), f[2], list(zip(types, rids)), from_server, paylen))
        byframe = {row[0]: row for row in rows}
        for i, rq in enumerate(e["requests"]):
            if "frame" not in rq:
                continue
            row = byframe.get(rq["frame"])
            if row is None or (1, rq["request_id"]) not in row[3]:
                fail("%s: requests[%d]: tshark sees no BEGIN_REQUEST id %d in frame %d"
                     % (name, i, rq["request_id"], rq["frame"]))
                continue
            # ttfb: a server packet with payload on this connection at t_begin + ttfb_ns,
            # no later than where tshark completes the first STDOUT/STDERR record of the id;
            # server_ns: a client packet with payload at t_first - server_ns.
            if "ttfb_ns" in rq:
                tf = row[1] + rq["ttfb_ns"]
                cand = [x for x in rows if x[0] >= row[0] and x[2] == row[2] and x[4] and x[5] > 0 and x[1] == tf]
                first_out = next((x for x in rows if x[0] >= row[0] and x[2] == row[2]
                                  and ((6, rq["request_id"]) in x[3] or (7, rq["request_id"]) in x[3])), None)
                if not cand:
                    fail("%s: requests[%d]: no server packet at t_begin + ttfb_ns" % (name, i))
                elif first_out is not None and cand[0][0] > first_out[0]:
                    fail("%s: requests[%d]: ttfb points after tshark's first STDOUT/STDERR (frame %d)"
                         % (name, i, first_out[0]))
                if "server_ns" in rq:
                    ts_sent = tf - rq["server_ns"]
                    if not any(x[0] >= row[0] and x[2] == row[2] and not x[4] and x[5] > 0 and x[1] == ts_sent
                               for x in rows):
                        fail("%s: requests[%d]: no client packet at t_first - server_ns" % (name, i))
            if "latency_ns" not in rq:
                continue
            end = next((x for x in rows if x[0] > row[0] and x[2] == row[2] and (3, rq["request_id"]) in x[3]), None)
            if end is None:
                fail("%s: requests[%d]: tshark sees no END_REQUEST" % (name, i))
            elif end[1] - row[1] != rq["latency_ns"]:
                fail("%s: requests[%d]: latency_ns %d, tshark's frames say %d"
                     % (name, i, rq["latency_ns"], end[1] - row[1]))
    print("%d captures checked with tshark" % checked)
    done()


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "regen":
        mode_regen(a[1], a[2])
    elif len(a) == 3 and a[0] == "expect":
        mode_expect(a[1], a[2])
    elif len(a) == 3 and a[0] == "coverage":
        mode_coverage(a[1], a[2])
    elif len(a) == 2 and a[0] == "tshark":
        mode_tshark(a[1])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
