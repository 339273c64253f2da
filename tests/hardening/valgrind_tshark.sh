#!/bin/sh
# valgrind_tshark.sh — valgrind memcheck of tshark with the fastcgi plugin on a sample of captures.
#
# Normative reference: issue 7 ("Memory: valgrind memcheck clean ... for
# tshark with the plugin on a sample"), /work/shared/docs/WIRESHARK.md
# (tshark as nobody, plugin in a private HOME: done by
# tests/dissector/run-tshark.sh, which this script runs by path under
# valgrind --trace-children so that the tshark it starts is checked).
#
#   valgrind_tshark.sh PLUGIN.so ABI REPO_ROOT
#
# Three tshark runs (each pays tshark's start-up once under valgrind):
#   clean:   a sample of captures concatenated (mergecap -a): every real
#            one, demo.pcapng and every crafted one mergecap reads (VG_STEP=N:
#            every Nth crafted one)
#   damaged: the same file with random byte errors (editcap -E 0.02, seed 7)
#   damaged2: lighter damage that leaves more records whole (-E 0.002, seed 8)
# tshark -2 -V with -z expert/srt/tree, as the plugin's mutate test runs it.
# valgrind writes to the inherited stderr (--log-fd=2): a log file opened by
# the root part of the chain could not be reopened after setpriv drops to
# nobody, as exec keeps the pid.
# Wireshark's own "possibly lost"/still-reachable blocks and errors inside
# Wireshark are counted and printed as a number only; the test fails on an
# error (invalid access, uninitialised use, bad free, definite leak) whose
# stack has a frame in the plugin (fastcgi.so, dissector/ or decoder/ sources),
# or when tshark did not run to the end. Exit 0 pass, 1 fail, 77 skip.
#   valgrind_tshark.sh --selftest REPO_ROOT
# checks the log parsing on two fixed logs (tests/hardening/data/vg_*.log):
# an invalid read through nv.c/packet-fastcgi.c must fail, the same error in
# Wireshark's own frames must pass.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
if [ "$1" = --selftest ]; then root=$2; else plugin=$1; abi=$2; root=$3; fi
# our source file names, to recognise our frames in valgrind's stacks:
# "(nv.c:88)" with debug info, "(in .../fastcgi.so)" without
ours=$(cd "$root" && ls dissector/*.c dissector/*.h decoder/src/*.c decoder/src/*.h 2>/dev/null \
       | sed -e 's|.*/||' -e 's|\.|\\.|g' | tr '\n' '|')
ours="fastcgi\\.so|libfsd|\\((${ours%|}):"

if [ "$1" = --selftest ]; then
  if python3 "$here/vg_parse.py" "$ours" "$here/data/vg_ours.log" ours 0 0 -; then
    echo "FAIL: an error in our frames was not caught"; exit 1
  fi
  python3 "$here/vg_parse.py" "$ours" "$here/data/vg_theirs.log" theirs 0 0 - \
    || { echo "FAIL: an error in Wireshark's frames was counted as ours"; exit 1; }
  echo "selftest: ok"; exit 0
fi
run_tshark=$root/tests/dissector/run-tshark.sh
for t in valgrind tshark mergecap editcap capinfos setpriv; do
  command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
[ -f "$plugin" ] || { echo "SKIP: plugin $plugin not built"; exit 77; }
if nm -D "$plugin" 2>/dev/null | grep -q __asan_init; then
  echo "SKIP: the plugin is built with ASan (valgrind and ASan do not mix)"; exit 77
fi
w=$(mktemp -d "${TMPDIR:-/tmp}/fastcgi-vg.XXXXXX")
trap 'rm -rf "$w"' EXIT INT TERM

# the sample
set --
for f in "$root"/captures/real/*.pcap; do
  [ -f "$f" ] && set -- "$@" "$f"
done
[ -f "$root/captures/demo.pcapng" ] && set -- "$@" "$root/captures/demo.pcapng"
i=0
for f in "$root"/captures/crafted/*.pcap "$root"/captures/crafted/*.pcapng; do
  [ -f "$f" ] || continue
  # only what mergecap reads (damaged_linktype.pcap and the like are for the
  # front ends' error paths, covered by dissector.mutate/expect)
  capinfos -c "$f" >/dev/null 2>&1 || continue
  [ $((i % ${VG_STEP:-1})) -eq 0 ] && set -- "$@" "$f"
  i=$((i + 1))
done
nfiles=$#
[ "$nfiles" -gt 0 ] || { echo "SKIP: no captures"; exit 77; }
mergecap -a -F pcapng -w "$w/clean.pcapng" "$@"
editcap -E 0.02 --seed 7 "$w/clean.pcapng" "$w/damaged.pcapng"
editcap -E 0.002 --seed 8 "$w/clean.pcapng" "$w/damaged2.pcapng"
echo "sample: $nfiles captures ($(echo "$@" | tr ' ' '\n' | sed 's|.*/||' | tr '\n' ' '))"

fail=0
for kind in clean damaged damaged2; do
  t0=$(date +%s)
  set +e
  valgrind --trace-children=yes \
    --trace-children-skip='*/cp,*/chown,*/mktemp,*/rm,*/basename,*/id,*/mkdir,*/chmod,*/dirname' \
    --log-fd=2 --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --num-callers=40 \
    sh "$run_tshark" "$plugin" "$abi" -2 -n -V -r "$w/$kind.pcapng" \
      -d tcp.port==9000,fastcgi -z expert -z fastcgi,srt -z fastcgi,tree \
      >"$w/$kind.out" 2>"$w/$kind.err"
  rc=$?
  set -e
  t1=$(date +%s)
  python3 "$here/vg_parse.py" "$ours" "$w/$kind.err" "$kind" "$rc" "$((t1 - t0))" "$w/$kind.out" || fail=1
  if [ -n "${VG_KEEP:-}" ]; then mkdir -p "$VG_KEEP"; cp "$w/$kind.err" "$VG_KEEP/"; fi
done
exit $fail
