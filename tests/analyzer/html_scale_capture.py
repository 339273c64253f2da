#!/usr/bin/env python3
"""html_scale_capture.py — a capture of many small FastCGI requests, for -f html's scale figures.

  html_scale_capture.py OUT.pcap [N]     N requests (default 1,000,000)

N GET requests, one every 20 us, on 1024 kept-alive connections (no SYN:
they start before the capture), latency log-normal around 0.5 ms (at most
15 ms), 0.5% HTTP 500 and 2% 404, 37 scripts; a fixed seed. Written with
cli_test.py's capture writer (Ethernet/IPv4/TCP/FastCGI from scratch), in
time order, streamed to the file. About 400 bytes and 2 packets per
request; 1,000,000 take ~100 s of Python. Not a CTest test: analyzer/README.md
"`-f html`" quotes the page size and time measured on its output.
"""
import os
import random
import sys

OUT = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
sys.argv = [sys.argv[0], "/bin/true"]  # cli_test reads argv[1] (its fcgiscope) when imported
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test as ct  # noqa: E402

random.seed(7)
p = ct.Pcap()
flows = [ct.Flow(p, 43000 + i) for i in range(1024)]
t = ct.T0
with open(OUT, "wb") as out:
    out.write(p.bytes())  # the file header
    for i in range(N):
        f = flows[i % 1024]
        lat = min(int(random.lognormvariate(13, 1)) + 50000, 15000000)
        st = 500 if random.random() < 0.005 else (404 if random.random() < 0.02 else 200)
        f.send(t, 0, ct.request_bytes(1, ct.std_params(b"/p?i=%d" % i, b"/s%d.php" % (i % 37)), keep=True))
        f.send(t + lat, 1, ct.response_bytes(1, st))
        t += 20000
        if len(p.pkts) > 20000:  # what can no longer be overtaken goes out, in time order
            p.pkts.sort(key=lambda x: x[0])
            done = [x for x in p.pkts if x[0] <= t - 20_000_000]
            p.pkts = [x for x in p.pkts if x[0] > t - 20_000_000]
            q = ct.Pcap()
            q.pkts = done
            out.write(q.bytes()[24:])
    p.pkts.sort(key=lambda x: x[0])
    out.write(p.bytes()[24:])
