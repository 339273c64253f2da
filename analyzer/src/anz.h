/* anz.h — the analysis: TCP flows -> one fsd_conn each -> request records, emitted in order of t_begin.
 *
 * Requests are written in order of t_begin with bounded memory
 * (analyzer/README.md "Ordering and memory"); fsd.h is the decoder contract
 * and tcp.h gives the flow callbacks.
 *
 * Ordering with bounded memory. Requests finish out of order, so a finished
 * request waits in a queue (orderq.h: a min-heap on t_begin, frame) until
 * no request that is still to be delivered can start before it. That is
 * known from:
 *  - the requests active now: every BEGIN_REQUEST the decoder tracks is
 *    noted (its record event) in a min-heap of active begins (activeq.h),
 *    removed when its transaction is delivered;
 *  - requests not begun yet: their BEGIN_REQUEST's first byte is either
 *    among the bytes a flow's decoder was given after the last record it
 *    completed (per flow and direction, the earliest such packet is tracked
 *    from the record events: a record that ends exactly at the data fed so
 *    far leaves nothing pending), or held back by TCP reassembly
 *    (fcs_tcp_oldest_held: out-of-order pieces, undecided flows), or in a
 *    later packet (the current one, less the largest step back in time seen
 *    so far). The earliest of these is the bound, recomputed every
 *    32 + (open flows) packets when the queue's head waits on it.
 * A queued record is emitted when its key is below both. A direction that
 * never completes a record again (hunting) would hold the bound back: as a
 * fallback a record is also emitted once it is ANZ_ORDER_LAG_NS older than
 * the current packet (and no active request precedes it). The queue is capped
 * (ANZ_MAX_PENDING records): past the cap the earliest is emitted anyway, so
 * one request that never ends cannot make memory grow; such a late request
 * is then written out of order (documented in the README). Anomalies not tied
 * to a request join the same queue, keyed by their packet. In live mode
 * every record is written when it completes.
 *
 * Streams (a pipe: cfg.wall_lag_ns > 0): a record also leaves the queue once
 * it has waited wall_lag_ns of WALL CLOCK (fcs_anz_idle() checks; the caller
 * calls it when input pauses and every ~200 ms), together with everything
 * queued before it in start order, even when an earlier request is still in
 * flight (that one is then written late, counted in emitted_late): a pipe's
 * reader sees each request within about a second of its end.
 */
#ifndef FCGISCOPE_ANZ_H
#define FCGISCOPE_ANZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "opts.h"
#include "rec.h"
#include "stats.h"
#include "tcp.h"

#define ANZ_ORDER_LAG_NS INT64_C(1000000000)
#define ANZ_MAX_PENDING 100000
#define ANZ_WALL_LAG_NS INT64_C(750000000)

typedef struct anz_sink {
    void (*request)(void *ud, const req_rec *r);
    void (*anomaly)(void *ud, const anom_rec *a);
    void *ud;
} anz_sink;

typedef struct anz_config {
    const opts *o;            /* ports, detect, --param names */
    bool immediate;           /* live: write each record when it completes */
    int64_t order_lag_ns;     /* < 0: ANZ_ORDER_LAG_NS */
    size_t max_pending;       /* 0: ANZ_MAX_PENDING */
    int64_t wall_lag_ns;      /* streams: > 0 releases records queued that long (wall clock) */
    anz_sink sink;
    stats *st;                /* summary statistics (required) */
} anz_config;

typedef struct anz_counters {
    uint64_t requests;          /* delivered by the decoder */
    uint64_t emitted_late;      /* written out of t_begin order (queue cap) */
    uint64_t pending_max;
    uint64_t decoder_failures;  /* flows not analyzed: fsd_conn_new failed */
    uint64_t records;           /* FastCGI records decoded */
    uint64_t skipped_bytes;     /* stream bytes not decoded (hunting, desync) */
    uint64_t gap_bytes;         /* reported missing to the decoder */
    uint64_t connections;       /* FastCGI flows */
    uint64_t untracked_requests;/* BEGIN_REQUESTs past the decoder's request table */
    uint64_t untracked_records; /* later records of those requests' ids */
    uint64_t untracked_bytes;   /* their content bytes */
    int64_t first_ts, last_ts;  /* capture span (packets) */
    uint64_t last_frame;
    bool have_ts;
} anz_counters;

typedef struct anz anz;

anz *fcs_anz_new(const anz_config *cfg);
/* One captured frame, in capture order. */
void fcs_anz_packet(anz *a, const fcs_packet *pkt);
/* The capture layer reported damage (capture_truncated). */
void fcs_anz_damaged(anz *a, uint64_t frame, int64_t ts_ns, const char *msg);
/* Live: time passes without packets (expire idle flows, drain). */
void fcs_anz_tick(anz *a, int64_t now_ns);
/* Streams: the input pauses or ~200 ms passed (wall_ns: CLOCK_MONOTONIC).
 * Writes what can be written now: the ordering bound is recomputed, and
 * records queued cfg.wall_lag_ns ago or more are released. */
void fcs_anz_idle(anz *a, int64_t wall_ns);
/* Live: report libpcap drops as capture_drops. */
void fcs_anz_report_drops(anz *a, fcs_capture *cap);
/* End of input: finish every flow and write everything still queued. */
void fcs_anz_finish(anz *a);
void fcs_anz_get_counters(const anz *a, anz_counters *out);
/* Requests in flight (BEGIN_REQUEST seen, not ended yet): fn once per
 * connection that has any, with its server "ip:port" (valid during the call). */
void fcs_anz_in_flight(const anz *a, void (*fn)(void *ud, const char *server, uint64_t n), void *ud);
void fcs_anz_get_tcp_stats(const anz *a, fcs_tcp_stats *out);
void fcs_anz_free(anz *a);

#endif
