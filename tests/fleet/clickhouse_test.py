#!/usr/bin/env python3
"""clickhouse_test.py — docs/fleet/clickhouse.sql in a real ClickHouse server.

Starts Debian's clickhouse-server on private ports with a private data
folder (stopped by PID at the end), loads the schema, ingests the JSON
request lines of every capture in captures/ the way docs/FLEET.md says
(fcgiscope -f json --host-name | grep request | clickhouse-client INSERT
... FORMAT JSONEachRow), then checks per capture that ClickHouse counts the
requests fcgiscope's own summary counts, and per script the requests and
the p99 latency (nearest rank, as fcgiscope computes it; fcgiscope's value
comes from a histogram with <= 0.4% error, so the two agree within 0.4% + 1 us).

usage: clickhouse_test.py FCGISCOPE CAPTURES_DIR SCHEMA.sql
Exit 0 pass, 1 fail, 77 skip (no clickhouse-server, or it cannot start).
"""
import glob
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

fcgiscope, captures, schema = sys.argv[1:4]
server_bin = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
client_bin = shutil.which("clickhouse-client")
if not os.path.exists(server_bin) or not client_bin:
    print("SKIP: clickhouse-server / clickhouse-client not installed (Debian packages)")
    sys.exit(77)

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


tmp = tempfile.mkdtemp(prefix="fcgiscope-ch.")
tcp_port, http_port = free_port(), free_port()
config = f"""<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{tmp}/server.log</log>
    <errorlog>{tmp}/server.err.log</errorlog><console>0</console></logger>
  <tcp_port>{tcp_port}</tcp_port>
  <http_port>{http_port}</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{tmp}/data/</path>
  <tmp_path>{tmp}/tmp/</tmp_path>
  <user_files_path>{tmp}/user_files/</user_files_path>
  <format_schema_path>{tmp}/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
  <max_concurrent_queries>10</max_concurrent_queries>
</yandex>
"""
with open(f"{tmp}/config.xml", "w") as f:
    f.write(config)
server = subprocess.Popen([server_bin, f"--config-file={tmp}/config.xml"],
                          stdout=open(f"{tmp}/stdout", "w"), stderr=subprocess.STDOUT,
                          cwd=tmp)


def client(query, data=None, settings=()):
    args = [client_bin, "--port", str(tcp_port), *settings, "--query", query]
    return subprocess.run(args, input=data, capture_output=True)


def stop():
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    shutil.rmtree(tmp, ignore_errors=True)


try:
    for _ in range(150):  # up to 30 s to start
        if server.poll() is not None:
            break
        if client("SELECT 1").returncode == 0:
            break
        time.sleep(0.2)
    else:
        pass
    up = client("SELECT version()")
    if up.returncode != 0:
        log = open(f"{tmp}/stdout").read()[-500:]
        print(f"SKIP: clickhouse-server did not start: {log}")
        sys.exit(77)
    print("ClickHouse", up.stdout.decode().strip())

    r = subprocess.run([client_bin, "--port", str(tcp_port), "--multiquery"],
                       stdin=open(schema, "rb"), capture_output=True)
    check(r.returncode == 0, f"schema did not load: {r.stderr.decode()[-300:]}")
    if r.returncode != 0:
        sys.exit(1)

    caps = sorted(glob.glob(f"{captures}/**/*.pcap", recursive=True)
                  + glob.glob(f"{captures}/**/*.pcapng", recursive=True))
    summaries = {}
    anomaly_lines = {}
    for cap in caps:
        out = subprocess.run([fcgiscope, "-f", "json", "--host-name", "host-a", "--top", "1000",
                              "-q", cap], capture_output=True).stdout
        lines = out.splitlines()
        if not lines:
            continue  # damaged beyond reading: nothing to load
        summary = json.loads(lines[-1])
        check(summary.get("type") == "summary", f"{cap}: no summary line")
        summaries[cap] = summary
        anomalies = b"\n".join(l for l in lines if b'"type":"anomaly"' in l)
        anomaly_lines[cap] = anomalies.count(b"\n") + 1 if anomalies else 0
        if anomalies:
            ins = client("INSERT INTO fastcgi_anomalies FORMAT JSONEachRow", anomalies + b"\n",
                         ["--input_format_skip_unknown_fields=1"])
            check(ins.returncode == 0, f"{cap}: anomaly insert failed: {ins.stderr.decode()[-300:]}")
        rows = b"\n".join(l for l in lines if b'"type":"request"' in l)
        for l in lines:
            if b'"type":"request"' in l:
                check(json.loads(l).get("hostname") == "host-a", f"{cap}: --host-name missing")
                break
        if not rows:
            continue
        ins = client("INSERT INTO fastcgi_requests FORMAT JSONEachRow", rows + b"\n",
                     ["--input_format_skip_unknown_fields=1"])
        check(ins.returncode == 0, f"{cap}: insert failed: {ins.stderr.decode()[-300:]}")

    # per capture: the number of requests
    q = client("SELECT file, count() FROM fastcgi_requests WHERE hostname = 'host-a' "
               "GROUP BY file FORMAT JSONEachRow")
    counts = {json.loads(l)["file"]: int(json.loads(l)["count()"])
              for l in q.stdout.decode().splitlines()}
    total_cs = total_fs = 0
    for cap, s in summaries.items():
        want = s["requests"]["total"]
        total_fs += want
        total_cs += counts.get(cap, 0)
        check(counts.get(cap, 0) == want,
              f"{cap}: ClickHouse {counts.get(cap, 0)} requests, fcgiscope {want}")

    # per capture: the anomaly lines
    q = client("SELECT file, count() FROM fastcgi_anomalies WHERE hostname = 'host-a' "
               "GROUP BY file FORMAT JSONEachRow")
    acounts = {json.loads(l)["file"]: int(json.loads(l)["count()"])
               for l in q.stdout.decode().splitlines()}
    for cap, n in anomaly_lines.items():
        check(acounts.get(cap, 0) == n, f"{cap}: {acounts.get(cap, 0)} anomaly rows, {n} lines")
    print(f"{sum(anomaly_lines.values())} anomaly lines = {sum(acounts.values())} rows")

    # per capture and script: requests and the nearest-rank p99 of complete ones
    q = client("""
        SELECT file, script, count() AS requests,
               countIf(latency_us IS NOT NULL) AS timed,
               arraySort(groupArray(ifNull(latency_ns, latency_us * 1000))) AS lat
        FROM fastcgi_requests WHERE hostname = 'host-a'
        GROUP BY file, script FORMAT JSONEachRow""")
    check(q.returncode == 0, f"script query: {q.stderr.decode()[-300:]}")
    ch = {}
    for l in q.stdout.decode().splitlines():
        o = json.loads(l)
        lat = [int(x) for x in o["lat"]]
        p99 = None
        if lat:
            p99 = lat[max(1, math.ceil(0.99 * len(lat))) - 1] / 1000.0  # us
        ch[(o["file"], o["script"])] = (int(o["requests"]), int(o["timed"]), p99)
    scripts_compared = p99_compared = 0
    worst = 0.0
    for cap, s in summaries.items():
        for sc in s["scripts"]:
            if sc.get("other"):
                continue
            key = (cap, sc["script"])
            check(key in ch, f"{cap}: script {sc['script']!r} not in ClickHouse")
            if key not in ch:
                continue
            n, timed, p99 = ch[key]
            scripts_compared += 1
            check(n == sc["requests"], f"{key}: {n} requests in ClickHouse, {sc['requests']} in fcgiscope")
            want = sc["latency_us"]["p99"] if sc["latency_us"] else None
            check(timed == (sc["latency_us"]["count"] if sc["latency_us"] else 0), f"{key}: timed count")
            if want is None or p99 is None:
                check(want is None and (p99 is None or timed == 0), f"{key}: p99 {p99} vs {want}")
                continue
            p99_compared += 1
            diff = abs(p99 - want)
            worst = max(worst, diff / max(want, 1))
            check(diff <= 0.004 * p99 + 1, f"{key}: p99 {p99:.1f} us in ClickHouse, {want} us in fcgiscope")
    print(f"{len(summaries)} captures, {total_cs} rows in ClickHouse = {total_fs} requests in "
          f"fcgiscope's summaries; {scripts_compared} scripts compared, {p99_compared} p99 values "
          f"(largest difference {worst * 100:.2f}%)")
    check(total_cs == total_fs and total_fs > 1000, "totals")
    check(scripts_compared > 50 and p99_compared > 50, "enough scripts compared")
finally:
    stop()
print("FAIL" if failures else "PASS", f"({len(failures)} failures)")
sys.exit(1 if failures else 0)
