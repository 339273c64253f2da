#!/bin/sh
# soak.sh — a few GB of generated FastCGI traffic through a pipe into fcgiscope, RSS sampled every second.
#
# Normative reference: issue 7 ("Long runs: input from a pipe works; a soak
# of a few GB through a pipe shows flat memory"), bench/README.md
# (fcgiscope-bench-gen), analyzer/README.md ("-" = stdin, exit status).
#
#   soak.sh FCGISCOPE BENCH_GEN [SIZE [CONCURRENCY [MSS]]]   (defaults 4G 256 1448)
# e.g. tests/hardening/soak.sh build/analyzer/fcgiscope build/bench/fcgiscope-bench-gen 4G
#
# Runs `fcgiscope-bench-gen --size SIZE -o - | fcgiscope -f json - | tail -n 1`
# (the report's last line, the summary, is kept to compare its packet and
# request counts with the generator's --summary),
# reads VmRSS of fcgiscope from /proc every second, prints the curve
# (t, RSS) to stdout and the start/middle/end/peak line. Exit 0 when
# fcgiscope saw every packet and request the generator wrote and memory is
# flat: the last sample is at most 10% + 4 MiB above the one in the middle of
# the run (the first seconds fill the working set: open connections, ordering
# queue); 1 otherwise. Not a CTest test
# (minutes).
set -eu
fcgiscope=$1; gen=$2; size=${3:-4G}; conc=${4:-256}; mss=${5:-1448}
w=$(mktemp -d "${TMPDIR:-/tmp}/fcgiscope-soak.XXXXXX")
trap 'rm -rf "$w"' EXIT INT TERM
t0=$(date +%s)
( "$gen" --size "$size" --concurrency "$conc" --mss "$mss" -o - --summary "$w/gen.json" 2>"$w/gen.err" \
    | "$fcgiscope" -f json --progress never - 2>"$w/fcgiscope.err" | tail -n 1 >"$w/summary.json"
  echo $? >"$w/rc" ) &
sub=$!
# find fcgiscope's pid (the subshell's child reading "-")
pid=""
i=0
while [ -z "$pid" ] && [ $i -lt 100 ]; do
  pid=$(pgrep -P "$sub" -x "$(basename "$fcgiscope")" || true)
  [ -n "$pid" ] || { sleep 0.1; i=$((i + 1)); }
done
[ -n "$pid" ] || { echo "FAIL: fcgiscope did not start"; wait "$sub"; exit 1; }
: >"$w/curve"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] && echo "$(( $(date +%s) - t0 )) $rss" >>"$w/curve"
  sleep "${SOAK_INTERVAL:-1}"
done
wait "$sub" || true
rc=$(cat "$w/rc" 2>/dev/null || echo "?")
# the pipeline's status is tail's: fcgiscope's own must show in its summary
counts=$(python3 -c '
import json, sys
g = json.load(open(sys.argv[1])); s = json.loads(open(sys.argv[2]).read() or "{}")
ok = s.get("type") == "summary" and s.get("packets") == g["packets"] and s["requests"]["total"] == g["requests"]
print("generator: %d packets %d requests; fcgiscope: %s packets %s requests -> %s" % (
    g["packets"], g["requests"], s.get("packets"), (s.get("requests") or {}).get("total"), "same" if ok else "DIFFERENT"))
sys.exit(0 if ok else 1)' "$w/gen.json" "$w/summary.json") && crc=0 || crc=1
echo "# $counts"
[ "$crc" = 0 ] || rc="counts differ"
secs=$(( $(date +%s) - t0 ))
echo "# t_s rss_kb (fcgiscope pid $pid, input $size via pipe, concurrency $conc, mss $mss)"
cat "$w/curve"
cat "$w/fcgiscope.err" "$w/gen.err" | sed 's/^/# stderr: /' | head -20
awk -v rc="$rc" -v secs="$secs" -v size="$size" '
  { t[NR] = $1; r[NR] = $2; if ($2 > peak) peak = $2 }
  END {
    if (NR == 0) { print "FAIL: no RSS samples"; exit 1 }
    q = int(NR / 4); if (q < 1) q = 1; m = int(NR / 2); if (m < 1) m = 1
    printf "soak %s: %d s, exit %s; RSS start %.1f MiB (t=%ds), quarter %.1f MiB, middle %.1f MiB (t=%ds), end %.1f MiB (t=%ds), peak %.1f MiB\n",
      size, secs, rc, r[1] / 1024, t[1], r[q] / 1024, r[m] / 1024, t[m], r[NR] / 1024, t[NR], peak / 1024
    bad = 0
    if (rc != "0") { print "FAIL: " rc; bad = 1 }
    if (r[NR] > r[m] * 1.10 + 4096) { print "FAIL: memory grew in the second half of the run"; bad = 1 }
    exit bad
  }' "$w/curve"
