#!/usr/bin/env bash
# unix_syscall_cost.sh — what fcgiscope --unix adds to one syscall, per hook and per build: CPU ns per call.
#
# Normative reference: issue 11 "Benchmark" (the overhead goal); the
# measurements behind the hook choice in analyzer/bpf/unixcap.bpf.c.
#
#   bench/unix_syscall_cost.sh BUILD [N] [ROUNDS]
#
# Root (BPF). Builds bench/unix_cost/{syscalls,loader}.c and hooks.bpf.c
# (vmlinux.h from BUILD/analyzer/bpf) into a private folder, then ROUNDS
# times (default 3) runs syscalls (N pairs, default 200000) under each
# variant: nothing attached; do-nothing programs on raw_tp sys_enter+sys_exit,
# on tp_btf sys_enter+sys_exit, on tp_btf sys_exit alone (what a design that
# needs no entry program would pay), on the syscalls:sys_{enter,exit}_{write,read}
# tracepoints (those need tracefs: mounted at /sys/kernel/tracing if it is not,
# and unmounted at exit); BUILD's fcgiscope --unix (the tp_btf build) and
# with FCGISCOPE_UNIX_HOOK=raw (the fallback build); with UNIX_COST_OLD=
# OTHER_FCGISCOPE also that binary's two builds ("old", "old_raw"), in the
# same rounds (the fair comparison of two trees); UNIX_COST_VARIANTS picks a
# subset of "none raw_tp tp_btf tp_btf_exit syscalls_tp fcgiscope
# fcgiscope_raw". Columns, CPU ns per
# syscall (best of the rounds; CPU time, so the machine's other load adds
# little): write+read of 1 byte by a process nobody watches and getppid (a
# syscall fcgiscope does not follow), both by a child that never held the
# listener (fcgiscope's start-up scan marks the processes that hold it), write+read of a watched process on
# another socket, write+read on a watched connection (both ends). Not a
# CTest test. Stops only what it started, by PID.
set -u
build=${1:?usage: unix_syscall_cost.sh BUILD [N] [ROUNDS]}
n=${2:-200000}
rounds=${3:-3}
[ "$(id -u)" = 0 ] || { echo "needs root (BPF)"; exit 2; }
bin=$build/analyzer/fcgiscope
[ -x "$bin" ] && [ -f "$build/analyzer/bpf/vmlinux.h" ] || { echo "no $bin or vmlinux.h (build with --unix)"; exit 2; }
src=$(cd "$(dirname "$0")/unix_cost" && pwd)
. "$(cd "$(dirname "$0")/../tests/analyzer" && pwd)/private_run.sh"
private_run fcgiscope-syscost
mounted=
finish() {
  cleanup
  [ -n "$mounted" ] && umount /sys/kernel/tracing
}
trap finish EXIT
gcc -O2 -Wall -o "$tmp/syscalls" "$src/syscalls.c" || exit 1
gcc -O2 -Wall -o "$tmp/loader" "$src/loader.c" -lbpf || exit 1
clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$build/analyzer/bpf" -c "$src/hooks.bpf.c" -o "$tmp/hooks.bpf.o" || exit 1
if [ ! -d /sys/kernel/tracing/events ] || [ -z "$(ls /sys/kernel/tracing/events 2>/dev/null)" ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null && { mounted=1; echo "note: mounted tracefs at /sys/kernel/tracing (unmounted at exit)"; }
fi

variants=${UNIX_COST_VARIANTS:-"none raw_tp tp_btf tp_btf_exit syscalls_tp fcgiscope fcgiscope_raw"}
old=${UNIX_COST_OLD:-}
[ -n "$old" ] && variants="$variants old old_raw"
progs() {
  case $1 in
    raw_tp) echo raw_enter raw_exit ;;
    tp_btf) echo btf_enter btf_exit ;;
    tp_btf_exit) echo btf_exit ;;
    syscalls_tp) echo tp_enter_write tp_exit_write tp_enter_read tp_exit_read ;;
  esac
}
: > "$tmp/all"
for r in $(seq "$rounds"); do
  for v in $variants; do
    rm -f "$tmp/go" "$tmp/out" "$tmp/err"
    helper=; skipped=
    "$tmp/syscalls" "$tmp/s.sock" "$n" "$tmp/go" > "$tmp/out" 2>&1 & sp=$!; pids+=($sp)
    for _ in $(seq 100); do grep -q listening "$tmp/out" 2>/dev/null && break; sleep 0.05; done
    case $v in
      none) ;;
      fcgiscope|fcgiscope_raw|old|old_raw)
        if [ $v = fcgiscope_raw ] || [ $v = old_raw ]; then hook=raw; else hook=; fi
        b=$bin; case $v in old*) b=$old ;; esac
        FCGISCOPE_UNIX_HOOK=$hook "$b" --unix "$tmp/s.sock" -f json -o /dev/null 2>"$tmp/err" & helper=$!; pids+=($helper)
        for _ in $(seq 300); do grep -q "capturing on" "$tmp/err" 2>/dev/null && break; kill -0 $helper 2>/dev/null || break; sleep 0.05; done
        grep -q "capturing on" "$tmp/err" || { echo "$v: did not start: $(cat "$tmp/err")"; exit 1; } ;;
      *)
        # shellcheck disable=SC2046
        "$tmp/loader" "$tmp/hooks.bpf.o" $(progs $v) > "$tmp/ld" 2>&1 & helper=$!; pids+=($helper)
        for _ in $(seq 600); do grep -q attached "$tmp/ld" 2>/dev/null && break; kill -0 $helper 2>/dev/null || break; sleep 0.05; done
        grep -q attached "$tmp/ld" || { echo "$v: $(cat "$tmp/ld") (not in the figures)"; kill $helper 2>/dev/null; wait $helper 2>/dev/null; helper=; skipped=1; } ;;
    esac
    touch "$tmp/go"
    wait $sp
    # fcgiscope stops on SIGINT; the loader is a background job of this
    # script, which ignores SIGINT: TERM
    if [ -n "$helper" ]; then
      case $v in fcgiscope*|old*) kill -INT $helper ;; *) kill -TERM $helper ;; esac
      wait $helper 2>/dev/null
    fi
    [ -z "$skipped" ] && line=$(grep unwatched "$tmp/out") && echo "$v $line" >> "$tmp/all"
  done
done
python3 - "$tmp/all" <<'PY'
import sys
best = {}
order = []
for line in open(sys.argv[1]):
    f = line.split()
    v, vals = f[0], dict(zip(f[1::2], map(float, f[2::2])))
    if v not in best:
        best[v] = vals; order.append(v)
    else:
        best[v] = {k: min(best[v][k], x) for k, x in vals.items()}
base = best.get("none")
print(f"{'variant':14} {'unwatched':>16} {'getppid':>16} {'watched, other':>16} {'watched conn':>16}   CPU ns per syscall (+ vs none)")
for v in order:
    cells = []
    for k in ("unwatched", "getppid", "other", "conn"):
        x = best[v][k]
        d = f"(+{x - base[k]:.0f})" if base and v != "none" else ""
        cells.append(f"{x:7.1f} {d:>8}")
    print(f"{v:14} " + " ".join(cells))
PY
