/* build.h — tiny FastCGI record writer for the decoder unit tests (tests WRITE FastCGI; only libfsd reads it).
 *
 * Normative reference: FastCGI Specification 1.0 §3.3, §3.4, §5.1.
 */
#ifndef FSD_TEST_BUILD_H
#define FSD_TEST_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct wbuf {
    uint8_t *b;
    size_t len, cap;
} wbuf;

static void wb_put(wbuf *w, const void *p, size_t n)
{
    if (w->len + n > w->cap) {
        w->cap = (w->len + n) * 2 + 64;
        w->b = realloc(w->b, w->cap);
        if (!w->b)
            abort();
    }
    if (n)
        memcpy(w->b + w->len, p, n);
    w->len += n;
}

static void wb_rec(wbuf *w, uint8_t type, uint16_t id, const void *content, size_t cl, uint8_t pad)
{
    uint8_t h[8] = { 1, type, (uint8_t)(id >> 8), (uint8_t)id, (uint8_t)(cl >> 8), (uint8_t)cl, pad, 0 };
    static const uint8_t zeros[256];
    wb_put(w, h, 8);
    wb_put(w, content, cl);
    wb_put(w, zeros, pad);
}

static void wb_begin(wbuf *w, uint16_t id, uint16_t role, uint8_t flags)
{
    uint8_t b[8] = { (uint8_t)(role >> 8), (uint8_t)role, flags, 0, 0, 0, 0, 0 };
    wb_rec(w, 1, id, b, 8, 0);
}

static void wb_end(wbuf *w, uint16_t id, uint32_t app, uint8_t ps)
{
    uint8_t b[8] = { (uint8_t)(app >> 24), (uint8_t)(app >> 16), (uint8_t)(app >> 8), (uint8_t)app, ps, 0, 0, 0 };
    wb_rec(w, 3, id, b, 8, 0);
}

/* Append one name-value pair (§3.4) to a content buffer. */
static void wb_nv(wbuf *w, const char *n, size_t nl, const char *v, size_t vl)
{
    uint8_t l[8];
    size_t k = 0;
    if (nl > 127) {
        l[k++] = (uint8_t)(0x80 | (nl >> 24)); l[k++] = (uint8_t)(nl >> 16); l[k++] = (uint8_t)(nl >> 8); l[k++] = (uint8_t)nl;
    } else {
        l[k++] = (uint8_t)nl;
    }
    if (vl > 127) {
        l[k++] = (uint8_t)(0x80 | (vl >> 24)); l[k++] = (uint8_t)(vl >> 16); l[k++] = (uint8_t)(vl >> 8); l[k++] = (uint8_t)vl;
    } else {
        l[k++] = (uint8_t)vl;
    }
    wb_put(w, l, k);
    wb_put(w, n, nl);
    wb_put(w, v, vl);
}

/* PARAMS content of any size cut into records of at most 65535 bytes, then the empty one. */
static void wb_params(wbuf *w, uint16_t id, const wbuf *content)
{
    size_t pos = 0;
    while (pos < content->len) {
        size_t k = content->len - pos > 65535 ? 65535 : content->len - pos;
        wb_rec(w, 4, id, content->b + pos, k, 0);
        pos += k;
    }
    wb_rec(w, 4, id, NULL, 0, 0);
}

#endif
