/* unixcap.c — fcgiscope --unix PATH: eBPF events of one listening Unix socket -> synthetic IPv4/TCP frames.
 *
 * Normative reference: see unixcap.h; analyzer/bpf/unixcap.h (the events).
 *
 * Path of an event: ring buffer (ring_buffer__poll) -> on_event() copies it
 * into a reorder queue sorted by the syscall-entry timestamp -> released once
 * REORDER_NS old (a write's record is submitted at syscall exit, so a reply
 * written on another CPU can reach the ring first; ordering by entry time
 * puts the request first) -> release() turns it into frames of its
 * connection's flow -> fcs_cap_next() hands them out one by one.
 */
#define _GNU_SOURCE 1

#include "unixcap.h"
#include "synflow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

/* the synthetic addresses and their processes: synflow.c */

/* ---- when the app end took each request (UC_EV_PICKUP), per connection ---- */

#define PICK_SLOTS (1u << 16)       /* connections remembered (by number) */
#define PICK_RING 8                 /* pickups remembered per connection */
typedef struct pick_slot {
    uint64_t n1;                    /* connection number + 1 (0: empty) */
    uint32_t count;                 /* pickups noted (the ring holds the last PICK_RING) */
    int64_t taken[PICK_RING];       /* the read's exit (realtime ns) */
    int64_t ready[PICK_RING];       /* the read's entry (its exit: unixcap.h UC_EV_PICKUP) */
} pick_slot;
static pick_slot *pick_tab;

#ifdef FCGISCOPE_HAVE_UNIX
static void pick_note(uint64_t n, int64_t taken, int64_t ready)
{
    if (!pick_tab && !(pick_tab = calloc(PICK_SLOTS, sizeof *pick_tab)))
        return;
    pick_slot *s = &pick_tab[n % PICK_SLOTS];
    if (s->n1 != n + 1) {
        memset(s, 0, sizeof *s);
        s->n1 = n + 1;
    }
    s->taken[s->count % PICK_RING] = taken;
    s->ready[s->count % PICK_RING] = ready;
    s->count++;
}
#endif

bool fcs_unix_pickup(const uint8_t a[4], uint16_t port, int64_t t_begin_ns, int64_t t_end_ns,
                     int64_t *taken_ns, int64_t *ready_ns)
{
    uint64_t n;
    if (!pick_tab || !fcs_sf_conn_number(a, port, &n))
        return false;
    const pick_slot *s = &pick_tab[n % PICK_SLOTS];
    if (s->n1 != n + 1)
        return false;
    uint32_t first = s->count > PICK_RING ? s->count - PICK_RING : 0;
    for (uint32_t i = first; i < s->count; i++) {
        int64_t t = s->taken[i % PICK_RING];
        if (t >= t_begin_ns && t <= t_end_ns) {
            *taken_ns = t;
            *ready_ns = s->ready[i % PICK_RING];
            return true;
        }
    }
    return false;
}

static fcs_unix_worker *workers;
static size_t nworkers, capworkers;

static int worker_cmp(const void *a, const void *b)
{
    const fcs_unix_worker *x = a, *y = b;
    if (x->requests != y->requests)
        return x->requests < y->requests ? 1 : -1;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void fcs_unix_worker_note(const uint8_t a[4], uint16_t port, bool has_latency, int64_t latency_ns,
                          bool has_queue, int64_t queue_ns, const char *uri, size_t uri_len)
{
    fcs_unix_who w;
    memset(&w, 0, sizeof w);
    if (!fcs_unix_who_get(a, port, &w) || !w.server_pid)
        return;
    fcs_unix_worker *k = NULL;
    for (size_t i = 0; i < nworkers && !k; i++)
        if (workers[i].pid == w.server_pid)
            k = &workers[i];
    if (!k) {
        if (nworkers == capworkers) {
            size_t nc = capworkers ? capworkers * 2 : 16;
            fcs_unix_worker *nw = realloc(workers, nc * sizeof *nw);
            if (!nw)
                return;
            workers = nw;
            capworkers = nc;
        }
        k = &workers[nworkers++];
        memset(k, 0, sizeof *k);
        k->pid = w.server_pid;
        memcpy(k->comm, w.server_comm, sizeof k->comm);
    }
    k->requests++;
    if (has_queue) {
        k->queued_ns += queue_ns > 0 ? queue_ns : 0;
        if (queue_ns >= 1000000)
            k->waited++;
    }
    if (!has_latency) {
        k->incomplete++;
        return;
    }
    k->busy_ns += has_queue && queue_ns > 0 && queue_ns <= latency_ns ? latency_ns - queue_ns
                                                                      : latency_ns;
    if (latency_ns > k->slowest_ns || k->requests - k->incomplete == 1) {
        k->slowest_ns = latency_ns;
        k->slowest_uri_len = uri && uri_len < sizeof k->slowest_uri ? uri_len
                             : (uri ? sizeof k->slowest_uri : 0);
        if (k->slowest_uri_len)
            memcpy(k->slowest_uri, uri, k->slowest_uri_len);
    }
}

size_t fcs_unix_workers(const fcs_unix_worker **out)
{
    if (nworkers > 1)
        qsort(workers, nworkers, sizeof *workers, worker_cmp);
    *out = workers;
    return nworkers;
}

bool fcs_unix_fpm_socket(char *out, size_t len)
{
    FILE *f = fopen("/proc/net/unix", "r");
    if (!f)
        return false;
    char line[PATH_MAX + 128];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long flags, type, state;
        char path[PATH_MAX];
        path[0] = '\0';
        /* Num RefCount Protocol Flags Type St Inode Path */
        if (sscanf(line, "%*s %*s %*s %lx %lx %lx %*s %4095s", &flags, &type, &state, path) != 4)
            continue;
        /* __SO_ACCEPTCON (listening), SOCK_STREAM, a file-system path */
        if (!(flags & 0x10000) || type != 1 || path[0] != '/')
            continue;
        if (!strstr(path, "php") && !strstr(path, "fpm"))
            continue;
        snprintf(out, len, "%s", path);
        found = true;
    }
    fclose(f);
    return found;
}

#ifndef FCGISCOPE_HAVE_UNIX

bool fcs_unix_supported(void) { return false; }

fcs_capture *fcs_unix_open(const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "--unix %s: this fcgiscope was built without eBPF support "
             "(rebuild with libbpf-dev, bpftool and clang installed)", path);
    return NULL;
}

#else

#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "unixcap.skel.h"
#include "unixcap_btf.skel.h"
#include "../bpf/unixcap.h"

#define REORDER_NS 20000000ll       /* hold events 20 ms to order them by entry time */
#define WAIT_MS 250                  /* FCS_CAP_TIMEOUT after that long without a frame */
#define POLL_MS 20                   /* ring buffer drained every 20 ms (or when a quarter full):
                                        was 5 ms, and those wakeups cost the traced service
                                        more than the draining (bench/README.md) */
#define HOLD_NS 2000000000ll         /* sendfile bytes wait that long for the app's reads */

typedef struct item {
    struct uc_event h;
    uint64_t seq;                    /* arrival order: ties */
    uint8_t *data;                   /* h.len bytes for DATA */
    bool awaiting;                   /* sendfile bytes not read back: waiting for the app's reads */
    bool inl;                        /* data is in the same allocation, after the item */
    signed char pool;                /* the pool its block goes back to (item_alloc), or -1 */
    uint32_t filled;                 /* bytes of it the reads filled so far */
} item;

typedef fcs_sf_conn conn;           /* synflow.h: a connection's synthetic flow */

typedef struct uc {
    struct unixcap_btf_bpf *bskel;   /* tp_btf build (unixcap.bpf.c), or */
    struct unixcap_bpf *skel;        /* the raw tracepoint one where that is refused */
    struct bpf_map *m_events, *m_lost;   /* of the one loaded */
    uint64_t *watched;               /* its bit per watched tgid (.bss, mmapped) */
    struct ring_buffer *rb;
    char path[PATH_MAX];
    char err[256];
    volatile int stop;
    /* reorder queue: q[qh..qn) sorted by (ts, seq) */
    struct qent *q;
    size_t qh, qn, qcap;
    uint64_t seq;
    uint64_t released_ts;            /* entry ts of the last event released */
    bool rel_more;                   /* release_upto() stopped at frames: more to release */
    uint64_t rel_limit;              /* ... up to this entry ts */
    int64_t rel_now;                 /* ... as of then */
    /* frames ready, connections (synflow.h) */
    fcs_sf sf;
    /* clocks */
    int64_t real_minus_mono;
    int64_t clock_at;
    uint64_t received;
    int sendfile_mode;               /* FCGISCOPE_UNIX_SENDFILE: 0 both ways, 1 gap (neither),
                                        2 reads (no /proc read-back) (tests) */
    item **await;                    /* sendfile items waiting for reads */
    size_t nawait, capawait;
    item **stash;                    /* recent reads (the app may read before the
                                        sendfile record arrives): kept HOLD_NS */
    size_t nstash, capstash, stash_bytes;
    bool debug;                      /* FCGISCOPE_UNIX_DEBUG */
    int poll_ms;                     /* POLL_MS, or FCGISCOPE_UNIX_POLL_MS (benchmarks) */
    struct item **pool[2];           /* free item blocks (item_alloc): POOL_MAX[i] each */
    size_t npool[2];
    volatile int drain;              /* 1: fcs_cap_drain() asked; 2: flushed, EOF when empty */
} uc;

/* Records reuse blocks kept in two pools: header-only ones (connect, close,
 * pickup, ...) and those with up to POOL_DATA payload bytes (all but body
 * chunks). malloc and free were ~10% of fcgiscope at 20,000 requests/s.
 * Items live in the reorder queue for REORDER_NS plus a drain interval:
 * ~8 records a request, ~3 with payload, so at 25,000 requests/s some
 * 8,000 and 3,000 at a time (a pool of 1024 was too small: the rest went
 * to malloc). At most ~1 + 9 MiB kept. */
#define POOL_DATA 2048
static const size_t POOL_BYTES[2] = { 0, POOL_DATA };
static const size_t POOL_MAX[2] = { 8192, 4096 };

static item *item_alloc(uc *u, size_t dlen)
{
    item *it;
    int k = dlen == 0 ? 0 : dlen <= POOL_DATA ? 1 : -1;
    if (k >= 0 && u->npool[k])
        it = u->pool[k][--u->npool[k]];
    else
        it = malloc(sizeof *it + (k >= 0 ? POOL_BYTES[k] : dlen));
    if (it) {
        memset(it, 0, sizeof *it);
        it->pool = (signed char)k;
    }
    return it;
}

static void item_free(uc *u, item *it)
{
    if (!it->inl)
        free(it->data);
    int k = it->pool;
    if (k >= 0 && u->pool[k] && u->npool[k] < POOL_MAX[k])
        u->pool[k][u->npool[k]++] = it;
    else
        free(it);
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sync_clocks(uc *u)
{
    int64_t m1 = clock_ns(CLOCK_MONOTONIC);
    int64_t r = clock_ns(CLOCK_REALTIME);
    int64_t m2 = clock_ns(CLOCK_MONOTONIC);
    u->real_minus_mono = r - (m1 + (m2 - m1) / 2);
    u->clock_at = m2;
}

/* ---- reorder queue ----
 * Records reach the ring nearly in entry-time order (they are submitted at
 * syscall exit, microseconds later; the CPUs interleave): each new one goes
 * in at the tail and moves back past the few later ones, the oldest leaves at
 * the head. Keys are kept beside the pointers (no item is touched to compare);
 * was a binary heap of pointers, ~12% of fcgiscope's CPU at 12,000 requests/s. */

struct qent {
    uint64_t ts, seq;
    item *it;
};

static bool qent_lt(const struct qent *a, const struct qent *b)
{
    return a->ts != b->ts ? a->ts < b->ts : a->seq < b->seq;
}

static bool q_push(uc *u, item *it)
{
    if (u->qn == u->qcap) {
        size_t live = u->qn - u->qh;
        if (u->qh > 0 && live * 2 <= u->qcap) {
            memmove(u->q, u->q + u->qh, live * sizeof *u->q);
        } else {
            size_t nc = u->qcap ? u->qcap * 2 : 1024;
            struct qent *nq = malloc(nc * sizeof *nq);
            if (!nq)
                return false;
            if (live)
                memcpy(nq, u->q + u->qh, live * sizeof *nq);
            free(u->q);
            u->q = nq;
            u->qcap = nc;
        }
        u->qh = 0;
        u->qn = live;
    }
    struct qent e = { it->h.ts, it->seq, it };
    size_t i = u->qn++;
    while (i > u->qh && qent_lt(&e, &u->q[i - 1])) {
        u->q[i] = u->q[i - 1];
        i--;
    }
    u->q[i] = e;
    return true;
}

static size_t q_len(const uc *u) { return u->qn - u->qh; }
static item *q_first(const uc *u) { return u->q[u->qh].it; }

static item *q_pop(uc *u)
{
    item *it = u->q[u->qh++].it;
    if (u->qh == u->qn)
        u->qh = u->qn = 0;
    return it;
}

/* ---- frames and connections: synflow.c ---- */

static bool emit(uc *u, conn *c, int dir, uint8_t flags, uint64_t off, const uint8_t *pl,
                 uint32_t cap, uint32_t wire, int64_t ts)
{
    return fcs_sf_emit(&u->sf, c, dir, flags, off, pl, cap, wire, ts);
}

static conn *conn_find(uc *u, uint64_t key) { return fcs_sf_conn_find(&u->sf, key); }
static void conn_drop(uc *u, conn *c) { fcs_sf_conn_drop(&u->sf, c); }
static conn *conn_new(uc *u, uint64_t key) { return fcs_sf_conn_new(&u->sf, key); }

static void note_who(conn *c, int dir, const struct uc_event *h)
{
    fcs_unix_who *w = fcs_sf_who(c);
    if (dir == UC_DIR_CLIENT && !w->client_pid) {
        w->client_pid = h->tgid;
        memcpy(w->client_comm, h->comm, sizeof w->client_comm);
        w->client_comm[15] = '\0';
    } else if (dir == UC_DIR_SERVER && !w->server_pid) {
        w->server_pid = h->tgid;
        memcpy(w->server_comm, h->comm, sizeof w->server_comm);
        w->server_comm[15] = '\0';
    }
}

static bool catch_up(uc *u, conn *c, int dir, uint64_t off, int64_t ts)
{
    return fcs_sf_catch_up(&u->sf, c, dir, off, ts);
}

static bool data_out(uc *u, conn *c, int dir, uint64_t off, const uint8_t *p, uint64_t n, int64_t ts)
{
    return fcs_sf_data(&u->sf, c, dir, off, p, n, ts);
}

static void handshake(uc *u, conn *c, int64_t ts) { fcs_sf_handshake(&u->sf, c, ts); }

/* Read back what sendfile(2) sent from the file (still open in the sender:
 * nginx keeps its request body file until the request ends). */
static uint8_t *sendfile_bytes(const struct uc_event *h)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%u/fd/%llu", h->tgid, (unsigned long long)h->aux);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (getenv("FCGISCOPE_UNIX_DEBUG"))
            fprintf(stderr, "sendfile %s: %s\n", p, strerror(errno));
        return NULL;
    }
    uint8_t *b = malloc(h->len ? h->len : 1);
    size_t got = 0;
    while (b && got < h->len) {
        ssize_t r = pread(fd, b + got, h->len - got, (off_t)h->aux2 + (off_t)got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (getenv("FCGISCOPE_UNIX_DEBUG"))
        fprintf(stderr, "sendfile %s off %llu len %u: got %zu\n", p, (unsigned long long)h->aux2,
                h->len, got);
    if (got != h->len) {
        free(b);
        return NULL;
    }
    return b;
}

/* ---- events ---- */

static void await_remove(struct uc *u, item *it);

static void release(uc *u, item *it)
{
    const struct uc_event *h = &it->h;
    if (it->awaiting) {
        /* not all of it was read back in time: the whole range a gap */
        await_remove(u, it);
        free(it->data);
        it->data = NULL;
    }
    int64_t ts = (int64_t)h->ts + u->real_minus_mono;
    int dir = h->dir & 1;
    conn *c = conn_find(u, h->conn);
    switch (h->type) {
    case UC_EV_CONNECT:
        if (c) {
            /* the sock was freed and reused: the old connection ended unseen */
            conn_drop(u, c);
        }
        c = conn_new(u, h->conn);
        if (!c)
            break;
        note_who(c, dir, h);
        handshake(u, c, ts);
        break;
    case UC_EV_ACCEPT:
        if (!c && (c = conn_new(u, h->conn)) != NULL)
            handshake(u, c, ts);
        if (c)
            note_who(c, dir, h);
        break;
    case UC_EV_DATA:
    case UC_EV_SKIP:
        if (!c && !(c = conn_new(u, h->conn)))
            break;
        note_who(c, dir, h);
        if (h->type == UC_EV_DATA || it->data)
            data_out(u, c, dir, h->off, it->data, h->len, ts);
        else
            catch_up(u, c, dir, h->off + h->len, ts);  /* a gap of exactly len bytes */
        break;
    case UC_EV_PICKUP:
        if (c)
            pick_note(c->n, ts, (int64_t)h->aux + u->real_minus_mono);
        break;
    case UC_EV_SHUTDOWN:
    case UC_EV_CLOSE:
        if (!c)
            break;
        if (!(h->flags & UC_F_NOOFF))
            catch_up(u, c, dir, h->off, ts);
        if (h->flags & UC_F_RST) {
            emit(u, c, dir, FCS_TH_RST | FCS_TH_ACK, c->next[dir] == UINT64_MAX ? 0 : c->next[dir],
                 NULL, 0, 0, ts);
            conn_drop(u, c);
            break;
        }
        if (!c->fin[dir] && c->next[dir] != UINT64_MAX) {
            emit(u, c, dir, FCS_TH_FIN | FCS_TH_ACK, c->next[dir], NULL, 0, 0, ts);
            c->fin[dir] = true;
        }
        if (h->type == UC_EV_CLOSE && c->fin[0] && c->fin[1])
            conn_drop(u, c);
        break;
    }
    item_free(u, it);
}

static void await_remove(uc *u, item *it)
{
    for (size_t i = 0; i < u->nawait; i++)
        if (u->await[i] == it) {
            u->await[i] = u->await[--u->nawait];
            break;
        }
    it->awaiting = false;
}

/* Copy what a read (UC_F_READ record h, n bytes at p) has of the waiting
 * sendfile item it; true when that completed it (then no longer waiting).
 * The app end reads each byte once, so pieces never overlap. */
static bool fill_item(uc *u, item *it, const struct uc_event *h, const uint8_t *p, size_t n)
{
    uint64_t r0 = h->off, r1 = h->off + n;
    uint64_t a = it->h.off, b = it->h.off + it->h.len;
    if (it->h.conn != h->conn || (it->h.dir & 1) != (h->dir & 1) || r1 <= a || r0 >= b)
        return false;
    if (!it->data && !(it->data = malloc(it->h.len)))
        return false;
    uint64_t lo = r0 > a ? r0 : a, hi = r1 < b ? r1 : b;
    memcpy(it->data + (lo - a), p + (lo - r0), hi - lo);
    it->filled += (uint32_t)(hi - lo);
    if (it->filled < it->h.len)
        return false;
    await_remove(u, it);
    return true;
}

/* Bytes the app end read (UC_F_READ) at stream offset off: the parts that
 * fall in sendfile items still waiting are copied there. */
static void fill_from_read(uc *u, const struct uc_event *h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < u->nawait;)
        if (!fill_item(u, u->await[i], h, p, n))
            i++;   /* else the slot holds another item now */
}

#define STASH_MAX_BYTES (64u << 20)

static void stash_prune(uc *u, int64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < u->nstash; i++) {
        item *s = u->stash[i];
        if (now - (int64_t)s->seq > HOLD_NS) {   /* seq: arrival time here */
            u->stash_bytes -= s->h.len;
            free(s->data);
            free(s);
        } else {
            u->stash[k++] = s;
        }
    }
    u->nstash = k;
}

static void stash_add(uc *u, const struct uc_event *h, const uint8_t *p, size_t n)
{
    if (u->stash_bytes + n > STASH_MAX_BYTES)
        return;
    if (u->nstash == u->capstash) {
        size_t nc = u->capstash ? u->capstash * 2 : 64;
        item **ns = realloc(u->stash, nc * sizeof *ns);
        if (!ns)
            return;
        u->stash = ns;
        u->capstash = nc;
    }
    item *s = calloc(1, sizeof *s);
    if (!s || !(s->data = malloc(n ? n : 1))) {
        free(s);
        return;
    }
    s->h = *h;
    s->h.len = (uint32_t)n;
    s->seq = (uint64_t)clock_ns(CLOCK_MONOTONIC);
    memcpy(s->data, p, n);
    u->stash[u->nstash++] = s;
    u->stash_bytes += n;
}

static int on_event(void *ctx, void *data, size_t size)
{
    uc *u = ctx;
    if (size < sizeof(struct uc_event))
        return 0;
    const struct uc_event *eh = data;
    if (u->debug)
        fprintf(stderr, "ev %u dir %u flags %u conn %llx off %llu len %u pid %u ts %llu\n", eh->type,
                eh->dir, eh->flags, (unsigned long long)eh->conn, (unsigned long long)eh->off, eh->len,
                eh->pid, (unsigned long long)eh->ts);
    if (eh->type == UC_EV_DATA && (eh->flags & UC_F_READ)) {
        size_t n = size - sizeof *eh;
        if (eh->len < n)
            n = eh->len;
        u->received++;
        fill_from_read(u, eh, (const uint8_t *)data + sizeof *eh, n);
        stash_add(u, eh, (const uint8_t *)data + sizeof *eh, n);
        return 0;
    }
    /* a DATA record's bytes live right after its item: one allocation */
    size_t dlen = 0;
    if (eh->type == UC_EV_DATA) {
        dlen = size - sizeof *eh;
        if (eh->len < dlen)
            dlen = eh->len;
    }
    item *it = item_alloc(u, dlen);
    if (!it)
        return -ENOMEM;
    memcpy(&it->h, data, sizeof it->h);
    it->seq = u->seq++;
    u->received++;
    if (it->h.type == UC_EV_DATA) {
        it->h.len = (uint32_t)dlen;
        it->data = (uint8_t *)(it + 1);
        it->inl = true;
        memcpy(it->data, (const uint8_t *)data + sizeof it->h, dlen);
    } else if (it->h.type == UC_EV_SKIP && (it->h.flags & UC_F_SENDFILE)) {
        if (u->sendfile_mode == 0)
            it->data = sendfile_bytes(&it->h);
        if (!it->data && u->sendfile_mode != 1 && it->h.len > 0) {
            /* the file is gone: the app end's reads of that range fill it */
            if (u->nawait == u->capawait) {
                size_t nc = u->capawait ? u->capawait * 2 : 16;
                item **na = realloc(u->await, nc * sizeof *na);
                if (na) {
                    u->await = na;
                    u->capawait = nc;
                }
            }
            if (u->nawait < u->capawait) {
                it->awaiting = true;
                u->await[u->nawait++] = it;
                /* reads that came before this record */
                for (size_t i = 0; i < u->nstash && it->awaiting; i++)
                    fill_item(u, it, &u->stash[i]->h, u->stash[i]->data, u->stash[i]->h.len);
            }
        }
    }
    /* an event older than what was released already (a call blocked longer
     * than REORDER_NS) goes out next, in place */
    if (it->h.ts < u->released_ts)
        it->h.ts = u->released_ts;
    if (!q_push(u, it)) {
        item_free(u, it);
        return -ENOMEM;
    }
    return 0;
}

/* The records released are 20-40 ms old and out of the cache (perf: the
 * first look at each was ~7% of fcgiscope): the queue knows which come
 * next, so their header lines are fetched a few records ahead. */
#define PREFETCH_AHEAD 4
static void prefetch_item(const item *it)
{
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(it);
    __builtin_prefetch((const char *)it + 64);
#else
    (void)it;
#endif
}

/* Release the queued events up to limit, in order, until one made frames:
 * true when it stopped there (call again, with the same limit and now, once
 * the frames went out). So a few frames are pending at a time, not those of
 * a whole drain: their buffers are reused, still in the cache. */
static bool release_upto(uc *u, uint64_t limit, int64_t now)
{
    while (q_len(u) && u->q[u->qh].ts <= limit) {
        if (fcs_sf_pending(&u->sf))
            return true;
        if (q_len(u) > PREFETCH_AHEAD)
            prefetch_item(u->q[u->qh + PREFETCH_AHEAD].it);
        if (q_first(u)->awaiting && now - (int64_t)q_first(u)->h.ts < HOLD_NS)
            break;   /* sendfile bytes may still come from the app's reads */
        item *it = q_pop(u);
        u->released_ts = it->h.ts;
        release(u, it);
    }
    return false;
}

/* ---- the capture source ---- */

static int src_next(void *ud, fcs_packet *pkt)
{
    uc *u = ud;
    int64_t start = 0;
    for (;;) {
        if (fcs_sf_pop(&u->sf, pkt))
            return FCS_CAP_PACKET;
        if (u->rel_more) {
            /* a release stopped at frames: go on where it stopped */
            u->rel_more = release_upto(u, u->rel_limit, u->rel_now);
            continue;
        }
        if (u->drain == 1) {
            /* stopped: what the ring and the reorder queue hold goes out now */
            ring_buffer__consume(u->rb);
            u->drain = 2;
            u->rel_limit = UINT64_MAX;
            u->rel_now = INT64_MAX;
            u->rel_more = release_upto(u, u->rel_limit, u->rel_now);
            continue;
        }
        if (u->stop || u->drain == 2)
            return FCS_CAP_EOF;
        int64_t now = clock_ns(CLOCK_MONOTONIC);
        if (!start)
            start = now;
        if (now - u->clock_at > 1000000000)
            sync_clocks(u);
        u->rel_limit = (uint64_t)(now - REORDER_NS);
        u->rel_now = now;
        u->rel_more = release_upto(u, u->rel_limit, u->rel_now);
        if (u->nstash)
            stash_prune(u, now);
        if (fcs_sf_pending(&u->sf))
            continue;
        int64_t waited = (now - start) / 1000000;
        if (waited >= WAIT_MS)
            return FCS_CAP_TIMEOUT;
        /* most records wake nobody (BPF_RB_NO_WAKEUP): drained every
         * POLL_MS; a sendfile record, or a ring a quarter full, wakes the
         * poll at once */
        int r = ring_buffer__poll(u->rb, u->poll_ms);
        /* epoll only reports wakeups: what came without one is read here */
        if (r >= 0 || r == -EINTR)
            r = ring_buffer__consume(u->rb);
        if (r < 0 && r != -EINTR) {
            snprintf(u->err, sizeof u->err, "reading the BPF ring buffer: %s", strerror(-r));
            return FCS_CAP_ERROR;
        }
    }
}

static const char *src_error(void *ud)
{
    return ((uc *)ud)->err;
}

static bool src_stats(void *ud, uint64_t *received, uint64_t *dropped)
{
    uc *u = ud;
    int ncpu = libbpf_num_possible_cpus();
    uint64_t lost = 0;
    if (ncpu > 0) {
        uint64_t *v = calloc((size_t)ncpu, sizeof *v);
        uint32_t k = 0;
        if (v && bpf_map__lookup_elem(u->m_lost, &k, sizeof k, v,
                                      (size_t)ncpu * sizeof *v, 0) == 0)
            for (int i = 0; i < ncpu; i++)
                lost += v[i];
        free(v);
    }
    if (received)
        *received = u->received + lost;
    if (dropped)
        *dropped = lost;
    return true;
}

static void src_breakloop(void *ud)
{
    ((uc *)ud)->stop = 1;
}

static void src_drain(void *ud)
{
    uc *u = ud;
    u->stop = 0;
    u->drain = 1;
}

/* ---- the two builds of the BPF programs (unixcap.bpf.c) ---- */

static void variant_down(uc *u)
{
    unixcap_btf_bpf__destroy(u->bskel);
    unixcap_bpf__destroy(u->skel);
    u->bskel = NULL;
    u->skel = NULL;
    u->m_events = u->m_lost = NULL;
    u->watched = NULL;
}

#define UC_SETUP(sk, st) do {                                                              \
        (sk)->rodata->target_ino = (uint64_t)(st)->st_ino;                                \
        (sk)->rodata->target_dev = (uint32_t)(major((st)->st_dev) << 20 | minor((st)->st_dev)); \
        (sk)->rodata->self_tgid = (uint32_t)getpid();                                     \
        u->m_events = (sk)->maps.events;                                                  \
        u->m_lost = (sk)->maps.lost;                                                      \
    } while (0)

static int mark_holders(uc *u, const struct stat *st);

/* Opens, loads and attaches one build (btf: tp_btf, else raw tracepoints),
 * marking the processes that already hold the socket in between. 0, or an
 * errno with *stage "open", "load" or "attach" (the build is then down). */
static int variant_up(uc *u, bool btf, const struct stat *st, const char **stage)
{
    *stage = "open";
    if (btf) {
        u->bskel = unixcap_btf_bpf__open();
        if (!u->bskel)
            return errno ? errno : ENOMEM;
        UC_SETUP(u->bskel, st);
    } else {
        u->skel = unixcap_bpf__open();
        if (!u->skel)
            return errno ? errno : ENOMEM;
        UC_SETUP(u->skel, st);
    }
    /* FCGISCOPE_UNIX_RING_KB: ring buffer size (a power of two pages; tests
     * shrink it to make records get lost) */
    const char *rk = getenv("FCGISCOPE_UNIX_RING_KB");
    if (rk && *rk) {
        unsigned long kb = strtoul(rk, NULL, 10);
        if (kb >= 4 && kb <= (1ul << 20) && !(kb & (kb - 1)))
            bpf_map__set_max_entries(u->m_events, (uint32_t)(kb * 1024));
    }
    uint64_t wake = bpf_map__max_entries(u->m_events) / 4;
    if (btf)
        u->bskel->rodata->wake_bytes = wake;
    else
        u->skel->rodata->wake_bytes = wake;
    *stage = "load";
    errno = 0;
    int r = btf ? unixcap_btf_bpf__load(u->bskel) : unixcap_bpf__load(u->skel);
    if (r == 0) {
        /* .bss is mapped into this process by the load */
        u->watched = (uint64_t *)(btf ? u->bskel->bss->watched : u->skel->bss->watched);
        mark_holders(u, st);
        *stage = "attach";
        errno = 0;
        r = btf ? unixcap_btf_bpf__attach(u->bskel) : unixcap_bpf__attach(u->skel);
    }
    if (r) {
        int e = errno ? errno : -r;
        variant_down(u);
        return e ? e : EINVAL;
    }
    return 0;
}

static void src_close(void *ud)
{
    uc *u = ud;
    if (!u)
        return;
    ring_buffer__free(u->rb);
    variant_down(u);
    while (q_len(u)) {
        item_free(u, q_pop(u));
    }
    for (int k = 0; k < 2; k++) {
        while (u->npool[k])
            free(u->pool[k][--u->npool[k]]);
        free(u->pool[k]);
    }
    free(u->q);
    if (getenv("FCGISCOPE_UNIX_DEBUG")) {
        for (size_t i = 0; i < u->nawait; i++)
            fprintf(stderr, "awaiting: conn %llx off %llu len %u filled %u\n",
                    (unsigned long long)u->await[i]->h.conn, (unsigned long long)u->await[i]->h.off,
                    u->await[i]->h.len, u->await[i]->filled);
        for (size_t i = 0; i < u->nstash; i++)
            fprintf(stderr, "stash: conn %llx off %llu len %u\n", (unsigned long long)u->stash[i]->h.conn,
                    (unsigned long long)u->stash[i]->h.off, u->stash[i]->h.len);
    }
    free(u->await);
    for (size_t i = 0; i < u->nstash; i++) {
        free(u->stash[i]->data);
        free(u->stash[i]);
    }
    free(u->stash);
    fcs_sf_free(&u->sf);
    free(u);
}

/* ---- processes already holding the socket ---- */

/* Mark the processes that hold the listener or an accepted socket of it
 * (the php-fpm master and workers, usually blocked in accept(2) when the
 * capture starts, whose accept the programs then cannot see begin): their
 * calls are looked at. /proc/net/unix names the sockets bound to the path
 * (compared by inode: the string is the one given to bind), /proc/PID/fd the
 * processes holding them. Returns how many processes were marked. */
static int mark_holders(uc *u, const struct stat *target)
{
    FILE *f = fopen("/proc/net/unix", "r");
    if (!f)
        return 0;
    unsigned long *inos = NULL;
    size_t n = 0, cap = 0;
    char line[PATH_MAX + 128], last[PATH_MAX] = "";
    bool last_match = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long ino;
        char path[PATH_MAX];
        path[0] = '\0';
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %4095s", &ino, path) < 2 || path[0] != '/')
            continue;
        if (strcmp(path, last) != 0) {
            struct stat st;
            last_match = stat(path, &st) == 0 && st.st_ino == target->st_ino &&
                         st.st_dev == target->st_dev;
            snprintf(last, sizeof last, "%s", path);
        }
        if (!last_match)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            unsigned long *ni = realloc(inos, nc * sizeof *ni);
            if (!ni)
                break;
            inos = ni;
            cap = nc;
        }
        inos[n++] = ino;
    }
    fclose(f);
    int marked = 0;
    DIR *proc = n ? opendir("/proc") : NULL;
    struct dirent *de;
    while (proc && (de = readdir(proc)) != NULL) {
        char *end;
        unsigned long pid = strtoul(de->d_name, &end, 10);
        if (*end || pid == 0 || pid > UINT32_MAX)
            continue;
        char dp[64];
        snprintf(dp, sizeof dp, "/proc/%lu/fd", pid);
        DIR *fds = opendir(dp);
        if (!fds)
            continue;
        struct dirent *fe;
        bool holds = false;
        while (!holds && (fe = readdir(fds)) != NULL) {
            char lp[64 + sizeof fe->d_name], tgt[64];
            snprintf(lp, sizeof lp, "%s/%s", dp, fe->d_name);
            ssize_t k = readlink(lp, tgt, sizeof tgt - 1);
            if (k <= 0)
                continue;
            tgt[k] = '\0';
            unsigned long ino;
            if (sscanf(tgt, "socket:[%lu]", &ino) != 1)
                continue;
            for (size_t i = 0; i < n && !holds; i++)
                holds = inos[i] == ino;
        }
        closedir(fds);
        if (holds) {
            uint32_t tgid = (uint32_t)pid;
            if (tgid >> 6 < UC_PID_WORDS) {
                __atomic_fetch_or(&u->watched[tgid >> 6], 1ull << (tgid & 63), __ATOMIC_RELAXED);
                marked++;
            }
        }
    }
    if (proc)
        closedir(proc);
    free(inos);
    return marked;
}

/* ---- opening ---- */

static char last_libbpf[512];

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (getenv("FCGISCOPE_BPF_DEBUG"))
        return vfprintf(stderr, fmt, ap);
    if (level == LIBBPF_WARN) {
        char line[512];
        vsnprintf(line, sizeof line, fmt, ap);
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
            line[--n] = '\0';
        if (n)
            memcpy(last_libbpf, line, n + 1);
    }
    return 0;
}

bool fcs_unix_supported(void) { return true; }

fcs_capture *fcs_unix_open(const char *path, char *err, size_t errlen)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        snprintf(err, errlen, "--unix %s: %s (give the path of the FastCGI server's listening "
                 "socket, e.g. /run/php/php8.2-fpm.sock)", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (stat(real, &st) != 0) {
        snprintf(err, errlen, "--unix %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "--unix %s: not a Unix socket (give the path the FastCGI server "
                 "listens on, e.g. /run/php/php8.2-fpm.sock)", path);
        return NULL;
    }
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        snprintf(err, errlen, "--unix: this kernel has no BTF (/sys/kernel/btf/vmlinux: %s): "
                 "it needs a kernel built with CONFIG_DEBUG_INFO_BTF=y", strerror(errno));
        return NULL;
    }
    libbpf_set_print(libbpf_quiet);
    last_libbpf[0] = '\0';
    uc *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(u->path, sizeof u->path, "%s", real);
    for (int k = 0; k < 2; k++)
        u->pool[k] = malloc(POOL_MAX[k] * sizeof *u->pool[k]);   /* NULL: a malloc per record */
    /* The tp_btf build first (cheaper per syscall: plain loads, task
     * storage); the raw tracepoint build where it is refused (kernels before
     * 6.2: no bpf_rdonly_cast), said once. FCGISCOPE_UNIX_HOOK=raw or btf
     * takes one build only (tests, benchmarks). */
    const char *hook = getenv("FCGISCOPE_UNIX_HOOK");
    bool only_raw = hook && !strcmp(hook, "raw"), only_btf = hook && !strcmp(hook, "btf");
    const char *stage = "open";
    int e = 0;
    if (!only_raw) {
        e = variant_up(u, true, &st, &stage);
        if (e == EPERM)
            only_btf = true;   /* not permitted: the other build would not be either */
        if (e && !only_btf) {
            fprintf(stderr, "fcgiscope: --unix: the tp_btf programs could not %s (%s%s%s); "
                    "using raw tracepoints, which cost every traced syscall more\n", stage,
                    strerror(e), last_libbpf[0] ? ": " : "", last_libbpf);
            last_libbpf[0] = '\0';
        }
    }
    if (only_raw || (e && !only_btf))
        e = variant_up(u, false, &st, &stage);
    if (e) {
        if (!strcmp(stage, "open"))
            snprintf(err, errlen, "--unix: cannot open the BPF object: %s", strerror(e));
        else if (!strcmp(stage, "attach"))
            snprintf(err, errlen, "--unix: cannot attach to the sys_enter/sys_exit tracepoints "
                     "(%s): run as root (or with CAP_BPF and CAP_PERFMON)", strerror(e));
        else if (e == EPERM)
            snprintf(err, errlen, "--unix: not permitted to load BPF programs (%s): run as root "
                     "(or with CAP_BPF and CAP_PERFMON)", strerror(e));
        else
            snprintf(err, errlen, "--unix: the kernel refused the BPF programs (%s%s%s): it needs "
                     "raw tracepoints, ring buffers and bpf_loop (Linux 5.17 or later); "
                     "FCGISCOPE_BPF_DEBUG=1 shows the verifier's log", strerror(e),
                     last_libbpf[0] ? ": " : "", last_libbpf);
        src_close(u);
        return NULL;
    }
    u->rb = ring_buffer__new(bpf_map__fd(u->m_events), on_event, u, NULL);
    if (!u->rb) {
        snprintf(err, errlen, "--unix: cannot open the BPF ring buffer: %s", strerror(errno));
        src_close(u);
        return NULL;
    }
    sync_clocks(u);
    u->debug = getenv("FCGISCOPE_UNIX_DEBUG") != NULL;
    const char *pm = getenv("FCGISCOPE_UNIX_POLL_MS");
    u->poll_ms = pm && atoi(pm) > 0 && atoi(pm) <= 1000 ? atoi(pm) : POLL_MS;
    const char *sf = getenv("FCGISCOPE_UNIX_SENDFILE");
    u->sendfile_mode = !sf ? 0 : !strcmp(sf, "gap") ? 1 : !strcmp(sf, "reads") ? 2 : 0;
    fcs_cap_source src;
    memset(&src, 0, sizeof src);
    src.next = src_next;
    src.error = src_error;
    src.stats = src_stats;
    src.breakloop = src_breakloop;
    src.close = src_close;
    src.drain = src_drain;
    src.ud = u;
    src.dlt = 101; /* LINKTYPE_RAW */
    src.precision = FCS_PREC_NS;
    char name[PATH_MAX + 8];
    snprintf(name, sizeof name, "unix:%s", real);
    return fcs_cap_open_source(name, &src, err, errlen);
}

#endif /* FCGISCOPE_HAVE_UNIX */
