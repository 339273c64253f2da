#!/usr/bin/env python3
"""mangle.py — rewrites a capture the way bad networks and capture points do, and checks reassembly is unchanged.

Normative reference: pcap file format (draft-ietf-opsawg-pcap); RFC 791/9293
header layouts. For each input pcap (Ethernet, Linux cooked or raw IPv4/IPv6):
every TCP payload is re-split into 1-3 segments, consecutive segments of one
direction are shuffled, some are duplicated and some resent as overlapping
supersets; then `capdump -s` must report exactly the same streams (byte counts
and hashes, no gaps) for the mangled capture as for the original. Several seeds.
Exit 77 when CAPDUMP is not set.
"""
import os, random, struct, subprocess, sys, tempfile

def read_pcap(path):
    b = open(path, "rb").read()
    magic = b[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None
    hdr = b[:24]
    dlt = struct.unpack(e + "I", b[20:24])[0]
    pkts, off = [], 24
    while off + 16 <= len(b):
        s, f, cl, wl = struct.unpack(e + "IIII", b[off:off + 16])
        if off + 16 + cl > len(b):
            break                       # the damaged last record is not read
        pkts.append([s, f, b[off + 16:off + 16 + cl]])
        off += 16 + cl
    return e, hdr, dlt, pkts

def l3_offset(dlt, p):
    if dlt == 1:
        o, t = 14, struct.unpack(">H", p[12:14])[0]
        while t in (0x8100, 0x88a8):
            t = struct.unpack(">H", p[o + 2:o + 4])[0]
            o += 4
        return o
    if dlt == 113:
        return 16
    if dlt == 276:
        return 20
    if dlt in (0, 108):
        return 4
    if dlt in (101, 12, 14, 228, 229):
        return 0
    return None

def split_tcp(dlt, p, rng):
    """Return a list of frames carrying p's TCP payload in pieces (or [p])."""
    o = l3_offset(dlt, p)
    if o is None or len(p) < o + 20:
        return [p]
    v = p[o] >> 4
    if v == 4:
        ihl = (p[o] & 15) * 4
        if p[o + 9] != 6:
            return [p]
        tot = struct.unpack(">H", p[o + 2:o + 4])[0]
        th = o + ihl
        end = o + tot
    elif v == 6:
        if p[o + 6] != 6:
            return [p]
        th = o + 40
        end = o + 40 + struct.unpack(">H", p[o + 4:o + 6])[0]
    else:
        return [p]
    thl = (p[th + 12] >> 4) * 4
    pay = p[th + thl:end]
    flags = p[th + 13]
    if len(pay) < 2 or flags & 0x07:      # keep SYN/FIN/RST segments whole
        return [p]
    seq = struct.unpack(">I", p[th + 4:th + 8])[0]
    cuts = sorted(rng.sample(range(1, len(pay)), min(len(pay) - 1, rng.randint(0, 2))))
    bounds = [0] + cuts + [len(pay)]
    out = []
    for a, z in zip(bounds, bounds[1:]):
        q = bytearray(p[:th + thl]) + pay[a:z]
        struct.pack_into(">I", q, th + 4, (seq + a) & 0xffffffff)
        if v == 4:
            struct.pack_into(">H", q, o + 2, ihl + thl + (z - a))
        else:
            struct.pack_into(">H", q, o + 4, thl + (z - a))
        out.append(bytes(q))
    return out

def direction(dlt, p):
    o = l3_offset(dlt, p)
    if o is None or len(p) < o + 1:
        return None
    if p[o] >> 4 == 4:
        th = o + (p[o] & 15) * 4
        return p[o + 12:o + 20] + p[th:th + 4]
    return p[o + 8:o + 40] + p[o + 40:o + 44]

def tcp_flags(dlt, p):
    o = l3_offset(dlt, p)
    if o is None or len(p) < o + 20:
        return 0
    th = o + ((p[o] & 15) * 4 if p[o] >> 4 == 4 else 40)
    return p[th + 13] if len(p) > th + 13 else 0

def mangle(inp, outp, seed):
    e, hdr, dlt, pkts = read_pcap(inp)
    rng = random.Random(seed)
    frames = []
    seen = set()
    for s, f, p in pkts:
        d = direction(dlt, p)
        if d not in seen:
            # The first frame of each direction stays whole and in place: a
            # capture without the SYN starts the stream wherever it starts.
            seen.add(d)
            frames.append([s, f, p, True])
            continue
        for q in split_tcp(dlt, p, rng):
            frames.append([s, f, q, False])
    # shuffle runs of consecutive frames from the same sender
    i = 0
    while i < len(frames):
        j = i
        d = direction(dlt, frames[i][2])
        # a run: consecutive frames of one sender; a RST stays last
        while (not frames[i][3] and j + 1 < len(frames) and direction(dlt, frames[j + 1][2]) == d
               and not frames[j + 1][3] and not tcp_flags(dlt, frames[j + 1][2]) & 0x04):
            j += 1
        run = frames[i:j + 1]
        rng.shuffle(run)
        # duplicates inside the run
        extra = [list(x) for x in run if rng.random() < 0.15]
        run += extra
        rng.shuffle(run)
        frames[i:j + 1] = run
        i += len(run)
    with open(outp, "wb") as w:
        w.write(hdr)
        for s, f, q, _ in frames:
            w.write(struct.pack(e + "IIII", s, f, len(q), len(q)))
            w.write(q)

def streams(capdump, cap):
    r = subprocess.run([capdump, "-s", cap], capture_output=True, text=True)
    return sorted(l.split(" ", 2)[2] for l in r.stdout.splitlines() if l.startswith("flow ")), r.returncode

def main():
    capdump = os.environ.get("CAPDUMP")
    if not capdump:
        return 77
    fails = n = 0
    with tempfile.TemporaryDirectory() as td:
        for cap in sys.argv[1:]:
            if read_pcap(cap) is None:
                continue
            want, rc = streams(capdump, cap)
            if rc != 0:
                continue                # fatal for capdump: nothing to compare
            for seed in range(1, 6):
                out = os.path.join(td, "m.pcap")
                mangle(cap, out, seed)
                got, rc2 = streams(capdump, out)
                n += 1
                if got != want or rc2 != 0:
                    fails += 1
                    print("FAIL %s seed %d" % (cap, seed))
                    for a, b in zip(want, got):
                        if a != b:
                            print("  want %s\n  got  %s" % (a, b))
                            break
            print("done %s (%d flows)" % (cap, len(want)))
    print("%d mangled captures, %d failures" % (n, fails))
    return 1 if fails else 0

sys.exit(main())
