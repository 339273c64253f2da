/* request.c — request reconstruction: id table with multiplexing and reuse, per-stream state, timing, CGI checks, transactions.
 *
 * Normative reference: FastCGI Specification 1.0 §3.3 (request ids, streams),
 * §4-§6 (record types, roles); docs/PROTOCOL.md (peer behaviour, timing
 * points); docs/ANOMALIES.md (exact firing rules).
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
#include "params.h"

#include <stdio.h>
#include <string.h>

enum { S_NONE = 0, S_OPEN = 1, S_ENDED = 2 };


/* once-per-request anomaly bits */
enum {
    ONCE_STREAM_ORDER = 1u << 0,
    ONCE_EARLY = 1u << 1,
    ONCE_STDERR = 1u << 2,
    ONCE_CL_EXCEED = 1u << 4,
    ONCE_DATA_AFTER_END = 1u << 5, /* << type: data_after_stream_end per stream (bits 9..13) */
    ONCE_CL_MISSING = 1u << 20,
    ONCE_BIG_HDR = 1u << 21,  /* the header block passed web_server_header_bytes */
    ONCE_APP_ERR = 1u << 22
};

/* duplicate_param is an ERROR for these (php-fpm takes the last, fcgiwrap the first). */
static const char *const critical_names[] = {
    "SCRIPT_FILENAME", "SCRIPT_NAME", "DOCUMENT_ROOT", "PATH_INFO", "CONTENT_LENGTH", "PHP_VALUE",
    "PHP_ADMIN_VALUE"
};
/* fsd_pname -> index in critical_names (-1: not critical) */
static const int8_t critical_index_of[FSD_PN_COUNT] = {
    [FSD_PN_OTHER] = -1, [FSD_PN_REQUEST_METHOD] = -1, [FSD_PN_REQUEST_URI] = -1, [FSD_PN_SCRIPT_NAME] = 1,
    [FSD_PN_SCRIPT_FILENAME] = 0, [FSD_PN_HTTP_HOST] = -1, [FSD_PN_SERVER_NAME] = -1,
    [FSD_PN_CONTENT_LENGTH] = 4, [FSD_PN_HTTP_PROXY] = -1, [FSD_PN_PHP_VALUE] = 5,
    [FSD_PN_PHP_ADMIN_VALUE] = 6, [FSD_PN_DOCUMENT_ROOT] = 2, [FSD_PN_PATH_INFO] = 3,
    [FSD_PN_DOCUMENT_URI] = -1, [FSD_PN_QUERY_STRING] = -1
};

enum { CL_ABSENT = 0, CL_EMPTY, CL_VALID, CL_INVALID };

/* A timepoint without its flag (the flags are bits of fsd_req.t_set). */
typedef struct tp_slot {
    int64_t ns;
    uint64_t tag;
} tp_slot;
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
    F_ANSWERED_BEFORE_BODY = 1u << 7            /* answered_before_body fired */
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
    uint8_t critical_seen;
    uint8_t protocol_status;
    uint8_t t_set;            /* T_* bits: which of the timepoints below are set */
    uint8_t st[FSD_MAX_KNOWN_TYPE + 1];
    uint32_t once;
    uint32_t app_status;
    int http_status;
    uint32_t ct_off, ct_len;  /* in cgi.buf (at most max_cgi_header_bytes) */
    bool nv_broken;           /* PARAMS bytes of this record were lost: skip to its end */
    uint8_t fate;             /* F_* bits (these three fill what was padding) */
    uint8_t status_src;       /* fsd_status_source */
    bool gap;                 /* bytes of its records were lost (fsd_transaction.gap): the
                                 stream-state checks a loss could explain are not raised */
    uint8_t errpat[4];        /* STDERR fatal-pattern matchers: bytes matched of each pattern */
    fsd_pair_parser *nv;              /* pair parser for pairs cut by a piece or record boundary:
                                 allocated when one is, freed at the end of PARAMS */
    fsd_params params;        /* the stored pairs (params.c) */
    int64_t cl_value;
    uint64_t params_bytes, stdin_bytes, data_bytes, stdout_bytes, stderr_bytes;
    fsd_cgi cgi;
    tp_slot t_begin, t_sent, t_first, t_end;
    tp_slot t_last, t_close;      /* last byte (either side), first close while outstanding */
    int64_t t_srv_ns;         /* time of the server's last byte (T_SRV) */
    fsd_anomaly_list anoms;   /* its anomaly events (fsd_fire) */
};

/* Where fsd_fire keeps a request's events (NULL: not tied to a request). */
static inline fsd_anomaly_list *events_of(fsd_req *r)
{
    return r ? &r->anoms : NULL;
}

fsd_anomaly_list *fsd_req_anomalies(fsd_req *r)
{
    return events_of(r);
}

/* Fire id for request r (kept in its list) at stream offset off of dir, in
 * the packet at; sev 0: the catalogue's severity. */
static FSD_PRINTF(8, 9) void fire_at(fsd_conn *c, fsd_req *r, fsd_anomaly_id id, fsd_severity sev, fsd_dir dir,
                                     uint64_t off, fsd_timepoint at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fsd_vfire(c, &r->anoms, id, sev, dir, off, at, r->id, fmt, ap);
    va_end(ap);
}

/* The same at the current record of dir (its header's offset and packet). */
static FSD_PRINTF(6, 7) void fire_at_record(fsd_conn *c, fsd_req *r, fsd_anomaly_id id, fsd_severity sev,
                                            fsd_dir dir, const char *fmt, ...)
{
    const fsd_direction *d = &c->d[dir];
    va_list ap;
    va_start(ap, fmt);
    fsd_vfire(c, &r->anoms, id, sev, dir, d->rec_off, FSD_REC_FIRST(d), r->id, fmt, ap);
    va_end(ap);
}

/* The same at pair p of its PARAMS stream (the pair's first length byte). */
static FSD_PRINTF(6, 7) void fire_at_pair(fsd_conn *c, fsd_req *r, fsd_anomaly_id id, fsd_severity sev,
                                          const fsd_pair *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fsd_vfire(c, &r->anoms, id, sev, FSD_DIR_CLIENT, p->offset, p->at, r->id, fmt, ap);
    va_end(ap);
}

static inline void tp_put(fsd_req *r, tp_slot *slot, unsigned bit, fsd_timepoint t)
{
    slot->ns = t.ns;
    slot->tag = t.tag;
    if (t.set)
        r->t_set |= (uint8_t)bit;
    else
        r->t_set &= (uint8_t)~bit;
}

static inline fsd_timepoint tp_get(const fsd_req *r, const tp_slot *slot, unsigned bit)
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
static fsd_pair_parser *req_nv(fsd_conn *c, fsd_req *r)
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
    fsd_params_release(c, &r->params);
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

/* A request's findings when it is delivered: client streams that never
 * ended, an unanswered body, the end it never got. */
static void delivery_findings(fsd_conn *c, fsd_req *r, fsd_end_reason reason, fsd_dir dir, uint64_t off,
                              fsd_timepoint at)
{
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
        if (r->has_end && needs_stdin(r) && r->st[FSD_STDIN] != S_ENDED && !(r->fate & (F_ANSWERED_BEFORE_BODY | F_ABANDONED)) &&
            r->cl_state != CL_VALID && r->stdin_bytes > 0 && reason != FSD_END_GAP &&
            reason != FSD_END_DESYNC) {
            r->fate |= F_ANSWERED_BEFORE_BODY;
            fire_at(c, r, FSD_A_answered_before_body, 0, dir, off, at,
                    "END_REQUEST after %llu STDIN bytes; the body never ended", (unsigned long long)r->stdin_bytes);
        }
        /* answered: the stream was cut with the connection, nothing was smuggled (warning) */
        fire_at(c, r, FSD_A_stream_not_terminated, r->has_end ? FSD_SEV_WARNING : 0, dir, off, at,
                "%s never ended: %s%s", missing, r->fate & F_ANSWERED_BEFORE_BODY ? "answered first; " : "", end_story(r, reason, dir));
    }
    /* only a note when the capture explains it: it ended, or lost the end */
    if (!r->has_end)
        fire_at(c, r, FSD_A_incomplete_request,
                reason == FSD_END_CAPTURE || reason == FSD_END_GAP || r->gap ? FSD_SEV_NOTE : 0, dir, off, at, "%s",
                fsd_end_reason_name(reason));
}

/* The status the web server's client got, 0 unknown. */
static int user_status(fsd_user_outcome outcome, int http_status)
{
    switch (outcome) {
    case FSD_USER_AS_ANSWERED: return http_status;
    case FSD_USER_REJECTED_HEADER:
    case FSD_USER_BACKEND_FAILED: return 502;
    case FSD_USER_GAVE_UP_TIMEOUT: return 504;
    case FSD_USER_CLIENT_GONE: return 499;
    default: return 0;
    }
}

/* The transaction of r (all but its parameter list), ended for reason. */
static void transaction_of(const fsd_req *r, fsd_end_reason reason, fsd_transaction *tx)
{
    const fsd_params *ps = &r->params;
    memset(tx, 0, sizeof *tx);
    tx->seq = r->seq;
    tx->request_id = r->id;
    tx->role = r->role;
    tx->flags = r->flags;
    tx->aborted = r->aborted;
    (void)fsd_params_last(ps, FSD_LAST_METHOD, &tx->method);
    (void)fsd_params_last(ps, FSD_LAST_URI, &tx->uri);
    if (!fsd_params_last(ps, FSD_LAST_SCRIPT_NAME, &tx->script))
        (void)fsd_params_last(ps, FSD_LAST_SCRIPT_FILENAME, &tx->script);
    if (!fsd_params_last(ps, FSD_LAST_HTTP_HOST, &tx->host))
        (void)fsd_params_last(ps, FSD_LAST_SERVER_NAME, &tx->host);
    (void)fsd_params_last(ps, FSD_LAST_CONTENT_LENGTH, &tx->content_length);
    tx->content_length_value = r->cl_state == CL_VALID ? r->cl_value : r->cl_state == CL_INVALID ? -2 : -1;
    tx->params_bytes = r->params_bytes;
    tx->stdin_bytes = r->stdin_bytes;
    tx->data_bytes = r->data_bytes;
    tx->stdout_bytes = r->stdout_bytes;
    tx->stderr_bytes = r->stderr_bytes;
    tx->http_status = r->http_status;
    if (r->ct_present) {
        tx->content_type.ptr = r->cgi.buf + r->ct_off;
        tx->content_type.len = r->ct_len;
    }
    tx->has_end = r->has_end;
    tx->app_status = r->app_status;
    tx->protocol_status = r->protocol_status;
    tx->t_begin = tp_get(r, &r->t_begin, T_BEGIN);
    tx->t_request_sent = tp_get(r, &r->t_sent, T_SENT);
    tx->t_first_response = tp_get(r, &r->t_first, T_FIRST);
    tx->t_end = tp_get(r, &r->t_end, T_END);
    tx->end_reason = r->has_end ? FSD_END_COMPLETE : reason;
    tx->anomalies = r->anoms.ev;
    tx->nanomalies = r->anoms.n;
    tx->anomalies_dropped = r->anoms.dropped;
    /* 0.2.0: what the web server's client got */
    tx->status_source = (fsd_status_source)r->status_src;
    tx->cgi_header_bytes = r->cgi.used;
    tx->t_last = (r->t_set & T_LAST) ? tp_get(r, &r->t_last, T_LAST) : tx->t_begin;
    tx->t_close = tp_get(r, &r->t_close, T_CLOSE);
    tx->closed_by = !tx->t_close.set ? FSD_DIR_UNKNOWN : r->fate & F_CLOSED_SERVER ? FSD_DIR_SERVER : FSD_DIR_CLIENT;
    tx->closed_by_reset = tx->t_close.set && (r->fate & F_CLOSED_RST);
    if (r->fate & F_ABANDONED)
        tx->t_abandoned = tx->t_close;
    tx->user_outcome = user_outcome(r, tx->end_reason);
    tx->user_status = user_status(tx->user_outcome, r->http_status);
    tx->gap = r->gap;
}

/* Build the transaction and hand it out; the request is freed afterwards. */
static void deliver(fsd_conn *c, fsd_req *r, fsd_end_reason reason, fsd_dir dir, uint64_t off,
                    fsd_timepoint at)
{
    fsd_transaction tx;
    size_t n = r->params.n;
    fsd_param local[32]; /* most requests: no allocation for the param list */
    fsd_param *params = NULL;

    delivery_findings(c, r, reason, dir, off, at);
    transaction_of(r, reason, &tx);
    if (n > 0)
        params = n <= sizeof local / sizeof local[0] ? local : fsd_mem_alloc(c, n * sizeof *params);
    if (params != NULL) {
        fsd_params_list(&r->params, params);
        tx.params = params;
        tx.nparams = n;
    } else if (n > 0) {
        c->nomem = true;
    }
    tx.params_dropped = r->params.dropped + (params == NULL ? n : 0);

    unlink_req(c, r);
    if (r->has_end && !r->gap) /* after a loss, a later END_REQUEST of the id may be that of
                                  a request whose BEGIN_REQUEST was lost */
        ended_remember(c, r->id);
    c->st.transactions++;
    if (c->cb->on_transaction)
        c->cb->on_transaction(c->ud, &tx);
    if (params != NULL && params != local)
        fsd_mem_free(c, params, n * sizeof *params);
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
    if (c->keep_conn_violation_fired || !c->have_last || !c->last_keep)
        return;
    c->keep_conn_violation_fired = true;
    r = fsd_req_find(c, c->last_id);
    fsd_fire(c, events_of(r), FSD_A_keep_conn_violation, 0, dir, off, at, c->last_id,
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
            fire_at(c, q, FSD_A_response_rejected, 0, dir, off, at,
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
            fire_at(c, r, FSD_A_request_abandoned, FSD_SEV_NOTE, dir, off, at,
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
                fire_at(c, r, FSD_A_request_abandoned, 0, dir, off, at,
                        "%s %llu ms after the last byte it got (timeout %u ms): %s",
                        kind == FSD_CLOSE_RST ? "reset" : "closed", (unsigned long long)(waited / 1000000u),
                        c->lim.upstream_timeout_ms, r->fate & F_TIMEOUT ? "504" : "499");
            else
                fire_at(c, r, FSD_A_request_abandoned, 0, dir, off, at, "%s before the request was sent: 499",
                        kind == FSD_CLOSE_RST ? "reset" : "closed");
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
        fire_at_pair(c, r, FSD_A_content_length_invalid, 0, p, "CONTENT_LENGTH \"%.*s\"",
                     (int)(p->value_stored < 40 ? p->value_stored : 40), (const char *)p->value);
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
        fire_at_pair(c, r, FSD_A_nv_empty_name, 0, p, "value of %u bytes", p->value_len);
    if (p->nul)
        fire_at_pair(c, r, FSD_A_nv_nul, 0, p, "%.*s", nlen, nm);
    if (p->straddled)
        fire_at_pair(c, r, FSD_A_nv_straddle, 0, p, "%.*s", nlen, nm);
    if (p->truncated)
        fire_at_pair(c, r, FSD_A_param_cap_exceeded, 0, p, "pair %.*s of %u+%u bytes cut to %u", nlen, nm,
                     p->name_len, p->value_len, c->lim.max_pair_bytes);
    if (p->ctl)
        fire_at_pair(c, r, FSD_A_param_ctl_chars, 0, p, "%.*s", nlen, nm);
}

/* A name the decoder knows (stored whole): its checks; returns its critical_names index or -1. */
static FSD_ALWAYS_INLINE int pair_known(fsd_conn *c, fsd_req *r, const fsd_pair *p, unsigned kind)
{
    int critical;
    switch (kind) {
    case FSD_PN_HTTP_PROXY:
        fire_at_pair(c, r, FSD_A_httpoxy, 0, p, "HTTP_PROXY");
        break;
    case FSD_PN_PHP_VALUE:
    case FSD_PN_PHP_ADMIN_VALUE:
        fire_at_pair(c, r, FSD_A_php_ini_override, 0, p, "%.*s", (int)p->name_stored, (const char *)p->name);
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
    critical = critical_index_of[kind];
    if (critical >= 0) {
        if (r->critical_seen & (1u << critical))
            fire_at_pair(c, r, FSD_A_duplicate_param, FSD_SEV_ERROR, p, "%s", critical_names[critical]);
        r->critical_seen |= (uint8_t)(1u << critical);
    }
    return critical;
}

/* A complete pair of r's PARAMS stream: reported (on_param), checked, stored.
 * Inlined into params_feed's loop, which hands it nearly every pair. */
static FSD_ALWAYS_INLINE void pair_take(fsd_conn *c, fsd_req *r, const fsd_pair *p)
{
    unsigned kind = p->kind < FSD_PN_COUNT ? p->kind : FSD_PN_OTHER;
    int critical = -1;

    if (c->cb->on_param)
        fsd_emit_param(c, FSD_DIR_CLIENT, FSD_PARAMS, r->id, p);
    if (FSD_UNLIKELY(p->name_len == 0 || p->nul || p->straddled || p->truncated || p->ctl))
        pair_flags(c, r, p);
    if (kind != FSD_PN_OTHER)
        critical = pair_known(c, r, p, kind);
    switch (fsd_params_add(c, &r->params, p, kind)) {
    case FSD_PARAM_STORED:
        break;
    case FSD_PARAM_STORED_AGAIN: /* critical names: reported by pair_known, stored or not */
        if (critical < 0)
            fire_at_pair(c, r, FSD_A_duplicate_param, FSD_SEV_WARNING, p, "%.*s",
                         (int)(p->name_stored < 48 ? p->name_stored : 48), (const char *)p->name);
        break;
    case FSD_PARAM_NOT_STORED:
        if (r->params.dropped == 1)
            fire_at_pair(c, r, FSD_A_param_cap_exceeded, 0, p, "params over %u bytes: %.*s and later pairs not stored",
                         c->lim.max_params_bytes, (int)(p->name_stored < 48 ? p->name_stored : 48),
                         (const char *)p->name);
        break;
    }
}

/* The same for pairs from the request's pair parser (fsd_nv_feed). */
static void on_pair(fsd_conn *c, void *ctx, const fsd_pair *p)
{
    pair_take(c, ctx, p);
}

/* PARAMS content of a tracked request. Between pairs, the whole pairs in
 * place (fsd_pair_in_place: nearly all of them) go straight to on_pair; the
 * first other pair and everything after it go through the request's pair
 * parser (fsd_nv_feed), allocated then. Most requests never need one. */
static void params_feed(fsd_conn *c, fsd_req *r, const uint8_t *data, size_t n, uint64_t off, fsd_timepoint at)
{
    size_t i = 0, len;
    uint32_t max_pair = c->lim.max_pair_bytes;
    fsd_pair_parser *nv;
    fsd_pair pr;
    if (r->nv_broken)
        return;
    if (r->nv == NULL || fsd_nv_between_pairs(r->nv)) {
        while ((len = fsd_pair_in_place(&pr, data + i, n - i, max_pair, off + i, at)) > 0) {
            i += len;
            pair_take(c, r, &pr);
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

/* A stream-state finding, once per request (bit: its ONCE_* bit), at the
 * current record of dir; not raised for a request a gap touched (the
 * records that would explain it may be the lost ones). */
static void fire_once_at_record(fsd_conn *c, fsd_req *r, uint32_t bit, fsd_anomaly_id id, fsd_dir dir,
                                const char *detail)
{
    if ((r->once & bit) || (r->gap && id != FSD_A_stderr_output))
        return;
    r->once |= bit;
    fire_at_record(c, r, id, 0, dir, "%s", detail);
}

/* A record header from the server while a response header block waits for the
 * web server's verdict (c->rej_id): anything but the rest of that response
 * means the web server did not reject it. */
static void rejection_check_header(fsd_conn *c, const fsd_header *h)
{
    fsd_req *q = fsd_req_find(c, c->rej_id);
    if (q == NULL || q->has_end || !fsd_type_is_known(h->type) || fsd_type_is_management(h->type) ||
        h->request_id != c->rej_id)
        fsd_req_rej_release(c);
}

/* Whether the record (header complete) belongs to a request: a known
 * application record from its sender, with a request id, other than
 * BEGIN_REQUEST (taken when its body is complete). Reports the others'
 * findings; a management record is routed to the management pair parser. */
static bool header_for_request(fsd_conn *c, fsd_dir dir)
{
    fsd_direction *d = &c->d[dir];
    const fsd_header *h = &d->h;
    unsigned t = h->type;
    if (!fsd_type_is_known(t))
        return false;
    if (fsd_type_sender(t) != (int)dir) {
        fsd_req *r = !fsd_type_is_management(t) && h->request_id ? fsd_req_find(c, h->request_id) : NULL;
        fsd_fire_at_record(c, events_of(r), FSD_A_wrong_direction, 0, dir,
                           fsd_type_is_management(t) ? -1 : h->request_id, "%s from the %s", fsd_type_name(t),
                           fsd_dir_name(dir));
        return false;
    }
    if (fsd_type_is_management(t)) {
        if (h->request_id != 0)
            fsd_fire_at_record(c, NULL, FSD_A_management_id, 0, dir, h->request_id, "%s with request id %u",
                               fsd_type_name(t), h->request_id);
        d->rec_mgmt = t != FSD_UNKNOWN_TYPE;
        return false;
    }
    if (h->request_id == 0) {
        fsd_fire_at_record(c, NULL, FSD_A_null_request_id, 0, dir, 0, "%s with request id 0", fsd_type_name(t));
        return false;
    }
    return t != FSD_BEGIN_REQUEST;
}

/* The tracked request the record applies to, or NULL (reported, or
 * counted for a refused id, or explained by a gap). */
static fsd_req *header_request(fsd_conn *c, fsd_dir dir)
{
    const fsd_direction *d = &c->d[dir];
    const fsd_header *h = &d->h;
    unsigned t = h->type;
    fsd_req *r = fsd_req_find(c, h->request_id);
    if (r != NULL && c->lenient && dir == FSD_DIR_SERVER && (r->t_set & T_BEGIN) && d->rec_first_ns < r->t_begin.ns)
        /* captured before that request began: an earlier request's record
         * replayed by a resync after a gap (whose request ended at the gap) */
        return NULL;
    if (r == NULL) {
        if (t == FSD_END_REQUEST && ended_recently(c, h->request_id)) {
            fsd_fire_at_record(c, NULL, FSD_A_duplicate_end, 0, dir, h->request_id, "request %u already ended",
                               h->request_id);
        } else if (bit_get(c, FSD_IDMAP_UNTRACKED, h->request_id)) {
            untracked_count(c, 1, 1); /* refused at its BEGIN_REQUEST: counted, not reported again */
            untracked_count(c, 2, h->content_length);
        } else if (c->lenient && !bit_get(c, FSD_IDMAP_BEGUN, h->request_id)) {
            ; /* begun before a gap or the capture's start: already reported there */
        } else {
            fsd_fire_at_record(c, NULL, FSD_A_inactive_request, 0, dir, h->request_id, "%s for request %u",
                               fsd_type_name(t), h->request_id);
        }
        return NULL;
    }
    if (r->lingering) {
        if (r->gap && (t == FSD_END_REQUEST || t == FSD_STDOUT || t == FSD_STDERR))
            return NULL; /* likely a request whose BEGIN_REQUEST was lost: not applied */
        if (t == FSD_END_REQUEST) {
            fire_at_record(c, r, FSD_A_duplicate_end, 0, dir, "request %u already ended", r->id);
            return NULL;
        }
        if (t == FSD_STDOUT || t == FSD_STDERR) {
            fsd_fire_at_record(c, NULL, FSD_A_inactive_request, 0, dir, r->id, "%s after END_REQUEST of request %u",
                               fsd_type_name(t), r->id);
            return NULL;
        }
    }
    return r;
}

/* A PARAMS record header of r: whether its content goes into the stream. */
static bool params_header(fsd_conn *c, fsd_req *r, fsd_dir dir)
{
    if (r->st[FSD_PARAMS] == S_ENDED) {
        if (c->d[dir].h.content_length > 0)
            fire_once_at_record(c, r, ONCE_DATA_AFTER_END << FSD_PARAMS, FSD_A_data_after_stream_end, dir, "PARAMS");
        return false;
    }
    if (r->st[FSD_STDIN] != S_NONE || r->st[FSD_DATA] != S_NONE)
        fire_once_at_record(c, r, ONCE_STREAM_ORDER, FSD_A_stream_order, dir, "PARAMS after STDIN");
    return true;
}

/* A STDIN or DATA record header of r: whether its content goes into the stream. */
static bool input_header(fsd_conn *c, fsd_req *r, fsd_dir dir)
{
    const fsd_header *h = &c->d[dir].h;
    unsigned t = h->type;
    char buf[64];
    if (r->st[t] == S_ENDED) {
        if (h->content_length > 0)
            fire_once_at_record(c, r, ONCE_DATA_AFTER_END << t, FSD_A_data_after_stream_end, dir, fsd_type_name(t));
        return false;
    }
    if (t == FSD_DATA && r->role != FSD_FILTER) {
        snprintf(buf, sizeof buf, "DATA on a %s request", fsd_role_name(r->role));
        fire_once_at_record(c, r, ONCE_STREAM_ORDER, FSD_A_stream_order, dir, buf);
    } else if (r->st[FSD_PARAMS] != S_ENDED) {
        snprintf(buf, sizeof buf, "%s before PARAMS ended", fsd_type_name(t));
        fire_once_at_record(c, r, ONCE_STREAM_ORDER, FSD_A_stream_order, dir, buf);
    } else if (t == FSD_DATA && r->st[FSD_STDIN] != S_ENDED) {
        fire_once_at_record(c, r, ONCE_STREAM_ORDER, FSD_A_stream_order, dir, "DATA before STDIN ended");
    }
    /* a body without a length (nginx, fastcgi_request_buffering off: CONTENT_LENGTH
     * empty): said at its first record, the upload may never end */
    if (t == FSD_STDIN && h->content_length > 0 && r->st[FSD_PARAMS] == S_ENDED && !r->gap &&
        (r->cl_state == CL_ABSENT || r->cl_state == CL_EMPTY) && !(r->once & ONCE_CL_MISSING)) {
        r->once |= ONCE_CL_MISSING;
        fire_at_record(c, r, FSD_A_content_length_missing, 0, dir, "STDIN body, CONTENT_LENGTH %s",
                       r->cl_state == CL_EMPTY ? "empty" : "absent");
    }
    return true;
}

/* A STDOUT or STDERR record header of r: whether its content goes into the stream. */
static bool output_header(fsd_conn *c, fsd_req *r, fsd_dir dir)
{
    const fsd_direction *d = &c->d[dir];
    unsigned t = d->h.type;
    char buf[64];
    if (!(r->t_set & T_FIRST))
        tp_put(r, &r->t_first, T_FIRST, FSD_REC_FIRST(d));
    if (r->st[FSD_PARAMS] != S_ENDED) {
        snprintf(buf, sizeof buf, "%s before PARAMS ended", fsd_type_name(t));
        fire_once_at_record(c, r, ONCE_EARLY, FSD_A_early_response, dir, buf);
    }
    if (r->st[t] == S_ENDED) {
        if (d->h.content_length > 0)
            fire_once_at_record(c, r, ONCE_DATA_AFTER_END << t, FSD_A_data_after_stream_end, dir, fsd_type_name(t));
        return false;
    }
    if (t == FSD_STDERR && d->h.content_length > 0)
        fire_once_at_record(c, r, ONCE_STDERR, FSD_A_stderr_output, dir, "STDERR");
    return true;
}

void fsd_req_on_header(fsd_conn *c, fsd_dir dir)
{
    fsd_direction *d = &c->d[dir];
    fsd_req *r;

    d->rec_req = NULL;
    d->rec_content = false;
    d->rec_mgmt = false;
    if (FSD_UNLIKELY(c->rej_id != 0) && dir == FSD_DIR_SERVER)
        rejection_check_header(c, &d->h);
    if (!header_for_request(c, dir))
        return;
    r = header_request(c, dir);
    if (r == NULL)
        return;
    d->rec_req = r;
    switch (d->h.type) {
    case FSD_PARAMS: d->rec_content = params_header(c, r, dir); break;
    case FSD_STDIN:
    case FSD_DATA: d->rec_content = input_header(c, r, dir); break;
    case FSD_STDOUT:
    case FSD_STDERR: d->rec_content = output_header(c, r, dir); break;
    default: break;
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
    fire_at(c, r, FSD_A_application_error, 0, FSD_DIR_SERVER, off, at, "\"%s\" on STDERR, answer %u",
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
            fire_at(c, r, FSD_A_bad_status_header, 0, FSD_DIR_SERVER, end_off, at, "Status: \"%.*s\"",
                    (int)(res.status_len < 40 ? res.status_len : 40), (const char *)r->cgi.buf + res.status_off);
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
    fsd_direction *d = &c->d[dir];
    fsd_req *r = d->rec_req;
    seen(r, dir, at);
    switch (d->h.type) {
    case FSD_PARAMS:
        if (d->content_left == d->h.content_length) /* the record's first bytes */
            fsd_params_reserve(c, &r->params, d->h.content_length, p, n,
                               r->nv == NULL || fsd_nv_between_pairs(r->nv));
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
            fire_at(c, r, FSD_A_content_length_mismatch, 0, dir, beyond, at, "STDIN exceeds CONTENT_LENGTH %lld",
                    (long long)r->cl_value);
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
                fire_at(c, r, FSD_A_cgi_header_cap_exceeded, 0, dir, off + took, at, "no blank line within %u bytes",
                        c->lim.max_cgi_header_bytes);
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
    fsd_direction *d = &c->d[dir];
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
static void stdout_over(fsd_conn *c, fsd_req *r, fsd_dir dir, fsd_timepoint at)
{
    if (r->cgi.state != FSD_CGI_HDR)
        return;
    r->cgi.state = FSD_CGI_NOHDR;
    if (r->cgi.used > 0) {
        fire_at_record(c, r, FSD_A_response_no_header, 0, dir, "%zu bytes without a blank line", r->cgi.used);
        cgi_deliver(c, r, false, c->d[dir].rec_off, at);
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
    fsd_direction *d = &c->d[dir];
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
        fire_at_record(c, r, FSD_A_duplicate_begin, 0, dir, "request %u is active", id);
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
        fsd_fire_at_record(c, NULL, FSD_A_request_table_full, 0, dir, id,
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
    fsd_params_init(&r->params);
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
        fire_at_record(c, r, FSD_A_multiplexed, 0, dir, "%u requests active", c->active);
    if (c->have_last && !c->last_keep)
        fire_at_record(c, r, FSD_A_keep_conn_violation, 0, dir, "BEGIN_REQUEST after request %u cleared KEEP_CONN",
                       c->last_id);
    if (ev->body_valid && (r->role < FSD_RESPONDER || r->role > FSD_FILTER))
        fire_at_record(c, r, FSD_A_unknown_role, 0, dir, "role %u", r->role);
    c->have_last = true;
    c->last_keep = r->keep_conn;
    c->last_id = id;
}

void fsd_req_on_truncated(fsd_conn *c, fsd_dir dir)
{
    fsd_direction *d = &c->d[dir];
    if (d->rec_req && d->h.type == FSD_PARAMS && d->rec_content) { /* the partial pair can not be completed */
        req_nv_drop(c, d->rec_req);
        d->rec_req->nv_broken = false;
    }
}

/* The end of a PARAMS record of r with content (eos: the empty one that ends the stream). */
static void params_record_end(fsd_conn *c, fsd_req *r, fsd_dir dir, bool eos, fsd_timepoint last)
{
    r->nv_broken = false;
    if (r->nv != NULL)
        fsd_nv_record_end(r->nv);
    if (!eos)
        return;
    if (r->nv != NULL && fsd_nv_stream_end(r->nv))
        fire_at(c, r, FSD_A_nv_overrun, 0, dir, r->nv->start_off, r->nv->start_at,
                "pair at offset %llu incomplete at end of PARAMS", (unsigned long long)r->nv->start_off);
    req_nv_drop(c, r);
    r->st[FSD_PARAMS] = S_ENDED;
    if (r->role == FSD_RESPONDER && (!r->seen_method || !r->seen_sfile) && !r->gap)
        fire_at_record(c, r, FSD_A_missing_required_param, 0, dir, "%s%s%s",
                       r->seen_method ? "" : "REQUEST_METHOD", !r->seen_method && !r->seen_sfile ? "," : "",
                       r->seen_sfile ? "" : "SCRIPT_FILENAME");
    client_stream_ended(c, r, last);
}

/* STDIN of r ended: the body against CONTENT_LENGTH. */
static void stdin_ended(fsd_conn *c, fsd_req *r, fsd_dir dir, fsd_timepoint last)
{
    r->st[FSD_STDIN] = S_ENDED;
    if (r->gap)
        ; /* STDIN records or the CONTENT_LENGTH pair may be the lost bytes */
    else if (r->stdin_bytes > 0 && (r->cl_state == CL_ABSENT || r->cl_state == CL_EMPTY) &&
             !(r->once & ONCE_CL_MISSING))
        fire_at_record(c, r, FSD_A_content_length_missing, 0, dir, "%llu STDIN bytes",
                       (unsigned long long)r->stdin_bytes);
    else if (r->cl_state == CL_VALID && (uint64_t)r->cl_value != r->stdin_bytes && !(r->once & ONCE_CL_EXCEED))
        fire_at_record(c, r, FSD_A_content_length_mismatch, 0, dir, "CONTENT_LENGTH %lld, STDIN %llu bytes",
                       (long long)r->cl_value, (unsigned long long)r->stdin_bytes);
    client_stream_ended(c, r, last);
}

/* The request stops counting as active (its id is free again) while it waits
 * for its client streams or for the web server's verdict on its header block. */
static void linger(fsd_conn *c, fsd_req *r)
{
    r->lingering = true;
    c->active--;
    c->st.active_requests = c->active;
}

/* END_REQUEST of r: its status, the checks of a response's end, and when it
 * is delivered (now, after its client streams, or after the verdict). */
static void end_request(fsd_conn *c, fsd_req *r, fsd_dir dir, const fsd_record_event *ev)
{
    r->has_end = true;
    tp_put(r, &r->t_end, T_END, ev->last);
    if (ev->body_valid) {
        r->app_status = ev->body.end.app_status;
        r->protocol_status = ev->body.end.protocol_status;
    }
    if (r->protocol_status != FSD_REQUEST_COMPLETE)
        fire_at_record(c, r, FSD_A_protocol_status, r->protocol_status > 3 ? FSD_SEV_ERROR : FSD_SEV_WARNING, dir,
                       "%s (%u)", fsd_protocol_status_name(r->protocol_status), r->protocol_status);
    if (r->st[FSD_STDOUT] != S_ENDED)
        fire_at_record(c, r, FSD_A_end_without_stdout_eos, 0, dir, "%llu STDOUT bytes",
                       (unsigned long long)r->stdout_bytes);
    stdout_over(c, r, dir, ev->last);
    /* the application answered before the declared body was sent: it did not read it */
    if (needs_stdin(r) && r->st[FSD_STDIN] != S_ENDED && !r->aborted && !(r->fate & F_ABANDONED) &&
        r->cl_state == CL_VALID && r->stdin_bytes < (uint64_t)r->cl_value) {
        r->fate |= F_ANSWERED_BEFORE_BODY;
        fire_at_record(c, r, FSD_A_answered_before_body, 0, dir, "END_REQUEST after %llu of %lld body bytes",
                       (unsigned long long)r->stdin_bytes, (long long)r->cl_value);
    }
    if ((client_done(r) || r->aborted) && c->rej_id == r->id) {
        /* held until the next thing on the connection: a reset by the web
         * server then means it rejected the header block */
        r->fate |= F_HELD;
        linger(c, r);
    } else if (client_done(r) || r->aborted) {
        r->pending = c->any_pending = true;
    } else {
        linger(c, r);
    }
}

void fsd_req_on_record_end(fsd_conn *c, fsd_dir dir, fsd_record_event *ev)
{
    fsd_direction *d = &c->d[dir];
    fsd_req *r = d->rec_req;
    unsigned t = d->h.type;
    bool eos = d->h.content_length == 0; /* an empty stream record ends its stream */

    if (t == FSD_BEGIN_REQUEST && fsd_type_sender(t) == (int)dir && d->h.request_id != 0) {
        begin_request(c, dir, ev);
        return;
    }
    ev->request_active = r != NULL;
    if (r == NULL)
        return;
    seen(r, dir, ev->last);
    switch (t) {
    case FSD_PARAMS:
        if (d->rec_content)
            params_record_end(c, r, dir, eos, ev->last);
        break;
    case FSD_STDIN:
        if (d->rec_content && eos)
            stdin_ended(c, r, dir, ev->last);
        break;
    case FSD_DATA:
        if (d->rec_content && eos) {
            r->st[FSD_DATA] = S_ENDED;
            client_stream_ended(c, r, ev->last);
        }
        break;
    case FSD_STDOUT:
        if (d->rec_content && eos) {
            r->st[FSD_STDOUT] = S_ENDED;
            stdout_over(c, r, dir, ev->last);
        }
        break;
    case FSD_STDERR:
        if (d->rec_content && eos)
            r->st[FSD_STDERR] = S_ENDED;
        break;
    case FSD_ABORT_REQUEST:
        if (!r->aborted)
            fire_at_record(c, r, FSD_A_request_aborted, 0, dir, "request %u", r->id);
        r->aborted = true;
        if (r->lingering)
            r->pending = c->any_pending = true;
        break;
    case FSD_END_REQUEST:
        end_request(c, r, dir, ev);
        break;
    default:
        break;
    }
}
