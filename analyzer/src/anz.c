/* anz.c — the analysis: TCP flows -> one fsd_conn each -> request records, emitted in order of t_begin.
 *
 * Normative reference: see anz.h. No FastCGI byte is read here: the decoder
 * (fsd.h) answers every question about the protocol.
 */
#define _POSIX_C_SOURCE 200809L
#include "anz.h"
#include "activeq.h"
#include "attempt.h"
#include "orderq.h"
#include "unixcap.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- active BEGIN_REQUESTs (activeq.h), per flow in a list too -------- */

typedef struct begin_node {
    activeq_node key;         /* its first packet; in anz.active */
    uint16_t rid;
    struct begin_node *next; /* in its flow's list */
} begin_node;

typedef struct flowctx {
    struct anz *a;
    fcs_flow *f;
    fsd_conn *conn;
    begin_node *begins;
    /* Per direction, the earliest packet (ns, tag) of bytes the decoder was
     * given after the end of the last record it completed: a record starting
     * there (a BEGIN_REQUEST, an anomaly at its offset) may still come.
     * INT64_MAX: at a record boundary, or the direction gave up (desync). */
    int64_t since_ns[2];
    uint64_t since_tag[2];
    int64_t at_ns;            /* the packet of the chunk being fed */
    uint64_t at_tag;
    uint32_t idx;             /* in anz.fcs */
    bool dead[2];             /* desynced: no more records */
    uint8_t clen, slen;       /* "ip:port" of client and server, each NUL-terminated, */
    char addr[];              /* client at addr, server at addr + clen + 1 */
} flowctx;

#define FC_CLIENT(fc) ((fc)->addr)
#define FC_SERVER(fc) ((fc)->addr + (fc)->clen + 1)

/* ---- the output queue ------------------------------------------------- */

typedef struct qitem {
    int64_t ns;
    uint64_t tag;
    uint64_t seq;
    bool is_req;
} qitem;

/* Each kind allocated at its own size, the qitem header first. */
typedef struct qreq {
    qitem h;
    req_rec r;
} qreq;

typedef struct qanom {
    qitem h;
    anom_rec an;
} qanom;

/* Streams: the order in which records were queued, with the wall clock
 * then (a ring; entries of records written since are dropped lazily). */
typedef struct wentry {
    orderq_ent key;           /* item unused */
    int64_t wall;             /* CLOCK_MONOTONIC ns when queued */
} wentry;

#define Q_REQ(it) (&((qreq *)(it))->r)
#define Q_ANOM(it) (&((qanom *)(it))->an)

#define ANZ_MAX_ACCEPTING 256 /* servers remembered as accepting connections */

struct anz {
    anz_config cfg;
    const opts *o;
    fcs_tcp *tcp;
    uint16_t *ports;
    size_t nports;
    activeq active;           /* the active BEGIN_REQUESTs (activeq.h) */
    orderq q;                 /* lines waiting for their turn (orderq.h) */
    uint64_t seq;
    int64_t cur_ns;
    uint64_t cur_frame;
    bool have_cur;
    /* Ordering bound: no request or anomaly still to come can sort before
     * (bound_ns, bound_tag). Recomputed from the flows now and then (it only
     * grows while timestamps do). */
    flowctx **fcs;            /* flows with a decoder connection */
    size_t nfc, fccap;
    int64_t bound_ns;
    uint64_t bound_tag;
    uint64_t since_bound;     /* packets since the bound was computed */
    int64_t max_ts;           /* latest packet timestamp seen */
    int64_t regress;          /* largest step back in time seen (slack for the future) */
    /* Streams (cfg.wall_lag_ns > 0): records queued wall_lag_ns ago or more
     * are released with everything queued before them in start order. */
    wentry *wq;
    size_t wq_head, wq_len, wq_cap;
    orderq_ent rel;           /* release key: queued records up to it go */
    bool have_rel;
    int64_t att_wall;         /* the attempts stage holds lines since (0: it holds none) */
    bool rel_emitted;         /* drain() wrote a line because of the release key */
    /* FastCGI server ports: listed (-p / 9000) or FastCGI seen on them. A
     * handshake event (refused, closed early, retried) on another port waits
     * in `held` until FastCGI shows up on its port (or is dropped at the end;
     * at most ANZ_MAX_HELD_EVENTS wait, the oldest dropped first). */
    uint8_t fport[65536 / 8];
    /* servers that accepted a connection (SYN-ACK), and the last time: a SYN
     * to one of them never answered while it accepted others was dropped by
     * a full accept queue, not refused (ANZ_MAX_ACCEPTING servers kept) */
    struct { fcs_endpoint ep; int64_t last_ns; } accepting[ANZ_MAX_ACCEPTING];
    size_t naccepting;
    qitem **held;
    uint16_t *held_port;
    size_t nheld, heldcap;
    anz_counters c;
    attempts *att;            /* retries grouped on the way out (attempt.h) */
};

#define ANZ_MAX_HELD_EVENTS 4096

static bool key_less(int64_t an, uint64_t at, int64_t bn, uint64_t bt)
{
    return an < bn || (an == bn && at < bt);
}

/* b - a without signed overflow (timestamps come from the capture) */
static int64_t ns_sub(int64_t b, int64_t a)
{
    if (a < 0 ? b > INT64_MAX + a : b < INT64_MIN + a)
        return a < 0 ? INT64_MAX : INT64_MIN;
    return b - a;
}

/* unlink and free one node of a flow's list */
static void begin_drop(anz *a, flowctx *fc, begin_node *n)
{
    for (begin_node **pp = &fc->begins; *pp; pp = &(*pp)->next)
        if (*pp == n) {
            *pp = n->next;
            break;
        }
    fcs_activeq_remove(&a->active, &n->key);
    free(n);
}

/* ---- queue ------------------------------------------------------------ */

/* Write one line and free it (the attempts stage's release). */
static void write_item(void *ud, void *item, bool write)
{
    anz *a = ud;
    qitem *it = item;
    if (it->is_req) {
        if (write)
            a->cfg.sink.request(a->cfg.sink.ud, Q_REQ(it));
        fcs_req_free(Q_REQ(it));
    } else if (write) {
        a->cfg.sink.anomaly(a->cfg.sink.ud, Q_ANOM(it));
    }
    free(it);
}

/* Queue a line for its turn (no room to wait: it is written now). */
static void q_push(anz *a, qitem *it)
{
    orderq_ent e = { it->ns, it->tag, it->seq, it };
    if (!fcs_orderq_push(&a->q, e)) {
        write_item(a, it, true);
        a->c.emitted_late++;
        return;
    }
    if (a->q.n > a->c.pending_max)
        a->c.pending_max = a->q.n;
}

/* A queue item as large as its kind needs (requests are the common case). */
static qitem *qitem_new(bool is_req)
{
    qitem *it = is_req ? (qitem *)calloc(1, sizeof(qreq)) : (qitem *)calloc(1, sizeof(qanom));
    if (it)
        it->is_req = is_req;
    return it;
}

/* Lines leave the ordering queue in start order through the attempts
 * stage, which holds a failed request (and what follows it) until its
 * retry, if any, was seen. */
static void emit(anz *a, qitem *it)
{
    if (!a->att) {
        write_item(a, it, true);
        return;
    }
    fcs_att_push(a->att, it, it->is_req ? Q_REQ(it) : NULL, it->is_req ? NULL : Q_ANOM(it), it->ns);
}

/* No line still to come sorts before the queue's head, the earliest active
 * BEGIN_REQUEST and the ordering bound: tell the attempts stage. */
static void advance_attempts(anz *a)
{
    if (!a->att || fcs_att_held(a->att) == 0)
        return;
    int64_t h = a->bound_ns;
    if (a->q.n > 0 && a->q.e[0].ns < h)
        h = a->q.e[0].ns;
    const activeq_node *act = fcs_activeq_min(&a->active);
    if (act && act->ns < h)
        h = act->ns;
    fcs_att_advance(a->att, h);
}

static inline void kmin(int64_t *ns, uint64_t *tag, int64_t n2, uint64_t t2)
{
    if (key_less(n2, t2, *ns, *tag)) {
        *ns = n2;
        *tag = t2;
    }
}

/* The ordering bound: the earliest of later packets (the current one, less
 * the largest step back in time seen so far), the bytes reassembly holds
 * back and each flow's bytes not yet closed by a record. */
static void bound_update(anz *a)
{
    int64_t ns = a->cur_ns >= INT64_MIN + a->regress ? a->cur_ns - a->regress : INT64_MIN;
    uint64_t tag = a->regress ? 0 : a->cur_frame;
    for (size_t i = 0; i < a->nfc; i++) {
        const flowctx *fc = a->fcs[i];
        for (int d = 0; d < 2; d++)
            if (fc->since_ns[d] != INT64_MAX)
                kmin(&ns, &tag, fc->since_ns[d], fc->since_tag[d]);
    }
    int64_t hn;
    uint64_t ht;
    if (fcs_tcp_oldest_held(a->tcp, &hn, &ht))
        kmin(&ns, &tag, hn, ht);
    for (size_t i = 0; i < a->nheld; i++) /* handshake events waiting for their port */
        kmin(&ns, &tag, a->held[i]->ns, a->held[i]->tag);
    a->bound_ns = ns;
    a->bound_tag = tag;
    a->since_bound = 0;
}

/* The queue's head is written before an active BEGIN_REQUEST that sorts
 * before it (a request that may still precede it): count it late. */
static void count_if_late(anz *a, const orderq_ent *top)
{
    const activeq_node *act = fcs_activeq_min(&a->active);
    if (act && !key_less(top->ns, top->tag, act->ns, act->tag))
        a->c.emitted_late++;
}

/* Write what can no longer be preceded; all of it when flush. */
static void drain(anz *a, bool flush)
{
    size_t cap = a->cfg.max_pending;
    const orderq_ent *top;
    while ((top = fcs_orderq_top(&a->q)) != NULL) {
        bool go = flush;
        if (!go && a->have_rel && !fcs_orderq_less(&a->rel, top)) {
            /* streams: queued too long (wall clock), written anyway */
            go = true;
            a->rel_emitted = true;
            count_if_late(a, top);
        }
        if (!go && a->q.n > cap) {
            go = true; /* the cap: written anyway */
            count_if_late(a, top);
        }
        if (!go && a->have_cur) {
            const activeq_node *act = fcs_activeq_min(&a->active);
            bool before_active = !act || key_less(top->ns, top->tag, act->ns, act->tag);
            if (!before_active)
                break;
            /* Nothing still to come sorts before the bound (the flows'
             * undecoded bytes, reassembly's held bytes, later packets). */
            go = key_less(top->ns, top->tag, a->bound_ns, a->bound_tag);
            if (!go && a->since_bound >= 32 + a->nfc) {
                bound_update(a);
                go = key_less(top->ns, top->tag, a->bound_ns, a->bound_tag);
            }
            /* The fallback: top->ns < cur_ns - lag (lag >= 0, fcs_anz_new;
             * when cur_ns - lag would roll over below INT64_MIN, nothing is
             * below it). Bounds memory when a direction never completes a
             * record again (hunting forever). */
            int64_t lag = a->cfg.order_lag_ns;
            if (!go)
                go = (a->cur_ns >= INT64_MIN + lag && top->ns < a->cur_ns - lag)
                    || (lag == 0 && key_less(top->ns, top->tag, a->cur_ns, a->cur_frame));
        }
        if (!go)
            break;
        emit(a, fcs_orderq_pop(&a->q));
    }
    advance_attempts(a);
}

static int64_t wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Streams: note when a record was queued (no room: it waits for its order,
 * or the queue cap, like a file's). */
static void wq_note(anz *a, const qitem *it)
{
    if (a->wq_len == a->wq_cap) {
        size_t cap = a->wq_cap ? a->wq_cap * 2 : 256;
        wentry *p = malloc(cap * sizeof *p);
        if (!p)
            return;
        for (size_t i = 0; i < a->wq_len; i++)
            p[i] = a->wq[(a->wq_head + i) % a->wq_cap];
        free(a->wq);
        a->wq = p;
        a->wq_cap = cap;
        a->wq_head = 0;
    }
    wentry *w = &a->wq[(a->wq_head + a->wq_len++) % a->wq_cap];
    w->key.ns = it->ns;
    w->key.tag = it->tag;
    w->key.seq = it->seq;
    w->key.item = NULL;
    w->wall = wall_now();
}

static void deliver(anz *a, qitem *it)
{
    it->seq = a->seq++;
    if (a->cfg.immediate) {
        emit(a, it);
        return;
    }
    q_push(a, it);
    if (a->cfg.wall_lag_ns > 0)
        wq_note(a, it);
}

/* ---- decoder callbacks -------------------------------------------------- */

static void on_record(void *ud, const fsd_record_event *ev)
{
    flowctx *fc = ud;
    /* A record ended: the next one starts right after it, in this chunk or
     * in a later packet. */
    int d = ev->dir == FSD_DIR_SERVER;
    uint64_t end = ev->offset + fsd_header_record_len(&ev->hdr);
    if (end >= fc->f->bytes[ev->dir] + fc->f->gap_bytes[ev->dir] || fc->dead[d]) {
        fc->since_ns[d] = INT64_MAX;
    } else {
        fc->since_ns[d] = fc->at_ns;
        fc->since_tag[d] = fc->at_tag;
    }
    if (ev->dir != FSD_DIR_CLIENT || ev->hdr.type != FSD_BEGIN_REQUEST || !ev->request_active
        || ev->truncated || !ev->first.set)
        return;
    begin_node *n = calloc(1, sizeof *n);
    if (!n)
        return; /* ordering then relies on the lag only */
    n->key.ns = ev->first.ns;
    n->key.tag = ev->first.tag;
    n->rid = ev->hdr.request_id;
    if (!fcs_activeq_push(&fc->a->active, &n->key)) {
        free(n);
        return;
    }
    n->next = fc->begins;
    fc->begins = n;
}

/* A stand-alone anomaly line, queued at its packet (ts_ns, frame). NULL:
 * out of memory (the line is lost; the summary counted it). */
static qitem *anom_item(fsd_anomaly_id id, fsd_severity sev, uint64_t frame, int64_t ts_ns)
{
    qitem *it = qitem_new(false);
    if (!it)
        return NULL;
    anom_rec *ar = Q_ANOM(it);
    ar->id = id;
    ar->severity = sev;
    ar->frame = frame;
    ar->ts_ns = ts_ns;
    it->ns = ts_ns;
    it->tag = frame;
    return it;
}

/* The detail (n bytes at detail), cut to what anom_rec holds. */
static void set_detail(anom_rec *ar, const char *detail, size_t n)
{
    if (n >= sizeof ar->detail)
        n = sizeof ar->detail - 1;
    memcpy(ar->detail, detail, n);
    ar->detail[n] = '\0';
}

/* The TCP flow's connection number and endpoints. */
static void set_endpoints(anom_rec *ar, const fcs_flow *f)
{
    ar->conn_id = f->id;
    fcs_endpoint_format(&f->client, ar->client, sizeof ar->client);
    fcs_endpoint_format(&f->server, ar->server, sizeof ar->server);
}

static void fill_anom_flow(anom_rec *ar, const flowctx *fc)
{
    if (!fc)
        return;
    ar->conn_id = fc->f->id;
    memcpy(ar->client, FC_CLIENT(fc), (size_t)fc->clen + 1);
    memcpy(ar->server, FC_SERVER(fc), (size_t)fc->slen + 1);
}

static void on_anomaly(void *ud, const fsd_anomaly_event *ev)
{
    flowctx *fc = ud;
    anz *a = fc->a;
    if (ev->id == FSD_A_desync) { /* that direction gives up: no more records */
        int d = ev->dir == FSD_DIR_SERVER;
        fc->dead[d] = true;
        fc->since_ns[d] = INT64_MAX;
    }
    fsd_severity sev = ev->severity ? ev->severity : fsd_anomaly_severity(ev->id);
    fcs_stats_anomaly(a->cfg.st, ev->id, sev, ev->at.tag, ev->detail);
    if (ev->in_transaction)
        return;
    qitem *it = anom_item(ev->id, sev, ev->at.tag, ev->at.ns);
    if (!it)
        return;
    anom_rec *ar = Q_ANOM(it);
    ar->has_ts = true;
    fill_anom_flow(ar, fc);
    ar->has_dir = true;
    ar->dir = ev->dir;
    ar->request_id = ev->request_id;
    const char *nul = memchr(ev->detail, '\0', FSD_DETAIL_MAX);
    set_detail(ar, ev->detail, nul ? (size_t)(nul - ev->detail) : FSD_DETAIL_MAX);
    deliver(a, it);
}

/* --unix: split the request's time at the moment the app end took it
 * (unixcap.h): queue (BEGIN written -> read) and run (read -> END). */
static void note_pickup(req_rec *r, const fcs_flow *fl)
{
    int64_t end = INT64_MAX;
    if (r->has_latency)
        end = r->t_begin_ns + r->latency_ns;
    else if (r->has_elapsed)
        end = r->t_begin_ns + r->elapsed_ns;
    int64_t taken, ready;
    if (!fcs_unix_pickup(fl->client.addr, fl->client.port, r->t_begin_ns, end, &taken, &ready))
        return;
    r->has_queue = true;
    r->queue_ns = taken - r->t_begin_ns;
    if (r->has_latency) {
        r->has_run = true;
        r->run_ns = r->latency_ns - r->queue_ns;
    }
}

static void on_transaction(void *ud, const fsd_transaction *tx)
{
    flowctx *fc = ud;
    anz *a = fc->a;
    a->c.requests++;

    /* This request is no longer active: drop its noted BEGIN (and any stale
     * one of the same id that began before it). */
    begin_node *exact = NULL;
    for (begin_node *n = fc->begins; n; n = n->next)
        if (n->rid == tx->request_id && tx->t_begin.set && n->key.ns == tx->t_begin.ns
            && n->key.tag == tx->t_begin.tag)
            exact = n;
    if (exact) {
        begin_drop(a, fc, exact);
    } else {
        begin_node *oldest = NULL;
        for (begin_node *n = fc->begins; n; n = n->next)
            if (n->rid == tx->request_id && (!oldest || fcs_activeq_less(&n->key, &oldest->key)))
                oldest = n;
        if (oldest)
            begin_drop(a, fc, oldest);
    }
    if (tx->t_begin.set) {
        for (begin_node *n = fc->begins, *next; n; n = next) {
            next = n->next;
            if (n->rid == tx->request_id
                && key_less(n->key.ns, n->key.tag, tx->t_begin.ns, tx->t_begin.tag))
                begin_drop(a, fc, n);
        }
    }

    /* One allocation: the record, then its strings (the queue holds about a
     * second of requests; a malloc per string cost time and memory). */
    size_t extra = fcs_req_tx_size(tx, a->o->params, a->o->nparams);
    qitem *it = malloc(sizeof(qreq) + extra);
    if (!it)
        return;
    memset(it, 0, sizeof *it);
    it->is_req = true;
    req_rec *r = Q_REQ(it);
    fcs_req_from_tx_inline(r, tx, a->o->params, a->o->nparams, (char *)it + sizeof(qreq));
    fcs_req_set_end_time(r, fc->at_ns); /* incomplete: delivered at the capture's end or close */
    fcs_att_keys_from_tx(r, tx);
    r->conn_id = fc->f->id;
    memcpy(r->client, FC_CLIENT(fc), (size_t)fc->clen + 1);
    memcpy(r->server, FC_SERVER(fc), (size_t)fc->slen + 1);
    const fcs_flow *fl = fc->f;
    int64_t wait = 0; /* first SYN -> BEGIN_REQUEST */
    if (tx->seq == 0 && fl->syns > 0 && fl->synack && tx->t_begin.set && !fl->midstream) {
        /* the connection's first request: how long the web server waited
         * to connect, first SYN to SYN-ACK (SYN retransmissions included),
         * as nginx's $upstream_connect_time measures it */
        r->has_connect = true;
        r->connect_ns = ns_sub(fl->synack_ts_ns, fl->syn_ts_ns);
        r->syn_retransmits = fl->syns - 1;
        wait = ns_sub(tx->t_begin.ns, fl->syn_ts_ns);
        if (wait < 0)
            wait = 0;
    }
    if (a->o->unix_path && tx->t_begin.set && fl->client.family == 4)
        note_pickup(r, fl);
    if (a->o->latency_from_syn && r->has_connect && (r->has_latency || r->has_elapsed)) {
        /* --latency from-syn: percentiles and the slowest list count from
         * the first SYN (the connect and whatever the web server did before
         * writing the request: HAProxy's wait for GET_VALUES_RESULT); the
         * slowest list ranks and shows elapsed_ns, so it moves too; the
         * request line keeps BEGIN -> END */
        int64_t fcgi = r->latency_ns, el = r->elapsed_ns;
        if (r->has_latency)
            r->latency_ns = r->latency_ns > INT64_MAX - wait ? INT64_MAX : r->latency_ns + wait;
        if (r->has_elapsed)
            r->elapsed_ns = r->elapsed_ns > INT64_MAX - wait ? INT64_MAX : r->elapsed_ns + wait;
        fcs_stats_request(a->cfg.st, r);
        r->latency_ns = fcgi;
        r->elapsed_ns = el;
    } else {
        fcs_stats_request(a->cfg.st, r);
    }
    if (tx->t_begin.set) {
        it->ns = tx->t_begin.ns;
        it->tag = tx->t_begin.tag;
    } else { /* no BEGIN_REQUEST seen: place it where it was delivered */
        it->ns = a->cur_ns;
        it->tag = a->cur_frame;
    }
    deliver(a, it);
}

static const fsd_callbacks dec_cb = {
    .on_record = on_record,
    .on_anomaly = on_anomaly,
    .on_transaction = on_transaction,
};

/* ---- flow callbacks ----------------------------------------------------- */

/* The decoder connection (and the flow's context) is created at the flow's
 * first byte or gap, not at its SYN: a SYN-only flow (a scan, a SYN flood, a
 * connection refused) costs the analyzer nothing and is not counted as a
 * FastCGI connection. */
/* Server ep answered a SYN (SYN-ACK at ns). */
static void note_accepting(anz *a, const fcs_endpoint *ep, int64_t ns)
{
    size_t i;
    for (i = 0; i < a->naccepting; i++)
        if (!memcmp(&a->accepting[i].ep, ep, sizeof *ep))
            break;
    if (i == a->naccepting) {
        if (a->naccepting == ANZ_MAX_ACCEPTING)
            return;
        a->accepting[i].ep = *ep;
        a->accepting[i].last_ns = ns;
        a->naccepting++;
    } else if (ns > a->accepting[i].last_ns) {
        a->accepting[i].last_ns = ns;
    }
}

/* When server ep last answered a SYN (INT64_MIN: not seen). */
static int64_t last_accepted(const anz *a, const fcs_endpoint *ep)
{
    for (size_t i = 0; i < a->naccepting; i++)
        if (!memcmp(&a->accepting[i].ep, ep, sizeof *ep))
            return a->accepting[i].last_ns;
    return INT64_MIN;
}

static flowctx *flow_ctx(anz *a, fcs_flow *f)
{
    if (f->user)
        return f->user;
    if (f->synack)
        note_accepting(a, &f->server, f->synack_ts_ns);
    char cb[REC_ADDR_MAX], sb[REC_ADDR_MAX]; /* < 64: both fit a uint8_t length */
    fcs_endpoint_format(&f->client, cb, sizeof cb);
    fcs_endpoint_format(&f->server, sb, sizeof sb);
    size_t cl = strlen(cb), sl = strlen(sb);
    flowctx *fc = calloc(1, sizeof *fc + cl + 1 + sl + 1);
    if (!fc) {
        a->c.decoder_failures++;
        return NULL;
    }
    if (a->nfc == a->fccap) {
        size_t cap = a->fccap ? a->fccap * 2 : 64;
        flowctx **p = realloc(a->fcs, cap * sizeof *p);
        if (!p) {
            a->c.decoder_failures++;
            free(fc);
            return NULL;
        }
        a->fcs = p;
        a->fccap = cap;
    }
    fc->a = a;
    fc->f = f;
    fc->since_ns[0] = fc->since_ns[1] = INT64_MAX;
    fc->clen = (uint8_t)cl;
    fc->slen = (uint8_t)sl;
    memcpy(FC_CLIENT(fc), cb, cl + 1);
    memcpy(FC_SERVER(fc), sb, sl + 1);
    fsd_conn_config cc;
    memset(&cc, 0, sizeof cc);
    fsd_limits_default(&cc.limits);
    fcs_opts_set_limits(a->o, &cc.limits); /* --max-header, --upstream-timeout */
    cc.cb = &dec_cb;
    cc.ud = fc;
    cc.flags = f->midstream & (FSD_CONN_MIDSTREAM_CLIENT | FSD_CONN_MIDSTREAM_SERVER);
    fc->conn = fsd_conn_new(&cc);
    if (!fc->conn) {
        a->c.decoder_failures++;
        free(fc);
        return NULL;
    }
    a->c.connections++;
    f->user = fc;
    fc->idx = (uint32_t)a->nfc;
    a->fcs[a->nfc++] = fc;
    return fc;
}

/* ---- handshake evidence (connection_refused, closed_before_request,
 * connect_retried): from tcp.c's conn_event, for FastCGI server ports ---- */

static inline bool fport_is(const anz *a, uint16_t p)
{
    return (a->fport[p >> 3] >> (p & 7)) & 1;
}

static void held_drop(anz *a, size_t i)
{
    free(a->held[i]);
    a->held[i] = a->held[a->nheld - 1];
    a->held_port[i] = a->held_port[a->nheld - 1];
    a->nheld--;
}

/* An event on a FastCGI server port: counted, per server too, and queued. */
static void conn_event_out(anz *a, qitem *it)
{
    anom_rec *ar = Q_ANOM(it);
    fcs_stats_anomaly(a->cfg.st, ar->id, ar->severity, ar->frame, ar->detail);
    if (fcs_stats_backend(a->cfg.st, ar->id, ar->server) > STATS_BACKEND_LINES) {
        /* a SYN flood or a long outage: counted (anomalies, backend), the
         * lines stop at STATS_BACKEND_LINES per server and kind */
        a->cfg.st->backend_unlisted++;
        free(it);
        return;
    }
    deliver(a, it);
}

/* FastCGI seen on port p: it is a FastCGI server port from now on, and the
 * events that waited for it come out. */
static void fport_seen(anz *a, uint16_t p)
{
    if (fport_is(a, p))
        return;
    a->fport[p >> 3] |= (uint8_t)(1u << (p & 7));
    for (size_t i = 0; i < a->nheld;) {
        if (a->held_port[i] == p) {
            qitem *it = a->held[i];
            a->held[i] = NULL;
            held_drop(a, i);
            conn_event_out(a, it);
        } else {
            i++;
        }
    }
}

/* What the handshake showed, in words. */
static void conn_event_detail(anz *a, const fcs_flow *f, fcs_conn_event ev, int64_t ts_ns,
                              anom_rec *ar)
{
    double since = (double)ns_sub(ts_ns, f->syn_ts_ns) / 1e9;
    switch (ev) {
    case FCS_CONN_REFUSED:
        snprintf(ar->detail, sizeof ar->detail, "SYN (frame %llu%s) answered by RST: nothing "
                 "listens there", (unsigned long long)f->syn_frame, f->syns > 1 ? ", retransmitted" : "");
        break;
    case FCS_CONN_UNANSWERED:
        if (last_accepted(a, &f->server) > f->syn_ts_ns)
            /* the server accepted other connections meanwhile: it listens,
             * its accept queue (listen backlog) was full and dropped these */
            snprintf(ar->detail, sizeof ar->detail, "%u SYN%s (first at frame %llu) never answered "
                     "while the server accepted other connections: accept queue full (listen "
                     "backlog), SYNs dropped", (unsigned)f->syns, f->syns == 1 ? "" : "s",
                     (unsigned long long)f->syn_frame);
        else
            snprintf(ar->detail, sizeof ar->detail, "%u SYN%s (first at frame %llu) never answered "
                     "in %.1f s", (unsigned)f->syns, f->syns == 1 ? "" : "s",
                     (unsigned long long)f->syn_frame, since);
        break;
    case FCS_CONN_CLOSED_EARLY:
        snprintf(ar->detail, sizeof ar->detail, "the server closed the connection (SYN at frame "
                 "%llu) %.3f s after the SYN, before the web server sent a byte",
                 (unsigned long long)f->syn_frame, since);
        break;
    case FCS_CONN_RETRIED:
        note_accepting(a, &f->server, f->synack_ts_ns);
        snprintf(ar->detail, sizeof ar->detail, "SYN sent %u times (first at frame %llu): "
                 "connected %.3f s after the first", (unsigned)f->syns,
                 (unsigned long long)f->syn_frame, since);
        break;
    }
}

/* An event on a port not (yet) known as a FastCGI server's: it waits in
 * held until FastCGI shows up there (at most ANZ_MAX_HELD_EVENTS, the
 * oldest dropped first). */
static void hold_event(anz *a, qitem *it, uint16_t p)
{
    if (a->nheld == ANZ_MAX_HELD_EVENTS) {
        size_t oldest = 0;
        for (size_t i = 1; i < a->nheld; i++)
            if (key_less(a->held[i]->ns, a->held[i]->tag, a->held[oldest]->ns, a->held[oldest]->tag))
                oldest = i;
        held_drop(a, oldest);
    }
    if (a->nheld == a->heldcap) {
        size_t cap = a->heldcap ? a->heldcap * 2 : 16;
        qitem **h = realloc(a->held, cap * sizeof *h);
        if (!h) {
            free(it);
            return;
        }
        a->held = h;
        uint16_t *hp = realloc(a->held_port, cap * sizeof *hp);
        if (!hp) {
            free(it);
            return;
        }
        a->held_port = hp;
        a->heldcap = cap;
    }
    a->held[a->nheld] = it;
    a->held_port[a->nheld++] = p;
}

static void conn_event(void *ud, const fcs_flow *f, fcs_conn_event ev, int64_t ts_ns, uint64_t frame)
{
    anz *a = ud;
    static const fsd_anomaly_id ids[] = {
        [FCS_CONN_REFUSED] = FSD_A_connection_refused,
        [FCS_CONN_UNANSWERED] = FSD_A_connection_refused,
        [FCS_CONN_CLOSED_EARLY] = FSD_A_closed_before_request,
        [FCS_CONN_RETRIED] = FSD_A_connect_retried,
    };
    if ((unsigned)ev >= sizeof ids / sizeof ids[0])
        return;
    qitem *it = anom_item(ids[ev], fsd_anomaly_severity(ids[ev]), frame, ts_ns);
    if (!it)
        return;
    anom_rec *ar = Q_ANOM(it);
    ar->has_ts = true;
    ar->request_id = -1;
    set_endpoints(ar, f);
    conn_event_detail(a, f, ev, ts_ns, ar);
    uint16_t p = f->server.port;
    if (fport_is(a, p)) {
        conn_event_out(a, it);
        return;
    }
    if (!a->o->detect) { /* no FastCGI can be seen on another port */
        free(it);
        return;
    }
    hold_event(a, it, p);
}

static void flow_open(void *ud, fcs_flow *f)
{
    fport_seen(ud, f->server.port);
}

static void flow_data(void *ud, fcs_flow *f, fsd_dir dir, const uint8_t *data, size_t len,
                      int64_t ts_ns, uint64_t frame)
{
    flowctx *fc = flow_ctx(ud, f);
    if (!fc)
        return;
    int d = dir == FSD_DIR_SERVER;
    if (fc->since_ns[d] == INT64_MAX && !fc->dead[d]) {
        fc->since_ns[d] = ts_ns;
        fc->since_tag[d] = frame;
    }
    fc->at_ns = ts_ns;
    fc->at_tag = frame;
    fsd_conn_feed(fc->conn, dir, data, len, ts_ns, frame);
}

static void flow_gap(void *ud, fcs_flow *f, fsd_dir dir, uint64_t nbytes, int64_t ts_ns,
                     uint64_t frame)
{
    anz *a = ud;
    a->c.gap_bytes += nbytes;
    flowctx *fc = flow_ctx(a, f);
    if (!fc)
        return;
    fc->at_ns = ts_ns;
    fc->at_tag = frame;
    fsd_conn_gap(fc->conn, dir, nbytes, ts_ns, frame);
}

static void flow_close(void *ud, fcs_flow *f, fsd_dir dir, fsd_close_kind kind, int64_t ts_ns,
                       uint64_t frame)
{
    (void)ud;
    flowctx *fc = f->user;
    if (!fc)
        return;
    fc->at_ns = ts_ns;
    fc->at_tag = frame;
    fsd_conn_close(fc->conn, dir, kind, ts_ns, frame);
}

static void flow_end(void *ud, fcs_flow *f, fcs_flow_end_reason reason, int64_t ts_ns,
                     uint64_t frame)
{
    anz *a = ud;
    (void)reason;
    flowctx *fc = f->user;
    if (!fc)
        return;
    fc->at_ns = ts_ns;
    fc->at_tag = frame;
    fsd_conn_finish(fc->conn, ts_ns, frame);
    fsd_conn_stats cs;
    fsd_conn_get_stats(fc->conn, &cs);
    for (int d = 0; d < 2; d++) {
        a->c.records += cs.dir[d].records;
        a->c.skipped_bytes += cs.dir[d].skipped_bytes;
    }
    a->c.untracked_requests += cs.untracked_requests;
    a->c.untracked_records += cs.untracked_records;
    a->c.untracked_bytes += cs.untracked_bytes;
    fsd_conn_free(fc->conn);
    while (fc->begins)
        begin_drop(a, fc, fc->begins);
    a->fcs[fc->idx] = a->fcs[--a->nfc];
    a->fcs[fc->idx]->idx = fc->idx;
    free(fc);
    f->user = NULL;
}

static void tcp_anomaly(void *ud, fsd_anomaly_id id, fcs_flow *f, uint64_t frame, int64_t ts_ns,
                        const char *detail)
{
    anz *a = ud;
    fsd_severity sev = fsd_anomaly_severity(id);
    fcs_stats_anomaly(a->cfg.st, id, sev, frame, detail);
    qitem *it = anom_item(id, sev, frame, ts_ns);
    if (!it)
        return;
    anom_rec *ar = Q_ANOM(it);
    ar->has_ts = ts_ns != 0 || frame != 0;
    ar->request_id = -1;
    if (f)
        set_endpoints(ar, f);
    if (detail)
        set_detail(ar, detail, strlen(detail));
    deliver(a, it);
}

static const fcs_tcp_callbacks tcp_cb = {
    .flow_open = flow_open,
    .flow_data = flow_data,
    .flow_gap = flow_gap,
    .flow_close = flow_close,
    .flow_end = flow_end,
    .anomaly = tcp_anomaly,
    .conn_event = conn_event,
};

/* ---- public --------------------------------------------------------------- */

anz *fcs_anz_new(const anz_config *cfg)
{
    anz *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->cfg = *cfg;
    a->o = cfg->o;
    if (a->cfg.order_lag_ns < 0)
        a->cfg.order_lag_ns = ANZ_ORDER_LAG_NS;
    if (a->cfg.max_pending == 0)
        a->cfg.max_pending = ANZ_MAX_PENDING;
    a->bound_ns = INT64_MIN;
    a->att = fcs_att_new(cfg->st, ATT_WINDOW_NS, 0, write_item, a);
    if (!a->att) {
        free(a);
        return NULL;
    }
    /* the port list: ranges expanded (at most 65535 entries) */
    size_t n = 0;
    if (a->o->nports == 0) {
        n = 1;
    } else {
        for (size_t i = 0; i < a->o->nports; i++)
            n += (size_t)a->o->ports[i].hi - a->o->ports[i].lo + 1;
    }
    a->ports = malloc(n * sizeof *a->ports);
    if (!a->ports) {
        fcs_att_free(a->att);
        free(a);
        return NULL;
    }
    if (a->o->nports == 0) {
        a->ports[a->nports++] = 9000;
    } else {
        for (size_t i = 0; i < a->o->nports; i++)
            for (uint32_t p = a->o->ports[i].lo; p <= a->o->ports[i].hi; p++) {
                bool dup = false;
                for (size_t k = 0; k < a->nports && !dup; k++)
                    dup = a->ports[k] == p;
                if (!dup)
                    a->ports[a->nports++] = (uint16_t)p;
            }
    }
    for (size_t i = 0; i < a->nports; i++)
        a->fport[a->ports[i] >> 3] |= (uint8_t)(1u << (a->ports[i] & 7));
    fcs_tcp_config tc;
    memset(&tc, 0, sizeof tc);
    tc.server_ports = a->ports;
    tc.nserver_ports = a->nports;
    tc.classify = a->o->detect ? fsd_looks_like_fastcgi : NULL;
    tc.recognise = a->o->detect ? fsd_recognise : NULL;
    tc.max_flows = a->o->max_flows;
    a->tcp = fcs_tcp_new(&tc, &tcp_cb, a);
    if (!a->tcp) {
        fcs_att_free(a->att);
        free(a->ports);
        free(a);
        return NULL;
    }
    return a;
}

static void note_time(anz *a, int64_t ts, uint64_t frame)
{
    if (!a->have_cur || ts > a->max_ts) {
        a->max_ts = ts;
    } else if (ts < a->max_ts) { /* time went back: later packets may too */
        uint64_t back = (uint64_t)a->max_ts - (uint64_t)ts;
        if (back > (uint64_t)INT64_MAX)
            back = (uint64_t)INT64_MAX;
        if ((int64_t)back > a->regress)
            a->regress = (int64_t)back;
    }
    a->since_bound++;
    a->cur_ns = ts;
    a->cur_frame = frame;
    a->have_cur = true;
    if (!a->c.have_ts) {
        a->c.first_ts = a->c.last_ts = ts;
        a->c.have_ts = true;
    }
    if (ts < a->c.first_ts)
        a->c.first_ts = ts;
    if (ts > a->c.last_ts)
        a->c.last_ts = ts;
    a->c.last_frame = frame;
}

void fcs_anz_packet(anz *a, const fcs_packet *pkt)
{
    note_time(a, pkt->ts_ns, pkt->frame);
    fcs_tcp_packet(a->tcp, pkt);
    /* Most packets: nothing queued, or the queue's head waits for a request
     * still in flight (drain() would stop at its first test). */
    if (a->q.n == 0)
        return;
    const activeq_node *act = fcs_activeq_min(&a->active);
    if (a->q.n <= a->cfg.max_pending && act
        && !key_less(a->q.e[0].ns, a->q.e[0].tag, act->ns, act->tag))
        return;
    drain(a, false);
}

void fcs_anz_damaged(anz *a, uint64_t frame, int64_t ts_ns, const char *msg)
{
    fcs_tcp_raise(a->tcp, FSD_A_capture_truncated, NULL, frame, ts_ns, msg);
}

void fcs_anz_tick(anz *a, int64_t now_ns)
{
    if (a->have_cur && now_ns > a->cur_ns) {
        a->cur_ns = now_ns;
        fcs_tcp_expire(a->tcp, now_ns, a->cur_frame);
    }
    drain(a, false);
    /* live: lines are written as they complete, not in start order; time
     * passing settles the failed requests whose retry did not come */
    if (a->cfg.immediate && a->att && a->have_cur)
        fcs_att_advance(a->att, a->cur_ns);
}

void fcs_anz_idle(anz *a, int64_t wall_ns)
{
    if (a->cfg.wall_lag_ns > 0) {
        while (a->wq_len > 0 && a->wq[a->wq_head].wall <= wall_ns - a->cfg.wall_lag_ns) {
            const orderq_ent *k = &a->wq[a->wq_head].key;
            if (!a->have_rel || fcs_orderq_less(&a->rel, k))
                a->rel = *k;
            a->have_rel = true;
            a->wq_head = (a->wq_head + 1) % a->wq_cap;
            a->wq_len--;
        }
    }
    if (a->have_cur)
        bound_update(a);
    drain(a, false);
    /* the attempts stage holds a failed request until capture time passes
     * its retry window: on a stream that pauses, wall_lag_ns of holding (or
     * lines the release key let go: they waited that long already) write it
     * undecided (a retry seen later is not grouped with it) */
    if (a->cfg.wall_lag_ns > 0 && a->att) {
        if (fcs_att_held(a->att) == 0) {
            a->att_wall = 0;
        } else if (a->rel_emitted || (a->att_wall && wall_ns - a->att_wall >= a->cfg.wall_lag_ns)) {
            fcs_att_flush(a->att);
            a->att_wall = 0;
        } else if (a->att_wall == 0) {
            a->att_wall = wall_ns;
        }
    }
    a->rel_emitted = false;
}

void fcs_anz_report_drops(anz *a, fcs_capture *cap)
{
    fcs_cap_report_drops(cap, a->tcp);
}

void fcs_anz_finish(anz *a)
{
    fcs_tcp_finish(a->tcp, a->cur_ns, a->cur_frame);
    /* ports FastCGI never showed up on: their handshake events are not ours */
    while (a->nheld)
        held_drop(a, a->nheld - 1);
    drain(a, true);
    fcs_att_flush(a->att);
}

void fcs_anz_in_flight(const anz *a, void (*fn)(void *ud, const char *server, uint64_t n), void *ud)
{
    for (size_t i = 0; i < a->nfc; i++) {
        const flowctx *fc = a->fcs[i];
        uint64_t n = 0;
        for (const begin_node *b = fc->begins; b; b = b->next)
            n++;
        if (n)
            fn(ud, FC_SERVER(fc), n);
    }
}

void fcs_anz_get_counters(const anz *a, anz_counters *out)
{
    *out = a->c;
}

void fcs_anz_get_tcp_stats(const anz *a, fcs_tcp_stats *out)
{
    fcs_tcp_get_stats(a->tcp, out);
}

void fcs_anz_free(anz *a)
{
    if (!a)
        return;
    fcs_tcp_free(a->tcp);
    fcs_att_free(a->att); /* like the queue below: what is still held is dropped */
    while (a->q.n > 0) {
        qitem *it = fcs_orderq_pop(&a->q);
        if (it->is_req)
            fcs_req_free(Q_REQ(it));
        free(it);
    }
    while (a->nheld)
        held_drop(a, a->nheld - 1);
    free(a->held);
    free(a->held_port);
    fcs_orderq_free(&a->q);
    free(a->wq);
    fcs_activeq_free(&a->active);
    free(a->fcs);
    free(a->ports);
    free(a);
}
