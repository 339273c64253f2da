/* metrics_test.c — unit tests of --metrics (analyzer/src/metrics.h): the
 * exposition page's numbers and escaping, bounded labels, and the HTTP
 * answers to well-formed and malformed requests, then one real scrape over
 * a socket.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"
#include "unit.h"

static req_rec request(const char *server, int status, const char *script, int64_t latency_ns)
{
    req_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.server, sizeof r.server, "%s", server);
    r.status = status;
    r.complete = latency_ns >= 0;
    r.end_reason = r.complete ? FSD_END_COMPLETE : FSD_END_RESET;
    r.user_outcome = r.complete ? FSD_USER_AS_ANSWERED : FSD_USER_BACKEND_FAILED;
    r.has_latency = r.has_ttfb = latency_ns >= 0;
    r.latency_ns = r.ttfb_ns = latency_ns;
    if (script) {
        r.script.p = (char *)script;
        r.script.len = strlen(script);
    }
    return r;
}

static char *page_of(fcs_metrics *m)
{
    char *buf = NULL;
    size_t cap = 0;
    size_t n = fcs_metrics_render(m, &buf, &cap);
    CHECK(buf && strlen(buf) == n, "page length");
    return buf;
}

static bool has_line(const char *page, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = page; (p = strstr(p, line)); p += n)
        if ((p == page || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static void test_page(void)
{
    char err[256];
    fcs_metrics *m = fcs_metrics_open("0", 2, err, sizeof err);
    CHECK(m == NULL && strstr(err, "1..65535"), "port 0 refused: %s", err);
    m = fcs_metrics_open("127.0.0.1:0x", 2, err, sizeof err);
    CHECK(m == NULL, "bad port");
    m = fcs_metrics_open("[::1", 2, err, sizeof err);
    CHECK(m == NULL && strstr(err, "[IPv6]:PORT"), "bad v6: %s", err);
    m = fcs_metrics_open("example.com:9", 2, err, sizeof err);
    CHECK(m == NULL && strstr(err, "numeric"), "host name: %s", err);

    m = fcs_metrics_open("127.0.0.1:39464", 2, err, sizeof err);
    if (!m) /* the port may be taken on a shared machine: any free one */
        m = fcs_metrics_open("127.0.0.1:39465", 2, err, sizeof err);
    CHECK(m != NULL, "open: %s", err);
    if (!m)
        return;
    req_rec a = request("10.0.0.1:9000", 200, "/index.php", 2000000);   /* 2 ms */
    req_rec b = request("10.0.0.1:9000", 502, "/slow.php", 1500000000); /* 1.5 s */
    req_rec c = request("10.0.0.2:9000", 0, "/a\"b\\c\n\xff%.php", -1);
    req_rec d = request("10.0.0.2:9000", 200, "/third.php", 70000000000); /* 70 s */
    fcs_metrics_request(m, &a);
    fcs_metrics_request(m, &a);
    fcs_metrics_request(m, &b);
    fcs_metrics_request(m, &c);
    fcs_metrics_request(m, &d);
    stats st;
    fcs_stats_init(&st, 0);
    fcs_stats_anomaly(&st, FSD_A_bad_version, FSD_SEV_ERROR, 7, "");
    fcs_stats_anomaly(&st, FSD_A_bad_version, FSD_SEV_ERROR, 9, "");
    fcs_stats_backend(&st, FSD_A_connection_refused, "10.0.0.3:9000");
    fcs_metrics_flight fl[] = {{"10.0.0.1:9000", 3}};
    fcs_metrics_totals t = {.st = &st, .have_drops = true, .received = 10, .dropped = 4,
                            .ifdropped = 1, .packets = 99, .flights = fl, .nflights = 1};
    fcs_metrics_update(m, &t);
    char *p = page_of(m);
    CHECK(has_line(p, "fcgiscope_requests_total{server=\"10.0.0.1:9000\",status=\"200\"} 2"), "200s\n%s", p);
    CHECK(has_line(p, "fcgiscope_requests_total{server=\"10.0.0.1:9000\",status=\"502\"} 1"), "502");
    CHECK(has_line(p, "fcgiscope_requests_total{server=\"10.0.0.2:9000\",status=\"none\"} 1"), "none");
    CHECK(has_line(p, "fcgiscope_requests_incomplete_total{server=\"10.0.0.2:9000\",end=\"reset\"} 1"), "incomplete");
    CHECK(has_line(p, "fcgiscope_request_outcomes_total{server=\"10.0.0.2:9000\",outcome=\"backend_failed\"} 1"), "outcome");
    CHECK(has_line(p, "fcgiscope_requests_in_flight{server=\"10.0.0.1:9000\"} 3"), "in flight");
    CHECK(has_line(p, "fcgiscope_requests_in_flight{server=\"10.0.0.2:9000\"} 0"), "in flight 0");
    /* buckets are cumulative: 2 ms twice (le 0.0025), 1.5 s (le 2.5), 70 s only in +Inf */
    CHECK(has_line(p, "fcgiscope_request_duration_seconds_bucket{server=\"10.0.0.1:9000\",le=\"0.001\"} 0"), "le 1ms");
    CHECK(has_line(p, "fcgiscope_request_duration_seconds_bucket{server=\"10.0.0.1:9000\",le=\"0.0025\"} 2"), "le 2.5ms");
    CHECK(has_line(p, "fcgiscope_request_duration_seconds_bucket{server=\"10.0.0.1:9000\",le=\"2.5\"} 3"), "le 2.5s");
    CHECK(has_line(p, "fcgiscope_request_duration_seconds_count{server=\"10.0.0.1:9000\"} 3"), "count");
    CHECK(has_line(p, "fcgiscope_request_duration_seconds_sum{server=\"10.0.0.1:9000\"} 1.504"), "sum");
    CHECK(has_line(p, "fcgiscope_request_duration_seconds_bucket{server=\"10.0.0.2:9000\",le=\"60\"} 0"), "70 s past 60");
    CHECK(has_line(p, "fcgiscope_request_duration_seconds_bucket{server=\"10.0.0.2:9000\",le=\"+Inf\"} 1"), "+Inf");
    /* two scripts get labels, the rest is "other"; traffic bytes escaped */
    CHECK(has_line(p, "fcgiscope_script_requests_total{script=\"/index.php\"} 2"), "script 1");
    CHECK(has_line(p, "fcgiscope_script_requests_total{script=\"/slow.php\"} 1"), "script 2");
    CHECK(has_line(p, "fcgiscope_script_requests_total{script=\"other\"} 2"), "other scripts");
    CHECK(!strstr(p, "third.php"), "third script not labelled");
    CHECK(has_line(p, "fcgiscope_anomalies_total{id=\"bad_version\",severity=\"error\"} 2"), "anomalies");
    CHECK(has_line(p, "fcgiscope_backend_connections_refused_total{server=\"10.0.0.3:9000\"} 1"), "refused");
    CHECK(has_line(p, "fcgiscope_capture_dropped_packets_total{where=\"kernel\"} 4"), "drops");
    CHECK(has_line(p, "fcgiscope_capture_packets_total 99"), "packets");
    CHECK(strstr(p, "fcgiscope_build_info{version=\"") != NULL, "build info");
    free(p);

    /* a script with quotes, backslash, newline, a non-ASCII byte and % */
    fcs_metrics_close(m);
    m = fcs_metrics_open("127.0.0.1:0", 4, err, sizeof err);
    CHECK(m == NULL, "port 0");
    m = fcs_metrics_open("[::1]:39466", 4, err, sizeof err);
    if (!m)
        m = fcs_metrics_open("127.0.0.1:39466", 4, err, sizeof err);
    CHECK(m != NULL, "open 2: %s", err);
    if (m) {
        fcs_metrics_request(m, &c);
        p = page_of(m);
        CHECK(has_line(p, "fcgiscope_script_requests_total{script=\"/a\\\"b\\\\c%0A%FF%25.php\"} 1"),
              "escaped script label\n%s", p);
        free(p);
        fcs_metrics_close(m);
    }
    fcs_stats_free(&st);
}

static size_t last_len;

static int answer(fcs_metrics *m, const char *head, char **out)
{
    return fcs_metrics_answer(m, head, strlen(head), out, &last_len);
}

static void test_http(void)
{
    char err[256], *out = NULL;
    fcs_metrics *m = fcs_metrics_open("127.0.0.1:39467", 0, err, sizeof err);
    if (!m)
        m = fcs_metrics_open("127.0.0.1:39468", 0, err, sizeof err);
    CHECK(m != NULL, "open: %s", err);
    if (!m)
        return;
    static const struct {
        const char *head;
        int code;
    } cases[] = {
        {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200},
        {"GET /metrics?x=1 HTTP/1.0\r\n\r\n", 200},
        {"HEAD /metrics HTTP/1.1\r\nAccept: */*\r\n\r\n", 200},
        {"GET / HTTP/1.1\r\n\r\n", 404},
        {"GET /metricsX HTTP/1.1\r\n\r\n", 404},
        {"POST /metrics HTTP/1.1\r\n\r\n", 405},
        {"GET /metrics HTTP/2.0\r\n\r\n", 400},
        {"GET  /metrics HTTP/1.1\r\n\r\n", 400},
        {"GET metrics HTTP/1.1\r\n\r\n", 400},
        {"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", 400},
        {"GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
        {"GET /metrics HTTP/1.1\r\nA: b\x01\r\n\r\n", 400},
        {"GET /metrics HTTP/1.1\r\n", 400},
        {"\x16\x03\x01\x02\x00\x01", 400},
        {"", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = answer(m, cases[i].head, &out);
        CHECK(code == cases[i].code, "case %zu: %d, want %d", i, code, cases[i].code);
        char want[32];
        snprintf(want, sizeof want, "HTTP/1.1 %d ", cases[i].code);
        CHECK(out && strncmp(out, want, strlen(want)) == 0, "case %zu status line", i);
        if (out && i == 2) /* HEAD: the GET's head (its Content-Length), no body */
            CHECK(last_len > 4 && memcmp(out + last_len - 4, "\r\n\r\n", 4) == 0
                      && strstr(out, "Content-Length: ") && atol(strstr(out, "Content-Length: ") + 16) > 100,
                  "HEAD: no body");
        if (out && i == 0) /* GET: a body as long as it says */
            CHECK(last_len - (size_t)(strstr(out, "\r\n\r\n") + 4 - out)
                      == (size_t)atol(strstr(out, "Content-Length: ") + 16),
                  "GET: Content-Length");
        free(out);
        out = NULL;
    }
    /* too long a head: 431 */
    size_t big = FCS_METRICS_MAX_REQUEST + 10;
    char *h = malloc(big + 1);
    memset(h, 'a', big);
    memcpy(h, "GET /metrics HTTP/1.1\r\nX: ", 26);
    h[big] = '\0';
    CHECK(answer(m, h, &out) == 431, "431");
    free(out);
    free(h);

    /* a real scrape over the socket, with the server thread */
    CHECK(fcs_metrics_start(m, err, sizeof err) == 0, "start: %s", err);
    const char *addr = fcs_metrics_address(m);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    sa.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
    for (int round = 0; round < 2; round++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect %s", addr);
        const char *req = round ? "BAD\r\n\r\n" : "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
        CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req), "send");
        char buf[65536];
        size_t got = 0;
        ssize_t n;
        while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)n;
        buf[got] = '\0';
        close(fd);
        if (round == 0)
            CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0
                      && strstr(buf, "text/plain; version=0.0.4")
                      && strstr(buf, "# TYPE fcgiscope_requests_total counter"),
                  "scrape:\n%s", buf);
        else
            CHECK(strncmp(buf, "HTTP/1.1 400 ", 13) == 0, "malformed over the socket: %s", buf);
    }
    fcs_metrics_close(m);
}

void suite_metrics(void)
{
    test_page();
    test_http();
}
