// SPDX-License-Identifier: GPL-2.0
/* hooks.bpf.c — programs that do nothing, on each hook fcgiscope --unix could use (bench/unix_syscall_cost.sh): the cost of the hook alone. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tracepoint/sys_enter") int raw_enter(void *ctx) { return 0; }
SEC("raw_tracepoint/sys_exit") int raw_exit(void *ctx) { return 0; }
SEC("tp_btf/sys_enter") int btf_enter(void *ctx) { return 0; }
SEC("tp_btf/sys_exit") int btf_exit(void *ctx) { return 0; }
/* per-syscall tracepoints (need tracefs): here only write and read */
SEC("tracepoint/syscalls/sys_enter_write") int tp_enter_write(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_write") int tp_exit_write(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_read") int tp_enter_read(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_exit_read") int tp_exit_read(void *ctx) { return 0; }
