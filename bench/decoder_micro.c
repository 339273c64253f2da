/* decoder_micro.c — fcgiscope-bench-decoder: the decoder alone on in-memory FastCGI byte streams (records/s, GB/s).
 *
 * Normative reference: decoder/include/fsd/fsd.h (the decoder API);
 * FastCGI Specification 1.0 §3.3-§5 for the streams written here (with
 * captures/gen/fcgiw); bench/README.md (the benchmark).
 *
 *   fcgiscope-bench-decoder [--seconds S] [--requests N]
 *
 * Builds one kept-alive connection's two streams in memory: N requests in the
 * style of the capture generator (nginx params, 30% POST bodies up to 64 KiB in
 * 32768-byte STDIN records; php-fpm responses of 1-100 KiB in 8184-byte STDOUT
 * records, END_REQUEST without the empty STDOUT). Then, for each chunk size
 * (1448, 65483, whole request) and callback set, repeatedly feeds request i's
 * client bytes then its server bytes to a fresh fsd_conn until S seconds
 * passed, and prints records/s, requests/s and GB/s of stream bytes.
 * Callback sets: "none" (no callbacks), "tx" (on_transaction + on_anomaly, what
 * a request-level report needs), "all" (every callback, touching the spans).
 * Verifies each pass: every request delivered complete.
 */
#define _POSIX_C_SOURCE 200809L
#include "fcgiw.h"
#include "fsd/fsd.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 42;
static uint64_t rnd64(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t rnd_range(uint64_t lo, uint64_t hi) { return lo + rnd64() % (hi - lo + 1); }
/* Log-uniform without libm: a random power-of-two band, uniform within it. */
static uint64_t rnd_logu(uint64_t lo, uint64_t hi)
{
    unsigned blo = 63 - (unsigned)__builtin_clzll(lo), bhi = 63 - (unsigned)__builtin_clzll(hi);
    unsigned b = (unsigned)rnd_range(blo, bhi);
    uint64_t a = (uint64_t)1 << b, z = a * 2 - 1;
    if (a < lo) a = lo;
    if (z > hi) z = hi;
    return rnd_range(a, z);
}

typedef struct streams {
    fcgiw_buf cli, srv;
    size_t *cli_end, *srv_end;   /* end offset of request i in each stream */
    size_t n;
    uint64_t records;
} streams;

static void build(streams *s, size_t n)
{
    static uint8_t filler[128 * 1024];
    for (size_t i = 0; i < sizeof filler; i++)
        filler[i] = (uint8_t)('a' + rnd64() % 26);
    fcgiw_buf_init(&s->cli);
    fcgiw_buf_init(&s->srv);
    s->cli_end = calloc(n, sizeof *s->cli_end);
    s->srv_end = calloc(n, sizeof *s->srv_end);
    s->n = n;
    fcgiw_buf p, out;
    fcgiw_buf_init(&p);
    fcgiw_buf_init(&out);
    for (size_t i = 0; i < n; i++) {
        bool post = rnd_range(1, 100) <= 30;
        size_t body = post ? rnd_logu(1, 65536) : 0;
        char cl[24], uri[64], rid[40];
        snprintf(cl, sizeof cl, "%zu", body);
        snprintf(uri, sizeof uri, "/product.php?id=%u", (unsigned)rnd_range(1, 99999));
        snprintf(rid, sizeof rid, "%016llx%016llx", (unsigned long long)rnd64(), (unsigned long long)rnd64());
        fcgiw_buf_clear(&p);
        fcgiw_nv_str(&p, "SCRIPT_FILENAME", "/var/www/html/product.php");
        fcgiw_nv_str(&p, "QUERY_STRING", uri + 13);
        fcgiw_nv_str(&p, "REQUEST_METHOD", post ? "POST" : "GET");
        fcgiw_nv_str(&p, "CONTENT_TYPE", post ? "application/x-www-form-urlencoded" : "");
        fcgiw_nv_str(&p, "CONTENT_LENGTH", post ? cl : "");
        fcgiw_nv_str(&p, "SCRIPT_NAME", "/product.php");
        fcgiw_nv_str(&p, "REQUEST_URI", uri);
        fcgiw_nv_str(&p, "DOCUMENT_URI", "/product.php");
        fcgiw_nv_str(&p, "DOCUMENT_ROOT", "/var/www/html");
        fcgiw_nv_str(&p, "SERVER_PROTOCOL", "HTTP/1.1");
        fcgiw_nv_str(&p, "REQUEST_SCHEME", "https");
        fcgiw_nv_str(&p, "HTTPS", "on");
        fcgiw_nv_str(&p, "GATEWAY_INTERFACE", "CGI/1.1");
        fcgiw_nv_str(&p, "SERVER_SOFTWARE", "nginx/1.22.1");
        fcgiw_nv_str(&p, "REMOTE_ADDR", "198.51.100.7");
        fcgiw_nv_str(&p, "REMOTE_PORT", "53412");
        fcgiw_nv_str(&p, "SERVER_ADDR", "192.0.2.10");
        fcgiw_nv_str(&p, "SERVER_PORT", "443");
        fcgiw_nv_str(&p, "SERVER_NAME", "shop.example.com");
        fcgiw_nv_str(&p, "REDIRECT_STATUS", "200");
        fcgiw_nv_str(&p, "HTTP_HOST", "shop.example.com");
        fcgiw_nv_str(&p, "HTTP_USER_AGENT",
                     "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36");
        fcgiw_nv_str(&p, "HTTP_ACCEPT", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        fcgiw_nv_str(&p, "HTTP_ACCEPT_LANGUAGE", "en-US,en;q=0.9");
        fcgiw_nv_str(&p, "HTTP_ACCEPT_ENCODING", "gzip, deflate, br");
        fcgiw_nv_str(&p, "HTTP_COOKIE", "PHPSESSID=5c0a3b0e9d1f4a7b8c2d6e0f1a2b3c4d; cart=3");
        fcgiw_nv_str(&p, "HTTP_X_REQUEST_ID", rid);
        fcgiw_begin(&s->cli, 1, FCGIW_RESPONDER, FCGIW_KEEP_CONN);
        fcgiw_style ps = { 65535, true }, is = { 32768, true }, os = { 8184, true };
        fcgiw_stream(&s->cli, FCGIW_PARAMS, 1, p.p, p.len, &ps, true);
        fcgiw_stream(&s->cli, FCGIW_STDIN, 1, filler, body, &is, true);
        s->records += 4 + (body + 32767) / 32768;
        s->cli_end[i] = s->cli.len;

        size_t rb = rnd_logu(1024, 100 * 1024);
        fcgiw_buf_clear(&out);
        fcgiw_put_str(&out, "X-Powered-By: PHP/8.2.7\r\nContent-type: text/html; charset=UTF-8\r\n\r\n");
        fcgiw_put(&out, filler, rb);
        fcgiw_stream(&s->srv, FCGIW_STDOUT, 1, out.p, out.len, &os, false);
        fcgiw_end(&s->srv, 1, 0, 0);
        s->records += (out.len + 8183) / 8184 + 1;
        s->srv_end[i] = s->srv.len;
    }
    fcgiw_buf_free(&p);
    fcgiw_buf_free(&out);
}

typedef struct counters {
    uint64_t records, tx, complete, anomalies, touched;
} counters;

static void on_record(void *ud, const fsd_record_event *ev)
{
    counters *c = ud;
    c->records++;
    c->touched += ev->hdr.content_length;
}
static void on_param(void *ud, const fsd_param_event *ev)
{
    counters *c = ud;
    c->touched += ev->name.len + ev->value.len + (ev->value.len ? ev->value.ptr[0] : 0);
}
static void on_data(void *ud, const fsd_data_event *ev)
{
    counters *c = ud;
    c->touched += ev->data.len + ev->data.ptr[0];
}
static void on_response(void *ud, const fsd_response_event *ev)
{
    counters *c = ud;
    c->touched += (uint64_t)ev->status + ev->nheaders;
}
static void on_anomaly(void *ud, const fsd_anomaly_event *ev)
{
    counters *c = ud;
    c->anomalies += ev->id != FSD_A_end_without_stdout_eos;
}
static void on_transaction(void *ud, const fsd_transaction *tx)
{
    counters *c = ud;
    c->tx++;
    c->complete += tx->end_reason == FSD_END_COMPLETE;
    c->touched += tx->nparams + tx->method.len;
}

static void feed(fsd_conn *c, fsd_dir d, const uint8_t *p, size_t n, size_t chunk, uint64_t *tag)
{
    while (n > 0) {
        size_t k = n < chunk ? n : chunk;
        fsd_conn_feed(c, d, p, k, (int64_t)*tag * 1000, *tag);
        (*tag)++;
        p += k;
        n -= k;
    }
}

/* One pass over all requests; returns false on a verification failure. */
static bool pass(const streams *s, const fsd_callbacks *cb, size_t chunk, counters *cnt)
{
    fsd_conn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.cb = cb;
    cfg.ud = cnt;
    fsd_conn *c = fsd_conn_new(&cfg);
    if (!c)
        return false;
    uint64_t tag = 1;
    size_t c0 = 0, s0 = 0;
    for (size_t i = 0; i < s->n; i++) {
        feed(c, FSD_DIR_CLIENT, s->cli.p + c0, s->cli_end[i] - c0, chunk, &tag);
        feed(c, FSD_DIR_SERVER, s->srv.p + s0, s->srv_end[i] - s0, chunk, &tag);
        c0 = s->cli_end[i];
        s0 = s->srv_end[i];
    }
    fsd_conn_finish(c, (int64_t)tag * 1000, tag);
    fsd_conn_stats st;
    fsd_conn_get_stats(c, &st);
    fsd_conn_free(c);
    bool ok = st.transactions == s->n && st.dir[0].records + st.dir[1].records == s->records;
    return ok;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    size_t nreq = 200;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
            nreq = (size_t)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: fcgiscope-bench-decoder [--seconds S] [--requests N]\n");
            return 2;
        }
    }
    if (nreq == 0 || seconds <= 0) {
        fprintf(stderr, "fcgiscope-bench-decoder: --requests and --seconds must be positive\n");
        return 2;
    }
    streams s;
    memset(&s, 0, sizeof s);
    build(&s, nreq);
    const uint64_t bytes = s.cli.len + s.srv.len;
    printf("decoder micro-benchmark: %zu requests, %llu records, %.1f MB of stream per pass\n", nreq,
           (unsigned long long)s.records, (double)bytes / 1e6);
    printf("%-8s %-10s %8s %12s %12s %10s\n", "cb", "chunk", "passes", "records/s", "requests/s", "GB/s");

    const fsd_callbacks cb_none = { 0 };
    const fsd_callbacks cb_tx = { .on_anomaly = on_anomaly, .on_transaction = on_transaction };
    const fsd_callbacks cb_all = { on_record, on_param, on_data, on_response, on_anomaly, on_transaction };
    const struct { const char *name; const fsd_callbacks *cb; } sets[] = {
        {"none", &cb_none}, {"tx", &cb_tx}, {"all", &cb_all}};
    const struct { const char *name; size_t chunk; } chunks[] = {
        {"1448", 1448}, {"65483", 65483}, {"request", SIZE_MAX}};
    int rc = 0;
    for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++)
        for (size_t si = 0; si < sizeof sets / sizeof sets[0]; si++) {
            counters cnt;
            memset(&cnt, 0, sizeof cnt);
            unsigned passes = 0;
            double t0 = now(), t;
            do {
                if (!pass(&s, sets[si].cb, chunks[ci].chunk, &cnt)) {
                    fprintf(stderr, "fcgiscope-bench-decoder: verification failed (%s, %s)\n",
                            sets[si].name, chunks[ci].name);
                    rc = 1;
                    break;
                }
                passes++;
                t = now() - t0;
            } while (t < seconds);
            t = now() - t0;
            if (cnt.anomalies) {
                fprintf(stderr, "fcgiscope-bench-decoder: %llu unexpected anomalies\n",
                        (unsigned long long)cnt.anomalies);
                rc = 1;
            }
            printf("%-8s %-10s %8u %12.3e %12.3e %10.2f\n", sets[si].name, chunks[ci].name, passes,
                   (double)s.records * passes / t, (double)nreq * passes / t,
                   (double)bytes * passes / t / 1e9);
            fflush(stdout);
        }
    fcgiw_buf_free(&s.cli);
    fcgiw_buf_free(&s.srv);
    free(s.cli_end);
    free(s.srv_end);
    return rc;
}
