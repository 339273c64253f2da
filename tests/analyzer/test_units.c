/* test_units.c — unit tests of fcgiscope's escaping, histogram, time formatting and option parsing.
 *
 * Normative reference: RFC 8259 (JSON), RFC 4180 (CSV), RFC 3339, ECMA-48;
 * analyzer/src/esc.h, hist.h, opts.h, out.h for the documented contracts.
 * Run as `test_units SUITE` (esc, hist, opts, fmt); prints "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "hist.h"
#include "opts.h"
#include "out.h"
#include "rec.h"
#include "stats.h"

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

    CHECK(parse(&o, "--unix /run/php/x.sock -c 3 --duration 2", err, sizeof err) == 0
              && o.unix_path && !strcmp(o.unix_path, "/run/php/x.sock") && o.count == 3
              && o.duration == 2 && !o.iface && o.nfiles == 0,
          "--unix with live limits: %s", err);
    opts_free(&o);
    CHECK(parse(&o, "--relay /run/php/r.sock --to /run/php/x.sock -c 3 -w o.pcap", err, sizeof err) == 0
              && o.relay_path && !strcmp(o.relay_path, "/run/php/r.sock") && o.relay_to
              && !strcmp(o.relay_to, "/run/php/x.sock") && o.count == 3 && o.write_file
              && !o.unix_path && !o.iface && o.nfiles == 0,
          "--relay --to with live options: %s", err);
    opts_free(&o);
    CHECK(parse(&o, "-i lo -B 4096 --immediate tcp port 9000", err, sizeof err) == 0
              && o.buffer_kib == 4096 && o.immediate && o.filter && !strcmp(o.filter, "tcp port 9000"),
          "-B and --immediate with -i: %s", err);
    opts_free(&o);
    CHECK(parse(&o, "-i lo --buffer-size=256", err, sizeof err) == 0 && o.buffer_kib == 256
              && !o.immediate,
          "--buffer-size= at its minimum: %s", err);
    opts_free(&o);
    CHECK(parse(&o, "-i lo", err, sizeof err) == 0 && o.buffer_kib == 0 && !o.immediate,
          "-i: the default buffer, no immediate mode");
    opts_free(&o);
    CHECK(parse(&o, "-i lo -w out.pcap", err, sizeof err) == 0 && o.write_file
              && !strcmp(o.write_file, "out.pcap"),
          "-w with -i: %s", err);
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
        {"--unix /s -i lo", "--unix takes no -i"},
        {"--unix /s x.pcap", "--unix takes no -i"},
        {"--unix=", "--unix: empty path"},
        {"--relay /r", "--relay needs --to"},
        {"--to /s", "--to is for --relay"},
        {"--relay /r --to /s -i lo", "--relay takes no"},
        {"--relay /r --to /s --unix /s", "--relay takes no"},
        {"--relay /r --to /s x.pcap", "--relay takes no"},
        {"--relay= --to /s", "--relay: empty path"},
        {"--relay /r --to=", "--to: empty path"},
        {"-w x.pcap a.pcap", "-w/--write is for live capture"},
        {"-B 4096 a.pcap", "-B/--buffer-size is for live capture"},
        {"--immediate a.pcap", "--immediate is for live capture"},
        {"--unix /s -B 4096", "-B/--buffer-size and --immediate are for -i"},
        {"--relay /r --to /s --immediate", "-B/--buffer-size and --immediate are for -i"},
        {"-i lo -B 255", "--buffer-size: want KiB 256..2097151"},
        {"-i lo -B 2097152", "--buffer-size: want KiB"},
        {"-i lo --buffer-size=4k", "--buffer-size: want KiB"},
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
        {"--max-header 0 a", "--max-header"},
        {"--max-header x a", "--max-header"},
        {"--max-header -5 a", "--max-header"},
        {"--max-header 1048577 a", "--max-header"},
        {"--max-header", "needs a value"},
        {"--upstream-timeout 0 a", "--upstream-timeout"},
        {"--upstream-timeout -1 a", "--upstream-timeout"},
        {"--upstream-timeout 1s a", "--upstream-timeout"},
        {"--upstream-timeout nan a", "--upstream-timeout"},
        {"--upstream-timeout 86401 a", "--upstream-timeout"},
        {"--upstream-timeout 0.0004 a", "--upstream-timeout"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse(&o, bad[i].line, err, sizeof err);
        CHECK(rc == -1 && strstr(err, bad[i].msg), "\"%s\" -> rc %d, \"%s\" (want \"%s\")",
              bad[i].line, rc, err, bad[i].msg);
        opts_free(&o);
    }
    /* usage errors carry no hint of their own: main adds one "Try 'fcgiscope --help'" */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        parse(&o, bad[i].line, err, sizeof err);
        CHECK(!strstr(err, "help"), "\"%s\" -> \"%s\" names --help itself", bad[i].line, err);
        opts_free(&o);
    }
    /* --max-header / --upstream-timeout reach the decoder's limits */
    fsd_limits lim;
    CHECK(parse(&o, "a.pcap", err, sizeof err) == 0, "%s", err);
    fsd_limits_default(&lim);
    fsd_limits def = lim;
    opts_set_limits(&o, &lim);
    CHECK(!memcmp(&lim, &def, sizeof lim) && o.max_header == 0 && o.upstream_timeout_ms == 0,
          "no option: the decoder's defaults stay");
    opts_free(&o);
    CHECK(parse(&o, "--max-header 8192 --upstream-timeout 1.5 a.pcap", err, sizeof err) == 0, "%s", err);
    fsd_limits_default(&lim);
    opts_set_limits(&o, &lim);
    CHECK(o.max_header == 8192 && o.upstream_timeout_ms == 1500 && lim.web_server_header_bytes == 8192
              && lim.upstream_timeout_ms == 1500 && lim.max_cgi_header_bytes == def.max_cgi_header_bytes,
          "--max-header 8192 --upstream-timeout 1.5: %u %u -> limits %u %u %u", o.max_header,
          o.upstream_timeout_ms, lim.web_server_header_bytes, lim.upstream_timeout_ms,
          lim.max_cgi_header_bytes);
    opts_free(&o);
    CHECK(parse(&o, "--max-header=65536 --upstream-timeout=60 a.pcap", err, sizeof err) == 0, "%s", err);
    fsd_limits_default(&lim);
    opts_set_limits(&o, &lim);
    CHECK(lim.web_server_header_bytes == 65536 && lim.max_cgi_header_bytes == 65537
              && lim.upstream_timeout_ms == 60000,
          "--max-header above the decoder's cap raises the cap: %u %u %u", lim.web_server_header_bytes,
          lim.max_cgi_header_bytes, lim.upstream_timeout_ms);
    opts_free(&o);
    CHECK(strstr(opts_usage, "--max-header BYTES") && strstr(opts_usage, "--upstream-timeout SECS"),
          "usage names --max-header and --upstream-timeout");
    {
        size_t col = 0, widest = 0;
        for (const char *q = opts_usage; *q; q++) {
            col = *q == '\n' ? 0 : col + 1;
            if (col > widest)
                widest = col;
        }
        CHECK(widest <= 80, "--help is %zu columns wide", widest);
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

/* ---- request records: the 0.2.0 fields copied from a hand-made transaction ---- */

static const char *const no_params[1] = {NULL};

/* A transaction as the decoder would deliver it: BEGIN at 1 s (frame 7). */
static fsd_transaction tx_base(void)
{
    fsd_transaction tx;
    memset(&tx, 0, sizeof tx);
    tx.request_id = 1;
    tx.role = FSD_RESPONDER;
    tx.method = (fsd_span){(const uint8_t *)"GET", 3};
    tx.uri = (fsd_span){(const uint8_t *)"/slow.php", 9};
    tx.t_begin = (fsd_timepoint){INT64_C(1000000000), 7, true};
    tx.closed_by = -1;
    tx.user_outcome = FSD_USER_UNKNOWN;
    return tx;
}

static fsd_anomaly_event ev(fsd_anomaly_id id, fsd_severity sev)
{
    fsd_anomaly_event e;
    memset(&e, 0, sizeof e);
    e.id = id;
    e.severity = sev;
    e.in_transaction = true;
    return e;
}

/* Complete 200 the web server gave up on after 1 s (504), a client RST. */
static fsd_transaction tx_abandoned(fsd_anomaly_event *evs)
{
    fsd_transaction tx = tx_base();
    tx.has_end = true;
    tx.end_reason = FSD_END_COMPLETE;
    tx.http_status = 200;
    tx.status_source = FSD_STATUS_HEADER;
    tx.user_status = 504;
    tx.user_outcome = FSD_USER_GAVE_UP_TIMEOUT;
    tx.cgi_header_bytes = 5000;
    tx.t_end = (fsd_timepoint){INT64_C(4000000001), 40, true};
    tx.t_close = (fsd_timepoint){INT64_C(2000000000), 20, true};
    tx.closed_by = FSD_DIR_CLIENT;
    tx.closed_by_reset = true;
    tx.t_abandoned = (fsd_timepoint){INT64_C(2000000000), 20, true};
    tx.gap = true;
    evs[0] = ev(FSD_A_end_without_stdout_eos, FSD_SEV_NOTE);
    evs[1] = ev(FSD_A_request_abandoned, FSD_SEV_WARNING);
    evs[2] = ev(FSD_A_request_abandoned, FSD_SEV_NOTE);
    evs[3] = ev(FSD_A_reserved_nonzero, FSD_SEV_NOTE);
    tx.anomalies = evs;
    tx.nanomalies = 4;
    return tx;
}

static void suite_rec(void)
{
    fsd_anomaly_event evs[8];
    fsd_transaction tx = tx_abandoned(evs);
    req_rec r;
    CHECK(rec_from_tx(&r, &tx, no_params, 0), "rec_from_tx");
    CHECK(r.status == 200 && r.status_source == FSD_STATUS_HEADER && r.user_status == 504
              && r.user_outcome == FSD_USER_GAVE_UP_TIMEOUT && r.cgi_header_bytes == 5000,
          "user status copied: %d %d %d %d", r.status, (int)r.status_source, r.user_status,
          (int)r.user_outcome);
    CHECK(r.has_latency && r.has_elapsed && r.elapsed_ns == r.latency_ns
              && r.elapsed_ns == INT64_C(3000000001),
          "complete: elapsed == latency (%" PRId64 ", %" PRId64 ")", r.elapsed_ns, r.latency_ns);
    CHECK(r.has_close && r.closed_by == FSD_DIR_CLIENT && r.closed_by_reset, "closed_by client, rst");
    CHECK(r.has_abandoned && r.abandoned_ns == INT64_C(1000000000), "abandoned after 1 s: %" PRId64,
          r.abandoned_ns);
    CHECK(r.gap, "gap copied");
    CHECK(r.worst == FSD_SEV_WARNING, "worst severity: %d", (int)r.worst);
    CHECK(rec_anomaly_severity(&r, FSD_A_request_abandoned) == FSD_SEV_WARNING
              && rec_anomaly_severity(&r, FSD_A_end_without_stdout_eos) == FSD_SEV_NOTE
              && rec_anomaly_severity(&r, FSD_A_desync) == 0,
          "per-id severity: the worst event of that id");
    rec_set_end_time(&r, INT64_C(9000000000));
    CHECK(r.elapsed_ns == INT64_C(3000000001), "a complete request keeps its elapsed time");
    req_rec cp;
    CHECK(rec_copy(&cp, &r) && cp.user_status == 504 && cp.elapsed_ns == r.elapsed_ns
              && cp.closed_by == FSD_DIR_CLIENT && cp.gap
              && rec_anomaly_severity(&cp, FSD_A_request_abandoned) == FSD_SEV_WARNING,
          "rec_copy keeps the new fields");
    rec_free(&cp);
    /* the inline form gives the same record */
    size_t need = rec_tx_size(&tx, no_params, 0);
    void *block = malloc(need ? need : 1);
    req_rec in;
    rec_from_tx_inline(&in, &tx, no_params, 0, block);
    CHECK(in.user_status == r.user_status && in.user_outcome == r.user_outcome
              && in.elapsed_ns == r.elapsed_ns && in.abandoned_ns == r.abandoned_ns
              && in.closed_by == r.closed_by && in.closed_by_reset == r.closed_by_reset
              && in.gap == r.gap && in.status_source == r.status_source,
          "rec_from_tx_inline == rec_from_tx");
    rec_free(&in);
    free(block);
    rec_free(&r);

    /* incomplete, the server reset at 2.5 s: elapsed to the close, not to the delivery */
    tx = tx_base();
    tx.end_reason = FSD_END_RESET;
    tx.http_status = 200;
    tx.user_status = 0;
    tx.user_outcome = FSD_USER_BACKEND_FAILED;
    tx.t_last = (fsd_timepoint){INT64_C(2400000000), 24, true};
    tx.t_close = (fsd_timepoint){INT64_C(2500000000), 25, true};
    tx.closed_by = FSD_DIR_SERVER;
    rec_from_tx(&r, &tx, no_params, 0);
    CHECK(!r.complete && !r.has_latency && r.has_elapsed && r.elapsed_ns == INT64_C(1500000000),
          "incomplete: elapsed to t_close: %" PRId64, r.elapsed_ns);
    CHECK(r.closed_by == FSD_DIR_SERVER && !r.closed_by_reset && r.user_status == 0 && !r.has_abandoned,
          "closed by server (fin)");
    /* closed: delivered at the close that ended the connection (the web
     * server's own FIN after the application's): it lasted until then */
    r.end_reason = FSD_END_CLOSED;
    rec_set_end_time(&r, INT64_C(2600000000));
    CHECK(r.elapsed_ns == INT64_C(1600000000), "closed: elapsed to the connection's end: %" PRId64,
          r.elapsed_ns);
    rec_set_end_time(&r, INT64_C(2000000000));
    CHECK(r.elapsed_ns == INT64_C(1600000000), "an earlier delivery time does not shorten it");
    r.end_reason = FSD_END_CAPTURE;
    r.elapsed_ns = INT64_C(1500000000);
    rec_set_end_time(&r, INT64_C(9000000000));
    CHECK(r.elapsed_ns == INT64_C(1500000000), "capture end after a known close: the close stays");
    rec_free(&r);

    /* incomplete without a close: to the last byte seen */
    tx.t_close.set = false;
    tx.closed_by = -1;
    rec_from_tx(&r, &tx, no_params, 0);
    CHECK(r.elapsed_ns == INT64_C(1400000000) && r.closed_by == -1 && !r.has_close,
          "elapsed to t_last: %" PRId64, r.elapsed_ns);
    rec_free(&r);

    /* capture end: elapsed runs to the capture's end */
    tx.end_reason = FSD_END_CAPTURE;
    rec_from_tx(&r, &tx, no_params, 0);
    rec_set_end_time(&r, INT64_C(6000000000));
    CHECK(r.elapsed_ns == INT64_C(5000000000), "capture_end: elapsed to the end: %" PRId64, r.elapsed_ns);
    rec_free(&r);

    /* nothing known (what the placeholder decoder gives): the delivery time */
    tx.t_last.set = false;
    tx.end_reason = FSD_END_CLOSED;
    rec_from_tx(&r, &tx, no_params, 0);
    CHECK(!r.has_elapsed, "no time known: no elapsed yet");
    rec_set_end_time(&r, INT64_C(3250000000));
    CHECK(r.has_elapsed && r.elapsed_ns == INT64_C(2250000000), "delivery time as the end: %" PRId64,
          r.elapsed_ns);
    rec_free(&r);

    /* a bogus closed_by is not passed on */
    tx.closed_by = 5;
    tx.closed_by_reset = true;
    rec_from_tx(&r, &tx, no_params, 0);
    CHECK(r.closed_by == -1 && !r.closed_by_reset, "closed_by 5 -> none");
    rec_free(&r);
    /* no BEGIN seen: no elapsed, nothing invented */
    tx = tx_base();
    tx.t_begin.set = false;
    tx.t_last = (fsd_timepoint){INT64_C(2400000000), 24, true};
    tx.end_reason = FSD_END_CAPTURE;
    rec_from_tx(&r, &tx, no_params, 0);
    rec_set_end_time(&r, INT64_C(6000000000));
    CHECK(!r.has_elapsed, "no BEGIN: no elapsed");
    rec_free(&r);
}

/* ---- reports of hand-made records ---- */

static size_t render_width; /* the terminal's columns (0: not a terminal) */

static char *render(const opts *o, bool ns, bool utf8, bool live, void (*fn)(out_ctx *, void *), void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    out_ctx c;
    out_init(&c, f, o, ns, false, utf8, live);
    c.width = render_width;
    fn(&c, arg);
    out_free(&c);
    fclose(f);
    return buf;
}

static void do_request(out_ctx *c, void *arg)
{
    out_begin(c);
    out_request(c, arg);
}

/* The CSV cell under column name (cells without quotes only). */
static bool csv_cell(const char *csv, const char *name, char *out, size_t outlen)
{
    const char *row = strstr(csv, "\r\n");
    if (!row)
        return false;
    row += 2;
    int want = -1, k = 0;
    for (const char *p = csv; p < row - 2; k++) {
        const char *e = strpbrk(p, ",\r");
        if ((size_t)(e - p) == strlen(name) && !strncmp(p, name, (size_t)(e - p)))
            want = k;
        p = e + 1;
    }
    if (want < 0)
        return false;
    const char *p = row;
    for (k = 0; k < want; k++)
        p = strpbrk(p, ",") + 1;
    size_t n = strcspn(p, ",\r");
    snprintf(out, outlen, "%.*s", (int)n, p);
    return true;
}

static size_t max_line_cols(const char *s)
{
    size_t widest = 0, col = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n') {
            col = 0;
            continue;
        }
        if ((*p & 0xC0) != 0x80)
            col++;
        if (col > widest)
            widest = col;
    }
    return widest;
}

typedef struct summ_arg {
    stats *st;
} summ_arg;

static void do_summary(out_ctx *c, void *arg)
{
    summ_arg *a = arg;
    out_summary s;
    memset(&s, 0, sizeof s);
    s.st = a->st;
    s.c.connections = 1;
    s.t.flows_seen = 1;
    out_summary_write(c, &s);
}

static void suite_out(void)
{
    opts o;
    char err[256], cellv[64];
    parse(&o, "a.pcap", err, sizeof err);
    fsd_anomaly_event evs[8];
    fsd_transaction tx = tx_abandoned(evs);
    req_rec r;
    rec_from_tx(&r, &tx, no_params, 0);

    o.format = FMT_JSON;
    char *j = render(&o, false, true, false, do_request, &r);
    static const char *const want[] = {
        "\"severity\":\"warning\"", "\"status_source\":\"header\"", "\"user_status\":504",
        "\"user_outcome\":\"gave_up_timeout\"", "\"elapsed_us\":3000000,", "\"closed_by\":\"client\"",
        "\"close\":\"rst\"", "\"abandoned_after_us\":1000000,", "\"gap\":true", "\"status\":200,",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK(strstr(j, want[i]), "JSON has %s: %s", want[i], j);
    CHECK(!strstr(j, "elapsed_ns") && !strstr(j, "abandoned_after_ns"), "no _ns twins on a us capture");
    free(j);
    j = render(&o, true, true, false, do_request, &r);
    CHECK(strstr(j, "\"elapsed_ns\":3000000001") && strstr(j, "\"abandoned_after_ns\":1000000000"),
          "ns twins: %s", j);
    free(j);

    /* the nulls */
    req_rec n = r;
    n.user_status = 0;
    n.closed_by = -1;
    n.closed_by_reset = true;
    n.has_abandoned = false;
    n.has_elapsed = false;
    n.worst = 0;
    n.gap = false;
    n.status_source = FSD_STATUS_NONE;
    j = render(&o, true, true, false, do_request, &n);
    static const char *const nulls[] = {
        "\"severity\":null", "\"user_status\":null", "\"elapsed_us\":null", "\"elapsed_ns\":null",
        "\"closed_by\":null", "\"close\":null", "\"abandoned_after_us\":null", "\"gap\":false",
        "\"status_source\":\"none\"",
    };
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        CHECK(strstr(j, nulls[i]), "JSON has %s: %s", nulls[i], j);
    free(j);

    /* CSV: the columns after anomalies (file first, SPEC order), before the params */
    o.format = FMT_CSV;
    char *cs = render(&o, false, true, false, do_request, &r);
    {
        static const char cols[] = ",anomalies,file,severity,status_source,user_status,user_outcome,"
                                   "elapsed_us,closed_by,close,abandoned_after_us,gap";
        const char *h = strstr(cs, cols);
        CHECK(h && (h[sizeof cols - 1] == ',' || h[sizeof cols - 1] == '\r') && h < strstr(cs, "\r\n"),
              "CSV header: %s", cs);
    }
    static const struct { const char *col, *val; } cells[] = {
        {"severity", "warning"}, {"status_source", "header"}, {"user_status", "504"},
        {"user_outcome", "gave_up_timeout"}, {"elapsed_us", "3000000"}, {"closed_by", "client"},
        {"close", "rst"}, {"abandoned_after_us", "1000000"}, {"gap", "true"}, {"status", "200"},
    };
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++)
        CHECK(csv_cell(cs, cells[i].col, cellv, sizeof cellv) && !strcmp(cellv, cells[i].val),
              "CSV %s = \"%s\", want %s", cells[i].col, cellv, cells[i].val);
    free(cs);
    cs = render(&o, true, true, false, do_request, &n);
    CHECK(strstr(cs, ",elapsed_us,elapsed_ns,closed_by,close,abandoned_after_us,abandoned_after_ns,gap"),
          "CSV ns header: %s", cs);
    CHECK(csv_cell(cs, "user_status", cellv, sizeof cellv) && !cellv[0]
              && csv_cell(cs, "closed_by", cellv, sizeof cellv) && !cellv[0]
              && csv_cell(cs, "severity", cellv, sizeof cellv) && !cellv[0],
          "CSV nulls are empty cells");
    free(cs);

    /* live text line: what the user got; warnings tagged, notes only with -v */
    o.format = FMT_TEXT;
    char *t = render(&o, false, true, true, do_request, &r);
    CHECK(strstr(t, "200 \xe2\x86\x92 user 504: web server gave up after 1.00s"), "user story: %s", t);
    CHECK(strstr(t, "gap: bytes missing from the capture") && !strstr(t, "web server closed after"),
          "gap said, the abandon not twice: %s", t);
    CHECK(strstr(t, "[warning: request_abandoned]") && !strstr(t, "end_without_stdout_eos")
              && !strstr(t, "note"),
          "warnings tagged, notes hidden: %s", t);
    free(t);
    o.verbose = 1;
    t = render(&o, false, false, true, do_request, &r);
    CHECK(strstr(t, "200 -> user 504") && strstr(t, "[note: end_without_stdout_eos reserved_nonzero]"),
          "-v: notes tagged too, ASCII arrow: %s", t);
    free(t);
    o.verbose = 0;
    req_rec inc = n;
    inc.complete = false;
    inc.has_latency = false;
    inc.end_reason = FSD_END_RESET;
    inc.closed_by = FSD_DIR_SERVER;
    inc.closed_by_reset = true;
    inc.has_elapsed = true;
    inc.elapsed_ns = INT64_C(1500000000);
    inc.user_status = 0;
    t = render(&o, false, false, true, do_request, &inc);
    CHECK(strstr(t, ">=1.50s") && strstr(t, "incomplete: reset by server") && !strstr(t, "user "),
          "incomplete live line: %s", t);
    free(t);
    inc.has_abandoned = true; /* the web server closed first, the wire cannot tell what its user got */
    inc.abandoned_ns = INT64_C(1200000000);
    t = render(&o, false, false, true, do_request, &inc);
    CHECK(strstr(t, "web server closed after 1.20s"), "abandoned without a user status: %s", t);
    free(t);
    inc.status = 0; /* no answer at all: the web server's own 502 */
    inc.user_status = 502;
    inc.user_outcome = FSD_USER_BACKEND_FAILED;
    t = render(&o, false, false, true, do_request, &inc);
    CHECK(strstr(t, "user 502: the application gave no usable answer") && !strstr(t, "none ->"),
          "no answer, user 502: %s", t);
    free(t);

    /* the text summary: 80 columns whatever the uris, params and stories */
    stats st;
    stats_init(&st, 10);
    static const char *pn[] = {"HTTP_X_REQUEST_ID"};
    o.params[0] = pn[0];
    o.nparams = 1;
    for (int i = 0; i < 12; i++) {
        req_rec x = r;
        char uri[300];
        snprintf(uri, sizeof uri, "/very/long/path/%d/%0200d?query=with&many=parameters", i, i);
        rstr u = {uri, strlen(uri)};
        x.uri = u;
        x.script = (rstr){uri, 120};
        rstr pv = {uri, 150};
        x.params = &pv;
        x.nparams = 1;
        x.t_begin_ns = INT64_C(1795661488000000000) + i;
        x.frame = 1000000 + (uint64_t)i;
        x.elapsed_ns = x.latency_ns = INT64_C(1000000) * (i + 1);
        if (i % 3 == 0) {
            x.complete = false;
            x.has_latency = false;
            x.end_reason = FSD_END_RESET;
            x.closed_by = FSD_DIR_CLIENT;
        }
        stats_request(&st, &x);
        stats_user_request(&st, &x);
    }
    summ_arg sa = {&st};
    t = render(&o, true, true, false, do_summary, &sa);
    CHECK(max_line_cols(t) <= 80, "summary is %zu columns wide:\n%s", max_line_cols(t), t);
    CHECK(strstr(t, "HTTP_X_REQUEST_ID=/very/long/path/"), "--param values in the slowest table");
    CHECK(strstr(t, "\xe2\x89\xa5" "10.0ms") && strstr(t, "incomplete: reset by client"),
          "the slowest is incomplete and marked: %s", t);
    CHECK(strstr(t, "HTTP status the users got") && strstr(t, "504"), "user statuses shown");
    free(t);
    /* a terminal that says it is wider gets a wider report, up to its width */
    render_width = 132;
    t = render(&o, true, true, false, do_summary, &sa);
    CHECK(max_line_cols(t) > 80 && max_line_cols(t) <= 132, "132-column terminal: %zu columns",
          max_line_cols(t));
    free(t);
    render_width = 60; /* narrower than 80: still laid out for 80 */
    t = render(&o, true, true, false, do_summary, &sa);
    CHECK(max_line_cols(t) <= 80 && max_line_cols(t) > 60, "60-column terminal: %zu columns",
          max_line_cols(t));
    free(t);
    render_width = 0;
    stats_free(&st);
    o.nparams = 0;
    rec_free(&r);
    opts_free(&o);
}

/* ---- statistics: slowest with incomplete requests, incomplete in start order ---- */

static void suite_stats(void)
{
    stats st;
    stats_init(&st, 3);
    fsd_transaction tx = tx_base();
    req_rec r;
    /* 14 incomplete requests delivered in reverse start order, then complete ones */
    for (int i = 13; i >= 0; i--) {
        tx.t_begin.ns = INT64_C(1000000000) * (i + 1);
        tx.t_begin.tag = (uint64_t)(i + 1);
        tx.end_reason = FSD_END_CAPTURE;
        tx.t_last = (fsd_timepoint){tx.t_begin.ns + INT64_C(100000000) * i, 0, true};
        rec_from_tx(&r, &tx, no_params, 0);
        stats_request(&st, &r);
        stats_user_request(&st, &r);
        rec_free(&r);
    }
    tx.t_last.set = false;
    tx.has_end = true;
    tx.end_reason = FSD_END_COMPLETE;
    tx.http_status = 200;
    tx.user_status = 200;
    tx.user_outcome = FSD_USER_AS_ANSWERED;
    for (int i = 0; i < 3; i++) {
        tx.t_begin.ns = INT64_C(100000000000) + i;
        tx.t_begin.tag = 100 + (uint64_t)i;
        tx.t_end = (fsd_timepoint){tx.t_begin.ns + INT64_C(500000000) * (i + 1), 0, true};
        rec_from_tx(&r, &tx, no_params, 0);
        stats_request(&st, &r);
        stats_user_request(&st, &r);
        rec_free(&r);
    }
    tx.user_status = 504;
    tx.user_outcome = FSD_USER_GAVE_UP_TIMEOUT;
    rec_from_tx(&r, &tx, no_params, 0);
    stats_request(&st, &r);
    stats_user_request(&st, &r);
    rec_free(&r);

    size_t n = stats_incomplete(&st);
    CHECK(n == STATS_INCOMPLETE_KEPT, "kept %zu incomplete", n);
    bool order = true;
    for (size_t i = 0; i < n; i++)
        order &= st.incomplete_list[i].frame == i + 1;
    CHECK(order, "the earliest-starting incomplete requests, in start order (first frame %" PRIu64
                 ", last %" PRIu64 ")", st.incomplete_list[0].frame, st.incomplete_list[n - 1].frame);
    const req_rec *sl[3];
    size_t k = stats_slowest(&st, sl, 3);
    /* 1.5 s, 1.5 s (complete), then the incomplete one that ran 1.3 s, before
     * the complete ones of 1.0 s and 0.5 s */
    CHECK(k == 3 && sl[0]->complete && sl[0]->elapsed_ns == INT64_C(1500000000) && sl[1]->complete
              && sl[1]->elapsed_ns == INT64_C(1500000000) && !sl[2]->complete
              && sl[2]->elapsed_ns == INT64_C(1300000000),
          "slowest: incomplete ones count with their elapsed time (%" PRId64 " %d)",
          k > 2 ? sl[2]->elapsed_ns : 0, k > 2 ? sl[2]->complete : 0);
    const req_rec *w = stats_slowest_one(&st);
    CHECK(w && w->elapsed_ns == INT64_C(1500000000) && w->complete, "slowest one");
    CHECK(st.user_status[200] == 3 && st.user_status[504] == 1 && st.user_status[0] == 14
              && st.user_differs == 1 && st.user_outcomes[FSD_USER_GAVE_UP_TIMEOUT] == 1
              && st.user_outcomes[FSD_USER_UNKNOWN] == 14 && st.user_outcomes[FSD_USER_AS_ANSWERED] == 3,
          "user statuses (per user request, the decoder's user_status) and outcomes counted");
    stats_free(&st);
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
    if (all || !strcmp(which, "rec"))
        suite_rec();
    if (all || !strcmp(which, "out"))
        suite_out();
    if (all || !strcmp(which, "stats"))
        suite_stats();
    if (passed + failed == 0) {
        fprintf(stderr, "unknown suite %s\n", which);
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
