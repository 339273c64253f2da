/* report_test.c — the reports byte for byte: a fixed set of records and a summary through every format.
 *
 * Two requests (a complete 200 the web server gave up on, an incomplete
 * reset one) and a stand-alone anomaly (a refused connection), then the
 * summary of the same, written as JSON lines, CSV, the live text lines
 * (plain and coloured) and the text summary (plain and -v), each compared
 * with its file in expect/ (the field lists are in analyzer/README.md
 * "Output formats"). After a deliberate change to a report: run with
 * UNIT_EXPECT_UPDATE=1 to write the files anew, and read the diff.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "rec.h"
#include "stats.h"
#include "unit.h"

#ifndef UNIT_EXPECT_DIR
#error "UNIT_EXPECT_DIR: the folder of the expected reports (tests/analyzer/unit/expect)"
#endif

/* The records: what the analysis would hand to the report. */
typedef struct fixture {
    req_rec req[2];
    anom_rec anom;
    stats st;
    fcs_cap_file_info file;
    out_file_stats file_stats;
    const char *param_names[1];
} fixture;

static void fixture_init(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    fsd_anomaly_event evs[8];
    fsd_transaction tx = tx_abandoned(evs);
    fsd_param p = {{(const uint8_t *)"HTTP_X_REQUEST_ID", 17}, {(const uint8_t *)"abc\"1", 5}, 17, 5};
    tx.params = &p;
    tx.nparams = 1;
    tx.script = (fsd_span){(const uint8_t *)"/srv/slow.php", 13};
    tx.host = (fsd_span){(const uint8_t *)"example.com", 11};
    fx->param_names[0] = "HTTP_X_REQUEST_ID";
    fcs_req_from_tx(&fx->req[0], &tx, fx->param_names, 1);
    snprintf(fx->req[0].client, sizeof fx->req[0].client, "192.0.2.10:41050");
    snprintf(fx->req[0].server, sizeof fx->req[0].server, "198.51.100.20:9000");
    fx->req[0].conn_id = 1;

    fsd_transaction t2 = tx_base();
    t2.request_id = 2;
    t2.uri = (fsd_span){(const uint8_t *)"/upload.php?x=\x1b[31m", 19}; /* an escape in the uri */
    t2.method = (fsd_span){(const uint8_t *)"POST", 4};
    t2.t_begin = (fsd_timepoint){INT64_C(1500000000), 9, true};
    t2.t_last = (fsd_timepoint){INT64_C(1750000000), 12, true};
    t2.t_close = (fsd_timepoint){INT64_C(1800000000), 13, true};
    t2.closed_by = FSD_DIR_SERVER;
    t2.closed_by_reset = true;
    t2.end_reason = FSD_END_RESET;
    t2.stdin_bytes = 1000;
    fsd_anomaly_event e2[1] = {ev(FSD_A_request_abandoned, FSD_SEV_ERROR)};
    t2.anomalies = e2;
    t2.nanomalies = 1;
    fcs_req_from_tx(&fx->req[1], &t2, fx->param_names, 1);
    snprintf(fx->req[1].client, sizeof fx->req[1].client, "192.0.2.10:41052");
    snprintf(fx->req[1].server, sizeof fx->req[1].server, "198.51.100.20:9000");
    fx->req[1].conn_id = 2;

    anom_rec *a = &fx->anom;
    a->id = FSD_A_connection_refused;
    a->severity = FSD_SEV_ERROR;
    a->frame = 30;
    a->ts_ns = INT64_C(3000000000);
    a->has_ts = true;
    a->conn_id = 3;
    a->request_id = -1;
    snprintf(a->client, sizeof a->client, "192.0.2.10:41060");
    snprintf(a->server, sizeof a->server, "198.51.100.20:9000");
    snprintf(a->detail, sizeof a->detail, "SYN (frame 29) answered by RST: nothing listens there");

    fcs_stats_init(&fx->st, 10);
    for (int i = 0; i < 2; i++) {
        fcs_stats_request(&fx->st, &fx->req[i]);
        fcs_stats_user_request(&fx->st, &fx->req[i]);
    }
    for (size_t i = 0; i < tx.nanomalies; i++)
        fcs_stats_anomaly(&fx->st, tx.anomalies[i].id, tx.anomalies[i].severity, 7, "");
    fcs_stats_anomaly(&fx->st, FSD_A_request_abandoned, FSD_SEV_ERROR, 9, "reset after 250ms");
    fcs_stats_anomaly(&fx->st, a->id, a->severity, a->frame, a->detail);

    fx->file.name = "a.pcap";
    fx->file.format = FCS_FMT_PCAP;
    fx->file.precision = FCS_PREC_US;
    fx->file.dlt = 1;
    fx->file.packets = 40;
    fx->file.have_ts = true;
    fx->file.first_ts = INT64_C(1000000000);
    fx->file.last_ts = INT64_C(4000000001);
    fx->file_stats.requests = 2;
    fx->file_stats.worst = FSD_SEV_ERROR;
    fx->file_stats.worst_id = FSD_A_connection_refused;
    fx->file_stats.worst_frame = 30;
}

static void fixture_free(fixture *fx)
{
    fcs_req_free(&fx->req[0]);
    fcs_req_free(&fx->req[1]);
    fcs_stats_free(&fx->st);
}

static void summary_of(const fixture *fx, out_summary *s)
{
    memset(s, 0, sizeof *s);
    s->st = (stats *)&fx->st;
    s->c.requests = 2;
    s->c.connections = 2;
    s->c.records = 17;
    s->c.have_ts = true;
    s->c.first_ts = fx->file.first_ts;
    s->c.last_ts = fx->file.last_ts;
    s->c.last_frame = 40;
    s->t.packets = 40;
    s->t.bytes = 23456;
    s->t.flows_seen = 4;
    s->t.flows_fastcgi = 3;
    s->t.tcp_segments = 40;
    s->t.fastcgi_segments = 20;
    s->files = &fx->file;
    s->nfiles = 1;
    s->file_stats = &fx->file_stats;
    s->exit_status = 1;
}

/* The whole report of one variant into a string (malloc'd). */
static char *report(const fixture *fx, const opts *o, bool ns, bool color, bool live)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    out_ctx c;
    fcs_out_init(&c, f, o, ns, color, true, live);
    fcs_out_begin(&c);
    fcs_out_request(&c, &fx->req[0]);
    fcs_out_request(&c, &fx->req[1]);
    fcs_out_anomaly(&c, &fx->anom);
    out_summary s;
    summary_of(fx, &s);
    fcs_out_summary_write(&c, &s);
    CHECK(!c.write_error, "no write error");
    fcs_out_free(&c);
    fclose(f);
    return buf;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *p = realloc(buf, cap);
            if (!p)
                break;
            buf = p;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf ? buf : calloc(1, 1);
}

/* The first line where got and want differ, for the message. */
static size_t first_diff_line(const char *got, const char *want)
{
    size_t line = 1;
    for (; *got && *got == *want; got++, want++)
        line += *got == '\n';
    return line;
}

static void expect(const char *name, const char *got)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", UNIT_EXPECT_DIR, name);
    const char *upd = getenv("UNIT_EXPECT_UPDATE");
    if (upd && *upd == '1') {
        FILE *f = fopen(path, "wb");
        CHECK(f && fputs(got, f) >= 0 && fclose(f) == 0, "%s: cannot write", path);
        fprintf(stderr, "wrote %s\n", path);
        return;
    }
    char *want = slurp(path);
    CHECK(want, "%s: cannot read", path);
    if (want)
        CHECK(!strcmp(got, want), "%s: differs from line %zu on; got:\n%s", name,
              first_diff_line(got, want), got);
    free(want);
}

void suite_report(void)
{
    fixture *fx = malloc(sizeof *fx);
    CHECK(fx != NULL, "memory");
    if (!fx)
        return;
    fixture_init(fx);
    opts o;
    char err[256];
    CHECK(parse(&o, "--param HTTP_X_REQUEST_ID a.pcap", err, sizeof err) == 0, "%s", err);
    static const struct {
        const char *file;
        out_format format;
        int verbose;
        bool ns, color, live;
    } variants[] = {
        {"report.json", FMT_JSON, 0, false, false, false},
        {"report-ns.json", FMT_JSON, 0, true, false, false},
        {"report.csv", FMT_CSV, 0, false, false, false},
        {"report.txt", FMT_TEXT, 0, false, false, false},
        {"report-v.txt", FMT_TEXT, 1, false, false, false},
        {"report-live-colour.txt", FMT_TEXT, 0, false, true, true},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        o.format = variants[i].format;
        o.verbose = variants[i].verbose;
        char *got = report(fx, &o, variants[i].ns, variants[i].color, variants[i].live);
        expect(variants[i].file, got ? got : "");
        free(got);
    }
    /* every format has its row in out.c's format_ops[] (a missing row
     * would write nothing at all) */
    for (int f = 0; f < FMT_COUNT; f++) {
        o.format = (out_format)f;
        o.verbose = 0;
        char *got = report(fx, &o, false, false, false);
        CHECK(got && strlen(got) > 100, "format %d writes a report (out.c format_ops[])", f);
        free(got);
    }
    fcs_opts_free(&o);
    fixture_free(fx);
    free(fx);
}
