#!/usr/bin/env python3
"""vg_parse.py — sort valgrind memcheck logs of a tshark run into our errors and Wireshark's.

Normative reference: valgrind's memcheck manual (log format: one "==PID=="
prefixed block per error, blank prefixed line between blocks; "Command:"
in the preamble; "ERROR SUMMARY" at the end), issue 7 (memcheck clean for
tshark with the plugin).

  vg_parse.py OURS_REGEX LOG KIND TSHARK_RC SECONDS TSHARK_STDOUT
LOG: valgrind's output of every process of the chain (--log-fd=2, mixed
with their own stderr); split per pid, and per exec within a pid.
Exit 1 when an error block has a frame matching OURS_REGEX, or when no log of
a finished tshark process was found. TSHARK_STDOUT "-": not checked
(the self-test).
"""
import os
import re
import sys

ERR = re.compile(r"^(Invalid (read|write|free)|Conditional jump|Use of uninitialised|"
                 r"Syscall param|Mismatched free|Source and destination overlap|"
                 r"Argument '.*' of function|.*definitely lost in loss record)")


def blocks(lines):
    cur = []
    for ln in lines:
        m = re.match(r"^==\d+== ?(.*)$", ln)
        if not m:
            continue
        body = m.group(1)
        if body.strip() == "":
            if cur:
                yield cur
            cur = []
        else:
            cur.append(body)
    if cur:
        yield cur


def main(argv):
    ours = re.compile(argv[1])
    logdir, kind, rc, secs, out = argv[2], argv[3], int(argv[4]), argv[5], argv[6]
    tshark_logs = 0
    finished = 0
    our_errs = []
    other = 0
    summary = []
    per = {}
    with open(logdir, errors="replace") as fh:
        for ln in fh.read().splitlines():
            m = re.match(r"^==(\d+)== ", ln)
            if not m:
                continue
            segs = per.setdefault(m.group(1), [])
            if "Memcheck, a memory error detector" in ln or not segs:
                segs.append([])
            segs[-1].append(ln)
    for lines in (seg for segs in per.values() for seg in segs):
        cmd = next((l.split("Command: ", 1)[1] for l in lines if "Command: " in l), "")
        if "tshark" not in cmd.split(" ")[0]:
            continue
        tshark_logs += 1
        for ln in lines:
            if "ERROR SUMMARY" in ln:
                finished += 1
                summary.append(ln.split("== ", 1)[-1])
            if "definitely lost:" in ln or "possibly lost:" in ln or "still reachable:" in ln:
                summary.append(ln.split("== ", 1)[-1].strip())
        for b in blocks(lines):
            if not ERR.match(b[0]):
                continue
            if any(ours.search(l) for l in b):
                our_errs.append(b)
            else:
                other += 1
    nout = os.path.getsize(out) if out != "-" and os.path.exists(out) else 0
    print(f"{kind}: tshark exit {rc}, {secs} s under valgrind, {nout} bytes of -V output; "
          f"{len(our_errs)} error(s) in our code, {other} elsewhere (Wireshark/GLib, not ours)")
    for s in summary:
        print(f"  {kind}: {s}")
    fail = False
    if tshark_logs == 0 or finished == 0:
        print(f"FAIL {kind}: no finished valgrind log of tshark (rc {rc})")
        fail = True
    if out != "-" and not fail:
        with open(out, "rb") as fh:
            if b"FastCGI (fcgiscope)" not in fh.read():
                print(f"FAIL {kind}: the plugin dissected nothing (no 'FastCGI (fcgiscope)' in -V output)")
                fail = True
    if rc != 0:
        print(f"FAIL {kind}: tshark exit status {rc}")
        fail = True
    for b in our_errs:
        print(f"FAIL {kind}: " + "\n    ".join(b))
        fail = True
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
