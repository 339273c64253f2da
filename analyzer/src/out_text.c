/* out_text.c — the text report for operators: live request lines and the summary, one function per section.
 *
 * Normative reference: see out.h; analyzer/README.md "text (default)".
 */
#include "out_internal.h"

#include <glob.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "unixcap.h"

/* ---- text: one line per request (live) ------------------------------------ */

/* "[error: a b] [warning: c]" (notes too when notes): the request's anomaly
 * ids grouped by the severity of their events. Returns the columns written. */
static size_t text_tags(out_ctx *c, const req_rec *r, bool notes)
{
    sbuf *b = &c->line;
    size_t before = b->len;
    fsd_anomaly_id ids[FSD_A_COUNT];
    size_t n = fcs_req_anomaly_ids(r, ids, FSD_A_COUNT);
    for (int sev = FSD_SEV_ERROR; sev >= FSD_SEV_NOTE; sev--) {
        bool open = false;
        for (size_t i = 0; i < n; i++) {
            if (fcs_req_anomaly_severity(r, ids[i]) != (fsd_severity)sev)
                continue;
            if (sev == FSD_SEV_NOTE && !notes)
                continue;
            if (!open) {
                fcs_sbuf_adds(b, before == b->len ? "[" : " [");
                col(c, sev_color((fsd_severity)sev));
                fcs_sbuf_printf(b, "%s:", fsd_severity_name((fsd_severity)sev));
                open = true;
            }
            fcs_sbuf_printf(b, " %s", fsd_anomaly_name(ids[i]));
        }
        if (open) {
            col(c, C_RESET);
            fcs_sbuf_addc(b, ']');
        }
    }
    return vis_cols(b->p + before, b->len - before);
}

/* What the user got when the web server did otherwise than pass the answer
 * on: "200 -> user 504: web server gave up after 1.00s". Empty when the same
 * or unknown. */
static void user_story(char *buf, size_t len, const req_rec *r, bool utf8)
{
    buf[0] = '\0';
    if (!r->user_status || r->user_status == r->status)
        return;
    char st[16], d[32], why[96];
    if (r->status)
        snprintf(st, sizeof st, "%d", r->status);
    else
        snprintf(st, sizeof st, "none");
    if (r->has_abandoned)
        fmt_duration(d, sizeof d, r->abandoned_ns, utf8);
    else
        snprintf(d, sizeof d, "?");
    switch (r->user_outcome) {
    case FSD_USER_REJECTED_HEADER:
        if (r->cgi_header_bytes) {
            char n[32];
            fmt_bytes(n, sizeof n, r->cgi_header_bytes);
            snprintf(why, sizeof why, "web server rejected the %s response header", n);
        } else {
            snprintf(why, sizeof why, "web server rejected the response header");
        }
        break;
    case FSD_USER_GAVE_UP_TIMEOUT:
        snprintf(why, sizeof why, "web server gave up after %s", d);
        break;
    case FSD_USER_CLIENT_GONE:
        snprintf(why, sizeof why, "the web server's client went away after %s", d);
        break;
    case FSD_USER_BACKEND_FAILED:
        snprintf(why, sizeof why, "the application gave no usable answer");
        break;
    default:
        snprintf(why, sizeof why, "the web server answered otherwise");
        break;
    }
    if (r->status)
        snprintf(buf, len, "%s %s user %d: %s", st, utf8 ? "\xe2\x86\x92" : "->", r->user_status, why);
    else
        snprintf(buf, len, "user %d: %s", r->user_status, why);
}

/* What else the text says of a request: the web server abandoned it (when
 * the user story did not already say so), bytes missing from the capture. */
static void side_notes(char *buf, size_t len, const req_rec *r, bool utf8)
{
    char d[32];
    size_t n = 0;
    buf[0] = '\0';
    bool told = r->user_status && r->user_status != r->status
                && (r->user_outcome == FSD_USER_GAVE_UP_TIMEOUT || r->user_outcome == FSD_USER_CLIENT_GONE);
    if (r->has_abandoned && !told) {
        fmt_duration(d, sizeof d, r->abandoned_ns, utf8);
        n += (size_t)snprintf(buf + n, len - n, "web server closed after %s", d);
    }
    if (r->gap && n < len)
        snprintf(buf + n, len - n, "%sgap: bytes missing from the capture", n ? "; " : "");
}

/* How an incomplete request ended: "reset by server", "closed by client",
 * "capture end", "desync", "gap". */
static void end_story(char *buf, size_t len, const req_rec *r)
{
    const char *who = closed_by_name(r);
    switch (r->end_reason) {
    case FSD_END_RESET:
    case FSD_END_CLOSED:
        if (who)
            snprintf(buf, len, "%s by %s", r->closed_by_reset ? "reset" : "closed", who);
        else
            snprintf(buf, len, "%s", r->end_reason == FSD_END_RESET ? "reset" : "closed");
        break;
    case FSD_END_CAPTURE:
        snprintf(buf, len, "capture end");
        break;
    default:
        snprintf(buf, len, "%s", fsd_end_reason_name(r->end_reason));
        break;
    }
}

/* A duration, "\u2265" (>=) in front when the request did not complete: it ran
 * at least that long. */
static void fmt_elapsed(char *buf, size_t len, const req_rec *r, bool utf8)
{
    char d[32];
    if (!r->has_elapsed) {
        snprintf(buf, len, "?");
        return;
    }
    fmt_duration(d, sizeof d, r->elapsed_ns, utf8);
    snprintf(buf, len, "%s%s", r->complete ? "" : utf8 ? "\xe2\x89\xa5" : ">=", d);
}

void text_request_line(out_ctx *c, const req_rec *r)
{
    sbuf *b = &c->line;
    char t[64], d[48], story[160];
    if (r->has_begin) {
        fmt_rfc3339(t, sizeof t, r->t_begin_ns, c->ns);
        t[10] = ' ';
        t[strlen(t) - 1] = '\0'; /* drop the Z: the header says UTC */
        fcs_sbuf_adds(b, t + 11);
    } else {
        fcs_sbuf_adds(b, c->ns ? "?                 " : "?              ");
    }
    fcs_sbuf_adds(b, "  ");
    if (r->status) {
        col(c, status_color(r->status));
        fcs_sbuf_printf(b, "%3d", r->status);
        col(c, C_RESET);
    } else {
        fcs_sbuf_adds(b, "---");
    }
    fmt_elapsed(d, sizeof d, r, c->utf8);
    fcs_sbuf_adds(b, "  ");
    cell(b, d, 9, true);
    fcs_sbuf_adds(b, "  ");
    tcell(c, &r->method, 0, "-");
    fcs_sbuf_addc(b, ' ');
    tcell(c, &r->uri, 0, "-");
    fcs_sbuf_printf(b, "  %s frame %" PRIu64, r->server, r->frame);
    if (!r->complete) {
        end_story(story, sizeof story, r);
        fcs_sbuf_adds(b, "  ");
        col(c, C_YELLOW);
        fcs_sbuf_printf(b, "incomplete: %s", story);
        col(c, C_RESET);
    }
    user_story(story, sizeof story, r, c->utf8);
    if (story[0]) {
        fcs_sbuf_adds(b, "  ");
        col(c, status_color(r->user_status));
        fcs_sbuf_adds(b, story);
        col(c, C_RESET);
    }
    side_notes(story, sizeof story, r, c->utf8);
    if (story[0]) {
        fcs_sbuf_adds(b, "  ");
        fcs_sbuf_adds(b, story);
    }
    size_t mark = b->len;
    fcs_sbuf_adds(b, "  ");
    if (text_tags(c, r, c->o->verbose > 0) == 0)
        b->len = mark, b->p[mark] = '\0';
    for (size_t k = 0; k < r->nparams && k < c->o->nparams; k++) {
        fcs_sbuf_addc(b, ' ');
        fcs_esc_text(b, c->o->params[k], strlen(c->o->params[k]), c->utf8, 0);
        fcs_sbuf_addc(b, '=');
        tcell(c, &r->params[k], 0, "(absent)");
    }
    fcs_sbuf_addc(b, '\n');
}

void text_anomaly_line(out_ctx *c, const anom_rec *a)
{
    sbuf *b = &c->line;
    char t[64];
    if (a->has_ts) {
        fmt_rfc3339(t, sizeof t, a->ts_ns, c->ns);
        t[strlen(t) - 1] = '\0';
        fcs_sbuf_adds(b, t + 11);
    }
    fcs_sbuf_adds(b, "  ");
    col(c, sev_color(a->severity));
    fcs_sbuf_printf(b, "%s %s", fsd_severity_name(a->severity), fsd_anomaly_name(a->id));
    col(c, C_RESET);
    if (a->frame)
        fcs_sbuf_printf(b, " frame %" PRIu64, a->frame);
    if (a->client[0]) /* handshake events too: they have no connection number */
        fcs_sbuf_printf(b, " %s -> %s", a->client, a->server);
    if (a->detail[0]) {
        fcs_sbuf_adds(b, ": ");
        fcs_esc_text(b, a->detail, strlen(a->detail), c->utf8, 0);
    }
    fcs_sbuf_addc(b, '\n');
}

/* ---- summary: text ----------------------------------------------------------- */

static void section(out_ctx *c, const char *title)
{
    fcs_sbuf_addc(&c->line, '\n');
    col(c, C_BOLD);
    fcs_sbuf_adds(&c->line, title);
    col(c, C_RESET);
    fcs_sbuf_addc(&c->line, '\n');
}

static void label(out_ctx *c, const char *l)
{
    col(c, C_DIM);
    cell(&c->line, l, 12, false);
    col(c, C_RESET);
}

static const char *bar_full(const out_ctx *c)
{
    return c->utf8 ? "\xe2\x96\x88" : "#";
}

/* A bar of value/maxv * width cells, with eighth blocks on UTF-8. */
static void bar(out_ctx *c, uint64_t value, uint64_t maxv, unsigned width, bool padded)
{
    static const char *const eighths[] = {"", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
                                          "\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a",
                                          "\xe2\x96\x89"};
    unsigned cells = 0;
    if (maxv > 0) {
        long double units = (long double)value * width * 8 / (long double)maxv;
        unsigned u = (unsigned)(units + 0.5L);
        if (value > 0 && u == 0)
            u = 1; /* never hide a non-empty bin */
        unsigned full = u / 8, part = u % 8;
        for (unsigned i = 0; i < full; i++)
            fcs_sbuf_adds(&c->line, bar_full(c));
        cells = full;
        if (part) {
            if (c->utf8)
                fcs_sbuf_adds(&c->line, eighths[part]);
            else if (part >= 4)
                fcs_sbuf_addc(&c->line, '#');
            else
                fcs_sbuf_addc(&c->line, '.');
            cells++;
        }
    }
    if (padded && cells < width)
        pad(&c->line, width - cells);
}

static void text_lat_row(out_ctx *c, const rstr *name, const char *plain, const script_stat *sc,
                         const hist *h, uint64_t count, size_t namew)
{
    char d[32], n[32];
    fcs_sbuf_adds(&c->line, "  ");
    if (plain) {
        cell(&c->line, plain, namew, false);
    } else {
        /* a name wider than its column gets a line of its own, the numbers
         * the next one */
        size_t mark = c->line.len;
        size_t w = name->p ? fcs_esc_text(&c->line, name->p, name->len, c->utf8, 0) : namew;
        if (w > namew) {
            c->line.len = mark;
            fcs_esc_text(&c->line, name->p, name->len, c->utf8, text_width(c) - 2);
            fcs_sbuf_adds(&c->line, "\n  ");
            pad(&c->line, namew);
        } else {
            c->line.len = mark;
            c->line.p[mark] = '\0';
            tcell(c, name, namew, "-");
        }
    }
    fmt_count(n, sizeof n, count);
    fcs_sbuf_addc(&c->line, ' ');
    cell(&c->line, n, 8, true);
    static const double ps[] = {50, 90, 99};
    for (int i = 0; i < 3; i++) {
        if (h->count)
            fmt_duration(d, sizeof d, (int64_t)fcs_hist_percentile(h, ps[i]), c->utf8);
        else
            snprintf(d, sizeof d, "-");
        fcs_sbuf_adds(&c->line, "  ");
        cell(&c->line, d, 7, true);
    }
    if (h->count)
        fmt_duration(d, sizeof d, (int64_t)h->max, c->utf8);
    else
        snprintf(d, sizeof d, "-");
    fcs_sbuf_adds(&c->line, "  ");
    cell(&c->line, d, 7, true);
    if (sc) {
        fcs_sbuf_printf(&c->line, " %4" PRIu64 " %4" PRIu64, sc->s4xx, sc->s5xx);
        if (sc->incomplete)
            fcs_sbuf_printf(&c->line, " %4" PRIu64, sc->incomplete);
    }
    fcs_sbuf_addc(&c->line, '\n');
}

/* fmt_duration without trailing zeros: 200.0us -> 200us, 1.00ms -> 1ms */
static void fmt_duration_short(char *buf, size_t len, int64_t ns, bool utf8)
{
    char t[32];
    fmt_duration(t, sizeof t, ns, utf8);
    char *dot = strchr(t, '.');
    if (dot) {
        char *unit = dot + 1;
        while (*unit >= '0' && *unit <= '9')
            unit++;
        char *z = unit;
        while (z > dot + 1 && z[-1] == '0')
            z--;
        if (z == dot + 1)
            z = dot;
        memmove(z, unit, strlen(unit) + 1);
    }
    snprintf(buf, len, "%s", t);
}

/* 1-2-5 boundaries: the first >= v */
static uint64_t step125(uint64_t v, bool up)
{
    uint64_t p = 1;
    for (;;) {
        static const uint64_t m[] = {1, 2, 5};
        for (int i = 0; i < 3; i++) {
            uint64_t b = p * m[i];
            if (up ? b >= v : b > v)
                return b;
        }
        if (p > UINT64_MAX / 100)
            return UINT64_MAX;
        p *= 10;
    }
}

static uint64_t floor125(uint64_t v)
{
    uint64_t best = 1, p = 1;
    for (;;) {
        static const uint64_t m[] = {1, 2, 5};
        for (int i = 0; i < 3; i++) {
            uint64_t b = p * m[i];
            if (b > v)
                return best;
            best = b;
        }
        if (p > UINT64_MAX / 100)
            return best;
        p *= 10;
    }
}

static void text_histogram(out_ctx *c, const hist *h)
{
    if (h->count == 0)
        return;
    section(c, "Latency histogram");
    uint64_t edges[40];
    size_t ne = 0;
    uint64_t lo = floor125(h->min ? h->min : 1);
    if (h->min == 0)
        lo = 0;
    edges[ne++] = lo;
    uint64_t e = lo;
    while (e <= h->max && ne < 39) {
        e = step125(e + (e == 0), false);
        edges[ne++] = e;
    }
    /* merge into at most 14 bins by taking every k-th edge */
    size_t nbins = ne - 1, k = 1;
    while ((nbins + k - 1) / k > 14)
        k++;
    uint64_t counts[40];
    uint64_t ed[41];
    size_t nb = 0;
    for (size_t i = 0; i < nbins; i += k) {
        size_t j = i + k < nbins ? i + k : nbins;
        ed[nb] = edges[i];
        ed[nb + 1] = edges[j];
        counts[nb] = fcs_hist_count_range(h, edges[i], edges[j] - 1);
        nb++;
    }
    uint64_t maxc = 0;
    for (size_t i = 0; i < nb; i++)
        if (counts[i] > maxc)
            maxc = counts[i];
    for (size_t i = 0; i < nb; i++) {
        char a[32], b2[32], r[72], n[32];
        fmt_duration_short(a, sizeof a, (int64_t)ed[i], c->utf8);
        fmt_duration_short(b2, sizeof b2, (int64_t)ed[i + 1], c->utf8);
        snprintf(r, sizeof r, "%s - %s", a, b2);
        fcs_sbuf_adds(&c->line, "  ");
        cell(&c->line, r, 17, true);
        fcs_sbuf_adds(&c->line, "  ");
        col(c, C_CYAN);
        bar(c, counts[i], maxc, 40, true);
        col(c, C_RESET);
        fmt_count(n, sizeof n, counts[i]);
        fcs_sbuf_printf(&c->line, " %s\n", n);
    }
}

/* Where php-fpm's Unix sockets would be (FCGISCOPE_PHP_SOCKETS overrides the
 * glob pattern: tests). */
static bool php_socket_found(char *path, size_t len)
{
    const char *pat = getenv("FCGISCOPE_PHP_SOCKETS");
    glob_t g;
    bool found = false;
    if (glob(pat && *pat ? pat : "/run/php/*.sock", 0, NULL, &g) == 0) {
        found = g.gl_pathc > 0;
        if (found)
            snprintf(path, len, "%s", g.gl_pathv[0]);
        globfree(&g);
    }
    return found;
}

/* No FastCGI connection at all: where it may be instead. */
static void no_fastcgi_hint(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    label(c, "Hint");
    char ports[128] = "9000";
    size_t pl = 0;
    for (size_t i = 0; i < c->o->nports && pl < sizeof ports - 16; i++) {
        const port_range *pr = &c->o->ports[i];
        pl += (size_t)(pr->lo == pr->hi
                           ? snprintf(ports + pl, sizeof ports - pl, "%s%u", i ? "," : "", pr->lo)
                           : snprintf(ports + pl, sizeof ports - pl, "%s%u-%u", i ? "," : "",
                                      pr->lo, pr->hi));
    }
    fcs_sbuf_printf(b, "%" PRIu64 " TCP flow%s: none to port %s%s. FastCGI on another port? -p PORT\n",
                    s->t.flows_seen, s->t.flows_seen == 1 ? "" : "s", ports,
                    c->o->detect ? " nor recognised as FastCGI from its first bytes" : " (--no-detect)");
    char path[256];
    if (php_socket_found(path, sizeof path)) {
        label(c, "");
        fcs_sbuf_adds(b, "php-fpm listens on a Unix socket on this host (");
        fcs_esc_text(b, path, strlen(path), c->utf8, 60);
        fcs_sbuf_adds(b, "): libpcap cannot see Unix sockets; ");
        if (fcs_unix_supported()) {
            fcs_sbuf_adds(b, "fcgiscope --unix ");
            fcs_esc_text(b, path, strlen(path), c->utf8, 60);
            fcs_sbuf_adds(b, " captures them (eBPF, as root)\n");
        } else {
            fcs_sbuf_adds(b, "a TCP listen address (e.g. listen = 127.0.0.1:9000) can be captured\n");
        }
    }
}

/* A status count table: one row per status, then the unknown ones. */
static void status_table(out_ctx *c, const uint64_t *counts, uint64_t total, const char *none)
{
    sbuf *b = &c->line;
    char n1[32];
    uint64_t maxc = 0;
    for (int k = 0; k < 1000; k++)
        if (counts[k] > maxc)
            maxc = counts[k];
    for (int pass = 0; pass < 2; pass++)
        for (int k = pass ? 0 : 1; pass ? k == 0 : k < 1000; k++) {
            if (!counts[k])
                continue;
            fcs_sbuf_adds(b, "  ");
            col(c, k ? status_color(k) : C_MAGENTA);
            if (k)
                fcs_sbuf_printf(b, "%-6d", k);
            else
                fcs_sbuf_adds(b, "none  ");
            col(c, C_RESET);
            fmt_count(n1, sizeof n1, counts[k]);
            cell(b, n1, 9, true);
            fcs_sbuf_printf(b, " %5.1f%%  ", 100.0 * (double)counts[k] / (double)total);
            bar(c, counts[k], maxc, 30, !k);
            if (!k)
                fcs_sbuf_printf(b, " (%s)", none);
            fcs_sbuf_addc(b, '\n');
            if (pass)
                break;
        }
}

/* A status in a 4-column cell ("none" when there is none). */
static void table_status(out_ctx *c, int status)
{
    if (status) {
        col(c, status_color(status));
        fcs_sbuf_printf(&c->line, "%4d", status);
        col(c, C_RESET);
    } else {
        fcs_sbuf_adds(&c->line, "none");
    }
}

/* The line under a request in the text tables: how an incomplete one ended
 * (slowest table), what the user got, its findings (warnings and errors;
 * notes with -v) and the --param values. Nothing when there is nothing. */
static void request_more(out_ctx *c, const req_rec *r, bool say_incomplete)
{
    sbuf *b = &c->line;
    size_t mark = b->len;
    bool any = false;
    char story[160];
    fcs_sbuf_adds(b, "            ");
    if (say_incomplete && !r->complete) {
        end_story(story, sizeof story, r);
        col(c, C_YELLOW);
        fcs_sbuf_printf(b, "incomplete: %s", story);
        col(c, C_RESET);
        any = true;
    }
    user_story(story, sizeof story, r, c->utf8);
    if (story[0]) {
        fcs_sbuf_adds(b, any ? "; " : "");
        col(c, status_color(r->user_status));
        fcs_sbuf_adds(b, story);
        col(c, C_RESET);
        any = true;
    }
    side_notes(story, sizeof story, r, c->utf8);
    if (story[0]) {
        fcs_sbuf_adds(b, any ? "; " : "");
        fcs_sbuf_adds(b, story);
        any = true;
    }
    size_t before = b->len;
    if (any)
        fcs_sbuf_adds(b, "  ");
    if (text_tags(c, r, c->o->verbose > 0))
        any = true;
    else
        b->len = before, b->p[before] = '\0';
    for (size_t k = 0; k < r->nparams && k < c->o->nparams; k++) {
        if (any)
            fcs_sbuf_adds(b, "  ");
        fcs_esc_text(b, c->o->params[k], strlen(c->o->params[k]), c->utf8, 0);
        fcs_sbuf_addc(b, '=');
        tcell(c, &r->params[k], 0, "(absent)");
        any = true;
    }
    if (any)
        fcs_sbuf_addc(b, '\n');
    else
        b->len = mark, b->p[mark] = '\0';
}

/* Several files: one line each (name, span, requests, worst finding), the
 * unreadable ones with their reason. */
static void text_files(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    label(c, "Files");
    fcs_sbuf_printf(b, "%zu: span, requests, worst finding (frames within the file)\n", s->nfiles);
    for (size_t i = 0; i < s->nfiles; i++) {
        const fcs_cap_file_info *fi = &s->files[i];
        const out_file_stats *fs = s->file_stats ? &s->file_stats[i] : NULL;
        char t1[64], t2[64], d[32], n[32];
        /* the name on its own line, then what was in it: within 80 columns */
        fcs_sbuf_adds(b, "  ");
        fcs_esc_text(b, fi->name, strlen(fi->name), c->utf8, 76);
        fcs_sbuf_adds(b, "\n    ");
        if (fi->unreadable) {
            col(c, C_RED);
            fcs_sbuf_adds(b, "unreadable: ");
            const char *e = fi->error ? fi->error : "";
            size_t nl = strlen(fi->name);
            if (!strncmp(e, fi->name, nl) && !strncmp(e + nl, ": ", 2))
                e += nl + 2; /* the message names the file: once is enough */
            fcs_esc_text(b, e, strlen(e), c->utf8, 64);
            col(c, C_RESET);
            fcs_sbuf_addc(b, '\n');
            continue;
        }
        if (fi->have_ts) {
            fmt_rfc3339(t1, sizeof t1, fi->first_ts, false);
            fmt_rfc3339(t2, sizeof t2, fi->last_ts, false);
            t1[10] = ' ';
            t1[19] = '\0';
            t2[19] = '\0';
            fmt_duration(d, sizeof d, fi->last_ts - fi->first_ts, c->utf8);
            fcs_sbuf_printf(b, "%s %s %s (%s)", t1, c->utf8 ? "\xe2\x86\x92" : "->",
                            strncmp(t1, t2, 10) ? t2 : t2 + 11, d);
        } else {
            fcs_sbuf_adds(b, "no packets");
        }
        fmt_count(n, sizeof n, fs ? fs->requests : 0);
        fcs_sbuf_printf(b, ", %s request%s", n, fs && fs->requests == 1 ? "" : "s");
        if (fi->damaged) {
            col(c, C_RED);
            fcs_sbuf_adds(b, ", damaged");
            col(c, C_RESET);
        }
        fcs_sbuf_addc(b, '\n');
        if (fs && fs->worst) {
            fcs_sbuf_adds(b, "    worst: ");
            col(c, sev_color(fs->worst));
            fcs_sbuf_printf(b, "%s %s", fsd_severity_name(fs->worst), fsd_anomaly_name(fs->worst_id));
            col(c, C_RESET);
            if (fs->worst_frame)
                fcs_sbuf_printf(b, ", frame %" PRIu64, fs->worst_frame);
            fcs_sbuf_addc(b, '\n');
        }
    }
}

/* The title line (what was analysed) and a fatal error. */
static void text_title(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    col(c, C_BOLD);
    fcs_sbuf_adds(b, FSD_VERSION_LINE);
    col(c, C_RESET);
    if (s->device) {
        fcs_sbuf_printf(b, "  live on %s", s->device);
        if (s->filter && *s->filter) {
            fcs_sbuf_adds(b, " (filter: ");
            fcs_esc_text(b, s->filter, strlen(s->filter), c->utf8, 0);
            fcs_sbuf_addc(b, ')');
        }
    } else if (s->nfiles == 1) {
        fcs_sbuf_adds(b, "  ");
        fcs_esc_text(b, s->files[0].name, strlen(s->files[0].name), c->utf8, 0);
    } else {
        fcs_sbuf_printf(b, "  %zu files (see Files)", s->nfiles);
    }
    fcs_sbuf_addc(b, '\n');
    if (s->fatal) {
        col(c, C_RED);
        fcs_sbuf_adds(b, "error: ");
        fcs_esc_text(b, s->fatal, strlen(s->fatal), c->utf8, 0);
        col(c, C_RESET);
        fcs_sbuf_addc(b, '\n');
    }
}

/* FastCGI flows (by port or content) that never carried a byte (a SYN
 * alone, refused, closed before a request, or only the tail of a
 * connection) are not decoder connections, and are not "other" flows
 * either: -v's "N flows: N FastCGI" counts them as FastCGI. */
static uint64_t flows_without_data(const out_summary *s)
{
    return s->t.flows_fastcgi > s->c.connections ? s->t.flows_fastcgi - s->c.connections : 0;
}

/* Capture: the time span and the timestamps' precision; Files; damaged files. */
static void text_span(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    char t1[64], t2[64], d[32];
    label(c, "Capture");
    if (s->c.have_ts) {
        fmt_rfc3339(t1, sizeof t1, s->c.first_ts, c->ns);
        fmt_rfc3339(t2, sizeof t2, s->c.last_ts, c->ns);
        t1[10] = ' ';
        t1[strlen(t1) - 1] = '\0';
        t2[strlen(t2) - 1] = '\0';
        fmt_duration(d, sizeof d, s->c.last_ts - s->c.first_ts, c->utf8);
        bool same_day = !strncmp(t1, t2, 10);
        fcs_sbuf_printf(b, "%s %s %s UTC  (%s)", t1, c->utf8 ? "\xe2\x86\x92" : "->",
                        same_day ? t2 + 11 : t2, d);
    } else {
        fcs_sbuf_adds(b, "no packets");
    }
    if (!s->device && s->nfiles) {
        const char *prec = c->ns ? "nanosecond timestamps" : "microsecond timestamps";
        const char *nl = strrchr(b->p, '\n');
        size_t from = nl ? (size_t)(nl + 1 - b->p) : 0;
        if (vis_cols(b->p + from, b->len - from) + 2 + strlen(prec) <= text_width(c))
            fcs_sbuf_printf(b, ", %s", prec);
        else {
            fcs_sbuf_addc(b, '\n');
            label(c, "");
            fcs_sbuf_adds(b, prec);
        }
    }
    fcs_sbuf_addc(b, '\n');
    if (s->nfiles > 1)
        text_files(c, s);
    for (size_t i = 0; i < s->nfiles; i++)
        if (s->files[i].damaged) {
            label(c, "");
            col(c, C_RED);
            fcs_sbuf_adds(b, "damaged: ");
            fcs_esc_text(b, s->files[i].name, strlen(s->files[i].name), c->utf8, 0);
            fcs_sbuf_adds(b, " was read up to the damage (see capture_truncated below)");
            col(c, C_RESET);
            fcs_sbuf_addc(b, '\n');
        }
}

/* Traffic: packets, bytes, FastCGI connections, other flows. */
static void text_traffic(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    char n1[32], n2[32];
    label(c, "Traffic");
    size_t traffic_at = b->len; /* the line's text after its 12-column label */
    fmt_count(n1, sizeof n1, s->t.packets);
    fmt_bytes(n2, sizeof n2, s->t.bytes);
    fcs_sbuf_printf(b, "%s packets, %s", n1, n2);
    fmt_count(n1, sizeof n1, s->c.connections);
    fcs_sbuf_printf(b, "; %s FastCGI connection%s", n1, s->c.connections == 1 ? "" : "s");
    uint64_t nodata = flows_without_data(s);
    uint64_t others = s->t.flows_seen > s->t.flows_fastcgi ? s->t.flows_seen - s->t.flows_fastcgi : 0;
    char extra[96];
    extra[0] = '\0';
    if (nodata) {
        fmt_count(n2, sizeof n2, nodata);
        snprintf(extra, sizeof extra, "(+%s without data)", n2);
    }
    if (others) {
        fmt_count(n2, sizeof n2, others);
        size_t el = strlen(extra);
        snprintf(extra + el, sizeof extra - el, "%s(+%s other TCP flow%s)", el ? " " : "", n2,
                 others == 1 ? "" : "s");
    }
    if (extra[0]) {
        /* on the same line when it fits 80 columns, else on the next */
        if (12 + (b->len - traffic_at) + 1 + strlen(extra) > 80) {
            fcs_sbuf_addc(b, '\n');
            label(c, "");
        } else {
            fcs_sbuf_addc(b, ' ');
        }
        fcs_sbuf_adds(b, extra);
    }
    fcs_sbuf_addc(b, '\n');
}

/* Backend: handshake evidence on FastCGI server ports (anz.c). */
static void text_backend(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    const stats *st = s->st;
    char n1[32];
    if (!st->backend[0] && !st->backend[1] && !st->backend[2])
        return;
    label(c, "Backend");
    col(c, C_RED);
    fcs_sbuf_printf(b, "%" PRIu64 " refused, %" PRIu64 " closed before a request, %" PRIu64
                       " connects retried", st->backend[0], st->backend[1], st->backend[2]);
    col(c, C_RESET);
    fcs_sbuf_addc(b, '\n');
    for (size_t i = 0; i < st->nservers && i < 3; i++) {
        label(c, "");
        fcs_sbuf_printf(b, "%s: %" PRIu64 " refused, %" PRIu64 " closed early, %" PRIu64 " retried\n",
                        st->servers[i].server, st->servers[i].n[0], st->servers[i].n[1],
                        st->servers[i].n[2]);
    }
    if (st->nservers > 3) {
        label(c, "");
        fcs_sbuf_printf(b, "%zu more servers (JSON summary \"backend\")\n", st->nservers - 3);
    }
    if (st->backend_unlisted) {
        label(c, "");
        fmt_count(n1, sizeof n1, st->backend_unlisted);
        fcs_sbuf_printf(b, "%s events not listed (the first %d per server and kind are)\n", n1,
                        STATS_BACKEND_LINES);
    }
}

/* Kernel: live capture's drop counters. */
static void text_kernel(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    char n1[32], n2[32], n3[32];
    if (!s->have_drops)
        return;
    label(c, "Kernel");
    fmt_count(n1, sizeof n1, s->received);
    fmt_count(n2, sizeof n2, s->dropped);
    fmt_count(n3, sizeof n3, s->ifdropped);
    if (s->dropped || s->ifdropped)
        col(c, C_RED);
    fcs_sbuf_printf(b, "%s received, %s dropped, %s dropped by the interface", n1, n2, n3);
    col(c, C_RESET);
    fcs_sbuf_addc(b, '\n');
}

/* Untracked: traffic that was not analyzed because a cap was reached. */
static void text_untracked(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    char n1[32], n2[32], n3[32];
    if (!s->t.untracked_packets && !s->c.untracked_requests)
        return;
    label(c, "Untracked");
    col(c, C_RED);
    if (s->t.untracked_packets) {
        fmt_count(n1, sizeof n1, s->t.untracked_flows);
        fmt_count(n2, sizeof n2, s->t.untracked_port_flows);
        fcs_sbuf_printf(b, "%s TCP flow%s (%s to a FastCGI port), ", n1,
                        s->t.untracked_flows == 1 ? "" : "s", n2);
        fmt_count(n1, sizeof n1, s->t.untracked_packets);
        fmt_bytes(n2, sizeof n2, s->t.untracked_bytes);
        fmt_count(n3, sizeof n3, c->o->max_flows ? c->o->max_flows : FCS_TCP_MAX_FLOWS_DEFAULT);
        fcs_sbuf_printf(b, "%s packets, %s: the flow table was full (%s flows, --max-flows)", n1, n2, n3);
        if (s->t.table_full_events > 1)
            fcs_sbuf_printf(b, " %" PRIu64 " times", s->t.table_full_events);
    }
    if (s->c.untracked_requests) {
        fmt_count(n1, sizeof n1, s->c.untracked_requests);
        fmt_count(n2, sizeof n2, s->c.untracked_records);
        fmt_bytes(n3, sizeof n3, s->c.untracked_bytes);
        fcs_sbuf_printf(b, "%s%s request%s (%s later records, %s) past the decoder's request "
                        "table (request_table_full)", s->t.untracked_packets ? "; " : "", n1,
                        s->c.untracked_requests == 1 ? "" : "s", n2, n3);
    }
    col(c, C_RESET);
    fcs_sbuf_addc(b, '\n');
}

/* -v: TCP reassembly's and the decoder's counters. */
static void text_counters(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    const fcs_tcp_stats *t = &s->t;
    label(c, "TCP");
    fcs_sbuf_printf(b, "%" PRIu64 " segments (%" PRIu64 " FastCGI), %" PRIu64 " retransmitted, %" PRIu64
                       " out of order, %" PRIu64 " overlap bytes, %" PRIu64 " gaps (%" PRIu64 " bytes)\n",
                    t->tcp_segments, t->fastcgi_segments, t->retransmitted_segments, t->ooo_segments,
                    t->overlap_bytes, t->gaps, t->gap_bytes);
    label(c, "");
    fcs_sbuf_printf(b, "%" PRIu64 " flows: %" PRIu64 " FastCGI (%" PRIu64 " without data), %" PRIu64
                       " other, %" PRIu64 " expired idle, %"
                       PRIu64 " port reuses, %" PRIu64 " at most at once; %" PRIu64 " not IP, %" PRIu64
                       " not TCP, %" PRIu64 " IP fragments\n",
                    t->flows_seen, t->flows_fastcgi, flows_without_data(s), t->flows_ignored,
                    t->flows_expired, t->flows_reused, t->flows_max, t->not_ip, t->not_tcp, t->fragments);
    label(c, "Decoder");
    fcs_sbuf_printf(b, "%" PRIu64 " records, %" PRIu64 " stream bytes skipped (hunting/desync), %" PRIu64
                       " missing bytes reported; %" PRIu64 " records held for ordering at most\n",
                    s->c.records, s->c.skipped_bytes, s->c.gap_bytes, s->c.pending_max);
}

/* Capture, Files, Traffic, Backend, Kernel, Untracked, TCP, Decoder. */
static void text_capture(out_ctx *c, const out_summary *s)
{
    text_span(c, s);
    text_traffic(c, s);
    text_backend(c, s);
    text_kernel(c, s);
    text_untracked(c, s);
    if (c->o->verbose)
        text_counters(c, s);
}

/* "N incomplete (reason n, ...)" after the complete count. */
static void text_incomplete_counts(out_ctx *c, const stats *st)
{
    sbuf *b = &c->line;
    char n[32];
    fmt_count(n, sizeof n, st->incomplete);
    fcs_sbuf_adds(b, ", ");
    col(c, C_YELLOW);
    fcs_sbuf_printf(b, "%s incomplete", n);
    col(c, C_RESET);
    bool first = true;
    for (int r = 1; r <= FSD_END_DESYNC; r++)
        if (st->end_reasons[r]) {
            fcs_sbuf_printf(b, "%s%s %" PRIu64, first ? " (" : ", ",
                            fsd_end_reason_name((fsd_end_reason)r), st->end_reasons[r]);
            first = false;
        }
    if (!first)
        fcs_sbuf_addc(b, ')');
}

/* Requests: how many, complete or not (why), user requests, the rate. */
static void text_request_counts(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    const stats *st = s->st;
    char n1[32], n2[32], n3[32];
    label(c, "Requests");
    fmt_count(n1, sizeof n1, st->requests);
    fmt_count(n2, sizeof n2, st->complete);
    fcs_sbuf_printf(b, "%s", n1);
    if (st->requests) {
        fcs_sbuf_printf(b, ": %s complete", n2);
        if (st->incomplete)
            text_incomplete_counts(c, st);
        if (st->retried_attempts) {
            fmt_count(n3, sizeof n3, st->user_requests);
            fcs_sbuf_printf(b, "; %s user requests (%" PRIu64 " retried)", n3, st->retried_attempts);
        }
        int64_t span = s->rate_span_ns > 0 ? s->rate_span_ns : s->c.last_ts - s->c.first_ts;
        if (s->t.packets && s->c.have_ts && span >= 1000000000) {
            double rate = (double)st->requests * 1e9 / (double)span;
            fcs_sbuf_printf(b, "; %.1f/s", rate);
            if (s->rate_span_ns > 0)
                fcs_sbuf_adds(b, " over the files' spans");
        }
    }
    fcs_sbuf_addc(b, '\n');
}

/* Bodies: the content bytes each way. */
static void text_bodies(out_ctx *c, const stats *st)
{
    char n1[32], n2[32], n3[32];
    if (!st->requests || c->o->quiet)
        return;
    label(c, "Bodies");
    fmt_bytes(n1, sizeof n1, st->stdin_bytes);
    fmt_bytes(n2, sizeof n2, st->stdout_bytes);
    fmt_bytes(n3, sizeof n3, st->stderr_bytes);
    fcs_sbuf_printf(&c->line, "%s in (STDIN), %s out (STDOUT), %s STDERR\n", n1, n2, n3);
}

/* The findings at one severity: "N errors (id, id, id, ...)". */
static void text_findings_at(out_ctx *c, const stats *st, int sev, bool after)
{
    sbuf *b = &c->line;
    char n[32];
    col(c, sev_color((fsd_severity)sev));
    fmt_count(n, sizeof n, st->anomalies_by_sev[sev]);
    fcs_sbuf_printf(b, "%s%s %s%s (", after ? "; " : "", n, sev == FSD_SEV_ERROR ? "error" : "warning",
                    st->anomalies_by_sev[sev] == 1 ? "" : "s");
    int shown = 0;
    for (unsigned id = 0; id < FSD_A_COUNT; id++)
        if (st->anom[id].by_sev[sev]) {
            if (shown == 3) {
                fcs_sbuf_adds(b, ", ...");
                break;
            }
            fcs_sbuf_printf(b, "%s%s", shown++ ? ", " : "", fsd_anomaly_name((fsd_anomaly_id)id));
        }
    fcs_sbuf_addc(b, ')');
    col(c, C_RESET);
}

/* The findings' HTTP statuses, incomplete count, slowest request and what
 * users got. */
static void text_findings_requests(out_ctx *c, const stats *st)
{
    sbuf *b = &c->line;
    uint64_t s5 = 0, s4 = 0;
    for (int k = 400; k < 600; k++)
        *(k < 500 ? &s4 : &s5) += st->status[k];
    if (s5)
        fcs_sbuf_printf(b, "; %" PRIu64 " HTTP 5xx", s5);
    if (s4)
        fcs_sbuf_printf(b, "; %" PRIu64 " HTTP 4xx", s4);
    if (st->incomplete)
        fcs_sbuf_printf(b, "; %" PRIu64 " incomplete", st->incomplete);
    const req_rec *w = fcs_stats_slowest_one(st);
    if (w) {
        char e[48];
        fmt_elapsed(e, sizeof e, w, c->utf8);
        fcs_sbuf_printf(b, "; slowest %s%s (", e, w->complete ? "" : " incomplete");
        if (w->uri.p)
            fcs_esc_text(b, w->uri.p, w->uri.len, c->utf8, 40);
        else
            fcs_sbuf_addc(b, '-');
        fcs_sbuf_printf(b, ", frame %" PRIu64 ")", lframe(c, w->frame));
    } else if (st->latency.count) {
        char d[32];
        fmt_duration(d, sizeof d, (int64_t)st->latency.max, c->utf8);
        fcs_sbuf_printf(b, "; slowest %s", d);
    }
    if (st->user_differs)
        fcs_sbuf_printf(b, "; %" PRIu64 " request%s: the user got another status", st->user_differs,
                        st->user_differs == 1 ? "" : "s");
}

/* Findings: the verdict in one or two lines (or: no FastCGI at all). */
static void text_findings(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    const stats *st = s->st;
    bool no_fcgi = s->c.connections == 0 && st->requests == 0;
    if (no_fcgi) {
        label(c, "Findings");
        col(c, C_YELLOW);
        fcs_sbuf_adds(b, "no FastCGI traffic found");
        col(c, C_RESET);
        fcs_sbuf_addc(b, '\n');
        no_fastcgi_hint(c, s);
        return;
    }
    if (!st->requests && !st->anomaly_events)
        return;
    label(c, "Findings");
    bool any = false;
    for (int sev = FSD_SEV_ERROR; sev >= FSD_SEV_WARNING; sev--) {
        if (!st->anomalies_by_sev[sev])
            continue;
        text_findings_at(c, st, sev, any);
        any = true;
    }
    if (!any) {
        col(c, C_GREEN);
        fcs_sbuf_adds(b, st->anomaly_events ? "framing sound (notes only)" : "framing sound");
        col(c, C_RESET);
    }
    text_findings_requests(c, st);
    fcs_sbuf_addc(b, '\n');
}

/* Requests, Bodies and the findings verdict. */
static void text_requests(out_ctx *c, const out_summary *s)
{
    text_request_counts(c, s);
    text_bodies(c, s->st);
    text_findings(c, s);
}

/* The latency table, time to first byte, the histogram. */
static void text_latency(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    stats *st = s->st;
    char n1[32], n2[32];
    /* latency table */
    if (st->latency.count) {
        /* --latency from-syn: a connection's first request counts from its SYN */
        section(c, c->o->latency_from_syn ? "Latency (first SYN or BEGIN_REQUEST to END_REQUEST)"
                                          : "Latency (BEGIN_REQUEST to END_REQUEST)");
        unsigned top = c->o->quiet ? 0 : c->o->top_scripts;
        const script_stat **sc = top ? malloc(top * sizeof *sc) : NULL;
        size_t nsc = sc ? fcs_stats_top_scripts(st, sc, top) : 0;
        bool any_incomplete = false;
        for (size_t i = 0; i < nsc; i++)
            any_incomplete |= sc[i]->incomplete > 0;
        /* the script column takes what the numbers leave (80 columns) */
        size_t fixed = 2 + 1 + 8 + 4 * 9 + (nsc ? 10 : 0) + (any_incomplete ? 5 : 0);
        size_t namew = 12, maxw = text_width(c) - fixed;
        if (maxw > 48)
            maxw = 48;
        for (size_t i = 0; i < nsc; i++) {
            size_t w = 16; /* "(no script name)" */
            if (!sc[i]->absent && !sc[i]->other) {
                sbuf tmp;
                fcs_sbuf_init(&tmp);
                w = fcs_esc_text(&tmp, sc[i]->name, sc[i]->len, c->utf8, 0);
                fcs_sbuf_free(&tmp);
            }
            if (w > namew)
                namew = w;
        }
        if (namew > maxw)
            namew = maxw;
        col(c, C_DIM);
        fcs_sbuf_adds(b, "  ");
        cell(b, "script", namew, false);
        fcs_sbuf_printf(b, " %8s  %7s  %7s  %7s  %7s", "requests", "p50", "p90", "p99", "max");
        if (nsc)
            fcs_sbuf_printf(b, " %4s %4s", "4xx", "5xx");
        if (any_incomplete)
            fcs_sbuf_printf(b, " %4s", "inc.");
        col(c, C_RESET);
        fcs_sbuf_addc(b, '\n');
        script_stat all;
        memset(&all, 0, sizeof all);
        for (int k = 400; k < 600; k++)
            *(k < 500 ? &all.s4xx : &all.s5xx) += st->status[k];
        all.incomplete = st->incomplete;
        col(c, C_BOLD);
        text_lat_row(c, NULL, "all requests", nsc ? &all : NULL, &st->latency, st->requests, namew);
        col(c, C_RESET);
        for (size_t i = 0; i < nsc; i++) {
            rstr nm = {sc[i]->name, sc[i]->len};
            text_lat_row(c, &nm, sc[i]->absent ? "(no script name)" : sc[i]->other ? "(other scripts)" : NULL,
                         sc[i], &sc[i]->latency, sc[i]->count, namew);
        }
        if (any_incomplete)
            fcs_sbuf_printf(b, "  %sinc.: incomplete requests (not in the percentiles)%s\n",
                            c->color ? sgr[C_DIM] : "", c->color ? sgr[C_RESET] : "");
        if (!c->o->quiet && nsc < st->nscripts + (st->absent_script.count > 0) + (st->other_scripts.count > 0))
            fcs_sbuf_printf(b, "  %s(%zu more scripts; --top N shows more)%s\n", c->color ? sgr[C_DIM] : "",
                            st->nscripts + (st->absent_script.count > 0) + (st->other_scripts.count > 0) - nsc,
                            c->color ? sgr[C_RESET] : "");
        free(sc);
        if (st->ttfb.count && !c->o->quiet) {
            fmt_duration(n1, sizeof n1, (int64_t)fcs_hist_percentile(&st->ttfb, 50), c->utf8);
            fmt_duration(n2, sizeof n2, (int64_t)fcs_hist_percentile(&st->ttfb, 99), c->utf8);
            fcs_sbuf_printf(b, "  time to first response byte: p50 %s, p99 %s\n", n1, n2);
            if (st->server.count) {
                fmt_duration(n1, sizeof n1, (int64_t)fcs_hist_percentile(&st->server, 50), c->utf8);
                fcs_sbuf_printf(b, "  server time (request sent to first byte): p50 %s\n", n1);
            }
        }
        if (!c->o->quiet)
            text_histogram(c, &st->latency);
    }
}

/* HTTP status: the application's, then the users' when they differ. */
static void text_statuses(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    stats *st = s->st;
    char n1[32];
    /* statuses */
    if (st->requests) {
        section(c, "HTTP status");
        status_table(c, st->status, st->requests, "no response header");
        if ((st->user_differs || st->retried_attempts) && st->user_requests) {
            section(c, "HTTP status the users got (as far as the wire shows)");
            status_table(c, st->user_status, st->user_requests, "unknown");
            static const struct {
                fsd_user_outcome o;
                const char *what;
            } why[] = {
                {FSD_USER_REJECTED_HEADER, "response header too big for the web server (502)"},
                {FSD_USER_GAVE_UP_TIMEOUT, "the web server gave up: its timeout (504)"},
                {FSD_USER_CLIENT_GONE, "the web server's client went away (499)"},
                {FSD_USER_BACKEND_FAILED, "no usable answer from the application (502)"},
            };
            for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
                if (st->user_outcomes[why[i].o]) {
                    fmt_count(n1, sizeof n1, st->user_outcomes[why[i].o]);
                    fcs_sbuf_adds(b, "  ");
                    cell(b, n1, 9, true);
                    fcs_sbuf_printf(b, "  %s\n", why[i].what);
                }
        }
    }
}

/* --unix: per FastCGI server process, and the queue. */
static void text_workers(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    stats *st = s->st;
    size_t W = text_width(c);
    /* --unix: per FastCGI server process */
    const fcs_unix_worker *wk;
    size_t nwk = c->o->unix_path && !c->o->quiet ? fcs_unix_workers(&wk) : 0;
    if (nwk) {
        section(c, "FastCGI server processes (--unix)");
        /* pid process requests busy queued slowest: 60 columns, the uri the rest */
        size_t fixed = 2 + 7 + 2 + 12 + 1 + 6 + 3 * (1 + 8) + 1 + 8 + 2;
        size_t uriw = W > fixed + 10 ? W - fixed : 10;
        col(c, C_DIM);
        fcs_sbuf_printf(b, "  %7s  %-12s %6s %8s %8s %8s  %s\n", "pid", "process", "reqs", "busy",
                        "queued", "slowest", "slowest uri");
        col(c, C_RESET);
        for (size_t i = 0; i < nwk && i < 50; i++) {
            char busy[32], queued[32], slow[32], inc[40] = "";
            rstr u = { (char *)wk[i].slowest_uri, wk[i].slowest_uri_len };
            rstr comm = { (char *)wk[i].comm, strlen(wk[i].comm) };
            fmt_duration(busy, sizeof busy, wk[i].busy_ns, c->utf8);
            fmt_duration(queued, sizeof queued, wk[i].queued_ns, c->utf8);
            fmt_duration(slow, sizeof slow, wk[i].slowest_ns, c->utf8);
            if (wk[i].incomplete)
                snprintf(inc, sizeof inc, " (%" PRIu64 " unanswered)", wk[i].incomplete);
            fcs_sbuf_printf(b, "  %7u  ", wk[i].pid);
            tcell(c, &comm, 12, "-");
            fcs_sbuf_printf(b, " %6" PRIu64 " ", wk[i].requests);
            cell(b, busy, 8, true);
            fcs_sbuf_addc(b, ' ');
            cell(b, queued, 8, true);
            fcs_sbuf_addc(b, ' ');
            cell(b, slow, 8, true);
            fcs_sbuf_adds(b, "  ");
            size_t w = uriw > strlen(inc) + 4 ? uriw - strlen(inc) : 4;
            if (u.len)
                fcs_esc_text(b, u.p, u.len, c->utf8, w);
            else
                fcs_sbuf_addc(b, '-');
            fcs_sbuf_adds(b, inc);
            fcs_sbuf_addc(b, '\n');
        }
        if (st->queue.count) {
            char n1[32], n2[32], n3[32], cnt[32], all[32];
            fmt_count(cnt, sizeof cnt, st->queue_waited);
            fmt_count(all, sizeof all, st->queue.count);
            fmt_duration(n1, sizeof n1, (int64_t)fcs_hist_percentile(&st->queue, 50), c->utf8);
            fmt_duration(n2, sizeof n2, (int64_t)fcs_hist_percentile(&st->queue, 99), c->utf8);
            fmt_duration(n3, sizeof n3, (int64_t)st->queue.max, c->utf8);
            fcs_sbuf_printf(b, "  waited for a worker: %s of %s requests >= 1 ms\n", cnt, all);
            fcs_sbuf_printf(b, "  queue p50 %s, p99 %s, max %s", n1, n2, n3);
            if (st->run.count) {
                fmt_duration(n1, sizeof n1, (int64_t)fcs_hist_percentile(&st->run, 50), c->utf8);
                fmt_duration(n2, sizeof n2, (int64_t)fcs_hist_percentile(&st->run, 99), c->utf8);
                fcs_sbuf_printf(b, "; run p50 %s, p99 %s", n1, n2);
            }
            fcs_sbuf_addc(b, '\n');
            if (st->queue_waited)
                fcs_sbuf_adds(b, "  (queue: all workers busy, e.g. pm.max_children reached, or a\n"
                                 "  worker still running after fastcgi_finish_request())\n");
        }
    }
}

/* The slowest requests (incomplete ones with what they had run). */
static void text_slowest(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    stats *st = s->st;
    char t1[64], d[32];
    size_t W = text_width(c), startw = c->ns ? 18 : 15;
    /* slowest (incomplete requests with what they had run: "\u2265") */
    unsigned nslow = c->o->quiet ? 0 : c->o->slowest;
    const req_rec **slow = nslow ? malloc(nslow * sizeof *slow) : NULL;
    size_t ns = slow ? fcs_stats_slowest(st, slow, nslow) : 0;
    if (ns) {
        size_t uriw = W - (2 + 8 + 2 + 4 + 2 + 7 + 1 + 1 + 7 + 2 + startw);
        if (uriw > 120)
            uriw = 120;
        char title[64];
        snprintf(title, sizeof title, "Slowest %zu request%s", ns, ns == 1 ? "" : "s");
        section(c, title);
        col(c, C_DIM);
        fcs_sbuf_printf(b, "  %8s  %4s  %-7s %-*s %7s  %s\n", "elapsed", "stat", "method", (int)uriw, "uri",
                        "frame", "start (UTC)");
        col(c, C_RESET);
        for (size_t i = 0; i < ns; i++) {
            const req_rec *r = slow[i];
            fmt_elapsed(d, sizeof d, r, c->utf8);
            fcs_sbuf_adds(b, "  ");
            cell(b, d, 8, true);
            fcs_sbuf_adds(b, "  ");
            table_status(c, r->status);
            fcs_sbuf_adds(b, "  ");
            tcell(c, &r->method, 7, "-");
            fcs_sbuf_addc(b, ' ');
            tcell(c, &r->uri, uriw, "-");
            fcs_sbuf_printf(b, " %7" PRIu64 "  ", lframe(c, r->frame));
            fmt_rfc3339(t1, sizeof t1, r->t_begin_ns, c->ns);
            t1[strlen(t1) - 1] = '\0';
            fcs_sbuf_adds(b, t1 + 11);
            fcs_sbuf_addc(b, '\n');
            request_more(c, r, true);
        }
    }
    free(slow);
}

/* The incomplete requests, in start order. */
static void text_incomplete(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    stats *st = s->st;
    char t1[64], d[32];
    size_t W = text_width(c), startw = c->ns ? 18 : 15;
    size_t ninc = fcs_stats_incomplete(st);
    if (ninc) {
        size_t fixed = 2 + 8 + 2 + 16 + 1 + 4 + 2 + 7 + 1 + 1 + 7;
        size_t uriw = W - fixed;
        bool show_start = uriw >= 30 + 2 + startw;
        if (show_start)
            uriw -= 2 + startw;
        if (uriw > 120)
            uriw = 120;
        char title[96];
        snprintf(title, sizeof title, "Incomplete requests, in start order (%s%zu of %" PRIu64 ")",
                 ninc < st->incomplete ? "first " : "", ninc, st->incomplete);
        section(c, title);
        col(c, C_DIM);
        fcs_sbuf_printf(b, "  %8s  %-16s %4s  %-7s %-*s %7s%s\n", "elapsed", "ended", "stat", "method",
                        (int)uriw, "uri", "frame", show_start ? "  start (UTC)" : "");
        col(c, C_RESET);
        for (size_t i = 0; i < ninc; i++) {
            const req_rec *r = &st->incomplete_list[i];
            if (r->has_elapsed)
                fmt_duration(d, sizeof d, r->elapsed_ns, c->utf8);
            else
                snprintf(d, sizeof d, "?");
            fcs_sbuf_adds(b, "  ");
            cell(b, d, 8, true);
            fcs_sbuf_adds(b, "  ");
            char e[48];
            end_story(e, sizeof e, r);
            col(c, C_YELLOW);
            cell(b, e, 16, false);
            col(c, C_RESET);
            fcs_sbuf_addc(b, ' ');
            table_status(c, r->status);
            fcs_sbuf_adds(b, "  ");
            tcell(c, &r->method, 7, "-");
            fcs_sbuf_addc(b, ' ');
            tcell(c, &r->uri, uriw, "-");
            if (r->has_begin)
                fcs_sbuf_printf(b, " %7" PRIu64, lframe(c, r->frame));
            else
                fcs_sbuf_printf(b, " %7s", "?");
            if (show_start && r->has_begin) {
                fmt_rfc3339(t1, sizeof t1, r->t_begin_ns, c->ns);
                t1[strlen(t1) - 1] = '\0';
                fcs_sbuf_adds(b, "  ");
                fcs_sbuf_adds(b, t1 + 11);
            }
            fcs_sbuf_addc(b, '\n');
            request_more(c, r, false);
        }
    }
}

/* Anomaly groups, records written out of order, why a live run stopped. */
static void text_anomalies(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    stats *st = s->st;
    char t1[64], n1[32], n2[32], n3[32];
    bool no_fcgi = s->c.connections == 0 && st->requests == 0;
    /* anomalies */
    section(c, "Anomalies");
    if (st->anomaly_events == 0 && no_fcgi) {
        fcs_sbuf_adds(b, "  none (no FastCGI traffic found)\n");
    } else if (st->anomaly_events == 0) {
        col(c, C_GREEN);
        fcs_sbuf_adds(b, "  none: the FastCGI framing was sound\n");
        col(c, C_RESET);
    } else {
        fmt_count(n1, sizeof n1, st->anomaly_events);
        fmt_count(n2, sizeof n2, st->anomalies_by_sev[FSD_SEV_ERROR]);
        fmt_count(n3, sizeof n3, st->anomalies_by_sev[FSD_SEV_WARNING]);
        fmt_count(t1, sizeof t1, st->anomalies_by_sev[FSD_SEV_NOTE]);
        fcs_sbuf_printf(b, "  %s event%s: %s error, %s warning, %s note\n", n1,
                        st->anomaly_events == 1 ? "" : "s", n2, n3, t1);
        col(c, C_DIM);
        fcs_sbuf_printf(b, "  %-8s %-24s %9s  %s\n", "severity", "id", "count", "first frames");
        col(c, C_RESET);
        unsigned order[FSD_A_COUNT];
        size_t no = 0;
        for (unsigned id = 0; id < FSD_A_COUNT; id++)
            if (st->anom[id].count)
                order[no++] = id;
        /* severity first, then the most frequent */
        for (size_t i = 1; i < no; i++)
            for (size_t j = i; j > 0; j--) {
                const anom_stat *x = &st->anom[order[j - 1]], *y = &st->anom[order[j]];
                if (x->max_sev > y->max_sev || (x->max_sev == y->max_sev && x->count >= y->count))
                    break;
                unsigned t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        for (size_t oi = 0; oi < no; oi++) {
                unsigned id = order[oi];
                const anom_stat *a = &st->anom[id];
                fcs_sbuf_adds(b, "  ");
                col(c, sev_color(a->max_sev));
                cell(b, fsd_severity_name(a->max_sev), 8, false);
                col(c, C_RESET);
                fcs_sbuf_addc(b, ' ');
                cell(b, fsd_anomaly_name((fsd_anomaly_id)id), 24, false);
                fmt_count(n1, sizeof n1, a->count);
                fcs_sbuf_addc(b, ' ');
                cell(b, n1, 9, true);
                char fr[96] = "";
                size_t fl = 0;
                for (size_t k = 0; k < a->nframes && fl < sizeof fr; k++) {
                    /* several files: "2:17" is frame 17 of the second file */
                    uint64_t lf = a->frames[k];
                    size_t fno = s->nfiles > 1 ? file_no(c, s, a->frames[k], &lf) : 0;
                    if (fno)
                        fl += (size_t)snprintf(fr + fl, sizeof fr - fl, "%s%zu:%" PRIu64,
                                               k ? "," : "", fno, lf);
                    else
                        fl += (size_t)snprintf(fr + fl, sizeof fr - fl, "%s%" PRIu64, k ? "," : "",
                                               lframe(c, a->frames[k]));
                }
                if (fl >= sizeof fr)
                    fl = sizeof fr - 1; /* truncated */
                if (a->count > a->nframes && a->nframes == STATS_FIRST_FRAMES)
                    snprintf(fr + fl, sizeof fr - fl, ",...");
                fcs_sbuf_adds(b, "  ");
                fcs_sbuf_adds(b, fr[0] ? fr : "-");
                fcs_sbuf_adds(b, "\n           ");
                fcs_sbuf_adds(b, fsd_anomaly_summary((fsd_anomaly_id)id));
                fcs_sbuf_addc(b, '\n');
                if (a->detail[0] && (c->o->verbose || a->max_sev >= FSD_SEV_WARNING)) {
                    col(c, C_DIM);
                    fcs_sbuf_adds(b, "           first: ");
                    col(c, C_RESET);
                    fcs_esc_text(b, a->detail, strlen(a->detail), c->utf8, 2 * text_width(c) - 40); /* wraps */
                    fcs_sbuf_addc(b, '\n');
                }
            }
    }
    if (s->c.emitted_late) {
        fcs_sbuf_printf(b, "\n  note: %" PRIu64 " records were written out of start order (queue cap)\n",
                        s->c.emitted_late);
    }
    if (s->device && s->stop_reason)
        fcs_sbuf_printf(b, "\nStopped: %s\n", s->stop_reason);
}

void text_summary(out_ctx *c, const out_summary *s)
{
    text_title(c, s);
    text_capture(c, s);
    text_requests(c, s);
    text_latency(c, s);
    text_statuses(c, s);
    text_workers(c, s);
    text_slowest(c, s);
    text_incomplete(c, s);
    text_anomalies(c, s);
}

/* The report's end: the summary (after the live lines, a blank line), each
 * line wrapped to the terminal's width. */
void text_report_end(out_ctx *c, const out_summary *s)
{
    if (c->live && !c->o->quiet && c->requests_written)
        fcs_sbuf_addc(&c->line, '\n');
    text_summary(c, s);
    wrap_all(&c->line, text_width(c));
}
