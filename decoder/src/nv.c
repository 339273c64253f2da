/* nv.c — incremental name-value pair parser that streams across record boundaries.
 *
 * Normative reference: FastCGI Specification 1.0 §3.4 (name-value pairs) and
 * §3.3 (a stream's value does not depend on how it was cut into records).
 *
 *   pair := nameLength valueLength nameData[nameLength] valueData[valueLength]
 *   length := 0nnnnnnn                                   (1 byte, 0..127)
 *           | 1nnnnnnn nnnnnnnn nnnnnnnn nnnnnnnn       (4 bytes, 31 bits)
 *
 * Bytes arrive in pieces of any size. Name and value are copied into one
 * per-stream buffer of at most max_pair bytes (longer pairs are delivered
 * truncated, their declared lengths intact); NUL bytes and, for path/query
 * names, CR/LF and %0a/%0d are detected over every byte, stored or not, so
 * results never depend on caps or chunking.
 */
#include "fsd_internal.h"

#include <string.h>

enum { NV_NLEN = 0, NV_VLEN, NV_NAME, NV_VALUE };

static void store(fsd_conn *c, fsd_pair_parser *p, uint32_t max_pair, const uint8_t *d, size_t n, uint32_t *stored)
{
    size_t used = (size_t)p->name_stored + p->value_stored;
    size_t room;
    if (used >= max_pair)
        return;
    room = max_pair - used;
    if (n > room)
        n = room;
    if (n == 0)
        return;
    if (used + n > p->cap) {
        size_t want = p->cap ? p->cap : 256;
        while (want < used + n)
            want *= 2;
        if (want > max_pair)
            want = max_pair;
        if (!fsd_mem_reserve(c, (void **)&p->buf, &p->cap, want, 1)) {
            c->nomem = true;
            return;
        }
    }
    memcpy(p->buf + used, d, n);
    *stored += (uint32_t)n;
}

static void scan(fsd_pair_parser *p, const uint8_t *d, size_t n, bool is_value)
{
    if (!p->nul && memchr(d, 0, n) != NULL)
        p->nul = true;
    if (!is_value || !p->ctl_check || p->ctl)
        return;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = d[i];
        if (b == '\r' || b == '\n' || (p->pct == 2 && ((b | 0x20) == 'a' || (b | 0x20) == 'd'))) {
            p->ctl = true;
            return;
        }
        p->pct = b == '%' ? 1 : (p->pct == 1 && b == '0') ? 2 : 0;
    }
}

static void reset_pair(fsd_pair_parser *p)
{
    p->state = NV_NLEN;
    p->lenhave = 0;
    p->in_pair = false;
    p->straddled = false;
    p->nul = false;
    p->ctl_check = false;
    p->ctl = false;
    p->pct = 0;
    p->name_len = p->value_len = p->got = 0;
    p->name_stored = p->value_stored = 0;
    p->kind = FSD_PN_OTHER;
}

/* After a length or the name completed: move on, emit when the pair is whole. */
static bool advance(fsd_pair_parser *p)
{
    if (p->state == NV_NAME && p->got == p->name_len) {
        /* names are classified only when stored whole (never cut by the cap) */
        p->kind = (uint8_t)(p->name_stored == p->name_len && p->buf ? fsd_param_classify(p->buf, p->name_len)
                                                                    : FSD_PN_OTHER);
        p->ctl_check = fsd_kind_ctl_checked(p->kind);
        p->state = NV_VALUE;
        p->got = 0;
    }
    return p->state == NV_VALUE && p->got == p->value_len;
}

static void emit(fsd_conn *c, fsd_pair_parser *p, uint64_t end_off, fsd_pair_fn fn, void *ctx)
{
    static const uint8_t empty[1] = { 0 }; /* empty but present: never a NULL span */
    fsd_pair pr;
    pr.name = p->buf ? p->buf : empty;
    pr.value = p->buf ? p->buf + p->name_stored : empty;
    pr.name_stored = p->name_stored;
    pr.value_stored = p->value_stored;
    pr.name_len = p->name_len;
    pr.value_len = p->value_len;
    pr.truncated = p->name_stored < p->name_len || p->value_stored < p->value_len;
    pr.straddled = p->straddled;
    pr.nul = p->nul;
    pr.ctl = p->ctl;
    pr.kind = p->kind;
    pr.offset = p->start_off;
    pr.end_offset = end_off;
    pr.at = p->start_at;
    /* the next pair resets the rest when it starts */
    p->state = NV_NLEN;
    p->lenhave = 0;
    p->in_pair = false;
    if (fn)
        fn(c, ctx, &pr);
}

void fsd_nv_feed(fsd_conn *c, fsd_pair_parser *p, uint32_t max_pair, const uint8_t *data, size_t n,
                 uint64_t off, fsd_timepoint at, fsd_pair_fn fn, void *ctx)
{
    size_t i = 0;
    if (p->broken)
        return;
    while (i < n) {
        if (p->state == NV_NLEN && p->lenhave == 0) {
            /* fastest path: a whole pair with 1-byte lengths inside this piece,
             * handed out in place (zero copy), same fields as the general path */
            fsd_pair pr;
            size_t len = fsd_pair_in_place(&pr, data + i, n - i, max_pair, off + i, at);
            if (len > 0) {
                i += len;
                if (fn)
                    fn(c, ctx, &pr);
                continue;
            }
        }
        if (p->state == NV_NLEN && p->lenhave == 0 && n - i >= 2 && !((data[i] | data[i + 1]) & 0x80)) {
            /* fast path: both lengths are single bytes and present */
            reset_pair(p);
            p->in_pair = true;
            p->start_off = off + i;
            p->start_at = at;
            p->name_len = data[i];
            p->value_len = data[i + 1];
            p->state = NV_NAME;
            i += 2;
            if (advance(p))
                emit(c, p, off + i, fn, ctx);
            continue;
        }
        if (p->state == NV_NLEN || p->state == NV_VLEN) {
            uint8_t b = data[i];
            if (p->state == NV_NLEN && p->lenhave == 0) {
                reset_pair(p);
                p->in_pair = true;
                p->start_off = off + i;
                p->start_at = at;
            }
            p->lenbuf[p->lenhave++] = b;
            i++;
            if ((p->lenbuf[0] & 0x80) && p->lenhave < 4)
                continue;
            {
                uint32_t v = p->lenhave == 1 ? p->lenbuf[0]
                           : ((uint32_t)(p->lenbuf[0] & 0x7f) << 24) | ((uint32_t)p->lenbuf[1] << 16) |
                             ((uint32_t)p->lenbuf[2] << 8) | p->lenbuf[3];
                p->lenhave = 0;
                if (p->state == NV_NLEN) {
                    p->name_len = v;
                    p->state = NV_VLEN;
                    continue;
                }
                p->value_len = v;
                p->state = NV_NAME;
                p->got = 0;
            }
            if (advance(p))
                emit(c, p, off + i, fn, ctx);
            continue;
        }
        {
            bool is_value = p->state == NV_VALUE;
            uint32_t want = (is_value ? p->value_len : p->name_len) - p->got;
            size_t take = n - i < want ? n - i : want;
            store(c, p, max_pair, data + i, take, is_value ? &p->value_stored : &p->name_stored);
            scan(p, data + i, take, is_value);
            p->got += (uint32_t)take;
            i += take;
            if (advance(p))
                emit(c, p, off + i, fn, ctx);
        }
    }
}

void fsd_nv_record_end(fsd_pair_parser *p)
{
    if (p->in_pair && !p->broken)
        p->straddled = true;
    if (p->broken) {
        reset_pair(p);
        p->broken = false;
    }
}

bool fsd_nv_stream_end(fsd_pair_parser *p)
{
    bool overrun = p->in_pair;
    reset_pair(p);
    p->broken = false;
    return overrun;
}

void fsd_nv_break(fsd_pair_parser *p)
{
    reset_pair(p);
    p->broken = true;
}

void fsd_nv_release(fsd_conn *c, fsd_pair_parser *p)
{
    if (p->buf)
        fsd_mem_free(c, p->buf, p->cap);
    p->buf = NULL;
    p->cap = 0;
    reset_pair(p);
    p->broken = false;
}

void fsd_emit_param(fsd_conn *c, fsd_dir dir, uint8_t type, uint16_t request_id, const fsd_pair *p)
{
    fsd_param_event ev;
    if (!c->cb->on_param)
        return;
    memset(&ev, 0, sizeof ev);
    ev.dir = dir;
    ev.record_type = type;
    ev.request_id = request_id;
    ev.name.ptr = p->name;
    ev.name.len = p->name_stored;
    ev.value.ptr = p->value;
    ev.value.len = p->value_stored;
    ev.name_len = p->name_len;
    ev.value_len = p->value_len;
    ev.truncated = p->truncated;
    ev.straddled = p->straddled;
    ev.offset = p->offset;
    ev.end_offset = p->end_offset;
    c->cb->on_param(c->ud, &ev);
}
