#!/usr/bin/env python3
"""check_gen.py — correctness test of the benchmark pipeline: generated capture -> fcgiscope finds exactly what was written.

Normative reference: bench/gen.c (its --summary JSON), analyzer/README.md
(the JSON report: request lines and the summary line); issue 6. Not a timing
test: nothing here depends on speed.
"""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gen", required=True)
    ap.add_argument("--fcgiscope", required=True)
    ap.add_argument("--bareloop")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--mss", default="1448")
    ap.add_argument("--precision", choices=["us", "ns"], default="us")
    ap.add_argument("--size", default="5M")
    ap.add_argument("--seed", default="7")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()

    os.makedirs(a.dir, exist_ok=True)
    cap = os.path.join(a.dir, "gen.pcap")
    summ = os.path.join(a.dir, "gen.json")
    rep = os.path.join(a.dir, "report.json")
    base = [a.gen, "--size", a.size, "--mss", a.mss, "--seed", a.seed, "--concurrency", "64"]
    if a.precision == "ns":
        base.append("--ns")
    subprocess.run(base + ["-o", cap, "--summary", summ], check=True)
    with open(summ) as f:
        g = json.load(f)
    # Determinism: the same options give the same bytes.
    cap2 = os.path.join(a.dir, "gen2.pcap")
    subprocess.run(base + ["-o", cap2], check=True)
    with open(cap, "rb") as f1, open(cap2, "rb") as f2:
        if f1.read() != f2.read():
            fail("generator is not deterministic")
    os.unlink(cap2)
    if g["requests"] < 50 or g["connections"] < 20:
        fail("generator wrote too little: %r" % g)
    if g["file_bytes"] != os.path.getsize(cap):
        fail("summary file_bytes %d != file size %d" % (g["file_bytes"], os.path.getsize(cap)))

    r = subprocess.run([a.fcgiscope, "-q", "-f", "json", "-o", rep, cap])
    if r.returncode != 0:
        fail("fcgiscope exited %d" % r.returncode)
    reqs, summary, others = [], None, []
    with open(rep) as f:
        for line in f:
            o = json.loads(line)
            if o["type"] == "request":
                reqs.append(o)
            elif o["type"] == "summary":
                summary = o
            else:
                others.append(o)
    if summary is None:
        fail("no summary line")
    if others:
        fail("unexpected connection-level records: %s" % others[:3])
    checks = [
        ("request lines", len(reqs), g["requests"]),
        ("summary requests.total", summary["requests"]["total"], g["requests"]),
        ("summary requests.complete", summary["requests"]["complete"], g["requests"]),
        ("summary requests.incomplete", summary["requests"]["incomplete"], 0),
        ("connections", summary["connections"], g["connections"]),
        ("packets", summary["packets"], g["packets"]),
        ("GET", sum(1 for q in reqs if q["method"] == "GET"), g["get"]),
        ("POST", sum(1 for q in reqs if q["method"] == "POST"), g["post"]),
        ("stdin bytes", sum(q["stdin_bytes"] for q in reqs), g["stdin_bytes"]),
        ("stdout bytes", sum(q["stdout_bytes"] for q in reqs), g["stdout_bytes"]),
        ("incomplete request lines", sum(1 for q in reqs if not q["complete"]), 0),
        ("precision", summary["precision"], a.precision),
        ("anomalies", summary["anomalies"], {"end_without_stdout_eos": g["requests"]}),
        ("max_severity", summary["max_severity"], "note"),
        ("statuses", {k: v for k, v in summary["statuses"].items() if v},
         {k: v for k, v in g["statuses"].items() if v}),
    ]
    bad = [c for c in checks if c[1] != c[2]]
    for name, got, want in bad:
        print("mismatch %s: fcgiscope %r, generator %r" % (name, got, want), file=sys.stderr)
    # Every request: id 1, keep_conn, the generator's latency bounds (1-200 ms
    # server time plus transmission), and only the php-fpm note.
    for q in reqs:
        if q["anomalies"] != ["end_without_stdout_eos"]:
            fail("request at frame %s: anomalies %r" % (q["frame"], q["anomalies"]))
        if q["request_id"] != 1 or not q["keep_conn"] or q["content_length"] != (
                q["stdin_bytes"] if q["method"] == "POST" else None):
            fail("request at frame %s: %r" % (q["frame"], q))
        if not (1000 <= q["server_us"] <= 201000):
            fail("request at frame %s: server_us %r outside 1-200 ms" % (q["frame"], q["server_us"]))
    if a.bareloop:
        out = subprocess.run([a.bareloop, cap], check=True, capture_output=True, text=True).stdout
        kv = dict(x.split("=") for x in out.split())
        if int(kv["packets"]) != g["packets"]:
            bad.append(("bareloop packets", kv["packets"], g["packets"]))
            print("mismatch bareloop packets: %s vs %d" % (kv["packets"], g["packets"]), file=sys.stderr)
    if bad:
        fail("%d mismatches (files kept in %s)" % (len(bad), a.dir))
    print("ok: %d requests on %d connections, %d packets, %d bytes (mss %s, %s)" % (
        g["requests"], g["connections"], g["packets"], g["file_bytes"], a.mss, a.precision))
    if not a.keep:
        shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
