#!/bin/sh
# tshark_attacks.sh — the resource-attack captures through tshark with the fastcgi plugin.
#
# Normative reference: issue 7 ("Resource attacks", "Both front ends read
# bytes that an attacker controls"), /work/shared/docs/WIRESHARK.md (tshark
# as nobody with the plugin in a private HOME: tests/dissector/run-tshark.sh,
# run by path). Captures from attack.py --gen, in a temporary folder.
#
#   tshark_attacks.sh PLUGIN.so ABI REPO_ROOT
# Environment: FASTCGI_ASAN_RUNTIME as for run-tshark.sh (ASan plugin).
# For each of tiny, ooo, params100m, req65535: tshark -2 must finish within
# 300 s with exit 0 and no sanitizer report on stderr; the cap anomaly the
# plugin must show is checked where tshark's own tap can list it cheaply
# (params100m: param_cap_exceeded in -z expert). req65535 runs without
# -z expert: tshark's expert tap compares every new summary with every
# earlier one (strcmp, quadratic), and each request_table_full summary
# names its request id (36 s for 65,535 requests, tap time only).
# conns100k is left out (1.3 GB, 0.6 GB of it Wireshark's own TCP state).
set -eu
plugin=$1; abi=$2; root=$3
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
run=$root/tests/dissector/run-tshark.sh
command -v tshark >/dev/null 2>&1 || { echo "SKIP: tshark not installed"; exit 77; }
w=$(mktemp -d "${TMPDIR:-/tmp}/fastcgi-attacks.XXXXXX")
trap 'rm -rf "$w"' EXIT INT TERM
fail=0
for s in tiny ooo params100m req65535; do
  python3 "$here/attack.py" --gen "$s" "$w/$s.pcap" >/dev/null
  case $s in
    req65535) args="-z fastcgi,srt" ;;
    *) args="-z expert" ;;
  esac
  t0=$(date +%s)
  set +e
  # shellcheck disable=SC2086
  timeout 300 sh "$run" "$plugin" "$abi" -2 -n -q -r "$w/$s.pcap" $args >"$w/out" 2>"$w/err"
  rc=$?
  set -e
  t=$(( $(date +%s) - t0 ))
  rm -f "$w/$s.pcap"
  echo "$s: tshark exit $rc in $t s, $(wc -c <"$w/out") bytes of output"
  if [ "$rc" != 0 ]; then echo "FAIL $s: tshark exit status $rc (124: timeout)"; fail=1; fi
  if grep -q -E "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$w/err"; then
    echo "FAIL $s: sanitizer report:"; head -30 "$w/err"; fail=1
  fi
  if [ "$s" = params100m ] && ! grep -q param_cap_exceeded "$w/out"; then
    echo "FAIL $s: no param_cap_exceeded in tshark's expert info"; fail=1
  fi
  if [ "$s" != req65535 ] && ! grep -q FASTCGI "$w/out"; then
    echo "FAIL $s: the plugin reported nothing"; fail=1
  fi
done
exit $fail
