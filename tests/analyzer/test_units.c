/* test_units.c — unit tests of fcgiscope's escaping, histogram, time formatting and option parsing.
 *
 * Normative reference: RFC 8259 (JSON), RFC 4180 (CSV), RFC 3339, ECMA-48;
 * analyzer/src/esc.h, hist.h, opts.h, out.h for the documented contracts.
 * Run as `test_units SUITE` (esc, hist, opts, fmt); prints "N passed, N failed".
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "hist.h"
#include "opts.h"
#include "out.h"

static int passed, failed;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

/* ---- escaping ---- */

static void text_is(const char *in, size_t n, bool utf8, size_t maxc, const char *want)
{
    sbuf b;
    sbuf_init(&b);
    esc_text(&b, in, n, utf8, maxc);
    CHECK(!strcmp(sbuf_str(&b), want), "esc_text(%zu bytes, utf8=%d, max=%zu) = \"%s\", want \"%s\"",
          n, utf8, maxc, sbuf_str(&b), want);
    /* never a control byte or ESC in the output */
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.p[i];
        CHECK(c >= 0x20 && c != 0x7f, "esc_text output byte 0x%02x at %zu", c, i);
    }
    sbuf_free(&b);
}

static void json_is(const char *in, size_t n, const char *want)
{
    sbuf b;
    sbuf_init(&b);
    esc_json(&b, in, n);
    CHECK(!strcmp(sbuf_str(&b), want), "esc_json = %s, want %s", sbuf_str(&b), want);
    sbuf_free(&b);
}

static void csv_is(const char *in, const char *want)
{
    sbuf b;
    sbuf_init(&b);
    esc_csv(&b, in, strlen(in));
    CHECK(!strcmp(sbuf_str(&b), want), "esc_csv(%s) = %s, want %s", in, sbuf_str(&b), want);
    sbuf_free(&b);
}

/* A strict JSON string validator: quotes, escapes, UTF-8, no raw controls. */
static bool json_string_valid(const char *s, size_t n)
{
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return false;
    for (size_t i = 1; i < n - 1;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20)
            return false;
        if (c == '"')
            return false;
        if (c == '\\') {
            if (i + 1 >= n - 1)
                return false;
            char e = s[i + 1];
            if (strchr("\"\\/bfnrt", e)) {
                i += 2;
                continue;
            }
            if (e != 'u' || i + 6 > n - 1)
                return false;
            for (int k = 2; k < 6; k++)
                if (!strchr("0123456789abcdefABCDEF", s[i + k]))
                    return false;
            i += 6;
            continue;
        }
        unsigned cp;
        size_t l = utf8_decode((const unsigned char *)s + i, n - 1 - i, &cp);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

static void suite_esc(void)
{
    /* text */
    text_is("GET", 3, true, 0, "GET");
    text_is("a\\b", 3, true, 0, "a\\\\b");
    text_is("\x1b[31mred\x1b[0m", 12, true, 0, "\\x1b[31mred\\x1b[0m");
    text_is("l1\r\nl2\t", 7, true, 0, "l1\\r\\nl2\\t");
    text_is("\x7f\x00", 2, true, 0, "\\x7f\\x00");
    text_is("caf\xc3\xa9", 5, true, 0, "caf\xc3\xa9");
    text_is("caf\xc3\xa9", 5, false, 0, "caf\\xc3\\xa9");
    text_is("\xc2\x9b" "2J", 4, true, 0, "\\u{009b}2J");        /* C1 CSI */
    text_is("\xe2\x80\xae" "abc", 6, true, 0, "\\u{202e}abc");   /* RLO */
    text_is("\xff\xfe", 2, true, 0, "\\xff\\xfe");
    text_is("\xc0\xaf", 2, true, 0, "\\xc0\\xaf");               /* overlong */
    text_is("\xed\xa0\x80", 3, true, 0, "\\xed\\xa0\\x80");      /* surrogate */
    text_is("\xe2\x82", 2, true, 0, "\\xe2\\x82");               /* cut sequence */
    text_is("abcdefghij", 10, true, 10, "abcdefghij");
    text_is("abcdefghijk", 11, true, 10, "abcdefg...");
    text_is("\x1b\x1b\x1b", 3, true, 8, "\\x1b...");
    text_is("", 0, true, 0, "");
    /* every byte value alone and in pairs: no control byte ever passes */
    for (unsigned a = 0; a < 256; a++) {
        char in[2] = {(char)a, 'x'};
        sbuf b;
        sbuf_init(&b);
        esc_text(&b, in, 2, true, 0);
        bool clean = true;
        for (size_t i = 0; i < b.len; i++)
            if ((unsigned char)b.p[i] < 0x20 || (unsigned char)b.p[i] == 0x7f
                || (unsigned char)b.p[i] >= 0x80)
                clean = false;
        CHECK(clean, "esc_text byte 0x%02x leaks", a);
        sbuf_free(&b);
    }

    /* JSON */
    json_is("plain", 5, "\"plain\"");
    json_is("q\"b\\", 4, "\"q\\\"b\\\\\"");
    json_is("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
    json_is("\x1b\x01\x7f", 3, "\"\\u001b\\u0001\\u007f\"");
    json_is("\x00z", 2, "\"\\u0000z\"");
    json_is("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");
    json_is("\xff", 1, "\"\\u00ff\"");
    json_is("a\xc3", 2, "\"a\\u00c3\"");
    json_is("\xc2\x9b", 2, "\"\\u009b\"");
    json_is("\xe2\x80\xa8", 3, "\"\\u2028\"");
    json_is("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");
    /* random bytes: always valid JSON, and nothing dropped: each input byte
     * yields output (count code points) */
    uint32_t seed = 12345;
    for (int round = 0; round < 2000; round++) {
        char in[64];
        size_t n = (size_t)(round % 64);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = (char)(seed >> 16);
        }
        sbuf b;
        sbuf_init(&b);
        esc_json(&b, in, n);
        CHECK(json_string_valid(b.p, b.len), "esc_json invalid for round %d: %s", round, b.p);
        sbuf_free(&b);
    }

    /* CSV */
    csv_is("plain", "plain");
    csv_is("a,b", "\"a,b\"");
    csv_is("say \"hi\"", "\"say \"\"hi\"\"\"");
    csv_is("l1\r\nl2", "\"l1\r\nl2\"");
    csv_is("=1+2", "\"'=1+2\"");
    csv_is("+cmd", "\"'+cmd\"");
    csv_is("-2", "\"'-2\"");
    csv_is("@SUM(A1)", "\"'@SUM(A1)\"");
    csv_is("\tx", "\"'\tx\"");
    csv_is("=\"x\"", "\"'=\"\"x\"\"\"");
    csv_is("a=b", "a=b");
    csv_is("", "");
}

/* ---- histogram ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void suite_hist(void)
{
    /* bucket ranges tile the value space without holes */
    uint64_t prev_hi = 0;
    for (size_t i = 0; i < HIST_NBUCKETS; i++) {
        uint64_t lo, hi;
        hist_bucket_range(i, &lo, &hi);
        if (i)
            CHECK(lo == prev_hi + 1, "bucket %zu starts at %" PRIu64 ", previous ended at %" PRIu64,
                  i, lo, prev_hi);
        CHECK(hist_bucket(lo) == i && hist_bucket(hi) == i, "bucket %zu bounds map back", i);
        /* documented error: half a bucket <= 1/256 of its lower bound */
        CHECK((long double)(hi - lo) / 2 <= (long double)lo / 256 + 0.5, "bucket %zu too wide", i);
        prev_hi = hi;
    }
    CHECK(prev_hi == HIST_MAX_VALUE, "last bucket ends at HIST_MAX_VALUE");
    CHECK(hist_bucket(UINT64_MAX) == HIST_NBUCKETS - 1, "huge values clamp");

    hist h;
    hist_init(&h);
    CHECK(hist_percentile(&h, 50) == 0, "empty histogram");
    for (uint64_t v = 1; v <= 100; v++)
        hist_add(&h, v);
    CHECK(hist_percentile(&h, 50) == 50, "p50 of 1..100 exact below 256: %" PRIu64,
          hist_percentile(&h, 50));
    CHECK(hist_percentile(&h, 90) == 90, "p90 of 1..100");
    CHECK(hist_percentile(&h, 99) == 99, "p99 of 1..100");
    CHECK(hist_percentile(&h, 100) == 100 && h.max == 100 && h.min == 1, "max/min exact");
    hist_free(&h);

    /* random log-uniform latencies from 1 us to 100 s: every percentile
     * within 1% (documented bound; 0.4% by construction) of the exact one */
    enum { N = 200000 };
    uint64_t *v = malloc(N * sizeof *v);
    uint64_t seed = 42;
    hist_init(&h);
    for (size_t i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(seed >> 11) / 9007199254740992.0;
        v[i] = (uint64_t)(1000.0 * pow(10.0, u * 8.0));
        hist_add(&h, v[i]);
    }
    qsort(v, N, sizeof *v, cmp_u64);
    const double ps[] = {1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99};
    for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
        size_t rank = (size_t)ceil(ps[k] / 100.0 * N);
        uint64_t exact = v[rank - 1];
        uint64_t got = hist_percentile(&h, ps[k]);
        double rel = fabs((double)got - (double)exact) / (double)exact;
        CHECK(rel <= 0.01, "p%g: got %" PRIu64 " exact %" PRIu64 " (rel %.4f)", ps[k], got, exact, rel);
        CHECK(rel <= 1.0 / 256 + 1e-9, "p%g within 1/256: rel %.5f", ps[k], rel);
    }
    CHECK(hist_percentile(&h, 100) == v[N - 1], "max exact");
    CHECK(h.min == v[0], "min exact");
    CHECK(h.nb <= HIST_NBUCKETS, "bounded buckets");
    /* merge = adding everything to one */
    hist h2, h3;
    hist_init(&h2);
    hist_init(&h3);
    for (size_t i = 0; i < N; i += 2)
        hist_add(&h2, v[i]);
    for (size_t i = 1; i < N; i += 2)
        hist_add(&h3, v[i]);
    hist_merge(&h2, &h3);
    CHECK(h2.count == h.count && hist_percentile(&h2, 99) == hist_percentile(&h, 99), "merge");
    uint64_t in_range = hist_count_range(&h, 0, UINT64_MAX);
    CHECK(in_range == N, "count_range over everything = %" PRIu64, in_range);
    hist_free(&h);
    hist_free(&h2);
    hist_free(&h3);
    free(v);

    /* one value: every percentile is it */
    hist_init(&h);
    hist_add(&h, 123456789);
    CHECK(hist_percentile(&h, 50) == 123456789 && hist_percentile(&h, 1) == 123456789,
          "single value clamps to min/max");
    hist_free(&h);
}

/* ---- options ---- */

static int parse(opts *o, const char *line, char *err, size_t errlen)
{
    static char buf[1024];
    static char *argv[64];
    snprintf(buf, sizeof buf, "fcgiscope %s", line);
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    return opts_parse(o, argc, argv, err, errlen);
}

static void suite_opts(void)
{
    opts o;
    char err[256];

    CHECK(parse(&o, "a.pcap", err, sizeof err) == 0, "plain file: %s", err);
    CHECK(o.nfiles == 1 && !strcmp(o.files[0], "a.pcap") && o.format == FMT_TEXT && o.slowest == 10
              && o.fail_on == 0 && o.detect && opts_port_listed(&o, 9000) && !opts_port_listed(&o, 9001),
          "defaults");
    opts_free(&o);

    CHECK(parse(&o, "-p 9000,9001-9003 -f json --param HTTP_HOST --param=X --slowest 3 "
                    "--fail-on warning -o out.json -q -v -v a.pcap b.pcapng", err, sizeof err) == 0,
          "all options: %s", err);
    CHECK(o.nports == 2 && opts_port_listed(&o, 9002) && !opts_port_listed(&o, 9004)
              && !opts_port_listed(&o, 8999),
          "port list");
    CHECK(o.format == FMT_JSON && o.nparams == 2 && !strcmp(o.params[1], "X") && o.slowest == 3
              && o.fail_on == 2 && !strcmp(o.output, "out.json") && o.quiet && o.verbose == 2
              && o.nfiles == 2,
          "values");
    opts_free(&o);

    CHECK(parse(&o, "-fcsv -p9001 x", err, sizeof err) == 0 && o.format == FMT_CSV
              && opts_port_listed(&o, 9001),
          "attached short values");
    opts_free(&o);
    CHECK(parse(&o, "-qv x", err, sizeof err) == 0 && o.quiet && o.verbose == 1, "bundled flags");
    opts_free(&o);

    CHECK(parse(&o, "-i lo tcp port 9000", err, sizeof err) == 0 && !strcmp(o.iface, "lo")
              && o.filter && !strcmp(o.filter, "tcp port 9000") && o.nfiles == 0,
          "live with a filter: %s", o.filter ? o.filter : "(null)");
    opts_free(&o);
    CHECK(parse(&o, "-i lo -c 5 --duration 2.5", err, sizeof err) == 0 && o.count == 5
              && o.duration == 2.5 && !o.filter,
          "live limits");
    opts_free(&o);

    CHECK(parse(&o, "--max-flows 5000 --max-pending=7 a", err, sizeof err) == 0 && o.max_flows == 5000
              && o.max_pending == 7,
          "memory caps: %s", err);
    opts_free(&o);
    CHECK(parse(&o, "a", err, sizeof err) == 0 && o.read_ahead, "read-ahead on by default");
    opts_free(&o);
    CHECK(parse(&o, "--no-read-ahead a", err, sizeof err) == 0 && !o.read_ahead && o.nfiles == 1,
          "--no-read-ahead: %s", err);
    opts_free(&o);

    static const struct { const char *line, *msg; } bad[] = {
        {"", "no capture file"},
        {"-f xml a", "--format"},
        {"--fail-on fatal a", "--fail-on"},
        {"-p 0 a", "port 0"},
        {"-p 70000 a", "--port"},
        {"-p 9000- a", "--port"},
        {"-p 9005-9001 a", "--port"},
        {"-p 9000, a", "trailing comma"},
        {"--slowest -1 a", "--slowest"},
        {"--slowest x a", "--slowest"},
        {"--max-flows 0 a", "--max-flows"},
        {"--max-flows 100000001 a", "--max-flows"},
        {"--bogus a", "unknown option --bogus"},
        {"-Z a", "unknown option -Z"},
        {"-o", "needs a value"},
        {"--quiet=1 a", "takes no value"},
        {"-c 5 a", "live capture"},
        {"--duration 3 a", "live capture"},
        {"-i lo --duration 0", "--duration"},
        {"-i lo -c 0", "--count"},
        {"- -", "once"},
        {"-i lo -r a.pcap", "cannot be combined"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse(&o, bad[i].line, err, sizeof err);
        CHECK(rc == -1 && strstr(err, bad[i].msg), "\"%s\" -> rc %d, \"%s\" (want \"%s\")",
              bad[i].line, rc, err, bad[i].msg);
        opts_free(&o);
    }
    CHECK(parse(&o, "--help", err, sizeof err) == 0 && o.help, "--help without files");
    opts_free(&o);
    CHECK(parse(&o, "-- -weird-name.pcap", err, sizeof err) == 0 && o.nfiles == 1
              && !strcmp(o.files[0], "-weird-name.pcap"),
          "-- ends options");
    opts_free(&o);
    CHECK(parse(&o, "-r - ", err, sizeof err) == 0 && o.nfiles == 1 && !strcmp(o.files[0], "-"),
          "-r - (stdin)");
    opts_free(&o);
    CHECK(strstr(opts_usage, "--fail-on") && strstr(opts_usage, "--param")
              && strstr(opts_usage, "--slowest") && strstr(opts_usage, "-i IFACE")
              && strstr(opts_usage, "--max-flows") && strstr(opts_usage, "--no-read-ahead"),
          "usage mentions the contract options");
}

/* ---- formatting ---- */

static void suite_fmt(void)
{
    char b[64];
    fmt_rfc3339(b, sizeof b, INT64_C(1795661488881497000), false);
    CHECK(!strcmp(b, "2026-11-26T02:51:28.881497Z"), "rfc3339 us: %s", b);
    fmt_rfc3339(b, sizeof b, INT64_C(1795661488881497123), true);
    CHECK(!strcmp(b, "2026-11-26T02:51:28.881497123Z"), "rfc3339 ns: %s", b);
    fmt_rfc3339(b, sizeof b, 0, false);
    CHECK(!strcmp(b, "1970-01-01T00:00:00.000000Z"), "epoch: %s", b);
    fmt_rfc3339(b, sizeof b, -1, true);
    CHECK(!strcmp(b, "1969-12-31T23:59:59.999999999Z"), "before the epoch: %s", b);
    fmt_rfc3339(b, sizeof b, INT64_C(951782400) * 1000000000, false);
    CHECK(!strcmp(b, "2000-02-29T00:00:00.000000Z"), "leap day: %s", b);
    CHECK(ns_to_us(1499) == 1 && ns_to_us(1500) == 2 && ns_to_us(-1500) == -2 && ns_to_us(0) == 0
              && ns_to_us(2000) == 2 && ns_to_us(-1499) == -1
              && ns_to_us(INT64_MIN) == -9223372036854776 && ns_to_us(INT64_MAX) == 9223372036854776,
          "ns_to_us rounding");
    fmt_duration(b, sizeof b, 850, false);
    CHECK(!strcmp(b, "850ns"), "%s", b);
    fmt_duration(b, sizeof b, 12345, false);
    CHECK(!strcmp(b, "12.3us"), "%s", b);
    fmt_duration(b, sizeof b, 1234567, false);
    CHECK(!strcmp(b, "1.23ms"), "%s", b);
    fmt_duration(b, sizeof b, INT64_C(123000000000), false);
    CHECK(!strcmp(b, "2m03s"), "%s", b);
    fmt_count(b, sizeof b, 1234567);
    CHECK(!strcmp(b, "1,234,567"), "%s", b);
    fmt_count(b, sizeof b, 999);
    CHECK(!strcmp(b, "999"), "%s", b);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    bool all = !strcmp(which, "all");
    if (all || !strcmp(which, "esc"))
        suite_esc();
    if (all || !strcmp(which, "hist"))
        suite_hist();
    if (all || !strcmp(which, "opts"))
        suite_opts();
    if (all || !strcmp(which, "fmt"))
        suite_fmt();
    if (passed + failed == 0) {
        fprintf(stderr, "unknown suite %s\n", which);
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
