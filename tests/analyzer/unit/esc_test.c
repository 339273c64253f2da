/* esc_test.c — unit tests of esc.c: text, JSON and CSV escaping of traffic bytes.
 *
 * RFC 8259 (JSON), RFC 4180 (CSV), ECMA-48 (no control byte reaches a terminal).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "esc.h"

static void text_is(const char *in, size_t n, bool utf8, size_t maxc, const char *want)
{
    sbuf b;
    fcs_sbuf_init(&b);
    fcs_esc_text(&b, in, n, utf8, maxc);
    CHECK(!strcmp(fcs_sbuf_str(&b), want), "fcs_esc_text(%zu bytes, utf8=%d, max=%zu) = \"%s\", want \"%s\"",
          n, utf8, maxc, fcs_sbuf_str(&b), want);
    /* never a control byte or ESC in the output */
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.p[i];
        CHECK(c >= 0x20 && c != 0x7f, "fcs_esc_text output byte 0x%02x at %zu", c, i);
    }
    fcs_sbuf_free(&b);
}

static void json_is(const char *in, size_t n, const char *want)
{
    sbuf b;
    fcs_sbuf_init(&b);
    fcs_esc_json(&b, in, n);
    CHECK(!strcmp(fcs_sbuf_str(&b), want), "fcs_esc_json = %s, want %s", fcs_sbuf_str(&b), want);
    fcs_sbuf_free(&b);
}

static void csv_is(const char *in, const char *want)
{
    sbuf b;
    fcs_sbuf_init(&b);
    fcs_esc_csv(&b, in, strlen(in));
    CHECK(!strcmp(fcs_sbuf_str(&b), want), "fcs_esc_csv(%s) = %s, want %s", in, fcs_sbuf_str(&b), want);
    fcs_sbuf_free(&b);
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

void suite_esc(void)
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
        fcs_sbuf_init(&b);
        fcs_esc_text(&b, in, 2, true, 0);
        bool clean = true;
        for (size_t i = 0; i < b.len; i++)
            if ((unsigned char)b.p[i] < 0x20 || (unsigned char)b.p[i] == 0x7f
                || (unsigned char)b.p[i] >= 0x80)
                clean = false;
        CHECK(clean, "fcs_esc_text byte 0x%02x leaks", a);
        fcs_sbuf_free(&b);
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
        fcs_sbuf_init(&b);
        fcs_esc_json(&b, in, n);
        CHECK(json_string_valid(b.p, b.len), "fcs_esc_json invalid for round %d: %s", round, b.p);
        fcs_sbuf_free(&b);
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
