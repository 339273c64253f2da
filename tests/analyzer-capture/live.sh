#!/bin/sh
# live.sh — live capture on loopback: capdump -i lo with a BPF filter sees a
# FastCGI-shaped TCP exchange made by python3 and reassembles both directions.
# Skips (77) without root/CAP_NET_RAW or python3.
set -u
: "${CAPDUMP:?}"
command -v python3 >/dev/null 2>&1 || { echo "no python3: skipped"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "not root: skipped"; exit 77; }
port=$((20000 + $$ % 20000))
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$CAPDUMP" -i lo -f "tcp port $port" -p "$port" -n 10 >"$out" 2>&1 &
pid=$!
sleep 1
kill -0 $pid 2>/dev/null || { cat "$out"; echo "capdump did not start (no capture permission?): skipped"; exit 77; }
python3 - "$port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(1)
c = socket.create_connection(("127.0.0.1", port)); a, _ = s.accept()
c.sendall(b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"); a.recv(100)
a.sendall(b"\x01\x03\x00\x01\x00\x08\x00\x00" + bytes(8)); c.recv(100)
c.close(); time.sleep(0.2); a.close()
PY
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $pid 2>/dev/null; then kill $pid; echo "FAIL: capdump did not see 10 packets"; cat "$out"; exit 1; fi
cat "$out"
grep -q "^open 1 client=127.0.0.1:[0-9]* server=127.0.0.1:$port midstream=0" "$out" || { echo "FAIL: no open"; exit 1; }
grep -q "^data 1 client 16 " "$out" || { echo "FAIL: no client data"; exit 1; }
grep -q "^data 1 server 16 " "$out" || { echo "FAIL: no server data"; exit 1; }
grep -q "precision=ns\|precision=us" "$out" || exit 1
echo ok
