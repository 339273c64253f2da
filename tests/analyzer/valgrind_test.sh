#!/usr/bin/env bash
# valgrind_test.sh — fcgiscope under valgrind memcheck on every capture: no invalid access, no leak.
#
# What is checked: valgrind memcheck is clean (no leaks, no invalid reads)
# for the analyzer on every capture.
#
#   valgrind_test.sh FCGISCOPE CAPTURES_DIR
#
# Each capture once, alternating text (-v, all tables) and JSON (--param)
# so both report paths run over the set in half the time. Exit 77
# (skip) when valgrind is not installed.
set -u
bin=${1:?usage: valgrind_test.sh FCGISCOPE CAPTURES_DIR}
dir=${2:?}
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed (apt-get install valgrind)"; exit 77; }
pass=0 fail=0 k=0
shopt -s nullglob
for f in "$dir"/*.pcap* "$dir"/*/*.pcap*; do
  k=$((k + 1))
  if [ $((k % 2)) = 0 ]; then set -- "-v --slowest 20"; else set -- "-f json --param REQUEST_URI --param HTTP_X_REQUEST_ID"; fi
  for args in "$@"; do
    # shellcheck disable=SC2086
    if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
         "$bin" $args "$f" >/dev/null 2>"${TMPDIR:-/tmp}/fcgiscope-vg.$$"; then
      pass=$((pass + 1))
    else
      rc=$?
      # 2 is fcgiscope's own verdict on a damaged file; 99 is valgrind's
      if [ $rc = 99 ] || grep -q "==[0-9]*==" "${TMPDIR:-/tmp}/fcgiscope-vg.$$"; then
        echo "FAIL: $f ($args):"; head -30 "${TMPDIR:-/tmp}/fcgiscope-vg.$$"
        fail=$((fail + 1))
      else
        pass=$((pass + 1))
      fi
    fi
  done
done
rm -f "${TMPDIR:-/tmp}/fcgiscope-vg.$$"
[ $((pass + fail)) -gt 0 ] || { echo "FAIL: no captures in $dir"; fail=1; }
echo "$pass passed, $fail failed"
[ $fail = 0 ]
