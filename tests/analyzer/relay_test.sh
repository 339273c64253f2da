#!/usr/bin/env bash
# relay_test.sh — fcgiscope --relay between a real nginx and php-fpm (no root, no BPF).
#
# Normative reference: issue 11 "Relay fallback" and "Tests" (GET, slow, 404,
# 500, small POST and a 200 kB POST; every request found with nginx's status,
# latency within nginx's $upstream_response_time, the exact body size; -w
# replayed gives the same requests; half-close and errors passed through;
# bad input: one line, exit 2).
#
#   relay_test.sh FCGISCOPE [PLUGIN.so ABI]
#
# live_env.sh starts php-fpm on the Unix socket $tmp/fpm.sock and nginx
# (sendfile on, client_body_buffer_size 16k: big bodies are spooled and sent
# with sendfile(2)) passing to unix:$tmp/relay.sock, where fcgiscope --relay
# listens and forwards to fpm.sock. Phases:
#   1 bad input: --to missing / not a socket / nobody listening, LISTEN_PATH
#     not a socket / in use, no permission: exit 2, one line
#   2 the requests through the relay, checked against nginx's access log;
#     LISTEN_PATH has fpm.sock's owner and mode and is gone after the stop;
#     -w read back gives the same requests (given the plugin, tshark too:
#     the same statuses and ns latencies); the 200 kB bodies byte for byte
#   3 half-close and resets between a Python client and server through the
#     relay: the half-close arrives, a reset reaches the other side, the -w
#     file shows FIN and RST where the sockets did
#   4 an analysis queue too small (FCGISCOPE_RELAY_QUEUE_KB=1): the traffic
#     still flows untouched, the losses are capture drops and gaps
#   5 the stop with a request in flight: LISTEN_PATH goes at once, the
#     request still completes (200) and is in the report; -c stops by itself
# Runs as any user (root: the pools run as www-data/nobody as Debian's do).
# Stops only the processes it started, by PID.
set -u
bin=${1:?usage: relay_test.sh FCGISCOPE [PLUGIN.so ABI]}
plugin=${2:-}
abi=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
pass=0; failn=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { failn=$((failn + 1)); echo "FAIL: $*"; }

export LIVE_ENV_ANY_USER=1 FPM_SOCKET=fpm.sock FASTCGI_PASS=unix:@TMP@/relay.sock
export NGINX_HTTP_EXTRA="sendfile on; client_body_buffer_size 16k; client_max_body_size 10m;
  log_format relay '\$http_x_request_id\t\$status\t\$upstream_response_time\t\$upstream_status\t\$content_length';
  access_log relay-access.log relay;"
# as root, nginx's workers run as nobody: php-fpm's socket is theirs, as
# Debian's pool gives it to www-data (the relay's socket must follow it)
[ "$(id -u)" = 0 ] && export FPM_POOL_EXTRA="listen.owner = nobody
listen.group = nogroup
listen.mode = 0660"
# shellcheck source=live_env.sh
. "$here/live_env.sh"
start_stack 2
fpm_pid=${pids[0]}
nginx_pid=${pids[1]}

cat > "$tmp/www/slow.php" <<'PHP'
<?php usleep((int)($_GET['us'] ?? 300000)); echo "slow\n";
PHP
cat > "$tmp/www/gone.php" <<'PHP'
<?php http_response_code(404); echo "no such thing\n";
PHP
cat > "$tmp/www/big.php" <<'PHP'
<?php $n = (int)($_GET['n'] ?? 100000); $s = str_repeat('x', 8192);
for ($i = 0; $i < $n; $i += 8192) { echo substr($s, 0, min(8192, $n - $i)); flush(); }
PHP
chmod -R a+rX "$tmp/www"
[ "$(id -u)" = 0 ] && chown -R nobody "$tmp/ngx" 2>/dev/null

# ---- phase 1: bad input ----
expect_fail() { # NAME WANTED-TEXT ARGS...
  local name=$1 want=$2; shift 2
  timeout 10 "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"
  local rc=$? lines
  lines=$(grep -vc "^Try 'fcgiscope --help'.$" "$tmp/bad.err")
  if [ $rc = 2 ] && [ "$lines" = 1 ] && head -n1 "$tmp/bad.err" | grep -q -- "$want" && [ ! -s "$tmp/bad.out" ]; then
    ok "$name: exit 2, one line: $(head -n1 "$tmp/bad.err")"
  else
    bad "$name: exit $rc, want 2 and one line with \"$want\":"; cat "$tmp/bad.err"
  fi
}
R="$tmp/relay.sock"
: > "$tmp/plain"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$tmp/stale.sock"
expect_fail "--to missing" "No such file or directory" "$bin" --relay "$R" --to "$tmp/none.sock"
expect_fail "--to not a socket" "not a Unix socket" "$bin" --relay "$R" --to "$tmp/plain"
expect_fail "--to nobody listening" "Connection refused" "$bin" --relay "$R" --to "$tmp/stale.sock"
expect_fail "LISTEN_PATH not a socket" "exists and is not a socket" "$bin" --relay "$tmp/plain" --to "$tmp/fpm.sock"
expect_fail "LISTEN_PATH is --to" "is the --to socket" "$bin" --relay "$tmp/fpm.sock" --to "$tmp/fpm.sock"
expect_fail "--relay without --to" "needs --to" "$bin" --relay "$R"
expect_fail "--relay with -i" "takes no --unix, -i" "$bin" --relay "$R" --to "$tmp/fpm.sock" -i lo
[ -e "$tmp/plain" ] && [ ! -s "$tmp/plain" ] && ok "the plain file was left alone" || bad "the plain file was touched"
# no permission: to create LISTEN_PATH (a folder not ours), to connect to --to
python3 - "$tmp/any.sock" "$tmp/priv.sock" <<'PY' &
import os, select, socket, sys
ls = []
for p, mode in zip(sys.argv[1:], (0o666, 0o000)):
    s = socket.socket(socket.AF_UNIX); s.bind(p); os.chmod(p, mode); s.listen(8); ls.append(s)
while True:
    for s in select.select(ls, [], [])[0]:
        s.accept()[0].close()
PY
pids+=($!)
for _ in $(seq 50); do [ -S "$tmp/priv.sock" ] && break; sleep 0.1; done
mkdir -p "$tmp/ro"
asuser=()
if [ "$(id -u)" != 0 ]; then
  asuser=(env); chmod 555 "$tmp/ro"
elif command -v setpriv >/dev/null; then
  asuser=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)
fi
if [ ${#asuser[@]} -gt 0 ]; then
  expect_fail "LISTEN_PATH: no permission" "Permission denied" "${asuser[@]}" "$bin" --relay "$tmp/ro/x.sock" --to "$tmp/any.sock"
  expect_fail "--to: no permission" "Permission denied" "${asuser[@]}" "$bin" --relay "$tmp/y.sock" --to "$tmp/priv.sock"
else
  echo "note: root without setpriv: the permission cases are not run"
fi

# start the relay; sets $scope
start_relay() { # OUT ERR ARGS...
  local out=$1 err=$2; shift 2
  "$bin" "$@" -f json -o "$out" 2>"$err" &
  scope=$!
  pids+=($scope)
  for _ in $(seq 100); do grep -q "relaying" "$err" && break; kill -0 $scope 2>/dev/null || break; sleep 0.1; done
  if ! grep -q "relaying" "$err"; then
    echo "FAIL: fcgiscope --relay did not start:"; cat "$err"; echo "$pass passed, $((failn + 1)) failed"; exit 1
  fi
}
stop_relay() {
  kill -INT $scope
  for _ in $(seq 150); do kill -0 $scope 2>/dev/null || break; sleep 0.1; done
  if kill -0 $scope 2>/dev/null; then
    echo "FAIL: fcgiscope did not stop on SIGINT within 15 s"; echo "$pass passed, $((failn + 1)) failed"; exit 1
  fi
  wait $scope
}

# a stale socket file at LISTEN_PATH is replaced
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$R"
start_relay "$tmp/out.json" "$tmp/relay.err" --relay "$R" --to "$tmp/fpm.sock" --param HTTP_X_REQUEST_ID -w "$tmp/out.pcap"
ok "a stale socket file at LISTEN_PATH was replaced"
if [ "$(stat -c '%u %g %a' "$R")" = "$(stat -c '%u %g %a' "$tmp/fpm.sock")" ]; then
  ok "LISTEN_PATH has --to's owner, group and mode: $(stat -c '%U:%G %a' "$R")"
else
  bad "LISTEN_PATH $(stat -c '%U:%G %a' "$R"), --to $(stat -c '%U:%G %a' "$tmp/fpm.sock")"
fi
expect_fail "LISTEN_PATH in use" "in use" "$bin" --relay "$R" --to "$tmp/fpm.sock"

# ---- phase 2: the requests ----
head -c 200000 /dev/urandom > "$tmp/body200k"
send() { # ID PATH [curl args]
  local id=$1 path=$2; shift 2
  curl -s -m 20 -o /dev/null -w '%{http_code}' -H "X-Request-Id: $id" "$@" "http://127.0.0.1:$http_port$path"
}
send_all() { # PREFIX
  send "$1-get" "/index.php?i=1" >/dev/null
  send "$1-slow" "/slow.php" >/dev/null
  send "$1-404" "/gone.php" >/dev/null
  send "$1-500" "/fail.php" >/dev/null
  send "$1-post" "/post.php" --data-binary "small=body" >/dev/null
  send "$1-big" "/post.php" --data-binary "@$tmp/body200k" >/dev/null
}
send_all r
sleep 0.3
stop_relay; rc=$?
[ $rc = 0 ] && ok "fcgiscope --relay exit 0" || bad "fcgiscope --relay exit $rc: $(cat "$tmp/relay.err")"
[ ! -e "$R" ] && ok "LISTEN_PATH removed at the stop" || bad "LISTEN_PATH still there after the stop"

nginx_workers=$(ps -o pid= --ppid "$nginx_pid" | tr -s ' \n' ' ')
export NGINX_WORKERS="$nginx_workers" FPM_MASTER="$fpm_pid"
check() { # OUT.JSON PREFIX [drops]
  python3 - "$@" "$tmp/relay-access.log" <<'PY'
import json, os, sys
path, prefix = sys.argv[1], sys.argv[2]
access = sys.argv[-1]
fails = 0
def bad(m):
    global fails; fails += 1; print("FAIL: " + m)
reqs, summary = [], None
for line in open(path):
    o = json.loads(line)
    if o["type"] == "request": reqs.append(o)
    elif o["type"] == "summary": summary = o
nginx = {}
for line in open(access):
    f = line.rstrip("\n").split("\t")
    if f[0].startswith(prefix + "-"): nginx[f[0]] = f
by_id = {}
for r in reqs:
    by_id.setdefault((r.get("params") or {}).get("HTTP_X_REQUEST_ID"), []).append(r)
workers = set(int(p) for p in os.environ["NGINX_WORKERS"].split())
master = int(os.environ["FPM_MASTER"])
for rid, f in sorted(nginx.items()):
    status, urt, clen = f[1], f[2], f[4]
    got = by_id.get(rid, [])
    if len(got) != 1:
        bad(f"{rid}: {len(got)} requests reported, want 1"); continue
    r = got[0]
    if r["status"] != int(status): bad(f"{rid}: status {r['status']}, nginx logged {status}")
    urt_ms = float(urt) * 1000
    lat = r.get("latency_us")
    # $upstream_response_time: ms, nginx's cached clock, connect to the last
    # byte; the FastCGI latency lies inside it (the tolerance of unix_test.sh)
    if lat is None or not (urt_ms - max(25, urt_ms / 10) <= lat / 1000 <= urt_ms + 1.5):
        bad(f"{rid}: latency {lat} us, nginx's upstream_response_time {urt_ms:.0f} ms")
    if clen not in ("-", "") and (r.get("stdin_bytes") != int(clen) or r.get("content_length") != int(clen)):
        bad(f"{rid}: stdin_bytes {r.get('stdin_bytes')}, body {clen}")
    if r.get("client_pid") not in workers or r.get("client_comm") != "nginx":
        bad(f"{rid}: client_pid {r.get('client_pid')} {r.get('client_comm')}, nginx workers {sorted(workers)}")
    if r.get("server_pid") != master:
        bad(f"{rid}: server_pid {r.get('server_pid')}, php-fpm's master {master}")
    if "capture_gap" in r["anomalies"] or not r["complete"]:
        bad(f"{rid}: {r['end']} {r['anomalies']}")
    if not fails:
        print(f"ok: {rid}: status {r['status']}, latency {lat/1000:.3f} ms (nginx {urt_ms:.0f} ms), "
              f"stdin {r.get('stdin_bytes')}, pids {r.get('client_pid')}/{r.get('server_pid')} {r.get('server_comm')}")
if len(nginx) != 6: bad(f"nginx logged {len(nginx)} requests, want 6")
if summary is None: bad("no summary")
else:
    if summary["requests"]["total"] != len(nginx) or summary["connections"] != len(nginx):
        bad(f"summary: {summary['requests']['total']} requests, {summary['connections']} connections, want {len(nginx)}")
    ps = summary.get("pcap_stats") or {}
    if ps.get("dropped") != 0 or summary["anomalies"].get("capture_drops"):
        bad(f"summary: drops {ps} {summary['anomalies']}")
    extra = set(summary["anomalies"]) - {"end_without_stdout_eos", "reserved_nonzero"}
    if extra: bad(f"summary: anomalies beyond php-fpm's usual notes: {summary['anomalies']}")
sys.exit(1 if fails else 0)
PY
}
if check "$tmp/out.json" r; then ok "phase 2: every request as nginx saw it"; else bad "phase 2 (see above)"; fi

"$bin" -f json --param HTTP_X_REQUEST_ID -o "$tmp/replay.json" "$tmp/out.pcap" 2>"$tmp/replay.err"
rrc=$?
python3 - "$tmp/out.json" "$tmp/replay.json" <<'PY' && ok "-w: the written file read back: the same requests" || bad "-w replay (exit $rrc: $(cat "$tmp/replay.err"))"
import json, sys
def reqs(p):
    return [json.loads(l) for l in open(p) if '"type":"request"' in l]
keys = ("status", "start", "latency_ns", "ttfb_ns", "stdin_bytes", "stdout_bytes", "uri", "anomalies", "params")
a, b = reqs(sys.argv[1]), reqs(sys.argv[2])
ok = len(a) == len(b) == 6
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
python3 - "$tmp/out.pcap" "$tmp/body200k" <<'PY' && ok "-w: the 200 kB body byte for byte" || bad "-w: body bytes"
import struct, sys
data = open(sys.argv[1], "rb").read(); want = open(sys.argv[2], "rb").read()
streams, pos = {}, 24
while pos + 16 <= len(data):
    cap = struct.unpack_from("<I", data, pos + 8)[0]
    pkt = data[pos + 16:pos + 16 + cap]; pos += 16 + cap
    ihl = (pkt[0] & 15) * 4
    sport, dport, seq = struct.unpack_from(">HHI", pkt, ihl)
    if dport == 9000 and pkt[ihl + 20:]:
        streams.setdefault(sport, {})[seq] = pkt[ihl + 20:]
bodies = []
for segs in streams.values():
    s = b"".join(segs[k] for k in sorted(segs)); stdin, i = b"", 0
    while i + 8 <= len(s):
        _, typ, _, clen, plen = struct.unpack_from(">BBHHB", s, i)
        if typ == 5: stdin += s[i + 8:i + 8 + clen]
        i += 8 + clen + plen
    if len(stdin) == len(want): bodies.append(stdin == want)
print(f"  {len(bodies)} bodies of {len(want)} bytes, {sum(bodies)} exact")
sys.exit(0 if bodies and all(bodies) else 1)
PY

# ---- phase 3: half-close and resets (a Python server behind the relay) ----
P="$tmp/py.sock"; PR="$tmp/pyrelay.sock"
python3 - "$P" > "$tmp/pyserver.log" 2>&1 <<'PY' &
import socket, sys, os, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
print("ready", flush=True)
cases = ["half", "client-reset", "server-reset"]
while cases:
    c, _ = s.accept()
    if not c.recv(1, socket.MSG_PEEK):
        c.close(); continue     # the relay's check at its start: nothing sent
    c.settimeout(6)             # a failure shows as a timeout, not a hang
    case = cases.pop(0)
    if case == "half":
        got = b""
        while True:
            b = c.recv(65536)
            if not b: break
            got += b
        print(f"half: read {len(got)} bytes then end-of-file", flush=True)
        c.sendall(b"R" * 100000); c.close()
    elif case == "client-reset":
        c.recv(100)
        t0 = time.time(); err = None
        try:
            while time.time() - t0 < 5: c.sendall(b"x" * 65536)
        except OSError as e: err = e.errno
        print(f"client-reset: server's send failed: errno {err} after {time.time()-t0:.2f}s", flush=True)
        c.close()
    else:
        c.recv(10)            # leaves the rest of the request unread
        time.sleep(0.3)
        c.close()             # with unread bytes: af_unix resets the peer
        print("server-reset: closed with unread bytes", flush=True)
PY
pypid=$!
pids+=($pypid)
for _ in $(seq 50); do [ -S "$P" ] && break; sleep 0.1; done
start_relay "$tmp/py.json" "$tmp/py.err" --relay "$PR" --to "$P" -w "$tmp/py.pcap"
python3 - "$PR" > "$tmp/pyclient.log" 2>&1 <<'PY'
import socket, sys, time, errno
def conn():
    c = socket.socket(socket.AF_UNIX); c.settimeout(6); c.connect(sys.argv[1]); return c
c = conn(); c.sendall(b"q" * 5000); c.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = c.recv(65536)
    if not b: break
    got += b
print(f"half: client got {len(got)} bytes then end-of-file", flush=True); c.close()
c = conn(); c.sendall(b"hello"); time.sleep(0.3); c.close()   # unread bytes in its socket
print("client-reset: closed with unread bytes", flush=True)
time.sleep(0.5)
c = conn(); c.sendall(b"z" * 20000)
c.settimeout(5); t0 = time.time()
try:
    r = c.recv(100); print(f"server-reset: client read {len(r)} bytes (end-of-file) after {time.time()-t0:.2f}s", flush=True)
except OSError as e:
    print(f"server-reset: client read failed errno {e.errno} after {time.time()-t0:.2f}s", flush=True)
PY
sleep 0.3
stop_relay
wait $pypid 2>/dev/null
cat "$tmp/pyserver.log" "$tmp/pyclient.log" | sed 's/^/  /'
grep -q "^half: read 5000 bytes then end-of-file" "$tmp/pyserver.log" && grep -q "^half: client got 100000 bytes" "$tmp/pyclient.log" &&
  ok "half-close passed through (server saw end-of-file after 5000 bytes, answered 100000)" || bad "half-close"
grep -q "^client-reset: server's send failed: errno [0-9][0-9]* after [0-4]\." "$tmp/pyserver.log" &&
  ok "client reset: the server's writes failed at once" || bad "client reset not passed on"
grep -q "^server-reset: client read .* after [0-2]\." "$tmp/pyclient.log" &&
  ok "server reset: the client's connection ended at once" || bad "server reset not passed on"
python3 - "$tmp/py.pcap" <<'PY' && ok "-w: FIN from the half-closing client, RST from the resetting client and server" || bad "-w flags of phase 3"
import struct, sys
data = open(sys.argv[1], "rb").read(); pos = 24; conns = {}
while pos + 16 <= len(data):
    cap = struct.unpack_from("<I", data, pos + 8)[0]
    pkt = data[pos + 16:pos + 16 + cap]; pos += 16 + cap
    ihl = (pkt[0] & 15) * 4
    sport, dport = struct.unpack_from(">HH", pkt, ihl); fl = pkt[ihl + 13]
    client = dport == 9000; port = sport if client else dport
    conns.setdefault(port, []).append(("c" if client else "s") + ("F" if fl & 1 else "") + ("R" if fl & 4 else ""))
order = [conns[p] for p in sorted(conns)]
print("  " + " | ".join(" ".join(x for x in v if len(x) > 1) for v in order))
ok = len(order) == 3 and "cF" in order[0] and "sF" in order[0] and "cR" in order[1] and "sR" in order[2]
sys.exit(0 if ok else 1)
PY

# ---- phase 4: analysis queue too small: forwarding goes on, losses reported ----
FCGISCOPE_RELAY_QUEUE_KB=1 start_relay "$tmp/drop.json" "$tmp/drop.err" --relay "$R" --to "$tmp/fpm.sock" --param HTTP_X_REQUEST_ID
n=$(curl -s -m 20 -o "$tmp/big.out" -w '%{http_code} %{size_download}' -H "X-Request-Id: d-big" "http://127.0.0.1:$http_port/big.php?n=300000")
m=$(send d-get "/index.php?i=2")
sleep 0.3
stop_relay
python3 - "$tmp/drop.json" "$n" "$m" <<'PY' && ok "phase 4: queue full: bytes forwarded ($n), drops counted and gaps reported" || bad "phase 4 (curl $n, $m)"
import json, sys
s = None; reqs = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "summary": s = o
    if o["type"] == "request": reqs[o["params"].get("HTTP_X_REQUEST_ID")] = o
ps = s["pcap_stats"]; an = s["anomalies"]
print(f"  dropped {ps['dropped']} of {ps['received']} records; capture_drops {an.get('capture_drops')}, capture_gap {an.get('capture_gap')}")
ok = sys.argv[2] == "200 300000" and sys.argv[3] == "200"
ok = ok and ps["dropped"] > 0 and an.get("capture_drops", 0) > 0 and an.get("capture_gap", 0) > 0
sys.exit(0 if ok else 1)
PY

# ---- phase 5: the stop with a request in flight; -c ----
start_relay "$tmp/stop.json" "$tmp/stop.err" --relay "$R" --to "$tmp/fpm.sock" --param HTTP_X_REQUEST_ID
( send s-slow "/slow.php?us=1500000" > "$tmp/slow.code" ) &
cpid=$!
sleep 0.5
kill -INT $scope
sleep 0.3
[ ! -e "$R" ] && ok "stop: LISTEN_PATH removed at once" || bad "stop: LISTEN_PATH still there 0.3 s after SIGINT"
wait $cpid
for _ in $(seq 100); do kill -0 $scope 2>/dev/null || break; sleep 0.1; done
wait $scope; src=$?
if [ "$(cat "$tmp/slow.code")" = 200 ] && [ $src = 0 ] && grep -q '"HTTP_X_REQUEST_ID":"s-slow"' "$tmp/stop.json" &&
   grep '"HTTP_X_REQUEST_ID":"s-slow"' "$tmp/stop.json" | grep -q '"status":200'; then
  ok "stop: the request in flight completed (200) and is in the report"
else
  bad "stop: curl $(cat "$tmp/slow.code"), exit $src: $(head -c 400 "$tmp/stop.json")"
fi
"$bin" --relay "$R" --to "$tmp/fpm.sock" -f json -c 2 -o "$tmp/count.json" 2>"$tmp/count.err" &
cpid=$!
pids+=($cpid)
for _ in $(seq 100); do grep -q "relaying" "$tmp/count.err" && break; sleep 0.1; done
for i in 1 2 3; do send "c-$i" "/index.php?c=$i" > /dev/null; done
for _ in $(seq 100); do kill -0 $cpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $cpid 2>/dev/null; then
  bad "-c 2 did not stop"; kill -INT $cpid
else
  wait $cpid; crc=$?
  nreq=$(grep -c '"type":"request"' "$tmp/count.json")
  if [ $crc = 0 ] && [ "$nreq" -ge 2 ] && grep -q '"stopped_by":"request count reached' "$tmp/count.json" && [ ! -e "$R" ]; then
    ok "-c 2: stopped by itself after $nreq requests, LISTEN_PATH removed"
  else
    bad "-c 2: exit $crc, $nreq requests: $(tail -c 300 "$tmp/count.json")"
  fi
fi

echo "$pass passed, $failn failed"
[ $failn = 0 ]
