/* fsd_internal.h — declarations shared by the decoder's layers (not installed).
 *
 * Normative reference: FastCGI Specification 1.0 §3-§6; decoder/include/fsd/fsd.h.
 *
 * Layers: wire.c (stateless framing) -> nv.c (incremental name-value pairs)
 * and cgi.c (CGI response header block) -> request.c (id table, streams,
 * checks, transactions; its parameters stored by params.c/params.h) ->
 * conn.c (per-direction push parser, resync, gaps, close; the public entry
 * points). Beneath them all: anomaly.c (the catalogue tables; firing an
 * anomaly: detail, counts, callback, the request's copy in an
 * fsd_anomaly_list) and mem.c (every allocation, through the configured
 * hooks). No file calls up into a higher one.
 */
#ifndef FSD_INTERNAL_H
#define FSD_INTERNAL_H

#include "fsd/fsd.h"

#include <stdarg.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define FSD_COLD __attribute__((noinline, cold))
#define FSD_ALWAYS_INLINE __attribute__((always_inline)) inline
#define FSD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FSD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define FSD_COLD
#define FSD_ALWAYS_INLINE inline
#define FSD_UNLIKELY(x) (x)
#define FSD_PRINTF(fmt, args)
#endif

/* ---- wire.c (these three inline: they run for every record) ---- */
static inline bool fsd_type_is_management(unsigned type)
{
    return type == FSD_GET_VALUES || type == FSD_GET_VALUES_RESULT || type == FSD_UNKNOWN_TYPE;
}

static inline bool fsd_type_is_known(unsigned type)
{
    return type >= 1 && type <= FSD_MAX_KNOWN_TYPE;
}

/* FSD_DIR_CLIENT / FSD_DIR_SERVER for the side that sends the type, -1 unknown:
 * the client sends BEGIN_REQUEST, ABORT_REQUEST, PARAMS, STDIN, DATA and
 * GET_VALUES (bits of 0x336: types 1 2 4 5 8 9), the server the rest. */
static inline int fsd_type_sender(unsigned type)
{
    if (!fsd_type_is_known(type))
        return -1;
    return (0x336u >> type) & 1 ? FSD_DIR_CLIENT : FSD_DIR_SERVER;
}

/* Parameter names the decoder looks at, recognised once per pair
 * (fsd_param_classify: switch on the length and a first letter, then one memcmp). */
typedef enum fsd_pname {
    FSD_PN_OTHER = 0,
    FSD_PN_REQUEST_METHOD, FSD_PN_REQUEST_URI, FSD_PN_SCRIPT_NAME, FSD_PN_SCRIPT_FILENAME,
    FSD_PN_HTTP_HOST, FSD_PN_SERVER_NAME, FSD_PN_CONTENT_LENGTH, FSD_PN_HTTP_PROXY,
    FSD_PN_PHP_VALUE, FSD_PN_PHP_ADMIN_VALUE, FSD_PN_DOCUMENT_ROOT, FSD_PN_PATH_INFO,
    FSD_PN_DOCUMENT_URI, FSD_PN_QUERY_STRING,
    FSD_PN_COUNT
} fsd_pname;
#define FSD_NAME_IS(lit) (memcmp(name, lit, sizeof lit - 1) == 0)
static inline fsd_pname fsd_param_classify(const uint8_t *name, size_t len)
{
    if (len < 9 || len > 15)
        return FSD_PN_OTHER;
    switch (len) {
    case 9:
        if (name[0] == 'H')
            return FSD_NAME_IS("HTTP_HOST") ? FSD_PN_HTTP_HOST : FSD_PN_OTHER;
        if (name[1] == 'H')
            return FSD_NAME_IS("PHP_VALUE") ? FSD_PN_PHP_VALUE : FSD_PN_OTHER;
        return FSD_NAME_IS("PATH_INFO") ? FSD_PN_PATH_INFO : FSD_PN_OTHER;
    case 10:
        return FSD_NAME_IS("HTTP_PROXY") ? FSD_PN_HTTP_PROXY : FSD_PN_OTHER;
    case 11:
        if (name[0] == 'R')
            return FSD_NAME_IS("REQUEST_URI") ? FSD_PN_REQUEST_URI : FSD_PN_OTHER;
        if (name[1] == 'C')
            return FSD_NAME_IS("SCRIPT_NAME") ? FSD_PN_SCRIPT_NAME : FSD_PN_OTHER;
        return FSD_NAME_IS("SERVER_NAME") ? FSD_PN_SERVER_NAME : FSD_PN_OTHER;
    case 12:
        if (name[0] == 'D')
            return FSD_NAME_IS("DOCUMENT_URI") ? FSD_PN_DOCUMENT_URI : FSD_PN_OTHER;
        return FSD_NAME_IS("QUERY_STRING") ? FSD_PN_QUERY_STRING : FSD_PN_OTHER;
    case 13:
        return FSD_NAME_IS("DOCUMENT_ROOT") ? FSD_PN_DOCUMENT_ROOT : FSD_PN_OTHER;
    case 14:
        if (name[0] == 'R')
            return FSD_NAME_IS("REQUEST_METHOD") ? FSD_PN_REQUEST_METHOD : FSD_PN_OTHER;
        return FSD_NAME_IS("CONTENT_LENGTH") ? FSD_PN_CONTENT_LENGTH : FSD_PN_OTHER;
    default: /* 15 */
        if (name[0] == 'S')
            return FSD_NAME_IS("SCRIPT_FILENAME") ? FSD_PN_SCRIPT_FILENAME : FSD_PN_OTHER;
        return FSD_NAME_IS("PHP_ADMIN_VALUE") ? FSD_PN_PHP_ADMIN_VALUE : FSD_PN_OTHER;
    }
}
#undef FSD_NAME_IS

/* ---- memory (mem.c): every allocation goes through the configured hooks ---- */
fsd_allocator fsd_mem_default(void);   /* malloc/free */
void *fsd_mem_alloc(fsd_conn *c, size_t n);
void fsd_mem_free(fsd_conn *c, void *p, size_t n);
/* Grow *buf (doubling) to hold at least need elements of elem bytes; false on
 * allocation failure (buffer unchanged). fsd_mem_reserve is the inline fast path. */
bool fsd_mem_grow(fsd_conn *c, void **buf, size_t *cap, size_t need, size_t elem);
static inline bool fsd_mem_reserve(fsd_conn *c, void **buf, size_t *cap, size_t need, size_t elem)
{
    return need <= *cap || fsd_mem_grow(c, buf, cap, need, elem);
}

/* ---- nv.c: incremental name-value parser, one per stream ---- */
typedef struct fsd_pair {
    const uint8_t *name;
    const uint8_t *value;
    uint32_t name_stored, value_stored; /* bytes available at name/value */
    uint32_t name_len, value_len;       /* declared */
    bool truncated;                     /* cut to max_pair_bytes */
    bool straddled;                     /* crossed a record boundary */
    bool nul;                           /* a NUL byte in name or value */
    bool ctl;                           /* CR/LF or %0a/%0d in the value of a path/query name */
    uint8_t kind;                       /* fsd_pname of the (complete) name */
    uint64_t offset, end_offset;
    fsd_timepoint at;                   /* packet of the first length byte */
} fsd_pair;

typedef void (*fsd_pair_fn)(fsd_conn *c, void *ctx, const fsd_pair *p);

/* Parameters that CVE-2019-11043 style attacks inject line ends into. */
static inline bool fsd_kind_ctl_checked(unsigned kind)
{
    return kind < 32 && ((1u << FSD_PN_REQUEST_URI | 1u << FSD_PN_SCRIPT_NAME | 1u << FSD_PN_SCRIPT_FILENAME |
                          1u << FSD_PN_PATH_INFO | 1u << FSD_PN_DOCUMENT_URI | 1u << FSD_PN_QUERY_STRING) >> kind) & 1;
}

/* Any byte equal to b in the 8 bytes of w (exact: zero iff none). */
#define NV_ONES 0x0101010101010101ull
static inline uint64_t fsd_has_byte(uint64_t w, uint8_t b)
{
    uint64_t x = w ^ (NV_ONES * b);
    return (x - NV_ONES) & ~x & (NV_ONES << 7);
}

/* A NUL byte in d[0..n): up to 32 bytes in overlapping 8-byte words (4-byte
 * ones below 8), longer runs by memchr. */
static inline bool fsd_has_nul(const uint8_t *d, size_t n)
{
    uint64_t w, x;
    if (n > 32)
        return memchr(d, 0, n) != NULL;
    if (n >= 8) {
        memcpy(&w, d, 8);
        memcpy(&x, d + n - 8, 8);
        if (n > 16) {
            uint64_t y, z;
            memcpy(&y, d + 8, 8);
            memcpy(&z, d + (n > 24 ? 16 : n - 16), 8);
            return (fsd_has_byte(w, 0) | fsd_has_byte(x, 0) | fsd_has_byte(y, 0) | fsd_has_byte(z, 0)) != 0;
        }
        return (fsd_has_byte(w, 0) | fsd_has_byte(x, 0)) != 0;
    }
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, d, 4);
        memcpy(&hi, d + n - 4, 4);
        return fsd_has_byte(lo | (uint64_t)hi << 32, 0) != 0;
    }
    for (size_t i = 0; i < n; i++)
        if (d[i] == 0)
            return true;
    return false;
}

/* CR, LF, %0a or %0d (any case) in a whole value. Words of 8 bytes without
 * CR, LF or '%' are skipped while no '%' is pending (the state machine stays
 * at 0 over them); the rest goes byte by byte. */
static inline bool fsd_ctl_in(const uint8_t *d, size_t n)
{
    uint8_t pct = 0;
    size_t i = 0;
    while (i < n) {
        size_t e;
        if (pct == 0) {
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, d + i, 8);
                if (fsd_has_byte(w, '\r') | fsd_has_byte(w, '\n') | fsd_has_byte(w, '%'))
                    break;
                i += 8;
            }
        }
        e = n - i >= 8 ? i + 8 : n;
        for (; i < e; i++) {
            uint8_t b = d[i];
            if (b == '\r' || b == '\n' || (pct == 2 && ((b | 0x20) == 'a' || (b | 0x20) == 'd')))
                return true;
            pct = b == '%' ? 1 : (pct == 1 && b == '0') ? 2 : 0;
        }
    }
    return false;
}

/* The pair at d[0..n) when it is whole inside the piece, with 1-byte
 * lengths and at most max_pair bytes (nearly every pair): pr describes it in
 * place (zero copy; the first length byte at stream offset off) and the
 * result is its size in bytes. 0 when it is not such a pair: the parser's
 * general path (fsd_nv_feed) takes it. Used by fsd_nv_feed and by
 * request.c between pairs, so that a request's usual pairs need no parser. */
static inline size_t fsd_pair_in_place(fsd_pair *pr, const uint8_t *d, size_t n, uint32_t max_pair, uint64_t off,
                                       fsd_timepoint at)
{
    uint32_t nl, vl;
    unsigned kind;
    if (n < 2 || ((d[0] | d[1]) & 0x80))
        return 0;
    nl = d[0];
    vl = d[1];
    if ((size_t)nl + vl > n - 2 || nl + vl > max_pair)
        return 0;
    kind = fsd_param_classify(d + 2, nl);
    pr->name = d + 2;
    pr->value = d + 2 + nl;
    pr->name_stored = pr->name_len = nl;
    pr->value_stored = pr->value_len = vl;
    pr->truncated = false;
    pr->straddled = false;
    pr->nul = fsd_has_nul(d + 2, (size_t)nl + vl);
    pr->kind = (uint8_t)kind;
    pr->ctl = fsd_kind_ctl_checked(kind) && fsd_ctl_in(d + 2 + nl, vl);
    pr->offset = off;
    pr->end_offset = off + 2 + nl + vl;
    pr->at = at;
    return 2 + (size_t)nl + vl;
}

/* Deliver a complete pair through on_param (if set). */
void fsd_emit_param(fsd_conn *c, fsd_dir dir, uint8_t type, uint16_t request_id, const fsd_pair *p);

typedef struct fsd_pair_parser {
    uint8_t state;            /* NV_* in nv.c */
    uint8_t lenbuf[4];
    uint8_t lenhave;
    uint8_t pct;              /* %0a/%0d scanner */
    bool in_pair;
    bool straddled;
    bool nul;
    bool ctl_check;
    bool ctl;
    bool broken;              /* bytes lost inside this record: skip to its end */
    uint8_t kind;             /* fsd_pname, set when the name is complete */
    uint32_t name_len, value_len, got;
    uint32_t name_stored, value_stored;
    uint8_t *buf;
    size_t cap;
    uint64_t start_off;
    fsd_timepoint start_at;
} fsd_pair_parser;

void fsd_nv_feed(fsd_conn *c, fsd_pair_parser *p, uint32_t max_pair, const uint8_t *data, size_t n,
                 uint64_t off, fsd_timepoint at, fsd_pair_fn fn, void *ctx);
void fsd_nv_record_end(fsd_pair_parser *p);
/* No pair in progress: the next byte starts a pair. */
static inline bool fsd_nv_between_pairs(const fsd_pair_parser *p)
{
    return !p->in_pair && !p->broken;
}
/* End of the stream: true when a pair was incomplete (nv_overrun). Resets. */
bool fsd_nv_stream_end(fsd_pair_parser *p);
/* Bytes of the current record were lost: drop the pair, skip to record end. */
void fsd_nv_break(fsd_pair_parser *p);
void fsd_nv_release(fsd_conn *c, fsd_pair_parser *p);

/* ---- cgi.c: the CGI response header block at the start of STDOUT ---- */
enum { FSD_CGI_HDR = 0, FSD_CGI_DONE, FSD_CGI_CAPPED, FSD_CGI_NOHDR, FSD_CGI_BROKEN };

typedef struct fsd_cgi {
    uint8_t state;
    uint32_t line;            /* 1 when the current line has a byte other than CR */
    uint8_t *buf;
    size_t cap, used;
} fsd_cgi;

/* Feed STDOUT bytes while state == FSD_CGI_HDR. Returns the bytes taken;
 * state becomes DONE at the blank line or CAPPED when the block would exceed
 * max. Allocation failure also gives CAPPED (*nomem set). */
size_t fsd_cgi_feed(fsd_conn *c, fsd_cgi *g, uint32_t max, const uint8_t *data, size_t n, bool *nomem);

typedef struct fsd_cgi_result {
    int status;                     /* Status: 3 digits; else 302 with Location:, else 200; 0 bad */
    bool status_present, status_bad;
    bool location_present;          /* a non-empty Location: (RFC 3875 §6.2.3: 302 without Status:) */
    size_t status_off, status_len;  /* the Status: value in g->buf */
    size_t ct_off, ct_len;
    bool ct_present;
    fsd_cgi_header *headers;        /* allocated through c; free with fsd_cgi_free_headers */
    size_t nheaders, headers_cap;
} fsd_cgi_result;

/* want_headers: also fill headers (for on_response); otherwise only the status
 * and content type are looked up. */
void fsd_cgi_parse(fsd_conn *c, const fsd_cgi *g, fsd_cgi_result *out, bool want_headers);
void fsd_cgi_free_headers(fsd_conn *c, fsd_cgi_result *r);
void fsd_cgi_release(fsd_conn *c, fsd_cgi *g);

/* ---- request.c ---- */
typedef struct fsd_req fsd_req;

/* ---- conn.c: per-direction state ---- */
typedef struct fsd_seg {
    uint64_t off;             /* stream offset of the first byte of this piece */
    fsd_timepoint at;
} fsd_seg;

/* Resync window of a hunting direction: allocated while hunting only. */
typedef struct fsd_hunt {
    uint8_t *win;             /* the bytes held while looking for a record header */
    size_t win_len;           /* bytes in win */
    size_t win_scanned;       /* win[0..win_scanned) can not start a record: dropped next */
    uint64_t win_off;         /* stream offset of win[0] */
    fsd_seg *segs;
    size_t nsegs, segcap;
    bool pend_mid, pend_gap;
    uint64_t hunt_skipped, hunt_missing;
} fsd_hunt;

typedef struct fsd_direction {
    uint64_t off;             /* stream offset of the next byte */
    uint64_t rec_off;
    int64_t rec_first_ns;     /* packet of the record's first header byte */
    uint64_t rec_first_tag;
    fsd_req *rec_req;         /* tracked request this record belongs to */
    fsd_pair_parser *mgmt;            /* GET_VALUES(_RESULT) pair parser, allocated on first use */
    fsd_hunt *hunt;           /* while hunting */
    fsd_header h;
    union {                   /* the header's bytes until it is complete, then the 8-byte body */
        uint8_t hdr[FSD_HEADER_LEN];
        uint8_t body[8];
    };
    uint32_t content_left, pad_left;
    uint8_t sync;             /* fsd_sync_state */
    uint8_t hdr_have, body_have;
    bool closed;
    bool in_rec;              /* header complete, body being consumed */
    bool rec_content;         /* content goes into rec_req's stream */
    bool rec_mgmt;            /* content goes to the management pair parser */
    bool rec_checks_done;     /* header-level checks already fired */
} fsd_direction;

/* Statistics kept compactly; fsd_conn_get_stats() expands them. Anomaly
 * counts: a few ids inline, a full table only when more distinct ids fire. */
#define FSD_ACOUNT_INLINE 4
typedef struct fsd_dir_counters {
    uint64_t bytes, gap_bytes, skipped_bytes;
    uint32_t by_type[FSD_MAX_KNOWN_TYPE + 1]; /* until one would overflow: then big_types */
} fsd_dir_counters;
typedef struct fsd_counters {
    fsd_dir_counters dir[2];
    uint64_t *big;            /* allocated on first need: [2][12] exact record counters once a
                                 32-bit one would overflow, then [FSD_A_COUNT] anomaly counters */
    uint64_t transactions;
    uint32_t active_requests, max_active_requests;
    size_t memory_bytes;
    uint8_t a_id[FSD_ACOUNT_INLINE];
    uint8_t a_n;
    bool big_types, big_anom; /* which part of big is in use */
    uint32_t a_count[FSD_ACOUNT_INLINE];
} fsd_counters;

#define FSD_ENDED_RING 4

struct fsd_conn {
    fsd_limits lim;
    fsd_allocator al;
    const fsd_callbacks *cb;  /* the caller's table (never NULL: an empty one) */
    void *ud;
    fsd_direction d[2];
    fsd_counters st;
    fsd_req *head, *tail;     /* tracked requests in BEGIN order */
    uint32_t tracked, active;
    uint64_t next_seq;
    bool have_last, last_keep;
    uint16_t last_id;
    uint16_t ended_ring[FSD_ENDED_RING];
    uint8_t ended_n, ended_i;
    bool lenient;             /* after a gap / midstream start: ids never begun are not flagged */

    uint8_t *idmaps;          /* allocated on first need: 8 KiB bitmap of ids begun (lenient mode),
                                 then 8 KiB bitmap of ids refused because the table was full,
                                 then the untracked counters (FSD_IDMAP_COUNTERS) */
    bool server_desync;
    bool finished;
    bool nomem;
    bool keep_conn_violation_fired;
    bool any_pending;         /* a request was marked for delivery since the last flush */
    /* (0.2.0, in what was padding) what the web server did: */
    bool gv_pending;          /* a GET_VALUES waits for its GET_VALUES_RESULT */
    uint16_t rej_id;          /* not 0: this request's response header block passed
                                 web_server_header_bytes and nothing else happened on the
                                 connection since (response_rejected if the web server resets) */
};

/* A request's anomaly events (delivered with its transaction). */
typedef struct fsd_anomaly_list {
    fsd_anomaly_event *ev;
    size_t n, cap, dropped;   /* dropped: beyond max_request_anomalies */
} fsd_anomaly_list;

/* Fire an anomaly (anomaly.c): on_anomaly now, counted, and a copy kept in
 * keep (a request's list: fsd_req_anomalies) when keep != NULL. sev 0: the
 * catalogue's severity; request_id -1: none; detail from fmt (the printf
 * subset anomaly.c formats: %s %.*s %u %llu %lld %zu %02x). */
void fsd_fire(fsd_conn *c, fsd_anomaly_list *keep, fsd_anomaly_id id, fsd_severity sev, fsd_dir dir,
              uint64_t off, fsd_timepoint at, int32_t request_id, const char *fmt, ...) FSD_PRINTF(9, 10);
void fsd_vfire(fsd_conn *c, fsd_anomaly_list *keep, fsd_anomaly_id id, fsd_severity sev, fsd_dir dir,
               uint64_t off, fsd_timepoint at, int32_t request_id, const char *fmt, va_list ap);
/* The same at the current record of dir: its header's offset and packet. */
void fsd_fire_at_record(fsd_conn *c, fsd_anomaly_list *keep, fsd_anomaly_id id, fsd_severity sev, fsd_dir dir,
                        int32_t request_id, const char *fmt, ...) FSD_PRINTF(7, 8);

fsd_req *fsd_req_find(fsd_conn *c, uint16_t id);
/* r's anomaly list, NULL for NULL (for fsd_fire) */
fsd_anomaly_list *fsd_req_anomalies(fsd_req *r);
/* Header of an application or management record complete: route it. */
void fsd_req_on_header(fsd_conn *c, fsd_dir dir);
void fsd_req_on_content(fsd_conn *c, fsd_dir dir, const uint8_t *p, size_t n, uint64_t off,
                        fsd_timepoint at);
/* n content bytes of the current record are missing (gap inside the record). */
void fsd_req_on_gap_content(fsd_conn *c, fsd_dir dir, uint64_t n);
/* Bytes of this direction were lost between records: reset partial state. */
void fsd_req_on_gap(fsd_conn *c, fsd_dir dir);
/* The current record was cut (gap or end of data): settle partial state. */
void fsd_req_on_truncated(fsd_conn *c, fsd_dir dir);
void fsd_req_on_record_end(fsd_conn *c, fsd_dir dir, fsd_record_event *ev);
/* Stream position of the current record's data within its request stream. */
uint64_t fsd_req_stream_pos(const fsd_req *r, unsigned type);
/* Deliver requests marked for delivery, in BEGIN order. */
void fsd_req_flush(fsd_conn *c);
/* Both directions ended: deliver every tracked request. */
void fsd_req_close_all(fsd_conn *c, fsd_end_reason reason, fsd_dir dir, uint64_t off, fsd_timepoint at);
/* Mark id as begun (lenient bookkeeping). */
void fsd_req_enable_lenient(fsd_conn *c);
void fsd_req_free_all(fsd_conn *c);
/* The server closed before the client: keep_conn_violation if due. */
void fsd_req_server_close(fsd_conn *c, fsd_dir dir, uint64_t off, fsd_timepoint at);
/* (0.2.0) A FIN/RST from dir, before the directions are ended: t_close of the
 * outstanding requests, request_abandoned / response_rejected (client side). */
void fsd_req_on_close(fsd_conn *c, fsd_dir dir, fsd_close_kind kind, uint64_t off, fsd_timepoint at);
/* Something other than the rest of the rejection candidate's response happened
 * on the connection (client bytes, another server record): release a held request. */
void fsd_req_rej_release(fsd_conn *c);

#define FSD_BIG_TYPES 0
#define FSD_BIG_ANOM (2 * (FSD_MAX_KNOWN_TYPE + 1))
#define FSD_BIG_LEN (FSD_BIG_ANOM + FSD_A_COUNT)
/* The big statistics block (zeroed), allocated on first need; NULL on failure. */
uint64_t *fsd_big_stats(fsd_conn *c);
#define FSD_IDMAP_BEGUN 0
#define FSD_IDMAP_UNTRACKED 8192
/* After the two bitmaps: uint64_t counters of requests refused (table full or
 * no memory), of later records of their ids and of those records' declared
 * content bytes (fsd_conn_stats.untracked_*); they exist when the block does,
 * i.e. once an id was refused. */
#define FSD_IDMAP_COUNTERS 16384
#define FSD_IDMAP_LEN (16384 + 3 * sizeof(uint64_t))

static inline fsd_timepoint fsd_tp(int64_t ns, uint64_t tag)
{
    fsd_timepoint t;
    t.ns = ns;
    t.tag = tag;
    t.set = true;
    return t;
}

/* The packet of the current record's first header byte. */
#define FSD_REC_FIRST(d) fsd_tp((d)->rec_first_ns, (d)->rec_first_tag)

#endif
