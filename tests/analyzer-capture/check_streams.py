#!/usr/bin/env python3
"""check_streams.py — compares capdump's reassembled FastCGI streams with tshark's own TCP reassembly.

Normative reference: tshark "-z follow,tcp,raw" (Wireshark's TCP stream
reassembly) as the independent oracle. For every capture given, the byte count
and FNV-1a hash of each direction of each FastCGI flow that capdump reports
must equal those of the matching tshark stream. Exit 77 when tshark is absent.
"""
import os, re, shutil, subprocess, sys

def fnv(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xffffffffffffffff
    return h

def tshark_streams(cap):
    ids = subprocess.run(["tshark", "-r", cap, "-T", "fields", "-e", "tcp.stream"],
                         capture_output=True, text=True).stdout.split()
    ids = sorted({int(x) for x in ids if x.strip().isdigit()})
    out = []
    for i in range(0, len(ids), 50):
        args = ["tshark", "-r", cap, "-q"]
        for s in ids[i:i + 50]:
            args += ["-z", "follow,tcp,raw,%d" % s]
        txt = subprocess.run(args, capture_output=True, text=True).stdout
        for block in txt.split("===================================================================")[1:]:
            m0 = re.search(r"^Node 0: (\S+)$", block, re.M)
            m1 = re.search(r"^Node 1: (\S+)$", block, re.M)
            if not m0 or not m1:
                continue
            d = {0: bytearray(), 1: bytearray()}
            for line in block.splitlines():
                if re.fullmatch(r"\t?[0-9a-f]+", line) and len(line.strip()) % 2 == 0:
                    d[1 if line.startswith("\t") else 0] += bytes.fromhex(line.strip())
            out.append((m0.group(1), m1.group(1), bytes(d[0]), bytes(d[1])))
    return out

def main():
    capdump = os.environ.get("CAPDUMP")
    if not shutil.which("tshark") or not capdump:
        print("tshark or CAPDUMP missing: skipped")
        return 77
    fails = flows = 0
    for cap in sys.argv[1:]:
        res = subprocess.run([capdump, "-s", cap], capture_output=True, text=True)
        if res.returncode != 0:
            print("FAIL %s: capdump exit %d: %s" % (cap, res.returncode, res.stderr.strip()))
            fails += 1
            continue
        ts = {}
        for n0, n1, b0, b1 in tshark_streams(cap):
            ts.setdefault((n0, n1), []).append((len(b0), fnv(b0), len(b1), fnv(b1)))
            ts.setdefault((n1, n0), []).append((len(b1), fnv(b1), len(b0), fnv(b0)))
        bad = 0
        for line in res.stdout.splitlines():
            m = re.match(r"flow \d+ (\S+) -> (\S+) client=(\d+)/([0-9a-f]+) server=(\d+)/([0-9a-f]+) gaps=(\d+)/(\d+)", line)
            if not m:
                continue
            flows += 1
            c, s = m.group(1), m.group(2)
            mine = (int(m.group(3)), int(m.group(4), 16), int(m.group(5)), int(m.group(6), 16))
            cands = ts.get((c, s), [])
            if mine not in cands:
                bad += 1
                print("FAIL %s: flow %s -> %s: capdump %s, tshark %s" % (cap, c, s, mine, cands))
        fails += bad
        print("%s %s" % ("ok  " if not bad else "FAIL", cap))
    print("%d flows compared, %d mismatches" % (flows, fails))
    return 1 if fails else 0

sys.exit(main())
