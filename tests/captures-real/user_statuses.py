#!/usr/bin/env python3
"""user_statuses.py — on every real capture, what fcgiscope says each user got equals the web server's access log.

Normative reference: issue 19 "Done when" (the statuses fcgiscope reports as
the users' equal the web server's access log; failures nobody saw are
notes). Every captures/real/<pair>.pcap has <pair>.frontend.log beside it
(captures/README.md "Ground truth"): nginx (tabs), HAProxy/Apache/lighttpd
(|-separated), Caddy (JSON), each line tagged with the X-Request-Id the
frontend forwards as the FastCGI param HTTP_X_REQUEST_ID. For each user
request (the FastCGI request no other attempt followed) fcgiscope's
`user_status` must equal the logged status; user requests the log has but
fcgiscope does not (never reached FastCGI: a refused backend, a closed
connection) are counted, not compared, and a tag fcgiscope reports twice as
a final attempt is a failure.

  user_statuses.py FCGISCOPE CAPTURES_REAL_DIR
"""
import glob
import json
import os
import subprocess
import sys

# Differences the wire cannot show, each with its reason.
KNOWN = {
    # Go answers HEAD with a body; HAProxy turns that into 502 after taking
    # a complete, well-formed answer over a connection it keeps: nothing on
    # the FastCGI hop tells.
    ("haproxy-go", "haproxy-go-3"): "HEAD answered with a body; HAProxy logged 502",
}


def log_statuses(path):
    out = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            o = json.loads(line)
            tag = (o.get("request", {}).get("headers", {}).get("X-Request-Id") or [None])[0]
            st = o.get("status")
        elif "\t" in line:
            f = line.split("\t")
            tag, st = f[0], f[1]
        else:
            f = line.split("|")
            tag, st = f[0], f[1]
        if tag and str(st).isdigit():
            out[tag] = int(st)
    return out


def main():
    fcgiscope, real = sys.argv[1], sys.argv[2]
    compared = missing = 0
    fails = []
    caps = sorted(glob.glob(os.path.join(real, "*.pcap")))
    for cap in caps:
        base = cap[:-len(".pcap")]
        name = os.path.basename(base)
        if not os.path.exists(base + ".frontend.log"):
            continue
        exp = json.load(open(base + ".expect.json"))
        args = [fcgiscope, "-f", "json", "--param", "HTTP_X_REQUEST_ID"] + list(exp.get("analyzer_args") or [])
        if exp.get("server_ports"):
            args += ["-p", ",".join(str(p) for p in exp["server_ports"])]
        p = subprocess.run(args + [cap], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        if p.returncode not in (0, 1):
            fails.append("%s: fcgiscope exit %d: %s" % (name, p.returncode, p.stderr.decode()[-300:]))
            continue
        final = {}
        for l in p.stdout.decode("utf-8", "replace").splitlines():
            o = json.loads(l)
            if o.get("type") != "request" or o.get("retried"):
                continue
            tag = (o.get("params") or {}).get("HTTP_X_REQUEST_ID")
            if tag in final:
                fails.append("%s %s: two final attempts (frames %s and %s)" % (name, tag, final[tag]["frame"], o["frame"]))
            final[tag] = o
        logged = log_statuses(base + ".frontend.log")
        for tag, st in sorted(logged.items()):
            r = final.get(tag)
            if r is None:
                missing += 1
                continue
            compared += 1
            if r.get("user_status") != st and (name, tag) not in KNOWN:
                fails.append("%s %s (frame %s): the user got %d, fcgiscope says user_status %r (%s, application %r)"
                             % (name, tag, r.get("frame"), st, r.get("user_status"), r.get("user_outcome"),
                                r.get("status")))
            elif r.get("user_status") == st and (name, tag) in KNOWN:
                fails.append("%s %s: listed as a known difference but now equal: drop it from KNOWN" % (name, tag))
    print("%d captures, %d user requests compared, %d logged without a FastCGI request, %d known differences"
          % (len(caps), compared, missing, len(KNOWN)))
    if compared < 300:
        fails.append("only %d user requests compared: the captures or the tags are missing" % compared)
    for f in fails:
        print("FAIL: " + f)
    print("%d passed, %d failed" % (compared - len([f for f in fails if "user_status" in f]), len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
