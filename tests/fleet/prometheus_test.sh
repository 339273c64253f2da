#!/usr/bin/env bash
# prometheus_test.sh — fcgiscope -i lo --metrics scraped by a real Prometheus.
#
#   prometheus_test.sh FCGISCOPE
#
# nginx + php-fpm on TCP (tests/analyzer/live_env.sh), fcgiscope capturing on
# lo with --metrics on a free port, and Debian's prometheus (private port,
# private storage folder) scraping it every second. After a bounded set of
# requests, sum(fcgiscope_requests_total) queried from Prometheus's HTTP API
# equals the number of requests sent; `promtool check metrics` passes on the
# page; a malformed scrape request gets 400 and the analysis goes on (more
# requests are counted after it); the endpoint answers after fcgiscope has
# dropped root. Everything started is stopped by PID. Exit 77 (skip) without
# root or a program, except under CI=true (a failure there).
set -u
bin=${1:?usage: prometheus_test.sh FCGISCOPE}
here=$(cd "$(dirname "$0")" && pwd)
command -v prometheus >/dev/null || PROM_MISSING=1
# shellcheck source=../analyzer/live_env.sh
. "$here/../analyzer/live_env.sh"
[ -z "${PROM_MISSING:-}" ] || skip "prometheus is not installed (apt-get install prometheus)"
command -v promtool >/dev/null || skip "promtool is not installed (package prometheus)"
start_stack 2

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ] && exit 0 || exit 1; }

pick() { local p; for _ in $(seq 50); do p=$((20000 + RANDOM % 30000)); port_free "$p" && { echo "$p"; return; }; done; echo 0; }
mport=$(pick)
pport=$(pick)

"$bin" -i lo -f json -o "$tmp/out.json" --metrics "$mport" --metrics-scripts 3 \
  "tcp port $fpm_port" 2>"$tmp/scope.err" &
scope=$!
pids+=($scope)
for _ in $(seq 100); do grep -q "capturing on" "$tmp/scope.err" && break; kill -0 $scope 2>/dev/null || break; sleep 0.1; done
grep -q "capturing on" "$tmp/scope.err" || { bad "fcgiscope did not start: $(cat "$tmp/scope.err")"; finish; }
grep -q "metrics on http://127.0.0.1:$mport/metrics" "$tmp/scope.err" && ok "announces the endpoint" \
  || bad "no 'metrics on' line: $(cat "$tmp/scope.err")"
uid=$(awk '/^Uid:/ {print $2}' /proc/$scope/status)
[ "$uid" != 0 ] && ok "runs as uid $uid (root dropped)" || bad "still root"

cat > "$tmp/prom.yml" <<EOF2
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: fcgiscope
    static_configs:
      - targets: ['127.0.0.1:$mport']
EOF2
prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/prom" \
  --web.listen-address="127.0.0.1:$pport" >"$tmp/prom.log" 2>&1 &
pids+=($!)

send() { # send N PREFIX: N requests, statuses 200/500/404 and a POST
  local i
  for i in $(seq 1 "$1"); do
    case $((i % 4)) in
      0) curl -s -o /dev/null "http://127.0.0.1:$http_port/missing.php" ;;
      1) curl -s -o /dev/null "http://127.0.0.1:$http_port/index.php?$2=$i" ;;
      2) curl -s -o /dev/null "http://127.0.0.1:$http_port/fail.php" ;;
      3) curl -s -o /dev/null --data-binary "x$i" "http://127.0.0.1:$http_port/post.php" ;;
    esac
  done
}
scraped_sum() { # the sum of fcgiscope_requests_total on fcgiscope's own page
  curl -s "http://127.0.0.1:$mport/metrics" | awk '/^fcgiscope_requests_total\{/ {s += $2} END {print s + 0}'
}
wait_sum() { # wait_sum N: up to 15 s for the page to count N
  for _ in $(seq 150); do [ "$(scraped_sum)" = "$1" ] && return 0; sleep 0.1; done
  return 1
}

send 20 a
wait_sum 20 && ok "the page counts 20 requests" || bad "page counts $(scraped_sum), want 20"

# a malformed request: 400, and the analysis goes on
reply=$(printf 'NOT HTTP\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$mport; cat >&3; cat <&3")
case $reply in "HTTP/1.1 400 "*) ok "malformed request: 400" ;; *) bad "malformed request got: ${reply:0:80}" ;; esac
reply=$(printf 'GET /nothing HTTP/1.1\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$mport; cat >&3; cat <&3")
case $reply in "HTTP/1.1 404 "*) ok "unknown path: 404" ;; *) bad "unknown path got: ${reply:0:80}" ;; esac
# a scraper that connects and says nothing does not hold the endpoint for long
exec 4<>/dev/tcp/127.0.0.1/$mport
send 5 b
wait_sum 25 && ok "after them, 25 requests counted" || bad "page counts $(scraped_sum), want 25"
exec 4<&-

curl -s "http://127.0.0.1:$mport/metrics" > "$tmp/page.txt"
if promtool check metrics < "$tmp/page.txt" > "$tmp/promtool.out" 2>&1; then
  ok "promtool check metrics: clean"
else
  bad "promtool check metrics: $(head -c 600 "$tmp/promtool.out")"
fi
grep -q '^fcgiscope_requests_total{server="127.0.0.1:'"$fpm_port"'",status="500"} 6$' "$tmp/page.txt" \
  && ok "6 x 500 on the server (fail.php: 5 of the first 20, 1 of the last 5)" || bad "500s: $(grep 'status="500"' "$tmp/page.txt")"
grep -q '^fcgiscope_request_duration_seconds_count{server="127.0.0.1:'"$fpm_port"'"} 25$' "$tmp/page.txt" \
  && ok "25 latencies observed" || bad "histogram count: $(grep duration_seconds_count "$tmp/page.txt")"
grep -q '^fcgiscope_script_requests_total{script="other"} ' "$tmp/page.txt" \
  && ok "scripts past --metrics-scripts 3 count as other" || bad "no script=other"
grep -q '^fcgiscope_requests_in_flight{server=' "$tmp/page.txt" && ok "in-flight gauge" || bad "no in-flight gauge"
grep -q '^fcgiscope_metrics_http_responses_total{code="4xx"} 2$' "$tmp/page.txt" \
  && ok "its own 4xx answers counted" || bad "4xx: $(grep http_responses "$tmp/page.txt")"

# Prometheus's view: sum(fcgiscope_requests_total) == 25
val=
for _ in $(seq 60); do
  val=$(curl -s "http://127.0.0.1:$pport/api/v1/query" --data-urlencode 'query=sum(fcgiscope_requests_total)' \
        | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null)
  [ "$val" = 25 ] && break
  sleep 0.5
done
[ "$val" = 25 ] && ok "Prometheus: sum(fcgiscope_requests_total) = 25" \
  || bad "Prometheus says '$val', want 25 ($(tail -3 "$tmp/prom.log"))"
up=$(curl -s "http://127.0.0.1:$pport/api/v1/query" --data-urlencode 'query=up{job="fcgiscope"}' \
     | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null)
[ "$up" = 1 ] && ok "the target is up" || bad "up = '$up'"

kill -INT $scope
for _ in $(seq 100); do kill -0 $scope 2>/dev/null || break; sleep 0.1; done
wait $scope; rc=$?
[ "$rc" = 0 ] && ok "fcgiscope exits 0" || bad "fcgiscope exit $rc: $(tail -3 "$tmp/scope.err")"
n=$(grep -c '"type":"request"' "$tmp/out.json")
[ "$n" = 25 ] && ok "its JSON has the same 25 requests" || bad "JSON has $n requests"
finish
