/* out.h — the reports: JSON lines, CSV rows, the text report for operators and the HTML page.
 *
 * The field names are a contract, listed in analyzer/README.md "Output
 * formats". RFC 8259 (JSON), RFC 4180 (CSV), RFC 3339 (times), ECMA-48 SGR
 * (colours). Every traffic-derived string goes through esc.h.
 *
 * One writer per format: out_json.c, out_csv.c, out_text.c, out_html.c;
 * out_common.c holds what they share, out.c these entry points and the
 * table of formats (format_ops[]).
 */
#ifndef FCGISCOPE_OUT_H
#define FCGISCOPE_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "anz.h"
#include "capture.h"
#include "esc.h"
#include "opts.h"
#include "rec.h"
#include "stats.h"
#include "tcp.h"

typedef struct out_ctx {
    FILE *f;
    const opts *o;
    bool ns;                 /* the capture has nanosecond timestamps */
    bool color;              /* SGR colours */
    bool utf8;               /* the output charset is UTF-8 */
    bool live;               /* write each record as it completes */
    bool flush_lines;        /* fflush after every line (live --immediate); else
                                the caller flushes (run.c: the live flush timer) */
    size_t width;            /* terminal columns for the text tables, 0: unknown */
    bool write_error;        /* a write failed */
    uint64_t requests_written;
    uint64_t anomalies_written;
    sbuf line;
    /* Where a frame of the timeline is: its file (the path as given) and its
     * number within that file (run.c: fcs_cap_frame_locate). NULL: frames
     * are shown as they are, no file. */
    bool (*locate)(void *ud, uint64_t frame, const char **file, uint64_t *frame_in_file);
    void *locate_ud;
    struct html_acc *html;   /* -f html: what the page needs besides the summary
                                statistics (out_html.c), NULL otherwise */
} out_ctx;

/* Per input file, beside fcs_cap_file_info (summary; run.c counts). */
typedef struct out_file_stats {
    uint64_t requests;
    fsd_severity worst;        /* 0: nothing found */
    fsd_anomaly_id worst_id;   /* the first finding at that severity */
    uint64_t worst_frame;      /* its frame within the file, 0 unknown */
} out_file_stats;

/* Everything the summary shows besides the statistics. */
typedef struct out_summary {
    stats *st;
    anz_counters c;
    fcs_tcp_stats t;
    const fcs_cap_file_info *files;
    size_t nfiles;
    const out_file_stats *file_stats; /* nfiles entries, or NULL */
    int64_t rate_span_ns;      /* > 0: the span request rates use (several files:
                                  their spans summed), else first..last */
    const char *device;        /* live */
    const char *filter;
    bool have_drops;
    uint64_t received, dropped, ifdropped;
    bool interrupted;          /* live: stopped by a signal */
    const char *stop_reason;   /* live: "interrupted", "count", "duration" */
    int exit_status;
    const char *fatal;         /* fatal error message, NULL if none */
} out_summary;

void fcs_out_init(out_ctx *c, FILE *f, const opts *o, bool ns, bool color, bool utf8, bool live);
void fcs_out_free(out_ctx *c);
/* Before the first record (CSV header). */
void fcs_out_begin(out_ctx *c);
void fcs_out_request(out_ctx *c, const req_rec *r);
void fcs_out_anomaly(out_ctx *c, const anom_rec *a);
void fcs_out_summary_write(out_ctx *c, const out_summary *s);

/* Helpers shared with tests. */
/* RFC 3339 UTC with 6 or 9 fraction digits: "2026-11-26T02:51:28.881497Z". */
void fmt_rfc3339(char *buf, size_t len, int64_t ns, bool nine);
/* A duration for people: "850ns", "12.3us", "1.23ms", "4.56s", "2m03s".
 * utf8: write µs. */
void fmt_duration(char *buf, size_t len, int64_t ns, bool utf8);
/* 1234567 -> "1,234,567" */
void fmt_count(char *buf, size_t len, uint64_t v);
/* bytes for people: "3.4 MB" */
void fmt_bytes(char *buf, size_t len, uint64_t v);
/* ns -> us, rounded to nearest (halves away from zero) */
int64_t ns_to_us(int64_t ns);

#endif
