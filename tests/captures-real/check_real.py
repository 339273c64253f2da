#!/usr/bin/env python3
"""tests/captures-real/check_real.py: checks captures/real/*.expect.json and captures/demo.* against the schema in captures/EXPECT.md, the frontend logs, curl's results and tshark's built-in fcgi dissector.

Usage: check_real.py CAPTURES_DIR ANOMALIES_DEF
Fails (exit 1) with one line per problem.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP_KEYS = {"capture": str, "kind": str, "description": str, "pair": str, "server_ports": list,
            "precision": str, "error": type(None), "exit_status": int, "request_count": int,
            "requests": list, "anomalies_must": list, "anomalies_may": list, "frontend_log": str}
REQ_KEYS = {"client": str, "server": str, "request_id": int, "frame": int, "method": str, "uri": str,
            "script": str, "status": int, "complete": bool, "latency_ns": int, "ttfb_ns": int,
            "server_ns": int, "frontend_latency_us": int, "frontend_resolution_us": int,
            "stdin_bytes": int, "stdout_bytes": int, "stderr_bytes": int, "anomalies": list,
            "request_tag": str,
            # failure-scenario captures (captures/README.md "Failure scenarios")
            "user_status": int, "attempt": int, "retried": bool, "upstream_status": int,
            "frontend_abandoned_us": int, "frontend_elapsed_us": int, "frontend_connect_us": int,
            "severity_min": str, "severity_max": str}
# optional top-level keys of the failure-scenario captures
SCEN_KEYS = {"frontend_error_log": str, "frontend_latency_source": str, "user_requests": int,
             "user_statuses": dict, "backend": dict, "attempts_without_fastcgi": list,
             "analyzer_args": list, "analyzer_anomalies_must": list, "frontend_latency_one_sided": bool,
             "anomaly_counts": dict, "connections_given_up": int}
PCAP_US = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
PCAPNG = b"\x0a\x0d\x0d\x0a"

problems = []


def bad(where, msg):
    problems.append("%s: %s" % (where, msg))


def catalogue(path):
    with open(path) as f:
        return set(re.findall(r"^FSD_ANOMALY\(\s*([a-z0-9_]+)\s*,", f.read(), re.M))


def tshark_types(pcap, ports):
    da = []
    for p in ports:
        da += ["-d", "tcp.port==%d,fcgi" % p]
    r = subprocess.run(["tshark", "-r", pcap] + da + ["-T", "fields",
                        "-E", "occurrence=a", "-E", "aggregator=,", "-e", "fcgi.type"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    out = []
    for line in r.stdout.split():
        out += [int(x) for x in line.split(",") if x]
    return out


def check(capdir, expect_path, ids, logdir):
    where = os.path.relpath(expect_path, capdir)
    with open(expect_path) as f:
        j = json.load(f)
    n0 = len(problems)      # (an earlier file's problems must not stop this file's checks)
    for k, t in TOP_KEYS.items():
        if k not in j:
            bad(where, "missing key " + k)
        elif not isinstance(j[k], t):
            bad(where, "key %s is %s, want %s" % (k, type(j[k]).__name__, t.__name__))
    if len(problems) > n0:
        return
    if j["kind"] != "real":
        bad(where, "kind is not real")
    pcap = os.path.join(os.path.dirname(expect_path), j["capture"])
    if not os.path.isfile(pcap):
        bad(where, "capture %s missing" % j["capture"])
        return
    with open(pcap, "rb") as f:
        head = f.read(4)
        data = head + f.read()
    if j["capture"].endswith(".pcap") and head not in PCAP_US:
        bad(where, "not a microsecond classic pcap")
    if j["capture"].endswith(".pcapng") and head != PCAPNG:
        bad(where, "not a pcapng")
    if j["precision"] != "us":
        bad(where, "precision should be us for tcpdump/editcap output")
    if j["request_count"] != len(j["requests"]):
        bad(where, "request_count %d but %d requests" % (j["request_count"], len(j["requests"])))
    for a in j["anomalies_must"] + j["anomalies_may"]:
        if a not in ids:
            bad(where, "anomaly id %r is not in the catalogue" % a)
    if set(j["anomalies_must"]) & set(j["anomalies_may"]):
        bad(where, "an id is both must and may")
    # the frontend log: every request is in it, with the same method, uri and tag
    flog = os.path.join(logdir, j["frontend_log"].split("/")[-1])
    try:
        with open(flog, encoding="utf-8", errors="replace") as f:
            logtext = f.read()
    except OSError:
        bad(where, "frontend log %s missing" % j["frontend_log"])
        logtext = ""
    port = j["server_ports"][0]
    curl = {}
    cpath = flog.replace(".frontend.log", ".curl.tsv")
    if os.path.isfile(cpath):
        with open(cpath) as f:
            for line in f:
                c = line.rstrip("\n").split("\t")
                curl[c[0]] = c
    frames = [r.get("frame") for r in j["requests"] if r.get("frame") is not None]
    if frames != sorted(frames):
        bad(where, "requests are not in t_begin (frame) order")
    for i, r in enumerate(j["requests"]):
        rw = "%s: request %d" % (where, i)
        if not isinstance(r.get("request_id"), int):
            bad(rw, "request_id missing (the schema requires it)")
        for k, v in r.items():
            if k not in REQ_KEYS:
                bad(rw, "unknown key " + k)
            elif v is not None and not isinstance(v, REQ_KEYS[k]):
                bad(rw, "key %s has type %s" % (k, type(v).__name__))
        tag = r.get("request_tag", "")
        if not re.search(re.escape(tag) + r"[^0-9]", logtext):
            bad(rw, "tag %s not in the frontend log" % tag)
        # the frontend forwarded the tag as HTTP_X_REQUEST_ID (plain substring: the param name then its value)
        if not re.search(re.escape(b"HTTP_X_REQUEST_ID" + tag.encode()) + rb"(?![0-9])", data):
            bad(rw, "tag %s not forwarded as HTTP_X_REQUEST_ID in the capture" % tag)
        c = curl.get(tag)
        if c is None:
            bad(rw, "tag %s not in curl's results" % tag)
            continue
        if c[2] != r.get("method") or c[3] != r.get("uri"):
            bad(rw, "method/uri differ from what curl sent")
        # only upstream timers (nginx, HAProxy) are bounded by curl's total; Apache's %D was seen
        # to exceed it (the request's end is logged after the client has its last byte)
        if "frontend_latency_us" in r and j.get("frontend_latency_source", "").startswith(("nginx", "HAProxy")):
            total_us = float(c[6]) * 1e6
            if not 0 <= r["frontend_latency_us"] <= total_us + r["frontend_resolution_us"]:
                bad(rw, "frontend latency %d us exceeds curl's total %d us" % (r["frontend_latency_us"], total_us))
    # tshark's dissector: one BEGIN_REQUEST per expected request, END_REQUEST for each complete one
    types = tshark_types(pcap, j["server_ports"])
    if types is None:
        bad(where, "tshark could not read the capture")
        return
    if types.count(1) != j["request_count"]:
        bad(where, "tshark sees %d BEGIN_REQUEST, expected %d" % (types.count(1), j["request_count"]))
    complete = sum(1 for r in j["requests"] if r.get("complete") is True)
    if types.count(3) < complete:
        bad(where, "tshark sees %d END_REQUEST, fewer than %d complete requests" % (types.count(3), complete))
    if "stderr_output" in j["anomalies_must"] and 7 not in types:
        bad(where, "stderr_output required but no STDERR record")
    if "user_requests" in j:
        check_scenario(where, j, ids, logdir, curl)


def nginx_log(path):
    """tag -> (status, upstream_status, request_time, upstream_addr, retries) of an nginx log
    (record.sh format; retries None: nginx lists every attempt in $upstream_addr) or of a
    HAProxy log (captures/record/conf/haproxy-exhausted.cfg.in: one server, %rc retries;
    upstream_status "-" when no response came, %Tr -1)."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) >= 12:
                out[c[0]] = (int(c[1]), c[2], c[6], c[10], None)
                continue
            c = line.rstrip("\n").split("|")
            if len(c) == 13:
                out[c[0]] = (int(c[1]), c[1] if int(c[5]) >= 0 else "-", c[6], None, int(c[11]))
    return out


def check_scenario(where, j, ids, logdir, curl):
    """The failure-scenario fields: types, attempts grouped per tag, user statuses equal to the
    log's $status, counts consistent with each other and with curl."""
    n0 = len(problems)
    for k, t in SCEN_KEYS.items():
        if k not in j:
            if k not in ("frontend_latency_one_sided", "anomaly_counts", "connections_given_up"):
                bad(where, "failure-scenario file without key " + k)
        elif not isinstance(j[k], t):
            bad(where, "key %s is %s, want %s" % (k, type(j[k]).__name__, t.__name__))
    if len(problems) > n0:
        return
    for a in j["analyzer_anomalies_must"]:
        if a not in ids:
            bad(where, "anomaly id %r is not in the catalogue" % a)
        if a not in j["anomalies_may"]:
            bad(where, "analyzer-only id %s is not also in anomalies_may (the plugin may raise it)" % a)
    if not os.path.isfile(os.path.join(logdir, j["frontend_error_log"])):
        bad(where, "frontend error log %s missing" % j["frontend_error_log"])
    log = nginx_log(os.path.join(logdir, j["frontend_log"]))
    tags = {}
    for r in j["requests"]:
        tags.setdefault(r.get("request_tag"), []).append(r)
    for tag, rs in tags.items():
        tw = "%s: %s" % (where, tag)
        if [r.get("attempt") for r in rs] != list(range(1, len(rs) + 1)):
            bad(tw, "attempts %s, want 1..%d in frame order" % ([r.get("attempt") for r in rs], len(rs)))
        if [r.get("retried") for r in rs] != [True] * (len(rs) - 1) + [False]:
            bad(tw, "retried %s: every attempt but the last" % [r.get("retried") for r in rs])
        if any("user_status" in r for r in rs[:-1]) or "user_status" not in rs[-1]:
            bad(tw, "user_status belongs to the last attempt only")
        e = log.get(tag)
        if e is None:
            bad(tw, "not in the frontend log")
            continue
        for r in rs:
            want_min = "warning" if r is rs[-1] and (e[0] >= 500 or e[0] == 499) else None
            want_max = "note" if r is not rs[-1] and e[0] < 400 else None
            if r.get("severity_min") != want_min or r.get("severity_max") != want_max:
                bad(tw, "severity_min/max %r/%r, the log gives %r/%r" % (
                    r.get("severity_min"), r.get("severity_max"), want_min, want_max))
        if rs[-1].get("user_status") != e[0]:
            bad(tw, "user_status %r, the log says %d" % (rs[-1].get("user_status"), e[0]))
        ups = [x.strip() for x in e[1].replace(" : ", ", ").split(", ")]
        if len(rs) > len(ups):
            bad(tw, "%d attempts, the log's $upstream_status %r has %d" % (len(rs), e[1], len(ups)))
        for r in rs:
            if r.get("upstream_status") is not None and str(r["upstream_status"]) not in ups:
                bad(tw, "upstream_status %s not in the log's %r" % (r["upstream_status"], e[1]))
        c = curl.get(tag)
        if c is not None and c[4] != "000" and int(c[4]) != e[0]:
            bad(tw, "curl got %s, the log says %d" % (c[4], e[0]))
        for r in rs:
            for k in ("frontend_abandoned_us", "frontend_elapsed_us", "frontend_latency_us"):
                if k in r and c is not None and not 0 <= r[k] <= float(c[6]) * 1e6 + r.get("frontend_resolution_us", 1000):
                    bad(tw, "%s %d exceeds curl's total %s s" % (k, r[k], c[6]))
    st = {}
    for tag, rs in tags.items():
        k = str(rs[-1].get("user_status"))
        st[k] = st.get(k, 0) + 1
    if j["user_requests"] != len(tags) or sum(j["user_statuses"].values()) != len(tags) or st != j["user_statuses"]:
        bad(where, "user_requests %d / user_statuses %s, the requests give %d / %s"
            % (j["user_requests"], j["user_statuses"], len(tags), st))
    b = j["backend"]
    for k in ("connection_refused", "closed_before_request", "connect_retried"):
        if b.get(k) != sum(s.get(k, 0) for s in b.get("servers", [])):
            bad(where, "backend.%s is not the sum over its servers" % k)
        if b.get(k) and k not in j["analyzer_anomalies_must"]:
            bad(where, "backend.%s counted but not required as an anomaly" % k)
    # attempts the log has that never became a FastCGI request: refused or closed before a record
    # (HAProxy: also connections it gave up after its GET_VALUES, most of them unanswered)
    haproxy = j["pair"].startswith("haproxy")
    gv = j.get("connections_given_up", 0) if haproxy else 0
    if (j.get("anomaly_counts") or {}).get("get_values_unanswered", 0) > gv:
        bad(where, "more GET_VALUES unanswered than connections given up (%d)" % gv)
    for k, v in (j.get("anomaly_counts") or {}).items():
        if k not in ids:
            bad(where, "anomaly_counts: %r is not in the catalogue" % k)
        elif v and k not in j["anomalies_must"] + j["analyzer_anomalies_must"]:
            bad(where, "anomaly_counts: %s counted but not required" % k)
    without = b.get("connection_refused", 0) + b.get("closed_before_request", 0) + gv
    if len(j["attempts_without_fastcgi"]) != without:
        bad(where, "%d attempts without a FastCGI request, %d refused + closed-before-request%s connections"
            % (len(j["attempts_without_fastcgi"]), without, " + given-up" if haproxy else ""))
    per_tag = {}
    for u in j["attempts_without_fastcgi"]:
        e = log.get(u.get("request_tag"))
        per_tag[u.get("request_tag")] = per_tag.get(u.get("request_tag"), 0) + 1
        if e is None or (e[3] is not None and u.get("server") not in e[3]):
            bad(where, "attempt without FastCGI %s: not in the log as %s" % (u.get("request_tag"), u.get("server")))
    if haproxy:     # %rc retries: rc + 1 attempts, those not on the wire as FastCGI requests
        for tag, e in log.items():
            want = e[4] + 1 - len(tags.get(tag, []))
            if per_tag.get(tag, 0) != want:
                bad(where, "%s: %d attempts without FastCGI, the log's %%rc %d and %d FastCGI requests give %d"
                    % (tag, per_tag.get(tag, 0), e[4], len(tags.get(tag, [])), want))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    capdir, defs = sys.argv[1], sys.argv[2]
    ids = catalogue(defs)
    if not ids:
        sys.exit("no anomaly ids in " + defs)
    real = os.path.join(capdir, "real")
    expects = sorted(os.path.join(real, f) for f in os.listdir(real) if f.endswith(".expect.json"))
    if len(expects) < 2:
        bad(real, "fewer than two real captures")
    for e in expects:
        check(capdir, e, ids, real)
    if os.path.isfile(os.path.join(capdir, "demo.pcapng")):
        check(capdir, os.path.join(capdir, "demo.expect.json"), ids, real)
    else:
        bad(capdir, "demo.pcapng missing")
    # the expect files are what mkexpect.py derives from the committed logs (no hand edits)
    mk = os.path.join(capdir, "record", "mkexpect.py")
    with tempfile.TemporaryDirectory() as tmp:
        for e in expects:
            with open(e) as f:
                j = json.load(f)
            name = os.path.basename(e)[:-len(".expect.json")]
            for suffix in (".pcap", ".frontend.log", ".curl.tsv"):
                shutil.copy(os.path.join(real, name + suffix), tmp)
            fe = {"nginx": "nginx", "haproxy": "haproxy", "apache2": "apache", "caddy": "caddy",
                  "lighttpd": "lighttpd"}[j["pair"].split()[0]]
            if fe == "haproxy":
                fe = "haproxy-go" if "golang" in j["pair"] else "haproxy-php"
            be = ("php-fpm" if "php8.2-fpm" in j["pair"] else "go" if "golang" in j["pair"]
                  else "fcgiwrap" if "fcgiwrap" in j["pair"] else "libfcgi")
            cmd = [sys.executable, mk, "--name", name, "--frontend", fe, "--backend", be, "--pair",
                   j["pair"], "--port", str(j["server_ports"][0]), "--dir", tmp]
            if name.endswith("-killed"):
                cmd.append("--killed")
            if "user_requests" in j:
                pre, suf = j["pair"] + ": ", "; FastCGI hop only (the whole TCP conversation on the FastCGI ports)."
                desc = j["description"]
                if not (desc.startswith(pre) and desc.endswith(suf)):
                    bad(name, "description not in mkexpect.py --scenario form")
                    continue
                cmd = [sys.executable, mk, "--scenario", "--name", name, "--frontend", fe, "--backend", be,
                       "--pair", j["pair"], "--ports", ",".join(str(p) for p in j["server_ports"]),
                       "--dir", tmp, "--description", desc[len(pre):-len(suf)]]
                cmd += ["--analyzer-arg=" + x for x in j.get("analyzer_args") or []]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                bad(name, "mkexpect.py failed: " + r.stderr.strip())
                continue
            with open(os.path.join(tmp, name + ".expect.json")) as f:
                again = json.load(f)
            if again != j:
                bad(name, "expect file differs from what mkexpect.py derives from the logs")
    # the whole folder stays small
    total = 0
    for root, _, files in os.walk(capdir):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    if total >= 20 * 1024 * 1024:
        bad(capdir, "captures/ is %d bytes, over 20 MB" % total)
    for p in problems:
        print("FAIL", p)
    print("%d expect files checked, %d problems" % (len(expects) + 1, len(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
