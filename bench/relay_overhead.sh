#!/usr/bin/env bash
# relay_overhead.sh — what `fcgiscope --relay` costs: wrk against nginx -> php-fpm on a Unix socket, directly and through the relay.
#
# Normative reference: issue 11 "Relay fallback" (one extra copy) and
# "Benchmark" (requests/s and p99 side by side in one run).
#
#   bench/relay_overhead.sh FCGISCOPE [SECONDS] [ROUNDS] [CONNECTIONS]
#
# Any user (root: the pools run as nobody/www-data). tests/analyzer/live_env.sh
# starts php-fpm (pm static, 2 children) on $tmp/fpm.sock and nginx (1
# worker, access_log off) passing index.php (one line of output) to
# unix:$tmp/relay.sock. Each round (default 3): wrk SECONDS (default 10,
# -t2 -cCONNECTIONS, default 16) with relay.sock a symlink to fpm.sock
# (direct), then with `fcgiscope --relay relay.sock --to fpm.sock -q -f json
# -o FILE` there (JSON lines for every request: the realistic cost). One line
# per run (requests/s, p99, load average; through the relay: the requests it
# reported, drops, its CPU seconds) and the medians. Not a CTest test.
set -u
bin=${1:?usage: relay_overhead.sh FCGISCOPE [SECONDS] [ROUNDS] [CONNECTIONS]}
secs=${2:-10}
rounds=${3:-3}
conns=${4:-16}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 2; }
here=$(cd "$(dirname "$0")/../tests/analyzer" && pwd)
export LIVE_ENV_ANY_USER=1 FPM_SOCKET=fpm.sock FASTCGI_PASS=unix:@TMP@/relay.sock
export NGINX_HTTP_EXTRA="access_log off;"
[ "$(id -u)" = 0 ] && export FPM_POOL_EXTRA="listen.owner = nobody
listen.group = nogroup
listen.mode = 0660"
# shellcheck source=../tests/analyzer/live_env.sh
. "$here/live_env.sh"
start_stack 2
url="http://127.0.0.1:$http_port/index.php"
run_wrk() { # -> "rps p99_ms non2xx"
  wrk -t2 -c"$conns" -d"${secs}s" --latency "$url" | python3 -c '
import re, sys
t = sys.stdin.read()
def ms(v):
    n, u = re.match(r"([\d.]+)(us|ms|s|m)$", v).groups()
    return float(n) * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[u]
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print("%.0f %.3f %s" % (float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)),
      ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1)), bad.group(1) if bad else 0))'
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
ln -sf fpm.sock "$tmp/relay.sock"
wrk -t1 -c4 -d2s "$url" >/dev/null   # warm-up
: > "$tmp/results"
for r in $(seq "$rounds"); do
  ln -sf fpm.sock "$tmp/relay.sock"
  read -r rps p99 bad < <(run_wrk)
  printf 'round %d  direct    %6s req/s  p99 %7s ms  (%s non-2xx)  load %s\n' "$r" "$rps" "$p99" "$bad" "$(load)"
  echo "off $rps $p99" >> "$tmp/results"
  rm -f "$tmp/relay.sock"
  "$bin" --relay "$tmp/relay.sock" --to "$tmp/fpm.sock" -q -f json -o "$tmp/scope.json" 2>"$tmp/scope.err" &
  sp=$!; pids+=($sp)
  for _ in $(seq 50); do [ -S "$tmp/relay.sock" ] && break; sleep 0.1; done
  [ -S "$tmp/relay.sock" ] || { echo "fcgiscope --relay did not start: $(cat "$tmp/scope.err")"; exit 1; }
  cpu0=$(awk '{print $14 + $15}' /proc/$sp/stat)
  read -r rps p99 bad < <(run_wrk)
  cpu1=$(awk '{print $14 + $15}' /proc/$sp/stat)
  kill -INT $sp; wait $sp
  read -r seen lost < <(python3 - "$tmp/scope.json" <<'PY'
import json, sys
s = None; n = 0
for line in open(sys.argv[1]):
    if '"type":"request"' in line: n += 1
    elif '"type":"summary"' in line: s = json.loads(line)
print(n, (s or {}).get("pcap_stats", {}).get("dropped", "?"))
PY
)
  printf 'round %d  --relay   %6s req/s  p99 %7s ms  (%s non-2xx; fcgiscope reported %s, %s dropped, %s CPU s)  load %s\n' \
    "$r" "$rps" "$p99" "$bad" "$seen" "$lost" "$(echo "scale=2; ($cpu1 - $cpu0) / $(getconf CLK_TCK)" | bc)" "$(load)"
  echo "on $rps $p99" >> "$tmp/results"
done
python3 - "$tmp/results" <<'PY'
import statistics, sys
v = {"off": [], "on": []}
for line in open(sys.argv[1]):
    k, rps, p99 = line.split()
    v[k].append((float(rps), float(p99)))
m = {k: [statistics.median(x[i] for x in v[k]) for i in range(2)] for k in v}
off, on = m["off"], m["on"]
print(f"median    direct {off[0]:.0f} req/s p99 {off[1]:.3f} ms; --relay {on[0]:.0f} req/s p99 {on[1]:.3f} ms; "
      f"throughput {100 * (on[0] / off[0] - 1):+.1f}%, p99 {100 * (on[1] / off[1] - 1):+.1f}%")
PY
