/* stats.h — summary statistics of an analysis in bounded memory.
 *
 * The summary's contents: analyzer/README.md "Output formats". Memory is
 * bounded whatever the capture size: histograms (hist.h), a script table of
 * at most STATS_MAX_SCRIPTS entries (later scripts are counted under "(other
 * scripts)"), the N slowest requests in a heap, and per anomaly id a count
 * and the first STATS_FIRST_FRAMES frames.
 */
#ifndef FCGISCOPE_STATS_H
#define FCGISCOPE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "rec.h"

#define STATS_MAX_SCRIPTS 1000
#define STATS_SCRIPT_KEY_MAX 512
#define STATS_FIRST_FRAMES 5
#define STATS_INCOMPLETE_KEPT 10
#define STATS_QUEUE_WAIT_NS 1000000 /* a request "waited for a worker" from 1 ms */

typedef struct anom_stat {
    uint64_t count;
    uint64_t by_sev[4];               /* indexed by fsd_severity */
    fsd_severity max_sev;             /* 0: none */
    uint64_t frames[STATS_FIRST_FRAMES];
    size_t nframes;
    char detail[REC_DETAIL_MAX];      /* the first occurrence's detail */
} anom_stat;

typedef struct script_stat {
    char *name;                       /* traffic bytes, NUL-terminated copy */
    size_t len;
    bool absent;                      /* requests without SCRIPT_NAME/SCRIPT_FILENAME */
    bool other;                       /* the overflow bucket */
    uint64_t count, incomplete, s5xx, s4xx;
    hist latency;
} script_stat;

/* Backend failures per server (anz.c's handshake evidence):
 * n[0] connection_refused, n[1] closed_before_request, n[2] connect_retried. */
#define STATS_MAX_SERVERS 1000
#define STATS_BACKEND_LINES 100       /* backend events listed per server and kind */
typedef struct backend_stat {
    char server[REC_ADDR_MAX];        /* "ip:port" */
    uint64_t n[3];
} backend_stat;

typedef struct stats {
    uint64_t requests, complete, incomplete;
    uint64_t end_reasons[FSD_END_DESYNC + 1];
    uint64_t status[1000];            /* HTTP status 0..999 (0 = no response) */
    uint64_t status_out_of_range;
    uint64_t user_outcomes[FSD_USER_BACKEND_FAILED + 1]; /* by fsd_user_outcome */
    uint64_t user_differs;            /* user_status known and not the application's */
    hist latency, ttfb, server;
    hist queue, run;                  /* --unix: waiting for a worker, then running */
    uint64_t queue_waited;            /* requests that waited >= STATS_QUEUE_WAIT_NS */
    /* scripts: open addressing, 2 * STATS_MAX_SCRIPTS slots */
    script_stat *scripts;
    size_t nscripts;
    script_stat *slots[2 * STATS_MAX_SCRIPTS];
    script_stat absent_script, other_scripts;
    anom_stat anom[FSD_A_COUNT];
    uint64_t anomaly_events;
    uint64_t anomalies_by_sev[4];
    fsd_severity max_sev;
    /* the slowest requests: a min-heap on elapsed time (complete: latency;
     * incomplete ones count with what they had run when they ended) */
    req_rec *slow;
    size_t nslow, slow_cap;
    /* the earliest-starting incomplete requests (STATS_INCOMPLETE_KEPT),
     * in start order after fcs_stats_incomplete() */
    req_rec *incomplete_list;
    size_t nincomplete_list, incomplete_cap;
    /* request roles, methods */
    uint64_t keep_conn_requests, aborted;
    /* attempts (attempt.h): FastCGI requests another attempt followed, and
     * the rest, the user requests, by the status their users got */
    uint64_t retried_attempts, user_requests;
    uint64_t user_status[1000];       /* per user request: the user_status of its last attempt
                                         (what the user got; 0 = none / the wire cannot tell) */
    uint64_t stdin_bytes, stdout_bytes, stderr_bytes;
    /* backend failures: totals and per server (the first STATS_MAX_SERVERS) */
    uint64_t backend[3];
    uint64_t backend_unlisted;        /* events past STATS_BACKEND_LINES per server and kind */
    backend_stat *servers;
    size_t nservers, servers_cap;
} stats;

void fcs_stats_init(stats *s, unsigned slowest);
void fcs_stats_free(stats *s);
void fcs_stats_request(stats *s, const req_rec *r);
void fcs_stats_anomaly(stats *s, fsd_anomaly_id id, fsd_severity sev, uint64_t frame,
                       const char *detail);
/* A request that was the last attempt of its user request (attempt.h). */
void fcs_stats_user_request(stats *s, const req_rec *r);
/* An anomaly counted at sev turned out to be worth only to (a retried
 * attempt's failure): move one event. */
void fcs_stats_anomaly_downgrade(stats *s, fsd_anomaly_id id, fsd_severity from, fsd_severity to);
/* One connection_refused / closed_before_request / connect_retried event
 * against server ("ip:port"); other ids are ignored. */
/* Count a backend failure event (connection_refused, closed_before_request,
 * connect_retried) of server "ip:port". Returns how many of that kind the
 * server has had (this one included; the kind's total once the server table
 * is full), 0 for another id. */
uint64_t fcs_stats_backend(stats *s, fsd_anomaly_id id, const char *server);
/* The n busiest scripts (by count, then name), written to out; returns how many. */
size_t fcs_stats_top_scripts(const stats *s, const script_stat **out, size_t n);
/* The slowest requests, slowest first (the heap is reordered, still valid). */
size_t fcs_stats_slowest(stats *s, const req_rec **out, size_t n);
/* The kept incomplete requests in start order (then frame); returns how many. */
size_t fcs_stats_incomplete(stats *s);
/* The slowest kept request (NULL when none). */
const req_rec *fcs_stats_slowest_one(const stats *s);

#endif
