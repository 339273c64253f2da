/* attempt.c — attempts: FastCGI requests that are tries of one user request, grouped on their way out.
 *
 * Normative reference: see attempt.h (the rule) and analyzer/README.md.
 */
#include "attempt.h"
#include "hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- keys ---------------------------------------------------------------- */

/* A value's hash, never 0 for a present value (0 means absent). */
static uint64_t present(uint64_t h)
{
    return h ? h : 1;
}

/* The params the keys are made of, by name length (11, 15, 16, 17 bytes):
 * key_range() finds those of one length without comparing the others. */
enum { K_ADDR, K_PORT, K_URI, K_SCRIPT, K_FILENAME, K_TRACEPARENT, K_XRID, K_N };

static const struct {
    const char *name;
    size_t len;
} key_names[K_N] = {
    [K_ADDR] = { "REMOTE_ADDR", 11 },
    [K_PORT] = { "REMOTE_PORT", 11 },
    [K_URI] = { "REQUEST_URI", 11 },
    [K_SCRIPT] = { "SCRIPT_NAME", 11 },
    [K_FILENAME] = { "SCRIPT_FILENAME", 15 },
    [K_TRACEPARENT] = { "HTTP_TRACEPARENT", 16 },
    [K_XRID] = { "HTTP_X_REQUEST_ID", 17 },
};

/* The keys of name length n: [*from, *to). */
static bool key_range(size_t n, int *from, int *to)
{
    switch (n) {
    case 11: *from = K_ADDR, *to = K_FILENAME; return true;
    case 15: *from = K_FILENAME, *to = K_TRACEPARENT; return true;
    case 16: *from = K_TRACEPARENT, *to = K_XRID; return true;
    case 17: *from = K_XRID, *to = K_N; return true;
    default: return false;
    }
}

/* A name of 11..17 bytes as two words, its first 8 bytes and its last 8
 * (overlapping); with the length they decide equality, except byte 8 of a
 * 17-byte name, which neither covers. */
typedef struct { uint64_t head, tail; } name_words;

static name_words words_of(const uint8_t *p, size_t n)
{
    name_words w;
    memcpy(&w.head, p, 8);
    memcpy(&w.tail, p + n - 8, 8);
    return w;
}

void fcs_att_keys_from_tx(req_rec *r, const fsd_transaction *tx)
{
    name_words kw[K_N]; /* 14 loads: cheaper than memcmp calls */
    for (int k = 0; k < K_N; k++)
        kw[k] = words_of((const uint8_t *)key_names[k].name, key_names[k].len);
    const fsd_param *last[K_N] = { 0 };
    /* One pass over the params the decoder decoded; the last occurrence
     * wins, as php-fpm reads them. Most names have none of the keys'
     * lengths, the rest are told apart by two words. */
    for (size_t i = 0; i < tx->nparams; i++) {
        const fsd_param *p = &tx->params[i];
        int from, to;
        if (!p->name.ptr || !key_range(p->name.len, &from, &to))
            continue;
        name_words w = words_of(p->name.ptr, p->name.len);
        for (int k = from; k < to; k++)
            if (w.head == kw[k].head && w.tail == kw[k].tail
                && (p->name.len < 17 || p->name.ptr[8] == (uint8_t)key_names[k].name[8])) {
                last[k] = p;
                break;
            }
    }
    const fsd_param *tag = last[K_XRID] && last[K_XRID]->value.len ? last[K_XRID] : last[K_TRACEPARENT];
    r->att.tag = tag && tag->value.len ? present(fcs_hash_bytes(FCS_HASH_SEED, tag->value.ptr, tag->value.len)) : 0;
    r->att.client = 0;
    if (last[K_ADDR] && last[K_PORT] && last[K_URI]) {
        uint64_t h = FCS_HASH_SEED;
        for (int k = K_ADDR; k <= K_URI; k++)
            h = fcs_hash_bytes(h, last[k]->value.ptr, last[k]->value.len);
        r->att.client = present(h);
    }
    const fsd_param *target = last[K_FILENAME] ? last[K_FILENAME] : last[K_SCRIPT];
    r->att.target = target ? present(fcs_hash_bytes(FCS_HASH_SEED, target->value.ptr, target->value.len)) : 0;
    if (tx->t_end.set)
        r->att.done_ns = tx->t_end.ns;
    else if (tx->t_close.set)
        r->att.done_ns = tx->t_close.ns;
    else if (tx->t_last.set)
        r->att.done_ns = tx->t_last.ns;
    else
        r->att.done_ns = tx->t_begin.ns;
    r->attempt = 1;
    r->retried = false;
}

/* ---- the stage ----------------------------------------------------------- */

typedef struct held {
    void *item;
    req_rec *r;        /* NULL: an anomaly line */
    anom_rec *a;
    bool open;         /* a failed request whose retry may still come */
} held;

struct attempts {
    stats *st;
    int64_t window;
    size_t max_held;
    att_release_fn release;
    void *ud;
    held *ring;
    size_t cap, head, n;
    uint64_t released;   /* items released so far: ring index i is item released + i */
    uint64_t *open;      /* the open failures' item numbers, oldest first (a retry
                            is looked for among these only, not every held line) */
    size_t nopen, capopen;
    int64_t horizon;   /* no request still to come begins before this */
    bool have_horizon;
};

attempts *fcs_att_new(stats *st, int64_t window_ns, size_t max_held, att_release_fn release, void *ud)
{
    attempts *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->st = st;
    g->window = window_ns >= 0 ? window_ns : ATT_WINDOW_NS;
    g->max_held = max_held ? max_held : ATT_MAX_HELD;
    g->release = release;
    g->ud = ud;
    return g;
}

static held *at(attempts *g, size_t i)
{
    return &g->ring[(g->head + i) % g->cap];
}

/* A status the web server handles itself (error_page, next_upstream), or
 * no answer at all. */
static bool failed(const req_rec *r)
{
    if (r->status == 0)
        return !r->complete || r->stdout_bytes == 0;
    switch (r->status) {
    case 403: case 404: case 500: case 502: case 503: case 504: return true;
    default: return false;
    }
}

static bool answered(const req_rec *r)
{
    return r->status != 0;
}

static bool is_retry(const req_rec *a, const req_rec *b, int64_t window)
{
    if (b->t_begin_ns < a->t_begin_ns || b->t_begin_ns - a->att.done_ns > window)
        return false;
    if (a->att.tag && b->att.tag)
        return a->att.tag == b->att.tag;
    if (!a->att.client || a->att.client != b->att.client)
        return false;
    if (!answered(a))
        return true;
    return strcmp(a->server, b->server) != 0 || a->att.target != b->att.target;
}

/* Anomalies that describe an attempt's failure: nobody saw them once the web
 * server retried. */
static bool failure_id(fsd_anomaly_id id)
{
    return id == FSD_A_incomplete_request || id == FSD_A_keep_conn_violation
        || id == FSD_A_request_abandoned || id == FSD_A_closed_before_request;
}

static void open_remove(attempts *g, size_t k)
{
    memmove(&g->open[k], &g->open[k + 1], (g->nopen - k - 1) * sizeof *g->open);
    g->nopen--;
}

static void mark_retried(attempts *g, size_t ia, req_rec *b)
{
    held *h = at(g, ia);
    req_rec *a = h->r;
    a->retried = true;
    h->open = false;
    for (size_t k = g->nopen; k-- > 0;)
        if (g->open[k] == g->released + ia) {
            open_remove(g, k);
            break;
        }
    b->attempt = a->attempt + 1;
    /* Its worst severity without the failure: the catalogue's for the other
     * ids; an event raised above it (duplicate_param on SCRIPT_FILENAME)
     * keeps the request's worst when such an id is there. */
    fsd_severity worst = FSD_SEV_NOTE;
    bool keep_error = false;
    for (unsigned id = 0; id < FSD_A_COUNT; id++) {
        if (!fcs_req_has_anomaly(a, (fsd_anomaly_id)id))
            continue;
        fsd_severity s = fsd_anomaly_severity((fsd_anomaly_id)id);
        if (failure_id((fsd_anomaly_id)id)) {
            if (s > FSD_SEV_NOTE)
                fcs_stats_anomaly_downgrade(g->st, (fsd_anomaly_id)id, s, FSD_SEV_NOTE);
            continue;
        }
        if (s > worst)
            worst = s;
        if (fsd_anomaly_max_severity((fsd_anomaly_id)id) >= a->worst)
            keep_error = true;
    }
    /* The anomaly lines of its connection that tell the same failure. */
    for (size_t i = ia + 1; i < g->n; i++) {
        held *x = at(g, i);
        if (x->a && x->a->conn_id == a->conn_id && failure_id(x->a->id)
            && x->a->severity > FSD_SEV_NOTE) {
            fcs_stats_anomaly_downgrade(g->st, x->a->id, x->a->severity, FSD_SEV_NOTE);
            x->a->severity = FSD_SEV_NOTE;
        }
    }
    a->anomalies[FSD_A_attempt_retried / 64] |= UINT64_C(1) << (FSD_A_attempt_retried % 64);
    char detail[64];
    snprintf(detail, sizeof detail, "attempt %u retried as frame %llu", a->attempt,
             (unsigned long long)b->frame);
    fcs_stats_anomaly(g->st, FSD_A_attempt_retried, FSD_SEV_NOTE, a->frame, detail);
    a->worst = keep_error ? a->worst : worst;
    g->st->retried_attempts++;
}

static void release_front(attempts *g)
{
    held h = *at(g, 0);
    g->head = (g->head + 1) % g->cap;
    g->n--;
    if (h.open && g->nopen && g->open[0] == g->released)
        open_remove(g, 0);
    g->released++;
    if (h.r && !h.r->retried)
        fcs_stats_user_request(g->st, h.r);
    g->release(g->ud, h.item, true);
}

/* Write what no retry can change any more. */
static void settle(attempts *g)
{
    while (g->n > 0) {
        held *h = at(g, 0);
        if (h->open && g->n <= g->max_held
            && !(g->have_horizon && g->horizon - h->r->att.done_ns > g->window))
            break;
        release_front(g);
    }
}

static bool grow(attempts *g)
{
    size_t cap = g->cap ? g->cap * 2 : 64;
    held *ring = malloc(cap * sizeof *ring);
    if (!ring)
        return false;
    for (size_t i = 0; i < g->n; i++)
        ring[i] = *at(g, i);
    free(g->ring);
    g->ring = ring;
    g->cap = cap;
    g->head = 0;
    return true;
}

void fcs_att_push(attempts *g, void *item, req_rec *r, anom_rec *a, int64_t ns)
{
    if (r) {
        if (!g->have_horizon || ns > g->horizon) {
            g->horizon = ns;
            g->have_horizon = true;
        }
        /* The newest open failure that this request retries. */
        for (size_t k = g->nopen; k-- > 0;) {
            size_t i = (size_t)(g->open[k] - g->released);
            held *h = at(g, i);
            if (is_retry(h->r, r, g->window)) {
                mark_retried(g, i, r);
                break;
            }
        }
    }
    bool open = r && failed(r);
    if (g->n == 0 && !open) {
        if (r)
            fcs_stats_user_request(g->st, r);
        g->release(g->ud, item, true);
        return;
    }
    if (g->n == g->cap && !grow(g)) { /* no memory: write it undecided */
        settle(g);
        while (g->n > 0)
            release_front(g);
        if (r)
            fcs_stats_user_request(g->st, r);
        g->release(g->ud, item, true);
        return;
    }
    if (open && g->nopen == g->capopen) {
        size_t nc = g->capopen ? g->capopen * 2 : 16;
        uint64_t *no = realloc(g->open, nc * sizeof *no);
        if (!no)
            open = false; /* no memory: not retried by a later attempt */
        else {
            g->open = no;
            g->capopen = nc;
        }
    }
    if (open)
        g->open[g->nopen++] = g->released + g->n;
    *at(g, g->n) = (held){ item, r, a, open };
    g->n++;
    settle(g);
}

void fcs_att_advance(attempts *g, int64_t ns)
{
    if (!g->have_horizon || ns > g->horizon) {
        g->horizon = ns;
        g->have_horizon = true;
    }
    settle(g);
}

void fcs_att_flush(attempts *g)
{
    while (g->n > 0)
        release_front(g);
}

size_t fcs_att_held(const attempts *g)
{
    return g->n;
}

void fcs_att_free(attempts *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        g->release(g->ud, at(g, i)->item, false);
    free(g->ring);
    free(g->open);
    free(g);
}
