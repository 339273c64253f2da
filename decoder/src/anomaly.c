/* anomaly.c — the anomaly catalogue tables (generated from anomalies.def by X-macro) and firing an anomaly: its detail, the request's list, the counts, the callback.
 *
 * Normative reference: docs/ANOMALIES.md (each id: severity, when it fires);
 * docs/PROTOCOL.md "Anomaly ids" (stable ids, new ones at the end).
 */
#include "fsd_internal.h"

#include <stdarg.h>
#include <string.h>

#define NOTE FSD_SEV_NOTE
#define WARNING FSD_SEV_WARNING
#define ERROR FSD_SEV_ERROR

static const struct {
    const char *name;
    fsd_severity sev;
    fsd_severity maxsev;
    const char *summary;
} table[FSD_A_COUNT] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) { #id, sev, maxsev, summary },
#include "fsd/anomalies.def"
#undef FSD_ANOMALY
};

#undef NOTE
#undef WARNING
#undef ERROR

static bool in_range(fsd_anomaly_id id)
{
    return (int)id >= 0 && id < FSD_A_COUNT;
}

const char *fsd_anomaly_name(fsd_anomaly_id id)
{
    return in_range(id) ? table[id].name : NULL;
}

fsd_severity fsd_anomaly_severity(fsd_anomaly_id id)
{
    return in_range(id) ? table[id].sev : FSD_SEV_ERROR;
}

fsd_severity fsd_anomaly_max_severity(fsd_anomaly_id id)
{
    return in_range(id) ? table[id].maxsev : FSD_SEV_ERROR;
}

const char *fsd_anomaly_summary(fsd_anomaly_id id)
{
    return in_range(id) ? table[id].summary : NULL;
}

const char *fsd_severity_name(fsd_severity sev)
{
    switch (sev) {
    case FSD_SEV_NOTE: return "note";
    case FSD_SEV_WARNING: return "warning";
    case FSD_SEV_ERROR: return "error";
    default: return "UNKNOWN";
    }
}

fsd_anomaly_id fsd_anomaly_from_name(const char *name)
{
    if (name == NULL)
        return FSD_A_COUNT;
    for (int i = 0; i < (int)FSD_A_COUNT; i++)
        if (strcmp(table[i].name, name) == 0)
            return (fsd_anomaly_id)i;
    return FSD_A_COUNT;
}

/* ------------------------------------------------------------------ */
/* anomalies                                                          */

/* The detail formatter: the subset of printf the decoder's messages use
 * (%s %.*s %u %llu %lld %zu %02x), with vsnprintf's results (strings stop at
 * a NUL, output cut at size - 1 bytes), without its cost. */
typedef struct dbuf {
    char *p;
    size_t len, cap; /* cap excludes the NUL */
} dbuf;

static void d_put(dbuf *b, const char *s, size_t n)
{
    if (n > b->cap - b->len)
        n = b->cap - b->len;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void d_u64(dbuf *b, uint64_t v, bool neg, unsigned base, unsigned width)
{
    char t[24];
    size_t i = sizeof t;
    do {
        t[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (sizeof t - i < width)
        t[--i] = '0';
    if (neg)
        t[--i] = '-';
    d_put(b, t + i, sizeof t - i);
}

static void d_format(char *out, size_t size, const char *fmt, va_list ap)
{
    dbuf b = { out, 0, size - 1 };
    while (*fmt) {
        const char *q = fmt;
        while (*q && *q != '%')
            q++;
        d_put(&b, fmt, (size_t)(q - fmt));
        fmt = q;
        if (!*fmt)
            break;
        fmt++;
        if (fmt[0] == 's') {
            const char *s = va_arg(ap, const char *);
            d_put(&b, s, strlen(s));
            fmt += 1;
        } else if (fmt[0] == '.' && fmt[1] == '*' && fmt[2] == 's') {
            int prec = va_arg(ap, int);
            const char *s = va_arg(ap, const char *);
            size_t n = 0;
            if (prec < 0)
                n = strlen(s);
            else
                while (n < (size_t)prec && s[n])
                    n++;
            d_put(&b, s, n);
            fmt += 3;
        } else if (fmt[0] == 'u') {
            d_u64(&b, va_arg(ap, unsigned), false, 10, 0);
            fmt += 1;
        } else if (fmt[0] == 'l' && fmt[1] == 'l' && fmt[2] == 'u') {
            d_u64(&b, va_arg(ap, unsigned long long), false, 10, 0);
            fmt += 3;
        } else if (fmt[0] == 'l' && fmt[1] == 'l' && fmt[2] == 'd') {
            long long v = va_arg(ap, long long);
            d_u64(&b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, 10, 0);
            fmt += 3;
        } else if (fmt[0] == 'z' && fmt[1] == 'u') {
            d_u64(&b, va_arg(ap, size_t), false, 10, 0);
            fmt += 2;
        } else if (fmt[0] == '0' && fmt[1] == '2' && fmt[2] == 'x') {
            d_u64(&b, va_arg(ap, unsigned), false, 16, 2);
            fmt += 3;
        } else if (fmt[0] == '%') {
            d_put(&b, "%", 1);
            fmt += 1;
        } else {
            /* not used by the decoder: the rest verbatim */
            d_put(&b, fmt - 1, strlen(fmt - 1));
            break;
        }
    }
    out[b.len] = '\0';
}

/* Keep a copy of an anomaly event in a request's list (at most
 * max_request_anomalies, the rest counted as dropped); sets ev->in_transaction. */
static void keep_event(fsd_conn *c, fsd_anomaly_list *r, fsd_anomaly_event *ev)
{
    if (r->n < c->lim.max_request_anomalies) {
        if (r->n == r->cap) {
            size_t want = r->cap ? r->cap * 2 : 1;
            if (want > c->lim.max_request_anomalies)
                want = c->lim.max_request_anomalies;
            /* exactly want (fsd_mem_grow would start at 16 x 144 bytes) */
            fsd_anomaly_event *na = fsd_mem_alloc(c, want * sizeof *na);
            if (na == NULL) {
                c->nomem = true;
            } else {
                if (r->ev != NULL) {
                    memcpy(na, r->ev, r->n * sizeof *na);
                    fsd_mem_free(c, r->ev, r->cap * sizeof *r->ev);
                }
                r->ev = na;
                r->cap = want;
            }
        }
        if (r->n < r->cap) {
            ev->in_transaction = true;
            r->ev[r->n++] = *ev;
        } else {
            r->dropped++;
        }
    } else {
        r->dropped++;
    }
}

void fsd_fire(fsd_conn *c, fsd_anomaly_list *keep, fsd_anomaly_id id, fsd_severity sev, fsd_dir dir,
              uint64_t off, fsd_timepoint at, int32_t request_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fsd_vfire(c, keep, id, sev, dir, off, at, request_id, fmt, ap);
    va_end(ap);
}

void fsd_fire_at_record(fsd_conn *c, fsd_anomaly_list *keep, fsd_anomaly_id id, fsd_severity sev, fsd_dir dir,
                        int32_t request_id, const char *fmt, ...)
{
    const fsd_direction *d = &c->d[dir];
    va_list ap;
    va_start(ap, fmt);
    fsd_vfire(c, keep, id, sev, dir, d->rec_off, FSD_REC_FIRST(d), request_id, fmt, ap);
    va_end(ap);
}

void fsd_vfire(fsd_conn *c, fsd_anomaly_list *keep, fsd_anomaly_id id, fsd_severity sev, fsd_dir dir,
               uint64_t off, fsd_timepoint at, int32_t request_id, const char *fmt, va_list ap)
{
    fsd_anomaly_event ev;
    memset(&ev, 0, sizeof ev);
    ev.id = id;
    ev.severity = sev ? sev : fsd_anomaly_severity(id);
    ev.dir = dir;
    ev.offset = off;
    ev.at = at;
    ev.request_id = request_id;
    if (fmt)
        d_format(ev.detail, sizeof ev.detail, fmt, ap);
    if (keep != NULL)
        keep_event(c, keep, &ev);
    /* count it: a few distinct ids inline, the full table beyond */
    if (c->st.big_anom) {
        c->st.big[FSD_BIG_ANOM + id]++;
    } else {
        unsigned k;
        for (k = 0; k < c->st.a_n && c->st.a_id[k] != (uint8_t)id; k++)
            ;
        if (k < c->st.a_n && c->st.a_count[k] < UINT32_MAX) {
            c->st.a_count[k]++;
        } else if (k == c->st.a_n && k < FSD_ACOUNT_INLINE) {
            c->st.a_id[k] = (uint8_t)id;
            c->st.a_count[k] = 1;
            c->st.a_n++;
        } else {
            uint64_t *big = fsd_big_stats(c);
            if (big != NULL) {
                uint64_t *all = big + FSD_BIG_ANOM;
                for (unsigned j = 0; j < c->st.a_n; j++)
                    all[c->st.a_id[j]] = c->st.a_count[j];
                all[id]++;
                c->st.big_anom = true;
            }
        }
    }
    if (c->cb->on_anomaly)
        c->cb->on_anomaly(c->ud, &ev);
}
