#!/usr/bin/env python3
"""tests/captures-real/partial_captures.py: fcgiscope on partial copies of the healthy real captures.

Usage: partial_captures.py MODE FCGISCOPE CAPTURES_REAL_DIR [--stride N]

MODE
  drops   issue 19 point 6 (capture loss is not an attack). For every healthy
          capture (all of captures/real but nginx-phpfpm-killed) write copies
          with packets dropped at random (seeded; rates 0.5-5 %), run
          `fcgiscope -f json` on each and require:
            - no error- or warning-level anomaly but the gap-class ones
              (GAP_CLASS below; docs/ANOMALIES.md "capture_gap"), beyond the
              ids the uncut capture itself raises at that level;
            - every request reported with gap=false equals a request of the
              uncut capture (client, method, uri, status, stdout_bytes), each
              uncut request matched at most once;
            - no request reported twice (client, request id, start).
  cuts    issue 12 "Done when" (capture start and end are not connection
          events). Cut every healthy capture after packet k (frames 1..k) and
          before it (frames k..end), for every k (every Nth with --stride N),
          and require `--fail-on warning` exit 0 (where the uncut capture
          passes it; otherwise no error/warning id the uncut capture lacks) and
          every request reported complete to equal the uncut capture's request
          (uri, status, latency_us), found by client, request id and start.
  ports   issue 12 "Done when", the other half: start cuts (frames k..end)
          analysed with `-p 9000` (the captures' server port) and with `-p 1`
          (port 9000 unlisted: FastCGI must be recognised mid-connection)
          report the same requests.

Copies are written with the standard library only (struct), into a temporary
folder. Exit 0 when every check holds, 1 with one line per problem.
"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

# Findings that say bytes are missing from the capture (not protocol problems).
# capture_gap is raised by the decoder; the others by the front ends.
GAP_CLASS = {"capture_gap", "snaplen_truncated", "tcp_ooo_cap", "capture_drops"}
# Not healthy traffic: a killed worker, and the failure scenarios recorded on
# purpose (captures/README.md): backend down/timeouts/too big headers, workers
# recycled under keep-alive. (backlog and internal are healthy traffic.)
UNHEALTHY = {"nginx-phpfpm-killed", "nginx-phpfpm-failures", "nginx-phpfpm-maxreq"}
DROP_RATES = (0.005, 0.01, 0.02, 0.05)
DROP_SEEDS = tuple(range(1, 11))

problems = []


def bad(where, msg):
    problems.append("%s: %s" % (where, msg))


def read_pcap(path):
    """(24-byte file header, [record bytes incl. its 16-byte header])"""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError("%s: not a classic pcap file" % path)
    pos, recs = 24, []
    while pos + 16 <= len(data):
        incl = struct.unpack(e + "I", data[pos + 8:pos + 12])[0]
        if pos + 16 + incl > len(data):
            raise ValueError("%s: truncated record at byte %d" % (path, pos))
        recs.append(data[pos:pos + 16 + incl])
        pos += 16 + incl
    return data[:24], recs


def write_pcap(path, hdr, recs):
    with open(path, "wb") as f:
        f.write(hdr)
        for r in recs:
            f.write(r)


def run(fcgiscope, path, *extra):
    """(exit status, [request objects], summary object)"""
    p = subprocess.run([fcgiscope, "-q", "-f", "json"] + list(extra) + [path],
                       capture_output=True, text=True, timeout=60)
    reqs, summ = [], None
    for line in p.stdout.splitlines():
        j = json.loads(line)
        if j.get("type") == "request":
            reqs.append(j)
        elif j.get("type") == "summary":
            summ = j
    if summ is None:
        raise RuntimeError("%s: no summary (exit %d): %s" % (path, p.returncode, p.stderr.strip()[:200]))
    return p.returncode, reqs, summ


def loud_ids(summ):
    """ids raised at warning or error level"""
    return {g["id"] for g in summ["anomaly_groups"] if g["severity"] in ("warning", "error")}


def req_key(r):
    return (r["client"], r["request_id"], r["start"])


def healthy(capdir):
    out = []
    for n in sorted(os.listdir(capdir)):
        if n.endswith(".pcap") and n[:-5] not in UNHEALTHY:
            out.append(os.path.join(capdir, n))
    return out


def pool_map(fn, items):
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as ex:
        return list(ex.map(fn, items))


def mode_drops(fcgiscope, capdir, tmp, stride):
    counts = {"copies": 0, "dropped": 0, "gap_requests": 0, "requests": 0}
    jobs = []
    for cap in healthy(capdir):
        name = os.path.basename(cap)[:-5]
        hdr, recs = read_pcap(cap)
        _, whole, wsum = run(fcgiscope, cap)
        if not whole:
            bad(name, "the uncut capture reports no request")
        base_loud = loud_ids(wsum)
        for rate in DROP_RATES:
            for seed in DROP_SEEDS:
                rng = random.Random("%s/%s/%d" % (name, rate, seed))
                kept = [r for r in recs if rng.random() >= rate]
                if len(kept) == len(recs):  # nothing dropped: drop one packet anyway
                    del kept[rng.randrange(len(kept))]
                out = os.path.join(tmp, "%s-drop%g-s%d.pcap" % (name, rate * 100, seed))
                write_pcap(out, hdr, kept)
                counts["copies"] += 1
                counts["dropped"] += len(recs) - len(kept)
                jobs.append((name, out, whole, base_loud))

    def check(job):
        name, path, whole, base_loud = job
        where = os.path.basename(path)
        _, reqs, summ = run(fcgiscope, path)
        msgs = []
        extra = loud_ids(summ) - GAP_CLASS - base_loud
        for g in summ["anomaly_groups"]:
            if g["id"] in extra:
                msgs.append("%s %s x%d (frames %s): %s" % (g["severity"], g["id"], g["count"],
                                                             g["first_frames"], g["first_detail"]))
        avail = {}
        for w in whole:
            k = (w["client"], w["method"], w["uri"], w["status"], w["stdout_bytes"])
            avail[k] = avail.get(k, 0) + 1
        seen = set()
        ngap = 0
        for r in reqs:
            if "gap" not in r:
                msgs.append("request objects carry no \"gap\" field")
                break
            if req_key(r) in seen:
                msgs.append("request reported twice: %s id %d at %s" % req_key(r))
            seen.add(req_key(r))
            if r["gap"]:
                ngap += 1
                continue
            k = (r["client"], r["method"], r["uri"], r["status"], r["stdout_bytes"])
            if avail.get(k, 0) == 0:
                msgs.append("gap=false request not in the uncut capture: %s %s %s status %s, %s stdout bytes, "
                            "end %s (frame %s)" % (r["client"], r["method"], r["uri"], r["status"],
                                                   r["stdout_bytes"], r["end"], r["frame"]))
            else:
                avail[k] -= 1
        return where, msgs, len(reqs), ngap, "capture_gap" in summ["anomalies"]

    counts["with_gap"] = 0
    for where, msgs, n, ngap, had_gap in pool_map(check, jobs):
        counts["requests"] += n
        counts["gap_requests"] += ngap
        counts["with_gap"] += had_gap
        for m in msgs:
            bad(where, m)
    print("drops: %(copies)d copies, %(dropped)d packets dropped, %(with_gap)d with capture_gap, "
          "%(requests)d requests reported (%(gap_requests)d with gap=true)" % counts)
    # the checks above must have had something to check
    if counts["with_gap"] < counts["copies"] // 2 or counts["gap_requests"] == 0:
        bad("drops", "too few copies lost FastCGI bytes (%(with_gap)d of %(copies)d; %(gap_requests)d gap requests)"
            % counts)


def cut_points(n, stride, phase):
    return [k for k in range(1, n + 1) if (k + phase) % stride == 0 or k in (1, 2, n - 1, n)]


def mode_cuts(fcgiscope, capdir, tmp, stride):
    jobs = []
    ncaps = 0
    for ci, cap in enumerate(healthy(capdir)):
        name = os.path.basename(cap)[:-5]
        hdr, recs = read_pcap(cap)
        rc, whole, wsum = run(fcgiscope, cap, "--fail-on", "warning")
        base_loud = loud_ids(wsum)
        if rc != 0:
            print("cuts: note: %s itself fails --fail-on warning (%s): its cuts may raise those ids only"
                  % (name, ",".join(sorted(base_loud))))
        byk = {req_key(w): w for w in whole}
        ncaps += 1
        n = len(recs)
        for k in cut_points(n, stride, ci):
            if k < n:
                jobs.append((name, "end", k, hdr, recs[:k], byk, base_loud, rc))
            if k > 1:
                jobs.append((name, "start", k, hdr, recs[k - 1:], byk, base_loud, rc))

    def check(job):
        name, side, k, hdr, part, byk, base_loud, base_rc = job
        where = "%s %s cut k=%d (%s)" % (name, side, k, "frames 1-%d" % k if side == "end" else "frames %d-" % k)
        path = os.path.join(tmp, "%s-%s-%d.pcap" % (name, side, k))
        write_pcap(path, hdr, part)
        rc, reqs, summ = run(fcgiscope, path, "--fail-on", "warning")
        os.unlink(path)
        msgs = []
        loud = loud_ids(summ)
        if (base_rc == 0 and rc != 0) or (loud - base_loud):
            for g in summ["anomaly_groups"]:
                if g["severity"] in ("warning", "error") and (base_rc == 0 or g["id"] not in base_loud):
                    msgs.append("exit %d: %s %s x%d (frames %s): %s" % (rc, g["severity"], g["id"], g["count"],
                                                                      g["first_frames"], g["first_detail"]))
            if not msgs:
                msgs.append("--fail-on warning exit %d" % rc)
        for r in reqs:
            if not r["complete"]:
                continue
            w = byk.get(req_key(r))
            if w is None:
                msgs.append("complete request not in the uncut capture: %s id %d at %s %s" %
                            (r["client"], r["request_id"], r["start"], r["uri"]))
                continue
            for f in ("uri", "status", "latency_us"):
                if r[f] != w[f]:
                    msgs.append("%s %s: %s here, %s uncut" % (r["uri"], f, r[f], w[f]))
        return where, msgs, sum(1 for r in reqs if r["complete"]), sum(1 for r in reqs if not r["complete"])

    results = pool_map(check, jobs)
    ncomplete = nincomplete = 0
    for where, msgs, nc, ni in results:
        ncomplete += nc
        nincomplete += ni
        for m in msgs:
            bad(where, m)
    print("cuts: %d captures, %d cut copies (stride %d), %d complete requests compared, %d incomplete"
          % (ncaps, len(results), stride, ncomplete, nincomplete))
    if ncomplete == 0 or nincomplete == 0:
        bad("cuts", "nothing compared (%d complete, %d incomplete requests)" % (ncomplete, nincomplete))


def mode_ports(fcgiscope, capdir, tmp, stride):
    jobs = []
    for ci, cap in enumerate(healthy(capdir)):
        name = os.path.basename(cap)[:-5]
        hdr, recs = read_pcap(cap)
        for k in cut_points(len(recs), stride, ci):
            if k > 1:
                jobs.append((name, k, hdr, recs[k - 1:]))

    def check(job):
        name, k, hdr, part = job
        where = "%s start cut k=%d" % (name, k)
        path = os.path.join(tmp, "%s-ports-%d.pcap" % (name, k))
        write_pcap(path, hdr, part)
        _, listed, _ = run(fcgiscope, path, "-p", "9000")
        _, unlisted, _ = run(fcgiscope, path, "-p", "1")
        os.unlink(path)

        def view(reqs):
            return sorted((r["client"], r["request_id"], r["start"], r["uri"] or "", r["status"] or 0,
                           r["complete"]) for r in reqs)
        a, b = view(listed), view(unlisted)
        msgs = []
        if a != b:
            only_a = [x for x in a if x not in b]
            only_b = [x for x in b if x not in a]
            msgs.append("%d requests with -p 9000, %d with -p 1; only with -p 9000: %s; only with -p 1: %s"
                        % (len(a), len(b), only_a[:3], only_b[:3]))
        return where, msgs, len(a)

    results = pool_map(check, jobs)
    nreq = 0
    for where, msgs, n in results:
        nreq += n
        for m in msgs:
            bad(where, m)
    print("ports: %d start cuts compared (stride %d), %d requests with -p 9000" % (len(results), stride, nreq))
    if nreq == 0:
        bad("ports", "no request found in any start cut with -p 9000")


def main(argv):
    if len(argv) < 4 or argv[1] not in ("drops", "cuts", "ports"):
        sys.stderr.write(__doc__)
        return 2
    mode, fcgiscope, capdir = argv[1], argv[2], argv[3]
    stride = 1
    if len(argv) >= 6 and argv[4] == "--stride":
        stride = max(1, int(argv[5]))
    if not healthy(capdir):
        print("no captures in %s" % capdir)
        return 1
    with tempfile.TemporaryDirectory(prefix="fcgiscope-partial-") as tmp:
        {"drops": mode_drops, "cuts": mode_cuts, "ports": mode_ports}[mode](fcgiscope, capdir, tmp, stride)
    for p in problems[:60]:
        print(p)
    if len(problems) > 60:
        print("... %d more problems" % (len(problems) - 60))
    print("%d problem(s)" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
