/* metrics.c — --metrics: counting on the analysis thread, serving on its own.
 *
 * See metrics.h. The page is rendered under the mutex into memory, then
 * written to the scraper with the mutex released, under a send deadline.
 */
#define _GNU_SOURCE
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fsd/fsd.h"

/* Seconds: 1 ms .. 60 s, where FastCGI requests live (nginx's
 * fastcgi_read_timeout defaults to 60 s). */
static const double bucket_s[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                  0.5,   1,      2.5,   5,    10,    30,    60};
#define NBUCKETS (sizeof bucket_s / sizeof bucket_s[0])
#define IO_DEADLINE_MS 2000
#define STATUS_SLOTS 1000

typedef struct mhist {
    uint64_t n[NBUCKETS]; /* per bucket, not cumulative; past the last: count only */
    uint64_t count;
    double sum_s;
} mhist;

typedef struct mserver {
    char name[REC_ADDR_MAX];
    uint64_t *status;                   /* STATUS_SLOTS; 0: no status */
    uint64_t outcome[FSD_USER_BACKEND_FAILED + 1];
    uint64_t ended[FSD_END_GAP + 1];    /* incomplete requests by end reason */
    mhist latency, ttfb;
    uint64_t in_flight;
    uint64_t refused, closed_early;
} mserver;

typedef struct mscript {
    char *name;                         /* label-escaped */
    uint64_t count;
    mhist latency;
} mscript;

struct fcs_metrics {
    pthread_mutex_t mu;
    int lfd, wake[2];
    pthread_t thread;
    bool running;
    char addr[80];
    unsigned max_scripts;
    mserver servers[FCS_METRICS_MAX_SERVERS + 1]; /* the last: "other" */
    size_t nservers;
    mscript *scripts;                   /* max_scripts + 1, the last: "other" */
    size_t nscripts;
    uint64_t anomalies[FSD_A_COUNT];
    bool have_drops;
    uint64_t received, dropped, ifdropped, packets;
    uint64_t answered[6];               /* by status class of our answers: 2xx..5xx at [2..5] */
    char *page;
    size_t page_cap;
};

/* ---- labels ------------------------------------------------------------- */

/* A label value from traffic bytes: the exposition format wants UTF-8 with
 * \\ \" \n escaped; bytes outside printable ASCII become %XX (scripts are
 * paths: read like a URL), at most 200 bytes of input. */
static char *label_from_bytes(const char *p, size_t len)
{
    if (len > 200)
        len = 200;
    char *s = malloc(len * 3 + 1), *o = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\\' || c == '"') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20 || c >= 0x7f || c == '%') {
            o += sprintf(o, "%%%02X", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    return s;
}

/* ---- counting (analysis thread) ------------------------------------------- */

static void hist_observe(mhist *h, int64_t ns)
{
    double s = (double)ns / 1e9;
    size_t i = 0;
    while (i < NBUCKETS && s > bucket_s[i])
        i++;
    if (i < NBUCKETS)
        h->n[i]++;
    h->count++;
    h->sum_s += s;
}

/* A slot in use has its status table (FOR_SERVERS lists those). */
static mserver *slot_in_use(mserver *sv)
{
    if (!sv->status)
        sv->status = calloc(STATUS_SLOTS, sizeof *sv->status);
    return sv->status ? sv : NULL;
}

static mserver *other_slot(fcs_metrics *m)
{
    return slot_in_use(&m->servers[FCS_METRICS_MAX_SERVERS]);
}

/* The server's slot; past FCS_METRICS_MAX_SERVERS, "other". NULL: no memory. */
static mserver *server_slot(fcs_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->nservers; i++)
        if (strcmp(m->servers[i].name, name) == 0)
            return &m->servers[i];
    if (m->nservers == FCS_METRICS_MAX_SERVERS)
        return other_slot(m);
    mserver *sv = slot_in_use(&m->servers[m->nservers]);
    if (sv) {
        snprintf(sv->name, sizeof sv->name, "%s", name);
        m->nservers++;
    }
    return sv;
}

static mscript *script_slot(fcs_metrics *m, const rstr *script)
{
    mscript *other = &m->scripts[m->max_scripts];
    if (!script->p)
        return other;
    char *label = label_from_bytes(script->p, script->len);
    if (!label)
        return other;
    for (size_t i = 0; i < m->nscripts; i++)
        if (strcmp(m->scripts[i].name, label) == 0) {
            free(label);
            return &m->scripts[i];
        }
    if (m->nscripts == m->max_scripts) {
        free(label);
        return other;
    }
    m->scripts[m->nscripts].name = label;
    return &m->scripts[m->nscripts++];
}

void fcs_metrics_request(fcs_metrics *m, const req_rec *r)
{
    pthread_mutex_lock(&m->mu);
    mserver *sv = server_slot(m, r->server);
    if (sv) {
        sv->status[r->status > 0 && r->status < STATUS_SLOTS ? r->status : 0]++;
        if ((unsigned)r->user_outcome <= FSD_USER_BACKEND_FAILED)
            sv->outcome[r->user_outcome]++;
        if (!r->complete && (unsigned)r->end_reason <= FSD_END_GAP)
            sv->ended[r->end_reason]++;
        if (r->has_latency)
            hist_observe(&sv->latency, r->latency_ns);
        if (r->has_ttfb)
            hist_observe(&sv->ttfb, r->ttfb_ns);
    }
    if (m->max_scripts > 0) {
        mscript *sc = script_slot(m, &r->script);
        sc->count++;
        if (r->has_latency)
            hist_observe(&sc->latency, r->latency_ns);
    }
    pthread_mutex_unlock(&m->mu);
}

static void update_backends(fcs_metrics *m, const stats *st)
{
    for (size_t i = 0; i < m->nservers; i++)
        m->servers[i].refused = m->servers[i].closed_early = 0;
    mserver *other = &m->servers[FCS_METRICS_MAX_SERVERS];
    other->refused = other->closed_early = 0;
    uint64_t listed[2] = {0, 0};
    for (size_t i = 0; i < st->nservers; i++) {
        mserver *sv = server_slot(m, st->servers[i].server);
        if (!sv)
            continue;
        sv->refused += st->servers[i].n[0];
        sv->closed_early += st->servers[i].n[1];
        listed[0] += st->servers[i].n[0];
        listed[1] += st->servers[i].n[1];
    }
    /* events past the stats' server table count as "other" */
    if ((st->backend[0] > listed[0] || st->backend[1] > listed[1]) && other_slot(m)) {
        other->refused += st->backend[0] - listed[0];
        other->closed_early += st->backend[1] - listed[1];
    }
}

void fcs_metrics_update(fcs_metrics *m, const fcs_metrics_totals *t)
{
    pthread_mutex_lock(&m->mu);
    if (t->st) {
        for (int id = 0; id < FSD_A_COUNT; id++)
            m->anomalies[id] = t->st->anom[id].count;
        update_backends(m, t->st);
    }
    m->have_drops = t->have_drops;
    m->received = t->received;
    m->dropped = t->dropped;
    m->ifdropped = t->ifdropped;
    m->packets = t->packets;
    for (size_t i = 0; i <= FCS_METRICS_MAX_SERVERS; i++)
        m->servers[i].in_flight = 0;
    for (size_t i = 0; i < t->nflights; i++) {
        mserver *sv = server_slot(m, t->flights[i].server);
        if (sv)
            sv->in_flight += t->flights[i].n;
    }
    pthread_mutex_unlock(&m->mu);
}

/* ---- the page ------------------------------------------------------------- */

typedef struct page {
    char **buf;
    size_t *cap, len;
} page;

static void put(page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(page *p, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = *p->cap - p->len;
        int n = vsnprintf(*p->buf ? *p->buf + p->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            p->len += (size_t)n;
            return;
        }
        size_t cap = (*p->cap ? *p->cap * 2 : 16384) + (size_t)n;
        char *b = realloc(*p->buf, cap);
        if (!b)
            return; /* the page is cut short; the next scrape tries again */
        *p->buf = b;
        *p->cap = cap;
    }
}

static void family(page *p, const char *name, const char *type, const char *help)
{
    put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *server_label(const fcs_metrics *m, const mserver *sv)
{
    return sv == &m->servers[FCS_METRICS_MAX_SERVERS] ? "other" : sv->name;
}

/* Servers in use: the listed ones, then "other" once it counted anything. */
#define FOR_SERVERS(m, sv)                                                                 \
    for (size_t i_ = 0; i_ <= FCS_METRICS_MAX_SERVERS; i_++)                             \
        for (const mserver *sv = &(m)->servers[i_];                                       \
             sv && (i_ < (m)->nservers || i_ == FCS_METRICS_MAX_SERVERS) && sv->status; \
             sv = NULL)

static void put_hist(page *p, const char *name, const char *label, const char *value,
                     const mhist *h)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += h->n[i];
        put(p, "%s_bucket{%s=\"%s\",le=\"%g\"} %" PRIu64 "\n", name, label, value, bucket_s[i],
            cum);
    }
    put(p, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", name, label, value, h->count);
    put(p, "%s_sum{%s=\"%s\"} %.9g\n", name, label, value, h->sum_s);
    put(p, "%s_count{%s=\"%s\"} %" PRIu64 "\n", name, label, value, h->count);
}

static void render_requests(fcs_metrics *m, page *p)
{
    family(p, "fcgiscope_requests_total", "counter",
           "FastCGI requests written, by server and the HTTP status the application sent "
           "(none: no status)");
    FOR_SERVERS(m, sv)
    {
        for (int s = 0; s < STATUS_SLOTS; s++) {
            if (!sv->status[s])
                continue;
            char st[8];
            snprintf(st, sizeof st, "%d", s);
            put(p, "fcgiscope_requests_total{server=\"%s\",status=\"%s\"} %" PRIu64 "\n",
                server_label(m, sv), s ? st : "none", sv->status[s]);
        }
    }
    family(p, "fcgiscope_request_outcomes_total", "counter",
           "FastCGI requests by what the web server's client got (analyzer/README.md, "
           "user_outcome)");
    FOR_SERVERS(m, sv)
    {
        for (int o = 0; o <= FSD_USER_BACKEND_FAILED; o++)
            if (sv->outcome[o])
                put(p, "fcgiscope_request_outcomes_total{server=\"%s\",outcome=\"%s\"} %" PRIu64
                       "\n",
                    server_label(m, sv), fsd_user_outcome_name((fsd_user_outcome)o),
                    sv->outcome[o]);
    }
    family(p, "fcgiscope_requests_incomplete_total", "counter",
           "FastCGI requests without END_REQUEST, by how they ended");
    FOR_SERVERS(m, sv)
    {
        for (int e = 0; e <= FSD_END_GAP; e++)
            if (sv->ended[e])
                put(p, "fcgiscope_requests_incomplete_total{server=\"%s\",end=\"%s\"} %" PRIu64
                       "\n",
                    server_label(m, sv), fsd_end_reason_name((fsd_end_reason)e), sv->ended[e]);
    }
    family(p, "fcgiscope_requests_in_flight", "gauge",
           "FastCGI requests begun (BEGIN_REQUEST) and not yet ended, by server");
    FOR_SERVERS(m, sv)
    put(p, "fcgiscope_requests_in_flight{server=\"%s\"} %" PRIu64 "\n", server_label(m, sv),
        sv->in_flight);
}

static void render_latency(fcs_metrics *m, page *p)
{
    family(p, "fcgiscope_request_duration_seconds", "histogram",
           "BEGIN_REQUEST to END_REQUEST of complete FastCGI requests, by server");
    FOR_SERVERS(m, sv)
    put_hist(p, "fcgiscope_request_duration_seconds", "server", server_label(m, sv),
             &sv->latency);
    family(p, "fcgiscope_request_ttfb_seconds", "histogram",
           "BEGIN_REQUEST to the first response byte (STDOUT/STDERR), by server");
    FOR_SERVERS(m, sv)
    put_hist(p, "fcgiscope_request_ttfb_seconds", "server", server_label(m, sv), &sv->ttfb);
    if (m->max_scripts == 0)
        return;
    family(p, "fcgiscope_script_requests_total", "counter",
           "FastCGI requests by script (the first --metrics-scripts scripts seen, the rest: "
           "other)");
    for (size_t i = 0; i <= m->max_scripts; i++) {
        const mscript *sc = &m->scripts[i];
        if (i < m->nscripts || (i == m->max_scripts && sc->count))
            put(p, "fcgiscope_script_requests_total{script=\"%s\"} %" PRIu64 "\n",
                i < m->nscripts ? sc->name : "other", sc->count);
    }
    family(p, "fcgiscope_script_request_duration_seconds", "histogram",
           "BEGIN_REQUEST to END_REQUEST of complete FastCGI requests, by script");
    for (size_t i = 0; i <= m->max_scripts; i++) {
        const mscript *sc = &m->scripts[i];
        if (i < m->nscripts || (i == m->max_scripts && sc->count))
            put_hist(p, "fcgiscope_script_request_duration_seconds", "script",
                     i < m->nscripts ? sc->name : "other", &sc->latency);
    }
}

static void render_findings(fcs_metrics *m, page *p)
{
    family(p, "fcgiscope_anomalies_total", "counter",
           "Anomaly events by id (docs/ANOMALIES.md) and the id's catalogue severity");
    for (int id = 0; id < FSD_A_COUNT; id++)
        if (m->anomalies[id])
            put(p, "fcgiscope_anomalies_total{id=\"%s\",severity=\"%s\"} %" PRIu64 "\n",
                fsd_anomaly_name((fsd_anomaly_id)id),
                fsd_severity_name(fsd_anomaly_severity((fsd_anomaly_id)id)), m->anomalies[id]);
    family(p, "fcgiscope_backend_connections_refused_total", "counter",
           "Connections to a FastCGI server refused (RST to the SYN) or never answered");
    FOR_SERVERS(m, sv)
    if (sv->refused)
        put(p, "fcgiscope_backend_connections_refused_total{server=\"%s\"} %" PRIu64 "\n",
            server_label(m, sv), sv->refused);
    family(p, "fcgiscope_backend_connections_closed_early_total", "counter",
           "Connections a FastCGI server closed before a request was sent");
    FOR_SERVERS(m, sv)
    if (sv->closed_early)
        put(p, "fcgiscope_backend_connections_closed_early_total{server=\"%s\"} %" PRIu64 "\n",
            server_label(m, sv), sv->closed_early);
}

static void render_capture(fcs_metrics *m, page *p)
{
    family(p, "fcgiscope_capture_packets_total", "counter", "Frames analysed");
    put(p, "fcgiscope_capture_packets_total %" PRIu64 "\n", m->packets);
    if (m->have_drops) {
        family(p, "fcgiscope_capture_dropped_packets_total", "counter",
               "Packets lost before fcgiscope saw them: kernel (capture buffer full) or "
               "interface (libpcap's ps_drop and ps_ifdrop)");
        put(p, "fcgiscope_capture_dropped_packets_total{where=\"kernel\"} %" PRIu64 "\n",
            m->dropped);
        put(p, "fcgiscope_capture_dropped_packets_total{where=\"interface\"} %" PRIu64 "\n",
            m->ifdropped);
    }
    family(p, "fcgiscope_build_info", "gauge", "Versions fcgiscope was built with");
    put(p, "fcgiscope_build_info{version=\"%s\",decoder=\"%s\",libpcap=\"%s\"} 1\n",
        FSD_VERSION_STRING, FSD_VERSION_STRING, pcap_lib_version());
    family(p, "fcgiscope_metrics_http_responses_total", "counter",
           "Answers of this endpoint by status class (4xx: malformed or unknown requests)");
    for (int c = 2; c <= 5; c++)
        put(p, "fcgiscope_metrics_http_responses_total{code=\"%dxx\"} %" PRIu64 "\n", c,
            m->answered[c]);
}

size_t fcs_metrics_render(fcs_metrics *m, char **buf, size_t *cap)
{
    page p = {buf, cap, 0};
    pthread_mutex_lock(&m->mu);
    render_requests(m, &p);
    render_latency(m, &p);
    render_findings(m, &p);
    render_capture(m, &p);
    pthread_mutex_unlock(&m->mu);
    return p.len;
}

/* ---- HTTP (server thread) --------------------------------------------------- */

static const char *reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    default: return "Internal Server Error";
    }
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 9112 §3: method SP request-target SP HTTP-version, then header field
 * lines "name: value", then an empty line. Returns 0 when well formed. */
static int parse_head(const char *h, size_t len, const char **method, size_t *mlen,
                      const char **target, size_t *tlen)
{
    const char *end = h + len, *eol = memmem(h, len, "\r\n", 2);
    if (!eol)
        return -1;
    const char *p = h;
    while (p < eol && is_tchar((unsigned char)*p))
        p++;
    if (p == h || p >= eol || *p != ' ')
        return -1;
    *method = h;
    *mlen = (size_t)(p - h);
    const char *t = ++p;
    while (p < eol && *p > ' ' && *p < 0x7f)
        p++;
    if (p == t || *t != '/' || p >= eol || *p != ' ')
        return -1;
    *target = t;
    *tlen = (size_t)(p - t);
    p++;
    if (eol - p != 8 || (memcmp(p, "HTTP/1.1", 8) != 0 && memcmp(p, "HTTP/1.0", 8) != 0))
        return -1;
    for (p = eol + 2; p < end;) { /* header fields */
        const char *e = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!e)
            return -1;
        if (e == p)
            return p + 2 == end ? 0 : -1; /* the empty line ends the head */
        const char *c = p;
        while (c < e && is_tchar((unsigned char)*c))
            c++;
        if (c == p || c >= e || *c != ':')
            return -1; /* no field name, or obsolete line folding */
        for (const char *v = c + 1; v < e; v++)
            if ((unsigned char)*v < 0x20 && *v != '\t')
                return -1;
        p = e + 2;
    }
    return -1;
}

static void respond(char **out, size_t *outlen, int code, const char *type, const char *extra,
                    const char *body, size_t blen, bool head_only)
{
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n",
                     code, reason(code), type, blen, extra);
    size_t total = (size_t)n + (head_only ? 0 : blen);
    char *o = malloc(total + 1); /* NUL-terminated for readers of tests */
    if (!o) {
        *out = NULL;
        *outlen = 0;
        return;
    }
    memcpy(o, hdr, (size_t)n);
    if (!head_only)
        memcpy(o + n, body, blen);
    o[total] = '\0';
    *out = o;
    *outlen = total;
}

int fcs_metrics_answer(fcs_metrics *m, const char *head, size_t len, char **out, size_t *outlen)
{
    const char *method, *target;
    size_t mlen, tlen;
    int code;
    bool head_only = false;
    if (len > FCS_METRICS_MAX_REQUEST) {
        code = 431;
    } else if (parse_head(head, len, &method, &mlen, &target, &tlen) != 0) {
        code = 400;
    } else if (!((mlen == 3 && memcmp(method, "GET", 3) == 0)
                 || (mlen == 4 && memcmp(method, "HEAD", 4) == 0))) {
        code = 405;
    } else {
        head_only = mlen == 4;
        size_t path = tlen;
        const char *q = memchr(target, '?', tlen);
        if (q)
            path = (size_t)(q - target);
        code = path == 8 && memcmp(target, "/metrics", 8) == 0 ? 200 : 404;
    }
    pthread_mutex_lock(&m->mu);
    m->answered[code / 100]++;
    pthread_mutex_unlock(&m->mu);
    if (code == 200) {
        size_t n = fcs_metrics_render(m, &m->page, &m->page_cap);
        respond(out, outlen, 200, "text/plain; version=0.0.4; charset=utf-8", "", m->page, n,
                head_only);
    } else {
        char body[128];
        int n = snprintf(body, sizeof body, "%d %s%s\n", code, reason(code),
                         code == 404 ? ": the metrics are at /metrics" : "");
        respond(out, outlen, code, "text/plain; charset=utf-8",
                code == 405 ? "Allow: GET, HEAD\r\n" : "", body, (size_t)n, head_only);
    }
    return code;
}

/* Read a request head under the deadline: 0 complete (or too long: len is
 * then past the limit), -1 the peer went away or the deadline passed
 * (timed_out tells which). */
static int read_head(int fd, char *buf, size_t cap, size_t *len, bool *timed_out)
{
    *len = 0;
    *timed_out = false;
    for (;;) {
        ssize_t n = recv(fd, buf + *len, cap - *len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            *timed_out = true;
            return -1;
        }
        if (n <= 0)
            return *len ? 0 : -1; /* what came so far is judged (400) */
        *len += (size_t)n;
        if (memmem(buf, *len, "\r\n\r\n", 4))
            return 0;
        if (*len == cap)
            return 0;
    }
}

static void send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the scraper went away or the deadline passed */
        p += n;
        len -= (size_t)n;
    }
}

static void serve_one(fcs_metrics *m, int fd)
{
    struct timeval tv = {IO_DEADLINE_MS / 1000, (IO_DEADLINE_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char buf[FCS_METRICS_MAX_REQUEST + 1];
    size_t len;
    bool timed_out;
    char *out = NULL;
    size_t outlen = 0;
    if (read_head(fd, buf, sizeof buf, &len, &timed_out) == 0) {
        fcs_metrics_answer(m, buf, len, &out, &outlen);
    } else if (timed_out && len > 0) {
        pthread_mutex_lock(&m->mu);
        m->answered[4]++;
        pthread_mutex_unlock(&m->mu);
        static const char body[] = "408 Request Timeout\n";
        respond(&out, &outlen, 408, "text/plain; charset=utf-8", "", body, sizeof body - 1,
                false);
    }
    if (out)
        send_all(fd, out, outlen);
    free(out);
    shutdown(fd, SHUT_WR);
    close(fd);
}

static void *server_main(void *arg)
{
    fcs_metrics *m = arg;
    struct pollfd pf[2] = {{.fd = m->lfd, .events = POLLIN}, {.fd = m->wake[0], .events = POLLIN}};
    for (;;) {
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[1].revents)
            break;
        if (!(pf[0].revents & POLLIN))
            continue;
        int fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            serve_one(m, fd);
    }
    return NULL;
}

/* ---- set-up ---------------------------------------------------------------- */

/* "9464", "127.0.0.1:9464", "[::1]:9464" -> a socket address. */
static int parse_where(const char *where, struct sockaddr_storage *ss, socklen_t *sl, char *err,
                       size_t errlen)
{
    char host[64] = "127.0.0.1";
    const char *port = where;
    if (where[0] == '[') {
        const char *rb = strchr(where, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - where - 1) >= sizeof host) {
            snprintf(err, errlen, "--metrics %s: expected [IPv6]:PORT", where);
            return -1;
        }
        memcpy(host, where + 1, (size_t)(rb - where - 1));
        host[rb - where - 1] = '\0';
        port = rb + 2;
    } else if (strchr(where, ':')) {
        const char *c = strrchr(where, ':');
        if ((size_t)(c - where) >= sizeof host || c == where) {
            snprintf(err, errlen, "--metrics %s: expected ADDR:PORT", where);
            return -1;
        }
        memcpy(host, where, (size_t)(c - where));
        host[c - where] = '\0';
        port = c + 1;
    }
    char *e;
    unsigned long pn = strtoul(port, &e, 10);
    if (!*port || *e || pn == 0 || pn > 65535) {
        snprintf(err, errlen, "--metrics %s: the port must be 1..65535", where);
        return -1;
    }
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)pn);
        *sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)pn);
        *sl = sizeof *s6;
    } else {
        snprintf(err, errlen, "--metrics %s: %s is not a numeric IPv4 or IPv6 address", where,
                 host);
        return -1;
    }
    return 0;
}

fcs_metrics *fcs_metrics_open(const char *where, unsigned max_scripts, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_where(where, &ss, &sl, err, errlen) != 0)
        return NULL;
    fcs_metrics *m = calloc(1, sizeof *m);
    if (m)
        m->scripts = calloc((size_t)max_scripts + 1, sizeof *m->scripts);
    if (!m || !m->scripts) {
        if (m)
            free(m);
        snprintf(err, errlen, "--metrics: out of memory");
        return NULL;
    }
    m->max_scripts = max_scripts;
    m->wake[0] = m->wake[1] = -1;
    pthread_mutex_init(&m->mu, NULL);
    m->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (m->lfd < 0 || setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
        || bind(m->lfd, (struct sockaddr *)&ss, sl) != 0 || listen(m->lfd, 16) != 0) {
        snprintf(err, errlen, "--metrics %s: %s", where, strerror(errno));
        fcs_metrics_close(m);
        return NULL;
    }
    char ip[INET6_ADDRSTRLEN];
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    getsockname(m->lfd, (struct sockaddr *)&got, &gl);
    if (got.ss_family == AF_INET6) {
        const struct sockaddr_in6 *g6 = (const struct sockaddr_in6 *)&got;
        inet_ntop(AF_INET6, &g6->sin6_addr, ip, sizeof ip);
        snprintf(m->addr, sizeof m->addr, "[%s]:%u", ip, ntohs(g6->sin6_port));
    } else {
        const struct sockaddr_in *g4 = (const struct sockaddr_in *)&got;
        inet_ntop(AF_INET, &g4->sin_addr, ip, sizeof ip);
        snprintf(m->addr, sizeof m->addr, "%s:%u", ip, ntohs(g4->sin_port));
    }
    return m;
}

const char *fcs_metrics_address(const fcs_metrics *m)
{
    return m->addr;
}

int fcs_metrics_start(fcs_metrics *m, char *err, size_t errlen)
{
    if (pipe2(m->wake, O_CLOEXEC) != 0 || pthread_create(&m->thread, NULL, server_main, m) != 0) {
        snprintf(err, errlen, "--metrics: cannot start the server thread: %s", strerror(errno));
        return -1;
    }
    m->running = true;
    return 0;
}

void fcs_metrics_close(fcs_metrics *m)
{
    if (!m)
        return;
    if (m->running) {
        (void)!write(m->wake[1], "x", 1);
        pthread_join(m->thread, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (m->wake[i] >= 0)
            close(m->wake[i]);
    if (m->lfd >= 0)
        close(m->lfd);
    for (size_t i = 0; i <= FCS_METRICS_MAX_SERVERS; i++)
        free(m->servers[i].status);
    for (size_t i = 0; i < m->nscripts; i++)
        free(m->scripts[i].name);
    free(m->scripts);
    free(m->page);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
