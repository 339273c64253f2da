/* fcgiw.c — FastCGI record writer (headers, discrete bodies, name-value pairs, streams).
 *
 * Normative reference: FastCGI Specification 1.0 §3.3 (record), §3.4
 * (name-value pairs), §5.1 (FCGI_BeginRequestBody), §5.5 (FCGI_EndRequestBody).
 *
 *   0        1        2        3        4        5        6        7
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  |version |  type  | requestId (BE16)| contentLength(BE16)| padLen |reserved|
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *
 *  Name-value length: 0lllllll (1 byte) or 1lllllll llllllll llllllll llllllll (4 bytes).
 */
#include "fcgiw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fcgiw_buf_init(fcgiw_buf *b) { memset(b, 0, sizeof *b); }

void fcgiw_buf_free(fcgiw_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void fcgiw_buf_clear(fcgiw_buf *b) { b->len = 0; }

static void reserve(fcgiw_buf *b, size_t n)
{
    if (n <= b->cap - b->len)
        return;
    size_t need = b->len + n;
    if (need < b->len) {
        fprintf(stderr, "fcgiw: buffer size overflow\n");
        abort();
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "fcgiw: out of memory\n");
        abort();
    }
    b->p = p;
    b->cap = cap;
}

void fcgiw_put(fcgiw_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void fcgiw_put_str(fcgiw_buf *b, const char *s) { fcgiw_put(b, s, strlen(s)); }

void fcgiw_put_byte(fcgiw_buf *b, uint8_t v, size_t count)
{
    if (count == 0)
        return;
    reserve(b, count);
    memset(b->p + b->len, v, count);
    b->len += count;
}

void fcgiw_header(fcgiw_buf *b, const fcgiw_hdr *h)
{
    uint8_t x[8] = {
        h->version, h->type,
        (uint8_t)(h->request_id >> 8), (uint8_t)h->request_id,
        (uint8_t)(h->content_length >> 8), (uint8_t)h->content_length,
        h->padding_length, h->reserved,
    };
    fcgiw_put(b, x, 8);
}

void fcgiw_record(fcgiw_buf *b, uint8_t type, uint16_t request_id,
                  const void *content, uint16_t len, uint8_t padlen)
{
    fcgiw_hdr h = {1, type, request_id, len, padlen, 0};
    fcgiw_header(b, &h);
    fcgiw_put(b, content, len);
    fcgiw_put_byte(b, 0, padlen);
}

uint8_t fcgiw_pad8(size_t len) { return (uint8_t)((8 - (len & 7)) & 7); }

void fcgiw_begin_body(uint8_t out[8], uint16_t role, uint8_t flags)
{
    memset(out, 0, 8);
    out[0] = (uint8_t)(role >> 8);
    out[1] = (uint8_t)role;
    out[2] = flags;
}

void fcgiw_end_body(uint8_t out[8], uint32_t app_status, uint8_t protocol_status)
{
    memset(out, 0, 8);
    out[0] = (uint8_t)(app_status >> 24);
    out[1] = (uint8_t)(app_status >> 16);
    out[2] = (uint8_t)(app_status >> 8);
    out[3] = (uint8_t)app_status;
    out[4] = protocol_status;
}

void fcgiw_begin(fcgiw_buf *b, uint16_t request_id, uint16_t role, uint8_t flags)
{
    uint8_t body[8];
    fcgiw_begin_body(body, role, flags);
    fcgiw_record(b, FCGIW_BEGIN_REQUEST, request_id, body, 8, 0);
}

void fcgiw_end(fcgiw_buf *b, uint16_t request_id, uint32_t app_status, uint8_t protocol_status)
{
    uint8_t body[8];
    fcgiw_end_body(body, app_status, protocol_status);
    fcgiw_record(b, FCGIW_END_REQUEST, request_id, body, 8, 0);
}

void fcgiw_abort(fcgiw_buf *b, uint16_t request_id)
{
    fcgiw_record(b, FCGIW_ABORT_REQUEST, request_id, NULL, 0, 0);
}

size_t fcgiw_nv_length(uint8_t out[4], uint32_t len, bool force_long)
{
    if (len <= 127 && !force_long) {
        out[0] = (uint8_t)len;
        return 1;
    }
    out[0] = (uint8_t)(0x80 | ((len >> 24) & 0x7f));
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    return 4;
}

void fcgiw_nv(fcgiw_buf *b, const void *name, uint32_t nlen, const void *value, uint32_t vlen,
              bool force_long_name, bool force_long_value)
{
    uint8_t l[4];
    fcgiw_put(b, l, fcgiw_nv_length(l, nlen, force_long_name));
    fcgiw_put(b, l, fcgiw_nv_length(l, vlen, force_long_value));
    fcgiw_put(b, name, nlen);
    fcgiw_put(b, value, vlen);
}

void fcgiw_nv_str(fcgiw_buf *b, const char *name, const char *value)
{
    fcgiw_nv(b, name, (uint32_t)strlen(name), value, (uint32_t)strlen(value), false, false);
}

static void one_record(fcgiw_buf *b, uint8_t type, uint16_t id, const uint8_t *p, size_t n, bool pad8)
{
    fcgiw_record(b, type, id, p, (uint16_t)n, pad8 ? fcgiw_pad8(n) : 0);
}

void fcgiw_stream(fcgiw_buf *b, uint8_t type, uint16_t request_id, const void *data, size_t len,
                  const fcgiw_style *style, bool terminate)
{
    size_t max = style && style->max_content ? style->max_content : 65535;
    bool pad8 = style && style->pad8;
    const uint8_t *p = data;
    while (len > 0) {
        size_t n = len < max ? len : max;
        one_record(b, type, request_id, p, n, pad8);
        p += n;
        len -= n;
    }
    if (terminate)
        one_record(b, type, request_id, NULL, 0, pad8);
}

void fcgiw_stream_cuts(fcgiw_buf *b, uint8_t type, uint16_t request_id, const void *data,
                       size_t len, const size_t *sizes, size_t n, bool pad8, bool terminate)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n && len > 0; i++) {
        size_t k = sizes[i] < len ? sizes[i] : len;
        if (k > 65535)
            k = 65535;
        if (k == 0)
            continue;
        one_record(b, type, request_id, p, k, pad8);
        p += k;
        len -= k;
    }
    fcgiw_style st = {65535, pad8};
    fcgiw_stream(b, type, request_id, p, len, &st, terminate);
}
