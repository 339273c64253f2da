#!/usr/bin/env bash
# unix_overhead.sh — what `fcgiscope --unix` costs the service it watches: wrk against nginx -> php-fpm on a Unix socket, with and without it.
#
# Normative reference: issue 11 "Benchmark" (requests/s and p99 side by side
# in one run, at saturation on 2 cores; no events lost at that rate).
#
#   bench/unix_overhead.sh FCGISCOPE [SECONDS] [ROUNDS] [CONNECTIONS]
#
# Root (BPF). Starts php-fpm (pm static, 2 children, a one-line script) and
# nginx (1 worker, `sendfile on`, access_log off) on a private Unix socket and
# a free 127.0.0.1 port, then alternates ROUNDS times (default 3): wrk
# SECONDS (default 10) without fcgiscope, then with `fcgiscope --unix SOCK -f
# json -o FILE` attached (JSON lines for every request: the realistic cost).
# Prints one line per run (requests/s, p50, p99; with fcgiscope: requests it
# reported vs wrk's, records lost, its CPU seconds) and the medians. Stops
# only what it started, by PID. Not a CTest test (timing on a shared machine).
set -u
bin=${1:?usage: unix_overhead.sh FCGISCOPE [SECONDS] [ROUNDS] [CONNECTIONS]}
secs=${2:-10}
rounds=${3:-3}
conns=${4:-16}
[ "$(id -u)" = 0 ] || { echo "needs root (BPF)"; exit 2; }
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 2; }
fpm=$(ls /usr/sbin/php-fpm* 2>/dev/null | head -n1)
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -n "$fpm" ] && [ -x "$nginx" ] || { echo "needs nginx and php-fpm"; exit 2; }

. "$(cd "$(dirname "$0")/../tests/analyzer" && pwd)/private_run.sh"
private_run fcgiscope-bench
for _ in $(seq 50); do p=$(( 20000 + RANDOM % 30000 )); port_free "$p" && { port=$p; break; }; done
mkdir -p "$tmp/www" "$tmp/ngx" "$tmp/snippets"
cp /etc/nginx/snippets/fastcgi-php.conf "$tmp/snippets/"
cp /etc/nginx/fastcgi.conf "$tmp/"
echo '<?php echo "ok\n";' > "$tmp/www/ok.php"
chmod -R a+rX "$tmp/www"; chown www-data "$tmp/ngx"
cat > "$tmp/fpm.conf" <<EOF
[global]
pid = $tmp/fpm.pid
error_log = $tmp/fpm.log
daemonize = no
[bench]
user = www-data
group = www-data
listen = $tmp/fpm.sock
listen.owner = www-data
listen.group = www-data
pm = static
pm.max_children = 2
EOF
cat > "$tmp/nginx.conf" <<EOF
user www-data;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 1024; }
http {
  sendfile on;
  access_log off;
  client_body_temp_path $tmp/ngx/body;
  fastcgi_temp_path $tmp/ngx/fastcgi;
  proxy_temp_path $tmp/ngx/proxy;
  uwsgi_temp_path $tmp/ngx/uwsgi;
  scgi_temp_path $tmp/ngx/scgi;
  server {
    listen 127.0.0.1:$port;
    root $tmp/www;
    location ~ [^/]\.php(/|\$) {
      include snippets/fastcgi-php.conf;
      fastcgi_pass unix:$tmp/fpm.sock;
    }
  }
}
EOF
"$fpm" -F -n -y "$tmp/fpm.conf" >"$tmp/fpm.out" 2>&1 & pids+=($!)
"$nginx" -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;' >"$tmp/nginx.out" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -S "$tmp/fpm.sock" ] && ! port_free "$port" && break; sleep 0.1; done
url="http://127.0.0.1:$port/ok.php"
wrk -t1 -c4 -d2s "$url" >/dev/null   # warm-up

# run time of the BPF programs (kernel.bpf_stats_enabled, restored on exit)
stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
sysctl -q -w kernel.bpf_stats_enabled=1 2>/dev/null
trap 'sysctl -q -w kernel.bpf_stats_enabled=$stats_was 2>/dev/null; cleanup' EXIT
bpf_ns() {
  bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys
print(sum(p.get("run_time_ns", 0) for p in json.load(sys.stdin) if p.get("name") in ("uc_enter", "uc_exit")))'
}
run_wrk() { # LABEL -> "rps p50_ms p99_ms requests"
  wrk -t2 -c"$conns" -d"${secs}s" --latency "$url" > "$tmp/wrk.out"
  python3 - "$tmp/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        return float("nan")
    n, u = m.groups()
    return float(n) * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
n = int(re.search(r"(\d+) requests in", t).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {n} {non2xx.group(1) if non2xx else 0}")
PY
}
: > "$tmp/results"
for r in $(seq "$rounds"); do
  read -r rps p50 p99 n bad < <(run_wrk)
  printf 'round %d  without       %8s req/s  p50 %7s ms  p99 %7s ms  (%s requests, %s non-2xx)\n' "$r" "$rps" "$p50" "$p99" "$n" "$bad"
  echo "off $rps $p50 $p99" >> "$tmp/results"
  "$bin" --unix "$tmp/fpm.sock" -q -f json -o "$tmp/scope.json" 2>"$tmp/scope.err" &
  sp=$!; pids+=($sp)
  for _ in $(seq 100); do grep -q "capturing on" "$tmp/scope.err" && break; kill -0 $sp 2>/dev/null || break; sleep 0.1; done
  [ -s "$tmp/scope.err" ] && ! grep -q "capturing on" "$tmp/scope.err" && { cat "$tmp/scope.err"; exit 1; }
  sleep 0.5
  cpu0=$(awk '{print $14 + $15}' /proc/$sp/stat)
  bpf0=$(bpf_ns)
  read -r rps p50 p99 n bad < <(run_wrk)
  cpu1=$(awk '{print $14 + $15}' /proc/$sp/stat)
  bpf1=$(bpf_ns)
  sleep 0.5
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
  tck=$(getconf CLK_TCK)
  printf 'round %d  with --unix   %8s req/s  p50 %7s ms  p99 %7s ms  (%s requests; fcgiscope reported %s, %s records lost; fcgiscope %s CPU s, BPF programs %s CPU s)\n' \
    "$r" "$rps" "$p50" "$p99" "$n" "$seen" "$lost" "$(echo "scale=2; ($cpu1 - $cpu0) / $tck" | bc)" \
    "$(echo "scale=2; ($bpf1 - $bpf0) / 1000000000" | bc)"
  echo "on $rps $p50 $p99" >> "$tmp/results"
done
python3 - "$tmp/results" <<'PY'
import statistics, sys
v = {"off": [], "on": []}
for line in open(sys.argv[1]):
    k, rps, p50, p99 = line.split()
    v[k].append((float(rps), float(p50), float(p99)))
med = {k: [statistics.median(x[i] for x in v[k]) for i in range(3)] for k in v}
off, on = med["off"], med["on"]
print(f"median    without {off[0]:.0f} req/s p99 {off[2]:.3f} ms; with --unix {on[0]:.0f} req/s p99 {on[2]:.3f} ms; "
      f"throughput {100 * (on[0] / off[0] - 1):+.1f}%, p99 {100 * (on[2] / off[2] - 1):+.1f}%")
PY
