/* tcp.c — flow table (hash + LRU expiry) and per-direction TCP reassembly for fcgiscope.
 *
 * Normative references: RFC 9293 §3.4 (sequence numbers, SYN/FIN occupy one
 * sequence number), RFC 1982 (serial number arithmetic), RFC 9293 §3.5.2 (RST).
 *
 * Structure:
 *   - flows live in a chained hash table keyed by the canonical 4-tuple (the
 *     lower endpoint first); a one-entry cache serves bulk transfers;
 *   - every open flow is on the time-ordered list `active` (ordered by last
 *     packet; idle timeout); a closed flow is replaced by a small tombstone
 *     (own hash table, list ordered by close time; linger, count cap);
 *   - each direction ("half", indexed by the side of the canonical key that
 *     sent it) keeps the next expected sequence number and a sorted list of
 *     out-of-order pieces (copied; never overlapping each other);
 *   - flows whose kind is not known yet (no configured port) hold their first
 *     bytes per direction until the classifier decides.
 */
#define _GNU_SOURCE
#include "tcp.h"

#include <arpa/inet.h>
#include <sys/random.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sequence arithmetic (RFC 1982 on 32 bits) ---- */
static inline int32_t seq_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }
static inline bool seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return seq_diff(a, b) > 0; }

/* ACK-driven hole closing ignores jumps this large (bogus ACKs). */
#define ACK_GAP_MAX (1u << 30)
#define HELD_CHUNKS_MAX 32          /* chunks held while a flow with a SYN is undecided */
#define HELD_CHUNKS_MIDSTREAM 1024  /* ... a flow seen from its middle (larger window) */

typedef struct ooo_seg {
    struct ooo_seg *next;
    uint32_t seq, len;
    int64_t ts;
    uint64_t frame;
    uint8_t data[];
} ooo_seg;

typedef struct half {
    bool seq_known, syn_seen, fin_seen, closed, snap_reported;
    uint32_t isn, next, fin_seq;
    ooo_seg *ooo;               /* sorted by seq, non-overlapping */
    ooo_seg *ooo_tail;
} half;

/* Bytes and closes held while the flow's kind is undecided. */
typedef struct held_chunk {
    uint8_t side;
    uint8_t close;              /* 1: a FIN close marker, no bytes */
    uint32_t off, len;          /* within buf[side] */
    int64_t ts;
    uint64_t frame;
} held_chunk;

typedef struct held {
    uint32_t len[2], cap[2];    /* bytes held / room allocated, per side */
    uint32_t max;               /* bytes per side at most (the classification window) */
    uint32_t nchunks, chcap, maxchunks;
    held_chunk *ch;
    uint8_t *buf[2];            /* grown as bytes come (a midstream window is 128 KiB) */
    size_t mem;                 /* what this counts in held_total */
} held;

typedef struct fkey {
    uint8_t addr[2][16];
    uint16_t port[2];
    uint8_t family;
    uint8_t pad[3];
} fkey;                         /* 40 bytes, compared with memcmp */

static inline bool key_eq(const fkey *a, const fkey *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

enum { ST_UNDECIDED = 0, ST_FASTCGI, ST_IGNORED, ST_DEAD };

/* Flows and tombstones are each in a chained hash table of their own, linked
 * through the hnode they hold (flow_of / tomb_of give the entry back). */
typedef struct hnode {
    struct hnode *next;
    uint64_t hash;
} hnode;

typedef struct flow {
    fcs_flow pub;
    fkey key;
    hnode hn;                   /* in t->buckets */
    struct flow *lprev, *lnext;
    uint64_t seqno;             /* creation order */
    int64_t last_ts;            /* last packet (active) or close time (closed) */
    uint8_t state;
    uint8_t client_side;        /* side (0/1 of key) that is the FastCGI client */
    int8_t syn_client;          /* side that opened with SYN, -1 unknown */
    bool frag_reported;
    bool early_reported;        /* a conn_event ended the handshake story (refused, closed) */
    bool fin_flag[2];           /* ignored flows: FIN seen per side */
    uint32_t ooo_count, ooo_bytes;
    held *hold;
    half h[2];
} flow;

typedef struct flist { flow *head, *tail; } flist;

/* What remains of a closed flow while it lingers: enough to recognise its
 * late ACKs and retransmissions (they must not open a new, midstream flow),
 * about 80 bytes instead of the whole record. In a hash table of their own,
 * and on a list in order of closing. */
typedef struct tomb {
    fkey key;
    hnode hn;                   /* in t->tbuckets */
    struct tomb *lprev, *lnext;
    int64_t ts;                 /* close time */
} tomb;

static inline flow *flow_of(hnode *n) { return (flow *)((char *)n - offsetof(flow, hn)); }
static inline tomb *tomb_of(hnode *n) { return (tomb *)((char *)n - offsetof(tomb, hn)); }

struct fcs_tcp {
    fcs_tcp_config cfg;
    fcs_tcp_callbacks cb;
    void *ud;
    uint8_t portmap[65536 / 8];
    hnode **buckets;            /* flows */
    size_t nbuckets;            /* power of two */
    size_t nflows;
    flist active;
    hnode **tbuckets;           /* tombstones of closed flows */
    size_t ntbuckets;           /* power of two */
    size_t ntombs;
    tomb *thead, *ttail;        /* oldest first */
    flow *cache;
    uint64_t next_seqno, next_id;
    uint64_t ooo_total;
    uint64_t held_total;
    uint64_t seed;              /* hash seed */
    int64_t now;
    int64_t expire_at;          /* expire() has nothing to do while now <= this */
    bool now_set;
    bool full_reported;         /* flow_table_full raised; cleared below 90% of max_flows */
    uint64_t *rejected;         /* untracked flows' key hashes (allocated when the table
                                   first fills): counts each untracked flow once */
    size_t nrejected;
    bool frag_null_reported;
    bool snap_null_reported;
    fcs_tcp_stats st;
};

static void expire_note(fcs_tcp *t, int64_t last, int64_t span);

/* ---- small helpers ---- */

static inline bool port_is_server(const fcs_tcp *t, uint16_t p)
{
    return (t->portmap[p >> 3] >> (p & 7)) & 1;
}

static inline fsd_dir side_dir(const flow *f, int side)
{
    return side == f->client_side ? FSD_DIR_CLIENT : FSD_DIR_SERVER;
}

/* Local copy of the direction names so this file needs only fsd.h's types. */
static const char *dir_name(fsd_dir d) { return d == FSD_DIR_CLIENT ? "client" : "server"; }

static void list_remove(flist *l, flow *f)
{
    if (f->lprev) f->lprev->lnext = f->lnext; else l->head = f->lnext;
    if (f->lnext) f->lnext->lprev = f->lprev; else l->tail = f->lprev;
    f->lprev = f->lnext = NULL;
}

static void list_append(flist *l, flow *f)
{
    f->lprev = l->tail;
    f->lnext = NULL;
    if (l->tail) l->tail->lnext = f; else l->head = f;
    l->tail = f;
}

/* Seeded per table (getrandom) so that crafted 4-tuples cannot be chosen to
 * collide into one long chain. */
static inline uint64_t key_mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 31);
}
static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* An IPv4 key from its parts (side 0's address and port first), computed in
 * registers: fcs_tcp_segment() hashes a segment's 4-tuple without building
 * the key in memory (reading back a key just written byte by byte stalls on
 * store forwarding). */
static inline uint64_t key_hash4(uint32_t a0, uint32_t a1, uint16_t p0, uint16_t p1,
                                 uint64_t seed)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ seed;
    uint64_t w4 = (uint64_t)p0 | (uint64_t)p1 << 16 | (uint64_t)4 << 32;
    return key_mix(key_mix(key_mix(h, a0), a1), w4);
}
static inline uint64_t key_hash(const fkey *k, uint64_t seed)
{
    /* IPv4 keys are zero past each address's first 4 bytes (make_key): the
     * bytes holding only zeros add nothing but time. */
    if (k->family == 4)
        return key_hash4(load32(k->addr[0]), load32(k->addr[1]), k->port[0], k->port[1], seed);
    uint64_t w[5];
    memcpy(w, k, sizeof w);
    uint64_t h = 0x9e3779b97f4a7c15ull ^ seed;
    for (int i = 0; i < 5; i++)
        h = key_mix(h, w[i]);
    return h;
}

const char *fcs_conn_event_name(fcs_conn_event e)
{
    switch (e) {
    case FCS_CONN_REFUSED: return "refused";
    case FCS_CONN_UNANSWERED: return "unanswered";
    case FCS_CONN_CLOSED_EARLY: return "closed_early";
    case FCS_CONN_RETRIED: return "retried";
    }
    return "unknown";
}

static void conn_event(fcs_tcp *t, flow *f, fcs_conn_event e, int64_t ts, uint64_t frame)
{
    if (e != FCS_CONN_RETRIED)
        f->early_reported = true;
    if (t->cb.conn_event)
        t->cb.conn_event(t->ud, &f->pub, e, ts, frame);
}

/* The server's FIN/RST acknowledges client bytes past the SYN, or comes
 * after server bytes: the capture lost them (a dropped segment), the web
 * server did send its request. Not closed_before_request. */
static bool bytes_lost_before_close(const flow *f, int side, const fcs_segment *seg, bool ack)
{
    const half *c = &f->h[side ^ 1], *s = &f->h[side];
    if (ack && c->syn_seen && seq_gt(seg->ack, c->isn + 1))
        return true;
    return s->syn_seen && seq_gt(seg->seq, s->isn + 1);
}

/* The flow ends with its SYN unanswered: judged when the capture went on
 * long enough after the last SYN. */
static void check_unanswered(fcs_tcp *t, flow *f, int64_t ts, uint64_t frame)
{
    int64_t last = f->pub.last_syn_ts_ns;
    if (f->pub.syns && !f->pub.synack && !f->early_reported && ts > last
        && (uint64_t)ts - (uint64_t)last >= (uint64_t)FCS_SYN_WAIT_NS)
        conn_event(t, f, FCS_CONN_UNANSWERED, ts, frame);
}

const char *fcs_flow_end_reason_name(fcs_flow_end_reason r)
{
    switch (r) {
    case FCS_FLOW_END_CLOSED: return "closed";
    case FCS_FLOW_END_RESET: return "reset";
    case FCS_FLOW_END_IDLE: return "idle";
    case FCS_FLOW_END_REUSED: return "reused";
    case FCS_FLOW_END_CAPTURE: return "capture";
    }
    return "unknown";
}

char *fcs_endpoint_format(const fcs_endpoint *ep, char *buf, size_t buflen)
{
    char a[INET6_ADDRSTRLEN];
    if (!buf || buflen == 0)
        return buf;
    if (ep->family == 6) {
        if (!inet_ntop(AF_INET6, ep->addr, a, sizeof a))
            strcpy(a, "?");
        snprintf(buf, buflen, "[%s]:%u", a, (unsigned)ep->port);
    } else {
        /* "a.b.c.d:port" by hand: once per connection and side, and
         * inet_ntop + snprintf cost ~2,700 instructions */
        char tmp[24];
        size_t n = 0;
        for (int i = 0; i < 5; i++) {
            unsigned v = i < 4 ? ep->addr[i] : ep->port;
            char d[5];
            int k = 0;
            do {
                d[k++] = (char)('0' + v % 10);
                v /= 10;
            } while (v);
            while (k)
                tmp[n++] = d[--k];
            if (i < 4)
                tmp[n++] = i < 3 ? '.' : ':';
        }
        size_t m = n < buflen - 1 ? n : buflen - 1;
        memcpy(buf, tmp, m);
        buf[m] = '\0';
    }
    return buf;
}

void fcs_tcp_raise(fcs_tcp *t, fsd_anomaly_id id, fcs_flow *f, uint64_t frame,
                   int64_t ts_ns, const char *detail)
{
    t->st.anomalies++;
    if (t->cb.anomaly)
        t->cb.anomaly(t->ud, id, f, frame, ts_ns, detail ? detail : "");
}

/* ---- creation / destruction ---- */

fcs_tcp *fcs_tcp_new(const fcs_tcp_config *cfg, const fcs_tcp_callbacks *cb, void *ud)
{
    fcs_tcp *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (cfg)
        t->cfg = *cfg;
    if (cb)
        t->cb = *cb;
    t->ud = ud;
    if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) != (ssize_t)sizeof t->seed)
        t->seed = (uint64_t)time(NULL) * 0x2545f4914f6cdd1dull ^ (uint64_t)(uintptr_t)t;
    for (size_t i = 0; cfg && cfg->server_ports && i < cfg->nserver_ports; i++) {
        uint16_t p = cfg->server_ports[i];
        t->portmap[p >> 3] |= (uint8_t)(1u << (p & 7));
    }
    t->cfg.server_ports = NULL;
    t->cfg.nserver_ports = 0;
    if (!t->cfg.classify_max_bytes) t->cfg.classify_max_bytes = 512;
    if (t->cfg.classify_max_bytes > (1u << 20)) t->cfg.classify_max_bytes = 1u << 20;
    if (!t->cfg.classify_midstream_bytes) t->cfg.classify_midstream_bytes = FSD_RECOGNISE_WINDOW;
    if (t->cfg.classify_midstream_bytes > (1u << 20)) t->cfg.classify_midstream_bytes = 1u << 20;
    if (!t->cfg.max_flows) t->cfg.max_flows = FCS_TCP_MAX_FLOWS_DEFAULT;
    if (!t->cfg.ooo_max_bytes) t->cfg.ooo_max_bytes = 4u << 20;
    if (!t->cfg.ooo_max_segments) t->cfg.ooo_max_segments = 1024;
    if (!t->cfg.ooo_max_total) t->cfg.ooo_max_total = 256ull << 20;
    if (!t->cfg.idle_timeout_ns) t->cfg.idle_timeout_ns = 300ll * 1000000000ll;
    if (!t->cfg.closed_linger_ns) t->cfg.closed_linger_ns = 60ll * 1000000000ll;
    if (!t->cfg.closed_max) t->cfg.closed_max = 4096;
    if (!t->cfg.classify_max_total) t->cfg.classify_max_total = 64ull << 20;
    t->expire_at = INT64_MIN;
    t->nbuckets = 1024;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    t->ntbuckets = 256;
    t->tbuckets = calloc(t->ntbuckets, sizeof *t->tbuckets);
    if (!t->buckets || !t->tbuckets) {
        free(t->buckets);
        free(t->tbuckets);
        free(t);
        return NULL;
    }
    return t;
}

static void free_ooo(fcs_tcp *t, flow *f)
{
    for (int s = 0; s < 2; s++) {
        ooo_seg *o = f->h[s].ooo;
        while (o) {
            ooo_seg *n = o->next;
            t->ooo_total -= o->len;
            free(o);
            o = n;
        }
        f->h[s].ooo = f->h[s].ooo_tail = NULL;
    }
    f->ooo_count = 0;
    f->ooo_bytes = 0;
    t->st.ooo_bytes_now = t->ooo_total;
}

static void held_release(fcs_tcp *t, held *h)
{
    if (!h)
        return;
    t->held_total -= h->mem;
    free(h->buf[0]);
    free(h->buf[1]);
    free(h->ch);
    free(h);
}

static void free_held(fcs_tcp *t, flow *f)
{
    held_release(t, f->hold);
    f->hold = NULL;
}

/* One flow or tombstone fewer. A full table whose open flows drained below
 * 90% raises flow_table_full again when it next fills. */
static void flows_dec(fcs_tcp *t)
{
    t->nflows--;
    t->st.flows_now = t->nflows;
    /* tombstones give their place to new flows: only open flows fill it */
    if (t->full_reported && t->nflows - t->ntombs < t->cfg.max_flows - t->cfg.max_flows / 10)
        t->full_reported = false;
}

/* ---- the two hash tables (flows, tombstones) ---- */

static void bucket_insert(hnode **b, size_t nb, hnode *e)
{
    size_t i = e->hash & (nb - 1);
    e->next = b[i];
    b[i] = e;
}

static void bucket_unlink(hnode **b, size_t nb, hnode *e)
{
    hnode **pp = &b[e->hash & (nb - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
}

/* Twice the buckets, every entry rehashed into them (no memory: as before). */
static void buckets_grow(hnode ***b, size_t *nb)
{
    size_t n2 = *nb * 2;
    hnode **b2 = calloc(n2, sizeof *b2);
    if (!b2)
        return;
    for (size_t i = 0; i < *nb; i++) {
        hnode *e = (*b)[i];
        while (e) {
            hnode *next = e->next;
            bucket_insert(b2, n2, e);
            e = next;
        }
    }
    free(*b);
    *b = b2;
    *nb = n2;
}

static void table_unlink(fcs_tcp *t, flow *f)
{
    bucket_unlink(t->buckets, t->nbuckets, &f->hn);
    list_remove(&t->active, f);
    if (t->cache == f)
        t->cache = NULL;
    flows_dec(t);
}

static void flow_destroy(fcs_tcp *t, flow *f)
{
    table_unlink(t, f);
    free_ooo(t, f);
    free_held(t, f);
    free(f);
}

static void tomb_remove(fcs_tcp *t, tomb *z)
{
    bucket_unlink(t->tbuckets, t->ntbuckets, &z->hn);
    if (z->lprev) z->lprev->lnext = z->lnext; else t->thead = z->lnext;
    if (z->lnext) z->lnext->lprev = z->lprev; else t->ttail = z->lprev;
    free(z);
    t->ntombs--;
    flows_dec(t);
}

static tomb *tomb_lookup(const fcs_tcp *t, const fkey *k, uint64_t hash)
{
    for (hnode *n = t->tbuckets[hash & (t->ntbuckets - 1)]; n; n = n->next)
        if (n->hash == hash && key_eq(&tomb_of(n)->key, k))
            return tomb_of(n);
    return NULL;
}

void fcs_tcp_free(fcs_tcp *t)
{
    if (!t)
        return;
    while (t->active.head)
        flow_destroy(t, t->active.head);
    while (t->thead)
        tomb_remove(t, t->thead);
    free(t->buckets);
    free(t->tbuckets);
    free(t->rejected);
    free(t);
}

void fcs_tcp_get_stats(const fcs_tcp *t, fcs_tcp_stats *out)
{
    *out = t->st;
}

static inline void key_min(int64_t *ts, uint64_t *fr, int64_t t2, uint64_t f2, bool *any)
{
    if (!*any || t2 < *ts || (t2 == *ts && f2 < *fr)) {
        *ts = t2;
        *fr = f2;
        *any = true;
    }
}

bool fcs_tcp_oldest_held(const fcs_tcp *t, int64_t *ts_ns, uint64_t *frame)
{
    if (t->ooo_total == 0 && t->held_total == 0)
        return false;
    bool any = false;
    for (const flow *f = t->active.head; f; f = f->lnext) {
        if (f->state != ST_FASTCGI && f->state != ST_UNDECIDED)
            continue;
        if (f->hold)
            for (uint32_t i = 0; i < f->hold->nchunks; i++)
                key_min(ts_ns, frame, f->hold->ch[i].ts, f->hold->ch[i].frame, &any);
        if (f->ooo_count)
            for (int s = 0; s < 2; s++)
                for (const ooo_seg *o = f->h[s].ooo; o; o = o->next)
                    key_min(ts_ns, frame, o->ts, o->frame, &any);
    }
    return any;
}

/* ---- delivery to the report layer (or to the held buffer) ---- */

static void try_classify(fcs_tcp *t, flow *f, bool final, int64_t ts, uint64_t frame);
static int decide(fcs_tcp *t, const flow *f, int side, const uint8_t *b, size_t n, bool *no);

static void open_flow(fcs_tcp *t, flow *f, int client_side, bool by_port, bool fresh)
{
    f->state = ST_FASTCGI;
    f->client_side = (uint8_t)client_side;
    int ss = client_side ^ 1;
    f->pub.client.family = f->pub.server.family = f->key.family;
    memcpy(f->pub.client.addr, f->key.addr[client_side], 16);
    memcpy(f->pub.server.addr, f->key.addr[ss], 16);
    f->pub.client.port = f->key.port[client_side];
    f->pub.server.port = f->key.port[ss];
    f->pub.midstream = fresh ? 0u : (FSD_CONN_MIDSTREAM_CLIENT | FSD_CONN_MIDSTREAM_SERVER);
    f->pub.by_port = by_port;
    f->pub.id = ++t->next_id;
    t->st.flows_fastcgi++;
    if (t->cb.flow_open)
        t->cb.flow_open(t->ud, &f->pub);
}

static void emit_data(fcs_tcp *t, flow *f, int side, const uint8_t *p, size_t n,
                      int64_t ts, uint64_t frame)
{
    fsd_dir d = side_dir(f, side);
    f->pub.bytes[d] += n;
    if (t->cb.flow_data)
        t->cb.flow_data(t->ud, &f->pub, d, p, n, ts, frame);
}

static void emit_close(fcs_tcp *t, flow *f, int side, fsd_close_kind k, int64_t ts, uint64_t frame)
{
    if (t->cb.flow_close)
        t->cb.flow_close(t->ud, &f->pub, side_dir(f, side), k, ts, frame);
}

static void ignore_flow(fcs_tcp *t, flow *f)
{
    f->state = ST_IGNORED;
    t->st.flows_ignored++;
    free_held(t, f);
    /* Out-of-order pieces are freed by the caller once no list walk is active. */
}

/* Is this undecided flow seen from its middle (no SYN captured)? Then the
 * midstream rule decides, over a larger window. */
static inline bool flow_midstream(const fcs_tcp *t, const flow *f)
{
    return t->cfg.recognise && !f->h[0].syn_seen && !f->h[1].syn_seen;
}

static bool held_alloc(fcs_tcp *t, flow *f)
{
    if (f->hold)
        return true;
    if (t->held_total + sizeof(held) > t->cfg.classify_max_total)
        return false;
    held *h = calloc(1, sizeof *h);
    if (!h)
        return false;
    bool mid = flow_midstream(t, f);
    h->max = mid ? t->cfg.classify_midstream_bytes : t->cfg.classify_max_bytes;
    h->maxchunks = mid ? HELD_CHUNKS_MIDSTREAM : HELD_CHUNKS_MAX;
    h->mem = sizeof *h;
    t->held_total += h->mem;
    f->hold = h;
    return true;
}

/* Room for n more bytes of side (n <= h->max - h->len[side]) and one more
 * chunk; false when memory (or classify_max_total) says no. */
static bool held_room(fcs_tcp *t, held *h, int side, uint32_t n)
{
    if (h->nchunks == h->chcap) {
        uint32_t nc = h->chcap ? h->chcap * 2 : 8;
        if (nc > h->maxchunks)
            nc = h->maxchunks;
        size_t add = (size_t)(nc - h->chcap) * sizeof(held_chunk);
        if (t->held_total + add > t->cfg.classify_max_total)
            return false;
        held_chunk *c = realloc(h->ch, nc * sizeof *c);
        if (!c)
            return false;
        h->ch = c;
        h->chcap = nc;
        h->mem += add;
        t->held_total += add;
    }
    uint32_t need = h->len[side] + n;
    if (need > h->cap[side]) {
        uint32_t nc = h->cap[side] ? h->cap[side] : 512;
        while (nc < need)
            nc *= 2;
        if (nc > h->max)
            nc = h->max;
        size_t add = nc - h->cap[side];
        if (t->held_total + add > t->cfg.classify_max_total)
            return false;
        uint8_t *b = realloc(h->buf[side], nc);
        if (!b)
            return false;
        h->buf[side] = b;
        h->cap[side] = nc;
        h->mem += add;
        t->held_total += add;
    }
    return true;
}

/* Stream bytes of one side, in order. */
static void deliver(fcs_tcp *t, flow *f, int side, const uint8_t *p, size_t n,
                    int64_t ts, uint64_t frame)
{
    if (n == 0)
        return;
    if (f->state == ST_FASTCGI) {
        emit_data(t, f, side, p, n, ts, frame);
        return;
    }
    if (f->state != ST_UNDECIDED)
        return;
    if (!held_alloc(t, f)) {
        /* Nothing can be held: decide from these bytes alone. */
        int client = decide(t, f, side, p, n, NULL);
        if (client >= 0) {
            open_flow(t, f, client, false, f->h[0].syn_seen || f->h[1].syn_seen);
            emit_data(t, f, side, p, n, ts, frame);
        } else {
            ignore_flow(t, f);
        }
        return;
    }
    held *h = f->hold;
    if (h->nchunks >= h->maxchunks || n > h->max - h->len[side]
        || !held_room(t, h, side, (uint32_t)n)) {
        /* No room: decide with what is held plus the part of these bytes that
         * fits (not recorded as a chunk, so not replayed), then pass these
         * bytes on whole. */
        uint32_t room = h->max - h->len[side];
        if (room > n)
            room = (uint32_t)n;
        if (room > 0 && !held_room(t, h, side, room))
            room = h->cap[side] - h->len[side] < room ? h->cap[side] - h->len[side] : room;
        if (room > 0)
            memcpy(h->buf[side] + h->len[side], p, room);
        h->len[side] += room;
        try_classify(t, f, true, ts, frame);
        if (f->state == ST_FASTCGI)
            emit_data(t, f, side, p, n, ts, frame);
        return;
    }
    memcpy(h->buf[side] + h->len[side], p, n);
    h->ch[h->nchunks++] = (held_chunk){ .side = (uint8_t)side, .close = 0,
                                        .off = h->len[side], .len = (uint32_t)n,
                                        .ts = ts, .frame = frame };
    h->len[side] += (uint32_t)n;
    try_classify(t, f, false, ts, frame);
}

static void deliver_gap(fcs_tcp *t, flow *f, int side, uint64_t n, int64_t ts, uint64_t frame)
{
    if (n == 0)
        return;
    if (f->state == ST_UNDECIDED)
        try_classify(t, f, true, ts, frame);
    if (f->state != ST_FASTCGI)
        return;
    fsd_dir d = side_dir(f, side);
    f->pub.gap_bytes[d] += n;
    t->st.gaps++;
    t->st.gap_bytes += n;
    if (t->cb.flow_gap)
        t->cb.flow_gap(t->ud, &f->pub, d, n, ts, frame);
}

static void deliver_fin(fcs_tcp *t, flow *f, int side, int64_t ts, uint64_t frame)
{
    if (f->state == ST_FASTCGI) {
        emit_close(t, f, side, FSD_CLOSE_FIN, ts, frame);
    } else if (f->state == ST_UNDECIDED) {
        if (held_alloc(t, f) && f->hold->nchunks < f->hold->maxchunks
            && held_room(t, f->hold, side, 0)) {
            held *h = f->hold;
            h->ch[h->nchunks++] = (held_chunk){ .side = (uint8_t)side, .close = 1,
                                                .ts = ts, .frame = frame };
            try_classify(t, f, f->h[side ^ 1].closed, ts, frame);
        } else {
            try_classify(t, f, true, ts, frame);
            if (f->state == ST_FASTCGI)
                emit_close(t, f, side, FSD_CLOSE_FIN, ts, frame);
        }
    }
}

/* Classify the first bytes b[0..n) one side sent: returns the client side
 * when they look like FastCGI, else -1 (*no set when they certainly are not).
 * A flow whose SYN was not captured is judged by cfg.recognise's midstream
 * rule (the decoder's resync rule; at_end: no more bytes of this side). */
static int decide_at(fcs_tcp *t, const flow *f, int side, const uint8_t *b, size_t n, bool *no,
                     bool at_end)
{
    bool dummy;
    if (!no)
        no = &dummy;
    *no = false;
    if (flow_midstream(t, f)) {
        fsd_dir sender = FSD_DIR_CLIENT;
        int r = t->cfg.recognise(b, n, at_end ? FSD_RECOGNISE_AT_END : 0u, &sender, NULL);
        if (r == 1)
            return sender == FSD_DIR_CLIENT ? side : side ^ 1;
        *no = r == 0;
        return -1;
    }
    if (!t->cfg.classify) {
        *no = true;
        return -1;
    }
    if (f->syn_client >= 0) {
        fsd_dir d = side == f->syn_client ? FSD_DIR_CLIENT : FSD_DIR_SERVER;
        int r = t->cfg.classify(b, n, d);
        if (r == 1)
            return f->syn_client;
        *no = r == 0;
        return -1;
    }
    int r1 = t->cfg.classify(b, n, FSD_DIR_CLIENT);
    if (r1 == 1)
        return side;
    int r2 = t->cfg.classify(b, n, FSD_DIR_SERVER);
    if (r2 == 1)
        return side ^ 1;
    *no = r1 == 0 && r2 == 0;
    return -1;
}

static int decide(fcs_tcp *t, const flow *f, int side, const uint8_t *b, size_t n, bool *no)
{
    return decide_at(t, f, side, b, n, no, false);
}

/* Decide the kind of an undecided flow from the held bytes. final: no more
 * bytes will come, "need more" counts as "no". */
static void try_classify(fcs_tcp *t, flow *f, bool final, int64_t ts, uint64_t frame)
{
    (void)ts;
    (void)frame;
    if (f->state != ST_UNDECIDED)
        return;
    held *h = f->hold;
    int client = -1;
    bool no = false;
    if (flow_midstream(t, f)) {
        /* Seen from its middle: either side's bytes may show the first
         * record boundary; it is not FastCGI when neither side can. A side
         * is over when it closed, or at the end (final). */
        bool no_side[2] = { false, false };
        for (int side = 0; side < 2 && client < 0 && h; side++) {
            bool over = final || f->h[side].closed;
            if (h->len[side] > 0)
                client = decide_at(t, f, side, h->buf[side], h->len[side], &no_side[side], over);
            else
                no_side[side] = over;
        }
        no = no_side[0] && no_side[1];
        if (!h && !final)
            return;
    } else if (h && t->cfg.classify) {
        for (int side = 0; side < 2 && client < 0 && !no; side++)
            if (h->len[side] > 0)
                client = decide(t, f, side, h->buf[side], h->len[side], &no);
    } else if (!t->cfg.classify) {
        no = true;
    }
    if (client < 0) {
        bool full = h && (h->nchunks >= h->maxchunks ||
                          h->len[0] >= h->max || h->len[1] >= h->max);
        if (no || final || full)
            ignore_flow(t, f);
        return;
    }
    /* It is FastCGI: open and replay what was held, in arrival order. */
    bool fresh = f->h[0].syn_seen || f->h[1].syn_seen;
    open_flow(t, f, client, false, fresh);
    f->hold = NULL;
    for (uint32_t i = 0; h && i < h->nchunks; i++) {
        const held_chunk *c = &h->ch[i];
        if (c->close)
            emit_close(t, f, c->side, FSD_CLOSE_FIN, c->ts, c->frame);
        else
            emit_data(t, f, c->side, h->buf[c->side] + c->off, c->len, c->ts, c->frame);
    }
    held_release(t, h);
}

/* ---- reassembly ---- */

/* Deliver buffered pieces that are now in order. */
static void drain(fcs_tcp *t, flow *f, int side)
{
    half *h = &f->h[side];
    while (h->ooo && seq_le(h->ooo->seq, h->next)) {
        ooo_seg *o = h->ooo;
        h->ooo = o->next;
        if (!h->ooo)
            h->ooo_tail = NULL;
        uint32_t end = o->seq + o->len;
        if (seq_gt(end, h->next)) {
            uint32_t skip = h->next - o->seq;
            h->next = end;
            deliver(t, f, side, o->data + skip, o->len - skip, o->ts, o->frame);
        }
        f->ooo_count--;
        f->ooo_bytes -= o->len;
        t->ooo_total -= o->len;
        free(o);
    }
    t->st.ooo_bytes_now = t->ooo_total;
}

/* Move h->next up to target: buffered pieces are delivered, holes become gaps. */
static void advance_to(fcs_tcp *t, flow *f, int side, uint32_t target, int64_t ts, uint64_t frame)
{
    half *h = &f->h[side];
    while (seq_lt(h->next, target)) {
        if (h->ooo && seq_le(h->ooo->seq, h->next)) {
            drain(t, f, side);
            continue;
        }
        uint32_t upto = (h->ooo && seq_lt(h->ooo->seq, target)) ? h->ooo->seq : target;
        uint32_t n = upto - h->next;
        h->next = upto;
        deliver_gap(t, f, side, n, ts, frame);
    }
    drain(t, f, side);
}

/* Deliver everything buffered in this direction, holes as gaps. */
static void flush_half(fcs_tcp *t, flow *f, int side, int64_t ts, uint64_t frame)
{
    half *h = &f->h[side];
    if (h->ooo_tail)
        advance_to(t, f, side, h->ooo_tail->seq + h->ooo_tail->len, ts, frame);
}

static inline void check_fin(fcs_tcp *t, flow *f, int side, int64_t ts, uint64_t frame)
{
    half *h = &f->h[side];
    if (h->fin_seen && !h->closed && h->seq_known && seq_le(h->fin_seq, h->next)) {
        h->closed = true;
        deliver_fin(t, f, side, ts, frame);
    }
}

/* The per-flow and global out-of-order caps. */
static bool ooo_room(const fcs_tcp *t, const flow *f, uint32_t len)
{
    return f->ooo_count < t->cfg.ooo_max_segments &&
           (uint64_t)f->ooo_bytes + len <= t->cfg.ooo_max_bytes &&
           t->ooo_total + len <= t->cfg.ooo_max_total;
}

static bool ooo_insert_piece(fcs_tcp *t, flow *f, int side, ooo_seg **pp, uint32_t seq,
                             const uint8_t *p, uint32_t len, int64_t ts, uint64_t frame)
{
    half *h = &f->h[side];
    ooo_seg *o = malloc(sizeof *o + len);
    if (!o)
        return false;
    o->seq = seq;
    o->len = len;
    o->ts = ts;
    o->frame = frame;
    memcpy(o->data, p, len);
    o->next = *pp;
    *pp = o;
    if (!o->next)
        h->ooo_tail = o;
    f->ooo_count++;
    f->ooo_bytes += len;
    t->ooo_total += len;
    t->st.ooo_segments++;
    t->st.ooo_bytes_now = t->ooo_total;
    if (t->ooo_total > t->st.ooo_bytes_max)
        t->st.ooo_bytes_max = t->ooo_total;
    return true;
}

static void process_data(fcs_tcp *t, flow *f, int side, uint32_t dseq, const uint8_t *p,
                         uint32_t cap, uint32_t wl, int64_t ts, uint64_t frame);

/* Buffer [seq, seq+len) (seq after h->next); existing bytes win overlaps. */
static void ooo_insert(fcs_tcp *t, flow *f, int side, uint32_t seq, const uint8_t *p,
                       uint32_t len, int64_t ts, uint64_t frame)
{
    half *h = &f->h[side];
    ooo_seg **pp = &h->ooo;
    /* Fast path: beyond the tail. */
    if (h->ooo_tail && seq_le(h->ooo_tail->seq + h->ooo_tail->len, seq))
        pp = &h->ooo_tail->next;
    while (len > 0) {
        while (*pp && seq_le((*pp)->seq + (*pp)->len, seq))
            pp = &(*pp)->next;
        ooo_seg *n = *pp;
        if (n && seq_le(n->seq, seq)) {
            /* Starts inside an existing piece: skip the covered bytes. */
            uint32_t cov = n->seq + n->len - seq;
            if (cov >= len) {
                t->st.overlap_bytes += len;
                return;
            }
            t->st.overlap_bytes += cov;
            seq += cov;
            p += cov;
            len -= cov;
            pp = &n->next;
            continue;
        }
        uint32_t piece = len;
        if (n && seq_lt(n->seq, seq + len))
            piece = n->seq - seq;
        if (!ooo_room(t, f, piece)) {
            char d[80];
            snprintf(d, sizeof d, "%s: %u bytes in %u segments buffered",
                     f->state == ST_FASTCGI ? dir_name(side_dir(f, side)) : "flow",
                     (unsigned)f->ooo_bytes, (unsigned)f->ooo_count);
            t->st.ooo_cap_hits++;
            if (f->state == ST_FASTCGI)
                fcs_tcp_raise(t, FSD_A_tcp_ooo_cap, &f->pub, frame, ts, d);
            /* Declare the holes below this piece lost, then take it in order
             * (next == seq afterwards: no buffered piece covers seq). */
            advance_to(t, f, side, seq, ts, frame);
            if (h->next == seq)
                process_data(t, f, side, seq, p, len, len, ts, frame);
            return;
        }
        if (!ooo_insert_piece(t, f, side, pp, seq, p, piece, ts, frame))
            return;
        pp = &(*pp)->next;
        seq += piece;
        p += piece;
        len -= piece;
    }
}

/* Payload of a segment at dseq (sequence number of its first byte). */
static void process_data(fcs_tcp *t, flow *f, int side, uint32_t dseq, const uint8_t *p,
                         uint32_t cap, uint32_t wl, int64_t ts, uint64_t frame)
{
    half *h = &f->h[side];
    if (dseq == h->next && cap == wl && cap > 0 && !h->fin_seen && !h->ooo) {
        /* The usual case: exactly the next bytes, all captured, nothing
         * buffered: what the general path below does for it, directly. */
        h->next = dseq + wl;
        deliver(t, f, side, p, wl, ts, frame);
        t->st.ooo_bytes_now = t->ooo_total; /* as drain() leaves it */
        return;
    }
    if (cap > wl)
        cap = wl;
    if (h->fin_seen) {
        /* Data after FIN is ignored. */
        if (seq_le(h->fin_seq, dseq))
            return;
        if (seq_gt(dseq + wl, h->fin_seq)) {
            wl = h->fin_seq - dseq;
            if (cap > wl) cap = wl;
        }
    }
    uint32_t end = dseq + wl;
    if (seq_le(end, h->next)) {
        t->st.retransmitted_segments++;
        return;
    }
    if (seq_lt(dseq, h->next)) {
        uint32_t trim = h->next - dseq;
        t->st.overlap_bytes += trim;
        dseq = h->next;
        wl -= trim;
        if (cap > trim) {
            p += trim;
            cap -= trim;
        } else {
            cap = 0;
        }
    }
    if (cap < wl) {
        t->st.snaplen_cut_packets++;
        if (!h->snap_reported && f->state == ST_FASTCGI) {
            char d[64];
            h->snap_reported = true;
            snprintf(d, sizeof d, "%s: %u of %u payload bytes captured",
                     dir_name(side_dir(f, side)), (unsigned)cap, (unsigned)wl);
            fcs_tcp_raise(t, FSD_A_snaplen_truncated, &f->pub, frame, ts, d);
        }
    }
    if (dseq == h->next) {
        if (h->ooo && seq_le(h->ooo->seq, h->next)) {
            /* Defensive: a piece at or below next is delivered first; then
             * this segment is looked at again (drain consumed a piece). */
            drain(t, f, side);
            process_data(t, f, side, dseq, p, cap, wl, ts, frame);
            return;
        }
        if (cap > 0) {
            /* Buffered pieces inside [dseq, dseq+cap) cannot exist: pieces are
             * only above next and would be drained; but a piece may start
             * inside our range. The first copy wins: stop at it. */
            uint32_t n = cap;
            if (h->ooo && seq_lt(h->ooo->seq, dseq + cap))
                n = h->ooo->seq - dseq;
            h->next = dseq + n;
            deliver(t, f, side, p, n, ts, frame);
            drain(t, f, side);
            if (n < cap) {
                /* Bytes of this segment under the buffered pieces: dropped. */
                uint32_t under = seq_lt(h->next, dseq + cap) ? h->next - (dseq + n) : cap - n;
                t->st.overlap_bytes += under;
            }
            if (n < cap && seq_lt(h->next, dseq + cap)) {
                /* Rest of this segment after the buffered pieces. */
                uint32_t off = h->next - dseq;
                if (seq_gt(h->next, dseq) && off < cap)
                    process_data(t, f, side, h->next, p + off, cap - off, cap - off, ts, frame);
            }
        }
        if (cap < wl && f->state != ST_IGNORED) {
            /* The uncaptured tail is lost for certain. */
            advance_to(t, f, side, end, ts, frame);
        }
        return;
    }
    /* Out of order. */
    if (cap > 0)
        ooo_insert(t, f, side, dseq, p, cap, ts, frame);
}

/* Buffered pieces at or beyond the FIN are data after FIN: drop them. */
static void trim_after_fin(fcs_tcp *t, flow *f, int side)
{
    half *h = &f->h[side];
    ooo_seg **pp = &h->ooo, *last = NULL;
    while (*pp) {
        ooo_seg *o = *pp;
        if (seq_le(h->fin_seq, o->seq)) {
            *pp = o->next;
            f->ooo_count--;
            f->ooo_bytes -= o->len;
            t->ooo_total -= o->len;
            free(o);
            continue;
        }
        if (seq_gt(o->seq + o->len, h->fin_seq)) {
            uint32_t keep = h->fin_seq - o->seq;
            f->ooo_bytes -= o->len - keep;
            t->ooo_total -= o->len - keep;
            o->len = keep;
        }
        last = o;
        pp = &o->next;
    }
    h->ooo_tail = last;
    t->st.ooo_bytes_now = t->ooo_total;
}

/* ---- flow lifecycle ---- */

static void flow_init(fcs_tcp *t, flow *f, const fcs_segment *seg, int side, int64_t ts,
                      uint64_t frame)
{
    memset(&f->pub, 0, sizeof f->pub);
    memset(f->h, 0, sizeof f->h);
    f->seqno = ++t->next_seqno;
    f->pub.first_frame = frame;
    f->pub.first_ts_ns = ts;
    f->syn_client = -1;
    f->frag_reported = false;
    f->early_reported = false;
    f->fin_flag[0] = f->fin_flag[1] = false;
    f->ooo_count = f->ooo_bytes = 0;
    f->hold = NULL;
    t->st.flows_seen++;
    bool syn = seg->flags & FCS_TH_SYN, ack = seg->flags & FCS_TH_ACK;
    if (syn)
        f->syn_client = (int8_t)(ack ? side ^ 1 : side);
    bool ps = port_is_server(t, seg->sport), pd = port_is_server(t, seg->dport);
    if (ps || pd) {
        int server_side;
        if (pd && !ps) server_side = side ^ 1;
        else if (ps && !pd) server_side = side;
        else server_side = (syn && ack) ? side : side ^ 1;
        open_flow(t, f, server_side ^ 1, true, syn);
    } else if (t->cfg.classify) {
        f->state = ST_UNDECIDED;
    } else {
        f->state = ST_IGNORED;
        t->st.flows_ignored++;
    }
}

/* End a flow that is not dead yet: flush, report, mark dead (not unlinked). */
static void flow_finish(fcs_tcp *t, flow *f, fcs_flow_end_reason why, int rst_side,
                        int64_t ts, uint64_t frame)
{
    if (why != FCS_FLOW_END_RESET && why != FCS_FLOW_END_CLOSED)
        check_unanswered(t, f, ts, frame);
    if (f->state == ST_UNDECIDED)
        try_classify(t, f, true, ts, frame);
    if (f->state == ST_FASTCGI) {
        for (int s = 0; s < 2; s++) {
            half *h = &f->h[s];
            if (h->closed)
                continue;
            if (h->fin_seen && h->seq_known) {
                if (seq_lt(h->next, h->fin_seq))
                    advance_to(t, f, s, h->fin_seq, ts, frame);
                check_fin(t, f, s, ts, frame);
            } else {
                flush_half(t, f, s, ts, frame);
            }
        }
        if (why == FCS_FLOW_END_RESET)
            emit_close(t, f, rst_side, FSD_CLOSE_RST, ts, frame);
        if (t->cb.flow_end)
            t->cb.flow_end(t->ud, &f->pub, why, ts, frame);
    }
    f->h[0].closed = f->h[1].closed = true;
    free_ooo(t, f);
    free_held(t, f);
    f->state = ST_DEAD;
}

/* Replace a dead flow by its tombstone, which lingers to swallow late
 * packets: closed_linger_ns of capture time, at most closed_max of them (the
 * oldest gives its place). The flow record is freed: f is gone afterwards.
 * The tombstone counts in flows_now and max_flows like the flow did. */
static void flow_to_closed(fcs_tcp *t, flow *f, int64_t ts)
{
    tomb *z = malloc(sizeof *z);
    if (z) {
        z->key = f->key;
        z->hn.hash = f->hn.hash;
        z->ts = ts;
    }
    flow_destroy(t, f);
    if (!z)
        return; /* no memory: forgotten at once */
    if (t->ntombs >= t->ntbuckets)
        buckets_grow(&t->tbuckets, &t->ntbuckets);
    bucket_insert(t->tbuckets, t->ntbuckets, &z->hn);
    z->lprev = t->ttail;
    z->lnext = NULL;
    if (t->ttail) t->ttail->lnext = z; else t->thead = z;
    t->ttail = z;
    expire_note(t, ts, t->cfg.closed_linger_ns);
    t->ntombs++;
    t->nflows++;
    t->st.flows_now = t->nflows;
    while (t->ntombs > t->cfg.closed_max)
        tomb_remove(t, t->thead);
}

/* now - last > span, without signed overflow for any timestamps. */
static bool older_than(int64_t now, int64_t last, int64_t span)
{
    return last < now && (uint64_t)now - (uint64_t)last > (uint64_t)span;
}

/* last + span (span >= 0), saturated: older_than(now, last, span) is
 * now > deadline(last, span). */
static int64_t deadline(int64_t last, int64_t span)
{
    return last > INT64_MAX - span ? INT64_MAX : last + span;
}

/* A flow or tombstone that can expire at last + span joined a list. */
static void expire_note(fcs_tcp *t, int64_t last, int64_t span)
{
    if (span < 0)
        return;
    int64_t d = deadline(last, span);
    if (d < t->expire_at)
        t->expire_at = d;
}

static void expire(fcs_tcp *t, int64_t now, uint64_t frame)
{
    if (t->cfg.idle_timeout_ns > 0) {
        while (t->active.head && older_than(now, t->active.head->last_ts, t->cfg.idle_timeout_ns)) {
            flow *f = t->active.head;
            flow_finish(t, f, FCS_FLOW_END_IDLE, 0, now, frame);
            t->st.flows_expired++;
            flow_destroy(t, f);
        }
    }
    while (t->thead && older_than(now, t->thead->ts, t->cfg.closed_linger_ns))
        tomb_remove(t, t->thead);
    /* The list heads are the earliest to expire; a flow touched later only
     * moves its deadline later, a flow or tombstone added notes its own. */
    t->expire_at = INT64_MAX;
    if (t->cfg.idle_timeout_ns > 0 && t->active.head)
        expire_note(t, t->active.head->last_ts, t->cfg.idle_timeout_ns);
    if (t->thead)
        expire_note(t, t->thead->ts, t->cfg.closed_linger_ns);
}

void fcs_tcp_expire(fcs_tcp *t, int64_t now_ns, uint64_t frame)
{
    if (!t->now_set || now_ns > t->now) {
        t->now = now_ns;
        t->now_set = true;
    }
    expire(t, t->now, frame);
}

static flow *flow_create(fcs_tcp *t, const fkey *k, uint64_t hash, int64_t ts, uint64_t frame)
{
    if (t->nflows >= t->cfg.max_flows && t->thead)
        tomb_remove(t, t->thead);
    if (t->nflows >= t->cfg.max_flows) {
        /* Full of open flows: a flow already found not to be FastCGI among the
         * least recently used ones gives its place (costs nothing to forget). */
        int n = 0;
        for (flow *g = t->active.head; g && n < 64; g = g->lnext, n++) {
            if (g->state == ST_IGNORED) {
                flow_destroy(t, g);
                break;
            }
        }
    }
    if (t->nflows >= t->cfg.max_flows) {
        t->st.flows_rejected++;
        if (!t->full_reported) {
            char d[128];
            t->full_reported = true;
            t->st.table_full_events++;
            snprintf(d, sizeof d, "%u flows tracked (--max-flows): new flows are not analyzed "
                     "until fewer than %u are open", (unsigned)t->nflows,
                     (unsigned)(t->cfg.max_flows - t->cfg.max_flows / 10));
            fcs_tcp_raise(t, FSD_A_flow_table_full, NULL, frame, ts, d);
        }
        return NULL;
    }
    flow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->key = *k;
    f->hn.hash = hash;
    if (t->nflows >= t->nbuckets)
        buckets_grow(&t->buckets, &t->nbuckets);
    bucket_insert(t->buckets, t->nbuckets, &f->hn);
    t->nflows++;
    t->st.flows_now = t->nflows;
    if (t->nflows > t->st.flows_max)
        t->st.flows_max = t->nflows;
    f->last_ts = ts;
    list_append(&t->active, f);
    if (t->cfg.idle_timeout_ns > 0)
        expire_note(t, ts, t->cfg.idle_timeout_ns);
    return f;
}

static flow *flow_lookup(fcs_tcp *t, const fkey *k, uint64_t hash)
{
    if (t->cache && t->cache->hn.hash == hash && key_eq(&t->cache->key, k))
        return t->cache;
    for (hnode *n = t->buckets[hash & (t->nbuckets - 1)]; n; n = n->next) {
        flow *f = flow_of(n);
        if (n->hash == hash && key_eq(&f->key, k)) {
            t->cache = f;
            return f;
        }
    }
    return NULL;
}

/* flow_lookup() for an IPv4 key given by its parts (see key_hash4). */
static flow *flow_lookup4(fcs_tcp *t, uint32_t a0, uint32_t a1, uint16_t p0, uint16_t p1,
                          uint64_t hash)
{
    for (hnode *n = t->buckets[hash & (t->nbuckets - 1)]; n; n = n->next) {
        flow *f = flow_of(n);
        if (n->hash == hash && f->key.family == 4 && load32(f->key.addr[0]) == a0
            && load32(f->key.addr[1]) == a1 && f->key.port[0] == p0 && f->key.port[1] == p1) {
            t->cache = f;
            return f;
        }
    }
    return NULL;
}

/* The last flow looked up, compared with the segment's IPv4 4-tuple as it
 * is (no key built, no hash): bulk transfers hit it. *side as make_key()
 * would say (side 0 first when both orientations match). */
static inline flow *cache_match(const fcs_tcp *t, const fcs_segment *seg, int *side)
{
    flow *c = t->cache;
    if (!c || seg->family != 4 || c->key.family != 4)
        return NULL;
    uint32_t s = load32(seg->src), d = load32(seg->dst);
    uint32_t k0 = load32(c->key.addr[0]), k1 = load32(c->key.addr[1]);
    if (s == k0 && d == k1 && seg->sport == c->key.port[0] && seg->dport == c->key.port[1]) {
        *side = 0;
        return c;
    }
    if (s == k1 && d == k0 && seg->sport == c->key.port[1] && seg->dport == c->key.port[0]) {
        *side = 1;
        return c;
    }
    return NULL;
}

/* The sender's side of the canonical key: 0 when its (addr, port) is the
 * lower of the two (both sides alike: 0). */
static inline int sender_side(const fcs_segment *seg)
{
    int c;
    if (seg->family == 4) { /* the other 12 bytes are zero (link.h): compare 4 */
        uint32_t a = (uint32_t)seg->src[0] << 24 | (uint32_t)seg->src[1] << 16
                   | (uint32_t)seg->src[2] << 8 | seg->src[3];
        uint32_t b = (uint32_t)seg->dst[0] << 24 | (uint32_t)seg->dst[1] << 16
                   | (uint32_t)seg->dst[2] << 8 | seg->dst[3];
        c = a < b ? -1 : a > b;
    } else {
        c = memcmp(seg->src, seg->dst, 16);
    }
    if (c == 0)
        c = (int)seg->sport - (int)seg->dport;
    return c <= 0 ? 0 : 1;
}

/* Canonical key: the lower (addr, port) first. Returns the sender's side. */
static inline int make_key(const fcs_segment *seg, fkey *k)
{
    memset(k, 0, sizeof *k);
    k->family = seg->family;
    int side = sender_side(seg);
    memcpy(k->addr[side], seg->src, 16);
    memcpy(k->addr[side ^ 1], seg->dst, 16);
    k->port[side] = seg->sport;
    k->port[side ^ 1] = seg->dport;
    return side;
}

/* The set of untracked flows (hashes of their keys, open addressing). It is
 * emptied when half full: each untracked flow is counted once as long as at
 * most REJECTED_SLOTS / 2 distinct ones were turned away since (a flow seen
 * again after that counts again). */
#define REJECTED_SLOTS 131072u

/* A packet of a flow the full table turned away: counted, and the flow once. */
static void count_untracked(fcs_tcp *t, const fcs_segment *seg, uint64_t hash, uint32_t wirelen)
{
    t->st.untracked_packets++;
    t->st.untracked_bytes += wirelen;
    if (!t->rejected)
        t->rejected = calloc(REJECTED_SLOTS, sizeof *t->rejected);
    if (t->rejected) {
        uint64_t h = hash | 1; /* 0 marks an empty slot */
        size_t i = (size_t)(hash >> 17) & (REJECTED_SLOTS - 1);
        while (t->rejected[i] && t->rejected[i] != h)
            i = (i + 1) & (REJECTED_SLOTS - 1);
        if (t->rejected[i] == h)
            return;
        if (t->nrejected >= REJECTED_SLOTS / 2) {
            memset(t->rejected, 0, REJECTED_SLOTS * sizeof *t->rejected);
            t->nrejected = 0;
            i = (size_t)(hash >> 17) & (REJECTED_SLOTS - 1);
        }
        t->rejected[i] = h;
        t->nrejected++;
    }
    t->st.untracked_flows++;
    if (port_is_server(t, seg->sport) || port_is_server(t, seg->dport))
        t->st.untracked_port_flows++;
}

/* The capture clock: the largest timestamp seen; flows whose deadline it
 * passed are expired first. */
static inline void clock_advance(fcs_tcp *t, int64_t ts, uint64_t frame)
{
    if (!t->now_set || ts > t->now) {
        t->now = ts;
        t->now_set = true;
        if (ts > t->expire_at)
            expire(t, ts, frame);
    }
}

/* The open flow of a segment and the sender's side of its key; NULL when
 * there is none, with the key (*k) and its hash (*hash) to create it. */
static inline flow *segment_flow(fcs_tcp *t, const fcs_segment *seg, int *side, fkey *k,
                                 uint64_t *hash)
{
    flow *f = cache_match(t, seg, side);
    if (f)
        return f;
    if (seg->family == 4) {
        /* The key's parts in registers; the key itself is built only for a
         * new flow. */
        uint32_t s = load32(seg->src), d = load32(seg->dst);
        *side = sender_side(seg);
        uint32_t a0 = *side ? d : s, a1 = *side ? s : d;
        uint16_t p0 = *side ? seg->dport : seg->sport, p1 = *side ? seg->sport : seg->dport;
        *hash = key_hash4(a0, a1, p0, p1, t->seed);
        f = flow_lookup4(t, a0, a1, p0, p1, *hash);
        if (!f)
            make_key(seg, k);
        return f;
    }
    *side = make_key(seg, k);
    *hash = key_hash(k, t->seed);
    return flow_lookup(t, k, *hash);
}

/* A segment of no open flow: a new flow, unless it is a late packet of a
 * closed connection (its tombstone), a lone reset, or the table is full.
 * NULL: nothing more to do with the segment. */
static flow *segment_new_flow(fcs_tcp *t, const fcs_segment *seg, int side, const fkey *k,
                              uint64_t hash, int64_t ts, uint64_t frame, uint32_t wirelen)
{
    bool syn = seg->flags & FCS_TH_SYN, ack = seg->flags & FCS_TH_ACK;
    tomb *z = t->ntombs ? tomb_lookup(t, k, hash) : NULL;
    if (z) {
        if (!syn || ack)
            return NULL;  /* late packet of a closed connection */
        /* New connection on the same 4-tuple. */
        tomb_remove(t, z);
        t->st.flows_reused++;
    } else if (seg->flags & FCS_TH_RST) {
        return NULL;      /* a lone reset opens nothing */
    }
    flow *f = flow_create(t, k, hash, t->now, frame);
    if (!f) {
        count_untracked(t, seg, hash, wirelen);
        return NULL;
    }
    flow_init(t, f, seg, side, ts, frame);
    return f;
}

/* Touch: most recent at the tail of the active list. The capture clock
 * (max timestamp seen) keeps the list ordered when timestamps go back. */
static inline void flow_touch(fcs_tcp *t, flow *f)
{
    f->last_ts = t->now;
    if (t->active.tail != f) {
        list_remove(&t->active, f);
        list_append(&t->active, f);
    }
}

/* A flow that is not analyzed only waits for its end (RST, or FIN both ways). */
static void ignored_segment(fcs_tcp *t, flow *f, int side, uint8_t fl, int64_t ts, uint64_t frame)
{
    bool rst = fl & FCS_TH_RST;
    if (rst || (fl & FCS_TH_FIN)) {
        if (fl & FCS_TH_FIN)
            f->fin_flag[side] = true;
        if (rst || (f->fin_flag[0] && f->fin_flag[1])) {
            flow_finish(t, f, rst ? FCS_FLOW_END_RESET : FCS_FLOW_END_CLOSED, side, ts, frame);
            flow_to_closed(t, f, t->now);
        }
    }
}

/* The client's SYN (again: a retransmission, same ISN): the handshake's
 * first steps and, for a flow not yet known to be FastCGI, its endpoints. */
static void client_syn(fcs_tcp *t, flow *f, int side, int64_t ts, uint64_t frame)
{
    if (f->pub.syns == 0) {
        f->pub.syn_ts_ns = ts;
        f->pub.syn_frame = frame;
        if (f->state != ST_FASTCGI) {
            int cs = side, ss = side ^ 1;
            f->pub.client.family = f->pub.server.family = f->key.family;
            memcpy(f->pub.client.addr, f->key.addr[cs], 16);
            memcpy(f->pub.server.addr, f->key.addr[ss], 16);
            f->pub.client.port = f->key.port[cs];
            f->pub.server.port = f->key.port[ss];
        }
        f->pub.server_port = port_is_server(t, f->key.port[side ^ 1]);
    }
    if (f->pub.syns < UINT32_MAX)
        f->pub.syns++;
    f->pub.last_syn_ts_ns = ts;
    f->pub.last_syn_frame = frame;
}

/* A SYN or SYN-ACK: initial sequence numbers, who opened, the handshake. */
static void segment_syn(fcs_tcp *t, flow *f, const fcs_segment *seg, int side, int64_t ts,
                        uint64_t frame)
{
    bool ack = seg->flags & FCS_TH_ACK;
    half *h = &f->h[side], *o = &f->h[side ^ 1];
    if (!h->syn_seen) {
        h->syn_seen = true;
        h->isn = seg->seq;
        /* A late SYN(-ACK) after data of this direction does not move the
         * stream (and its buffered pieces) back. */
        if (!h->seq_known) {
            h->next = seg->seq + 1;
            h->seq_known = true;
        }
    }
    if (f->syn_client < 0)
        f->syn_client = (int8_t)(ack ? side ^ 1 : side);
    if (!ack && side == f->syn_client) {
        client_syn(t, f, side, ts, frame);
    } else if (ack && side != f->syn_client && !f->pub.synack) {
        f->pub.synack = true;
        f->pub.synack_ts_ns = ts;
        if (f->pub.syns > 1)
            conn_event(t, f, FCS_CONN_RETRIED, ts, frame);
    }
    if (ack && !o->seq_known) {
        o->next = seg->ack;
        o->seq_known = true;
    }
}

/* The peer's bytes this segment acknowledges were received before it was
 * sent: holes below the ACK are lost, and are reported before this
 * segment's own data (so the decoder sees the streams in causal order). */
static void segment_ack(fcs_tcp *t, flow *f, const fcs_segment *seg, int side, uint32_t dseq,
                        int64_t ts, uint64_t frame)
{
    uint8_t fl = seg->flags;
    bool syn = fl & FCS_TH_SYN, ack = fl & FCS_TH_ACK;
    half *h = &f->h[side], *o = &f->h[side ^ 1];
    /* A FIN the capture lost: this side closes too and acknowledges one past
     * the peer's last byte, with nothing of the peer's outstanding (a lost
     * 1-byte segment would not be answered by a FIN). Ended here, before this
     * side's own FIN, as the peer did (the decoder would otherwise see the
     * server close first: keep_conn_violation). */
    if (ack && (fl & FCS_TH_FIN) && o->seq_known && !o->fin_seen && !o->closed && !o->ooo && !syn &&
        seg->ack == o->next + 1) {
        /* this side's own bytes missing before this FIN go first: the peer's
         * FIN most likely answered them (a web server closing an idle
         * connection), and a gap reported after it would come too late to
         * explain the close (request_abandoned) */
        if (h->seq_known && seq_gt(dseq, h->next) && (uint32_t)(dseq - h->next) < ACK_GAP_MAX)
            advance_to(t, f, side, dseq, ts, frame);
        o->fin_seen = true;
        o->fin_seq = o->next;
    }
    if (ack && o->seq_known && !o->closed && !syn) {
        uint32_t target = seg->ack;
        if (o->fin_seen && seq_gt(target, o->fin_seq))
            target = o->fin_seq;
        if (seq_gt(target, o->next) && (uint32_t)(target - o->next) < ACK_GAP_MAX)
            advance_to(t, f, side ^ 1, target, ts, frame);
        check_fin(t, f, side ^ 1, ts, frame);
    }
}

/* The backend's side of the handshake story: a RST for an answer
 * (refused), or a FIN/RST before the client sent a byte. */
static void handshake_story(fcs_tcp *t, flow *f, const fcs_segment *seg, int side, int64_t ts,
                            uint64_t frame)
{
    uint8_t fl = seg->flags;
    bool ack = fl & FCS_TH_ACK, rst = fl & FCS_TH_RST;
    if (!f->pub.syns || f->early_reported)
        return;
    if (side == f->syn_client) {
        if (seg->payload_len > 0)
            f->pub.client_sent = true;
    } else if (rst && !f->pub.synack) {
        conn_event(t, f, FCS_CONN_REFUSED, ts, frame);
    } else if ((rst || (fl & FCS_TH_FIN)) && f->pub.synack && !f->pub.client_sent
               && !f->h[side ^ 1].fin_seen && !bytes_lost_before_close(f, side, seg, ack)) {
        conn_event(t, f, FCS_CONN_CLOSED_EARLY, ts, frame);
    }
}

/* The segment's data, then its FIN or RST, and the flow's end when both
 * directions are closed. */
static void segment_data_and_close(fcs_tcp *t, flow *f, const fcs_segment *seg, int side,
                                   uint32_t dseq, int64_t ts, uint64_t frame)
{
    uint8_t fl = seg->flags;
    bool rst = fl & FCS_TH_RST;
    half *h = &f->h[side];
    if (seg->payload_len > 0 && !h->closed)
        process_data(t, f, side, dseq, seg->payload, seg->cap_payload_len, seg->payload_len,
                     ts, frame);
    if (f->state == ST_DEAD)
        return;
    if ((fl & FCS_TH_FIN) && !rst && !h->fin_seen) {
        h->fin_seen = true;
        h->fin_seq = dseq + seg->payload_len;
        trim_after_fin(t, f, side);
    }
    if (rst) {
        flow_finish(t, f, FCS_FLOW_END_RESET, side, ts, frame);
        flow_to_closed(t, f, t->now);
        return;
    }
    check_fin(t, f, side, ts, frame);
    if (f->state == ST_IGNORED) {
        free_ooo(t, f);
        return;
    }
    if (f->h[0].closed && f->h[1].closed && f->state != ST_DEAD) {
        flow_finish(t, f, FCS_FLOW_END_CLOSED, side, ts, frame);
        flow_to_closed(t, f, t->now);
    }
}

void fcs_tcp_segment(fcs_tcp *t, const fcs_segment *seg, int64_t ts, uint64_t frame,
                     uint32_t wirelen)
{
    t->st.tcp_segments++;
    clock_advance(t, ts, frame);
    fkey k;
    int side = 0;
    uint64_t hash = 0;
    flow *f = segment_flow(t, seg, &side, &k, &hash);
    bool syn = seg->flags & FCS_TH_SYN, ack = seg->flags & FCS_TH_ACK;
    if (!f) {
        f = segment_new_flow(t, seg, side, &k, hash, ts, frame, wirelen);
        if (!f)
            return;
    } else if (syn && !ack && !(f->h[side].syn_seen && f->h[side].isn == seg->seq)) {
        /* A new SYN on an open flow: port reuse. */
        flow_finish(t, f, FCS_FLOW_END_REUSED, 0, ts, frame);
        t->st.flows_reused++;
        flow_init(t, f, seg, side, ts, frame);
    }
    flow_touch(t, f);
    if (f->state == ST_IGNORED) {
        ignored_segment(t, f, side, seg->flags, ts, frame);
        return;
    }
    if (f->state == ST_FASTCGI)
        t->st.fastcgi_segments++;
    uint32_t dseq = seg->seq;
    if (syn) {
        segment_syn(t, f, seg, side, ts, frame);
        dseq = seg->seq + 1;
    }
    half *h = &f->h[side];
    if (!h->seq_known) {
        h->next = dseq;
        h->seq_known = true;
    }
    segment_ack(t, f, seg, side, dseq, ts, frame);
    if (f->state == ST_DEAD)
        return;
    handshake_story(t, f, seg, side, ts, frame);
    segment_data_and_close(t, f, seg, side, dseq, ts, frame);
}

void fcs_tcp_packet(fcs_tcp *t, const fcs_packet *pkt)
{
    fcs_segment seg;
    t->st.packets++;
    t->st.bytes += pkt->len;
    fcs_link_result r = fcs_link_decode(pkt->dlt, pkt->data, pkt->caplen, pkt->len, &seg);
    switch (r) {
    case FCS_LINK_TCP:
        fcs_tcp_segment(t, &seg, pkt->ts_ns, pkt->frame, pkt->len);
        return;
    case FCS_LINK_FRAGMENT: {
        t->st.fragments++;
        if (!seg.first_fragment)
            return;
        fkey k;
        make_key(&seg, &k);
        flow *f = flow_lookup(t, &k, key_hash(&k, t->seed));
        if (f && f->state == ST_FASTCGI) {
            if (!f->frag_reported) {
                f->frag_reported = true;
                fcs_tcp_raise(t, FSD_A_ip_fragment, &f->pub, pkt->frame, pkt->ts_ns,
                              "fragmented TCP segment skipped");
            }
        } else if (!f && (port_is_server(t, seg.sport) || port_is_server(t, seg.dport))) {
            if (!t->frag_null_reported) {
                t->frag_null_reported = true;
                fcs_tcp_raise(t, FSD_A_ip_fragment, NULL, pkt->frame, pkt->ts_ns,
                              "fragmented TCP segment to a FastCGI port skipped");
            }
        }
        return;
    }
    case FCS_LINK_NOT_TCP: t->st.not_tcp++; return;
    case FCS_LINK_NOT_IP: t->st.not_ip++; return;
    case FCS_LINK_SHORT:
        t->st.short_frames++;
        if (pkt->caplen < pkt->len && !t->snap_null_reported) {
            char d[64];
            t->snap_null_reported = true;
            snprintf(d, sizeof d, "headers cut: %u of %u bytes captured",
                     (unsigned)pkt->caplen, (unsigned)pkt->len);
            fcs_tcp_raise(t, FSD_A_snaplen_truncated, NULL, pkt->frame, pkt->ts_ns, d);
        }
        return;
    case FCS_LINK_MALFORMED: t->st.malformed++; return;
    case FCS_LINK_UNSUPPORTED: t->st.malformed++; return;
    }
}

static int cmp_seqno(const void *a, const void *b)
{
    const flow *x = *(flow *const *)a, *y = *(flow *const *)b;
    return x->seqno < y->seqno ? -1 : x->seqno > y->seqno;
}

void fcs_tcp_finish(fcs_tcp *t, int64_t ts_ns, uint64_t frame)
{
    size_t n = 0;
    for (flow *f = t->active.head; f; f = f->lnext)
        n++;
    flow **v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v) {
        /* Out of memory: end them in list order. */
        while (t->active.head) {
            flow *f = t->active.head;
            flow_finish(t, f, FCS_FLOW_END_CAPTURE, 0, ts_ns, frame);
            flow_destroy(t, f);
        }
        return;
    }
    size_t i = 0;
    for (flow *f = t->active.head; f; f = f->lnext)
        v[i++] = f;
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_seqno);
    for (i = 0; i < n; i++) {
        if (v[i]->state != ST_DEAD)
            flow_finish(t, v[i], FCS_FLOW_END_CAPTURE, 0, ts_ns, frame);
        flow_destroy(t, v[i]);
    }
    free(v);
    while (t->thead)
        tomb_remove(t, t->thead);
}
