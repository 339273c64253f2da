/* out_test.c — unit tests of out*.c: time and number formatting, and the reports
 * (JSON, CSV, text) of hand-made records and summaries.
 *
 * RFC 3339 (times), RFC 8259 (JSON), RFC 4180 (CSV).
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "opts.h"
#include "out.h"
#include "rec.h"
#include "stats.h"

/* ---- formatting ---- */

void suite_fmt(void)
{
    char b[64];
    fmt_rfc3339(b, sizeof b, INT64_C(1795661488881497000), false);
    CHECK(!strcmp(b, "2026-11-26T02:51:28.881497Z"), "rfc3339 us: %s", b);
    fmt_rfc3339(b, sizeof b, INT64_C(1795661488881497123), true);
    CHECK(!strcmp(b, "2026-11-26T02:51:28.881497123Z"), "rfc3339 ns: %s", b);
    fmt_rfc3339(b, sizeof b, 0, false);
    CHECK(!strcmp(b, "1970-01-01T00:00:00.000000Z"), "epoch: %s", b);
    fmt_rfc3339(b, sizeof b, -1, true);
    CHECK(!strcmp(b, "1969-12-31T23:59:59.999999999Z"), "before the epoch: %s", b);
    fmt_rfc3339(b, sizeof b, INT64_C(951782400) * 1000000000, false);
    CHECK(!strcmp(b, "2000-02-29T00:00:00.000000Z"), "leap day: %s", b);
    CHECK(ns_to_us(1499) == 1 && ns_to_us(1500) == 2 && ns_to_us(-1500) == -2 && ns_to_us(0) == 0
              && ns_to_us(2000) == 2 && ns_to_us(-1499) == -1
              && ns_to_us(INT64_MIN) == -9223372036854776 && ns_to_us(INT64_MAX) == 9223372036854776,
          "ns_to_us rounding");
    fmt_duration(b, sizeof b, 850, false);
    CHECK(!strcmp(b, "850ns"), "%s", b);
    fmt_duration(b, sizeof b, 12345, false);
    CHECK(!strcmp(b, "12.3us"), "%s", b);
    fmt_duration(b, sizeof b, 1234567, false);
    CHECK(!strcmp(b, "1.23ms"), "%s", b);
    fmt_duration(b, sizeof b, INT64_C(123000000000), false);
    CHECK(!strcmp(b, "2m03s"), "%s", b);
    fmt_count(b, sizeof b, 1234567);
    CHECK(!strcmp(b, "1,234,567"), "%s", b);
    fmt_count(b, sizeof b, 999);
    CHECK(!strcmp(b, "999"), "%s", b);
}


/* ---- reports of hand-made records ---- */

static size_t render_width; /* the terminal's columns (0: not a terminal) */

static char *render(const opts *o, bool ns, bool utf8, bool live, void (*fn)(out_ctx *, void *), void *arg)
{
    /* static: gcc 12's -Wdangling-pointer takes the result for a pointer to
     * this frame (buf's address went to the stream) */
    static char *buf;
    static size_t len;
    buf = NULL;
    len = 0;
    FILE *f = open_memstream(&buf, &len);
    out_ctx c;
    fcs_out_init(&c, f, o, ns, false, utf8, live);
    c.width = render_width;
    fn(&c, arg);
    fcs_out_free(&c);
    fclose(f);
    return buf;
}

static void do_request(out_ctx *c, void *arg)
{
    fcs_out_begin(c);
    fcs_out_request(c, arg);
}

/* The CSV cell under column name (cells without quotes only). */
static bool csv_cell(const char *csv, const char *name, char *out, size_t outlen)
{
    const char *row = strstr(csv, "\r\n");
    if (!row)
        return false;
    row += 2;
    int want = -1, k = 0;
    for (const char *p = csv; p < row - 2; k++) {
        const char *e = strpbrk(p, ",\r");
        if ((size_t)(e - p) == strlen(name) && !strncmp(p, name, (size_t)(e - p)))
            want = k;
        p = e + 1;
    }
    if (want < 0)
        return false;
    const char *p = row;
    for (k = 0; k < want; k++)
        p = strpbrk(p, ",") + 1;
    size_t n = strcspn(p, ",\r");
    snprintf(out, outlen, "%.*s", (int)n, p);
    return true;
}

static size_t max_line_cols(const char *s)
{
    size_t widest = 0, col = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n') {
            col = 0;
            continue;
        }
        if ((*p & 0xC0) != 0x80)
            col++;
        if (col > widest)
            widest = col;
    }
    return widest;
}

typedef struct summ_arg {
    stats *st;
} summ_arg;

static void do_summary(out_ctx *c, void *arg)
{
    summ_arg *a = arg;
    out_summary s;
    memset(&s, 0, sizeof s);
    s.st = a->st;
    s.c.connections = 1;
    s.t.flows_seen = 1;
    fcs_out_summary_write(c, &s);
}

void suite_out(void)
{
    opts o;
    char err[256], cellv[64];
    parse(&o, "a.pcap", err, sizeof err);
    fsd_anomaly_event evs[8];
    fsd_transaction tx = tx_abandoned(evs);
    req_rec r;
    fcs_req_from_tx(&r, &tx, no_params, 0);

    o.format = FMT_JSON;
    char *j = render(&o, false, true, false, do_request, &r);
    static const char *const want[] = {
        "\"severity\":\"warning\"", "\"status_source\":\"header\"", "\"user_status\":504",
        "\"user_outcome\":\"gave_up_timeout\"", "\"elapsed_us\":3000000,", "\"closed_by\":\"client\"",
        "\"close\":\"rst\"", "\"abandoned_after_us\":1000000,", "\"gap\":true", "\"status\":200,",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK(strstr(j, want[i]), "JSON has %s: %s", want[i], j);
    CHECK(!strstr(j, "elapsed_ns") && !strstr(j, "abandoned_after_ns"), "no _ns twins on a us capture");
    free(j);
    j = render(&o, true, true, false, do_request, &r);
    CHECK(strstr(j, "\"elapsed_ns\":3000000001") && strstr(j, "\"abandoned_after_ns\":1000000000"),
          "ns twins: %s", j);
    free(j);

    /* the nulls */
    req_rec n = r;
    n.user_status = 0;
    n.closed_by = -1;
    n.closed_by_reset = true;
    n.has_abandoned = false;
    n.has_elapsed = false;
    n.worst = 0;
    n.gap = false;
    n.status_source = FSD_STATUS_NONE;
    j = render(&o, true, true, false, do_request, &n);
    static const char *const nulls[] = {
        "\"severity\":null", "\"user_status\":null", "\"elapsed_us\":null", "\"elapsed_ns\":null",
        "\"closed_by\":null", "\"close\":null", "\"abandoned_after_us\":null", "\"gap\":false",
        "\"status_source\":\"none\"",
    };
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        CHECK(strstr(j, nulls[i]), "JSON has %s: %s", nulls[i], j);
    free(j);

    /* CSV: the columns after anomalies (file first, SPEC order), before the params */
    o.format = FMT_CSV;
    char *cs = render(&o, false, true, false, do_request, &r);
    {
        static const char cols[] = ",anomalies,file,severity,status_source,user_status,user_outcome,"
                                   "elapsed_us,closed_by,close,abandoned_after_us,gap";
        const char *h = strstr(cs, cols);
        CHECK(h && (h[sizeof cols - 1] == ',' || h[sizeof cols - 1] == '\r') && h < strstr(cs, "\r\n"),
              "CSV header: %s", cs);
    }
    static const struct { const char *col, *val; } cells[] = {
        {"severity", "warning"}, {"status_source", "header"}, {"user_status", "504"},
        {"user_outcome", "gave_up_timeout"}, {"elapsed_us", "3000000"}, {"closed_by", "client"},
        {"close", "rst"}, {"abandoned_after_us", "1000000"}, {"gap", "true"}, {"status", "200"},
    };
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++)
        CHECK(csv_cell(cs, cells[i].col, cellv, sizeof cellv) && !strcmp(cellv, cells[i].val),
              "CSV %s = \"%s\", want %s", cells[i].col, cellv, cells[i].val);
    free(cs);
    cs = render(&o, true, true, false, do_request, &n);
    CHECK(strstr(cs, ",elapsed_us,elapsed_ns,closed_by,close,abandoned_after_us,abandoned_after_ns,gap"),
          "CSV ns header: %s", cs);
    CHECK(csv_cell(cs, "user_status", cellv, sizeof cellv) && !cellv[0]
              && csv_cell(cs, "closed_by", cellv, sizeof cellv) && !cellv[0]
              && csv_cell(cs, "severity", cellv, sizeof cellv) && !cellv[0],
          "CSV nulls are empty cells");
    free(cs);

    /* live text line: what the user got; warnings tagged, notes only with -v */
    o.format = FMT_TEXT;
    char *t = render(&o, false, true, true, do_request, &r);
    CHECK(strstr(t, "200 \xe2\x86\x92 user 504: web server gave up after 1.00s"), "user story: %s", t);
    CHECK(strstr(t, "gap: bytes missing from the capture") && !strstr(t, "web server closed after"),
          "gap said, the abandon not twice: %s", t);
    CHECK(strstr(t, "[warning: request_abandoned]") && !strstr(t, "end_without_stdout_eos")
              && !strstr(t, "note"),
          "warnings tagged, notes hidden: %s", t);
    free(t);
    o.verbose = 1;
    t = render(&o, false, false, true, do_request, &r);
    CHECK(strstr(t, "200 -> user 504") && strstr(t, "[note: end_without_stdout_eos reserved_nonzero]"),
          "-v: notes tagged too, ASCII arrow: %s", t);
    free(t);
    o.verbose = 0;
    req_rec inc = n;
    inc.complete = false;
    inc.has_latency = false;
    inc.end_reason = FSD_END_RESET;
    inc.closed_by = FSD_DIR_SERVER;
    inc.closed_by_reset = true;
    inc.has_elapsed = true;
    inc.elapsed_ns = INT64_C(1500000000);
    inc.user_status = 0;
    t = render(&o, false, false, true, do_request, &inc);
    CHECK(strstr(t, ">=1.50s") && strstr(t, "incomplete: reset by server") && !strstr(t, "user "),
          "incomplete live line: %s", t);
    free(t);
    inc.has_abandoned = true; /* the web server closed first, the wire cannot tell what its user got */
    inc.abandoned_ns = INT64_C(1200000000);
    t = render(&o, false, false, true, do_request, &inc);
    CHECK(strstr(t, "web server closed after 1.20s"), "abandoned without a user status: %s", t);
    free(t);
    inc.status = 0; /* no answer at all: the web server's own 502 */
    inc.user_status = 502;
    inc.user_outcome = FSD_USER_BACKEND_FAILED;
    t = render(&o, false, false, true, do_request, &inc);
    CHECK(strstr(t, "user 502: the application gave no usable answer") && !strstr(t, "none ->"),
          "no answer, user 502: %s", t);
    free(t);

    /* the text summary: 80 columns whatever the uris, params and stories */
    stats st;
    fcs_stats_init(&st, 10);
    static const char *pn[] = {"HTTP_X_REQUEST_ID"};
    o.params[0] = pn[0];
    o.nparams = 1;
    for (int i = 0; i < 12; i++) {
        req_rec x = r;
        char uri[300];
        snprintf(uri, sizeof uri, "/very/long/path/%d/%0200d?query=with&many=parameters", i, i);
        rstr u = {uri, strlen(uri)};
        x.uri = u;
        x.script = (rstr){uri, 120};
        rstr pv = {uri, 150};
        x.params = &pv;
        x.nparams = 1;
        x.t_begin_ns = INT64_C(1795661488000000000) + i;
        x.frame = 1000000 + (uint64_t)i;
        x.elapsed_ns = x.latency_ns = INT64_C(1000000) * (i + 1);
        if (i % 3 == 0) {
            x.complete = false;
            x.has_latency = false;
            x.end_reason = FSD_END_RESET;
            x.closed_by = FSD_DIR_CLIENT;
        }
        fcs_stats_request(&st, &x);
        fcs_stats_user_request(&st, &x);
    }
    summ_arg sa = {&st};
    t = render(&o, true, true, false, do_summary, &sa);
    CHECK(max_line_cols(t) <= 80, "summary is %zu columns wide:\n%s", max_line_cols(t), t);
    CHECK(strstr(t, "HTTP_X_REQUEST_ID=/very/long/path/"), "--param values in the slowest table");
    CHECK(strstr(t, "\xe2\x89\xa5" "10.0ms") && strstr(t, "incomplete: reset by client"),
          "the slowest is incomplete and marked: %s", t);
    CHECK(strstr(t, "HTTP status the users got") && strstr(t, "504"), "user statuses shown");
    free(t);
    /* a terminal that says it is wider gets a wider report, up to its width */
    render_width = 132;
    t = render(&o, true, true, false, do_summary, &sa);
    CHECK(max_line_cols(t) > 80 && max_line_cols(t) <= 132, "132-column terminal: %zu columns",
          max_line_cols(t));
    free(t);
    render_width = 60; /* narrower than 80: still laid out for 80 */
    t = render(&o, true, true, false, do_summary, &sa);
    CHECK(max_line_cols(t) <= 80 && max_line_cols(t) > 60, "60-column terminal: %zu columns",
          max_line_cols(t));
    free(t);
    render_width = 0;
    fcs_stats_free(&st);
    o.nparams = 0;
    fcs_req_free(&r);
    fcs_opts_free(&o);
}
