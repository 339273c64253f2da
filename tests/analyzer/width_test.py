#!/usr/bin/env python3
"""width_test.py — the text report and --help fit 80 columns.

Why: terminals and mail are 80 columns wide. The
text report is laid out for 80 columns and wider only when its output is a
terminal that says it is wider (not the case here: a pipe). Every line of
`fcgiscope --help` and of the text report of every capture in captures/ (with
and without -v, with colours, with --param) must be at most 80 columns:
SGR sequences take none, every other code point one (the report writes only
narrow characters of its own; traffic strings are escaped).

Also: the demo excerpts in README.md and analyzer/README.md are real. Each
line of the block that starts with the report's first line on
captures/demo.pcapng (except the "  ..." elisions) must be a line of
today's report, in order (an excerpt had gone stale once).

  width_test.py FCGISCOPE CAPTURES_DIR
"""
import glob
import os
import re
import subprocess
import sys

BIN, CAPS = sys.argv[1], sys.argv[2]
SGR = re.compile(r"\x1b\[[0-9;]*m")
WIDTH = 80
failed = checked = 0


def cols(line):
    return len(SGR.sub("", line))


def check_output(what, data):
    global failed, checked
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    checked += 1
    wide = [(i + 1, cols(l), l) for i, l in enumerate(lines) if cols(l) > WIDTH]
    for n, c, l in wide[:3]:
        print("FAIL: %s line %d is %d columns: %r" % (what, n, c, SGR.sub("", l)))
    if wide:
        failed += 1
    return len(lines)


def check_excerpts():
    global failed
    root = os.path.dirname(os.path.abspath(CAPS))
    p = subprocess.run([BIN, "--color", "never", "captures/demo.pcapng"], stdout=subprocess.PIPE,
                       cwd=root, timeout=300, env=dict(os.environ, LC_ALL="C.UTF-8"))
    report = p.stdout.decode("utf-8").split("\n")
    for doc in ("README.md", os.path.join("analyzer", "README.md")):
        text = open(os.path.join(root, doc), encoding="utf-8").read()
        start = text.find("```\n" + report[0] + "\n")
        if start < 0:
            print("FAIL: %s has no excerpt starting with %r" % (doc, report[0]))
            failed += 1
            continue
        block = text[start + 4:text.find("```", start + 4)].rstrip("\n").split("\n")
        pos = 0
        for line in block:
            if line.strip() == "...":
                continue
            try:
                pos = report.index(line, pos) + 1
            except ValueError:
                print("FAIL: %s excerpt line not in the report (in order): %r" % (doc, line))
                failed += 1
                break
        print("%s: %d excerpt lines checked" % (doc, len(block)))


def main():
    p = subprocess.run([BIN, "--help"], stdout=subprocess.PIPE, timeout=60)
    check_output("--help", p.stdout)
    caps = sorted(glob.glob(os.path.join(CAPS, "*.pcap*")) + glob.glob(os.path.join(CAPS, "*", "*.pcap*")))
    if not caps:
        print("FAIL: no captures in %s" % CAPS)
        return 1
    nlines = 0
    for cap in caps:
        # the path as a user would give it: relative to the captures' parent
        rel = os.path.relpath(cap, os.path.dirname(os.path.abspath(CAPS)))
        for extra in ([], ["-v"], ["-v", "--color", "always", "--param", "HTTP_X_REQUEST_ID",
                                   "--param", "HTTP_USER_AGENT", "--slowest", "100"]):
            p = subprocess.run([BIN] + extra + [rel],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                               cwd=os.path.dirname(os.path.abspath(CAPS)), env=dict(os.environ, LC_ALL="C.UTF-8"))
            nlines += check_output("%s %s" % (" ".join(extra), rel), p.stdout)
    print("%d outputs checked (%d lines), %d too wide" % (checked, nlines, failed))
    check_excerpts()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
