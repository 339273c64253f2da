/* rec.c — request and anomaly records: copies of what the decoder delivered.
 *
 * Normative reference: see rec.h.
 */
#include "rec.h"

#include <stdlib.h>
#include <string.h>

/* Where copies go: malloc'd one by one (arena NULL), or carved from one
 * block sized beforehand (fcs_req_tx_size). */
typedef struct carve {
    char *p;
} carve;

static bool dup_span_in(rstr *d, const void *p, size_t len, bool present, carve *arena)
{
    d->p = NULL;
    d->len = 0;
    if (!present)
        return true;
    if (arena) {
        d->p = arena->p;
        arena->p += len + 1;
    } else {
        d->p = malloc(len + 1); /* len is bounded by the decoder's caps */
    }
    if (!d->p)
        return false;
    if (len)
        memcpy(d->p, p, len);
    d->p[len] = '\0';
    d->len = len;
    return true;
}

static bool dup_span(rstr *d, const void *p, size_t len, bool present)
{
    return dup_span_in(d, p, len, present, NULL);
}

/* The last occurrence of param name, as php-fpm reads it; NULL if absent. */
static const fsd_param *find_param(const fsd_transaction *tx, const char *name)
{
    size_t nl = strlen(name);
    const fsd_param *last = NULL;
    for (size_t i = 0; i < tx->nparams; i++) {
        const fsd_param *p = &tx->params[i];
        if (p->name.ptr && p->name.len == nl && !memcmp(p->name.ptr, name, nl))
            last = p;
    }
    return last;
}

/* A copy of an rstr (absent stays absent). */
static bool dup_rstr(rstr *d, const rstr *s)
{
    return dup_span(d, s->p, s->len, s->p != NULL);
}

/* end - start, when both were seen. */
static bool between(const fsd_timepoint *start, const fsd_timepoint *end, int64_t *ns)
{
    if (!start->set || !end->set)
        return false;
    *ns = end->ns - start->ns;
    return true;
}

static void set_bit(uint64_t *bits, unsigned id)
{
    bits[id / 64] |= UINT64_C(1) << (id % 64);
}

static size_t span_size(fsd_span s)
{
    return s.ptr ? s.len + 1 : 0;
}

size_t fcs_req_tx_size(const fsd_transaction *tx, const char *const *names, size_t nnames)
{
    size_t n = nnames * sizeof(rstr) + span_size(tx->method) + span_size(tx->uri)
             + span_size(tx->script) + span_size(tx->host) + span_size(tx->content_type);
    for (size_t k = 0; k < nnames; k++) {
        const fsd_param *last = find_param(tx, names[k]);
        if (last)
            n += (last->value.ptr ? last->value.len : 0) + 1;
    }
    return n;
}

/* The 0.2.0 fields: what the user got, how long an incomplete request ran,
 * who closed. */
static void copy_user_fields(req_rec *r, const fsd_transaction *tx)
{
    r->status_source = tx->status_source;
    r->user_status = tx->user_status;
    r->user_outcome = tx->user_outcome;
    r->cgi_header_bytes = tx->cgi_header_bytes;
    r->gap = tx->gap;
    r->has_close = tx->t_close.set;
    r->closed_by = tx->closed_by == FSD_DIR_CLIENT || tx->closed_by == FSD_DIR_SERVER
                 ? (int8_t)tx->closed_by : -1;
    r->closed_by_reset = r->closed_by >= 0 && tx->closed_by_reset;
    r->has_abandoned = between(&tx->t_begin, &tx->t_abandoned, &r->abandoned_ns);
    /* complete: to END_REQUEST; else to the close, or the last byte seen */
    const fsd_timepoint *end = tx->has_end ? &tx->t_end : tx->t_close.set ? &tx->t_close
                                                                          : &tx->t_last;
    r->has_elapsed = between(&tx->t_begin, end, &r->elapsed_ns);
}

void fcs_req_set_end_time(req_rec *r, int64_t end_ns)
{
    if (r->complete || !r->has_begin || end_ns < r->t_begin_ns)
        return;
    if ((r->end_reason == FSD_END_CAPTURE && !r->has_close) || !r->has_elapsed) {
        r->has_elapsed = true;
        r->elapsed_ns = end_ns - r->t_begin_ns;
        return;
    }
    /* Closed or reset: the request lasted until the connection ended, the
     * close that ended both directions (it is delivered there), not only to
     * the first FIN: after the application's FIN the web server still waits
     * until it notices (nginx: "upstream prematurely closed", then its own
     * FIN), and that is the time its user waited for this attempt. */
    if ((r->end_reason == FSD_END_CLOSED || r->end_reason == FSD_END_RESET)
        && end_ns - r->t_begin_ns > r->elapsed_ns)
        r->elapsed_ns = end_ns - r->t_begin_ns;
}

static bool from_tx(req_rec *r, const fsd_transaction *tx, const char *const *names,
                    size_t nnames, carve *arena)
{
    memset(r, 0, sizeof *r);
    r->strings_inline = arena != NULL;
    r->seq = tx->seq;
    r->request_id = tx->request_id;
    r->role = tx->role;
    r->keep_conn = (tx->flags & FSD_FLAG_KEEP_CONN) != 0;
    r->aborted = tx->aborted;
    r->status = tx->http_status;
    r->has_end = tx->has_end;
    r->app_status = tx->app_status;
    r->protocol_status = tx->protocol_status;
    r->has_begin = tx->t_begin.set;
    r->t_begin_ns = tx->t_begin.ns;
    r->frame = tx->t_begin.set ? tx->t_begin.tag : 0;
    r->has_latency = between(&tx->t_begin, &tx->t_end, &r->latency_ns);
    r->has_ttfb = between(&tx->t_begin, &tx->t_first_response, &r->ttfb_ns);
    r->has_server = between(&tx->t_request_sent, &tx->t_first_response, &r->server_ns);
    r->params_bytes = tx->params_bytes;
    r->stdin_bytes = tx->stdin_bytes;
    r->stdout_bytes = tx->stdout_bytes;
    r->stderr_bytes = tx->stderr_bytes;
    r->data_bytes = tx->data_bytes;
    r->content_length = tx->content_length_value;
    r->complete = tx->has_end;
    r->end_reason = tx->end_reason;
    copy_user_fields(r, tx);
    for (size_t i = 0; i < tx->nanomalies; i++) {
        const fsd_anomaly_event *ev = &tx->anomalies[i];
        if ((unsigned)ev->id >= FSD_A_COUNT)
            continue;
        set_bit(r->anomalies, ev->id);
        if (ev->severity >= FSD_SEV_WARNING)
            set_bit(r->anomalies_warn, ev->id);
        if (ev->severity >= FSD_SEV_ERROR)
            set_bit(r->anomalies_err, ev->id);
        if (ev->severity > r->worst)
            r->worst = ev->severity;
    }
    bool ok = true;
    if (nnames) {
        /* first in the block: rstr needs the alignment the block starts with */
        if (arena) {
            r->params = (rstr *)(void *)arena->p;
            memset(r->params, 0, nnames * sizeof *r->params);
            arena->p += nnames * sizeof *r->params;
        } else {
            r->params = calloc(nnames, sizeof *r->params);
        }
        ok = r->params != NULL;
        if (ok)
            r->nparams = nnames;
    }
#define DUP(d, s) dup_span_in(d, (s).ptr, (s).len, (s).ptr != NULL, arena)
    ok = ok && DUP(&r->method, tx->method) && DUP(&r->uri, tx->uri)
         && DUP(&r->script, tx->script) && DUP(&r->host, tx->host)
         && DUP(&r->content_type, tx->content_type);
#undef DUP
    for (size_t k = 0; ok && k < nnames; k++) {
        const fsd_param *last = find_param(tx, names[k]);
        if (last)
            ok = dup_span_in(&r->params[k],
                             last->value.ptr ? (const void *)last->value.ptr : "",
                             last->value.ptr ? last->value.len : 0, true, arena);
    }
    if (!ok) {
        fcs_req_free(r);
        return false;
    }
    return true;
}

bool fcs_req_from_tx(req_rec *r, const fsd_transaction *tx, const char *const *names, size_t nnames)
{
    return from_tx(r, tx, names, nnames, NULL);
}

void fcs_req_from_tx_inline(req_rec *r, const fsd_transaction *tx, const char *const *names,
                            size_t nnames, void *block)
{
    carve arena = { block };
    from_tx(r, tx, names, nnames, &arena);
}

bool fcs_req_copy(req_rec *d, const req_rec *s)
{
    *d = *s;
    d->strings_inline = false;
    d->method.p = d->uri.p = d->script.p = d->host.p = d->content_type.p = NULL;
    d->params = NULL;
    d->nparams = 0;
    bool ok = dup_rstr(&d->method, &s->method) && dup_rstr(&d->uri, &s->uri)
           && dup_rstr(&d->script, &s->script) && dup_rstr(&d->host, &s->host)
           && dup_rstr(&d->content_type, &s->content_type);
    if (ok && s->nparams) {
        d->params = calloc(s->nparams, sizeof *d->params);
        ok = d->params != NULL;
        if (ok)
            d->nparams = s->nparams;
        for (size_t k = 0; ok && k < s->nparams; k++)
            ok = dup_rstr(&d->params[k], &s->params[k]);
    }
    if (!ok) {
        fcs_req_free(d);
        return false;
    }
    return true;
}

void fcs_req_free(req_rec *r)
{
    if (r->strings_inline) { /* they live and die with the block after the record */
        memset(r, 0, sizeof *r);
        return;
    }
    free(r->method.p);
    free(r->uri.p);
    free(r->script.p);
    free(r->host.p);
    free(r->content_type.p);
    for (size_t k = 0; k < r->nparams; k++)
        free(r->params[k].p);
    free(r->params);
    memset(r, 0, sizeof *r);
}

static const char *id_name(fsd_anomaly_id id)
{
    const char *n = fsd_anomaly_name(id);
    return n ? n : "";
}

size_t fcs_req_anomaly_ids(const req_rec *r, fsd_anomaly_id *out, size_t max)
{
    /* the set bits (most requests have none or one), then sorted by name */
    size_t n = 0;
    for (size_t w = 0; w < sizeof r->anomalies / sizeof r->anomalies[0]; w++) {
        uint64_t m = r->anomalies[w];
        while (m && n < max) {
            unsigned id = (unsigned)(w * 64) + (unsigned)__builtin_ctzll(m);
            m &= m - 1;
            if (id < FSD_A_COUNT)
                out[n++] = (fsd_anomaly_id)id;
        }
    }
    for (size_t i = 1; i < n; i++) { /* insertion sort: a few ids */
        fsd_anomaly_id v = out[i];
        const char *nv = id_name(v);
        size_t j = i;
        while (j > 0 && strcmp(id_name(out[j - 1]), nv) > 0) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
    }
    return n;
}
