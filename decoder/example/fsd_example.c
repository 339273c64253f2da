/* fsd_example.c — decode one FastCGI exchange with libfsd and print its records, params, response, transaction and anomalies.
 *
 * Normative reference: decoder/include/fsd/fsd.h (the API this shows);
 * FastCGI Specification 1.0; docs/PROTOCOL.md (timing points).
 *
 *   fsd_example              decode a built-in nginx -> php-fpm exchange
 *   fsd_example FILE         decode FILE: lines "client" / "server" start a packet
 *                            of that direction (optionally followed by a time in
 *                            microseconds), other lines are hex bytes; # comments
 *   fsd_example -            the same from standard input
 *
 * Exit status: 0 decoded, 2 unreadable or malformed input file.
 */
#include "fsd/fsd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* input: packets of either direction                                 */

typedef struct packet {
    fsd_dir dir;
    int64_t ts_ns;
    uint8_t *data;
    size_t len, cap;
} packet;

typedef struct exchange {
    packet *p;
    size_t n;
} exchange;

static packet *new_packet(exchange *x, fsd_dir dir, int64_t ts)
{
    packet *np = realloc(x->p, (x->n + 1) * sizeof *x->p);
    if (!np) {
        perror("fsd_example");
        exit(2);
    }
    x->p = np;
    memset(&x->p[x->n], 0, sizeof x->p[x->n]);
    x->p[x->n].dir = dir;
    x->p[x->n].ts_ns = ts;
    return &x->p[x->n++];
}

static void put(packet *p, const void *b, size_t n)
{
    if (p->len + n > p->cap) {
        p->cap = (p->len + n) * 2 + 64;
        p->data = realloc(p->data, p->cap);
        if (!p->data) {
            perror("fsd_example");
            exit(2);
        }
    }
    if (n)
        memcpy(p->data + p->len, b, n);
    p->len += n;
}

/* FastCGI writer for the built-in example (writing FastCGI is fine outside the decoder). */
static void rec(packet *p, uint8_t type, uint16_t id, const void *content, size_t cl)
{
    static const uint8_t zeros[8];
    uint8_t pad = (uint8_t)((8 - cl % 8) % 8); /* nginx and php-fpm pad to 8 */
    uint8_t h[8] = { 1, type, (uint8_t)(id >> 8), (uint8_t)id, (uint8_t)(cl >> 8), (uint8_t)cl, pad, 0 };
    put(p, h, 8);
    put(p, content, cl);
    put(p, zeros, pad);
}

static void nv(uint8_t *buf, size_t *len, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    buf[(*len)++] = (uint8_t)nl; /* short names and values: 1-byte lengths */
    buf[(*len)++] = (uint8_t)vl;
    memcpy(buf + *len, name, nl);
    *len += nl;
    memcpy(buf + *len, value, vl);
    *len += vl;
}

static void builtin(exchange *x)
{
    static const char *params[][2] = {
        { "SCRIPT_FILENAME", "/var/www/html/index.php" }, { "QUERY_STRING", "name=world" },
        { "REQUEST_METHOD", "GET" }, { "CONTENT_TYPE", "" }, { "CONTENT_LENGTH", "" },
        { "SCRIPT_NAME", "/index.php" }, { "REQUEST_URI", "/index.php?name=world" },
        { "DOCUMENT_ROOT", "/var/www/html" }, { "SERVER_PROTOCOL", "HTTP/1.1" },
        { "GATEWAY_INTERFACE", "CGI/1.1" }, { "SERVER_SOFTWARE", "nginx/1.22.1" },
        { "REMOTE_ADDR", "127.0.0.1" }, { "SERVER_NAME", "localhost" }, { "HTTP_HOST", "localhost:8080" },
        { "HTTP_USER_AGENT", "curl/7.88.1" },
    };
    static const uint8_t begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 }; /* RESPONDER, no KEEP_CONN */
    static const char out[] = "X-Powered-By: PHP/8.2.7\r\nContent-type: text/html; charset=UTF-8\r\n\r\n"
                              "<h1>Hello, world</h1>\n";
    static const uint8_t end[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    uint8_t buf[1024];
    size_t len = 0;
    packet *p;
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        nv(buf, &len, params[i][0], params[i][1]);
    /* nginx: BEGIN, PARAMS, empty PARAMS and empty STDIN in one segment */
    p = new_packet(x, FSD_DIR_CLIENT, 1000000000);
    rec(p, FSD_BEGIN_REQUEST, 1, begin, 8);
    rec(p, FSD_PARAMS, 1, buf, len);
    rec(p, FSD_PARAMS, 1, NULL, 0);
    rec(p, FSD_STDIN, 1, NULL, 0);
    /* php-fpm, 1.8 ms later: STDOUT and END_REQUEST in one write, no empty STDOUT */
    p = new_packet(x, FSD_DIR_SERVER, 1001800000);
    rec(p, FSD_STDOUT, 1, out, sizeof out - 1);
    rec(p, FSD_END_REQUEST, 1, end, 8);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int load(const char *path, exchange *x)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    char line[4096];
    int lineno = 0;
    packet *cur = NULL;
    int64_t t = 0;
    if (!f) {
        fprintf(stderr, "fsd_example: %s: cannot open\n", path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char *p = line, *hash = strchr(line, '#');
        lineno++;
        if (hash)
            *hash = 0;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == 0)
            continue;
        if (strncmp(p, "client", 6) == 0 || strncmp(p, "server", 6) == 0) {
            long long us = 0;
            if (sscanf(p + 6, "%lld", &us) == 1)
                t = us * 1000;
            else
                t += 1000000;
            cur = new_packet(x, p[0] == 'c' ? FSD_DIR_CLIENT : FSD_DIR_SERVER, t);
            continue;
        }
        if (!cur) {
            fprintf(stderr, "fsd_example: %s:%d: bytes before a \"client\" or \"server\" line\n", path, lineno);
            goto bad;
        }
        while (*p) {
            uint8_t b;
            if (isspace((unsigned char)*p)) {
                p++;
                continue;
            }
            if (hexval(p[0]) < 0 || hexval(p[1]) < 0) {
                fprintf(stderr, "fsd_example: %s:%d: not a hex byte: \"%.8s\"\n", path, lineno, p);
                goto bad;
            }
            b = (uint8_t)(hexval(p[0]) * 16 + hexval(p[1]));
            put(cur, &b, 1);
            p += 2;
        }
    }
    if (f != stdin)
        fclose(f);
    return 0;
bad:
    if (f != stdin)
        fclose(f);
    return -1;
}

/* ------------------------------------------------------------------ */
/* output                                                             */

static void show(const char *prefix, fsd_span s, size_t max)
{
    printf("%s", prefix);
    if (s.ptr == NULL) {
        printf("-");
        return;
    }
    for (size_t i = 0; i < s.len && i < max; i++)
        putchar(s.ptr[i] >= 0x20 && s.ptr[i] < 0x7f ? s.ptr[i] : '.');
    if (s.len > max)
        printf("...");
}

static void free_exchange(exchange *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->p[i].data);
    free(x->p);
    x->p = NULL;
    x->n = 0;
}

static void on_record(void *ud, const fsd_record_event *ev)
{
    (void)ud;
    printf("%-6s %-17s id=%-3u", fsd_dir_name(ev->dir), fsd_type_name(ev->hdr.type), ev->hdr.request_id);
    if (ev->is_eos)
        printf(" end of stream");
    else if (ev->hdr.type == FSD_BEGIN_REQUEST && ev->body_valid)
        printf(" %s%s", fsd_role_name(ev->body.begin.role),
               ev->body.begin.flags & FSD_FLAG_KEEP_CONN ? ", KEEP_CONN" : "");
    else if (ev->hdr.type == FSD_END_REQUEST && ev->body_valid)
        printf(" appStatus=%u %s", ev->body.end.app_status, fsd_protocol_status_name(ev->body.end.protocol_status));
    else
        printf(" %u bytes", ev->hdr.content_length);
    if (ev->hdr.padding_length)
        printf(" (+%u padding)", ev->hdr.padding_length);
    printf("   [offset %llu]%s\n", (unsigned long long)ev->offset, ev->truncated ? " TRUNCATED" : "");
}

static void on_param(void *ud, const fsd_param_event *ev)
{
    (void)ud;
    show("         param  ", ev->name, 64);
    show(" = ", ev->value, 72);
    printf("\n");
}

static void on_response(void *ud, const fsd_response_event *ev)
{
    (void)ud;
    printf("         response header block: status %d", ev->status);
    if (ev->content_type.ptr)
        show(", Content-Type ", ev->content_type, 64);
    printf(", %zu header(s), %llu bytes%s\n", ev->nheaders, (unsigned long long)ev->header_len,
           ev->complete ? "" : " (incomplete)");
}

static void on_anomaly(void *ud, const fsd_anomaly_event *ev)
{
    (void)ud;
    printf("  %-7s %s: %s (%s, offset %llu%s%s)\n", fsd_severity_name(ev->severity), fsd_anomaly_name(ev->id),
           fsd_anomaly_summary(ev->id), fsd_dir_name(ev->dir), (unsigned long long)ev->offset,
           ev->detail[0] ? "; " : "", ev->detail);
}

static void ms(const char *name, fsd_timepoint a, fsd_timepoint b)
{
    if (a.set && b.set)
        printf("  %-13s %.3f ms\n", name, (double)(b.ns - a.ns) / 1e6);
    else
        printf("  %-13s -\n", name);
}

static void on_transaction(void *ud, const fsd_transaction *tx)
{
    (void)ud;
    printf("\ntransaction #%llu, request id %u (%s%s): ", (unsigned long long)tx->seq, tx->request_id,
           fsd_role_name(tx->role), (tx->flags & FSD_FLAG_KEEP_CONN) ? ", KEEP_CONN" : "");
    show("", tx->method, 16);
    show(" ", tx->uri, 200);
    printf(" -> HTTP %d", tx->http_status);
    if (tx->content_type.ptr)
        show(" ", tx->content_type, 64);
    printf("\n");
    show("  script        ", tx->script, 200);
    show("\n  host          ", tx->host, 200);
    printf("\n  params        %zu (%llu bytes)\n", tx->nparams, (unsigned long long)tx->params_bytes);
    printf("  stdin/stdout/stderr  %llu / %llu / %llu bytes\n", (unsigned long long)tx->stdin_bytes,
           (unsigned long long)tx->stdout_bytes, (unsigned long long)tx->stderr_bytes);
    printf("  end           %s, appStatus %u, %s\n", fsd_end_reason_name(tx->end_reason), tx->app_status,
           fsd_protocol_status_name(tx->protocol_status));
    ms("latency", tx->t_begin, tx->t_end);
    ms("ttfb", tx->t_begin, tx->t_first_response);
    ms("server time", tx->t_request_sent, tx->t_first_response);
    printf("  anomalies     ");
    if (tx->nanomalies == 0)
        printf("none");
    for (size_t i = 0; i < tx->nanomalies; i++)
        printf("%s%s (%s)", i ? ", " : "", fsd_anomaly_name(tx->anomalies[i].id),
               fsd_severity_name(tx->anomalies[i].severity));
    printf("\n\n");
}

int main(int argc, char **argv)
{
    static const fsd_callbacks cb = { on_record, on_param, NULL, on_response, on_anomaly, on_transaction };
    fsd_conn_config cfg;
    exchange x = { NULL, 0 };
    fsd_conn *c;
    fsd_conn_stats st;
    int64_t last = 0;

    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
        fprintf(stderr, "usage: fsd_example [FILE | -]\n"
                        "  without FILE: decode a built-in nginx -> php-fpm exchange\n"
                        "  FILE: \"client [us]\" / \"server [us]\" lines start packets, other lines hex bytes\n");
        return argc > 2 ? 2 : 0;
    }
    if (argc == 2) {
        if (load(argv[1], &x) != 0) {
            free_exchange(&x);
            return 2;
        }
        printf("fsd_example (libfsd %s): decoding %s\n\n", FSD_VERSION_STRING, argv[1]);
    } else {
        builtin(&x);
        printf("fsd_example (libfsd %s): decoding a built-in exchange, nginx -> php-fpm, GET /index.php\n\n",
               FSD_VERSION_STRING);
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.cb = &cb;
    c = fsd_conn_new(&cfg);
    if (!c) {
        fprintf(stderr, "fsd_example: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < x.n; i++) {
        fsd_conn_feed(c, x.p[i].dir, x.p[i].data, x.p[i].len, x.p[i].ts_ns, i + 1);
        last = x.p[i].ts_ns;
    }
    fsd_conn_close(c, FSD_DIR_SERVER, FSD_CLOSE_FIN, last, x.n + 1);
    fsd_conn_close(c, FSD_DIR_CLIENT, FSD_CLOSE_FIN, last, x.n + 2);
    fsd_conn_finish(c, last, x.n + 3);
    fsd_conn_get_stats(c, &st);
    printf("connection: %llu client bytes in %llu records, %llu server bytes in %llu records, %llu transaction(s)\n",
           (unsigned long long)st.dir[0].bytes, (unsigned long long)st.dir[0].records,
           (unsigned long long)st.dir[1].bytes, (unsigned long long)st.dir[1].records,
           (unsigned long long)st.transactions);
    fsd_conn_free(c);
    free_exchange(&x);
    return 0;
}
