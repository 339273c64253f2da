#!/usr/bin/env python3
"""user_waits.py — with --latency from-syn, the slowest list shows each user's wait at the FastCGI hop as the web server logged it.

Normative reference: issue 19 point 4 (waiting before the request is
invisible) and analyzer/README.md `--latency fcgi|from-syn` ("what the latency
percentiles, the histogram and the slowest list measure"). On every
failure-scenario capture in captures/real (expect files with
`user_requests`), each user request that the web server sent once, on a new
connection whose handshake is in the capture (the analyzer's `connect_us`
is set), waited from that connection's first SYN to END_REQUEST:

  nginx    $upstream_response_time (from the start of the connect to the
           response's end; one upstream attempt, status below 500)
  HAProxy  %Ta - %TR - %Tw with %rc 0 and %Tc >= 0 (the connect, the wait for
           GET_VALUES_RESULT and the response; not retried)

The text report's slowest table (`--latency from-syn --slowest 1000`) must
give that time for the request's frame within the log's 1 ms resolution
+ 2 ms + 5% (tests/analyzer/check_capture.py's tolerance) + the table's
display rounding (only from above where the expect file says
`frontend_latency_one_sided`). At least one compared wait must exceed BEGIN_REQUEST ->
END_REQUEST by 100 ms (else the captures no longer show a wait and the
check proves nothing).

  user_waits.py FCGISCOPE CAPTURES_REAL_DIR
"""
import glob
import json
import os
import re
import subprocess
import sys

TAG = "HTTP_X_REQUEST_ID"


def log_waits(path, haproxy):
    """tag -> the user's wait at the FastCGI hop in us, for requests sent once."""
    out = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if haproxy:
            c = line.split("|")
            if len(c) != 13:
                continue
            tr, tw, tc, tresp, ta = (int(x) for x in c[2:7])
            if int(c[11]) == 0 and tc >= 0 and tresp >= 0 and int(c[1]) < 500:
                out[c[0]] = (ta - tr - tw) * 1000
        else:
            c = line.split("\t")
            if len(c) < 12 or "," in c[3] or ":" in c[3] or c[3] in ("-", ""):
                continue
            if c[2] in ("-", "") or int(c[2]) >= 500 or int(c[1]) >= 500:
                continue
            out[c[0]] = int(round(float(c[3]) * 1e6))
    return out


UNITS = {"s": 1e6, "ms": 1e3, "\u00b5s": 1.0, "us": 1.0, "ns": 1e-3}


def parse_duration(text):
    """"1.16s" -> (1160000, 5000): the value in us and half its last printed digit."""
    m = re.fullmatch(r"([0-9.]+)(s|ms|\u00b5s|us|ns)", text)
    if not m:
        return None
    num, unit = m.group(1), m.group(2)
    dec = len(num.split(".")[1]) if "." in num else 0
    return float(num) * UNITS[unit], 0.5 * 10 ** -dec * UNITS[unit]


def slowest_table(fcgiscope, cap, ports):
    """frame -> (elapsed us, rounding us) from the text report's slowest table, from-syn."""
    p = subprocess.run([fcgiscope, "--latency", "from-syn", "--slowest", "1000", "-p", ports, cap],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if p.returncode not in (0, 1):
        return None
    rows, inside = {}, False
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        if re.match(r"Slowest \d+ requests?", line):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            f = line.split()
            if f[0] == "elapsed" or line.startswith("            "):
                continue    # the header, a tagged note line
            d = parse_duration(f[0].lstrip("\u2265"))
            frame = int(f[-2]) if len(f) > 2 and f[-2].isdigit() else None
            if d is not None and frame is not None:
                rows[frame] = d
    return rows


def main():
    fcgiscope, real = sys.argv[1], sys.argv[2]
    fails, compared, waited = [], 0, 0
    for exp_path in sorted(glob.glob(os.path.join(real, "*.expect.json"))):
        exp = json.load(open(exp_path))
        if "user_requests" not in exp:
            continue
        name = os.path.basename(exp_path)[:-len(".expect.json")]
        cap = os.path.join(real, exp["capture"])
        ports = ",".join(str(p) for p in exp["server_ports"])
        waits = log_waits(os.path.join(real, exp["frontend_log"]), exp["pair"].startswith("haproxy"))
        p = subprocess.run([fcgiscope, "-f", "json", "--param", TAG, "-p", ports] +
                           list(exp.get("analyzer_args") or []) + [cap],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        reqs = {}
        for l in p.stdout.decode("utf-8", "replace").splitlines():
            o = json.loads(l)
            if o.get("type") == "request":
                reqs.setdefault((o.get("params") or {}).get(TAG), []).append(o)
        table = slowest_table(fcgiscope, cap, ports)
        if table is None:
            fails.append("%s: fcgiscope failed" % name)
            continue
        for tag, want in sorted(waits.items()):
            rs = reqs.get(tag) or []
            if len(rs) != 1 or rs[0].get("connect_us") is None or not rs[0].get("complete"):
                continue    # retried, not the connection's first request, or incomplete
            r = rs[0]
            got = table.get(r["frame"])
            if got is None:
                fails.append("%s %s: frame %s not in the slowest table" % (name, tag, r["frame"]))
                continue
            compared += 1
            if want - r["latency_us"] > 100000:
                waited += 1
            tol = 1000 + 2000 + 0.05 * want + got[1]
            # frontend_latency_one_sided: the log's time is an upper bound only (nginx's cached
            # clock under concurrency, captures/README.md nginx-phpfpm-maxreq)
            if got[0] - want > tol or (not exp.get("frontend_latency_one_sided") and want - got[0] > tol):
                fails.append("%s %s (frame %d): slowest table %.0f us from the first SYN, the log %d us "
                             "(BEGIN->END %d us, tolerance %.0f)"
                             % (name, tag, r["frame"], got[0], want, r["latency_us"], tol))
    print("%d user waits compared, %d of them at least 100 ms longer than BEGIN->END" % (compared, waited))
    if compared < 20 or waited < 3:
        fails.append("too few waits compared (%d, %d waited): the captures or their logs are missing"
                     % (compared, waited))
    for f in fails:
        print("FAIL: " + f)
    print("%d passed, %d failed" % (compared - len(fails), len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
