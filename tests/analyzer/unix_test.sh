#!/usr/bin/env bash
# unix_test.sh — fcgiscope --unix against a real nginx + php-fpm on a private Unix socket.
#
# Normative reference: issue 11 "Tests" (GET, slow, 404, 500, small POST and
# a 200 kB POST that nginx sends with sendfile(2); every request found with
# nginx's status, latency within nginx's $upstream_response_time, the exact
# body size; losses reported, never silent; bad input: one line, exit 2).
#
#   unix_test.sh FCGISCOPE [PLUGIN.so ABI]
#
# php-fpm (own config, pool user www-data) listens on $tmp/fpm.sock; nginx
# (Debian's snippets/fastcgi-php.conf and fastcgi.conf, copied unchanged,
# `sendfile on`, client_body_buffer_size 16k so big bodies are spooled to a
# temp file) on a free 127.0.0.1 high port passes to unix:$tmp/fpm.sock.
# fcgiscope is given a symlink to the socket. Phases:
#   1 bad input (any user): missing path, not a socket, --unix with -i
#   2 the requests, checked against nginx's access log; written with -w and
#     read back by fcgiscope (same requests, statuses, ns latencies, bodies)
#     and, given the plugin, by tshark (same statuses and ns latencies)
#   2r the same with the fallback build (raw tracepoints and probe reads,
#     FCGISCOPE_UNIX_HOOK=raw); phase 2's own run used the tp_btf build
#     without a word on stderr (on Linux 6.2 or later)
#   3 sendfile bytes not read back (FCGISCOPE_UNIX_SENDFILE=gap): the body is
#     a known-length gap: stdin_bytes still exact, capture_gap on the request
#   3c sendfile bytes not read back from the file (FCGISCOPE_UNIX_SENDFILE=
#     reads): php-fpm's reads of them fill the range: no gap, the body byte
#     for byte in the -w file (as in phase 2)
#   3b a kept-alive connection opened before the capture: from its second
#     request on, every request complete (the app end's first write marks
#     the nginx worker), the first at worst partial
#   3e fd numbers of a watched process that were no watched end turned into
#     watched connections: dup2 over an open fd, close + socket + connect;
#     both builds (default, raw)
#   4 a ring buffer too small for the records (FCGISCOPE_UNIX_RING_KB=8):
#     drops counted (pcap_stats.dropped, capture_drops) and gaps, not silence
#   5 -c stops by itself; -i seeing no FastCGI suggests --unix; not root:
#     one line, exit 2
# Stops only the processes it started, by PID. Exit 77 (skip) when not root,
# a program is missing, this build has no eBPF support, or the kernel refuses
# to load the programs — except under CI=true, where all of that is a failure.
set -u
bin=${1:?usage: unix_test.sh FCGISCOPE [PLUGIN.so ABI]}
plugin=${2:-}
abi=${3:-}
here=$(cd "$(dirname "$0")" && pwd)

skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL (CI): $*"; echo "0 passed, 1 failed"; exit 1; fi
  echo "SKIP: $*"; exit 77
}
pass=0; failn=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { failn=$((failn + 1)); echo "FAIL: $*"; }

# ---- phase 1: bad input (before any privilege check) ----
. "$here/private_run.sh"
private_run fcgiscope-unix

expect_fail() { # NAME WANTED-TEXT ARGS...   (usage errors add "Try 'fcgiscope --help'.")
  local name=$1 want=$2; shift 2
  "$bin" "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"
  local rc=$? lines
  lines=$(grep -vc "^Try 'fcgiscope --help'.$" "$tmp/bad.err")
  if [ $rc = 2 ] && [ "$lines" = 1 ] && head -n1 "$tmp/bad.err" | grep -q -- "$want" && [ ! -s "$tmp/bad.out" ]; then
    ok "$name: exit 2, one line: $(cat "$tmp/bad.err")"
  else
    bad "$name: exit $rc, want 2 and one line with \"$want\":"; cat "$tmp/bad.err"
  fi
}
if "$bin" --unix /nonexistent/x.sock 2>&1 | grep -q "built without eBPF"; then
  skip "this fcgiscope was built without eBPF support (clang, bpftool, libbpf-dev)"
fi
expect_fail "missing path" "No such file or directory" --unix "$tmp/none.sock"
: > "$tmp/plain"
expect_fail "not a socket" "not a Unix socket" --unix "$tmp/plain"
expect_fail "--unix with -i" "--unix takes no -i" --unix "$tmp/plain" -i lo

[ "$(id -u)" = 0 ] || skip "needs root to load BPF programs"
fpm=$(ls /usr/sbin/php-fpm* 2>/dev/null | head -n1)
[ -n "$fpm" ] || skip "php-fpm is not installed (apt-get install php-fpm)"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || skip "nginx is not installed"
command -v curl >/dev/null || skip "curl is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
id www-data >/dev/null 2>&1 || skip "no www-data user"
[ -f /etc/nginx/snippets/fastcgi-php.conf ] && [ -f /etc/nginx/fastcgi.conf ] ||
  skip "Debian's nginx snippets are missing (apt-get install nginx-common)"

# ---- the stack ----
http_port=
for _ in $(seq 50); do
  p=$(( 20000 + RANDOM % 30000 ))
  if port_free "$p"; then http_port=$p; break; fi
done
ka_port=
for _ in $(seq 50); do
  p=$(( 20000 + RANDOM % 30000 ))
  if port_free "$p" && [ "$p" != "$http_port" ]; then ka_port=$p; break; fi
done
[ -n "$http_port" ] && [ -n "$ka_port" ] || { echo "FAIL: no free port"; exit 1; }

mkdir -p "$tmp/www" "$tmp/ngx" "$tmp/snippets"
cp /etc/nginx/snippets/fastcgi-php.conf "$tmp/snippets/"
cp /etc/nginx/fastcgi.conf "$tmp/"
cat > "$tmp/www/index.php" <<'PHP'
<?php header('Content-Type: text/plain'); echo "hello ", $_GET['i'] ?? '', "\n";
PHP
cat > "$tmp/www/slow.php" <<'PHP'
<?php usleep(300000); echo "slow\n";
PHP
cat > "$tmp/www/gone.php" <<'PHP'
<?php http_response_code(404); echo "no such thing\n";
PHP
cat > "$tmp/www/fail.php" <<'PHP'
<?php http_response_code(500); echo "failed\n";
PHP
cat > "$tmp/www/post.php" <<'PHP'
<?php echo strlen(file_get_contents('php://input')), "\n";
PHP
cat > "$tmp/www/finish.php" <<'PHP'
<?php echo "done\n"; fastcgi_finish_request(); usleep(400000);
PHP
cat > "$tmp/www/big.php" <<'PHP'
<?php $n = (int)($_GET['n'] ?? 100000); $s = str_repeat('x', 8192);
for ($i = 0; $i < $n; $i += 8192) { echo substr($s, 0, min(8192, $n - $i)); flush(); }
PHP
chmod -R a+rX "$tmp/www"
chown www-data "$tmp/ngx"

cat > "$tmp/fpm.conf" <<EOF
[global]
pid = $tmp/fpm.pid
error_log = $tmp/fpm.log
daemonize = no
[unixtest]
user = www-data
group = www-data
listen = $tmp/fpm.sock
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
pm = static
pm.max_children = 2
EOF
cat > "$tmp/nginx.conf" <<EOF
user www-data;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 256; }
http {
  sendfile on;
  client_body_buffer_size 16k;
  client_max_body_size 10m;
  log_format scope '\$http_x_request_id\t\$status\t\$upstream_response_time\t\$upstream_status\t\$content_length';
  access_log $tmp/access.log scope;
  client_body_temp_path $tmp/ngx/body;
  proxy_temp_path $tmp/ngx/proxy;
  fastcgi_temp_path $tmp/ngx/fastcgi;
  uwsgi_temp_path $tmp/ngx/uwsgi;
  scgi_temp_path $tmp/ngx/scgi;
  upstream fpm_ka { server unix:$tmp/fpm.sock; keepalive 2; }
  server {   # kept-alive FastCGI connections (fastcgi_keep_conn)
    listen 127.0.0.1:$ka_port;
    root $tmp/www;
    location ~ [^/]\.php(/|\$) {
      include snippets/fastcgi-php.conf;
      fastcgi_keep_conn on;
      fastcgi_pass fpm_ka;
    }
  }
  server {
    listen 127.0.0.1:$http_port;
    root $tmp/www;
    location ~ [^/]\.php(/|\$) {
      include snippets/fastcgi-php.conf;
      fastcgi_pass unix:$tmp/fpm.sock;
    }
  }
}
EOF
"$fpm" -F -n -y "$tmp/fpm.conf" >"$tmp/fpm.out" 2>&1 &
fpm_pid=$!
pids+=($fpm_pid)
"$nginx" -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;' >"$tmp/nginx.out" 2>&1 &
nginx_pid=$!
pids+=($nginx_pid)
ready=0
for _ in $(seq 100); do
  if [ -S "$tmp/fpm.sock" ] && ! port_free "$http_port" && ! port_free "$ka_port"; then ready=1; break; fi
  sleep 0.1
done
if [ $ready != 1 ]; then
  echo "FAIL: nginx/php-fpm did not start"; cat "$tmp"/*.out "$tmp"/*.log 2>/dev/null; echo "0 passed, 1 failed"; exit 1
fi
ln -s fpm.sock "$tmp/link.sock"

# start fcgiscope --unix with extra environment; sets $scope
start_scope() { # OUT ERR ARGS...
  local out=$1 err=$2; shift 2
  "$bin" --unix "$tmp/link.sock" -f json -o "$out" "$@" 2>"$err" &
  scope=$!
  pids+=($scope)
  for _ in $(seq 100); do grep -q "capturing on" "$err" && break; kill -0 $scope 2>/dev/null || break; sleep 0.1; done
  if ! grep -q "capturing on" "$err"; then
    wait $scope
    if grep -q "refused the BPF programs\|not permitted to load\|cannot attach" "$err"; then
      skip "BPF cannot load here: $(cat "$err")"
    fi
    echo "FAIL: fcgiscope --unix did not start:"; cat "$err"; echo "$pass passed, $((failn + 1)) failed"; exit 1
  fi
  sleep 0.3
}
stop_scope() {
  kill -INT $scope
  for _ in $(seq 100); do kill -0 $scope 2>/dev/null || break; sleep 0.1; done
  if kill -0 $scope 2>/dev/null; then
    echo "FAIL: fcgiscope did not stop on SIGINT within 10 s"; echo "$pass passed, $((failn + 1)) failed"; exit 1
  fi
  wait $scope
}

head -c 200000 /dev/urandom > "$tmp/body200k"
send() { # ID PATH [curl args]
  local id=$1 path=$2; shift 2
  curl -s -o /dev/null -H "X-Request-Id: $id" "$@" "http://127.0.0.1:${port:-$http_port}$path"
}
send_all() { # PREFIX
  send "$1-get" "/index.php?i=1"
  send "$1-slow" "/slow.php"
  send "$1-404" "/gone.php"
  send "$1-500" "/fail.php"
  send "$1-post" "/post.php" --data-binary "small=body"
  send "$1-big" "/post.php" --data-binary "@$tmp/body200k"
  send "$1-nofile" "/missing.php"          # 404 by nginx itself: no FastCGI
}

# ---- phase 2: the requests ----
start_scope "$tmp/out.json" "$tmp/scope.err" --param HTTP_X_REQUEST_ID -w "$tmp/out.pcap"
send_all u
sleep 0.5
stop_scope; rc=$?
[ $rc = 0 ] && ok "fcgiscope --unix exit 0" || bad "fcgiscope --unix exit $rc: $(cat "$tmp/scope.err")"

nginx_workers=$(ps -o pid= --ppid "$nginx_pid" | tr -s ' \n' ' ')
fpm_workers=$(ps -o pid= --ppid "$fpm_pid" | tr -s ' \n' ' ')
export NGINX_WORKERS="$nginx_workers" FPM_WORKERS="$fpm_workers"

check() { # PHASE OUT.JSON PREFIX
  python3 - "$@" "$tmp/access.log" <<'PY'
import json, os, sys
phase, path, prefix, access = sys.argv[1:5]
fails = 0
def bad(msg):
    global fails
    fails += 1
    print("FAIL: " + msg)
def good(msg):
    print("ok: " + msg)
reqs, summary, anoms = [], None, []
for line in open(path):
    o = json.loads(line)
    t = o.get("type")
    if t == "request": reqs.append(o)
    elif t == "summary": summary = o
    elif t == "anomaly": anoms.append(o)
nginx = {}
for line in open(access):
    f = line.rstrip("\n").split("\t")
    if f[0].startswith(prefix + "-"):
        nginx[f[0]] = f
by_id = {}
for r in reqs:
    rid = (r.get("params") or {}).get("HTTP_X_REQUEST_ID")
    by_id.setdefault(rid, []).append(r)
nginx_workers = set(int(p) for p in os.environ.get("NGINX_WORKERS", "").split())
fpm_workers = set(int(p) for p in os.environ.get("FPM_WORKERS", "").split())
want_upstream = [k for k, f in nginx.items() if f[3] != "-"]
if summary is None:
    bad("no summary")
for rid, f in sorted(nginx.items()):
    status, urt, ustatus, clen = f[1], f[2], f[3], f[4]
    got = by_id.get(rid, [])
    if ustatus == "-":
        if got: bad(f"{rid}: nginx answered it alone, yet fcgiscope reports {len(got)} FastCGI requests")
        else: good(f"{rid}: nginx's own {status}, no FastCGI request (none reported)")
        continue
    if len(got) != 1:
        bad(f"{rid}: {len(got)} requests reported, want 1"); continue
    r = got[0]
    if r["status"] != int(status):
        bad(f"{rid}: status {r['status']}, nginx logged {status}")
    lat = r.get("latency_us")
    urt_ms = float(urt) * 1000
    if lat is None:
        bad(f"{rid}: no latency")
    else:
        lat_ms = lat / 1000
        # $upstream_response_time (ms, nginx's cached clock) spans connect to the
        # last response byte; the FastCGI latency (BEGIN_REQUEST to END_REQUEST)
        # lies inside it, give or take the millisecond rounding and clock caching.
        # (lower bound: loose, a loaded machine delays nginx, not the bytes)
        if not (urt_ms - max(25, urt_ms / 10) <= lat_ms <= urt_ms + 1.5):
            bad(f"{rid}: latency {lat_ms:.3f} ms, nginx's upstream_response_time {urt_ms:.0f} ms")
    if clen not in ("-", ""):
        if r.get("stdin_bytes") != int(clen) or r.get("content_length") != int(clen):
            bad(f"{rid}: stdin_bytes {r.get('stdin_bytes')} content_length {r.get('content_length')}, body {clen}")
    if phase == "main":
        if r.get("client_pid") not in nginx_workers or r.get("client_comm") != "nginx":
            bad(f"{rid}: client_pid {r.get('client_pid')} {r.get('client_comm')}, nginx workers {sorted(nginx_workers)}")
        if r.get("server_pid") not in fpm_workers or not str(r.get("server_comm", "")).startswith("php-fpm"):
            bad(f"{rid}: server_pid {r.get('server_pid')} {r.get('server_comm')}, php-fpm workers {sorted(fpm_workers)}")
        if "capture_gap" in r["anomalies"] or not r["complete"]:
            bad(f"{rid}: {r['end']} {r['anomalies']}")
    if phase == "gap" and rid.endswith("-big"):
        if "capture_gap" not in r["anomalies"]:
            bad(f"{rid}: the body sent by sendfile was not read back, yet no capture_gap: {r['anomalies']}")
        else:
            good(f"{rid}: body not seen: capture_gap, stdin_bytes {r.get('stdin_bytes')} exact")
    elif phase == "gap" and "capture_gap" in r["anomalies"]:
        bad(f"{rid}: capture_gap on a request without sendfile")
    if not fails:
        good(f"{rid}: status {r['status']}, latency {lat/1000:.3f} ms (nginx {urt_ms:.0f} ms), "
             f"stdin {r.get('stdin_bytes')}, pids {r.get('client_pid')}/{r.get('server_pid')}")
extra = [rid for rid in by_id if rid not in nginx]
if extra:
    bad(f"requests nginx did not log: {extra}")
if summary:
    if summary["requests"]["total"] != len(want_upstream):
        bad(f"summary: {summary['requests']['total']} requests, nginx passed {len(want_upstream)}")
    if summary["connections"] != len(want_upstream):
        bad(f"summary: {summary['connections']} connections, want {len(want_upstream)} (one per request)")
    ps = summary.get("pcap_stats") or {}
    if phase in ("main", "gap"):
        if ps.get("dropped") != 0 or summary["anomalies"].get("capture_drops"):
            bad(f"summary: drops {ps} {summary['anomalies']}")
    if phase == "main" and set(summary["anomalies"]) - {"end_without_stdout_eos", "reserved_nonzero"}:
        bad(f"summary: anomalies beyond php-fpm's usual notes: {summary['anomalies']}")
sys.exit(1 if fails else 0)
PY
}
if check main "$tmp/out.json" u; then ok "phase 2: every request as nginx saw it"; else bad "phase 2 (see above)"; fi

# -w: the file read back gives the same requests
"$bin" -f json --param HTTP_X_REQUEST_ID -o "$tmp/replay.json" "$tmp/out.pcap" 2>"$tmp/replay.err"
rrc=$?
python3 - "$tmp/out.json" "$tmp/replay.json" <<'PY' && ok "-w: fcgiscope on the written file: the same requests (status, start, latency_ns, bodies)" || bad "-w replay (exit $rrc: $(cat "$tmp/replay.err"))"
import json, sys
def reqs(p):
    return [json.loads(l) for l in open(p) if '"type":"request"' in l]
keys = ("status", "start", "latency_ns", "ttfb_ns", "stdin_bytes", "stdout_bytes", "uri", "anomalies", "params")
a, b = reqs(sys.argv[1]), reqs(sys.argv[2])
ok = len(a) == len(b) and len(a) > 0
for x, y in zip(a, b):
    for k in keys:
        if x.get(k) != y.get(k):
            print(f"  {x['params']}: {k}: live {x.get(k)!r}, replay {y.get(k)!r}"); ok = False
print(f"  {len(a)} live, {len(b)} replayed")
sys.exit(0 if ok else 1)
PY
if [ -n "$plugin" ] && [ -f "$plugin" ] && command -v tshark >/dev/null && command -v setpriv >/dev/null; then
  "$here/../dissector/run-tshark.sh" "$plugin" "$abi" -2 -r "$tmp/out.pcap" -Y fastcgi.time \
    -T fields -e fastcgi.status -e fastcgi.time > "$tmp/tshark.tsv" 2>"$tmp/tshark.err"
  python3 - "$tmp/out.json" "$tmp/tshark.tsv" <<'PY' && ok "-w: tshark with the plugin: the same statuses and latencies" || bad "-w: tshark: $(head -c 500 "$tmp/tshark.err")"
import json, sys
live = [json.loads(l) for l in open(sys.argv[1]) if '"type":"request"' in l]
ts = []
for line in open(sys.argv[2]):
    st, t = line.rstrip("\n").split("\t")
    ts.append((int(st.split(",")[0]), round(float(t) * 1e9)))
want = [(r["status"], r["latency_ns"]) for r in live]
print(f"  tshark: {len(ts)} answered requests")
if sorted(ts) != sorted(want):
    print(f"  live {sorted(want)}\n  tshark {sorted(ts)}"); sys.exit(1)
PY
else
  echo "note: no plugin or tshark: the -w file is not read by tshark"
fi

# The body bytes in a -w file: the client->server stream of each connection
# (raw IPv4/TCP, ns pcap) reassembled by sequence number, its FastCGI STDIN
# records concatenated; every 200 kB body must be the file sent, byte for byte.
body_check() { # PCAP NAME
  python3 - "$1" "$tmp/body200k" <<'PY' && ok "$2: the 200 kB bodies byte for byte" || bad "$2: body bytes"
import struct, sys
data = open(sys.argv[1], "rb").read()
want = open(sys.argv[2], "rb").read()
streams = {}
pos = 24
while pos + 16 <= len(data):
    _, _, cap, wire = struct.unpack_from("<IIII", data, pos)
    pkt = data[pos + 16:pos + 16 + cap]
    pos += 16 + cap
    ihl = (pkt[0] & 15) * 4
    sport, dport, seq = struct.unpack_from(">HHI", pkt, ihl)
    flags = pkt[ihl + 13]
    payload = pkt[ihl + 20:]
    if dport != 9000 or not payload:
        continue
    streams.setdefault(sport, {})[seq] = payload
bodies = []
for sport, segs in streams.items():
    s = b"".join(segs[k] for k in sorted(segs))
    stdin, i = b"", 0
    while i + 8 <= len(s):
        ver, typ, rid, clen, plen = struct.unpack_from(">BBHHB", s, i)
        if typ == 5:
            stdin += s[i + 8:i + 8 + clen]
        i += 8 + clen + plen
    if len(stdin) == len(want):
        bodies.append(stdin == want)
print(f"  {len(bodies)} bodies of {len(want)} bytes, {sum(bodies)} exact")
sys.exit(0 if bodies and all(bodies) else 1)
PY
}
body_check "$tmp/out.pcap" "phase 2 -w"

# the default build is the tp_btf one; the raw tracepoints only where it is refused, said once
kv=$(uname -r | sed 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/')
if [ "$(echo "$kv" | awk '{print ($1 > 6 || ($1 == 6 && $2 >= 2))}')" = 1 ]; then
  if grep -q "using raw tracepoints" "$tmp/scope.err"; then bad "phase 2: the tp_btf build was refused: $(cat "$tmp/scope.err")"
  else ok "phase 2: the tp_btf build (no fallback notice)"; fi
else
  echo "note: Linux $(uname -r) predates bpf_rdonly_cast (6.2): the raw tracepoint build is expected"
fi

# ---- phase 2r: the fallback build (raw tracepoints), the same requests and checks ----
FCGISCOPE_UNIX_HOOK=raw start_scope "$tmp/raw.json" "$tmp/raw.err" --param HTTP_X_REQUEST_ID -w "$tmp/raw.pcap"
send_all x
sleep 0.5
stop_scope
if check main "$tmp/raw.json" x; then ok "phase 2r: the raw tracepoint build: every request as nginx saw it"; else bad "phase 2r (see above)"; fi
body_check "$tmp/raw.pcap" "phase 2r -w"

# ---- phase 3: sendfile bytes not read back -> known-length gap ----
FCGISCOPE_UNIX_SENDFILE=gap start_scope "$tmp/gap.json" "$tmp/gap.err" --param HTTP_X_REQUEST_ID
send_all g
sleep 0.5
stop_scope
if check gap "$tmp/gap.json" g; then ok "phase 3: sendfile as a known-length gap"; else bad "phase 3 (see above)"; fi

# ---- phase 3c: sendfile bytes not read back from the file: php-fpm's reads fill them ----
FCGISCOPE_UNIX_SENDFILE=reads start_scope "$tmp/rd.json" "$tmp/rd.err" --param HTTP_X_REQUEST_ID -w "$tmp/rd.pcap"
send_all r
sleep 0.5
stop_scope
if check main "$tmp/rd.json" r; then ok "phase 3c: sendfile bytes from the app's reads"; else bad "phase 3c (see above)"; fi
body_check "$tmp/rd.pcap" "phase 3c -w"

# ---- phase 3b: a kept-alive connection older than the capture ----
port=$ka_port send k-0 "/index.php?i=0"      # opens the connection before fcgiscope runs
start_scope "$tmp/ka.json" "$tmp/ka.err" --param HTTP_X_REQUEST_ID
for i in 1 2 3 4; do port=$ka_port send "k-$i" "/index.php?i=$i"; done
sleep 0.5
stop_scope
python3 - "$tmp/ka.json" <<'PY' && ok "phase 3b: kept-alive connection older than the capture" || bad "phase 3b"
import json, sys
reqs = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "request":
        reqs.setdefault(o["params"].get("HTTP_X_REQUEST_ID"), []).append(o)
print("  " + ", ".join(f"{k}: {v[0]['status']} {v[0]['end']}" for k, v in sorted(reqs.items(), key=lambda kv: str(kv[0]))))
ok = all(k in reqs and len(reqs[k]) == 1 and reqs[k][0]["status"] == 200 and reqs[k][0]["complete"]
         and reqs[k][0]["client_comm"] == "nginx" for k in ("k-2", "k-3", "k-4"))
conns = {r["connection"] for v in reqs.values() for r in v}
ok = ok and len(conns) == 1   # one kept-alive connection
sys.exit(0 if ok else 1)
PY

# ---- phase 3e: fd numbers that change meaning in a watched process ----
# Guards any shortcut in the kernel side's fd -> connection resolution (a
# cache of "this fd is no watched end" was tried and measured, bench/README.md
# "Session 7, round 2"; with its invalidation left out this phase fails).
# A FastCGI client of our own (pinned to one CPU: a per-CPU cache's entries
# stay where it runs) first makes itself watched (a request of its own),
# then uses fd numbers on a socketpair (no watched end), then turns them
# into watched connections: dup2(2) of a new connection over an open one
# (no close seen), and a closed number taken again by socket(2) +
# connect(2). Every request must be reported complete, with the client's
# own byte counts.
fcgi_client() { # OUT-JSON PREFIX
  python3 - "$tmp/fpm.sock" "$tmp/www/index.php" "$2" > "$1" <<'PY'
import json, os, signal, socket, struct, sys
path, script, prefix = sys.argv[1:4]
signal.alarm(30)   # a request never answered fails the phase, not the test's timeout
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

def rec(t, body):
    return struct.pack(">BBHHBB", 1, t, 1, len(body), 0, 0) + body

def pairs(d):
    out = b""
    for k, v in d.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
        out += k + v
    return out

def ask(fd, rid):
    """one request on fd (raw fd calls: the numbers are the point); the STDOUT bytes got"""
    print(f"  {rid}: asking on fd {fd}", file=sys.stderr, flush=True)
    params = pairs({"SCRIPT_FILENAME": script, "SCRIPT_NAME": "/index.php", "REQUEST_METHOD": "GET",
                    "QUERY_STRING": "i=" + rid, "REQUEST_URI": "/index.php?i=" + rid,
                    "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
                    "HTTP_X_REQUEST_ID": rid})
    msg = (rec(1, struct.pack(">HB5x", 1, 0)) + rec(4, params) + rec(4, b"") + rec(5, b""))
    os.write(fd, msg)
    buf, out = b"", 0
    while True:
        while len(buf) < 8 or len(buf) < 8 + struct.unpack(">H", buf[4:6])[0] + buf[6]:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise SystemExit(f"{rid}: connection closed early")
            buf += chunk
        t, n, pad = buf[1], struct.unpack(">H", buf[4:6])[0], buf[6]
        if t == 6:
            out += n
        buf = buf[8 + n + pad:]
        if t == 3:
            return out

def connected():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

got = {}
s = connected()                      # this process is watched from here on
got[prefix + "-first"] = ask(s.fileno(), prefix + "-first")
s.close()
a, b = socket.socketpair()
for _ in range(50):                  # remembered: neither number is a watched end
    os.write(a.fileno(), b"x"); os.read(b.fileno(), 1)
    os.write(b.fileno(), b"y"); os.read(a.fileno(), 1)
na, nb = sorted((a.detach(), b.detach()))
# dup2 over an open fd (the higher one): the number is a watched end now, without a close
c = connected()
os.dup2(c.fileno(), nb)
c.close()                            # not the last reference: no close on the wire
got[prefix + "-dup2"] = ask(nb, prefix + "-dup2")
os.close(nb)                         # php-fpm waits for our end of it (2 workers)
# close, then socket + connect take the same number (the lowest free one)
os.close(na)
d = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
if d.fileno() != na:
    raise SystemExit(f"socket() got fd {d.fileno()}, not the closed {na}")
d.connect(path)
got[prefix + "-reuse"] = ask(d.fileno(), prefix + "-reuse")
d.close()
print(json.dumps(got))
PY
}
check_reuse() { # SCOPE-JSON CLIENT-JSON
  python3 - "$1" "$2" <<'PY'
import json, sys
want = json.load(open(sys.argv[2]))
reqs = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "request":
        reqs.setdefault(o["params"].get("HTTP_X_REQUEST_ID"), []).append(o)
ok = True
for rid, n in want.items():
    got = reqs.get(rid, [])
    r = got[0] if len(got) == 1 else None
    # php-fpm's own habits (as in phase 2): no empty STDOUT, a reserved byte set
    good = r is not None and r["status"] == 200 and r["complete"] and r["stdout_bytes"] == n \
        and not set(r["anomalies"]) - {"end_without_stdout_eos", "reserved_nonzero"}
    print(f"  {rid}: {'ok' if good else 'NOT SO'}: " + (f"status {r['status']}, stdout {r['stdout_bytes']} (client read {n}), anomalies {r['anomalies']}" if r else f"{len(got)} reported"))
    ok = ok and good
sys.exit(0 if ok else 1)
PY
}
for hook in default raw; do
  FCGISCOPE_UNIX_HOOK=${hook#default} start_scope "$tmp/fd-$hook.json" "$tmp/fd-$hook.err" --param HTTP_X_REQUEST_ID
  if fcgi_client "$tmp/fdc-$hook.json" "e$hook"; then
    sleep 0.3
    stop_scope
    check_reuse "$tmp/fd-$hook.json" "$tmp/fdc-$hook.json" && ok "phase 3e ($hook): fd numbers reused for watched connections (dup2 over an open fd, close + socket + connect)" || bad "phase 3e ($hook)"
  else
    stop_scope; bad "phase 3e ($hook): the FastCGI client failed"
  fi
done

# ---- phase 3d: queue and run (issue 19): a full pool, and fastcgi_finish_request() ----
start_scope "$tmp/q.json" "$tmp/q.err" --param HTTP_X_REQUEST_ID
cpids=()
for i in 1 2 3 4; do send "q-$i" "/slow.php" & cpids+=($!); done   # 4 x 300 ms on 2 workers
wait "${cpids[@]}"
port=$ka_port send f-1 "/finish.php"      # answers, then runs 400 ms more on its worker
port=$ka_port send f-2 "/index.php?i=9"   # the same kept-alive connection: waits for that worker
sleep 0.5
stop_scope
python3 - "$tmp/q.json" <<'PY' && ok "phase 3d: queue_us/run_us (pool full, after fastcgi_finish_request)" || bad "phase 3d"
import json, sys
s = None; reqs = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "summary": s = o
    if o["type"] == "request": reqs[o["params"].get("HTTP_X_REQUEST_ID")] = o
ok = True
def want(cond, msg):
    global ok
    if not cond:
        ok = False
        print("  not so: " + msg)
for k in ("q-1", "q-2", "q-3", "q-4", "f-1", "f-2"):
    r = reqs.get(k)
    if not r:
        want(False, f"{k} reported"); continue
    print(f"  {k}: latency {r['latency_us']} us = queue {r['queue_us']} + run {r['run_us']} (pid {r['server_pid']})")
    want(r["queue_us"] is not None and r["run_us"] is not None, f"{k} has queue_us and run_us")
    if r["queue_us"] is not None and r["run_us"] is not None:
        want(r["queue_us"] >= 0 and abs(r["queue_us"] + r["run_us"] - r["latency_us"]) <= 1,
             f"{k}: queue + run = latency, queue >= 0")
q = sorted(reqs[k]["queue_us"] or 0 for k in ("q-1", "q-2", "q-3", "q-4") if k in reqs)
run = [reqs[k]["run_us"] or 0 for k in ("q-1", "q-2", "q-3", "q-4") if k in reqs]
# php-fpm has 2 workers, one of them may still hold phase 3b's kept-alive
# connection (nginx keepalive): the first request runs at once, the last two
# wait at least one 300 ms run for a worker
want(len(q) == 4 and q[0] < 100000 and q[2] >= 200000 and q[3] < 1500000,
     f"the 4 x 300 ms requests on 2 workers: the first ran at once, 2 waited >= 200 ms: {q}")
# a worker runs one request at a time: its requests' run intervals never overlap
from datetime import datetime
def t0(r):
    d = datetime.strptime(r["start"][:26].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
    return int(d.timestamp() * 1e6)
runs = {}
for r in reqs.values():
    if r.get("queue_us") is not None and r.get("run_us") is not None:
        b = t0(r) + r["queue_us"]
        runs.setdefault(r["server_pid"], []).append((b, b + r["run_us"], r["params"].get("HTTP_X_REQUEST_ID")))
for pid, iv in runs.items():
    iv.sort()
    for a, b in zip(iv, iv[1:]):
        want(b[0] >= a[1] - 2, f"worker {pid} ran {a[2]} and {b[2]} one after the other: {a[:2]} {b[:2]}")
want(all(290000 <= x < 600000 for x in run), f"each ran ~300 ms: {run}")
f1, f2 = reqs.get("f-1"), reqs.get("f-2")
if f1 and f2 and f1["queue_us"] is not None and f2["queue_us"] is not None:
    want(f1["connection"] == f2["connection"], "f-1 and f-2 on one kept-alive connection")
    want(f1["queue_us"] < 100000 and f1["latency_us"] < 200000, "f-1 answered at once")
    want(f2["queue_us"] >= 300000 and f2["run_us"] < 100000,
         "f-2 waited ~400 ms for the worker still running f-1's script, then ran quickly")
want(s["queue_us"] is not None and s["queue_us"]["count"] >= 6 and s["queue_waited"] >= 3,
     f"summary queue_us {s['queue_us']} queue_waited {s['queue_waited']}")
sys.exit(0 if ok else 1)
PY

# the text report of the same situation: the per-process table with the
# queue, the "waited for a worker" lines, 80 columns
start_scope "$tmp/q.txt" "$tmp/qt.err" -f text --color never
cpids=()
for i in 1 2 3; do send "qt-$i" "/slow.php" & cpids+=($!); done
wait "${cpids[@]}"
sleep 0.5
stop_scope
if grep -q "queued" "$tmp/q.txt" && grep -q "waited for a worker: [1-9][0-9]* of 3 requests" "$tmp/q.txt" &&
   python3 -c 'import sys; sys.exit(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")) > 80)' "$tmp/q.txt"; then
  ok "phase 3d text: per-process queue, waits, <= 80 columns"
  sed -n '/FastCGI server processes/,/^$/p' "$tmp/q.txt"
else
  bad "phase 3d text:"; cat "$tmp/q.txt"
fi

# ---- phase 4: a ring buffer too small: drops counted, gaps, never silent ----
FCGISCOPE_UNIX_RING_KB=8 start_scope "$tmp/drop.json" "$tmp/drop.err" --param HTTP_X_REQUEST_ID
send d-big "/big.php?n=300000"
send d-get "/index.php?i=2"
sleep 0.5
stop_scope
python3 - "$tmp/drop.json" <<'PY' && ok "phase 4: lost records counted and reported as gaps" || bad "phase 4"
import json, sys
s = None; reqs = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "summary": s = o
    if o["type"] == "request": reqs[o["params"].get("HTTP_X_REQUEST_ID")] = o
ps = s["pcap_stats"]; an = s["anomalies"]
print(f"  dropped {ps['dropped']} of {ps['received']} records; capture_drops {an.get('capture_drops')}, capture_gap {an.get('capture_gap')}")
ok = ps["dropped"] > 0 and an.get("capture_drops", 0) > 0 and an.get("capture_gap", 0) > 0
ok = ok and "d-get" in reqs and reqs["d-get"]["status"] == 200 and "d-big" in reqs
sys.exit(0 if ok else 1)
PY

# ---- phase 5: -c stops by itself; not root ----
"$bin" --unix "$tmp/fpm.sock" -f json -c 2 -o "$tmp/count.json" 2>"$tmp/count.err" &
cpid=$!
pids+=($cpid)
for _ in $(seq 100); do grep -q "capturing on" "$tmp/count.err" && break; sleep 0.1; done
sleep 0.3
for i in 1 2 3; do send "c-$i" "/index.php?c=$i"; done
for _ in $(seq 50); do kill -0 $cpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $cpid 2>/dev/null; then
  bad "-c 2 did not stop"; kill -INT $cpid
else
  wait $cpid; crc=$?
  n=$(grep -c '"type":"request"' "$tmp/count.json")
  if [ $crc = 0 ] && [ "$n" -ge 2 ] && grep -q '"stopped_by":"request count reached' "$tmp/count.json"; then
    ok "-c 2: stopped by itself after $n requests"
  else
    bad "-c 2: exit $crc, $n requests: $(tail -c 300 "$tmp/count.json")"
  fi
fi
# -i that sees no FastCGI while php-fpm listens on a Unix socket: the hint
"$bin" -i lo -f json --duration 1 -o /dev/null "tcp port 1" 2>"$tmp/hint.err"
if grep -q "no FastCGI on lo, but php-fpm listens on the Unix socket .*: try fcgiscope --unix " "$tmp/hint.err"; then
  ok "-i without FastCGI: $(grep 'try fcgiscope --unix' "$tmp/hint.err")"
else
  bad "-i without FastCGI: no --unix hint: $(cat "$tmp/hint.err")"
fi
if command -v setpriv >/dev/null; then
  # as nobody, without capabilities
  timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
    "$bin" --unix "$tmp/link.sock" >"$tmp/nr.out" 2>"$tmp/nr.err"
  nrc=$?
  if [ $nrc = 2 ] && [ "$(wc -l < "$tmp/nr.err")" = 1 ] && grep -q "run as root" "$tmp/nr.err"; then
    ok "not root: exit 2: $(cat "$tmp/nr.err")"
  else
    bad "not root: exit $nrc: $(cat "$tmp/nr.err")"
  fi
fi

echo "$pass passed, $failn failed"
[ $failn = 0 ]
