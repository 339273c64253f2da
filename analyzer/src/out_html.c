/* out_html.c — -f html: one self-contained page (inline CSS, inline SVG, a small inline script).
 *
 * Normative reference: issue 14 (contents, scale, no network resources) and
 * analyzer/README.md "The HTML report". The summary numbers come from the
 * same stats (stats.h) as the JSON summary, so they are equal; the charts
 * need what the summary does not keep: per request its start, latency,
 * status class, server and where it is in the capture. That is gathered in
 * bounded memory while the requests stream past (html_request):
 *  - time bins (at most HB; their width doubles when the span outgrows
 *    them): requests started, by status class, by latency row (4 per
 *    decade), and per server the most requests in flight;
 *  - requests in flight per server swept exactly in start order (a heap of
 *    end times per server): the maximum and how long it lasted;
 *  - points for the latency chart: every request up to PT_SLOW + PT_SAMPLE
 *    (+ PT_FAIL failed ones, at most 14,000 points: ~3 MB); past that the PT_SLOW slowest, PT_FAIL failed
 *    or incomplete ones (a uniform sample when there are more) and a
 *    uniform sample of the rest; the chart then also shades every request
 *    binned, and says so.
 * Every traffic-derived string goes through fcs_esc_text (esc.h) and is then
 * HTML-escaped (h_esc): the page holds no byte of the traffic raw.
 * The page's Content-Security-Policy forbids every load from anywhere.
 */
#include "out_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HB 512          /* time bins */
#define HLAT 52         /* latency rows: 4 per decade from 1 ns (to 10^13 ns) */
#define HSRV 8          /* servers charted one by one; the rest together */
#define PT_SLOW 2000    /* points: the slowest requests */
#define PT_SAMPLE 4000  /* ... a uniform sample of the other successful ones */
#define PT_FAIL 8000    /* ... failed (5xx) or incomplete ones */
#define PT_URI 160      /* columns of a URI kept for a point */
#define COLS_MAX 240    /* columns drawn on the time charts */

enum { K2, K3, K4, K5, KOTHER, KINC, NK };
static const char *const k_name[NK] = {"2xx", "3xx", "4xx", "5xx", "other", "incomplete"};

typedef struct hbin {
    uint64_t n;             /* requests started */
    uint64_t k[NK];
    uint32_t lat[HLAT];     /* by latency row (requests with a latency or elapsed time) */
    uint32_t conc[HSRV + 1];/* most requests in flight, per server slot */
} hbin;

typedef struct hpt {
    int64_t t, lat;
    uint64_t frame;         /* within its file */
    const char *file;       /* several files: its file (the path as given) */
    int status;
    uint8_t k;
    char method[64];         /* fcs_esc_text, at most 10 columns (of up to 4 bytes) and "..." */
    char client[REC_ADDR_MAX], server[REC_ADDR_MAX];
    char *uri;              /* already escaped for text (fcs_esc_text), NULL: none */
} hpt;

typedef struct pool {
    hpt *p;
    size_t n, cap;
    uint64_t fed;           /* requests offered (reservoirs) */
} pool;

typedef struct srv {
    char name[REC_ADDR_MAX];
    int64_t *heap;          /* end times of the requests in flight */
    size_t n, cap;
    int64_t t;              /* the sweep's time */
    bool started;
    uint64_t max;
    int64_t at_max, run, longest, run_end;
    uint64_t requests;
} srv;

typedef struct html_acc {
    hbin *bins;
    int64_t w;              /* bin width, ns */
    int64_t lo;             /* absolute index (t / w) of bins[0] */
    int64_t used_lo, used_hi;
    bool have;
    srv s[HSRV + 1];
    size_t ns;              /* named servers (<= HSRV) */
    bool other_servers;
    pool slow, rest, fail;
    uint64_t rng;
    uint64_t no_time;       /* requests without a start time */
    uint64_t no_lat;        /* ... without a latency or elapsed time */
    uint64_t pointed;       /* requests offered as points */
    sbuf tmp;
    bool several_files;
} html_acc;

/* ---- small helpers ---------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static uint64_t rnd(html_acc *h)
{
    /* splitmix64, a fixed seed: the same capture gives the same page */
    uint64_t z = (h->rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* HTML text and attribute values: & < > " ' escaped. */
static void h_esc(sbuf *b, const char *p, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = NULL;
        switch (p[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        default: continue;
        }
        fcs_sbuf_add(b, p + from, i - from);
        fcs_sbuf_adds(b, e);
        from = i + 1;
    }
    fcs_sbuf_add(b, p + from, n - from);
}

static void h_escs(sbuf *b, const char *s)
{
    h_esc(b, s, strlen(s));
}

/* Traffic bytes: made printable (fcs_esc_text, UTF-8), then HTML-escaped.
 * max_cols > 0 cuts with "...". */
static void h_traffic(html_acc *h, sbuf *b, const char *p, size_t n, size_t max_cols)
{
    fcs_sbuf_reset(&h->tmp);
    fcs_esc_text(&h->tmp, p, n, true, max_cols);
    h_esc(b, h->tmp.p, h->tmp.len);
}

static void h_rstr(html_acc *h, sbuf *b, const rstr *s, size_t max_cols)
{
    if (s->p)
        h_traffic(h, b, s->p, s->len, max_cols);
    else
        SBUF_ADDL(b, "-");
}

static int kind_of(const req_rec *r)
{
    if (!r->complete)
        return KINC;
    int st = r->status;
    if (st >= 200 && st < 600)
        return K2 + (st / 100 - 2);
    return KOTHER;
}

/* 10^(k/4) ns, k = 0..HLAT: the latency rows' lower edges */
static uint64_t row_edge[HLAT + 1];

static void row_edges(void)
{
    if (row_edge[1])
        return;
    for (int k = 0; k <= HLAT; k++)
        row_edge[k] = (uint64_t)llround(pow(10.0, k / 4.0));
}

static int lat_row(int64_t v)
{
    if (v <= 1)
        return 0;
    int lo = 0, hi = HLAT; /* row_edge[lo] <= v < row_edge[hi] */
    if ((uint64_t)v >= row_edge[HLAT - 1])
        return HLAT - 1;
    while (hi - lo > 1) {
        int m = (lo + hi) / 2;
        if ((uint64_t)v >= row_edge[m])
            lo = m;
        else
            hi = m;
    }
    return lo;
}

/* ---- time bins -------------------------------------------------------------- */

static void bin_merge(hbin *d, const hbin *s)
{
    d->n += s->n;
    for (int k = 0; k < NK; k++)
        d->k[k] += s->k[k];
    for (int k = 0; k < HLAT; k++)
        d->lat[k] += s->lat[k];
    for (int k = 0; k <= HSRV; k++)
        if (s->conc[k] > d->conc[k])
            d->conc[k] = s->conc[k];
}

/* Make the bins cover time t; returns its bin. */
static hbin *bin_at(html_acc *h, int64_t t)
{
    int64_t idx = floor_div(t, h->w);
    if (!h->have) {
        h->have = true;
        h->lo = h->used_lo = h->used_hi = idx;
        return &h->bins[0];
    }
    int64_t nlo = idx < h->used_lo ? idx : h->used_lo;
    int64_t nhi = idx > h->used_hi ? idx : h->used_hi;
    if (nlo >= h->lo && nhi < h->lo + HB) {
        h->used_lo = nlo;
        h->used_hi = nhi;
        return &h->bins[idx - h->lo];
    }
    hbin *nb = calloc(HB, sizeof *nb);
    if (!nb)
        return NULL;
    int64_t w = h->w;
    while (floor_div(nhi, w / h->w) - floor_div(nlo, w / h->w) + 1 > HB)
        w *= 2;
    int64_t f = w / h->w; /* old bins per new bin */
    int64_t base = floor_div(nlo, f);
    if (floor_div(nhi, f) >= base + HB)
        base = floor_div(nhi, f) - HB + 1;
    for (int64_t a = h->used_lo; a <= h->used_hi; a++)
        bin_merge(&nb[floor_div(a, f) - base], &h->bins[a - h->lo]);
    free(h->bins);
    h->bins = nb;
    h->w = w;
    h->lo = base;
    h->used_lo = floor_div(nlo, f);
    h->used_hi = floor_div(nhi, f);
    return &h->bins[floor_div(t, w) - base];
}

/* ---- in flight per server ------------------------------------------------- */

static void heap_push(srv *s, int64_t v)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        int64_t *p = realloc(s->heap, nc * sizeof *p);
        if (!p)
            return;
        s->heap = p;
        s->cap = nc;
    }
    size_t i = s->n++;
    while (i && s->heap[(i - 1) / 2] > v) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = v;
}

static int64_t heap_pop(srv *s)
{
    int64_t top = s->heap[0], v = s->heap[--s->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n)
            break;
        if (c + 1 < s->n && s->heap[c + 1] < s->heap[c])
            c++;
        if (s->heap[c] >= v)
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->n)
        s->heap[i] = v;
    return top;
}

/* [a, b) at s->n requests in flight. */
static void srv_span(html_acc *h, size_t k, int64_t a, int64_t b)
{
    srv *s = &h->s[k];
    uint64_t lvl = s->n;
    if (lvl == 0 || b < a)
        return;
    if (lvl > s->max) {
        s->max = lvl;
        s->at_max = s->longest = s->run = 0;
        s->run_end = INT64_MIN;
    }
    if (lvl == s->max) {
        s->at_max += b - a;
        s->run = s->run_end == a ? s->run + (b - a) : b - a;
        s->run_end = b;
        if (s->run > s->longest)
            s->longest = s->run;
    }
    if (!bin_at(h, a) || !bin_at(h, b))
        return;
    int64_t i0 = floor_div(a, h->w) - h->lo, i1 = floor_div(b, h->w) - h->lo;
    if (b > a && floor_div(b, h->w) * h->w == b && i1 > i0)
        i1--; /* [a, b) ends at b's bin edge */
    for (int64_t i = i0; i <= i1; i++)
        if (h->bins[i].conc[k] < lvl)
            h->bins[i].conc[k] = (uint32_t)lvl;
}

/* The sweep of server slot k up to time t (ends at or before t leave first). */
static void srv_advance(html_acc *h, size_t k, int64_t t)
{
    srv *s = &h->s[k];
    while (s->n && s->heap[0] <= t) {
        int64_t e = s->heap[0];
        srv_span(h, k, s->t, e);
        heap_pop(s);
        s->t = e;
    }
    if (t > s->t) {
        srv_span(h, k, s->t, t);
        s->t = t;
    }
}

static size_t srv_slot(html_acc *h, const char *server)
{
    for (size_t i = 0; i < h->ns; i++)
        if (!strcmp(h->s[i].name, server))
            return i;
    if (h->ns < HSRV) {
        snprintf(h->s[h->ns].name, sizeof h->s[h->ns].name, "%s", server);
        return h->ns++;
    }
    h->other_servers = true;
    return HSRV;
}

/* ---- points ------------------------------------------------------------------ */

static void pt_free(hpt *p)
{
    free(p->uri);
    p->uri = NULL;
}

/* Room for one more point in q (NULL: out of memory). */
static hpt *pool_add(pool *q, size_t cap)
{
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 256;
        if (nc > cap)
            nc = cap;
        hpt *np = realloc(q->p, nc * sizeof *np);
        if (!np)
            return NULL;
        q->p = np;
        q->cap = nc;
    }
    return &q->p[q->n++];
}

/* Reservoir sampling (Vitter's algorithm R): q keeps a uniform sample of cap
 * of the requests offered. The slot the request offered goes to (the point
 * there freed), NULL when it is not kept. */
static hpt *reservoir_slot(html_acc *h, pool *q, size_t cap)
{
    q->fed++;
    if (q->n < cap)
        return pool_add(q, cap);
    uint64_t j = rnd(h) % q->fed;
    if (j >= cap)
        return NULL;
    pt_free(&q->p[j]);
    return &q->p[j];
}

static void slow_sift_down(pool *q, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n)
            break;
        if (c + 1 < q->n && q->p[c + 1].lat < q->p[c].lat)
            c++;
        if (q->p[c].lat >= q->p[i].lat)
            break;
        hpt t = q->p[i];
        q->p[i] = q->p[c];
        q->p[c] = t;
        i = c;
    }
}

static void pt_fill(out_ctx *c, hpt *p, const req_rec *r, int64_t lat, int k)
{
    html_acc *h = c->html;
    memset(p, 0, sizeof *p);
    p->t = r->t_begin_ns;
    p->lat = lat;
    p->k = (uint8_t)k;
    p->status = r->status;
    p->file = where(c, r->frame, &p->frame); /* shown when there are several */
    if (r->method.p) {
        fcs_sbuf_reset(&h->tmp);
        fcs_esc_text(&h->tmp, r->method.p, r->method.len, true, 10);
        size_t n = h->tmp.len < sizeof p->method ? h->tmp.len : sizeof p->method - 1;
        while (n < h->tmp.len && n && ((unsigned char)h->tmp.p[n] & 0xC0) == 0x80)
            n--; /* never half a UTF-8 sequence */
        memcpy(p->method, h->tmp.p, n);
        p->method[n] = '\0';
    }
    snprintf(p->client, sizeof p->client, "%s", r->client);
    snprintf(p->server, sizeof p->server, "%s", r->server);
    if (r->uri.p) {
        fcs_sbuf_reset(&h->tmp);
        fcs_esc_text(&h->tmp, r->uri.p, r->uri.len, true, PT_URI);
        p->uri = malloc(h->tmp.len + 1);
        if (p->uri)
            memcpy(p->uri, h->tmp.p, h->tmp.len + 1);
    }
}

/* A request with a latency as a point, or not: failed ones to their
 * reservoir; the others to the PT_SLOW slowest (a min-heap), the one that
 * leaves it or is not slow enough to the uniform sample of the rest. The
 * strings are copied only for a request that is kept. */
static void keep_point(out_ctx *c, const req_rec *r, int64_t lat, int k)
{
    html_acc *h = c->html;
    pool *q = &h->slow;
    hpt *p;
    if (k == K5 || k == KINC) {
        if ((p = reservoir_slot(h, &h->fail, PT_FAIL)))
            pt_fill(c, p, r, lat, k);
        return;
    }
    if (q->n < PT_SLOW) {
        if (!(p = pool_add(q, PT_SLOW)))
            return;
        pt_fill(c, p, r, lat, k);
        for (size_t i = q->n - 1; i && q->p[(i - 1) / 2].lat > q->p[i].lat; i = (i - 1) / 2) {
            hpt t = q->p[i];
            q->p[i] = q->p[(i - 1) / 2];
            q->p[(i - 1) / 2] = t;
        }
        return;
    }
    if (lat > q->p[0].lat) {
        hpt out = q->p[0];
        pt_fill(c, &q->p[0], r, lat, k);
        slow_sift_down(q, 0);
        if ((p = reservoir_slot(h, &h->rest, PT_SAMPLE)))
            *p = out;
        else
            pt_free(&out);
    } else if ((p = reservoir_slot(h, &h->rest, PT_SAMPLE))) {
        pt_fill(c, p, r, lat, k);
    }
}

/* ---- gathering -------------------------------------------------------------- */

void html_begin(out_ctx *c)
{
    row_edges();
    html_acc *h = calloc(1, sizeof *h);
    if (!h)
        return;
    h->bins = calloc(HB, sizeof *h->bins);
    if (!h->bins) {
        free(h);
        return;
    }
    h->w = 1000000; /* 1 ms, doubled as the span grows */
    h->rng = UINT64_C(0x5eed);
    fcs_sbuf_init(&h->tmp);
    c->html = h;
}

void html_request(out_ctx *c, const req_rec *r)
{
    html_acc *h = c->html;
    if (!h)
        return;
    if (!r->has_begin) {
        h->no_time++;
        return;
    }
    int k = kind_of(r);
    bool has_lat = r->complete ? r->has_latency : r->has_elapsed;
    int64_t lat = r->complete ? r->latency_ns : r->elapsed_ns;
    if (has_lat && lat < 1)
        lat = 1;
    hbin *b = bin_at(h, r->t_begin_ns);
    if (b) {
        b->n++;
        b->k[k]++;
        if (has_lat)
            b->lat[lat_row(lat)]++;
    }
    /* in flight: BEGIN sent, END (or the end of what is known) not yet */
    size_t slot = srv_slot(h, r->server);
    srv *s = &h->s[slot];
    s->requests++;
    int64_t t = r->t_begin_ns;
    if (!s->started) {
        s->started = true;
        s->t = t;
    }
    if (t < s->t)
        t = s->t; /* reported out of start order (live): counted from the sweep's time */
    srv_advance(h, slot, t);
    int64_t end = r->t_begin_ns + (has_lat ? lat : 0);
    heap_push(s, end < t ? t : end);
    if (!has_lat) {
        h->no_lat++;
        return;
    }
    h->pointed++;
    keep_point(c, r, lat, k);
}

static void pool_free(pool *q)
{
    for (size_t i = 0; i < q->n; i++)
        pt_free(&q->p[i]);
    free(q->p);
    memset(q, 0, sizeof *q);
}

void html_free(out_ctx *c)
{
    html_acc *h = c->html;
    if (!h)
        return;
    pool_free(&h->slow);
    pool_free(&h->rest);
    pool_free(&h->fail);
    for (size_t i = 0; i <= HSRV; i++)
        free(h->s[i].heap);
    free(h->bins);
    fcs_sbuf_free(&h->tmp);
    free(h);
    c->html = NULL;
}

/* ---- the page: pieces ------------------------------------------------------- */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"generator\" content=\"" FSD_VERSION_LINE "\">\n";

static const char page_style[] =
    "<style>\n"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d232b;"
    "background:#fff;margin:0 auto;max-width:1040px;padding:12px 20px 40px}\n"
    "h1{font-size:21px;margin:10px 0 2px}h2{font-size:17px;margin:28px 0 6px;"
    "border-bottom:1px solid #d5dbe3;padding-bottom:3px}\n"
    ".sub,.note{color:#5b6673;font-size:12.5px}.note{margin:4px 0}\n"
    "code,.mono,td.u{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12.5px}\n"
    "dl.hl{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:10px 0;"
    "padding:10px 14px;background:#f4f6f9;border-radius:6px}\n"
    "dl.hl dt{color:#5b6673}dl.hl dd{margin:0}\n"
    ".big{font-size:17px;font-weight:600}.bad{color:#c0392b;font-weight:600}"
    ".warn{color:#b9770e;font-weight:600}.ok{color:#1e8449;font-weight:600}\n"
    "svg{display:block;width:100%;height:auto;margin:4px 0}\n"
    "svg text{font:11px system-ui,sans-serif;fill:#5b6673}\n"
    "svg .ax{stroke:#9aa5b1;stroke-width:1}svg .gr{stroke:#e6eaef;stroke-width:1}\n"
    ".k0{fill:#2e9e5b}.k1{fill:#3a78c2}.k2{fill:#e69b22}.k3{fill:#d63c2f}.k4{fill:#8c8c8c}"
    ".k5{fill:#7b3fb5}\n"
    "i.k0{background:#2e9e5b}i.k1{background:#3a78c2}i.k2{background:#e69b22}"
    "i.k3{background:#d63c2f}i.k4{background:#8c8c8c}\n"
    "td.k3{color:#d63c2f;font-weight:600}td.k2{color:#b9770e}\n"
    "g.pts circle{fill-opacity:.75;cursor:pointer}g.pts circle:hover{stroke:#000;stroke-width:1.5}\n"
    "g.pts circle.inc{fill:#fff;fill-opacity:1;stroke:#7b3fb5;stroke-width:1.6}\n"
    ".heat rect{fill:#6b7a8c}.conc{fill:#3a78c2;fill-opacity:.35;stroke:#3a78c2;stroke-width:1.2}\n"
    ".hist rect{fill:#3a78c2}.mark{stroke:#d63c2f;stroke-dasharray:4 3;stroke-width:1.2}\n"
    ".legend span{display:inline-block;margin-right:14px;font-size:12.5px}"
    ".legend i{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px;"
    "vertical-align:-1px}\n"
    "#pd{min-height:1.5em;padding:6px 10px;background:#fffbe6;border:1px solid #f0e0a0;"
    "border-radius:4px;font-size:12.5px;white-space:pre-wrap}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}\n"
    "th,td{padding:3px 7px;border-bottom:1px solid #e6eaef;text-align:left;vertical-align:top}\n"
    "th{background:#f4f6f9;font-weight:600;white-space:nowrap}td.n,th.n{text-align:right;"
    "white-space:nowrap}\n"
    "table.sort th{cursor:pointer}table.sort th:after{content:' \\2195';color:#aab}\n"
    "td.u{overflow-wrap:anywhere;min-width:9em}.sev-error{color:#c0392b;font-weight:600}"
    ".sev-warning{color:#b9770e;font-weight:600}.sev-note{color:#3a78c2}\n"
    "@media print{body{max-width:none;padding:0}#pd,.noprint{display:none}"
    "section{break-inside:avoid}table.sort th:after{content:''}}\n"
    "</style>\n";

/* Click on a point: its details (and the Wireshark filter) in #pd;
 * click on a column head: the table sorted by it. */
static const char page_script[] =
    "<script>\n"
    "(function(){\n"
    "var pd=document.getElementById('pd');\n"
    "document.querySelectorAll('g.pts').forEach(function(g){g.addEventListener('click',"
    "function(e){var t=e.target.closest('circle');if(!t||!pd)return;"
    "var ti=t.querySelector('title');pd.textContent=ti?ti.textContent:'';});});\n"
    "document.querySelectorAll('table.sort').forEach(function(tb){\n"
    " tb.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){\n"
    "  var body=tb.tBodies[0],rows=Array.prototype.slice.call(body.rows),"
    "num=th.classList.contains('n'),dir=th.dataset.dir==='d'?1:-1;\n"
    "  if(!num)dir=-dir;th.dataset.dir=dir<0?'d':'a';\n"
    "  rows.sort(function(a,b){var x=a.cells[i],y=b.cells[i];\n"
    "   if(num){return dir*((+(x.dataset.v||0))-(+(y.dataset.v||0)));}\n"
    "   return dir*x.textContent.localeCompare(y.textContent);});\n"
    "  rows.forEach(function(r){body.appendChild(r);});});});});\n"
    "})();\n"
    "</script>\n";

static void dur(char *buf, size_t len, int64_t ns)
{
    fmt_duration(buf, len, ns, true);
}

/* A time's clock part for the axes and tables: "03:57:04.716998". */
static void clock_of(char *buf, size_t len, int64_t ns, bool nine)
{
    char t[64];
    fmt_rfc3339(t, sizeof t, ns, nine);
    t[strlen(t) - 1] = '\0';
    snprintf(buf, len, "%s", t + 11);
}

/* A table's head row: "#" before a label marks a numeric (right-aligned,
 * numerically sorted) column; NULL ends the list. */
static void head_row(sbuf *b, const char *const *labels)
{
    SBUF_ADDL(b, "<thead><tr>");
    for (; *labels; labels++) {
        bool num = **labels == '#';
        fcs_sbuf_printf(b, "<th%s>%s</th>", num ? " class=\"n\"" : "", *labels + num);
    }
    SBUF_ADDL(b, "</tr></thead><tbody>\n");
}

/* A latency cell: shown for people, sorted by data-v (us, as JSON). */
static void lat_cell(sbuf *b, int64_t ns, bool has)
{
    char d[32];
    if (!has) {
        SBUF_ADDL(b, "<td class=\"n\" data-v=\"-1\">-</td>");
        return;
    }
    dur(d, sizeof d, ns);
    fcs_sbuf_printf(b, "<td class=\"n\" data-v=\"%" PRId64 "\">%s</td>", ns_to_us(ns), d);
}

static void count_cell(sbuf *b, uint64_t v)
{
    char n[32];
    fmt_count(n, sizeof n, v);
    fcs_sbuf_printf(b, "<td class=\"n\" data-v=\"%" PRIu64 "\">%s</td>", v, n);
}

/* ---- the page: headline ------------------------------------------------------- */

static void worst_finding(const stats *st, fsd_anomaly_id *id, fsd_severity *sev)
{
    *sev = st->max_sev;
    *id = FSD_A_COUNT;
    for (unsigned i = 0; i < FSD_A_COUNT && *sev; i++)
        if (st->anom[i].by_sev[*sev]) {
            *id = (fsd_anomaly_id)i;
            return;
        }
}

/* <title>, the style, the heading and what was read. */
static void html_title(out_ctx *c, const out_summary *s)
{
    html_acc *h = c->html;
    sbuf *b = &c->line;
    SBUF_ADDL(b, "<title>fcgiscope report: ");
    if (s->device)
        h_traffic(h, b, s->device, strlen(s->device), 0);
    else if (s->nfiles == 1)
        h_traffic(h, b, s->files[0].name, strlen(s->files[0].name), 0);
    else
        fcs_sbuf_printf(b, "%zu files", s->nfiles);
    SBUF_ADDL(b, "</title>\n");
    fcs_sbuf_adds(b, page_style);
    SBUF_ADDL(b, "</head>\n<body>\n<h1>FastCGI report</h1>\n<p class=\"sub\">");
    if (s->device) {
        SBUF_ADDL(b, "live on ");
        h_traffic(h, b, s->device, strlen(s->device), 0);
        if (s->filter && *s->filter) {
            SBUF_ADDL(b, " (filter: ");
            h_traffic(h, b, s->filter, strlen(s->filter), 0);
            SBUF_ADDL(b, ")");
        }
    } else {
        for (size_t i = 0; i < s->nfiles; i++) {
            if (i)
                SBUF_ADDL(b, ", ");
            SBUF_ADDL(b, "<code>");
            h_traffic(h, b, s->files[i].name, strlen(s->files[i].name), 0);
            SBUF_ADDL(b, "</code>");
            if (s->files[i].damaged)
                SBUF_ADDL(b, " <span class=\"bad\">(damaged: read up to the damage)</span>");
            if (s->files[i].unreadable)
                SBUF_ADDL(b, " <span class=\"bad\">(unreadable)</span>");
        }
    }
    SBUF_ADDL(b, " &middot; " FSD_VERSION_LINE "</p>\n");
    if (s->fatal) {
        SBUF_ADDL(b, "<p class=\"bad\">error: ");
        h_traffic(h, b, s->fatal, strlen(s->fatal), 0);
        SBUF_ADDL(b, "</p>\n");
    }
}

/* Span, requests, failures: the text report's first lines. */
static void html_headline(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    stats *st = s->st;
    char t1[64], t2[64], d[32], n1[32], n2[32];
    uint64_t s5 = 0, s4 = 0;
    for (int k = 400; k < 600; k++)
        *(k < 500 ? &s4 : &s5) += st->status[k];
    SBUF_ADDL(b, "<section id=\"headline\"><dl class=\"hl\">\n<dt>Span</dt><dd>");
    if (s->c.have_ts) {
        /* "1.79s from 2026-11-26 03:57:04.716998 to 03:57:06.508273 UTC" (the
         * second date only when it differs) */
        char c1[64], c2[64];
        fmt_rfc3339(t1, sizeof t1, s->c.first_ts, c->ns);
        fmt_rfc3339(t2, sizeof t2, s->c.last_ts, c->ns);
        clock_of(c1, sizeof c1, s->c.first_ts, c->ns);
        clock_of(c2, sizeof c2, s->c.last_ts, c->ns);
        bool same_day = !strncmp(t1, t2, 10);
        dur(d, sizeof d, s->c.last_ts - s->c.first_ts);
        fcs_sbuf_printf(b, "<span class=\"big\" id=\"span\" data-us=\"%" PRId64 "\">%s</span> from %.10s %s "
                           "to %.*s%s%s UTC",
                        ns_to_us(s->c.last_ts - s->c.first_ts), d, t1, c1, same_day ? 0 : 10, t2,
                        same_day ? "" : " ", c2);
    } else {
        SBUF_ADDL(b, "no packets");
    }
    fmt_count(n1, sizeof n1, s->t.packets);
    fmt_bytes(n2, sizeof n2, s->t.bytes);
    fcs_sbuf_printf(b, "; %s packets, %s; %" PRIu64 " FastCGI connection%s</dd>\n", n1, n2,
                    s->c.connections, s->c.connections == 1 ? "" : "s");

    fmt_count(n1, sizeof n1, st->requests);
    fcs_sbuf_printf(b, "<dt>Requests</dt><dd><span class=\"big\" id=\"requests\" data-requests=\"%" PRIu64
                       "\" data-complete=\"%" PRIu64 "\" data-incomplete=\"%" PRIu64 "\">%s</span>",
                    st->requests, st->complete, st->incomplete, n1);
    if (st->requests) {
        fmt_count(n1, sizeof n1, st->complete);
        fcs_sbuf_printf(b, ": %s complete", n1);
        int64_t span = s->rate_span_ns > 0 ? s->rate_span_ns : s->c.last_ts - s->c.first_ts;
        if (s->t.packets && s->c.have_ts && span >= 1000000000)
            fcs_sbuf_printf(b, "; %.1f/s%s", (double)st->requests * 1e9 / (double)span,
                            s->rate_span_ns > 0 ? " over the files' spans" : "");
        if (st->retried_attempts)
            fcs_sbuf_printf(b, "; %" PRIu64 " user requests (%" PRIu64 " retried)", st->user_requests,
                            st->retried_attempts);
    }
    SBUF_ADDL(b, "</dd>\n");

    fcs_sbuf_printf(b, "<dt>Failures</dt><dd id=\"failures\" data-5xx=\"%" PRIu64 "\" data-4xx=\"%" PRIu64
                       "\" data-incomplete=\"%" PRIu64 "\" data-refused=\"%" PRIu64 "\">",
                    s5, s4, st->incomplete, st->backend[0]);
    fcs_sbuf_printf(b, "<span class=\"%s\">%" PRIu64 " HTTP 5xx</span>, ", s5 ? "bad" : "ok", s5);
    fcs_sbuf_printf(b, "<span class=\"%s\">%" PRIu64 " incomplete</span>, ", st->incomplete ? "warn" : "ok",
                    st->incomplete);
    fcs_sbuf_printf(b, "<span class=\"%s\">%" PRIu64 " connection%s refused</span>",
                    st->backend[0] ? "bad" : "ok", st->backend[0], st->backend[0] == 1 ? "" : "s");
    if (st->backend[1] || st->backend[2])
        fcs_sbuf_printf(b, ", %" PRIu64 " closed before a request, %" PRIu64 " connects retried",
                        st->backend[1], st->backend[2]);
    fcs_sbuf_printf(b, "; %" PRIu64 " HTTP 4xx</dd>\n", s4);
}

/* The worst finding and the latency percentiles; the headline ends. */
static void html_verdict(out_ctx *c, const out_summary *s)
{
    sbuf *b = &c->line;
    stats *st = s->st;
    char d[32];
    fsd_anomaly_id wid;
    fsd_severity wsev;
    worst_finding(st, &wid, &wsev);
    SBUF_ADDL(b, "<dt>Worst finding</dt><dd id=\"worst\">");
    if (wid < FSD_A_COUNT) {
        const char *sv = fsd_severity_name(wsev);
        fcs_sbuf_printf(b, "<span class=\"sev-%s\">%s</span> <code>%s</code> (%" PRIu64 "&times;): ", sv,
                        sv, fsd_anomaly_name(wid), st->anom[wid].count);
        h_escs(b, fsd_anomaly_summary(wid));
    } else if (st->requests || s->c.connections) {
        SBUF_ADDL(b, "<span class=\"ok\">none: framing sound</span>");
    } else {
        SBUF_ADDL(b, "<span class=\"warn\">no FastCGI traffic found</span>");
    }
    SBUF_ADDL(b, "</dd>\n<dt>Latency</dt><dd id=\"latency\"");
    const hist *L = &st->latency;
    if (L->count) {
        int64_t p50 = (int64_t)fcs_hist_percentile(L, 50), p90 = (int64_t)fcs_hist_percentile(L, 90),
                p99 = (int64_t)fcs_hist_percentile(L, 99), mx = (int64_t)L->max;
        fcs_sbuf_printf(b, " data-count=\"%" PRIu64 "\" data-p50-us=\"%" PRId64 "\" data-p90-us=\"%" PRId64
                           "\" data-p99-us=\"%" PRId64 "\" data-max-us=\"%" PRId64 "\">",
                        L->count, ns_to_us(p50), ns_to_us(p90), ns_to_us(p99), ns_to_us(mx));
        const char *nm[] = {"p50", "p90", "p99", "max"};
        int64_t v[] = {p50, p90, p99, mx};
        for (int i = 0; i < 4; i++) {
            dur(d, sizeof d, v[i]);
            fcs_sbuf_printf(b, "%s%s <span class=\"big\">%s</span>", i ? " &nbsp; " : "", nm[i], d);
        }
        fcs_sbuf_printf(b, " <span class=\"sub\">(%s, %" PRIu64 " complete requests)</span>",
                        c->o->latency_from_syn ? "first SYN or BEGIN_REQUEST to END_REQUEST"
                                               : "BEGIN_REQUEST to END_REQUEST",
                        L->count);
    } else {
        SBUF_ADDL(b, ">no complete request");
    }
    SBUF_ADDL(b, "</dd>\n</dl></section>\n");
}

/* ---- the page: charts ---------------------------------------------------------- */

#define CW 960   /* chart width (viewBox units) */
#define ML 70    /* left margin */
#define MR 14

typedef struct tax {     /* the time axis of the charts */
    int64_t t0, t1;      /* ns */
    int64_t lo, n;       /* first bin, bins drawn */
    int64_t per;         /* bins per column */
    int64_t cols;
} tax;

static double tx(const tax *a, int64_t t)
{
    double f = a->t1 > a->t0 ? (double)(t - a->t0) / (double)(a->t1 - a->t0) : 0.5;
    return ML + f * (CW - ML - MR);
}

static void time_ticks(out_ctx *c, const tax *a, int y0, int y1)
{
    sbuf *b = &c->line;
    char d[32];
    int64_t span = a->t1 - a->t0;
    /* a 1-2-5 step giving at most 8 ticks */
    double st = span > 0 ? pow(10.0, floor(log10((double)span / 5.0))) : 1e6;
    double m[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if ((double)span / (st * m[i]) <= 8) {
            st *= m[i];
            break;
        }
    for (double v = 0; span > 0 && v <= (double)span + 0.5; v += st) {
        double x = tx(a, a->t0 + (int64_t)v);
        fcs_sbuf_printf(b, "<line class=\"gr\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, y0, x, y1);
        if (v > 0) {
            dur(d, sizeof d, (int64_t)v);
            fcs_sbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">+%s</text>", x, y1 + 14, d);
        }
    }
    /* the axis starts at this clock time (UTC) */
    char t[64];
    clock_of(t, sizeof t, a->t0, c->ns);
    t[12] = '\0'; /* "HH:MM:SS.mmm": the axis starts on a bin edge, whole ms */
    fcs_sbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"start\">%s UTC</text>", ML - 2, y1 + 14, t);
}

static void legend(sbuf *b, bool inc)
{
    SBUF_ADDL(b, "<p class=\"legend\">");
    for (int k = 0; k < NK; k++) {
        if (k == KINC && !inc)
            continue;
        fcs_sbuf_printf(b, "<span><i class=\"k%d\"%s></i>%s</span>", k,
                        k == KINC ? " style=\"background:#fff;border:2px solid #7b3fb5;width:7px;height:7px\""
                                  : "",
                        k_name[k]);
    }
    SBUF_ADDL(b, "</p>\n");
}

static void point_title(out_ctx *c, const hpt *p)
{
    sbuf *b = &c->line;
    char d[32], t[64];
    h_escs(b, p->method[0] ? p->method : "-");
    fcs_sbuf_addc(b, ' ');
    h_escs(b, p->uri ? p->uri : "-");
    if (p->status)
        fcs_sbuf_printf(b, " \xe2\x86\x92 %d", p->status);
    else
        SBUF_ADDL(b, " \xe2\x86\x92 no status");
    dur(d, sizeof d, p->lat);
    fcs_sbuf_printf(b, "%s %s", p->k == KINC ? ", incomplete after" : " in", d);
    fmt_rfc3339(t, sizeof t, p->t, c->ns);
    fcs_sbuf_printf(b, "\nclient %s \xe2\x86\x92 server %s, start %s\nframe.number == %" PRIu64, p->client,
                    p->server, t, p->frame);
    if (p->file && c->html->several_files) {
        SBUF_ADDL(b, " in ");
        h_traffic(c->html, b, p->file, strlen(p->file), 0);
    }
}

static int cmp_pt_time(const void *a, const void *b)
{
    const hpt *x = *(const hpt *const *)a, *y = *(const hpt *const *)b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* The latency axis: log10 scale, decades dmin..dmax, y0 at the bottom. */
typedef struct lax {
    int dmin, dmax;
    double y0, dy;
} lax;

static double ly(const lax *l, double v)
{
    return l->y0 - (log10(v) - l->dmin) * l->dy;
}

/* Requests of column col in latency row r (every request, binned). */
static uint64_t col_rows(const html_acc *h, const tax *a, int64_t col, int r)
{
    uint64_t n = 0;
    for (int64_t i = col * a->per; i < (col + 1) * a->per && i < a->n; i++)
        n += h->bins[a->lo + i - h->lo].lat[r];
    return n;
}

/* The decades the binned latencies span (at least 2); false: none. */
static bool lat_range(const html_acc *h, const tax *a, int *dmin, int *dmax)
{
    int rmin = HLAT, rmax = -1;
    for (int64_t i = 0; i < a->n; i++)
        for (int r = 0; r < HLAT; r++)
            if (h->bins[a->lo + i - h->lo].lat[r]) {
                rmin = r < rmin ? r : rmin;
                rmax = r > rmax ? r : rmax;
            }
    *dmin = rmin / 4;
    *dmax = rmax / 4 + 1;
    if (*dmax - *dmin < 2)
        *dmax = *dmin + 2;
    return rmax >= 0;
}

/* What the points are: every request, or which ones. */
static void sampling_note(out_ctx *c, size_t npts)
{
    html_acc *h = c->html;
    sbuf *b = &c->line;
    char d[32], n1[32], n2[32];
    fcs_sbuf_printf(b, "<p class=\"note\" id=\"sampling\" data-points=\"%zu\" data-requests=\"%" PRIu64 "\">",
                    npts, h->pointed);
    if (npts == h->pointed) {
        SBUF_ADDL(b, "Every request is a point.</p>\n");
        return;
    }
    fmt_count(n1, sizeof n1, npts);
    fmt_count(n2, sizeof n2, h->pointed);
    fcs_sbuf_printf(b, "<b>Sampled:</b> %s of %s requests are points: the %zu slowest ", n1, n2, h->slow.n);
    if (h->slow.n) {
        dur(d, sizeof d, h->slow.p[0].lat);
        fcs_sbuf_printf(b, "(all others from %s up), ", d);
    }
    if (h->fail.fed > h->fail.n)
        fcs_sbuf_printf(b, "%zu of the %" PRIu64 " failed (5xx) or incomplete ones (a uniform sample), ",
                        h->fail.n, h->fail.fed);
    else
        fcs_sbuf_printf(b, "every failed (5xx) or incomplete one (%zu), ", h->fail.n);
    fcs_sbuf_printf(b, "and a uniform sample of %zu of the other %" PRIu64 ". The grey shading "
                       "behind them counts every request (darker: more).</p>\n",
                    h->rest.n, h->rest.fed);
}

/* Every request binned, columns x latency rows, shaded by count. */
static void draw_heat(out_ctx *c, const tax *a, const lax *l)
{
    html_acc *h = c->html;
    sbuf *b = &c->line;
    uint64_t cmax = 1;
    for (int64_t col = 0; col < a->cols; col++)
        for (int r = 0; r < HLAT; r++) {
            uint64_t n = col_rows(h, a, col, r);
            cmax = n > cmax ? n : cmax;
        }
    SBUF_ADDL(b, "<g class=\"heat\">");
    for (int64_t col = 0; col < a->cols; col++) {
        int64_t ta = (a->lo + col * a->per) * h->w, tb = ta + a->per * h->w;
        double xa = tx(a, ta), xb = tx(a, tb);
        for (int r = 0; r < HLAT; r++) {
            uint64_t n = col_rows(h, a, col, r);
            if (!n)
                continue;
            double ya = ly(l, (double)row_edge[r + 1]), yb = ly(l, (double)(row_edge[r] ? row_edge[r] : 1));
            double op = 0.08 + 0.6 * log1p((double)n) / log1p((double)cmax);
            fcs_sbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                               "fill-opacity=\"%.2f\"/>",
                            xa, ya, xb - xa, yb - ya, op);
        }
    }
    SBUF_ADDL(b, "</g>");
}

/* The points in time order, one group per status class, failures on top. */
static void draw_points(out_ctx *c, const tax *a, const lax *l, size_t npts)
{
    html_acc *h = c->html;
    sbuf *b = &c->line;
    const hpt **all = malloc((npts ? npts : 1) * sizeof *all);
    if (!all)
        return;
    size_t m = 0;
    const pool *pools[] = {&h->rest, &h->slow, &h->fail};
    for (int q = 0; q < 3; q++)
        for (size_t i = 0; i < pools[q]->n; i++)
            all[m++] = &pools[q]->p[i];
    qsort(all, m, sizeof *all, cmp_pt_time);
    static const int order[NK] = {K2, K3, KOTHER, K4, K5, KINC};
    for (int oi = 0; oi < NK; oi++) {
        int k = order[oi];
        fcs_sbuf_printf(b, "<g class=\"pts k%d\">", k);
        for (size_t i = 0; i < m; i++) {
            const hpt *p = all[i];
            if (p->k != k)
                continue;
            fcs_sbuf_printf(b, "<circle%s cx=\"%.1f\" cy=\"%.1f\" r=\"%s\"><title>",
                            k == KINC ? " class=\"inc\"" : "", tx(a, p->t), ly(l, (double)p->lat),
                            k == KINC ? "3.2" : "2.4");
            point_title(c, p);
            SBUF_ADDL(b, "</title></circle>");
            if (b->len > (1 << 16))
                flush_line(c);
        }
        SBUF_ADDL(b, "</g>");
    }
    free(all);
}

static void chart_latency(out_ctx *c, const tax *a)
{
    html_acc *h = c->html;
    sbuf *b = &c->line;
    char d[32];
    lax l;
    if (!lat_range(h, a, &l.dmin, &l.dmax))
        return;
    const int H = 330, MT = 10, MB = 30, ph = H - MT - MB;
    l.y0 = MT + ph;
    l.dy = (double)ph / (l.dmax - l.dmin);
    size_t npts = h->slow.n + h->rest.n + h->fail.n;
    SBUF_ADDL(b, "<section id=\"latency-time\"><h2>Latency over time</h2>\n"
                 "<p class=\"note\">Every request at its start (x) and latency (y, log scale), "
                 "coloured by HTTP status; incomplete ones as rings at the time they had run. "
                 "Hover over a point for its details; a click shows them below (the frame number "
                 "is Wireshark's <code>frame.number</code>).</p>\n");
    sampling_note(c, npts);
    legend(b, true);
    fcs_sbuf_printf(b, "<svg class=\"sc\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"latency over time\">",
                    CW, H);
    for (int dd = l.dmin; dd <= l.dmax; dd++) {
        double y = l.y0 - (dd - l.dmin) * l.dy;
        fcs_sbuf_printf(b, "<line class=\"gr\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", ML, y, CW - MR, y);
        dur(d, sizeof d, (int64_t)llround(pow(10.0, dd)));
        fcs_sbuf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", ML - 5, y + 4, d);
    }
    time_ticks(c, a, MT, (int)l.y0);
    if (npts < h->pointed)
        draw_heat(c, a, &l);
    draw_points(c, a, &l, npts);
    fcs_sbuf_printf(b, "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\"/>", ML, MT, ML, l.y0);
    SBUF_ADDL(b, "</svg>\n<div id=\"pd\" class=\"mono\">(click a point)</div>\n");
    if (h->no_time || h->no_lat)
        fcs_sbuf_printf(b, "<p class=\"note\">Not drawn: %" PRIu64 " request%s without a start time, %" PRIu64
                           " without a latency or elapsed time.</p>\n",
                        h->no_time, h->no_time == 1 ? "" : "s", h->no_lat);
    SBUF_ADDL(b, "</section>\n");
}

static void chart_concurrency(out_ctx *c, const tax *a)
{
    html_acc *h = c->html;
    sbuf *b = &c->line;
    char d1[32], d2[32];
    SBUF_ADDL(b, "<section id=\"concurrency\"><h2>Requests in flight, per server</h2>\n"
                 "<p class=\"note\">BEGIN_REQUEST sent, END_REQUEST not yet (incomplete requests: "
                 "until what is known of them ends). The most in flight in each column is drawn; a "
                 "flat top at N is what a saturated pool (php-fpm <code>pm.max_children = N</code>) "
                 "looks like.</p>\n");
    const int H = 120, MT = 8, MB = 24, ph = H - MT - MB;
    for (size_t k = 0; k <= HSRV; k++) {
        srv *s = &h->s[k];
        if (k == h->ns && k < HSRV)
            k = HSRV, s = &h->s[k];
        if (k == HSRV && !h->other_servers)
            break;
        dur(d1, sizeof d1, s->at_max);
        dur(d2, sizeof d2, s->longest);
        fcs_sbuf_printf(b, "<h3 class=\"srv\" data-server=\"%s\" data-max=\"%" PRIu64 "\" data-requests=\"%"
                           PRIu64 "\" style=\"font-size:14px;margin:12px 0 0\"><code>%s</code>: at most "
                           "<span class=\"big\">%" PRIu64 "</span> in flight",
                        k == HSRV ? "other" : s->name, s->max, s->requests,
                        k == HSRV ? "the other servers together" : s->name, s->max);
        if (s->max)
            fcs_sbuf_printf(b, ", for %s in all (longest stretch %s)", d1, d2);
        fcs_sbuf_printf(b, "; %" PRIu64 " requests</h3>\n", s->requests);
        if (!s->max)
            continue;
        fcs_sbuf_printf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"in flight\">", CW, H);
        double y0 = MT + ph;
        uint64_t top = s->max;
        for (uint64_t v = 0; v <= top; v += (top + 3) / 4) {
            double y = y0 - (double)v / top * ph;
            fcs_sbuf_printf(b, "<line class=\"gr\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                               "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%" PRIu64 "</text>",
                            ML, y, CW - MR, y, ML - 5, y + 4, v);
        }
        time_ticks(c, a, MT, (int)y0);
        fcs_sbuf_printf(b, "<path class=\"conc\" d=\"M%.1f %.1f", tx(a, a->t0), y0);
        for (int64_t col = 0; col < a->cols; col++) {
            uint32_t v = 0;
            for (int64_t i = col * a->per; i < (col + 1) * a->per && i < a->n; i++)
                if (h->bins[a->lo + i - h->lo].conc[k] > v)
                    v = h->bins[a->lo + i - h->lo].conc[k];
            int64_t ta = (a->lo + col * a->per) * h->w, tb = ta + a->per * h->w;
            if (tb > a->t1)
                tb = a->t1;
            double y = y0 - (double)v / top * ph;
            fcs_sbuf_printf(b, "V%.1fH%.1f", y, tx(a, tb));
        }
        fcs_sbuf_printf(b, "V%.1fZ\"/>", y0);
        double ym = y0 - ph;
        fcs_sbuf_printf(b, "<line class=\"mark\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", ML, ym,
                        CW - MR, ym);
        fcs_sbuf_printf(b, "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\"/></svg>\n", ML, MT, ML,
                        y0);
    }
    SBUF_ADDL(b, "</section>\n");
}

static void chart_throughput(out_ctx *c, const tax *a)
{
    html_acc *h = c->html;
    sbuf *b = &c->line;
    const int H = 220, MT = 10, MB = 26, ph = H - MT - MB;
    double colw_s = (double)(a->per * h->w) / 1e9;
    double vmax = 0;
    for (int64_t col = 0; col < a->cols; col++) {
        uint64_t n = 0;
        for (int64_t i = col * a->per; i < (col + 1) * a->per && i < a->n; i++)
            n += h->bins[a->lo + i - h->lo].n;
        if (n / colw_s > vmax)
            vmax = n / colw_s;
    }
    if (vmax <= 0)
        return;
    char d[32];
    dur(d, sizeof d, a->per * h->w);
    SBUF_ADDL(b, "<section id=\"throughput\"><h2>Throughput and status mix</h2>\n");
    fcs_sbuf_printf(b, "<p class=\"note\">Requests started per second in columns of %s, stacked by HTTP "
                       "status (every request counted).</p>\n", d);
    legend(b, true);
    fcs_sbuf_printf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"throughput\">", CW, H);
    double y0 = MT + ph;
    double st = pow(10.0, floor(log10(vmax / 4)));
    if (vmax / st > 10)
        st *= 2.5;
    for (double v = 0; v <= vmax * 1.0001; v += st) {
        double y = y0 - v / vmax * ph;
        fcs_sbuf_printf(b, "<line class=\"gr\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                           "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g/s</text>",
                        ML, y, CW - MR, y, ML - 5, y + 4, v);
    }
    time_ticks(c, a, MT, (int)y0);
    for (int64_t col = 0; col < a->cols; col++) {
        uint64_t kk[NK] = {0}, n = 0;
        for (int64_t i = col * a->per; i < (col + 1) * a->per && i < a->n; i++) {
            const hbin *bn = &h->bins[a->lo + i - h->lo];
            n += bn->n;
            for (int k = 0; k < NK; k++)
                kk[k] += bn->k[k];
        }
        if (!n)
            continue;
        int64_t ta = (a->lo + col * a->per) * h->w, tb = ta + a->per * h->w;
        double xa = tx(a, ta < a->t0 ? a->t0 : ta), xb = tx(a, tb > a->t1 ? a->t1 : tb);
        double y = y0;
        fcs_sbuf_printf(b, "<g><title>%" PRIu64 " requests:", n);
        for (int k = 0; k < NK; k++)
            if (kk[k])
                fcs_sbuf_printf(b, " %s %" PRIu64, k_name[k], kk[k]);
        SBUF_ADDL(b, "</title>");
        for (int k = 0; k < NK; k++) {
            if (!kk[k])
                continue;
            double hh = kk[k] / colw_s / vmax * ph;
            fcs_sbuf_printf(b, "<rect class=\"k%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", k,
                            xa, y - hh, xb - xa > 0.6 ? xb - xa - 0.3 : xb - xa, hh);
            y -= hh;
        }
        SBUF_ADDL(b, "</g>");
    }
    fcs_sbuf_printf(b, "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\"/></svg>\n</section>\n",
                    ML, MT, ML, y0);
}

static void chart_histogram(out_ctx *c, const stats *st)
{
    sbuf *b = &c->line;
    const hist *L = &st->latency;
    if (!L->count)
        return;
    char d1[32], d2[32];
    /* 5 bars per decade over the decades of min..max */
    const int per = 5;
    int dmin = (int)floor(log10((double)(L->min ? L->min : 1)));
    int dmax = (int)ceil(log10((double)(L->max ? L->max : 1) + 1));
    if (dmax <= dmin)
        dmax = dmin + 1;
    int nb = (dmax - dmin) * per;
    uint64_t *cnt = calloc((size_t)nb, sizeof *cnt), cmax = 0;
    uint64_t *edge = calloc((size_t)nb + 1, sizeof *edge);
    if (!cnt || !edge) {
        free(cnt);
        free(edge);
        return;
    }
    for (int i = 0; i <= nb; i++)
        edge[i] = (uint64_t)llround(pow(10.0, dmin + (double)i / per));
    for (int i = 0; i < nb; i++) {
        cnt[i] = fcs_hist_count_range(L, edge[i], edge[i + 1] - 1);
        if (cnt[i] > cmax)
            cmax = cnt[i];
    }
    const int H = 220, MT = 10, MB = 30, ph = H - MT - MB;
    SBUF_ADDL(b, "<section id=\"histogram\"><h2>Latency histogram</h2>\n<p class=\"note\">Complete "
                 "requests by latency (log scale, 5 bars per decade); dashed: p50, p90, p99.</p>\n");
    fcs_sbuf_printf(b, "<svg class=\"hist\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"latency histogram\">",
                    CW, H);
    double y0 = MT + ph, bw = (double)(CW - ML - MR) / nb;
    for (int dd = 0; dd <= dmax - dmin; dd++) {
        double x = ML + dd * per * bw;
        dur(d1, sizeof d1, (int64_t)edge[dd * per]);
        fcs_sbuf_printf(b, "<line class=\"gr\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                        x, MT, x, y0, x, y0 + 14, d1);
    }
    fcs_sbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%" PRIu64 "</text>", ML - 5, MT + 8, cmax);
    for (int i = 0; i < nb; i++) {
        if (!cnt[i])
            continue;
        double hh = (double)cnt[i] / cmax * ph;
        if (hh < 1)
            hh = 1;
        dur(d1, sizeof d1, (int64_t)edge[i]);
        dur(d2, sizeof d2, (int64_t)edge[i + 1]);
        fcs_sbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%s to %s: %" PRIu64
                           " requests</title></rect>",
                        ML + i * bw + 0.5, y0 - hh, bw - 1, hh, d1, d2, cnt[i]);
    }
    static const double ps[] = {50, 90, 99};
    for (int i = 0; i < 3; i++) {
        uint64_t v = fcs_hist_percentile(L, ps[i]);
        double x = ML + (log10((double)(v ? v : 1)) - dmin) * per * bw;
        fcs_sbuf_printf(b, "<line class=\"mark\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>"
                           "<text x=\"%.1f\" y=\"%d\">p%g</text>",
                        x, MT, x, y0, x + 3, MT + 10 + 12 * i, ps[i]);
    }
    fcs_sbuf_printf(b, "<line class=\"ax\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/></svg>\n</section>\n",
                    ML, y0, CW - MR, y0);
    free(cnt);
    free(edge);
}

/* ---- the page: tables --------------------------------------------------------- */

/* Scripts shown: --top, at least this many. */
#define HTML_SCRIPTS_MIN 100

static void table_scripts(out_ctx *c, const stats *st)
{
    html_acc *h = c->html;
    sbuf *b = &c->line;
    size_t top = c->o->top_scripts > HTML_SCRIPTS_MIN ? c->o->top_scripts : HTML_SCRIPTS_MIN;
    const script_stat **sc = malloc(top * sizeof *sc);
    size_t n = sc ? fcs_stats_top_scripts(st, sc, top) : 0;
    size_t all = st->nscripts + (st->absent_script.count > 0) + (st->other_scripts.count > 0);
    SBUF_ADDL(b, "<section id=\"scripts\"><h2>Scripts</h2>\n<p class=\"note\">Latency of complete "
                 "requests (incomplete ones are counted in their own column, not in the "
                 "percentiles). Click a column head to sort.");
    if (n < all)
        fcs_sbuf_printf(b, " The %zu busiest of %zu scripts (<code>--top N</code> shows more).", n, all);
    SBUF_ADDL(b, "</p>\n<table class=\"sort\" id=\"script-table\">");
    static const char *const cols[] = {"script", "#requests", "#p50", "#p90", "#p99", "#max",
                                       "#4xx", "#5xx", "#incomplete", NULL};
    head_row(b, cols);
    for (size_t i = 0; i < n; i++) {
        const script_stat *s = sc[i];
        const hist *L = &s->latency;
        fcs_sbuf_printf(b, "<tr class=\"script\" data-requests=\"%" PRIu64 "\" data-4xx=\"%" PRIu64
                           "\" data-5xx=\"%" PRIu64 "\" data-incomplete=\"%" PRIu64 "\"",
                        s->count, s->s4xx, s->s5xx, s->incomplete);
        if (L->count)
            fcs_sbuf_printf(b, " data-p99-us=\"%" PRId64 "\"", ns_to_us((int64_t)fcs_hist_percentile(L, 99)));
        SBUF_ADDL(b, "><td class=\"u\">");
        if (s->absent)
            SBUF_ADDL(b, "<i>(no script name)</i>");
        else if (s->other)
            SBUF_ADDL(b, "<i>(other scripts)</i>");
        else
            h_traffic(h, b, s->name, s->len, 0);
        SBUF_ADDL(b, "</td>");
        count_cell(b, s->count);
        bool has = L->count > 0;
        lat_cell(b, has ? (int64_t)fcs_hist_percentile(L, 50) : 0, has);
        lat_cell(b, has ? (int64_t)fcs_hist_percentile(L, 90) : 0, has);
        lat_cell(b, has ? (int64_t)fcs_hist_percentile(L, 99) : 0, has);
        lat_cell(b, (int64_t)L->max, has);
        count_cell(b, s->s4xx);
        count_cell(b, s->s5xx);
        count_cell(b, s->incomplete);
        SBUF_ADDL(b, "</tr>\n");
    }
    SBUF_ADDL(b, "</tbody></table></section>\n");
    free(sc);
}

static void frames_of(out_ctx *c, sbuf *b, const anom_stat *an)
{
    for (size_t k = 0; k < an->nframes; k++) {
        uint64_t l;
        const char *file = where(c, an->frames[k], &l);
        fcs_sbuf_printf(b, "%s%" PRIu64, k ? ", " : "", l);
        if (file && c->html->several_files) {
            SBUF_ADDL(b, " <span class=\"sub\">(");
            h_traffic(c->html, b, file, strlen(file), 0);
            SBUF_ADDL(b, ")</span>");
        }
    }
}

static void table_anomalies(out_ctx *c, const stats *st)
{
    sbuf *b = &c->line;
    SBUF_ADDL(b, "<section id=\"anomalies\"><h2>Anomalies</h2>\n");
    if (!st->anomaly_events) {
        SBUF_ADDL(b, "<p>None found.</p></section>\n");
        return;
    }
    fcs_sbuf_printf(b, "<p class=\"note\">%" PRIu64 " events: %" PRIu64 " error, %" PRIu64 " warning, %" PRIu64
                       " note. Explanations from the decoder's catalogue (docs/ANOMALIES.md).</p>\n",
                    st->anomaly_events, st->anomalies_by_sev[FSD_SEV_ERROR],
                    st->anomalies_by_sev[FSD_SEV_WARNING], st->anomalies_by_sev[FSD_SEV_NOTE]);
    SBUF_ADDL(b, "<table class=\"sort\" id=\"anomaly-table\">");
    static const char *const cols[] = {"severity", "id", "#count", "explanation", "first frames",
                                       "first occurrence", NULL};
    head_row(b, cols);
    for (int sev = FSD_SEV_ERROR; sev >= FSD_SEV_NOTE; sev--)
        for (unsigned id = 0; id < FSD_A_COUNT; id++) {
            const anom_stat *an = &st->anom[id];
            if (!an->count || an->max_sev != (fsd_severity)sev)
                continue;
            const char *sv = fsd_severity_name(an->max_sev);
            fcs_sbuf_printf(b, "<tr class=\"anomaly\" data-id=\"%s\" data-count=\"%" PRIu64 "\"><td "
                               "class=\"sev-%s\">%s</td><td><code>%s</code></td>",
                            fsd_anomaly_name((fsd_anomaly_id)id), an->count, sv, sv,
                            fsd_anomaly_name((fsd_anomaly_id)id));
            count_cell(b, an->count);
            SBUF_ADDL(b, "<td>");
            h_escs(b, fsd_anomaly_summary((fsd_anomaly_id)id));
            SBUF_ADDL(b, "</td><td class=\"mono\">");
            frames_of(c, b, an);
            SBUF_ADDL(b, "</td><td class=\"u\">");
            h_traffic(c->html, b, an->detail, strlen(an->detail), 300);
            SBUF_ADDL(b, "</td></tr>\n");
        }
    SBUF_ADDL(b, "</tbody></table></section>\n");
}

static void request_row(out_ctx *c, const req_rec *r, bool ended)
{
    html_acc *h = c->html;
    sbuf *b = &c->line;
    char t[64];
    SBUF_ADDL(b, "<tr>");
    if (r->complete)
        lat_cell(b, r->latency_ns, r->has_latency);
    else
        lat_cell(b, r->elapsed_ns, r->has_elapsed);
    if (ended)
        fcs_sbuf_printf(b, "<td>%s</td>", fsd_end_reason_name(r->end_reason));
    if (r->status)
        fcs_sbuf_printf(b, "<td class=\"n k%d\" data-v=\"%d\">%d</td>",
                        kind_of(r), r->status, r->status);
    else
        SBUF_ADDL(b, "<td class=\"n\" data-v=\"0\">-</td>");
    SBUF_ADDL(b, "<td class=\"u\">");
    h_rstr(h, b, &r->method, 16);
    SBUF_ADDL(b, " ");
    h_rstr(h, b, &r->uri, 300);
    SBUF_ADDL(b, "</td><td class=\"u\">");
    h_rstr(h, b, &r->script, 120);
    uint64_t fr = 0;
    const char *file = r->has_begin ? where(c, r->frame, &fr) : NULL;
    fcs_sbuf_printf(b, "</td><td class=\"n mono\" data-v=\"%" PRIu64 "\">", fr);
    if (r->has_begin)
        fcs_sbuf_printf(b, "%" PRIu64, fr);
    else
        SBUF_ADDL(b, "?");
    if (file && h->several_files) {
        SBUF_ADDL(b, "<br><span class=\"sub\">");
        h_traffic(h, b, file, strlen(file), 60);
        SBUF_ADDL(b, "</span>");
    }
    SBUF_ADDL(b, "</td><td class=\"mono\">");
    if (r->has_begin) {
        fmt_rfc3339(t, sizeof t, r->t_begin_ns, c->ns);
        t[strlen(t) - 1] = '\0';
        fcs_sbuf_adds(b, t + 11);
    }
    SBUF_ADDL(b, "</td><td class=\"mono\">");
    h_escs(b, r->client);
    SBUF_ADDL(b, " &rarr; ");
    h_escs(b, r->server);
    SBUF_ADDL(b, "</td><td>");
    fsd_anomaly_id ids[FSD_A_COUNT];
    size_t n = fcs_req_anomaly_ids(r, ids, FSD_A_COUNT);
    for (size_t i = 0; i < n; i++)
        fcs_sbuf_printf(b, "%s<code>%s</code>", i ? " " : "", fsd_anomaly_name(ids[i]));
    SBUF_ADDL(b, "</td></tr>\n");
}

static void request_head(sbuf *b, bool ended)
{
    static const char *const cols[] = {"#elapsed", "ended", "#status", "request", "script", "#frame",
                                       "start (UTC)", "client &rarr; server", "anomalies", NULL};
    static const char *const cols_slow[] = {"#elapsed", "#status", "request", "script", "#frame",
                                            "start (UTC)", "client &rarr; server", "anomalies", NULL};
    head_row(b, ended ? cols : cols_slow);
}

static void table_requests(out_ctx *c, stats *st)
{
    sbuf *b = &c->line;
    size_t nslow = st->nslow;
    const req_rec **slow = nslow ? malloc(nslow * sizeof *slow) : NULL;
    size_t ns = slow ? fcs_stats_slowest(st, slow, nslow) : 0;
    if (ns) {
        fcs_sbuf_printf(b, "<section id=\"slowest\"><h2>Slowest %zu request%s</h2>\n<p class=\"note\">"
                           "Incomplete ones with what they had run. <code>--slowest N</code> keeps more."
                           "</p>\n<table class=\"sort\" id=\"slow-table\">",
                        ns, ns == 1 ? "" : "s");
        request_head(b, false);
        for (size_t i = 0; i < ns; i++)
            request_row(c, slow[i], false);
        SBUF_ADDL(b, "</tbody></table></section>\n");
    }
    free(slow);
    size_t ninc = fcs_stats_incomplete(st);
    if (ninc) {
        fcs_sbuf_printf(b, "<section id=\"incomplete\"><h2>Incomplete requests</h2>\n<p class=\"note\">In "
                           "start order: %s%zu of %" PRIu64 ".</p>\n<table class=\"sort\" id=\"incomplete-table\">",
                        ninc < st->incomplete ? "the first " : "", ninc, st->incomplete);
        request_head(b, true);
        for (size_t i = 0; i < ninc; i++)
            request_row(c, &st->incomplete_list[i], true);
        SBUF_ADDL(b, "</tbody></table></section>\n");
    }
}

/* ---- the page ------------------------------------------------------------------ */

void html_summary(out_ctx *c, const out_summary *s)
{
    html_acc *h = c->html;
    sbuf *b = &c->line;
    if (!h) {
        c->write_error = true; /* out of memory at the start: no page */
        return;
    }
    h->several_files = s->nfiles > 1;
    /* the sweeps to their end */
    for (size_t k = 0; k <= HSRV; k++)
        if (h->s[k].started)
            srv_advance(h, k, INT64_MAX - 1);

    fcs_sbuf_adds(b, page_head);
    html_title(c, s);
    html_headline(c, s);
    html_verdict(c, s);
    flush_line(c);

    if (h->have) {
        tax a;
        memset(&a, 0, sizeof a);
        a.lo = h->used_lo;
        a.n = h->used_hi - h->used_lo + 1;
        a.per = (a.n + COLS_MAX - 1) / COLS_MAX;
        a.cols = (a.n + a.per - 1) / a.per;
        a.t0 = h->used_lo * h->w;
        a.t1 = (h->used_lo + a.cols * a.per) * h->w;
        /* the axis from the first request to the last end known */
        chart_latency(c, &a);
        flush_line(c);
        chart_concurrency(c, &a);
        flush_line(c);
        chart_throughput(c, &a);
        flush_line(c);
    } else {
        SBUF_ADDL(b, "<p>No request with a start time: no charts.</p>\n");
    }
    chart_histogram(c, s->st);
    table_scripts(c, s->st);
    flush_line(c);
    table_anomalies(c, s->st);
    table_requests(c, s->st);
    flush_line(c);
    char n1[32];
    fmt_count(n1, sizeof n1, s->st->requests);
    fcs_sbuf_printf(b, "<p class=\"sub\">Made by " FSD_VERSION_LINE " (<code>-f html</code>); the numbers "
                       "are those of <code>-f json</code>'s summary. The charts are SVG drawn by fcgiscope "
                       "itself; the page loads nothing.</p>\n");
    fcs_sbuf_adds(b, page_script);
    SBUF_ADDL(b, "</body></html>\n");
    (void)n1;
}
