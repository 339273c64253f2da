/* test_cgi.c — unit tests of the CGI response header block parser (cgi.c).
 *
 * Normative reference: RFC 3875 §6.2-§6.3; docs/PROTOCOL.md (Status: lives in STDOUT).
 */
#include "check.h"
#include "fsd_internal.h"

static fsd_conn *C;

typedef struct res {
    uint8_t state;
    size_t taken;
    fsd_cgi_result r;
    char ct[64], status_line[64];
} res;

static res run(const char *s, uint32_t max, size_t piece)
{
    fsd_cgi g;
    res out;
    size_t n = strlen(s), pos = 0;
    bool nomem = false;
    memset(&g, 0, sizeof g);
    memset(&out, 0, sizeof out);
    while (pos < n && g.state == FSD_CGI_HDR) {
        size_t k = piece && piece < n - pos ? piece : n - pos;
        out.taken += fsd_cgi_feed(C, &g, max, (const uint8_t *)s + pos, k, &nomem);
        pos += k;
    }
    out.state = g.state;
    if (g.state == FSD_CGI_DONE) {
        fsd_cgi_parse(C, &g, &out.r, true);
        if (out.r.ct_present)
            snprintf(out.ct, sizeof out.ct, "%.*s", (int)out.r.ct_len, (const char *)g.buf + out.r.ct_off);
        if (out.r.status_present)
            snprintf(out.status_line, sizeof out.status_line, "%.*s", (int)out.r.status_len,
                     (const char *)g.buf + out.r.status_off);
        {
            size_t nh = out.r.nheaders;
            fsd_cgi_free_headers(C, &out.r);
            out.r.nheaders = nh; /* count kept for the checks */
        }
    }
    fsd_cgi_release(C, &g);
    return out;
}

int main(void)
{
    res r;
    C = fsd_conn_new(NULL);
    for (size_t piece = 0; piece < 6; piece++) {
        r = run("Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\nbody", 1024, piece);
        CHECK_EQ(r.state, FSD_CGI_DONE);
        CHECK_EQ(r.taken, strlen("Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n"));
        CHECK_EQ(r.r.status, 404);
        CHECK_STR(r.status_line, "404 Not Found");
        CHECK_STR(r.ct, "text/html");
        CHECK_EQ(r.r.nheaders, 2);
    }
    r = run("content-type:text/plain\nX: y\n\nbody", 1024, 0); /* LF only, no space, any case */
    CHECK_EQ(r.state, FSD_CGI_DONE);
    CHECK_EQ(r.r.status, 200);
    CHECK(!r.r.status_present);
    CHECK_STR(r.ct, "text/plain");
    CHECK_EQ(r.taken, strlen("content-type:text/plain\nX: y\n\n"));
    r = run("STATUS:   302 Found  \r\n\n", 1024, 1); /* mixed line ends, padding spaces trimmed */
    CHECK_EQ(r.r.status, 302);
    CHECK_STR(r.status_line, "302 Found");
    r = run("Status: 2x0\r\n\r\n", 1024, 0);
    CHECK(r.r.status_bad);
    CHECK_EQ(r.r.status, 0);
    r = run("Status: 20\r\n\r\n", 1024, 0);
    CHECK(r.r.status_bad);
    r = run("\r\nbody", 1024, 0); /* empty block */
    CHECK_EQ(r.state, FSD_CGI_DONE);
    CHECK_EQ(r.taken, 2);
    CHECK_EQ(r.r.status, 200);
    CHECK_EQ(r.r.nheaders, 0);
    r = run("Garbage line\r\nStatus: 500\r\n\r\n", 1024, 0); /* a line without colon is skipped */
    CHECK_EQ(r.r.status, 500);
    CHECK_EQ(r.r.nheaders, 1);
    r = run("X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", 16, 3); /* cap: never buffers more */
    CHECK_EQ(r.state, FSD_CGI_CAPPED);
    CHECK_EQ(r.taken, 16);
    r = run("X: a\r\n\r\n", 8, 0); /* exactly at the cap is fine */
    CHECK_EQ(r.state, FSD_CGI_DONE);
    r = run("X: a\r\nY", 1024, 0); /* no blank line yet */
    CHECK_EQ(r.state, FSD_CGI_HDR);
    {
        fsd_conn_stats st;
        fsd_conn_get_stats(C, &st);
        CHECK(st.memory_bytes < 4096); /* buffers released */
    }
    fsd_conn_free(C);
    return check_done("test_cgi");
}
