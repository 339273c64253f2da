/* vecfile.c — reader for the .vec files in tests/vectors and the canonical event log printer.
 *
 * Normative reference: tests/vectors/README.md (file and log formats).
 */
#define _POSIX_C_SOURCE 200809L
#include "vecfile.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + (size_t)n + 1)
            nc *= 2;
        b->s = realloc(b->s, nc);
        if (!b->s)
            abort();
        b->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sb_free(sbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ */
/* parsing                                                            */

char *vec_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static void push_byte(vec_step *s, uint8_t b)
{
    if ((s->len & 255) == 0) {
        s->data = realloc(s->data, s->len + 256);
        if (!s->data)
            abort();
    }
    s->data[s->len++] = b;
}

/* Hex pairs and "strings" (\r \n \t \\ \" \0 \xHH); # comment to end of line. */
static int parse_bytes(vec_step *s, const char *line, const char *path, int lineno)
{
    const char *p = line;
    while (*p) {
        if (isspace((unsigned char)*p)) {
            p++;
        } else if (*p == '#') {
            break;
        } else if (*p == '"') {
            p++;
            s->last_str = s->len;
            while (*p && *p != '"') {
                if (*p == '\\') {
                    p++;
                    switch (*p) {
                    case 'r': push_byte(s, '\r'); p++; break;
                    case 'n': push_byte(s, '\n'); p++; break;
                    case 't': push_byte(s, '\t'); p++; break;
                    case '0': push_byte(s, 0); p++; break;
                    case '\\': push_byte(s, '\\'); p++; break;
                    case '"': push_byte(s, '"'); p++; break;
                    case 'x':
                        if (hexval(p[1]) < 0 || hexval(p[2]) < 0)
                            goto bad;
                        push_byte(s, (uint8_t)(hexval(p[1]) * 16 + hexval(p[2])));
                        p += 3;
                        break;
                    default: goto bad;
                    }
                } else {
                    push_byte(s, (uint8_t)*p++);
                }
            }
            if (*p != '"')
                goto bad;
            p++;
            if (*p == '*') { /* "text"*N repeats the string */
                const char *q = p + 1;
                size_t start = s->len, slen;
                unsigned long n = strtoul(q, (char **)&p, 10);
                if (p == q || n == 0 || n > 10000000)
                    goto bad;
                /* find where this string started: rescan backwards is awkward, so record it */
                slen = s->len - s->last_str;
                for (unsigned long k = 1; k < n; k++)
                    for (size_t j = 0; j < slen; j++)
                        push_byte(s, s->data[s->last_str + j]);
                (void)start;
            }
        } else {
            if (hexval(p[0]) < 0 || hexval(p[1]) < 0)
                goto bad;
            push_byte(s, (uint8_t)(hexval(p[0]) * 16 + hexval(p[1])));
            p += 2;
            if (*p == '*') { /* HH*N repeats the byte */
                const char *q = p + 1;
                uint8_t b = s->data[s->len - 1];
                unsigned long n = strtoul(q, (char **)&p, 10);
                if (p == q || n == 0 || n > 10000000)
                    goto bad;
                for (unsigned long k = 1; k < n; k++)
                    push_byte(s, b);
            }
        }
    }
    return 0;
bad:
    fprintf(stderr, "%s:%d: bad byte syntax near \"%.20s\"\n", path, lineno, p);
    return -1;
}

static int parse_dir(const char *w, fsd_dir *d)
{
    if (strcmp(w, "client") == 0)
        *d = FSD_DIR_CLIENT;
    else if (strcmp(w, "server") == 0)
        *d = FSD_DIR_SERVER;
    else
        return -1;
    return 0;
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

vec *vec_load(const char *path)
{
    char *text = vec_read_file(path), *line, *save = NULL;
    vec *v;
    vec_step *cur = NULL;
    int lineno = 0, in_expect = 0;
    sbuf exp = { 0 }, head = { 0 };
    const char *base;
    if (!text) {
        fprintf(stderr, "%s: cannot read\n", path);
        return NULL;
    }
    v = calloc(1, sizeof *v);
    base = strrchr(path, '/');
    v->name = strdup(base ? base + 1 : path);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *t, w1[32] = "", w2[32] = "";
        long long a = 0, b = 0, c = 0;
        int n;
        lineno++;
        if (in_expect) {
            t = trim(line);
            if (*t && *t != '#')
                sb_printf(&exp, "%s\n", t);
            continue;
        }
        t = trim(line);
        if (strcmp(t, "expect") == 0) {
            in_expect = 1;
            continue;
        }
        sb_printf(&head, "%s\n", line);
        if (*t == 0 || *t == '#')
            continue;
        n = sscanf(t, "%31s %31s", w1, w2);
        if (n >= 1 && (strcmp(w1, "client") == 0 || strcmp(w1, "server") == 0)) {
            vec_step s = { 0 };
            s.op = OP_DATA;
            parse_dir(w1, &s.dir);
            if (sscanf(t, "%*s %lld %lld", &a, &b) != 2)
                goto bad;
            s.ts = a;
            s.tag = (uint64_t)b;
            v->steps = realloc(v->steps, (v->nsteps + 1) * sizeof *v->steps);
            v->steps[v->nsteps++] = s;
            cur = &v->steps[v->nsteps - 1];
            continue;
        }
        if (strcmp(w1, "gap") == 0 || strcmp(w1, "fin") == 0 || strcmp(w1, "rst") == 0 ||
            strcmp(w1, "finish") == 0) {
            vec_step s = { 0 };
            cur = NULL;
            if (strcmp(w1, "gap") == 0) {
                s.op = OP_GAP;
                if (parse_dir(w2, &s.dir) || sscanf(t, "%*s %*s %lld %lld %lld", &c, &a, &b) != 3)
                    goto bad;
                s.gap = (uint64_t)c;
            } else if (strcmp(w1, "finish") == 0) {
                s.op = OP_FINISH;
                if (sscanf(t, "%*s %lld %lld", &a, &b) != 2)
                    goto bad;
            } else {
                s.op = strcmp(w1, "fin") == 0 ? OP_FIN : OP_RST;
                if (parse_dir(w2, &s.dir) || sscanf(t, "%*s %*s %lld %lld", &a, &b) != 2)
                    goto bad;
            }
            s.ts = a;
            s.tag = (uint64_t)b;
            v->steps = realloc(v->steps, (v->nsteps + 1) * sizeof *v->steps);
            v->steps[v->nsteps++] = s;
            continue;
        }
        if (strcmp(w1, "option") == 0) {
            unsigned long val;
            char key[32];
            cur = NULL;
            if (strcmp(w2, "midstream-client") == 0)
                v->flags |= FSD_CONN_MIDSTREAM_CLIENT;
            else if (strcmp(w2, "midstream-server") == 0)
                v->flags |= FSD_CONN_MIDSTREAM_SERVER;
            else if (sscanf(w2, "%31[a-z_]=%lu", key, &val) == 2) {
                if (strcmp(key, "max_params_bytes") == 0)
                    v->limits.max_params_bytes = (uint32_t)val;
                else if (strcmp(key, "max_pair_bytes") == 0)
                    v->limits.max_pair_bytes = (uint32_t)val;
                else if (strcmp(key, "max_cgi_header_bytes") == 0)
                    v->limits.max_cgi_header_bytes = (uint32_t)val;
                else if (strcmp(key, "max_active_requests") == 0)
                    v->limits.max_active_requests = (uint32_t)val;
                else if (strcmp(key, "max_request_anomalies") == 0)
                    v->limits.max_request_anomalies = (uint32_t)val;
                else if (strcmp(key, "web_server_header_bytes") == 0)
                    v->limits.web_server_header_bytes = (uint32_t)val;
                else if (strcmp(key, "upstream_timeout_ms") == 0)
                    v->limits.upstream_timeout_ms = (uint32_t)val;
                else
                    goto bad;
            } else {
                goto bad;
            }
            continue;
        }
        if (strcmp(w1, "name") == 0 || strcmp(w1, "description") == 0) {
            cur = NULL;
            continue;
        }
        if (cur == NULL)
            goto bad;
        if (parse_bytes(cur, t, path, lineno))
            goto fail;
    }
    if (!in_expect) {
        fprintf(stderr, "%s: no \"expect\" line\n", path);
        goto fail;
    }
    v->expect = exp.s ? exp.s : strdup("");
    v->head = head.s ? head.s : strdup("");
    free(text);
    return v;
bad:
    fprintf(stderr, "%s:%d: cannot parse \"%s\"\n", path, lineno, line);
fail:
    free(text);
    sb_free(&exp);
    sb_free(&head);
    vec_free(v);
    return NULL;
}

void vec_free(vec *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->nsteps; i++)
        free(v->steps[i].data);
    free(v->steps);
    free(v->name);
    free(v->expect);
    free(v->head);
    free(v);
}

/* ------------------------------------------------------------------ */
/* log printer                                                        */

static void esc(sbuf *b, const uint8_t *p, size_t n, size_t max)
{
    sb_printf(b, "\"");
    for (size_t i = 0; i < n && i < max; i++) {
        uint8_t ch = p[i];
        if (ch == '"' || ch == '\\')
            sb_printf(b, "\\%c", ch);
        else if (ch == '\r')
            sb_printf(b, "\\r");
        else if (ch == '\n')
            sb_printf(b, "\\n");
        else if (ch < 0x20 || ch >= 0x7f)
            sb_printf(b, "\\x%02x", ch);
        else
            sb_printf(b, "%c", ch);
    }
    sb_printf(b, "\"");
    if (n > max)
        sb_printf(b, "...(%zu)", n);
}

static const char dch[2] = { 'c', 's' };

typedef struct pstash {
    uint16_t id;
    sbuf names;               /* escaped name=value lines */
    size_t n;
} pstash;

typedef struct runctx {
    sbuf *log;
    /* data accumulated since the last record event, per direction */
    uint8_t *data[2];
    size_t dlen[2], dcap[2];
    uint64_t dnext[2];
    int dbad[2];
    int dgap[2];               /* a capture_gap was reported: the next span may jump */
    pstash ps[16];            /* params seen per request id (for tx self-check) */
    int errors;               /* VEC_ERR_* */
    int lean;                 /* only on_anomaly and on_transaction set (no param self-check) */
} runctx;

static pstash *stash_for(runctx *r, uint16_t id, int create)
{
    for (int i = 0; i < 16; i++)
        if (r->ps[i].id == id && (r->ps[i].n || r->ps[i].names.len))
            return &r->ps[i];
    if (!create)
        return NULL;
    for (int i = 0; i < 16; i++)
        if (r->ps[i].n == 0 && r->ps[i].names.len == 0) {
            r->ps[i].id = id;
            return &r->ps[i];
        }
    return NULL;
}

static void on_record(void *ud, const fsd_record_event *ev)
{
    runctx *r = ud;
    sbuf *b = r->log;
    int d = ev->dir;
    if (r->dlen[d] || r->dbad[d]) {
        sb_printf(b, "data %c len=%zu ", dch[d], r->dlen[d]);
        esc(b, r->data[d], r->dlen[d], 64);
        if (r->dbad[d]) {
            sb_printf(b, " OFFSET-ERROR");
            r->errors |= VEC_ERR_DATA_OFFSET;
        }
        sb_printf(b, "\n");
        r->dlen[d] = 0;
        r->dbad[d] = 0;
    }
    sb_printf(b, "rec %c %s", dch[d], fsd_type_name(ev->hdr.type));
    if (!fsd_type_name(ev->hdr.type)[0] || ev->hdr.type == 0 || ev->hdr.type > FSD_MAX_KNOWN_TYPE)
        sb_printf(b, "(%u)", ev->hdr.type);
    if (ev->hdr.version != 1)
        sb_printf(b, " v=%u", ev->hdr.version);
    sb_printf(b, " id=%u off=%llu cl=%u pl=%u tags=%llu-%llu", ev->hdr.request_id,
              (unsigned long long)ev->offset, ev->hdr.content_length, ev->hdr.padding_length,
              (unsigned long long)ev->first.tag, (unsigned long long)ev->last.tag);
    if (ev->request_active)
        sb_printf(b, " active");
    if (ev->is_eos)
        sb_printf(b, " eos");
    if (ev->truncated)
        sb_printf(b, " truncated");
    if (ev->body_valid) {
        if (ev->hdr.type == FSD_BEGIN_REQUEST)
            sb_printf(b, " role=%u flags=%u", ev->body.begin.role, ev->body.begin.flags);
        else if (ev->hdr.type == FSD_END_REQUEST)
            sb_printf(b, " app=%u ps=%u", ev->body.end.app_status, ev->body.end.protocol_status);
        else if (ev->hdr.type == FSD_UNKNOWN_TYPE)
            sb_printf(b, " utype=%u", ev->body.unknown_type.type);
    }
    sb_printf(b, "\n");
    if (ev->hdr.type == FSD_BEGIN_REQUEST && ev->request_active) {
        pstash *p = stash_for(r, ev->hdr.request_id, 0);
        if (p) {
            sb_free(&p->names);
            p->n = 0;
        }
    }
}

static void on_param(void *ud, const fsd_param_event *ev)
{
    runctx *r = ud;
    sbuf *b = r->log;
    sb_printf(b, "param %c %s id=%u off=%llu-%llu ", dch[ev->dir], fsd_type_name(ev->record_type),
              ev->request_id, (unsigned long long)ev->offset, (unsigned long long)ev->end_offset);
    esc(b, ev->name.ptr, ev->name.len, 64);
    sb_printf(b, "=");
    esc(b, ev->value.ptr, ev->value.len, 64);
    if (ev->truncated)
        sb_printf(b, " truncated nl=%u vl=%u", ev->name_len, ev->value_len);
    if (ev->straddled)
        sb_printf(b, " straddled");
    sb_printf(b, "\n");
    if (ev->record_type == FSD_PARAMS) {
        pstash *p = stash_for(r, ev->request_id, 1);
        if (p) {
            esc(&p->names, ev->name.ptr, ev->name.len, (size_t)-1);
            sb_printf(&p->names, "=");
            esc(&p->names, ev->value.ptr, ev->value.len, (size_t)-1);
            sb_printf(&p->names, ";%u;%u\n", ev->name_len, ev->value_len);
            p->n++;
        }
    }
}

static void on_data(void *ud, const fsd_data_event *ev)
{
    runctx *r = ud;
    int d = ev->dir;
    if (r->dlen[d] && ev->offset != r->dnext[d] && !r->dgap[d])
        r->dbad[d] = 1;
    r->dgap[d] = 0;
    if (r->dlen[d] + ev->data.len > r->dcap[d]) {
        r->dcap[d] = (r->dlen[d] + ev->data.len) * 2;
        r->data[d] = realloc(r->data[d], r->dcap[d]);
        if (!r->data[d])
            abort();
    }
    memcpy(r->data[d] + r->dlen[d], ev->data.ptr, ev->data.len);
    r->dlen[d] += ev->data.len;
    r->dnext[d] = ev->offset + ev->data.len;
}

static void on_response(void *ud, const fsd_response_event *ev)
{
    runctx *r = ud;
    sbuf *b = r->log;
    sb_printf(b, "response id=%u status=%d complete=%d hlen=%llu at=%llu", ev->request_id, ev->status,
              ev->complete, (unsigned long long)ev->header_len, (unsigned long long)ev->at.tag);
    if (ev->status_line.ptr) {
        sb_printf(b, " status_line=");
        esc(b, ev->status_line.ptr, ev->status_line.len, 64);
    }
    if (ev->content_type.ptr) {
        sb_printf(b, " ct=");
        esc(b, ev->content_type.ptr, ev->content_type.len, 64);
    }
    sb_printf(b, " headers=");
    for (size_t i = 0; i < ev->nheaders; i++) {
        if (i)
            sb_printf(b, ",");
        esc(b, ev->headers[i].name.ptr, ev->headers[i].name.len, 32);
    }
    sb_printf(b, "\n");
}

/* The length of the record whose header starts at b, 0 when fewer than 8 bytes. */
static uint32_t record_len_at(const uint8_t *b, size_t avail)
{
    fsd_header h;
    if (avail < FSD_HEADER_LEN)
        return 0;
    fsd_header_unpack(&h, b);
    return fsd_header_record_len(&h);
}

static void print_anomaly(sbuf *b, const fsd_anomaly_event *ev, const char *prefix)
{
    sb_printf(b, "%s%s %s %c off=%llu tag=%llu id=", prefix, fsd_severity_name(ev->severity),
              fsd_anomaly_name(ev->id), dch[ev->dir], (unsigned long long)ev->offset,
              (unsigned long long)ev->at.tag);
    if (ev->request_id < 0)
        sb_printf(b, "-");
    else
        sb_printf(b, "%d", ev->request_id);
    if (ev->in_transaction)
        sb_printf(b, " tx");
    sb_printf(b, " ");
    esc(b, (const uint8_t *)ev->detail, strlen(ev->detail), 200);
    sb_printf(b, "\n");
}

static void on_anomaly(void *ud, const fsd_anomaly_event *ev)
{
    runctx *r = ud;
    /* an event's severity may be below the catalogue's where the evidence says so (SPEC 0.2.0) */
    if ((int)ev->id < 0 || ev->id >= FSD_A_COUNT || ev->severity < FSD_SEV_NOTE ||
        ev->severity > fsd_anomaly_max_severity(ev->id) || memchr(ev->detail, 0, sizeof ev->detail) == NULL)
        r->errors |= VEC_ERR_ANOMALY;
    if (ev->id == FSD_A_capture_gap)
        r->dgap[ev->dir] = 1;
    print_anomaly(r->log, ev, "anomaly ");
}

static void tp(sbuf *b, const char *name, fsd_timepoint t)
{
    if (t.set)
        sb_printf(b, " %s=%llu@%lld", name, (unsigned long long)t.tag, (long long)t.ns);
    else
        sb_printf(b, " %s=-", name);
}

static void span(sbuf *b, const char *name, fsd_span s)
{
    sb_printf(b, " %s=", name);
    if (s.ptr)
        esc(b, s.ptr, s.len, 64);
    else
        sb_printf(b, "-");
}

static void on_transaction(void *ud, const fsd_transaction *tx)
{
    runctx *r = ud;
    sbuf *b = r->log;
    pstash *p;
    sbuf mine = { 0 };
    sb_printf(b, "tx seq=%llu id=%u role=%s flags=%u keep=%d aborted=%d end=%s complete=%d has_end=%d\n",
              (unsigned long long)tx->seq, tx->request_id, fsd_role_name(tx->role), tx->flags,
              (tx->flags & FSD_FLAG_KEEP_CONN) != 0, tx->aborted, fsd_end_reason_name(tx->end_reason),
              tx->end_reason == FSD_END_COMPLETE, tx->has_end);
    if (tx->gap) /* (0.2.0) printed only when set: logs of vectors without gaps are unchanged */
        sb_printf(b, "tx.gap 1\n");
    sb_printf(b, "tx.params n=%zu dropped=%zu", tx->nparams, tx->params_dropped);
    span(b, "method", tx->method);
    span(b, "uri", tx->uri);
    span(b, "script", tx->script);
    span(b, "host", tx->host);
    span(b, "cl", tx->content_length);
    sb_printf(b, " clv=%lld\n", (long long)tx->content_length_value);
    sb_printf(b, "tx.bytes params=%llu stdin=%llu data=%llu stdout=%llu stderr=%llu\n",
              (unsigned long long)tx->params_bytes, (unsigned long long)tx->stdin_bytes,
              (unsigned long long)tx->data_bytes, (unsigned long long)tx->stdout_bytes,
              (unsigned long long)tx->stderr_bytes);
    sb_printf(b, "tx.resp status=%d", tx->http_status);
    span(b, "ct", tx->content_type);
    sb_printf(b, " app=%u ps=%u\n", tx->app_status, tx->protocol_status);
    sb_printf(b, "tx.time");
    tp(b, "begin", tx->t_begin);
    tp(b, "sent", tx->t_request_sent);
    tp(b, "first", tx->t_first_response);
    tp(b, "end", tx->t_end);
    sb_printf(b, "\n");
    /* 0.2.0: what the web server's client got */
    sb_printf(b, "tx.user status=%d outcome=%s source=%s hdr=%llu", tx->user_status,
              fsd_user_outcome_name(tx->user_outcome), fsd_status_source_name(tx->status_source),
              (unsigned long long)tx->cgi_header_bytes);
    tp(b, "last", tx->t_last);
    tp(b, "close", tx->t_close);
    sb_printf(b, " by=%s%s", tx->closed_by == FSD_DIR_UNKNOWN ? "-" : fsd_dir_name(tx->closed_by),
              tx->closed_by_reset ? " rst" : "");
    tp(b, "abandoned", tx->t_abandoned);
    sb_printf(b, "\n");
    for (size_t i = 0; i < tx->nanomalies; i++)
        print_anomaly(b, &tx->anomalies[i], "tx.anomaly ");
    if (tx->anomalies_dropped)
        sb_printf(b, "tx.anomalies_dropped %zu\n", tx->anomalies_dropped);
    /* self-check: the stored params are the param events of this request (in order) */
    for (size_t i = 0; i < tx->nparams; i++) {
        esc(&mine, tx->params[i].name.ptr, tx->params[i].name.len, (size_t)-1);
        sb_printf(&mine, "=");
        esc(&mine, tx->params[i].value.ptr, tx->params[i].value.len, (size_t)-1);
        sb_printf(&mine, ";%u;%u\n", tx->params[i].name_len, tx->params[i].value_len);
    }
    p = stash_for(r, tx->request_id, 0);
    if (tx->params_dropped == 0 && !r->lean) {
        const char *want = p && p->names.s ? p->names.s : "";
        const char *got = mine.s ? mine.s : "";
        if (strcmp(want, got) != 0) {
            sb_printf(b, "tx.params MISMATCH with the param events\n");
            r->errors |= VEC_ERR_PARAMS;
        }
    }
    if (p) {
        sb_free(&p->names);
        p->n = 0;
    }
    sb_free(&mine);
}

int vec_run(const vec *v, size_t split, sbuf *log)
{
    return vec_run_cb(v, split, log, 0);
}

int vec_run_cb(const vec *v, size_t split, sbuf *log, int lean)
{
    static const fsd_callbacks cbs = { on_record, on_param, on_data, on_response, on_anomaly, on_transaction };
    static const fsd_callbacks lean_cbs = { NULL, NULL, NULL, NULL, on_anomaly, on_transaction };
    runctx r;
    fsd_conn_config cfg;
    fsd_conn *c;
    memset(&r, 0, sizeof r);
    memset(&cfg, 0, sizeof cfg);
    r.log = log;
    r.lean = lean;
    cfg.limits = v->limits;
    cfg.cb = lean ? &lean_cbs : &cbs;
    cfg.ud = &r;
    cfg.flags = v->flags;
    c = fsd_conn_new(&cfg);
    if (!c) {
        sb_printf(log, "fsd_conn_new failed\n");
        return VEC_ERR_NOMEM;
    }
    for (size_t i = 0; i < v->nsteps; i++) {
        const vec_step *s = &v->steps[i];
        int rc = 0;
        switch (s->op) {
        case OP_DATA:
            if (split == SPLIT_WHOLE || s->len <= 1) {
                rc = fsd_conn_feed(c, s->dir, s->data, s->len, s->ts, s->tag);
            } else if (split == SPLIT_RECORDS) {
                size_t pos = 0;
                while (rc == 0 && pos < s->len) {
                    uint32_t rl = record_len_at(s->data + pos, s->len - pos);
                    if (rl == 0 || rl > s->len - pos) {
                        rc = fsd_conn_feed(c, s->dir, s->data + pos, s->len - pos, s->ts, s->tag);
                        break;
                    }
                    rc = fsd_conn_feed_record(c, s->dir, s->data + pos, rl, s->ts, s->tag);
                    if (rc == FSD_E_NOT_RECORD) { /* inside a record: plain bytes */
                        rc = fsd_conn_feed(c, s->dir, s->data + pos, s->len - pos, s->ts, s->tag);
                        break;
                    }
                    pos += rl;
                }
            } else if (split == SPLIT_BYTES) {
                for (size_t k = 0; k < s->len && rc == 0; k++)
                    rc = fsd_conn_feed(c, s->dir, s->data + k, 1, s->ts, s->tag);
            } else {
                size_t k = split < s->len ? split : s->len;
                rc = fsd_conn_feed(c, s->dir, s->data, k, s->ts, s->tag);
                if (rc == 0 && k < s->len)
                    rc = fsd_conn_feed(c, s->dir, s->data + k, s->len - k, s->ts, s->tag);
            }
            break;
        case OP_GAP: rc = fsd_conn_gap(c, s->dir, s->gap, s->ts, s->tag); break;
        case OP_FIN: rc = fsd_conn_close(c, s->dir, FSD_CLOSE_FIN, s->ts, s->tag); break;
        case OP_RST: rc = fsd_conn_close(c, s->dir, FSD_CLOSE_RST, s->ts, s->tag); break;
        case OP_FINISH: rc = fsd_conn_finish(c, s->ts, s->tag); break;
        }
        if (rc != 0) {
            sb_printf(log, "step %zu returned %d\n", i, rc);
            if (rc != FSD_E_FINISHED)
                r.errors |= VEC_ERR_RC;
        }
    }
    {
        fsd_conn_stats st;
        fsd_conn_get_stats(c, &st);
        sb_printf(log, "stats c bytes=%llu gap=%llu skipped=%llu records=%llu state=%d\n",
                  (unsigned long long)st.dir[0].bytes, (unsigned long long)st.dir[0].gap_bytes,
                  (unsigned long long)st.dir[0].skipped_bytes, (unsigned long long)st.dir[0].records,
                  st.dir[0].state);
        sb_printf(log, "stats s bytes=%llu gap=%llu skipped=%llu records=%llu state=%d\n",
                  (unsigned long long)st.dir[1].bytes, (unsigned long long)st.dir[1].gap_bytes,
                  (unsigned long long)st.dir[1].skipped_bytes, (unsigned long long)st.dir[1].records,
                  st.dir[1].state);
        sb_printf(log, "stats transactions=%llu active=%u max_active=%u", (unsigned long long)st.transactions,
                  st.active_requests, st.max_active_requests);
        if (st.untracked_requests || st.untracked_records) /* only where requests were refused */
            sb_printf(log, " untracked=%llu untracked_records=%llu untracked_bytes=%llu",
                      (unsigned long long)st.untracked_requests, (unsigned long long)st.untracked_records,
                      (unsigned long long)st.untracked_bytes);
        sb_printf(log, "\n");
    }
    fsd_conn_free(c);
    for (int d = 0; d < 2; d++)
        free(r.data[d]);
    for (int i = 0; i < 16; i++)
        sb_free(&r.ps[i].names);
    return r.errors;
}

void vec_lean_lines(const char *full, sbuf *out)
{
    const char *q = full ? full : "";
    while (*q) {
        const char *e = strchr(q, '\n');
        size_t n = e ? (size_t)(e - q) + 1 : strlen(q);
        if (strncmp(q, "anomaly ", 8) == 0 || strncmp(q, "tx", 2) == 0 || strncmp(q, "stats ", 6) == 0 ||
            strncmp(q, "step ", 5) == 0)
            sb_printf(out, "%.*s", (int)n, q);
        q += n;
    }
}
