#!/usr/bin/env bash
# unix_overhead.sh — what `fcgiscope --unix` costs the service it watches: wrk against nginx -> php-fpm on a Unix socket, with and without it.
#
# Normative reference: issue 11 "Benchmark" (requests/s and p99 side by side
# in one run, at saturation on 2 cores; no events lost at that rate).
#
#   bench/unix_overhead.sh FCGISCOPE [SECONDS] [ROUNDS] [CONNECTIONS] [LOOP]
#
# Root (BPF). Starts php-fpm (pm static, 2 children, a one-line script; with
# LOOP > 0 it first counts to LOOP, a request that costs php-fpm more CPU, as
# a real page does: the capture's cost per request stays the same) and
# nginx (1 worker, `sendfile on`, access_log off) on a private Unix socket and
# a free 127.0.0.1 port, then alternates ROUNDS times (default 3): wrk
# SECONDS (default 10) without fcgiscope, then with `fcgiscope --unix SOCK -f
# json -o FILE` attached (JSON lines for every request: the realistic cost).
# Prints one line per run (requests/s, p50, p99, the service's CPU per
# request: nginx + php-fpm user + system, BPF programs included as they run in
# their syscalls, and their context switches per request; with fcgiscope:
# requests it reported vs wrk's, records lost, records per request, its CPU per request and the
# system part of it) and the medians. On a shared machine requests/s moves
# with the other load; CPU per request is the steadier figure. Then one more
# round with kernel.bpf_stats_enabled (restored after) for the BPF programs'
# run time per call and per request: stats cost two clock reads per program
# run (~45 ns per call here), so they are kept out of the measured rounds.
# UNIX_OVERHEAD_ARGS: extra fcgiscope arguments. UNIX_OVERHEAD_CALLGRIND=FILE:
# instead, one run with fcgiscope under callgrind: its instructions per
# request (deterministic where CPU time is not). UNIX_OVERHEAD_PAIR=OTHER:
# instead, FCGISCOPE and OTHER attached together, ROUNDS runs: each one's own
# CPU per request on the same traffic (with UNIX_OVERHEAD_PAIR_STATS=1 also
# each one's BPF programs' run time per request, bpf_stats on during the
# runs: the fair comparison of two builds' programs, which then run on the
# same syscalls; the one attached second reads ~0.3 us/request less here,
# the first warms the cache lines both look at: run both orders).
# UNIX_OVERHEAD_HOOKS=tp_btf,
# tp_btf_exit or raw_tp: instead of fcgiscope, do-nothing programs on those
# hooks (the floor of any capture built on them; FCGISCOPE's build folder
# gives vmlinux.h). UNIX_OVERHEAD_STATIC=N: wrk asks N static files (2 KiB,
# nginx alone: calls of a watched process on fds that are not the
# connection) for every PHP request; the per-request figures are then per
# wrk request. Stops only what it started,
# by PID. Not a CTest test (timing on a shared machine).
set -u
bin=${1:?usage: unix_overhead.sh FCGISCOPE [SECONDS] [ROUNDS] [CONNECTIONS] [LOOP]}
secs=${2:-10}
rounds=${3:-3}
conns=${4:-16}
loop=${5:-0}
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
echo "<?php for (\$i = 0; \$i < $loop; \$i++) {} echo \"ok\\n\";" > "$tmp/www/ok.php"
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
lua=
if [ "${UNIX_OVERHEAD_STATIC:-0}" -gt 0 ]; then
  # N static files (nginx alone: open, sendfile, close on other fds) per PHP request
  head -c 2048 /dev/zero | tr '\0' s > "$tmp/www/s.html"; chmod a+r "$tmp/www/s.html"
  lua=$tmp/mix.lua
  cat > "$lua" <<EOF
local n = 0
request = function()
  n = n + 1
  if n % ($UNIX_OVERHEAD_STATIC + 1) == 0 then return wrk.format(nil, "/ok.php") end
  return wrk.format(nil, "/s.html")
end
EOF
fi
wrk -t1 -c4 -d2s "$url" >/dev/null   # warm-up

tck=$(getconf CLK_TCK)
fpm_pid=${pids[0]}; ngx_pid=${pids[1]}
svc_ticks() { # user + system ticks of nginx and php-fpm (masters and workers)
  local t=0 p
  for p in $fpm_pid $ngx_pid $(ps -o pid= --ppid "$fpm_pid,$ngx_pid"); do
    t=$(( t + $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0) ))
  done
  echo $t
}
svc_ctx() { # context switches (voluntary + not) of nginx and php-fpm so far
  local t=0 p
  for p in $fpm_pid $ngx_pid $(ps -o pid= --ppid "$fpm_pid,$ngx_pid"); do
    t=$(( t + $(awk '/ctxt_switches/ {n += $2} END {print n + 0}' /proc/$p/status 2>/dev/null || echo 0) ))
  done
  echo $t
}
per() { echo "scale=2; $1 / $2" | bc; }   # COUNT REQUESTS -> per request
us_per() { echo "scale=1; $1 * 1000000 / $tck / $2" | bc; }   # TICKS REQUESTS -> us/request
stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
trap 'sysctl -q -w kernel.bpf_stats_enabled=$stats_was 2>/dev/null; cleanup' EXIT
bpf_stats() { # "run_time_ns run_cnt" per program of ours
  bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("uc_"):
        print(p["name"], p.get("run_time_ns", 0), p.get("run_cnt", 0))'
}
run_wrk() { # -> "rps p50_ms p99_ms requests non2xx"
  wrk -t2 -c"$conns" -d"${secs}s" --latency ${lua:+-s "$lua"} "$url" > "$tmp/wrk.out"
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
start_scope() {
  # shellcheck disable=SC2086
  "$bin" --unix "$tmp/fpm.sock" -f json -o "$tmp/scope.json" ${UNIX_OVERHEAD_ARGS:-} 2>"$tmp/scope.err" &
  sp=$!; pids+=($sp)
  for _ in $(seq 100); do grep -q "capturing on" "$tmp/scope.err" && break; kill -0 $sp 2>/dev/null || break; sleep 0.1; done
  grep -q "capturing on" "$tmp/scope.err" || { cat "$tmp/scope.err"; exit 1; }
  sleep 0.5
}
stop_scope() { # -> "reported lost records"
  sleep 0.5
  kill -INT $sp; wait $sp
  python3 - "$tmp/scope.json" <<'PY'
import json, sys
s = None; n = 0
for line in open(sys.argv[1]):
    if '"type":"request"' in line: n += 1
    elif '"type":"summary"' in line: s = json.loads(line)
ps = (s or {}).get("pcap_stats", {})
print(n, ps.get("dropped", "?"), ps.get("received", 0))
PY
}
if [ -n "${UNIX_OVERHEAD_HOOKS:-}" ]; then
  # The floor: instead of fcgiscope, programs that do nothing
  # (bench/unix_cost/hooks.bpf.c) on the hooks named: tp_btf (sys_enter +
  # sys_exit, what fcgiscope --unix uses), tp_btf_exit (sys_exit alone),
  # raw_tp. What any capture built on these hooks costs the service before
  # it does any work. The "fcgiscope" columns are then the loader's (0).
  case $UNIX_OVERHEAD_HOOKS in
    tp_btf) hook_progs="btf_enter btf_exit" ;;
    tp_btf_exit) hook_progs="btf_exit" ;;
    raw_tp) hook_progs="raw_enter raw_exit" ;;
    *) echo "UNIX_OVERHEAD_HOOKS: tp_btf, tp_btf_exit or raw_tp"; exit 2 ;;
  esac
  vmh=$(dirname "$bin")/bpf/vmlinux.h
  [ -f "$vmh" ] || { echo "no $vmh (FCGISCOPE's build with --unix)"; exit 2; }
  hsrc=$(cd "$(dirname "$0")/unix_cost" && pwd)
  gcc -O2 -Wall -o "$tmp/loader" "$hsrc/loader.c" -lbpf || exit 1
  clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$(dirname "$vmh")" -c "$hsrc/hooks.bpf.c" \
    -o "$tmp/hooks.bpf.o" || exit 1
  start_scope() {
    # shellcheck disable=SC2086
    "$tmp/loader" "$tmp/hooks.bpf.o" $hook_progs > "$tmp/scope.err" 2>&1 &
    sp=$!; pids+=($sp)
    for _ in $(seq 100); do grep -q attached "$tmp/scope.err" && break; kill -0 $sp 2>/dev/null || break; sleep 0.1; done
    grep -q attached "$tmp/scope.err" || { cat "$tmp/scope.err"; exit 1; }
  }
  stop_scope() { kill -TERM $sp; wait $sp; echo "0 0 0"; }
fi
if [ -n "${UNIX_OVERHEAD_PAIR:-}" ]; then
  # Two builds attached at once to the same traffic, ROUNDS runs: each one's
  # own CPU per request, side by side (the service pays both; the other
  # sessions' load hits both alike, which alternating runs cannot promise).
  prog_ids() { bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name") in ("uc_enter", "uc_exit"):
        print(p["id"])'; }
  for r in $(seq "$rounds"); do
    k=0; sps=()
    for b in "$bin" "$UNIX_OVERHEAD_PAIR"; do
      prog_ids > "$tmp/ids.before"
      # shellcheck disable=SC2086
      "$b" --unix "$tmp/fpm.sock" -f json -o "$tmp/pair$k.json" ${UNIX_OVERHEAD_ARGS:-} 2>"$tmp/pair$k.err" &
      sps+=($!); pids+=($!)
      for _ in $(seq 100); do grep -q "capturing on" "$tmp/pair$k.err" && break; sleep 0.1; done
      grep -q "capturing on" "$tmp/pair$k.err" || { cat "$tmp/pair$k.err"; exit 1; }
      # this build's programs: the uc_enter and uc_exit ids that are new
      prog_ids | grep -vxF -f "$tmp/ids.before" | tr '\n' ' ' > "$tmp/pair$k.ids"
      k=$((k + 1))
    done
    sleep 0.5
    [ -n "${UNIX_OVERHEAD_PAIR_STATS:-}" ] && sysctl -q -w kernel.bpf_stats_enabled=1 2>/dev/null
    pair_stats() { bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name") in ("uc_enter", "uc_exit"):
        print(p["id"], p.get("run_time_ns", 0), p.get("run_cnt", 0))'; }
    pair_stats > "$tmp/pst0"
    # on-CPU ns of all threads (schedstat: finer than the 10 ms ticks), system ticks
    cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d", s}'; }
    c0=(); for p in "${sps[@]}"; do c0+=("$(cpu_ns "$p") $(awk '{print $15}' /proc/$p/stat)"); done
    read -r rps p50 p99 n bad < <(run_wrk)
    c1=(); for p in "${sps[@]}"; do c1+=("$(cpu_ns "$p") $(awk '{print $15}' /proc/$p/stat)"); done
    pair_stats > "$tmp/pst1"
    [ -n "${UNIX_OVERHEAD_PAIR_STATS:-}" ] && sysctl -q -w kernel.bpf_stats_enabled="$stats_was" 2>/dev/null
    sleep 0.5
    k=0
    for b in "$bin" "$UNIX_OVERHEAD_PAIR"; do
      read -r a0 s0 <<< "${c0[$k]}"; read -r a1 s1 <<< "${c1[$k]}"
      p=${sps[$k]}; kill -INT "$p"
      while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
      printf 'round %d  %-40s %5s us/req (sys %s)  %s requests reported of %s (%s req/s)\n' "$r" "$b" \
        "$(echo "scale=2; ($a1 - $a0) / 1000 / $n" | bc)" "$(us_per $((s1 - s0)) "$n")" \
        "$(grep -c '"type":"request"' "$tmp/pair$k.json")" "$n" "$rps"
      [ -n "${UNIX_OVERHEAD_PAIR_STATS:-}" ] && python3 - "$tmp/pst0" "$tmp/pst1" "$n" $(cat "$tmp/pair$k.ids") <<'PY'
import sys
rd = lambda f: {int(l.split()[0]): (int(l.split()[1]), int(l.split()[2])) for l in open(f) if l.strip()}
a, b, n, ids = rd(sys.argv[1]), rd(sys.argv[2]), int(sys.argv[3]), [int(x) for x in sys.argv[4:]]
ns = sum(b[i][0] - a.get(i, (0, 0))[0] for i in ids if i in b)
cnt = sum(b[i][1] - a.get(i, (0, 0))[1] for i in ids if i in b)
print(f"          its BPF programs (bpf_stats, same syscalls as the other's): {cnt / n:.1f} runs/req, "
      f"{ns / max(cnt, 1):.1f} ns/run, {ns / n / 1000:.2f} us/req")
PY
      k=$((k + 1))
    done
  done
  exit 0
fi
if [ -n "${UNIX_OVERHEAD_CALLGRIND:-}" ]; then
  # fcgiscope's instructions per request (deterministic, unlike CPU time):
  # under callgrind (counters zeroed once it is capturing), one wrk run of
  # SECONDS, then wait until every request is in its output, stop it, and
  # divide. The ring is made large enough for the slowed-down reader.
  command -v callgrind_control >/dev/null || { echo "needs valgrind"; exit 2; }
  # shellcheck disable=SC2086
  FCGISCOPE_UNIX_RING_KB=${FCGISCOPE_UNIX_RING_KB:-524288} valgrind --tool=callgrind \
    --callgrind-out-file="$UNIX_OVERHEAD_CALLGRIND" "$bin" --unix "$tmp/fpm.sock" -f json \
    -o "$tmp/scope.json" ${UNIX_OVERHEAD_ARGS:-} 2>"$tmp/scope.err" &
  sp=$!; pids+=($sp)
  for _ in $(seq 600); do grep -q "capturing on" "$tmp/scope.err" && break; kill -0 $sp 2>/dev/null || break; sleep 0.1; done
  grep -q "capturing on" "$tmp/scope.err" || { cat "$tmp/scope.err"; exit 1; }
  sleep 1
  callgrind_control -z "$sp" >/dev/null 2>&1
  read -r rps p50 p99 n bad < <(run_wrk)
  prev=-1
  while :; do
    cur=$(grep -c '"type":"request"' "$tmp/scope.json")
    [ "$cur" = "$prev" ] && break
    prev=$cur; sleep 3
  done
  kill -INT $sp
  while kill -0 $sp 2>/dev/null; do sleep 0.2; done
  seen=$(grep -c '"type":"request"' "$tmp/scope.json")
  ir=$(awk '/^summary:/ {print $2}' "$UNIX_OVERHEAD_CALLGRIND")
  echo "callgrind: $ir instructions for $seen requests reported ($n by wrk): $(( ir / seen )) per request"
  exit 0
fi
: > "$tmp/results"
for r in $(seq "$rounds"); do
  s0=$(svc_ticks); x0=$(svc_ctx)
  read -r rps p50 p99 n bad < <(run_wrk)
  s1=$(svc_ticks); x1=$(svc_ctx)
  printf 'round %d  without       %8s req/s  p50 %7s ms  p99 %7s ms  service %6s us/req %5s cs/req  (%s requests, %s non-2xx)\n' \
    "$r" "$rps" "$p50" "$p99" "$(us_per $((s1 - s0)) "$n")" "$(per $((x1 - x0)) "$n")" "$n" "$bad"
  echo "off $rps $p50 $p99 $(us_per $((s1 - s0)) "$n") 0 $(per $((x1 - x0)) "$n") 0" >> "$tmp/results"
  start_scope
  read -r cpu0 sys0 < <(awk '{print $14 + $15, $15}' /proc/$sp/stat)
  s0=$(svc_ticks); x0=$(svc_ctx)
  read -r rps p50 p99 n bad < <(run_wrk)
  s1=$(svc_ticks); x1=$(svc_ctx)
  read -r cpu1 sys1 < <(awk '{print $14 + $15, $15}' /proc/$sp/stat)
  # not "< <(stop_scope)": in a process substitution its wait does not
  # wait (fcgiscope is not that subshell's child) and the count can be short
  stop_scope > "$tmp/stopped"
  read -r seen lost recs < "$tmp/stopped"
  printf 'round %d  with --unix   %8s req/s  p50 %7s ms  p99 %7s ms  service %6s us/req %5s cs/req  fcgiscope %5s us/req (sys %s)  (%s requests; fcgiscope reported %s, %s records lost, %s records/req)\n' \
    "$r" "$rps" "$p50" "$p99" "$(us_per $((s1 - s0)) "$n")" "$(per $((x1 - x0)) "$n")" "$(us_per $((cpu1 - cpu0)) "$n")" \
    "$(us_per $((sys1 - sys0)) "$n")" "$n" "$seen" "$lost" "$(awk -v r="$recs" -v n="$seen" 'BEGIN { if (n > 0) printf "%.1f", r / n; else print "?" }')"
  echo "on $rps $p50 $p99 $(us_per $((s1 - s0)) "$n") $(us_per $((cpu1 - cpu0)) "$n") $(per $((x1 - x0)) "$n") $(us_per $((sys1 - sys0)) "$n")" >> "$tmp/results"
done
# one more run with the BPF programs' statistics on (not in the medians)
[ -n "${UNIX_OVERHEAD_HOOKS:-}" ] && bpf_stats() { :; }
start_scope
sysctl -q -w kernel.bpf_stats_enabled=1 2>/dev/null
bpf_stats > "$tmp/bpf0"
read -r rps p50 p99 n bad < <(run_wrk)
bpf_stats > "$tmp/bpf1"
sysctl -q -w kernel.bpf_stats_enabled="$stats_was" 2>/dev/null
stop_scope > /dev/null
python3 - "$tmp/bpf0" "$tmp/bpf1" "$n" "$rps" <<'PY'
import sys
def rd(f):
    return {l.split()[0]: (int(l.split()[1]), int(l.split()[2])) for l in open(f) if l.strip()}
a, b, n = rd(sys.argv[1]), rd(sys.argv[2]), int(sys.argv[3])
tot = 0
for k in sorted(b):
    ns = b[k][0] - a.get(k, (0, 0))[0]; cnt = b[k][1] - a.get(k, (0, 0))[1]
    tot += ns
    print(f"bpf_stats {k}: {cnt / n:.1f} calls/req, {ns / max(cnt, 1):.0f} ns/call, {ns / n / 1000:.2f} us/req")
print(f"bpf_stats total {tot / n / 1000:.2f} us/req (stats on: {sys.argv[4]} req/s)")
PY
python3 - "$tmp/results" <<'PY'
import statistics, sys
v = {"off": [], "on": []}
for line in open(sys.argv[1]):
    k, *x = line.split()
    v[k].append([float(y) for y in x])
med = {k: [statistics.median(x[i] for x in v[k]) for i in range(7)] for k in v}
off, on = med["off"], med["on"]
print(f"median    without {off[0]:.0f} req/s p99 {off[2]:.3f} ms service {off[3]:.1f} us/req; "
      f"with --unix {on[0]:.0f} req/s p99 {on[2]:.3f} ms service {on[3]:.1f} us/req + fcgiscope {on[4]:.1f} us/req "
      f"(sys {on[6]:.1f}); service context switches per request {off[5]:.2f} -> {on[5]:.2f}")
print(f"median    throughput {100 * (on[0] / off[0] - 1):+.1f}%, p99 {100 * (on[2] / off[2] - 1):+.1f}%; "
      f"CPU per request: service {100 * (on[3] / off[3] - 1):+.1f}%, with fcgiscope's {100 * ((on[3] + on[4]) / off[3] - 1):+.1f}%")
PY
