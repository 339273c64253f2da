#!/usr/bin/env bash
# live_test.sh — fcgiscope -i lo against nginx + php-fpm on loopback: N requests in, N requests out.
#
# What is checked: live mode reports every request that passed, exactly
# (analyzer/README.md "Live capture").
#
#   live_test.sh FCGISCOPE [N]
#
# Starts php-fpm (pool user www-data, foreground, own config in a temp dir)
# and nginx on free 127.0.0.1 high ports, runs `fcgiscope -i lo -f json` with
# a port filter, sends N requests with curl (statuses 200, 404, 500, and a
# POST), stops fcgiscope with SIGINT and checks that its JSON has exactly
# those N requests with the statuses curl saw, matched by X-Request-Id.
# Then: -c and --duration stop it by themselves, the stop drains what the
# kernel holds, and a finished request's line (JSON and text) is in the
# output file within 1.5 s while fcgiscope keeps running (streaming).
# Stops only the processes it started, by PID. Exit 77 (skip) when not root
# or a program is missing, except under CI=true, where that is a failure.
set -u
bin=${1:?usage: live_test.sh FCGISCOPE [N]}
n=${2:-12}

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=live_env.sh
. "$here/live_env.sh"
start_stack 2

"$bin" -i lo -f json -o "$tmp/out.json" --param HTTP_X_REQUEST_ID "tcp port $fpm_port" 2>"$tmp/scope.err" &
scope=$!
pids+=($scope)
for _ in $(seq 100); do grep -q "capturing on" "$tmp/scope.err" && break; kill -0 $scope 2>/dev/null || break; sleep 0.1; done
if ! grep -q "capturing on" "$tmp/scope.err"; then
  echo "FAIL: fcgiscope did not start capturing:"; cat "$tmp/scope.err"; echo "0 passed, 1 failed"; exit 1
fi
sleep 0.3

: > "$tmp/sent.tsv"
for i in $(seq 1 "$n"); do
  case $((i % 4)) in
    0) path="/missing.php"; extra=() ;;
    1) path="/index.php?i=$i"; extra=() ;;
    2) path="/fail.php"; extra=() ;;
    3) path="/post.php"; extra=(--data-binary "body-$i") ;;
  esac
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Request-Id: live-$i" "${extra[@]}" "http://127.0.0.1:$http_port$path")
  printf 'live-%s\t%s\t%s\n' "$i" "$code" "$path" >> "$tmp/sent.tsv"
done
sleep 0.5
kill -INT $scope
rc=0
for _ in $(seq 100); do kill -0 $scope 2>/dev/null || break; sleep 0.1; done
if kill -0 $scope 2>/dev/null; then
  echo "FAIL: fcgiscope did not stop on SIGINT within 10 s"; echo "0 passed, 1 failed"; exit 1
fi
wait $scope; rc=$?

# phase 2: -c stops by itself after that many requests; --duration on a quiet port
"$bin" -i lo -f json -c 3 -o "$tmp/count.json" "tcp port $fpm_port" 2>"$tmp/count.err" &
cpid=$!
pids+=($cpid)
for _ in $(seq 100); do grep -q "capturing on" "$tmp/count.err" && break; sleep 0.1; done
sleep 0.3
for i in 1 2 3 4 5; do
  curl -s -o /dev/null -H "X-Request-Id: count-$i" "http://127.0.0.1:$http_port/index.php?c=$i"
  kill -0 $cpid 2>/dev/null || break
  sleep 0.2
done
for _ in $(seq 100); do kill -0 $cpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $cpid 2>/dev/null; then count_rc=timeout; kill -INT $cpid; else wait $cpid; count_rc=$?; fi
start=$(date +%s%N)
"$bin" -i lo -f json --duration 1 -o "$tmp/dur.json" "tcp port $fpm_port and tcp port 1" 2>"$tmp/dur.err" &
dpid=$!
pids+=($dpid)
for _ in $(seq 100); do kill -0 $dpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $dpid 2>/dev/null; then dur_rc=timeout; kill -INT $dpid; else wait $dpid; dur_rc=$?; fi
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))

# phase 3: the stop drains what the kernel holds.
# fcgiscope is frozen (SIGSTOP) while 4 requests pass, so their packets wait
# in the kernel's buffer; SIGINT then SIGCONT: the handler runs first, the
# loop ends, and only the drain can still report them.
"$bin" -i lo -f json -o "$tmp/drain.json" "tcp port $fpm_port" 2>"$tmp/drain.err" &
gpid=$!
pids+=($gpid)
for _ in $(seq 100); do grep -q "capturing on" "$tmp/drain.err" && break; sleep 0.1; done
sleep 0.3
kill -STOP $gpid
for i in 1 2 3 4; do
  curl -s -o /dev/null "http://127.0.0.1:$http_port/index.php?drain=$i"
done
kill -INT $gpid
kill -CONT $gpid
for _ in $(seq 100); do kill -0 $gpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $gpid 2>/dev/null; then drain_rc=timeout; kill -KILL $gpid; else wait $gpid; drain_rc=$?; fi

# phase 4: live output streams. The kernel hands packets over in
# blocks (timeout 100 ms) and the output is flushed when the capture runs
# dry, so a request's line (JSON, and the text report's live line) is in
# the file within ~1.5 s of curl's answer while fcgiscope keeps running.
"$bin" -i lo -f json -o "$tmp/stream.json" "tcp port $fpm_port" 2>"$tmp/stream.err" &
spid=$!
pids+=($spid)
"$bin" -i lo -o "$tmp/stream.txt" "tcp port $fpm_port" 2>"$tmp/streamt.err" &
tpid=$!
pids+=($tpid)
for _ in $(seq 100); do grep -q "capturing on" "$tmp/stream.err" && grep -q "capturing on" "$tmp/streamt.err" && break; sleep 0.1; done
sleep 0.3
curl -s -o /dev/null "http://127.0.0.1:$http_port/index.php?stream=1"
t0=$(date +%s%N)
stream_json=timeout stream_txt=timeout
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1500 ]; do
  if [ "$stream_json" = timeout ] && grep -q '"uri":"/index.php?stream=1"' "$tmp/stream.json" 2>/dev/null; then
    stream_json=$(( ($(date +%s%N) - t0) / 1000000 ))
  fi
  if [ "$stream_txt" = timeout ] && grep -q '/index.php?stream=1' "$tmp/stream.txt" 2>/dev/null; then
    stream_txt=$(( ($(date +%s%N) - t0) / 1000000 ))
  fi
  [ "$stream_json" != timeout ] && [ "$stream_txt" != timeout ] && break
  sleep 0.05
done
stream_alive=no
kill -0 $spid 2>/dev/null && kill -0 $tpid 2>/dev/null && stream_alive=yes
kill -INT $spid $tpid
for _ in $(seq 100); do kill -0 $spid 2>/dev/null || kill -0 $tpid 2>/dev/null || break; sleep 0.1; done
echo "streaming: JSON line after ${stream_json} ms, text line after ${stream_txt} ms"

python3 - "$tmp/out.json" "$tmp/sent.tsv" "$rc" "$tmp/scope.err" "$tmp/count.json" "$count_rc" "$tmp/dur.json" "$dur_rc" "$dur_ms" "$tmp/drain.json" "$drain_rc" "$stream_json" "$stream_txt" "$stream_alive" <<'PY'
import json, sys
out, sent, rc, errf = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fails = []
checks = 0
def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        fails.append(msg)
want = {}
for line in open(sent):
    tag, code, path = line.rstrip("\n").split("\t")
    want[tag] = (int(code), path)
objs = []
for n, line in enumerate(open(out, "rb"), 1):
    try:
        objs.append(json.loads(line))
    except ValueError as e:
        fails.append("line %d not JSON: %s" % (n, e))
check(rc == 0, "fcgiscope exit status %d, want 0 (stderr: %s)" % (rc, open(errf).read().strip()))
reqs = [o for o in objs if o.get("type") == "request"]
check(objs and objs[-1].get("type") == "summary", "no summary at the end")
check(len(reqs) == len(want), "%d requests in fcgiscope's output, %d sent" % (len(reqs), len(want)))
check(set(c for c, _ in want.values()) >= {200, 404, 500}, "curl did not see 200, 404 and 500: %s" % sorted(set(want.values())))
got = {}
for r in reqs:
    tag = (r.get("params") or {}).get("HTTP_X_REQUEST_ID")
    check(tag not in got, "request %s reported twice" % tag)
    got[tag] = r
for tag, (code, path) in sorted(want.items()):
    r = got.get(tag)
    check(r is not None, "request %s (%s) missing" % (tag, path))
    if r is None:
        continue
    check(r.get("status") == code, "%s %s: status %r, curl saw %d" % (tag, path, r.get("status"), code))
    check(r.get("uri") == path, "%s: uri %r, want %r" % (tag, r.get("uri"), path))
    check(r.get("complete") is True, "%s: not complete" % tag)
    check(isinstance(r.get("latency_us"), int) and r["latency_us"] >= 0, "%s: latency_us %r" % (tag, r.get("latency_us")))
if objs and objs[-1].get("type") == "summary":
    s = objs[-1]
    check((s.get("requests") or {}).get("total") == len(want), "summary total %r" % s.get("requests"))
    check(s.get("stopped_by") == "interrupted", "stopped_by %r" % s.get("stopped_by"))
count_json, count_rc, dur_json, dur_rc, dur_ms = sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8], int(sys.argv[9])
check(count_rc == "0", "-c 3: exit %s (timeout: did not stop by itself)" % count_rc)
try:
    cobjs = [json.loads(l) for l in open(count_json, "rb")]
except (OSError, ValueError) as e:
    cobjs = []
    fails.append("-c 3 output: %s" % e)
creqs = [o for o in cobjs if o.get("type") == "request"]
check(len(creqs) == 3, "-c 3: %d requests" % len(creqs))
check(cobjs and cobjs[-1].get("stopped_by", "").startswith("request count"), "-c 3 stopped_by %r" % (cobjs[-1].get("stopped_by") if cobjs else None))
check(dur_rc == "0" and dur_ms < 5000, "--duration 1 on a quiet port: exit %s after %d ms" % (dur_rc, dur_ms))
try:
    dobjs = [json.loads(l) for l in open(dur_json, "rb")]
except (OSError, ValueError) as e:
    dobjs = []
check(dobjs and dobjs[-1].get("stopped_by", "").startswith("duration") and dobjs[-1]["requests"]["total"] == 0,
      "--duration summary: %s" % (dobjs[-1] if dobjs else None))
drain_json, drain_rc = sys.argv[10], sys.argv[11]
try:
    gobjs = [json.loads(l) for l in open(drain_json, "rb")]
except (OSError, ValueError) as e:
    gobjs = []
greqs = sorted(o.get("uri") for o in gobjs if o.get("type") == "request" and o.get("complete"))
check(drain_rc == "0" and greqs == ["/index.php?drain=%d" % i for i in (1, 2, 3, 4)],
      "stop drains the kernel's buffer: exit %s, complete requests %s, want the 4 sent while frozen" % (drain_rc, greqs))
stream_json, stream_txt, stream_alive = sys.argv[12], sys.argv[13], sys.argv[14]
check(stream_alive == "yes", "streaming: fcgiscope stopped before the check")
check(stream_json != "timeout", "streaming: the JSON line of a finished request not in the file within 1.5 s")
check(stream_txt != "timeout", "streaming: the text report's live line not in the file within 1.5 s")
for f in fails:
    print("FAIL: " + f)
print("live: %d requests sent, %d reported" % (len(want), len(reqs)))
print("%d passed, %d failed" % (checks - len(fails), len(fails)))
sys.exit(1 if fails else 0)
PY
