/* esc.c — escaping of traffic-derived bytes for the text, JSON and CSV reports.
 *
 * Normative references: RFC 8259 §7, RFC 4180 §2, RFC 3629 §3-4 (UTF-8
 * validity), ECMA-48 §5. The rules are listed in esc.h.
 */
#include "esc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void die_oom(void)
{
    fputs("fcgiscope: out of memory\n", stderr);
    exit(2);
}

void fcs_sbuf_init(sbuf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void fcs_sbuf_free(sbuf *b)
{
    free(b->p);
    fcs_sbuf_init(b);
}

void fcs_sbuf_reset(sbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void fcs_sbuf_grow(sbuf *b, size_t extra)
{
    /* len + extra + 1 can only roll over for absurd sizes: refuse them. */
    if (extra > SIZE_MAX / 2 - b->len)
        die_oom();
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        die_oom();
    b->p = p;
    b->cap = cap;
}

#define sbuf_reserve fcs_sbuf_grow

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

void fcs_sbuf_add_u64(sbuf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    while (v >= 100) { /* two digits per division */
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        tmp[--i] = digits2[d + 1];
        tmp[--i] = digits2[d];
    }
    if (v >= 10) {
        unsigned d = (unsigned)v * 2;
        tmp[--i] = digits2[d + 1];
        tmp[--i] = digits2[d];
    } else {
        tmp[--i] = (char)('0' + v);
    }
    fcs_sbuf_add(b, tmp + i, sizeof tmp - i);
}

void fcs_sbuf_add_i64(sbuf *b, int64_t v)
{
    if (v < 0) {
        fcs_sbuf_addc(b, '-');
        fcs_sbuf_add_u64(b, (uint64_t)(-(v + 1)) + 1); /* |v| without overflow at INT64_MIN */
    } else {
        fcs_sbuf_add_u64(b, (uint64_t)v);
    }
}

void fcs_sbuf_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof tmp) {
        fcs_sbuf_add(b, tmp, (size_t)n);
    } else {
        sbuf_reserve(b, (size_t)n);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

const char *fcs_sbuf_str(sbuf *b)
{
    if (!b->p)
        sbuf_reserve(b, 0), b->p[0] = '\0';
    return b->p;
}

size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, c &= 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, c &= 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

bool fcs_esc_is_dangerous_cp(unsigned cp)
{
    return (cp >= 0x80 && cp <= 0x9F)           /* C1 controls (CSI = U+009B) */
        || cp == 0x061C                          /* ARABIC LETTER MARK */
        || cp == 0x200E || cp == 0x200F          /* LRM, RLM */
        || (cp >= 0x202A && cp <= 0x202E)        /* embeddings, overrides */
        || (cp >= 0x2066 && cp <= 0x2069)        /* isolates */
        || cp == 0x2028 || cp == 0x2029          /* line/paragraph separator */
        || cp == 0xFEFF;                         /* BOM / zero-width no-break */
}

static const char hexd[] = "0123456789abcdef";

/* Escape until the next piece would pass limit (0: no limit). *done tells
 * whether all of s was written. */
static size_t esc_text_lim(sbuf *out, const unsigned char *s, size_t n, bool utf8_out,
                           size_t limit, bool *done)
{
    size_t cols = 0;
    char tmp[24];
    for (size_t i = 0; i < n;) {
        unsigned cp = 0;
        size_t len = utf8_decode(s + i, n - i, &cp);
        size_t tl, w; /* bytes of tmp, columns they take */
        if (len == 1 && cp >= 0x20 && cp < 0x7F) {
            tmp[0] = (char)cp;
            tl = 1;
            if (cp == '\\')
                tmp[1] = '\\', tl = 2;
        } else if (len == 1) { /* C0 control or DEL */
            tmp[0] = '\\';
            tl = 2;
            if (cp == '\n')
                tmp[1] = 'n';
            else if (cp == '\r')
                tmp[1] = 'r';
            else if (cp == '\t')
                tmp[1] = 't';
            else
                tmp[1] = 'x', tmp[2] = hexd[cp >> 4], tmp[3] = hexd[cp & 15], tl = 4;
        } else if (len == 0) { /* not UTF-8: the raw byte */
            tmp[0] = '\\', tmp[1] = 'x', tmp[2] = hexd[s[i] >> 4], tmp[3] = hexd[s[i] & 15];
            tl = 4;
            len = 1;
        } else if (fcs_esc_is_dangerous_cp(cp)) {
            tl = (size_t)snprintf(tmp, sizeof tmp, "\\u{%04x}", cp);
        } else if (!utf8_out) { /* valid UTF-8, but the charset is not: its bytes */
            tl = 0;
            for (size_t k = 0; k < len; k++) {
                tmp[tl++] = '\\';
                tmp[tl++] = 'x';
                tmp[tl++] = hexd[s[i + k] >> 4];
                tmp[tl++] = hexd[s[i + k] & 15];
            }
        } else {
            memcpy(tmp, s + i, len);
            tl = len;
            w = 1;
            goto emit;
        }
        w = tl;
    emit:
        if (limit && cols + w > limit) {
            *done = false;
            return cols;
        }
        fcs_sbuf_add(out, tmp, tl);
        cols += w;
        i += len;
    }
    *done = true;
    return cols;
}

size_t fcs_esc_text(sbuf *out, const void *s, size_t n, bool utf8_out, size_t max_cols)
{
    bool done;
    size_t mark = out->len;
    size_t cols = esc_text_lim(out, s, n, utf8_out, max_cols, &done);
    if (done || max_cols == 0)
        return cols;
    out->len = mark;
    if (out->p)
        out->p[mark] = '\0';
    if (max_cols < 3)
        return esc_text_lim(out, s, n, utf8_out, max_cols, &done);
    cols = esc_text_lim(out, s, n, utf8_out, max_cols - 3, &done);
    fcs_sbuf_adds(out, "...");
    return cols + 3;
}

/* JSON: bytes copied as is without a look at UTF-8 (printable ASCII but " and \). */
static const unsigned char json_plain[256] = {
#define P16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    P16(0), P16(0),                                   /* 0x00-0x1f */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20-0x2f: " */
    P16(1), P16(1),                                   /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50-0x5f: \ */
    P16(1),                                           /* 0x60-0x6f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x70-0x7f: DEL */
    P16(0), P16(0), P16(0), P16(0), P16(0), P16(0), P16(0), P16(0),
#undef P16
};

void fcs_esc_json(sbuf *out, const void *sv, size_t n)
{
    const unsigned char *s = sv;
    fcs_sbuf_addc(out, '"');
    size_t run = 0; /* start of the pending run of bytes copied as is */
    for (size_t i = 0; i < n;) {
        while (i < n && json_plain[s[i]])
            i++;
        if (i == n)
            break;
        unsigned c = s[i];
        unsigned cp = 0;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (len > 1 && !fcs_esc_is_dangerous_cp(cp)) {
            i += len;
            continue;
        }
        fcs_sbuf_add(out, s + run, i - run);
        if (len == 0) {
            cp = c; /* the byte as a Latin-1 code point */
            len = 1;
        }
        switch (cp) {
        case '"': SBUF_ADDL(out, "\\\""); break;
        case '\\': SBUF_ADDL(out, "\\\\"); break;
        case '\n': SBUF_ADDL(out, "\\n"); break;
        case '\r': SBUF_ADDL(out, "\\r"); break;
        case '\t': SBUF_ADDL(out, "\\t"); break;
        case '\b': SBUF_ADDL(out, "\\b"); break;
        case '\f': SBUF_ADDL(out, "\\f"); break;
        default: {
            /* every escaped code point is below U+10000: \u and 4 hex digits */
            char u[6] = {'\\', 'u', hexd[(cp >> 12) & 15], hexd[(cp >> 8) & 15],
                         hexd[(cp >> 4) & 15], hexd[cp & 15]};
            fcs_sbuf_add(out, u, sizeof u);
            break;
        }
        }
        i += len;
        run = i;
    }
    fcs_sbuf_add(out, s + run, n - run);
    fcs_sbuf_addc(out, '"');
}

void fcs_esc_csv(sbuf *out, const void *sv, size_t n)
{
    const unsigned char *s = sv;
    bool neutralise = n > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@'
                                || s[0] == '\t' || s[0] == '\r');
    bool quote = neutralise;
    for (size_t i = 0; i < n && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            quote = true;
    if (!quote) {
        fcs_sbuf_add(out, s, n);
        return;
    }
    fcs_sbuf_addc(out, '"');
    if (neutralise)
        fcs_sbuf_addc(out, '\'');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            fcs_sbuf_add(out, s + run, i + 1 - run);
            fcs_sbuf_addc(out, '"');
            run = i + 1;
        }
    }
    fcs_sbuf_add(out, s + run, n - run);
    fcs_sbuf_addc(out, '"');
}
