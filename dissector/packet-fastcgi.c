/* packet-fastcgi.c — Wireshark dissector for FastCGI on the fcgiscope decoder (libfsd).
 *
 * Normative reference: FastCGI Specification 1.0 (Open Market, 1996) §3-§6,
 * through ../decoder/include/fsd/fsd.h; Wireshark doc/README.dissector and
 * doc/README.request_response_tracking (4.0).
 *
 * The plugin never interprets a FastCGI byte itself: record lengths, headers,
 * bodies, name-value pairs, request state, timing and anomalies all come from
 * the decoder. Wireshark's part is framing (tcp_dissect_pdus), presentation
 * and keeping the decoder's results per frame for later passes.
 *
 * First pass (frame not yet visited): every record is pushed, in stream
 * order, into one fsd_conn per TCP conversation. Everything the decoder
 * reports while it takes a record (the record event, params, the CGI
 * response header, anomalies, ended requests) is stored with that record,
 * keyed by frame and TCP sequence number. Later passes only read what was
 * stored. When the first pass ends (postseq), each decoder is told how its
 * connection ended and what is still open is reported on the connection's
 * last FastCGI frame (visible in two-pass tshark, -2, and in the GUI).
 */
#include <wireshark.h>

#include <epan/conversation.h>
#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/prefs-int.h>
#include <epan/proto_data.h>
#include <epan/tap.h>
#include <epan/exceptions.h>
#include <epan/show_exception.h>
#include <epan/strutil.h>
#include <wsutil/str_util.h>
#include <epan/dissectors/packet-tcp.h>
#include <epan/dissectors/packet-http.h>

#include <string.h>

#include <fsd/fsd.h>

#include "compat.h"
#include "fastcgi-int.h"

#define FASTCGI_DEFAULT_PORTS "9000"

/* Expert infos raised per frame at most: Wireshark 4.0 queues at most 5000
 * tap entries per frame (one per expert info) and drops the rest with a
 * warning each; a hostile PARAMS record alone carries 32,767 anomalies.
 * Past this, anomalies are tree items only (fastcgi.anomaly), and one
 * fastcgi.expert_info_limit says so. */
#define FCGI_EXPERT_PER_FRAME 4000

/* Protocol layers left free below Wireshark's per-frame limit (dissect_body). */
#define FCGI_LAYER_MARGIN 32

/* ---- registration handles ------------------------------------------- */

static int proto_fastcgi = -1;
static int fastcgi_tap = -1;

static int hf_record = -1;
static int hf_version = -1;
static int hf_type = -1;
static int hf_request_id = -1;
static int hf_content_length = -1;
static int hf_padding_length = -1;
static int hf_reserved = -1;
static int hf_role = -1;
static int hf_flags = -1;
static int hf_flags_keep_conn = -1;
static int hf_body_reserved = -1;
static int hf_app_status = -1;
static int hf_protocol_status = -1;
static int hf_unknown_type_type = -1;
static int hf_param = -1;
static int hf_param_name = -1;
static int hf_param_value = -1;
static int hf_param_name_len = -1;
static int hf_param_value_len = -1;
static int hf_param_straddled = -1;
static int hf_stdin = -1;
static int hf_stdout = -1;
static int hf_stderr = -1;
static int hf_data = -1;
static int hf_content = -1;
static int hf_padding = -1;
static int hf_eos = -1;
static int hf_req_method = -1;
static int hf_req_uri = -1;
static int hf_req_script = -1;
static int hf_status = -1;
static int hf_status_line = -1;
static int hf_resp_status = -1;
static int hf_resp_header = -1;
static int hf_content_type = -1;
static int hf_header_len = -1;
static int hf_body = -1;
static int hf_request_in = -1;
static int hf_response_in = -1;
static int hf_time = -1;
static int hf_ttfb = -1;
static int hf_end_reason = -1;
static int hf_status_source = -1;
static int hf_user_status = -1;
static int hf_user_outcome = -1;
static int hf_elapsed = -1;
static int hf_closed_by = -1;
static int hf_abandoned_after = -1;
static int hf_gap = -1;
static int hf_direction = -1;
static int hf_skipped = -1;
static int hf_retransmission = -1;
static int hf_conn_end = -1;
static int hf_conn_close = -1;
static int hf_late_gap = -1;
static int hf_req_summary = -1;
static int hf_req_anomaly = -1;
static int hf_anomaly = -1;
static int hf_anomaly_detail = -1;
static int hf_anomaly_request = -1;
static int hf_untracked_requests = -1;
static int hf_untracked_records = -1;

static gint ett_fastcgi = -1;
static gint ett_record = -1;
static gint ett_header = -1;
static gint ett_body = -1;
static gint ett_flags = -1;
static gint ett_param = -1;
static gint ett_response = -1;
static gint ett_request = -1;
static gint ett_anomaly = -1;

/* One expert field per catalogue id, at the catalogue's severity, and a
 * second one (fastcgi.<id>.error) for ids whose events may be raised at a
 * higher severity than the catalogue's (max_severity > severity). */
static expert_field ei_anomaly[FSD_A_COUNT];
static expert_field ei_anomaly_raised[FSD_A_COUNT];
static expert_field ei_anomaly_lowered[FSD_A_COUNT]; /* fastcgi.<id>.note */
static expert_field ei_expert_limit = EI_INIT;
static expert_field ei_reordered = EI_INIT;

static dissector_handle_t fastcgi_handle;
static dissector_table_t media_type_table;

/* Preferences */
static gboolean pref_desegment = TRUE;
static gboolean pref_dissect_body = TRUE;
static guint pref_body_cap = 256 * 1024;

static const char *const anomaly_ids[FSD_A_COUNT] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) #id,
#include <fsd/anomalies.def>
#undef FSD_ANOMALY
};

static const true_false_string tfs_keep_conn = { "Keep the connection open", "Close the connection after the request" };

/* ---- per-conversation and per-record state -------------------------- */

typedef struct fcgi_req fcgi_req;

typedef struct fcgi_anom {
    guint16 id;
    guint8 severity;        /* fsd_severity of this occurrence */
    gint32 request_id;
    const char *detail;     /* file scope, may be "" */
} fcgi_anom;

typedef struct fcgi_param {
    const char *name;       /* file scope, NUL-terminated (shown up to the first NUL) */
    const char *value;
    guint32 name_len, value_len;  /* declared */
    gint32 pair_off, pair_len;    /* in the record, -1 when not inside it */
    gint32 name_off, value_off;   /* in the record, -1 when not inside it */
    gboolean straddled, truncated;
} fcgi_param;

typedef struct fcgi_resp {
    int status;
    const char *status_line;
    const char *content_type;
    const char **headers;   /* "Name: value" */
    guint nheaders;
    guint64 header_len;
    gboolean complete;
} fcgi_resp;

struct fcgi_req {
    guint64 seq;
    guint16 id;
    guint16 role;
    gboolean keep_conn;
    guint32 begin_frame;            /* frame of the BEGIN_REQUEST's first byte */
    gboolean ended;
    gboolean complete;
    const char *end_reason;
    gboolean has_begin, has_end, has_first;
    nstime_t begin_ts;
    guint32 end_frame;
    guint32 first_resp_frame;
    nstime_t latency, ttfb;
    int status;
    /* what the web server's client got (fsd_transaction 0.2.0) */
    const char *status_source;
    int user_status;                /* 0: the wire cannot tell */
    const char *user_outcome;
    gboolean has_elapsed, has_abandoned, gap;
    nstime_t elapsed, abandoned_after;
    const char *closed_by;          /* NULL, "client FIN", "server RST", ... */
    const char *method, *uri, *script;  /* from the transaction once it ended */
    const char *p_method, *p_uri, *p_script, *p_script_filename; /* as params arrive (first pass) */
    /* cv->nfeeds when each arrived: a record fed before it does not show it,
     * in any pass (one pass = two passes) */
    guint32 idx_method, idx_uri, idx_script, idx_script_filename;
    gint64 begin_ns;                /* t_begin as the BEGIN_REQUEST's record event gave it */
    gboolean first_seen, end_seen;  /* its first STDOUT/STDERR, its END_REQUEST bound */
    guint16 *anomalies;
    guint nanomalies;
    fastcgi_tap_req tap;
    /* STDOUT kept for the content dissectors (first pass only). */
    GByteArray *stdout_buf;
    guint64 header_len;
    gboolean header_parsed;
    const char *content_type;
};

/* Everything the decoder said while it took one record. */
typedef struct fcgi_rec {
    guint8 dir;
    gboolean tracked;        /* fed to the decoder */
    gboolean retransmission; /* bytes the decoder already had */
    gboolean snaplen_cut;    /* segment captured short: not dissected as records */
    guint32 feed_idx;        /* cv->nfeeds when it was fed */
    gboolean end_here;       /* the END_REQUEST of req: latency, status summed up here */
    gboolean tap_built;
    struct fcgi_rec *prev_hold; /* hold: the earlier start of the same record (another frame) */
    gboolean have_event;
    fsd_record_event ev;     /* spans not kept */
    fcgi_req *req;           /* request the record belongs to, if tracked */
    gboolean first_response; /* first STDOUT/STDERR record of req */
    int status;              /* req's HTTP status as known when the record was taken */
    /* Arrays that grow by doubling (grow_array): room for *_cap elements. */
    fcgi_anom *anom;
    guint nanom, anom_cap;
    fcgi_param *params;
    guint nparams, params_cap;
    fcgi_resp *resp;
    fcgi_req **ended;
    guint nended, ended_cap;
    guint8 *body;            /* the response body (content dissectors) */
    guint32 body_len;
    const char *body_type;
    fastcgi_tap_info tap;
} fcgi_rec;

typedef struct fcgi_dirstate {
    gboolean started;        /* first byte of this direction seen */
    gboolean hunting;        /* looking for a record header (midstream, after a gap) */
    guint32 next_seq;        /* first TCP seq not yet given to the decoder */
    /* The start of a record TCP is still reassembling was already given to
     * the decoder (as the analyzer gives it, when it arrived); what the
     * decoder said meanwhile waits here to join the record once it is
     * complete. */
    fcgi_rec *hold;
    guint32 hold_seq;
    wmem_array_t *gaps;      /* fcgi_gap: ranges given to the decoder as missing */
} fcgi_dirstate;

typedef struct fcgi_gap {
    guint32 start, end;      /* TCP seq range */
    guint32 frame;           /* where it was declared */
    gboolean arrived;        /* bytes of it came later (out of order) */
} fcgi_gap;

typedef struct fcgi_conv {
    fsd_conn *dec;
    gboolean server_known;
    address server_addr;
    guint32 server_port;
    fcgi_dirstate dir[2];
    struct tcp_analysis *tcpd;
    tcp_flow_t *flow[2];     /* TCP's flow of each of our directions */
    GPtrArray *reqs;         /* by seq */
    GHashTable *active;      /* request id -> fcgi_req*, mirrors the decoder's table */
    guint64 nbegins;
    guint32 last_frame;      /* last frame with bytes of this conversation */
    guint32 nfeeds;          /* feeds to the decoder so far (first pass) */
    nstime_t last_ts;
    guint32 show_frame;      /* last frame whose records we dissect in every pass */
    gboolean finished;
    fcgi_rec *cur;           /* record being fed (first pass) */
    const guint8 *cur_base;  /* its bytes */
    guint32 cur_len;
    fcgi_rec *late;          /* what the connection's end brought (shown on show_frame) */
    guint64 untracked_requests, untracked_records; /* the decoder's counts at the end */
    GPtrArray *holds;        /* every hold of the conversation (first pass) */
    /* Who ended the connection: TCP's completeness bits do not say which
     * side sent the FIN or RST, so the postdissector notes the packet where
     * each bit first appeared (first pass). */
    guint8 seen_cc;
    gboolean rst_seen, fin_seen[2];
    fsd_dir rst_dir;
    gint64 rst_ts, fin_ts[2];
    guint32 rst_frame, fin_frame[2];
    gint64 closing_ts;       /* the close being fed, for elapsed times */
    gboolean closing;
    gboolean closed[2];      /* that direction's FIN/RST was fed to the decoder */
} fcgi_conv;

/* Per-frame: the records dissected in it, by TCP sequence number. */
typedef struct fcgi_frame_rec {
    guint32 seq;
    fcgi_rec *rec;
} fcgi_frame_rec;

typedef struct fcgi_frame {
    wmem_array_t *recs;      /* fcgi_frame_rec */
    wmem_array_t *skips;     /* fcgi_frame_rec: seq -> this segment's own results (skip in body_len) */
    wmem_array_t *holds;     /* fcgi_rec*: results of record starts fed in this frame */
    wmem_array_t *closes;    /* fcgi_rec*: results of a FIN/RST fed in this frame */
    guint32 late_gap_frame;  /* this segment brought bytes declared missing at that frame */
    guint next_rec;          /* recs index after the last one looked up (later passes
                                look the records up in order: a frame of 6,000 tiny
                                records must not cost 6,000 scans of the array) */
} fcgi_frame;

/* All conversations with a decoder, for the end of the first pass. */
static GPtrArray *all_convs;

/* ---- small helpers --------------------------------------------------- */

static const char *
file_strndup(const guint8 *p, size_t n)
{
    char *s = (char *)wmem_alloc(wmem_file_scope(), n + 1);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static const char *
span_dup(fsd_span sp)
{
    if (!sp.ptr)
        return NULL;
    return file_strndup(sp.ptr, sp.len);
}

static int
pi_severity(fsd_severity s)
{
    switch (s) {
    case FSD_SEV_ERROR: return PI_ERROR;
    case FSD_SEV_WARNING: return PI_WARN;
    default: return PI_NOTE;
    }
}

static int
pi_group(fsd_anomaly_id id)
{
    switch (id) {
    case FSD_A_capture_gap:
    case FSD_A_midstream_start:
    case FSD_A_truncated_record:
    case FSD_A_desync:
    case FSD_A_capture_truncated:
    case FSD_A_snaplen_truncated:
    case FSD_A_tcp_ooo_cap:
    case FSD_A_capture_drops:
        return PI_SEQUENCE;
    case FSD_A_bad_version:
    case FSD_A_bad_body_length:
    case FSD_A_nv_overrun:
        return PI_MALFORMED;
    case FSD_A_param_ctl_chars:
    case FSD_A_httpoxy:
    case FSD_A_php_ini_override:
        return PI_SECURITY;
    case FSD_A_request_table_full:
    case FSD_A_param_cap_exceeded:
    case FSD_A_cgi_header_cap_exceeded:
    case FSD_A_flow_table_full:
        return PI_UNDECODED;
    default:
        return PI_PROTOCOL;
    }
}

static void *
fsd_wmem_alloc(void *ud _U_, size_t size)
{
    return wmem_alloc(wmem_file_scope(), size);
}

static void
fsd_wmem_free(void *ud _U_, void *ptr, size_t size _U_)
{
    wmem_free(wmem_file_scope(), ptr);
}

/* ---- decoder callbacks (first pass) ---------------------------------- */

static fcgi_req *
active_req(fcgi_conv *cv, guint16 id)
{
    return (fcgi_req *)g_hash_table_lookup(cv->active, GUINT_TO_POINTER((guint)id));
}

/* Room for element n of a file-scope array that grows by doubling. A hostile
 * PARAMS record carries 32,767 pairs, each with an anomaly: copying the
 * array for every element took 24 GB for a 260 KB capture. */
static void *
grow_array(void *arr, guint n, guint *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    *cap = *cap ? *cap * 2 : 4;
    return wmem_realloc(wmem_file_scope(), arr, *cap * elem);
}

static void
nstime_from_ns(nstime_t *t, gint64 ns);

/* What the transaction will say of the timing is known at the records
 * (fsd.h: t_first_response is the first byte of the first STDOUT/STDERR
 * record, t_end the last byte of END_REQUEST): taken from their record
 * events, so one pass shows the latency at the END_REQUEST even when the
 * decoder delivers the request later (php-fpm answering before the web
 * server's empty STDIN, a header block held for response_rejected). The
 * transaction's values replace them when it comes (they are equal). */
static void
mirror_times(fcgi_req *q, const fsd_record_event *ev)
{
    if (!q->has_begin || q->ended)
        return;
    if ((ev->hdr.type == FSD_STDOUT || ev->hdr.type == FSD_STDERR) && !q->has_first && ev->first.set) {
        q->has_first = TRUE;
        q->first_resp_frame = (guint32)ev->first.tag;
        nstime_from_ns(&q->ttfb, ev->first.ns - q->begin_ns);
    }
    if (ev->hdr.type == FSD_END_REQUEST && !q->has_end && ev->last.set) {
        q->has_end = TRUE;
        q->end_frame = (guint32)ev->last.tag;
        nstime_from_ns(&q->latency, ev->last.ns - q->begin_ns);
    }
}

/* Bytes [start, end) of a direction go to the decoder as missing. */
static void
note_gap(fcgi_dirstate *ds, guint32 start, guint32 end, guint32 frame)
{
    fcgi_gap g;
    if (!ds->gaps)
        ds->gaps = wmem_array_new(wmem_file_scope(), sizeof(fcgi_gap));
    g.start = start;
    g.end = end;
    g.frame = frame;
    g.arrived = FALSE;
    wmem_array_append_one(ds->gaps, g);
}

static void
append_ended(fcgi_rec *r, fcgi_req *q)
{
    r->ended = (fcgi_req **)grow_array(r->ended, r->nended, &r->ended_cap, sizeof(*r->ended));
    r->ended[r->nended++] = q;
}

static void mirror_times(fcgi_req *q, const fsd_record_event *ev);
static fcgi_req *active_req(fcgi_conv *cv, guint16 id);

static void
cb_record(void *ud, const fsd_record_event *ev)
{
    fcgi_conv *cv = (fcgi_conv *)ud;
    fcgi_rec *r = cv->cur;
    /* every record event of a request, also one cut by a gap that the
     * plugin never frames as a record */
    if (ev->request_active && ev->hdr.type != FSD_BEGIN_REQUEST) {
        fcgi_req *q = active_req(cv, ev->hdr.request_id);
        if (q)
            mirror_times(q, ev);
    }
    if (!r)
        return;
    /* The decoder delivers one record per record fed; after a resync it can
     * deliver the record it synchronised on: keep the last one. */
    r->ev = *ev;
    r->have_event = TRUE;
}

static void
cb_param(void *ud, const fsd_param_event *ev)
{
    fcgi_conv *cv = (fcgi_conv *)ud;
    fcgi_rec *r = cv->cur;
    fcgi_param *np;
    fcgi_param *p;
    if (!r)
        return;
    np = (fcgi_param *)grow_array(r->params, r->nparams, &r->params_cap, sizeof(*np));
    p = &np[r->nparams];
    memset(p, 0, sizeof(*p));
    p->name = ev->name.ptr ? file_strndup(ev->name.ptr, ev->name.len) : "";
    p->value = ev->value.ptr ? file_strndup(ev->value.ptr, ev->value.len) : "";
    p->name_len = ev->name_len;
    p->value_len = ev->value_len;
    p->straddled = ev->straddled;
    p->truncated = ev->truncated;
    p->pair_off = p->pair_len = p->name_off = p->value_off = -1;
    if (cv->cur_base) {
        const guint8 *b = cv->cur_base, *e = cv->cur_base + cv->cur_len;
        if (ev->name.ptr && ev->name.ptr >= b && ev->name.ptr + ev->name.len <= e)
            p->name_off = (gint32)(ev->name.ptr - b);
        if (ev->value.ptr && ev->value.ptr >= b && ev->value.ptr + ev->value.len <= e)
            p->value_off = (gint32)(ev->value.ptr - b);
        if (!ev->straddled && p->name_off >= 0 && p->value_off >= 0 && !ev->truncated) {
            /* The pair's own bytes: its length bytes precede the name. */
            guint64 plen = ev->end_offset - ev->offset;
            gint64 start = (gint64)p->value_off + (gint64)ev->value.len - (gint64)plen;
            if (start >= 0 && start + (gint64)plen <= (gint64)cv->cur_len) {
                p->pair_off = (gint32)start;
                p->pair_len = (gint32)plen;
            }
        }
    }
    r->params = np;
    r->nparams++;

    /* First-pass convenience for the Info column: the request line as the
     * params arrive (the transaction's own lookups replace it at its end). */
    if (ev->record_type == FSD_PARAMS) {
        fcgi_req *q = active_req(cv, ev->request_id);
        if (q) {
            if (strcmp(p->name, "REQUEST_METHOD") == 0) {
                q->p_method = p->value;
                q->idx_method = cv->nfeeds;
            } else if (strcmp(p->name, "REQUEST_URI") == 0) {
                q->p_uri = p->value;
                q->idx_uri = cv->nfeeds;
            } else if (strcmp(p->name, "SCRIPT_NAME") == 0) {
                q->p_script = p->value;
                q->idx_script = cv->nfeeds;
            } else if (strcmp(p->name, "SCRIPT_FILENAME") == 0) {
                q->p_script_filename = p->value;
                q->idx_script_filename = cv->nfeeds;
            }
        }
    }
}

static void
cb_data(void *ud, const fsd_data_event *ev)
{
    fcgi_conv *cv = (fcgi_conv *)ud;
    fcgi_req *q;
    if (!pref_dissect_body || ev->record_type != FSD_STDOUT || !ev->data.ptr)
        return;
    q = active_req(cv, ev->request_id);
    if (!q)
        return;
    if (!q->stdout_buf)
        q->stdout_buf = g_byte_array_new();
    if (ev->stream_pos != q->stdout_buf->len)
        return; /* a hole (cap reached): stop collecting */
    if ((guint64)q->stdout_buf->len + ev->data.len > (guint64)pref_body_cap + 65536)
        return;
    g_byte_array_append(q->stdout_buf, ev->data.ptr, (guint)ev->data.len);
}

static void
cb_response(void *ud, const fsd_response_event *ev)
{
    fcgi_conv *cv = (fcgi_conv *)ud;
    fcgi_rec *r = cv->cur;
    fcgi_resp *resp;
    fcgi_req *q;
    size_t i;

    resp = wmem_new0(wmem_file_scope(), fcgi_resp);
    resp->status = ev->status;
    resp->status_line = span_dup(ev->status_line);
    resp->content_type = span_dup(ev->content_type);
    resp->header_len = ev->header_len;
    resp->complete = ev->complete;
    resp->nheaders = (guint)ev->nheaders;
    if (ev->nheaders) {
        resp->headers = wmem_alloc_array(wmem_file_scope(), const char *, ev->nheaders);
        for (i = 0; i < ev->nheaders; i++) {
            const fsd_cgi_header *h = &ev->headers[i];
            resp->headers[i] = wmem_strdup_printf(wmem_file_scope(), "%.*s: %.*s",
                (int)h->name.len, h->name.ptr ? (const char *)h->name.ptr : "",
                (int)h->value.len, h->value.ptr ? (const char *)h->value.ptr : "");
        }
    }
    q = active_req(cv, ev->request_id);
    if (q) {
        q->status = ev->status;
        q->header_len = ev->header_len;
        q->header_parsed = ev->complete;
        q->content_type = resp->content_type;
    }
    if (r)
        r->resp = resp;
}

static void
add_anom(fcgi_rec *r, const fsd_anomaly_event *ev)
{
    fcgi_anom *a;
    r->anom = (fcgi_anom *)grow_array(r->anom, r->nanom, &r->anom_cap, sizeof(*r->anom));
    a = &r->anom[r->nanom++];
    a->id = (guint16)ev->id;
    a->severity = (guint8)ev->severity;
    a->request_id = ev->request_id;
    a->detail = wmem_strdup(wmem_file_scope(), ev->detail);
}

static fcgi_rec *
conv_late(fcgi_conv *cv)
{
    if (!cv->late)
        cv->late = wmem_new0(wmem_file_scope(), fcgi_rec);
    return cv->late;
}

static void
cb_anomaly(void *ud, const fsd_anomaly_event *ev)
{
    fcgi_conv *cv = (fcgi_conv *)ud;
    if ((unsigned)ev->id >= FSD_A_COUNT)
        return;
    if (cv->cur) {
        add_anom(cv->cur, ev);
    } else {
        fcgi_rec *l = conv_late(cv);
        add_anom(l, ev);
    }
}

static void
nstime_from_ns(nstime_t *t, gint64 ns)
{
    t->secs = (time_t)(ns / 1000000000);
    t->nsecs = (int)(ns % 1000000000);
    if (t->nsecs < 0) {
        t->nsecs += 1000000000;
        t->secs -= 1;
    }
}

static fcgi_req *
find_tx_req(fcgi_conv *cv, const fsd_transaction *tx)
{
    fcgi_req *q = NULL;
    if (tx->seq < cv->reqs->len) {
        q = (fcgi_req *)g_ptr_array_index(cv->reqs, (guint)tx->seq);
        if (q && q->id == tx->request_id && !q->ended)
            return q;
    }
    q = active_req(cv, tx->request_id);
    if (q && !q->ended)
        return q;
    return NULL;
}

static void
make_body(fcgi_req *q, fcgi_rec *r)
{
    GByteArray *b = q->stdout_buf;
    if (!b)
        return;
    if (r && q->header_parsed && q->header_len < b->len) {
        guint64 n = b->len - q->header_len;
        if (n > pref_body_cap)
            n = pref_body_cap;
        r->body = (guint8 *)wmem_memdup(wmem_file_scope(), b->data + q->header_len, (size_t)n);
        r->body_len = (guint32)n;
        r->body_type = q->content_type;
    }
    g_byte_array_free(b, TRUE);
    q->stdout_buf = NULL;
}

static const char *
req_script(const fcgi_req *q)
{
    return q->p_script ? q->p_script : q->p_script_filename;
}

/* The request's tap record, from what is known of it now: at its
 * END_REQUEST (first pass) or when the decoder delivered it. */
static void
fill_tap(fcgi_req *q)
{
    q->tap.request_id = q->id;
    q->tap.complete = q->ended ? q->complete : q->has_end;
    q->tap.has_begin = q->has_begin;
    q->tap.begin_ts = q->begin_ts;
    q->tap.begin_frame = q->begin_frame;
    q->tap.has_latency = q->has_end;
    q->tap.latency = q->latency;
    q->tap.status = q->status;
    q->tap.method = q->p_method;
    q->tap.script = req_script(q);
    q->tap.end_reason = q->end_reason ? q->end_reason : (q->has_end ? "complete" : NULL);
    q->tap.anomalies = q->anomalies;
    q->tap.nanomalies = q->nanomalies;
}

static void
cb_transaction(void *ud, const fsd_transaction *tx)
{
    fcgi_conv *cv = (fcgi_conv *)ud;
    fcgi_req *q = find_tx_req(cv, tx);
    size_t i;

    if (!q) {
        /* A request the mirror missed (should not happen): track it now. */
        q = wmem_new0(wmem_file_scope(), fcgi_req);
        q->seq = tx->seq;
        q->id = tx->request_id;
    }
    q->ended = TRUE;
    q->complete = tx->has_end;
    q->end_reason = fsd_end_reason_name(tx->end_reason);
    q->role = tx->role;
    q->keep_conn = (tx->flags & FSD_FLAG_KEEP_CONN) != 0;
    q->status = tx->http_status;
    q->method = span_dup(tx->method);
    q->uri = span_dup(tx->uri);
    q->script = span_dup(tx->script);
    /* Shown as the params arrived; the transaction's lookups only fill in
     * what no param event gave (from here on). */
    if (!q->p_method && q->method) {
        q->p_method = q->method;
        q->idx_method = cv->nfeeds;
    }
    if (!q->p_uri && q->uri) {
        q->p_uri = q->uri;
        q->idx_uri = cv->nfeeds;
    }
    if (!q->p_script && !q->p_script_filename && q->script) {
        q->p_script = q->script;
        q->idx_script = cv->nfeeds;
    }
    if (tx->t_begin.set) {
        q->has_begin = TRUE;
        q->begin_ns = tx->t_begin.ns;
        nstime_from_ns(&q->begin_ts, tx->t_begin.ns);
        q->begin_frame = (guint32)tx->t_begin.tag;
    }
    if (tx->t_end.set && tx->t_begin.set) {
        q->has_end = TRUE;
        q->end_frame = (guint32)tx->t_end.tag;
        nstime_from_ns(&q->latency, tx->t_end.ns - tx->t_begin.ns);
    }
    q->status_source = fsd_status_source_name(tx->status_source);
    q->user_status = tx->user_status;
    q->user_outcome = fsd_user_outcome_name(tx->user_outcome);
    q->gap = tx->gap;
    if (tx->closed_by != FSD_DIR_UNKNOWN)
        q->closed_by = tx->closed_by == FSD_DIR_CLIENT ? (tx->closed_by_reset ? "client RST" : "client FIN")
                                                        : (tx->closed_by_reset ? "server RST" : "server FIN");
    if (tx->t_begin.set && !tx->has_end) {
        /* how long it lasted as far as the capture shows: to the close that
         * ended the connection (as fcgiscope's elapsed_us), else to its last
         * byte */
        const fsd_timepoint *e = tx->t_close.set ? &tx->t_close : tx->t_last.set ? &tx->t_last : NULL;
        gint64 end_ns = e ? e->ns : 0;
        if ((tx->end_reason == FSD_END_CLOSED || tx->end_reason == FSD_END_RESET) && cv->closing
            && (!e || cv->closing_ts > end_ns)) {
            end_ns = cv->closing_ts;
            e = &tx->t_begin; /* only marks "known" */
        }
        if (e) {
            q->has_elapsed = TRUE;
            nstime_from_ns(&q->elapsed, end_ns - tx->t_begin.ns);
        }
    }
    if (tx->t_abandoned.set && tx->t_begin.set) {
        q->has_abandoned = TRUE;
        nstime_from_ns(&q->abandoned_after, tx->t_abandoned.ns - tx->t_begin.ns);
    }
    if (tx->t_first_response.set && tx->t_begin.set) {
        q->has_first = TRUE;
        q->first_resp_frame = (guint32)tx->t_first_response.tag;
        nstime_from_ns(&q->ttfb, tx->t_first_response.ns - tx->t_begin.ns);
    }
    if (tx->nanomalies) {
        q->anomalies = wmem_alloc_array(wmem_file_scope(), guint16, tx->nanomalies);
        for (i = 0; i < tx->nanomalies; i++)
            q->anomalies[i] = (guint16)tx->anomalies[i].id;
        q->nanomalies = (guint)tx->nanomalies;
    }
    fill_tap(q);

    if (active_req(cv, q->id) == q)
        g_hash_table_remove(cv->active, GUINT_TO_POINTER((guint)q->id));

    if (cv->cur) {
        make_body(q, cv->cur);
        append_ended(cv->cur, q);
    } else {
        fcgi_rec *l = conv_late(cv);
        make_body(q, NULL);
        append_ended(l, q);
    }
}

static const fsd_callbacks fastcgi_callbacks = {
    cb_record, cb_param, cb_data, cb_response, cb_anomaly, cb_transaction
};

/* ---- conversations --------------------------------------------------- */

static fcgi_conv *
get_conv(packet_info *pinfo, gboolean create)
{
    conversation_t *conv = find_or_create_conversation(pinfo);
    fcgi_conv *cv = (fcgi_conv *)conversation_get_proto_data(conv, proto_fastcgi);
    if (cv || !create)
        return cv;
    cv = wmem_new0(wmem_file_scope(), fcgi_conv);
    cv->reqs = g_ptr_array_new();
    cv->active = g_hash_table_new(g_direct_hash, g_direct_equal);
    cv->holds = g_ptr_array_new();
    cv->tcpd = get_tcp_conversation_data(conv, pinfo);
    conversation_add_proto_data(conv, proto_fastcgi, cv);
    g_ptr_array_add(all_convs, cv);
    return cv;
}

static gboolean
port_is_ours(guint32 port)
{
    range_t *r = prefs_get_range_value("fastcgi", "tcp.port");
    return r && value_is_in_range(r, port);
}

/* Which side is the FastCGI application (the server)? Decided once per
 * conversation: the port of the SYN's destination, else a port from the
 * fastcgi port range, else the direction the decoder says the first bytes
 * fit, else the lower port. */
static void
decide_server(fcgi_conv *cv, packet_info *pinfo, const guint8 *buf, size_t len)
{
    gboolean dst_is_server;
    if (cv->tcpd && cv->tcpd->server_port && pinfo->srcport != pinfo->destport &&
        (cv->tcpd->server_port == pinfo->destport || cv->tcpd->server_port == pinfo->srcport)) {
        dst_is_server = (cv->tcpd->server_port == pinfo->destport);
    } else if (port_is_ours(pinfo->destport) != port_is_ours(pinfo->srcport)) {
        dst_is_server = port_is_ours(pinfo->destport);
    } else {
        int as_client = buf ? fsd_looks_like_fastcgi(buf, len, FSD_DIR_CLIENT) : 0;
        int as_server = buf ? fsd_looks_like_fastcgi(buf, len, FSD_DIR_SERVER) : 0;
        if (as_client == 1 && as_server != 1)
            dst_is_server = TRUE;
        else if (as_server == 1 && as_client != 1)
            dst_is_server = FALSE;
        else
            dst_is_server = pinfo->destport <= pinfo->srcport;
    }
    if (dst_is_server) {
        copy_address_wmem(wmem_file_scope(), &cv->server_addr, &pinfo->dst);
        cv->server_port = pinfo->destport;
    } else {
        copy_address_wmem(wmem_file_scope(), &cv->server_addr, &pinfo->src);
        cv->server_port = pinfo->srcport;
    }
    cv->server_known = TRUE;
}

static fsd_dir
packet_dir(fcgi_conv *cv, packet_info *pinfo)
{
    if (pinfo->destport == cv->server_port && addresses_equal(&pinfo->dst, &cv->server_addr) &&
        !(pinfo->srcport == cv->server_port && addresses_equal(&pinfo->src, &cv->server_addr)))
        return FSD_DIR_CLIENT;
    return FSD_DIR_SERVER;
}

static void
ensure_decoder(fcgi_conv *cv)
{
    fsd_conn_config cfg;
    unsigned flags = 0;
    if (cv->dec || cv->finished)
        return;
    /* No SYN in the capture: both directions may start inside a record. */
    if (!cv->tcpd || !(cv->tcpd->conversation_completeness & 0x01 /* SYN sent */)) {
        flags = FSD_CONN_MIDSTREAM_CLIENT | FSD_CONN_MIDSTREAM_SERVER;
        cv->dir[0].hunting = cv->dir[1].hunting = TRUE;
    }
    memset(&cfg, 0, sizeof cfg);
    fsd_limits_default(&cfg.limits);
    cfg.alloc.alloc = fsd_wmem_alloc;
    cfg.alloc.free = fsd_wmem_free;
    cfg.cb = &fastcgi_callbacks;
    cfg.ud = cv;
    cfg.flags = flags;
    cv->dec = fsd_conn_new(&cfg);
}

static gint64
nstime_ns(const nstime_t *t)
{
    return (gint64)t->secs * 1000000000 + t->nsecs;
}

/* The decoder's results for a record's first bytes (fed when they arrived)
 * join the record once TCP reassembled it: they come first. */
static void
merge_hold(fcgi_rec *r, fcgi_rec *h)
{
#define FCGI_PREPEND(arr, n, cap, type) do { \
        if (h->n) { \
            type *na = wmem_alloc_array(wmem_file_scope(), type, h->n + r->n); \
            memcpy(na, h->arr, h->n * sizeof(type)); \
            if (r->n) \
                memcpy(na + h->n, r->arr, r->n * sizeof(type)); \
            r->arr = na; \
            r->n += h->n; \
            r->cap = r->n; \
            h->arr = NULL; \
            h->n = h->cap = 0; \
        } \
    } while (0)
    /* Anomalies and ended requests stay with the hold: they are shown in
     * the frame that carried those bytes, in every pass. The pairs and the
     * response header are part of the record. */
    FCGI_PREPEND(params, nparams, params_cap, fcgi_param);
#undef FCGI_PREPEND
    if (h->resp && !r->resp)
        r->resp = h->resp;
    h->resp = NULL;
    if (h->body && !r->body) {
        r->body = h->body;
        r->body_len = h->body_len;
        r->body_type = h->body_type;
    }
    h->body = NULL;
    h->body_len = 0;
    if (h->prev_hold)
        merge_hold(r, h->prev_hold);
}

/* Attach the record to the request the decoder put it in (mirror of the
 * decoder's table: a BEGIN_REQUEST it accepted opens one, a transaction
 * closes it). */
static void
bind_request(fcgi_conv *cv, fcgi_rec *r)
{
    const fsd_record_event *ev = &r->ev;
    fcgi_req *q;
    guint i;

    if (!r->have_event || !ev->request_active)
        return;
    q = active_req(cv, ev->hdr.request_id);
    if (ev->hdr.type == FSD_BEGIN_REQUEST && !q) {
        /* Did the request this BEGIN opened already end in the same record? */
        fcgi_req *done = NULL;
        for (i = 0; i < r->nended; i++)
            if (r->ended[i]->id == ev->hdr.request_id && r->ended[i]->seq == cv->nbegins)
                done = r->ended[i];
        if (done) {
            q = done;
        } else {
            q = wmem_new0(wmem_file_scope(), fcgi_req);
            q->seq = cv->nbegins;
            q->id = ev->hdr.request_id;
            q->begin_frame = (guint32)ev->first.tag;
            /* t_begin is the BEGIN_REQUEST's first byte (fsd.h): known now */
            q->has_begin = ev->first.set;
            q->begin_ns = ev->first.ns;
            nstime_from_ns(&q->begin_ts, ev->first.ns);
            if (ev->body_valid) {
                q->role = ev->body.begin.role;
                q->keep_conn = (ev->body.begin.flags & FSD_FLAG_KEEP_CONN) != 0;
            }
            g_hash_table_insert(cv->active, GUINT_TO_POINTER((guint)q->id), q);
        }
        g_ptr_array_add(cv->reqs, q);
        cv->nbegins++;
    } else if (!q) {
        /* The record ended its request (END_REQUEST): it is in r->ended. */
        for (i = 0; i < r->nended; i++)
            if (r->ended[i]->id == ev->hdr.request_id)
                q = r->ended[i];
    }
    r->req = q;
    if (!q)
        return;
    mirror_times(q, ev);
    if ((ev->hdr.type == FSD_STDOUT || ev->hdr.type == FSD_STDERR) && !q->first_seen) {
        q->first_seen = TRUE;
        r->first_response = TRUE;
    }
    if (ev->hdr.type == FSD_END_REQUEST && !q->end_seen) {
        q->end_seen = TRUE;
        r->end_here = TRUE;
        if (!q->ended)
            fill_tap(q);
    }
    r->status = q->status;
}

/* ---- who closed: a postdissector over every TCP packet ---------------- */

/* A FIN or RST goes to the decoder at its own packet, in order with the
 * records (after this frame's bytes: the postdissector runs after us), so
 * the decoder sees e.g. the web server give up before the application's
 * late answer. What it delivers then is shown with the connection's end. */
static void
feed_close(fcgi_conv *cv, fsd_dir d, fsd_close_kind kind, gint64 ts, guint32 frame, fcgi_rec *into)
{
    if (!cv->dec || cv->closed[d])
        return;
    cv->cur = into;   /* NULL: the connection's end (cv->late) */
    cv->closing = TRUE;
    cv->closing_ts = ts;
    fsd_conn_close(cv->dec, d, kind, ts, frame);
    cv->closing = FALSE;
    cv->cur = NULL;
    cv->closed[d] = TRUE;
    if (kind == FSD_CLOSE_RST)
        cv->closed[1 - d] = TRUE;
}

/* ---- end of the first pass ------------------------------------------- */

static void
finish_conv(fcgi_conv *cv)
{
    gint64 ts;
    guint64 tag;
    guint i;

    if (cv->finished)
        return;
    cv->finished = TRUE;
    if (!cv->dec)
        return;
    ts = nstime_ns(&cv->last_ts);
    tag = cv->last_frame;
    cv->cur = NULL;
    /* The first RST and the first FIN went to the decoder at their packets
     * (feed_close; unless they came before the decoder existed: those now).
     * The rest of the connection's end as TCP summed it up. */
    if (cv->rst_seen)
        feed_close(cv, cv->rst_dir, FSD_CLOSE_RST, cv->rst_ts, cv->rst_frame, NULL);
    else if (cv->fin_seen[0] || cv->fin_seen[1]) {
        fsd_dir first = cv->fin_seen[FSD_DIR_CLIENT] ? FSD_DIR_CLIENT : FSD_DIR_SERVER;
        feed_close(cv, first, FSD_CLOSE_FIN, cv->fin_ts[first], cv->fin_frame[first], NULL);
    }
    if (cv->tcpd && (!cv->closed[0] || !cv->closed[1])) {
        guint8 cc = cv->tcpd->conversation_completeness;
        if (cc & 0x20) {            /* a RST we did not see (sender unknown) */
            feed_close(cv, FSD_DIR_CLIENT, FSD_CLOSE_RST, ts, tag, NULL);
        } else if (cc & 0x10) {     /* FIN seen: the side that closed first goes first */
            gboolean server_first = cv->flow[FSD_DIR_SERVER] && cv->flow[FSD_DIR_SERVER]->closing_initiator;
            fsd_dir a = server_first ? FSD_DIR_SERVER : FSD_DIR_CLIENT;
            feed_close(cv, a, FSD_CLOSE_FIN, ts, tag, NULL);
            feed_close(cv, (fsd_dir)(1 - a), FSD_CLOSE_FIN, ts, tag, NULL);
        }
    }
    cv->closing = FALSE;
    fsd_conn_finish(cv->dec, ts, tag);
    {
        /* Requests past the decoder's table (request_table_full) and their
         * later records: counted by the decoder, shown with the end. */
        fsd_conn_stats st;
        fsd_conn_get_stats(cv->dec, &st);
        cv->untracked_requests = st.untracked_requests;
        cv->untracked_records = st.untracked_records;
        if (st.untracked_requests || st.untracked_records)
            conv_late(cv);
    }
    fsd_conn_free(cv->dec);
    cv->dec = NULL;

    /* Record starts whose record never completed keep what the decoder
     * said about them in their own frame (shown there in every pass). */
    g_ptr_array_free(cv->holds, TRUE);
    cv->holds = g_ptr_array_new();

    for (i = 0; i < cv->reqs->len; i++) {
        fcgi_req *q = (fcgi_req *)g_ptr_array_index(cv->reqs, i);
        if (q->stdout_buf) {
            g_byte_array_free(q->stdout_buf, TRUE);
            q->stdout_buf = NULL;
        }
    }
}

static void
fastcgi_postseq(void)
{
    guint i;
    if (!all_convs)
        return;
    for (i = 0; i < all_convs->len; i++)
        finish_conv((fcgi_conv *)g_ptr_array_index(all_convs, i));
}

static void
fastcgi_init(void)
{
    all_convs = g_ptr_array_new();
}

static void
fastcgi_cleanup(void)
{
    guint i;
    if (!all_convs)
        return;
    for (i = 0; i < all_convs->len; i++) {
        fcgi_conv *cv = (fcgi_conv *)g_ptr_array_index(all_convs, i);
        guint j;
        if (cv->dec)
            fsd_conn_free(cv->dec);   /* file-scope memory, released with the file */
        cv->dec = NULL;
        for (j = 0; j < cv->reqs->len; j++) {
            fcgi_req *q = (fcgi_req *)g_ptr_array_index(cv->reqs, j);
            if (q->stdout_buf)
                g_byte_array_free(q->stdout_buf, TRUE);
        }
        g_ptr_array_free(cv->reqs, TRUE);
        g_ptr_array_free(cv->holds, TRUE);
        g_hash_table_destroy(cv->active);
    }
    g_ptr_array_free(all_convs, TRUE);
    all_convs = NULL;
}

/* ---- per-frame storage ------------------------------------------------ */

static fcgi_frame *
frame_data_get(packet_info *pinfo, gboolean create)
{
    fcgi_frame *f = (fcgi_frame *)p_get_proto_data(wmem_file_scope(), pinfo, proto_fastcgi, 0);
    if (!f && create) {
        f = wmem_new0(wmem_file_scope(), fcgi_frame);
        f->recs = wmem_array_new(wmem_file_scope(), sizeof(fcgi_frame_rec));
        f->skips = wmem_array_new(wmem_file_scope(), sizeof(fcgi_frame_rec));
        f->holds = wmem_array_new(wmem_file_scope(), sizeof(fcgi_rec *));
        p_add_proto_data(wmem_file_scope(), pinfo, proto_fastcgi, 0, f);
    }
    return f;
}

/* The entry for seq, searched from *hint on (wrapping round); *hint is left
 * just after the entry found. */
static fcgi_rec *
frame_lookup(wmem_array_t *a, guint32 seq, guint *hint)
{
    guint i, n = wmem_array_get_count(a);
    for (i = 0; i < n; i++) {
        guint k = (*hint + i) % n;
        fcgi_frame_rec *e = (fcgi_frame_rec *)wmem_array_index(a, k);
        if (e->seq == seq) {
            *hint = k + 1;
            return e->rec;
        }
    }
    return NULL;
}

/* ---- presentation ---------------------------------------------------- */

/* Onto the frame's one tap entry (fastcgi_tap_frame): the listeners run
 * when the whole frame was dissected. */
static void
queue_tap(packet_info *pinfo, const fastcgi_tap_info *ti)
{
    fastcgi_tap_frame *tf = (fastcgi_tap_frame *)p_get_proto_data(pinfo->pool, pinfo, proto_fastcgi, 5);
    if (!tf) {
        tf = wmem_new(pinfo->pool, fastcgi_tap_frame);
        tf->recs = wmem_array_new(pinfo->pool, sizeof(const fastcgi_tap_info *));
        p_add_proto_data(pinfo->pool, pinfo, proto_fastcgi, 5, tf);
        tap_queue_packet(fastcgi_tap, pinfo, tf);
    }
    wmem_array_append_one(tf->recs, ti);
}

/* The tap record of a record (or segment) from what is stored with it. */
static void
build_tap(fcgi_rec *r, int record_type)
{
    guint i;
    r->tap.record_type = record_type;
    if (r->tap.nanomalies != r->nanom) {
        guint16 *ids = r->nanom ? wmem_alloc_array(wmem_file_scope(), guint16, r->nanom) : NULL;
        for (i = 0; i < r->nanom; i++)
            ids[i] = r->anom[i].id;
        r->tap.anomalies = ids;
        r->tap.nanomalies = r->nanom;
    }
    if (!r->tap_built) {
        /* The requests summed up here: the record's own at its END_REQUEST
         * (its tap record filled then, so one pass counts it), and those
         * the decoder delivered here without an END_REQUEST. */
        guint n = 0;
        fastcgi_tap_req *tr = wmem_alloc_array(wmem_file_scope(), fastcgi_tap_req, r->nended + 1);
        if (r->end_here && r->req)
            tr[n++] = r->req->tap;
        for (i = 0; i < r->nended; i++)
            if (!r->ended[i]->has_end)
                tr[n++] = r->ended[i]->tap;
        r->tap.ended = tr;
        r->tap.nended = n;
        r->tap_built = TRUE;
    }
}



/* Ids whose decoder detail takes only a few fixed values (a stream or type
 * name, a version or status byte, a reason, a configured cap): the detail
 * stays in the expert message. Every other id's detail names something of
 * the one record or request (an id, a byte count, a parameter name or value
 * from the traffic), so hostile input makes it different every time, and
 * Wireshark's expert tap and dialog compare each new message with every
 * distinct earlier one (`tshark -z expert` grew quadratically: 65,535
 * request_table_full messages, one per request id, took ~30 s). Those keep
 * the catalogue summary as the message; the detail and the request id are
 * fields of the anomaly's own tree item (fastcgi.anomaly.detail,
 * fastcgi.anomaly.request_id), where filters and the tree show them. */
static gboolean
detail_in_message(fsd_anomaly_id id)
{
    switch (id) {
    case FSD_A_bad_version:              /* "version N" (one byte) */
    case FSD_A_unknown_type:             /* "type N" (one byte) */
    case FSD_A_wrong_direction:          /* type name and side */
    case FSD_A_null_request_id:          /* type name */
    case FSD_A_stream_not_terminated:    /* stream names */
    case FSD_A_data_after_stream_end:    /* stream name */
    case FSD_A_stream_order:             /* stream names, role name */
    case FSD_A_early_response:           /* stream name */
    case FSD_A_protocol_status:          /* status name and byte */
    case FSD_A_incomplete_request:       /* end reason */
    case FSD_A_param_ctl_chars:          /* one of the checked parameter names */
    case FSD_A_httpoxy:                  /* HTTP_PROXY */
    case FSD_A_php_ini_override:         /* PHP_VALUE or PHP_ADMIN_VALUE */
    case FSD_A_missing_required_param:   /* the missing names */
    case FSD_A_stderr_output:            /* STDERR */
    case FSD_A_cgi_header_cap_exceeded:  /* the configured cap */
        return TRUE;
    default:
        return FALSE;
    }
}

/* Traffic bytes in a label we format ourselves (the tree escapes string
 * field values, not custom labels): a LF in a param value must not break the
 * line in the GUI or in tshark -V. */
static const char *
esc(packet_info *pinfo, const char *s)
{
    return format_text(pinfo->pool, (const guchar *)s, strlen(s));
}

/* May one more expert info be raised in this frame (FCGI_EXPERT_PER_FRAME)? */
static gboolean
expert_budget(packet_info *pinfo, proto_item *pi)
{
    guint n = GPOINTER_TO_UINT(p_get_proto_data(pinfo->pool, pinfo, proto_fastcgi, 6));
    p_set_proto_data(pinfo->pool, pinfo, proto_fastcgi, 6, GUINT_TO_POINTER(n + 1));
    if (n == FCGI_EXPERT_PER_FRAME)
        expert_add_info(pinfo, pi, &ei_expert_limit);
    return n < FCGI_EXPERT_PER_FRAME;
}

/* An anomaly: a tree item with its id, detail and request id, carrying the
 * expert info (raised whether or not a tree is built: item and tree may be
 * NULL, the expert tap still sees it). */
static void
add_expert(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const fcgi_anom *a)
{
    fsd_anomaly_id id = (fsd_anomaly_id)a->id;
    fsd_severity cat = fsd_anomaly_severity(id);
    expert_field *ei = &ei_anomaly[id];
    const char *summary = fsd_anomaly_summary(id);
    gboolean has_detail = a->detail && a->detail[0];
    proto_item *ai = NULL;

    if (a->severity > cat && fsd_anomaly_max_severity(id) > cat)
        ei = &ei_anomaly_raised[id];
    else if (a->severity == FSD_SEV_NOTE && cat > FSD_SEV_NOTE)
        ei = &ei_anomaly_lowered[id]; /* e.g. incomplete_request at the capture's end */
    if (tree) {
        proto_tree *at;
        proto_item *it;
        if (has_detail)
            ai = proto_tree_add_string_format(tree, hf_anomaly, tvb, 0, 0, anomaly_ids[id], "Anomaly: %s (%s)",
                                              anomaly_ids[id], esc(pinfo, a->detail));
        else
            ai = proto_tree_add_string_format(tree, hf_anomaly, tvb, 0, 0, anomaly_ids[id], "Anomaly: %s",
                                              anomaly_ids[id]);
        proto_item_set_generated(ai);
        at = proto_item_add_subtree(ai, ett_anomaly);
        if (has_detail) {
            it = proto_tree_add_string(at, hf_anomaly_detail, tvb, 0, 0, a->detail);
            proto_item_set_generated(it);
        }
        if (a->request_id >= 0) {
            it = proto_tree_add_uint(at, hf_anomaly_request, tvb, 0, 0, (guint32)a->request_id);
            proto_item_set_generated(it);
        }
    }
    if (!expert_budget(pinfo, ai))
        return;
    if (has_detail && detail_in_message(id))
        expert_add_info_format(pinfo, ai, ei, "%s: %s (%s)", anomaly_ids[id], summary, esc(pinfo, a->detail));
    else
        expert_add_info_format(pinfo, ai, ei, "%s: %s", anomaly_ids[id], summary);
}

static void
add_time_item(proto_tree *tree, int hf, tvbuff_t *tvb, const nstime_t *t)
{
    proto_item *it = proto_tree_add_time(tree, hf, tvb, 0, 0, t);
    proto_item_set_generated(it);
}

/* What is known of a request at a record fed as feed number idx (the
 * params arrived with some feed: a record fed before does not show them, in
 * any pass). */
static const char *
req_method_at(const fcgi_req *q, guint32 idx)
{
    return q->p_method && q->idx_method <= idx ? q->p_method : NULL;
}

static const char *
req_uri_at(const fcgi_req *q, guint32 idx)
{
    return q->p_uri && q->idx_uri <= idx ? q->p_uri : NULL;
}

static const char *
req_script_at(const fcgi_req *q, guint32 idx)
{
    if (q->p_script && q->idx_script <= idx)
        return q->p_script;
    if (q->p_script_filename && q->idx_script_filename <= idx)
        return q->p_script_filename;
    return NULL;
}

/* One "Request id N" subtree per request per frame: links, method, URI and
 * script once, and the summary items of every record of that request in the
 * frame, so -T fields and columns give one value per request. */
typedef struct fcgi_frame_req {
    proto_item *item;
    proto_tree *tree;
    gboolean method, uri, script, ttfb;
} fcgi_frame_req;

static void
add_str_item(proto_tree *tree, int hf, tvbuff_t *tvb, const char *s)
{
    proto_item *it = proto_tree_add_string(tree, hf, tvb, 0, 0, s);
    proto_item_set_generated(it);
}

static fcgi_frame_req *
frame_req(packet_info *pinfo, proto_tree *parent, tvbuff_t *tvb, const fcgi_req *q, guint32 idx, gboolean separate)
{
    wmem_map_t *m = (wmem_map_t *)p_get_proto_data(pinfo->pool, pinfo, proto_fastcgi, 7);
    fcgi_frame_req *fq;
    const char *s;
    if (!m) {
        m = wmem_map_new(pinfo->pool, g_direct_hash, g_direct_equal);
        p_add_proto_data(pinfo->pool, pinfo, proto_fastcgi, 7, m);
    }
    fq = (fcgi_frame_req *)wmem_map_lookup(m, q);
    if (separate && fq) {
        /* its own subtree (the connection's end), the frame's values
         * already given in the frame's subtree of that request */
        fcgi_frame_req *sq = wmem_new(pinfo->pool, fcgi_frame_req);
        *sq = *fq;
        sq->item = proto_tree_add_uint(parent, hf_req_summary, tvb, 0, 0, q->id);
        proto_item_set_text(sq->item, "Request id %u (request #%" G_GUINT64_FORMAT " on this connection)",
                            q->id, q->seq + 1);
        proto_item_set_generated(sq->item);
        sq->tree = proto_item_add_subtree(sq->item, ett_request);
        return sq;
    }
    if (!fq) {
        proto_item *it;
        fq = wmem_new0(pinfo->pool, fcgi_frame_req);
        wmem_map_insert(m, q, fq);
        fq->item = proto_tree_add_uint(parent, hf_req_summary, tvb, 0, 0, q->id);
        proto_item_set_text(fq->item, "Request id %u (request #%" G_GUINT64_FORMAT " on this connection)",
                            q->id, q->seq + 1);
        proto_item_set_generated(fq->item);
        fq->tree = proto_item_add_subtree(fq->item, ett_request);
        if (q->begin_frame && q->begin_frame != pinfo->num) {
            it = proto_tree_add_uint(fq->tree, hf_request_in, tvb, 0, 0, q->begin_frame);
            proto_item_set_generated(it);
        }
        /* a later frame: known on the first pass only from there on */
        if (q->has_end && q->end_frame != pinfo->num) {
            it = proto_tree_add_uint(fq->tree, hf_response_in, tvb, 0, 0, q->end_frame);
            proto_item_set_generated(it);
        }
    }
    if (!fq->method && (s = req_method_at(q, idx)) != NULL) {
        fq->method = TRUE;
        add_str_item(fq->tree, hf_req_method, tvb, s);
    }
    if (!fq->uri && (s = req_uri_at(q, idx)) != NULL) {
        fq->uri = TRUE;
        add_str_item(fq->tree, hf_req_uri, tvb, s);
    }
    if (!fq->script && (s = req_script_at(q, idx)) != NULL) {
        fq->script = TRUE;
        add_str_item(fq->tree, hf_req_script, tvb, s);
    }
    return fq;
}

static void
add_ttfb_once(fcgi_frame_req *fq, tvbuff_t *tvb, const fcgi_req *q)
{
    if (q->has_first && !fq->ttfb) {
        fq->ttfb = TRUE;
        add_time_item(fq->tree, hf_ttfb, tvb, &q->ttfb);
    }
}

/* At the request's END_REQUEST: what that record settles (the same in one
 * pass and two: taken from the record events, fsd.h timepoints). */
static void
add_end_summary(fcgi_frame_req *fq, tvbuff_t *tvb, const fcgi_req *q)
{
    proto_item *it;
    if (q->status) {
        it = proto_tree_add_uint(fq->tree, hf_status, tvb, 0, 0, (guint32)q->status);
        proto_item_set_generated(it);
    }
    add_str_item(fq->tree, hf_end_reason, tvb, "complete");
    if (q->has_end)
        add_time_item(fq->tree, hf_time, tvb, &q->latency);
    add_ttfb_once(fq, tvb, q);
    proto_item_append_text(fq->item, ", ended with END_REQUEST");
}

/* Where the decoder delivered the request (fsd_transaction): how the web
 * server's client fared and the request's anomalies; for a request without
 * END_REQUEST also its status, end and times. */
static void
add_tx_summary(fcgi_frame_req *fq, tvbuff_t *tvb, const fcgi_req *q)
{
    proto_tree *tree = fq->tree;
    proto_item *it;
    guint i;
    if (!q->has_end) {
        if (q->status) {
            it = proto_tree_add_uint(tree, hf_status, tvb, 0, 0, (guint32)q->status);
            proto_item_set_generated(it);
        }
        if (q->end_reason)
            add_str_item(tree, hf_end_reason, tvb, q->end_reason);
        add_ttfb_once(fq, tvb, q);
        proto_item_append_text(fq->item, ", ended here (%s)", q->end_reason ? q->end_reason : "?");
    } else {
        proto_item_append_text(fq->item, ", delivered by the decoder here");
    }
    if (q->status && q->status_source)
        add_str_item(tree, hf_status_source, tvb, q->status_source);
    if (q->user_status) {
        it = proto_tree_add_uint(tree, hf_user_status, tvb, 0, 0, (guint32)q->user_status);
        proto_item_set_generated(it);
    }
    if (q->user_outcome)
        add_str_item(tree, hf_user_outcome, tvb, q->user_outcome);
    if (q->closed_by)
        add_str_item(tree, hf_closed_by, tvb, q->closed_by);
    if (q->gap) {
        it = proto_tree_add_boolean(tree, hf_gap, tvb, 0, 0, TRUE);
        proto_item_set_generated(it);
    }
    if (q->has_elapsed)
        add_time_item(tree, hf_elapsed, tvb, &q->elapsed);
    if (q->has_abandoned)
        add_time_item(tree, hf_abandoned_after, tvb, &q->abandoned_after);
    for (i = 0; i < q->nanomalies; i++) {
        const char *nm = fsd_anomaly_name((fsd_anomaly_id)q->anomalies[i]);
        add_str_item(tree, hf_req_anomaly, tvb, nm ? nm : "?");
    }
}

/* Requests the decoder delivered with these results. */
static void
add_ended_requests(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const fcgi_rec *r, guint32 idx,
                   gboolean separate)
{
    guint i;
    for (i = 0; i < r->nended; i++)
        add_tx_summary(frame_req(pinfo, tree, tvb, r->ended[i], idx, separate), tvb, r->ended[i]);
}

static void
add_params(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const fcgi_rec *r)
{
    guint i;
    for (i = 0; i < r->nparams; i++) {
        const fcgi_param *p = &r->params[i];
        proto_item *pi, *it;
        proto_tree *pt;
        if (p->pair_off >= 0)
            pi = proto_tree_add_string_format(tree, hf_param, tvb, p->pair_off, p->pair_len, p->name,
                                              "%s = %s", esc(pinfo, p->name), esc(pinfo, p->value));
        else
            pi = proto_tree_add_string_format(tree, hf_param, tvb, 0, 0, p->name,
                                              "%s = %s%s", esc(pinfo, p->name), esc(pinfo, p->value),
                                              p->straddled ? " [spans two records]" : "");
        pt = proto_item_add_subtree(pi, ett_param);
        it = proto_tree_add_uint(pt, hf_param_name_len, tvb, 0, 0, p->name_len);
        proto_item_set_generated(it);
        it = proto_tree_add_uint(pt, hf_param_value_len, tvb, 0, 0, p->value_len);
        proto_item_set_generated(it);
        if (p->name_off >= 0)
            proto_tree_add_string(pt, hf_param_name, tvb, p->name_off, (gint)strlen(p->name), p->name);
        else
            proto_item_set_generated(proto_tree_add_string(pt, hf_param_name, tvb, 0, 0, p->name));
        if (p->value_off >= 0)
            proto_tree_add_string(pt, hf_param_value, tvb, p->value_off, (gint)strlen(p->value), p->value);
        else
            proto_item_set_generated(proto_tree_add_string(pt, hf_param_value, tvb, 0, 0, p->value));
        if (p->straddled) {
            it = proto_tree_add_boolean(pt, hf_param_straddled, tvb, 0, 0, TRUE);
            proto_item_set_generated(it);
        }
    }
}

static void
add_response(proto_tree *tree, tvbuff_t *tvb, const fcgi_resp *resp, gint body_off)
{
    proto_item *ti, *it;
    proto_tree *rt;
    guint i;
    ti = proto_tree_add_uint(tree, hf_resp_status, tvb, 0, 0, (guint32)resp->status);
    proto_item_set_generated(ti);
    rt = proto_item_add_subtree(ti, ett_response);
    if (resp->status_line) {
        it = proto_tree_add_string(rt, hf_status_line, tvb, 0, 0, resp->status_line);
        proto_item_set_generated(it);
    }
    if (resp->content_type) {
        it = proto_tree_add_string(rt, hf_content_type, tvb, 0, 0, resp->content_type);
        proto_item_set_generated(it);
    }
    for (i = 0; i < resp->nheaders; i++) {
        it = proto_tree_add_string(rt, hf_resp_header, tvb, 0, 0, resp->headers[i]);
        proto_item_set_generated(it);
    }
    it = proto_tree_add_uint64(rt, hf_header_len, tvb, 0, 0, resp->header_len);
    proto_item_set_generated(it);
    (void)body_off;
}

static void
dissect_body(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const fcgi_rec *r)
{
    tvbuff_t *btvb;
    dissector_handle_t h = NULL;
    char *mt = NULL;
    proto_item *it;

    if (!r->body || !r->body_len)
        return;
    btvb = tvb_new_child_real_data(tvb, r->body, r->body_len, r->body_len);
    add_new_data_source(pinfo, btvb, "FastCGI response body");
    it = proto_tree_add_item(tree, hf_body, btvb, 0, -1, ENC_NA);
    proto_item_set_generated(it);
    if (r->body_type && media_type_table) {
        const char *sc = strchr(r->body_type, ';');
        size_t n = sc ? (size_t)(sc - r->body_type) : strlen(r->body_type);
        while (n && (r->body_type[n - 1] == ' ' || r->body_type[n - 1] == '\t'))
            n--;
        mt = wmem_ascii_strdown(pinfo->pool, r->body_type, (gssize)n);
        h = dissector_get_string_handle(media_type_table, mt);
    }
    /* Each content dissector call adds a protocol layer that stays for the
     * rest of the frame; a segment of a few hundred small responses would
     * reach Wireshark's layer limit, and then TCP's hand-over of the next
     * reassembled record fails too (the decoder would miss those bytes).
     * Leave room for that and for nested content: later bodies in such a
     * frame are shown as bytes only. */
    if (h && wmem_list_count(pinfo->layers) + FCGI_LAYER_MARGIN >= FCGI_MAX_LAYERS) {
        proto_item_append_text(it, " (not dissected: too many protocol layers in this frame)");
        h = NULL;
    }
    if (h) {
        http_message_info_t info;
        memset(&info, 0, sizeof info);
        info.type = HTTP_OTHERS;
        info.media_str = r->body_type && strchr(r->body_type, ';') ? strchr(r->body_type, ';') + 1 : NULL;
        pinfo->match_string = mt;
        TRY {
            call_dissector_only(h, btvb, pinfo, tree, &info);
        }
        CATCH_NONFATAL_ERRORS {
            show_exception(btvb, pinfo, tree, EXCEPT_CODE, GET_MESSAGE);
        }
        ENDTRY;
    }
}

static char *
info_for_record(packet_info *pinfo, const fsd_header *h, const fcgi_rec *r)
{
    wmem_strbuf_t *s = wmem_strbuf_new(pinfo->pool, fsd_type_name(h->type));
    const fcgi_req *q = r ? r->req : NULL;
    gboolean eos = h->content_length == 0;

    if (h->type < 1 || h->type > FSD_MAX_KNOWN_TYPE)
        wmem_strbuf_append_printf(s, " type=%u", h->type);
    switch (h->type) {
    case FSD_BEGIN_REQUEST:
        wmem_strbuf_append_printf(s, " id=%u", h->request_id);
        if (r && r->have_event && r->ev.body_valid) {
            wmem_strbuf_append_printf(s, " %s", fsd_role_name(r->ev.body.begin.role));
            if (r->ev.body.begin.flags & FSD_FLAG_KEEP_CONN)
                wmem_strbuf_append(s, " keep-conn");
        }
        break;
    case FSD_ABORT_REQUEST:
        wmem_strbuf_append_printf(s, " id=%u", h->request_id);
        break;
    case FSD_END_REQUEST:
        wmem_strbuf_append_printf(s, " id=%u", h->request_id);
        if (r && r->have_event && r->ev.body_valid) {
            if (r->ev.body.end.protocol_status == FSD_REQUEST_COMPLETE)
                wmem_strbuf_append(s, " complete");
            else
                wmem_strbuf_append_printf(s, " %s", fsd_protocol_status_name(r->ev.body.end.protocol_status));
            if (r->ev.body.end.app_status)
                wmem_strbuf_append_printf(s, " app_status=%u", r->ev.body.end.app_status);
        }
        if (q && q->has_end && q->end_frame == pinfo->num)
            wmem_strbuf_append_printf(s, " %.1f ms", nstime_to_sec(&q->latency) * 1000.0);
        break;
    case FSD_PARAMS:
        if (eos) {
            wmem_strbuf_append(s, " end");
        } else if (q) {
            const char *m = q->method ? q->method : q->p_method;
            const char *u = q->uri ? q->uri : q->p_uri;
            if (m)
                wmem_strbuf_append_printf(s, " %s", format_text(pinfo->pool, (const guchar *)m, strlen(m)));
            if (u)
                wmem_strbuf_append_printf(s, " %s", format_text(pinfo->pool, (const guchar *)u, strlen(u)));
        }
        break;
    case FSD_STDOUT:
        if (eos) {
            wmem_strbuf_append(s, " end");
        } else {
            if (r && r->status)
                wmem_strbuf_append_printf(s, " %d", r->status);
            wmem_strbuf_append_printf(s, " (%u bytes)", h->content_length);
        }
        break;
    case FSD_STDIN:
    case FSD_STDERR:
    case FSD_DATA:
        if (eos)
            wmem_strbuf_append(s, " end");
        else
            wmem_strbuf_append_printf(s, " (%u bytes)", h->content_length);
        break;
    case FSD_GET_VALUES:
    case FSD_GET_VALUES_RESULT:
        if (r) {
            guint i;
            for (i = 0; i < r->nparams && i < 4; i++) {
                const fcgi_param *p = &r->params[i];
                const char *pn = format_text(pinfo->pool, (const guchar *)p->name, strlen(p->name));
                if (h->type == FSD_GET_VALUES_RESULT)
                    wmem_strbuf_append_printf(s, " %s=%s", pn,
                                              format_text(pinfo->pool, (const guchar *)p->value, strlen(p->value)));
                else
                    wmem_strbuf_append_printf(s, " %s", pn);
            }
        }
        break;
    case FSD_UNKNOWN_TYPE:
        if (r && r->have_event && r->ev.body_valid)
            wmem_strbuf_append_printf(s, " type=%u", r->ev.body.unknown_type.type);
        break;
    default:
        break;
    }
    return wmem_strbuf_finalize(s);
}

/* The frame's one "FastCGI (fcgiscope)" item: TCP calls the dissector once
 * for a reassembled record and once for the rest of the segment; a second
 * top-level item would count the frame twice in Protocol Hierarchy. */
static proto_tree *
frame_top_tree(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, gint len)
{
    proto_tree *ft = (proto_tree *)p_get_proto_data(pinfo->pool, pinfo, proto_fastcgi, 8);
    proto_item *ti;
    if (ft || !tree)
        return ft;
    ti = proto_tree_add_item(tree, proto_fastcgi, tvb, 0, len, ENC_NA);
    ft = proto_item_add_subtree(ti, ett_fastcgi);
    p_add_proto_data(pinfo->pool, pinfo, proto_fastcgi, 8, ft);
    return ft;
}

static void
first_call_in_frame(packet_info *pinfo)
{
    if (!p_get_proto_data(pinfo->pool, pinfo, proto_fastcgi, 1)) {
        p_add_proto_data(pinfo->pool, pinfo, proto_fastcgi, 1, GUINT_TO_POINTER(1));
        col_set_str(pinfo->cinfo, COL_PROTOCOL, "FASTCGI");
        col_clear(pinfo->cinfo, COL_INFO);
    }
}

/* Data handed between the TCP-level dissector and the record dissector. */
typedef struct fcgi_pdu_ctx {
    struct tcpinfo *tcpinfo;
    fcgi_conv *cv;
    fsd_dir dir;
    guint32 base_seq;   /* TCP seq of the first byte of the tvb given to tcp_dissect_pdus */
    guint32 offset;     /* offset of the next record in that tvb */
} fcgi_pdu_ctx;

static guint
get_fastcgi_pdu_len(packet_info *pinfo _U_, tvbuff_t *tvb, int offset, void *data _U_)
{
    guint8 hdr[FSD_HEADER_LEN];
    fsd_header h;
    if (tvb_captured_length_remaining(tvb, offset) < FSD_HEADER_LEN)
        return (guint)tvb_reported_length_remaining(tvb, offset); /* cut by the snaplen */
    tvb_memcpy(tvb, hdr, offset, FSD_HEADER_LEN);
    fsd_header_unpack(&h, hdr);
    return fsd_header_record_len(&h);
}

static int
dissect_fastcgi_record(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
    fcgi_pdu_ctx *ctx = (fcgi_pdu_ctx *)data;
    guint32 len = tvb_reported_length(tvb);
    guint32 caplen = tvb_captured_length(tvb);
    const guint8 *rec = tvb_get_ptr(tvb, 0, caplen);
    fsd_header h;
    fcgi_rec *r = NULL;
    guint32 rec_seq = 0;
    gboolean have_seq = ctx && ctx->tcpinfo;
    gint32 ahead;
    proto_item *ti, *it;
    proto_tree *rt, *ht, *bt;
    char *info;
    guint i;

    if (caplen < FSD_HEADER_LEN) {
        /* Only part of a header was captured (snaplen): nothing to decode. */
        proto_item *pi;
        first_call_in_frame(pinfo);
        tree = frame_top_tree(tvb, pinfo, tree, -1);
        pi = proto_tree_add_item(tree, hf_skipped, tvb, 0, -1, ENC_NA);
        proto_item_append_text(pi, " (record header cut by the snaplen)");
        if (have_seq)
            ctx->offset += len;
        return (int)len;
    }
    fsd_header_unpack(&h, rec);
    first_call_in_frame(pinfo);
    tree = frame_top_tree(tvb, pinfo, tree, -1);
    if (have_seq) {
        rec_seq = ctx->base_seq + ctx->offset;
        ctx->offset += len;
    }

    if (have_seq && ctx->cv) {
        fcgi_conv *cv = ctx->cv;
        if (!PINFO_FD_VISITED(pinfo))
            cv->show_frame = pinfo->num;
        fcgi_frame *f = frame_data_get(pinfo, !PINFO_FD_VISITED(pinfo));
        if (!PINFO_FD_VISITED(pinfo)) {
            fcgi_dirstate *ds = &cv->dir[ctx->dir];
            fcgi_frame_rec fr;
            r = wmem_new0(wmem_file_scope(), fcgi_rec);
            r->dir = (guint8)ctx->dir;
            if (!ds->started) {
                ds->started = TRUE;
                ds->next_seq = rec_seq;
            }
            ahead = (gint32)(ds->next_seq - rec_seq);   /* bytes of it the decoder has */
            if (ahead >= (gint32)len) {
                r->retransmission = TRUE;
            } else if (cv->dec && caplen == len) {
                guint32 k = ahead > 0 ? (guint32)ahead : 0;
                cv->cur = r;
                cv->cur_base = rec;
                cv->cur_len = len;
                r->feed_idx = ++cv->nfeeds;
                if (ahead < 0) {
                    note_gap(ds, ds->next_seq, rec_seq, pinfo->num);
                    fsd_conn_gap(cv->dec, ctx->dir, (guint64)(guint32)(-ahead), nstime_ns(&pinfo->abs_ts), pinfo->num);
                }
                fsd_conn_feed(cv->dec, ctx->dir, rec + k, len - k, nstime_ns(&pinfo->abs_ts), pinfo->num);
                cv->cur = NULL;
                cv->cur_base = NULL;
                r->tracked = TRUE;
                ds->next_seq = rec_seq + len;
                if (ds->hold && ds->hold_seq == rec_seq && k > 0)
                    merge_hold(r, ds->hold);
                ds->hold = NULL;
                ds->hunting = FALSE;
                bind_request(cv, r);
            }
            fr.seq = rec_seq;
            fr.rec = r;
            wmem_array_append_one(f->recs, fr);
        } else if (f) {
            r = frame_lookup(f->recs, rec_seq, &f->next_rec);
        }
    }

    /* Info column */
    info = info_for_record(pinfo, &h, r);
    if (!p_get_proto_data(pinfo->pool, pinfo, proto_fastcgi, 3)) {
        p_add_proto_data(pinfo->pool, pinfo, proto_fastcgi, 3, GUINT_TO_POINTER(1));
        col_append_sep_str(pinfo->cinfo, COL_INFO, " ", info);
    } else {
        col_append_sep_str(pinfo->cinfo, COL_INFO, ", ", info);
    }

    /* Tree */
    ti = proto_tree_add_string_format(tree, hf_record, tvb, 0, -1, fsd_type_name(h.type), "%s", info);
    rt = proto_item_add_subtree(ti, ett_record);
    if (r && r->retransmission) {
        it = proto_tree_add_item(rt, hf_retransmission, tvb, 0, 0, ENC_NA);
        proto_item_set_generated(it);
    }
    {
        proto_item *hi = proto_tree_add_item(rt, proto_fastcgi, tvb, 0, FSD_HEADER_LEN, ENC_NA);
        proto_item_set_text(hi, "Header");
        ht = proto_item_add_subtree(hi, ett_header);
    }
    proto_tree_add_uint(ht, hf_version, tvb, 0, 1, h.version);
    proto_tree_add_uint(ht, hf_type, tvb, 1, 1, h.type);
    proto_tree_add_uint(ht, hf_request_id, tvb, 2, 2, h.request_id);
    proto_tree_add_uint(ht, hf_content_length, tvb, 4, 2, h.content_length);
    proto_tree_add_uint(ht, hf_padding_length, tvb, 6, 1, h.padding_length);
    proto_tree_add_uint(ht, hf_reserved, tvb, 7, 1, h.reserved);
    if (r && r->have_event) {
        it = proto_tree_add_uint(rt, hf_direction, tvb, 0, 0, r->dir);
        proto_item_set_generated(it);
    }

    {
        guint32 clen = h.content_length;
        guint32 avail = caplen > FSD_HEADER_LEN ? caplen - FSD_HEADER_LEN : 0;
        const guint8 *body = rec + FSD_HEADER_LEN;
        if (clen > avail)
            clen = avail;
        if (h.content_length == 0 && h.type >= FSD_PARAMS && h.type <= FSD_DATA) {
            it = proto_tree_add_boolean(rt, hf_eos, tvb, 0, FSD_HEADER_LEN, TRUE);
            proto_item_set_generated(it);
        }
        if (clen) {
            proto_item *bi = proto_tree_add_item(rt, proto_fastcgi, tvb, FSD_HEADER_LEN, clen, ENC_NA);
            proto_item_set_text(bi, "Body (%u bytes)", clen);
            bt = proto_item_add_subtree(bi, ett_body);
            switch (h.type) {
            case FSD_BEGIN_REQUEST: {
                fsd_begin_body b;
                if (fsd_begin_body_unpack(&b, body, clen)) {
                    proto_item *fi;
                    proto_tree *ft;
                    proto_tree_add_uint(bt, hf_role, tvb, 8, 2, b.role);
                    fi = proto_tree_add_uint(bt, hf_flags, tvb, 10, 1, b.flags);
                    ft = proto_item_add_subtree(fi, ett_flags);
                    proto_tree_add_boolean(ft, hf_flags_keep_conn, tvb, 10, 1, b.flags);
                    proto_tree_add_bytes(bt, hf_body_reserved, tvb, 11, 5, b.reserved);
                }
                break;
            }
            case FSD_END_REQUEST: {
                fsd_end_body b;
                if (fsd_end_body_unpack(&b, body, clen)) {
                    proto_tree_add_uint(bt, hf_app_status, tvb, 8, 4, b.app_status);
                    proto_tree_add_uint(bt, hf_protocol_status, tvb, 12, 1, b.protocol_status);
                    proto_tree_add_bytes(bt, hf_body_reserved, tvb, 13, 3, b.reserved);
                }
                break;
            }
            case FSD_UNKNOWN_TYPE: {
                fsd_unknown_type_body b;
                if (fsd_unknown_type_body_unpack(&b, body, clen)) {
                    proto_tree_add_uint(bt, hf_unknown_type_type, tvb, 8, 1, b.type);
                    proto_tree_add_bytes(bt, hf_body_reserved, tvb, 9, 7, b.reserved);
                }
                break;
            }
            case FSD_PARAMS:
            case FSD_GET_VALUES:
            case FSD_GET_VALUES_RESULT:
                if (r && r->tracked) {
                    add_params(bt, tvb, pinfo, r);
                } else {
                    /* Not tracked (retransmission, no TCP info): pairs of this record alone. */
                    size_t pos = 0;
                    fsd_nv nv;
                    while (fsd_nv_next(body, clen, &pos, &nv) == 1) {
                        const char *nm = file_strndup(body + nv.name_offset, nv.name_len);
                        const char *vl = file_strndup(body + nv.value_offset, nv.value_len);
                        proto_item *pi = proto_tree_add_string_format(bt, hf_param, tvb,
                            FSD_HEADER_LEN + (gint)nv.offset, (gint)nv.total_len, nm, "%s = %s",
                            esc(pinfo, nm), esc(pinfo, vl));
                        proto_tree *pt = proto_item_add_subtree(pi, ett_param);
                        proto_tree_add_string(pt, hf_param_name, tvb, FSD_HEADER_LEN + (gint)nv.name_offset, nv.name_len, nm);
                        proto_tree_add_string(pt, hf_param_value, tvb, FSD_HEADER_LEN + (gint)nv.value_offset, nv.value_len, vl);
                    }
                }
                break;
            case FSD_STDIN:
            case FSD_STDOUT:
            case FSD_STDERR:
            case FSD_DATA:
                proto_tree_add_item(bt, h.type == FSD_STDIN ? hf_stdin : h.type == FSD_STDOUT ? hf_stdout :
                                        h.type == FSD_STDERR ? hf_stderr : hf_data,
                                    tvb, FSD_HEADER_LEN, clen, ENC_NA);
                break;
            default:
                proto_tree_add_item(bt, hf_content, tvb, FSD_HEADER_LEN, clen, ENC_NA);
                break;
            }
        }
        if (h.padding_length && caplen > FSD_HEADER_LEN + (guint32)h.content_length)
            proto_tree_add_item(rt, hf_padding, tvb, FSD_HEADER_LEN + h.content_length,
                                MIN((guint32)h.padding_length, caplen - FSD_HEADER_LEN - h.content_length), ENC_NA);
    }

    if (r) {
        const fcgi_req *q = r->req;
        if (r->resp)
            add_response(rt, tvb, r->resp, 0);
        if (q) {
            fcgi_frame_req *fq = frame_req(pinfo, rt, tvb, q, r->feed_idx, FALSE);
            if (r->end_here)
                add_end_summary(fq, tvb, q);
            else if (r->first_response)
                add_ttfb_once(fq, tvb, q);
        }
        add_ended_requests(tvb, pinfo, rt, r, r->feed_idx, FALSE);
        /* (anomalies of the record's first bytes are shown with its hold,
         * in the frame that carried them) */
        for (i = 0; i < r->nanom; i++)
            add_expert(tvb, pinfo, rt, &r->anom[i]);
        if (r->body)
            dissect_body(tvb, pinfo, rt, r);
        if (have_tap_listener(fastcgi_tap)) {
            build_tap(r, h.type);
            queue_tap(pinfo, &r->tap);
        }
    }
    return (int)len;
}

/* What the decoder said while it took bytes that are no record of their
 * own (a gap, bytes skipped while resynchronising, the start of a record
 * that never completed), or when the connection or the capture ended:
 * the requests that ended there and the anomalies, queued on the tap as
 * one pseudo record (record_type -2 for a segment, -1 for the end). */
static void
show_results(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, fcgi_rec *sr, int record_type)
{
    guint i;
    add_ended_requests(tvb, pinfo, tree, sr, sr->feed_idx ? sr->feed_idx : G_MAXUINT32, record_type == -1);
    for (i = 0; i < sr->nanom; i++)
        add_expert(tvb, pinfo, tree, &sr->anom[i]);
    if ((sr->nanom || sr->nended) && have_tap_listener(fastcgi_tap)) {
        build_tap(sr, record_type);
        queue_tap(pinfo, &sr->tap);
    }
}

/* Connection-end results (postseq): shown once, under "Connection end" on
 * the conversation's last FastCGI frame. */
static void
show_late(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, fcgi_conv *cv)
{
    proto_item *ti;
    proto_tree *lt;
    if (!cv->late || pinfo->num != cv->show_frame || !cv->finished)
        return;
    if (p_get_proto_data(pinfo->pool, pinfo, proto_fastcgi, 2))
        return;
    p_add_proto_data(pinfo->pool, pinfo, proto_fastcgi, 2, GUINT_TO_POINTER(1));
    ti = proto_tree_add_item(tree, hf_conn_end, tvb, 0, 0, ENC_NA);
    proto_item_set_generated(ti);
    lt = proto_item_add_subtree(ti, ett_record);
    if (cv->untracked_requests || cv->untracked_records) {
        proto_item *it = proto_tree_add_uint64(lt, hf_untracked_requests, tvb, 0, 0, cv->untracked_requests);
        proto_item_set_generated(it);
        it = proto_tree_add_uint64(lt, hf_untracked_records, tvb, 0, 0, cv->untracked_records);
        proto_item_set_generated(it);
        proto_item_append_text(ti, " (%" G_GUINT64_FORMAT " requests not tracked)", cv->untracked_requests);
    }
    show_results(tvb, pinfo, lt, cv->late, -1);
}

static int
dissect_fastcgi(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
    struct tcpinfo *tcpinfo = (struct tcpinfo *)data;
    guint32 len = tvb_reported_length(tvb);
    guint32 caplen = tvb_captured_length(tvb);
    fcgi_pdu_ctx ctx;
    fcgi_conv *cv;
    proto_tree *ft;
    guint32 skip = 0;
    tvbuff_t *rtvb;

    if (len == 0)
        return 0;
    /* Columns and the FastCGI item only once something is shown: a segment
     * that only starts a record TCP reassembles stays a TCP row (TCP does
     * not call us for it again on later passes). */
    memset(&ctx, 0, sizeof ctx);
    ctx.tcpinfo = tcpinfo;

    cv = get_conv(pinfo, TRUE);
    if (!PINFO_FD_VISITED(pinfo)) {
        if (!cv->server_known)
            decide_server(cv, pinfo, tvb_get_ptr(tvb, 0, caplen), caplen);
        ensure_decoder(cv);
        cv->last_frame = pinfo->num;
        cv->last_ts = pinfo->abs_ts;
    }
    ctx.cv = cv;
    ctx.dir = packet_dir(cv, pinfo);
    if (!PINFO_FD_VISITED(pinfo) && cv->tcpd && cv->tcpd->fwd)
        cv->flow[ctx.dir] = cv->tcpd->fwd;

    ft = NULL;

    if (tcpinfo) {
        fcgi_dirstate *ds = &cv->dir[ctx.dir];
        guint32 seq = tcpinfo->seq;
        fcgi_rec *sr = NULL;   /* this segment's own results (gap, resync) */
        if (!PINFO_FD_VISITED(pinfo)) {
            fcgi_frame *f = frame_data_get(pinfo, TRUE);
            gint64 now = nstime_ns(&pinfo->abs_ts);
            fcgi_frame_rec fr;
            sr = wmem_new0(wmem_file_scope(), fcgi_rec);
            sr->dir = (guint8)ctx.dir;
            sr->feed_idx = ++cv->nfeeds;
            cv->cur = sr;
            cv->cur_base = NULL;
            if (ds->started && (gint32)(seq - ds->next_seq) > 0 && !tcpinfo->is_reassembled) {
                /* Bytes are missing before this segment. */
                note_gap(ds, ds->next_seq, seq, pinfo->num);
                if (cv->dec)
                    fsd_conn_gap(cv->dec, ctx.dir, (guint64)(guint32)(seq - ds->next_seq), now, pinfo->num);
                ds->hold = NULL;
                ds->next_seq = seq;
                ds->hunting = TRUE;
            }
            if (!ds->started) {
                ds->started = TRUE;
                ds->next_seq = seq;
            }
            if (caplen < len && !tcpinfo->is_reassembled) {
                /* Captured shorter than it was on the wire (snaplen): TCP
                 * cannot reassemble it. The decoder gets what was captured
                 * and a gap for the rest, as the analyzer gives them. */
                fsd_anomaly_event aev;
                gint32 have = (gint32)(ds->next_seq - seq);
                guint32 k = have > 0 ? (guint32)have : 0;
                memset(&aev, 0, sizeof aev);
                aev.id = FSD_A_snaplen_truncated;
                aev.severity = fsd_anomaly_severity(FSD_A_snaplen_truncated);
                aev.dir = ctx.dir;
                aev.request_id = -1;
                aev.at.ns = now;
                aev.at.tag = pinfo->num;
                aev.at.set = TRUE;
                g_snprintf(aev.detail, sizeof aev.detail, "%u of %u bytes captured", caplen, len);
                add_anom(sr, &aev);
                if (cv->dec && k < caplen)
                    fsd_conn_feed(cv->dec, ctx.dir, tvb_get_ptr(tvb, k, caplen - k), caplen - k, now, pinfo->num);
                if (cv->dec && k < len)
                    fsd_conn_gap(cv->dec, ctx.dir, len - MAX(k, caplen), now, pinfo->num);
                ds->next_seq = seq + len;
                ds->hold = NULL;
                ds->hunting = TRUE;
                sr->snaplen_cut = TRUE;
                skip = caplen;
            } else if (ds->hunting && seq == ds->next_seq) {
                /* Where records start again: the decoder's own resync rule.
                 * An offset only more bytes could confirm is taken too: TCP
                 * reassembly then brings those bytes. */
                const guint8 *b = tvb_get_ptr(tvb, 0, caplen);
                size_t undecided = caplen;
                ptrdiff_t p = fsd_find_resync(b, caplen, false, &undecided);
                skip = p >= 0 ? (guint32)p : (guint32)MIN(undecided, (size_t)caplen);
                if (skip && cv->dec) {
                    /* The decoder sees the skipped bytes too (it hunts on its own). */
                    fsd_conn_feed(cv->dec, ctx.dir, b, skip, now, pinfo->num);
                }
                ds->next_seq = seq + skip;
                if (skip < caplen)
                    ds->hunting = FALSE;
            }
            cv->cur = NULL;
            sr->body_len = skip;
            if (skip || sr->nanom || sr->nended || sr->snaplen_cut) {
                fr.seq = seq;
                fr.rec = sr;
                wmem_array_append_one(f->skips, fr);
            }
        } else {
            fcgi_frame *f = frame_data_get(pinfo, FALSE);
            guint hint = 0;
            sr = f ? frame_lookup(f->skips, seq, &hint) : NULL;
            if (sr)
                skip = sr->body_len;
        }
        if (sr && (skip || sr->snaplen_cut || sr->nanom || sr->nended)) {
            first_call_in_frame(pinfo);
            ft = frame_top_tree(tvb, pinfo, tree, -1);
        }
        if (sr && sr->snaplen_cut) {
            proto_item *it = proto_tree_add_item(ft, hf_skipped, tvb, 0, skip, ENC_NA);
            proto_item_append_text(it, " (segment captured short: %u of %u bytes; not split into records)", caplen, len);
            col_append_sep_fstr(pinfo->cinfo, COL_INFO, ", ", "[segment cut by snaplen: %u of %u bytes]", caplen, len);
        } else if (skip) {
            proto_item *it = proto_tree_add_item(ft, hf_skipped, tvb, 0, skip, ENC_NA);
            proto_item_append_text(it, " (not at a record boundary: the capture missed the start of this record)");
            col_append_sep_fstr(pinfo->cinfo, COL_INFO, ", ", "[%u bytes before a record boundary]", skip);
        }
        if (sr)
            show_results(tvb, pinfo, ft, sr, -2);
        ctx.base_seq = seq + skip;
    }
    if (skip >= caplen)
        return (int)caplen;
    rtvb = skip ? tvb_new_subset_remaining(tvb, skip) : tvb;
    tcp_dissect_pdus(rtvb, pinfo, tree, pref_desegment, FSD_HEADER_LEN,
                     get_fastcgi_pdu_len, dissect_fastcgi_record, &ctx);
    if (skip && pinfo->desegment_len)
        pinfo->desegment_offset += skip;
    if (tcpinfo && !PINFO_FD_VISITED(pinfo) && pinfo->desegment_len && cv->dec) {
        /* The tail of this tvb starts a record TCP will reassemble later:
         * the decoder takes its bytes now, stamped with this frame. */
        fcgi_dirstate *ds = &cv->dir[ctx.dir];
        guint32 off = pinfo->desegment_offset;
        if (off < caplen) {
            guint32 pseq = tcpinfo->seq + off;
            gint32 have = (gint32)(ds->next_seq - pseq);
            guint32 k = have > 0 ? (guint32)have : 0;
            if (k < caplen - off) {
                fcgi_frame *f = frame_data_get(pinfo, TRUE);
                /* One hold per frame: what the decoder says while it takes
                 * these bytes is shown in this frame, in every pass. */
                fcgi_rec *h = wmem_new0(wmem_file_scope(), fcgi_rec);
                h->dir = (guint8)ctx.dir;
                h->prev_hold = ds->hold && ds->hold_seq == pseq ? ds->hold : NULL;
                wmem_array_append_one(f->holds, h);
                g_ptr_array_add(cv->holds, h);
                h->feed_idx = ++cv->nfeeds;
                cv->cur = h;
                cv->cur_base = NULL;
                if (have < 0) {
                    note_gap(ds, ds->next_seq, pseq, pinfo->num);
                    fsd_conn_gap(cv->dec, ctx.dir, (guint64)(guint32)(-have), nstime_ns(&pinfo->abs_ts), pinfo->num);
                }
                fsd_conn_feed(cv->dec, ctx.dir, tvb_get_ptr(tvb, off + k, caplen - off - k), caplen - off - k,
                              nstime_ns(&pinfo->abs_ts), pinfo->num);
                cv->cur = NULL;
                ds->next_seq = pseq + (caplen - off);
                ds->hold = h;
                ds->hold_seq = pseq;
            }
        }
    }
    return (int)len;
}

static int hf_tcp_flags = -1;
static int hf_tcp_seq = -1;
static int hf_tcp_len = -1;

/* The last (innermost) value of a TCP field the postdissector asked for. */
static gboolean
tcp_field_of(proto_tree *tree, int hf, guint32 *v)
{
    GPtrArray *a;
    if (!tree || hf < 0)
        return FALSE;
    a = proto_get_finfo_ptr_array(tree, hf);
    if (!a || a->len == 0)
        return FALSE;
    *v = fvalue_get_uinteger(FCGI_FI_VALUE((field_info *)g_ptr_array_index(a, a->len - 1)));
    return TRUE;
}

/* TCP shows sequence numbers relative to the ISN (its default)? */
static gboolean
tcp_relative_seq(void)
{
    module_t *m = prefs_find_module("tcp");
    pref_t *p = m ? prefs_find_preference(m, "relative_sequence_numbers") : NULL;
    return p && prefs_get_bool_value(p, pref_current);
}

/* FIN and RST of this packet from the tcp.flags field the postdissector
 * asked for (set_postdissector_wanted_hfids); FALSE when not in the tree. */
static gboolean
tcp_flags_of(proto_tree *tree, gboolean *fin, gboolean *rst)
{
    guint32 v;
    if (!tcp_field_of(tree, hf_tcp_flags, &v))
        return FALSE;
    *fin = (v & 0x001) != 0;
    *rst = (v & 0x004) != 0;
    return TRUE;
}

/* A frame shows FastCGI results outside a record (a record start, a close):
 * the Protocol column says so (TCP's Info stays) and the anomalies are named. */
static void
post_columns(packet_info *pinfo, const fcgi_rec *h)
{
    guint i;
    col_set_str(pinfo->cinfo, COL_PROTOCOL, "FASTCGI");
    for (i = 0; h && i < h->nanom && i < 3; i++)
        col_append_sep_fstr(pinfo->cinfo, COL_INFO, " ", "[FastCGI %s]", anomaly_ids[h->anom[i].id]);
}

/* Runs after every dissector of every frame, in every pass. First pass: a
 * FIN or RST of a FastCGI connection goes to the decoder at its own packet,
 * in order with the records (after this frame's bytes), so the decoder sees
 * e.g. the web server give up before the application's late answer. Every
 * pass: what the decoder said at this frame outside a whole record (record
 * starts TCP is still reassembling, the close) is shown here, under the
 * frame's FastCGI item, so one pass and two passes show the same. */
static int
dissect_fastcgi_post(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    conversation_t *conv;
    fcgi_conv *cv;
    fcgi_frame *f;
    guint8 cc, fresh;
    fsd_dir d;
    guint i, n;

    if (pinfo->ptype != PT_TCP)
        return 0;
    if (!PINFO_FD_VISITED(pinfo)) {
        conv = find_conversation_pinfo(pinfo, 0);
        cv = conv ? (fcgi_conv *)conversation_get_proto_data(conv, proto_fastcgi) : NULL;
        if (cv && cv->tcpd && cv->server_known && !cv->finished) {
            fcgi_rec *cr = NULL;
            gboolean is_fin, is_rst;
            cc = cv->tcpd->conversation_completeness;
            fresh = (guint8)(cc & ~cv->seen_cc);
            cv->seen_cc = cc;
            d = packet_dir(cv, pinfo);
            /* This packet's TCP flags (the postdissector asks for tcp.flags);
             * without them, TCP's completeness bits: the first FIN and RST. */
            if (tcp_flags_of(tree, &is_fin, &is_rst)) {
                fresh = (guint8)((is_fin ? 0x10 : 0) | (is_rst ? 0x20 : 0));
            }
            if (cv->dec && !cv->closed[d] &&
                (((fresh & 0x20) && !cv->rst_seen) || (!cv->fin_seen[d] && (fresh & 0x10)))) {
                cr = wmem_new0(wmem_file_scope(), fcgi_rec);
                cr->dir = (guint8)d;
                cr->feed_idx = ++cv->nfeeds;
            }
            if ((fresh & 0x20) && !cv->rst_seen) {       /* this packet carried the first RST */
                cv->rst_seen = TRUE;
                cv->rst_dir = d;
                cv->rst_ts = nstime_ns(&pinfo->abs_ts);
                cv->rst_frame = pinfo->num;
                feed_close(cv, d, FSD_CLOSE_RST, cv->rst_ts, pinfo->num, cr);
            }
            /* This side's first FIN */
            if (!cv->fin_seen[d] && (fresh & 0x10)) {
                /* Its sequence number says whether bytes before it are
                 * missing from the capture (as the analyzer sees it). */
                fcgi_dirstate *ds = &cv->dir[d];
                guint32 fseq;
                if (!ds->started && (cc & 0x01) && tcp_relative_seq()) {
                    /* no byte of this side captured, its SYN was: data began at 1 */
                    ds->started = TRUE;
                    ds->next_seq = 1;
                }
                if (cv->dec && ds->started && tcp_field_of(tree, hf_tcp_seq, &fseq) &&
                    (gint32)(fseq - ds->next_seq) > 0) {
                    cv->cur = cr;
                    note_gap(ds, ds->next_seq, fseq, pinfo->num);
                    fsd_conn_gap(cv->dec, d, (guint64)(guint32)(fseq - ds->next_seq),
                                 nstime_ns(&pinfo->abs_ts), pinfo->num);
                    cv->cur = NULL;
                    ds->next_seq = fseq;
                    ds->hold = NULL;
                    ds->hunting = TRUE;
                }
                cv->fin_seen[d] = TRUE;
                cv->fin_ts[d] = nstime_ns(&pinfo->abs_ts);
                cv->fin_frame[d] = pinfo->num;
                feed_close(cv, d, FSD_CLOSE_FIN, cv->fin_ts[d], pinfo->num, cr);
            }
            if (cr && (cr->nanom || cr->nended)) {
                f = frame_data_get(pinfo, TRUE);
                if (!f->closes)
                    f->closes = wmem_array_new(wmem_file_scope(), sizeof(fcgi_rec *));
                wmem_array_append_one(f->closes, cr);
            }
            /* A segment bringing bytes the decoder was told are missing:
             * they were reordered, not lost (Wireshark's TCP hands
             * out-of-order bytes on only with its preference on). */
            {
                fcgi_dirstate *ds = &cv->dir[d];
                guint32 sseq, slen, gi, gn = ds->gaps ? wmem_array_get_count(ds->gaps) : 0;
                if (gn && tcp_field_of(tree, hf_tcp_seq, &sseq) && tcp_field_of(tree, hf_tcp_len, &slen) && slen) {
                    /* (a later frame: a record reassembled in this frame can
                     * declare a gap that reaches into this very segment) */
                    for (gi = 0; gi < gn; gi++) {
                        fcgi_gap *g = (fcgi_gap *)wmem_array_index(ds->gaps, gi);
                        if (!g->arrived && g->frame < pinfo->num && (gint32)(sseq - g->end) < 0 && (gint32)(sseq + slen - g->start) > 0) {
                            g->arrived = TRUE;
                            frame_data_get(pinfo, TRUE)->late_gap_frame = g->frame;
                            break;
                        }
                    }
                }
            }
        }
    }
    f = frame_data_get(pinfo, FALSE);
    if (!f)
        return 0;
    n = wmem_array_get_count(f->holds);
    /* (the connection's end, below, comes after this frame's own results) */
    for (i = 0; i < n; i++) {
        fcgi_rec *h = *(fcgi_rec **)wmem_array_index(f->holds, i);
        if (h->nanom || h->nended) {
            post_columns(pinfo, h);
            show_results(tvb, pinfo, frame_top_tree(tvb, pinfo, tree, 0), h, -2);
        }
    }
    if (f->late_gap_frame) {
        proto_tree *ft = frame_top_tree(tvb, pinfo, tree, 0);
        proto_item *it = proto_tree_add_uint(ft, hf_late_gap, tvb, 0, 0, f->late_gap_frame);
        proto_item_set_generated(it);
        post_columns(pinfo, NULL);
        col_append_sep_str(pinfo->cinfo, COL_INFO, " ", "[FastCGI: bytes taken as lost arrived out of order]");
        expert_add_info_format(pinfo, it, &ei_reordered,
            "tcp_reordered: this segment brings bytes the decoder was told are missing at frame %u: "
            "reordered, not lost; with TCP's \"Reassemble out-of-order segments\" preference "
            "(tcp.reassemble_out_of_order) they are decoded", f->late_gap_frame);
    }
    n = f->closes ? wmem_array_get_count(f->closes) : 0;
    for (i = 0; i < n; i++) {
        fcgi_rec *cr = *(fcgi_rec **)wmem_array_index(f->closes, i);
        proto_tree *ft = frame_top_tree(tvb, pinfo, tree, 0);
        post_columns(pinfo, cr);
        proto_item *it = proto_tree_add_item(ft, hf_conn_close, tvb, 0, 0, ENC_NA);
        proto_item_set_generated(it);
        show_results(tvb, pinfo, proto_item_add_subtree(it, ett_record), cr, -2);
        for (guint j = 0; j < cr->nended; j++)
            if (cr->ended[j]->end_reason && strcmp(cr->ended[j]->end_reason, "complete") != 0)
                col_append_sep_fstr(pinfo->cinfo, COL_INFO, " ", "[FastCGI request id %u %s]",
                                    cr->ended[j]->id, cr->ended[j]->end_reason);
    }
    conv = find_conversation_pinfo(pinfo, 0);
    cv = conv ? (fcgi_conv *)conversation_get_proto_data(conv, proto_fastcgi) : NULL;
    if (cv)
        show_late(tvb, pinfo, frame_top_tree(tvb, pinfo, tree, 0), cv);
    return 0;
}

static gboolean
dissect_fastcgi_heur(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
    guint32 caplen = tvb_captured_length(tvb);
    const guint8 *b;
    conversation_t *conv;
    if (caplen < FSD_HEADER_LEN)
        return FALSE;
    b = tvb_get_ptr(tvb, 0, caplen);
    /* The decoder's one recognition rule (fsd_recognise, the analyzer's too):
     * from the start of a direction when the SYN was captured, else the
     * resync rule, here over this one segment, whose end counts as the end
     * of the bytes (a record ending exactly there confirms it: a lone
     * BEGIN_REQUEST segment is taken, as the analyzer takes it once the
     * next record arrives). A connection whose first bytes were not FastCGI
     * is not looked at again. */
    {
        struct tcpinfo *ti = (struct tcpinfo *)data;
        struct tcp_analysis *tcpd = get_tcp_conversation_data(NULL, pinfo);
        unsigned flags = FSD_RECOGNISE_AT_END;
        if (tcpd && (tcpd->conversation_completeness & 0x01 /* SYN sent */)) {
            if (!ti || ti->seq != 1)
                return FALSE;
            flags |= FSD_RECOGNISE_FROM_START;
        }
        if (fsd_recognise(b, caplen, flags, NULL, NULL) != 1)
            return FALSE;
    }
    conv = find_or_create_conversation(pinfo);
    conversation_set_dissector(conv, fastcgi_handle);
    dissect_fastcgi(tvb, pinfo, tree, data);
    return TRUE;
}

/* ---- registration ----------------------------------------------------- */

static const value_string type_vals[] = {
    { FSD_BEGIN_REQUEST, "BEGIN_REQUEST" },
    { FSD_ABORT_REQUEST, "ABORT_REQUEST" },
    { FSD_END_REQUEST, "END_REQUEST" },
    { FSD_PARAMS, "PARAMS" },
    { FSD_STDIN, "STDIN" },
    { FSD_STDOUT, "STDOUT" },
    { FSD_STDERR, "STDERR" },
    { FSD_DATA, "DATA" },
    { FSD_GET_VALUES, "GET_VALUES" },
    { FSD_GET_VALUES_RESULT, "GET_VALUES_RESULT" },
    { FSD_UNKNOWN_TYPE, "UNKNOWN_TYPE" },
    { 0, NULL }
};

static const value_string role_vals[] = {
    { FSD_RESPONDER, "RESPONDER" },
    { FSD_AUTHORIZER, "AUTHORIZER" },
    { FSD_FILTER, "FILTER" },
    { 0, NULL }
};

static const value_string protocol_status_vals[] = {
    { FSD_REQUEST_COMPLETE, "REQUEST_COMPLETE" },
    { FSD_CANT_MPX_CONN, "CANT_MPX_CONN" },
    { FSD_OVERLOADED, "OVERLOADED" },
    { FSD_UNKNOWN_ROLE, "UNKNOWN_ROLE" },
    { 0, NULL }
};

static const value_string dir_vals[] = {
    { FSD_DIR_CLIENT, "client to application (web server -> FastCGI server)" },
    { FSD_DIR_SERVER, "application to client (FastCGI server -> web server)" },
    { 0, NULL }
};

void
proto_register_fastcgi(void)
{
    static hf_register_info hf[] = {
        { &hf_record, { "Record", "fastcgi.record", FT_STRING, BASE_NONE, NULL, 0x0, "One FastCGI record (its type name)", HFILL } },
        { &hf_version, { "Version", "fastcgi.version", FT_UINT8, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_type, { "Type", "fastcgi.type", FT_UINT8, BASE_DEC, VALS(type_vals), 0x0, NULL, HFILL } },
        { &hf_request_id, { "Request ID", "fastcgi.request_id", FT_UINT16, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_content_length, { "Content length", "fastcgi.content_length", FT_UINT16, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_padding_length, { "Padding length", "fastcgi.padding_length", FT_UINT8, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_reserved, { "Reserved", "fastcgi.reserved", FT_UINT8, BASE_HEX, NULL, 0x0, NULL, HFILL } },
        { &hf_role, { "Role", "fastcgi.role", FT_UINT16, BASE_DEC, VALS(role_vals), 0x0, NULL, HFILL } },
        { &hf_flags, { "Flags", "fastcgi.flags", FT_UINT8, BASE_HEX, NULL, 0x0, NULL, HFILL } },
        { &hf_flags_keep_conn, { "Keep connection", "fastcgi.flags.keep_conn", FT_BOOLEAN, 8, TFS(&tfs_keep_conn), FSD_FLAG_KEEP_CONN, NULL, HFILL } },
        { &hf_body_reserved, { "Reserved", "fastcgi.body.reserved", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_app_status, { "Application status", "fastcgi.end.app_status", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_protocol_status, { "Protocol status", "fastcgi.end.protocol_status", FT_UINT8, BASE_DEC, VALS(protocol_status_vals), 0x0, NULL, HFILL } },
        { &hf_unknown_type_type, { "Unknown type", "fastcgi.unknown_type.type", FT_UINT8, BASE_DEC, NULL, 0x0, "The type the application did not understand", HFILL } },
        { &hf_param, { "Parameter", "fastcgi.param", FT_STRING, BASE_NONE, NULL, 0x0, "A name-value pair (its name)", HFILL } },
        { &hf_param_name, { "Name", "fastcgi.param.name", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_param_value, { "Value", "fastcgi.param.value", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_param_name_len, { "Name length", "fastcgi.param.name_length", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_param_value_len, { "Value length", "fastcgi.param.value_length", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_param_straddled, { "Spans two records", "fastcgi.param.straddled", FT_BOOLEAN, BASE_NONE, NULL, 0x0, "The pair began in an earlier PARAMS record", HFILL } },
        { &hf_stdin, { "STDIN data", "fastcgi.stdin", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_stdout, { "STDOUT data", "fastcgi.stdout", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_stderr, { "STDERR data", "fastcgi.stderr", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_data, { "DATA data", "fastcgi.data", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_content, { "Content", "fastcgi.content", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_padding, { "Padding", "fastcgi.padding", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_eos, { "End of stream", "fastcgi.eos", FT_BOOLEAN, BASE_NONE, NULL, 0x0, "Empty record: the stream ends", HFILL } },
        { &hf_req_method, { "Method", "fastcgi.request.method", FT_STRING, BASE_NONE, NULL, 0x0, "REQUEST_METHOD", HFILL } },
        { &hf_req_uri, { "URI", "fastcgi.request.uri", FT_STRING, BASE_NONE, NULL, 0x0, "REQUEST_URI", HFILL } },
        { &hf_req_script, { "Script", "fastcgi.request.script", FT_STRING, BASE_NONE, NULL, 0x0, "SCRIPT_NAME, else SCRIPT_FILENAME", HFILL } },
        { &hf_status, { "Status", "fastcgi.status", FT_UINT16, BASE_DEC, NULL, 0x0, "HTTP status as the web server derives it from the CGI header (Status:, else Location: 302, else 200)", HFILL } },
        { &hf_resp_status, { "Response status", "fastcgi.response.status", FT_UINT16, BASE_DEC, NULL, 0x0, "The CGI response header block of this STDOUT: its status (Status:, else 302 with Location:, else 200; 0 when the block did not complete); the request's status is fastcgi.status, once per request", HFILL } },
        { &hf_status_line, { "Status line", "fastcgi.response.status_line", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_resp_header, { "Response header", "fastcgi.response.header", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_content_type, { "Content-Type", "fastcgi.response.content_type", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_header_len, { "Header block length", "fastcgi.response.header_length", FT_UINT64, BASE_DEC, NULL, 0x0, "STDOUT bytes taken by the CGI header block", HFILL } },
        { &hf_body, { "Response body", "fastcgi.response.body", FT_BYTES, BASE_NONE, NULL, 0x0, "STDOUT after the CGI header block, reassembled", HFILL } },
        { &hf_request_in, { "Request in", "fastcgi.request_in", FT_FRAMENUM, BASE_NONE, FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0, "The frame with the BEGIN_REQUEST of this request", HFILL } },
        { &hf_response_in, { "Response in", "fastcgi.response_in", FT_FRAMENUM, BASE_NONE, FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0, "The frame with the END_REQUEST of this request", HFILL } },
        { &hf_time, { "Time", "fastcgi.time", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0, "Latency: END_REQUEST's last byte minus BEGIN_REQUEST's first byte", HFILL } },
        { &hf_ttfb, { "Time to first byte", "fastcgi.ttfb", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0, "First STDOUT/STDERR byte minus BEGIN_REQUEST's first byte", HFILL } },
        { &hf_end_reason, { "End", "fastcgi.end_reason", FT_STRING, BASE_NONE, NULL, 0x0, "How the request ended (complete, closed, reset, capture_end, desync, gap)", HFILL } },
        { &hf_status_source, { "Status from", "fastcgi.status_source", FT_STRING, BASE_NONE, NULL, 0x0, "Where the status came from: header (Status:), location (Location: without Status: -> 302), default (200)", HFILL } },
        { &hf_user_status, { "User status", "fastcgi.user_status", FT_UINT16, BASE_DEC, NULL, 0x0, "The status the web server's client got as far as the wire shows (502 rejected header, 504/499 abandoned, ...); absent when the wire cannot tell", HFILL } },
        { &hf_user_outcome, { "User outcome", "fastcgi.user_outcome", FT_STRING, BASE_NONE, NULL, 0x0, "as_answered, unknown, rejected_header, gave_up_timeout, client_gone, backend_failed", HFILL } },
        { &hf_closed_by, { "Closed by", "fastcgi.closed_by", FT_STRING, BASE_NONE, NULL, 0x0, "The first FIN/RST while the request was outstanding", HFILL } },
        { &hf_gap, { "Capture gap", "fastcgi.gap", FT_BOOLEAN, BASE_NONE, NULL, 0x0, "Bytes of this request were missing from the capture", HFILL } },
        { &hf_elapsed, { "Elapsed", "fastcgi.elapsed", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0, "Incomplete request: BEGIN_REQUEST to the close, or to its last byte seen", HFILL } },
        { &hf_abandoned_after, { "Abandoned after", "fastcgi.abandoned_after", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0, "BEGIN_REQUEST to the web server's close while the request was outstanding", HFILL } },
        { &hf_direction, { "Direction", "fastcgi.direction", FT_UINT8, BASE_DEC, VALS(dir_vals), 0x0, NULL, HFILL } },
        { &hf_skipped, { "Skipped bytes", "fastcgi.skipped", FT_BYTES, BASE_NONE, NULL, 0x0, "Bytes before the first record boundary the decoder found", HFILL } },
        { &hf_retransmission, { "Retransmitted record (already decoded)", "fastcgi.retransmission", FT_NONE, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_req_summary, { "Request", "fastcgi.request", FT_UINT16, BASE_DEC, NULL, 0x0, "The request (by id) a record belongs to or that ended with it", HFILL } },
        { &hf_req_anomaly, { "Request anomaly", "fastcgi.request.anomaly", FT_STRING, BASE_NONE, NULL, 0x0, "Anomaly ids the decoder attached to the request", HFILL } },
        { &hf_anomaly, { "Anomaly", "fastcgi.anomaly", FT_STRING, BASE_NONE, NULL, 0x0, "An anomaly the decoder reported here (its catalogue id); the expert info is attached to it", HFILL } },
        { &hf_anomaly_detail, { "Detail", "fastcgi.anomaly.detail", FT_STRING, BASE_NONE, NULL, 0x0, "What the decoder said about this occurrence", HFILL } },
        { &hf_anomaly_request, { "Request ID", "fastcgi.anomaly.request_id", FT_UINT16, BASE_DEC, NULL, 0x0, "The request the anomaly is about", HFILL } },
        { &hf_untracked_requests, { "Requests not tracked", "fastcgi.untracked_requests", FT_UINT64, BASE_DEC, NULL, 0x0, "BEGIN_REQUESTs the decoder did not track on this connection (its request table was full: request_table_full)", HFILL } },
        { &hf_untracked_records, { "Records of untracked requests", "fastcgi.untracked_records", FT_UINT64, BASE_DEC, NULL, 0x0, "Later records of those request ids (framed, not checked one by one)", HFILL } },
        { &hf_late_gap, { "Bytes taken as lost at", "fastcgi.reordered_gap", FT_FRAMENUM, BASE_NONE, NULL, 0x0, "This segment brings bytes the decoder was told are missing at that frame (capture_gap): they came out of order", HFILL } },
        { &hf_conn_close, { "Connection close", "fastcgi.connection_close", FT_NONE, BASE_NONE, NULL, 0x0, "What the decoder reported when this FIN or RST reached it", HFILL } },
        { &hf_conn_end, { "Connection end", "fastcgi.connection_end", FT_NONE, BASE_NONE, NULL, 0x0, "What was still open when the connection or the capture ended", HFILL } },
    };
    static gint *ett[] = {
        &ett_fastcgi, &ett_record, &ett_header, &ett_body, &ett_flags,
        &ett_param, &ett_response, &ett_request, &ett_anomaly,
    };
    /* Expert infos from anomalies.def: fastcgi.<id> at the catalogue
     * severity, plus fastcgi.<id>.error for ids raised higher at times and
     * fastcgi.<id>.note for warnings and errors the decoder may lower to a
     * note where the evidence says so (capture end, a healthy peer's habit). */
    static const char *const ei_names[FSD_A_COUNT] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) "fastcgi." #id,
#include <fsd/anomalies.def>
#undef FSD_ANOMALY
    };
    static const char *const ei_names_raised[FSD_A_COUNT] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) "fastcgi." #id ".error",
#include <fsd/anomalies.def>
#undef FSD_ANOMALY
    };
    static const char *const ei_names_lowered[FSD_A_COUNT] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) "fastcgi." #id ".note",
#include <fsd/anomalies.def>
#undef FSD_ANOMALY
    };
    static const char *const ei_summaries[FSD_A_COUNT] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) summary,
#include <fsd/anomalies.def>
#undef FSD_ANOMALY
    };
    static const int ei_sev[FSD_A_COUNT] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) FSD_SEV_##sev,
#include <fsd/anomalies.def>
#undef FSD_ANOMALY
    };
    static const int ei_maxsev[FSD_A_COUNT] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) FSD_SEV_##maxsev,
#include <fsd/anomalies.def>
#undef FSD_ANOMALY
    };
    static ei_register_info ei[3 * FSD_A_COUNT + 2];
    expert_module_t *expert;
    module_t *mod;
    int i, n = 0;

    for (i = 0; i < FSD_A_COUNT; i++) {
        ei[n].ids = &ei_anomaly[i];
        ei[n].eiinfo.name = ei_names[i];
        ei[n].eiinfo.group = pi_group((fsd_anomaly_id)i);
        ei[n].eiinfo.severity = pi_severity((fsd_severity)ei_sev[i]);
        ei[n].eiinfo.summary = ei_summaries[i];
        ei[n].eiinfo.id = 0;
        ei[n].eiinfo.protocol = NULL;
        ei[n].eiinfo.orig_severity = 0;
        ei[n].eiinfo.hf_info.p_id = NULL;
        n++;
        ei_anomaly[i].ei = EI_INIT_EI;
        ei_anomaly[i].hf = EI_INIT_HF;
        ei_anomaly_raised[i].ei = EI_INIT_EI;
        ei_anomaly_raised[i].hf = EI_INIT_HF;
        ei_anomaly_lowered[i].ei = EI_INIT_EI;
        ei_anomaly_lowered[i].hf = EI_INIT_HF;
        if (ei_maxsev[i] > ei_sev[i]) {
            ei[n] = ei[n - 1];
            ei[n].ids = &ei_anomaly_raised[i];
            ei[n].eiinfo.name = ei_names_raised[i];
            ei[n].eiinfo.severity = pi_severity((fsd_severity)ei_maxsev[i]);
            n++;
        }
        if (ei_sev[i] > FSD_SEV_NOTE) {
            ei[n] = ei[n - 1 - (ei_maxsev[i] > ei_sev[i])];
            ei[n].ids = &ei_anomaly_lowered[i];
            ei[n].eiinfo.name = ei_names_lowered[i];
            ei[n].eiinfo.severity = pi_severity(FSD_SEV_NOTE);
            n++;
        }
    }

    ei[n].ids = &ei_reordered;
    ei[n].eiinfo.name = "fastcgi.tcp_reordered";
    ei[n].eiinfo.group = PI_SEQUENCE;
    ei[n].eiinfo.severity = PI_NOTE;
    ei[n].eiinfo.summary = "bytes taken as lost (capture_gap) arrived later out of order: enable TCP's "
                           "\"Reassemble out-of-order segments\" preference";
    ei[n].eiinfo.id = 0;
    ei[n].eiinfo.protocol = NULL;
    ei[n].eiinfo.orig_severity = 0;
    ei[n].eiinfo.hf_info.p_id = NULL;
    n++;

    ei[n].ids = &ei_expert_limit;
    ei[n].eiinfo.name = "fastcgi.expert_info_limit";
    ei[n].eiinfo.group = PI_UNDECODED;
    ei[n].eiinfo.severity = PI_WARN;
    ei[n].eiinfo.summary = "more anomalies in this frame than the plugin raises as expert infos "
                           "(" G_STRINGIFY(FCGI_EXPERT_PER_FRAME) "); the rest are in the packet tree only (fastcgi.anomaly)";
    ei[n].eiinfo.id = 0;
    ei[n].eiinfo.protocol = NULL;
    ei[n].eiinfo.orig_severity = 0;
    ei[n].eiinfo.hf_info.p_id = NULL;
    n++;

    proto_fastcgi = proto_register_protocol("FastCGI (fcgiscope)", "FASTCGI", "fastcgi");
    proto_register_field_array(proto_fastcgi, hf, array_length(hf));
    proto_register_subtree_array(ett, array_length(ett));
    expert = expert_register_protocol(proto_fastcgi);
    expert_register_field_array(expert, ei, n);

    fastcgi_handle = register_dissector("fastcgi", dissect_fastcgi, proto_fastcgi);

    mod = prefs_register_protocol(proto_fastcgi, NULL);
    prefs_register_bool_preference(mod, "desegment",
        "Reassemble FastCGI records spanning multiple TCP segments",
        "Whether records spanning TCP segments are reassembled (needs TCP's "
        "\"Allow subdissectors to reassemble TCP streams\"). Request tracking needs it.",
        &pref_desegment);
    prefs_register_bool_preference(mod, "dissect_body",
        "Hand response bodies to content dissectors",
        "Keep each response's STDOUT (up to the cap below) and dissect the body "
        "after the CGI header by its Content-Type",
        &pref_dissect_body);
    prefs_register_uint_preference(mod, "body_cap", "Response body cap (bytes)",
        "Bytes of each response body kept for the content dissectors", 10, &pref_body_cap);

    fastcgi_tap = register_tap(FASTCGI_TAP_NAME);
    register_init_routine(fastcgi_init);
    register_cleanup_routine(fastcgi_cleanup);
    register_postseq_cleanup_routine(fastcgi_postseq);
}

void
proto_reg_handoff_fastcgi(void)
{
    dissector_add_uint_range_with_preference("tcp.port", FASTCGI_DEFAULT_PORTS, fastcgi_handle);
    heur_dissector_add("tcp", dissect_fastcgi_heur, "FastCGI over TCP (fcgiscope)", "fastcgi_tcp",
                       proto_fastcgi, HEURISTIC_ENABLE);
    /* who sent the FIN or RST that ended a FastCGI connection */
    {
        dissector_handle_t post = create_dissector_handle(dissect_fastcgi_post, proto_fastcgi);
        GArray *wanted = g_array_new(FALSE, FALSE, (guint)sizeof(int));
        register_postdissector(post);
        hf_tcp_flags = proto_registrar_get_id_byname("tcp.flags");
        hf_tcp_seq = proto_registrar_get_id_byname("tcp.seq");
        hf_tcp_len = proto_registrar_get_id_byname("tcp.len");
        if (hf_tcp_flags >= 0) {
            g_array_append_val(wanted, hf_tcp_flags);
            if (hf_tcp_seq >= 0)
                g_array_append_val(wanted, hf_tcp_seq);
            if (hf_tcp_len >= 0)
                g_array_append_val(wanted, hf_tcp_len);
            set_postdissector_wanted_hfids(post, wanted);
        } else {
            g_array_free(wanted, TRUE);
        }
    }
    media_type_table = find_dissector_table("media_type");
    fastcgi_register_stats(proto_fastcgi);
}
