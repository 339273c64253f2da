/* rec.c — request and anomaly records: copies of what the decoder delivered.
 *
 * Normative reference: see rec.h.
 */
#include "rec.h"

#include <stdlib.h>
#include <string.h>

/* Where copies go: malloc'd one by one (arena NULL), or carved from one
 * block sized beforehand (rec_tx_size). */
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

static size_t span_size(fsd_span s)
{
    return s.ptr ? s.len + 1 : 0;
}

size_t rec_tx_size(const fsd_transaction *tx, const char *const *names, size_t nnames)
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
    if (tx->t_begin.set && tx->t_abandoned.set) {
        r->has_abandoned = true;
        r->abandoned_ns = tx->t_abandoned.ns - tx->t_begin.ns;
    }
    if (!tx->t_begin.set)
        return;
    if (tx->has_end && tx->t_end.set) {
        r->has_elapsed = true;
        r->elapsed_ns = tx->t_end.ns - tx->t_begin.ns;
    } else if (!tx->has_end && tx->t_close.set) {
        r->has_elapsed = true;
        r->elapsed_ns = tx->t_close.ns - tx->t_begin.ns;
    } else if (!tx->has_end && tx->t_last.set) {
        r->has_elapsed = true;
        r->elapsed_ns = tx->t_last.ns - tx->t_begin.ns;
    }
}

void rec_set_end_time(req_rec *r, int64_t end_ns)
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
    if (tx->t_begin.set && tx->t_end.set) {
        r->has_latency = true;
        r->latency_ns = tx->t_end.ns - tx->t_begin.ns;
    }
    if (tx->t_begin.set && tx->t_first_response.set) {
        r->has_ttfb = true;
        r->ttfb_ns = tx->t_first_response.ns - tx->t_begin.ns;
    }
    if (tx->t_request_sent.set && tx->t_first_response.set) {
        r->has_server = true;
        r->server_ns = tx->t_first_response.ns - tx->t_request_sent.ns;
    }
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
        r->anomalies[ev->id / 64] |= UINT64_C(1) << (ev->id % 64);
        if (ev->severity >= FSD_SEV_WARNING)
            r->anomalies_warn[ev->id / 64] |= UINT64_C(1) << (ev->id % 64);
        if (ev->severity >= FSD_SEV_ERROR)
            r->anomalies_err[ev->id / 64] |= UINT64_C(1) << (ev->id % 64);
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
        rec_free(r);
        return false;
    }
    return true;
}

bool rec_from_tx(req_rec *r, const fsd_transaction *tx, const char *const *names, size_t nnames)
{
    return from_tx(r, tx, names, nnames, NULL);
}

void rec_from_tx_inline(req_rec *r, const fsd_transaction *tx, const char *const *names,
                        size_t nnames, void *block)
{
    carve arena = { block };
    from_tx(r, tx, names, nnames, &arena);
}

bool rec_copy(req_rec *d, const req_rec *s)
{
    *d = *s;
    d->strings_inline = false;
    d->method.p = d->uri.p = d->script.p = d->host.p = d->content_type.p = NULL;
    d->params = NULL;
    d->nparams = 0;
    bool ok = dup_span(&d->method, s->method.p, s->method.len, s->method.p != NULL)
           && dup_span(&d->uri, s->uri.p, s->uri.len, s->uri.p != NULL)
           && dup_span(&d->script, s->script.p, s->script.len, s->script.p != NULL)
           && dup_span(&d->host, s->host.p, s->host.len, s->host.p != NULL)
           && dup_span(&d->content_type, s->content_type.p, s->content_type.len,
                       s->content_type.p != NULL);
    if (ok && s->nparams) {
        d->params = calloc(s->nparams, sizeof *d->params);
        ok = d->params != NULL;
        if (ok)
            d->nparams = s->nparams;
        for (size_t k = 0; ok && k < s->nparams; k++)
            ok = dup_span(&d->params[k], s->params[k].p, s->params[k].len, s->params[k].p != NULL);
    }
    if (!ok) {
        rec_free(d);
        return false;
    }
    return true;
}

void rec_free(req_rec *r)
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

size_t rec_anomaly_ids(const req_rec *r, fsd_anomaly_id *out, size_t max)
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
