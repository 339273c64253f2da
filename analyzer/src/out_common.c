/* out_common.c — what the report formats share: time, number and size
 * formatting, the line buffer, colours, columns and wrapping, frame numbers
 * within their file, the synthetic client address of --unix.
 *
 * Declared in out_internal.h; used by out.c and the format files
 * (out_json.c, out_csv.c, out_text.c, out_html.c), which sit above it.
 */
#include "out_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- formatting helpers ---------------------------------------------------- */

int64_t ns_to_us(int64_t ns)
{
    if (ns >= 0)
        return ns / 1000 + (ns % 1000 >= 500);
    uint64_t m = (uint64_t)(-(ns + 1)) + 1; /* |ns| without overflow at INT64_MIN */
    return -(int64_t)(m / 1000 + (m % 1000 >= 500));
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    /* H. Hinnant's days_from_civil inverse: proleptic Gregorian, no libc tz */
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static void split_ns(int64_t ns, int64_t *secs, int64_t *frac)
{
    *secs = ns / 1000000000;
    *frac = ns % 1000000000;
    if (*frac < 0) {
        *frac += 1000000000;
        (*secs)--;
    }
}

/* Two decimal digits at p. */
static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

void fmt_rfc3339(char *buf, size_t len, int64_t ns, bool nine)
{
    /* "YYYY-MM-DDTHH:MM:SS." of the last second formatted: consecutive
     * requests mostly share it, and the calendar arithmetic is the costly
     * part. Only the 4-digit years take the fast path (the others, as
     * printf's %04d writes them, go through snprintf). */
    static int64_t cached_secs = INT64_MIN;
    static char cached[21];
    int64_t secs, frac;
    split_ns(ns, &secs, &frac);
    if (secs != cached_secs) {
        int64_t days = secs / 86400, rem = secs % 86400;
        if (rem < 0) {
            rem += 86400;
            days--;
        }
        int y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        if (y < 0 || y > 9999) {
            if (nine)
                snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d.%09" PRId64 "Z", y, m, d,
                         (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
            else
                snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d.%06" PRId64 "Z", y, m, d,
                         (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
                         frac / 1000);
            return;
        }
        put2(cached, (unsigned)y / 100);
        put2(cached + 2, (unsigned)y % 100);
        cached[4] = '-';
        put2(cached + 5, m);
        cached[7] = '-';
        put2(cached + 8, d);
        cached[10] = 'T';
        put2(cached + 11, (unsigned)(rem / 3600));
        cached[13] = ':';
        put2(cached + 14, (unsigned)(rem / 60 % 60));
        cached[16] = ':';
        put2(cached + 17, (unsigned)(rem % 60));
        cached[19] = '.';
        cached_secs = secs;
    }
    char tmp[32];
    memcpy(tmp, cached, 20);
    unsigned digits = nine ? 9 : 6;
    uint32_t f = (uint32_t)(nine ? frac : frac / 1000);
    for (unsigned i = digits; i-- > 0;) {
        tmp[20 + i] = (char)('0' + f % 10);
        f /= 10;
    }
    tmp[20 + digits] = 'Z';
    tmp[21 + digits] = '\0';
    if (len) {
        size_t n = 22 + digits <= len ? 22 + digits : len;
        memcpy(buf, tmp, n);
        buf[n - 1] = '\0';
    }
}

void fmt_duration(char *buf, size_t len, int64_t ns, bool utf8)
{
    const char *neg = "";
    uint64_t v;
    if (ns < 0) {
        neg = "-";
        v = (uint64_t)(-(ns + 1)) + 1;
    } else {
        v = (uint64_t)ns;
    }
    const char *us = utf8 ? "\xc2\xb5s" : "us";
    if (v < 1000)
        snprintf(buf, len, "%s%" PRIu64 "ns", neg, v);
    else if (v < 10000)
        snprintf(buf, len, "%s%.2f%s", neg, (double)v / 1e3, us);
    else if (v < 1000000)
        snprintf(buf, len, "%s%.1f%s", neg, (double)v / 1e3, us);
    else if (v < 10000000)
        snprintf(buf, len, "%s%.2fms", neg, (double)v / 1e6);
    else if (v < 1000000000)
        snprintf(buf, len, "%s%.1fms", neg, (double)v / 1e6);
    else if (v < UINT64_C(60000000000))
        snprintf(buf, len, "%s%.2fs", neg, (double)v / 1e9);
    else if (v < UINT64_C(3600000000000)) {
        uint64_t s = v / 1000000000;
        snprintf(buf, len, "%s%" PRIu64 "m%02" PRIu64 "s", neg, s / 60, s % 60);
    } else {
        uint64_t s = v / 1000000000;
        snprintf(buf, len, "%s%" PRIu64 "h%02" PRIu64 "m", neg, s / 3600, s / 60 % 60);
    }
}

void fmt_count(char *buf, size_t len, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    char out[48];
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = tmp[i];
    }
    if (len == 0)
        return;
    size_t m = k < len - 1 ? k : len - 1;
    memcpy(buf, out, m);
    buf[m] = '\0';
}

void fmt_bytes(char *buf, size_t len, uint64_t v)
{
    if (v < 1000)
        snprintf(buf, len, "%" PRIu64 " B", v);
    else if (v < 1000000)
        snprintf(buf, len, "%.1f kB", (double)v / 1e3);
    else if (v < 1000000000)
        snprintf(buf, len, "%.1f MB", (double)v / 1e6);
    else
        snprintf(buf, len, "%.2f GB", (double)v / 1e9);
}

/* ---- the line buffer, colours, columns, frames ---------------------------- */

void flush_line(out_ctx *c)
{
    if (c->line.len && fwrite(c->line.p, 1, c->line.len, c->f) != c->line.len)
        c->write_error = true;
    fcs_sbuf_reset(&c->line);
    if (c->flush_lines && fflush(c->f) != 0)
        c->write_error = true;
}

/* SGR colours, only when enabled */
const char *const sgr[] = {"\033[0m", "\033[1m", "\033[2m", "\033[31m",
                                   "\033[33m", "\033[36m", "\033[32m", "\033[35m"};

void col(out_ctx *c, int k)
{
    if (c->color)
        fcs_sbuf_adds(&c->line, sgr[k]);
}

int sev_color(fsd_severity s)
{
    return s == FSD_SEV_ERROR ? C_RED : s == FSD_SEV_WARNING ? C_YELLOW : C_CYAN;
}

int status_color(int st)
{
    if (st >= 500)
        return C_RED;
    if (st >= 400)
        return C_YELLOW;
    if (st >= 300)
        return C_CYAN;
    if (st >= 200)
        return C_GREEN;
    return C_MAGENTA;
}

void pad(sbuf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fcs_sbuf_addc(b, ' ');
}

/* A plain (trusted ASCII) cell, left or right aligned. */
size_t ucols(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Columns of n bytes of report text: SGR sequences take none, a UTF-8
 * sequence one. */
size_t vis_cols(const char *p, size_t n)
{
    size_t cols = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\033') {
            while (i < n && p[i] != 'm')
                i++;
            continue;
        }
        cols += ((unsigned char)p[i] & 0xC0) != 0x80;
    }
    return cols;
}

/* The width the text report is laid out for: 80 columns, more only when the
 * output is a terminal that says it is wider. */
size_t text_width(const out_ctx *c)
{
    return c->width > 80 ? c->width : 80;
}

/* Append in[0..n), one line, to out, broken at spaces (else anywhere) into
 * lines of at most w columns. Continuation lines are indented: 12 columns
 * under a label ("Findings    ..."), else two more than the line. */
void wrap_line(sbuf *out, const char *p, size_t n, size_t w)
{
    size_t lead = 0;
    while (lead < n && p[lead] == ' ')
        lead++;
    size_t indent = lead >= 8 ? lead : lead ? lead + 2 : 12;
    if (indent > w / 2)
        indent = w / 2;
    bool first = true;
    while (n) {
        size_t avail = first ? w : w - indent;
        if (vis_cols(p, n) <= avail) {
            fcs_sbuf_add(out, p, n);
            break;
        }
        /* the byte offset where avail columns end, and the last space before it */
        size_t i = 0, cols = 0, brk = 0, sep = 0, sep_cols = 0;
        while (i < n) {
            if (p[i] == '\033') {
                while (i < n && p[i] != 'm')
                    i++;
                i++;
                continue;
            }
            if (((unsigned char)p[i] & 0xC0) != 0x80) {
                if (cols == avail)
                    break;
                cols++;
            }
            if (p[i] == ' ' && i > (first ? lead : 0) + 8) {
                brk = i;
                if (p[i - 1] == ',' || p[i - 1] == ';' || p[i - 1] == ' ') { /* between items */
                    sep = i;
                    sep_cols = cols;
                }
            }
            i++;
        }
        if (sep && sep_cols >= avail * 2 / 3)
            brk = sep;
        size_t take = brk ? brk : i, skip = brk ? 1 : 0, keep = take;
        while (keep > 0 && p[keep - 1] == ' ')
            keep--;
        fcs_sbuf_add(out, p, keep);
        fcs_sbuf_addc(out, '\n');
        for (size_t k = 0; k < indent; k++)
            fcs_sbuf_addc(out, ' ');
        p += take + skip;
        n -= take + skip;
        while (n && *p == ' ') {
            p++;
            n--;
        }
        first = false;
    }
}

/* Every line of b wrapped to w columns. */
void wrap_all(sbuf *b, size_t w)
{
    sbuf out;
    fcs_sbuf_init(&out);
    size_t i = 0;
    while (i < b->len) {
        const char *nl = memchr(b->p + i, '\n', b->len - i);
        size_t n = nl ? (size_t)(nl - (b->p + i)) : b->len - i;
        wrap_line(&out, b->p + i, n, w);
        if (nl)
            fcs_sbuf_addc(&out, '\n');
        i += n + (nl != NULL);
    }
    fcs_sbuf_free(b);
    *b = out;
}

void cell(sbuf *b, const char *s, size_t width, bool right)
{
    size_t n = ucols(s);
    if (right && n < width)
        pad(b, width - n);
    fcs_sbuf_adds(b, s);
    if (!right && n < width)
        pad(b, width - n);
}

/* A traffic-derived cell: escaped, cut to width, padded (left aligned).
 * width 0: unlimited, no padding. */
void tcell(out_ctx *c, const rstr *s, size_t width, const char *absent)
{
    size_t cols;
    if (!s->p) {
        fcs_sbuf_adds(&c->line, absent);
        cols = strlen(absent);
    } else {
        cols = fcs_esc_text(&c->line, s->p, s->len, c->utf8, width);
    }
    if (width && cols < width)
        pad(&c->line, width - cols);
}

const char *prec_name(fcs_precision p)
{
    return p == FCS_PREC_NS ? "ns" : "us";
}

const char *fmt_name(fcs_cap_format f)
{
    return f == FCS_FMT_PCAPNG ? "pcapng" : f == FCS_FMT_LIVE ? "live" : "pcap";
}

/* A record's file and its frame within that file (frame 0: file only). */
const char *where(const out_ctx *c, uint64_t frame, uint64_t *local)
{
    const char *file = NULL;
    uint64_t l = frame;
    if (c->locate && !c->locate(c->locate_ud, frame, &file, &l))
        l = frame;
    if (local)
        *local = l;
    return file;
}

/* The file's number (1-based, the Files order) and the frame within it;
 * 0 when the frame is not in a file of s. */
size_t file_no(const out_ctx *c, const out_summary *s, uint64_t frame, uint64_t *local)
{
    const char *file = where(c, frame, local);
    for (size_t i = 0; file && i < s->nfiles; i++)
        if (s->files[i].name == file || !strcmp(s->files[i].name, file))
            return i + 1;
    return 0;
}

uint64_t lframe(const out_ctx *c, uint64_t frame)
{
    uint64_t l;
    where(c, frame, &l);
    return l;
}

const char *sev_name_or_null(fsd_severity s)
{
    return s >= FSD_SEV_NOTE && s <= FSD_SEV_ERROR ? fsd_severity_name(s) : NULL;
}

const char *closed_by_name(const req_rec *r)
{
    return r->closed_by == FSD_DIR_CLIENT ? "client" : r->closed_by == FSD_DIR_SERVER ? "server" : NULL;
}

const char *close_name(const req_rec *r)
{
    return r->closed_by < 0 ? NULL : r->closed_by_reset ? "rst" : "fin";
}

/* --unix: the synthetic client address "a.b.c.d:port" of a request (by
 * hand: sscanf here was 8% of fcgiscope --unix's CPU, called twice a request). */
bool unix_client(const char *client, uint8_t ip[4], uint16_t *port)
{
    unsigned v[5];
    const char *s = client;
    for (int i = 0; i < 5; i++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned x = 0;
        for (int k = 0; *s >= '0' && *s <= '9'; s++, k++) {
            if (k == 5)
                return false;
            x = x * 10 + (unsigned)(*s - '0');
        }
        if (x > (i < 4 ? 255u : 65535u) || (i < 3 && *s++ != '.') || (i == 3 && *s++ != ':'))
            return false;
        v[i] = x;
    }
    for (int i = 0; i < 4; i++)
        ip[i] = (uint8_t)v[i];
    *port = (uint16_t)v[4];
    return true;
}
