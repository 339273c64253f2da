#!/usr/bin/env python3
"""captures/record/framing.py: summarises how each peer framed FastCGI in a capture, using tshark's built-in `fcgi` dissector as the record parser (FastCGI 1.0 spec §3.3).

Used to write captures/README.md's counts and to check the "Framing habits" claims
in docs/FASTCGI.md against real captures. It is an independent oracle: it does
not use fcgiscope's decoder.

Usage: framing.py PORT FILE.pcap [FILE.pcap ...]     (prints a text report)
       framing.py --json PORT FILE.pcap ...          (prints JSON)
       framing.py --readme PORT FILE.pcap ...        (captures/README.md's counts table rows)
"""
import collections
import json
import subprocess
import sys

NAMES = {1: "BEGIN_REQUEST", 2: "ABORT_REQUEST", 3: "END_REQUEST", 4: "PARAMS", 5: "STDIN",
         6: "STDOUT", 7: "STDERR", 8: "DATA", 9: "GET_VALUES", 10: "GET_VALUES_RESULT",
         11: "UNKNOWN_TYPE"}
FIELDS = ["frame.number", "tcp.stream", "tcp.srcport", "tcp.len", "tcp.flags.fin", "tcp.flags.reset",
          "fcgi.type", "fcgi.id", "fcgi.content.length", "fcgi.padding.length",
          "fcgi.begin_request.keep_conn", "fcgi.end_request.app_status",
          "fcgi.end_request.protocol_status"]


def tshark(pcap, port, fields, yfilter=None):
    cmd = ["tshark", "-r", pcap, "-d", "tcp.port==%d,fcgi" % port, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=;"]
    if yfilter:
        cmd += ["-Y", yfilter]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [l.split("\t") for l in r.stdout.splitlines()]


def analyse(pcap, port):
    rows = tshark(pcap, port, FIELDS)
    s = {"file": pcap, "types": collections.Counter(), "empty": collections.Counter(),
         "frames": len(rows)}
    cli = {"ids": set(), "pad_nonzero": 0, "unaligned": 0, "records": 0, "keep_conn": collections.Counter(),
           "max_len": collections.Counter(), "params_nonempty_per_req": collections.Counter(),
           "first_type_per_conn": collections.Counter(), "begin_frame_types": collections.Counter(),
           "records_per_frame": collections.Counter()}
    srv = {"pad_nonzero": 0, "unaligned": 0, "records": 0, "max_len": collections.Counter(),
           "end_status": collections.Counter(), "end_with_stdout_same_frame": 0, "ends": 0,
           "stderr_before_first_stdout": 0, "stderr_after_stdout": 0, "records_per_frame": collections.Counter(),
           "stdout_before_stdin_end": 0}
    close = collections.Counter()
    conn_first = {}
    active = collections.defaultdict(set)      # stream -> active ids
    mpx_conns = set()
    params_count = collections.Counter()       # (stream, id, nth) -> non-empty PARAMS records
    nreq = collections.Counter()               # (stream, id) -> BEGIN_REQUESTs seen
    seen_stdout = set()
    stdin_ended = set()
    for r in rows:
        r += [""] * (len(FIELDS) - len(r))
        frame, stream, sport, tlen, fin, rst = r[0], int(r[1] or -1), int(r[2] or 0), r[3], r[4], r[5]
        if fin in ("1", "True") or rst in ("1", "True"):
            who = "client" if sport != port else "server"
            if ("closed", stream) not in conn_first:
                conn_first[("closed", stream)] = True
                close[("RST" if rst in ("1", "True") else "FIN") + " first by " + who] += 1
        if not r[6]:
            continue
        types = [int(x) for x in r[6].split(";")]
        ids = [int(x) for x in r[7].split(";")]
        lens = [int(x) for x in r[8].split(";")]
        pads = [int(x) for x in r[9].split(";")]
        kc = [x for x in r[10].split(";") if x]
        app = [x for x in r[11].split(";") if x]
        ps = [x for x in r[12].split(";") if x]
        to_server = sport != port
        side = cli if to_server else srv
        side["records_per_frame"][len(types)] += 1
        if to_server and 1 in types:
            cli["begin_frame_types"][",".join(NAMES[t] + ("(0)" if n == 0 else "")
                                              for t, n in zip(types, lens))] += 1
        for k, (t, rid, n, p) in enumerate(zip(types, ids, lens, pads)):
            s["types"][NAMES.get(t, str(t))] += 1
            if n == 0:
                s["empty"][NAMES.get(t, str(t))] += 1
            side["records"] += 1
            if p:
                side["pad_nonzero"] += 1
            if (n + p) % 8:
                side["unaligned"] += 1
            side["max_len"][NAMES.get(t, str(t))] = max(side["max_len"][NAMES.get(t, str(t))], n)
            if to_server:
                if stream not in conn_first:
                    conn_first[stream] = NAMES.get(t, str(t))
                    cli["first_type_per_conn"][conn_first[stream]] += 1
                if t not in (9,):
                    cli["ids"].add(rid)
                if t == 1:
                    nreq[(stream, rid)] += 1
                    active[stream].add(rid)
                    if len(active[stream]) > 1:
                        mpx_conns.add(stream)
                if t == 4 and n:
                    params_count[(stream, rid, nreq[(stream, rid)])] += 1
                if t == 5 and n == 0:
                    stdin_ended.add((stream, rid))
            else:
                if stream not in conn_first:
                    conn_first[stream] = "server:" + NAMES.get(t, str(t))
                if t == 7 and n:
                    if (stream, rid) in seen_stdout:
                        srv["stderr_after_stdout"] += 1
                    else:
                        srv["stderr_before_first_stdout"] += 1
                if t == 6:
                    if (stream, rid) not in seen_stdout and (stream, rid) not in stdin_ended:
                        srv["stdout_before_stdin_end"] += 1
                    seen_stdout.add((stream, rid))
                if t == 3:
                    srv["ends"] += 1
                    if k > 0 and types[k - 1] == 6:
                        srv["end_with_stdout_same_frame"] += 1
                    active[stream].discard(rid)
                    seen_stdout.discard((stream, rid))
                    stdin_ended.discard((stream, rid))
        for v in kc:
            cli["keep_conn"][v] += 1
        for a, b in zip(app, ps):
            srv["end_status"]["app=%s proto=%s" % (a, b)] += 1
    for v in params_count.values():
        cli["params_nonempty_per_req"][v] += 1
    s["client"] = cli
    s["server"] = srv
    s["connections"] = len({int(r[1]) for r in rows if r and r[1]})
    s["multiplexed_connections"] = len(mpx_conns)
    s["close"] = {k: v for k, v in close.items() if v}
    # management records: which names they carried
    mg = tshark(pcap, port, ["tcp.srcport", "fcgi.type", "fcgi.nv_name"], "fcgi.type == 9 || fcgi.type == 10")
    s["get_values"] = collections.Counter(("to server " if int(r[0]) != port else "to client ") + r[2]
                                          for r in mg if len(r) > 2)
    return s


def jsonable(o):
    if isinstance(o, set):
        return sorted(o)
    if isinstance(o, collections.Counter):
        return dict(sorted(o.items(), key=lambda kv: str(kv[0])))
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items()}
    return o


def readme_row(s):
    """One row of captures/README.md's counts table (needs the expect file beside the capture)."""
    import os
    cap = s["file"]
    base = os.path.basename(cap).rsplit(".", 1)[0]
    with open(os.path.join(os.path.dirname(cap), base + ".expect.json")) as f:
        j = json.load(f)
    st = collections.Counter(r.get("status") for r in j["requests"])
    sts = ", ".join(("%s×%d" % (k, v)) if v > 1 else str(k)
                    for k, v in sorted(st.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)) if k)
    if None in st:
        sts += ", no status ×%d" % st[None]
    t = s["types"]
    gv = "%d / %d" % (t.get("GET_VALUES", 0), t.get("GET_VALUES_RESULT", 0)) if t.get("GET_VALUES") else "–"
    empty = ", ".join("%s %d" % (k, v) for k, v in s["empty"].items())
    return "| %s | {:,} | %d | %s | %d | %d | %d | %d | %d | %d | %d | %s | %s |".format(os.path.getsize(cap)) % (
        base, j["request_count"], sts, s["connections"], t.get("BEGIN_REQUEST", 0), t.get("END_REQUEST", 0),
        t.get("PARAMS", 0), t.get("STDIN", 0), t.get("STDOUT", 0), t.get("STDERR", 0), gv, empty)


def main():
    args = sys.argv[1:]
    as_json = bool(args) and args[0] == "--json"
    if as_json:
        args = args[1:]
    as_readme = bool(args) and args[0] == "--readme"
    if as_readme:
        args = args[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    port = int(args[0])
    out = [jsonable(analyse(p, port)) for p in args[1:]]
    if as_readme:
        for s in out:
            print(readme_row(s))
        return
    if as_json:
        json.dump(out, sys.stdout, indent=1)
        print()
        return
    for s in out:
        print("==", s["file"])
        for k in ("frames", "connections", "multiplexed_connections", "types", "empty", "close", "get_values"):
            print("  %s: %s" % (k, s[k]))
        for side in ("client", "server"):
            print("  %s:" % side)
            for k, v in s[side].items():
                if k == "ids" and len(v) > 12:
                    v = "%d ids, %s..%s" % (len(v), v[0], v[-1])
                print("    %s: %s" % (k, v))


if __name__ == "__main__":
    main()
