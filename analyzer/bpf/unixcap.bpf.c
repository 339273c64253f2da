// SPDX-License-Identifier: GPL-2.0
/* unixcap.bpf.c — capture of the FastCGI bytes on one listening Unix socket (fcgiscope --unix).
 *
 * Normative references: Linux raw tracepoints sys_enter/sys_exit (syscall
 * number and struct pt_regs), BPF ring buffer (bpf_ringbuf_output), bpf_loop,
 * x86-64 syscall ABI (arguments in di, si, dx, r10, r8, r9), net/unix/af_unix.c
 * (an accepted socket shares the listener's struct path; its peer is the
 * connecting socket).
 *
 * Only syscall tracepoints: no tracefs, no kprobes, no fentry (refused on the
 * project's machines). Built twice (unixcap.cmake): with UC_BTF=1 the hooks
 * are tp_btf sys_enter/sys_exit, kernel memory on the hot path is read by
 * plain loads (BTF pointers, bpf_rdonly_cast: Linux 6.2 or later) and the
 * call between entry and exit is kept in task storage; with UC_BTF=0 (the
 * fallback fcgiscope loads when the first is refused) raw tracepoints, probe
 * reads and a per-thread hash. Both fire for every syscall of the machine;
 * per-syscall tracepoints (syscalls:sys_enter_write, ...) would skip the
 * others but cost more per call they do follow (bench/README.md: measured
 * here, a loss on nginx + php-fpm, whose calls are mostly ones we follow).
 * Every syscall that can move bytes into or out of the
 * watched connections is looked at: the fd is resolved to its
 * struct sock (current->files), which must be an AF_UNIX stream socket whose
 * own path (app end) or whose peer's path (client end) is the listener's
 * inode (target_ino on the device target_dev). Writes, sendfile, close and
 * shutdown are looked at on entry (a write's time is its entry: the reader
 * may run before the writer returns; close's fd is gone at exit; sendfile's
 * range must be known before the reader reads it); matching writes are
 * remembered per thread and finished on exit, where the bytes the call
 * really moved (its return value) are copied in UC_CHUNK records with
 * bpf_loop. The reads are looked at on exit alone (leave_read: their
 * arguments are still in pt_regs), so a read costs one program that does
 * work, not two, and no per-thread state.
 * Records do not wake the reader (BPF_RB_NO_WAKEUP) until the ring is a
 * quarter full (wake_bytes): fcgiscope holds them 20 ms for ordering anyway
 * and drains the ring every 20 ms, which spares a wakeup per record on the
 * traced service's CPUs (and the service the preemptions: bench/README.md); only sendfile
 * records wake it at once (their bytes are read back from a file).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "unixcap.h"

char LICENSE[] SEC("license") = "GPL";

#ifndef UC_BTF
#define UC_BTF 0
#endif

#if UC_BTF
/* kernel memory by plain loads: a pointer of type T (Linux 6.2 or later) */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#define CAST(T, p) ((T *)bpf_rdonly_cast((void *)(p), bpf_core_type_id_kernel(T)))
#define RD(p, f) ((p)->f)
#else
#define CAST(T, p) ((T *)(p))
#define RD(p, f) BPF_CORE_READ(p, f)
#endif

const volatile __u64 target_ino = 0;
const volatile __u32 target_dev = 0;   /* kernel dev_t: major << 20 | minor */
const volatile __u32 self_tgid = 0;    /* fcgiscope itself: never traced */
const volatile __u64 wake_bytes = 1 << 20; /* unread bytes that wake fcgiscope */

#define NR_read 0
#define NR_readv 19
#define NR_recvfrom 45
#define NR_recvmsg 47
#define NR_write 1
#define NR_close 3
#define NR_writev 20
#define NR_sendfile 40
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_sendmsg 46
#define NR_shutdown 48
#define NR_accept4 288

/* the calls followed, as bits (all below 64 but accept4): one test per call */
#define NRBIT(n) (1ull << (n))
/* the reads are done at exit alone (leave_read) */
#define READS (NRBIT(NR_read) | NRBIT(NR_readv) | NRBIT(NR_recvfrom) | NRBIT(NR_recvmsg))
#define FOLLOW_ENTER (NRBIT(NR_write) | NRBIT(NR_close) | NRBIT(NR_writev) | NRBIT(NR_sendfile) | \
                      NRBIT(NR_connect) | NRBIT(NR_accept) | NRBIT(NR_sendto) | NRBIT(NR_sendmsg) | \
                      NRBIT(NR_shutdown))
/* close and shutdown are done at entry */
#define FOLLOW_EXIT ((FOLLOW_ENTER & ~(NRBIT(NR_close) | NRBIT(NR_shutdown))) | READS)
/* resolved at exit for any process (the fd is a watched end only then) */
#define RESOLVE_EXIT (NRBIT(NR_connect) | NRBIT(NR_accept))

static __always_inline bool followed(long nr, __u64 mask)
{
    if (nr == NR_accept4)
        return true;
    return (unsigned long)nr < 64 && ((mask >> nr) & 1);
}

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define SOCK_STREAM 1
#define TCP_LISTEN 10

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 32 << 20);
} events SEC(".maps");

/* A matching call between entry and exit, per thread. */
struct uc_pending {
    __u64 conn;
    __u64 ts;
    __u64 buf;       /* write/sendto: buffer; writev/sendmsg: iovec array */
    __u64 count;     /* bytes (flat) or iovec count */
    __u64 aux, aux2; /* sendfile: in_fd, file offset */
    __u32 nr;
    __u32 dir;
    __u32 iov;       /* buf is an iovec array */
    __u32 flags;     /* UC_F_READ: a read by the app end */
    __u32 live;      /* task storage: a call is pending */
    __u32 pad;
};

#if UC_BTF
/* Per thread, freed with it: one pointer away from the task, no hashing. */
struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct uc_pending);
} pend SEC(".maps");

static __always_inline void pend_put(__u64 pt, struct uc_pending *p)
{
    struct uc_pending *q = bpf_task_storage_get(&pend, bpf_get_current_task_btf(), 0,
                                                BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (q) {
        *q = *p;
        q->live = 1;
    }
}

static __always_inline struct uc_pending *pend_get(__u64 pt)
{
    struct uc_pending *q = bpf_task_storage_get(&pend, bpf_get_current_task_btf(), 0, 0);
    return q && q->live ? q : NULL;
}

static __always_inline void pend_del(__u64 pt, struct uc_pending *q)
{
    q->live = 0;
}
#else
/* LRU: a thread that dies inside a call (killed in accept) never reaches
 * sys_exit; its entry must not fill the map for good. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct uc_pending);
} pend SEC(".maps");

static __always_inline void pend_put(__u64 pt, struct uc_pending *p)
{
    bpf_map_update_elem(&pend, &pt, p, BPF_ANY);
}

static __always_inline struct uc_pending *pend_get(__u64 pt)
{
    return bpf_map_lookup_elem(&pend, &pt);
}

static __always_inline void pend_del(__u64 pt, struct uc_pending *q)
{
    bpf_map_delete_elem(&pend, &pt);
}
#endif

/* Processes that hold an end of a watched connection or the listener
 * (set here at connect/accept, and by fcgiscope at start from /proc, through
 * the skeleton's mmap of .bss): one bit per tgid up to PID_MAX_LIMIT (4M,
 * 512 KiB), so every other process's call costs one load, not an fd walk nor
 * a hash lookup (was an LRU hash: ~25 ns a call). A bit is never cleared: a
 * reused pid costs its process fd walks, never a wrong record (the fd is
 * checked). */
__u64 watched[UC_PID_WORDS];

/* tgid < PID_MAX_LIMIT: the mask changes nothing but bounds the index */
static __always_inline bool is_watched(__u32 tgid)
{
    __u64 w = (tgid >> 6) & (UC_PID_WORDS - 1);
    return (watched[w] >> (tgid & 63)) & 1;
}

static __always_inline void set_watched(__u32 tgid)
{
    __u64 w = (tgid >> 6) & (UC_PID_WORDS - 1);
    if (!((watched[w] >> (tgid & 63)) & 1))
        __sync_fetch_and_or(&watched[w], 1ull << (tgid & 63));
}

/* Per connection: bytes written per direction so far, closed ends. */
struct uc_conn {
    __u64 off[2];
    __u64 closed;    /* bit per end */
    __u64 fresh;     /* connect seen: read offsets line up with write offsets */
    __u64 rd;        /* client bytes the app end has read */
    __u64 sf_lo, sf_hi; /* client bytes sent by sendfile and not yet read */
    __u64 picked;    /* the app end read since it last wrote (0: its next read is a pickup) */
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, __u64);
    __type(value, struct uc_conn);
} conns SEC(".maps");

/* Records that did not fit in the ring buffer (user space sums the CPUs). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);   /* 0: records lost, 1: bytes lost */
    __type(key, __u32);
    __type(value, __u64);
} lost SEC(".maps");

struct uc_rec {
    struct uc_event h;
    __u8 data[UC_CHUNK];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct uc_rec);
} scratch SEC(".maps");

struct file___old {
    atomic_long_t f_count;
} __attribute__((preserve_access_index));

static __always_inline void count_lost(__u64 bytes)
{
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&lost, &k);
    if (v)
        __sync_fetch_and_add(v, 1);
    k = 1;
    v = bpf_map_lookup_elem(&lost, &k);
    if (v)
        __sync_fetch_and_add(v, bytes);
}

static __always_inline struct file *fd_file(int fd)
{
#if UC_BTF
    struct task_struct *task = bpf_get_current_task_btf();
#else
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
#endif
    struct files_struct *files = RD(task, files);
    if (!files || fd < 0)
        return NULL;
    struct fdtable *fdt = RD(files, fdt);
    if (!fdt)
        return NULL;
    unsigned int max = RD(fdt, max_fds);
    if ((unsigned int)fd >= max)
        return NULL;
    /* an array of pointers: its element by a probe read in both builds */
    __u64 arr = (__u64)RD(fdt, fd);
    struct file *f = NULL;
    bpf_probe_read_kernel(&f, sizeof f, (void *)(arr + (__u64)fd * sizeof f));
    if (!f)
        return NULL;
    return CAST(struct file, f);
}

static __always_inline bool path_is_target(struct sock *sk)
{
    struct unix_sock *u = CAST(struct unix_sock, sk);
    struct dentry *d = RD(u, path.dentry);
    if (!d)
        return false;
    struct inode *ino = RD(d, d_inode);
    if (!ino)
        return false;
    if (RD(ino, i_ino) != target_ino)
        return false;
    struct super_block *sb = RD(ino, i_sb);
    return sb && RD(sb, s_dev) == target_dev;
}

/* The watched connection fd belongs to: its key (the app end's sock) and
 * which end this is; 0 when it is not one. *sk_out: this end's sock. */
static __always_inline __u64 fd_conn(int fd, __u32 *dir, struct sock **sk_out, struct file **f_out)
{
    struct file *f = fd_file(fd);
    if (!f)
        return 0;
    struct inode *fi = RD(f, f_inode);
    if (!fi)
        return 0;
    umode_t mode = RD(fi, i_mode);
    if ((mode & S_IFMT) != S_IFSOCK)
        return 0;
    void *pd = RD(f, private_data);
    if (!pd)
        return 0;
    struct socket *so = CAST(struct socket, pd);
    struct sock *sk = RD(so, sk);
    if (!sk)
        return 0;
    if (RD(sk, __sk_common.skc_family) != AF_UNIX)
        return 0;
    if (RD(sk, sk_type) != SOCK_STREAM)
        return 0;
    if (sk_out)
        *sk_out = sk;
    if (f_out)
        *f_out = f;
    if (path_is_target(sk)) {
        if (RD(sk, __sk_common.skc_state) == TCP_LISTEN)
            return 0;
        *dir = UC_DIR_SERVER;
        return (__u64)sk;
    }
    struct sock *peer = RD(CAST(struct unix_sock, sk), peer);
    if (peer && path_is_target(peer)) {
        *dir = UC_DIR_CLIENT;
        return (__u64)peer;
    }
    return 0;
}

static __always_inline void fill_head(struct uc_event *h, __u32 type, __u32 dir, __u64 conn, __u64 ts)
{
    __u64 pt = bpf_get_current_pid_tgid();
    h->type = type;
    h->dir = dir;
    h->flags = 0;
    h->len = 0;
    h->conn = conn;
    h->off = 0;
    h->ts = ts;
    h->aux = 0;
    h->aux2 = 0;
    h->pid = (__u32)pt;
    h->tgid = (__u32)(pt >> 32);
    bpf_get_current_comm(h->comm, sizeof h->comm);
}

/* wake the reader only when the ring fills up */
static __always_inline __u64 rb_flags(void)
{
    return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wake_bytes ? BPF_RB_FORCE_WAKEUP
                                                                         : BPF_RB_NO_WAKEUP;
}

static __always_inline void emit_head(struct uc_event *h)
{
    if (bpf_ringbuf_output(&events, h, sizeof *h, rb_flags()) != 0)
        count_lost(0);
}

/* A sendfile record wakes fcgiscope at once: it reads the bytes back from
 * the sender's file, which the sender may close soon after. */
static __always_inline void emit_head_now(struct uc_event *h)
{
    if (bpf_ringbuf_output(&events, h, sizeof *h, BPF_RB_FORCE_WAKEUP) != 0)
        count_lost(0);
}

/* The per-CPU scratch record with its head filled; NULL when the map has
 * none (cannot happen: one entry). */
static __always_inline struct uc_rec *rec_start(__u32 type, __u32 dir, __u64 conn, __u64 ts)
{
    __u32 k = 0;
    struct uc_rec *r = bpf_map_lookup_elem(&scratch, &k);
    if (r)
        fill_head(&r->h, type, dir, conn, ts);
    return r;
}

static __always_inline struct uc_conn *cstate_get(__u64 conn, bool fresh)
{
    struct uc_conn *cs = bpf_map_lookup_elem(&conns, &conn);
    if (cs && !fresh)
        return cs;
    struct uc_conn z = {};
    bpf_map_update_elem(&conns, &conn, &z, fresh ? BPF_ANY : BPF_NOEXIST);
    return bpf_map_lookup_elem(&conns, &conn);
}

/* ---- copying what a call wrote ---- */

struct uc_copy {
    struct uc_pending p;
    __u64 left;       /* bytes still to copy */
    __u64 off;        /* stream offset of the next byte */
    __u64 iov_idx;    /* iovec mode: current element and position in it */
    __u64 iov_pos;
    __u64 flat_pos;
    __u64 skip;       /* bytes to pass over before copying */
};

/* The copy's state lives in a map, not on the stack: the verifier then sees
 * unknown scalars and checks the callback once instead of per value. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct uc_copy);
} copyst SEC(".maps");

static long copy_chunk(__u32 i, void *unused)
{
    __u32 k = 0;
    struct uc_copy *c = bpf_map_lookup_elem(&copyst, &k);
    if (!c)
        return 1;
    struct uc_pending *p = &c->p;
    if (c->left == 0)
        return 1;
    __u64 src, avail;
    if (p->iov) {
        if (c->iov_idx >= p->count)
            return 1;
        struct iovec iv;
        if (bpf_probe_read_user(&iv, sizeof iv, (void *)(p->buf + c->iov_idx * sizeof(struct iovec))))
            return 1;
        if (c->iov_pos >= iv.iov_len) {
            c->iov_idx++;
            c->iov_pos = 0;
            return 0;
        }
        src = (__u64)iv.iov_base + c->iov_pos;
        avail = iv.iov_len - c->iov_pos;
    } else {
        src = p->buf + c->flat_pos;
        avail = c->left + c->skip;
    }
    if (c->skip > 0) {
        __u64 k2 = avail < c->skip ? avail : c->skip;
        c->skip -= k2;
        c->flat_pos += k2;
        c->iov_pos += k2;
        return 0;
    }
    __u32 n = UC_CHUNK;
    if (avail < n)
        n = (__u32)avail;
    if (c->left < n)
        n = (__u32)c->left;
    struct uc_rec *r = rec_start(UC_EV_DATA, p->dir, p->conn, p->ts);
    if (!r)
        return 1;
    r->h.flags = p->flags;
    r->h.off = c->off;
    r->h.len = n;
    if (n > UC_CHUNK)
        return 1;
    if (bpf_probe_read_user(r->data, n, (void *)src) != 0) {
        /* unreadable (cannot happen after a successful write): a skip */
        r->h.type = UC_EV_SKIP;
        emit_head(&r->h);
    } else if (bpf_ringbuf_output(&events, r, sizeof r->h + n, rb_flags()) != 0) {
        count_lost(n);
    }
    c->left -= n;
    c->off += n;
    c->flat_pos += n;
    c->iov_pos += n;
    return c->left == 0;
}

/* ---- entry ---- */

static __always_inline __u64 arg(struct pt_regs *regs, int i)
{
    switch (i) {
    case 0: return RD(regs, di);
    case 1: return RD(regs, si);
    case 2: return RD(regs, dx);
    case 3: return RD(regs, r10);
    default: return RD(regs, r8);
    }
}

static __always_inline long file_refs_one(struct file *f)
{
    if (bpf_core_field_exists(f->f_ref)) {
        /* file_ref_t counts from 0 (FILE_REF_ONEREF) */
        __s64 v = BPF_CORE_READ(f, f_ref.refcnt.counter);
        return v == 0;
    }
    struct file___old *fo = (void *)f;
    return BPF_CORE_READ(fo, f_count.counter) == 1;
}

/* close (the last reference) or shutdown (not SHUT_RD) of a watched end: a
 * CLOSE/SHUTDOWN record with both directions' offsets. */
static __always_inline int enter_close(struct pt_regs *regs, long nr, __u32 dir, __u64 conn,
                                       struct sock *sk, struct file *f, __u64 ts)
{
    if (nr == NR_close && !file_refs_one(f))
        return 0;    /* another reference keeps the socket open */
    if (nr == NR_shutdown && (int)arg(regs, 1) == 0)
        return 0;    /* SHUT_RD: nothing on the wire */
    struct uc_rec *r = rec_start(nr == NR_close ? UC_EV_CLOSE : UC_EV_SHUTDOWN, dir, conn, ts);
    if (!r)
        return 0;
    struct uc_conn *cs = bpf_map_lookup_elem(&conns, &conn);
    if (cs) {
        r->h.off = cs->off[dir & 1];
        r->h.aux = cs->off[(dir ^ 1) & 1];
        if (nr == NR_close)
            bpf_map_delete_elem(&conns, &conn);   /* the other end's close: no offsets */
    } else {
        r->h.flags |= UC_F_NOOFF; /* offsets unknown */
    }
    /* unread bytes at close: the peer gets ECONNRESET (af_unix), a reset */
    if (nr == NR_close && BPF_CORE_READ(sk, sk_receive_queue.qlen) > 0)
        r->h.flags |= UC_F_RST;
    emit_head(&r->h);
    return 0;
}

/* The app end knows who connected (SO_PEERCRED: sk_peer_pid, the connecting
 * tgid): mark it, so the client's calls on a connection older than the
 * capture (kept alive) are seen from now on. */
static __always_inline void watch_peer(struct sock *sk)
{
    struct pid *pp = RD(sk, sk_peer_pid);
    if (pp) {
        __u32 peer = (__u32)RD(pp, numbers[0].nr);
        if (peer)
            set_watched(peer);
    }
}

/* read/readv/recvfrom/recvmsg and write/writev/sendto/sendmsg: where the
 * bytes are (flat, or an iovec array); false when the msghdr of
 * recvmsg/sendmsg cannot be read. */
static __always_inline bool io_args(struct pt_regs *regs, long nr, struct uc_pending *p)
{
    if (nr == NR_recvmsg || nr == NR_sendmsg) {
        struct user_msghdr mh;
        if (bpf_probe_read_user(&mh, sizeof mh, (void *)arg(regs, 1)))
            return false;
        p->buf = (__u64)mh.msg_iov;
        p->count = mh.msg_iovlen;
        p->iov = 1;
        return true;
    }
    p->buf = arg(regs, 1);
    p->count = arg(regs, 2);
    p->iov = nr == NR_readv || nr == NR_writev;
    return true;
}

/* sendfile(out_fd, in_fd, off_t *offset, count): the file and where in it;
 * the range is announced now, since the app may read it before this call
 * returns (its reads copy what falls inside [sf_lo, sf_hi)). */
static __always_inline void sendfile_args(struct pt_regs *regs, struct uc_pending *p)
{
    int in_fd = (int)arg(regs, 1);
    __u64 offp = arg(regs, 2);
    __s64 start = 0;
    if (offp) {
        bpf_probe_read_user(&start, sizeof start, (void *)offp);
    } else {
        struct file *in = fd_file(in_fd);
        if (in)
            start = BPF_CORE_READ(in, f_pos);
    }
    p->aux = (__u64)in_fd;
    p->aux2 = (__u64)start;
    struct uc_conn *cs = bpf_map_lookup_elem(&conns, &p->conn);
    __u64 cnt = arg(regs, 3);
    if (cs && cs->fresh && p->dir == UC_DIR_CLIENT) {
        __u64 lo = cs->off[UC_DIR_CLIENT];
        if (cs->sf_hi <= cs->sf_lo || cs->sf_hi <= cs->rd)
            cs->sf_lo = lo;
        if (cs->sf_hi < lo + cnt)
            cs->sf_hi = lo + cnt;
    }
}

static __always_inline int enter(struct pt_regs *regs, long nr)
{
    if (!followed(nr, FOLLOW_ENTER))
        return 0;
    __u64 pt = bpf_get_current_pid_tgid();
    if ((__u32)(pt >> 32) == self_tgid)
        return 0;
    struct uc_pending p = {};
    p.nr = (__u32)nr;
    if (nr == NR_connect || nr == NR_accept || nr == NR_accept4) {
        /* resolved on exit (the fd / the new fd is a watched end only then) */
        p.ts = bpf_ktime_get_ns();
        p.buf = arg(regs, 0);
        pend_put(pt, &p);
        return 0;
    }
    if (!is_watched((__u32)(pt >> 32)))
        return 0;
    int fd = (int)arg(regs, 0);
    __u32 dir = 0;
    struct sock *sk = NULL;
    struct file *f = NULL;
    __u64 conn = fd_conn(fd, &dir, &sk, &f);
    if (!conn)
        return 0;
    p.ts = bpf_ktime_get_ns();   /* only for the calls we follow: a clock read is not free */
    if (nr == NR_close || nr == NR_shutdown)
        return enter_close(regs, nr, dir, conn, sk, f, p.ts);
    if (dir == UC_DIR_SERVER)
        watch_peer(sk);
    p.conn = conn;
    p.dir = dir;
    if (nr == NR_write || nr == NR_sendto || nr == NR_writev || nr == NR_sendmsg) {
        if (!io_args(regs, nr, &p))
            return 0;
    } else {
        sendfile_args(regs, &p);
    }
    pend_put(pt, &p);
    return 0;
}

#if UC_BTF
SEC("tp_btf/sys_enter")
int BPF_PROG(uc_enter, struct pt_regs *regs, long id)
{
    return enter(regs, id);
}
#else
SEC("raw_tracepoint/sys_enter")
int uc_enter(struct bpf_raw_tracepoint_args *ctx)
{
    return enter((struct pt_regs *)ctx->args[0], (long)ctx->args[1]);
}
#endif

/* ---- exit ---- */

/* connect/accept returned: a CONNECT/ACCEPT record when the fd is a
 * watched end on its side, and the process watched from now on. */
static __always_inline int leave_connect(__u64 pt, struct uc_pending *p, long ret)
{
    __u32 nr = p->nr;
    int fd = nr == NR_connect ? (int)p->buf : (int)ret;
    __u64 ts = p->ts;
    pend_del(pt, p);
    if (ret < 0)
        return 0;
    __u32 dir = 0;
    __u64 conn = fd_conn(fd, &dir, NULL, NULL);
    if (!conn)
        return 0;
    if (nr == NR_connect && dir != UC_DIR_CLIENT)
        return 0;
    if (nr != NR_connect && dir != UC_DIR_SERVER)
        return 0;
    set_watched((__u32)(pt >> 32));
    /* created by whichever end returns first (the app end may already be
     * reading, the client already writing, when the other returns); an
     * entry is deleted at the first close, so it is never stale here unless
     * both closes were missed */
    struct uc_conn *ncs = cstate_get(conn, false);
    if (ncs)
        ncs->fresh = 1;
    struct uc_rec *r = rec_start(nr == NR_connect ? UC_EV_CONNECT : UC_EV_ACCEPT, dir, conn,
                                 nr == NR_connect ? ts : bpf_ktime_get_ns());
    if (r)
        emit_head(&r->h);
    return 0;
}

/* The app end's first read after its last write: the worker took the
 * request (PICKUP: queue -> run, unixcap.h), at the read's exit (p->ts,
 * read here: most reads are not a pickup and need no clock). */
static __always_inline void note_pickup(struct uc_conn *cs, struct uc_pending *p, long ret)
{
    if (cs->picked)
        return;
    cs->picked = 1;
    p->ts = bpf_ktime_get_ns();
    struct uc_rec *r = rec_start(UC_EV_PICKUP, UC_DIR_SERVER, p->conn, p->ts);
    if (r) {
        r->h.aux = p->ts;
        r->h.len = (__u32)ret;
        emit_head(&r->h);
    }
}

/* Of the ret bytes the app end read, the part sendfile sent and nobody read
 * yet: its stream offset (*off), the bytes before it (*skip) and its length
 * (*want); false when there is none. */
static __always_inline bool sendfile_window(struct uc_conn *cs, long ret, __u64 *off, __u64 *skip,
                                            __u64 *want)
{
    *off = __sync_fetch_and_add(&cs->rd, (__u64)ret);
    __u64 end = *off + (__u64)ret, lo = cs->sf_lo, hi = cs->sf_hi;
    if (hi <= *off || lo >= end || lo >= hi)
        return false;
    if (lo > *off)
        *skip = lo - *off;
    if (hi < end)
        end = hi;
    *want = end - *off - *skip;
    if (end >= hi)
        cs->sf_lo = cs->sf_hi = 0;   /* all read */
    else
        cs->sf_lo = end;
    return true;
}

/* sendfile returned: a SKIP record of its bytes, which fcgiscope reads back
 * from the file (woken at once: the sender may close the file soon). */
static __always_inline void emit_sendfile(const struct uc_pending *p, __u64 off, long ret)
{
    struct uc_rec *r = rec_start(UC_EV_SKIP, p->dir, p->conn, p->ts);
    if (r) {
        r->h.flags = UC_F_SENDFILE;
        r->h.off = off;
        r->h.len = (__u32)ret;
        r->h.aux = p->aux;
        r->h.aux2 = p->aux2;
        emit_head_now(&r->h);
    }
}

/* want bytes from the call's buffer (after skip) as DATA records at stream
 * offset off + skip, by bpf_loop; what does not fit in UC_MAX_CHUNKS
 * records (or an unreadable iovec) as a SKIP, so the stream keeps its
 * length. */
static __always_inline void copy_out(const struct uc_pending *p, __u64 off, __u64 skip, __u64 want)
{
    __u32 zero = 0;
    struct uc_copy *c = bpf_map_lookup_elem(&copyst, &zero);
    if (!c)
        return;
    c->p = *p;
    c->left = want;
    c->off = off + skip;
    c->skip = skip;
    c->iov_idx = 0;
    c->iov_pos = 0;
    c->flat_pos = 0;
    bpf_loop(UC_MAX_CHUNKS, copy_chunk, NULL, 0);
    if (c->left > 0 && !(p->flags & UC_F_READ)) {
        struct uc_rec *r = rec_start(UC_EV_SKIP, p->dir, p->conn, p->ts);
        if (r) {
            r->h.off = c->off;
            r->h.len = (__u32)c->left;
            emit_head(&r->h);
        }
    }
}

/* A read or write that moved ret > 0 bytes: the connection's offsets, a
 * pickup, and the bytes (or sendfile's SKIP). cs: the connection's state,
 * looked up by the caller (a read has it already: one hash lookup less). */
static __always_inline void leave_io(struct uc_conn *cs, struct uc_pending *p, long ret)
{
    __u64 off = 0;
    __u64 skip = 0, want = (__u64)ret;
    if (p->flags & UC_F_READ) {
        /* copy only what overlaps bytes sendfile sent and nobody read yet */
        if (!cs)
            return;
        note_pickup(cs, p, ret);
        if (!cs->fresh || !sendfile_window(cs, ret, &off, &skip, &want))
            return;
        if (!p->ts)
            p->ts = bpf_ktime_get_ns();
    } else if (cs) {
        off = __sync_fetch_and_add(&cs->off[p->dir & 1], (__u64)ret);
        if ((p->dir & 1) == UC_DIR_SERVER)
            cs->picked = 0;   /* its next read takes the next request */
    }
    if (p->nr == NR_sendfile)
        emit_sendfile(p, off, ret);
    else
        copy_out(p, off, skip, want);
}

/* read/readv/recvfrom/recvmsg returned: all of it here, nothing at entry.
 * At sys_exit the call's arguments are still in pt_regs (x86-64: the entry
 * code saves di, si, dx, r10, r8, r9 and the number in orig_ax on the
 * kernel stack; the handler reads them from there, and only ax (the return
 * value) is written before the sys_exit tracepoint runs. Calls that do
 * rewrite pt_regs: execve (a new register set), rt_sigreturn (the saved
 * one), and a ptracer's changes at its syscall-exit stop, which comes after
 * this tracepoint (the generic entry code x86-64 uses since Linux 5.11,
 * syscall_exit_work: trace_sys_exit, then ptrace_report_syscall_exit);
 * none of the reads. On this project's 6.18 kernel the live test's bytes
 * read after a sendfile, copied here, match the file byte for byte.) The
 * buffer holds the bytes read;
 * recvmsg's msghdr still points at the same iovecs (the kernel writes back
 * only msg_namelen, msg_controllen and msg_flags). The fd is resolved now:
 * a thread that closes it and opens another on the same number while
 * this read is blocked makes the read look like one on the new file. Only
 * the app end's reads matter: its pickup, the count of bytes it read and
 * what sendfile sent it (leave_io with UC_F_READ). */
static __always_inline int leave_read(struct pt_regs *regs, long nr, long ret)
{
    if (ret <= 0)
        return 0;
    __u32 dir = 0;
    struct sock *sk = NULL;
    __u64 conn = fd_conn((int)arg(regs, 0), &dir, &sk, NULL);
    if (!conn || dir != UC_DIR_SERVER)
        return 0;
    watch_peer(sk);
    struct uc_conn *cs = bpf_map_lookup_elem(&conns, &conn);
    if (!cs || (!cs->fresh && cs->picked))
        return 0;   /* neither a pickup nor bytes to fill in */
    struct uc_pending p = {};
    p.nr = (__u32)nr;
    p.conn = conn;
    p.dir = UC_DIR_CLIENT;   /* the bytes are the client's */
    p.flags = UC_F_READ;   /* p.ts: the clock only if a record is made (leave_io) */
    if (io_args(regs, nr, &p))
        leave_io(cs, &p, ret);
    return 0;
}

static __always_inline int leave(struct pt_regs *regs, long ret)
{
    /* most syscalls of the machine end here: the number first (one read),
     * the per-thread state only for the ones uc_enter may have noted */
    long nr0 = RD(regs, orig_ax);
    if (!followed(nr0, FOLLOW_EXIT))
        return 0;
    __u64 pt = bpf_get_current_pid_tgid();
    /* entry noted a call only for a watched process, or a connect/accept */
    if (nr0 != NR_accept4 && !((RESOLVE_EXIT >> nr0) & 1) && !is_watched((__u32)(pt >> 32)))
        return 0;
    if (nr0 != NR_accept4 && ((READS >> nr0) & 1))
        return leave_read(regs, nr0, ret);
    struct uc_pending *p = pend_get(pt);
    if (!p)
        return 0;
    if (p->nr == NR_connect || p->nr == NR_accept || p->nr == NR_accept4)
        return leave_connect(pt, p, ret);
    if (ret > 0)
        leave_io(cstate_get(p->conn, false), p, ret);
    pend_del(pt, p);
    return 0;
}

#if UC_BTF
SEC("tp_btf/sys_exit")
int BPF_PROG(uc_exit, struct pt_regs *regs, long ret)
{
    return leave(regs, ret);
}
#else
SEC("raw_tracepoint/sys_exit")
int uc_exit(struct bpf_raw_tracepoint_args *ctx)
{
    return leave((struct pt_regs *)ctx->args[0], (long)ctx->args[1]);
}
#endif
