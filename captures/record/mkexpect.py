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
  mkexpect.py --scenario --name N --frontend nginx|haproxy-php --backend php-fpm --pair DESC --ports P1,P2
              --dir DIR --description TEXT [--analyzer-arg OPT ...]
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


def decode_as(ports):
    """tshark -d arguments for one port (int) or several (list)."""
    args = []
    for p in (ports if isinstance(ports, list) else [ports]):
        args += ["-d", "tcp.port==%d,fcgi" % p]
    return args


def tshark_records(pcap, port):
    """(tcp stream, type, request id, length, padding) of every record tshark's built-in
    dissector sees, or None without tshark. port: int or list of ints."""
    if not shutil.which("tshark"):
        return None
    try:
        r = subprocess.run(["tshark", "-r", pcap] + decode_as(port) + [
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
    ports = port if isinstance(port, list) else [port]
    r = subprocess.run(["tshark", "-r", pcap] + decode_as(port) + ["-O", "fcgi", "-V",
                        "-Y", "(%s) && (fcgi.type == 1 || fcgi.type == 4)"
                        % " || ".join("tcp.dstport==%d" % p for p in ports)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        die("tshark failed on %s: %s" % (pcap, r.stderr.strip()))
    begins, latest = [], {}
    frame = sport = dport = None
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
            dport = int(line.split("Dst Port: ")[1].split(",")[0])
        elif line.startswith("[") and "Reassembled TCP Segments" in line:
            reassembled = True
        elif line.startswith("FastCGI ("):
            rec = [line[len("FastCGI ("):].rstrip(")"), None, first_in_frame]
            first_in_frame = False
        elif rec is not None and line.startswith("    Request ID: "):
            rec[1] = int(line.split(": ")[1])
            if rec[0] == "FCGI_BEGIN_REQUEST":
                b = {"frame": None if (reassembled and rec[2]) else frame, "client_port": sport,
                     "server_port": dport, "request_id": rec[1], "params": {}}
                begins.append(b)
                latest[(sport, rec[1])] = b
        elif rec is not None and rec[0] == "FCGI_PARAMS" and line.startswith("        ") and \
                (" = " in line or line.rstrip().endswith(" =")):
            name, _, value = line.strip().partition(" =")
            value = value[1:] if value.startswith(" ") else value
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


# ---- failure scenarios (record.sh record_scenario; captures/README.md "Failure scenarios") ----

def nginx_attempts(path):
    """nginx log lines with every upstream attempt split out: {tag: entry}. $upstream_* values
    list one attempt per upstream tried, ", " between servers of one group, " : " between
    groups (an internal redirect such as error_page)."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for l in f:
            c = l.rstrip("\n").split("\t")
            if len(c) < 12 or not c[0]:
                continue

            def split(v):
                return [x.strip() for x in v.replace(" : ", ", ").split(", ")]
            sts, rts, hts, cts, addrs = (split(c[i]) for i in (2, 3, 4, 5, 10))
            if not len(sts) == len(rts) == len(hts) == len(cts) == len(addrs):
                die("%s: %s: upstream columns of different lengths" % (path, c[0]))
            def us(v):      # nginx logs seconds with ms resolution
                return None if v in ("-", "") else int(round(float(v) * 1e6))
            atts = []
            for st, rt, ht, ct, ad in zip(sts, rts, hts, cts, addrs):
                if ad in ("-", ""):
                    continue    # no upstream at all (e.g. the client left before nginx connected)
                atts.append({"status": None if st in ("-", "") else int(st),
                             "response_us": us(rt), "header_us": us(ht), "connect_us": us(ct),
                             "server": ad})
            if c[0] in out:
                die("%s: request tag %s logged twice" % (path, c[0]))
            out[c[0]] = {"tag": c[0], "status": int(c[1]), "upstream_status": c[2],
                         "request_time_us": int(round(float(c[6]) * 1e6)), "method": c[7], "uri": c[8],
                         "attempts": atts}
    return out


def haproxy_attempts(path, server):
    """HAProxy log lines (haproxy-exhausted.cfg.in: tag|status|TR|Tw|Tc|Tr|Ta|method|uri|bytes|Tq|
    retries|termination_state) as nginx_attempts() gives them: {tag: entry}. HAProxy logs one
    line per user request; %rc is how many times it retried the connection. A retried
    connection never carried a FastCGI request (HAProxy gives a connection up while its SYN or
    its GET_VALUES is unanswered, before sending BEGIN_REQUEST), so the attempts are %rc
    failed ones ("fastcgi": False) and the last, which reached FastCGI when %Tc >= 0
    (connected) and failed too otherwise (503, termination state sC: connect timeout)."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for l in f:
            c = l.rstrip("\n").split("|")
            if len(c) != 13 or not c[0]:
                continue
            tr, tw, tc, tresp, ta = (int(x) for x in c[2:7])
            retries = int(c[11])
            failed = {"status": None, "response_us": None, "header_us": None, "connect_us": None,
                      "server": server, "fastcgi": False}
            atts = [dict(failed) for _ in range(retries)]
            if tc >= 0:
                # %Ta - %TR - %Tw - %Tc: from connected (GET_VALUES_RESULT) to the response's end
                atts.append({"status": int(c[1]) if tresp >= 0 else None,
                             "response_us": (ta - tr - tw - tc) * 1000 if tresp >= 0 else None,
                             "header_us": tresp * 1000 if tresp >= 0 else None, "connect_us": None,
                             "server": server})
            else:
                atts.append(dict(failed))
            if c[0] in out:
                die("%s: request tag %s logged twice" % (path, c[0]))
            out[c[0]] = {"tag": c[0], "status": int(c[1]),
                         "upstream_status": c[1] if tresp >= 0 else "-",
                         "request_time_us": ta * 1000, "method": c[7], "uri": c[8],
                         "retries": retries, "termination": c[12], "attempts": atts}
    return out


def get_values_unanswered(recs, streams):
    """Connections whose GET_VALUES got no GET_VALUES_RESULT and that ended (a RST, or FIN both
    ways): the decoder's get_values_unanswered, counted from tshark's view."""
    asked, answered = set(), set()
    for st, t, _, _, _ in recs:
        if t == 9:
            asked.add(st)
        elif t == 10:
            answered.add(st)
    n = 0
    for st in asked - answered:
        pk = streams[st]["pkts"]
        rst = any(p[5] for p in pk)
        fins = {p[1] for p in pk if p[4]}
        if rst or len(fins) == 2:
            n += 1
    return n


def given_up(recs, streams):
    """Connections that carried records from the client (HAProxy's GET_VALUES) but never a
    BEGIN_REQUEST: HAProxy gave them up (connect timeout, or its request had already failed)."""
    sent, begun = set(), set()
    for st, t, _, _, _ in recs:
        if t == 1:
            begun.add(st)
        elif t == 9:
            sent.add(st)
    return sum(1 for st in sent - begun if st in streams)


def tshark_packets(pcap, ports):
    """Per TCP stream on the server ports: {stream: {"client": port, "server": port, "pkts":
    [(frame, from_client, syn, ack, fin, rst, payload_len)]}} from tshark (no FastCGI needed)."""
    r = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "frame.number", "-e", "tcp.stream",
                        "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.flags.syn", "-e",
                        "tcp.flags.ack", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset", "-e", "tcp.len"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        die("tshark failed on %s: %s" % (pcap, r.stderr.strip()))
    streams = {}

    def flag(v):
        return v in ("1", "True")
    for line in r.stdout.splitlines():
        c = line.split("\t")
        if len(c) < 9 or not c[1]:
            continue
        fr, st, sp, dp = int(c[0]), int(c[1]), int(c[2]), int(c[3])
        if dp in ports:
            cl, sv, fc = sp, dp, True
        elif sp in ports:
            cl, sv, fc = dp, sp, False
        else:
            continue
        s = streams.setdefault(st, {"client": cl, "server": sv, "pkts": []})
        s["pkts"].append((fr, fc, flag(c[4]), flag(c[5]), flag(c[6]), flag(c[7]), int(c[8] or 0)))
    return streams


def tcp_outcomes(streams):
    """What each connection's opening says: SYN retransmitted, refused (RST or never answered
    instead of SYN-ACK), closed by the server (FIN or RST) before the client sent a byte."""
    res = {}
    for st, s in streams.items():
        syns = synack = 0
        refused = closed_early = False
        client_sent = False
        for fr, fc, syn, ack, fin, rst, n in s["pkts"]:
            if fc and syn and not ack:
                if not synack:
                    syns += 1
            elif not fc and syn and ack:
                synack += 1
            elif not fc and rst and not synack:
                refused = True
            if fc and n > 0:
                client_sent = True
            if not fc and (fin or rst) and synack and not client_sent:
                closed_early = True
        if syns and not synack and not refused:
            refused = True      # never answered
        res[st] = {"syns": syns, "refused": refused and syns > 0,
                   "closed_before_request": closed_early, "server": s["server"], "client": s["client"]}
    return res


def tshark_record_data(pcap, ports):
    """Every record in capture order with its content: [(stream, type, id, bytes)]."""
    r = subprocess.run(["tshark", "-r", pcap] + decode_as(ports) + [
        "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;", "-e", "tcp.stream",
        "-e", "fcgi.type", "-e", "fcgi.id", "-e", "fcgi.content.length", "-e", "fcgi.content.data"],
        capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        die("tshark failed on %s: %s" % (pcap, r.stderr.strip()))
    recs = []
    for line in r.stdout.splitlines():
        c = line.split("\t")
        if len(c) < 4 or not c[1]:
            continue
        types, ids, lens = c[1].split(";"), c[2].split(";"), c[3].split(";")
        datas = c[4].split(";") if len(c) > 4 and c[4] else []
        di = 0
        for t, i, n in zip(types, ids, lens):
            data = b""
            if int(n) > 0 and int(t) not in (1, 3, 9, 10):
                if di < len(datas):
                    data = bytes.fromhex(datas[di].replace(":", ""))
                di += 1
            elif int(n) > 0:
                di += 1     # BEGIN/END/GET_VALUES bodies are content too
            recs.append((int(c[0]), int(t), int(i), int(n), data))
    return recs


def cgi_status(head):
    """The status a web server derives from a CGI header block (RFC 3875 6.2): Status:, else
    Location -> 302, else 200; None if the block never ended."""
    end = head.find(b"\r\n\r\n")
    if end < 0:
        end = head.find(b"\n\n")
    if end < 0:
        return None
    status = loc = None
    for line in head[:end].split(b"\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"status":
            status = int(value.strip()[:3])
        elif name == b"location":
            loc = value.strip()
    return status if status is not None else 302 if loc else 200


def scenario(a):
    d = a.dir
    ports = [int(p) for p in a.ports.split(",")]
    pcap = os.path.join(d, a.name + ".pcap")
    flog = a.name + ".frontend.log"
    curl = read_curl(os.path.join(d, a.name + ".curl.tsv"))
    haproxy = a.frontend.startswith("haproxy")
    if haproxy:
        logged = haproxy_attempts(os.path.join(d, flog), "127.0.0.1:%d" % ports[0])
    else:
        logged = nginx_attempts(os.path.join(d, flog))
    streams = tshark_packets(pcap, ports)
    tcp = tcp_outcomes(streams)
    by_4 = {}
    for st, s in streams.items():
        if (s["client"], s["server"]) in by_4:
            die("%s: client port %d used twice towards %d" % (a.name, s["client"], s["server"]))
        by_4[(s["client"], s["server"])] = st
    first_frame = {}        # stream -> frame of its first BEGIN_REQUEST

    # the FastCGI requests on the wire, grouped by the tag nginx forwarded
    begins = tshark_begins(pcap, ports)
    wire = {}
    for b in begins:
        t = b["params"].get("HTTP_X_REQUEST_ID")
        if t is None:
            die("%s: BEGIN_REQUEST in frame %s carries no HTTP_X_REQUEST_ID" % (a.name, b["frame"]))
        if b["frame"] is None:
            die("%s: a BEGIN_REQUEST of %s was reassembled (no single frame)" % (a.name, t))
        b["stream"] = by_4[(b["client_port"], b["server_port"])]
        first_frame[b["stream"]] = min(first_frame.get(b["stream"], b["frame"]), b["frame"])
        wire.setdefault(t, []).append(b)

    # each request's records: streams' content, END_REQUEST, order of STDIN end vs END_REQUEST
    recs = tshark_record_data(pcap, ports)
    info = {}               # (stream, id, n-th request with this id on the stream) -> facts
    seq = {}
    for i, (st, t, rid, n, data) in enumerate(recs):
        if t == 1:
            seq[(st, rid)] = seq.get((st, rid), -1) + 1
        k = (st, rid, seq.get((st, rid), 0))
        f = info.setdefault(k, {"stdout": b"", "stderr": b"", "stdin": 0, "stdin_end": None,
                                "end": None, "stderr_after_stdout": b"", "stdout_eos": False})
        if t == 6:
            f["stdout"] += data
            f["stdout_eos"] |= n == 0
        elif t == 7:
            f["stderr"] += data
            if f["stdout"]:
                f["stderr_after_stdout"] += data
        elif t == 5:
            f["stdin"] += n
            if n == 0 and f["stdin_end"] is None:
                f["stdin_end"] = i
        elif t == 3 and f["end"] is None:
            f["end"] = i
    nth = {}
    for b in begins:
        k = (b["stream"], b["request_id"])
        nth[k] = nth.get(k, -1) + 1
        b["facts"] = info.get((b["stream"], b["request_id"], nth[k]))

    res = "1000"
    requests, unsent, user_statuses = [], [], {}
    must, may, anz_must = set(), set(), set()
    for c in curl:
        e = logged.get(c["tag"])
        if e is None:
            die("%s: request %s (curl code %d) is not in the frontend log" % (a.name, c["tag"], c["http_code"]))
        if e["method"] != c["method"] or e["uri"] != c["uri"]:
            die("%s: %s logged as %s %s, curl sent %s %s" % (a.name, c["tag"], e["method"], e["uri"],
                                                              c["method"], c["uri"]))
        ws = sorted(wire.pop(c["tag"], []), key=lambda b: b["frame"])
        # pair nginx's attempts with the FastCGI requests on the wire, in order, by server
        pairs, wi = [], 0
        for att in e["attempts"]:
            if att.get("fastcgi", True) and wi < len(ws) and "127.0.0.1:%d" % ws[wi]["server_port"] == att["server"]:
                pairs.append((att, ws[wi]))
                wi += 1
            else:
                unsent.append({"request_tag": c["tag"], "server": att["server"],
                               "upstream_status": att["status"], "user_status": e["status"]})
        if wi != len(ws):
            die("%s: %s: %d FastCGI requests on the wire, nginx logged attempts %s" % (
                a.name, c["tag"], len(ws), [x["server"] for x in e["attempts"]]))
        if not pairs:
            continue
        user_statuses[str(e["status"])] = user_statuses.get(str(e["status"]), 0) + 1
        for n, (att, b) in enumerate(pairs, 1):
            p, f = b["params"], b["facts"] or {}
            if p.get("REQUEST_METHOD") != c["method"] or p.get("REQUEST_URI") != c["uri"]:
                die("%s: %s is %s %s in the capture, curl sent %s %s" % (
                    a.name, c["tag"], p.get("REQUEST_METHOD"), p.get("REQUEST_URI"), c["method"], c["uri"]))
            last = n == len(pairs)
            complete = f.get("end") is not None
            status = cgi_status(f.get("stdout", b""))
            if att["header_us"] is not None and att["status"] is not None and status != att["status"]:
                die("%s: %s attempt %d: nginx logged upstream status %s, the CGI header says %s" % (
                    a.name, c["tag"], n, att["status"], status))
            r = {"request_tag": c["tag"], "request_id": b["request_id"],
                 "client": "127.0.0.1:%d" % b["client_port"], "server": "127.0.0.1:%d" % b["server_port"],
                 "frame": b["frame"], "method": c["method"], "uri": c["uri"]}
            if "SCRIPT_NAME" in p:
                r["script"] = p["SCRIPT_NAME"]
            r.update({"status": status, "complete": complete, "stdin_bytes": f.get("stdin", 0),
                      "attempt": n, "retried": not last, "upstream_status": att["status"]})
            if last:
                r["user_status"] = e["status"]
                if e["status"] >= 500 or e["status"] == 499:
                    r["severity_min"] = "warning"   # the user saw the failure: a finding
            elif e["status"] < 400:
                r["severity_max"] = "note"          # a failure nobody saw (retried successfully)
            connect = att["connect_us"] or 0
            reso = 1000 if not connect else 2000
            gave_up = att["status"] == 504 or (att["status"] is None and e["status"] == 499)
            if att["response_us"] is not None:
                t_us = att["response_us"] - connect
                if gave_up:
                    r["frontend_abandoned_us"] = t_us
                    if not complete or f["end"] is not None:
                        must.add("request_abandoned")
                elif complete:
                    r["frontend_latency_us"] = t_us
                else:
                    r["frontend_elapsed_us"] = t_us
                r["frontend_resolution_us"] = reso
            if first_frame.get(b["stream"]) == b["frame"] and att["connect_us"] is not None:
                r["frontend_connect_us"] = att["connect_us"]
            if att["status"] == 502 and complete and att["header_us"] is None:
                must.add("response_rejected")       # nginx refused an answer it received whole
            if b"PHP Fatal error" in f.get("stderr_after_stdout", b""):
                must.add("application_error")
            if f.get("stderr"):
                must.add("stderr_output")
            if f.get("stdin", 0) > 0:
                if p.get("CONTENT_LENGTH", "") == "":
                    must.add("content_length_missing")
                if complete and (f["stdin_end"] is None or f["end"] < f["stdin_end"]):
                    must.add("answered_before_body")
                    may.add("stream_not_terminated")
            if not complete:
                must.add("incomplete_request")
                may.update(["stream_not_terminated", "truncated_record"])
            if not last:
                anz_must.add("attempt_retried")
            requests.append((b["frame"], r))
    if wire:
        die("%s: FastCGI requests with tags curl did not send: %s" % (a.name, sorted(wire)))
    requests = [r for _, r in sorted(requests, key=lambda x: x[0])]

    # capture-level: the TCP openings on the server ports
    backend = {"connection_refused": 0, "closed_before_request": 0, "connect_retried": 0, "servers": []}
    per = {}
    for st in sorted(tcp):
        o = tcp[st]
        srv = per.setdefault(o["server"], {"server": "127.0.0.1:%d" % o["server"], "connection_refused": 0,
                                           "closed_before_request": 0, "connect_retried": 0})
        # a SYN retransmitted and never answered (HAProxy gave the connection up) is refused only
        for k, v in (("connection_refused", o["refused"]), ("closed_before_request", o["closed_before_request"]),
                     ("connect_retried", o["syns"] > 1 and not o["refused"])):
            if v:
                srv[k] += 1
                backend[k] += 1
                anz_must.add(k)
    backend["servers"] = [per[p] for p in sorted(per)]
    # the log agrees: every connection refused or closed before a record is an attempt nginx
    # logged that never became a FastCGI request, and the other way round; HAProxy also gives up
    # connections it sent GET_VALUES on and gave up before a BEGIN_REQUEST (most with the
    # GET_VALUES unanswered, some answered in the same instant as its RST)
    gv_unanswered = get_values_unanswered(recs, streams)
    if gv_unanswered:
        must.add("get_values_unanswered")
    gave_up = given_up(recs, streams) if haproxy else 0
    without = backend["connection_refused"] + backend["closed_before_request"] + gave_up
    if without != len(unsent):
        die("%s: %d refused, %d closed-before-request%s connections on the wire, %d attempts the log "
            "gives without a FastCGI request" % (a.name, backend["connection_refused"],
                                                 backend["closed_before_request"],
                                                 " and %d given up after GET_VALUES" % gave_up if haproxy else "",
                                                 len(unsent)))

    recs2 = [(t, n) for _, t, _, n, _ in recs]
    if any(t == 3 for t, _ in recs2):
        if not any(t == 6 and n == 0 for t, n in recs2):
            must.add("end_without_stdout_eos")
        else:
            may.add("end_without_stdout_eos")
    may.add("reserved_nonzero")
    if any(b["params"].get("HTTP_X_REQUEST_ID") for b in begins) and a.name.endswith("-maxreq"):
        # php-fpm closes a KEEP_CONN connection when the worker reaches pm.max_requests
        may.add("keep_conn_violation")
    may |= anz_must          # the Wireshark plugin cannot see evidence outside the FastCGI connection
    may -= must
    j = {
        "capture": a.name + ".pcap",
        "kind": "real",
        "description": "%s: %s; FastCGI hop only (the whole TCP conversation on the FastCGI ports)."
                       % (a.pair, a.description),
        "pair": a.pair,
        "server_ports": ports,
        "precision": "us",
        "error": None,
        "exit_status": 0,
        "request_count": len(requests),
        "requests": requests,
        "anomalies_must": sorted(must),
        "anomalies_may": sorted(may),
        "analyzer_anomalies_must": sorted(anz_must),
        "frontend_log": flog,
        "frontend_error_log": a.name + ".frontend-error.log",
        "frontend_latency_source": (
            "HAProxy %Ta - %TR - %Tw - %Tc of the attempt that reached FastCGI, i.e. %Tr + data transfer: "
            "from the connection being usable (GET_VALUES answered) to the end of the response (ms "
            "resolution); %Tc (the connect, every retry and the wait for GET_VALUES_RESULT included) "
            "has no counterpart in a request line" if haproxy else
            "nginx per attempt: $upstream_response_time minus $upstream_connect_time (ms resolution each; "
            "frontend_resolution_us 2000 where the connect time is not 0); as frontend_latency_us when "
            "the FastCGI request completed, frontend_abandoned_us when nginx gave up (504, or 499 "
            "with no upstream status), frontend_elapsed_us when the backend closed or reset first"),
        "user_requests": sum(user_statuses.values()),
        "user_statuses": dict(sorted(user_statuses.items())),
        "backend": backend,
        "attempts_without_fastcgi": unsent,
        "analyzer_args": a.analyzer_arg or [],
    }
    if haproxy:
        # the decoder's finding per connection, counted (captures/EXPECT.md anomaly_counts)
        j["anomaly_counts"] = {"get_values_unanswered": gv_unanswered}
        j["connections_given_up"] = gave_up
    if a.name.endswith("-maxreq"):
        # 6 keep-alive clients at once: nginx stamps the attempt's start with the clock it cached
        # at the top of its event-loop iteration, so under load its time exceeds the wire's by
        # up to a few ms (seen: 3-9 ms); it is never shorter by more than its resolution
        j["frontend_latency_one_sided"] = True
    with open(os.path.join(d, a.name + ".expect.json"), "w") as f:
        json.dump(j, f, indent=2)
        f.write("\n")


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
    ap.add_argument("--scenario", action="store_true", help="a failure-scenario capture (nginx or HAProxy)")
    ap.add_argument("--ports", help="--scenario: the FastCGI server ports, comma-separated")
    ap.add_argument("--description", help="--scenario: what was recorded")
    ap.add_argument("--analyzer-arg", action="append",
                    help="--scenario: an fcgiscope option the checker must pass (repeat)")
    a = ap.parse_args()
    if a.scenario:
        scenario(a)
        return

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
