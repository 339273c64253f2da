#!/bin/sh
# run_captures.sh — runs capdump over every capture in captures/ and checks what
# the capture layer can check against the *.expect.json files (captures/EXPECT.md):
# a fatal error exits 2 with the expected message; a damaged capture reports
# capture_truncated at the expected frame; every other capture reads to the end,
# every FastCGI flow on the expected server ports is opened and ended, the
# capture's precision is the expected one, the capture-level anomaly ids are
# those allowed (and the required ones appear), gaps are reported exactly when
# capture_gap is expected or allowed, and every expected request's client/server
# pair is a flow. Exit 77 (skip) when there are none.
set -u
root=${1:?captures dir}
: "${CAPDUMP:?CAPDUMP=path to capdump}"
command -v jq >/dev/null 2>&1 || { echo "jq not installed: skipped"; exit 77; }
n=0; fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for exp in $(find "$root" -name '*.expect.json' | sort); do
  d=$(dirname "$exp")
  cap=$d/$(jq -r .capture "$exp")
  [ -f "$cap" ] || continue
  n=$((n + 1))
  ports=$(jq -r '(.server_ports // [9000]) | map(tostring) | join(",")' "$exp")
  fatal=$(jq -r '.error.fatal // false' "$exp")
  eframe=$(jq -r '.error.frame // empty' "$exp")
  prec=$(jq -r '.precision // empty' "$exp")
  "$CAPDUMP" -p "$ports" "$cap" >"$tmp/out" 2>"$tmp/err"; rc=$?
  name=${cap#"$root"/}
  if [ "$fatal" = true ]; then
    contains=$(jq -r '.error.contains // empty' "$exp")
    if [ $rc -ne 2 ]; then echo "FAIL $name: exit $rc, expected 2"; fail=$((fail+1)); continue; fi
    if [ -n "$contains" ] && ! grep -qF -- "$contains" "$tmp/err"; then
      echo "FAIL $name: error message lacks '$contains':"; cat "$tmp/err"; fail=$((fail+1)); continue
    fi
    echo "ok   $name (fatal: $(cat "$tmp/err"))"; continue
  fi
  if [ $rc -ne 0 ]; then echo "FAIL $name: exit $rc: $(cat "$tmp/err")"; fail=$((fail+1)); continue; fi
  if [ -n "$eframe" ]; then
    if ! grep -q "^anomaly capture_truncated flow=- frame=$eframe " "$tmp/out"; then
      echo "FAIL $name: no capture_truncated at frame $eframe"; grep '^anomaly' "$tmp/out"; fail=$((fail+1)); continue
    fi
  fi
  if [ -n "$prec" ] && ! grep -q "^file 1 .* precision=$prec " "$tmp/out"; then
    echo "FAIL $name: precision is not $prec"; grep '^file' "$tmp/out"; fail=$((fail+1)); continue
  fi
  opens=$(grep -c '^open ' "$tmp/out"); ends=$(grep -c '^end ' "$tmp/out")
  if [ "$opens" != "$ends" ]; then echo "FAIL $name: $opens flows opened, $ends ended"; fail=$((fail+1)); continue; fi
  # Capture-level anomalies: the must ones appear, no others than must/may.
  allowed=$(jq -r '((.anomalies_must // []) + (.anomalies_may // [])) | join(" ")' "$exp")
  must=$(jq -r '(.anomalies_must // []) | join(" ")' "$exp")
  bad=""
  for id in $(grep '^anomaly ' "$tmp/out" | cut -d' ' -f2 | sort -u); do
    case " $allowed " in *" $id "*) ;; *) bad="$bad $id";; esac
  done
  for id in capture_truncated snaplen_truncated tcp_ooo_cap flow_table_full ip_fragment capture_drops; do
    case " $must " in *" $id "*) grep -q "^anomaly $id " "$tmp/out" || bad="$bad missing:$id";; esac
  done
  # Gaps: the decoder's capture_gap can only come from a gap this layer reports.
  gaps=$(sed -n 's/^stats .* gaps=\([0-9]*\)\/.*/\1/p' "$tmp/out")
  case " $must " in *" capture_gap "*) [ "${gaps:-0}" -gt 0 ] || bad="$bad no-gap-for-capture_gap";; esac
  case " $allowed " in *" capture_gap "*) ;; *) [ "${gaps:-0}" -eq 0 ] || bad="$bad unexpected-gaps:$gaps";; esac
  # Every expected request's client/server pair is an opened flow.
  for pair in $(jq -r '.requests[]? | select(.client and .server) | "\(.client)>\(.server)"' "$exp" | sort -u); do
    c=${pair%%>*}; s=${pair#*>}
    grep "^open " "$tmp/out" | grep -qF " client=$c server=$s " || bad="$bad no-flow:$pair"
  done
  if [ -n "$bad" ]; then echo "FAIL $name:$bad"; fail=$((fail+1)); continue; fi
  # FastCGI detection alone (no port list) finds every flow whose start was
  # captured and that carried bytes (a flow captured mid-record, or one that
  # never carried a byte: refused, closed before the request, cannot be
  # recognised by content).
  if "$CAPDUMP" -a -p none "$cap" >"$tmp/det" 2>&1 && ! grep -q "needs libfsd" "$tmp/det"; then
    with_data() { # the "client= server=" of flows opened with midstream=0 that have data
      awk '$1 == "open" && $5 == "midstream=0" { f[$2] = $3 " " $4 }
           $1 == "data" { d[$2] = 1 }
           END { for (k in f) if (k in d) print f[k] }' "$1" | sort
    }
    a=$(with_data "$tmp/out")
    b=$(with_data "$tmp/det")
    if [ "$a" != "$b" ]; then
      echo "FAIL $name: detection finds other flows than -p $ports:"; echo "$b"; fail=$((fail+1)); continue
    fi
  fi
  rq=$(jq -r '.request_count // 0' "$exp")
  if [ "$rq" -gt 0 ] && [ "$opens" -eq 0 ]; then
    echo "FAIL $name: $rq requests expected but no FastCGI flow found"; fail=$((fail+1)); continue
  fi
  echo "ok   $name ($opens flows, $(tail -1 "$tmp/out"))"
done
[ $n -eq 0 ] && { echo "no captures with expect files yet: skipped"; exit 77; }
echo "$n captures, $fail failures"
[ $fail -eq 0 ]
