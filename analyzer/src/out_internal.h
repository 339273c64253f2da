/* out_internal.h — what the report files share (out_common.c) and each format's entry points (out_json.c, out_csv.c, out_text.c, out_html.c).
 *
 * Normative reference: out.h (the public side: fcs_out_init, fcs_out_request, ...).
 * Not for use outside out*.c.
 */
#ifndef FCGISCOPE_OUT_INTERNAL_H
#define FCGISCOPE_OUT_INTERNAL_H

#include "out.h"

#define FSD_VERSION_LINE "fcgiscope " FSD_VERSION_STRING

/* ---- out_common.c: formatting, the line buffer, colours, columns, frames ---- */
void flush_line(out_ctx *c);          /* the line to the stream (and flushed with flush_lines) */

/* SGR colours, written only when enabled */
enum { C_RESET, C_BOLD, C_DIM, C_RED, C_YELLOW, C_CYAN, C_GREEN, C_MAGENTA };
extern const char *const sgr[];
void col(out_ctx *c, int k);
int sev_color(fsd_severity s);
int status_color(int st);

void pad(sbuf *b, size_t n);
size_t ucols(const char *s);                   /* display columns of a UTF-8 string */
size_t vis_cols(const char *p, size_t n);      /* the same, skipping SGR sequences */
size_t text_width(const out_ctx *c);
void wrap_line(sbuf *out, const char *p, size_t n, size_t w);
void wrap_all(sbuf *b, size_t w);              /* every line of b to w columns */
void cell(sbuf *b, const char *s, size_t width, bool right);          /* trusted text */
void tcell(out_ctx *c, const rstr *s, size_t width, const char *absent); /* traffic bytes */

const char *prec_name(fcs_precision p);
const char *fmt_name(fcs_cap_format f);
/* A frame's file (NULL live) and its number within that file. */
const char *where(const out_ctx *c, uint64_t frame, uint64_t *local);
/* The frame's file number (1-based, the Files order; 0: not in a file of s). */
size_t file_no(const out_ctx *c, const out_summary *s, uint64_t frame, uint64_t *local);
uint64_t lframe(const out_ctx *c, uint64_t frame);

const char *sev_name_or_null(fsd_severity s);
const char *closed_by_name(const req_rec *r);  /* "client", "server" or NULL */
const char *close_name(const req_rec *r);      /* "fin", "rst" or NULL */
/* --unix: the synthetic client address "a.b.c.d:port" of a request. */
bool unix_client(const char *client, uint8_t ip[4], uint16_t *port);

/* ---- the formats ---- */
void json_request(out_ctx *c, const req_rec *r);
void json_anomaly(out_ctx *c, const anom_rec *a);
void json_summary(out_ctx *c, const out_summary *s);
void csv_header(out_ctx *c);
void csv_request(out_ctx *c, const req_rec *r);
void text_request_line(out_ctx *c, const req_rec *r);
void text_anomaly_line(out_ctx *c, const anom_rec *a);
void text_summary(out_ctx *c, const out_summary *s);
void text_report_end(out_ctx *c, const out_summary *s); /* the summary, wrapped */
/* -f html (out_html.c): requests are gathered, the page is written by
 * html_summary; html_free releases c->html. */
void html_begin(out_ctx *c);
void html_request(out_ctx *c, const req_rec *r);
void html_summary(out_ctx *c, const out_summary *s);
void html_free(out_ctx *c);

#endif
