/* request.c — request reconstruction: id table with multiplexing and reuse, per-stream state, timing, CGI checks, transactions.
 *
 * Normative reference: FastCGI Specification 1.0 §3.3 (request ids, streams),
 * §4-§6 (record types, roles); ../shared/docs/FASTCGI.md (peer behaviour,
 * timing points, anomaly catalogue); docs/ANOMALIES.md (exact firing rules).
 *
 * Life of a request (one entry of the per-connection list):
 *
 *   BEGIN_REQUEST --> ACTIVE --END_REQUEST--> client streams ended? --yes--> delivered
 *                       |                          | no
 *                       |                          v
 *                       |                      LINGERING (id free again) --client streams end /
 *                       |                                                  same id BEGINs /
 *                       |                                                  connection ends--> delivered
 *                       +--connection ends--> delivered incomplete
 */
#include "fsd_internal.h"

#include <stdio.h>
#include <string.h>

enum { S_NONE = 0, S_OPEN = 1, S_ENDED = 2 };

#if defined(__GNUC__) || defined(__clang__)
#define FSD_COLD __attribute__((noinline, cold))
#define FSD_NOINLINE __attribute__((noinline))
#define FSD_ALWAYS_INLINE __attribute__((always_inline)) inline
#define FSD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define FSD_COLD
#define FSD_NOINLINE
#define FSD_ALWAYS_INLINE inline
#define FSD_UNLIKELY(x) (x)
#endif

/* A pair's bytes into the request's arena, by libc's memcpy. Inline, with
 * the length known to be below 512 (1-byte lengths), gcc -O2 copies with
 * `rep movsq`, whose start-up cost per copy (30-odd params a request) was
 * ~12% of fcgiscope --unix's CPU (bench/README.md, 2026-12-07). */
static FSD_NOINLINE void arena_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
}

/* once-per-request anomaly bits */
enum {
    ONCE_STREAM_ORDER = 1u << 0,
    ONCE_EARLY = 1u << 1,
    ONCE_STDERR = 1u << 2,
    ONCE_PARAM_CAP = 1u << 3,
    ONCE_CL_EXCEED = 1u << 4,
    ONCE_DAE = 1u << 5, /* + type: data_after_stream_end per stream (bits 6..13) */
    ONCE_CL_MISSING = 1u << 20,
    ONCE_BIG_HDR = 1u << 21,  /* the header block passed web_server_header_bytes */
    ONCE_APP_ERR = 1u << 22
};

/* Convenience lookups (last stored occurrence). */
enum { CV_METHOD, CV_URI, CV_SCRIPT_NAME, CV_SCRIPT_FILENAME, CV_HTTP_HOST, CV_SERVER_NAME,
       CV_CONTENT_LENGTH, CV_COUNT };
/* fsd_pname -> CV_* (-1: none) */
static const int8_t cv_of[FSD_PN_COUNT] = {
    [FSD_PN_OTHER] = -1, [FSD_PN_REQUEST_METHOD] = CV_METHOD, [FSD_PN_REQUEST_URI] = CV_URI,
    [FSD_PN_SCRIPT_NAME] = CV_SCRIPT_NAME, [FSD_PN_SCRIPT_FILENAME] = CV_SCRIPT_FILENAME,
    [FSD_PN_HTTP_HOST] = CV_HTTP_HOST, [FSD_PN_SERVER_NAME] = CV_SERVER_NAME,
    [FSD_PN_CONTENT_LENGTH] = CV_CONTENT_LENGTH, [FSD_PN_HTTP_PROXY] = -1, [FSD_PN_PHP_VALUE] = -1,
    [FSD_PN_PHP_ADMIN_VALUE] = -1, [FSD_PN_DOCUMENT_ROOT] = -1, [FSD_PN_PATH_INFO] = -1,
    [FSD_PN_DOCUMENT_URI] = -1, [FSD_PN_QUERY_STRING] = -1
};

/* duplicate_param is an ERROR for these (php-fpm takes the last, fcgiwrap the first). */
static const char *const crit_names[] = {
    "SCRIPT_FILENAME", "SCRIPT_NAME", "DOCUMENT_ROOT", "PATH_INFO", "CONTENT_LENGTH", "PHP_VALUE",
    "PHP_ADMIN_VALUE"
};
/* fsd_pname -> index in crit_names (-1: not critical) */
static const int8_t crit_of[FSD_PN_COUNT] = {
    [FSD_PN_OTHER] = -1, [FSD_PN_REQUEST_METHOD] = -1, [FSD_PN_REQUEST_URI] = -1, [FSD_PN_SCRIPT_NAME] = 1,
    [FSD_PN_SCRIPT_FILENAME] = 0, [FSD_PN_HTTP_HOST] = -1, [FSD_PN_SERVER_NAME] = -1,
    [FSD_PN_CONTENT_LENGTH] = 4, [FSD_PN_HTTP_PROXY] = -1, [FSD_PN_PHP_VALUE] = 5,
    [FSD_PN_PHP_ADMIN_VALUE] = 6, [FSD_PN_DOCUMENT_ROOT] = 2, [FSD_PN_PATH_INFO] = 3,
    [FSD_PN_DOCUMENT_URI] = -1, [FSD_PN_QUERY_STRING] = -1
};

enum { CL_ABSENT = 0, CL_EMPTY, CL_VALID, CL_INVALID };

/* A stored pair: name at arena+off, value right after. Its declared
 * lengths are the stored ones, except for a pair cut to max_pair_bytes (bit 0
 * of hash, PS_CUT): then they follow the value in the arena (2 x uint32). */
typedef struct pstore {
    uint32_t off;
    uint32_t hash;            /* bits 31..1: hash of the stored name (FSD_PN_OTHER names,
                                 duplicate detection; 0 for the others); bit 0: PS_CUT */
    uint32_t name_stored, value_stored;
} pstore;
#define PS_CUT 1u

/* A timepoint without its flag (the flags are bits of fsd_req.t_set). */
typedef struct ptp {
    int64_t ns;
    uint64_t tag;
} ptp;
enum { T_BEGIN = 1, T_SENT = 2, T_FIRST = 4, T_END = 8, T_LAST = 16, T_SRV = 32, T_CLOSE = 64 };

/* fsd_req.fate bits: what the web server did with the request (0.2.0) */
enum {
    F_CLOSED_SERVER = 1u << 0, /* t_close was the server's (else the client's) */
    F_CLOSED_RST = 1u << 1,    /* t_close was a RST */
    F_ABANDONED = 1u << 2,     /* request_abandoned fired (t_abandoned == t_close) */
    F_TIMEOUT = 1u << 3,       /* ... after waiting >= upstream_timeout_ms: 504, else 499 */
    F_REJECTED = 1u << 4,      /* response_rejected fired */
    F_HELD = 1u << 5,          /* delivery held: its big header block may still be rejected */
    F_FATAL = 1u << 6,         /* a fatal error pattern was seen on STDERR */
    F_ABB = 1u << 7            /* answered_before_body fired */
};

struct fsd_req {
    fsd_req *prev, *next;
    uint64_t seq;
    uint16_t id;
    uint16_t role;
    uint8_t flags;
    bool keep_conn, aborted, lingering, pending;
    bool seen_method, seen_sfile;
    bool has_end, ct_present;
    uint8_t cl_state;
    uint8_t crit_seen;
    uint8_t protocol_status;
    uint8_t t_set;            /* T_* bits: which of the timepoints below are set */
    uint8_t st[FSD_MAX_KNOWN_TYPE + 1];
    uint16_t kind_seen;       /* known non-critical names stored (bit = fsd_pname) */
    uint32_t once;
    uint32_t app_status;
    int http_status;
    uint32_t ct_off, ct_len;  /* in cgi.buf (at most max_cgi_header_bytes) */
    bool nv_broken;           /* PARAMS bytes of this record were lost: skip to its end */
    uint8_t fate;             /* F_* bits (these three fill what was padding) */
    uint8_t status_src;       /* fsd_status_source */
    bool gap;                 /* bytes of its records were lost (fsd_transaction.gap): the
                                 stream-state checks a loss could explain are not raised */
    int32_t cv[CV_COUNT];
    uint8_t errpat[4];        /* STDERR fatal-pattern matchers: bytes matched of each pattern */
    fsd_nvp *nv;              /* pair parser for pairs cut by a piece or record boundary:
                                 allocated when one is, freed at the end of PARAMS */
    uint8_t *arena;
    size_t arena_cap, arena_used;
    pstore *ps;
    size_t nps, ps_cap, dropped;
    uint64_t stored_cost;
    uint32_t *hash;           /* open addressing: index+1 into ps, 0 empty; names the
                                 decoder does not know (FSD_PN_OTHER) only */
    size_t hash_cap, nhashed;
    int64_t cl_value;
    uint64_t params_bytes, stdin_bytes, data_bytes, stdout_bytes, stderr_bytes;
    fsd_cgi cgi;
    ptp t_begin, t_sent, t_first, t_end;
    ptp t_last, t_close;      /* last byte (either side), first close while outstanding */
    int64_t t_srv_ns;         /* time of the server's last byte (T_SRV) */
    fsd_anomaly_list anoms;   /* its anomaly events (fsd_fire) */
};

/* Where fsd_fire keeps a request's events (NULL: not tied to a request). */
static inline fsd_anomaly_list *KEEP(fsd_req *r)
{
    return r ? &r->anoms : NULL;
}

fsd_anomaly_list *fsd_req_anomalies(fsd_req *r)
{
    return KEEP(r);
}

static inline void tp_put(fsd_req *r, ptp *slot, unsigned bit, fsd_timepoint t)
{
    slot->ns = t.ns;
    slot->tag = t.tag;
    if (t.set)
        r->t_set |= (uint8_t)bit;
    else
        r->t_set &= (uint8_t)~bit;
}

static inline fsd_timepoint tp_get(const fsd_req *r, const ptp *slot, unsigned bit)
{
    fsd_timepoint t = { 0, 0, false };
    if (r->t_set & bit) {
        t.ns = slot->ns;
        t.tag = slot->tag;
        t.set = true;
    }
    return t;
}

/* A byte of r's records from dir was in the packet at (0.2.0: t_last, t_srv). */
static inline void seen(fsd_req *r, fsd_dir dir, fsd_timepoint at)
{
    r->t_last.ns = at.ns;
    r->t_last.tag = at.tag;
    r->t_set |= T_LAST;
    if (dir == FSD_DIR_SERVER) {
        r->t_srv_ns = at.ns;
        r->t_set |= T_SRV;
    }
}

/* ------------------------------------------------------------------ */
/* bitmaps of ids                                                     */

/* Two 8 KiB id bitmaps (FSD_IDMAP_BEGUN, FSD_IDMAP_UNTRACKED) in one block
 * allocated on first need: most connections never need either. */
static bool bit_get(const fsd_conn *c, unsigned map, uint16_t id)
{
    return c->idmaps != NULL && (c->idmaps[map + (id >> 3)] >> (id & 7)) & 1;
}

static void bit_set(fsd_conn *c, unsigned map, uint16_t id, bool v)
{
    if (c->idmaps == NULL) {
        if (!v)
            return;
        c->idmaps = fsd_mem_alloc(c, FSD_IDMAP_LEN);
        if (c->idmaps == NULL) {
            c->nomem = true;
            return;
        }
        memset(c->idmaps, 0, FSD_IDMAP_LEN);
    }
    if (v)
        c->idmaps[map + (id >> 3)] |= (uint8_t)(1u << (id & 7));
    else
        c->idmaps[map + (id >> 3)] &= (uint8_t)~(1u << (id & 7));
}

/* Add n to untracked counter k: 0 refused requests, 1 records of refused ids,
 * 2 their declared content bytes. The counters live in the id block, which
 * refusing an id allocates. */
static void untracked_count(fsd_conn *c, unsigned k, uint64_t n)
{
    uint64_t v;
    if (c->idmaps == NULL)
        return;
    memcpy(&v, c->idmaps + FSD_IDMAP_COUNTERS + k * sizeof v, sizeof v);
    v += n;
    memcpy(c->idmaps + FSD_IDMAP_COUNTERS + k * sizeof v, &v, sizeof v);
}

void fsd_req_enable_lenient(fsd_conn *c)
{
    c->lenient = true;
    for (fsd_req *r = c->head; r; r = r->next)
        bit_set(c, FSD_IDMAP_BEGUN, r->id, true);
}

static bool ended_recently(const fsd_conn *c, uint16_t id)
{
    for (unsigned i = 0; i < c->ended_n; i++)
        if (c->ended_ring[i] == id)
            return true;
    return false;
}

static void ended_forget(fsd_conn *c, uint16_t id)
{
    for (unsigned i = 0; i < c->ended_n; i++)
        if (c->ended_ring[i] == id)
            c->ended_ring[i] = 0; /* 0 is never a tracked id */
}

static void ended_remember(fsd_conn *c, uint16_t id)
{
    c->ended_ring[c->ended_i] = id;
    c->ended_i = (c->ended_i + 1) % FSD_ENDED_RING;
    if (c->ended_n < FSD_ENDED_RING)
        c->ended_n++;
}

/* ------------------------------------------------------------------ */
/* request table                                                      */

fsd_req *fsd_req_find(fsd_conn *c, uint16_t id)
{
    for (fsd_req *r = c->tail; r; r = r->prev)
        if (r->id == id)
            return r;
    return NULL;
}

/* The request's pair parser, allocated on first need (NULL: no memory). */
static fsd_nvp *req_nv(fsd_conn *c, fsd_req *r)
{
    if (r->nv == NULL) {
        r->nv = fsd_mem_alloc(c, sizeof *r->nv);
        if (r->nv == NULL)
            return NULL;
        memset(r->nv, 0, sizeof *r->nv);
    }
    return r->nv;
}

/* Forget any pair in progress and free the parser. */
static void req_nv_drop(fsd_conn *c, fsd_req *r)
{
    if (r->nv != NULL) {
        fsd_nv_release(c, r->nv);
        fsd_mem_free(c, r->nv, sizeof *r->nv);
        r->nv = NULL;
    }
}

static void req_free(fsd_conn *c, fsd_req *r)
{
    req_nv_drop(c, r);
    fsd_cgi_release(c, &r->cgi);
    if (r->arena)
        fsd_mem_free(c, r->arena, r->arena_cap);
    if (r->ps)
        fsd_mem_free(c, r->ps, r->ps_cap * sizeof *r->ps);
    if (r->hash)
        fsd_mem_free(c, r->hash, r->hash_cap * sizeof *r->hash);
    if (r->anoms.ev)
        fsd_mem_free(c, r->anoms.ev, r->anoms.cap * sizeof *r->anoms.ev);
    fsd_mem_free(c, r, sizeof *r);
}

static void unlink_req(fsd_conn *c, fsd_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        c->tail = r->prev;
    r->prev = r->next = NULL;
    /* a record of either direction may still be in progress for it: detach */
    for (int i = 0; i < 2; i++) {
        if (c->d[i].rec_req == r) {
            c->d[i].rec_req = NULL;
            c->d[i].rec_content = false;
        }
    }
    c->tracked--;
    if (!r->lingering)
        c->active--;
    c->st.active_requests = c->active;
}

static bool needs_stdin(const fsd_req *r)
{
    return r->role != FSD_AUTHORIZER;
}

static bool needs_data(const fsd_req *r)
{
    return r->role == FSD_FILTER;
}

static bool client_done(const fsd_req *r)
{
    return r->st[FSD_PARAMS] == S_ENDED && (!needs_stdin(r) || r->st[FSD_STDIN] == S_ENDED) &&
           (!needs_data(r) || r->st[FSD_DATA] == S_ENDED);
}

/* Declared lengths of a stored pair. */
static inline uint32_t ps_name_len(const fsd_req *r, const pstore *p)
{
    uint32_t v = p->name_stored;
    if (p->hash & PS_CUT)
        memcpy(&v, r->arena + p->off + p->name_stored + p->value_stored, sizeof v);
    return v;
}

static inline uint32_t ps_value_len(const fsd_req *r, const pstore *p)
{
    uint32_t v = p->value_stored;
    if (p->hash & PS_CUT)
        memcpy(&v, r->arena + p->off + p->name_stored + p->value_stored + sizeof v, sizeof v);
    return v;
}

static void span_of(const fsd_req *r, int32_t idx, fsd_span *name, fsd_span *value)
{
    static const uint8_t empty[1] = { 0 }; /* present but empty: a non-NULL span */
    const pstore *p = &r->ps[idx];
    const uint8_t *base = r->arena ? r->arena : empty;
    if (name) {
        name->ptr = base + p->off;
        name->len = p->name_stored;
    }
    value->ptr = base + p->off + p->name_stored;
    value->len = p->value_stored;
}

/* Why a client stream never ended, for stream_not_terminated's detail. */
static const char *end_story(const fsd_req *r, fsd_end_reason reason, fsd_dir dir)
{
    bool srv, rst;
    switch (reason) {
    case FSD_END_COMPLETE: return "its id began again";
    case FSD_END_DESYNC: return "the server desynchronised";
    case FSD_END_GAP: return "bytes lost";
    case FSD_END_CLOSED:
    case FSD_END_RESET: break;
    default: return fsd_end_reason_name(reason);
    }
    /* the first close while it was outstanding, else this one */
    srv = (r->t_set & T_CLOSE) ? (r->fate & F_CLOSED_SERVER) != 0 : dir == FSD_DIR_SERVER;
    rst = (r->t_set & T_CLOSE) ? (r->fate & F_CLOSED_RST) != 0 : reason == FSD_END_RESET;
    if (rst)
        return srv ? "server reset" : "client reset";
    if (reason == FSD_END_RESET)
        return srv ? "server closed, then reset" : "client closed, then reset";
    return srv ? "server closed" : "client closed";
}

/* What the web server's client got (fsd_transaction.user_outcome). */
static fsd_user_outcome user_outcome(const fsd_req *r, fsd_end_reason end)
{
    if (r->fate & F_REJECTED)
        return FSD_USER_REJECTED_HEADER;
    if (r->fate & F_ABANDONED)
        return r->fate & F_TIMEOUT ? FSD_USER_GAVE_UP_TIMEOUT : FSD_USER_CLIENT_GONE;
    if (r->aborted) /* ABORT_REQUEST: the web server's client went away */
        return FSD_USER_CLIENT_GONE;
    if (r->has_end) {
        if (r->http_status > 0)
            return FSD_USER_AS_ANSWERED;
        /* a block over the decoder's cap or cut by a gap: a web server may have taken it */
        if (r->cgi.state == FSD_CGI_CAPPED || r->cgi.state == FSD_CGI_BROKEN)
            return FSD_USER_UNKNOWN;
        return FSD_USER_BACKEND_FAILED; /* no header block, or a bad Status: */
    }
    if ((end == FSD_END_CLOSED || end == FSD_END_RESET) && (r->t_set & T_CLOSE) && (r->fate & F_CLOSED_SERVER)) {
        /* The application closed or reset first. After a complete header block
         * the web server had already passed the status on (nginx, Apache and
         * HAProxy send the response header as soon as they parsed it): its user
         * got that status and a truncated body (nginx-phpfpm-killed: nginx
         * logged 200, curl exit 18). Before it, the web server answers 502. */
        return r->http_status > 0 ? FSD_USER_AS_ANSWERED : FSD_USER_BACKEND_FAILED;
    }
    return FSD_USER_UNKNOWN;
}

/* Build the transaction and hand it out; the request is freed afterwards. */
static void deliver(fsd_conn *c, fsd_req *r, fsd_end_reason reason, fsd_dir dir, uint64_t off,
                    fsd_timepoint at)
{
    fsd_transaction tx;
    fsd_param *params = NULL;
    fsd_param local[32]; /* most requests: no allocation for the param list */

    /* the client streams' ends may be missing from the capture (capture end,
     * a gap): not a protocol finding then */
    if (reason != FSD_END_CAPTURE && reason != FSD_END_GAP && !r->gap && !r->aborted && !client_done(r)) {
        char missing[32] = "";
        if (r->st[FSD_PARAMS] != S_ENDED)
            strcat(missing, "PARAMS");
        if (needs_stdin(r) && r->st[FSD_STDIN] != S_ENDED)
            strcat(missing, missing[0] ? ",STDIN" : "STDIN");
        if (needs_data(r) && r->st[FSD_DATA] != S_ENDED)
            strcat(missing, missing[0] ? ",DATA" : "DATA");
        /* the application answered first and a body without a length never ended:
         * it did not read it (with CONTENT_LENGTH this fired at END_REQUEST if due) */
        if (r->has_end && needs_stdin(r) && r->st[FSD_STDIN] != S_ENDED && !(r->fate & (F_ABB | F_ABANDONED)) &&
            r->cl_state != CL_VALID && r->stdin_bytes > 0 && reason != FSD_END_GAP &&
            reason != FSD_END_DESYNC) {
            r->fate |= F_ABB;
            fsd_fire(c, KEEP(r), FSD_A_answered_before_body, 0, dir, off, at, r->id,
                     "END_REQUEST after %llu STDIN bytes; the body never ended", (unsigned long long)r->stdin_bytes);
        }
        /* answered: the stream was cut with the connection, nothing was smuggled (warning) */
        fsd_fire(c, KEEP(r), FSD_A_stream_not_terminated, r->has_end ? FSD_SEV_WARNING : 0, dir, off, at, r->id,
                 "%s never ended: %s%s", missing, r->fate & F_ABB ? "answered first; " : "",
                 end_story(r, reason, dir));
    }
    /* only a note when the capture explains it: it ended, or lost the end */
    if (!r->has_end)
        fsd_fire(c, KEEP(r), FSD_A_incomplete_request,
                 reason == FSD_END_CAPTURE || reason == FSD_END_GAP || r->gap ? FSD_SEV_NOTE : 0, dir, off,
                 at, r->id, "%s", fsd_end_reason_name(reason));

    memset(&tx, 0, sizeof tx);
    tx.seq = r->seq;
    tx.request_id = r->id;
    tx.role = r->role;
    tx.flags = r->flags;
    tx.keep_conn = r->keep_conn;
    tx.aborted = r->aborted;
    if (r->nps > 0) {
        params = r->nps <= sizeof local / sizeof local[0] ? local : fsd_mem_alloc(c, r->nps * sizeof *params);
        if (params == NULL) {
            c->nomem = true;
        } else {
            static const uint8_t empty[1] = { 0 }; /* present but empty: a non-NULL span */
            const uint8_t *base = r->arena ? r->arena : empty;
            for (size_t i = 0; i < r->nps; i++) {
                const pstore *q = &r->ps[i];
                params[i].name.ptr = base + q->off;
                params[i].name.len = q->name_stored;
                params[i].value.ptr = base + q->off + q->name_stored;
                params[i].value.len = q->value_stored;
                if (FSD_UNLIKELY(q->hash & PS_CUT)) {
                    params[i].name_len = ps_name_len(r, q);
                    params[i].value_len = ps_value_len(r, q);
                } else {
                    params[i].name_len = q->name_stored;
                    params[i].value_len = q->value_stored;
                }
            }
            tx.params = params;
            tx.nparams = r->nps;
        }
    }
    tx.params_dropped = r->dropped + (params == NULL ? r->nps : 0);
    if (r->cv[CV_METHOD] >= 0)
        span_of(r, r->cv[CV_METHOD], NULL, &tx.method);
    if (r->cv[CV_URI] >= 0)
        span_of(r, r->cv[CV_URI], NULL, &tx.uri);
    if (r->cv[CV_SCRIPT_NAME] >= 0)
        span_of(r, r->cv[CV_SCRIPT_NAME], NULL, &tx.script);
    else if (r->cv[CV_SCRIPT_FILENAME] >= 0)
        span_of(r, r->cv[CV_SCRIPT_FILENAME], NULL, &tx.script);
    if (r->cv[CV_HTTP_HOST] >= 0)
        span_of(r, r->cv[CV_HTTP_HOST], NULL, &tx.host);
    else if (r->cv[CV_SERVER_NAME] >= 0)
        span_of(r, r->cv[CV_SERVER_NAME], NULL, &tx.host);
    if (r->cv[CV_CONTENT_LENGTH] >= 0)
        span_of(r, r->cv[CV_CONTENT_LENGTH], NULL, &tx.content_length);
    tx.content_length_value = r->cl_state == CL_VALID ? r->cl_value : r->cl_state == CL_INVALID ? -2 : -1;
    tx.params_bytes = r->params_bytes;
    tx.stdin_bytes = r->stdin_bytes;
    tx.data_bytes = r->data_bytes;
    tx.stdout_bytes = r->stdout_bytes;
    tx.stderr_bytes = r->stderr_bytes;
    tx.http_status = r->http_status;
    if (r->ct_present) {
        tx.content_type.ptr = r->cgi.buf + r->ct_off;
        tx.content_type.len = r->ct_len;
    }
    tx.has_end = r->has_end;
    tx.app_status = r->app_status;
    tx.protocol_status = r->protocol_status;
    tx.t_begin = tp_get(r, &r->t_begin, T_BEGIN);
    tx.t_request_sent = tp_get(r, &r->t_sent, T_SENT);
    tx.t_first_response = tp_get(r, &r->t_first, T_FIRST);
    tx.t_end = tp_get(r, &r->t_end, T_END);
    tx.end_reason = r->has_end ? FSD_END_COMPLETE : reason;
    tx.complete = tx.end_reason == FSD_END_COMPLETE;
    tx.anomalies = r->anoms.ev;
    tx.nanomalies = r->anoms.n;
    tx.anomalies_dropped = r->anoms.dropped;
    /* 0.2.0: what the web server's client got */
    tx.status_source = (fsd_status_source)r->status_src;
    tx.cgi_header_bytes = r->cgi.used;
    tx.t_last = (r->t_set & T_LAST) ? tp_get(r, &r->t_last, T_LAST) : tx.t_begin;
    tx.t_close = tp_get(r, &r->t_close, T_CLOSE);
    tx.closed_by = tx.t_close.set ? (int8_t)(r->fate & F_CLOSED_SERVER ? FSD_DIR_SERVER : FSD_DIR_CLIENT) : -1;
    tx.closed_by_reset = tx.t_close.set && (r->fate & F_CLOSED_RST);
    if (r->fate & F_ABANDONED)
        tx.t_abandoned = tx.t_close;
    tx.user_outcome = user_outcome(r, tx.end_reason);
    switch (tx.user_outcome) {
    case FSD_USER_AS_ANSWERED: tx.user_status = r->http_status; break;
    case FSD_USER_REJECTED_HEADER:
    case FSD_USER_BACKEND_FAILED: tx.user_status = 502; break;
    case FSD_USER_GAVE_UP_TIMEOUT: tx.user_status = 504; break;
    case FSD_USER_CLIENT_GONE: tx.user_status = 499; break;
    default: tx.user_status = 0; break;
    }
    tx.gap = r->gap;

    unlink_req(c, r);
    if (r->has_end && !r->gap) /* after a loss, a later END_REQUEST of the id may be that of
                                  a request whose BEGIN_REQUEST was lost */
        ended_remember(c, r->id);
    c->st.transactions++;
    if (c->cb->on_transaction)
        c->cb->on_transaction(c->ud, &tx);
    if (params != NULL && params != local)
        fsd_mem_free(c, params, r->nps * sizeof *params);
    req_free(c, r);
}

void fsd_req_flush(fsd_conn *c)
{
    fsd_req *r = c->head;
    if (!c->any_pending)
        return; /* runs after every record: most find nothing to do */
    c->any_pending = false;
    while (r) {
        fsd_req *next = r->next;
        if (r->pending)
            deliver(c, r, FSD_END_COMPLETE, FSD_DIR_SERVER, 0, tp_get(r, &r->t_end, T_END));
        r = next;
    }
}

void fsd_req_close_all(fsd_conn *c, fsd_end_reason reason, fsd_dir dir, uint64_t off, fsd_timepoint at)
{
    while (c->head) {
        fsd_req *r = c->head;
        fsd_end_reason why = reason;
        if (!r->has_end && c->server_desync)
            why = FSD_END_DESYNC;
        deliver(c, r, why, dir, off, at);
    }
}

void fsd_req_free_all(fsd_conn *c)
{
    while (c->head) {
        fsd_req *r = c->head;
        unlink_req(c, r);
        req_free(c, r);
    }
}

void fsd_req_server_close(fsd_conn *c, fsd_dir dir, uint64_t off, fsd_timepoint at)
{
    fsd_req *r;
    if (c->kcv_fired || !c->have_last || !c->last_keep)
        return;
    c->kcv_fired = true;
    r = fsd_req_find(c, c->last_id);
    fsd_fire(c, KEEP(r), FSD_A_keep_conn_violation, 0, dir, off, at, c->last_id,
             "server closed a KEEP_CONN connection");
}

void fsd_req_rej_release(fsd_conn *c)
{
    fsd_req *r;
    if (c->rej_id == 0)
        return;
    r = fsd_req_find(c, c->rej_id);
    c->rej_id = 0;
    if (r != NULL && (r->fate & F_HELD)) {
        r->fate &= (uint8_t)~F_HELD;
        r->pending = c->any_pending = true;
        fsd_req_flush(c);
    }
}

void fsd_req_on_close(fsd_conn *c, fsd_dir dir, fsd_close_kind kind, uint64_t off, fsd_timepoint at)
{
    if (dir == FSD_DIR_CLIENT && c->rej_id != 0) {
        /* the web server's reset right after a header block bigger than its buffer
         * (or its close before END_REQUEST): it rejected the response */
        fsd_req *q = fsd_req_find(c, c->rej_id);
        if (q != NULL && (kind == FSD_CLOSE_RST || !q->has_end) && !(q->fate & F_REJECTED)) {
            q->fate |= F_REJECTED;
            fsd_fire(c, KEEP(q), FSD_A_response_rejected, 0, dir, off, at, q->id,
                     "%zu-byte header block over %u; web server %s: likely 502", q->cgi.used,
                     c->lim.web_server_header_bytes, kind == FSD_CLOSE_RST ? "reset" : "closed");
        }
        if (q != NULL && (q->fate & F_HELD)) {
            q->fate &= (uint8_t)~F_HELD;
            q->pending = c->any_pending = true; /* delivered by the caller's flush */
        }
        c->rej_id = 0;
    }
    for (fsd_req *r = c->head; r; r = r->next) {
        if (r->has_end || (r->t_set & T_CLOSE))
            continue;
        tp_put(r, &r->t_close, T_CLOSE, at);
        if (dir == FSD_DIR_SERVER)
            r->fate |= F_CLOSED_SERVER;
        if (dir == FSD_DIR_CLIENT && c->d[FSD_DIR_SERVER].closed) {
            /* The application had closed before this request began (a
             * recycled php-fpm worker on a kept-alive connection): it could
             * never answer. The web server closing now did not give up on
             * it: it noticed the application's close (nginx retries). */
            r->fate |= F_CLOSED_SERVER;
            if (kind == FSD_CLOSE_RST)
                r->fate |= F_CLOSED_RST;
            continue;
        }
        if (kind == FSD_CLOSE_RST)
            r->fate |= F_CLOSED_RST;
        if (dir == FSD_DIR_CLIENT && !(r->fate & F_REJECTED) && r->gap) {
            /* its END_REQUEST may be among the bytes the capture lost: no evidence
             * that the web server gave up (a note, the outcome stays unknown) */
            fsd_fire(c, KEEP(r), FSD_A_request_abandoned, FSD_SEV_NOTE, dir, off, at, r->id,
                     "%s while outstanding, but bytes of it were lost: maybe answered",
                     kind == FSD_CLOSE_RST ? "reset" : "closed");
        } else if (dir == FSD_DIR_CLIENT && !(r->fate & F_REJECTED)) {
            /* the web server gave up: its read timeout (504) when it had waited that
             * long since the last byte it got for the request, else its client left (499) */
            int64_t ref = 0;
            bool have = false;
            uint64_t waited;
            if (r->t_set & T_SRV) {
                ref = r->t_srv_ns;
                have = true;
            }
            if ((r->t_set & T_SENT) && (!have || r->t_sent.ns > ref)) {
                ref = r->t_sent.ns;
                have = true;
            }
            waited = have && at.ns > ref ? (uint64_t)(at.ns - ref) : 0;
            r->fate |= F_ABANDONED;
            if (have && waited >= (uint64_t)c->lim.upstream_timeout_ms * 1000000u)
                r->fate |= F_TIMEOUT;
            if (have)
                fsd_fire(c, KEEP(r), FSD_A_request_abandoned, 0, dir, off, at, r->id,
                         "%s %llu ms after the last byte it got (timeout %u ms): %s",
                         kind == FSD_CLOSE_RST ? "reset" : "closed", (unsigned long long)(waited / 1000000u),
                         c->lim.upstream_timeout_ms, r->fate & F_TIMEOUT ? "504" : "499");
            else
                fsd_fire(c, KEEP(r), FSD_A_request_abandoned, 0, dir, off, at, r->id,
                         "%s before the request was sent: 499", kind == FSD_CLOSE_RST ? "reset" : "closed");
        }
    }
}

uint64_t fsd_req_stream_pos(const fsd_req *r, unsigned type)
{
    switch (type) {
    case FSD_STDIN: return r->stdin_bytes;
    case FSD_STDOUT: return r->stdout_bytes;
    case FSD_STDERR: return r->stderr_bytes;
    case FSD_DATA: return r->data_bytes;
    case FSD_PARAMS: return r->params_bytes;
    default: return 0;
    }
}

/* ------------------------------------------------------------------ */
/* parameters                                                         */

/* Hash of a parameter name for duplicate detection, 8 bytes at a time; the
 * tail is the name's last 8 bytes (overlapping), shorter names are read in
 * two overlapping 4-byte or three single loads: every byte counts, no
 * variable-length copy (the values only need to be consistent within one
 * process). */
static inline uint32_t name_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n, w;
    if (n >= 8) {
        const uint8_t *e = p + n - 8;
        while (p < e) {
            memcpy(&w, p, 8);
            h = (h ^ w) * 0xff51afd7ed558ccdull;
            h ^= h >> 32;
            p += 8;
        }
        memcpy(&w, e, 8);
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        w = lo | (uint64_t)hi << 32;
    } else if (n > 0) {
        w = p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
    } else {
        w = 0;
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

static bool hash_grow(fsd_conn *c, fsd_req *r)
{
    size_t ncap = r->hash_cap * 2;
    if (ncap == 0) /* first: at most half full with every pair still to come in the
                      pair table (the record's pairs, usually) */
        for (ncap = 8; ncap < 2 * (r->ps_cap - r->nps); ncap *= 2)
            ;
    uint32_t *nh = fsd_mem_alloc(c, ncap * sizeof *nh);
    if (nh == NULL)
        return false;
    memset(nh, 0, ncap * sizeof *nh);
    for (size_t i = 0; i < r->hash_cap; i++) {
        if (r->hash[i]) {
            size_t j = (r->ps[r->hash[i] - 1].hash >> 1) & (ncap - 1);
            while (nh[j])
                j = (j + 1) & (ncap - 1);
            nh[j] = r->hash[i];
        }
    }
    if (r->hash)
        fsd_mem_free(c, r->hash, r->hash_cap * sizeof *r->hash);
    r->hash = nh;
    r->hash_cap = ncap;
    return true;
}

/* Insert stored param idx; true when its name was already there. */
static FSD_ALWAYS_INLINE bool hash_check_insert(fsd_conn *c, fsd_req *r, size_t idx)
{
    const pstore *np = &r->ps[idx];
    const uint8_t *name = r->arena + np->off;
    size_t j;
    if ((r->nhashed + 1) * 2 > r->hash_cap && !hash_grow(c, r)) {
        c->nomem = true;
        return false;
    }
    r->nhashed++;
    j = (np->hash >> 1) & (r->hash_cap - 1);
    while (r->hash[j]) {
        const pstore *p = &r->ps[r->hash[j] - 1];
        if ((p->hash | PS_CUT) == (np->hash | PS_CUT) && p->name_stored == np->name_stored &&
            ps_name_len(r, p) == ps_name_len(r, np) && memcmp(r->arena + p->off, name, np->name_stored) == 0) {
            r->hash[j] = (uint32_t)idx + 1; /* keep the latest */
            return true;
        }
        j = (j + 1) & (r->hash_cap - 1);
    }
    r->hash[j] = (uint32_t)idx + 1;
    return false;
}

static void parse_content_length(fsd_conn *c, fsd_req *r, const fsd_pair *p)
{
    uint64_t v = 0;
    bool ok = true;
    if (p->value_len == 0) {
        r->cl_state = CL_EMPTY;
        return;
    }
    if (p->value_stored != p->value_len || p->value_len > 18)
        ok = false;
    for (uint32_t i = 0; ok && i < p->value_stored; i++) {
        if (p->value[i] < '0' || p->value[i] > '9')
            ok = false;
        else
            v = v * 10 + (uint64_t)(p->value[i] - '0');
    }
    if (!ok) {
        r->cl_state = CL_INVALID;
        fsd_fire(c, KEEP(r), FSD_A_content_length_invalid, 0, FSD_DIR_CLIENT, p->offset, p->at, r->id,
                 "CONTENT_LENGTH \"%.*s\"", (int)(p->value_stored < 40 ? p->value_stored : 40),
                 (const char *)p->value);
        return;
    }
    r->cl_state = CL_VALID;
    r->cl_value = (int64_t)v;
}


/* The rare per-pair findings, in their fixed order. */
static FSD_COLD void pair_flags(fsd_conn *c, fsd_req *r, const fsd_pair *p)
{
    int nlen = (int)(p->name_stored < 48 ? p->name_stored : 48);
    const char *nm = (const char *)p->name;
    if (p->name_len == 0)
        fsd_fire(c, KEEP(r), FSD_A_nv_empty_name, 0, FSD_DIR_CLIENT, p->offset, p->at, r->id,
                 "value of %u bytes", p->value_len);
    if (p->nul)
        fsd_fire(c, KEEP(r), FSD_A_nv_nul, 0, FSD_DIR_CLIENT, p->offset, p->at, r->id, "%.*s", nlen, nm);
    if (p->straddled)
        fsd_fire(c, KEEP(r), FSD_A_nv_straddle, 0, FSD_DIR_CLIENT, p->offset, p->at, r->id, "%.*s", nlen, nm);
    if (p->truncated)
        fsd_fire(c, KEEP(r), FSD_A_param_cap_exceeded, 0, FSD_DIR_CLIENT, p->offset, p->at, r->id,
                 "pair %.*s of %u+%u bytes cut to %u", nlen, nm, p->name_len, p->value_len,
                 c->lim.max_pair_bytes);
    if (p->ctl)
        fsd_fire(c, KEEP(r), FSD_A_param_ctl_chars, 0, FSD_DIR_CLIENT, p->offset, p->at, r->id, "%.*s", nlen, nm);
}

/* A name the decoder knows (stored whole): its checks; returns its crit_names index or -1. */
static FSD_ALWAYS_INLINE int pair_known(fsd_conn *c, fsd_req *r, const fsd_pair *p, unsigned kind)
{
    int crit;
    switch (kind) {
    case FSD_PN_HTTP_PROXY:
        fsd_fire(c, KEEP(r), FSD_A_httpoxy, 0, FSD_DIR_CLIENT, p->offset, p->at, r->id, "HTTP_PROXY");
        break;
    case FSD_PN_PHP_VALUE:
    case FSD_PN_PHP_ADMIN_VALUE:
        fsd_fire(c, KEEP(r), FSD_A_php_ini_override, 0, FSD_DIR_CLIENT, p->offset, p->at, r->id, "%.*s",
                 (int)p->name_stored, (const char *)p->name);
        break;
    case FSD_PN_CONTENT_LENGTH:
        parse_content_length(c, r, p);
        break;
    case FSD_PN_REQUEST_METHOD:
        r->seen_method = true;
        break;
    case FSD_PN_SCRIPT_FILENAME:
        r->seen_sfile = true;
        break;
    default:
        break;
    }
    crit = crit_of[kind];
    if (crit >= 0) {
        if (r->crit_seen & (1u << crit))
            fsd_fire(c, KEEP(r), FSD_A_duplicate_param, FSD_SEV_ERROR, FSD_DIR_CLIENT, p->offset, p->at, r->id,
                     "%s", crit_names[crit]);
        r->crit_seen |= (uint8_t)(1u << crit);
    }
    return crit;
}

static FSD_COLD void pair_not_stored(fsd_conn *c, fsd_req *r, const fsd_pair *p)
{
    r->dropped++;
    if (!(r->once & ONCE_PARAM_CAP)) {
        r->once |= ONCE_PARAM_CAP;
        fsd_fire(c, KEEP(r), FSD_A_param_cap_exceeded, 0, FSD_DIR_CLIENT, p->offset, p->at, r->id,
                 "params over %u bytes: %.*s and later pairs not stored", c->lim.max_params_bytes,
                 (int)(p->name_stored < 48 ? p->name_stored : 48), (const char *)p->name);
    }
}

/* The first n content bytes p of a PARAMS record of len bytes arrived:
 * reserve the arena for its names and values (at most len bytes) and the
 * pair table for the pairs that start in p (counted by their lengths when
 * the parser is between pairs), at once: exactly on the first record,
 * doubling after (fsd_mem_grow). A failure is left to the per-pair path,
 * which reports it. */
static void params_reserve(fsd_conn *c, fsd_req *r, uint32_t len, const uint8_t *p, size_t n)
{
    size_t want, room, k = 0;
    if ((r->once & ONCE_PARAM_CAP) || len == 0 || r->stored_cost >= c->lim.max_params_bytes)
        return;
    room = c->lim.max_params_bytes - r->stored_cost;
    want = r->arena_used + (len < room ? len : room);
    if (want > r->arena_cap) {
        if (r->arena == NULL) {
            r->arena = fsd_mem_alloc(c, want);
            if (r->arena != NULL)
                r->arena_cap = want;
        } else {
            (void)fsd_mem_grow(c, (void **)&r->arena, &r->arena_cap, want, 1);
        }
    }
    if (r->nv != NULL && !fsd_nv_between_pairs(r->nv))
        return;
    {
        size_t i = 0, lim = n < len ? n : len;
        while (i < lim) {
            uint64_t l[2];
            if (lim - i >= 2 && !((p[i] | p[i + 1]) & 0x80)) { /* 1-byte lengths: the usual */
                i += 2 + (size_t)p[i] + p[i + 1];
                k++;
                continue;
            }
            for (int j = 0; j < 2; j++) {
                if (i < lim && !(p[i] & 0x80)) {
                    l[j] = p[i++];
                } else if (lim - i >= 4) {
                    l[j] = ((uint32_t)(p[i] & 0x7f) << 24) | ((uint32_t)p[i + 1] << 16) | ((uint32_t)p[i + 2] << 8) | p[i + 3];
                    i += 4;
                } else {
                    i = lim;
                    l[j] = 0;
                }
            }
            k++;
            i = l[0] + l[1] < lim - i ? i + l[0] + l[1] : lim;
        }
    }
    if (k > room / 16 + 1) /* each stored pair costs at least 16 */
        k = room / 16 + 1;
    want = r->nps + k;
    if (want <= r->ps_cap)
        return;
    if (r->ps == NULL) {
        r->ps = fsd_mem_alloc(c, want * sizeof *r->ps);
        if (r->ps != NULL)
            r->ps_cap = want;
    } else {
        (void)fsd_mem_grow(c, (void **)&r->ps, &r->ps_cap, want, sizeof *r->ps);
    }
}

static FSD_ALWAYS_INLINE void pair_store(fsd_conn *c, fsd_req *r, const fsd_pair *p)
{
    unsigned kind = p->kind < FSD_PN_COUNT ? p->kind : FSD_PN_OTHER;
    int crit = -1;
    uint32_t ns = p->name_stored, vs = p->value_stored;
    uint64_t cost = (uint64_t)ns + vs + 16; /* counts bookkeeping too: empty pairs are bounded */
    size_t need;
    bool cut;

    if (c->cb->on_param)
        fsd_emit_param(c, FSD_DIR_CLIENT, FSD_PARAMS, r->id, p);
    if (FSD_UNLIKELY(p->name_len == 0 || p->nul || p->straddled || p->truncated || p->ctl))
        pair_flags(c, r, p);
    if (kind != FSD_PN_OTHER)
        crit = pair_known(c, r, p, kind);

    /* store */
    cut = p->name_len != ns || p->value_len != vs;
    need = r->arena_used + ns + vs + (cut ? 2 * sizeof(uint32_t) : 0);
    if (FSD_UNLIKELY((r->once & ONCE_PARAM_CAP) || r->stored_cost + cost > c->lim.max_params_bytes)) {
        pair_not_stored(c, r, p);
        return;
    }
    if (FSD_UNLIKELY(!fsd_mem_reserve(c, (void **)&r->arena, &r->arena_cap, need ? need : 1, 1) ||
                     !fsd_mem_reserve(c, (void **)&r->ps, &r->ps_cap, r->nps + 1, sizeof *r->ps))) {
        c->nomem = true;
        pair_not_stored(c, r, p);
        return;
    }
    {
        pstore *s = &r->ps[r->nps];
        bool dup;
        s->off = (uint32_t)r->arena_used;
        s->hash = (kind == FSD_PN_OTHER ? name_hash(p->name, ns) & ~PS_CUT : 0) | (cut ? PS_CUT : 0);
        s->name_stored = ns;
        s->value_stored = vs;
        if (p->value == p->name + ns) { /* contiguous (always, today): one copy */
            if (ns + vs)
                arena_copy(r->arena + r->arena_used, p->name, (size_t)ns + vs);
        } else {
            if (ns)
                memcpy(r->arena + r->arena_used, p->name, ns);
            if (vs)
                memcpy(r->arena + r->arena_used + ns, p->value, vs);
        }
        if (FSD_UNLIKELY(cut)) {
            memcpy(r->arena + r->arena_used + ns + vs, &p->name_len, sizeof p->name_len);
            memcpy(r->arena + r->arena_used + ns + vs + sizeof p->name_len, &p->value_len, sizeof p->value_len);
        }
        r->arena_used = need;
        r->stored_cost += cost;
        /* duplicates: critical names by crit_seen above, other known names by
         * kind (their names are exact), the rest by the hash */
        if (kind == FSD_PN_OTHER) {
            dup = hash_check_insert(c, r, r->nps);
        } else if (crit < 0) {
            dup = (r->kind_seen >> kind) & 1;
            r->kind_seen |= (uint16_t)(1u << kind);
        } else {
            dup = false;
        }
        if (FSD_UNLIKELY(dup))
            fsd_fire(c, KEEP(r), FSD_A_duplicate_param, FSD_SEV_WARNING, FSD_DIR_CLIENT, p->offset, p->at, r->id,
                     "%.*s", (int)(ns < 48 ? ns : 48), (const char *)p->name);
        if (cv_of[kind] >= 0)
            r->cv[cv_of[kind]] = (int32_t)r->nps;
        r->nps++;
    }
}

static void on_pair(fsd_conn *c, void *ctx, const fsd_pair *p)
{
    pair_store(c, (fsd_req *)ctx, p);
}

/* The usual pair, stored without the general path: a name the decoder does
 * not know, nothing to report (no NUL, not empty, not cut, no on_param), room
 * in the arena, the pair table and the hash table, and no earlier pair of
 * that name. Returns false, having changed nothing, when any of that does
 * not hold: then pair_store does the work. */
static FSD_ALWAYS_INLINE bool pair_store_quiet(fsd_conn *c, fsd_req *r, const uint8_t *nm, uint32_t nl, uint32_t vl)
{
    uint64_t cost = (uint64_t)nl + vl + 16;
    size_t need = r->arena_used + nl + vl, j;
    uint32_t h;
    pstore *s;
    if ((r->once & ONCE_PARAM_CAP) || r->stored_cost + cost > c->lim.max_params_bytes || need > r->arena_cap ||
        r->nps >= r->ps_cap || (r->nhashed + 1) * 2 > r->hash_cap)
        return false;
    h = name_hash(nm, nl) & ~PS_CUT;
    for (j = (h >> 1) & (r->hash_cap - 1); r->hash[j]; j = (j + 1) & (r->hash_cap - 1)) {
        const pstore *p = &r->ps[r->hash[j] - 1];
        if ((p->hash | PS_CUT) == (h | PS_CUT) && p->name_stored == nl && ps_name_len(r, p) == nl &&
            memcmp(r->arena + p->off, nm, nl) == 0)
            return false; /* a duplicate: reported by the general path */
    }
    s = &r->ps[r->nps];
    s->off = (uint32_t)r->arena_used;
    s->hash = h;
    s->name_stored = nl;
    s->value_stored = vl;
    arena_copy(r->arena + r->arena_used, nm, (size_t)nl + vl);
    r->arena_used = need;
    r->stored_cost += cost;
    r->hash[j] = (uint32_t)r->nps + 1;
    r->nhashed++;
    r->nps++;
    return true;
}

/* The same for a name the decoder knows whose only effects are bookkeeping
 * (not HTTP_PROXY, PHP_VALUE, PHP_ADMIN_VALUE or CONTENT_LENGTH), seen for the
 * first time in this request, its value without line ends (ctl false): what
 * pair_known and pair_store would do, minus everything they would report.
 * Returns false, having changed nothing, when the general path is needed. */
static FSD_ALWAYS_INLINE bool pair_store_quiet_known(fsd_conn *c, fsd_req *r, const uint8_t *nm, uint32_t nl,
                                                     uint32_t vl, unsigned kind)
{
    uint64_t cost = (uint64_t)nl + vl + 16;
    size_t need = r->arena_used + nl + vl;
    int crit = crit_of[kind];
    pstore *s;
    if (kind == FSD_PN_HTTP_PROXY || kind == FSD_PN_PHP_VALUE || kind == FSD_PN_PHP_ADMIN_VALUE ||
        kind == FSD_PN_CONTENT_LENGTH)
        return false;
    if (crit >= 0 ? (r->crit_seen >> crit) & 1 : (r->kind_seen >> kind) & 1)
        return false; /* a duplicate */
    if ((r->once & ONCE_PARAM_CAP) || r->stored_cost + cost > c->lim.max_params_bytes || need > r->arena_cap ||
        r->nps >= r->ps_cap)
        return false;
    if (kind == FSD_PN_REQUEST_METHOD)
        r->seen_method = true;
    else if (kind == FSD_PN_SCRIPT_FILENAME)
        r->seen_sfile = true;
    if (crit >= 0)
        r->crit_seen |= (uint8_t)(1u << crit);
    else
        r->kind_seen |= (uint16_t)(1u << kind);
    s = &r->ps[r->nps];
    s->off = (uint32_t)r->arena_used;
    s->hash = 0;
    s->name_stored = nl;
    s->value_stored = vl;
    arena_copy(r->arena + r->arena_used, nm, (size_t)nl + vl);
    r->arena_used = need;
    r->stored_cost += cost;
    if (cv_of[kind] >= 0)
        r->cv[cv_of[kind]] = (int32_t)r->nps;
    r->nps++;
    return true;
}

/* PARAMS content of a tracked request. Whole pairs with 1-byte lengths
 * inside the piece (nearly all of them) are taken here with pair_store
 * inlined, exactly as fsd_nv_feed's fast path hands them out; the first other
 * pair and everything after it go to fsd_nv_feed. */
static void params_feed(fsd_conn *c, fsd_req *r, const uint8_t *data, size_t n, uint64_t off, fsd_timepoint at)
{
    size_t i = 0;
    uint32_t max_pair = c->lim.max_pair_bytes;
    fsd_nvp *nv;
    if (r->nv_broken)
        return;
    if (r->nv == NULL || fsd_nv_between_pairs(r->nv)) {
        while (n - i >= 2 && !((data[i] | data[i + 1]) & 0x80)) {
            uint32_t nl = data[i], vl = data[i + 1];
            const uint8_t *nm = data + i + 2;
            fsd_pair pr;
            unsigned kind;
            bool nul;
            if ((size_t)nl + vl > n - i - 2 || nl + vl > max_pair)
                break;
            kind = fsd_param_classify(nm, nl);
            nul = fsd_has_nul(nm, (size_t)nl + vl);
            if (!nul && c->cb->on_param == NULL &&
                (kind == FSD_PN_OTHER ? nl > 0 && pair_store_quiet(c, r, nm, nl, vl)
                                      : !(fsd_kind_ctl_checked(kind) && fsd_ctl_in(nm + nl, vl)) &&
                                            pair_store_quiet_known(c, r, nm, nl, vl, kind))) {
                i += 2 + (size_t)nl + vl;
                continue;
            }
            fsd_pair_in_place(&pr, nm, nl, vl, nul, kind, off + i, at);
            i += 2 + (size_t)nl + vl;
            pair_store(c, r, &pr);
        }
    }
    if (i == n)
        return;
    nv = req_nv(c, r);
    if (nv == NULL) { /* no memory: lose this record's remaining pairs, as after a gap */
        c->nomem = true;
        r->nv_broken = true;
        return;
    }
    fsd_nv_feed(c, nv, max_pair, data + i, n - i, off + i, at, on_pair, r);
}

/* ------------------------------------------------------------------ */
/* records                                                            */

/* A stream-state finding, once per request; not raised for a request a gap
 * touched (the records that would explain it may be the lost ones). */
static void once(fsd_conn *c, fsd_req *r, uint32_t bit, fsd_anomaly_id id, fsd_dir dir,
                 const fsd_dirst *d, const char *detail)
{
    if ((r->once & bit) || (r->gap && id != FSD_A_stderr_output))
        return;
    r->once |= bit;
    fsd_fire(c, KEEP(r), id, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id, "%s", detail);
}

void fsd_req_on_header(fsd_conn *c, fsd_dir dir)
{
    fsd_dirst *d = &c->d[dir];
    const fsd_header *h = &d->h;
    unsigned t = h->type;
    fsd_req *r;
    char buf[64];

    d->rec_req = NULL;
    d->rec_content = false;
    d->rec_mgmt = false;
    if (FSD_UNLIKELY(c->rej_id != 0) && dir == FSD_DIR_SERVER) {
        /* anything but the rest of the big response: the web server did not reject it */
        fsd_req *q = fsd_req_find(c, c->rej_id);
        if (q == NULL || q->has_end || !fsd_type_is_known(t) || fsd_type_is_management(t) ||
            h->request_id != c->rej_id)
            fsd_req_rej_release(c);
    }
    if (!fsd_type_is_known(t))
        return;
    if (fsd_type_sender(t) != (int)dir) {
        r = !fsd_type_is_management(t) && h->request_id ? fsd_req_find(c, h->request_id) : NULL;
        fsd_fire(c, KEEP(r), FSD_A_wrong_direction, 0, dir, d->rec_off, FSD_REC_FIRST(d),
                 fsd_type_is_management(t) ? -1 : h->request_id, "%s from the %s", fsd_type_name(t),
                 fsd_dir_name(dir));
        return;
    }
    if (fsd_type_is_management(t)) {
        if (h->request_id != 0)
            fsd_fire(c, NULL, FSD_A_management_id, 0, dir, d->rec_off, FSD_REC_FIRST(d), h->request_id,
                     "%s with request id %u", fsd_type_name(t), h->request_id);
        d->rec_mgmt = t != FSD_UNKNOWN_TYPE;
        return;
    }
    if (h->request_id == 0) {
        fsd_fire(c, NULL, FSD_A_null_request_id, 0, dir, d->rec_off, FSD_REC_FIRST(d), 0, "%s with request id 0",
                 fsd_type_name(t));
        return;
    }
    if (t == FSD_BEGIN_REQUEST)
        return; /* handled when its body is complete */

    r = fsd_req_find(c, h->request_id);
    if (r != NULL && c->lenient && dir == FSD_DIR_SERVER && (r->t_set & T_BEGIN) && d->rec_first_ns < r->t_begin.ns)
        /* captured before that request began: an earlier request's record
         * replayed by a resync after a gap (whose request ended at the gap) */
        return;
    if (r == NULL) {
        if (t == FSD_END_REQUEST && ended_recently(c, h->request_id))
            fsd_fire(c, NULL, FSD_A_duplicate_end, 0, dir, d->rec_off, FSD_REC_FIRST(d), h->request_id,
                     "request %u already ended", h->request_id);
        else if (bit_get(c, FSD_IDMAP_UNTRACKED, h->request_id)) {
            untracked_count(c, 1, 1); /* refused at its BEGIN_REQUEST: counted, not reported again */
            untracked_count(c, 2, h->content_length);
        }
        else if (c->lenient && !bit_get(c, FSD_IDMAP_BEGUN, h->request_id))
            ; /* begun before a gap or the capture's start: already reported there */
        else
            fsd_fire(c, NULL, FSD_A_inactive_request, 0, dir, d->rec_off, FSD_REC_FIRST(d), h->request_id,
                     "%s for request %u", fsd_type_name(t), h->request_id);
        return;
    }
    if (r->lingering) {
        if (r->gap && (t == FSD_END_REQUEST || t == FSD_STDOUT || t == FSD_STDERR))
            return; /* likely a request whose BEGIN_REQUEST was lost: not applied */
        if (t == FSD_END_REQUEST) {
            fsd_fire(c, KEEP(r), FSD_A_duplicate_end, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id, "request %u already ended",
                     r->id);
            return;
        }
        if (t == FSD_STDOUT || t == FSD_STDERR) {
            fsd_fire(c, NULL, FSD_A_inactive_request, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id,
                     "%s after END_REQUEST of request %u", fsd_type_name(t), r->id);
            return;
        }
    }
    d->rec_req = r;
    switch (t) {
    case FSD_PARAMS:
        if (r->st[FSD_PARAMS] == S_ENDED) {
            if (h->content_length > 0) {
                once(c, r, ONCE_DAE << FSD_PARAMS, FSD_A_data_after_stream_end, dir, d, "PARAMS");
            }
            return;
        }
        if (r->st[FSD_STDIN] != S_NONE || r->st[FSD_DATA] != S_NONE)
            once(c, r, ONCE_STREAM_ORDER, FSD_A_stream_order, dir, d, "PARAMS after STDIN");
        d->rec_content = true;
        break;
    case FSD_STDIN:
    case FSD_DATA:
        if (r->st[t] == S_ENDED) {
            if (h->content_length > 0)
                once(c, r, ONCE_DAE << t, FSD_A_data_after_stream_end, dir, d, fsd_type_name(t));
            return;
        }
        if (t == FSD_DATA && r->role != FSD_FILTER) {
            snprintf(buf, sizeof buf, "DATA on a %s request", fsd_role_name(r->role));
            once(c, r, ONCE_STREAM_ORDER, FSD_A_stream_order, dir, d, buf);
        } else if (r->st[FSD_PARAMS] != S_ENDED) {
            snprintf(buf, sizeof buf, "%s before PARAMS ended", fsd_type_name(t));
            once(c, r, ONCE_STREAM_ORDER, FSD_A_stream_order, dir, d, buf);
        } else if (t == FSD_DATA && r->st[FSD_STDIN] != S_ENDED) {
            once(c, r, ONCE_STREAM_ORDER, FSD_A_stream_order, dir, d, "DATA before STDIN ended");
        }
        /* a body without a length (nginx, fastcgi_request_buffering off: CONTENT_LENGTH
         * empty): said at its first record, the upload may never end */
        if (t == FSD_STDIN && h->content_length > 0 && r->st[FSD_PARAMS] == S_ENDED && !r->gap &&
            (r->cl_state == CL_ABSENT || r->cl_state == CL_EMPTY) && !(r->once & ONCE_CL_MISSING)) {
            r->once |= ONCE_CL_MISSING;
            fsd_fire(c, KEEP(r), FSD_A_content_length_missing, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id,
                     "STDIN body, CONTENT_LENGTH %s", r->cl_state == CL_EMPTY ? "empty" : "absent");
        }
        d->rec_content = true;
        break;
    case FSD_STDOUT:
    case FSD_STDERR:
        if (!(r->t_set & T_FIRST))
            tp_put(r, &r->t_first, T_FIRST, FSD_REC_FIRST(d));
        if (r->st[FSD_PARAMS] != S_ENDED) {
            snprintf(buf, sizeof buf, "%s before PARAMS ended", fsd_type_name(t));
            once(c, r, ONCE_EARLY, FSD_A_early_response, dir, d, buf);
        }
        if (r->st[t] == S_ENDED) {
            if (h->content_length > 0)
                once(c, r, ONCE_DAE << t, FSD_A_data_after_stream_end, dir, d, fsd_type_name(t));
            return;
        }
        if (t == FSD_STDERR && h->content_length > 0)
            once(c, r, ONCE_STDERR, FSD_A_stderr_output, dir, d, "STDERR");
        d->rec_content = true;
        break;
    default:
        break;
    }
}

/* application_error: STDERR text of a fatal error (php-fpm's), matched as the
 * stream passes with one KMP state byte per pattern, so a pattern split by
 * record or packet boundaries is found and nothing is buffered. Keep the list
 * small (docs/ANOMALIES.md lists it). */
static const struct {
    const char *s;
    uint8_t len;
    uint8_t fail[15];          /* KMP failure function */
} errpats[4] = {
    { "PHP Fatal error", 15, { 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
    { "PHP Parse error", 15, { 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
    { "Fatal error:", 12, { 0 } },
    { "Uncaught", 8, { 0 } },
};

/* Fire application_error once a fatal pattern was seen and the header block
 * says the answer was not a 5xx (the user got a truncated page behind it). */
static void app_error_check(fsd_conn *c, fsd_req *r, uint64_t off, fsd_timepoint at)
{
    if (!(r->fate & F_FATAL) || (r->once & ONCE_APP_ERR) || r->cgi.state != FSD_CGI_DONE || r->http_status <= 0 ||
        r->http_status >= 500)
        return;
    r->once |= ONCE_APP_ERR;
    fsd_fire(c, KEEP(r), FSD_A_application_error, 0, FSD_DIR_SERVER, off, at, r->id, "\"%s\" on STDERR, answer %u",
             errpats[r->errpat[0] & 3].s, (unsigned)r->http_status);
}

static void stderr_scan(fsd_conn *c, fsd_req *r, const uint8_t *p, size_t n, uint64_t off, fsd_timepoint at)
{
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < 4; k++) {
            const uint8_t *pat = (const uint8_t *)errpats[k].s;
            uint8_t st = r->errpat[k];
            while (st && pat[st] != p[i])
                st = errpats[k].fail[st - 1];
            if (pat[st] == p[i])
                st++;
            if (st == errpats[k].len) {
                r->fate |= F_FATAL;
                r->errpat[0] = (uint8_t)k; /* which one (matching stops here) */
                app_error_check(c, r, off + i, at);
                return;
            }
            r->errpat[k] = st;
        }
    }
}

static void cgi_deliver(fsd_conn *c, fsd_req *r, bool complete, uint64_t end_off, fsd_timepoint at)
{
    fsd_cgi_result res;
    fsd_response_event ev;
    memset(&ev, 0, sizeof ev);
    memset(&res, 0, sizeof res);
    if (complete) {
        fsd_cgi_parse(c, &r->cgi, &res, c->cb->on_response != NULL);
        r->http_status = res.status;
        r->status_src = (uint8_t)(res.status_bad ? FSD_STATUS_NONE
                                  : res.status_present ? FSD_STATUS_HEADER
                                  : res.location_present ? FSD_STATUS_LOCATION
                                                         : FSD_STATUS_DEFAULT);
        if (res.ct_present) {
            r->ct_present = true;
            r->ct_off = (uint32_t)res.ct_off;
            r->ct_len = (uint32_t)res.ct_len;
            ev.content_type.ptr = r->cgi.buf + res.ct_off;
            ev.content_type.len = res.ct_len;
        }
        if (res.status_present) {
            ev.status_line.ptr = r->cgi.buf + res.status_off;
            ev.status_line.len = res.status_len;
        }
        if (res.status_bad)
            fsd_fire(c, KEEP(r), FSD_A_bad_status_header, 0, FSD_DIR_SERVER, end_off, at, r->id,
                     "Status: \"%.*s\"", (int)(res.status_len < 40 ? res.status_len : 40),
                     (const char *)r->cgi.buf + res.status_off);
        app_error_check(c, r, end_off, at);
    }
    if (!c->cb->on_response) {
        fsd_cgi_free_headers(c, &res);
        return;
    }
    ev.request_id = r->id;
    ev.status = r->http_status;
    ev.headers = res.headers;
    ev.nheaders = res.nheaders;
    ev.header_len = r->cgi.used;
    ev.complete = complete;
    ev.at = at;
    c->cb->on_response(c->ud, &ev);
    fsd_cgi_free_headers(c, &res);
}

void fsd_req_on_content(fsd_conn *c, fsd_dir dir, const uint8_t *p, size_t n, uint64_t off, fsd_timepoint at)
{
    fsd_dirst *d = &c->d[dir];
    fsd_req *r = d->rec_req;
    seen(r, dir, at);
    switch (d->h.type) {
    case FSD_PARAMS:
        if (d->content_left == d->h.content_length) /* the record's first bytes */
            params_reserve(c, r, d->h.content_length, p, n);
        r->params_bytes += n;
        r->st[FSD_PARAMS] = S_OPEN;
        params_feed(c, r, p, n, off, at);
        break;
    case FSD_STDIN:
        r->stdin_bytes += n;
        r->st[FSD_STDIN] = S_OPEN;
        if (r->cl_state == CL_VALID && r->st[FSD_PARAMS] == S_ENDED && r->stdin_bytes > (uint64_t)r->cl_value &&
            !(r->once & ONCE_CL_EXCEED)) {
            r->once |= ONCE_CL_EXCEED;
            /* offset of the first byte beyond CONTENT_LENGTH */
            uint64_t before = r->stdin_bytes - n;
            uint64_t beyond = off + ((uint64_t)r->cl_value > before ? (uint64_t)r->cl_value - before : 0);
            fsd_fire(c, KEEP(r), FSD_A_content_length_mismatch, 0, dir, beyond, at, r->id,
                     "STDIN exceeds CONTENT_LENGTH %lld", (long long)r->cl_value);
        }
        break;
    case FSD_DATA:
        r->data_bytes += n;
        r->st[FSD_DATA] = S_OPEN;
        break;
    case FSD_STDERR:
        r->stderr_bytes += n;
        r->st[FSD_STDERR] = S_OPEN;
        if (!(r->fate & F_FATAL))
            stderr_scan(c, r, p, n, off, at);
        break;
    case FSD_STDOUT:
        r->stdout_bytes += n;
        r->st[FSD_STDOUT] = S_OPEN;
        if (r->cgi.state == FSD_CGI_HDR) {
            bool nomem = false;
            size_t took = fsd_cgi_feed(c, &r->cgi, c->lim.max_cgi_header_bytes, p, n, &nomem);
            if (nomem)
                c->nomem = true;
            if (r->cgi.state == FSD_CGI_DONE) {
                cgi_deliver(c, r, true, off + took, at);
            } else if (r->cgi.state == FSD_CGI_CAPPED) {
                fsd_fire(c, KEEP(r), FSD_A_cgi_header_cap_exceeded, 0, dir, off + took, at, r->id,
                         "no blank line within %u bytes", c->lim.max_cgi_header_bytes);
                cgi_deliver(c, r, false, off + took, at);
            }
            /* bigger than the web server takes: it may reject it (response_rejected
             * when its close is the next thing on the connection) */
            if (!(r->once & ONCE_BIG_HDR) &&
                (r->cgi.used > c->lim.web_server_header_bytes ||
                 (r->cgi.state == FSD_CGI_CAPPED && c->lim.max_cgi_header_bytes >= c->lim.web_server_header_bytes))) {
                r->once |= ONCE_BIG_HDR;
                fsd_req_rej_release(c);
                c->rej_id = r->id;
            }
        }
        break;
    default:
        break;
    }
}

void fsd_req_on_gap_content(fsd_conn *c, fsd_dir dir, uint64_t n)
{
    fsd_dirst *d = &c->d[dir];
    fsd_req *r = d->rec_req;
    r->gap = true;
    switch (d->h.type) {
    case FSD_PARAMS: /* drop the pair in progress, skip to the record's end */
        r->params_bytes += n;
        req_nv_drop(c, r);
        r->nv_broken = true;
        break;
    case FSD_STDIN: r->stdin_bytes += n; break;
    case FSD_DATA: r->data_bytes += n; break;
    case FSD_STDERR: r->stderr_bytes += n; break;
    case FSD_STDOUT:
        r->stdout_bytes += n;
        if (r->cgi.state == FSD_CGI_HDR)
            r->cgi.state = FSD_CGI_BROKEN;
        break;
    default: break;
    }
}

void fsd_req_on_gap(fsd_conn *c, fsd_dir dir)
{
    for (fsd_req *r = c->head; r; r = r->next) {
        /* records of r may have been lost: the client's while its streams were
         * open, the server's until END_REQUEST */
        if (dir == FSD_DIR_CLIENT) {
            req_nv_drop(c, r);
            r->nv_broken = false;
            if (!client_done(r) && !r->aborted)
                r->gap = true;
        } else {
            if (r->cgi.state == FSD_CGI_HDR)
                r->cgi.state = FSD_CGI_BROKEN;
            if (!r->has_end)
                r->gap = true;
        }
    }
    if (dir == FSD_DIR_SERVER)
        c->gv_pending = false; /* a GET_VALUES_RESULT may have been lost */
    if (dir == FSD_DIR_CLIENT) {
        /* a BEGIN_REQUEST may have been lost: records of ids not tracked now
         * are not inactive_request, an END_REQUEST not duplicate_end */
        if (c->idmaps != NULL)
            memset(c->idmaps + FSD_IDMAP_BEGUN, 0, FSD_IDMAP_UNTRACKED - FSD_IDMAP_BEGUN);
        c->ended_n = c->ended_i = 0;
    }
}

/* STDOUT ended (empty record or END_REQUEST): settle the header block. */
static void stdout_over(fsd_conn *c, fsd_req *r, fsd_dir dir, const fsd_dirst *d, fsd_timepoint at)
{
    if (r->cgi.state != FSD_CGI_HDR)
        return;
    r->cgi.state = FSD_CGI_NOHDR;
    if (r->cgi.used > 0) {
        fsd_fire(c, KEEP(r), FSD_A_response_no_header, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id,
                 "%zu bytes without a blank line", r->cgi.used);
        cgi_deliver(c, r, false, d->rec_off, at);
    }
}

static void client_stream_ended(fsd_conn *c, fsd_req *r, fsd_timepoint last)
{
    (void)c;
    if (!(r->t_set & T_SENT) && client_done(r))
        tp_put(r, &r->t_sent, T_SENT, last);
    if (r->lingering && client_done(r))
        r->pending = c->any_pending = true;
}

static void begin_request(fsd_conn *c, fsd_dir dir, fsd_record_event *ev)
{
    fsd_dirst *d = &c->d[dir];
    uint16_t id = d->h.request_id;
    fsd_req *r = fsd_req_find(c, id);
    bool mpx;

    if (r != NULL && !r->lingering && r->gap) {
        /* its END_REQUEST (or ABORT/stream ends) was lost in a gap: it ended
         * there, and this is the next request on the id */
        deliver(c, r, FSD_END_GAP, dir, d->rec_off, FSD_REC_FIRST(d));
        r = NULL;
    }
    if (r != NULL && !r->lingering) {
        fsd_fire(c, KEEP(r), FSD_A_duplicate_begin, 0, dir, d->rec_off, FSD_REC_FIRST(d), id,
                 "request %u is active", id);
        return;
    }
    if (r != NULL) /* lingering: its client streams never ended */
        deliver(c, r, FSD_END_COMPLETE, dir, d->rec_off, FSD_REC_FIRST(d));
    ended_forget(c, id);
    if (c->tracked >= c->lim.max_active_requests) {
        /* make room by delivering the oldest lingering request */
        for (fsd_req *o = c->head; o; o = o->next) {
            if (o->lingering) {
                deliver(c, o, FSD_END_COMPLETE, dir, d->rec_off, FSD_REC_FIRST(d));
                break;
            }
        }
    }
    if (c->tracked >= c->lim.max_active_requests) {
        /* one event per refused BEGIN_REQUEST; the detail is the same for
         * all of them (the id is in the event), so front ends can fold them */
        fsd_fire(c, NULL, FSD_A_request_table_full, 0, dir, d->rec_off, FSD_REC_FIRST(d), id,
                 "table full (%u requests); not tracked", c->lim.max_active_requests);
        bit_set(c, FSD_IDMAP_UNTRACKED, id, true);
        untracked_count(c, 0, 1);
        return;
    }
    r = fsd_mem_alloc(c, sizeof *r);
    if (r == NULL) {
        c->nomem = true;
        bit_set(c, FSD_IDMAP_UNTRACKED, id, true);
        untracked_count(c, 0, 1);
        return;
    }
    memset(r, 0, sizeof *r);
    for (int k = 0; k < CV_COUNT; k++)
        r->cv[k] = -1;
    r->id = id;
    r->seq = c->next_seq++;
    tp_put(r, &r->t_begin, T_BEGIN, FSD_REC_FIRST(d));
    seen(r, dir, ev->last);
    if (ev->body_valid) {
        r->role = ev->body.begin.role;
        r->flags = ev->body.begin.flags;
        r->keep_conn = (r->flags & FSD_FLAG_KEEP_CONN) != 0;
    }
    mpx = c->active > 0;
    /* link */
    r->prev = c->tail;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->tracked++;
    c->active++;
    c->st.active_requests = c->active;
    if (c->active > c->st.max_active_requests)
        c->st.max_active_requests = c->active;
    bit_set(c, FSD_IDMAP_UNTRACKED, id, false);
    if (c->lenient)
        bit_set(c, FSD_IDMAP_BEGUN, id, true);
    d->rec_req = r;
    ev->request_active = true;

    if (mpx)
        fsd_fire(c, KEEP(r), FSD_A_multiplexed, 0, dir, d->rec_off, FSD_REC_FIRST(d), id, "%u requests active",
                 c->active);
    if (c->have_last && !c->last_keep)
        fsd_fire(c, KEEP(r), FSD_A_keep_conn_violation, 0, dir, d->rec_off, FSD_REC_FIRST(d), id,
                 "BEGIN_REQUEST after request %u cleared KEEP_CONN", c->last_id);
    if (ev->body_valid && (r->role < FSD_RESPONDER || r->role > FSD_FILTER))
        fsd_fire(c, KEEP(r), FSD_A_unknown_role, 0, dir, d->rec_off, FSD_REC_FIRST(d), id, "role %u", r->role);
    c->have_last = true;
    c->last_keep = r->keep_conn;
    c->last_id = id;
}

void fsd_req_on_truncated(fsd_conn *c, fsd_dir dir)
{
    fsd_dirst *d = &c->d[dir];
    if (d->rec_req && d->h.type == FSD_PARAMS && d->rec_content) { /* the partial pair can not be completed */
        req_nv_drop(c, d->rec_req);
        d->rec_req->nv_broken = false;
    }
}

void fsd_req_on_record_end(fsd_conn *c, fsd_dir dir, fsd_record_event *ev)
{
    fsd_dirst *d = &c->d[dir];
    fsd_req *r = d->rec_req;
    unsigned t = d->h.type;
    bool eos = d->h.content_length == 0;

    if (t == FSD_BEGIN_REQUEST && fsd_type_sender(t) == (int)dir && d->h.request_id != 0) {
        begin_request(c, dir, ev);
        return;
    }
    if (r == NULL) {
        ev->request_active = false;
        return;
    }
    ev->request_active = true;
    seen(r, dir, ev->last);
    switch (t) {
    case FSD_PARAMS:
        if (!d->rec_content)
            break;
        r->nv_broken = false;
        if (r->nv != NULL)
            fsd_nv_record_end(r->nv);
        if (!eos)
            break;
        if (r->nv != NULL && fsd_nv_stream_end(r->nv))
            fsd_fire(c, KEEP(r), FSD_A_nv_overrun, 0, dir, r->nv->start_off, r->nv->start_at, r->id,
                     "pair at offset %llu incomplete at end of PARAMS", (unsigned long long)r->nv->start_off);
        req_nv_drop(c, r);
        r->st[FSD_PARAMS] = S_ENDED;
        if (r->role == FSD_RESPONDER && (!r->seen_method || !r->seen_sfile) && !r->gap)
            fsd_fire(c, KEEP(r), FSD_A_missing_required_param, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id, "%s%s%s",
                     r->seen_method ? "" : "REQUEST_METHOD", !r->seen_method && !r->seen_sfile ? "," : "",
                     r->seen_sfile ? "" : "SCRIPT_FILENAME");
        client_stream_ended(c, r, ev->last);
        break;
    case FSD_STDIN:
        if (!d->rec_content || !eos)
            break;
        r->st[FSD_STDIN] = S_ENDED;
        if (r->gap)
            ; /* STDIN records or the CONTENT_LENGTH pair may be the lost bytes */
        else if (r->stdin_bytes > 0 && (r->cl_state == CL_ABSENT || r->cl_state == CL_EMPTY) &&
                 !(r->once & ONCE_CL_MISSING))
            fsd_fire(c, KEEP(r), FSD_A_content_length_missing, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id,
                     "%llu STDIN bytes", (unsigned long long)r->stdin_bytes);
        else if (r->cl_state == CL_VALID && (uint64_t)r->cl_value != r->stdin_bytes && !(r->once & ONCE_CL_EXCEED))
            fsd_fire(c, KEEP(r), FSD_A_content_length_mismatch, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id,
                     "CONTENT_LENGTH %lld, STDIN %llu bytes", (long long)r->cl_value,
                     (unsigned long long)r->stdin_bytes);
        client_stream_ended(c, r, ev->last);
        break;
    case FSD_DATA:
        if (!d->rec_content || !eos)
            break;
        r->st[FSD_DATA] = S_ENDED;
        client_stream_ended(c, r, ev->last);
        break;
    case FSD_STDOUT:
        if (!d->rec_content || !eos)
            break;
        r->st[FSD_STDOUT] = S_ENDED;
        stdout_over(c, r, dir, d, ev->last);
        break;
    case FSD_STDERR:
        if (d->rec_content && eos)
            r->st[FSD_STDERR] = S_ENDED;
        break;
    case FSD_ABORT_REQUEST:
        if (!r->aborted)
            fsd_fire(c, KEEP(r), FSD_A_request_aborted, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id, "request %u", r->id);
        r->aborted = true;
        if (r->lingering)
            r->pending = c->any_pending = true;
        break;
    case FSD_END_REQUEST:
        r->has_end = true;
        tp_put(r, &r->t_end, T_END, ev->last);
        if (ev->body_valid) {
            r->app_status = ev->body.end.app_status;
            r->protocol_status = ev->body.end.protocol_status;
        }
        if (r->protocol_status != FSD_REQUEST_COMPLETE)
            fsd_fire(c, KEEP(r), FSD_A_protocol_status, r->protocol_status > 3 ? FSD_SEV_ERROR : FSD_SEV_WARNING, dir,
                     d->rec_off, FSD_REC_FIRST(d), r->id, "%s (%u)", fsd_protocol_status_name(r->protocol_status),
                     r->protocol_status);
        if (r->st[FSD_STDOUT] != S_ENDED)
            fsd_fire(c, KEEP(r), FSD_A_end_without_stdout_eos, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id,
                     "%llu STDOUT bytes", (unsigned long long)r->stdout_bytes);
        stdout_over(c, r, dir, d, ev->last);
        /* the application answered before the declared body was sent: it did not read it */
        if (needs_stdin(r) && r->st[FSD_STDIN] != S_ENDED && !r->aborted && !(r->fate & F_ABANDONED) &&
            r->cl_state == CL_VALID && r->stdin_bytes < (uint64_t)r->cl_value) {
            r->fate |= F_ABB;
            fsd_fire(c, KEEP(r), FSD_A_answered_before_body, 0, dir, d->rec_off, FSD_REC_FIRST(d), r->id,
                     "END_REQUEST after %llu of %lld body bytes", (unsigned long long)r->stdin_bytes,
                     (long long)r->cl_value);
        }
        if ((client_done(r) || r->aborted) && c->rej_id == r->id) {
            /* held until the next thing on the connection: a reset by the web
             * server then means it rejected the header block */
            r->fate |= F_HELD;
            r->lingering = true;
            c->active--;
            c->st.active_requests = c->active;
        } else if (client_done(r) || r->aborted) {
            r->pending = c->any_pending = true;
        } else {
            r->lingering = true;
            c->active--;
            c->st.active_requests = c->active;
        }
        break;
    default:
        break;
    }
}
