/* cgi.c — the CGI response header block at the start of STDOUT: blank-line detection, Status:, Content-Type.
 *
 * Normative reference: RFC 3875 §6.2-§6.3 (CGI response: header fields, a
 * blank line, the body; Status: "3DIGIT SP reason"), as FastCGI §6.2 carries
 * it on FCGI_STDOUT. Both CRLF and bare LF line ends are accepted.
 *
 * The status as a web server derives it: Status:, else 302 when a Location:
 * header is present (RFC 3875 §6.2.3; nginx and Apache do this), else 200.
 *
 *   Status: 404 Not Found\r\n
 *   Content-Type: text/html\r\n
 *   \r\n                          <- end of block (an empty line)
 *   <body ...>
 */
#include "fsd_internal.h"

#include <string.h>

size_t fsd_cgi_feed(fsd_conn *c, fsd_cgi *g, uint32_t max, const uint8_t *data, size_t n, bool *nomem)
{
    size_t room, lim, i = 0;
    bool done = false;
    if (g->state != FSD_CGI_HDR)
        return 0;
    room = g->used < max ? max - g->used : 0;
    lim = n < room ? n : room;
    /* find the blank line within the cap, line by line, then copy once */
    while (i < lim) {
        const uint8_t *nl = memchr(data + i, '\n', lim - i);
        size_t end = nl ? (size_t)(nl - data) : lim;
        /* the line so far is non-empty when it has a byte other than CR */
        if (g->line == 0) {
            for (size_t k = i; k < end; k++) {
                if (data[k] != '\r') {
                    g->line = 1;
                    break;
                }
            }
        }
        if (nl == NULL) {
            i = lim;
            break;
        }
        i = end + 1;
        if (g->line == 0) {
            done = true;
            break;
        }
        g->line = 0;
    }
    if (i > 0) {
        if (g->used + i > g->cap) {
            /* the whole block in one piece: exactly its size; else 512, doubling */
            size_t want = g->cap ? g->cap * 2 : done ? i : 512;
            while (want < g->used + i)
                want *= 2;
            if (want > max)
                want = max;
            if (g->buf == NULL) { /* exactly want (fsd_mem_grow would start at 512) */
                g->buf = fsd_mem_alloc(c, want);
                if (g->buf != NULL)
                    g->cap = want;
            } else {
                (void)fsd_mem_reserve(c, (void **)&g->buf, &g->cap, want, 1);
            }
            if (g->cap < g->used + i) {
                *nomem = true;
                g->state = FSD_CGI_CAPPED;
                return 0;
            }
        }
        memcpy(g->buf + g->used, data, i);
        g->used += i;
    }
    if (done)
        g->state = FSD_CGI_DONE;
    else if (i < n)
        g->state = FSD_CGI_CAPPED; /* the cap was reached before the blank line */
    return i; /* == n when everything was taken */
}

/* Case-insensitive compare with an ASCII literal of bl bytes. */
static bool ieq(const uint8_t *a, size_t alen, const char *b, size_t bl)
{
    if (alen != bl)
        return false;
    for (size_t i = 0; i < bl; i++) {
        uint8_t x = a[i], y = (uint8_t)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (uint8_t)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (uint8_t)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

static bool is_ws(uint8_t b)
{
    return b == ' ' || b == '\t' || b == '\r';
}

void fsd_cgi_parse(fsd_conn *c, const fsd_cgi *g, fsd_cgi_result *out, bool want_headers)
{
    size_t pos = 0, nlines = 0;
    memset(out, 0, sizeof *out);
    if (want_headers) {
        const uint8_t *q = g->buf, *e = g->buf + g->used, *nl;
        while (q < e && (nl = memchr(q, '\n', (size_t)(e - q))) != NULL) {
            nlines++;
            q = nl + 1;
        }
    }
    if (nlines > 0) {
        out->headers = fsd_mem_alloc(c, nlines * sizeof *out->headers);
        if (out->headers == NULL)
            c->nomem = true;
        else
            out->headers_cap = nlines;
    }
    while (pos < g->used) {
        const uint8_t *line = g->buf + pos;
        const uint8_t *nl = memchr(line, '\n', g->used - pos);
        size_t len = nl ? (size_t)(nl - line) : g->used - pos;
        size_t end = len, colon, vs;
        pos += len + (nl ? 1 : 0);
        while (end > 0 && line[end - 1] == '\r')
            end--;
        if (end == 0 && nl)
            break; /* the blank line */
        if (!nl)
            break; /* unfinished last line (capped or cut) */
        {
            const uint8_t *cp = memchr(line, ':', end);
            if (cp == NULL)
                continue;
            colon = (size_t)(cp - line);
        }
        {
            size_t ne = colon;
            while (ne > 0 && is_ws(line[ne - 1]))
                ne--;
            if (out->headers == NULL && ne != 6 && ne != 8 && ne != 12)
                continue; /* only Status, Location and Content-Type are looked at */
            vs = colon + 1;
            while (vs < end && is_ws(line[vs]))
                vs++;
            while (end > vs && is_ws(line[end - 1]))
                end--;
            if (out->headers && out->nheaders < out->headers_cap) {
                fsd_cgi_header *h = &out->headers[out->nheaders++];
                h->name.ptr = line;
                h->name.len = ne;
                h->value.ptr = line + vs;
                h->value.len = end - vs;
            }
            if (ieq(line, ne, "Status", 6) && !out->status_present) {
                const uint8_t *v = line + vs;
                size_t vl = end - vs;
                out->status_present = true;
                out->status_off = (size_t)(v - g->buf);
                out->status_len = vl;
                if (vl >= 3 && v[0] >= '0' && v[0] <= '9' && v[1] >= '0' && v[1] <= '9' &&
                    v[2] >= '0' && v[2] <= '9')
                    out->status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
                else
                    out->status_bad = true;
            } else if (ieq(line, ne, "Location", 8)) {
                if (end > vs)
                    out->location_present = true;
            } else if (ieq(line, ne, "Content-Type", 12) && !out->ct_present) {
                out->ct_present = true;
                out->ct_off = (size_t)(line + vs - g->buf);
                out->ct_len = end - vs;
            }
        }
    }
    /* as web servers derive it (nginx, Apache; RFC 3875 §6.2.3 client redirect) */
    if (!out->status_present)
        out->status = out->location_present ? 302 : 200;
    else if (out->status_bad)
        out->status = 0;
}

void fsd_cgi_free_headers(fsd_conn *c, fsd_cgi_result *r)
{
    if (r->headers)
        fsd_mem_free(c, r->headers, r->headers_cap * sizeof *r->headers);
    r->headers = NULL;
    r->nheaders = r->headers_cap = 0;
}

void fsd_cgi_release(fsd_conn *c, fsd_cgi *g)
{
    if (g->buf)
        fsd_mem_free(c, g->buf, g->cap);
    g->buf = NULL;
    g->cap = g->used = 0;
}
