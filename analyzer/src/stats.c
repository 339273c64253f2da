/* stats.c — summary statistics of an analysis in bounded memory.
 *
 * Normative reference: see stats.h.
 */
#include "stats.h"
#include "hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fcs_stats_init(stats *s, unsigned slowest)
{
    memset(s, 0, sizeof *s);
    fcs_hist_init(&s->latency);
    fcs_hist_init(&s->ttfb);
    fcs_hist_init(&s->server);
    fcs_hist_init(&s->queue);
    fcs_hist_init(&s->run);
    s->slow_cap = slowest;
    s->incomplete_cap = slowest ? STATS_INCOMPLETE_KEPT : 0;
    s->absent_script.absent = true;
    s->other_scripts.other = true;
}

static void script_free(script_stat *sc)
{
    free(sc->name);
    fcs_hist_free(&sc->latency);
}

void fcs_stats_free(stats *s)
{
    fcs_hist_free(&s->latency);
    fcs_hist_free(&s->ttfb);
    fcs_hist_free(&s->server);
    fcs_hist_free(&s->queue);
    fcs_hist_free(&s->run);
    for (size_t i = 0; i < 2 * STATS_MAX_SCRIPTS; i++)
        if (s->slots[i]) {
            script_free(s->slots[i]);
            free(s->slots[i]);
        }
    script_free(&s->absent_script);
    script_free(&s->other_scripts);
    for (size_t i = 0; i < s->nslow; i++)
        fcs_req_free(&s->slow[i]);
    for (size_t i = 0; i < s->nincomplete_list; i++)
        fcs_req_free(&s->incomplete_list[i]);
    free(s->incomplete_list);
    free(s->slow);
    free(s->servers);
    memset(s, 0, sizeof *s);
}

uint64_t fcs_stats_backend(stats *s, fsd_anomaly_id id, const char *server)
{
    int k = id == FSD_A_connection_refused ? 0 : id == FSD_A_closed_before_request ? 1
          : id == FSD_A_connect_retried ? 2 : -1;
    if (k < 0)
        return 0;
    s->backend[k]++;
    size_t i;
    for (i = 0; i < s->nservers; i++)
        if (!strcmp(s->servers[i].server, server))
            break;
    if (i == s->nservers) {
        if (s->nservers >= STATS_MAX_SERVERS)
            return s->backend[k]; /* counted in the totals only */
        if (s->nservers == s->servers_cap) {
            size_t cap = s->servers_cap ? s->servers_cap * 2 : 8;
            backend_stat *p = realloc(s->servers, cap * sizeof *p);
            if (!p)
                return s->backend[k];
            s->servers = p;
            s->servers_cap = cap;
        }
        memset(&s->servers[i], 0, sizeof s->servers[i]);
        snprintf(s->servers[i].server, sizeof s->servers[i].server, "%s", server);
        s->nservers++;
    }
    return ++s->servers[i].n[k];
}

static script_stat *script_find(stats *s, const rstr *name)
{
    if (!name->p)
        return &s->absent_script;
    size_t len = name->len > STATS_SCRIPT_KEY_MAX ? STATS_SCRIPT_KEY_MAX : name->len;
    size_t nslots = 2 * STATS_MAX_SCRIPTS;
    size_t i = (size_t)(fcs_hash_bytes(FCS_HASH_SEED, name->p, len) % nslots);
    for (;;) {
        script_stat *sc = s->slots[i];
        if (!sc)
            break;
        if (sc->len == len && !memcmp(sc->name, name->p, len))
            return sc;
        i = (i + 1) % nslots;
    }
    if (s->nscripts >= STATS_MAX_SCRIPTS)
        return &s->other_scripts;
    script_stat *sc = calloc(1, sizeof *sc);
    if (!sc)
        return &s->other_scripts;
    sc->name = malloc(len + 1);
    if (!sc->name) {
        free(sc);
        return &s->other_scripts;
    }
    memcpy(sc->name, name->p, len);
    sc->name[len] = '\0';
    sc->len = len;
    fcs_hist_init(&sc->latency);
    s->slots[i] = sc;
    s->nscripts++;
    return sc;
}

/* min-heap on elapsed time: slow[0] is the fastest of the kept ones */
static bool slower(const req_rec *a, const req_rec *b)
{
    if (a->elapsed_ns != b->elapsed_ns)
        return a->elapsed_ns > b->elapsed_ns;
    if (a->complete != b->complete)
        return a->complete; /* a complete one ranks as slower on ties */
    return a->frame < b->frame; /* earlier frame ranks as slower on ties */
}

static void heap_down(req_rec *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && slower(&h[m], &h[l]))
            m = l;
        if (r < n && slower(&h[m], &h[r]))
            m = r;
        if (m == i)
            return;
        req_rec t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_up(req_rec *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!slower(&h[p], &h[i]))
            return;
        req_rec t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void slow_add(stats *s, const req_rec *r)
{
    if (s->slow_cap == 0 || !r->has_elapsed)
        return;
    if (!s->slow) {
        s->slow = calloc(s->slow_cap, sizeof *s->slow);
        if (!s->slow)
            return;
    }
    if (s->nslow < s->slow_cap) {
        if (!fcs_req_copy(&s->slow[s->nslow], r))
            return;
        heap_up(s->slow, s->nslow);
        s->nslow++;
        return;
    }
    if (!slower(r, &s->slow[0]))
        return;
    req_rec copy;
    if (!fcs_req_copy(&copy, r))
        return;
    fcs_req_free(&s->slow[0]);
    s->slow[0] = copy;
    heap_down(s->slow, s->nslow, 0);
}

/* start order: by t_begin (unknown last), then frame */
static bool starts_before(const req_rec *a, const req_rec *b)
{
    if (a->has_begin != b->has_begin)
        return a->has_begin;
    if (a->has_begin && a->t_begin_ns != b->t_begin_ns)
        return a->t_begin_ns < b->t_begin_ns;
    return a->frame < b->frame;
}

/* Keep the earliest-starting incomplete requests: when full, one that starts
 * before the latest kept replaces it (requests are delivered when they end,
 * not in start order). */
static void incomplete_add(stats *s, const req_rec *r)
{
    if (s->incomplete_cap == 0)
        return;
    if (!s->incomplete_list) {
        s->incomplete_list = calloc(s->incomplete_cap, sizeof *s->incomplete_list);
        if (!s->incomplete_list)
            return;
    }
    if (s->nincomplete_list < s->incomplete_cap) {
        if (fcs_req_copy(&s->incomplete_list[s->nincomplete_list], r))
            s->nincomplete_list++;
        return;
    }
    size_t last = 0;
    for (size_t i = 1; i < s->nincomplete_list; i++)
        if (starts_before(&s->incomplete_list[last], &s->incomplete_list[i]))
            last = i;
    if (!starts_before(r, &s->incomplete_list[last]))
        return;
    req_rec copy;
    if (!fcs_req_copy(&copy, r))
        return;
    fcs_req_free(&s->incomplete_list[last]);
    s->incomplete_list[last] = copy;
}

static int cmp_start(const void *a, const void *b)
{
    const req_rec *x = a, *y = b;
    return starts_before(x, y) ? -1 : starts_before(y, x) ? 1 : 0;
}

size_t fcs_stats_incomplete(stats *s)
{
    if (s->nincomplete_list)
        qsort(s->incomplete_list, s->nincomplete_list, sizeof *s->incomplete_list, cmp_start);
    return s->nincomplete_list;
}

const req_rec *fcs_stats_slowest_one(const stats *s)
{
    const req_rec *w = NULL;
    for (size_t i = 0; i < s->nslow; i++)
        if (!w || slower(&s->slow[i], w))
            w = &s->slow[i];
    return w;
}

void fcs_stats_request(stats *s, const req_rec *r)
{
    s->requests++;
    if (r->complete)
        s->complete++;
    else
        s->incomplete++;
    if ((unsigned)r->end_reason <= FSD_END_DESYNC)
        s->end_reasons[r->end_reason]++;
    if (r->status >= 0 && r->status < 1000)
        s->status[r->status]++;
    else
        s->status_out_of_range++;
    if ((unsigned)r->user_outcome <= FSD_USER_BACKEND_FAILED)
        s->user_outcomes[r->user_outcome]++;
    if (r->user_status && r->user_status != r->status)
        s->user_differs++;
    if (r->keep_conn)
        s->keep_conn_requests++;
    if (r->aborted)
        s->aborted++;
    s->stdin_bytes += r->stdin_bytes;
    s->stdout_bytes += r->stdout_bytes;
    s->stderr_bytes += r->stderr_bytes;
    /* Negative durations (timestamps going backwards) count as 0. */
    if (r->has_latency)
        fcs_hist_add(&s->latency, r->latency_ns > 0 ? (uint64_t)r->latency_ns : 0);
    if (r->has_ttfb)
        fcs_hist_add(&s->ttfb, r->ttfb_ns > 0 ? (uint64_t)r->ttfb_ns : 0);
    if (r->has_server)
        fcs_hist_add(&s->server, r->server_ns > 0 ? (uint64_t)r->server_ns : 0);
    if (r->has_queue) {
        fcs_hist_add(&s->queue, r->queue_ns > 0 ? (uint64_t)r->queue_ns : 0);
        if (r->queue_ns >= STATS_QUEUE_WAIT_NS)
            s->queue_waited++;
    }
    if (r->has_run)
        fcs_hist_add(&s->run, r->run_ns > 0 ? (uint64_t)r->run_ns : 0);
    script_stat *sc = script_find(s, &r->script);
    sc->count++;
    if (!r->complete)
        sc->incomplete++;
    if (r->status >= 500 && r->status <= 599)
        sc->s5xx++;
    if (r->status >= 400 && r->status <= 499)
        sc->s4xx++;
    if (r->has_latency)
        fcs_hist_add(&sc->latency, r->latency_ns > 0 ? (uint64_t)r->latency_ns : 0);
    slow_add(s, r);
    if (!r->complete)
        incomplete_add(s, r);
}

void fcs_stats_anomaly(stats *s, fsd_anomaly_id id, fsd_severity sev, uint64_t frame,
                       const char *detail)
{
    if ((unsigned)id >= FSD_A_COUNT)
        return;
    if ((unsigned)sev > FSD_SEV_ERROR)
        sev = FSD_SEV_ERROR;
    anom_stat *a = &s->anom[id];
    if (a->count == 0 && detail) {
        size_t n = strlen(detail);
        if (n >= sizeof a->detail)
            n = sizeof a->detail - 1;
        memcpy(a->detail, detail, n);
        a->detail[n] = '\0';
    }
    a->count++;
    a->by_sev[sev]++;
    if (sev > a->max_sev)
        a->max_sev = sev;
    if (frame && a->nframes < STATS_FIRST_FRAMES
        && (a->nframes == 0 || a->frames[a->nframes - 1] != frame))
        a->frames[a->nframes++] = frame;
    s->anomaly_events++;
    s->anomalies_by_sev[sev]++;
    if (sev > s->max_sev)
        s->max_sev = sev;
}

void fcs_stats_user_request(stats *s, const req_rec *r)
{
    s->user_requests++;
    /* the decoder's user_status: the application's status when the web
     * server passed it on, else what the web server answered (502, 504, ...) */
    s->user_status[r->user_status > 0 && r->user_status < 1000 ? r->user_status : 0]++;
}

void fcs_stats_anomaly_downgrade(stats *s, fsd_anomaly_id id, fsd_severity from, fsd_severity to)
{
    if ((unsigned)id >= FSD_A_COUNT || (unsigned)from > FSD_SEV_ERROR || (unsigned)to > FSD_SEV_ERROR)
        return;
    anom_stat *a = &s->anom[id];
    if (a->by_sev[from] == 0 || s->anomalies_by_sev[from] == 0)
        return;
    a->by_sev[from]--;
    a->by_sev[to]++;
    s->anomalies_by_sev[from]--;
    s->anomalies_by_sev[to]++;
    a->max_sev = 0;
    for (int v = FSD_SEV_ERROR; v >= FSD_SEV_NOTE && !a->max_sev; v--)
        if (a->by_sev[v])
            a->max_sev = (fsd_severity)v;
    s->max_sev = 0;
    for (int v = FSD_SEV_ERROR; v >= FSD_SEV_NOTE && !s->max_sev; v--)
        if (s->anomalies_by_sev[v])
            s->max_sev = (fsd_severity)v;
}

static int cmp_script(const void *a, const void *b)
{
    const script_stat *x = *(const script_stat *const *)a, *y = *(const script_stat *const *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->absent != y->absent || x->other != y->other)
        return (x->absent || x->other) ? 1 : -1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name ? x->name : "", y->name ? y->name : "", n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

size_t fcs_stats_top_scripts(const stats *s, const script_stat **out, size_t n)
{
    size_t total = s->nscripts + 2;
    const script_stat **all = malloc(total * sizeof *all);
    if (!all)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < 2 * STATS_MAX_SCRIPTS; i++)
        if (s->slots[i])
            all[k++] = s->slots[i];
    if (s->absent_script.count)
        all[k++] = &s->absent_script;
    if (s->other_scripts.count)
        all[k++] = &s->other_scripts;
    qsort(all, k, sizeof *all, cmp_script);
    if (n > k)
        n = k;
    memcpy(out, all, n * sizeof *out);
    free(all);
    return n;
}

static int cmp_slow(const void *a, const void *b)
{
    const req_rec *x = a, *y = b;
    if (slower(x, y))
        return -1;
    if (slower(y, x))
        return 1;
    return 0;
}

size_t fcs_stats_slowest(stats *s, const req_rec **out, size_t n)
{
    if (s->nslow == 0)
        return 0;
    qsort(s->slow, s->nslow, sizeof *s->slow, cmp_slow);
    /* sorted slowest-first is no longer a min-heap: rebuild it after copying */
    if (n > s->nslow)
        n = s->nslow;
    for (size_t i = 0; i < n; i++)
        out[i] = &s->slow[i];
    return n;
}
