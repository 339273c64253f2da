#!/usr/bin/env python3
"""check_capture.py — run fcgiscope on a capture and check it against its .expect.json.

Normative reference: captures/EXPECT.md (the expected-result schema): every
capture's requests, anomalies and summary as its expect file says. Standard
library only.

  check_capture.py --fcgiscope BIN EXPECT.json     check one capture
  check_capture.py --fcgiscope BIN --dir DIR       check every DIR/*.expect.json
  check_capture.py --require DIR                   the folder must hold expect files:
                                                   exit 77 (skip) when DIR does not
                                                   exist yet, 1 when it has none

Two runs per capture: the default options (text report: exit status, error
message, no control bytes in the report), and `-f json -p PORTS --param
HTTP_X_REQUEST_ID` (every line valid JSON; the requests, their fields, order
and anomalies); with `nondefault_port`, also a JSON run without -p (FastCGI
detection must find the same requests).

Real captures: latency (BEGIN_REQUEST to END_REQUEST) is compared with the
frontend's own time for the request, within its resolution plus TOL_ABS_US +
TOL_REL of it (scheduling noise between the frontend's clock and the
capture). Where the frontend logs the upstream hop (nginx
$upstream_response_time) the check is two-sided; where it logs more than the
hop (Apache/lighttpd %D and Caddy's duration: the whole HTTP request; HAProxy
%Ta-%TR-%Tw-%Tc: includes the client's body transfer), the capture's latency
must not exceed it (one-sided). The deviations are printed so the
distribution can be reported.

Failure-scenario captures (captures/README.md, EXPECT.md "Failure-scenario keys"):
requests with the same tag are attempts matched in order; user_status, attempt,
retried are compared exactly, severity against severity_min / severity_max, abandoned_after_us / elapsed_us / connect_us with
the nginx times (same tolerance); the summary's user_requests, user_statuses and
backend counts; analyzer_anomalies_must are required; anomaly_counts are the
summary's exact counts of those ids; analyzer_args are passed
to the JSON run (if fcgiscope rejects them, that is a failure and the run is
repeated without them so the other checks still report).
"""
import argparse
import glob
import json
import os
import subprocess
import sys

TOL_ABS_US = 2000     # scheduling noise allowance (absolute)
TOL_REL = 0.05        # ... and relative to the frontend's value
TIMEOUT = 300
TAG_PARAM = "HTTP_X_REQUEST_ID"


class Result:
    def __init__(self, name):
        self.name = name
        self.errors = []
        self.notes = []

    def fail(self, msg):
        self.errors.append(msg)

    def note(self, msg):
        self.notes.append(msg)


def run(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, b"", b"timeout after %d s" % TIMEOUT
    return p.returncode, p.stdout, p.stderr


def capture_path(expect_path, exp):
    d = os.path.dirname(expect_path)
    return os.path.join(d, exp["capture"])


def match_requests(res, exp_reqs, out_reqs, by_tag):
    """Pairs (expected, output) and checks the order. Returns the pairs."""
    pairs = []
    if by_tag:
        if any("attempt" in e for e in exp_reqs):
            return match_attempts(res, exp_reqs, out_reqs)
        index = {}
        for i, r in enumerate(out_reqs):
            tag = (r.get("params") or {}).get(TAG_PARAM)
            if tag is not None:
                if tag in index:
                    res.fail("request tag %r reported twice (output requests %d and %d)" % (tag, index[tag], i))
                index[tag] = i
        positions = []
        for e in exp_reqs:
            tag = e.get("request_tag")
            if tag is None:
                positions.append(None)
                continue
            if tag not in index:
                res.fail("expected request %r (%s %s) not in the output" % (tag, e.get("method"), e.get("uri")))
                positions.append(None)
                continue
            positions.append(index[tag])
            pairs.append((e, out_reqs[index[tag]]))
    else:
        if len(exp_reqs) != len(out_reqs):
            return pairs  # the count check reports it
        positions = list(range(len(exp_reqs)))
        # inside an unordered group, pair each expected one with a fitting output one
        i = 0
        while i < len(exp_reqs):
            g = exp_reqs[i].get("unordered_group")
            j = i + 1
            while g is not None and j < len(exp_reqs) and exp_reqs[j].get("unordered_group") == g:
                j += 1
            if j - i > 1:
                free = list(range(i, j))
                for k in range(i, j):
                    pick = next((p for p in free if not field_errors(exp_reqs[k], out_reqs[p], None)), free[0])
                    free.remove(pick)
                    positions[k] = pick
            i = j
        pairs = [(exp_reqs[k], out_reqs[positions[k]]) for k in range(len(exp_reqs))]
    # order: blocks of one unordered group may be permuted among themselves
    blocks = []
    for e, pos in zip(exp_reqs, positions):
        g = e.get("unordered_group")
        if blocks and g is not None and blocks[-1][0] == g:
            blocks[-1][1].append(pos)
        else:
            blocks.append((g, [pos]))
    last_max = -1
    for g, poss in blocks:
        poss = [p for p in poss if p is not None]
        if not poss:
            continue
        if min(poss) < last_max:
            res.fail("requests out of order: expected block %s at output positions %s after position %d"
                     % ("group %s" % g if g is not None else "", poss, last_max))
        last_max = max(last_max, max(poss))
    return pairs


def match_attempts(res, exp_reqs, out_reqs):
    """Failure-scenario captures (captures/README.md): one user request may be several FastCGI
    requests (attempts) carrying the same tag; the k-th expected request with a tag pairs with
    the k-th output request with it (both in t_begin order), and the output is in t_begin order."""
    by_tag = {}
    for i, r in enumerate(out_reqs):
        tag = (r.get("params") or {}).get(TAG_PARAM)
        if tag is not None:
            by_tag.setdefault(tag, []).append(i)
    used, pairs, last = {}, [], -1
    for e in exp_reqs:
        tag = e.get("request_tag")
        k = used.get(tag, 0)
        used[tag] = k + 1
        got = by_tag.get(tag, [])
        if k >= len(got):
            res.fail("expected request %r attempt %s (%s %s, frame %s) not in the output"
                     % (tag, e.get("attempt"), e.get("method"), e.get("uri"), e.get("frame")))
            continue
        if got[k] < last:
            res.fail("requests out of order: %r attempt %s at output position %d after %d"
                     % (tag, e.get("attempt"), got[k], last))
        last = max(last, got[k])
        pairs.append((e, out_reqs[got[k]]))
    for tag, idx in sorted(by_tag.items()):
        if len(idx) > used.get(tag, 0):
            res.fail("request tag %r reported %d times, expected %d" % (tag, len(idx), used.get(tag, 0)))
    return pairs


# Failure-scenario fields (captures/EXPECT.md): compared exactly where the expect file has them.
SCENARIO_EXACT_KEYS = ("user_status", "attempt", "retried")
# frontend time (expect key) -> the analyzer's field it must match (two-sided, like latency)
SCENARIO_TIME_KEYS = (("frontend_abandoned_us", "abandoned_after_us"),
                      ("frontend_elapsed_us", "elapsed_us"),
                      ("frontend_connect_us", "connect_us"))


def scenario_field_errors(e, o, deviations=None):
    errs = []
    for k in SCENARIO_EXACT_KEYS:
        if k in e and o.get(k) != e[k]:
            errs.append("%s: got %r, want %r" % (k, o.get(k), e[k]))
    rank = {None: 0, "note": 1, "warning": 2, "error": 3}
    if ("severity_max" in e or "severity_min" in e) and "severity" not in o:
        errs.append("severity: no such field in the request line")
    elif "severity_max" in e and rank.get(o.get("severity"), 9) > rank[e["severity_max"]]:
        errs.append("severity: got %r, at most %r (a failed attempt the user never saw)"
                    % (o.get("severity"), e["severity_max"]))
    elif "severity_min" in e and rank.get(o.get("severity"), 0) < rank[e["severity_min"]]:
        errs.append("severity: got %r, at least %r (the user got %s)"
                    % (o.get("severity"), e["severity_min"], e.get("user_status")))
    for ek, ok in SCENARIO_TIME_KEYS:
        if ek not in e or e[ek] is None:
            continue
        fe = e[ek]
        got = o.get(ok)
        tol = e.get("frontend_resolution_us", 1000) + TOL_ABS_US + TOL_REL * fe
        if not isinstance(got, int):
            errs.append("%s: %r, the frontend measured %d us (%s)" % (ok, got, fe, ek))
        elif abs(got - fe) > tol:
            errs.append("%s %d vs frontend %d us (%s): off by %d (tolerance %.0f)"
                        % (ok, got, fe, ek, got - fe, tol))
        elif deviations is not None:
            deviations.setdefault(ok, []).append(got - fe)
    return errs


def scenario_summary_errors(exp, summary):
    """user_requests, user_statuses and backend counts of the summary (only the keys the
    expect file declares)."""
    errs = []
    if "user_requests" in exp and summary.get("user_requests") != exp["user_requests"]:
        errs.append("summary user_requests: got %r, want %d" % (summary.get("user_requests"), exp["user_requests"]))
    if "user_statuses" in exp:
        got = summary.get("user_statuses")
        if not isinstance(got, dict):
            errs.append("summary user_statuses: got %r, want %s" % (got, exp["user_statuses"]))
        else:
            got = {k: v for k, v in got.items() if v}
            if got != exp["user_statuses"]:
                errs.append("summary user_statuses: got %s, want %s" % (got, exp["user_statuses"]))
    b = exp.get("backend")
    if b is not None:
        gb = summary.get("backend")
        if not isinstance(gb, dict):
            errs.append("summary backend: got %r, want %s" % (gb, {k: v for k, v in b.items() if k != "servers"}))
            return errs
        for k in ("connection_refused", "closed_before_request", "connect_retried"):
            if gb.get(k) != b[k]:
                errs.append("summary backend.%s: got %r, want %d" % (k, gb.get(k), b[k]))
        servers = {s.get("server"): s for s in gb.get("servers") or [] if isinstance(s, dict)}
        for s in b.get("servers") or []:
            g = servers.get(s["server"])
            for k in ("connection_refused", "closed_before_request", "connect_retried"):
                want = s[k]
                have = (g or {}).get(k, 0 if g is None else None)
                if have != want:
                    errs.append("summary backend.servers[%s].%s: got %r, want %d" % (s["server"], k, have, want))
    return errs


EXACT_KEYS = ("client", "server", "request_id", "frame", "method", "uri", "script", "status",
              "complete", "stdin_bytes", "stdout_bytes", "stderr_bytes")


def field_errors(e, o, precision, deviations=None, two_sided=True):
    errs = []
    for k in EXACT_KEYS:
        if k in e and o.get(k) != e[k]:
            errs.append("%s: got %r, want %r" % (k, o.get(k), e[k]))
    if "anomalies" in e:
        got = sorted(set(o.get("anomalies") or []))
        if got != sorted(set(e["anomalies"])):
            errs.append("anomalies: got %s, want %s" % (got, sorted(set(e["anomalies"]))))
    for k in ("latency", "ttfb", "server"):
        ek = k + "_ns"
        if ek not in e:
            continue
        want = e[ek]
        if precision == "ns" or precision is None and (k + "_ns") in o:
            got = o.get(ek)
        else:
            us = o.get(k + "_us")
            got = None if us is None else us * 1000
            if want is not None and want % 1000:
                want = int(round(want / 1000.0)) * 1000
        if got != want:
            errs.append("%s: got %r, want %r (exact)" % (ek, got, want))
    if "frontend_latency_us" in e and e["frontend_latency_us"] is not None:
        fe = e["frontend_latency_us"]
        reso = e.get("frontend_resolution_us", 1000)
        got = o.get("latency_us")
        if got is None:
            errs.append("latency_us: null, the frontend measured %d us" % fe)
        else:
            tol = reso + TOL_ABS_US + TOL_REL * fe
            dev = got - fe
            if deviations is not None:
                deviations.append(dev)
            if dev > tol or (two_sided and -dev > tol):
                errs.append("latency_us %d vs frontend %d us: off by %d (tolerance %.0f%s)"
                            % (got, fe, dev, tol, "" if two_sided else ", one-sided: the frontend's time covers more than the hop"))
    return errs


def check(binary, expect_path, verbose=False):
    name = os.path.relpath(expect_path)
    res = Result(name)
    try:
        with open(expect_path, encoding="utf-8") as f:
            exp = json.load(f)
    except (OSError, ValueError) as ex:
        res.fail("cannot read the expect file: %s" % ex)
        return res
    cap = capture_path(expect_path, exp)
    if not os.path.exists(cap):
        res.fail("capture %s is missing" % cap)
        return res

    # run A: default options
    rc, out, err = run([binary, cap])
    errtext = err.decode("utf-8", "replace")
    if rc is None:
        res.fail("default run: %s" % errtext)
        return res
    if rc < 0:
        res.fail("default run: killed by signal %d (crash?) stderr: %s" % (-rc, errtext[-500:]))
        return res
    if rc != exp.get("exit_status", 0):
        res.fail("default run: exit status %d, want %d; stderr: %s" % (rc, exp.get("exit_status", 0), errtext.strip()[-300:]))
    bad = sorted(set(b for b in out if (b < 0x20 and b not in (0x0a,)) or b == 0x7f))
    if bad:
        res.fail("text report holds control bytes %s (escaping)" % ["0x%02x" % b for b in bad])
    error = exp.get("error")
    if error:
        if error.get("contains") and error["contains"] not in errtext:
            res.fail("error message: %r not in stderr %r" % (error["contains"], errtext.strip()))
        if error.get("fatal"):
            if rc != 2:
                res.fail("fatal error: exit status %d, want 2" % rc)
            if errtext.count("\n") != 1 or not errtext.startswith("fcgiscope: "):
                res.fail("fatal error: want one line \"fcgiscope: ...\", got %r" % errtext)
            return res
    elif "warning" in errtext or "error" in errtext:
        res.fail("stderr on a sound capture: %r" % errtext.strip()[-300:])

    # run B: JSON
    ports = ",".join(str(p) for p in exp.get("server_ports") or [9000])
    cmd = [binary, "-f", "json", "-p", ports, "--param", TAG_PARAM, cap]
    extra = list(exp.get("analyzer_args") or [])
    if extra:
        # options for what the wire cannot tell (the web server's timeout, buffer size)
        rc2, out2, err2 = run(cmd[:-1] + extra + [cap])
        if rc2 == 2 and not out2:
            res.fail("json run with %s: exit 2 (%s); checked again without them"
                     % (" ".join(extra), err2.decode("utf-8", "replace").strip()[-200:]))
            extra = []
    if not extra:
        rc2, out2, err2 = run(cmd)
    if rc2 is None or rc2 < 0:
        res.fail("json run: %s" % ("timeout" if rc2 is None else "killed by signal %d" % -rc2))
        return res
    if rc2 != rc:
        res.fail("json run: exit status %d, the default run %d" % (rc2, rc))
    objs = []
    for n, line in enumerate(out2.split(b"\n")[:-1], 1):
        try:
            objs.append(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, ValueError) as ex:
            res.fail("json line %d is not valid JSON (%s): %r" % (n, ex, line[:200]))
    if not out2.endswith(b"\n") and out2:
        res.fail("json output does not end with a newline")
    if not objs or objs[-1].get("type") != "summary":
        res.fail("json: the last object is not the summary")
        return res
    summary = objs[-1]
    if sum(1 for o in objs if o.get("type") == "summary") != 1:
        res.fail("json: more than one summary")
    reqs = [o for o in objs if o.get("type") == "request"]
    anoms = [o for o in objs if o.get("type") == "anomaly"]
    for o in objs:
        if o.get("type") not in ("request", "anomaly", "summary"):
            res.fail("json: unknown object type %r" % o.get("type"))
    counts_ok = [exp["request_count"]] + list(exp.get("request_count_may") or [])
    if len(reqs) not in counts_ok:
        res.fail("request count: got %d, want %s" % (len(reqs), " or ".join(map(str, counts_ok))))
    if (summary.get("requests") or {}).get("total") != len(reqs):
        res.fail("summary requests.total %r != %d request lines" % ((summary.get("requests") or {}).get("total"), len(reqs)))
    # requests come in order of start (t_begin), then frame
    keys = [(r.get("start") or "", r.get("frame") or 0) for r in reqs]
    for i in range(1, len(keys)):
        if keys[i] < keys[i - 1]:
            res.fail("output not in t_begin order at request %d: %s after %s" % (i, keys[i], keys[i - 1]))
            break
    precision = exp.get("precision")
    if precision == "ns" and reqs and "latency_ns" not in reqs[0]:
        res.fail("ns capture but no latency_ns field")
    if error and not error.get("fatal") and error.get("frame") is not None:
        fr = error["frame"]
        hit = any(a.get("id") == "capture_truncated" and a.get("frame") == fr for a in anoms)
        if not hit and ("frame %d" % fr) not in errtext:
            res.fail("damage at frame %d not reported (no capture_truncated anomaly with that frame)" % fr)

    if exp.get("nondefault_port"):
        rc3, out3, err3 = run([binary, "-f", "json", cap])
        n3 = sum(1 for l in out3.split(b"\n") if l.startswith(b'{"type":"request"'))
        if rc3 != rc or n3 != len(reqs):
            res.fail("without -p (detection): exit %r, %d requests; with -p %d" % (rc3, n3, len(reqs)))

    exp_reqs = exp.get("requests") or []
    by_tag = any("request_tag" in e for e in exp_reqs)
    if exp.get("requests_partial"):
        pairs = []
        last = -1
        for e in exp_reqs:
            hits = [i for i, o in enumerate(reqs) if o.get("frame") == e.get("frame")
                    and o.get("request_id") == e.get("request_id")]
            if len(hits) != 1:
                res.fail("partial: %d output requests with frame %s and request_id %s"
                         % (len(hits), e.get("frame"), e.get("request_id")))
                continue
            if hits[0] < last:
                res.fail("partial: request at frame %s out of order" % e.get("frame"))
            last = hits[0]
            pairs.append((e, reqs[hits[0]]))
    else:
        pairs = match_requests(res, exp_reqs, reqs, by_tag)
    source = exp.get("frontend_latency_source") or ""
    two_sided = ("upstream_response_time" in source or not source) and not exp.get("frontend_latency_one_sided")
    deviations = []
    sdev = {}
    for idx, (e, o) in enumerate(pairs):
        for msg in field_errors(e, o, precision, deviations, two_sided) + scenario_field_errors(e, o, sdev):
            label = e.get("request_tag") or "request %d" % idx
            if "attempt" in e:
                label += " attempt %d" % e["attempt"]
            res.fail("%s (%s %s, frame %s): %s" % (label, o.get("method"), o.get("uri"), o.get("frame"), msg))
    for msg in scenario_summary_errors(exp, summary):
        res.fail(msg)
    for k, v in sorted(sdev.items()):
        v.sort()
        res.note("%s - frontend (us): min %d, median %d, max %d over %d requests"
                 % (k, v[0], v[len(v) // 2], v[-1], len(v)))
    if deviations:
        deviations.sort()
        res.note("latency - frontend (us), %s: min %d, median %d, max %d over %d requests"
                 % ("two-sided" if two_sided else "one-sided", deviations[0],
                    deviations[len(deviations) // 2], deviations[-1], len(deviations)))

    seen = set()
    for r in reqs:
        seen.update(r.get("anomalies") or [])
    seen.update(a.get("id") for a in anoms)
    seen.update((summary.get("anomalies") or {}).keys())
    # analyzer_anomalies_must: evidence outside the FastCGI connection (SYN/RST, retries across
    # connections): required from the analyzer, only allowed (anomalies_may) for the plugin
    must = set(exp.get("anomalies_must") or []) | set(exp.get("analyzer_anomalies_must") or [])
    may = set(exp.get("anomalies_may") or [])
    for m in sorted(must - seen):
        res.fail("anomaly %s must appear but did not" % m)
    for x in sorted(seen - must - may):
        where = [r.get("frame") for r in reqs if x in (r.get("anomalies") or [])][:5] + \
                [a.get("frame") for a in anoms if a.get("id") == x][:5]
        res.fail("anomaly %s is not allowed here (frames %s)" % (x, where))
    for k, v in (summary.get("anomalies") or {}).items():
        if not isinstance(v, int) or v <= 0:
            res.fail("summary anomaly count %s=%r" % (k, v))
    # anomaly_counts: how many times an id must be raised (one per connection the wire shows)
    for k, v in sorted((exp.get("anomaly_counts") or {}).items()):
        got = (summary.get("anomalies") or {}).get(k, 0)
        if got != v:
            res.fail("summary anomalies.%s: got %r, want %d" % (k, got, v))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fcgiscope")
    ap.add_argument("--dir", action="append", default=[])
    ap.add_argument("--require")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("expect", nargs="*")
    a = ap.parse_args()

    if a.require:
        if not os.path.isdir(a.require):
            print("SKIP: %s does not exist yet (no captures of that kind recorded)" % a.require)
            return 77
        found = glob.glob(os.path.join(a.require, "*.expect.json"))
        caps = [f for f in os.listdir(a.require) if f.endswith((".pcap", ".pcapng", ".pcap.gz"))]
        without = [c for c in caps if not os.path.exists(os.path.join(a.require, c.rsplit(".pcap", 1)[0] + ".expect.json"))]
        if not found:
            print("FAIL: %s exists but holds no *.expect.json: nothing would be checked" % a.require)
            return 1
        if without:
            print("FAIL: captures without an expect file in %s: %s" % (a.require, without))
            return 1
        print("%s: %d expect files, %d captures" % (a.require, len(found), len(caps)))
        print("1 passed, 0 failed")
        return 0

    if not a.fcgiscope or not os.access(a.fcgiscope, os.X_OK):
        print("FAIL: --fcgiscope %r is not an executable" % a.fcgiscope)
        return 1
    paths = list(a.expect)
    for d in a.dir:
        paths += sorted(glob.glob(os.path.join(d, "*.expect.json")))
    if not paths:
        print("FAIL: no expect files given")
        return 1
    npass = nfail = 0
    for p in paths:
        r = check(a.fcgiscope, p, a.verbose)
        status = "PASS" if not r.errors else "FAIL"
        print("%s %s" % (status, r.name))
        for e in r.errors[:40]:
            print("    " + e)
        if len(r.errors) > 40:
            print("    ... %d more" % (len(r.errors) - 40))
        for n in r.notes:
            print("    note: " + n)
        if r.errors:
            nfail += 1
        else:
            npass += 1
    print("%d passed, %d failed" % (npass, nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
