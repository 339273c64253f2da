/* synflow.c — Unix-socket connections as synthetic IPv4/TCP frames (moved out of unixcap.c so --relay shares it).
 *
 * Normative reference: see synflow.h.
 */
#include "synflow.h"

#include <stdlib.h>
#include <string.h>

/* ---- the synthetic addresses' processes (kept beyond the capture's life) ---- */

#define WHO_MAX (1u << 20)
static fcs_unix_who *who_tab;       /* indexed by connection number % WHO_MAX */
static uint64_t who_next;           /* connections numbered so far */

static void conn_addr(uint64_t n, uint8_t ip[4], uint16_t *port)
{
    uint64_t hi = n / 50000;
    ip[0] = 127;
    ip[1] = 1;
    ip[2] = (uint8_t)(hi >> 8);
    ip[3] = (uint8_t)hi;
    *port = (uint16_t)(10000 + n % 50000);
}

bool fcs_sf_conn_number(const uint8_t a[4], uint16_t port, uint64_t *n)
{
    if (a[0] != 127 || a[1] != 1 || port < 10000 || port >= 60000)
        return false;
    *n = ((uint64_t)a[2] << 8 | a[3]) * 50000 + (port - 10000);
    return true;
}

bool fcs_unix_who_get(const uint8_t a[4], uint16_t port, fcs_unix_who *out)
{
    uint64_t n;
    if (!who_tab || !fcs_sf_conn_number(a, port, &n))
        return false;
    if (n >= who_next || who_next - n > WHO_MAX)
        return false;
    *out = who_tab[n % WHO_MAX];
    return true;
}

fcs_unix_who *fcs_sf_who(const fcs_sf_conn *c)
{
    return &who_tab[c->n % WHO_MAX];
}

/* ---- frames ---- */

#define FCS_SF_BUF_MIN (40u + 2048u)    /* smallest buffer made: most frames fit */

static uint16_t csum16(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v); }

/* A buffer of at least n bytes: a spare one (grown when too small), or a new one. */
static fcs_sf_buf take_buf(fcs_sf *u, uint32_t n)
{
    fcs_sf_buf b = { NULL, 0 };
    if (u->nspare) {
        b = u->spare[--u->nspare];
        if (b.size >= n)
            return b;
        free(b.p);   /* its bytes are not needed: no realloc copy */
    }
    uint32_t size = n < FCS_SF_BUF_MIN ? FCS_SF_BUF_MIN : n;
    b.p = malloc(size);
    b.size = b.p ? size : 0;
    return b;
}

bool fcs_sf_emit(fcs_sf *u, fcs_sf_conn *c, int dir, uint8_t flags, uint64_t off,
                 const uint8_t *pl, uint32_t cap, uint32_t wire, int64_t ts)
{
    if (u->qhead + u->qn == u->qcap) {
        if (u->qhead > 0) {
            memmove(u->q, u->q + u->qhead, u->qn * sizeof *u->q);
            u->qhead = 0;
        } else {
            size_t nc = u->qcap ? u->qcap * 2 : 256;
            fcs_sf_frame *nq = realloc(u->q, nc * sizeof *nq);
            if (!nq)
                return false;
            u->q = nq;
            u->qcap = nc;
        }
    }
    fcs_sf_buf fb = take_buf(u, 40 + cap);
    if (!fb.p)
        return false;
    uint8_t *b = fb.p;
    memset(b, 0, 40);
    uint32_t sip = 0x7f000002, dip = c->ip;
    uint16_t sport = FCS_SF_SERVER_PORT, dport = c->port;
    if (dir == FCS_SF_CLIENT) {
        uint32_t t = sip; sip = dip; dip = t;
        uint16_t tp = sport; sport = dport; dport = tp;
    }
    b[0] = 0x45;
    put16(b + 2, 40 + wire);
    b[6] = 0x40; /* DF */
    b[8] = 64;
    b[9] = 6;
    put32(b + 12, sip);
    put32(b + 16, dip);
    put16(b + 10, csum16(b, 20));
    uint8_t *t = b + 20;
    put16(t, sport);
    put16(t + 2, dport);
    uint32_t seq = c->isn[dir] + 1 + (uint32_t)off;
    if (flags & FCS_TH_SYN)
        seq = c->isn[dir];
    put32(t + 4, seq);
    int od = dir ^ 1;
    if ((flags & FCS_TH_ACK) && c->next[od] != UINT64_MAX)
        put32(t + 8, c->isn[od] + 1 + (uint32_t)c->next[od]);
    else
        flags &= (uint8_t)~FCS_TH_ACK;
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    if (cap)
        memcpy(b + 40, pl, cap);
    fcs_sf_frame *f = &u->q[u->qhead + u->qn++];
    f->buf = fb;
    f->caplen = 40 + cap;
    f->len = 40 + wire;
    f->ts = ts;
    return true;
}

bool fcs_sf_pop(fcs_sf *u, fcs_packet *pkt)
{
    if (u->cur.p) {
        if (u->nspare < FCS_SF_SPARE)
            u->spare[u->nspare++] = u->cur;
        else
            free(u->cur.p);
        u->cur.p = NULL;
    }
    if (!u->qn)
        return false;
    fcs_sf_frame *f = &u->q[u->qhead++];
    u->qn--;
    if (!u->qn)
        u->qhead = 0;
    u->cur = f->buf;
    pkt->data = f->buf.p;
    pkt->caplen = f->caplen;
    pkt->len = f->len;
    pkt->ts_ns = f->ts;
    return true;
}

/* ---- connections ---- */

fcs_sf_conn *fcs_sf_conn_find(fcs_sf *u, uint64_t key)
{
    for (fcs_sf_conn *c = u->bucket[(key >> 6) % FCS_SF_NBUCKET]; c; c = c->hnext)
        if (c->key == key)
            return c;
    return NULL;
}

void fcs_sf_conn_drop(fcs_sf *u, fcs_sf_conn *c)
{
    fcs_sf_conn **pp = &u->bucket[(c->key >> 6) % FCS_SF_NBUCKET];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    free(c);
}

fcs_sf_conn *fcs_sf_conn_new(fcs_sf *u, uint64_t key)
{
    fcs_sf_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!who_tab && !(who_tab = calloc(WHO_MAX, sizeof *who_tab))) {
        free(c);
        return NULL;
    }
    c->key = key;
    c->n = who_next++;
    memset(&who_tab[c->n % WHO_MAX], 0, sizeof who_tab[0]);
    uint8_t ip[4];
    conn_addr(c->n, ip, &c->port);
    c->ip = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
    c->isn[0] = (uint32_t)(c->n * 2654435761u) ^ 0x10000000u;
    c->isn[1] = (uint32_t)(c->n * 40503u) ^ 0x20000000u;
    c->next[0] = c->next[1] = UINT64_MAX;
    size_t b = (key >> 6) % FCS_SF_NBUCKET;
    c->hnext = u->bucket[b];
    u->bucket[b] = c;
    return c;
}

bool fcs_sf_catch_up(fcs_sf *u, fcs_sf_conn *c, int dir, uint64_t off, int64_t ts)
{
    if (c->next[dir] == UINT64_MAX) {
        c->next[dir] = off;     /* joined mid-stream */
        return true;
    }
    if (off <= c->next[dir])
        return true;
    c->next[dir] = off;
    if (c->next[dir ^ 1] == UINT64_MAX) {
        /* the peer's sequence is unknown: the hole stays until the flow ends */
        return true;
    }
    return fcs_sf_emit(u, c, dir ^ 1, FCS_TH_ACK, c->next[dir ^ 1], NULL, 0, 0, ts);
}

bool fcs_sf_data(fcs_sf *u, fcs_sf_conn *c, int dir, uint64_t off, const uint8_t *p, uint64_t n,
                 int64_t ts)
{
    if (!fcs_sf_catch_up(u, c, dir, off, ts))
        return false;
    if (off + n <= c->next[dir])
        return true;
    if (off < c->next[dir]) {
        uint64_t trim = c->next[dir] - off;
        p += trim;
        n -= trim;
        off += trim;
    }
    while (n > 0) {
        uint32_t k = n > FCS_SF_MAX_SEG ? FCS_SF_MAX_SEG : (uint32_t)n;
        if (!fcs_sf_emit(u, c, dir, FCS_TH_ACK | FCS_TH_PSH, off, p, k, k, ts))
            return false;
        off += k;
        p += k;
        n -= k;
        c->next[dir] = off;
    }
    return true;
}

void fcs_sf_handshake(fcs_sf *u, fcs_sf_conn *c, int64_t ts)
{
    c->handshake = true;
    c->next[0] = c->next[1] = 0;
    fcs_sf_emit(u, c, FCS_SF_CLIENT, FCS_TH_SYN, 0, NULL, 0, 0, ts);
    fcs_sf_emit(u, c, FCS_SF_SERVER, FCS_TH_SYN | FCS_TH_ACK, 0, NULL, 0, 0, ts);
    fcs_sf_emit(u, c, FCS_SF_CLIENT, FCS_TH_ACK, 0, NULL, 0, 0, ts);
}

void fcs_sf_free(fcs_sf *u)
{
    for (size_t i = 0; i < u->qn; i++)
        free(u->q[u->qhead + i].buf.p);
    free(u->q);
    free(u->cur.p);
    while (u->nspare)
        free(u->spare[--u->nspare].p);
    u->q = NULL;
    u->cur.p = NULL;
    u->qhead = u->qn = u->qcap = 0;
    for (size_t b = 0; b < FCS_SF_NBUCKET; b++)
        while (u->bucket[b]) {
            fcs_sf_conn *c = u->bucket[b];
            u->bucket[b] = c->hnext;
            free(c);
        }
}
