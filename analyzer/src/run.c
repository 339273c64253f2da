/* run.c — one analysis from an open capture to a written report.
 *
 * Normative reference: see run.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anz.h"
#include "out.h"
#include "stats.h"
#include "tcp.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What the sinks see: the report, and per input file its requests and its
 * worst finding (several files: the summary's files[] and --fail-on audits). */
typedef struct sink_ctx {
    out_ctx *out;
    fcs_capture *cap;
    fcs_metrics *metrics;     /* --metrics, NULL: none */
    out_file_stats *fs;       /* one per file */
    size_t nfiles;
} sink_ctx;

/* out_ctx.locate: frame 0 (unknown) is put in the file being read. */
static bool locate(void *ud, uint64_t frame, const char **file, uint64_t *local)
{
    const sink_ctx *sk = ud;
    size_t i = fcs_cap_current_file(sk->cap);
    uint64_t l = 0;
    if (frame && !fcs_cap_frame_locate(sk->cap, frame, &i, &l))
        return false;
    fcs_cap_file_info fi;
    if (!fcs_cap_get_file_info(sk->cap, i, &fi) || fi.format == FCS_FMT_LIVE)
        return false;
    *file = fi.name;
    *local = l;
    return true;
}

static void file_note(sink_ctx *sk, uint64_t frame, bool request, fsd_severity sev,
                      fsd_anomaly_id id)
{
    size_t i = fcs_cap_current_file(sk->cap);
    uint64_t l = 0;
    if (frame && !fcs_cap_frame_locate(sk->cap, frame, &i, &l))
        i = fcs_cap_current_file(sk->cap);
    if (!sk->fs || i >= sk->nfiles)
        return;
    out_file_stats *f = &sk->fs[i];
    f->requests += request;
    if (sev > f->worst) {
        f->worst = sev;
        f->worst_id = id;
        f->worst_frame = l;
    }
}

/* One captured packet: to -w's file (live), then to the analysis. */
static void take_packet(const run_params *rp, anz *a, const fcs_packet *pkt)
{
    if (rp->dump)
        fcs_pcapw_packet(rp->dump, pkt);
    fcs_anz_packet(a, pkt);
}

static void sink_request(void *ud, const req_rec *r)
{
    sink_ctx *sk = ud;
    fsd_severity sev = 0;
    fsd_anomaly_id id = 0;
    if (r->worst) {
        /* the request's finding at its worst severity (catalogue order) */
        fsd_anomaly_id ids[FSD_A_COUNT];
        size_t n = fcs_req_anomaly_ids(r, ids, FSD_A_COUNT);
        sev = r->worst;
        id = n ? ids[0] : 0;
        for (size_t k = 0; k < n; k++)
            if (fsd_anomaly_max_severity(ids[k]) >= r->worst) {
                id = ids[k];
                break;
            }
    }
    file_note(sk, r->has_begin ? r->frame : 0, true, sev, id);
    if (sk->metrics)
        fcs_metrics_request(sk->metrics, r);
    fcs_out_request(sk->out, r);
}

static void sink_anomaly(void *ud, const anom_rec *a)
{
    sink_ctx *sk = ud;
    file_note(sk, a->frame, false, a->severity, a->id);
    fcs_out_anomaly(sk->out, a);
}

/* Streams: the input paused (the capture's idle hook) or ~200 ms passed. */
typedef struct stream_ctx {
    anz *a;
    FILE *out;
    int64_t last;
} stream_ctx;

static void stream_idle(void *ud)
{
    stream_ctx *sc = ud;
    sc->last = mono_ns();
    fcs_anz_idle(sc->a, sc->last);
    fflush(sc->out); /* a failure stays in ferror(), main reports it */
}

/* Live: what was written reaches the file or pipe when the capture runs
 * dry (FCS_CAP_TIMEOUT: nothing more is ready) and at least every
 * LIVE_FLUSH_NS while packets keep coming, not once per line (a write per
 * request cost as much as the analysis; --immediate flushes every line). */
#define LIVE_FLUSH_NS 250000000

/* ... and in writes of up to 64 KiB: the stream's buffer, set before its
 * first write (one live analysis per process) */
static char live_obuf[1 << 16];

static void live_flush(out_ctx *out)
{
    if (fflush(out->f) != 0)
        out->write_error = true;
}

static const char *stop_name(int sig)
{
    return sig == SIGTERM ? "terminated (SIGTERM)" : "interrupted";
}

/* A signal or --duration's timer asked to stop: why (NULL: not asked). */
static const char *stop_asked(const run_params *rp)
{
    if (rp->stop && *rp->stop)
        return stop_name(*rp->stop);
    if (rp->alarm && *rp->alarm)
        return "duration reached (--duration)";
    return NULL;
}

/* One analysis in progress: what fcs_run_analysis set up and the loop found. */
typedef struct run_state {
    const run_params *rp;
    const opts *o;
    fcs_capture *cap;
    bool notes;               /* rp->stderr_notes */
    bool stream;              /* a pipe or stdin: records released by wall clock too */
    stats *st;
    out_ctx out;
    sink_ctx sk;
    anz *a;
    stream_ctx sc;
    const char *fatal;        /* a fatal capture error (in fatal_buf), NULL: none */
    char fatal_buf[FCS_CAP_ERRMAX];
    const char *stop_reason;  /* live: why it stopped */
    bool counted;             /* live: -c's count reached */
    int64_t t0, last_drops, last_flush; /* live: CLOCK_MONOTONIC ns */
    fcs_metrics_flight *flights;        /* --metrics: in flight per connection */
    size_t nflights, flights_cap;
} run_state;

static void out_of_memory(const run_state *rs)
{
    if (rs->notes)
        fputs("fcgiscope: out of memory\n", stderr);
}

/* The statistics, the report, the per-file notes and the analysis, wired
 * together. false: out of memory (run_free releases what was made). */
static bool run_setup(run_state *rs)
{
    const run_params *rp = rs->rp;
    const opts *o = rs->o;
    rs->st = malloc(sizeof *rs->st);
    if (!rs->st)
        return false;
    fcs_stats_init(rs->st, o->quiet ? 0 : o->slowest);
    out_ctx *out = &rs->out;
    fcs_out_init(out, rp->out, o, fcs_cap_precision(rs->cap) == FCS_PREC_NS, rp->color, rp->utf8,
                 rp->live);
    out->width = rp->width;
    out->flush_lines = rp->live && o->immediate;
    if (rp->live && !out->flush_lines)
        setvbuf(rp->out, live_obuf, _IOFBF, sizeof live_obuf);
    size_t nf = fcs_cap_file_count(rs->cap);
    rs->sk = (sink_ctx){ out, rs->cap, rp->metrics, calloc(nf ? nf : 1, sizeof(out_file_stats)),
                         nf };
    out->locate = locate;
    out->locate_ud = &rs->sk;

    anz_config ac;
    memset(&ac, 0, sizeof ac);
    ac.o = o;
    ac.immediate = rp->live;
    ac.order_lag_ns = rp->live ? 0 : -1;
    ac.max_pending = o->max_pending;
    rs->stream = !rp->live && fcs_cap_is_stream(rs->cap);
    if (rs->stream)
        ac.wall_lag_ns = ANZ_WALL_LAG_NS;
    ac.sink.request = sink_request;
    ac.sink.anomaly = sink_anomaly;
    ac.sink.ud = &rs->sk;
    ac.st = rs->st;
    rs->a = fcs_anz_new(&ac);
    return rs->a != NULL;
}

static void flight_add(void *ud, const char *server, uint64_t n)
{
    run_state *rs = ud;
    if (rs->nflights == rs->flights_cap) {
        size_t cap = rs->flights_cap ? rs->flights_cap * 2 : 64;
        fcs_metrics_flight *f = realloc(rs->flights, cap * sizeof *f);
        if (!f)
            return; /* the gauge is short until memory comes back */
        rs->flights = f;
        rs->flights_cap = cap;
    }
    rs->flights[rs->nflights++] = (fcs_metrics_flight){server, n};
}

/* --metrics: the running totals and the requests in flight, at every live
 * flush (the per-request counts go in as the requests are written). */
static void metrics_update(run_state *rs)
{
    if (!rs->rp->metrics)
        return;
    fcs_metrics_totals t;
    memset(&t, 0, sizeof t);
    t.st = rs->st;
    t.have_drops = fcs_cap_live_stats(rs->cap, &t.received, &t.dropped, &t.ifdropped);
    anz_counters cn;
    fcs_anz_get_counters(rs->a, &cn);
    t.packets = cn.last_frame;
    rs->nflights = 0;
    fcs_anz_in_flight(rs->a, flight_add, rs);
    t.flights = rs->flights;
    t.nflights = rs->nflights;
    fcs_metrics_update(rs->rp->metrics, &t);
}

/* The report first, then the analysis (which feeds the statistics), then
 * the statistics. */
static void run_free(run_state *rs)
{
    free(rs->flights);
    if (rs->st)
        fcs_out_free(&rs->out);
    fcs_anz_free(rs->a);
    if (rs->st)
        fcs_stats_free(rs->st);
    free(rs->st);
    free(rs->sk.fs);
}

static void set_fatal(run_state *rs)
{
    snprintf(rs->fatal_buf, sizeof rs->fatal_buf, "%s", fcs_cap_error(rs->cap));
    rs->fatal = rs->fatal_buf;
}

/* Every 256 packets (npk of them so far): the progress bar (every 1024),
 * and a stream that never pauses (we are the slower side) gets the same as
 * a pause every 200 ms. */
static void every_256(run_state *rs, uint64_t npk)
{
    const run_params *rp = rs->rp;
    if (rp->progress && (npk & 1023) == 0)
        rp->progress(rp->ud, rs->cap, rs->out.requests_written);
    if (rs->stream && mono_ns() - rs->sc.last >= 200000000)
        stream_idle(&rs->sc);
}

/* A file is damaged (analyzed up to there) or could not be opened. */
static void on_bad_file(run_state *rs, bool damaged)
{
    const run_params *rp = rs->rp;
    if (rp->progress_done)
        rp->progress_done(rp->ud);
    if (rs->notes)
        fprintf(stderr, damaged ? "fcgiscope: warning: %s\n" : "fcgiscope: %s (skipped)\n",
                fcs_cap_error(rs->cap));
    if (damaged)
        fcs_anz_damaged(rs->a, fcs_cap_damage_frame(rs->cap), fcs_cap_last_ts(rs->cap),
                        fcs_cap_error(rs->cap));
}

/* An answer of fcs_cap_next other than a packet. false: the input ended
 * (or failed). */
static bool take_event(run_state *rs, int r)
{
    switch (r) {
    case FCS_CAP_DAMAGED:
    case FCS_CAP_SKIPPED:
        on_bad_file(rs, r == FCS_CAP_DAMAGED);
        return true;
    case FCS_CAP_TIMEOUT:
        /* time passes, but not past what the kernel may still hold */
        fcs_anz_tick(rs->a, real_ns() - fcs_cap_delivery_lag_ns(rs->cap));
        if (rs->rp->live) {
            live_flush(&rs->out);
            metrics_update(rs);
            rs->last_flush = mono_ns();
        }
        return true;
    case FCS_CAP_EOF:
        rs->stop_reason = stop_asked(rs->rp);
        return false;
    default:
        set_fatal(rs);
        return false;
    }
}

/* Live, after each answer: -c, the flush timer, the drop counters,
 * --duration. true: stop. */
static bool live_step(run_state *rs, int r, uint64_t npk)
{
    const opts *o = rs->o;
    anz_counters cn;
    fcs_anz_get_counters(rs->a, &cn);
    if (o->count && cn.requests >= o->count) {
        rs->stop_reason = "request count reached (-c)";
        rs->counted = true;
        return true;
    }
    /* the clock: after every 64 packets (a busy link) and whenever the
     * capture paused; not per packet */
    if (r == FCS_CAP_PACKET && (npk & 63) != 0)
        return false;
    int64_t now = mono_ns();
    if (now - rs->last_flush >= LIVE_FLUSH_NS) {
        live_flush(&rs->out);
        metrics_update(rs);
        rs->last_flush = now;
    }
    if (now - rs->last_drops > 1000000000) {
        if (rs->rp->dump)
            fcs_pcapw_flush(rs->rp->dump);
        fcs_anz_report_drops(rs->a, rs->cap);
        rs->last_drops = now;
    }
    if (o->duration > 0 && (double)(now - rs->t0) / 1e9 >= o->duration) {
        rs->stop_reason = "duration reached (--duration)";
        return true;
    }
    return false;
}

/* Read until the input ends, fails or is asked to stop. */
static void read_input(run_state *rs)
{
    const run_params *rp = rs->rp;
    fcs_capture *cap = rs->cap;
    anz *a = rs->a;
    uint64_t npk = 0; /* packets taken */
    rs->t0 = rs->last_drops = rs->last_flush = mono_ns();
    for (;;) {
        const char *why = stop_asked(rp);
        if (why) {
            rs->stop_reason = why;
            break;
        }
        fcs_packet pkt;
        int r = fcs_cap_next(cap, &pkt);
        if (r == FCS_CAP_PACKET) {
            take_packet(rp, a, &pkt);
            if ((++npk & 255) == 0)
                every_256(rs, npk);
        } else if (!take_event(rs, r)) {
            break;
        }
        if (rp->live && live_step(rs, r, npk))
            break;
    }
    if (rp->progress_done)
        rp->progress_done(rp->ud);
}

/* Live, stopped (signal, -c, --duration): what the source and the kernel
 * hold already was captured before the stop; analyze it too (the relay
 * forwards its open connections to their end meanwhile). Not after -c on a
 * device: N requests were asked for, and the kernel hands packets over in
 * blocks, so its ring may well hold the next requests already. */
static void read_rest(run_state *rs)
{
    if (!rs->rp->live || rs->fatal || (rs->counted && rs->o->iface))
        return;
    fcs_cap_drain(rs->cap);
    for (;;) {
        fcs_packet pkt;
        int r = fcs_cap_next(rs->cap, &pkt);
        if (r == FCS_CAP_PACKET) {
            take_packet(rs->rp, rs->a, &pkt);
            continue;
        }
        if (r == FCS_CAP_ERROR)
            set_fatal(rs);
        break;
    }
}

/* The summary's inputs: files (offline; several: rates over their spans
 * summed, the time between them is no traffic) or the device (live). fi
 * holds the files' infos (nfi of them). */
static void fill_summary(run_state *rs, out_summary *sum, const fcs_cap_file_info *fi, size_t nfi)
{
    const run_params *rp = rs->rp;
    const opts *o = rs->o;
    memset(sum, 0, sizeof *sum);
    sum->st = rs->st;
    fcs_anz_get_counters(rs->a, &sum->c);
    fcs_anz_get_tcp_stats(rs->a, &sum->t);
    if (!rp->live) {
        int64_t spans = 0;
        for (size_t i = 0; i < nfi; i++)
            if (fi[i].have_ts)
                spans += fi[i].last_ts - fi[i].first_ts;
        sum->files = fi;
        sum->nfiles = nfi;
        sum->file_stats = nfi == rs->sk.nfiles ? rs->sk.fs : NULL;
        if (nfi > 1)
            sum->rate_span_ns = spans;
    } else {
        sum->device = o->iface ? o->iface : o->unix_path ? o->unix_path : o->relay_path;
        sum->filter = o->filter;
        sum->have_drops = fcs_cap_live_stats(rs->cap, &sum->received, &sum->dropped,
                                             &sum->ifdropped);
        sum->stop_reason = rs->stop_reason;
    }
    sum->interrupted = rp->stop && *rp->stop;
    sum->fatal = rs->fatal;
}

/* --fail-on audits: which file tripped, with its worst finding. */
static void note_failing_files(const run_state *rs, const fcs_cap_file_info *fi, size_t nfi)
{
    const opts *o = rs->o;
    if (!o->fail_on || rs->rp->live || !rs->sk.fs || nfi != rs->sk.nfiles)
        return;
    for (size_t i = 0; i < nfi; i++) {
        const out_file_stats *f = &rs->sk.fs[i];
        if (f->worst < (fsd_severity)o->fail_on)
            continue;
        fprintf(stderr, "fcgiscope: %s: %s %s", fi[i].name, fsd_severity_name(f->worst),
                fsd_anomaly_name(f->worst_id));
        if (f->worst_frame)
            fprintf(stderr, " (frame %llu)", (unsigned long long)f->worst_frame);
        fputc('\n', stderr);
    }
}

/* The notes on stderr after the report. */
static void end_notes(const run_state *rs, const out_summary *sum, bool unreadable)
{
    const opts *o = rs->o;
    const stats *st = rs->st;
    bool failed_on = o->fail_on && st->max_sev >= (fsd_severity)o->fail_on;
    if (!rs->rp->live && !rs->fatal && sum->interrupted && !o->quiet)
        fprintf(stderr, "fcgiscope: interrupted: the report covers the input read so far\n");
    if (o->format == FMT_CSV && !o->quiet && st->anomaly_events)
        fprintf(stderr, "fcgiscope: %llu anomalies (use -f text or -f json to see them)\n",
                (unsigned long long)st->anomaly_events);
    if (failed_on && !o->quiet)
        fprintf(stderr, "fcgiscope: anomalies at or above \"%s\" found (--fail-on)\n",
                fsd_severity_name((fsd_severity)o->fail_on));
    note_failing_files(rs, sum->files, sum->nfiles);
    if (unreadable)
        fprintf(stderr, "fcgiscope: not every file could be read (see above): exit status 2\n");
}

/* The end: the last records, the summary, the notes. Returns the exit
 * status. */
static int finish(run_state *rs)
{
    const run_params *rp = rs->rp;
    fcs_cap_set_idle(rs->cap, NULL, NULL);
    if (rs->fatal && rs->notes)
        fprintf(stderr, "fcgiscope: %s\n", rs->fatal);
    if (rp->live)
        fcs_anz_report_drops(rs->a, rs->cap);
    fcs_anz_finish(rs->a);
    metrics_update(rs);

    size_t nf = rs->sk.nfiles, nfi = 0;
    fcs_cap_file_info *fi = calloc(nf ? nf : 1, sizeof *fi);
    for (size_t i = 0; fi && i < nf; i++)
        if (fcs_cap_get_file_info(rs->cap, i, &fi[nfi]))
            nfi++;
    bool unreadable = false;
    for (size_t i = 0; i < nfi; i++)
        unreadable |= fi[i].unreadable;
    out_summary sum;
    fill_summary(rs, &sum, fi, nfi);
    if (rp->requests_out)
        *rp->requests_out = sum.c.requests;
    int status = 0;
    if (rs->fatal || unreadable)
        status = 2;
    else if (rs->o->fail_on && rs->st->max_sev >= (fsd_severity)rs->o->fail_on)
        status = 1;
    sum.exit_status = status;
    fcs_out_summary_write(&rs->out, &sum);
    if (rs->notes)
        end_notes(rs, &sum, unreadable);
    if (rs->out.write_error)
        status = 2; /* main names the file */
    free(fi);
    return status;
}

int fcs_run_analysis(const run_params *rp)
{
    run_state *rs = calloc(1, sizeof *rs);
    if (!rs) {
        if (rp->stderr_notes)
            fputs("fcgiscope: out of memory\n", stderr);
        return 2;
    }
    rs->rp = rp;
    rs->o = rp->o;
    rs->cap = rp->cap;
    rs->notes = rp->stderr_notes;
    if (!run_setup(rs)) {
        out_of_memory(rs);
        run_free(rs);
        free(rs);
        return 2;
    }
    fcs_out_begin(&rs->out);
    rs->sc = (stream_ctx){ rs->a, rp->out, mono_ns() };
    if (rs->stream) {
        fflush(rp->out);
        fcs_cap_set_idle(rs->cap, stream_idle, &rs->sc);
    }
    read_input(rs);
    read_rest(rs);
    int status = finish(rs);
    run_free(rs);
    free(rs);
    return status;
}
