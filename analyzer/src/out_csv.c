/* out_csv.c — the CSV rows (RFC 4180): a header, one row per request.
 *
 * Normative reference: see out.h; the columns are documented in analyzer/README.md
 * "Output formats" (change both together).
 */
#include "out_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- CSV ------------------------------------------------------------------- */

static const char *const csv_cols[] = {
    "client", "server", "connection", "request_id", "role", "keep_conn", "method", "uri",
    "script", "host", "status", "app_status", "protocol_status", "start", "latency_us",
    "ttfb_us", "server_us",
};
static const char *const csv_cols_ns[] = {"latency_ns", "ttfb_ns", "server_ns"};
static const char *const csv_cols2[] = {
    "stdin_bytes", "stdout_bytes", "stderr_bytes", "content_length", "content_type",
    "complete", "end", "aborted", "frame", "anomalies", "file",
};
/* after the columns of csv_user_header() (SPEC order) */
static const char *const csv_cols3[] = {"connect_us", "syn_retransmits", "attempt", "retried",
                                         "queue_us", "run_us"};

/* After `anomalies`, before the param: columns (analyzer/README.md). */
static void csv_user_header(out_ctx *c)
{
    sbuf *b = &c->line;
    SBUF_ADDL(b, ",severity,status_source,user_status,user_outcome,elapsed_us");
    if (c->ns)
        SBUF_ADDL(b, ",elapsed_ns");
    SBUF_ADDL(b, ",closed_by,close,abandoned_after_us");
    if (c->ns)
        SBUF_ADDL(b, ",abandoned_after_ns");
    SBUF_ADDL(b, ",gap");
}

void csv_header(out_ctx *c)
{
    sbuf *b = &c->line;
    bool first = true;
    for (size_t i = 0; i < sizeof csv_cols / sizeof *csv_cols; i++, first = false)
        fcs_sbuf_printf(b, "%s%s", first ? "" : ",", csv_cols[i]);
    if (c->ns)
        for (size_t i = 0; i < 3; i++)
            fcs_sbuf_printf(b, ",%s", csv_cols_ns[i]);
    for (size_t i = 0; i < sizeof csv_cols2 / sizeof *csv_cols2; i++)
        fcs_sbuf_printf(b, ",%s", csv_cols2[i]);
    csv_user_header(c);
    for (size_t i = 0; i < sizeof csv_cols3 / sizeof *csv_cols3; i++)
        fcs_sbuf_printf(b, ",%s", csv_cols3[i]);
    for (size_t k = 0; k < c->o->nparams; k++) {
        fcs_sbuf_addc(b, ',');
        char name[512];
        snprintf(name, sizeof name, "param:%s", c->o->params[k]);
        fcs_esc_csv(b, name, strlen(name));
    }
    if (c->o->host_name)
        SBUF_ADDL(b, ",hostname");
    fcs_sbuf_adds(b, "\r\n");
}

static void c_str(sbuf *b, const rstr *s)
{
    fcs_sbuf_addc(b, ',');
    if (s->p)
        fcs_esc_csv(b, s->p, s->len);
}

static void c_cstr(sbuf *b, const char *s)
{
    fcs_sbuf_addc(b, ',');
    fcs_esc_csv(b, s, strlen(s));
}

static void c_i64(sbuf *b, bool has, int64_t v)
{
    fcs_sbuf_addc(b, ',');
    if (has)
        fcs_sbuf_printf(b, "%" PRId64, v);
}

static void c_opt(sbuf *b, const char *s)
{
    fcs_sbuf_addc(b, ',');
    if (s)
        fcs_sbuf_adds(b, s); /* our own names: nothing to quote */
}

static void csv_user_fields(out_ctx *c, const req_rec *r)
{
    sbuf *b = &c->line;
    c_opt(b, sev_name_or_null(r->worst));
    c_opt(b, fsd_status_source_name(r->status_source));
    c_i64(b, r->user_status != 0, r->user_status);
    c_opt(b, fsd_user_outcome_name(r->user_outcome));
    c_i64(b, r->has_elapsed, ns_to_us(r->elapsed_ns));
    if (c->ns)
        c_i64(b, r->has_elapsed, r->elapsed_ns);
    c_opt(b, closed_by_name(r));
    c_opt(b, close_name(r));
    c_i64(b, r->has_abandoned, ns_to_us(r->abandoned_ns));
    if (c->ns)
        c_i64(b, r->has_abandoned, r->abandoned_ns);
    c_opt(b, r->gap ? "true" : "false");
}

void csv_request(out_ctx *c, const req_rec *r)
{
    sbuf *b = &c->line;
    char t[64];
    fcs_esc_csv(b, r->client, strlen(r->client));
    c_cstr(b, r->server);
    c_i64(b, true, (int64_t)r->conn_id);
    c_i64(b, true, r->request_id);
    c_cstr(b, fsd_role_name(r->role));
    c_cstr(b, r->keep_conn ? "true" : "false");
    c_str(b, &r->method);
    c_str(b, &r->uri);
    c_str(b, &r->script);
    c_str(b, &r->host);
    c_i64(b, r->status != 0, r->status);
    c_i64(b, r->has_end, r->app_status);
    c_i64(b, r->has_end, r->protocol_status);
    if (r->has_begin) {
        fmt_rfc3339(t, sizeof t, r->t_begin_ns, c->ns);
        c_cstr(b, t);
    } else {
        fcs_sbuf_addc(b, ',');
    }
    c_i64(b, r->has_latency, ns_to_us(r->latency_ns));
    c_i64(b, r->has_ttfb, ns_to_us(r->ttfb_ns));
    c_i64(b, r->has_server, ns_to_us(r->server_ns));
    if (c->ns) {
        c_i64(b, r->has_latency, r->latency_ns);
        c_i64(b, r->has_ttfb, r->ttfb_ns);
        c_i64(b, r->has_server, r->server_ns);
    }
    c_i64(b, true, (int64_t)r->stdin_bytes);
    c_i64(b, true, (int64_t)r->stdout_bytes);
    c_i64(b, true, (int64_t)r->stderr_bytes);
    c_i64(b, r->content_length >= 0, r->content_length);
    c_str(b, &r->content_type);
    c_cstr(b, r->complete ? "true" : "false");
    c_cstr(b, fsd_end_reason_name(r->end_reason));
    c_cstr(b, r->aborted ? "true" : "false");
    uint64_t fr;
    const char *file = where(c, r->has_begin ? r->frame : 0, &fr);
    c_i64(b, r->has_begin, (int64_t)fr);
    fsd_anomaly_id ids[FSD_A_COUNT];
    size_t n = fcs_req_anomaly_ids(r, ids, FSD_A_COUNT);
    fcs_sbuf_addc(b, ',');
    for (size_t i = 0; i < n; i++)
        fcs_sbuf_printf(b, "%s%s", i ? " " : "", fsd_anomaly_name(ids[i]));
    fcs_sbuf_addc(b, ',');
    if (file)
        fcs_esc_csv(b, file, strlen(file));
    csv_user_fields(c, r);
    c_i64(b, r->has_connect, ns_to_us(r->connect_ns));
    c_i64(b, r->has_connect, r->syn_retransmits);
    c_i64(b, true, r->attempt ? r->attempt : 1);
    c_cstr(b, r->retried ? "true" : "false");
    c_i64(b, r->has_queue, ns_to_us(r->queue_ns));
    c_i64(b, r->has_run, ns_to_us(r->run_ns));
    for (size_t k = 0; k < r->nparams; k++)
        c_str(b, &r->params[k]);
    if (c->o->host_name)
        c_cstr(b, c->o->host_name);
    fcs_sbuf_adds(b, "\r\n");
}

