/* gen.c — fcgiscope-bench-gen: a deterministic, streaming generator of large synthetic nginx -> php-fpm FastCGI captures.
 *
 * Normative reference: FastCGI Specification 1.0 (§3.3 records, §3.4
 * name-value pairs, §5 BEGIN/END_REQUEST, streams); RFC 9293 (TCP handshake,
 * sequence space, FIN close); the framing habits of nginx 1.22 and php-fpm 8.2
 * measured in ../shared/docs/FASTCGI.md; issue 6 (benchmark) for the traffic
 * model. Writes with the capture writer library of captures/gen (pcapw, netw,
 * fcgiw); nothing here parses FastCGI.
 *
 * Traffic model (fixed-seed PRNG, so the same options give the same bytes):
 *  - a pool of C concurrent kept-alive connections nginx (10.1.x.y) -> php-fpm
 *    (10.2.0.1:9000); when one closes another opens, so thousands of
 *    connections are interleaved in time over the capture;
 *  - each connection: SYN, SYN/ACK, ACK; 1-5 requests; client FIN, server
 *    FIN, client ACK (nginx closes its idle upstream connection);
 *  - request (nginx style): BEGIN_REQUEST (RESPONDER, KEEP_CONN), all params
 *    in one PARAMS record (the nginx fastcgi_params set plus HTTP_* headers),
 *    the empty PARAMS record, the body in 32768-byte STDIN records, the empty
 *    STDIN record; every record padded to 8; request id 1. 70% GET (no body),
 *    30% POST with a 1 B - 64 KiB body (log-uniform);
 *  - response (php-fpm style): the CGI header block and a 1-100 KiB body
 *    (log-uniform) in STDOUT records of at most 8184 content bytes padded to 8,
 *    then END_REQUEST without the empty STDOUT record (the decoder notes this
 *    as end_without_stdout_eos, once per request); statuses 200/302/403/404/500;
 *  - server latency 1-200 ms (log-uniform), think time 0-20 ms between the
 *    requests of a connection; segments of at most --mss payload bytes (1448:
 *    Ethernet with TCP timestamps; 65483: Linux loopback), the receiver ACKs
 *    every second segment and the last one.
 *
 * Memory is bounded by the pool: a connection holds its stream bytes only
 * while it transmits them; the file is streamed through stdio.
 */
#define _POSIX_C_SOURCE 200809L
#include "fcgiw.h"
#include "netw.h"
#include "pcapw.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG: splitmix64 (fixed seed, platform independent) ---------------- */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t rnd_range(uint64_t lo, uint64_t hi)
{
    return lo + rnd64() % (hi - lo + 1);
}

static double rnd_unit(void)
{
    return (double)(rnd64() >> 11) * (1.0 / 9007199254740992.0);
}

/* Log-uniform in [lo, hi]. */
static uint64_t rnd_logu(uint64_t lo, uint64_t hi)
{
    double v = exp(log((double)lo) + rnd_unit() * (log((double)hi + 1.0) - log((double)lo)));
    uint64_t r = (uint64_t)v;
    return r < lo ? lo : r > hi ? hi : r;
}

static void rnd_hex(char *out, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 16 == 0)
            v = rnd64();
        out[i] = hx[v & 15];
        v >>= 4;
    }
    out[n] = '\0';
}

/* ---- options ----------------------------------------------------------- */

typedef struct gen_opts {
    uint64_t size;          /* target file size in bytes */
    unsigned mss;           /* TCP payload bytes per segment */
    bool ns;
    bool pcapng;
    unsigned concurrency;
    uint64_t seed;
    const char *out;
    const char *summary;
} gen_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fcgiscope-bench-gen [options] -o FILE\n"
            "  -o FILE            output capture (\"-\": standard output)\n"
            "  --size N           target size, e.g. 5M, 100M, 1G (default 100M); the file ends\n"
            "                     within about one request per connection of it\n"
            "  --mss N            TCP payload bytes per segment (default 1448; 65483: loopback)\n"
            "  --ns               nanosecond timestamps (default microsecond)\n"
            "  --pcapng           write pcapng instead of classic pcap\n"
            "  --concurrency N    connections open at once (default 256)\n"
            "  --seed N           PRNG seed (default 1)\n"
            "  --summary FILE     write what was generated as one JSON object\n");
}

static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v <= 0)
        return false;
    double mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1e6, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1e9, end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end)
        return false;
    *out = (uint64_t)(v * mul);
    return true;
}

static bool parse_u(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v > max)
        return false;
    *out = v;
    return true;
}

/* ---- traffic tables ---------------------------------------------------- */

static const char *const scripts[] = {
    "/index.php", "/index.php", "/index.php", "/api/v1/products.php", "/api/v1/cart.php",
    "/api/v1/search.php", "/login.php", "/checkout.php", "/wp-admin/admin-ajax.php",
    "/account/orders.php", "/category.php", "/product.php", "/product.php", "/feed.php",
    "/upload.php", "/health.php",
};
#define NSCRIPTS (sizeof scripts / sizeof scripts[0])

static const char *const agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
    "curl/7.88.1",
};
#define NAGENTS (sizeof agents / sizeof agents[0])

static const char *const post_types[] = {
    "application/x-www-form-urlencoded", "application/json",
    "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
};

static const struct { int code; const char *line; unsigned weight; } statuses[] = {
    {200, NULL, 900}, {302, "302 Found", 30}, {403, "403 Forbidden", 10},
    {404, "404 Not Found", 40}, {500, "500 Internal Server Error", 20},
};
#define NSTATUSES (sizeof statuses / sizeof statuses[0])

/* Filler for bodies: printable bytes, generated once. */
enum { FILLER_LEN = 128 * 1024 };
static uint8_t filler[FILLER_LEN];

static void filler_init(void)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 <>/=\"\n";
    for (size_t i = 0; i < FILLER_LEN; i++)
        filler[i] = (uint8_t)alphabet[rnd64() % (sizeof alphabet - 1)];
}

/* ---- connections ------------------------------------------------------- */

enum phase { P_IDLE, P_SYNACK, P_ACK, P_REQ, P_RESP, P_FIN1, P_FIN2, P_LASTACK, P_RETIRED };

typedef struct conn {
    int64_t t;              /* time of the next event */
    enum phase phase;
    netw_tcp tcp;
    unsigned nreq, reqi;
    fcgiw_buf buf;          /* the stream being transmitted (only during P_REQ/P_RESP) */
    size_t off;
    unsigned segs;
    bool pending_ack;
    /* plan of the current request's response */
    int64_t latency_ns;
    size_t resp_body;
    unsigned status_idx;
} conn;

typedef struct gen {
    gen_opts o;
    pcapw *w;
    FILE *f;
    conn *c;
    unsigned *heap;         /* slot indices, min-heap on (t, slot) */
    unsigned nheap;
    uint64_t projected;     /* estimated file bytes of everything planned so far */
    bool draining;
    uint64_t next_conn_no;
    uint8_t frame[65536 + 512];
    fcgiw_buf params;
    /* summary */
    uint64_t connections, requests, gets, posts, stdin_bytes, stdout_bytes;
    uint64_t records, status_count[NSTATUSES];
    int64_t t_first, t_last;
} gen;

static const netw_link_opts link_eth = { .link = NETW_LINK_ETHERNET };
static const netw_ip_opts ip_opts = { .ttl = 64, .dont_fragment = true };

static bool before(const gen *g, unsigned a, unsigned b)
{
    return g->c[a].t < g->c[b].t || (g->c[a].t == g->c[b].t && a < b);
}

static void heap_push(gen *g, unsigned s)
{
    unsigned i = g->nheap++;
    g->heap[i] = s;
    while (i > 0) {
        unsigned p = (i - 1) / 2;
        if (!before(g, g->heap[i], g->heap[p]))
            break;
        unsigned x = g->heap[i]; g->heap[i] = g->heap[p]; g->heap[p] = x;
        i = p;
    }
}

static unsigned heap_pop(gen *g)
{
    unsigned top = g->heap[0];
    g->heap[0] = g->heap[--g->nheap];
    unsigned i = 0;
    for (;;) {
        unsigned l = 2 * i + 1, r = l + 1, m = i;
        if (l < g->nheap && before(g, g->heap[l], g->heap[m])) m = l;
        if (r < g->nheap && before(g, g->heap[r], g->heap[m])) m = r;
        if (m == i)
            break;
        unsigned x = g->heap[i]; g->heap[i] = g->heap[m]; g->heap[m] = x;
        i = m;
    }
    return top;
}

/* Per-packet file overhead: pcap record header + Ethernet/IPv4/TCP. */
enum { PKT_OVERHEAD = 16 + 14 + 20 + 20 };

static uint64_t stream_file_bytes(const gen *g, size_t len)
{
    uint64_t segs = (len + g->o.mss - 1) / g->o.mss;
    uint64_t acks = segs / 2 + 1;
    return len + (segs + acks) * PKT_OVERHEAD;
}

static void emit(gen *g, conn *c, int dir, uint8_t flags, const uint8_t *pay, size_t len)
{
    size_t n = netw_tcp_packet(&c->tcp, dir, flags, pay, len, g->frame, sizeof g->frame);
    if (n == 0) {
        fprintf(stderr, "fcgiscope-bench-gen: internal error: packet of %zu bytes not built\n", len);
        exit(2);
    }
    if (pcapw_packet(g->w, c->t, g->frame, n, n) != 0) {
        fprintf(stderr, "fcgiscope-bench-gen: %s: write error: %s\n", g->o.out, strerror(errno));
        exit(2);
    }
    if (pcapw_count(g->w) == 1)
        g->t_first = c->t;
    g->t_last = c->t;
}

static void nv(fcgiw_buf *b, const char *name, const char *value)
{
    fcgiw_nv_str(b, name, value);
}

/* Plan one request: its stream into c->buf, the response's plan into c. */
static void plan_request(gen *g, conn *c)
{
    const bool post = rnd_range(1, 100) <= 30;
    const char *script = scripts[rnd64() % NSCRIPTS];
    size_t body = post ? (size_t)rnd_logu(1, 65536) : 0;
    char query[96], uri[256], sfn[256], cl[24], rport[8], raddr[24], reqid[40], sess[40], xff[24];
    unsigned q = (unsigned)rnd_range(0, 3);
    if (q == 0)
        query[0] = '\0';
    else if (q == 1)
        snprintf(query, sizeof query, "id=%u", (unsigned)rnd_range(1, 99999));
    else if (q == 2)
        snprintf(query, sizeof query, "page=%u&sort=price&dir=asc", (unsigned)rnd_range(1, 50));
    else
        snprintf(query, sizeof query, "q=item%u&lang=en&utm_source=newsletter", (unsigned)rnd_range(1, 9999));
    snprintf(uri, sizeof uri, "%s%s%s", script, query[0] ? "?" : "", query);
    snprintf(sfn, sizeof sfn, "/var/www/html%s", script);
    snprintf(rport, sizeof rport, "%u", (unsigned)rnd_range(1024, 65535));
    snprintf(raddr, sizeof raddr, "198.51.100.%u", (unsigned)rnd_range(1, 254));
    snprintf(xff, sizeof xff, "203.0.113.%u", (unsigned)rnd_range(1, 254));
    rnd_hex(reqid, 32);
    rnd_hex(sess, 26);
    if (post)
        snprintf(cl, sizeof cl, "%zu", body);
    else
        cl[0] = '\0';
    const char *ctype = post ? post_types[rnd64() % 3] : "";

    fcgiw_buf *p = &g->params;
    fcgiw_buf_clear(p);
    nv(p, "SCRIPT_FILENAME", sfn);
    nv(p, "QUERY_STRING", query);
    nv(p, "REQUEST_METHOD", post ? "POST" : "GET");
    nv(p, "CONTENT_TYPE", ctype);
    nv(p, "CONTENT_LENGTH", cl);
    nv(p, "SCRIPT_NAME", script);
    nv(p, "REQUEST_URI", uri);
    nv(p, "DOCUMENT_URI", script);
    nv(p, "DOCUMENT_ROOT", "/var/www/html");
    nv(p, "SERVER_PROTOCOL", "HTTP/1.1");
    nv(p, "REQUEST_SCHEME", "https");
    nv(p, "HTTPS", "on");
    nv(p, "GATEWAY_INTERFACE", "CGI/1.1");
    nv(p, "SERVER_SOFTWARE", "nginx/1.22.1");
    nv(p, "REMOTE_ADDR", raddr);
    nv(p, "REMOTE_PORT", rport);
    nv(p, "SERVER_ADDR", "192.0.2.10");
    nv(p, "SERVER_PORT", "443");
    nv(p, "SERVER_NAME", "shop.example.com");
    nv(p, "REDIRECT_STATUS", "200");
    nv(p, "PATH_INFO", "");
    nv(p, "HTTP_HOST", "shop.example.com");
    nv(p, "HTTP_USER_AGENT", agents[rnd64() % NAGENTS]);
    nv(p, "HTTP_ACCEPT", post ? "application/json, text/plain, */*"
                              : "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8");
    nv(p, "HTTP_ACCEPT_LANGUAGE", "en-US,en;q=0.9,de;q=0.8");
    nv(p, "HTTP_ACCEPT_ENCODING", "gzip, deflate, br");
    {
        char cookie[160];
        char ga[20];
        rnd_hex(ga, 16);
        snprintf(cookie, sizeof cookie, "PHPSESSID=%s; _ga=GA1.2.%s; cart=%u", sess, ga,
                 (unsigned)rnd_range(0, 20));
        nv(p, "HTTP_COOKIE", cookie);
    }
    if (rnd_range(0, 1))
        nv(p, "HTTP_REFERER", "https://shop.example.com/index.php");
    nv(p, "HTTP_X_FORWARDED_FOR", xff);
    nv(p, "HTTP_X_REQUEST_ID", reqid);
    if (post) {
        nv(p, "HTTP_CONTENT_TYPE", ctype);
        nv(p, "HTTP_CONTENT_LENGTH", cl);
        nv(p, "HTTP_ORIGIN", "https://shop.example.com");
    }

    fcgiw_buf *b = &c->buf;
    fcgiw_buf_clear(b);
    fcgiw_begin(b, 1, FCGIW_RESPONDER, FCGIW_KEEP_CONN);
    const fcgiw_style params_style = { 65535, true };
    fcgiw_stream(b, FCGIW_PARAMS, 1, p->p, p->len, &params_style, true);
    const fcgiw_style stdin_style = { 32768, true };
    /* the body: filler from a random offset (body <= 64 KiB < FILLER_LEN) */
    size_t from = body ? (size_t)rnd_range(0, FILLER_LEN - body) : 0;
    fcgiw_stream(b, FCGIW_STDIN, 1, filler + from, body, &stdin_style, true);
    g->records += 3 + (body + 32767) / 32768 + 1;

    /* the response plan */
    c->latency_ns = (int64_t)rnd_logu(1000, 200000) * 1000 + (int64_t)rnd_range(0, 999);
    c->resp_body = (size_t)rnd_logu(1024, 100 * 1024);
    unsigned r = (unsigned)rnd_range(0, 999), acc = 0;
    c->status_idx = 0;
    for (unsigned i = 0; i < NSTATUSES; i++) {
        acc += statuses[i].weight;
        if (r < acc) {
            c->status_idx = i;
            break;
        }
    }

    g->requests++;
    if (post)
        g->posts++;
    else
        g->gets++;
    g->stdin_bytes += body;
    /* response: ~120 bytes of header, records of 8184, END_REQUEST */
    size_t resp_est = c->resp_body + 120 + 8 * ((c->resp_body + 120) / 8184 + 2) + 16;
    g->projected += stream_file_bytes(g, b->len) + stream_file_bytes(g, resp_est);
    c->off = 0;
    c->segs = 0;
    c->pending_ack = false;
}

static void build_response(gen *g, conn *c)
{
    char hdr[256];
    const unsigned si = c->status_idx;
    const bool json = rnd_range(0, 3) == 0;
    int hl;
    if (statuses[si].code == 302)
        hl = snprintf(hdr, sizeof hdr,
                      "Status: %s\r\nX-Powered-By: PHP/8.2.7\r\nLocation: https://shop.example.com/login.php\r\n"
                      "Content-type: text/html; charset=UTF-8\r\n\r\n", statuses[si].line);
    else if (statuses[si].line)
        hl = snprintf(hdr, sizeof hdr, "Status: %s\r\nX-Powered-By: PHP/8.2.7\r\nContent-type: %s\r\n\r\n",
                      statuses[si].line, json ? "application/json" : "text/html; charset=UTF-8");
    else
        hl = snprintf(hdr, sizeof hdr,
                      "X-Powered-By: PHP/8.2.7\r\nSet-Cookie: PHPSESSID=%08x; path=/; HttpOnly\r\n"
                      "Cache-Control: no-store, no-cache, must-revalidate\r\nContent-type: %s\r\n\r\n",
                      (unsigned)rnd64(), json ? "application/json" : "text/html; charset=UTF-8");
    fcgiw_buf *b = &c->buf;
    fcgiw_buf_clear(b);
    /* php-fpm: the whole output cut into records of at most 8184 content
     * bytes; header and body in one stream. Build it through a temporary
     * contiguous copy of header + body. */
    static fcgiw_buf out;
    fcgiw_buf_clear(&out);
    fcgiw_put(&out, hdr, (size_t)hl);
    size_t body = c->resp_body;
    size_t from = (size_t)rnd_range(0, FILLER_LEN - body);
    fcgiw_put(&out, filler + from, body);
    const fcgiw_style st = { 8184, true };
    fcgiw_stream(b, FCGIW_STDOUT, 1, out.p, out.len, &st, false);
    fcgiw_end(b, 1, 0, 0);
    g->stdout_bytes += out.len;
    g->records += (out.len + 8183) / 8184 + 1;
    g->status_count[si]++;
    c->off = 0;
    c->segs = 0;
    c->pending_ack = false;
}

static void start_conn(gen *g, conn *c)
{
    uint64_t n = g->next_conn_no++;
    netw_addr cli, srv;
    memset(&cli, 0, sizeof cli);
    memset(&srv, 0, sizeof srv);
    cli.family = 4;
    uint64_t block = n / 28232;
    cli.ip[0] = 10; cli.ip[1] = 1;
    cli.ip[2] = (uint8_t)(block >> 8);
    cli.ip[3] = (uint8_t)(1 + block % 254);
    cli.port = (uint16_t)(32768 + n % 28232);
    srv.family = 4;
    srv.ip[0] = 10; srv.ip[1] = 2; srv.ip[2] = 0; srv.ip[3] = 1;
    srv.port = 9000;
    netw_tcp_init(&c->tcp, &link_eth, &ip_opts, &cli, &srv, (uint32_t)rnd64(), (uint32_t)rnd64());
    c->tcp.window = 65535;
    c->nreq = (unsigned)rnd_range(1, 5);
    c->reqi = 0;
    g->connections++;
    g->projected += 7 * PKT_OVERHEAD;
}

static int64_t ser_ns(const gen *g, size_t len)
{
    /* 10 Gbit/s Ethernet: 0.8 ns a byte; loopback copies: ~40 Gbit/s */
    return g->o.mss > 9000 ? (int64_t)(len / 5) : (int64_t)(len * 4 / 5);
}

/* Transmit the next packet of c's current stream (dir 0 request, 1 response).
 * Returns true when the stream and its final ACK are done. */
static bool transmit(gen *g, conn *c, int dir)
{
    if (c->pending_ack) {
        emit(g, c, !dir, NETW_ACK, NULL, 0);
        c->pending_ack = false;
        if (c->off == c->buf.len)
            return true;
        c->t += (int64_t)rnd_range(200, 3000);
        return false;
    }
    size_t n = c->buf.len - c->off;
    if (n > g->o.mss)
        n = g->o.mss;
    bool last = c->off + n == c->buf.len;
    emit(g, c, dir, NETW_ACK | (last ? NETW_PSH : 0), c->buf.p + c->off, n);
    c->off += n;
    c->segs++;
    if (last || c->segs % 2 == 0) {
        c->pending_ack = true;
        c->t += ser_ns(g, n) + (int64_t)rnd_range(5000, 40000); /* receiver's delayed ACK */
    } else {
        c->t += ser_ns(g, n) + (int64_t)rnd_range(50, 2000);
    }
    return false;
}

/* Handle one event of slot s; returns false when the slot retires. */
static bool step(gen *g, conn *c)
{
    switch (c->phase) {
    case P_IDLE:
        if (g->draining || g->projected >= g->o.size) {
            g->draining = true;
            c->phase = P_RETIRED;
            return false;
        }
        start_conn(g, c);
        emit(g, c, 0, NETW_SYN, NULL, 0);
        c->phase = P_SYNACK;
        c->t += (int64_t)rnd_range(20000, 60000);
        return true;
    case P_SYNACK:
        emit(g, c, 1, NETW_SYN | NETW_ACK, NULL, 0);
        c->phase = P_ACK;
        c->t += (int64_t)rnd_range(10000, 40000);
        return true;
    case P_ACK:
        emit(g, c, 0, NETW_ACK, NULL, 0);
        plan_request(g, c);
        c->phase = P_REQ;
        c->t += (int64_t)rnd_range(10000, 100000);
        return true;
    case P_REQ:
        if (transmit(g, c, 0)) {
            build_response(g, c);
            c->phase = P_RESP;
            c->t += c->latency_ns;
        }
        return true;
    case P_RESP:
        if (transmit(g, c, 1)) {
            c->reqi++;
            if (g->projected >= g->o.size)
                g->draining = true;
            if (c->reqi < c->nreq && !g->draining) {
                plan_request(g, c);
                c->phase = P_REQ;
                c->t += (int64_t)rnd_range(100000, 20000000);
            } else {
                fcgiw_buf_free(&c->buf);
                c->phase = P_FIN1;
                c->t += (int64_t)rnd_range(1000000, 50000000);
            }
        }
        return true;
    case P_FIN1:
        emit(g, c, 0, NETW_FIN | NETW_ACK, NULL, 0);
        c->phase = P_FIN2;
        c->t += (int64_t)rnd_range(20000, 80000);
        return true;
    case P_FIN2:
        emit(g, c, 1, NETW_FIN | NETW_ACK, NULL, 0);
        c->phase = P_LASTACK;
        c->t += (int64_t)rnd_range(10000, 40000);
        return true;
    case P_LASTACK:
        emit(g, c, 0, NETW_ACK, NULL, 0);
        c->phase = P_IDLE;
        c->t += (int64_t)rnd_range(0, 5000000);
        return true;
    case P_RETIRED:
        return false;
    }
    return false;
}

static void json_summary(const gen *g, FILE *f, uint64_t file_bytes, uint64_t packets)
{
    fprintf(f,
            "{\"generator\":\"fcgiscope-bench-gen\",\"seed\":%llu,\"mss\":%u,\"precision\":\"%s\","
            "\"format\":\"%s\",\"concurrency\":%u,\"target_bytes\":%llu,\"file_bytes\":%llu,"
            "\"packets\":%llu,\"connections\":%llu,\"requests\":%llu,\"get\":%llu,\"post\":%llu,"
            "\"records\":%llu,\"stdin_bytes\":%llu,\"stdout_bytes\":%llu,\"first_ns\":%lld,\"last_ns\":%lld,"
            "\"statuses\":{",
            (unsigned long long)g->o.seed, g->o.mss, g->o.ns ? "nanosecond" : "microsecond",
            g->o.pcapng ? "pcapng" : "pcap", g->o.concurrency, (unsigned long long)g->o.size,
            (unsigned long long)file_bytes, (unsigned long long)packets,
            (unsigned long long)g->connections, (unsigned long long)g->requests,
            (unsigned long long)g->gets, (unsigned long long)g->posts,
            (unsigned long long)g->records, (unsigned long long)g->stdin_bytes,
            (unsigned long long)g->stdout_bytes, (long long)g->t_first, (long long)g->t_last);
    for (unsigned i = 0; i < NSTATUSES; i++)
        fprintf(f, "%s\"%d\":%llu", i ? "," : "", statuses[i].code,
                (unsigned long long)g->status_count[i]);
    fprintf(f, "}}\n");
}

int main(int argc, char **argv)
{
    gen_opts o = { .size = 100000000, .mss = 1448, .concurrency = 256, .seed = 1 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--ns")) {
            o.ns = true;
        } else if (!strcmp(a, "--pcapng")) {
            o.pcapng = true;
        } else if (!v) {
            fprintf(stderr, "fcgiscope-bench-gen: %s: missing value or unknown option\n", a);
            usage(stderr);
            return 2;
        } else if (!strcmp(a, "-o")) {
            o.out = v, i++;
        } else if (!strcmp(a, "--summary")) {
            o.summary = v, i++;
        } else if (!strcmp(a, "--size")) {
            if (!parse_size(v, &o.size)) {
                fprintf(stderr, "fcgiscope-bench-gen: --size %s: not a size\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--mss")) {
            if (!parse_u(v, 65483, &u) || u < 1) {
                fprintf(stderr, "fcgiscope-bench-gen: --mss %s: 1..65483\n", v);
                return 2;
            }
            o.mss = (unsigned)u, i++;
        } else if (!strcmp(a, "--concurrency")) {
            if (!parse_u(v, 100000, &u) || u < 1) {
                fprintf(stderr, "fcgiscope-bench-gen: --concurrency %s: 1..100000\n", v);
                return 2;
            }
            o.concurrency = (unsigned)u, i++;
        } else if (!strcmp(a, "--seed")) {
            if (!parse_u(v, UINT64_MAX, &o.seed)) {
                fprintf(stderr, "fcgiscope-bench-gen: --seed %s: not a number\n", v);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "fcgiscope-bench-gen: %s: unknown option\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!o.out) {
        usage(stderr);
        return 2;
    }

    static gen g;
    g.o = o;
    rng_state = o.seed;
    filler_init();
    g.f = strcmp(o.out, "-") ? fopen(o.out, "wb") : stdout;
    if (!g.f) {
        fprintf(stderr, "fcgiscope-bench-gen: %s: %s\n", o.out, strerror(errno));
        return 2;
    }
    setvbuf(g.f, NULL, _IOFBF, 1 << 20);
    pcapw_opts po = { .format = o.pcapng ? PCAPW_PCAPNG : PCAPW_PCAP, .ns = o.ns,
                      .linktype = PCAPW_LINKTYPE_ETHERNET, .snaplen = 262144 };
    g.w = pcapw_open(g.f, &po);
    g.c = calloc(o.concurrency, sizeof *g.c);
    g.heap = calloc(o.concurrency, sizeof *g.heap);
    if (!g.w || !g.c || !g.heap) {
        fprintf(stderr, "fcgiscope-bench-gen: out of memory or write error\n");
        return 2;
    }
    fcgiw_buf_init(&g.params);
    const int64_t t0 = (int64_t)1767225600 * 1000000000; /* 2026-01-01T00:00:00Z */
    g.projected = 24;
    for (unsigned s = 0; s < o.concurrency; s++) {
        fcgiw_buf_init(&g.c[s].buf);
        g.c[s].phase = P_IDLE;
        /* connections open over the first 500 ms */
        g.c[s].t = t0 + (int64_t)rnd_range(0, 500000000);
        heap_push(&g, s);
    }
    while (g.nheap > 0) {
        unsigned s = heap_pop(&g);
        if (step(&g, &g.c[s]))
            heap_push(&g, s);
    }
    uint64_t bytes = pcapw_offset(g.w), packets = pcapw_count(g.w);
    int rc = pcapw_close(g.w);
    if (fflush(g.f) != 0 || rc != 0 || (g.f != stdout && fclose(g.f) != 0)) {
        fprintf(stderr, "fcgiscope-bench-gen: %s: write error: %s\n", o.out, strerror(errno));
        return 2;
    }
    if (o.summary) {
        FILE *sf = strcmp(o.summary, "-") ? fopen(o.summary, "w") : stdout;
        if (!sf) {
            fprintf(stderr, "fcgiscope-bench-gen: %s: %s\n", o.summary, strerror(errno));
            return 2;
        }
        json_summary(&g, sf, bytes, packets);
        if (sf != stdout)
            fclose(sf);
    }
    for (unsigned s = 0; s < o.concurrency; s++)
        fcgiw_buf_free(&g.c[s].buf);
    fcgiw_buf_free(&g.params);
    free(g.c);
    free(g.heap);
    return 0;
}
