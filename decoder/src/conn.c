/* conn.c — per-connection, per-direction push parser: framing, resynchronisation, gaps, close; the public entry points.
 *
 * Normative reference: FastCGI Specification 1.0 §3.3 (records; receivers
 * skip padding); docs/PROTOCOL.md (how real peers frame it); docs/ANOMALIES.md
 * (capture_gap, midstream_start, desync: the resync rules).
 *
 * Per direction:
 *
 *            +-------------------- gap inside a record body: framing kept ---+
 *            v                                                               |
 *   [OK] header bytes -> hdr[8] --plausible enough--> body: content spans ---+--> record event
 *    |  \                              |                 padding skipped
 *    |   +-- version!=1 & type unknown +--> [DESYNCED] rest counted as skipped
 *    |
 *    +-- gap elsewhere / midstream start --> [HUNTING] buffer <= 65798+8 bytes, find a
 *        plausible header confirmed by the next plausible header or by the end of
 *        data (gap/close/finish, never the end of a chunk) -> replay -> [OK]
 *
 * Content is handed out as spans of the caller's buffer; only the 8 header
 * bytes, 8-byte discrete bodies and (while hunting) the resync window are
 * copied. Record lengths are computed in 32 bits (max 8 + 65535 + 255).
 */
#include "fsd_internal.h"
#include "fsd/fsd_testing.h" /* fsd_conn_feed_record is defined here */

#include <stdlib.h>
#include <string.h>

#define HUNT_CAP ((size_t)FSD_MAX_RECORD_LEN + FSD_HEADER_LEN)

void fsd_limits_default(fsd_limits *l)
{
    if (l == NULL)
        return;
    l->max_params_bytes = 262144;
    l->max_pair_bytes = 65536;
    l->max_cgi_header_bytes = 16384;
    l->max_active_requests = 1024;
    l->max_request_anomalies = 32;
    l->web_server_header_bytes = 4096;
    l->upstream_timeout_ms = 60000;
}

/* ------------------------------------------------------------------ */
/* life cycle                                                         */

static void hunt_free(fsd_conn *c, fsd_direction *d)
{
    if (d->hunt == NULL)
        return;
    if (d->hunt->win)
        fsd_mem_free(c, d->hunt->win, HUNT_CAP);
    if (d->hunt->segs)
        fsd_mem_free(c, d->hunt->segs, d->hunt->segcap * sizeof *d->hunt->segs);
    fsd_mem_free(c, d->hunt, sizeof *d->hunt);
    d->hunt = NULL;
}

/* Start hunting at d->off. false (direction given up: desynced) when the
 * small hunting state cannot be allocated. */
static bool hunt_start(fsd_conn *c, fsd_direction *d)
{
    if (d->hunt == NULL) {
        d->hunt = fsd_mem_alloc(c, sizeof *d->hunt);
        if (d->hunt == NULL) {
            c->nomem = true;
            d->sync = FSD_SYNC_DESYNCED;
            d->in_rec = false;
            d->hdr_have = 0;
            return false;
        }
        memset(d->hunt, 0, sizeof *d->hunt);
    }
    d->sync = FSD_SYNC_HUNTING;
    d->hunt->win_off = d->off;
    d->hunt->win_len = d->hunt->win_scanned = 0;
    d->hunt->nsegs = 0;
    d->in_rec = false;
    d->hdr_have = 0;
    if (!c->lenient)
        fsd_req_enable_lenient(c);
    return true;
}

fsd_conn *fsd_conn_new(const fsd_conn_config *cfg)
{
    fsd_allocator al;
    fsd_conn *c;
    if (cfg && cfg->alloc.alloc && cfg->alloc.free) {
        al = cfg->alloc;
    } else {
        al = fsd_mem_default();
    }
    c = al.alloc(al.ud, sizeof *c);
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof *c);
    c->al = al;
    c->st.memory_bytes = sizeof *c;
    fsd_limits_default(&c->lim);
    if (cfg) {
        if (cfg->limits.max_params_bytes)
            c->lim.max_params_bytes = cfg->limits.max_params_bytes;
        if (cfg->limits.max_pair_bytes)
            c->lim.max_pair_bytes = cfg->limits.max_pair_bytes;
        if (cfg->limits.max_cgi_header_bytes)
            c->lim.max_cgi_header_bytes = cfg->limits.max_cgi_header_bytes;
        if (cfg->limits.max_active_requests)
            c->lim.max_active_requests = cfg->limits.max_active_requests;
        if (cfg->limits.max_request_anomalies)
            c->lim.max_request_anomalies = cfg->limits.max_request_anomalies;
        if (cfg->limits.web_server_header_bytes)
            c->lim.web_server_header_bytes = cfg->limits.web_server_header_bytes;
        if (cfg->limits.upstream_timeout_ms)
            c->lim.upstream_timeout_ms = cfg->limits.upstream_timeout_ms;
        c->cb = cfg->cb;
        c->ud = cfg->ud;
    }
    if (c->cb == NULL) {
        static const fsd_callbacks none;
        c->cb = &none;
    }
    if (cfg && (cfg->flags & FSD_CONN_MIDSTREAM_CLIENT) && hunt_start(c, &c->d[FSD_DIR_CLIENT]))
        c->d[FSD_DIR_CLIENT].hunt->pend_mid = true;
    if (cfg && (cfg->flags & FSD_CONN_MIDSTREAM_SERVER) && hunt_start(c, &c->d[FSD_DIR_SERVER]))
        c->d[FSD_DIR_SERVER].hunt->pend_mid = true;
    c->nomem = false;
    return c;
}

void fsd_conn_free(fsd_conn *c)
{
    if (c == NULL)
        return;
    fsd_req_free_all(c);
    for (int i = 0; i < 2; i++) {
        hunt_free(c, &c->d[i]);
        if (c->d[i].mgmt) {
            fsd_nv_release(c, c->d[i].mgmt);
            fsd_mem_free(c, c->d[i].mgmt, sizeof *c->d[i].mgmt);
        }
    }
    if (c->idmaps)
        fsd_mem_free(c, c->idmaps, FSD_IDMAP_LEN);
    if (c->st.big)
        fsd_mem_free(c, c->st.big, FSD_BIG_LEN * sizeof *c->st.big);
    c->al.free(c->al.ud, c, sizeof *c);
}

uint64_t fsd_conn_next_offset(const fsd_conn *c, fsd_dir dir)
{
    if (c == NULL || (dir != FSD_DIR_CLIENT && dir != FSD_DIR_SERVER))
        return 0;
    return c->d[dir].off;
}

void fsd_conn_get_stats(const fsd_conn *c, fsd_conn_stats *out)
{
    if (c == NULL || out == NULL)
        return;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 2; i++) {
        out->dir[i].bytes = c->st.dir[i].bytes;
        out->dir[i].gap_bytes = c->st.dir[i].gap_bytes;
        out->dir[i].skipped_bytes = c->st.dir[i].skipped_bytes;
        for (int k = 0; k <= FSD_MAX_KNOWN_TYPE; k++) {
            uint64_t n = c->st.big_types ? c->st.big[FSD_BIG_TYPES + i * (FSD_MAX_KNOWN_TYPE + 1) + k]
                                         : c->st.dir[i].by_type[k];
            out->dir[i].records_by_type[k] = n;
            out->dir[i].records += n;
        }
    }
    out->transactions = c->st.transactions;
    out->active_requests = c->st.active_requests;
    out->max_active_requests = c->st.max_active_requests;
    out->memory_bytes = c->st.memory_bytes;
    if (c->idmaps != NULL) {
        uint64_t u[3];
        memcpy(u, c->idmaps + FSD_IDMAP_COUNTERS, sizeof u);
        out->untracked_requests = u[0];
        out->untracked_records = u[1];
        out->untracked_bytes = u[2];
    }
    if (c->st.big_anom) {
        memcpy(out->anomalies, c->st.big + FSD_BIG_ANOM, sizeof out->anomalies);
    } else {
        for (unsigned k = 0; k < c->st.a_n; k++)
            out->anomalies[c->st.a_id[k]] = c->st.a_count[k];
    }
    for (int i = 0; i < 2; i++) {
        out->dir[i].state = c->d[i].sync;
        /* positions already rejected by the hunt count as skipped now, not only
         * when the window is compacted (so the numbers do not depend on chunking) */
        if (c->d[i].sync == FSD_SYNC_HUNTING)
            out->dir[i].skipped_bytes += c->d[i].hunt->win_scanned;
    }
}

/* ------------------------------------------------------------------ */
/* records                                                            */

static bool is_discrete(unsigned t)
{
    return t == FSD_BEGIN_REQUEST || t == FSD_END_REQUEST || t == FSD_UNKNOWN_TYPE || t == FSD_ABORT_REQUEST;
}

static bool is_data_stream(unsigned t)
{
    return t == FSD_STDIN || t == FSD_STDOUT || t == FSD_STDERR || t == FSD_DATA;
}

static int32_t ev_id(const fsd_header *h)
{
    return fsd_type_is_known(h->type) && !fsd_type_is_management(h->type) ? h->request_id : -1;
}

/* Bytes where a record header must start that look like another protocol: a
 * hint for the desync/bad_version detail (a user's first question is "is
 * this an HTTP upstream?"). Returns "" when nothing matches. */
static const char *proto_hint(const uint8_t b[FSD_HEADER_LEN], fsd_dir dir)
{
    static const struct {
        const char *pfx;
        uint8_t len;
        const char *hint[2]; /* seen from the client, from the server */
    } known[] = {
        { "GET ", 4, { "looks like HTTP (\"GET \"): HTTP sent to a FastCGI port?", "looks like HTTP (\"GET \")" } },
        { "POST ", 5, { "looks like HTTP (\"POST \"): HTTP sent to a FastCGI port?", "looks like HTTP (\"POST \")" } },
        { "HEAD ", 5, { "looks like HTTP (\"HEAD \"): HTTP sent to a FastCGI port?", "looks like HTTP (\"HEAD \")" } },
        { "PUT ", 4, { "looks like HTTP (\"PUT \"): HTTP sent to a FastCGI port?", "looks like HTTP (\"PUT \")" } },
        { "DELETE ", 7, { "looks like HTTP (\"DELETE \"): HTTP sent to a FastCGI port?", "looks like HTTP (\"DELETE \")" } },
        { "OPTIONS ", 8, { "looks like HTTP (\"OPTIONS \"): HTTP sent to a FastCGI port?", "looks like HTTP (\"OPTIONS \")" } },
        { "PATCH ", 6, { "looks like HTTP (\"PATCH \"): HTTP sent to a FastCGI port?", "looks like HTTP (\"PATCH \")" } },
        { "CONNECT ", 8, { "looks like HTTP (\"CONNECT \"): HTTP sent to a FastCGI port?", "looks like HTTP (\"CONNECT \")" } },
        { "PRI * HT", 8, { "looks like HTTP/2 (\"PRI * HT\"): HTTP/2 sent to a FastCGI port?", "looks like HTTP/2" } },
        { "HTTP/1.", 7, { "looks like HTTP (\"HTTP/1.\")", "looks like HTTP (\"HTTP/1.\"): is this an HTTP upstream?" } },
        { "HTTP/2 ", 7, { "looks like HTTP (\"HTTP/2 \")", "looks like HTTP (\"HTTP/2 \"): is this an HTTP upstream?" } },
        { "\x16\x03", 2, { "looks like TLS (16 03): TLS sent to a FastCGI port?", "looks like TLS (16 03): is this a TLS upstream?" } },
        { "\x15\x03", 2, { "looks like a TLS alert (15 03): TLS sent to a FastCGI port?", "looks like a TLS alert (15 03): is this a TLS upstream?" } },
        { "SSH-", 4, { "looks like SSH (\"SSH-\")", "looks like SSH (\"SSH-\"): is this an SSH server?" } },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (memcmp(b, known[i].pfx, known[i].len) == 0)
            return known[i].hint[dir == FSD_DIR_SERVER];
    return "";
}

/* Header-level checks, the firing part (record_checks). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline, cold))
#endif
static void record_checks_fire(fsd_conn *c, fsd_dir dir)
{
    fsd_direction *d = &c->d[dir];
    const fsd_header *h = &d->h;
    fsd_anomaly_list *r = fsd_req_anomalies(d->rec_req);
    int32_t id = ev_id(h);
    if (h->version != 1) {
        const char *hint = proto_hint(d->hdr, dir);
        fsd_fire_at_record(c, r, FSD_A_bad_version, 0, dir, id, "version %u%s%s", h->version,
                           hint[0] ? ": " : "", hint);
    }
    if (!fsd_type_is_known(h->type))
        fsd_fire_at_record(c, r, FSD_A_unknown_type, 0, dir, id, "type %u", h->type);
    /* the sum can not roll over in 32 bits. From the server one byte over is
     * Go's padding of a full record to 8 (nginx and HAProxy take it): a note */
    if ((uint32_t)h->content_length + h->padding_length > FSD_MAX_CONTENT_LEN) {
        bool go_pad = dir == FSD_DIR_SERVER && (uint32_t)h->content_length + h->padding_length == FSD_MAX_CONTENT_LEN + 1;
        fsd_fire_at_record(c, r, FSD_A_oversized_record, go_pad ? FSD_SEV_NOTE : 0, dir, id,
                           "%u + %u bytes%s", h->content_length, h->padding_length,
                           go_pad ? ": padded to 8 as Go does; web servers accept it" : "");
    }
    if (h->reserved != 0)
        fsd_fire_at_record(c, r, FSD_A_reserved_nonzero, 0, dir, id,
                           "header reserved byte 0x%02x", h->reserved);
    if ((h->type == FSD_BEGIN_REQUEST || h->type == FSD_END_REQUEST || h->type == FSD_UNKNOWN_TYPE) &&
        h->content_length != 8)
        fsd_fire_at_record(c, r, FSD_A_bad_body_length, 0, dir, id, "%s body of %u bytes",
                           fsd_type_name(h->type), h->content_length);
    if (h->type == FSD_ABORT_REQUEST && h->content_length != 0)
        fsd_fire_at_record(c, r, FSD_A_bad_body_length, 0, dir, id,
                           "ABORT_REQUEST body of %u bytes", h->content_length);
}

/* Header-level checks (fired for BEGIN_REQUEST once its request exists). */
static inline void record_checks(fsd_conn *c, fsd_dir dir)
{
    const fsd_header *h = &c->d[dir].h;
    c->d[dir].rec_checks_done = true;
    /* the usual case: nothing to report */
    if (h->version == 1 && h->reserved == 0 && fsd_type_is_known(h->type) &&
        (uint32_t)h->content_length + h->padding_length <= FSD_MAX_CONTENT_LEN &&
        (h->type == FSD_BEGIN_REQUEST || h->type == FSD_END_REQUEST || h->type == FSD_UNKNOWN_TYPE
             ? h->content_length == 8
             : h->type != FSD_ABORT_REQUEST || h->content_length == 0))
        return;
    record_checks_fire(c, dir);
}

static void body_reserved_check(fsd_conn *c, fsd_dir dir, const fsd_record_event *ev)
{
    fsd_direction *d = &c->d[dir];
    const uint8_t *res = NULL;
    size_t n = 0;
    if (!ev->body_valid)
        return;
    switch (d->h.type) {
    case FSD_BEGIN_REQUEST: res = ev->body.begin.reserved; n = 5; break;
    case FSD_END_REQUEST: res = ev->body.end.reserved; n = 3; break;
    case FSD_UNKNOWN_TYPE: res = ev->body.unknown_type.reserved; n = 7; break;
    default: return;
    }
    for (size_t i = 0; i < n; i++) {
        if (res[i]) {
            fsd_fire_at_record(c, fsd_req_anomalies(d->rec_req), FSD_A_reserved_nonzero, 0, dir, ev_id(&d->h),
                               "%s body reserved byte %zu is 0x%02x", fsd_type_name(d->h.type), i, res[i]);
            return;
        }
    }
}

static void mgmt_pair(fsd_conn *c, void *ctx, const fsd_pair *p)
{
    fsd_direction *d = ctx;
    fsd_emit_param(c, d == &c->d[FSD_DIR_CLIENT] ? FSD_DIR_CLIENT : FSD_DIR_SERVER, d->h.type,
                   d->h.request_id, p);
}

/* The record's last byte was consumed (or the record was cut: truncated). */
static void record_end(fsd_conn *c, fsd_dir dir, fsd_timepoint last, bool truncated)
{
    fsd_direction *d = &c->d[dir];
    fsd_record_event ev;
    memset(&ev, 0, sizeof ev);
    ev.dir = dir;
    ev.hdr = d->h;
    ev.offset = d->rec_off;
    ev.first = FSD_REC_FIRST(d);
    ev.last = last;
    ev.truncated = truncated;
    ev.is_eos = d->h.content_length == 0 && (d->h.type == FSD_PARAMS || is_data_stream(d->h.type));
    if (d->body_have == 8) {
        switch (d->h.type) {
        case FSD_BEGIN_REQUEST: ev.body_valid = fsd_begin_body_unpack(&ev.body.begin, d->body, 8); break;
        case FSD_END_REQUEST: ev.body_valid = fsd_end_body_unpack(&ev.body.end, d->body, 8); break;
        case FSD_UNKNOWN_TYPE: ev.body_valid = fsd_unknown_type_body_unpack(&ev.body.unknown_type, d->body, 8); break;
        default: break;
        }
    }
    ev.request_active = d->rec_req != NULL;
    if (!truncated && fsd_type_sender(d->h.type) == (int)dir) { /* get_values_unanswered */
        if (d->h.type == FSD_GET_VALUES)
            c->gv_pending = true;
        else if (d->h.type == FSD_GET_VALUES_RESULT) {
            c->gv_pending = false;
        }
    }
    if (d->rec_mgmt) {
        fsd_nv_record_end(d->mgmt);
        if (fsd_nv_stream_end(d->mgmt) && !truncated)
            fsd_fire(c, NULL, FSD_A_nv_overrun, 0, dir, d->mgmt->start_off, d->mgmt->start_at, -1,
                     "%s pair incomplete at end of record", fsd_type_name(d->h.type));
    }
    if (!truncated) {
        fsd_req_on_record_end(c, dir, &ev);
        if (!d->rec_checks_done)
            record_checks(c, dir);
        body_reserved_check(c, dir, &ev);
    } else {
        if (!d->rec_checks_done)
            record_checks(c, dir);
        fsd_req_on_truncated(c, dir);
    }
    if (c->cb->on_record)
        c->cb->on_record(c->ud, &ev);
    d->in_rec = false;
    d->hdr_have = 0;
    d->rec_req = NULL;
    fsd_req_flush(c);
}

static void count_record(fsd_conn *c, fsd_dir dir, unsigned t)
{
    if (!c->st.big_types && c->st.dir[dir].by_type[t] == UINT32_MAX) {
        uint64_t *big = fsd_big_stats(c);
        if (big == NULL)
            return;
        for (int i = 0; i < 2; i++)
            for (int k = 0; k <= FSD_MAX_KNOWN_TYPE; k++)
                big[FSD_BIG_TYPES + i * (FSD_MAX_KNOWN_TYPE + 1) + k] = c->st.dir[i].by_type[k];
        c->st.big_types = true;
    }
    if (c->st.big_types)
        c->st.big[FSD_BIG_TYPES + dir * (FSD_MAX_KNOWN_TYPE + 1) + t]++;
    else
        c->st.dir[dir].by_type[t]++;
}

/* All 8 header bytes are in d->hdr. */
static void header_complete(fsd_conn *c, fsd_dir dir, fsd_timepoint at)
{
    fsd_direction *d = &c->d[dir];
    fsd_header *h = &d->h;
    h->version = d->hdr[0];
    h->type = d->hdr[1];
    h->request_id = (uint16_t)((d->hdr[2] << 8) | d->hdr[3]);
    h->content_length = (uint16_t)((d->hdr[4] << 8) | d->hdr[5]);
    h->padding_length = d->hdr[6];
    h->reserved = d->hdr[7];
    if (h->version != 1 && !fsd_type_is_known(h->type)) {
        const char *hint = proto_hint(d->hdr, dir);
        fsd_fire_at_record(c, NULL, FSD_A_desync, 0, dir, -1, "version %u, type %u: %s",
                           h->version, h->type, hint[0] ? hint : "not a record header");
        d->sync = FSD_SYNC_DESYNCED;
        d->hdr_have = 0;
        c->st.dir[dir].skipped_bytes += FSD_HEADER_LEN;
        if (dir == FSD_DIR_SERVER)
            c->server_desync = true;
        return;
    }
    d->in_rec = true;
    d->content_left = h->content_length;
    d->pad_left = h->padding_length;
    d->body_have = 0;
    d->rec_req = NULL;
    d->rec_content = d->rec_mgmt = false;
    d->rec_checks_done = false;
    count_record(c, dir, fsd_type_is_known(h->type) ? h->type : 0);
    fsd_req_on_header(c, dir);
    if (d->rec_mgmt && d->mgmt == NULL) {
        d->mgmt = fsd_mem_alloc(c, sizeof *d->mgmt);
        if (d->mgmt == NULL) {
            c->nomem = true;
            d->rec_mgmt = false;
        } else {
            memset(d->mgmt, 0, sizeof *d->mgmt);
        }
    }
    if (h->type != FSD_BEGIN_REQUEST)
        record_checks(c, dir);
    if (d->content_left == 0 && d->pad_left == 0)
        record_end(c, dir, at, false);
}

static void content(fsd_conn *c, fsd_dir dir, const uint8_t *p, size_t n, fsd_timepoint at)
{
    fsd_direction *d = &c->d[dir];
    unsigned t = d->h.type;
    if (is_data_stream(t) && c->cb->on_data) {
        fsd_data_event ev;
        ev.dir = dir;
        ev.record_type = (uint8_t)t;
        ev.request_id = d->h.request_id;
        ev.data.ptr = p;
        ev.data.len = n;
        ev.offset = d->off;
        ev.stream_pos = d->rec_req && d->rec_content ? fsd_req_stream_pos(d->rec_req, t) : (uint64_t)(d->h.content_length - d->content_left);
        c->cb->on_data(c->ud, &ev);
    }
    if (is_discrete(t) && d->body_have < 8) {
        size_t room = (size_t)(8 - d->body_have), k = room < n ? room : n;
        memcpy(d->body + d->body_have, p, k);
        d->body_have = (uint8_t)(d->body_have + k);
    }
    if (d->rec_mgmt)
        fsd_nv_feed(c, d->mgmt, c->lim.max_pair_bytes, p, n, d->off, at, mgmt_pair, d);
    if (d->rec_content)
        fsd_req_on_content(c, dir, p, n, d->off, at);
}

/* Decode bytes of a direction that is in sync (or desynced: skip). */
static void parse_ok(fsd_conn *c, fsd_dir dir, const uint8_t *p, size_t n, fsd_timepoint at)
{
    fsd_direction *d = &c->d[dir];
    while (n > 0) {
        size_t k;
        if (d->sync == FSD_SYNC_DESYNCED) {
            c->st.dir[dir].skipped_bytes += n;
            d->off += n;
            return;
        }
        if (!d->in_rec) {
            if (d->hdr_have == 0) {
                d->rec_off = d->off;
                d->rec_first_ns = at.ns;
                d->rec_first_tag = at.tag;
            }
            k = (size_t)(FSD_HEADER_LEN - d->hdr_have);
            if (k > n)
                k = n;
            if (k == FSD_HEADER_LEN)
                memcpy(d->hdr, p, FSD_HEADER_LEN); /* the usual: a whole header, a fixed-size copy */
            else
                memcpy(d->hdr + d->hdr_have, p, k);
            d->hdr_have = (uint8_t)(d->hdr_have + k);
            d->off += k;
            p += k;
            n -= k;
            if (d->hdr_have == FSD_HEADER_LEN)
                header_complete(c, dir, at);
            continue;
        }
        if (d->content_left > 0) {
            k = d->content_left < n ? d->content_left : n;
            content(c, dir, p, k, at);
            d->content_left -= (uint32_t)k;
        } else {
            k = d->pad_left < n ? d->pad_left : n;
            d->pad_left -= (uint32_t)k;
        }
        d->off += k;
        p += k;
        n -= k;
        if (d->content_left == 0 && d->pad_left == 0)
            record_end(c, dir, at, false);
    }
}

/* ------------------------------------------------------------------ */
/* hunting                                                            */

static fsd_timepoint window_time(const fsd_direction *d, uint64_t off)
{
    fsd_timepoint t = { 0, 0, false };
    for (size_t i = 0; i < d->hunt->nsegs && d->hunt->segs[i].off <= off; i++)
        t = d->hunt->segs[i].at;
    return t;
}

static bool plausible_at(const fsd_direction *d, size_t p)
{
    fsd_header h;
    fsd_header_unpack(&h, d->hunt->win + p);
    return fsd_header_plausible(&h);
}

static void sync_found(fsd_conn *c, fsd_dir dir, size_t p)
{
    fsd_direction *d = &c->d[dir];
    uint64_t at_off = d->hunt->win_off + p;
    uint64_t skipped = d->hunt->hunt_skipped + p;
    fsd_timepoint at = window_time(d, at_off);
    c->st.dir[dir].skipped_bytes += p;
    if (d->hunt->pend_mid)
        fsd_fire(c, NULL, FSD_A_midstream_start, 0, dir, at_off, at, -1,
                 "synchronised on a record header after skipping %llu bytes", (unsigned long long)skipped);
    if (d->hunt->pend_gap)
        fsd_fire(c, NULL, FSD_A_capture_gap, 0, dir, at_off, at, -1,
                 "%llu bytes missing; resynchronised after skipping %llu bytes",
                 (unsigned long long)d->hunt->hunt_missing, (unsigned long long)skipped);
    d->hunt->pend_mid = d->hunt->pend_gap = false;
    d->hunt->hunt_skipped = d->hunt->hunt_missing = 0;
    d->sync = FSD_SYNC_OK;
    d->off = at_off;
    d->in_rec = false;
    d->hdr_have = 0;
    /* replay the window from p, piece by piece with each piece's packet */
    {
        uint8_t *win = d->hunt->win;
        size_t len = d->hunt->win_len, nsegs = d->hunt->nsegs;
        fsd_seg *segs = d->hunt->segs;
        uint64_t base = d->hunt->win_off;
        size_t segcap = d->hunt->segcap;
        d->hunt->win = NULL;
        d->hunt->segs = NULL;
        d->hunt->win_len = d->hunt->win_scanned = d->hunt->nsegs = d->hunt->segcap = 0;
        for (size_t i = 0; i < nsegs; i++) {
            uint64_t s = segs[i].off, e = i + 1 < nsegs ? segs[i + 1].off : base + len;
            if (e <= at_off)
                continue;
            if (s < at_off)
                s = at_off;
            parse_ok(c, dir, win + (s - base), (size_t)(e - s), segs[i].at);
        }
        if (win)
            fsd_mem_free(c, win, HUNT_CAP);
        if (segs)
            fsd_mem_free(c, segs, segcap * sizeof *segs);
    }
    hunt_free(c, d); /* back in sync: no hunting state kept */
}

/* Drop the rejected bytes before win_scanned. */
static void hunt_drop(fsd_conn *c, fsd_dir dir)
{
    fsd_direction *d = &c->d[dir];
    size_t p = d->hunt->win_scanned, k = 0;
    if (p == 0)
        return;
    c->st.dir[dir].skipped_bytes += p;
    d->hunt->hunt_skipped += p;
    memmove(d->hunt->win, d->hunt->win + p, d->hunt->win_len - p);
    d->hunt->win_len -= p;
    d->hunt->win_off += p;
    d->hunt->win_scanned = 0;
    /* keep the segment that covers the new start */
    while (k + 1 < d->hunt->nsegs && d->hunt->segs[k + 1].off <= d->hunt->win_off)
        k++;
    if (k > 0) {
        memmove(d->hunt->segs, d->hunt->segs + k, (d->hunt->nsegs - k) * sizeof *d->hunt->segs);
        d->hunt->nsegs -= k;
    }
}

/* Scan for a confirmed header (fsd_find_resync). eod: no more bytes follow
 * this window. Returns true when synchronised (the window was replayed). */
static bool hunt_scan(fsd_conn *c, fsd_dir dir, bool eod)
{
    fsd_direction *d = &c->d[dir];
    ptrdiff_t at;
    size_t undecided;
    /* a midstream start exactly at a record boundary: sync at once */
    if (d->hunt->pend_mid && !d->hunt->pend_gap && d->hunt->win_off == 0 && d->hunt->win_scanned == 0) {
        if (d->hunt->win_len < FSD_HEADER_LEN && !eod)
            return false;
        if (d->hunt->win_len >= FSD_HEADER_LEN && plausible_at(d, 0)) {
            sync_found(c, dir, 0);
            return true;
        }
    }
    at = fsd_find_resync(d->hunt->win + d->hunt->win_scanned, d->hunt->win_len - d->hunt->win_scanned, eod, &undecided);
    if (at >= 0) {
        sync_found(c, dir, d->hunt->win_scanned + (size_t)at);
        return true;
    }
    d->hunt->win_scanned += undecided;
    return false;
}

/* Feed bytes to a hunting direction; returns how many were taken (all of
 * them unless synchronisation happened, then the rest is parsed by the caller). */
static size_t hunt_feed(fsd_conn *c, fsd_dir dir, const uint8_t *p, size_t n, fsd_timepoint at)
{
    fsd_direction *d = &c->d[dir];
    size_t taken = 0;
    while (taken < n && d->sync == FSD_SYNC_HUNTING) {
        size_t k;
        if (d->hunt->win == NULL) {
            d->hunt->win = fsd_mem_alloc(c, HUNT_CAP);
            if (d->hunt->win == NULL) {
                c->nomem = true;
                c->st.dir[dir].skipped_bytes += n - taken;
                d->off += n - taken;
                d->hunt->win_off = d->off;
                return n;
            }
        }
        if (d->hunt->win_len == HUNT_CAP)
            hunt_drop(c, dir);
        if (d->hunt->win_len == HUNT_CAP) { /* cannot happen: a candidate needs at most HUNT_CAP */
            d->hunt->win_scanned = d->hunt->win_len;
            hunt_drop(c, dir);
        }
        k = HUNT_CAP - d->hunt->win_len < n - taken ? HUNT_CAP - d->hunt->win_len : n - taken;
        if (d->hunt->nsegs == 0 || d->hunt->segs[d->hunt->nsegs - 1].at.ns != at.ns || d->hunt->segs[d->hunt->nsegs - 1].at.tag != at.tag) {
            if (!fsd_mem_reserve(c, (void **)&d->hunt->segs, &d->hunt->segcap, d->hunt->nsegs + 1, sizeof *d->hunt->segs)) {
                c->nomem = true;
                c->st.dir[dir].skipped_bytes += n - taken;
                d->off += n - taken;
                return n;
            }
            d->hunt->segs[d->hunt->nsegs].off = d->hunt->win_off + d->hunt->win_len;
            d->hunt->segs[d->hunt->nsegs].at = at;
            d->hunt->nsegs++;
        }
        memcpy(d->hunt->win + d->hunt->win_len, p + taken, k);
        d->hunt->win_len += k;
        d->off += k;
        taken += k;
        if (hunt_scan(c, dir, false))
            return taken;
        if (d->hunt->win_scanned > 4096)
            hunt_drop(c, dir);
    }
    return taken;
}

/* End of data for a hunting direction (gap, close, finish). */
static void hunt_eod(fsd_conn *c, fsd_dir dir)
{
    fsd_direction *d = &c->d[dir];
    if (d->sync != FSD_SYNC_HUNTING)
        return;
    if (d->hunt->win && hunt_scan(c, dir, true))
        return;
    d->hunt->win_scanned = d->hunt->win_len;
    if (d->hunt->win)
        hunt_drop(c, dir);
    d->hunt->win_off = d->off;
    d->hunt->nsegs = 0;
}

/* ------------------------------------------------------------------ */
/* entry points                                                       */

static int check(fsd_conn *c, fsd_dir dir)
{
    if (c == NULL || (dir != FSD_DIR_CLIENT && dir != FSD_DIR_SERVER))
        return FSD_E_INVAL;
    if (c->finished || c->d[dir].closed)
        return FSD_E_FINISHED;
    return FSD_OK;
}

static int result(fsd_conn *c)
{
    if (c->nomem) {
        c->nomem = false;
        return FSD_E_NOMEM;
    }
    return FSD_OK;
}

int fsd_conn_feed(fsd_conn *c, fsd_dir dir, const uint8_t *data, size_t len, int64_t ts_ns, uint64_t tag)
{
    int rc = check(c, dir);
    fsd_timepoint at = fsd_tp(ts_ns, tag);
    if (rc != FSD_OK)
        return rc;
    if (len == 0)
        return FSD_OK;
    if (data == NULL)
        return FSD_E_INVAL;
    if (dir == FSD_DIR_CLIENT && c->rej_id != 0) /* the web server went on: it took the big header */
        fsd_req_rej_release(c);
    c->st.dir[dir].bytes += len;
    {
        /* the usual piece: inside the content of a stream record, short of its
         * end, nobody asked for the bytes: only the request's counters move
         * (what parse_ok does for it, without the layers) */
        fsd_direction *d = &c->d[dir];
        if (d->sync == FSD_SYNC_OK && d->in_rec && len < d->content_left && is_data_stream(d->h.type) &&
            c->cb->on_data == NULL) {
            if (d->rec_content)
                fsd_req_on_content(c, dir, data, len, d->off, at);
            d->content_left -= (uint32_t)len;
            d->off += len;
            return result(c);
        }
    }
    if (c->d[dir].sync == FSD_SYNC_HUNTING) {
        size_t k = hunt_feed(c, dir, data, len, at);
        data += k;
        len -= k;
    }
    if (len > 0)
        parse_ok(c, dir, data, len, at);
    return result(c);
}

int fsd_conn_feed_record(fsd_conn *c, fsd_dir dir, const uint8_t *rec, size_t len, int64_t ts_ns, uint64_t tag)
{
    fsd_header h;
    int rc = check(c, dir);
    if (rc != FSD_OK)
        return rc;
    if (rec == NULL)
        return FSD_E_INVAL;
    if (len < FSD_HEADER_LEN)
        return FSD_E_NOT_RECORD;
    fsd_header_unpack(&h, rec);
    if (fsd_header_record_len(&h) != len)
        return FSD_E_NOT_RECORD;
    if (c->d[dir].sync == FSD_SYNC_OK && (c->d[dir].in_rec || c->d[dir].hdr_have > 0))
        return FSD_E_NOT_RECORD;
    return fsd_conn_feed(c, dir, rec, len, ts_ns, tag);
}

int fsd_conn_gap(fsd_conn *c, fsd_dir dir, uint64_t nbytes, int64_t ts_ns, uint64_t tag)
{
    int rc = check(c, dir);
    fsd_direction *d;
    fsd_timepoint at = fsd_tp(ts_ns, tag);
    if (rc != FSD_OK)
        return rc;
    if (nbytes == 0)
        return FSD_OK;
    fsd_req_rej_release(c); /* what followed the big header is unknown: no rejection claimed */
    d = &c->d[dir];
    c->st.dir[dir].gap_bytes += nbytes;
    if (d->sync == FSD_SYNC_HUNTING) {
        hunt_eod(c, dir);
        if (d->sync == FSD_SYNC_HUNTING) {
            d->off += nbytes;
            d->hunt->win_off = d->off;
            d->hunt->pend_gap = true;
            d->hunt->hunt_missing += nbytes;
            fsd_req_on_gap(c, dir);
            return result(c);
        }
    }
    if (d->sync == FSD_SYNC_DESYNCED) {
        d->off += nbytes;
        return result(c);
    }
    /* in sync */
    if (d->in_rec && !is_discrete(d->h.type) && nbytes <= (uint64_t)d->content_left + d->pad_left) {
        uint32_t m = nbytes < d->content_left ? (uint32_t)nbytes : d->content_left;
        uint64_t gap_off = d->off;
        if (m > 0) {
            if (d->rec_mgmt)
                fsd_nv_break(d->mgmt);
            if (d->rec_content)
                fsd_req_on_gap_content(c, dir, m);
            d->content_left -= m;
        }
        d->pad_left -= (uint32_t)(nbytes - m);
        d->off += nbytes;
        fsd_fire(c, fsd_req_anomalies(d->rec_req), FSD_A_capture_gap, 0, dir, gap_off, at, ev_id(&d->h),
                 "%llu bytes missing inside a %s record; framing kept", (unsigned long long)nbytes,
                 fsd_type_name(d->h.type));
        if (d->content_left == 0 && d->pad_left == 0)
            record_end(c, dir, at, false);
        return result(c);
    }
    if (d->in_rec)
        record_end(c, dir, at, true);
    {
        unsigned partial = d->hdr_have;
        c->st.dir[dir].skipped_bytes += partial;
        d->off += nbytes;
        if (hunt_start(c, d)) {
            d->hunt->hunt_skipped = partial;
            d->hunt->pend_gap = true;
            d->hunt->hunt_missing = nbytes;
        }
    }
    fsd_req_on_gap(c, dir);
    return result(c);
}

/* This direction ends: settle hunting, report a cut record. */
static void end_dir(fsd_conn *c, fsd_dir dir, fsd_timepoint at)
{
    fsd_direction *d = &c->d[dir];
    if (d->closed)
        return;
    if (d->sync == FSD_SYNC_HUNTING) {
        hunt_eod(c, dir);
        if (d->sync == FSD_SYNC_HUNTING && (d->hunt->pend_mid || d->hunt->pend_gap)) {
            if (d->hunt->pend_mid)
                fsd_fire(c, NULL, FSD_A_midstream_start, 0, dir, d->off, at, -1,
                         "no record header found; %llu bytes skipped", (unsigned long long)d->hunt->hunt_skipped);
            if (d->hunt->pend_gap)
                fsd_fire(c, NULL, FSD_A_capture_gap, 0, dir, d->off, at, -1,
                         "%llu bytes missing; not resynchronised, %llu bytes skipped",
                         (unsigned long long)d->hunt->hunt_missing, (unsigned long long)d->hunt->hunt_skipped);
        }
    }
    if (d->sync == FSD_SYNC_OK && c->finished) {
        /* the capture ended, not the connection: a cut record is no finding
         * (its request is delivered incomplete, end capture_end) */
        if (d->in_rec)
            record_end(c, dir, at, true);
        d->hdr_have = 0;
    } else if (d->sync == FSD_SYNC_OK) {
        if (d->in_rec) {
            fsd_fire_at_record(c, fsd_req_anomalies(d->rec_req), FSD_A_truncated_record, 0, dir, ev_id(&d->h),
                               "%s cut after %u of %u bytes", fsd_type_name(d->h.type),
                               (unsigned)(d->off - d->rec_off), fsd_header_record_len(&d->h));
            record_end(c, dir, at, true);
        } else if (d->hdr_have > 0) {
            fsd_fire_at_record(c, NULL, FSD_A_truncated_record, 0, dir, -1,
                               "cut after %u of 8 header bytes", d->hdr_have);
            d->hdr_have = 0;
        }
    }
    hunt_free(c, d);
    d->sync = FSD_SYNC_CLOSED;
    d->closed = true;
}

int fsd_conn_close(fsd_conn *c, fsd_dir dir, fsd_close_kind kind, int64_t ts_ns, uint64_t tag)
{
    fsd_timepoint at = fsd_tp(ts_ns, tag);
    if (c == NULL || (dir != FSD_DIR_CLIENT && dir != FSD_DIR_SERVER))
        return FSD_E_INVAL;
    if (kind != FSD_CLOSE_FIN && kind != FSD_CLOSE_RST)
        return FSD_E_INVAL;
    /* A RST after the same side's FIN is still a reset (it ends the other
     * direction); only input after both directions ended is refused. */
    if (c->finished || (c->d[dir].closed && (kind == FSD_CLOSE_FIN || c->d[1 - dir].closed)))
        return FSD_E_FINISHED;
    fsd_req_on_close(c, dir, kind, c->d[dir].off, at);
    if (dir == FSD_DIR_SERVER && !c->d[FSD_DIR_CLIENT].closed)
        fsd_req_server_close(c, dir, c->d[dir].off, at);
    end_dir(c, dir, at);
    if (kind == FSD_CLOSE_RST)
        end_dir(c, (fsd_dir)(1 - dir), at);
    if (c->d[0].closed && c->d[1].closed) {
        if (c->gv_pending) {
            c->gv_pending = false;
            fsd_fire(c, NULL, FSD_A_get_values_unanswered, 0, dir, c->d[dir].off, at, -1,
                     "GET_VALUES without GET_VALUES_RESULT; connection %s by the %s",
                     kind == FSD_CLOSE_RST ? "reset" : "closed", fsd_dir_name(dir));
        }
        fsd_req_close_all(c, kind == FSD_CLOSE_RST ? FSD_END_RESET : FSD_END_CLOSED, dir, c->d[dir].off, at);
    }
    fsd_req_flush(c);
    return result(c);
}

int fsd_conn_finish(fsd_conn *c, int64_t ts_ns, uint64_t tag)
{
    fsd_timepoint at = fsd_tp(ts_ns, tag);
    if (c == NULL)
        return FSD_E_INVAL;
    if (c->finished)
        return FSD_OK;
    c->finished = true; /* first: end_dir() tells the capture's end from a close by it */
    end_dir(c, FSD_DIR_CLIENT, at);
    end_dir(c, FSD_DIR_SERVER, at);
    fsd_req_flush(c);
    fsd_req_close_all(c, FSD_END_CAPTURE, FSD_DIR_SERVER, c->d[FSD_DIR_SERVER].off, at);
    return result(c);
}
