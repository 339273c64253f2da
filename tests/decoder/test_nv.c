/* test_nv.c — unit tests of the incremental name-value parser (nv.c): chunking, straddling, caps, NUL/CR/LF scanning, overrun.
 *
 * Normative reference: FastCGI Specification 1.0 §3.4; docs/ANOMALIES.md (nv_* anomalies, CVE-2019-11043).
 */
#include "check.h"
#include "fsd_internal.h"

#include <stdlib.h>

typedef struct got {
    int n;
    char name[8][80];
    char value[8][300];
    fsd_pair p[8];
} got;

static void sink(fsd_conn *c, void *ctx, const fsd_pair *p)
{
    got *g = ctx;
    (void)c;
    if (g->n >= 8)
        return;
    memcpy(g->name[g->n], p->name, p->name_stored < 79 ? p->name_stored : 79);
    g->name[g->n][p->name_stored < 79 ? p->name_stored : 79] = 0;
    memcpy(g->value[g->n], p->value, p->value_stored < 299 ? p->value_stored : 299);
    g->value[g->n][p->value_stored < 299 ? p->value_stored : 299] = 0;
    g->p[g->n] = *p;
    g->n++;
}

static size_t pair(uint8_t *out, const char *n, size_t nl, const char *v, size_t vl, int long_lengths)
{
    size_t k = 0;
    if (long_lengths || nl > 127) {
        out[k++] = (uint8_t)(0x80 | (nl >> 24));
        out[k++] = (uint8_t)(nl >> 16);
        out[k++] = (uint8_t)(nl >> 8);
        out[k++] = (uint8_t)nl;
    } else {
        out[k++] = (uint8_t)nl;
    }
    if (long_lengths || vl > 127) {
        out[k++] = (uint8_t)(0x80 | (vl >> 24));
        out[k++] = (uint8_t)(vl >> 16);
        out[k++] = (uint8_t)(vl >> 8);
        out[k++] = (uint8_t)vl;
    } else {
        out[k++] = (uint8_t)vl;
    }
    memcpy(out + k, n, nl);
    memcpy(out + k + nl, v, vl);
    return k + nl + vl;
}

static fsd_timepoint T(int tag)
{
    return fsd_tp(tag * 10, (uint64_t)tag);
}

/* The same stream fed whole, byte by byte and at every cut gives the same pairs. */
static void test_chunking(fsd_conn *c)
{
    uint8_t buf[600];
    size_t n = 0;
    char big[200];
    memset(big, 'q', sizeof big);
    n += pair(buf + n, "REQUEST_METHOD", 14, "GET", 3, 0);
    n += pair(buf + n, "LONG", 4, big, sizeof big, 0);
    n += pair(buf + n, "E", 1, "", 0, 1);
    n += pair(buf + n, "", 0, "", 0, 0);
    for (size_t cut = 0; cut <= n; cut++) {
        got g;
        fsd_pair_parser p;
        memset(&g, 0, sizeof g);
        memset(&p, 0, sizeof p);
        if (cut == 0) {
            for (size_t i = 0; i < n; i++)
                fsd_nv_feed(c, &p, 65536, buf + i, 1, 100 + i, T(1), sink, &g);
        } else {
            fsd_nv_feed(c, &p, 65536, buf, cut, 100, T(1), sink, &g);
            fsd_nv_feed(c, &p, 65536, buf + cut, n - cut, 100 + cut, T(2), sink, &g);
        }
        CHECK_EQ(g.n, 4);
        CHECK_STR(g.name[0], "REQUEST_METHOD");
        CHECK_STR(g.value[0], "GET");
        CHECK_EQ(g.p[0].offset, 100);
        CHECK_EQ(g.p[0].end_offset, 100 + 2 + 17);
        CHECK_EQ(g.p[1].value_len, 200);
        CHECK_EQ(g.p[1].value_stored, 200);
        CHECK(!g.p[1].truncated);
        CHECK_STR(g.name[2], "E");
        CHECK_EQ(g.p[2].value_len, 0);
        CHECK_EQ(g.p[3].name_len, 0);
        CHECK_EQ(g.p[3].end_offset, 100 + n);
        CHECK(!g.p[0].straddled && !g.p[3].straddled);
        CHECK(!fsd_nv_stream_end(&p));
        fsd_nv_release(c, &p);
    }
}

static void test_straddle_and_overrun(fsd_conn *c)
{
    uint8_t buf[64];
    size_t n = pair(buf, "SCRIPT_FILENAME", 15, "/a.php", 6, 0);
    got g;
    fsd_pair_parser p;
    memset(&g, 0, sizeof g);
    memset(&p, 0, sizeof p);
    fsd_nv_feed(c, &p, 65536, buf, 5, 0, T(1), sink, &g);
    fsd_nv_record_end(&p);
    CHECK_EQ(g.n, 0);
    fsd_nv_feed(c, &p, 65536, buf + 5, n - 5, 13, T(2), sink, &g);
    fsd_nv_record_end(&p);
    CHECK_EQ(g.n, 1);
    CHECK(g.p[0].straddled);
    CHECK_EQ(g.p[0].at.tag, 1);
    /* a pair that ends exactly at a record end is not straddled */
    fsd_nv_feed(c, &p, 65536, buf, n, 100, T(3), sink, &g);
    fsd_nv_record_end(&p);
    CHECK_EQ(g.n, 2);
    CHECK(!g.p[1].straddled);
    /* overrun: a declared length longer than what the stream holds */
    fsd_nv_feed(c, &p, 65536, buf, n - 2, 200, T(4), sink, &g);
    fsd_nv_record_end(&p);
    CHECK(fsd_nv_stream_end(&p));
    CHECK_EQ(p.start_off, 200);
    CHECK_EQ(g.n, 2);
    /* after stream end the parser starts fresh */
    fsd_nv_feed(c, &p, 65536, buf, n, 300, T(5), sink, &g);
    CHECK_EQ(g.n, 3);
    /* a 4-byte length cut in the middle is an overrun too */
    {
        static const uint8_t part[2] = { 0x80, 0 };
        fsd_nv_feed(c, &p, 65536, part, 2, 400, T(6), sink, &g);
        CHECK(fsd_nv_stream_end(&p));
    }
    /* bytes lost inside a record: skip to its end, then continue */
    fsd_nv_feed(c, &p, 65536, buf, 4, 500, T(7), sink, &g);
    fsd_nv_break(&p);
    fsd_nv_feed(c, &p, 65536, buf + 10, n - 10, 510, T(7), sink, &g);
    CHECK_EQ(g.n, 3);
    fsd_nv_record_end(&p);
    fsd_nv_feed(c, &p, 65536, buf, n, 600, T(8), sink, &g);
    CHECK_EQ(g.n, 4);
    CHECK(!g.p[3].straddled);
    fsd_nv_release(c, &p);
}

static void test_cap_and_scans(fsd_conn *c)
{
    uint8_t buf[400];
    char v[300];
    size_t n;
    got g;
    fsd_pair_parser p;
    memset(v, 'x', sizeof v);
    memset(&g, 0, sizeof g);
    memset(&p, 0, sizeof p);
    /* cap 16: name 8 + 8 bytes of value stored, the rest counted; a NUL after the cap is still seen */
    v[250] = 0;
    n = pair(buf, "HTTP_FOO", 8, v, 300, 0);
    fsd_nv_feed(c, &p, 16, buf, n, 0, T(1), sink, &g);
    CHECK_EQ(g.n, 1);
    CHECK(g.p[0].truncated);
    CHECK_EQ(g.p[0].name_stored, 8);
    CHECK_EQ(g.p[0].value_stored, 8);
    CHECK_EQ(g.p[0].value_len, 300);
    CHECK(g.p[0].nul);
    CHECK(!g.p[0].ctl);
    /* CR/LF scanning only for path/query names; %0a/%0d in any case, raw CR or LF */
    {
        static const struct { const char *n, *v; int ctl; } cases[] = {
            { "PATH_INFO", "/a%0Ab", 1 }, { "REQUEST_URI", "/a%0db", 1 }, { "SCRIPT_NAME", "/a\nb", 1 },
            { "QUERY_STRING", "a=%0", 0 }, { "DOCUMENT_URI", "/%00a", 0 }, { "SCRIPT_FILENAME", "/x\r", 1 },
            { "HTTP_X", "/a%0Ab", 0 }, { "QUERY_STRING", "%%0a", 1 }, { "QUERY_STRING", "%0%0D", 1 },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            got h;
            memset(&h, 0, sizeof h);
            n = pair(buf, cases[i].n, strlen(cases[i].n), cases[i].v, strlen(cases[i].v), 0);
            for (size_t k = 0; k < n; k++) /* byte by byte: the %0a scanner spans pieces */
                fsd_nv_feed(c, &p, 65536, buf + k, 1, k, T(1), sink, &h);
            CHECK_EQ(h.n, 1);
            CHECK_EQ(h.p[0].ctl, cases[i].ctl);
        }
    }
    fsd_nv_release(c, &p);
}

int main(void)
{
    fsd_conn *c = fsd_conn_new(NULL);
    fsd_conn_stats st0, st1;
    fsd_conn_get_stats(c, &st0);
    test_chunking(c);
    test_straddle_and_overrun(c);
    test_cap_and_scans(c);
    fsd_conn_get_stats(c, &st1);
    CHECK_EQ(st1.memory_bytes, st0.memory_bytes); /* every pair buffer was released */
    fsd_conn_free(c);
    return check_done("test_nv");
}
