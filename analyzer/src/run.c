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
        pcapw_packet(rp->dump, pkt);
    anz_packet(a, pkt);
}

static void sink_request(void *ud, const req_rec *r)
{
    sink_ctx *sk = ud;
    fsd_severity sev = 0;
    fsd_anomaly_id id = 0;
    if (r->worst) {
        /* the request's finding at its worst severity (catalogue order) */
        fsd_anomaly_id ids[FSD_A_COUNT];
        size_t n = rec_anomaly_ids(r, ids, FSD_A_COUNT);
        sev = r->worst;
        id = n ? ids[0] : 0;
        for (size_t k = 0; k < n; k++)
            if (fsd_anomaly_max_severity(ids[k]) >= r->worst) {
                id = ids[k];
                break;
            }
    }
    file_note(sk, r->has_begin ? r->frame : 0, true, sev, id);
    out_request(sk->out, r);
}

static void sink_anomaly(void *ud, const anom_rec *a)
{
    sink_ctx *sk = ud;
    file_note(sk, a->frame, false, a->severity, a->id);
    out_anomaly(sk->out, a);
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
    anz_idle(sc->a, sc->last);
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

int run_analysis(const run_params *rp)
{
    const opts *o = rp->o;
    fcs_capture *cap = rp->cap;
    bool notes = rp->stderr_notes;

    stats *st = malloc(sizeof *st);
    if (!st) {
        if (notes)
            fputs("fcgiscope: out of memory\n", stderr);
        return 2;
    }
    stats_init(st, o->quiet ? 0 : o->slowest);
    out_ctx out;
    out_init(&out, rp->out, o, fcs_cap_precision(cap) == FCS_PREC_NS, rp->color, rp->utf8, rp->live);
    out.width = rp->width;
    out.flush_lines = rp->live && o->immediate;
    if (rp->live && !out.flush_lines)
        setvbuf(rp->out, live_obuf, _IOFBF, sizeof live_obuf);
    size_t nf = fcs_cap_file_count(cap);
    sink_ctx sk = { &out, cap, calloc(nf ? nf : 1, sizeof(out_file_stats)), nf };
    out.locate = locate;
    out.locate_ud = &sk;

    anz_config ac;
    memset(&ac, 0, sizeof ac);
    ac.o = o;
    ac.immediate = rp->live;
    ac.order_lag_ns = rp->live ? 0 : -1;
    ac.max_pending = o->max_pending;
    bool stream = !rp->live && fcs_cap_is_stream(cap);
    if (stream)
        ac.wall_lag_ns = ANZ_WALL_LAG_NS;
    ac.sink.request = sink_request;
    ac.sink.anomaly = sink_anomaly;
    ac.sink.ud = &sk;
    ac.st = st;
    anz *a = anz_new(&ac);
    if (!a) {
        if (notes)
            fputs("fcgiscope: out of memory\n", stderr);
        out_free(&out);
        stats_free(st);
        free(st);
        free(sk.fs);
        return 2;
    }
    out_begin(&out);
    stream_ctx sc = { a, rp->out, mono_ns() };
    if (stream) {
        fflush(rp->out);
        fcs_cap_set_idle(cap, stream_idle, &sc);
    }

    const char *fatal = NULL;
    char fatal_buf[FCS_CAP_ERRMAX];
    const char *stop_reason = NULL;
    int64_t t0 = mono_ns(), last_drops = t0, last_flush = t0;
    bool counted = false;
    uint64_t npk = 0;
    for (;;) {
        if (rp->stop && *rp->stop) {
            stop_reason = stop_name(*rp->stop);
            break;
        }
        if (rp->alarm && *rp->alarm) {
            stop_reason = "duration reached (--duration)";
            break;
        }
        fcs_packet pkt;
        int r = fcs_cap_next(cap, &pkt);
        if (r == FCS_CAP_PACKET) {
            take_packet(rp, a, &pkt);
            npk++;
            if (rp->progress && (npk & 1023) == 0)
                rp->progress(rp->ud, cap, out.requests_written);
            /* a stream that never pauses (we are the slower side): the same
             * as a pause, every 200 ms */
            if (stream && (npk & 255) == 0 && mono_ns() - sc.last >= 200000000)
                stream_idle(&sc);
        } else if (r == FCS_CAP_DAMAGED) {
            if (rp->progress_done)
                rp->progress_done(rp->ud);
            if (notes)
                fprintf(stderr, "fcgiscope: warning: %s\n", fcs_cap_error(cap));
            anz_damaged(a, fcs_cap_damage_frame(cap), fcs_cap_last_ts(cap), fcs_cap_error(cap));
        } else if (r == FCS_CAP_SKIPPED) {
            if (rp->progress_done)
                rp->progress_done(rp->ud);
            if (notes)
                fprintf(stderr, "fcgiscope: %s (skipped)\n", fcs_cap_error(cap));
        } else if (r == FCS_CAP_TIMEOUT) {
            /* time passes, but not past what the kernel may still hold */
            anz_tick(a, real_ns() - fcs_cap_delivery_lag_ns(cap));
            if (rp->live) {
                live_flush(&out);
                last_flush = mono_ns();
            }
        } else if (r == FCS_CAP_EOF) {
            if (rp->stop && *rp->stop)
                stop_reason = stop_name(*rp->stop);
            else if (rp->alarm && *rp->alarm)
                stop_reason = "duration reached (--duration)";
            break;
        } else {
            snprintf(fatal_buf, sizeof fatal_buf, "%s", fcs_cap_error(cap));
            fatal = fatal_buf;
            break;
        }
        if (rp->live) {
            anz_counters cn;
            anz_get_counters(a, &cn);
            if (o->count && cn.requests >= o->count) {
                stop_reason = "request count reached (-c)";
                counted = true;
                break;
            }
            /* the clock: after every 64 packets (a busy link) and whenever
             * the capture paused; not per packet */
            if (r == FCS_CAP_PACKET && (npk & 63) != 0)
                continue;
            int64_t now = mono_ns();
            if (now - last_flush >= LIVE_FLUSH_NS) {
                live_flush(&out);
                last_flush = now;
            }
            if (now - last_drops > 1000000000) {
                if (rp->dump)
                    pcapw_flush(rp->dump);
                anz_report_drops(a, cap);
                last_drops = now;
            }
            if (o->duration > 0 && (double)(now - t0) / 1e9 >= o->duration) {
                stop_reason = "duration reached (--duration)";
                break;
            }
        }
    }
    if (rp->progress_done)
        rp->progress_done(rp->ud);
    if (rp->live && !fatal && !(counted && o->iface)) {
        /* Stopped (signal, -c, --duration): what the source and the kernel
         * hold already was captured before the stop; analyze it too (the
         * relay forwards its open connections to their end meanwhile). Not
         * after -c on a device: N requests were asked for, and the kernel
         * hands packets over in blocks, so its ring may well hold the next
         * requests already. */
        fcs_cap_drain(cap);
        for (;;) {
            fcs_packet pkt;
            int r = fcs_cap_next(cap, &pkt);
            if (r == FCS_CAP_PACKET) {
                take_packet(rp, a, &pkt);
                continue;
            }
            if (r == FCS_CAP_ERROR) {
                snprintf(fatal_buf, sizeof fatal_buf, "%s", fcs_cap_error(cap));
                fatal = fatal_buf;
            }
            break;
        }
    }
    fcs_cap_set_idle(cap, NULL, NULL);
    if (fatal && notes)
        fprintf(stderr, "fcgiscope: %s\n", fatal);
    if (rp->live)
        anz_report_drops(a, cap);
    anz_finish(a);

    out_summary sum;
    memset(&sum, 0, sizeof sum);
    sum.st = st;
    anz_get_counters(a, &sum.c);
    anz_get_tcp_stats(a, &sum.t);
    if (rp->requests_out)
        *rp->requests_out = sum.c.requests;
    fcs_cap_file_info *fi = calloc(nf ? nf : 1, sizeof *fi);
    size_t k = 0;
    for (size_t i = 0; fi && i < nf; i++)
        if (fcs_cap_get_file_info(cap, i, &fi[k]))
            k++;
    bool unreadable = false;
    int64_t spans = 0;
    for (size_t i = 0; i < k; i++) {
        unreadable |= fi[i].unreadable;
        if (fi[i].have_ts)
            spans += fi[i].last_ts - fi[i].first_ts;
    }
    if (!rp->live) {
        sum.files = fi;
        sum.nfiles = k;
        sum.file_stats = k == nf ? sk.fs : NULL;
        /* several files (rotations, nightly batches): the time between them
         * is no traffic; rates use the files' spans summed */
        if (k > 1)
            sum.rate_span_ns = spans;
    } else {
        sum.device = o->iface ? o->iface : o->unix_path ? o->unix_path : o->relay_path;
        sum.filter = o->filter;
        sum.have_drops = fcs_cap_live_stats(cap, &sum.received, &sum.dropped, &sum.ifdropped);
        sum.stop_reason = stop_reason;
    }
    sum.interrupted = rp->stop && *rp->stop;
    sum.fatal = fatal;
    int status = 0;
    if (fatal || unreadable)
        status = 2;
    else if (o->fail_on && st->max_sev >= (fsd_severity)o->fail_on)
        status = 1;
    sum.exit_status = status;
    out_summary_write(&out, &sum);

    if (notes) {
        if (!rp->live && !fatal && sum.interrupted && !o->quiet)
            fprintf(stderr, "fcgiscope: interrupted: the report covers the input read so far\n");
        if (o->format == FMT_CSV && !o->quiet && st->anomaly_events)
            fprintf(stderr, "fcgiscope: %llu anomalies (use -f text or -f json to see them)\n",
                    (unsigned long long)st->anomaly_events);
        if (o->fail_on && st->max_sev >= (fsd_severity)o->fail_on && !o->quiet)
            fprintf(stderr, "fcgiscope: anomalies at or above \"%s\" found (--fail-on)\n",
                    fsd_severity_name((fsd_severity)o->fail_on));
        /* --fail-on audits: which file tripped, with its worst finding */
        for (size_t i = 0; o->fail_on && !rp->live && sk.fs && i < k && k == nf; i++) {
            const out_file_stats *f = &sk.fs[i];
            if (f->worst < (fsd_severity)o->fail_on)
                continue;
            fprintf(stderr, "fcgiscope: %s: %s %s", fi[i].name, fsd_severity_name(f->worst),
                    fsd_anomaly_name(f->worst_id));
            if (f->worst_frame)
                fprintf(stderr, " (frame %llu)", (unsigned long long)f->worst_frame);
            fputc('\n', stderr);
        }
        if (unreadable)
            fprintf(stderr, "fcgiscope: not every file could be read (see above): exit status 2\n");
    }
    if (out.write_error)
        status = 2; /* main names the file */
    out_free(&out);
    anz_free(a);
    stats_free(st);
    free(st);
    free(fi);
    free(sk.fs);
    return status;
}
