/* metrics.h — --metrics: a live analysis as Prometheus metrics over HTTP.
 *
 * The analysis thread counts (fcs_metrics_request per request written,
 * fcs_metrics_update with the running totals at every flush); one server
 * thread answers GET /metrics with the text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), one
 * connection at a time, each under a short deadline, so a slow or hostile
 * scraper never holds the analysis up: the two share only a mutex held while
 * a number is added or the page is written to memory.
 *
 * Cardinality is bounded: at most FCS_METRICS_MAX_SERVERS server labels
 * (later servers count as "other"), HTTP statuses 0..999, the anomaly
 * catalogue's ids, and per-script series only for the first N scripts seen
 * (--metrics-scripts N; the rest as "other"). The metric names and labels
 * are listed in analyzer/README.md ("Prometheus metrics").
 */
#ifndef FCGISCOPE_METRICS_H
#define FCGISCOPE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rec.h"
#include "stats.h"

#define FCS_METRICS_MAX_SERVERS 64
#define FCS_METRICS_MAX_REQUEST 8192 /* request head bytes; more: 431 */

typedef struct fcs_metrics fcs_metrics;

/* Requests in flight on one server (BEGIN_REQUEST seen, no end yet). */
typedef struct fcs_metrics_flight {
    const char *server;           /* "ip:port" */
    uint64_t n;
} fcs_metrics_flight;

/* Running totals the analysis thread hands over at each flush. */
typedef struct fcs_metrics_totals {
    const stats *st;              /* anomalies by id and severity, backend failures */
    bool have_drops;              /* -i: libpcap's counters */
    uint64_t received, dropped, ifdropped;
    uint64_t packets;             /* frames analysed */
    const fcs_metrics_flight *flights; /* every server with requests in flight */
    size_t nflights;
} fcs_metrics_totals;

/* Parse "PORT", "ADDR:PORT" or "[ADDR6]:PORT" (a bare port binds
 * 127.0.0.1), bind and listen. Returns NULL with a message in err. */
fcs_metrics *fcs_metrics_open(const char *where, unsigned max_scripts, char *err, size_t errlen);
/* The address actually bound ("127.0.0.1:9464"), for messages. */
const char *fcs_metrics_address(const fcs_metrics *m);
/* Start serving (after privileges were dropped). Returns 0, or -1 with err. */
int fcs_metrics_start(fcs_metrics *m, char *err, size_t errlen);
/* A request was written: count it by server, status and script, observe its
 * latency and time to first byte. */
void fcs_metrics_request(fcs_metrics *m, const req_rec *r);
void fcs_metrics_update(fcs_metrics *m, const fcs_metrics_totals *t);
/* Stop the server thread, close the socket, free. NULL is fine. */
void fcs_metrics_close(fcs_metrics *m);

/* For tests: write the exposition page to buf (grown with realloc). */
size_t fcs_metrics_render(fcs_metrics *m, char **buf, size_t *cap);
/* For tests: answer one request head (len bytes) into out; returns the
 * HTTP status code chosen. */
int fcs_metrics_answer(fcs_metrics *m, const char *head, size_t len, char **out, size_t *outlen);

#endif
