/* rec.c — request and anomaly records: copies of what the decoder delivered.
 *
 * Normative reference: see rec.h.
 */
#include "rec.h"

#include <stdlib.h>
#include <string.h>

static bool dup_span(rstr *d, const void *p, size_t len, bool present)
{
    d->p = NULL;
    d->len = 0;
    if (!present)
        return true;
    d->p = malloc(len + 1); /* len is bounded by the decoder's caps */
    if (!d->p)
        return false;
    if (len)
        memcpy(d->p, p, len);
    d->p[len] = '\0';
    d->len = len;
    return true;
}

static bool dup_fsd(rstr *d, fsd_span s)
{
    return dup_span(d, s.ptr, s.len, s.ptr != NULL);
}

bool rec_from_tx(req_rec *r, const fsd_transaction *tx, const char *const *names, size_t nnames)
{
    memset(r, 0, sizeof *r);
    r->seq = tx->seq;
    r->request_id = tx->request_id;
    r->role = tx->role;
    r->keep_conn = tx->keep_conn;
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
    r->complete = tx->complete;
    r->end_reason = tx->end_reason;
    for (size_t i = 0; i < tx->nanomalies; i++) {
        const fsd_anomaly_event *ev = &tx->anomalies[i];
        if ((unsigned)ev->id >= FSD_A_COUNT)
            continue;
        r->anomalies[ev->id / 64] |= UINT64_C(1) << (ev->id % 64);
        if (ev->severity > r->worst)
            r->worst = ev->severity;
    }
    bool ok = dup_fsd(&r->method, tx->method) && dup_fsd(&r->uri, tx->uri)
           && dup_fsd(&r->script, tx->script) && dup_fsd(&r->host, tx->host)
           && dup_fsd(&r->content_type, tx->content_type);
    if (ok && nnames) {
        r->params = calloc(nnames, sizeof *r->params);
        ok = r->params != NULL;
        if (ok)
            r->nparams = nnames;
        for (size_t k = 0; ok && k < nnames; k++) {
            size_t nl = strlen(names[k]);
            const fsd_param *last = NULL; /* the last occurrence, as php-fpm reads it */
            for (size_t i = 0; i < tx->nparams; i++) {
                const fsd_param *p = &tx->params[i];
                if (p->name.ptr && p->name.len == nl && !memcmp(p->name.ptr, names[k], nl))
                    last = p;
            }
            if (last)
                ok = dup_span(&r->params[k], last->value.ptr ? (const void *)last->value.ptr : "",
                              last->value.ptr ? last->value.len : 0, true);
        }
    }
    if (!ok) {
        rec_free(r);
        return false;
    }
    return true;
}

bool rec_copy(req_rec *d, const req_rec *s)
{
    *d = *s;
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

static int cmp_name(const void *a, const void *b)
{
    const char *na = fsd_anomaly_name(*(const fsd_anomaly_id *)a);
    const char *nb = fsd_anomaly_name(*(const fsd_anomaly_id *)b);
    return strcmp(na ? na : "", nb ? nb : "");
}

size_t rec_anomaly_ids(const req_rec *r, fsd_anomaly_id *out, size_t max)
{
    size_t n = 0;
    for (unsigned id = 0; id < FSD_A_COUNT && n < max; id++)
        if (rec_has_anomaly(r, (fsd_anomaly_id)id))
            out[n++] = (fsd_anomaly_id)id;
    qsort(out, n, sizeof *out, cmp_name);
    return n;
}
