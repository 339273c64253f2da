#!/usr/bin/env python3
"""captures/record/mkexpect.py: builds <name>.expect.json for a real capture from the frontend's access log and curl's results (schema: captures/EXPECT.md).

The expectations come from the ground truth next to the capture (the frontend's
own log and what curl saw), never from fcgiscope. tshark's built-in `fcgi`
dissector (an independent parser) is used to join each curl request to its
BEGIN_REQUEST by the HTTP_X_REQUEST_ID param (giving request_id, client, frame,
script and the t_begin order), to cross-check REQUEST_METHOD and REQUEST_URI, and
to decide whether catalogue ids that depend on the backend's framing or timing
(stderr_output, end_without_stdout_eos, multiplexed, oversized_record,
incomplete_request) are certain (`anomalies_must`) or only possible.

Usage:
  mkexpect.py --name N --frontend F --backend B --pair DESC --port P --dir DIR [--killed]
  mkexpect.py --demo SRC.expect.json DST.expect.json
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

# What each frontend's latency column means and its resolution in microseconds.
LATENCY_SOURCE = {
    "nginx": ("nginx $upstream_response_time (from connecting to / sending to the upstream "
              "until the last response byte; ms resolution)", 1000),
    "haproxy": ("HAProxy %Ta - %TR - %Tw - %Tc, i.e. %Tr + data transfer time: from the request "
                "being sent on the server connection to the end of the response (ms resolution)", 1000),
    "apache": ("Apache %D: the whole HTTP request as the frontend served it, not only the "
               "FastCGI hop (us resolution)", 1),
    "caddy": ("Caddy access log `duration`: the whole HTTP request as the frontend served it, "
              "not only the FastCGI hop (ns printed, taken as us)", 1),
    "lighttpd": ("lighttpd %D: the whole HTTP request as the frontend served it, not only the "
                 "FastCGI hop (us resolution)", 1),
}


def die(msg):
    sys.exit("mkexpect.py: " + msg)


def read_curl(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            tag, group, method, uri, code, size, ttotal, upload, rc = line.split("\t")
            rows.append({"tag": tag, "group": int(group), "method": method, "uri": uri,
                         "http_code": int(code), "size": int(size), "time": float(ttotal),
                         "upload": int(upload), "rc": int(rc)})
    return rows


def ms_to_us(v):
    return int(round(float(v) * 1000))


def parse_log(kind, path):
    """Returns {tag: {status, upstream_status, latency_us, method, uri}}."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    for l in lines:
        e = None
        if kind == "nginx":
            c = l.split("\t")
            if len(c) < 12:
                continue
            ups = c[2]
            rt = c[3]
            lat = None
            if rt not in ("-", ""):
                # several values only after retries to other upstreams: sum them
                lat = sum(int(round(float(x.strip()) * 1e6)) for x in rt.replace(":", ",").split(",")
                          if x.strip() not in ("", "-"))
            e = {"tag": c[0], "status": int(c[1]),
                 "upstream_status": None if ups in ("-", "") else int(ups.split(",")[-1].strip()),
                 "latency_us": lat, "method": c[7], "uri": c[8]}
        elif kind.startswith("haproxy"):
            c = l.split("|")
            if len(c) != 10:
                continue
            tr, tw, tc, tresp, ta = (int(x) for x in c[2:7])
            lat = ta - tr - tw - tc if min(tr, tw, tc, tresp, ta) >= 0 else None
            # Tc >= 0: a server connection was used, so the request went out as FastCGI.
            # Tr == -1 with a connection: HAProxy rejected the response it got (it logs 502);
            # the application's own CGI status is then unknown from the log.
            e = {"tag": c[0], "status": int(c[1]), "reached": tc >= 0,
                 "upstream_status": int(c[1]) if tresp >= 0 else None,
                 "latency_us": None if lat is None else lat * 1000, "method": c[7], "uri": c[8]}
        elif kind in ("apache", "lighttpd"):
            c = l.split("|")
            if kind == "apache" and len(c) == 6:
                e = {"tag": c[0], "status": int(c[1]), "upstream_status": int(c[1]),
                     "latency_us": int(c[2]), "method": c[4], "uri": c[5]}
            elif kind == "lighttpd" and len(c) == 6:
                q = "" if c[5] in ("", "-") else "?" + c[5]
                e = {"tag": c[0], "status": int(c[1]), "upstream_status": int(c[1]),
                     "latency_us": int(c[2]), "method": c[3], "uri": c[4] + q}
        elif kind == "caddy":
            try:
                j = json.loads(l)
            except ValueError:
                continue
            req = j.get("request") or {}
            hdr = req.get("headers") or {}
            tag = (hdr.get("X-Request-Id") or [""])[0]
            if "status" not in j:
                continue
            e = {"tag": tag, "status": int(j["status"]), "upstream_status": int(j["status"]),
                 "latency_us": int(round(float(j["duration"]) * 1e6)), "method": req.get("method"),
                 "uri": req.get("uri")}
        if e and e["tag"]:
            if e["tag"] in out:
                die("%s: request tag %s logged twice" % (path, e["tag"]))
            out[e["tag"]] = e
    return out


def tshark_records(pcap, port):
    """(tcp stream, type, request id, length, padding) of every record tshark's built-in
    dissector sees, or None without tshark."""
    if not shutil.which("tshark"):
        return None
    try:
        r = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==%d,fcgi" % port,
                            "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;",
                            "-e", "tcp.stream", "-e", "fcgi.type", "-e", "fcgi.id",
                            "-e", "fcgi.content.length", "-e", "fcgi.padding.length"],
                           capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    recs = []
    for line in r.stdout.splitlines():
        c = line.split("\t")
        if len(c) < 5 or not c[1]:
            continue
        for t, i, n, p in zip(c[1].split(";"), c[2].split(";"), c[3].split(";"), c[4].split(";")):
            recs.append((int(c[0]), int(t), int(i), int(n), int(p)))
    return recs


def tshark_begins(pcap, port):
    """Each BEGIN_REQUEST the client sent, as tshark's dissector shows it, joined to the
    parameters of its PARAMS records: [{frame, client_port, request_id, params}] in capture order.
    frame is None when the BEGIN_REQUEST record was reassembled from several segments (its
    first byte is then in an earlier frame)."""
    r = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==%d,fcgi" % port, "-O", "fcgi", "-V",
                        "-Y", "tcp.dstport==%d && (fcgi.type == 1 || fcgi.type == 4)" % port],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        die("tshark failed on %s: %s" % (pcap, r.stderr.strip()))
    begins, latest = [], {}
    frame = sport = None
    reassembled = False
    rec = None          # the record being read: [type, id]
    first_in_frame = False
    for line in r.stdout.splitlines():
        if line.startswith("Frame "):
            frame = int(line.split()[1].rstrip(":"))
            reassembled = False
            rec = None
            first_in_frame = True
        elif line.startswith("Transmission Control Protocol, Src Port: "):
            sport = int(line.split("Src Port: ")[1].split(",")[0])
        elif line.startswith("[") and "Reassembled TCP Segments" in line:
            reassembled = True
        elif line.startswith("FastCGI ("):
            rec = [line[len("FastCGI ("):].rstrip(")"), None, first_in_frame]
            first_in_frame = False
        elif rec is not None and line.startswith("    Request ID: "):
            rec[1] = int(line.split(": ")[1])
            if rec[0] == "FCGI_BEGIN_REQUEST":
                b = {"frame": None if (reassembled and rec[2]) else frame, "client_port": sport,
                     "request_id": rec[1], "params": {}}
                begins.append(b)
                latest[(sport, rec[1])] = b
        elif rec is not None and rec[0] == "FCGI_PARAMS" and line.startswith("        ") and " = " in line:
            name, _, value = line.strip().partition(" = ")
            b = latest.get((sport, rec[1]))
            if b is not None:
                b["params"].setdefault(name, value)
    return begins


def overlapping(recs):
    """True if a BEGIN_REQUEST arrives on a connection while another request there is active."""
    active = {}
    for stream, t, rid, _, _ in recs:
        if t == 1:
            ids = active.setdefault(stream, set())
            if ids - {rid}:
                return True
            ids.add(rid)
        elif t == 3:
            active.get(stream, set()).discard(rid)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", nargs=2)
    ap.add_argument("--name")
    ap.add_argument("--frontend")
    ap.add_argument("--backend")
    ap.add_argument("--pair")
    ap.add_argument("--port", type=int)
    ap.add_argument("--dir")
    ap.add_argument("--killed", action="store_true")
    a = ap.parse_args()

    if a.demo:
        src, dst = a.demo
        with open(src) as f:
            j = json.load(f)
        base = os.path.basename(src)[:-len(".expect.json")]
        j["capture"] = "demo.pcapng"
        j["description"] = ("The README's demo (a copy of real/%s.pcap as pcapng). " % base) + j["description"]
        j["frontend_log"] = "real/" + j["frontend_log"]
        with open(dst, "w") as f:
            json.dump(j, f, indent=2)
            f.write("\n")
        return

    d = a.dir
    pcap = os.path.join(d, a.name + ".pcap")
    flog = a.name + ".frontend.log"
    curl = read_curl(os.path.join(d, a.name + ".curl.tsv"))
    logged = parse_log(a.frontend, os.path.join(d, flog))
    fkind = "haproxy" if a.frontend.startswith("haproxy") else a.frontend
    src, res = LATENCY_SOURCE[fkind]

    # join each curl request to the BEGIN_REQUEST that carried its tag (tshark's view)
    begins = tshark_begins(pcap, a.port)
    by_tag = {}
    for b in begins:
        t = b["params"].get("HTTP_X_REQUEST_ID")
        if t is None:
            die("%s: BEGIN_REQUEST in frame %s carries no HTTP_X_REQUEST_ID" % (a.name, b["frame"]))
        if t in by_tag:
            die("%s: tag %s in two FastCGI requests" % (a.name, t))
        by_tag[t] = b
    requests = []
    racy_head = False
    for c in curl:
        e = logged.get(c["tag"])
        if e is None:
            die("%s: request %s (curl code %d) is not in the frontend log" % (a.name, c["tag"], c["http_code"]))
        if not e.get("reached", e["upstream_status"] is not None) and not (a.killed and c["rc"] != 0):
            continue    # the frontend never reached the backend: no FastCGI request
        if e["method"] != c["method"] or e["uri"] != c["uri"]:
            die("%s: %s logged as %s %s, curl sent %s %s" % (a.name, c["tag"], e["method"], e["uri"],
                                                              c["method"], c["uri"]))
        killed = a.killed and c["rc"] != 0
        b = by_tag.pop(c["tag"], None)
        if b is None:
            die("%s: %s went to the backend per the log but is not in the capture" % (a.name, c["tag"]))
        p = b["params"]
        if p.get("REQUEST_METHOD") != c["method"] or p.get("REQUEST_URI") != c["uri"]:
            die("%s: %s is %s %s in the capture, curl sent %s %s" % (
                a.name, c["tag"], p.get("REQUEST_METHOD"), p.get("REQUEST_URI"), c["method"], c["uri"]))
        r = {"request_tag": c["tag"], "request_id": b["request_id"],
             "client": "127.0.0.1:%d" % b["client_port"], "server": "127.0.0.1:%d" % a.port}
        if b["frame"] is not None:
            r["frame"] = b["frame"]
        r.update({"method": c["method"], "uri": c["uri"]})
        if "SCRIPT_NAME" in p:
            r["script"] = p["SCRIPT_NAME"]
        r.update({"status": e["upstream_status"], "complete": not killed})
        if not killed:
            r["stdin_bytes"] = c["upload"]      # the body curl sent (with Content-Length)
        if r["status"] is None:
            del r["status"]     # reached the backend, but the log does not say what it answered
        if killed:
            # the CGI header (no Status: line, so 200) was sent before the worker died;
            # the frontend's status is what it had already relayed to the client
            r["status"] = 200
        if e["latency_us"] is not None and not killed:
            r["frontend_latency_us"] = e["latency_us"]
            r["frontend_resolution_us"] = res
        if a.backend == "go" and c["method"] == "HEAD" and not killed:
            # net/http/fcgi sends a body for HEAD; HAProxy then either answers 502 or resets the
            # connection before END_REQUEST: whether this request completes is a race
            del r["complete"]
            racy_head = True
        requests.append((b["frame"] or 0, len(requests), r))
    if by_tag:
        die("%s: FastCGI requests with tags curl did not send: %s" % (a.name, sorted(by_tag)))
    # in order of t_begin: the capture order of their BEGIN_REQUEST frames
    requests = [r for _, _, r in sorted(requests, key=lambda x: (x[0], x[1]))]

    recs = tshark_records(pcap, a.port)
    must, may = set(), set()
    if a.backend == "php-fpm":
        may.add("end_without_stdout_eos")
        # php-fpm 8.2 leaves END_REQUEST's three reserved body bytes uninitialised: they carry
        # stale bytes of its output buffer (e.g. "es="), so whether they are zero is chance
        may.add("reserved_nonzero")
    may.add("stderr_output")
    if a.backend == "go":
        may.add("multiplexed")
    if racy_head:
        may.update(["incomplete_request", "stream_not_terminated"])
    if a.killed:
        must.add("incomplete_request")
        may.update(["stream_not_terminated", "truncated_record"])
    if recs is not None:
        recs2 = [(t, n) for _, t, _, n, _ in recs]
        if any(n + p > 65535 for _, _, _, n, p in recs):
            must.add("oversized_record")    # Go pads a 65535-byte STDOUT record to 65536
        if any(t == 7 and n > 0 for t, n in recs2):
            must.add("stderr_output")
        else:
            may.discard("stderr_output")
        if a.backend == "php-fpm" and not any(t == 6 and n == 0 for t, n in recs2) and \
                any(t == 3 for t, n in recs2):
            must.add("end_without_stdout_eos")
        if overlapping(recs):
            must.add("multiplexed")
        elif a.backend != "go":
            may.discard("multiplexed")
        if sum(1 for t, _ in recs2 if t == 1) > sum(1 for t, _ in recs2 if t == 3):
            must.add("incomplete_request")
    may -= must

    desc = ("%s: %d HTTP requests driven by curl (GET, GET with query, HEAD, ~8 KB of headers, small POST, "
            "200 KiB POST, ~1 MB response, stderr, 404, 500, 302, slow requests sequential and 4 "
            "concurrent); FastCGI hop only." % (a.pair, len(curl)))
    if a.killed:
        desc = ("%s: a GET, then a slowly streaming GET whose php-fpm worker is killed with SIGKILL "
                "mid-response, then a GET served by the respawned worker; FastCGI hop only." % a.pair)
    j = {
        "capture": a.name + ".pcap",
        "kind": "real",
        "description": desc,
        "pair": a.pair,
        "server_ports": [a.port],
        "precision": "us",
        "error": None,
        "exit_status": 0,
        "request_count": len(requests),
        "requests": requests,
        "anomalies_must": sorted(must),
        "anomalies_may": sorted(may),
        "frontend_log": flog,
        "frontend_latency_source": src,
    }
    with open(os.path.join(d, a.name + ".expect.json"), "w") as f:
        json.dump(j, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
