/* out.c — the reports' entry points (out.h) and the table of formats: what
 * each -f format writes when.
 *
 * Normative reference: see out.h. The JSON and CSV field lists are documented
 * in analyzer/README.md "Output formats"; change both together.
 */
#include "out_internal.h"
#include "unixcap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- context ------------------------------------------------------------- */

void fcs_out_init(out_ctx *c, FILE *f, const opts *o, bool ns, bool color, bool utf8, bool live)
{
    memset(c, 0, sizeof *c);
    c->f = f;
    c->o = o;
    c->ns = ns;
    c->color = color;
    c->utf8 = utf8;
    c->live = live;
    fcs_sbuf_init(&c->line);
}

void fcs_out_free(out_ctx *c)
{
    html_free(c);
    fcs_sbuf_free(&c->line);
}

/* ---- the formats ------------------------------------------------------------ */

/* One row per -f format, indexed by out_format: what it writes before the
 * first record, per request, per anomaly and at the end. NULL: nothing at
 * that point. A new format: its value in opts.h's out_format (before
 * FMT_COUNT), its name in opts.c's formats[] (the --format message lists
 * the names from there), its row here (the writers in their own
 * out_NAME.c, declared in out_internal.h), its line in opts_usage and
 * analyzer/README.md "Output formats"; the report unit suite checks that
 * every format writes something. */
typedef struct out_format_ops {
    void (*begin)(out_ctx *c);
    void (*request)(out_ctx *c, const req_rec *r);
    void (*anomaly)(out_ctx *c, const anom_rec *a);
    void (*summary)(out_ctx *c, const out_summary *s);
    bool live_lines_only; /* request/anomaly lines only live and without -q
                             (offline: the summary only) */
} out_format_ops;

static const out_format_ops format_ops[FMT_COUNT] = {
    [FMT_TEXT] = {NULL, text_request_line, text_anomaly_line, text_report_end, true},
    [FMT_JSON] = {NULL, json_request, json_anomaly, json_summary, false},
    [FMT_CSV] = {csv_header, csv_request, NULL, NULL, false},
    /* gathered; the page (anomalies in its groups) written at the end */
    [FMT_HTML] = {html_begin, html_request, NULL, html_summary, false},
};

static const out_format_ops *ops(const out_ctx *c)
{
    return &format_ops[c->o->format];
}

/* Does the format write a line per request and anomaly here? */
static bool writes_lines(const out_ctx *c, const out_format_ops *f)
{
    return !f->live_lines_only || (c->live && !c->o->quiet);
}

void fcs_out_begin(out_ctx *c)
{
    if (ops(c)->begin)
        ops(c)->begin(c);
    flush_line(c);
}

void fcs_out_request(out_ctx *c, const req_rec *r)
{
    c->requests_written++;
    if (c->o->unix_path) {
        uint8_t ip[4];
        uint16_t port;
        if (unix_client(r->client, ip, &port))
            fcs_unix_worker_note(ip, port, r->has_latency, r->latency_ns, r->has_queue, r->queue_ns,
                                 r->uri.p, r->uri.len);
    }
    const out_format_ops *f = ops(c);
    if (!f->request || !writes_lines(c, f))
        return;
    f->request(c, r);
    flush_line(c);
}

void fcs_out_anomaly(out_ctx *c, const anom_rec *a)
{
    c->anomalies_written++;
    const out_format_ops *f = ops(c);
    if (!f->anomaly || !writes_lines(c, f))
        return;
    f->anomaly(c, a);
    flush_line(c);
}

void fcs_out_summary_write(out_ctx *c, const out_summary *s)
{
    if (!ops(c)->summary)
        return;
    ops(c)->summary(c, s);
    flush_line(c);
    if (fflush(c->f) != 0)
        c->write_error = true;
}
