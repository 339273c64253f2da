#!/usr/bin/env bash
# live_cost.sh — what a live capture costs the site it watches: nginx -> php-fpm under wrk with no capture, tcpdump, fcgiscope -i lo (JSON, text) and fcgiscope --unix, side by side.
#
# Normative reference: issue 18 "Benchmark" (CPU per 100,000 requests, the
# site's requests/s and p99, kernel drops, in one run, next to tcpdump) and
# issue 11 "Benchmark" (fcgiscope --unix: throughput and p99 with and
# without it).
#
#   bench/live_cost.sh [options] FCGISCOPE
#     -d SECS          wrk duration of each run (default 8)
#     -r ROUNDS        rounds (default 3): each runs every row once
#     -c CONNS         wrk connections (default 8)
#     -t THREADS       wrk threads (default 1)
#     -n CHILDREN      php-fpm children of each pool (default 4)
#     --no-unix        leave out the Unix-socket site (fcgiscope --unix needs BPF)
#     --compare BIN    also run BIN's -i rows (e.g. a build before a change)
#     --markdown FILE  also write the table of medians to FILE
#
# Root (capture). Starts php-fpm (two pools, pm static: one on a free
# 127.0.0.1 port, one on a private Unix socket; a one-line script) and nginx
# (1 worker, `sendfile on`, access_log off, Debian's fastcgi-php.conf) with
# one server per pool, warms both up, then runs ROUNDS rounds; a round runs
# every row once, the order rotated by one row each round. A run: start the
# capture, wait until it says it listens, wrk SECONDS with --latency, 1 s
# more for the capture to catch up, its CPU time read (user + system, all
# threads: /proc/PID/task/*/schedstat), SIGINT, its report parsed. Rows, TCP site:
#   none        no capture
#   tcpdump     tcpdump -i lo -s 0 -w /dev/null 'tcp port FPM'
#   json        FCGISCOPE -i lo -f json -o FILE tcp port FPM
#   text        FCGISCOPE -i lo -q -o FILE tcp port FPM
#   (--compare: the same two with BIN)
# Unix-socket site: none, and FCGISCOPE --unix SOCK -f json -o FILE.
# Columns (medians over the rounds): the capture's CPU seconds per 100,000
# requests, the site's requests/s (and relative to the same site with no
# capture and, TCP, with tcpdump), wrk's p99, the kernel's drops (libpcap's
# ps_drop + ps_ifdrop; --unix: records lost), summed over the rounds, and the
# requests the capture reported minus the ones nginx served (its
# stub_status counter; wrk's own count misses the requests in flight when it
# stops). Stops only what it started, by PID. Not a CTest test (timing on a
# shared machine: the load average is printed before and after).
set -u
secs=8 rounds=3 conns=8 threads=1 children=4 unix=1 compare= md=
while [ $# -gt 0 ]; do
  case $1 in
    -d) secs=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -c) conns=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -n) children=$2; shift 2 ;;
    --no-unix) unix=0; shift ;;
    --compare) compare=$2; shift 2 ;;
    --markdown) md=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "live_cost.sh: unknown option $1 (-h for help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
bin=${1:?usage: live_cost.sh [options] FCGISCOPE (-h for help)}
bin=$(readlink -f "$bin")
[ -z "$compare" ] || compare=$(readlink -f "$compare")
[ "$(id -u)" = 0 ] || { echo "live_cost.sh: needs root (capture)" >&2; exit 2; }
for p in wrk tcpdump python3 curl; do
  command -v $p >/dev/null || { echo "live_cost.sh: needs $p" >&2; exit 2; }
done
fpm=$(ls /usr/sbin/php-fpm* 2>/dev/null | head -n1)
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -n "$fpm" ] && [ -x "$nginx" ] || { echo "live_cost.sh: needs nginx and php-fpm" >&2; exit 2; }

. "$(cd "$(dirname "$0")/../tests/analyzer" && pwd)/private_run.sh"
private_run fcgiscope-livecost
pick_port() {
  local p
  for _ in $(seq 50); do
    p=$(( 20000 + RANDOM % 30000 ))
    if port_free "$p" && [[ " ${taken:-} " != *" $p "* ]]; then taken="${taken:-} $p"; echo "$p"; return 0; fi
  done
  return 1
}
taken=
fpm_port=$(pick_port); taken="$taken $fpm_port"
tcp_port=$(pick_port); taken="$taken $tcp_port"
unix_port=$(pick_port)
mkdir -p "$tmp/www" "$tmp/ngx" "$tmp/snippets"
cp /etc/nginx/snippets/fastcgi-php.conf "$tmp/snippets/"
cp /etc/nginx/fastcgi.conf "$tmp/"
echo '<?php header("Content-Type: text/plain"); echo "ok\n";' > "$tmp/www/ok.php"
chmod -R a+rX "$tmp/www"; chown www-data "$tmp/ngx"
cat > "$tmp/fpm.conf" <<EOF
[global]
pid = $tmp/fpm.pid
error_log = $tmp/fpm.log
daemonize = no
[tcp]
user = www-data
group = www-data
listen = 127.0.0.1:$fpm_port
pm = static
pm.max_children = $children
[unix]
user = www-data
group = www-data
listen = $tmp/fpm.sock
listen.owner = www-data
listen.group = www-data
pm = static
pm.max_children = $children
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
    listen 127.0.0.1:$tcp_port;
    root $tmp/www;
    location = /status { stub_status; }
    location ~ [^/]\.php(/|\$) {
      include snippets/fastcgi-php.conf;
      fastcgi_pass 127.0.0.1:$fpm_port;
    }
  }
  server {
    listen 127.0.0.1:$unix_port;
    root $tmp/www;
    location = /status { stub_status; }
    location ~ [^/]\.php(/|\$) {
      include snippets/fastcgi-php.conf;
      fastcgi_pass unix:$tmp/fpm.sock;
    }
  }
}
EOF
"$fpm" -F -n -y "$tmp/fpm.conf" >"$tmp/fpm.out" 2>&1 & pids+=($!)
"$nginx" -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;' >"$tmp/nginx.out" 2>&1 & pids+=($!)
ok=0
for _ in $(seq 100); do
  if [ -S "$tmp/fpm.sock" ] && ! port_free "$fpm_port" && ! port_free "$tcp_port" && ! port_free "$unix_port"; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || { echo "live_cost.sh: nginx/php-fpm did not start"; cat "$tmp"/*.out "$tmp"/*.log 2>/dev/null; exit 1; }
for p in $tcp_port $unix_port; do wrk -t1 -c4 -d2s "http://127.0.0.1:$p/ok.php" >/dev/null; done  # warm-up

# rows: name site command... (FILE stands for the report file)
rows=(none tcpdump json text)
[ -n "$compare" ] && rows+=(cmp-json cmp-text)
[ $unix = 1 ] && rows+=(unix-none unix-json)
row_site() { case $1 in unix-*) echo unix ;; *) echo tcp ;; esac; }
row_cmd() { # ROW FILE -> the command, one word per line
  local f=$2
  case $1 in
    none|unix-none) ;;
    tcpdump) printf '%s\n' tcpdump -i lo -s 0 -w /dev/null "tcp port $fpm_port" ;;
    json) printf '%s\n' "$bin" -i lo -f json -o "$f" "tcp port $fpm_port" ;;
    text) printf '%s\n' "$bin" -i lo -q -o "$f" "tcp port $fpm_port" ;;
    cmp-json) printf '%s\n' "$compare" -i lo -f json -o "$f" "tcp port $fpm_port" ;;
    cmp-text) printf '%s\n' "$compare" -i lo -q -o "$f" "tcp port $fpm_port" ;;
    unix-json) printf '%s\n' "$bin" --unix "$tmp/fpm.sock" -f json -o "$f" ;;
  esac
}
served() { # PORT -> nginx's request counter (the query itself included)
  curl -s "http://127.0.0.1:$1/status" | awk 'NR == 3 { print $3 }'
}
# CPU time in ns, all threads (/proc/PID/task/*/schedstat: user + system)
cpu_ns() {
  local t=0 a f
  for f in /proc/$1/task/*/schedstat; do read -r a _ < "$f" && t=$((t + a)); done
  echo $t
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "live_cost.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $load0, wrk -t$threads -c$conns -d${secs}s, php-fpm $children children per pool, $rounds rounds"
echo "  $bin"
[ -n "$compare" ] && echo "  compare: $compare"
: > "$tmp/results"
nrows=${#rows[@]}
for r in $(seq 0 $((rounds - 1))); do
  for k in $(seq 0 $((nrows - 1))); do
    row=${rows[$(( (k + r) % nrows ))]}
    site=$(row_site "$row")
    port=$tcp_port; [ "$site" = unix ] && port=$unix_port
    rep="$tmp/report"
    rm -f "$rep" "$tmp/cap.err"
    mapfile -t cmd < <(row_cmd "$row" "$rep")
    cp=
    if [ ${#cmd[@]} -gt 0 ]; then
      "${cmd[@]}" 2>"$tmp/cap.err" &
      cp=$!; pids+=($cp)
      # listening: its notice on stderr, or (-q) its report file: fcgiscope
      # opens it after the device
      started() { grep -qsE "capturing on|listening on" "$tmp/cap.err" || [ -e "$rep" ]; }
      for _ in $(seq 100); do
        started && break
        kill -0 $cp 2>/dev/null || break
        sleep 0.1
      done
      started || { echo "live_cost.sh: $row did not start:"; cat "$tmp/cap.err"; exit 1; }
      sleep 0.5
    fi
    c0=0; [ -n "$cp" ] && c0=$(cpu_ns $cp)
    s0=$(served $port)
    wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/ok.php" > "$tmp/wrk.out" 2>&1
    s1=$(served $port)
    c1=0
    if [ -n "$cp" ]; then
      sleep 1
      c1=$(cpu_ns $cp)
      kill -INT $cp
      for _ in $(seq 300); do kill -0 $cp 2>/dev/null || break; sleep 0.1; done
      kill -0 $cp 2>/dev/null && { echo "live_cost.sh: $row did not stop within 30 s of SIGINT"; exit 1; }
      wait $cp
    fi
    python3 - "$row" "$tmp/wrk.out" "$rep" "$tmp/cap.err" "$s0" "$s1" "$c0" "$c1" "$r" >> "$tmp/results" <<'PY'
import json, re, sys
row, wrkf, rep, errf, s0, s1, c0, c1, rnd = sys.argv[1:]
t = open(wrkf).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    n, u = m.groups()
    return float(n) * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
wrk_n = int(re.search(r"(\d+) requests in", t).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
served = int(s1) - int(s0) - 1
cpu = (int(c1) - int(c0)) / 1e9
reported = drops = ""
if row.endswith("json"):
    n, s = 0, {}
    for line in open(rep, "rb"):
        if b'"type":"request"' in line:
            n += 1
        elif b'"type":"summary"' in line:
            s = json.loads(line)
    ps = s.get("pcap_stats") or {}
    reported, drops = n, ps.get("dropped", 0) + ps.get("ifdropped", 0)
elif row.endswith("text"):
    t2 = open(rep, encoding="utf-8", errors="replace").read()
    m = re.search(r"^Requests\s+([\d,]+)", t2, re.M)
    reported = int(m.group(1).replace(",", "")) if m else "?"
    m = re.search(r"^Kernel\s+[\d,]+ received, ([\d,]+) dropped, ([\d,]+) dropped", t2, re.M)
    drops = int(m.group(1).replace(",", "")) + int(m.group(2).replace(",", "")) if m else "?"
elif row == "tcpdump":
    m = re.search(r"(\d+) packets dropped by kernel", open(errf).read())
    drops = int(m.group(1)) if m else "?"
    m = re.search(r"(\d+) packets dropped by interface", open(errf).read())
    drops = drops + int(m.group(1)) if m and drops != "?" else drops
print(json.dumps({"row": row, "round": int(rnd), "rps": rps, "p99": p99, "wrk": wrk_n,
                  "non2xx": int(bad.group(1)) if bad else 0, "served": served, "cpu": cpu,
                  "reported": reported, "drops": drops}))
PY
    tail -n1 "$tmp/results" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
extra = ""
if d["row"] not in ("none", "unix-none"):
    extra = "  CPU %.2f s" % d["cpu"]
if d["reported"] != "":
    extra += "  reported %s of %d served, drops %s" % (d["reported"], d["served"], d["drops"])
elif d["drops"] != "":
    extra += "  drops %s" % d["drops"]
print("round %d  %-10s %7.0f req/s  p99 %7.2f ms  (wrk %d, nginx %d%s)%s" % (d["round"] + 1, d["row"], d["rps"], d["p99"], d["wrk"], d["served"], ", %d non-2xx" % d["non2xx"] if d["non2xx"] else "", extra))'
  done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$tmp/results" "$load0" "$load1" "$bin" "$compare" "${md:-}" "$secs" "$conns" "$threads" "$children" "$rounds" <<'PY'
import json, statistics, sys
resf, load0, load1, binp, cmp, md, secs, conns, threads, children, rounds = sys.argv[1:]
runs = {}
order = []
for line in open(resf):
    d = json.loads(line)
    if d["row"] not in runs:
        order.append(d["row"])
    runs.setdefault(d["row"], []).append(d)
rank = ["none", "tcpdump", "json", "text", "cmp-json", "cmp-text", "unix-none", "unix-json"]
order.sort(key=rank.index)
label = {
    "none": "TCP site: no capture",
    "tcpdump": "`tcpdump -i lo -s 0 -w /dev/null`",
    "json": "`fcgiscope -i lo -f json -o FILE`",
    "text": "`fcgiscope -i lo -q -o FILE` (text)",
    "cmp-json": "compare: `-i lo -f json -o FILE`",
    "cmp-text": "compare: `-i lo -q -o FILE` (text)",
    "unix-none": "Unix site: no capture",
    "unix-json": "`fcgiscope --unix SOCK -f json -o FILE`",
}
med = lambda row, k: statistics.median(x[k] for x in runs[row])
out = []
out.append("| capture | CPU s / 100k req | req/s | vs none | vs tcpdump | p99 ms | drops | reported - served |")
out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
for row in order:
    rs = runs[row]
    base = "unix-none" if row.startswith("unix") else "none"
    rps = med(row, "rps")
    cpu = "" if row in ("none", "unix-none") else "%.2f" % statistics.median(
        x["cpu"] / max(x["served"], 1) * 1e5 for x in rs)
    vs_none = "" if row == base or base not in runs else "%+.1f%%" % (100 * (rps / med(base, "rps") - 1))
    vs_td = ""
    if not row.startswith("unix") and row not in ("none", "tcpdump") and "tcpdump" in runs:
        vs_td = "%+.1f%%" % (100 * (rps / med("tcpdump", "rps") - 1))
    drops = [x["drops"] for x in rs if x["drops"] != ""]
    drops = "" if not drops else str(sum(drops)) if all(isinstance(v, int) for v in drops) else "?"
    rep = [(x["reported"], x["served"]) for x in rs if x["reported"] != ""]
    if rep:
        diffs = [a - b if isinstance(a, int) else None for a, b in rep]
        repcol = "?" if None in diffs else " / ".join("%+d" % v for v in diffs)
    else:
        repcol = ""
    out.append("| %s | %s | %.0f | %s | %s | %.2f | %s | %s |" % (label[row], cpu, rps, vs_none, vs_td,
               med(row, "p99"), drops, repcol))
out.append("")
out.append("Medians of %s rounds; wrk -t%s -c%s -d%ss per run, php-fpm %s children per pool; "
           "load average %s before, %s after. Drops: summed over the rounds; "
           "reported - served: per round." % (rounds, threads, conns, secs, children, load0, load1))
print("\n".join(out))
if md:
    open(md, "w").write("\n".join(out) + "\n")
PY
