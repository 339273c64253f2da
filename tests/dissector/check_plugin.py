#!/usr/bin/env python3
"""check_plugin.py — CTest driver for the fastcgi Wireshark plugin: tshark on captures/.

Normative reference: captures/EXPECT.md (expected-result files),
running tshark with a build-tree plugin as an unprivileged user
(run-tshark.sh: tshark ignores personal plugins when started by root).

  check_plugin.py load    PLUGIN ABI          plugin loads, protocol + fields register
  check_plugin.py expect  PLUGIN ABI CAPDIR   every capture's expect.json holds
  check_plugin.py diff    PLUGIN ABI CAPDIR   records agree with the built-in fcgi dissector
  check_plugin.py analyzer PLUGIN ABI CAPDIR FCGISCOPE   per-request results equal the analyzer's
  check_plugin.py mutate  PLUGIN ABI CAPDIR   crafted captures with random byte errors: no crash
  check_plugin.py objects PLUGIN ABI CAPDIR   --export-objects fastcgi: one body per response
  check_plugin.py whole   PLUGIN ABI CAPDIR   the "Whole request" subtree: PARAMS, STDIN, STDOUT, STDERR
  check_plugin.py keep    PLUGIN ABI CAPDIR   keep_bodies off: one pass unchanged, -2 without bodies
  check_plugin.py passes  PLUGIN ABI CAPDIR   one pass (tshark -r) shows what two passes (-2) show
  check_plugin.py fields  PLUGIN ABI CAPDIR   README's -T fields example: one value per request
  check_plugin.py escape  PLUGIN ABI CAPDIR   control characters in params stay escaped in -V
  check_plugin.py pairs   PLUGIN ABI CAPDIR   a pair whole in its record: lengths, name, value at their bytes
  check_plugin.py phs     PLUGIN ABI CAPDIR   -z io,phs: FastCGI within what TCP carried
  check_plugin.py tcp     PLUGIN ABI CAPDIR   reordered / lost segments with default TCP prefs
  check_plugin.py pieces  PLUGIN ABI CAPDIR   reassemble_streams off (default) = on: requests, bodies; pieces shown

Exit status: 0 pass, 1 fail, 77 skip (CTest SKIP_RETURN_CODE).
Environment: FASTCGI_ASAN_RUNTIME (see run-tshark.sh); FASTCGI_ONLY=substring
limits the captures (debugging); FASTCGI_TSHARK_PREFS="-o NAME:VALUE ..."
goes before every tshark command's own arguments (a test run again with a
preference, e.g. dissector.passes_reassembled).
"""
import glob
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "run-tshark.sh")
SKIP = 77

# Capture-level ids the analyzer raises and the plugin cannot: Wireshark
# reassembles IP fragments and out-of-order TCP itself, has no flow table,
# reads no drop counters, and reports a damaged file as its own error. For the
# plugin they are allowed, not required; capture_gap caused by them likewise.
ANALYZER_ONLY = {"ip_fragment", "tcp_ooo_cap", "flow_table_full", "capture_drops", "capture_truncated",
                 # from other TCP evidence (SYNs, RSTs, other connections: docs/ANOMALIES.md)
                 "connection_refused", "closed_before_request", "connect_retried", "attempt_retried"}

# Ids the decoder can raise when a connection or the capture ends (a request
# ended by the close is checked then): one-pass tshark never gets there, so
# only these may be missing from `tshark -z expert` without -2.
AT_CLOSE = {"incomplete_request", "truncated_record", "stream_not_terminated", "keep_conn_violation",
            "response_no_header", "content_length_mismatch", "missing_required_param",
            "get_values_unanswered", "request_abandoned", "response_rejected", "answered_before_body"}


PREFS = os.environ.get("FASTCGI_TSHARK_PREFS", "").split()


def tshark(plugin, abi, args, check=True):
    args = PREFS + args
    p = subprocess.run([RUN, plugin, abi] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise RuntimeError("tshark %s exited %d: %s" % (" ".join(args), p.returncode, err.strip()[-2000:]))
    return out, err


def anomaly_table():
    """(id -> (severity, max_severity)) from decoder/include/fsd/anomalies.def."""
    top = os.path.abspath(os.path.join(HERE, "..", ".."))
    path = os.path.join(top, "decoder", "include", "fsd", "anomalies.def")
    tab = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*FSD_ANOMALY\(\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*,", line)
            if m:
                tab[m.group(1)] = (m.group(2), m.group(3))
    if not tab:
        raise RuntimeError("no FSD_ANOMALY lines in " + path)
    return tab


def captures(capdir):
    found = []
    for pat in ("**/*.pcap", "**/*.pcapng"):
        found += glob.glob(os.path.join(capdir, pat), recursive=True)
    out = []
    for cap in sorted(set(found)):
        base = re.sub(r"\.pcap(ng)?$", "", cap)
        exp = base + ".expect.json"
        if "/record/" in cap or not os.path.exists(exp):
            continue
        if os.environ.get("FASTCGI_ONLY") and os.environ["FASTCGI_ONLY"] not in cap:
            continue
        with open(exp) as f:
            out.append((cap, json.load(f)))
    return out


def front_end_differs(exp):
    """Does the capture hold something only the analyzer reports (and the
    gaps it causes there, which Wireshark's own reassembly avoids)?"""
    ids = set(exp.get("anomalies_must") or []) | set(exp.get("anomalies_may") or [])
    return bool(ids & ANALYZER_ONLY)


def decode_as(exp):
    args = []
    for port in exp.get("server_ports") or [9000]:
        args += ["-d", "tcp.port==%d,fastcgi" % port]
    return args


def secs_to_ns(s):
    neg = s.startswith("-")
    s = s.lstrip("-")
    whole, _, frac = s.partition(".")
    ns = int(whole or "0") * 1000000000 + int((frac + "000000000")[:9])
    return -ns if neg else ns


def plugin_view(plugin, abi, cap, exp, heuristic=False):
    """Requests and anomaly ids as the plugin shows them (two-pass PDML).
    heuristic: no Decode As, the plugin must find the traffic itself."""
    damaged = bool(exp.get("error"))
    da = [] if heuristic else decode_as(exp)
    out, err = tshark(plugin, abi, ["-2", "-n", "-r", cap, "-T", "pdml"] + da, check=not damaged)
    if damaged:
        # tshark stops at the damage (exit 2) after the packets before it.
        if "<pdml" not in out:
            return [], set(), err
        if "</pdml>" not in out:
            out = out[:out.rfind("</packet>") + len("</packet>")] if "</packet>" in out else out
            out += "\n</pdml>\n"
    root = ET.fromstring(out)
    anomalies = set()
    # A request's items are in its "Request id" subtrees: at its END_REQUEST
    # (status, end, time, ttfb) and where the decoder delivered it (user
    # status, anomalies...), which can be a later frame: merged per request.
    byk, order = {}, []
    for pkt in root.iter("packet"):
        frame = None
        for f in pkt.iter("field"):
            if f.get("name") == "frame.number":
                frame = int(f.get("show"))
                break
        in_frame = {}
        for f in pkt.iter("field"):
            name = f.get("name") or ""
            if name == "_ws.expert":
                for c in f:
                    cn = c.get("name") or ""
                    if cn.startswith("fastcgi."):
                        anomalies.add(re.sub(r"\.(error|note)$", "", cn[len("fastcgi."):]))
            elif name == "fastcgi.request":
                kids = {}
                for c in f:
                    kids.setdefault(c.get("name"), []).append(c.get("show"))
                rid = int(f.get("show"))
                if "fastcgi.request_in" in kids:
                    k = (int(kids["fastcgi.request_in"][0]), rid)
                else:
                    # a second subtree of a request in one frame (under
                    # "Connection end") does not repeat the frame's link
                    k = in_frame.get(rid, (frame, rid))
                in_frame.setdefault(rid, k)
                if k not in byk:
                    byk[k] = {}
                    order.append(k)
                for kn, kv in kids.items():
                    byk[k].setdefault(kn, [])
                    byk[k][kn] += kv
                if "fastcgi.end_reason" in kids:
                    byk[k]["_end_frame"] = [frame]
    reqs = []
    for k in order:
        kids = byk[k]
        if "fastcgi.end_reason" not in kids:
            continue
        reqs.append({
            "request_id": k[1],
            "frame": k[0],
            "end_frame": kids["_end_frame"][0],
            "status": int(kids["fastcgi.status"][0]) if "fastcgi.status" in kids else None,
            "complete": kids["fastcgi.end_reason"][0] == "complete",
            "end": kids["fastcgi.end_reason"][0],
            "latency_ns": secs_to_ns(kids["fastcgi.time"][0]) if "fastcgi.time" in kids else None,
            "ttfb_ns": secs_to_ns(kids["fastcgi.ttfb"][0]) if "fastcgi.ttfb" in kids else None,
            "method": kids.get("fastcgi.request.method", [None])[0],
            "uri": kids.get("fastcgi.request.uri", [None])[0],
            "script": kids.get("fastcgi.request.script", [None])[0],
            "anomalies": sorted(set(kids.get("fastcgi.request.anomaly", []))),
            "user_status": int(kids["fastcgi.user_status"][0]) if "fastcgi.user_status" in kids else None,
            "user_outcome": kids.get("fastcgi.user_outcome", [None])[0],
            "status_source": kids.get("fastcgi.status_source", [None])[0],
            "gap": kids.get("fastcgi.gap", ["0"])[0] in ("1", "True", "true"),
        })
    reqs.sort(key=lambda r: (r["frame"] if r["frame"] is not None else 1 << 62, r["end_frame"]))
    return reqs, anomalies, err


def cmd_load(plugin, abi):
    fails = []
    out, _ = tshark(plugin, abi, ["-G", "plugins"])
    if not re.search(r"^fastcgi\.so\s", out, re.M):
        fails.append("fastcgi.so not in `tshark -G plugins`:\n" + out)
    out, _ = tshark(plugin, abi, ["-G", "protocols"])
    if not re.search(r"^FastCGI \(fcgiscope\)\tFastCGI\tfastcgi$", out, re.M):
        fails.append("protocol fastcgi not registered")
    if not re.search(r"^FastCGI\tFCGI\tfcgi$", out, re.M):
        fails.append("the built-in fcgi protocol disappeared")
    out, _ = tshark(plugin, abi, ["-G", "fields"])
    rows = [l.split("\t") for l in out.splitlines() if l.startswith("F\t") and l.count("\t") >= 3]
    fields = set(r[2] for r in rows)
    seen = {}
    for r in rows:
        if r[2].startswith("fastcgi."):
            seen.setdefault(r[2], []).append(r[3])
    dup = sorted(k for k, v in seen.items() if len(v) > 1)
    if dup:
        fails.append("field names registered twice (an expert info and a field?): " + ", ".join(dup))
    want = ["fastcgi.type", "fastcgi.request_id", "fastcgi.param.name", "fastcgi.param.value",
            "fastcgi.request.method", "fastcgi.request.uri", "fastcgi.request.script",
            "fastcgi.status", "fastcgi.request_in", "fastcgi.response_in", "fastcgi.time",
            "fastcgi.ttfb", "fastcgi.user_status", "fastcgi.user_outcome", "fastcgi.status_source",
            "fastcgi.closed_by", "fastcgi.gap", "fastcgi.elapsed", "fastcgi.abandoned_after"]
    tab = anomaly_table()
    # Ids only fcgiscope's capture layer raises: no expert field (not offered
    # in filter autocomplete for something the plugin never reports).
    offered = sorted("fastcgi." + a for a in ANALYZER_ONLY if "fastcgi." + a in fields)
    if offered:
        fails.append("expert fields registered for ids the plugin never raises: " + ", ".join(offered))
    for aid, (sev, maxsev) in tab.items():
        if aid in ANALYZER_ONLY:
            continue
        want.append("fastcgi." + aid)
        if maxsev != sev:
            want.append("fastcgi." + aid + ".error")
        if sev != "NOTE":
            want.append("fastcgi." + aid + ".note")
    missing = [w for w in want if w not in fields]
    if missing:
        fails.append("fields not registered: " + ", ".join(missing))
    print("load: %d fastcgi.* fields registered, %d anomaly ids" %
          (len([f for f in fields if f.startswith("fastcgi.")]), len(tab)))
    return fails


def cmd_expect(plugin, abi, capdir):
    caps = captures(capdir)
    if not caps:
        return ["no capture with an .expect.json under " + capdir]
    fails = []
    for cap, exp in caps:
        name = os.path.relpath(cap, capdir)
        if exp.get("error"):
            # A damaged file: tshark reports the damage itself (exit 2) and
            # must not crash; the packets before it are checked as usual.
            p = subprocess.run([RUN, plugin, abi, "-2", "-r", cap] + decode_as(exp),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
            if p.returncode < 0 or p.returncode > 2:
                fails.append("%s: tshark died (%d) on a damaged file" % (name, p.returncode))
        try:
            reqs, anomalies, _ = plugin_view(plugin, abi, cap, exp)
        except Exception as e:  # noqa: BLE001 - report and go on
            fails.append("%s: %s" % (name, e))
            continue
        must = set(exp.get("anomalies_must") or [])
        may = set(exp.get("anomalies_may") or [])
        if must & ANALYZER_ONLY:
            may |= (must & ANALYZER_ONLY) | {"capture_gap"}
            must -= ANALYZER_ONLY | {"capture_gap"}
        f0 = len(fails)
        if not must <= anomalies:
            fails.append("%s: missing expert infos %s" % (name, sorted(must - anomalies)))
        if not anomalies <= must | may:
            fails.append("%s: unexpected expert infos %s" % (name, sorted(anomalies - must - may)))
        if "request_count" in exp and len(reqs) != exp["request_count"]:
            fails.append("%s: %d requests, expected %d" % (name, len(reqs), exp["request_count"]))
        ereqs = exp.get("requests") or []
        pairs = []
        if ereqs and all("frame" in e for e in ereqs):
            # Join on (frame of BEGIN_REQUEST, request id): lists may be partial.
            byk = {}
            for r in reqs:
                byk.setdefault((r["frame"], r["request_id"]), []).append(r)
            for e in ereqs:
                lst = byk.get((e["frame"], e.get("request_id")))
                if not lst:
                    fails.append("%s: expected request id %s at frame %s not found" %
                                 (name, e.get("request_id"), e["frame"]))
                else:
                    pairs.append((e, lst.pop(0)))
        elif len(ereqs) == len(reqs):
            pairs = list(zip(ereqs, reqs))
        elif ereqs:
            fails.append("%s: cannot compare requests (%d listed, %d found)" % (name, len(ereqs), len(reqs)))
        if pairs:
            for i, (e, r) in enumerate(pairs):
                for k in ("request_id", "frame", "status", "complete", "latency_ns", "ttfb_ns",
                          "method", "uri", "script", "anomalies"):
                    if k not in e:
                        continue
                    ev = e[k]
                    rv = r[k]
                    if k == "anomalies":
                        ev = sorted(set(ev))
                        if front_end_differs(exp):
                            ev = sorted(set(ev) - ANALYZER_ONLY - {"capture_gap"})
                            rv = sorted(set(rv) - {"capture_gap"})
                    if ev != rv:
                        fails.append("%s: request #%d (frame %s) %s: plugin %r, expected %r" %
                                     (name, i + 1, r["frame"], k, rv, ev))
        print("%s: %d requests, expert infos %s: %s" %
              (name, len(reqs), sorted(anomalies), "ok" if len(fails) == f0 else "FAIL"))
        # Off the default port, the heuristic alone finds the same requests.
        if set(exp.get("server_ports") or [9000]) - {9000} and not exp.get("error"):
            hreqs, hanom, _ = plugin_view(plugin, abi, cap, exp, heuristic=True)
            if [(r["frame"], r["request_id"], r["status"]) for r in hreqs] != \
               [(r["frame"], r["request_id"], r["status"]) for r in reqs] or hanom != anomalies:
                fails.append("%s: without -d (heuristic) %d requests %s, with -d %d %s" %
                             (name, len(hreqs), sorted(hanom), len(reqs), sorted(anomalies)))
            else:
                print("%s: heuristic finds the same %d requests" % (name, len(hreqs)))
        # -z expert sees the same ids without a tree being asked for.
        out, _ = tshark(plugin, abi, ["-2", "-q", "-n", "-r", cap, "-z", "expert,note"] + decode_as(exp),
                        check=not exp.get("error"))
        zids = set(re.findall(r"FastCGI\s+(\w+): ", out))
        if zids != anomalies:
            fails.append("%s: -z expert shows %s, the tree %s" % (name, sorted(zids), sorted(anomalies)))
        # One pass, no tree: everything but what only the end of the capture tells.
        out, _ = tshark(plugin, abi, ["-q", "-n", "-r", cap, "-z", "expert,note"] + decode_as(exp),
                        check=not exp.get("error"))
        one = set(re.findall(r"FastCGI\s+(\w+): ", out))
        if not one <= anomalies or not anomalies - one <= AT_CLOSE:
            fails.append("%s: one-pass -z expert shows %s, two-pass %s" % (name, sorted(one), sorted(anomalies)))
    return fails


def records_by_frame(out):
    res = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or not parts[1]:
            continue
        types = parts[1].split(",")
        ids = parts[2].split(",")
        res[int(parts[0])] = list(zip(types, ids))
    return res


def cmd_diff(plugin, abi, capdir):
    tab = anomaly_table()
    caps = captures(capdir)
    if not caps:
        return ["no capture with an .expect.json under " + capdir]
    fails, compared = [], 0
    for cap, exp in caps:
        ids = set(exp.get("anomalies_must") or []) | set(exp.get("anomalies_may") or [])
        # Clean: nothing above a note is expected, and the file is not damaged.
        if exp.get("error") or any(tab.get(i, ("ERROR",))[0] != "NOTE" for i in ids):
            continue
        name = os.path.relpath(cap, capdir)
        ports = exp.get("server_ports") or [9000]
        theirs_args, ours_args = [], []
        for p in ports:
            theirs_args += ["-d", "tcp.port==%d,fcgi" % p]
            ours_args += ["-d", "tcp.port==%d,fastcgi" % p]
        out, _ = tshark(plugin, abi, ["-n", "-r", cap, "-T", "fields", "-E", "occurrence=a",
                                      "-e", "frame.number", "-e", "fcgi.type", "-e", "fcgi.id"] + theirs_args)
        theirs = records_by_frame(out)
        # (the built-in reassembles every record and shows it in its last
        # segment's frame: the plugin too with reassemble_streams on)
        out, _ = tshark(plugin, abi, WHOLE + ["-n", "-r", cap, "-T", "fields", "-E", "occurrence=a",
                                              "-e", "frame.number", "-e", "fastcgi.type", "-e", "fastcgi.request_id"]
                        + ours_args)
        ours = records_by_frame(out)
        nrec = sum(len(v) for v in ours.values())
        if nrec == 0:
            fails.append("%s: the plugin found no records" % name)
        bad = []
        for fr in sorted(set(theirs) | set(ours)):
            if theirs.get(fr) != ours.get(fr):
                bad.append("frame %d: fcgi %s, fastcgi %s" % (fr, theirs.get(fr), ours.get(fr)))
        if bad:
            fails.append("%s: %d frames disagree, e.g. %s" % (name, len(bad), "; ".join(bad[:3])))
        print("%s: %d records in %d frames, %d frames disagree" % (name, nrec, len(ours), len(bad)))
        compared += 1
    if compared == 0:
        fails.append("no clean capture to compare")
    return fails


def analyzer_requests(fcgiscope, cap, exp):
    args = [fcgiscope, "-f", "json"]
    ports = exp.get("server_ports")
    if ports:
        args += ["--port", ",".join(str(p) for p in ports)]
    p = subprocess.run(args + [cap], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    if p.returncode not in (0, 1):
        raise RuntimeError("fcgiscope exited %d: %s" % (p.returncode, p.stderr.decode()[-500:]))
    reqs = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        o = json.loads(line)
        if o.get("type") == "request":
            reqs.append(o)
    return reqs


def us_round(ns):
    return ns // 1000 + (1 if ns % 1000 >= 500 else 0)


def cmd_analyzer(plugin, abi, capdir, fcgiscope):
    if not fcgiscope or not os.access(fcgiscope, os.X_OK):
        print("SKIP: analyzer %r not built" % fcgiscope)
        return None
    caps = captures(capdir)
    if not caps:
        return ["no capture with an .expect.json under " + capdir]
    fails = []
    for cap, exp in caps:
        if exp.get("error"):
            continue
        name = os.path.relpath(cap, capdir)
        try:
            ours, _, _ = plugin_view(plugin, abi, cap, exp)
            theirs = analyzer_requests(fcgiscope, cap, exp)
        except Exception as e:  # noqa: BLE001
            fails.append("%s: %s" % (name, e))
            continue
        f0 = len(fails)
        if len(ours) != len(theirs):
            fails.append("%s: plugin %d requests, analyzer %d" % (name, len(ours), len(theirs)))
        tk = {}
        for t in theirs:
            tk.setdefault((t.get("frame"), t.get("request_id")), []).append(t)
        for r in ours:
            lst = tk.get((r["frame"], r["request_id"]))
            if not lst:
                fails.append("%s: request id %d (frame %s) not in the analyzer's output" %
                             (name, r["request_id"], r["frame"]))
                continue
            t = lst.pop(0)
            if (t.get("status") or None) != r["status"]:
                fails.append("%s: frame %s id %d status: plugin %r, analyzer %r" %
                             (name, r["frame"], r["request_id"], r["status"], t.get("status")))
            for what in ("latency", "ttfb"):
                mine = r[what + "_ns"]
                if t.get(what + "_ns") is not None or mine is None:
                    same = t.get(what + "_ns") == mine
                    theirs_v = t.get(what + "_ns")
                else:
                    same = t.get(what + "_us") == us_round(mine)
                    theirs_v = "%s us" % t.get(what + "_us")
                if not same:
                    fails.append("%s: frame %s id %d %s: plugin %r ns, analyzer %r" %
                                 (name, r["frame"], r["request_id"], what, mine, theirs_v))
            ta, ra = set(t.get("anomalies") or []) - ANALYZER_ONLY, set(r["anomalies"])
            if front_end_differs(exp):
                ta -= {"capture_gap"}
                ra -= {"capture_gap"}
            # what the user got: the decoder decides it, both front ends show it
            for what in ("user_status", "user_outcome", "end", "gap"):
                mine, theirs_v = r[what], t.get(what)
                if what == "gap":
                    theirs_v = bool(theirs_v)
                    if front_end_differs(exp):
                        continue  # the analyzer's own gaps (e.g. unreassembled fragments) mark its requests
                if mine != theirs_v:
                    fails.append("%s: frame %s id %d %s: plugin %r, analyzer %r" %
                                 (name, r["frame"], r["request_id"], what, mine, theirs_v))
            if r["status"] is not None and r["status_source"] != t.get("status_source"):
                fails.append("%s: frame %s id %d status_source: plugin %r, analyzer %r" %
                             (name, r["frame"], r["request_id"], r["status_source"], t.get("status_source")))
            if ta != ra:
                fails.append("%s: frame %s id %d anomalies: plugin %r, analyzer %r" %
                             (name, r["frame"], r["request_id"], r["anomalies"], t.get("anomalies")))
            if bool(t.get("complete")) != r["complete"]:
                fails.append("%s: frame %s id %d complete: plugin %r, analyzer %r" %
                             (name, r["frame"], r["request_id"], r["complete"], t.get("complete")))
        print("%s: %d requests compared: %s" % (name, len(ours), "ok" if len(fails) == f0 else "FAIL"))
    return fails


def cmd_mutate(plugin, abi, capdir, seeds=(1, 2, 3)):
    """Robustness: every crafted capture with random byte errors (editcap -E,
    fixed seeds), dissected in two passes with a tree and the statistics:
    tshark must exit normally (no crash, no sanitizer report, no hang)."""
    import tempfile
    caps = [c for c, e in captures(capdir)
            if "/crafted/" in c and not e.get("error") and os.path.getsize(c) < 4 << 20]
    if not caps:
        return ["no crafted capture under " + capdir]
    fails, runs = [], 0
    tmp = tempfile.mkdtemp(prefix="fastcgi-mutate.")
    try:
        for cap in caps:
            for seed in seeds:
                out = os.path.join(tmp, "m%d-%s" % (seed, os.path.basename(cap)))
                e = subprocess.run(["editcap", "-E", "0.02", "--seed", str(seed), cap, out],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if e.returncode != 0 or not os.path.exists(out):
                    continue   # damaged files editcap cannot read either
                p = subprocess.run([RUN, plugin, abi, "-2", "-n", "-V", "-r", out,
                                    "-d", "tcp.port==9000,fastcgi", "-z", "expert",
                                    "-z", "fastcgi,srt", "-z", "fastcgi,tree"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
                runs += 1
                err = p.stderr.decode("utf-8", "replace")
                # 2: tshark's own "damaged file" error; anything else is a failure.
                if p.returncode not in (0, 2) or "Sanitizer" in err or "runtime error" in err:
                    fails.append("%s seed %d: tshark exit %d: %s" %
                                 (os.path.relpath(cap, capdir), seed, p.returncode, err.strip()[-800:]))
    finally:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    print("mutate: %d mutated captures dissected" % runs)
    return fails

# Per request and frame, at most one of each (README: one value per request
# in -T fields and columns).
ONCE_PER_REQUEST = ("fastcgi.request.method", "fastcgi.request.uri", "fastcgi.request.script",
                    "fastcgi.time", "fastcgi.ttfb", "fastcgi.status", "fastcgi.end_reason",
                    "fastcgi.request_in", "fastcgi.response_in", "fastcgi.user_status")


def pdml_packets(plugin, abi, cap, exp, two):
    """[(frame number, packet element)] of tshark's PDML, one or two passes."""
    damaged = bool(exp.get("error"))
    out, _ = tshark(plugin, abi, (["-2"] if two else []) + ["-n", "-r", cap, "-T", "pdml"] + decode_as(exp),
                    check=not damaged)
    if "</pdml>" not in out:
        out = (out[:out.rfind("</packet>") + len("</packet>")] if "</packet>" in out else "<pdml>") + "\n</pdml>\n"
    pkts = []
    for pkt in ET.fromstring(out).iter("packet"):
        num = None
        for f in pkt.iter("field"):
            if f.get("name") == "frame.number":
                num = int(f.get("show"))
                break
        pkts.append((num, pkt))
    return pkts


def fastcgi_items(pkt, frame):
    """What the plugin shows in one frame, as a multiset of (field, value):
    every fastcgi.* field and expert info, except what is documented to need
    the end of the first pass (dissector/README.md "One pass and two"): the
    "Connection end" subtree, and links to a later frame (response_in)."""
    items = []

    def walk(f):
        n = f.get("name") or ""
        if n == "fastcgi.connection_end":
            return
        if n == "fastcgi.response_in" and int(f.get("show")) > frame:
            return
        if n.startswith("fastcgi.") or n.startswith("_ws.expert"):
            items.append((n, f.get("show")))
        for c in f:
            walk(c)
    for proto in pkt:
        if proto.get("name") == "fastcgi":
            items.append(("fastcgi", "present"))   # what -Y fastcgi matches
            for c in proto:
                walk(c)
    return items


def columns(plugin, abi, cap, exp, two):
    """{frame: (Protocol, Info)}: a GUI list filtered on fastcgi, re-applied
    after the first pass, must keep its rows."""
    out, _ = tshark(plugin, abi, (["-2"] if two else []) +
                    ["-n", "-r", cap, "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol",
                     "-e", "_ws.col.Info"] + decode_as(exp), check=not exp.get("error"))
    cols = {}
    for l in out.splitlines():
        f = l.split("\t")
        if len(f) == 3 and f[0].isdigit():
            cols[int(f[0])] = (f[1], f[2])
    return cols


def once_per_request(pkt, frame):
    """Fields repeated for one request in one frame (README promise)."""
    bad = []

    def walk(f, in_req):
        n = f.get("name") or ""
        if n == "fastcgi.request":
            seen = per_req.setdefault(f.get("show"), {})
            for c in f:
                cn = c.get("name") or ""
                if cn in ONCE_PER_REQUEST:
                    seen[cn] = seen.get(cn, 0) + 1
                    if seen[cn] == 2:
                        bad.append("frame %d request id %s: %s more than once" % (frame, f.get("show"), cn))
            return
        for c in f:
            walk(c, in_req)
    per_req = {}
    for proto in pkt:
        if proto.get("name") == "fastcgi":
            walk(proto, False)
    return bad


def cmd_passes(plugin, abi, capdir):
    """One pass = two passes: every capture dissected by tshark -r and by
    tshark -2 -r shows, frame by frame, the same FastCGI fields (fastcgi.time,
    ttfb, status, request_in, record fields, anomalies), expert infos,
    Protocol and Info columns, but for the documented exceptions
    (fastcgi_items). Both runs also hold the
    README's promise of one value per request per frame (ONCE_PER_REQUEST),
    and no frame shows an empty FastCGI item (a frame that only starts a
    record stays TCP)."""
    import collections
    caps = captures(capdir)
    if not caps:
        return ["no capture with an .expect.json under " + capdir]
    fails = []
    tot_time = [0, 0]
    for cap, exp in caps:
        name = os.path.relpath(cap, capdir)
        f0 = len(fails)
        try:
            one = pdml_packets(plugin, abi, cap, exp, False)
            two = pdml_packets(plugin, abi, cap, exp, True)
        except Exception as e:  # noqa: BLE001 - report and go on
            fails.append("%s: %s" % (name, e))
            continue
        if [n for n, _ in one] != [n for n, _ in two]:
            fails.append("%s: %d frames in one pass, %d in two" % (name, len(one), len(two)))
            continue
        ntime = [0, 0]
        for (num, p1), (_, p2) in zip(one, two):
            a = collections.Counter(fastcgi_items(p1, num))
            b = collections.Counter(fastcgi_items(p2, num))
            ntime[0] += sum(c for (k, _), c in a.items() if k == "fastcgi.time")
            ntime[1] += sum(c for (k, _), c in b.items() if k == "fastcgi.time")
            if a != b:
                fails.append("%s frame %d: only in one pass %s; only in two passes %s" %
                             (name, num, sorted((a - b).elements())[:6], sorted((b - a).elements())[:6]))
            for p, label in ((p1, "one pass"), (p2, "two passes")):
                for m in once_per_request(p, num):
                    fails.append("%s (%s) %s" % (name, label, m))
                # a frame that only starts a record (TCP reassembles it)
                # stays a TCP row, as HTTP's do: no empty FastCGI item
                # for -Y fastcgi to match
                if any(pr.get("name") == "fastcgi" and len(list(pr)) == 0 for pr in p):
                    fails.append("%s (%s) frame %d: an empty FastCGI item" % (name, label, num))
        c1 = columns(plugin, abi, cap, exp, False)
        c2 = columns(plugin, abi, cap, exp, True)
        ours = set(n for n, p in one if ("fastcgi", "present") in fastcgi_items(p, n))
        ours |= set(n for n, p in two if ("fastcgi", "present") in fastcgi_items(p, n))
        for num in sorted(set(c1) | set(c2)):
            # (Wireshark's own columns may differ between passes: IP's
            # "[Reassembled in #N]" is known on the second only)
            if num not in ours and (c1.get(num) or ("",))[0] != "FastCGI" and (c2.get(num) or ("",))[0] != "FastCGI":
                continue
            if c1.get(num) != c2.get(num):
                fails.append("%s frame %d: columns one pass %r, two passes %r" % (name, num, c1.get(num), c2.get(num)))
                break
        tot_time[0] += ntime[0]
        tot_time[1] += ntime[1]
        print("%s: %d frames, fastcgi.time %d (one pass) / %d (two): %s" %
              (name, len(one), ntime[0], ntime[1], "ok" if len(fails) == f0 else "FAIL"))
    print("all captures: fastcgi.time %d in one pass, %d in two" % tuple(tot_time))
    return fails


def cmd_fields(plugin, abi, capdir):
    """The README example: -T fields gives one value per request."""
    cap = os.path.join(capdir, "real", "apache-phpfpm.pcap")
    fails = []
    for two in (True, False):
        out, _ = tshark(plugin, abi, (["-2"] if two else []) +
                        ["-n", "-r", cap, "-Y", "fastcgi.status >= 500", "-T", "fields",
                         "-e", "frame.number", "-e", "fastcgi.request.uri", "-e", "fastcgi.time"])
        lines = [l for l in out.splitlines() if l.strip()]
        if not lines:
            fails.append("%s: %d frames with fastcgi.status >= 500, expected the capture's 5xx requests" %
                         ("-2" if two else "one pass", len(lines)))
        for l in lines:
            cols = l.split("\t")
            if len(cols) != 3 or "," in cols[1] or "," in cols[2] or not cols[1] or not cols[2]:
                fails.append("%s: not one URI and one time per request: %r" % ("-2" if two else "one pass", l))
        print("%s: %s" % ("-2" if two else "one pass", " | ".join(lines)))
    return fails


def cmd_escape(plugin, abi, capdir):
    """Traffic bytes in labels are escaped: a capture whose REQUEST_URI and
    SCRIPT_NAME values carry a LF, a CR and an ESC (same lengths, so the
    records stay valid) prints one line per tree item in tshark -V."""
    import tempfile
    src = os.path.join(capdir, "crafted", "baseline_nginx.pcap")
    with open(src, "rb") as f:
        data = bytearray(f.read())
    n = 0
    for name in (b"REQUEST_URI", b"SCRIPT_NAME", b"QUERY_STRING"):
        pos = 0
        while True:
            i = data.find(name, pos)
            if i < 0:
                break
            # name-value pair: 1-byte lengths before the name (nginx): value follows the name
            nlen, vlen = data[i - 2], data[i - 1]
            v = i + nlen
            if nlen == len(name) and vlen >= 4:
                data[v + 1] = 0x0A      # LF
                data[v + 2] = 0x0D      # CR
                data[v + 3] = 0x1B      # ESC
                n += 1
            pos = i + 1
    if not n:
        return ["no REQUEST_URI/SCRIPT_NAME pair found in " + src]
    fails = []
    tmp = tempfile.mkdtemp(prefix="fastcgi-escape.")
    try:
        mut = os.path.join(tmp, "ctl_chars.pcap")
        with open(mut, "wb") as f:
            f.write(data)
        for two in (False, True):
            out, _ = tshark(plugin, abi, (["-2"] if two else []) + ["-n", "-r", mut, "-V", "-O", "fastcgi"] +
                            ["-d", "tcp.port==9000,fastcgi"])
            tops = ("Frame ", "Ethernet", "Internet Protocol", "Transmission Control", "FastCGI",
                    "[", "Linux cooked", "Null/Loopback", "Raw packet")
            for l in out.splitlines():
                if l and not l.startswith(" ") and not l.startswith(tops):
                    fails.append("%s: a line of tshark -V that is no tree item: %r" %
                                 ("-2" if two else "one pass", l[:120]))
            labels = [l for l in out.splitlines() if re.search(r"(REQUEST_URI|SCRIPT_NAME|QUERY_STRING) = ", l)
                      and re.search(r"\\n\\r(\\e|\\033|\\x1b)", l)]
            if len(labels) < n:
                fails.append("%s: %d of %d mutated pairs shown escaped in their labels" %
                             ("-2" if two else "one pass", len(labels), n))
            print("%s: %d labels, e.g. %s" % ("-2" if two else "one pass", len(labels),
                                               labels[0].strip() if labels else "-"))
    finally:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    return fails


def cmd_pairs(plugin, abi, capdir):
    """A name-value pair that lies whole in its record is shown at its wire
    bytes: its name and value lengths (1 or 4 bytes each), name and value
    items are real fields over those bytes, not generated ones, also when
    the decoder had to gather the pair (4-byte lengths: nginx's 990-byte
    X-Fill headers; a pair begun in an earlier segment of its record) and
    in both passes. Only a pair spanning two records has generated ones."""
    fails = []
    for rel in (("real", "nginx-phpfpm.pcap"), ("crafted", "tcp_tiny_segments.pcap"),
                ("crafted", "nv_straddle.pcap"), ("crafted", "baseline_nginx.pcap")):
        cap = os.path.join(capdir, *rel)
        exp = {}
        counts = {"wire": 0, "four_byte": 0, "straddled": 0}
        for two in (False, True):
            for num, pkt in pdml_packets(plugin, abi, cap, exp, two):
                for pf in pkt.iter("field"):
                    if pf.get("name") != "fastcgi.param":
                        continue
                    kids = {c.get("name"): c for c in pf}
                    if "fastcgi.param.straddled" in kids:
                        counts["straddled"] += 1
                        continue
                    where = "%s%s frame %s pair %r" % ("/".join(rel), " -2" if two else "", num, pf.get("show"))
                    nl, vl = kids.get("fastcgi.param.name_length"), kids.get("fastcgi.param.value_length")
                    nm = kids.get("fastcgi.param.name")
                    if nl is None or vl is None or nm is None:
                        fails.append(where + ": lengths or name missing")
                        continue
                    sizes = (int(nl.get("size") or 0), int(vl.get("size") or 0))
                    if sizes[0] not in (1, 4) or sizes[1] not in (1, 4):
                        fails.append(where + ": length fields over %d and %d bytes (generated?), want 1 or 4 each" %
                                     sizes)
                        continue
                    raw = bytes.fromhex(nm.get("value") or "")
                    if int(nm.get("size") or 0) != len(raw) or raw.split(b"\0")[0].decode("latin-1") != nm.get("show"):
                        fails.append(where + ": name item not over the name's bytes (%r)" % nm.attrib)
                        continue
                    counts["wire"] += 1
                    if 4 in sizes:
                        counts["four_byte"] += 1
        print("%s: %d pairs at their bytes (%d with a 4-byte length), %d spanning two records" %
              ("/".join(rel), counts["wire"], counts["four_byte"], counts["straddled"]))
        if not counts["wire"]:
            fails.append("%s: no pair at its bytes" % "/".join(rel))
        if rel[1] == "nginx-phpfpm.pcap" and not counts["four_byte"]:
            fails.append("%s: no pair with a 4-byte length at its bytes" % "/".join(rel))
        if rel[1] == "nv_straddle.pcap" and not counts["straddled"]:
            fails.append("%s: no pair spanning two records" % "/".join(rel))
    return fails


def cmd_phs(plugin, abi, capdir):
    """Protocol Hierarchy (-z io,phs): FastCGI never counts more frames or
    bytes than TCP carried, and never sits under itself (one FastCGI item
    per frame, also where TCP hands over a reassembled record)."""
    fails = []
    for cap, exp in captures(capdir):
        if exp.get("error"):
            continue
        name = os.path.relpath(cap, capdir)
        out, _ = tshark(plugin, abi, ["-q", "-n", "-r", cap, "-z", "io,phs"] + decode_as(exp))
        rows = []
        for l in out.splitlines():
            m = re.match(r"^(\s*)(\S+)\s+frames:(\d+) bytes:(\d+)", l)
            if m:
                rows.append((len(m.group(1)) // 2, m.group(2), int(m.group(3)), int(m.group(4))))
        tcp = [r for r in rows if r[1] == "tcp"]
        fc = [r for r in rows if r[1] == "fastcgi"]
        tf = sum(r[2] for r in tcp)
        tb = sum(r[3] for r in tcp)
        ff = sum(r[2] for r in fc)
        fb = sum(r[3] for r in fc)
        path = []
        nested = False
        for depth, proto, _, _ in rows:
            path = path[:depth] + [proto]
            if proto == "fastcgi" and "fastcgi" in path[:-1]:
                nested = True
        if ff > tf or fb > tb or nested or (exp.get("request_count") and not ff):
            fails.append("%s: fastcgi %d frames %d bytes, tcp %d frames %d bytes%s" %
                         (name, ff, fb, tf, tb, ", fastcgi under fastcgi" if nested else ""))
    print("phs: %d captures" % len(captures(capdir)))
    return fails


def pcap_read(src):
    """A classic pcap: (its bytes, the struct byte order, its packets as
    [ts_sec, ts_frac, caplen, len, data])."""
    import struct
    with open(src, "rb") as f:
        d = f.read()
    e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    pk, off = [], 24
    while off + 16 <= len(d):
        ts1, ts2, cl, ol = struct.unpack(e + "IIII", d[off:off + 16])
        pk.append([ts1, ts2, cl, ol, d[off + 16:off + 16 + cl]])
        off += 16 + cl
    return d, e, pk


def pcap_edit(src, dst, swap=None, drop=()):
    """Rewrite a classic pcap: swap two packets' contents (1-based frame
    numbers; timestamps stay in place: the later-sent segment is captured
    first) and/or drop packets."""
    import struct
    d, e, pk = pcap_read(src)
    if swap:
        a, b = pk[swap[0] - 1], pk[swap[1] - 1]
        a[2:], b[2:] = b[2:], a[2:]
    out = bytearray(d[:24])
    for i, p in enumerate(pk):
        if i + 1 not in drop:
            out += struct.pack(e + "IIII", *p[:4]) + p[4]
    with open(dst, "wb") as f:
        f.write(out)


def pcap_ip_variant(src, dst, v6):
    """Rewrite a classic Ethernet/IPv4 pcap: every IPv4 packet as IPv6
    (2001:db8:: + the IPv4 address; the same TCP segment), or (v6 False)
    with a 4-byte IPv4 option (NOPs: header length 24). Checksums are not
    fixed (Wireshark does not check them by default)."""
    import struct
    d, e, pk = pcap_read(src)
    out = bytearray(d[:24])
    for p in pk:
        b = p[4]
        if len(b) >= 34 and b[12:14] == b"\x08\x00":
            ihl = (b[14] & 0x0F) * 4
            ip, rest = b[14:14 + ihl], b[14 + ihl:]
            tot = struct.unpack(">H", ip[2:4])[0]
            if v6:
                pre = b"\x20\x01\x0d\xb8" + b"\0" * 8
                hdr = struct.pack(">IHBB", 6 << 28, tot - ihl, ip[9], 64) + pre + ip[12:16] + pre + ip[16:20]
                b = b[:12] + b"\x86\xdd" + hdr + rest
            else:
                hdr = bytes([0x46]) + ip[1:2] + struct.pack(">H", tot + 4) + ip[4:20] + b"\x01\x01\x01\x00"
                b = b[:14] + hdr + rest
        out += struct.pack(e + "IIII", p[0], p[1], len(b), len(b)) + b
    with open(dst, "wb") as f:
        f.write(out)


def pcap_reuse(src, dst, dt=1000, dseq=0x10000000):
    """Append to a classic pcap (Ethernet, IPv4) a copy of the packets of
    its last TCP connection, dt seconds later, every TCP sequence and
    acknowledgement number moved by dseq: the same addresses and ports
    again right after their last segment, new initial sequence numbers
    (TCP ports reused: a new TCP conversation at the SYN). TCP checksums
    are not fixed (Wireshark does not check them by default). Returns the
    1-based frame numbers copied, in order."""
    import struct
    d, e, pk = pcap_read(src)

    def tcp_at(b):   # offset of the TCP header, and the connection's endpoints
        if len(b) < 34 or b[12:14] != b"\x08\x00" or b[23] != 6:
            return None, None
        t = 14 + (b[14] & 0x0F) * 4
        if len(b) < t + 14:
            return None, None
        return t, frozenset([(b[26:30], b[t:t + 2]), (b[30:34], b[t + 2:t + 4])])
    conn = None
    for p in pk:
        t, c = tcp_at(p[4])
        if t is not None:
            conn = c
    out = bytearray(d)
    copied = []
    for i, (ts1, ts2, cl, ol, b) in enumerate(pk):
        t, c = tcp_at(b)
        if t is None or c != conn:
            continue
        b = bytearray(b)
        seq, ack = struct.unpack(">II", bytes(b[t + 4:t + 12]))
        b[t + 4:t + 12] = struct.pack(">II", (seq + dseq) & 0xFFFFFFFF, (ack + dseq) & 0xFFFFFFFF)
        out += struct.pack(e + "IIII", ts1 + dt, ts2, cl, ol) + bytes(b)
        copied.append(i + 1)
    with open(dst, "wb") as f:
        f.write(out)
    return copied


def cmd_tcp(plugin, abi, capdir):
    """Default TCP preferences (no out-of-order reassembly, Wireshark 4.0):
    segments swapped inside a 200 KB POST (real/nginx-phpfpm.pcap frames
    60/61, 64/65) give no error and no framing anomaly, every request still
    ends, and the late segment carries fastcgi.tcp_reordered (a note naming
    the TCP preference); with the preference on, nothing at all. A lost
    segment gives capture_gap in one pass, as the analyzer says
    (real/apache-phpfpm.pcap without frame 234, an 8-byte PARAMS end, or
    236, the whole answer)."""
    import tempfile
    fails = []
    tmp = tempfile.mkdtemp(prefix="fastcgi-tcp.")
    framing = {"truncated_record", "stream_not_terminated", "desync", "incomplete_request"}

    def experts(cap, extra):
        out, _ = tshark(plugin, abi, ["-n", "-r", cap, "-d", "tcp.port==9000,fastcgi", "-T", "fields",
                                      "-e", "frame.number", "-e", "_ws.expert.severity", "-e",
                                      "_ws.expert.message", "-e", "fastcgi.time", "-E", "occurrence=a",
                                      "-E", "aggregator=|"] + extra)
        ids, sev, ntime = set(), set(), 0
        for l in out.splitlines():
            f = l.split("\t")
            if len(f) < 4:
                continue
            for m in f[2].split("|"):
                mm = re.match(r"(\w+): ", m)
                if mm:
                    ids.add(mm.group(1))
            ntime += len([x for x in f[3].split("|") if x])
        out2, _ = tshark(plugin, abi, ["-q", "-n", "-r", cap, "-d", "tcp.port==9000,fastcgi", "-z", "expert,error"]
                         + extra)
        errs = set(re.findall(r"FastCGI\s+(\w+): ", out2))
        return ids, errs, ntime
    try:
        base = os.path.join(capdir, "real", "nginx-phpfpm.pcap")
        _, _, n0 = experts(base, [])
        for pair in ((60, 61), (64, 65)):
            cap = os.path.join(tmp, "swap-%d-%d.pcap" % pair)
            pcap_edit(base, cap, swap=pair)
            ids, errs, n = experts(cap, [])
            if errs or ids & framing or "tcp_reordered" not in ids or n != n0:
                fails.append("swap %s, default TCP prefs: ids %s, errors %s, %d requests timed (unchanged: %d)" %
                             (pair, sorted(ids), sorted(errs), n, n0))
            ids2, errs2, n2 = experts(cap, ["-o", "tcp.reassemble_out_of_order:TRUE"])
            if errs2 or {"capture_gap", "tcp_reordered"} & ids2 or n2 != n0:
                fails.append("swap %s, out-of-order reassembly on: ids %s, errors %s, %d requests timed" %
                             (pair, sorted(ids2), sorted(errs2), n2))
            print("swap %s: default %s; reassembling out of order %s" % (pair, sorted(ids), sorted(ids2)))
        base = os.path.join(capdir, "real", "apache-phpfpm.pcap")
        for fr in (234, 236):
            cap = os.path.join(tmp, "drop-%d.pcap" % fr)
            pcap_edit(base, cap, drop=(fr,))
            ids, _, _ = experts(cap, [])
            if "capture_gap" not in ids:
                fails.append("frame %d dropped: no capture_gap in one pass (%s)" % (fr, sorted(ids)))
            print("drop %d: %s" % (fr, sorted(ids)))
        # Without 236 the application sent nothing the capture kept before
        # its FIN (frame 237): the gap is found from the FIN's sequence
        # number, read from its TCP header and put in TCP's relative
        # numbering by the web server's acknowledgements (the plugin does
        # not ask TCP for tcp.seq on every packet).
        out, _ = tshark(plugin, abi, ["-n", "-r", os.path.join(tmp, "drop-236.pcap"), "-d", "tcp.port==9000,fastcgi",
                                      "-Y", "fastcgi.anomaly == \"capture_gap\"", "-T", "fields", "-e", "frame.number"])
        if out.split() != ["237"]:
            fails.append("frame 236 dropped: capture_gap on frames %s, not on the FIN (237)" % out.split())
        # The last connection again right after itself, same addresses and
        # ports, new sequence numbers: TCP starts a new conversation at its
        # SYN, and the copy shows what the original shows (the plugin
        # remembers the last conversation between segments of the first
        # pass and must forget it at a SYN).
        cap = os.path.join(tmp, "reuse.pcap")
        copied = pcap_reuse(base, cap)
        out, _ = tshark(plugin, abi, ["-n", "-r", cap, "-d", "tcp.port==9000,fastcgi", "-T", "fields",
                                      "-e", "frame.number", "-e", "fastcgi.request_id", "-e", "fastcgi.time",
                                      "-e", "fastcgi.status", "-e", "fastcgi.request.uri", "-e", "fastcgi.anomaly",
                                      "-e", "fastcgi.end_reason", "-e", "fastcgi.request", "-E", "occurrence=a"])
        rows = {}
        for l in out.splitlines():
            f = l.split("\t", 1)
            if f[0].isdigit():
                rows[int(f[0])] = f[1] if len(f) > 1 else ""
        n = len(rows) - len(copied)
        orig = [rows.get(fr) for fr in copied]
        again = [rows.get(n + 1 + i) for i in range(len(copied))]
        ntime = sum(1 for r in orig if r and r.split("\t")[1])
        if orig != again or ntime == 0:
            bad = [copied[i] for i in range(len(copied)) if orig[i] != again[i]]
            fails.append("ports reused: the copy of the last connection differs at its frames %s" % bad[:10])
        print("ports reused: %d frames copied, %d with a response time" % (len(copied), ntime))
    finally:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    return fails


def export_objects(plugin, abi, cap, extra):
    """tshark --export-objects fastcgi,DIR: {file name: bytes}."""
    import tempfile
    import shutil
    tmp = tempfile.mkdtemp(prefix="fastcgi-eo.")
    os.chmod(tmp, 0o777)   # tshark runs as nobody
    try:
        tshark(plugin, abi, extra + ["-n", "-q", "-r", cap, "-d", "tcp.port==9000,fastcgi",
                                     "--export-objects", "fastcgi," + tmp])
        got = {}
        for name in os.listdir(tmp):
            with open(os.path.join(tmp, name), "rb") as f:
                got[name] = f.read()
        return got
    finally:
        shutil.rmtree(tmp)


def cmd_objects(plugin, abi, capdir):
    """File > Export Objects > FastCGI, as tshark --export-objects runs it:
    one file per response body, named after the request's path, holding
    the body after the CGI header block (php test scripts of
    captures/real/apache-phpfpm echo the request line in their body)."""
    cap = os.path.join(capdir, "real", "apache-phpfpm.pcap")
    with open(re.sub(r"\.pcap$", ".expect.json", cap)) as f:
        exp = json.load(f)
    fails = []
    want = sorted(re.sub(r"[?#].*", "", r["uri"]).rsplit("/", 1)[-1]
                  for r in exp["requests"] if r["method"] != "HEAD")
    for extra in ([], ["-2"]):
        mode = "-2" if extra else "one pass"
        got = export_objects(plugin, abi, cap, extra)
        # duplicates are saved as name(1).ext, name(2).ext, ...
        names = sorted(re.sub(r"\(\d+\)", "", n) for n in got)
        if names != want:
            fails.append("%s: exported %s, expected one body per non-HEAD request %s" % (mode, names, want))
        index_uris = sorted(r["uri"] for r in exp["requests"] if r["uri"].startswith("/index.php")
                            and r["method"] != "HEAD")
        bodies = sorted(v for k, v in got.items() if k.startswith("index"))
        seen = sorted(re.search(rb"^uri=(.*)$", b, re.M).group(1).decode() for b in bodies
                      if re.search(rb"^uri=(.*)$", b, re.M))
        if seen != index_uris:
            fails.append("%s: index.php bodies name the URIs %s, the requests were %s" % (mode, seen, index_uris))
        if any(b.startswith(b"Content-") or b.startswith(b"Status:") for b in got.values()):
            fails.append("%s: a CGI header line in an exported body" % mode)
        big = got.get("big.php", b"")
        if len(big) != 256 * 1024:
            fails.append("%s: big.php %d bytes, expected the default body_cap 262144" % (mode, len(big)))
        print("%s: %d objects: %s" % (mode, len(got), ", ".join(sorted(got))))
    got = export_objects(plugin, abi, cap, ["-o", "fastcgi.body_cap:4000000"])
    big = got.get("big.php", b"")
    # big.php writes 1 MiB of a 16-byte pattern, then its own tag line
    if len(big) < 1 << 20 or big[:32] != b"0123456789abcdef" * 2:
        fails.append("body_cap 4000000: big.php %d bytes starting %r, expected its whole 1 MiB body" %
                     (len(big), big[:32]))
    print("body_cap 4000000: big.php %d bytes" % len(big))
    return fails


PIECES = ["-o", "fastcgi.reassemble_streams:FALSE"]
WHOLE = ["-o", "fastcgi.reassemble_streams:TRUE"]
# Segments reordered, retransmitted and overlapping inside a stream record:
# pieces mode holds a segment that follows missing bytes and reads the
# bytes TCP hands to no dissector itself, so these decode exactly as with
# TCP's reassembly (no tolerance).
HELD_EXACT = {"crafted/tcp_out_of_order.pcap", "crafted/tcp_overlap.pcap", "crafted/tcp_retransmission.pcap"}


def view_with(plugin, abi, cap, exp, extra):
    """plugin_view with these preferences after PREFS."""
    global PREFS
    saved = PREFS
    PREFS = saved + extra
    try:
        return plugin_view(plugin, abi, cap, exp)
    finally:
        PREFS = saved


def piece_frames(plugin, abi, cap, exp, prefs):
    """{frame: [fastcgi.piece values]} and the frames where TCP handed over
    a reassembled PDU, with these preferences."""
    out, _ = tshark(plugin, abi, prefs + ["-n", "-r", cap, "-T", "fields", "-E", "occurrence=a", "-e", "frame.number",
                                           "-e", "fastcgi.piece", "-e", "tcp.reassembled.length"] + decode_as(exp),
                    check=not exp.get("error"))
    pieces, reassembled = {}, set()
    for l in out.splitlines():
        f = l.split("\t")
        if len(f) == 3 and f[0].isdigit():
            if f[1]:
                pieces[int(f[0])] = f[1].split(",")
            if f[2]:
                reassembled.add(int(f[0]))
    return pieces, reassembled


def cmd_pieces(plugin, abi, capdir):
    """reassemble_streams off (the default: stream records shown a segment
    at a time, not reassembled by TCP) against on, every capture: the same
    requests (time, ttfb, status, links, user status, anomalies) and the
    same exported bodies; pieces shown, fewer reassembled PDUs. Segments
    reordered or retransmitted inside a stream record decode the same
    (HELD_EXACT: held segments, bytes of segments TCP withheld). The one
    documented difference left: a reordered segment that does not lie
    inside one stream record's rest cannot be held (the bytes before it are
    a gap: capture_gap, a tcp_reordered note where they arrive), where TCP's
    reassembly may have put it back in order. A capture where TCP flags
    such segments may differ in capture_gap, tcp_reordered and the gap
    flag, nothing else, and with TCP's out-of-order reassembly on (which
    puts them back in order for the pieces too) not at all."""
    caps = captures(capdir)
    if not caps:
        return ["no capture with an .expect.json under " + capdir]
    fails = []
    npieces = nfewer = nexact = 0
    for cap, exp in caps:
        name = os.path.relpath(cap, capdir)
        f0 = len(fails)
        try:
            reqs_r, ids_r, _ = view_with(plugin, abi, cap, exp, WHOLE)
            reqs_p, ids_p, _ = view_with(plugin, abi, cap, exp, PIECES)
            pieces, reasm_p = piece_frames(plugin, abi, cap, exp, PIECES)
            _, reasm_r = piece_frames(plugin, abi, cap, exp, WHOLE)
        except Exception as e:  # noqa: BLE001 - report and go on
            fails.append("%s: %s" % (name, e))
            continue
        exact = name in HELD_EXACT
        nexact += exact
        reordered = False
        if not exact:
            reordered = "tcp_reordered" in ids_p and "tcp_reordered" not in ids_r
            if not reordered:
                out, _ = tshark(plugin, abi, ["-n", "-r", cap, "-Y", "tcp.analysis.out_of_order || "
                                              "tcp.analysis.retransmission || tcp.analysis.spurious_retransmission"],
                                check=not exp.get("error"))
                reordered = bool(out.strip())
        if len(reqs_r) != len(reqs_p):
            fails.append("%s: %d requests with reassembly, %d without" % (name, len(reqs_r), len(reqs_p)))
        for a, b in zip(reqs_r, reqs_p):
            for k in a:
                va, vb = a[k], b[k]
                if reordered and k == "anomalies":
                    va, vb = sorted(set(va) - {"capture_gap"}), sorted(set(vb) - {"capture_gap"})
                if reordered and k == "gap":
                    continue
                if va != vb:
                    fails.append("%s: request id %s (frame %s) %s: %r with reassembly, %r without" %
                                 (name, a["request_id"], a["frame"], k, va, vb))
        extra = ids_p - ids_r - ({"capture_gap", "tcp_reordered"} if reordered else set())
        missing = ids_r - ids_p
        if extra or missing:
            fails.append("%s: expert ids without reassembly: %s more, %s fewer" % (name, sorted(extra), sorted(missing)))
        if reordered:
            ooo = ["-o", "tcp.reassemble_out_of_order:TRUE"]
            view_r = view_with(plugin, abi, cap, exp, ooo + WHOLE)[:2]
            view_p = view_with(plugin, abi, cap, exp, ooo + PIECES)[:2]
            if view_r != view_p:
                fails.append("%s: with tcp.reassemble_out_of_order, requests or expert ids differ without "
                             "stream reassembly: %s / %s" % (name, sorted(view_r[1]), sorted(view_p[1])))
        if exact:
            for two in ([], ["-2"]):
                a = export_objects(plugin, abi, cap, two + WHOLE)
                b = export_objects(plugin, abi, cap, two + PIECES)
                if not a or a != b:
                    fails.append("%s %s: exported bodies: %d with reassembly, %d without, equal: %s" %
                                 (name, " ".join(two) or "one pass", len(a), len(b), a == b))
        npieces += len(pieces)
        nfewer += len(reasm_r) > len(reasm_p)
        if len(reasm_p) > len(reasm_r):
            fails.append("%s: %d reassembled PDUs without stream reassembly, %d with" % (name, len(reasm_p), len(reasm_r)))
        print("%s: %d requests, %d frames with pieces, reassembled PDUs %d -> %d%s: %s" %
              (name, len(reqs_p), len(pieces), len(reasm_r), len(reasm_p),
               " (exact: held segments)" if exact else " (reordered)" if reordered else "",
               "ok" if len(fails) == f0 else "FAIL"))
    # held segments over IPv6 and over IPv4 with an option: the
    # postdissector reads a withheld segment's length from either header
    import tempfile
    import shutil
    tmp = tempfile.mkdtemp(prefix="fastcgi-pieces.")
    os.chmod(tmp, 0o755)
    exp = dict(caps).get(os.path.join(capdir, "crafted", "tcp_out_of_order.pcap"))
    for v6 in ((True, False) if exp is not None else ()):
        cap = os.path.join(tmp, "tcp_out_of_order-%s.pcap" % ("ipv6" if v6 else "ipopt"))
        pcap_ip_variant(os.path.join(capdir, "crafted", "tcp_out_of_order.pcap"), cap, v6)
        os.chmod(cap, 0o644)
        view_r = view_with(plugin, abi, cap, exp, WHOLE)[:2]
        view_p = view_with(plugin, abi, cap, exp, PIECES)[:2]
        held, _ = piece_frames(plugin, abi, cap, exp, PIECES)
        nheld = sum(1 for v in held.values() if v)
        if view_r != view_p or "capture_gap" in view_p[1] or not view_p[0]:
            fails.append("%s: requests or expert ids differ without stream reassembly (%s / %s)" %
                         (os.path.basename(cap), sorted(view_r[1]), sorted(view_p[1])))
        print("%s: %d requests, %d frames with pieces, the same as with reassembly: %s" %
              (os.path.basename(cap), len(view_p[0]), nheld, "yes" if view_r == view_p else "NO"))
    shutil.rmtree(tmp, ignore_errors=True)
    # the bodies (File > Export Objects) of the capture with the most
    for cap in ("real/apache-phpfpm.pcap", "real/nginx-phpfpm.pcap"):
        for two in ([], ["-2"]):
            a = export_objects(plugin, abi, os.path.join(capdir, cap), two + WHOLE)
            b = export_objects(plugin, abi, os.path.join(capdir, cap), two + PIECES)
            if a != b:
                fails.append("%s %s: exported bodies differ without reassembly: %s" %
                             (cap, " ".join(two) or "one pass",
                              sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))[:5]))
            print("%s %s: %d objects, %d bytes, the same without reassembly: %s" %
                  (cap, " ".join(two) or "one pass", len(a), sum(len(v) for v in a.values()),
                   "yes" if a == b else "NO"))
    if npieces == 0:
        fails.append("no capture showed a piece (fastcgi.piece)")
    if nfewer == 0:
        fails.append("no capture had fewer reassembled PDUs without stream reassembly")
    if nexact != len(HELD_EXACT) and not os.environ.get("FASTCGI_ONLY"):
        fails.append("only %d of the %d HELD_EXACT captures were found" % (nexact, len(HELD_EXACT)))
    print("all captures: %d frames with pieces; %d captures with fewer reassembled PDUs" % (npieces, nfewer))
    return fails


def whole_requests(plugin, abi, cap, two):
    """Each "Whole request" subtree of the PDML: its parts in order."""
    out, _ = tshark(plugin, abi, (["-2"] if two else []) +
                    ["-n", "-r", cap, "-d", "tcp.port==9000,fastcgi", "-T", "pdml"])
    root = ET.fromstring(out)
    found = []
    for pkt in root.iter("packet"):
        for w in pkt.iter("field"):
            if w.get("name") != "fastcgi.whole":
                continue
            parts = [c.get("name") for c in w if c.get("name", "").startswith("fastcgi.whole.")]
            params = {}
            stdin = b""
            stderr = ""
            for c in w.iter("field"):
                if c.get("name") == "fastcgi.whole.param":
                    name, _, value = c.get("showname", "").partition(" = ")
                    params[name] = value
                elif c.get("name") == "fastcgi.whole.stdin":
                    stdin = bytes.fromhex(c.get("show", "").replace(":", ""))
                elif c.get("name") == "fastcgi.whole.stderr":
                    stderr = c.get("show", "")
            found.append({"parts": parts, "params": params, "stdin": stdin, "stderr": stderr})
    return found


def cmd_whole(plugin, abi, capdir):
    """The "Whole request" subtree: once per request where it ended, with
    PARAMS, STDIN, STDOUT, STDERR in that order, the same in one pass and two."""
    cap = os.path.join(capdir, "real", "apache-phpfpm.pcap")
    with open(re.sub(r"\.pcap$", ".expect.json", cap)) as f:
        exp = json.load(f)
    order = ["fastcgi.whole.params", "fastcgi.whole.stdin", "fastcgi.whole.stdout", "fastcgi.whole.stderr"]
    fails = []
    views = {}
    for two in (False, True):
        mode = "-2" if two else "one pass"
        ws = whole_requests(plugin, abi, cap, two)
        views[two] = ws
        if len(ws) != len(exp["requests"]):
            fails.append("%s: %d whole-request subtrees for %d requests" % (mode, len(ws), len(exp["requests"])))
        for w in ws:
            idx = [order.index(p) for p in w["parts"]]
            if idx != sorted(idx) or not idx or idx[0] != 0:
                fails.append("%s: parts out of order: %s" % (mode, w["parts"]))
        uris = sorted(w["params"].get("REQUEST_URI", "?") for w in ws)
        if uris != sorted(r["uri"] for r in exp["requests"]):
            fails.append("%s: REQUEST_URI of the whole requests %s" % (mode, uris))
        for r in exp["requests"]:
            w = [w for w in ws if w["params"].get("HTTP_X_REQUEST_ID") == r["request_tag"]]
            if len(w) != 1:
                fails.append("%s: %s: %d whole-request subtrees" % (mode, r["request_tag"], len(w)))
                continue
            if len(w[0]["stdin"]) != r["stdin_bytes"]:
                fails.append("%s: %s: STDIN %d bytes, the request sent %d" %
                             (mode, r["request_tag"], len(w[0]["stdin"]), r["stdin_bytes"]))
        errs = [w for w in ws if "error_log()" in w["stderr"]]
        if not errs or errs[0]["params"].get("SCRIPT_NAME") != "/stderr.php":
            fails.append("%s: the STDERR text of /stderr.php is not in its whole request" % mode)
        print("%s: %d whole requests, %d with STDIN, %d with STDERR" %
              (mode, len(ws), sum(1 for w in ws if w["stdin"]), sum(1 for w in ws if w["stderr"])))
    if [w["parts"] for w in views[False]] != [w["parts"] for w in views[True]]:
        fails.append("one pass and -2 show different whole requests")
    return fails


def cmd_keep(plugin, abi, capdir):
    """The keep_bodies preference, off by default: STDIN, STDOUT and STDERR
    are collected only when the first pass itself reads them and freed
    after their frame; a later pass in frame order (tshark -2, Export
    Objects in the GUI) reads them again from the records. Every output
    must be what it is with the preference on (bodies kept for the whole
    file): one pass and -2, a printed tree, filters on a body field or on a
    content protocol, --export-objects (the same files, the same bytes)."""
    cap = os.path.join(capdir, "real", "apache-phpfpm.pcap")
    on = ["-o", "fastcgi.keep_bodies:TRUE"]
    off = ["-o", "fastcgi.keep_bodies:FALSE"]
    base = ["-n", "-r", cap, "-d", "tcp.port==9000,fastcgi"]
    fails = []
    for two in ([], ["-2"]):
        mode = "-2" if two else "one pass"
        off_v, _ = tshark(plugin, abi, two + base + ["-V"] + off)
        on_v, _ = tshark(plugin, abi, two + base + ["-V"] + on)
        def_v, _ = tshark(plugin, abi, two + base + ["-V"])
        if on_v != off_v:
            fails.append("%s -V differs with keep_bodies off and on" % mode)
        if def_v != off_v:
            fails.append("%s -V: the default is not keep_bodies off" % mode)
        if "Whole request" not in off_v or "[Response body: " not in off_v or \
                not re.search(r"^\s+\[STDIN: ", off_v, re.M):
            fails.append("%s -V with keep_bodies off shows no whole request, response body or STDIN" % mode)
        for flt in ("data-text-lines", "fastcgi.whole.stdin", "fastcgi.whole.stderr", "fastcgi.response.body"):
            args = two + base + ["-Y", flt, "-T", "fields", "-e", "frame.number"]
            off_f, _ = tshark(plugin, abi, args + off)
            on_f, _ = tshark(plugin, abi, args + on)
            if not on_f.split():
                fails.append("%s -Y %s: no frame with keep_bodies on (the test capture changed?)" % (mode, flt))
            if on_f != off_f:
                fails.append("%s -Y %s: frames %s with keep_bodies on, %s off" %
                             (mode, flt, on_f.split(), off_f.split()))
            print("%s -Y %s: %d frames either way" % (mode, flt, len(on_f.split())))
        off_o = export_objects(plugin, abi, cap, two + off)
        on_o = export_objects(plugin, abi, cap, two + on)
        if not off_o or on_o != off_o:
            fails.append("%s --export-objects: %d files off, %d on, or different bytes" %
                         (mode, len(off_o), len(on_o)))
        print("%s --export-objects: %d files, the same bytes either way" % (mode, len(off_o)))
    return fails


def main(argv):
    if len(argv) < 4:
        print(__doc__)
        return 2
    cmd, plugin, abi = argv[1], argv[2], argv[3]
    if not os.path.exists(plugin):
        print("plugin %s not built" % plugin)
        return 1
    on_captures = {"expect": cmd_expect, "diff": cmd_diff, "mutate": cmd_mutate, "passes": cmd_passes,
                   "fields": cmd_fields, "escape": cmd_escape, "pairs": cmd_pairs, "phs": cmd_phs, "tcp": cmd_tcp,
                   "objects": cmd_objects, "whole": cmd_whole, "keep": cmd_keep, "pieces": cmd_pieces}
    if cmd == "load":
        fails = cmd_load(plugin, abi)
    elif cmd in on_captures:
        fails = on_captures[cmd](plugin, abi, argv[4])
    elif cmd == "analyzer":
        fails = cmd_analyzer(plugin, abi, argv[4], argv[5] if len(argv) > 5 else "")
        if fails is None:
            return SKIP
    else:
        print("unknown command " + cmd)
        return 2
    for f in fails:
        print("FAIL: " + f)
    print("%s: %s" % (cmd, "FAIL (%d)" % len(fails) if fails else "PASS"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
