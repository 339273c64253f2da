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
#include <epan/ipproto.h>
#include <epan/export_object.h>
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
#define FASTCGI_EXPERT_PER_FRAME 4000

/* Protocol layers left free below Wireshark's per-frame limit (dissect_body). */
#define FASTCGI_LAYER_MARGIN 32

/* ---- registration handles ------------------------------------------- */

static int proto_fastcgi = -1;
static int fastcgi_tap = -1;
static int fastcgi_eo_tap = -1;

static int hf_fastcgi_record = -1;
static int hf_fastcgi_version = -1;
static int hf_fastcgi_type = -1;
static int hf_fastcgi_request_id = -1;
static int hf_fastcgi_content_length = -1;
static int hf_fastcgi_padding_length = -1;
static int hf_fastcgi_reserved = -1;
static int hf_fastcgi_role = -1;
static int hf_fastcgi_flags = -1;
static int hf_fastcgi_flags_keep_conn = -1;
static int hf_fastcgi_body_reserved = -1;
static int hf_fastcgi_app_status = -1;
static int hf_fastcgi_protocol_status = -1;
static int hf_fastcgi_unknown_type_type = -1;
static int hf_fastcgi_param = -1;
static int hf_fastcgi_param_name = -1;
static int hf_fastcgi_param_value = -1;
static int hf_fastcgi_param_name_len = -1;
static int hf_fastcgi_param_value_len = -1;
static int hf_fastcgi_param_straddled = -1;
static int hf_fastcgi_stdin = -1;
static int hf_fastcgi_stdout = -1;
static int hf_fastcgi_stderr = -1;
static int hf_fastcgi_data = -1;
static int hf_fastcgi_content = -1;
static int hf_fastcgi_padding = -1;
static int hf_fastcgi_eos = -1;
static int hf_fastcgi_req_method = -1;
static int hf_fastcgi_req_uri = -1;
static int hf_fastcgi_req_script = -1;
static int hf_fastcgi_status = -1;
static int hf_fastcgi_status_line = -1;
static int hf_fastcgi_resp_status = -1;
static int hf_fastcgi_resp_header = -1;
static int hf_fastcgi_content_type = -1;
static int hf_fastcgi_header_len = -1;
static int hf_fastcgi_body = -1;
static int hf_fastcgi_request_in = -1;
static int hf_fastcgi_response_in = -1;
static int hf_fastcgi_time = -1;
static int hf_fastcgi_ttfb = -1;
static int hf_fastcgi_end_reason = -1;
static int hf_fastcgi_status_source = -1;
static int hf_fastcgi_user_status = -1;
static int hf_fastcgi_user_outcome = -1;
static int hf_fastcgi_elapsed = -1;
static int hf_fastcgi_closed_by = -1;
static int hf_fastcgi_abandoned_after = -1;
static int hf_fastcgi_gap = -1;
static int hf_fastcgi_direction = -1;
static int hf_fastcgi_skipped = -1;
static int hf_fastcgi_retransmission = -1;
static int hf_fastcgi_piece = -1;
static int hf_fastcgi_rest = -1;
static int hf_fastcgi_conn_end = -1;
static int hf_fastcgi_conn_close = -1;
static int hf_fastcgi_late_gap = -1;
static int hf_fastcgi_req_summary = -1;
static int hf_fastcgi_req_anomaly = -1;
static int hf_fastcgi_anomaly = -1;
static int hf_fastcgi_anomaly_detail = -1;
static int hf_fastcgi_anomaly_request = -1;
static int hf_fastcgi_untracked_requests = -1;
static int hf_fastcgi_untracked_records = -1;
static int hf_fastcgi_whole = -1;
static int hf_fastcgi_whole_params = -1;
static int hf_fastcgi_whole_param = -1;
static int hf_fastcgi_whole_stdin = -1;
static int hf_fastcgi_whole_stdout = -1;
static int hf_fastcgi_whole_stdout_header = -1;
static int hf_fastcgi_whole_body_len = -1;
static int hf_fastcgi_whole_stderr = -1;

static gint ett_fastcgi = -1;
static gint ett_fastcgi_record = -1;
static gint ett_fastcgi_header = -1;
static gint ett_fastcgi_body = -1;
static gint ett_fastcgi_flags = -1;
static gint ett_fastcgi_param = -1;
static gint ett_fastcgi_response = -1;
static gint ett_fastcgi_request = -1;
static gint ett_fastcgi_anomaly = -1;
static gint ett_fastcgi_whole = -1;
static gint ett_fastcgi_whole_part = -1;

/* One expert field per catalogue id, at the catalogue's severity, and a
 * second one (fastcgi.<id>.error) for ids whose events may be raised at a
 * higher severity than the catalogue's (max_severity > severity). */
static expert_field ei_fastcgi_anomaly[FSD_A_COUNT];
static expert_field ei_fastcgi_anomaly_raised[FSD_A_COUNT];
static expert_field ei_fastcgi_anomaly_lowered[FSD_A_COUNT]; /* fastcgi.<id>.note */
static expert_field ei_fastcgi_expert_limit = EI_INIT;
static expert_field ei_fastcgi_reordered = EI_INIT;

static dissector_handle_t fastcgi_handle;
static dissector_table_t media_type_table;

/* Preferences */
static fastcgi_pref_bool pref_desegment = TRUE;
/* Off (the default): a STDIN, STDOUT, STDERR or DATA record longer than
 * its segment is not reassembled; each segment shows its part (the
 * record's header and first bytes, then one piece a segment) and TCP keeps
 * no copy of it; segments out of order inside it are put back in order by
 * the plugin (held pieces, late pieces). On: TCP reassembles every record,
 * as the built-in fcgi does. The decoder takes the bytes as they arrive
 * either way; the response body is still dissected and exported whole. */
static fastcgi_pref_bool pref_reassemble_streams = FALSE;
static fastcgi_pref_bool pref_dissect_body = TRUE;
static fastcgi_pref_bool pref_keep_bodies = FALSE;
static guint pref_body_cap = 256 * 1024;

static const char *const anomaly_ids[FSD_A_COUNT] = {
#define FSD_ANOMALY(id, sev, maxsev, summary) #id,
#include <fsd/anomalies.def>
#undef FSD_ANOMALY
};

static const true_false_string tfs_keep_conn = { "Keep the connection open", "Close the connection after the request" };

/* ---- per-conversation and per-record state -------------------------- */

typedef struct fastcgi_request fastcgi_request;
typedef struct fastcgi_record fastcgi_record;

/* What of a STDIN/STDOUT/STDERR/DATA record is still to come (shown a
 * segment at a time: reassemble_streams off). */
typedef struct fastcgi_rest {
    guint16 content;         /* content bytes */
    guint8 padding;          /* padding bytes */
    guint8 type;             /* the record's type */
} fastcgi_rest;

/* r after n more of its bytes went by (n <= content + padding): content
 * first, then padding. */
static fastcgi_rest
rest_after(fastcgi_rest r, guint32 n)
{
    guint32 c = MIN(n, (guint32)r.content);
    r.content = (guint16)(r.content - c);
    r.padding = (guint8)(r.padding - (n - c));
    return r;
}

/* Its bytes in all: content and padding. */
static guint32
rest_total(fastcgi_rest r)
{
    return (guint32)r.content + r.padding;
}

/* A request's stream as it arrives, up to the body_cap preference: on the
 * first pass its length (always) and its bytes (when collected); on a later
 * pass its bytes again, from the records' spans (rebuild_span). */
typedef struct fastcgi_stream_buf {
    GByteArray *buf;         /* the bytes, when collected / rebuilt */
    guint64 len;             /* bytes taken so far (what buf holds when complete) */
    gboolean cut;            /* bytes were not taken (the cap, a gap) */
    gboolean broken;         /* buf misses bytes of [0, len): not usable */
} fastcgi_stream_buf;

enum { FASTCGI_STREAM_STDIN, FASTCGI_STREAM_STDOUT, FASTCGI_STREAM_STDERR, FASTCGI_NSTREAMS };
#define FASTCGI_SPAN_BROKEN 0xff

typedef struct fastcgi_anomaly {
    guint16 id;
    guint8 severity;        /* fsd_severity of this occurrence */
    gint32 request_id;
    const char *detail;     /* file scope, may be "" */
} fastcgi_anomaly;

typedef struct fastcgi_param {
    const char *name;       /* file scope, NUL-terminated (shown up to the first NUL) */
    const char *value;
    guint32 name_len, value_len;  /* declared */
    gint32 pair_off, pair_len;    /* in the record, -1 when not inside it */
    gint32 name_off, value_off;   /* in the record, -1 when not inside it */
    guint8 straddled, truncated;
    guint8 name_len_bytes;        /* 1 or 4 when known (pairs read again from the record), else 0 */
} fastcgi_param;

typedef struct fastcgi_response {
    int status;
    const char *status_line;
    const char *content_type;
    const char **headers;   /* "Name: value" */
    guint nheaders;
    guint64 header_len;
    gboolean complete;
} fastcgi_response;

/* One per BEGIN_REQUEST for the whole file: flags as bytes, the streams
 * being collected behind a pointer (freed where the request ends). */
struct fastcgi_request {
    guint64 seq;
    guint16 id;
    guint16 role;
    guint8 keep_conn;
    guint8 ended;
    guint8 complete;
    guint8 has_begin, has_end, has_first;
    guint8 has_elapsed, has_abandoned, gap;
    guint8 first_seen, end_seen;    /* its first STDOUT/STDERR, its END_REQUEST bound */
    guint8 header_parsed;
    guint8 stdin_cut, stderr_cut;
    guint32 begin_frame;            /* frame of the BEGIN_REQUEST's first byte */
    guint32 end_frame;
    guint32 first_resp_frame;
    int status;
    int user_status;                /* 0: the wire cannot tell */
    /* cv->nfeeds when each arrived: a record fed before it does not show it,
     * in any pass (one pass = two passes) */
    guint32 idx_method, idx_uri, idx_script, idx_script_filename;
    guint32 stdin_len, stderr_len;
    guint nanomalies;
    const char *end_reason;
    nstime_t begin_ts;
    nstime_t latency, ttfb;
    /* what the web server's client got (fsd_transaction 0.2.0) */
    nstime_t elapsed, abandoned_after;
    const char *status_source;
    const char *user_outcome;
    const char *closed_by;          /* NULL, "client FIN", "server RST", ... */
    const char *method, *uri, *script;  /* from the transaction once it ended */
    const char *p_method, *p_uri, *p_script, *p_script_filename; /* as params arrive (first pass) */
    const char *p_host;             /* HTTP_HOST: the Export Objects "Hostname" */
    gint64 begin_ns;                /* t_begin as the BEGIN_REQUEST's record event gave it */
    guint16 *anomalies;
    /* STDIN, STDOUT, STDERR as they arrive (first pass only; STDOUT for
     * the content dissectors and Export Objects, all three for the
     * request's "Whole request" subtree): FASTCGI_NSTREAMS of them, made
     * at the first byte (req_streams), freed where the request ended (a
     * later pass: after their rebuild was read). NULL: none. */
    fastcgi_stream_buf *streams;
    /* Each stream's bytes taken in all (set where the request ended) and
     * those of them inside whole records' spans (note_span, added once a
     * record is fed): equal, a later pass can rebuild the stream from the
     * records; else (bytes in a segment TCP never reassembled into a
     * record: a lost segment, a snaplen cut) it is shown in no pass unless
     * keep_bodies keeps it, so one pass and two show the same. */
    guint64 stream_len[FASTCGI_NSTREAMS], spanned[FASTCGI_NSTREAMS];
    const fastcgi_response *resp;          /* its CGI response header block */
    /* kept from streams when the request ended (file scope; NULL when not
     * kept: the lengths stay, a later pass in frame order rebuilds them) */
    const guint8 *stdin_data, *stderr_data;
    const fastcgi_record *body_rec;       /* the record that carries its response body */
    wmem_array_t *param_recs;       /* const fastcgi_record *: its PARAMS records with pairs, in order */
    guint64 header_len;
    const char *content_type;
};

/* What only some records carry, made on first need (rec_x): the decoded
 * body of a BEGIN_REQUEST, END_REQUEST or UNKNOWN_TYPE, anomalies, name-value
 * pairs, a CGI response header, requests that ended, a response body, the
 * tap record. A plain STDIN/STDOUT record has none of it. */
typedef struct fastcgi_record_ext {
    union {                  /* the decoder's decoded record body (fsd_record_event.body) */
        fsd_begin_body begin;
        fsd_end_body end;
        fsd_unknown_type_body unknown_type;
    } body;                  /* (set when the record's body_valid) */
    /* Arrays that grow by doubling (grow_array): room for *_cap elements. */
    fastcgi_anomaly *anom;
    guint nanom, anom_cap;
    fastcgi_param *params;
    guint nparams, params_cap;
    /* Pairs after params[] kept as their wire bytes (record_pairs decodes
     * them again where shown): nlazy whole pairs, one after the other, at
     * [lazy_off, +lazy_len) of the record; lazy_raw their copy once the
     * record was fed (48 bytes of struct and a copy of each name and value
     * were ~8 MB on the 100 MB bench capture, the wire bytes ~3.5 MB). */
    const guint8 *lazy_raw;
    guint32 lazy_off, lazy_len, nlazy;
    fastcgi_response *resp;
    fastcgi_request **ended;
    guint nended, ended_cap;
    guint8 *body_bytes;      /* the response body (content dissectors); NULL when not kept */
    guint32 body_len;        /* (a segment's pseudo record: the bytes skipped) */
    const char *body_type;
    fastcgi_request *body_req;        /* the request whose response body that is */
    fastcgi_tap_info *tap;   /* the tap record, once built (build_tap) */
    guint32 held_frame;      /* a held piece: the frame that carried its bytes */
    guint32 late_off;        /* a late piece: where its bytes are in its frame's data source;
                                a held one: where in its segment the decoder's bytes began */
    guint32 late_len;        /* a late or held piece: the bytes of it the decoder took */
    const guint8 *held_copy; /* a held piece fed in a frame: its segment's bytes (file scope; a
                                later pass rebuilds its stream bytes there, in stream order) */
} fastcgi_record_ext;

/* Everything the decoder said while it took one record. One per record
 * for the whole file (31,644 on the 100 MB bench capture): flags as bits,
 * what few records have behind x (40 bytes on a 64-bit machine). */
typedef struct fastcgi_record {
    guint8 span_k;           /* 0, or 1 + the stream (FASTCGI_STREAM_*) whose bytes this record
                                carries at [span_off, +span_len) as its request's stream bytes
                                [span_pos, +span_len); FASTCGI_SPAN_BROKEN: not one range */
    guint8 dir : 2;
    guint8 in_frame : 1;        /* a hold listed in its frame (it has something to show there) */
    guint8 tracked : 1;         /* fed to the decoder */
    guint8 retransmission : 1;  /* bytes the decoder already had */
    guint8 snaplen_cut : 1;     /* segment captured short: not dissected as records */
    guint8 end_here : 1;        /* the END_REQUEST of req: latency, status summed up here */
    guint8 have_event : 1;      /* the decoder's record event came (body_valid, body: from it) */
    guint8 body_valid : 1;
    guint8 first_response : 1;  /* first STDOUT/STDERR record of req */
    guint8 body_cut : 1;        /* only its start: the body_cap preference, a gap */
    guint8 piece : 1;           /* a piece: the rest of a STDIN/STDOUT/STDERR/DATA record in a later
                                   segment (reassemble_streams off), in its conversation's pieces
                                   by frame and seq (piece_at) */
    guint8 held : 1;            /* a piece that came after bytes not yet captured (TCP took it as
                                   the segment after a lost one): its bytes wait in its direction's
                                   held list and go to the decoder where the missing ones arrive
                                   (its results are shown there: fastcgi_frame_ext.drained) */
    guint8 late : 1;            /* a piece of a segment TCP handed to no dissector (taken as out
                                   of order or retransmitted), fed by the postdissector
                                   (fastcgi_frame_ext.lates) */
    guint32 feed_idx;        /* cv->nfeeds when it was fed */
    guint32 span_off, span_len, span_pos;
    union {
        int status;          /* a record: req's HTTP status as known when the record was taken */
        fastcgi_rest left;   /* a piece: what of its record is left at the segment's start */
    };
    union {                  /* (a hold is never bound to a request) */
        fastcgi_request *req;             /* a record: the request it belongs to, if tracked */
        struct fastcgi_record *prev_hold; /* a hold: the earlier start of the same record (another frame) */
    };
    fastcgi_record_ext *x;   /* NULL: none of it */
} fastcgi_record;

G_STATIC_ASSERT(sizeof(void *) != 8 || sizeof(fastcgi_record) == 40);

typedef struct fastcgi_direction {
    gboolean started;        /* first byte of this direction seen */
    gboolean hunting;        /* looking for a record header (midstream, after a gap) */
    guint32 next_seq;        /* first TCP seq not yet given to the decoder */
    /* The start of a record TCP is still reassembling was already given to
     * the decoder (as the analyzer gives it, when it arrived); what the
     * decoder said meanwhile waits here to join the record once it is
     * complete. */
    fastcgi_record *hold;
    guint32 hold_seq;
    wmem_array_t *gaps;      /* fastcgi_gap: ranges given to the decoder as missing */
    /* The wire's sequence numbers less TCP's (relative ones by default) in
     * this direction, learnt from a segment TCP handed us (tcp_seq_base):
     * a FIN's sequence number is read from its header, in TCP's numbering
     * like next_seq. 0: not known, 1: from the peer's acknowledgements,
     * 2: from this direction's own segment. */
    guint8 seq_base_from;
    guint32 seq_base;
    /* A stream record cut at its segment's end (reassemble_streams off):
     * what of it the next segments carry (cont.content + cont.padding
     * bytes from next_seq), and its request id. */
    fastcgi_rest cont;
    guint16 cont_id;
    /* Segments inside that rest which came after bytes not captured yet
     * (fastcgi_held, by seq): TCP hands out-of-order segments to no
     * dissector (its default preferences), so the plugin keeps the later
     * ones until the missing bytes arrive in a segment TCP withheld (the
     * postdissector reads it) or something shows they never will. */
    GArray *held;            /* NULL: none */
    guint32 held_bytes;
} fastcgi_direction;

typedef struct fastcgi_held {
    guint32 seq, len;
    guint8 *bytes;           /* file scope, freed once fed */
    struct fastcgi_record *rec;
} fastcgi_held;

/* Bytes went missing in the direction (a gap, a snaplen cut): records are
 * looked for again; what was awaited of a record is not. */
static void
dir_hunt(fastcgi_direction *ds)
{
    ds->hold = NULL;
    ds->hunting = TRUE;
    memset(&ds->cont, 0, sizeof ds->cont);
}

/* n of the bytes awaited of a stream record (n <= content + padding) went
 * by. */
static void
cont_take(fastcgi_direction *ds, guint32 n)
{
    ds->cont = rest_after(ds->cont, n);
}

/* What is awaited of the direction's stream record: content and padding. */
static guint32
cont_total(const fastcgi_direction *ds)
{
    return rest_total(ds->cont);
}

/* n bytes from next_seq on were not given to the decoder as bytes (a gap,
 * a snaplen cut). Inside what is awaited of a stream record shown piece by
 * piece, the decoder keeps its framing (fsd_conn_gap: "framing kept") and
 * so does the plugin; else records are looked for again. */
static void
dir_skip(fastcgi_direction *ds, guint32 n)
{
    if (ds->hunting || !cont_total(ds) || n > cont_total(ds)) {
        dir_hunt(ds);
        return;
    }
    cont_take(ds, n);
    ds->hold = NULL;
}

typedef struct fastcgi_gap {
    guint32 start, end;      /* TCP seq range */
    guint32 frame;           /* where it was declared */
    gboolean arrived;        /* bytes of it came later (out of order) */
    gboolean in_piece;       /* inside a stream record shown piece by piece (reassemble_streams off) */
} fastcgi_gap;

typedef struct fastcgi_conv {
    fsd_conn *dec;
    gboolean server_known;
    address server_addr;
    guint32 server_port;
    fastcgi_direction dir[2];
    struct tcp_analysis *tcpd;
    tcp_flow_t *flow[2];     /* TCP's flow of each of our directions */
    GPtrArray *reqs;         /* by seq */
    /* Its pieces (reassemble_streams off), held ones too, in the order
     * their frames came (fastcgi_piece_ref): a later pass finds a
     * segment's piece here (piece_at), not in per-frame storage (most
     * frames of a big capture carry nothing but a piece). */
    GArray *pieces;
    GHashTable *active;      /* request id -> fastcgi_request*, mirrors the decoder's table */
    guint64 nbegins;
    guint32 last_frame;      /* last frame with bytes of this conversation */
    guint32 nfeeds;          /* feeds to the decoder so far (first pass) */
    nstime_t last_ts;
    guint32 show_frame;      /* last frame whose records we dissect in every pass */
    gboolean finished;
    fastcgi_record *cur;           /* record being fed (first pass) */
    fsd_record_event cur_ev;       /* the decoder's last record event for cur */
    const guint8 *cur_base;  /* its bytes */
    guint32 cur_len;
    guint64 cur_stream0;     /* the decoder's stream offset of cur_base[0] */
    const guint8 *feed_base; /* the bytes being fed of cur (a whole record or its start) */
    guint32 feed_len;
    guint32 feed_off;        /* where feed_base[0] is in its record */
    fastcgi_record *late;          /* what the connection's end brought (shown on show_frame) */
    guint64 untracked_requests, untracked_records; /* the decoder's counts at the end */
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
} fastcgi_conv;

/* A piece of a conversation: the frame and TCP seq of its segment. */
typedef struct fastcgi_piece_ref {
    guint32 frame, seq;
    struct fastcgi_record *rec;
} fastcgi_piece_ref;

/* Per-frame: the records dissected in it, by TCP sequence number. */
typedef struct fastcgi_frame_record {
    guint32 seq;
    fastcgi_record *rec;
} fastcgi_frame_record;

/* What few frames have besides whole records. */
typedef struct fastcgi_frame_ext {
    wmem_array_t *skips;     /* fastcgi_frame_record: seq -> this segment's own results (skip in body_len) */
    wmem_array_t *holds;     /* fastcgi_record*: results of record starts fed in this frame */
    wmem_array_t *closes;    /* fastcgi_record*: results of a FIN/RST fed in this frame */
    wmem_array_t *lates;     /* fastcgi_record*: pieces of this segment TCP withheld (late) */
    wmem_array_t *drained;   /* fastcgi_record*: held pieces of earlier frames fed here */
    gboolean drained_before; /* ... before this segment's own bytes (given up for them) */
    guint32 late_gap_frame;  /* this segment brought bytes declared missing at that frame */
    gboolean late_gap_piece; /* (that gap's in_piece) */
} fastcgi_frame_ext;

/* One per frame where a record ends or results are shown, for the whole
 * file: its records inline (most frames hold one to four), in room for a
 * power of two of them (frame_add_record), what else it has behind x. */
typedef struct fastcgi_frame {
    fastcgi_frame_ext *x;    /* NULL: nothing but records */
    guint nrecs;
    guint next_rec;          /* recs index after the last one looked up (later passes
                                look the records up in order: a frame of 6,000 tiny
                                records must not cost 6,000 scans of the array) */
    fastcgi_frame_record recs[];
} fastcgi_frame;

/* p_add_proto_data key of the plugin, in the file scope: the first pass's
 * results for the frame (fastcgi_frame). */
enum {
    KEY_FRAME = 0,
};

/* The frame's one "FastCGI (fcgiscope)" item: TCP calls the dissector once
 * for a reassembled record and once for the rest of the segment; a second
 * top-level item would count the frame twice in Protocol Hierarchy. Its
 * text sums up the frame: the first records' Info, then how many more. */
typedef struct fastcgi_top_item {
    proto_item *item;
    proto_tree *tree;
    guint nrecs;
    guint npieces;           /* of them, pieces of records begun in earlier segments */
    wmem_strbuf_t *summary;  /* the first records' Info */
} fastcgi_top_item;

/* What one dissection of a frame keeps between the plugin's calls (TCP
 * calls it for each reassembled record and for the rest of the segment,
 * the postdissector comes after), in the packet pool. */
typedef struct fastcgi_pkt {
    gboolean columns_set;        /* Protocol column set, Info cleared */
    gboolean info_started;       /* a record's text is in the Info column */
    gboolean conn_end_shown;     /* the "Connection end" subtree was added */
    guint expert_count;          /* expert infos raised in this frame */
    wmem_map_t *requests;        /* fastcgi_request -> its "Request id" subtree */
    fastcgi_top_item *top;       /* the frame's one FastCGI item */
    fastcgi_tap_frame *tap;      /* queued on the tap */
} fastcgi_pkt;

/* The dissection under way: its state is found without a walk of the
 * frame's proto data (several lookups in each segment's dissection), and
 * forgotten when its pool is freed (a dissection's end) or another pool
 * dissects. */
static fastcgi_pkt *cur_pkt;
static wmem_allocator_t *cur_pkt_pool;

static gboolean
pkt_gone(wmem_allocator_t *a _U_, wmem_cb_event_t ev _U_, void *ud _U_)
{
    cur_pkt = NULL;
    cur_pkt_pool = NULL;
    return FALSE;   /* (one call: registered again by the next dissection) */
}

static fastcgi_pkt *
pkt_state(packet_info *pinfo)
{
    if (!cur_pkt || cur_pkt_pool != pinfo->pool) {
        cur_pkt = wmem_new0(pinfo->pool, fastcgi_pkt);
        cur_pkt_pool = pinfo->pool;
        wmem_register_callback(pinfo->pool, pkt_gone, NULL);
    }
    return cur_pkt;
}

/* All conversations with a decoder, for the end of the first pass. */
static GPtrArray *all_convs;
/* After the first pass: frame number -> the conversation whose end
 * (cv->late, "Connection end") is shown on it (its show_frame). */
static GHashTable *late_frames;
/* Gaps declared to the decoder so far in the file (note_reordered). */
static guint n_gaps;
/* The frame whose segment TCP last handed to dissect_fastcgi (first pass):
 * the postdissector looks at the others' payload (feed_late). */
static guint32 fed_frame;
/* The last frame the first pass made storage for (frame_data_get): the
 * only frames a first-pass postdissector finds any for are these. */
static guint32 frame_made;
/* Held pieces fed in a frame so far in the file (show_drained_all looks
 * for them only then). */
static guint n_drained;

/* The postdissector and the TCP field it may ask TCP to fill in on every
 * packet (a field asked for is a real tree item, not a faked one: tcp.seq,
 * tcp.len and tcp.flags cost ~14 M instructions each on the 10 MB bench
 * capture, the item and its per-packet array). The packet's TCP header is
 * found in its bytes instead (tcp_hdr_find: flags, sequence numbers,
 * data offset, the segment's length from the IP header). tcp.len only once
 * a gap was declared in the file, for a segment whose IP header does not
 * give its length (IPv6 extension headers, IP fragments). */
static dissector_handle_t post_handle;
static int hf_tcp_len = -1;
static gboolean post_wants_len;

static void
post_want(gboolean with_len)
{
    GArray *wanted = NULL;
    if (!post_handle)
        return;
    if (with_len && hf_tcp_len >= 0) {
        wanted = g_array_new(FALSE, FALSE, (guint)sizeof(int));
        g_array_append_val(wanted, hf_tcp_len);
    }
    set_postdissector_wanted_hfids(post_handle, wanted);   /* takes it, frees the previous one */
    post_wants_len = with_len;
}
/* Does this file's first pass reference a body field or a content
 * protocol (streams_read)? -1: not looked up yet. */
static int streams_referenced = -1;
/* The protocols a response body can be handed to (the media_type table),
 * gathered once a file (streams_read). */
static GArray *media_protos;

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

/* The span as a file-scope string: one of the strings given (a param's
 * value already kept) when it holds exactly those bytes, else a copy. */
static const char *
span_dup_as(fsd_span sp, const char *a, const char *b)
{
    if (!sp.ptr)
        return NULL;
    if (a && strlen(a) == sp.len && memcmp(a, sp.ptr, sp.len) == 0)
        return a;
    if (b && strlen(b) == sp.len && memcmp(b, sp.ptr, sp.len) == 0)
        return b;
    return span_dup(sp);
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

/* Ids only fcgiscope's own capture and TCP layers raise (IP fragments, its
 * flow table, drop counters, a damaged file, SYN/RST bookkeeping across
 * connections): Wireshark does that work itself, the decoder never raises
 * them, so the plugin registers no expert field for them. */
static gboolean
decoder_raises(fsd_anomaly_id id)
{
    switch (id) {
    case FSD_A_ip_fragment:
    case FSD_A_tcp_ooo_cap:
    case FSD_A_flow_table_full:
    case FSD_A_capture_drops:
    case FSD_A_capture_truncated:
    case FSD_A_connection_refused:
    case FSD_A_closed_before_request:
    case FSD_A_connect_retried:
    case FSD_A_attempt_retried:
        return FALSE;
    default:
        return TRUE;
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

static fastcgi_request *
active_req(fastcgi_conv *cv, guint16 id)
{
    return (fastcgi_request *)g_hash_table_lookup(cv->active, GUINT_TO_POINTER((guint)id));
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

/* The record's rarely used part, made on first need. */
static fastcgi_record_ext *
rec_x(fastcgi_record *r)
{
    if (!r->x)
        r->x = wmem_new0(wmem_file_scope(), fastcgi_record_ext);
    return r->x;
}

static guint
rec_nanom(const fastcgi_record *r)
{
    return r->x ? r->x->nanom : 0;
}

/* Its name-value pairs, stored and lazy (record_pairs). */
static guint
rec_npairs(const fastcgi_record *r)
{
    return r->x ? r->x->nparams + r->x->nlazy : 0;
}

static guint
rec_nended(const fastcgi_record *r)
{
    return r->x ? r->x->nended : 0;
}

/* Anomalies or ended requests to show (a hold, a segment, a close)? */
static gboolean
rec_has_results(const fastcgi_record *r)
{
    return r->x && (r->x->nanom || r->x->nended);
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
mirror_times(fastcgi_request *q, const fsd_record_event *ev)
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
note_gap(fastcgi_direction *ds, guint32 start, guint32 end, guint32 frame)
{
    fastcgi_gap g;
    if (!ds->gaps)
        ds->gaps = wmem_array_new(wmem_file_scope(), sizeof(fastcgi_gap));
    g.start = start;
    g.end = end;
    g.frame = frame;
    g.arrived = FALSE;
    g.in_piece = !ds->hunting && cont_total(ds);
    wmem_array_append_one(ds->gaps, g);
    n_gaps++;
    if (!post_wants_len)
        post_want(TRUE);
}

static void
append_ended(fastcgi_record *r, fastcgi_request *q)
{
    fastcgi_record_ext *x = rec_x(r);
    x->ended = (fastcgi_request **)grow_array(x->ended, x->nended, &x->ended_cap, sizeof(*x->ended));
    x->ended[x->nended++] = q;
}

static void mirror_times(fastcgi_request *q, const fsd_record_event *ev);
static fastcgi_request *active_req(fastcgi_conv *cv, guint16 id);
static void release_held(fastcgi_conv *cv, packet_info *pinfo, fsd_dir d, gboolean give_up);

/* STDIN, STDOUT and STDERR are collected in this dissection (set for each
 * first-pass dissection, see streams_read()), and kept after the frame
 * that ends their request (the keep_bodies preference, an Export Objects
 * tap). Requests whose bytes were kept only for their own frame: freed
 * once the first pass moved on to a later frame (drop_frame_streams). */
static gboolean collect_streams = TRUE;
static gboolean keep_streams_after_frame = TRUE;
typedef struct fastcgi_drop {
    fastcgi_request *q;
    guint32 frame;           /* the frame whose dissection read them */
} fastcgi_drop;
static GArray *drop_after_frame;
static guint32 first_pass_frame;   /* the frame the first pass is at */

static void
cb_record(void *ud, const fsd_record_event *ev)
{
    fastcgi_conv *cv = (fastcgi_conv *)ud;
    fastcgi_record *r = cv->cur;
    /* every record event of a request, also one cut by a gap that the
     * plugin never frames as a record */
    if (ev->request_active && ev->hdr.type != FSD_BEGIN_REQUEST) {
        fastcgi_request *q = active_req(cv, ev->hdr.request_id);
        if (q)
            mirror_times(q, ev);
    }
    if (!r)
        return;
    /* The decoder delivers one record per record fed; after a resync it can
     * deliver the record it synchronised on: keep the last one. */
    cv->cur_ev = *ev;
    r->have_event = TRUE;
    r->body_valid = ev->body_valid;
    /* (the body is read only where body_valid: most records need no ext) */
    if (ev->body_valid)
        memcpy(&rec_x(r)->body, &ev->body, sizeof r->x->body);
}

/* A pair's name and value as "NAME\0value\0", one allocation. */
static void
param_strings(wmem_allocator_t *pool, fastcgi_param *p, const guint8 *name, size_t nl, const guint8 *value, size_t vl)
{
    char *nv = (char *)wmem_alloc(pool, nl + vl + 2);
    if (nl)
        memcpy(nv, name, nl);
    nv[nl] = '\0';
    if (vl)
        memcpy(nv + nl + 1, value, vl);
    nv[nl + 1 + vl] = '\0';
    p->name = nv;
    p->value = nv + nl + 1;
}

/* A whole pair found by fsd_nv_next in bytes that start at offset base of
 * the record: what the decoder said of it, as cb_param keeps it. */
static void
param_from_nv(wmem_allocator_t *pool, fastcgi_param *p, const guint8 *bytes, const fsd_nv *nv, guint32 base)
{
    memset(p, 0, sizeof(*p));
    param_strings(pool, p, bytes + nv->name_offset, nv->name_len, bytes + nv->value_offset, nv->value_len);
    p->name_len = nv->name_len;
    p->value_len = nv->value_len;
    p->pair_off = (gint32)(base + nv->offset);
    p->pair_len = (gint32)nv->total_len;
    p->name_off = (gint32)(base + nv->name_offset);
    p->value_off = (gint32)(base + nv->value_offset);
    p->name_len_bytes = nv->name_len_bytes;
}

static fastcgi_param *
param_append(fastcgi_record *r)
{
    fastcgi_record_ext *x = rec_x(r);
    fastcgi_param *np = (fastcgi_param *)grow_array(x->params, x->nparams, &x->params_cap, sizeof(*np));
    x->params = np;
    return &np[x->nparams++];
}

/* The record's run of lazy pairs become stored ones: a pair that cannot
 * be kept lazy follows them. run: the run's bytes. */
static void
lazy_store(fastcgi_record *r, const guint8 *run)
{
    size_t pos = 0;
    guint32 i;
    fsd_nv nv;
    fastcgi_record_ext *x = rec_x(r);
    guint32 n = x->nlazy;
    x->nlazy = 0;           /* (param_append below adds stored pairs) */
    for (i = 0; run && i < n && fsd_nv_next(run, x->lazy_len, &pos, &nv) == 1; i++)
        param_from_nv(wmem_file_scope(), param_append(r), run, &nv, x->lazy_off);
    x->lazy_len = x->lazy_off = 0;
    x->lazy_raw = NULL;
}

/* Every pair of the record, in order: the stored ones, then the lazy ones
 * decoded again from their bytes into pool. */
static const fastcgi_param *
record_pairs(wmem_allocator_t *pool, const fastcgi_record *r, guint *n)
{
    fastcgi_param *all;
    size_t pos = 0;
    guint k;
    fsd_nv nv;
    const fastcgi_record_ext *x = r->x;
    if (!x || !x->nlazy || !x->lazy_raw) {
        *n = x ? x->nparams : 0;
        return x ? x->params : NULL;
    }
    all = wmem_alloc_array(pool, fastcgi_param, x->nparams + x->nlazy);
    if (x->nparams)
        memcpy(all, x->params, x->nparams * sizeof(*all));
    for (k = x->nparams; k < x->nparams + x->nlazy && fsd_nv_next(x->lazy_raw, x->lazy_len, &pos, &nv) == 1; k++)
        param_from_nv(pool, &all[k], x->lazy_raw, &nv, x->lazy_off);
    *n = k;
    return all;
}

/* Can the pair be kept as its wire bytes in the record being fed: whole
 * in it as the decoder took it (no cap, no record boundary)? Then *at is
 * where it starts in the record (fsd_nv_next reads it there again).
 * The decoder hands a pair out in place (its spans inside the bytes fed)
 * or, when it had to gather it (4-byte lengths, a pair begun in an earlier
 * feed of the record), as a copy: that one is found in the record from its
 * stream offset (cur_stream0: the record's first byte) and checked byte for
 * byte. */
static gboolean
param_lazy(const fastcgi_conv *cv, const fsd_param_event *ev, guint32 *at)
{
    const guint8 *b = cv->cur_base;
    guint64 plen = ev->end_offset - ev->offset, lens;
    fsd_nv nv;
    if (!b || ev->straddled || ev->truncated || !ev->name.ptr || !ev->value.ptr || ev->name.len != ev->name_len ||
        ev->value.len != ev->value_len || plen < (guint64)ev->name.len + ev->value.len)
        return FALSE;
    lens = plen - ev->name.len - ev->value.len;
    if (lens != 2 && lens != 5 && lens != 8)
        return FALSE;
    if (ev->value.ptr == ev->name.ptr + ev->name.len && ev->name.ptr >= b + lens &&
        ev->value.ptr + ev->value.len <= b + cv->cur_len) {
        *at = (guint32)(ev->name.ptr - b - lens);
    } else {
        guint64 off = ev->offset - cv->cur_stream0;
        size_t pos;
        if (ev->offset < cv->cur_stream0 || off < FSD_HEADER_LEN || off >= cv->cur_len)
            return FALSE;
        pos = (size_t)off;
        if (fsd_nv_next(b, cv->cur_len, &pos, &nv) != 1 || nv.offset != off || nv.total_len != plen ||
            nv.name_len != ev->name_len || nv.value_len != ev->value_len ||
            memcmp(b + nv.name_offset, ev->name.ptr, ev->name.len) != 0 ||
            memcmp(b + nv.value_offset, ev->value.ptr, ev->value.len) != 0)
            return FALSE;
        *at = (guint32)off;
    }
    return TRUE;
}

/* Is the pair's name (up to its first NUL, as shown) want (a literal)? */
#define PARAM_NAMED(ev, want) \
    ((ev)->name.len >= sizeof(want) - 1 && memcmp((ev)->name.ptr, want, sizeof(want) - 1) == 0 && \
     ((ev)->name.len == sizeof(want) - 1 || (ev)->name.ptr[sizeof(want) - 1] == '\0'))

static void
cb_param(void *ud, const fsd_param_event *ev)
{
    fastcgi_conv *cv = (fastcgi_conv *)ud;
    fastcgi_record *r = cv->cur;
    fastcgi_record_ext *x;
    guint32 at = 0;
    gboolean lazy;
    if (!r)
        return;
    lazy = param_lazy(cv, ev, &at);
    x = rec_x(r);
    if (x->nlazy && !(lazy && at == x->lazy_off + x->lazy_len))  /* stored ones come first */
        lazy_store(r, x->lazy_raw ? x->lazy_raw : cv->cur_base ? cv->cur_base + x->lazy_off : NULL);
    if (lazy) {
        if (!x->nlazy)
            x->lazy_off = at;
        x->lazy_len += (guint32)(ev->end_offset - ev->offset);
        x->nlazy++;
    } else {
        fastcgi_param *p = param_append(r);
        memset(p, 0, sizeof(*p));
        param_strings(wmem_file_scope(), p, ev->name.ptr, ev->name.ptr ? ev->name.len : 0, ev->value.ptr,
                      ev->value.ptr ? ev->value.len : 0);
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
    }

    /* First-pass convenience for the Info column: the request line as the
     * params arrive (the transaction's own lookups replace it at its end). */
    if (ev->record_type == FSD_PARAMS && ev->name.ptr && ev->name.len >= 9) {
        const char **dst = NULL;
        guint32 *idx = NULL;
        fastcgi_request *q = NULL;
        switch (ev->name.ptr[0]) {
        case 'R':
            if (PARAM_NAMED(ev, "REQUEST_METHOD") && (q = active_req(cv, ev->request_id)) != NULL) {
                dst = &q->p_method;
                idx = &q->idx_method;
            } else if (PARAM_NAMED(ev, "REQUEST_URI") && (q = active_req(cv, ev->request_id)) != NULL) {
                dst = &q->p_uri;
                idx = &q->idx_uri;
            }
            break;
        case 'S':
            if (PARAM_NAMED(ev, "SCRIPT_NAME") && (q = active_req(cv, ev->request_id)) != NULL) {
                dst = &q->p_script;
                idx = &q->idx_script;
            } else if (PARAM_NAMED(ev, "SCRIPT_FILENAME") && (q = active_req(cv, ev->request_id)) != NULL) {
                dst = &q->p_script_filename;
                idx = &q->idx_script_filename;
            }
            break;
        case 'H':
            if (PARAM_NAMED(ev, "HTTP_HOST") && (q = active_req(cv, ev->request_id)) != NULL)
                dst = &q->p_host;
            break;
        default:
            break;
        }
        if (dst) {
            *dst = file_strndup(ev->value.ptr ? ev->value.ptr : (const guint8 *)"", ev->value.ptr ? ev->value.len : 0);
            if (idx)
                *idx = cv->nfeeds;
        }
    }
}

/* The request's streams, made on first need. */
static fastcgi_stream_buf *
req_streams(fastcgi_request *q)
{
    if (!q->streams)
        q->streams = wmem_alloc0_array(wmem_file_scope(), fastcgi_stream_buf, FASTCGI_NSTREAMS);
    return q->streams;
}

/* Stream k of the request, NULL when it has none (nothing collected). */
static const fastcgi_stream_buf *
req_stream(const fastcgi_request *q, int k)
{
    return q->streams ? &q->streams[k] : NULL;
}

static int
stream_index(guint8 record_type)
{
    switch (record_type) {
    case FSD_STDIN: return FASTCGI_STREAM_STDIN;
    case FSD_STDOUT: return FASTCGI_STREAM_STDOUT;
    case FSD_STDERR: return FASTCGI_STREAM_STDERR;
    default: return -1;
    }
}

/* Where the stream bytes of the record being fed lie in that record
 * (first pass): a later pass reads them from the record's reassembled
 * bytes (rebuild_span) instead of a copy kept for the whole file. */
static void
note_span(fastcgi_conv *cv, int k, const fsd_data_event *ev)
{
    fastcgi_record *r = cv->cur;
    guint32 off;
    if (!r || r->span_k == FASTCGI_SPAN_BROKEN)
        return;
    if (!cv->feed_base || ev->data.ptr < cv->feed_base || ev->data.len > cv->feed_len ||
        ev->data.ptr - cv->feed_base > (ptrdiff_t)(cv->feed_len - ev->data.len) ||
        ev->stream_pos + ev->data.len > G_MAXUINT32) {
        r->span_k = FASTCGI_SPAN_BROKEN;
        return;
    }
    off = cv->feed_off + (guint32)(ev->data.ptr - cv->feed_base);
    if (!r->span_k) {
        r->span_k = (guint8)(k + 1);
        r->span_off = off;
        r->span_pos = (guint32)ev->stream_pos;
        r->span_len = (guint32)ev->data.len;
    } else if (r->span_k == k + 1 && off == r->span_off + r->span_len &&
               ev->stream_pos == (guint64)r->span_pos + r->span_len) {
        r->span_len += (guint32)ev->data.len;
    } else {
        r->span_k = FASTCGI_SPAN_BROKEN;
    }
}

/* A request's STDIN, STDOUT or STDERR bytes: counted (what a later pass
 * may rebuild), collected when this pass reads them (collect_streams). */
static void
cb_data(void *ud, const fsd_data_event *ev)
{
    fastcgi_conv *cv = (fastcgi_conv *)ud;
    fastcgi_stream_buf *sb;
    fastcgi_request *q;
    int k = stream_index(ev->record_type);
    if (!pref_dissect_body || k < 0 || !ev->data.ptr)
        return;
    q = active_req(cv, ev->request_id);
    if (!q)
        return;
    sb = &req_streams(q)[k];
    if (ev->stream_pos != sb->len || /* a hole (gap, decoder cap): stop collecting */
        sb->len + ev->data.len > (guint64)pref_body_cap + 65536) {
        sb->cut = TRUE;
        return;
    }
    note_span(cv, k, ev);
    if (collect_streams && !sb->broken) {
        if (!sb->buf)
            sb->buf = g_byte_array_new();
        if (sb->buf->len == sb->len)
            g_byte_array_append(sb->buf, ev->data.ptr, (guint)ev->data.len);
        else
            sb->broken = TRUE;   /* not collected in an earlier frame */
    }
    sb->len += ev->data.len;
}

static void
req_free_streams(fastcgi_request *q)
{
    int k;
    if (!q->streams)
        return;
    for (k = 0; k < FASTCGI_NSTREAMS; k++)
        if (q->streams[k].buf)
            g_byte_array_free(q->streams[k].buf, TRUE);
    wmem_free(wmem_file_scope(), q->streams);
    q->streams = NULL;
}

/* The stream's collected (or rebuilt) bytes [0, n), NULL without them. */
static const guint8 *
stream_bytes(const fastcgi_stream_buf *sb, guint64 n)
{
    if (!sb || !sb->buf || sb->broken || sb->buf->len < n)
        return NULL;
    return sb->buf->data;
}

/* May the request's stream k be shown (see fastcgi_request.spanned)? */
static gboolean
stream_shown(const fastcgi_request *q, int k)
{
    return pref_keep_bodies || q->spanned[k] == q->stream_len[k];
}

/* STDIN or STDERR: its length up to the body_cap preference, and its bytes
 * into the file scope when collected. */
static const guint8 *
keep_stream(const fastcgi_stream_buf *sb, guint32 *len, guint8 *cut)
{
    guint32 n;
    const guint8 *b;
    if (!sb || !sb->len)
        return NULL;
    n = (guint32)MIN(sb->len, (guint64)pref_body_cap);
    *len = n;
    *cut = sb->cut || n < sb->len;
    b = stream_bytes(sb, n);
    return b ? (const guint8 *)wmem_memdup(wmem_file_scope(), b, n) : NULL;
}

static void
cb_response(void *ud, const fsd_response_event *ev)
{
    fastcgi_conv *cv = (fastcgi_conv *)ud;
    fastcgi_record *r = cv->cur;
    fastcgi_response *resp;
    fastcgi_request *q;
    size_t i;

    resp = wmem_new0(wmem_file_scope(), fastcgi_response);
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
        if (!q->resp)
            q->resp = resp;
        q->status = ev->status;
        q->header_len = ev->header_len;
        q->header_parsed = ev->complete;
        q->content_type = resp->content_type;
    }
    if (r)
        rec_x(r)->resp = resp;
}

static void
add_anom(fastcgi_record *r, const fsd_anomaly_event *ev)
{
    fastcgi_record_ext *x = rec_x(r);
    fastcgi_anomaly *a;
    x->anom = (fastcgi_anomaly *)grow_array(x->anom, x->nanom, &x->anom_cap, sizeof(*x->anom));
    a = &x->anom[x->nanom++];
    a->id = (guint16)ev->id;
    a->severity = (guint8)ev->severity;
    a->request_id = ev->request_id;
    a->detail = wmem_strdup(wmem_file_scope(), ev->detail);
}

static fastcgi_record *
conv_late(fastcgi_conv *cv)
{
    if (!cv->late)
        cv->late = wmem_new0(wmem_file_scope(), fastcgi_record);
    return cv->late;
}

static void
cb_anomaly(void *ud, const fsd_anomaly_event *ev)
{
    fastcgi_conv *cv = (fastcgi_conv *)ud;
    if ((unsigned)ev->id >= FSD_A_COUNT)
        return;
    if (cv->cur) {
        add_anom(cv->cur, ev);
    } else {
        fastcgi_record *l = conv_late(cv);
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

static fastcgi_request *
find_tx_req(fastcgi_conv *cv, const fsd_transaction *tx)
{
    fastcgi_request *q = NULL;
    if (tx->seq < cv->reqs->len) {
        q = (fastcgi_request *)g_ptr_array_index(cv->reqs, (guint)tx->seq);
        if (q && q->id == tx->request_id && !q->ended)
            return q;
    }
    q = active_req(cv, tx->request_id);
    if (q && !q->ended)
        return q;
    return NULL;
}

/* What the request's streams hold when it ended: the response body (after
 * the CGI header block) onto the record r that carries it, STDIN and
 * STDERR onto the request. */
static void
keep_streams(fastcgi_request *q, fastcgi_record *r)
{
    const fastcgi_stream_buf *ob = req_stream(q, FASTCGI_STREAM_STDOUT);
    if (r && ob && q->header_parsed && q->header_len < ob->len) {
        guint64 n = ob->len - q->header_len;
        const guint8 *b;
        fastcgi_record_ext *x = rec_x(r);
        r->body_cut = ob->cut || n > pref_body_cap;
        if (n > pref_body_cap)
            n = pref_body_cap;
        b = stream_bytes(ob, q->header_len + n);
        if (b)
            x->body_bytes = (guint8 *)wmem_memdup(wmem_file_scope(), b + q->header_len, (size_t)n);
        x->body_len = (guint32)n;
        x->body_type = q->content_type;
        x->body_req = q;
        q->body_rec = r;
    }
    for (int k = 0; k < FASTCGI_NSTREAMS; k++)
        q->stream_len[k] = q->streams ? q->streams[k].len : 0;
    q->stdin_data = keep_stream(req_stream(q, FASTCGI_STREAM_STDIN), &q->stdin_len, &q->stdin_cut);
    q->stderr_data = keep_stream(req_stream(q, FASTCGI_STREAM_STDERR), &q->stderr_len, &q->stderr_cut);
    req_free_streams(q);
    if (!keep_streams_after_frame && ((q->body_rec && q->body_rec->x->body_bytes) || q->stdin_data || q->stderr_data) &&
        drop_after_frame) {
        fastcgi_drop d;
        d.q = q;
        d.frame = first_pass_frame;
        g_array_append_val(drop_after_frame, d);
    }
}

/* The first pass moved on to frame `now` (G_MAXUINT32: it ended): the
 * bytes kept only for an earlier frame's own dissection go (keep_bodies
 * off). Not at the end of that frame: tshark prints a frame, with the
 * response body's data source, after all its dissectors ran. */
static void
drop_frame_streams(guint32 now)
{
    guint i, n = 0;
    first_pass_frame = now;
    if (!drop_after_frame)
        return;
    for (i = 0; i < drop_after_frame->len; i++) {
        fastcgi_drop *d = &g_array_index(drop_after_frame, fastcgi_drop, i);
        fastcgi_request *q = d->q;
        if (d->frame >= now)
            break;
        n++;
        /* (the lengths stay: a later pass rebuilds the bytes) */
        if (q->body_rec) {
            fastcgi_record *r = (fastcgi_record *)q->body_rec;
            wmem_free(wmem_file_scope(), r->x->body_bytes);
            r->x->body_bytes = NULL;
        }
        wmem_free(wmem_file_scope(), (void *)q->stdin_data);
        wmem_free(wmem_file_scope(), (void *)q->stderr_data);
        q->stdin_data = q->stderr_data = NULL;
    }
    if (n)
        g_array_remove_range(drop_after_frame, 0, n);
}

static const char *
req_script(const fastcgi_request *q)
{
    return q->p_script ? q->p_script : q->p_script_filename;
}

/* The request's tap record, from what is known of it now: at its
 * END_REQUEST (first pass), or once the decoder delivered it (nothing of
 * it changes after that). */
static void
tap_req(fastcgi_tap_req *t, const fastcgi_request *q)
{
    t->request_id = q->id;
    t->complete = q->ended ? q->complete : q->has_end;
    t->has_begin = q->has_begin;
    t->begin_ts = q->begin_ts;
    t->begin_frame = q->begin_frame;
    t->has_latency = q->has_end;
    t->latency = q->latency;
    t->status = q->status;
    t->method = q->p_method;
    t->script = req_script(q);
    t->end_reason = q->end_reason ? q->end_reason : (q->has_end ? "complete" : NULL);
    t->anomalies = q->anomalies;
    t->nanomalies = q->nanomalies;
}

static void
cb_transaction(void *ud, const fsd_transaction *tx)
{
    fastcgi_conv *cv = (fastcgi_conv *)ud;
    fastcgi_request *q = find_tx_req(cv, tx);
    size_t i;

    if (!q) {
        /* A request the mirror missed (should not happen): track it now. */
        q = wmem_new0(wmem_file_scope(), fastcgi_request);
        q->seq = tx->seq;
        q->id = tx->request_id;
    }
    q->ended = TRUE;
    q->complete = tx->has_end;
    q->end_reason = fsd_end_reason_name(tx->end_reason);
    q->role = tx->role;
    q->keep_conn = (tx->flags & FSD_FLAG_KEEP_CONN) != 0;
    q->status = tx->http_status;
    q->method = span_dup_as(tx->method, q->p_method, NULL);
    q->uri = span_dup_as(tx->uri, q->p_uri, NULL);
    q->script = span_dup_as(tx->script, q->p_script, q->p_script_filename);
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
    if (active_req(cv, q->id) == q)
        g_hash_table_remove(cv->active, GUINT_TO_POINTER((guint)q->id));

    if (cv->cur) {
        keep_streams(q, cv->cur);
        append_ended(cv->cur, q);
    } else {
        fastcgi_record *l = conv_late(cv);
        keep_streams(q, NULL);
        append_ended(l, q);
    }
}

static const fsd_callbacks fastcgi_callbacks = {
    cb_record, cb_param, cb_data, cb_response, cb_anomaly, cb_transaction
};

/* ---- conversations --------------------------------------------------- */

static fastcgi_conv *
get_conv(packet_info *pinfo, gboolean create)
{
    conversation_t *conv = find_or_create_conversation(pinfo);
    fastcgi_conv *cv = (fastcgi_conv *)conversation_get_proto_data(conv, proto_fastcgi);
    if (cv || !create)
        return cv;
    cv = wmem_new0(wmem_file_scope(), fastcgi_conv);
    cv->reqs = g_ptr_array_new();
    cv->active = g_hash_table_new(g_direct_hash, g_direct_equal);
    cv->tcpd = get_tcp_conversation_data(conv, pinfo);
    conversation_add_proto_data(conv, proto_fastcgi, cv);
    g_ptr_array_add(all_convs, cv);
    return cv;
}

/* First pass: the conversations segment_conv found, with their endpoints,
 * in a small table by port pair, so that the next segment of a connection
 * (most of them) costs no conversation lookup (~1,100 instructions; one
 * remembered conversation missed a quarter of the segments of a capture of
 * many concurrent connections). TCP starts a new conversation for the same
 * addresses and ports only at a SYN (a port reused, RFC 9293 3.10.7.3):
 * the postdissector forgets the entry of every SYN's port pair, and all of
 * them at a TCP packet whose flags it cannot see (conv_memo_check). Later
 * passes look up: their frames come in any order. */
#define FASTCGI_CONV_MEMO 256
typedef struct fastcgi_conv_memo {
    fastcgi_conv *cv;
    guint32 port[2];
    address addr[2];
    guint8 data[2][16];
} fastcgi_conv_memo;
static fastcgi_conv_memo conv_memo[FASTCGI_CONV_MEMO];

static fastcgi_conv_memo *
conv_memo_slot(const packet_info *pinfo)
{
    guint32 x = pinfo->srcport ^ pinfo->destport;   /* (the same both ways) */
    return &conv_memo[(x ^ (x >> 8)) & (FASTCGI_CONV_MEMO - 1)];
}

static void
conv_memo_clear(void)
{
    guint i;
    for (i = 0; i < FASTCGI_CONV_MEMO; i++)
        conv_memo[i].cv = NULL;
}

/* The remembered conversation of this packet's addresses and ports, NULL. */
static fastcgi_conv *
conv_memo_matches(const packet_info *pinfo)
{
    const fastcgi_conv_memo *m = conv_memo_slot(pinfo);
    if (!m->cv)
        return NULL;
    if (pinfo->srcport == m->port[0] && pinfo->destport == m->port[1] &&
        addresses_equal(&pinfo->src, &m->addr[0]) && addresses_equal(&pinfo->dst, &m->addr[1]))
        return m->cv;
    if (pinfo->srcport == m->port[1] && pinfo->destport == m->port[0] &&
        addresses_equal(&pinfo->src, &m->addr[1]) && addresses_equal(&pinfo->dst, &m->addr[0]))
        return m->cv;
    return NULL;
}

static void
conv_memo_set(const packet_info *pinfo, fastcgi_conv *cv)
{
    fastcgi_conv_memo *m = conv_memo_slot(pinfo);
    const address *a[2] = { &pinfo->src, &pinfo->dst };
    int i;
    m->cv = NULL;
    for (i = 0; i < 2; i++) {
        if (a[i]->len < 0 || a[i]->len > (int)sizeof m->data[i] || (a[i]->len && !a[i]->data))
            return;
        if (a[i]->len)
            memcpy(m->data[i], a[i]->data, (size_t)a[i]->len);
        set_address(&m->addr[i], a[i]->type, a[i]->len, a[i]->len ? m->data[i] : NULL);
    }
    m->port[0] = pinfo->srcport;
    m->port[1] = pinfo->destport;
    m->cv = cv;
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
decide_server(fastcgi_conv *cv, packet_info *pinfo, const guint8 *buf, size_t len)
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
packet_dir(fastcgi_conv *cv, packet_info *pinfo)
{
    if (pinfo->destport == cv->server_port && addresses_equal(&pinfo->dst, &cv->server_addr) &&
        !(pinfo->srcport == cv->server_port && addresses_equal(&pinfo->src, &cv->server_addr)))
        return FSD_DIR_CLIENT;
    return FSD_DIR_SERVER;
}

static void
ensure_decoder(fastcgi_conv *cv)
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
merge_hold(fastcgi_record *r, fastcgi_record *h)
{
#define FASTCGI_PREPEND(arr, n, cap, type) do { \
        if (hx->n) { \
            type *na = wmem_alloc_array(wmem_file_scope(), type, hx->n + rx->n); \
            memcpy(na, hx->arr, hx->n * sizeof(type)); \
            if (rx->n) \
                memcpy(na + hx->n, rx->arr, rx->n * sizeof(type)); \
            wmem_free(wmem_file_scope(), rx->arr); \
            wmem_free(wmem_file_scope(), hx->arr); \
            rx->arr = na; \
            rx->n += hx->n; \
            rx->cap = rx->n; \
            hx->arr = NULL; \
            hx->n = hx->cap = 0; \
        } \
    } while (0)
    /* Anomalies and ended requests stay with the hold: they are shown in
     * the frame that carried those bytes, in every pass. The pairs and the
     * response header are part of the record. */
    if (h->x && h->x->nparams) {   /* (a hold's pairs are all stored: it has no record bytes) */
        fastcgi_record_ext *hx = h->x, *rx = rec_x(r);
        FASTCGI_PREPEND(params, nparams, params_cap, fastcgi_param);
    }
#undef FASTCGI_PREPEND
    if (h->x && h->x->resp && !(r->x && r->x->resp))
        rec_x(r)->resp = h->x->resp;
    if (h->x)
        h->x->resp = NULL;
    /* the stream bytes of the record's start come before its own */
    if (h->span_k) {
        if (!r->span_k) {
            r->span_k = h->span_k;
            r->span_off = h->span_off;
            r->span_pos = h->span_pos;
            r->span_len = h->span_len;
        } else if (r->span_k != FASTCGI_SPAN_BROKEN && h->span_k == r->span_k &&
                   h->span_off + h->span_len == r->span_off && h->span_pos + h->span_len == r->span_pos) {
            r->span_off = h->span_off;
            r->span_pos = h->span_pos;
            r->span_len += h->span_len;
        } else {
            r->span_k = FASTCGI_SPAN_BROKEN;
        }
        h->span_k = 0;
    }
    if (h->x && h->x->body_req && !(r->x && r->x->body_req)) {   /* (its bytes, when kept, with it) */
        fastcgi_record_ext *x = rec_x(r);
        x->body_bytes = h->x->body_bytes;
        x->body_len = h->x->body_len;
        x->body_type = h->x->body_type;
        x->body_req = h->x->body_req;
        r->body_cut = h->body_cut;
        x->body_req->body_rec = r;
        h->x->body_req = NULL;
    }
    if (h->x) {
        h->x->body_bytes = NULL;
        h->x->body_len = 0;
    }
    if (h->prev_hold) {
        merge_hold(r, h->prev_hold);
        h->prev_hold = NULL;
    }
    /* A hold its frame does not list (nothing to show there) has given
     * the record everything it had: nothing points to it any more. */
    if (!h->in_frame) {
        if (h->x)
            wmem_free(wmem_file_scope(), h->x->params);
        wmem_free(wmem_file_scope(), h->x);
        wmem_free(wmem_file_scope(), h);
    }
}

/* Attach the record to the request the decoder put it in (mirror of the
 * decoder's table: a BEGIN_REQUEST it accepted opens one, a transaction
 * closes it). */
static void
bind_request(fastcgi_conv *cv, fastcgi_record *r)
{
    const fsd_record_event *ev = &cv->cur_ev;   /* r's, fed just now */
    fastcgi_request *q;
    guint i;

    if (!r->have_event || !ev->request_active)
        return;
    q = active_req(cv, ev->hdr.request_id);
    if (ev->hdr.type == FSD_BEGIN_REQUEST && !q) {
        /* Did the request this BEGIN opened already end in the same record? */
        fastcgi_request *done = NULL;
        for (i = 0; i < rec_nended(r); i++)
            if (r->x->ended[i]->id == ev->hdr.request_id && r->x->ended[i]->seq == cv->nbegins)
                done = r->x->ended[i];
        if (done) {
            q = done;
        } else {
            q = wmem_new0(wmem_file_scope(), fastcgi_request);
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
        for (i = 0; i < rec_nended(r); i++)
            if (r->x->ended[i]->id == ev->hdr.request_id)
                q = r->x->ended[i];
    }
    r->req = q;
    if (!q)
        return;
    if (ev->hdr.type == FSD_PARAMS && rec_npairs(r)) {
        if (!q->param_recs)
            q->param_recs = wmem_array_new(wmem_file_scope(), sizeof(const fastcgi_record *));
        wmem_array_append_one(q->param_recs, r);
    }
    mirror_times(q, ev);
    if ((ev->hdr.type == FSD_STDOUT || ev->hdr.type == FSD_STDERR) && !q->first_seen) {
        q->first_seen = TRUE;
        r->first_response = TRUE;
    }
    if (ev->hdr.type == FSD_END_REQUEST && !q->end_seen) {
        q->end_seen = TRUE;
        r->end_here = TRUE;
    }
    if (!r->piece)
        r->status = q->status;
}

/* ---- who closed: a postdissector over every TCP packet ---------------- */

/* A FIN or RST goes to the decoder at its own packet, in order with the
 * records (after this frame's bytes: the postdissector runs after us), so
 * the decoder sees e.g. the web server give up before the application's
 * late answer. What it delivers then is shown with the connection's end. */
static void
feed_close(fastcgi_conv *cv, fsd_dir d, fsd_close_kind kind, gint64 ts, guint32 frame, fastcgi_record *into)
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
finish_conv(fastcgi_conv *cv)
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
    /* Held segments whose missing bytes never came: the gaps now */
    release_held(cv, NULL, FSD_DIR_CLIENT, TRUE);
    release_held(cv, NULL, FSD_DIR_SERVER, TRUE);
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

    for (i = 0; i < cv->reqs->len; i++) {
        fastcgi_request *q = (fastcgi_request *)g_ptr_array_index(cv->reqs, i);
        req_free_streams(q);
    }
}

static void
fastcgi_postseq(void)
{
    guint i;
    if (!all_convs)
        return;
    if (!late_frames)
        late_frames = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (i = 0; i < all_convs->len; i++) {
        fastcgi_conv *cv = (fastcgi_conv *)g_ptr_array_index(all_convs, i);
        finish_conv(cv);
        if (cv->late && cv->show_frame)
            g_hash_table_insert(late_frames, GUINT_TO_POINTER(cv->show_frame), cv);
    }
    drop_frame_streams(G_MAXUINT32);
    /* a later pass (tshark -2's second) may reference other fields */
    streams_referenced = -1;
}

static void
fastcgi_init(void)
{
    all_convs = g_ptr_array_new();
    n_gaps = 0;
    n_drained = 0;
    fed_frame = 0;
    frame_made = 0;
    conv_memo_clear();
    if (post_wants_len)
        post_want(FALSE);
    streams_referenced = -1;
    drop_after_frame = g_array_new(FALSE, FALSE, sizeof(fastcgi_drop));
    first_pass_frame = 0;
}

static void
fastcgi_cleanup(void)
{
    guint i;
    conv_memo_clear();
    if (!all_convs)
        return;
    for (i = 0; i < all_convs->len; i++) {
        fastcgi_conv *cv = (fastcgi_conv *)g_ptr_array_index(all_convs, i);
        guint j;
        if (cv->dec)
            fsd_conn_free(cv->dec);   /* file-scope memory, released with the file */
        cv->dec = NULL;
        for (j = 0; j < 2; j++)
            if (cv->dir[j].held)
                g_array_free(cv->dir[j].held, TRUE);
        if (cv->pieces)
            g_array_free(cv->pieces, TRUE);
        for (j = 0; j < cv->reqs->len; j++) {
            fastcgi_request *q = (fastcgi_request *)g_ptr_array_index(cv->reqs, j);
            req_free_streams(q);
        }
        g_ptr_array_free(cv->reqs, TRUE);
        g_hash_table_destroy(cv->active);
    }
    g_ptr_array_free(all_convs, TRUE);
    all_convs = NULL;
    if (late_frames)
        g_hash_table_destroy(late_frames);
    late_frames = NULL;
    if (media_protos)
        g_array_free(media_protos, TRUE);
    media_protos = NULL;
    if (drop_after_frame)
        g_array_free(drop_after_frame, TRUE);
    drop_after_frame = NULL;
}

/* ---- per-frame storage ------------------------------------------------ */

static fastcgi_frame *
frame_data_get(packet_info *pinfo, gboolean create)
{
    fastcgi_frame *f = (fastcgi_frame *)p_get_proto_data(wmem_file_scope(), pinfo, proto_fastcgi, KEY_FRAME);
    if (!f && create) {
        f = (fastcgi_frame *)wmem_alloc0(wmem_file_scope(), sizeof(fastcgi_frame) + sizeof(fastcgi_frame_record));
        p_add_proto_data(wmem_file_scope(), pinfo, proto_fastcgi, KEY_FRAME, f);
        frame_made = pinfo->num;
    }
    return f;
}

static fastcgi_frame_ext *
frame_x(packet_info *pinfo)
{
    fastcgi_frame *f = frame_data_get(pinfo, TRUE);
    if (!f->x)
        f->x = wmem_new0(wmem_file_scope(), fastcgi_frame_ext);
    return f->x;
}

/* A record of this frame (first pass), into room that doubles (1, 2, 4,
 * ... entries; a frame of thousands of tiny records must not be copied for
 * each). The frame may move: returns where it is now. */
static fastcgi_frame *
frame_add_record(packet_info *pinfo, fastcgi_frame *f, guint32 seq, fastcgi_record *r)
{
    if (f->nrecs && !(f->nrecs & (f->nrecs - 1))) {   /* full: nrecs is a power of two */
        fastcgi_frame *nf = (fastcgi_frame *)wmem_realloc(wmem_file_scope(), f,
            sizeof(fastcgi_frame) + 2 * (size_t)f->nrecs * sizeof(fastcgi_frame_record));
        if (nf != f)
            p_set_proto_data(wmem_file_scope(), pinfo, proto_fastcgi, KEY_FRAME, nf);
        f = nf;
    }
    f->recs[f->nrecs].seq = seq;
    f->recs[f->nrecs].rec = r;
    f->nrecs++;
    return f;
}

/* Append to one of a frame's other arrays, made on its first use. */
static void
frame_append(wmem_array_t **a, size_t elem, const void *v)
{
    if (!*a)
        *a = wmem_array_sized_new(wmem_file_scope(), elem, 1);
    wmem_array_append(*a, v, 1);
}

/* The entry for seq among n, searched from *hint on (wrapping round);
 * *hint is left just after the entry found. */
static fastcgi_record *
frame_lookup(const fastcgi_frame_record *a, guint n, guint32 seq, guint *hint)
{
    guint i;
    for (i = 0; i < n; i++) {
        guint k = (*hint + i) % n;
        if (a[k].seq == seq) {
            *hint = k + 1;
            return a[k].rec;
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
    fastcgi_pkt *pk = pkt_state(pinfo);
    fastcgi_tap_frame *tf = pk->tap;
    if (!tf) {
        tf = pk->tap = wmem_new(pinfo->pool, fastcgi_tap_frame);
        tf->recs = wmem_array_new(pinfo->pool, sizeof(const fastcgi_tap_info *));
        tap_queue_packet(fastcgi_tap, pinfo, tf);
    }
    wmem_array_append_one(tf->recs, ti);
}

/* The tap record of a record (or segment) from what is stored with it:
 * kept with the record once built (the requests it sums up as they were
 * then, in every later pass); an empty one, for this dissection only, for
 * a record with no anomaly and no request to sum up (most of them). */
static const fastcgi_tap_info *
build_tap(packet_info *pinfo, fastcgi_record *r, int record_type)
{
    fastcgi_record_ext *x = r->x;
    fastcgi_tap_info *ti;
    guint i;
    if (!(x && (x->tap || x->nanom || x->nended)) && !(r->end_here && r->req)) {
        ti = wmem_new0(pinfo->pool, fastcgi_tap_info);
        ti->record_type = record_type;
        return ti;
    }
    x = rec_x(r);
    if (!x->tap) {
        /* The requests summed up here: the record's own at its END_REQUEST
         * (its tap record filled then, so one pass counts it), and those
         * the decoder delivered here without an END_REQUEST. */
        guint n = 0;
        fastcgi_tap_req *tr = wmem_alloc_array(wmem_file_scope(), fastcgi_tap_req, x->nended + 1);
        if (r->end_here && r->req)
            tap_req(&tr[n++], r->req);
        for (i = 0; i < x->nended; i++)
            if (!x->ended[i]->has_end)
                tap_req(&tr[n++], x->ended[i]);
        x->tap = wmem_new0(wmem_file_scope(), fastcgi_tap_info);
        x->tap->ended = tr;
        x->tap->nended = n;
    }
    ti = x->tap;
    ti->record_type = record_type;
    if (ti->nanomalies != x->nanom) {
        guint16 *ids = x->nanom ? wmem_alloc_array(wmem_file_scope(), guint16, x->nanom) : NULL;
        for (i = 0; i < x->nanom; i++)
            ids[i] = x->anom[i].id;
        ti->anomalies = ids;
        ti->nanomalies = x->nanom;
    }
    return ti;
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

/* Is an item of this field shown (a tree is printed or the field is asked
 * for by a filter or a column)? If not, Wireshark fakes the item and its
 * label is never read: escaping traffic bytes for it is wasted work (a
 * filter-only `tshark -Y fastcgi` over a big capture). */
static gboolean
label_shown(proto_tree *tree, int hf)
{
    return proto_field_is_referenced(tree, hf);
}

/* May one more expert info be raised in this frame (FASTCGI_EXPERT_PER_FRAME)? */
static gboolean
expert_budget(packet_info *pinfo, proto_item *pi)
{
    guint n = pkt_state(pinfo)->expert_count++;
    if (n == FASTCGI_EXPERT_PER_FRAME)
        expert_add_info(pinfo, pi, &ei_fastcgi_expert_limit);
    return n < FASTCGI_EXPERT_PER_FRAME;
}

/* An anomaly: a tree item with its id, detail and request id, carrying the
 * expert info (raised whether or not a tree is built: item and tree may be
 * NULL, the expert tap still sees it). */
static void
add_expert(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const fastcgi_anomaly *a)
{
    fsd_anomaly_id id = (fsd_anomaly_id)a->id;
    fsd_severity cat = fsd_anomaly_severity(id);
    expert_field *ei = &ei_fastcgi_anomaly[id];
    const char *summary = fsd_anomaly_summary(id);
    gboolean has_detail = a->detail && a->detail[0];
    proto_item *ai = NULL;

    if (a->severity > cat && fsd_anomaly_max_severity(id) > cat)
        ei = &ei_fastcgi_anomaly_raised[id];
    else if (a->severity == FSD_SEV_NOTE && cat > FSD_SEV_NOTE)
        ei = &ei_fastcgi_anomaly_lowered[id]; /* e.g. incomplete_request at the capture's end */
    if (tree) {
        proto_tree *at;
        proto_item *it;
        if (has_detail)
            ai = proto_tree_add_string_format(tree, hf_fastcgi_anomaly, tvb, 0, 0, anomaly_ids[id], "Anomaly: %s (%s)",
                                              anomaly_ids[id], esc(pinfo, a->detail));
        else
            ai = proto_tree_add_string_format(tree, hf_fastcgi_anomaly, tvb, 0, 0, anomaly_ids[id], "Anomaly: %s",
                                              anomaly_ids[id]);
        proto_item_set_generated(ai);
        at = proto_item_add_subtree(ai, ett_fastcgi_anomaly);
        if (has_detail) {
            it = proto_tree_add_string(at, hf_fastcgi_anomaly_detail, tvb, 0, 0, a->detail);
            proto_item_set_generated(it);
        }
        if (a->request_id >= 0) {
            it = proto_tree_add_uint(at, hf_fastcgi_anomaly_request, tvb, 0, 0, (guint32)a->request_id);
            proto_item_set_generated(it);
        }
    }
    if (ei->ei == EI_INIT_EI || !expert_budget(pinfo, ai))
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
req_method_at(const fastcgi_request *q, guint32 idx)
{
    return q->p_method && q->idx_method <= idx ? q->p_method : NULL;
}

static const char *
req_uri_at(const fastcgi_request *q, guint32 idx)
{
    return q->p_uri && q->idx_uri <= idx ? q->p_uri : NULL;
}

static const char *
req_script_at(const fastcgi_request *q, guint32 idx)
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
typedef struct fastcgi_frame_request {
    proto_item *item;
    proto_tree *tree;
    gboolean method, uri, script, ttfb;
} fastcgi_frame_request;

static void
add_str_item(proto_tree *tree, int hf, tvbuff_t *tvb, const char *s)
{
    proto_item *it = proto_tree_add_string(tree, hf, tvb, 0, 0, s);
    proto_item_set_generated(it);
}

static fastcgi_frame_request *
frame_req(packet_info *pinfo, proto_tree *parent, tvbuff_t *tvb, const fastcgi_request *q, guint32 idx, gboolean separate)
{
    fastcgi_pkt *pk = pkt_state(pinfo);
    wmem_map_t *m = pk->requests;
    fastcgi_frame_request *fq;
    const char *s;
    if (!m)
        m = pk->requests = wmem_map_new(pinfo->pool, g_direct_hash, g_direct_equal);
    fq = (fastcgi_frame_request *)wmem_map_lookup(m, q);
    if (separate && fq) {
        /* its own subtree (the connection's end), the frame's values
         * already given in the frame's subtree of that request */
        fastcgi_frame_request *sq = wmem_new(pinfo->pool, fastcgi_frame_request);
        *sq = *fq;
        sq->item = proto_tree_add_uint(parent, hf_fastcgi_req_summary, tvb, 0, 0, q->id);
        proto_item_set_text(sq->item, "Request id %u (request #%" G_GUINT64_FORMAT " on this connection)",
                            q->id, q->seq + 1);
        proto_item_set_generated(sq->item);
        sq->tree = proto_item_add_subtree(sq->item, ett_fastcgi_request);
        return sq;
    }
    if (!fq) {
        proto_item *it;
        fq = wmem_new0(pinfo->pool, fastcgi_frame_request);
        wmem_map_insert(m, q, fq);
        fq->item = proto_tree_add_uint(parent, hf_fastcgi_req_summary, tvb, 0, 0, q->id);
        proto_item_set_text(fq->item, "Request id %u (request #%" G_GUINT64_FORMAT " on this connection)",
                            q->id, q->seq + 1);
        proto_item_set_generated(fq->item);
        fq->tree = proto_item_add_subtree(fq->item, ett_fastcgi_request);
        if (q->begin_frame && q->begin_frame != pinfo->num) {
            it = proto_tree_add_uint(fq->tree, hf_fastcgi_request_in, tvb, 0, 0, q->begin_frame);
            proto_item_set_generated(it);
        }
        /* a later frame: known on the first pass only from there on */
        if (q->has_end && q->end_frame != pinfo->num) {
            it = proto_tree_add_uint(fq->tree, hf_fastcgi_response_in, tvb, 0, 0, q->end_frame);
            proto_item_set_generated(it);
        }
    }
    if (!fq->method && (s = req_method_at(q, idx)) != NULL) {
        fq->method = TRUE;
        add_str_item(fq->tree, hf_fastcgi_req_method, tvb, s);
    }
    if (!fq->uri && (s = req_uri_at(q, idx)) != NULL) {
        fq->uri = TRUE;
        add_str_item(fq->tree, hf_fastcgi_req_uri, tvb, s);
    }
    if (!fq->script && (s = req_script_at(q, idx)) != NULL) {
        fq->script = TRUE;
        add_str_item(fq->tree, hf_fastcgi_req_script, tvb, s);
    }
    return fq;
}

static void
add_ttfb_once(fastcgi_frame_request *fq, tvbuff_t *tvb, const fastcgi_request *q)
{
    if (q->has_first && !fq->ttfb) {
        fq->ttfb = TRUE;
        add_time_item(fq->tree, hf_fastcgi_ttfb, tvb, &q->ttfb);
    }
}

/* At the request's END_REQUEST: what that record settles (the same in one
 * pass and two: taken from the record events, fsd.h timepoints). */
static void
add_end_summary(fastcgi_frame_request *fq, tvbuff_t *tvb, const fastcgi_request *q)
{
    proto_item *it;
    if (q->status) {
        it = proto_tree_add_uint(fq->tree, hf_fastcgi_status, tvb, 0, 0, (guint32)q->status);
        proto_item_set_generated(it);
    }
    add_str_item(fq->tree, hf_fastcgi_end_reason, tvb, "complete");
    if (q->has_end)
        add_time_item(fq->tree, hf_fastcgi_time, tvb, &q->latency);
    add_ttfb_once(fq, tvb, q);
    proto_item_append_text(fq->item, ", ended with END_REQUEST");
}

/* Where the decoder delivered the request (fsd_transaction): how the web
 * server's client fared and the request's anomalies; for a request without
 * END_REQUEST also its status, end and times. */
static void
add_tx_summary(fastcgi_frame_request *fq, tvbuff_t *tvb, const fastcgi_request *q)
{
    proto_tree *tree = fq->tree;
    proto_item *it;
    guint i;
    if (!q->has_end) {
        if (q->status) {
            it = proto_tree_add_uint(tree, hf_fastcgi_status, tvb, 0, 0, (guint32)q->status);
            proto_item_set_generated(it);
        }
        if (q->end_reason)
            add_str_item(tree, hf_fastcgi_end_reason, tvb, q->end_reason);
        add_ttfb_once(fq, tvb, q);
        proto_item_append_text(fq->item, ", ended here (%s)", q->end_reason ? q->end_reason : "?");
    } else {
        proto_item_append_text(fq->item, ", delivered by the decoder here");
    }
    if (q->status && q->status_source)
        add_str_item(tree, hf_fastcgi_status_source, tvb, q->status_source);
    if (q->user_status) {
        it = proto_tree_add_uint(tree, hf_fastcgi_user_status, tvb, 0, 0, (guint32)q->user_status);
        proto_item_set_generated(it);
    }
    if (q->user_outcome)
        add_str_item(tree, hf_fastcgi_user_outcome, tvb, q->user_outcome);
    if (q->closed_by)
        add_str_item(tree, hf_fastcgi_closed_by, tvb, q->closed_by);
    if (q->gap) {
        it = proto_tree_add_boolean(tree, hf_fastcgi_gap, tvb, 0, 0, TRUE);
        proto_item_set_generated(it);
    }
    if (q->has_elapsed)
        add_time_item(tree, hf_fastcgi_elapsed, tvb, &q->elapsed);
    if (q->has_abandoned)
        add_time_item(tree, hf_fastcgi_abandoned_after, tvb, &q->abandoned_after);
    for (i = 0; i < q->nanomalies; i++) {
        const char *nm = fsd_anomaly_name((fsd_anomaly_id)q->anomalies[i]);
        add_str_item(tree, hf_fastcgi_req_anomaly, tvb, nm ? nm : "?");
    }
}

/* ---- the request read as a whole, where it ended ----------------------- */

static void
whole_params(proto_tree *wt, tvbuff_t *tvb, packet_info *pinfo, const fastcgi_request *q)
{
    guint i, j, n = 0, nrecs = q->param_recs ? wmem_array_get_count(q->param_recs) : 0;
    proto_item *pi;
    proto_tree *pt;
    for (i = 0; i < nrecs; i++) {
        const fastcgi_record *pr = *(const fastcgi_record **)wmem_array_index(q->param_recs, i);
        n += rec_npairs(pr);
    }
    pi = proto_tree_add_uint(wt, hf_fastcgi_whole_params, tvb, 0, 0, n);
    proto_item_set_generated(pi);
    proto_item_append_text(pi, " pairs");
    pt = proto_item_add_subtree(pi, ett_fastcgi_whole_part);
    for (i = 0; i < nrecs; i++) {
        guint np;
        const fastcgi_param *ps =
            record_pairs(pinfo->pool, *(const fastcgi_record **)wmem_array_index(q->param_recs, i), &np);
        for (j = 0; j < np; j++) {
            const fastcgi_param *p = &ps[j];
            proto_item *it;
            if (!label_shown(pt, hf_fastcgi_whole_param))
                it = proto_tree_add_string(pt, hf_fastcgi_whole_param, tvb, 0, 0, p->name);
            else
                it = proto_tree_add_string_format(pt, hf_fastcgi_whole_param, tvb, 0, 0, p->name, "%s = %s",
                                                  esc(pinfo, p->name), esc(pinfo, p->value));
            proto_item_set_generated(it);
        }
    }
}

/* STDIN or STDERR bytes as an item of the "Whole request" subtree. */
static void
whole_bytes(proto_tree *wt, tvbuff_t *tvb, packet_info *pinfo, int hf, const guint8 *data, guint32 len,
            gboolean cut)
{
    proto_item *it;
    if (!data)
        return;
    if (hf == hf_fastcgi_whole_stderr)
        it = proto_tree_add_string(wt, hf, tvb, 0, 0, (const char *)wmem_strndup(pinfo->pool, (const char *)data, len));
    else
        it = proto_tree_add_bytes_with_length(wt, hf, tvb, 0, 0, data, (gint)len);
    proto_item_set_generated(it);
    proto_item_append_text(it, " (%u bytes%s)", len, cut ? ", only the start" : "");
}

static void
whole_stdout(proto_tree *wt, tvbuff_t *tvb, const fastcgi_request *q)
{
    proto_item *oi;
    proto_tree *ot;
    guint i;
    if (!q->resp && !q->body_rec)
        return;
    oi = proto_tree_add_uint(wt, hf_fastcgi_whole_stdout, tvb, 0, 0, (guint32)q->status);
    proto_item_set_generated(oi);
    ot = proto_item_add_subtree(oi, ett_fastcgi_whole_part);
    for (i = 0; q->resp && i < q->resp->nheaders; i++)
        proto_item_set_generated(proto_tree_add_string(ot, hf_fastcgi_whole_stdout_header, tvb, 0, 0, q->resp->headers[i]));
    if (q->body_rec) {
        proto_item *it = proto_tree_add_uint(ot, hf_fastcgi_whole_body_len, tvb, 0, 0, q->body_rec->x->body_len);
        proto_item_set_generated(it);
        if (q->body_rec->body_cut)
            proto_item_append_text(it, " (only the start)");
    }
}

/* Is any item of the "Whole request" subtree shown (a printed tree, one of
 * its fields asked for)? If not, Wireshark fakes every item of it: ~6,000
 * instructions a request (its pairs) for nothing in a filter-only run. */
static gboolean
whole_shown(proto_tree *tree)
{
    static int *const hfs[] = {
        &hf_fastcgi_whole, &hf_fastcgi_whole_params, &hf_fastcgi_whole_param, &hf_fastcgi_whole_stdin,
        &hf_fastcgi_whole_stdout, &hf_fastcgi_whole_stdout_header, &hf_fastcgi_whole_body_len,
        &hf_fastcgi_whole_stderr,
    };
    guint i;
    for (i = 0; i < G_N_ELEMENTS(hfs); i++)
        if (proto_field_is_referenced(tree, *hfs[i]))
            return TRUE;
    return FALSE;
}

/* The request as a whole: PARAMS, STDIN, STDOUT, STDERR in order, under its
 * "Request id" subtree where it ended (all of it is known there, in every
 * pass). The bytes were kept with the dissect_body preference on. */
static void
add_whole_request(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const fastcgi_request *q)
{
    proto_item *wi;
    proto_tree *wt;
    /* kept, else rebuilt by this pass (NULL: neither) */
    const guint8 *in = q->stdin_data ? q->stdin_data : stream_bytes(req_stream(q, FASTCGI_STREAM_STDIN), q->stdin_len);
    const guint8 *err = q->stderr_data ? q->stderr_data
                                       : stream_bytes(req_stream(q, FASTCGI_STREAM_STDERR), q->stderr_len);
    if (!q->stdin_len || !stream_shown(q, FASTCGI_STREAM_STDIN))
        in = NULL;
    if (!q->stderr_len || !stream_shown(q, FASTCGI_STREAM_STDERR))
        err = NULL;
    if (!tree || (!q->param_recs && !in && !q->resp && !q->body_rec && !err) || !whole_shown(tree))
        return;
    wi = proto_tree_add_item(tree, hf_fastcgi_whole, tvb, 0, 0, ENC_NA);
    proto_item_set_generated(wi);
    wt = proto_item_add_subtree(wi, ett_fastcgi_whole);
    whole_params(wt, tvb, pinfo, q);
    whole_bytes(wt, tvb, pinfo, hf_fastcgi_whole_stdin, in, q->stdin_len, q->stdin_cut);
    whole_stdout(wt, tvb, q);
    whole_bytes(wt, tvb, pinfo, hf_fastcgi_whole_stderr, err, q->stderr_len, q->stderr_cut);
}

/* Requests the decoder delivered with these results. */
static void
add_ended_requests(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const fastcgi_record *r, guint32 idx,
                   gboolean separate)
{
    guint i;
    for (i = 0; i < rec_nended(r); i++) {
        fastcgi_request *q = r->x->ended[i];
        fastcgi_frame_request *fq = frame_req(pinfo, tree, tvb, q, idx, separate);
        add_tx_summary(fq, tvb, q);
        add_whole_request(fq->tree, tvb, pinfo, q);
    }
}

/* Bytes of the name's length field, from where the decoder placed the pair
 * and its name: the two length fields together take 2, 5 or 8 bytes (1 or 4
 * each); 5 is 1+4 or 4+1, told apart by which declared length needs four
 * bytes. 0: not known (the pair is not inside this record, or both lengths
 * fit one byte yet one field took four). */
static gint
param_name_len_size(const fastcgi_param *p)
{
    gint both;
    if (p->pair_off < 0 || p->name_off < 0)
        return 0;
    both = p->name_off - p->pair_off;
    if (p->name_len_bytes == 1 || p->name_len_bytes == 4)
        return p->name_len_bytes;
    if (both == 2 || both == 8)
        return both / 2;
    if (both == 5 && p->name_len > 127)
        return 4;
    if (both == 5 && p->value_len > 127)
        return 1;
    return 0;
}

/* The name and value lengths: wire fields where the pair lies in this
 * record, else what the decoder declared (generated). */
static void
add_param_lengths(proto_tree *pt, tvbuff_t *tvb, const fastcgi_param *p)
{
    gint nsize = param_name_len_size(p);
    if (nsize) {
        gint vsize = p->name_off - p->pair_off - nsize;
        proto_tree_add_uint(pt, hf_fastcgi_param_name_len, tvb, p->pair_off, nsize, p->name_len);
        proto_tree_add_uint(pt, hf_fastcgi_param_value_len, tvb, p->pair_off + nsize, vsize, p->value_len);
        return;
    }
    proto_item_set_generated(proto_tree_add_uint(pt, hf_fastcgi_param_name_len, tvb, 0, 0, p->name_len));
    proto_item_set_generated(proto_tree_add_uint(pt, hf_fastcgi_param_value_len, tvb, 0, 0, p->value_len));
}

/* One name-value pair: its label escaped, its lengths, name and value at
 * their bytes in the record when they lie in it (else generated). */
static void
add_param(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const fastcgi_param *p)
{
    gint off = p->pair_off >= 0 ? p->pair_off : 0, len = p->pair_off >= 0 ? p->pair_len : 0;
    proto_item *pi;
    proto_tree *pt;
    if (!label_shown(tree, hf_fastcgi_param))
        pi = proto_tree_add_string(tree, hf_fastcgi_param, tvb, off, len, p->name);
    else
        pi = proto_tree_add_string_format(tree, hf_fastcgi_param, tvb, off, len, p->name,
                                          "%s = %s%s", esc(pinfo, p->name), esc(pinfo, p->value),
                                          p->pair_off < 0 && p->straddled ? " [spans two records]" : "");
    pt = proto_item_add_subtree(pi, ett_fastcgi_param);
    add_param_lengths(pt, tvb, p);
    if (p->name_off >= 0)
        proto_tree_add_string(pt, hf_fastcgi_param_name, tvb, p->name_off, (gint)strlen(p->name), p->name);
    else
        proto_item_set_generated(proto_tree_add_string(pt, hf_fastcgi_param_name, tvb, 0, 0, p->name));
    if (p->value_off >= 0)
        proto_tree_add_string(pt, hf_fastcgi_param_value, tvb, p->value_off, (gint)strlen(p->value), p->value);
    else
        proto_item_set_generated(proto_tree_add_string(pt, hf_fastcgi_param_value, tvb, 0, 0, p->value));
    if (p->straddled)
        proto_item_set_generated(proto_tree_add_boolean(pt, hf_fastcgi_param_straddled, tvb, 0, 0, TRUE));
}

/* Is any item of a pair shown (a printed tree, one of its fields asked
 * for by a filter, a column or -e)? If not, Wireshark fakes every item of
 * it: ~650 instructions a pair for nothing in a filter-only run. */
static gboolean
params_shown(proto_tree *tree)
{
    return proto_field_is_referenced(tree, hf_fastcgi_param) ||
           proto_field_is_referenced(tree, hf_fastcgi_param_name) ||
           proto_field_is_referenced(tree, hf_fastcgi_param_value) ||
           proto_field_is_referenced(tree, hf_fastcgi_param_name_len) ||
           proto_field_is_referenced(tree, hf_fastcgi_param_value_len) ||
           proto_field_is_referenced(tree, hf_fastcgi_param_straddled);
}

static void
add_params(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const fastcgi_record *r)
{
    guint i, n;
    const fastcgi_param *ps;
    if (!rec_npairs(r) || !params_shown(tree))
        return;
    ps = record_pairs(pinfo->pool, r, &n);
    for (i = 0; i < n; i++)
        add_param(tree, tvb, pinfo, &ps[i]);
}

static void
add_response(proto_tree *tree, tvbuff_t *tvb, const fastcgi_response *resp)
{
    proto_item *ti, *it;
    proto_tree *rt;
    guint i;
    ti = proto_tree_add_uint(tree, hf_fastcgi_resp_status, tvb, 0, 0, (guint32)resp->status);
    proto_item_set_generated(ti);
    rt = proto_item_add_subtree(ti, ett_fastcgi_response);
    if (resp->status_line) {
        it = proto_tree_add_string(rt, hf_fastcgi_status_line, tvb, 0, 0, resp->status_line);
        proto_item_set_generated(it);
    }
    if (resp->content_type) {
        it = proto_tree_add_string(rt, hf_fastcgi_content_type, tvb, 0, 0, resp->content_type);
        proto_item_set_generated(it);
    }
    for (i = 0; i < resp->nheaders; i++) {
        it = proto_tree_add_string(rt, hf_fastcgi_resp_header, tvb, 0, 0, resp->headers[i]);
        proto_item_set_generated(it);
    }
    it = proto_tree_add_uint64(rt, hf_fastcgi_header_len, tvb, 0, 0, resp->header_len);
    proto_item_set_generated(it);
}

static void
dissect_body(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const fastcgi_record *r, const guint8 *body)
{
    tvbuff_t *btvb;
    dissector_handle_t h = NULL;
    char *mt = NULL;
    proto_item *it;
    const fastcgi_record_ext *x = r->x;

    if (!body || !x || !x->body_len)
        return;
    btvb = tvb_new_child_real_data(tvb, body, x->body_len, x->body_len);
    add_new_data_source(pinfo, btvb, "FastCGI response body");
    it = proto_tree_add_item(tree, hf_fastcgi_body, btvb, 0, -1, ENC_NA);
    proto_item_set_generated(it);
    if (r->body_cut)
        proto_item_append_text(it, " (only the first %u bytes: the rest is past the fastcgi.body_cap "
                               "preference or missing from the capture)", x->body_len);
    if (x->body_type && media_type_table) {
        const char *sc = strchr(x->body_type, ';');
        size_t n = sc ? (size_t)(sc - x->body_type) : strlen(x->body_type);
        while (n && (x->body_type[n - 1] == ' ' || x->body_type[n - 1] == '\t'))
            n--;
        mt = wmem_ascii_strdown(pinfo->pool, x->body_type, (gssize)n);
        h = dissector_get_string_handle(media_type_table, mt);
    }
    /* Each content dissector call adds a protocol layer that stays for the
     * rest of the frame; a segment of a few hundred small responses would
     * reach Wireshark's layer limit, and then TCP's hand-over of the next
     * reassembled record fails too (the decoder would miss those bytes).
     * Leave room for that and for nested content: later bodies in such a
     * frame are shown as bytes only. */
    /* Nothing would read what the content dissector adds (no columns, no
     * printed tree, no filter on its fields: priming a field marks its
     * protocol referenced), as in a filter-only `tshark -Y fastcgi` over a
     * big capture: the body stays bytes. */
    if (h && !pinfo->cinfo && !proto_field_is_referenced(tree, dissector_handle_get_protocol_index(h)))
        h = NULL;
    if (h && wmem_list_count(pinfo->layers) + FASTCGI_LAYER_MARGIN >= FASTCGI_MAX_LAYERS) {
        proto_item_append_text(it, " (not dissected: too many protocol layers in this frame)");
        h = NULL;
    }
    if (h) {
        http_message_info_t info;
        memset(&info, 0, sizeof info);
        info.type = HTTP_OTHERS;
        info.media_str = x->body_type && strchr(x->body_type, ';') ? strchr(x->body_type, ';') + 1 : NULL;
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

/* ---- File > Export Objects > FastCGI -------------------------------------- */

/* The file name of a response body: the last part of the request's path
 * (REQUEST_URI without its query, else the script), "index" for a path
 * ending in "/". Export Objects makes it safe for the file system. */
static gchar *
eo_filename(const fastcgi_request *q)
{
    const char *path = q->uri ? q->uri : q->p_uri;
    const char *base;
    size_t n;
    if (!path || !path[0])
        path = q->script ? q->script : req_script(q);
    if (!path || !path[0])
        return g_strdup("response");
    n = strcspn(path, "?#");
    base = path;
    for (const char *c = path; c < path + n; c++)
        if (*c == '/')
            base = c + 1;
    if (base == path + n)
        return g_strdup("index");
    return g_strndup(base, (gsize)(path + n - base));
}

/* What the record queues on the Export Objects tap: the record and its
 * body's bytes (kept, or rebuilt by this pass; packet scope). */
typedef struct fastcgi_eo_item {
    const fastcgi_record *r;
    const guint8 *body;
} fastcgi_eo_item;

/* One response body (after the CGI header block, up to fastcgi.body_cap)
 * into the Export Objects list, queued on the record that carries it. */
static tap_packet_status
fastcgi_eo_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt _U_, const void *data,
                  tap_flags_t flags _U_)
{
    export_object_list_t *list = (export_object_list_t *)tapdata;
    const fastcgi_eo_item *o = (const fastcgi_eo_item *)data;
    const fastcgi_record *r = o ? o->r : NULL;
    export_object_entry_t *e;
    const fastcgi_record_ext *x = r ? r->x : NULL;
    if (!x || !o->body || !x->body_req)
        return TAP_PACKET_DONT_REDRAW;
    e = g_new0(export_object_entry_t, 1);
    e->pkt_num = pinfo->num;
    e->hostname = g_strdup(x->body_req->p_host ? x->body_req->p_host : "");
    e->content_type = g_strdup(x->body_type ? x->body_type : "");
    e->filename = eo_filename(x->body_req);
    e->payload_len = x->body_len;
    e->payload_data = (guint8 *)g_memdup2(o->body, x->body_len);
    list->add_entry(list->gui_data, e);
    return TAP_PACKET_REDRAW;
}

/* A stream record's length, and what of its content this segment has when
 * the rest comes in later segments (reassemble_streams off). */
static void
info_add_length(wmem_strbuf_t *s, const fsd_header *h, guint32 here)
{
    if (here == 0 && h->content_length)
        wmem_strbuf_append_printf(s, " (%u bytes, only its header here)", h->content_length);
    else if (here < h->content_length)
        wmem_strbuf_append_printf(s, " (%u bytes, first %u here)", h->content_length, here);
    else
        wmem_strbuf_append_printf(s, " (%u bytes)", h->content_length);
}

static char *
info_for_record(packet_info *pinfo, const fsd_header *h, const fastcgi_record *r, guint32 here)
{
    wmem_strbuf_t *s = wmem_strbuf_new(pinfo->pool, fsd_type_name(h->type));
    const fastcgi_request *q = r ? r->req : NULL;
    gboolean eos = h->content_length == 0;

    if (h->type < 1 || h->type > FSD_MAX_KNOWN_TYPE)
        wmem_strbuf_append_printf(s, " type=%u", h->type);
    switch (h->type) {
    case FSD_BEGIN_REQUEST:
        wmem_strbuf_append_printf(s, " id=%u", h->request_id);
        if (r && r->have_event && r->body_valid) {
            wmem_strbuf_append_printf(s, " %s", fsd_role_name(r->x->body.begin.role));
            if (r->x->body.begin.flags & FSD_FLAG_KEEP_CONN)
                wmem_strbuf_append(s, " keep-conn");
        }
        break;
    case FSD_ABORT_REQUEST:
        wmem_strbuf_append_printf(s, " id=%u", h->request_id);
        break;
    case FSD_END_REQUEST:
        wmem_strbuf_append_printf(s, " id=%u", h->request_id);
        if (r && r->have_event && r->body_valid) {
            if (r->x->body.end.protocol_status == FSD_REQUEST_COMPLETE)
                wmem_strbuf_append(s, " complete");
            else
                wmem_strbuf_append_printf(s, " %s", fsd_protocol_status_name(r->x->body.end.protocol_status));
            if (r->x->body.end.app_status)
                wmem_strbuf_append_printf(s, " app_status=%u", r->x->body.end.app_status);
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
            info_add_length(s, h, here);
        }
        break;
    case FSD_STDIN:
    case FSD_STDERR:
    case FSD_DATA:
        if (eos)
            wmem_strbuf_append(s, " end");
        else
            info_add_length(s, h, here);
        break;
    case FSD_GET_VALUES:
    case FSD_GET_VALUES_RESULT:
        if (r) {
            guint i, n;
            const fastcgi_param *ps = record_pairs(pinfo->pool, r, &n);
            for (i = 0; i < n && i < 4; i++) {
                const fastcgi_param *p = &ps[i];
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
        if (r && r->have_event && r->body_valid)
            wmem_strbuf_append_printf(s, " type=%u", r->x->body.unknown_type.type);
        break;
    default:
        break;
    }
    return wmem_strbuf_finalize(s);
}

#define FASTCGI_TOP_SUMMARY_RECORDS 3

static fastcgi_top_item *
frame_top(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, gint len)
{
    fastcgi_pkt *pk = pkt_state(pinfo);
    fastcgi_top_item *top = pk->top;
    if (top || !tree)
        return top;
    top = pk->top = wmem_new0(pinfo->pool, fastcgi_top_item);
    top->item = proto_tree_add_item(tree, proto_fastcgi, tvb, 0, len, ENC_NA);
    top->tree = proto_item_add_subtree(top->item, ett_fastcgi);
    return top;
}

static proto_tree *
frame_top_tree(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, gint len)
{
    fastcgi_top_item *top = frame_top(tvb, pinfo, tree, len);
    return top ? top->tree : NULL;
}

/* One record's Info text onto the frame's FastCGI item: the first
 * FASTCGI_TOP_SUMMARY_RECORDS records, then how many there are. */
static void
top_summary_add(packet_info *pinfo, const char *info, gboolean piece)
{
    fastcgi_top_item *top = pkt_state(pinfo)->top;
    if (!top)
        return;
    top->nrecs++;
    top->npieces += piece;
    if (top->nrecs <= FASTCGI_TOP_SUMMARY_RECORDS) {
        if (!top->summary)
            top->summary = wmem_strbuf_new(pinfo->pool, "");
        wmem_strbuf_append_printf(top->summary, "%s%s", top->nrecs == 1 ? "" : ", ", info);
        proto_item_set_text(top->item, "FastCGI (fcgiscope): %s", wmem_strbuf_get_str(top->summary));
    } else if (!top->npieces) {
        proto_item_set_text(top->item, "FastCGI (fcgiscope): %s, ... (%u records)",
                            wmem_strbuf_get_str(top->summary), top->nrecs);
    } else {
        proto_item_set_text(top->item, "FastCGI (fcgiscope): %s, ... (%u records and a piece of one)",
                            wmem_strbuf_get_str(top->summary), top->nrecs - top->npieces);
    }
}

static void
first_call_in_frame(packet_info *pinfo)
{
    fastcgi_pkt *pk = pkt_state(pinfo);
    if (!pk->columns_set) {
        pk->columns_set = TRUE;
        col_set_str(pinfo->cinfo, COL_PROTOCOL, "FastCGI");
        col_clear(pinfo->cinfo, COL_INFO);
    }
}

/* Data handed between the TCP-level dissector and the record dissector. */
typedef struct fastcgi_pdu_ctx {
    struct tcpinfo *tcpinfo;
    fastcgi_conv *cv;
    fsd_dir dir;
    guint32 base_seq;   /* TCP seq of the first byte of the tvb given to tcp_dissect_pdus */
    guint32 offset;     /* offset of the next record in that tvb */
} fastcgi_pdu_ctx;

/* Is h a record whose bytes are a stream (shown a segment at a time when
 * longer than its segment: reassemble_streams off)? */
static gboolean
is_stream_record(const fsd_header *h)
{
    return h->type == FSD_STDIN || h->type == FSD_STDOUT || h->type == FSD_STDERR || h->type == FSD_DATA;
}

static guint
get_fastcgi_pdu_len(packet_info *pinfo _U_, tvbuff_t *tvb, int offset, void *data)
{
    const fastcgi_pdu_ctx *ctx = (const fastcgi_pdu_ctx *)data;
    guint8 hdr[FSD_HEADER_LEN];
    fsd_header h;
    guint len, rest;
    if (tvb_captured_length_remaining(tvb, offset) < FSD_HEADER_LEN)
        return (guint)tvb_reported_length_remaining(tvb, offset); /* cut by the snaplen */
    tvb_memcpy(tvb, hdr, offset, FSD_HEADER_LEN);
    fsd_header_unpack(&h, hdr);
    len = fsd_header_record_len(&h);
    /* A stream record longer than what this segment has: its start now,
     * the rest piece by piece (feed_piece), no reassembly. Only in a
     * tracked conversation (its pieces are found by the segments' seq). */
    rest = (guint)tvb_reported_length_remaining(tvb, offset);
    if (len > rest && !pref_reassemble_streams && ctx && ctx->tcpinfo && ctx->cv && is_stream_record(&h))
        return rest;
    return len;
}

/* Only part of a record header was captured (snaplen): nothing to decode. */
static int
dissect_header_cut(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, fastcgi_pdu_ctx *ctx, guint32 len)
{
    proto_item *pi;
    first_call_in_frame(pinfo);
    tree = frame_top_tree(tvb, pinfo, tree, -1);
    pi = proto_tree_add_item(tree, hf_fastcgi_skipped, tvb, 0, -1, ENC_NA);
    proto_item_append_text(pi, " (record header cut by the snaplen)");
    if (ctx && ctx->tcpinfo)
        ctx->offset += len;
    return (int)len;
}

/* First pass, a record or piece fed: its request's stream bytes in its
 * span can be read again by a later pass (stream_shown). */
static void
count_spanned(const fastcgi_record *r)
{
    if (r->span_k && r->span_k != FASTCGI_SPAN_BROKEN && r->req)
        r->req->spanned[r->span_k - 1] += r->span_len;
}

/* First pass: a stream record cut at its segment's end (get_fastcgi_pdu_len)
 * was fed up to there. Its rest comes piece by piece (feed_piece); the
 * record belongs to its request already (its record event comes with its
 * last piece). */
static void
cut_record_rest(fastcgi_conv *cv, fastcgi_direction *ds, fastcgi_record *r, const guint8 *rec, guint32 len)
{
    fsd_header h;
    guint32 in_content;
    fsd_header_unpack(&h, rec);
    if (len >= fsd_header_record_len(&h) || !is_stream_record(&h))
        return;
    in_content = MIN(len - FSD_HEADER_LEN, (guint32)h.content_length);
    ds->cont.content = (guint16)(h.content_length - in_content);
    ds->cont.padding = (guint8)(h.padding_length - (len - FSD_HEADER_LEN - in_content));
    ds->cont.type = h.type;
    ds->cont_id = h.request_id;
    if (!r->req)
        r->req = active_req(cv, h.request_id);
    if (r->req)
        r->status = r->req->status;
}

/* First pass: the whole record (bytes [rec_seq, rec_seq + len) of its
 * direction) goes to the decoder, less what the decoder already has (its
 * start, fed when it arrived, or a retransmission); a hole before it is
 * given as a gap. Returns what the decoder said, stored for later passes. */
static fastcgi_record *
feed_record(fastcgi_pdu_ctx *ctx, packet_info *pinfo, fastcgi_frame *f, guint32 rec_seq, const guint8 *rec,
            guint32 len, guint32 caplen)
{
    fastcgi_conv *cv = ctx->cv;
    fastcgi_direction *ds = &cv->dir[ctx->dir];
    fastcgi_record *r = wmem_new0(wmem_file_scope(), fastcgi_record);
    gint32 ahead;

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
        cv->feed_base = rec + k;
        cv->feed_len = len - k;
        cv->feed_off = k;
        r->feed_idx = ++cv->nfeeds;
        if (ahead < 0) {
            note_gap(ds, ds->next_seq, rec_seq, pinfo->num);
            fsd_conn_gap(cv->dec, ctx->dir, (guint64)(guint32)(-ahead), nstime_ns(&pinfo->abs_ts), pinfo->num);
        }
        cv->cur_stream0 = fsd_conn_next_offset(cv->dec, ctx->dir) - k;
        fsd_conn_feed(cv->dec, ctx->dir, rec + k, len - k, nstime_ns(&pinfo->abs_ts), pinfo->num);
        if (r->x && r->x->nlazy)   /* its lazy pairs' bytes, for every later look */
            r->x->lazy_raw = (const guint8 *)wmem_memdup(wmem_file_scope(), rec + r->x->lazy_off, r->x->lazy_len);
        cv->cur = NULL;
        cv->cur_base = NULL;
        cv->feed_base = NULL;
        r->tracked = TRUE;
        ds->next_seq = rec_seq + len;
        if (ds->hold && ds->hold_seq == rec_seq && k > 0)
            merge_hold(r, ds->hold);
        ds->hold = NULL;
        ds->hunting = FALSE;
        /* The pairs are complete: give back the room doubling left (a
         * request's ~33 pairs sat in room for 64, 48 bytes each; wmem's
         * block allocator shrinks a chunk in place) */
        if (r->x && r->x->params && r->x->nparams && r->x->nparams < r->x->params_cap) {
            fastcgi_record_ext *x = r->x;
            x->params = (fastcgi_param *)wmem_realloc(wmem_file_scope(), x->params, x->nparams * sizeof(*x->params));
            x->params_cap = x->nparams;
        }
        bind_request(cv, r);
        cut_record_rest(cv, ds, r, rec, len);
        count_spanned(r);   /* (with the bytes of its start) */
    }
    frame_add_record(pinfo, f, rec_seq, r);
    return r;
}

/* A later pass that reads bodies (rebuild_streams, keep_bodies off): the
 * record's stream bytes join its request's stream again, from the
 * reassembled record, where the first pass found them (note_span). Only in
 * frame order does a stream become whole (tshark -2, the GUI's Export
 * Objects and re-filtering); a record out of order breaks it until the
 * stream's first record comes again. Not for a request the first pass is
 * still collecting (a live capture). */
static gboolean rebuild_streams = FALSE;

static void
rebuild_span(tvbuff_t *tvb, const fastcgi_record *r)
{
    fastcgi_request *q = r->req;
    fastcgi_stream_buf *sb;
    if (!q || !q->ended || !r->span_k || r->span_k == FASTCGI_SPAN_BROKEN)
        return;
    sb = &req_streams(q)[r->span_k - 1];
    if (r->span_pos == 0) {
        if (sb->buf)
            g_byte_array_set_size(sb->buf, 0);
        else
            sb->buf = g_byte_array_new();
        sb->len = 0;
        sb->broken = FALSE;
    }
    if (!sb->buf || sb->broken)
        return;
    if (sb->len != r->span_pos || tvb_captured_length(tvb) < (guint64)r->span_off + r->span_len) {
        sb->broken = TRUE;
        return;
    }
    g_byte_array_append(sb->buf, tvb_get_ptr(tvb, r->span_off, r->span_len), r->span_len);
    sb->len += r->span_len;
}

/* A later pass: the rebuilt streams of the requests this record showed as
 * a whole or whose body it carries are not needed any more (a request's
 * body record comes last). */
static void
free_rebuilt(const fastcgi_record *r)
{
    guint i;
    if (!r->x)
        return;
    if (r->x->body_req && r->x->body_req->ended)
        req_free_streams(r->x->body_req);
    for (i = 0; i < r->x->nended; i++)
        if (!r->x->ended[i]->body_rec && r->x->ended[i]->ended)
            req_free_streams(r->x->ended[i]);
}

/* The stored results of the record at rec_seq: fed now on the first pass,
 * looked up on later ones. NULL without TCP information. */
static fastcgi_record *
record_results(fastcgi_pdu_ctx *ctx, packet_info *pinfo, guint32 rec_seq, const guint8 *rec, guint32 len,
               guint32 caplen)
{
    fastcgi_frame *f;
    if (!ctx || !ctx->tcpinfo || !ctx->cv)
        return NULL;
    if (PINFO_FD_VISITED(pinfo)) {
        f = frame_data_get(pinfo, FALSE);
        return f ? frame_lookup(f->recs, f->nrecs, rec_seq, &f->next_rec) : NULL;
    }
    ctx->cv->show_frame = pinfo->num;
    f = frame_data_get(pinfo, TRUE);
    return feed_record(ctx, pinfo, f, rec_seq, rec, len, caplen);
}

/* The record's text in the Info column: after the frame's TCP text, then
 * comma-separated. */
static void
info_add_record(packet_info *pinfo, const char *info)
{
    fastcgi_pkt *pk = pkt_state(pinfo);
    if (!pk->info_started) {
        pk->info_started = TRUE;
        col_append_sep_str(pinfo->cinfo, COL_INFO, " ", info);
    } else {
        col_append_sep_str(pinfo->cinfo, COL_INFO, ", ", info);
    }
}

static void
add_record_header(proto_tree *rt, tvbuff_t *tvb, const fsd_header *h)
{
    /* (a text item: one of proto_fastcgi, as these subtrees were, is a real
     * item whenever a filter names fastcgi, ~1,100 instructions each) */
    proto_tree *ht = proto_tree_add_subtree(rt, tvb, 0, FSD_HEADER_LEN, ett_fastcgi_header, NULL, "Header");
    proto_tree_add_uint(ht, hf_fastcgi_version, tvb, 0, 1, h->version);
    proto_tree_add_uint(ht, hf_fastcgi_type, tvb, 1, 1, h->type);
    proto_tree_add_uint(ht, hf_fastcgi_request_id, tvb, 2, 2, h->request_id);
    proto_tree_add_uint(ht, hf_fastcgi_content_length, tvb, 4, 2, h->content_length);
    proto_tree_add_uint(ht, hf_fastcgi_padding_length, tvb, 6, 1, h->padding_length);
    proto_tree_add_uint(ht, hf_fastcgi_reserved, tvb, 7, 1, h->reserved);
}

static void
add_begin_body(proto_tree *bt, tvbuff_t *tvb, const guint8 *body, guint32 clen)
{
    fsd_begin_body b;
    proto_item *fi;
    proto_tree *ft;
    if (!fsd_begin_body_unpack(&b, body, clen))
        return;
    proto_tree_add_uint(bt, hf_fastcgi_role, tvb, 8, 2, b.role);
    fi = proto_tree_add_uint(bt, hf_fastcgi_flags, tvb, 10, 1, b.flags);
    ft = proto_item_add_subtree(fi, ett_fastcgi_flags);
    proto_tree_add_boolean(ft, hf_fastcgi_flags_keep_conn, tvb, 10, 1, b.flags);
    proto_tree_add_bytes(bt, hf_fastcgi_body_reserved, tvb, 11, 5, b.reserved);
}

static void
add_end_body(proto_tree *bt, tvbuff_t *tvb, const guint8 *body, guint32 clen)
{
    fsd_end_body b;
    if (!fsd_end_body_unpack(&b, body, clen))
        return;
    proto_tree_add_uint(bt, hf_fastcgi_app_status, tvb, 8, 4, b.app_status);
    proto_tree_add_uint(bt, hf_fastcgi_protocol_status, tvb, 12, 1, b.protocol_status);
    proto_tree_add_bytes(bt, hf_fastcgi_body_reserved, tvb, 13, 3, b.reserved);
}

static void
add_unknown_type_body(proto_tree *bt, tvbuff_t *tvb, const guint8 *body, guint32 clen)
{
    fsd_unknown_type_body b;
    if (!fsd_unknown_type_body_unpack(&b, body, clen))
        return;
    proto_tree_add_uint(bt, hf_fastcgi_unknown_type_type, tvb, 8, 1, b.type);
    proto_tree_add_bytes(bt, hf_fastcgi_body_reserved, tvb, 9, 7, b.reserved);
}

/* The name-value pairs of a record the decoder did not take (a
 * retransmission, no TCP information): the pairs of this record alone, as
 * the decoder's iterator finds them, shown like tracked ones. */
static void
add_untracked_params(proto_tree *bt, tvbuff_t *tvb, packet_info *pinfo, const guint8 *body, guint32 clen)
{
    size_t pos = 0;
    fsd_nv nv;
    while (fsd_nv_next(body, clen, &pos, &nv) == 1) {
        fastcgi_param p;
        memset(&p, 0, sizeof p);
        p.name = wmem_strndup(pinfo->pool, (const char *)body + nv.name_offset, nv.name_len);
        p.value = wmem_strndup(pinfo->pool, (const char *)body + nv.value_offset, nv.value_len);
        p.name_len = nv.name_len;
        p.value_len = nv.value_len;
        p.pair_off = FSD_HEADER_LEN + (gint32)nv.offset;
        p.pair_len = (gint32)nv.total_len;
        p.name_off = FSD_HEADER_LEN + (gint32)nv.name_offset;
        p.value_off = FSD_HEADER_LEN + (gint32)nv.value_offset;
        add_param(bt, tvb, pinfo, &p);
    }
}

static int
stream_hf(guint8 type)
{
    switch (type) {
    case FSD_STDIN: return hf_fastcgi_stdin;
    case FSD_STDOUT: return hf_fastcgi_stdout;
    case FSD_STDERR: return hf_fastcgi_stderr;
    default: return hf_fastcgi_data;
    }
}

/* The record's content (its captured part) by type, and its padding. */
static void
add_record_body(proto_tree *rt, tvbuff_t *tvb, packet_info *pinfo, const fsd_header *h, const fastcgi_record *r,
                const guint8 *rec, guint32 caplen)
{
    guint32 clen = h->content_length;
    guint32 avail = caplen > FSD_HEADER_LEN ? caplen - FSD_HEADER_LEN : 0;
    const guint8 *body = rec + FSD_HEADER_LEN;
    proto_tree *bt;

    if (clen > avail)
        clen = avail;
    if (h->content_length == 0 && h->type >= FSD_PARAMS && h->type <= FSD_DATA)
        proto_item_set_generated(proto_tree_add_boolean(rt, hf_fastcgi_eos, tvb, 0, FSD_HEADER_LEN, TRUE));
    if (clen) {
        bt = proto_tree_add_subtree_format(rt, tvb, FSD_HEADER_LEN, clen, ett_fastcgi_body, NULL, "Body (%u bytes)",
                                           clen);
        switch (h->type) {
        case FSD_BEGIN_REQUEST:
            add_begin_body(bt, tvb, body, clen);
            break;
        case FSD_END_REQUEST:
            add_end_body(bt, tvb, body, clen);
            break;
        case FSD_UNKNOWN_TYPE:
            add_unknown_type_body(bt, tvb, body, clen);
            break;
        case FSD_PARAMS:
        case FSD_GET_VALUES:
        case FSD_GET_VALUES_RESULT:
            if (r && r->tracked)
                add_params(bt, tvb, pinfo, r);
            else
                add_untracked_params(bt, tvb, pinfo, body, clen);
            break;
        case FSD_STDIN:
        case FSD_STDOUT:
        case FSD_STDERR:
        case FSD_DATA:
            proto_tree_add_item(bt, stream_hf(h->type), tvb, FSD_HEADER_LEN, clen, ENC_NA);
            break;
        default:
            proto_tree_add_item(bt, hf_fastcgi_content, tvb, FSD_HEADER_LEN, clen, ENC_NA);
            break;
        }
    }
    if (h->padding_length && caplen > FSD_HEADER_LEN + (guint32)h->content_length)
        proto_tree_add_item(rt, hf_fastcgi_padding, tvb, FSD_HEADER_LEN + h->content_length,
                            MIN((guint32)h->padding_length, caplen - FSD_HEADER_LEN - h->content_length), ENC_NA);
}

/* What the decoder said while it took the record: the response header,
 * the request's summary, requests that ended, anomalies, the body. */
static void
add_record_results(proto_tree *rt, tvbuff_t *tvb, packet_info *pinfo, int tap_type, fastcgi_record *r)
{
    const fastcgi_request *q = r->req;
    const fastcgi_record_ext *x = r->x;
    guint i;
    if (x && x->resp)
        add_response(rt, tvb, x->resp);
    if (q) {
        fastcgi_frame_request *fq = frame_req(pinfo, rt, tvb, q, r->feed_idx, FALSE);
        if (r->end_here)
            add_end_summary(fq, tvb, q);
        else if (r->first_response)
            add_ttfb_once(fq, tvb, q);
    }
    add_ended_requests(tvb, pinfo, rt, r, r->feed_idx, FALSE);
    /* (anomalies of the record's first bytes are shown with its hold,
     * in the frame that carried them) */
    for (i = 0; i < rec_nanom(r); i++)
        add_expert(tvb, pinfo, rt, &x->anom[i]);
    if (x && x->body_req && x->body_len && stream_shown(x->body_req, FASTCGI_STREAM_STDOUT)) {
        /* kept, else rebuilt by this later pass (copied: the frame's data
         * source outlives the rebuild buffer) */
        const fastcgi_request *bq = x->body_req;
        const guint8 *body = x->body_bytes;
        if (!body) {
            const guint8 *b = stream_bytes(req_stream(bq, FASTCGI_STREAM_STDOUT), bq->header_len + x->body_len);
            if (b)
                body = (const guint8 *)wmem_memdup(pinfo->pool, b + bq->header_len, x->body_len);
        }
        if (body) {
            dissect_body(tvb, pinfo, rt, r, body);
            if (have_tap_listener(fastcgi_eo_tap)) {
                fastcgi_eo_item *o = wmem_new(pinfo->pool, fastcgi_eo_item);
                o->r = r;
                o->body = body;
                tap_queue_packet(fastcgi_eo_tap, pinfo, o);
            }
        }
    }
    if (PINFO_FD_VISITED(pinfo))
        free_rebuilt(r);
    /* (a piece is no record of its own: on the tap only with results) */
    if (have_tap_listener(fastcgi_tap) && (tap_type != -2 || rec_has_results(r)))
        queue_tap(pinfo, build_tap(pinfo, r, tap_type));
}

/* One record, as tcp_dissect_pdus hands it over (whole, or cut by the
 * snaplen): fed to the decoder on the first pass, then shown. */
static int
dissect_fastcgi_record(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
    fastcgi_pdu_ctx *ctx = (fastcgi_pdu_ctx *)data;
    guint32 len = tvb_reported_length(tvb);
    guint32 caplen = tvb_captured_length(tvb);
    const guint8 *rec = tvb_get_ptr(tvb, 0, caplen);
    fsd_header h;
    fastcgi_record *r;
    guint32 rec_seq = 0;
    proto_item *ti;
    proto_tree *rt;
    char *info;
    gboolean cut;   /* a stream record whose rest comes in later segments (reassemble_streams off) */

    if (caplen < FSD_HEADER_LEN)
        return dissect_header_cut(tvb, pinfo, tree, ctx, len);
    fsd_header_unpack(&h, rec);
    first_call_in_frame(pinfo);
    tree = frame_top_tree(tvb, pinfo, tree, -1);
    if (ctx && ctx->tcpinfo) {
        rec_seq = ctx->base_seq + ctx->offset;
        ctx->offset += len;
    }
    r = record_results(ctx, pinfo, rec_seq, rec, len, caplen);
    if (r && rebuild_streams && PINFO_FD_VISITED(pinfo))
        rebuild_span(tvb, r);

    /* The record's text for the Info column, the record item and the top
     * item: not built when none of them is shown (a filter-only run) */
    cut = len < fsd_header_record_len(&h) && len == caplen && is_stream_record(&h) && r && r->tracked;
    if ((pinfo->cinfo && col_get_writable(pinfo->cinfo, COL_INFO)) || label_shown(tree, hf_fastcgi_record)) {
        info = info_for_record(pinfo, &h, r, cut ? MIN(len - FSD_HEADER_LEN, (guint32)h.content_length)
                                                 : h.content_length);
        top_summary_add(pinfo, info, FALSE);
        info_add_record(pinfo, info);
        ti = proto_tree_add_string_format(tree, hf_fastcgi_record, tvb, 0, -1, fsd_type_name(h.type), "%s", info);
    } else {
        ti = proto_tree_add_string(tree, hf_fastcgi_record, tvb, 0, -1, fsd_type_name(h.type));
    }
    rt = proto_item_add_subtree(ti, ett_fastcgi_record);
    if (r && r->retransmission)
        proto_item_set_generated(proto_tree_add_item(rt, hf_fastcgi_retransmission, tvb, 0, 0, ENC_NA));
    add_record_header(rt, tvb, &h);
    if (cut)
        proto_item_set_generated(proto_tree_add_uint(rt, hf_fastcgi_rest, tvb, 0, 0,
                                                     fsd_header_record_len(&h) - len));
    if (r && r->have_event)
        proto_item_set_generated(proto_tree_add_uint(rt, hf_fastcgi_direction, tvb, 0, 0, r->dir));
    add_record_body(rt, tvb, pinfo, &h, r, rec, caplen);
    if (r)
        add_record_results(rt, tvb, pinfo, h.type, r);
    return (int)len;
}

/* Requests that ended here without END_REQUEST (a reset, a close, the
 * application killed, a gap) are named in the Info column. */
static void
info_unfinished_requests(packet_info *pinfo, const fastcgi_record *r)
{
    guint i;
    for (i = 0; i < rec_nended(r); i++) {
        const fastcgi_request *q = r->x->ended[i];
        if (q->end_reason && strcmp(q->end_reason, "complete") != 0)
            col_append_sep_fstr(pinfo->cinfo, COL_INFO, " ", "[FastCGI request id %u %s]", q->id, q->end_reason);
    }
}

/* What the decoder said while it took bytes that are no record of their
 * own (a gap, bytes skipped while resynchronising, the start of a record
 * that never completed), or when the connection or the capture ended:
 * the requests that ended there and the anomalies, queued on the tap as
 * one pseudo record (record_type -2 for a segment, -1 for the end). */
static void
show_results(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, fastcgi_record *sr, int record_type)
{
    guint i;
    add_ended_requests(tvb, pinfo, tree, sr, sr->feed_idx ? sr->feed_idx : G_MAXUINT32, record_type == -1);
    /* (not at the connection's end, shown only after a first pass: the
     * Info column stays the same in one pass and two) */
    if (record_type != -1)
        info_unfinished_requests(pinfo, sr);
    for (i = 0; i < rec_nanom(sr); i++)
        add_expert(tvb, pinfo, tree, &sr->x->anom[i]);
    if (rec_has_results(sr) && have_tap_listener(fastcgi_tap))
        queue_tap(pinfo, build_tap(pinfo, sr, record_type));
    if (PINFO_FD_VISITED(pinfo))
        free_rebuilt(sr);
}

/* Connection-end results (postseq): shown once, under "Connection end" on
 * the conversation's last FastCGI frame. */
static void
show_late(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, fastcgi_conv *cv)
{
    proto_item *ti;
    proto_tree *lt;
    if (!cv->late || pinfo->num != cv->show_frame || !cv->finished)
        return;
    if (pkt_state(pinfo)->conn_end_shown)
        return;
    pkt_state(pinfo)->conn_end_shown = TRUE;
    ti = proto_tree_add_item(tree, hf_fastcgi_conn_end, tvb, 0, 0, ENC_NA);
    proto_item_set_generated(ti);
    lt = proto_item_add_subtree(ti, ett_fastcgi_record);
    if (cv->untracked_requests || cv->untracked_records) {
        proto_item *it = proto_tree_add_uint64(lt, hf_fastcgi_untracked_requests, tvb, 0, 0, cv->untracked_requests);
        proto_item_set_generated(it);
        it = proto_tree_add_uint64(lt, hf_fastcgi_untracked_records, tvb, 0, 0, cv->untracked_records);
        proto_item_set_generated(it);
        proto_item_append_text(ti, " (%" G_GUINT64_FORMAT " requests not tracked)", cv->untracked_requests);
    }
    show_results(tvb, pinfo, lt, cv->late, -1);
}

/* First pass, a segment captured shorter than it was on the wire (snaplen):
 * TCP cannot reassemble it. The decoder gets what was captured and a gap
 * for the rest, as the analyzer gives them. Returns the bytes to skip. */
static guint32
feed_snaplen_cut(tvbuff_t *tvb, packet_info *pinfo, fastcgi_conv *cv, fsd_dir dir, guint32 seq,
                 fastcgi_record *sr)
{
    fastcgi_direction *ds = &cv->dir[dir];
    guint32 len = tvb_reported_length(tvb), caplen = tvb_captured_length(tvb);
    gint64 now = nstime_ns(&pinfo->abs_ts);
    fsd_anomaly_event aev;
    gint32 have = (gint32)(ds->next_seq - seq);
    guint32 k = have > 0 ? (guint32)have : 0;

    memset(&aev, 0, sizeof aev);
    aev.id = FSD_A_snaplen_truncated;
    aev.severity = fsd_anomaly_severity(FSD_A_snaplen_truncated);
    aev.dir = dir;
    aev.request_id = -1;
    aev.at.ns = now;
    aev.at.tag = pinfo->num;
    aev.at.set = TRUE;
    g_snprintf(aev.detail, sizeof aev.detail, "%u of %u bytes captured", caplen, len);
    add_anom(sr, &aev);
    if (cv->dec && k < caplen)
        fsd_conn_feed(cv->dec, dir, tvb_get_ptr(tvb, k, caplen - k), caplen - k, now, pinfo->num);
    if (cv->dec && k < len)
        fsd_conn_gap(cv->dec, dir, len - MAX(k, caplen), now, pinfo->num);
    if (k == 0)
        dir_skip(ds, len);
    else
        dir_hunt(ds);
    ds->next_seq = seq + len;
    sr->snaplen_cut = TRUE;
    return caplen;
}

/* First pass, a direction looking for a record boundary (after a gap, or
 * a capture that began mid-connection): where records start again, by the
 * decoder's own resync rule. An offset only more bytes could confirm is
 * taken too: TCP reassembly then brings those bytes. The decoder sees the
 * skipped bytes too (it hunts on its own). Returns the bytes to skip. */
static guint32
hunt_record_start(tvbuff_t *tvb, packet_info *pinfo, fastcgi_conv *cv, fsd_dir dir, guint32 seq)
{
    fastcgi_direction *ds = &cv->dir[dir];
    guint32 caplen = tvb_captured_length(tvb);
    const guint8 *b = tvb_get_ptr(tvb, 0, caplen);
    size_t undecided = caplen;
    ptrdiff_t p = fsd_find_resync(b, caplen, false, &undecided);
    guint32 skip = p >= 0 ? (guint32)p : (guint32)MIN(undecided, (size_t)caplen);
    if (skip && cv->dec)
        fsd_conn_feed(cv->dec, dir, b, skip, nstime_ns(&pinfo->abs_ts), pinfo->num);
    ds->next_seq = seq + skip;
    if (skip < caplen)
        ds->hunting = FALSE;
    return skip;
}

/* First pass, before the segment's records: bytes missing before it (a
 * gap for the decoder), a snaplen cut, bytes before a record boundary.
 * What the decoder said meanwhile is the segment's own pseudo record sr
 * (its body_len: the bytes skipped), stored when there is something. */
static fastcgi_record *
feed_segment_start(tvbuff_t *tvb, packet_info *pinfo, fastcgi_conv *cv, fsd_dir dir, const struct tcpinfo *tcpinfo)
{
    fastcgi_direction *ds = &cv->dir[dir];
    guint32 seq = tcpinfo->seq;
    guint32 skip = 0;
    fastcgi_record *sr = wmem_new0(wmem_file_scope(), fastcgi_record);

    sr->dir = (guint8)dir;
    sr->feed_idx = ++cv->nfeeds;
    cv->cur = sr;
    cv->cur_base = NULL;
    if (ds->started && (gint32)(seq - ds->next_seq) > 0 && !tcpinfo->is_reassembled) {
        /* Bytes are missing before this segment. */
        note_gap(ds, ds->next_seq, seq, pinfo->num);
        if (cv->dec)
            fsd_conn_gap(cv->dec, dir, (guint64)(guint32)(seq - ds->next_seq), nstime_ns(&pinfo->abs_ts),
                         pinfo->num);
        dir_skip(ds, (guint32)(seq - ds->next_seq));
        ds->next_seq = seq;
    }
    if (!ds->started) {
        ds->started = TRUE;
        ds->next_seq = seq;
    }
    if (tvb_captured_length(tvb) < tvb_reported_length(tvb) && !tcpinfo->is_reassembled)
        skip = feed_snaplen_cut(tvb, pinfo, cv, dir, seq, sr);
    else if (ds->hunting && seq == ds->next_seq)
        skip = hunt_record_start(tvb, pinfo, cv, dir, seq);
    cv->cur = NULL;
    if (skip)
        rec_x(sr)->body_len = skip;
    if (skip || rec_has_results(sr) || sr->snaplen_cut) {
        fastcgi_frame_record fr;
        fr.seq = seq;
        fr.rec = sr;
        frame_append(&frame_x(pinfo)->skips, sizeof fr, &fr);
        return sr;
    }
    /* Most segments start at a record boundary with nothing to say: their
     * pseudo record would be kept for the whole file (40 bytes each). */
    wmem_free(wmem_file_scope(), sr->x);
    wmem_free(wmem_file_scope(), sr);
    return NULL;
}

/* The segment's own results: the skipped bytes, what the decoder said. */
static void
show_segment_start(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, fastcgi_record *sr, guint32 skip)
{
    guint32 len = tvb_reported_length(tvb), caplen = tvb_captured_length(tvb);
    proto_tree *ft = NULL;
    proto_item *it;
    if (!sr)
        return;
    if (skip || sr->snaplen_cut || rec_has_results(sr)) {
        first_call_in_frame(pinfo);
        ft = frame_top_tree(tvb, pinfo, tree, -1);
    }
    if (sr->snaplen_cut) {
        it = proto_tree_add_item(ft, hf_fastcgi_skipped, tvb, 0, skip, ENC_NA);
        proto_item_append_text(it, " (segment captured short: %u of %u bytes; not split into records)", caplen, len);
        col_append_sep_fstr(pinfo->cinfo, COL_INFO, ", ", "[segment cut by snaplen: %u of %u bytes]", caplen, len);
    } else if (skip) {
        it = proto_tree_add_item(ft, hf_fastcgi_skipped, tvb, 0, skip, ENC_NA);
        proto_item_append_text(it, " (not at a record boundary: the capture missed the start of this record)");
        col_append_sep_fstr(pinfo->cinfo, COL_INFO, ", ", "[%u bytes before a record boundary]", skip);
    }
    show_results(tvb, pinfo, ft, sr, -2);
}

/* First pass, after tcp_dissect_pdus asked for more bytes: the tail of
 * this tvb starts a record TCP will reassemble later. The decoder takes
 * its bytes now, stamped with this frame (as the analyzer does), and what
 * it says meanwhile is this frame's hold: shown here in every pass, its
 * pairs and response header joining the record once it is complete. */
static void
feed_record_start(tvbuff_t *tvb, packet_info *pinfo, fastcgi_conv *cv, fsd_dir dir, const struct tcpinfo *tcpinfo)
{
    fastcgi_direction *ds = &cv->dir[dir];
    guint32 caplen = tvb_captured_length(tvb);
    guint32 off = pinfo->desegment_offset;
    guint32 pseq = tcpinfo->seq + off;
    gint32 have = (gint32)(ds->next_seq - pseq);
    guint32 k = have > 0 ? (guint32)have : 0;
    fastcgi_record *h;

    if (off >= caplen || k >= caplen - off)
        return;
    h = wmem_new0(wmem_file_scope(), fastcgi_record);
    h->dir = (guint8)dir;
    h->prev_hold = ds->hold && ds->hold_seq == pseq ? ds->hold : NULL;
    h->feed_idx = ++cv->nfeeds;
    cv->cur = h;
    cv->cur_base = NULL;
    if (have < 0) {
        note_gap(ds, ds->next_seq, pseq, pinfo->num);
        fsd_conn_gap(cv->dec, dir, (guint64)(guint32)(-have), nstime_ns(&pinfo->abs_ts), pinfo->num);
    }
    cv->feed_base = tvb_get_ptr(tvb, off + k, caplen - off - k);
    cv->feed_len = caplen - off - k;
    cv->feed_off = k;
    fsd_conn_feed(cv->dec, dir, cv->feed_base, cv->feed_len, nstime_ns(&pinfo->abs_ts), pinfo->num);
    cv->cur = NULL;
    cv->feed_base = NULL;
    /* Its frame shows what the decoder said here (anomalies, requests it
     * ended), in every pass; only then is it listed there (show_packet_results
     * skips the others). Nothing joins a hold after its own feed. A frame
     * that only starts a record gets no storage (it shows nothing: one
     * per segment of every record longer than a segment). */
    if (rec_has_results(h)) {
        h->in_frame = TRUE;
        frame_append(&frame_x(pinfo)->holds, sizeof h, &h);
    }
    ds->next_seq = pseq + (caplen - off);
    ds->hold = h;
    ds->hold_seq = pseq;
}

/* ---- segments after bytes not captured yet (reassemble_streams off) ---- */

/* Bytes one direction holds at most before the missing ones are given up. */
#define FASTCGI_HELD_MAX (256u * 1024u)

/* First pass: a piece (or held piece) of this frame's segment at seq. */
static void
conv_add_piece(fastcgi_conv *cv, const packet_info *pinfo, guint32 seq, fastcgi_record *p)
{
    fastcgi_piece_ref e;
    e.frame = pinfo->num;
    e.seq = seq;
    e.rec = p;
    if (!cv->pieces)
        cv->pieces = g_array_new(FALSE, FALSE, sizeof(fastcgi_piece_ref));
    g_array_append_val(cv->pieces, e);
}

/* A piece of direction ds's awaited stream record that starts k bytes
 * after next_seq (what of the record is left there). */
static fastcgi_record *
new_piece(fastcgi_conv *cv, fsd_dir dir, guint32 k)
{
    fastcgi_direction *ds = &cv->dir[dir];
    fastcgi_record *p = wmem_new0(wmem_file_scope(), fastcgi_record);
    p->piece = TRUE;
    p->dir = (guint8)dir;
    p->left = rest_after(ds->cont, k);
    return p;
}

/* First pass: n bytes of piece p of direction d (at off in its segment)
 * go to the decoder, stamped ts and frame; what it says is p's (results:
 * FALSE, the connection's end: the decoder's anomalies go with it). They
 * are taken off what the direction awaits of its stream record. */
static void
feed_piece_bytes(fastcgi_conv *cv, fsd_dir d, fastcgi_record *p, const guint8 *b, guint32 n, guint32 off,
                 gint64 ts, guint32 frame, gboolean results)
{
    fastcgi_direction *ds = &cv->dir[d];
    p->feed_idx = ++cv->nfeeds;
    cv->cur = results ? p : NULL;
    cv->cur_base = NULL;
    cv->feed_base = b;
    cv->feed_len = n;
    cv->feed_off = off;
    fsd_conn_feed(cv->dec, d, b, n, ts, frame);
    cv->cur = NULL;
    cv->feed_base = NULL;
    p->tracked = TRUE;
    ds->next_seq += n;
    cont_take(ds, n);
    bind_request(cv, p);   /* (the record's event comes with its last piece) */
    if (!p->req)
        p->req = active_req(cv, ds->cont_id);
}

static int
held_cmp(gconstpointer a, gconstpointer b)
{
    gint32 d = (gint32)(((const fastcgi_held *)a)->seq - ((const fastcgi_held *)b)->seq);
    return d < 0 ? -1 : d > 0;
}

/* First pass: a segment TCP handed us starts after bytes not seen yet
 * inside what is awaited of a stream record shown in pieces, and ends
 * inside it too. TCP took it as the segment after a lost one; with its
 * default preferences TCP hands a reordered segment to no dissector, so
 * the missing bytes may yet come in a segment only the postdissector sees
 * (feed_late). Its bytes are kept, not fed (the decoder gets them in order,
 * release_held); the held piece at its seq shows them in every pass, its
 * results go to the frame where they are fed. NULL: not such a segment. */
static fastcgi_record *
hold_segment(tvbuff_t *tvb, packet_info *pinfo, fastcgi_conv *cv, fsd_dir dir, const struct tcpinfo *tcpinfo)
{
    fastcgi_direction *ds = &cv->dir[dir];
    guint32 len = tvb_reported_length(tvb), k = tcpinfo->seq - ds->next_seq;
    fastcgi_held h;
    fastcgi_record *p;

    if (!cv->dec || pref_reassemble_streams || !ds->started || ds->hunting || tcpinfo->is_reassembled ||
        (gint32)k <= 0 || k + len > cont_total(ds) || tvb_captured_length(tvb) < len ||
        ds->held_bytes + len > FASTCGI_HELD_MAX)
        return NULL;
    p = new_piece(cv, dir, k);
    p->held = TRUE;
    p->req = active_req(cv, ds->cont_id);
    rec_x(p)->held_frame = pinfo->num;
    h.seq = tcpinfo->seq;
    h.len = len;
    h.bytes = (guint8 *)wmem_memdup(wmem_file_scope(), tvb_get_ptr(tvb, 0, len), len);
    h.rec = p;
    if (!ds->held)
        ds->held = g_array_new(FALSE, FALSE, sizeof(fastcgi_held));
    g_array_append_val(ds->held, h);
    g_array_sort(ds->held, held_cmp);
    ds->held_bytes += len;
    cv->show_frame = pinfo->num;
    conv_add_piece(cv, pinfo, tcpinfo->seq, p);
    return p;
}

/* First pass: direction d's held segments go to the decoder, in order, as
 * far as they follow on from next_seq; with give_up, all of them, the bytes
 * still missing before each given to the decoder as a gap (capture_gap).
 * pinfo: the frame where that happens, which shows their results
 * (fastcgi_frame_ext.drained); NULL: the capture's end (results with the
 * connection's end). */
static void
release_held(fastcgi_conv *cv, packet_info *pinfo, fsd_dir d, gboolean give_up)
{
    fastcgi_direction *ds = &cv->dir[d];
    gint64 now = nstime_ns(pinfo ? &pinfo->abs_ts : &cv->last_ts);
    guint32 frame = pinfo ? pinfo->num : cv->last_frame;
    guint i;

    for (i = 0; ds->held && i < ds->held->len; i++) {
        fastcgi_held *h = &g_array_index(ds->held, fastcgi_held, i);
        fastcgi_record *r = h->rec;
        gint32 ahead = (gint32)(h->seq - ds->next_seq);
        if (ahead > 0 && !give_up)
            break;
        cv->cur = pinfo ? r : NULL;
        cv->cur_base = NULL;
        if (ahead > 0) {
            note_gap(ds, ds->next_seq, h->seq, frame);
            if (cv->dec)
                fsd_conn_gap(cv->dec, d, (guint64)ahead, now, frame);
            dir_skip(ds, (guint32)ahead);
            ds->next_seq = h->seq;
            ahead = 0;
        }
        if ((guint32)-ahead < h->len && cv->dec && !ds->hunting) {
            guint32 k = (guint32)-ahead, m = MIN(h->len - k, cont_total(ds));
            if (!pinfo)   /* (shown in no frame: its stream bytes cannot be rebuilt) */
                r->span_k = FASTCGI_SPAN_BROKEN;
            feed_piece_bytes(cv, d, r, h->bytes + k, m, k, now, frame, pinfo != NULL);
            rec_x(r)->late_len = m;
            r->x->late_off = k;
            if (pinfo)
                count_spanned(r);
        }
        cv->cur = NULL;
        ds->held_bytes -= h->len;
        if (pinfo) {
            frame_append(&frame_x(pinfo)->drained, sizeof r, &r);
            n_drained++;
            cv->show_frame = pinfo->num;
            rec_x(r)->held_copy = h->bytes;
        } else {
            wmem_free(wmem_file_scope(), h->bytes);
        }
    }
    if (ds->held && i)
        g_array_remove_range(ds->held, 0, i);
    if (ds->held && !ds->held->len) {
        g_array_free(ds->held, TRUE);
        ds->held = NULL;
    }
}

/* First pass: the segment carries the rest of a stream record cut at an
 * earlier segment's end (reassemble_streams off), up to all of it. The
 * decoder takes those bytes; the piece keeps what it said (the record
 * event with the last piece, a response header, anomalies), stored in
 * the conversation's pieces by frame and seq. NULL: no such rest. */
static fastcgi_record *
feed_piece(tvbuff_t *tvb, packet_info *pinfo, fastcgi_conv *cv, fsd_dir dir, const struct tcpinfo *tcpinfo)
{
    fastcgi_direction *ds = &cv->dir[dir];
    guint32 caplen = tvb_captured_length(tvb), n;
    fastcgi_record *p;
    /* (TCP reassembles too what it puts back in order, tcp.reassemble_out_of_order:
     * then the bytes at next_seq are the record's rest as well) */
    if (!cv->dec || ds->hunting || tcpinfo->seq != ds->next_seq ||
        !cont_total(ds) || caplen < tvb_reported_length(tvb))
        return NULL;
    n = MIN(cont_total(ds), caplen);
    p = new_piece(cv, dir, 0);
    feed_piece_bytes(cv, dir, p, tvb_get_ptr(tvb, 0, n), n, 0, nstime_ns(&pinfo->abs_ts), pinfo->num, TRUE);
    count_spanned(p);
    cv->show_frame = pinfo->num;
    conv_add_piece(cv, pinfo, tcpinfo->seq, p);
    return p;
}

/* The piece of this frame's segment at seq (a later pass), NULL when
 * there is none: a binary search of the conversation's pieces by frame. */
static fastcgi_record *
piece_at(const fastcgi_conv *cv, const packet_info *pinfo, guint32 seq)
{
    guint lo = 0, hi = cv->pieces ? cv->pieces->len : 0;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(cv->pieces, fastcgi_piece_ref, mid).frame < pinfo->num)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; cv->pieces && lo < cv->pieces->len; lo++) {
        const fastcgi_piece_ref *e = &g_array_index(cv->pieces, fastcgi_piece_ref, lo);
        if (e->frame != pinfo->num)
            break;
        if (e->seq == seq)
            return e->rec;
    }
    return NULL;
}

/* A piece: its bytes of the record's content and padding, what the decoder
 * said while it took them. Returns its length in the segment. */
static guint32
show_piece(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, fastcgi_record *p)
{
    guint32 caplen = tvb_captured_length(tvb);
    guint32 n = MIN(rest_total(p->left), caplen);
    guint32 c = MIN(n, (guint32)p->left.content);
    guint32 more = rest_total(p->left) - n;
    const char *tname = fsd_type_name(p->left.type);
    const char *how = p->held ? ", held: the bytes before it were not seen yet (decoded where they are)"
                      : p->late ? ", from a segment TCP took as retransmitted or out of order" : "";
    proto_item *ti;
    proto_tree *rt;

    first_call_in_frame(pinfo);
    tree = frame_top_tree(tvb, pinfo, tree, -1);
    /* (a held piece's stream bytes are rebuilt where they were fed: show_drained) */
    if (rebuild_streams && PINFO_FD_VISITED(pinfo) && !p->held)
        rebuild_span(tvb, p);
    if ((pinfo->cinfo && col_get_writable(pinfo->cinfo, COL_INFO)) || label_shown(tree, hf_fastcgi_piece)) {
        const char *info = wmem_strdup_printf(pinfo->pool, "%s continued (%u bytes%s)", tname, n,
                                              p->held ? ", held" : "");
        top_summary_add(pinfo, info, TRUE);
        info_add_record(pinfo, info);
        ti = proto_tree_add_string_format(tree, hf_fastcgi_piece, tvb, 0, n, tname, "%s continued: %u bytes%s%s", tname,
                                          n, more ? "" : ", the record's end", how);
        if (p->req)
            proto_item_append_text(ti, " (request id %u)", p->req->id);
    } else {
        ti = proto_tree_add_string(tree, hf_fastcgi_piece, tvb, 0, n, tname);
    }
    rt = proto_item_add_subtree(ti, ett_fastcgi_record);
    if (c)
        proto_tree_add_item(rt, stream_hf(p->left.type), tvb, 0, c, ENC_NA);
    if (n > c)
        proto_tree_add_item(rt, hf_fastcgi_padding, tvb, c, n - c, ENC_NA);
    if (more)
        proto_item_set_generated(proto_tree_add_uint(rt, hf_fastcgi_rest, tvb, 0, 0, more));
    /* Most pieces are bytes only: the request's summary is with the
     * record's start (and its TTFB with the end of its first response record).
     * A held piece's results are where its bytes were fed (show_drained). */
    if (!p->held && (p->x || p->first_response))
        add_record_results(rt, tvb, pinfo, -2, p);
    return n;
}

/* The conversation of this segment, set up on the first pass: which side
 * is the application, its decoder, its last frame. */
static fastcgi_conv *
segment_conv(tvbuff_t *tvb, packet_info *pinfo, const struct tcpinfo *tcpinfo, fsd_dir *dir)
{
    fastcgi_conv *cv;
    guint32 caplen = tvb_captured_length(tvb);
    if (PINFO_FD_VISITED(pinfo)) {
        cv = get_conv(pinfo, TRUE);
    } else if (tcpinfo && pinfo->ptype == PT_TCP && !(tcpinfo->flags & TH_SYN) &&
               (cv = conv_memo_matches(pinfo)) != NULL) {
        /* (remembered) */
    } else {
        cv = get_conv(pinfo, TRUE);
        if (tcpinfo && pinfo->ptype == PT_TCP && !(tcpinfo->flags & TH_SYN))
            conv_memo_set(pinfo, cv);
        else
            conv_memo_slot(pinfo)->cv = NULL;
    }
    if (!PINFO_FD_VISITED(pinfo)) {
        if (!cv->server_known)
            decide_server(cv, pinfo, tvb_get_ptr(tvb, 0, caplen), caplen);
        ensure_decoder(cv);
        cv->last_frame = pinfo->num;
        cv->last_ts = pinfo->abs_ts;
    }
    *dir = packet_dir(cv, pinfo);
    if (!PINFO_FD_VISITED(pinfo) && cv->tcpd && cv->tcpd->fwd)
        cv->flow[*dir] = cv->tcpd->fwd;
    return cv;
}

static void
add_media_proto(const gchar *table_name _U_, ftenum_t selector_type _U_, gpointer key _U_, gpointer value,
                gpointer user_data _U_)
{
    dissector_handle_t h = dtbl_entry_get_handle((dtbl_entry_t *)value);
    int p = h ? dissector_handle_get_protocol_index(h) : -1;
    guint i;
    if (p < 0)
        return;
    for (i = 0; i < media_protos->len; i++)
        if (g_array_index(media_protos, int, i) == p)
            return;
    g_array_append_val(media_protos, p);
}

/* Will this (first-pass) dissection read a request's STDIN, STDOUT or
 * STDERR where it ends: columns (the content dissectors' Info), a printed
 * tree, a filter on a body field or on a protocol a body can be handed to
 * (what dissect_body asks before calling a content dissector), an Export
 * Objects tap? tshark asks the same of every frame of a run; the fields
 * and protocols a pass references do not change during it, so they are
 * looked up once a file (streams_referenced, -1: not yet). */
static gboolean
streams_read(packet_info *pinfo, proto_tree *tree)
{
    static int *const hfs[] = {
        &hf_fastcgi_body, &hf_fastcgi_whole, &hf_fastcgi_whole_stdin, &hf_fastcgi_whole_stdout,
        &hf_fastcgi_whole_stdout_header, &hf_fastcgi_whole_body_len, &hf_fastcgi_whole_stderr,
    };
    guint i;
    if (pinfo->cinfo || have_tap_listener(fastcgi_eo_tap))
        return TRUE;
    if (!tree)
        return FALSE;
    if (PTREE_DATA(tree)->visible)
        return TRUE;
    if (streams_referenced >= 0)
        return streams_referenced;
    streams_referenced = 0;
    for (i = 0; i < G_N_ELEMENTS(hfs); i++)
        if (proto_field_is_referenced(tree, *hfs[i]))
            streams_referenced = 1;
    if (!media_protos) {
        media_protos = g_array_new(FALSE, FALSE, sizeof(int));
        dissector_table_foreach("media_type", add_media_proto, NULL);
    }
    for (i = 0; i < media_protos->len; i++)
        if (proto_field_is_referenced(tree, g_array_index(media_protos, int, i)))
            streams_referenced = 1;
    return streams_referenced;
}

/* What this dissection does with the streams of requests it ends: on the
 * first pass collect them where something reads them (bodies nothing will
 * read are not collected, keep_bodies off), on a later pass rebuild them
 * from the records for the same reason. */
static void
streams_for_dissection(packet_info *pinfo, proto_tree *tree)
{
    if (!PINFO_FD_VISITED(pinfo)) {
        keep_streams_after_frame = pref_keep_bodies;
        collect_streams = pref_dissect_body && (keep_streams_after_frame || streams_read(pinfo, tree));
    } else {
        rebuild_streams = pref_dissect_body && !pref_keep_bodies && streams_read(pinfo, tree);
    }
}

/* The last (innermost) item of a TCP field the postdissector asked for;
 * NULL when not in the tree. */
static field_info *
tcp_finfo_of(proto_tree *tree, int hf)
{
    GPtrArray *a;
    if (!tree || hf < 0)
        return NULL;
    a = proto_get_finfo_ptr_array(tree, hf);
    if (!a || a->len == 0)
        return NULL;
    return (field_info *)g_ptr_array_index(a, a->len - 1);
}

/* The last (innermost) value of a TCP field the postdissector asked for. */
static gboolean
tcp_field_of(proto_tree *tree, int hf, guint32 *v)
{
    field_info *fi = tcp_finfo_of(tree, hf);
    if (!fi)
        return FALSE;
    *v = fvalue_get_uinteger(FASTCGI_FI_VALUE(fi));
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

/* ---- the packet's TCP header, found in its bytes ---------------------- */

/* This packet's (innermost) TCP header: the data source it is in, where,
 * and the segment's payload length from the IP header in front of it (-1:
 * not known). */
typedef struct fastcgi_tcp_hdr {
    tvbuff_t *src;           /* NULL: not found */
    gint off;
    gint32 seglen;
} fastcgi_tcp_hdr;

/* The TCP header of the packet being dissected, found at the start of the
 * postdissector (and by tcp_seq_base): what tcp_flags_of, tcp_header_seq
 * and tcp_segment_of read in that call. */
static fastcgi_tcp_hdr cur_hdr;

/* Bytes of a data source searched for the TCP header (link, tunnel and IP
 * headers in front of it). */
#define FASTCGI_HDR_SCAN 256

/* Is there an IPv4 or IPv6 header with this packet's addresses and
 * protocol TCP right before offset th of b? Its length field gives the TCP
 * segment's (header and payload: *tcplen, -1 when it cannot: an IPv4
 * fragment, a total length of 0 from segmentation offload). IPv6
 * extension headers are not followed. */
static gboolean
ip_in_front(const guint8 *b, gint th, const packet_info *pinfo, gint32 *tcplen)
{
    if (pinfo->src.type == AT_IPv4 && pinfo->dst.type == AT_IPv4) {
        guint ihl;
        for (ihl = 5; ihl <= 15 && th >= (gint)(4 * ihl); ihl++) {
            const guint8 *ip = b + th - 4 * ihl;
            guint32 tot;
            if (ip[0] != (0x40 | ihl) || ip[9] != IP_PROTO_TCP || memcmp(ip + 12, pinfo->src.data, 4) != 0 ||
                memcmp(ip + 16, pinfo->dst.data, 4) != 0)
                continue;
            tot = (guint32)ip[2] << 8 | ip[3];
            *tcplen = (ip[6] & 0x3f) || ip[7] || tot < 4 * ihl ? -1 : (gint32)(tot - 4 * ihl);
            return TRUE;
        }
    } else if (pinfo->src.type == AT_IPv6 && pinfo->dst.type == AT_IPv6 && th >= 40) {
        const guint8 *ip = b + th - 40;
        if ((ip[0] >> 4) != 6 || ip[6] != IP_PROTO_TCP || memcmp(ip + 8, pinfo->src.data, 16) != 0 ||
            memcmp(ip + 24, pinfo->dst.data, 16) != 0)
            return FALSE;
        *tcplen = (gint32)((guint32)ip[4] << 8 | ip[5]);
        return TRUE;
    }
    return FALSE;
}

/* Does a TCP header with this packet's ports (pat: RFC 9293, the header's
 * first four bytes) begin at p of b, right after an IP header with its
 * addresses (ip_in_front)? */
static gboolean
tcp_hdr_match(const guint8 *b, gint p, gint lim, const guint8 *pat, const packet_info *pinfo, gint32 *tcplen)
{
    return p >= 20 && p + 20 <= lim && b[p] == pat[0] && b[p + 1] == pat[1] && b[p + 2] == pat[2] &&
           b[p + 3] == pat[3] && ip_in_front(b, p, pinfo, tcplen);
}

/* The first offset in b[0, lim) where tcp_hdr_match holds, -1: none. */
static gint
tcp_hdr_scan(const guint8 *b, gint lim, const guint8 *pat, const packet_info *pinfo, gint32 *tcplen)
{
    gint p = 20;
    while (p + 20 <= lim) {
        const guint8 *q = (const guint8 *)memchr(b + p, pat[0], (size_t)(lim - 20 - p + 1));
        if (!q)
            return -1;
        p = (gint)(q - b);
        if (tcp_hdr_match(b, p, lim, pat, pinfo, tcplen))
            return p;
        p++;
    }
    return -1;
}

/* Find this packet's TCP header: where the last packet's was, else the
 * first place tcp_hdr_match holds, in the first bytes of the frame or of
 * another data source of it (reassembled IP fragments). Not found (FALSE):
 * a header behind IPv6 extension headers, a packet that is not TCP. Asking
 * TCP for a field instead would make it a real tree item on every packet. */
static gboolean
tcp_hdr_find(const packet_info *pinfo, fastcgi_tcp_hdr *h)
{
    static gint last_off = 34;   /* where the last one was in its frame: most are there too */
    GSList *l;
    guint8 pat[4];
    h->src = NULL;
    h->off = 0;
    h->seglen = -1;
    if (pinfo->ptype != PT_TCP || pinfo->srcport > 0xffff || pinfo->destport > 0xffff)
        return FALSE;
    pat[0] = (guint8)(pinfo->srcport >> 8);
    pat[1] = (guint8)pinfo->srcport;
    pat[2] = (guint8)(pinfo->destport >> 8);
    pat[3] = (guint8)pinfo->destport;
    for (l = pinfo->data_src; l; l = l->next) {
        tvbuff_t *t = get_data_source_tvb((struct data_source *)l->data);
        gint lim = (gint)MIN(tvb_captured_length(t), FASTCGI_HDR_SCAN), p;
        const guint8 *b;
        gint32 tcplen, hlen;
        if (lim < 40)
            continue;
        b = tvb_get_ptr(t, 0, lim);
        if (l == pinfo->data_src && tcp_hdr_match(b, last_off, lim, pat, pinfo, &tcplen))
            p = last_off;
        else if ((p = tcp_hdr_scan(b, lim, pat, pinfo, &tcplen)) < 0)
            continue;
        hlen = (b[p + 12] >> 4) * 4;
        h->src = t;
        h->off = p;
        h->seglen = tcplen >= hlen && hlen >= 20 ? tcplen - hlen : -1;
        if (l == pinfo->data_src)
            last_off = p;
        return TRUE;
    }
    return FALSE;
}

/* The control bits of a found TCP header (byte 13: TH_FIN, TH_SYN,
 * TH_RST...), -1 when there is none. */
static int
tcp_hdr_flags(const fastcgi_tcp_hdr *h)
{
    return h->src ? tvb_get_guint8(h->src, h->off + 13) : -1;
}

/* FIN and RST of this packet (cur_hdr); FALSE when its header was not found. */
static gboolean
tcp_flags_of(gboolean *fin, gboolean *rst)
{
    int v = tcp_hdr_flags(&cur_hdr);
    if (v < 0)
        return FALSE;
    *fin = (v & TH_FIN) != 0;
    *rst = (v & TH_RST) != 0;
    return TRUE;
}

/* The sequence and acknowledgement numbers of this packet as on the wire,
 * from its TCP header (cur_hdr): bytes 4-7 and 8-11 (RFC 9293). */
static gboolean
tcp_header_seq(guint32 *seq, guint32 *ack)
{
    if (!cur_hdr.src)
        return FALSE;
    *seq = tvb_get_ntohl(cur_hdr.src, cur_hdr.off + 4);
    *ack = tvb_get_ntohl(cur_hdr.src, cur_hdr.off + 8);
    return TRUE;
}

/* First pass, a segment TCP handed us: how the wire's sequence numbers of
 * its direction (and, by its acknowledgement, of the other) map to TCP's
 * (tcpinfo, relative to the first by default), so that a FIN's sequence
 * number can be read from its header (packet_seq) instead of asking TCP
 * to fill tcp.seq in on every packet. Once per direction. */
static void
tcp_seq_base(fastcgi_conv *cv, fsd_dir d, const packet_info *pinfo, const struct tcpinfo *tcpinfo)
{
    fastcgi_direction *ds = &cv->dir[d], *peer = &cv->dir[d == FSD_DIR_CLIENT ? FSD_DIR_SERVER : FSD_DIR_CLIENT];
    guint32 seq, ack;
    if (ds->seq_base_from == 2 || tcpinfo->is_reassembled || !tcp_hdr_find(pinfo, &cur_hdr) ||
        !tcp_header_seq(&seq, &ack))
        return;
    ds->seq_base = seq - tcpinfo->seq;
    ds->seq_base_from = 2;
    if (!peer->seq_base_from && (tcpinfo->flags & TH_ACK)) {
        peer->seq_base = ack - tcpinfo->lastackseq;
        peer->seq_base_from = 1;
    }
}

/* This packet's sequence number in TCP's numbering (as tcp.seq shows it),
 * for a packet of direction d (a FIN, a segment after a gap). */
static gboolean
packet_seq(const fastcgi_conv *cv, fsd_dir d, guint32 *seq)
{
    guint32 raw, ack;
    if (!cv->dir[d].seq_base_from || !tcp_header_seq(&raw, &ack))
        return FALSE;
    *seq = raw - cv->dir[d].seq_base;
    return TRUE;
}

static void show_drained_all(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, gboolean before);

/* A TCP segment (or reassembled bytes) of a FastCGI conversation. Columns
 * and the FastCGI item come only once something is shown: a segment that
 * only starts a record TCP reassembles stays a TCP row (TCP does not call
 * us for it again on later passes). */
static int
dissect_fastcgi(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
    struct tcpinfo *tcpinfo = (struct tcpinfo *)data;
    guint32 len = tvb_reported_length(tvb);
    guint32 caplen = tvb_captured_length(tvb);
    fastcgi_pdu_ctx ctx;
    fastcgi_conv *cv;
    guint32 skip = 0;
    tvbuff_t *rtvb;

    if (len == 0)
        return 0;
    memset(&ctx, 0, sizeof ctx);
    ctx.tcpinfo = tcpinfo;
    ctx.cv = cv = segment_conv(tvb, pinfo, tcpinfo, &ctx.dir);
    if (!PINFO_FD_VISITED(pinfo))
        drop_frame_streams(pinfo->num);
    streams_for_dissection(pinfo, tree);

    if (tcpinfo) {
        fastcgi_record *sr;   /* this segment's own results (gap, resync) */
        if (!PINFO_FD_VISITED(pinfo)) {
            fastcgi_record *hp;
            tcp_seq_base(cv, ctx.dir, pinfo, tcpinfo);
            fed_frame = pinfo->num;
            hp = hold_segment(tvb, pinfo, cv, ctx.dir, tcpinfo);
            if (hp) {
                show_piece(tvb, pinfo, tree, hp);
                return (int)len;
            }
            if (cv->dir[ctx.dir].held) {   /* a segment that cannot wait with them */
                release_held(cv, pinfo, ctx.dir, TRUE);
                frame_x(pinfo)->drained_before = TRUE;
            }
            sr = feed_segment_start(tvb, pinfo, cv, ctx.dir, tcpinfo);
        } else {
            fastcgi_frame *f = frame_data_get(pinfo, FALSE);
            wmem_array_t *skips = f && f->x ? f->x->skips : NULL;
            guint hint = 0;
            sr = skips ? frame_lookup((const fastcgi_frame_record *)wmem_array_get_raw(skips),
                                      wmem_array_get_count(skips), tcpinfo->seq, &hint) : NULL;
        }
        skip = sr && sr->x ? sr->x->body_len : 0;
        show_drained_all(tvb, pinfo, tree, TRUE);
        show_segment_start(tvb, pinfo, tree, sr, skip);
        if (!skip) {   /* the rest of a stream record, when this segment carries one */
            fastcgi_record *p = PINFO_FD_VISITED(pinfo) ? piece_at(cv, pinfo, tcpinfo->seq)
                                                        : feed_piece(tvb, pinfo, cv, ctx.dir, tcpinfo);
            if (p && !PINFO_FD_VISITED(pinfo) && cv->dir[ctx.dir].held)
                release_held(cv, pinfo, ctx.dir, FALSE);
            if (p)
                skip = show_piece(tvb, pinfo, tree, p);
        }
        ctx.base_seq = tcpinfo->seq + skip;
    }
    if (skip >= caplen)
        return (int)caplen;
    rtvb = skip ? tvb_new_subset_remaining(tvb, skip) : tvb;
    tcp_dissect_pdus(rtvb, pinfo, tree, pref_desegment, FSD_HEADER_LEN,
                     get_fastcgi_pdu_len, dissect_fastcgi_record, &ctx);
    if (skip && pinfo->desegment_len)
        pinfo->desegment_offset += skip;
    if (tcpinfo && !PINFO_FD_VISITED(pinfo) && pinfo->desegment_len && cv->dec)
        feed_record_start(tvb, pinfo, cv, ctx.dir, tcpinfo);
    return (int)len;
}


/* A frame shows FastCGI results outside a record (a record start, a close):
 * the Protocol column says so (TCP's Info stays) and the anomalies are named. */
static void
post_columns(packet_info *pinfo, const fastcgi_record *h)
{
    guint i;
    col_set_str(pinfo->cinfo, COL_PROTOCOL, "FastCGI");
    for (i = 0; h && i < rec_nanom(h) && i < 3; i++)
        col_append_sep_fstr(pinfo->cinfo, COL_INFO, " ", "[FastCGI %s]", anomaly_ids[h->x->anom[i].id]);
}

/* First pass: this side's first FIN. Its sequence number says whether
 * bytes before it are missing from the capture (as the analyzer sees it):
 * a gap for the decoder; then the close. */
static void
feed_fin(fastcgi_conv *cv, packet_info *pinfo, fsd_dir d, guint8 cc, fastcgi_record *cr)
{
    fastcgi_direction *ds = &cv->dir[d];
    guint32 fseq;
    if (!ds->started && (cc & 0x01) && tcp_relative_seq()) {
        /* no byte of this side captured, its SYN was: data began at 1 */
        ds->started = TRUE;
        ds->next_seq = 1;
    }
    if (cv->dec && ds->started && packet_seq(cv, d, &fseq) &&
        (gint32)(fseq - ds->next_seq) > 0) {
        cv->cur = cr;
        note_gap(ds, ds->next_seq, fseq, pinfo->num);
        fsd_conn_gap(cv->dec, d, (guint64)(guint32)(fseq - ds->next_seq), nstime_ns(&pinfo->abs_ts), pinfo->num);
        cv->cur = NULL;
        ds->next_seq = fseq;
        dir_hunt(ds);
    }
    cv->fin_seen[d] = TRUE;
    cv->fin_ts[d] = nstime_ns(&pinfo->abs_ts);
    cv->fin_frame[d] = pinfo->num;
    feed_close(cv, d, FSD_CLOSE_FIN, cv->fin_ts[d], pinfo->num, cr);
}

/* First pass: the connection's first RST and each side's first FIN go to
 * the decoder at their packet, in order with the records (after this
 * frame's bytes), so the decoder sees e.g. the web server give up before
 * the application's late answer. What the decoder says then is stored as
 * the frame's close results. */
static void
feed_packet_close(fastcgi_conv *cv, packet_info *pinfo, fsd_dir d)
{
    guint8 cc = cv->tcpd->conversation_completeness;
    guint8 fresh = (guint8)(cc & ~cv->seen_cc);
    fastcgi_record *cr = NULL;
    gboolean is_fin, is_rst;

    cv->seen_cc = cc;
    /* This packet's TCP flags (from its header: tcp_hdr_find); without
     * them, TCP's completeness bits: the first FIN and RST. */
    if (tcp_flags_of(&is_fin, &is_rst))
        fresh = (guint8)((is_fin ? 0x10 : 0) | (is_rst ? 0x20 : 0));
    /* Held segments wait no longer than their direction's FIN or a RST */
    if ((fresh & 0x20) && cv->dir[1 - d].held)
        release_held(cv, pinfo, (fsd_dir)(1 - d), TRUE);
    if ((fresh & 0x30) && cv->dir[d].held)
        release_held(cv, pinfo, d, TRUE);
    if (cv->dec && !cv->closed[d] &&
        (((fresh & 0x20) && !cv->rst_seen) || (!cv->fin_seen[d] && (fresh & 0x10)))) {
        cr = wmem_new0(wmem_file_scope(), fastcgi_record);
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
    if (!cv->fin_seen[d] && (fresh & 0x10))
        feed_fin(cv, pinfo, d, cc, cr);
    if (cr && rec_has_results(cr)) {
        fastcgi_frame_ext *fx = frame_x(pinfo);
        if (!fx->closes)
            fx->closes = wmem_array_new(wmem_file_scope(), sizeof(fastcgi_record *));
        wmem_array_append_one(fx->closes, cr);
    } else if (cr) {
        /* Nothing to show (most FINs): not kept for the whole file. Only a
         * request that ended here (nended) keeps a pointer to it. */
        wmem_free(wmem_file_scope(), cr->x);
        wmem_free(wmem_file_scope(), cr);
    }
}

/* This packet's TCP payload length: from the IP header in front of its
 * TCP header (cur_hdr), else TCP's tcp.len when the postdissector asks for
 * it (once a gap was declared). */
static gboolean
tcp_seglen(proto_tree *tree, guint32 *len)
{
    if (cur_hdr.seglen >= 0) {
        *len = (guint32)cur_hdr.seglen;
        return TRUE;
    }
    return post_wants_len && tcp_field_of(tree, hf_tcp_len, len);
}

/* First pass: a segment bringing bytes the decoder was told are missing
 * (an earlier frame declared them a gap) was reordered, not lost:
 * Wireshark's TCP hands out-of-order bytes on only with its "Reassemble
 * out-of-order segments" preference on. Noted for the frame. (A gap of an
 * earlier frame only: a record reassembled in this frame can declare a gap
 * that reaches into this very segment.) */
static void
note_reordered(fastcgi_conv *cv, packet_info *pinfo, proto_tree *tree, fsd_dir d)
{
    fastcgi_direction *ds = &cv->dir[d];
    guint32 sseq, slen, gi, gn = ds->gaps ? wmem_array_get_count(ds->gaps) : 0;
    if (!gn || !packet_seq(cv, d, &sseq) || !tcp_seglen(tree, &slen) || !slen)
        return;
    for (gi = 0; gi < gn; gi++) {
        fastcgi_gap *g = (fastcgi_gap *)wmem_array_index(ds->gaps, gi);
        if (!g->arrived && g->frame < pinfo->num && (gint32)(sseq - g->end) < 0 &&
            (gint32)(sseq + slen - g->start) > 0) {
            g->arrived = TRUE;
            frame_x(pinfo)->late_gap_frame = g->frame;
            frame_x(pinfo)->late_gap_piece = g->in_piece;
            break;
        }
    }
}

/* The payload of this packet's (innermost) TCP segment (cur_hdr), all of
 * it captured: its data source and where it is there. Its length is what
 * the IP header says, else TCP's tcp.len when the postdissector asks for
 * it (once a gap was declared). */
typedef struct fastcgi_segment {
    tvbuff_t *src;
    guint32 off, len;
} fastcgi_segment;

static gboolean
tcp_segment_of(proto_tree *tree, fastcgi_segment *seg)
{
    guint32 hlen, seglen;
    if (!cur_hdr.src || !tcp_seglen(tree, &seglen))
        return FALSE;
    hlen = (guint32)(tvb_get_guint8(cur_hdr.src, cur_hdr.off + 12) >> 4) * 4;
    if (hlen < 20 || !seglen || !tvb_bytes_exist(cur_hdr.src, cur_hdr.off + (gint)hlen, (gint)seglen))
        return FALSE;
    seg->src = cur_hdr.src;
    seg->off = (guint32)cur_hdr.off + hlen;
    seg->len = seglen;
    return TRUE;
}

/* First pass, the postdissector: a segment with a payload that TCP did not
 * hand to dissect_fastcgi (with its default preferences TCP hands a segment
 * it takes as retransmitted or out of order to no dissector)? Only with
 * reassemble_streams off: else TCP reassembles the records it lies in. */
static gboolean
late_segment(packet_info *pinfo, proto_tree *tree, fastcgi_segment *seg)
{
    return !pref_reassemble_streams && pinfo->num != fed_frame && tcp_segment_of(tree, seg);
}

/* First pass: such a segment carries bytes at next_seq of direction d
 * inside what is awaited of a stream record shown in pieces (a reordered
 * segment, a retransmission that brings more than the first one did):
 * the decoder takes them, then the held segments they lead on to. The
 * late piece is shown by the postdissector in every pass. */
static void
feed_late(fastcgi_conv *cv, packet_info *pinfo, fsd_dir d, const fastcgi_segment *seg)
{
    fastcgi_direction *ds = &cv->dir[d];
    guint32 sseq, k, n;
    fastcgi_record *p;
    if (!cv->dec || ds->hunting || !cont_total(ds) || !packet_seq(cv, d, &sseq))
        return;
    k = ds->next_seq - sseq;
    if ((gint32)k < 0 || k >= seg->len)
        return;
    n = MIN(seg->len - k, cont_total(ds));
    p = new_piece(cv, d, 0);
    p->late = TRUE;
    rec_x(p)->late_off = seg->off + k;
    p->x->late_len = n;
    feed_piece_bytes(cv, d, p, tvb_get_ptr(seg->src, (gint)(seg->off + k), (gint)n), n, 0,
                     nstime_ns(&pinfo->abs_ts), pinfo->num, TRUE);
    count_spanned(p);
    cv->show_frame = pinfo->num;
    frame_append(&frame_x(pinfo)->lates, sizeof p, &p);
    if (ds->held)
        release_held(cv, pinfo, d, FALSE);
}

/* Every pass: a late piece, its bytes in the frame (the data source its
 * TCP header is in). */
static void
show_late_piece(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, fastcgi_record *p)
{
    fastcgi_tcp_hdr h;
    tvbuff_t *src = tcp_hdr_find(pinfo, &h) ? h.src : tvb;
    if (!tvb_bytes_exist(src, (gint)p->x->late_off, (gint)p->x->late_len))
        return;
    show_piece(tvb_new_subset_length(src, (gint)p->x->late_off, (gint)p->x->late_len), pinfo, tree, p);
}

static void show_drained(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, fastcgi_record *r);

/* Every pass: the held pieces fed in this frame, where they were fed:
 * before the segment's own bytes (dissect_fastcgi: before) or after them
 * (the postdissector). */
static void
show_drained_all(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, gboolean before)
{
    fastcgi_frame *f = n_drained ? frame_data_get(pinfo, FALSE) : NULL;
    const fastcgi_frame_ext *x = f ? f->x : NULL;
    guint i, n = x && x->drained && x->drained_before == before ? wmem_array_get_count(x->drained) : 0;
    if (n && before)   /* (the segment's own records follow: the columns are the plugin's) */
        first_call_in_frame(pinfo);
    for (i = 0; i < n; i++)
        show_drained(tvb, pinfo, tree, *(fastcgi_record **)wmem_array_index(x->drained, i));
}

/* Every pass: a held piece of an earlier frame, fed in this one (its
 * missing bytes came, or were given up): what the decoder said then. */
static void
show_drained(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, fastcgi_record *r)
{
    const char *tname = fsd_type_name(r->left.type);
    guint32 n = r->x ? r->x->late_len : 0, from = r->x ? r->x->held_frame : 0;
    const char *info = wmem_strdup_printf(pinfo->pool, "%s continued (%u bytes of frame %u)", tname, n, from);
    proto_tree *ft;
    proto_item *it;
    if (rebuild_streams && PINFO_FD_VISITED(pinfo) && r->x && r->x->held_copy) {
        /* (release_held fed the copy from late_off on: the span's offsets are in it) */
        guint32 hl = r->x->late_off + r->x->late_len;
        rebuild_span(tvb_new_child_real_data(tvb, r->x->held_copy, hl, hl), r);
    }
    post_columns(pinfo, r);
    ft = frame_top_tree(tvb, pinfo, tree, 0);
    top_summary_add(pinfo, info, TRUE);
    info_add_record(pinfo, info);
    it = proto_tree_add_string_format(ft, hf_fastcgi_piece, tvb, 0, 0, tname,
                                      "%s continued: %u bytes of frame %u, held there until the bytes before them "
                                      "came or were given up", tname, n, from);
    proto_item_set_generated(it);
    if (r->req)
        proto_item_append_text(it, " (request id %u)", r->req->id);
    add_record_results(proto_item_add_subtree(it, ett_fastcgi_record), tvb, pinfo, -2, r);
}

static void
show_reordered(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, guint32 gap_frame, gboolean in_piece)
{
    proto_tree *ft = frame_top_tree(tvb, pinfo, tree, 0);
    proto_item *it = proto_tree_add_uint(ft, hf_fastcgi_late_gap, tvb, 0, 0, gap_frame);
    proto_item_set_generated(it);
    post_columns(pinfo, NULL);
    col_append_sep_str(pinfo->cinfo, COL_INFO, " ", "[FastCGI: bytes taken as lost arrived out of order]");
    /* (inside a stream record shown in pieces the plugin's own preference
     * does it too: TCP reorders segments inside a record it reassembles) */
    expert_add_info_format(pinfo, it, &ei_fastcgi_reordered,
        "tcp_reordered: this segment brings bytes the decoder was told are missing at frame %u: "
        "reordered, not lost; with TCP's \"Reassemble out-of-order segments\" preference "
        "(tcp.reassemble_out_of_order)%s they are decoded", gap_frame,
        in_piece ? " or this plugin's \"Reassemble STDIN, STDOUT, STDERR and DATA records spanning TCP "
                   "segments\" (fastcgi.reassemble_streams)" : "");
}

static fastcgi_conv *
packet_conv(packet_info *pinfo)
{
    conversation_t *conv = find_conversation_pinfo(pinfo, 0);
    return conv ? (fastcgi_conv *)conversation_get_proto_data(conv, proto_fastcgi) : NULL;
}

/* Every pass: what the decoder said at this frame outside a whole record:
 * record starts TCP is still reassembling (holds), reordered bytes, the
 * close, and (on the connection's last FastCGI frame) its end. */
static void
show_packet_results(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const fastcgi_frame *f)
{
    const fastcgi_frame_ext *x = f->x;
    fastcgi_conv *cv;
    guint i, n = x && x->lates ? wmem_array_get_count(x->lates) : 0;
    /* (pieces of segments TCP withheld: not seen by dissect_fastcgi, which
     * sets this for the segments it is given) */
    if (PINFO_FD_VISITED(pinfo) && x && (x->lates || x->drained))
        streams_for_dissection(pinfo, tree);
    for (i = 0; i < n; i++)
        show_late_piece(tvb, pinfo, tree, *(fastcgi_record **)wmem_array_index(x->lates, i));
    show_drained_all(tvb, pinfo, tree, FALSE);
    n = x && x->holds ? wmem_array_get_count(x->holds) : 0;
    for (i = 0; i < n; i++) {
        fastcgi_record *h = *(fastcgi_record **)wmem_array_index(x->holds, i);
        if (rec_has_results(h)) {
            post_columns(pinfo, h);
            show_results(tvb, pinfo, frame_top_tree(tvb, pinfo, tree, 0), h, -2);
        }
    }
    if (x && x->late_gap_frame)
        show_reordered(tvb, pinfo, tree, x->late_gap_frame, x->late_gap_piece);
    n = x && x->closes ? wmem_array_get_count(x->closes) : 0;
    for (i = 0; i < n; i++) {
        fastcgi_record *cr = *(fastcgi_record **)wmem_array_index(x->closes, i);
        proto_tree *ft = frame_top_tree(tvb, pinfo, tree, 0);
        proto_item *it;
        post_columns(pinfo, cr);
        it = proto_tree_add_item(ft, hf_fastcgi_conn_close, tvb, 0, 0, ENC_NA);
        proto_item_set_generated(it);
        show_results(tvb, pinfo, proto_item_add_subtree(it, ett_fastcgi_record), cr, -2);
    }
    /* (the connection's end comes after this frame's own results; only
     * on a frame that has one: no FastCGI item for a frame that only
     * starts a record, no conversation lookup for every frame) */
    cv = late_frames ? (fastcgi_conv *)g_hash_table_lookup(late_frames, GUINT_TO_POINTER(pinfo->num)) : NULL;
    if (cv)
        show_late(tvb, pinfo, frame_top_tree(tvb, pinfo, tree, 0), cv);
}

/* First pass, every TCP packet (its header: cur_hdr): segment_conv's
 * memo forgets the port pair of a SYN, and everything when the header was
 * not found. */
static void
conv_memo_check(const packet_info *pinfo)
{
    int v;
    if (pinfo->ptype != PT_TCP)
        return;
    v = tcp_hdr_flags(&cur_hdr);
    if (v < 0)
        conv_memo_clear();
    else if (v & TH_SYN)
        conv_memo_slot(pinfo)->cv = NULL;
}

/* First pass: can this TCP packet matter to the end of a FastCGI
 * connection or to bytes declared missing? The conversation lookup for it
 * (~1,100 instructions) was most of the postdissector's cost over a big
 * capture. Not when its TCP header was found and it carries neither
 * FIN nor RST (feed_packet_close looks at nothing else then: the FIN and
 * RST bits of TCP's completeness are only set by such packets, which are
 * always looked at), and no gap was declared in the file yet (note_reordered
 * has nothing to find). */
static gboolean
post_may_matter(void)
{
    int v = tcp_hdr_flags(&cur_hdr);
    return n_gaps || v < 0 || (v & (TH_FIN | TH_RST)) != 0;
}

/* The postdissector: runs after every dissector of every frame, in every
 * pass. The first pass feeds a FastCGI connection's FIN and RST to the
 * decoder at their packets and notes reordered bytes; every pass shows
 * what the decoder said at this frame outside a whole record, under the
 * frame's FastCGI item, so one pass and two passes show the same. */
static int
dissect_fastcgi_post(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    fastcgi_frame *f;
    if (pinfo->ptype != PT_TCP)
        return 0;
    if (!PINFO_FD_VISITED(pinfo)) {
        fastcgi_segment seg = { NULL, 0, 0 };
        gboolean late;
        fastcgi_conv *cv;
        tcp_hdr_find(pinfo, &cur_hdr);   /* (what the functions below read) */
        conv_memo_check(pinfo);
        drop_frame_streams(pinfo->num);
        late = late_segment(pinfo, tree, &seg);
        cv = late || post_may_matter() ? packet_conv(pinfo) : NULL;
        if (cv && cv->tcpd && cv->server_known && !cv->finished) {
            fsd_dir d = packet_dir(cv, pinfo);
            if (late) {
                streams_for_dissection(pinfo, tree);
                feed_late(cv, pinfo, d, &seg);
            }
            feed_packet_close(cv, pinfo, d);
            note_reordered(cv, pinfo, tree, d);
        }
    }
    /* (on the first pass only a frame the plugin stored something for
     * this very frame has results: most TCP packets have none) */
    f = PINFO_FD_VISITED(pinfo) || frame_made == pinfo->num ? frame_data_get(pinfo, FALSE) : NULL;
    if (f)
        show_packet_results(tvb, pinfo, tree, f);
    return 0;
}

static FASTCGI_HEUR_RETURN
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

static void
set_ei(ei_register_info *e, expert_field *ids, const char *name, int group, int severity, const char *summary)
{
    memset(e, 0, sizeof *e);
    e->ids = ids;
    e->eiinfo.name = name;
    e->eiinfo.group = group;
    e->eiinfo.severity = severity;
    e->eiinfo.summary = summary;
}

/* Expert infos from anomalies.def: fastcgi.<id> at the catalogue
 * severity, plus fastcgi.<id>.error for ids raised higher at times and
 * fastcgi.<id>.note for warnings and errors the decoder may lower to a note
 * where the evidence says so (capture end, a healthy peer's habit); then
 * the plugin's own two. */
static void
register_expert_infos(void)
{
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
    int i, n = 0;

    for (i = 0; i < FSD_A_COUNT; i++) {
        ei_fastcgi_anomaly[i] = (expert_field)EI_INIT;
        ei_fastcgi_anomaly_raised[i] = (expert_field)EI_INIT;
        ei_fastcgi_anomaly_lowered[i] = (expert_field)EI_INIT;
        if (!decoder_raises((fsd_anomaly_id)i))
            continue;   /* not offered in filters: the plugin never raises it */
        set_ei(&ei[n++], &ei_fastcgi_anomaly[i], ei_names[i], pi_group((fsd_anomaly_id)i),
               pi_severity((fsd_severity)ei_sev[i]), ei_summaries[i]);
        if (ei_maxsev[i] > ei_sev[i])
            set_ei(&ei[n++], &ei_fastcgi_anomaly_raised[i], ei_names_raised[i], pi_group((fsd_anomaly_id)i),
                   pi_severity((fsd_severity)ei_maxsev[i]), ei_summaries[i]);
        if (ei_sev[i] > FSD_SEV_NOTE)
            set_ei(&ei[n++], &ei_fastcgi_anomaly_lowered[i], ei_names_lowered[i], pi_group((fsd_anomaly_id)i),
                   pi_severity(FSD_SEV_NOTE), ei_summaries[i]);
    }
    set_ei(&ei[n++], &ei_fastcgi_reordered, "fastcgi.tcp_reordered", PI_SEQUENCE, PI_NOTE,
           "bytes taken as lost (capture_gap) arrived later out of order: enable TCP's "
           "\"Reassemble out-of-order segments\" preference");
    set_ei(&ei[n++], &ei_fastcgi_expert_limit, "fastcgi.expert_info_limit", PI_UNDECODED, PI_WARN,
           "more anomalies in this frame than the plugin raises as expert infos "
           "(" G_STRINGIFY(FASTCGI_EXPERT_PER_FRAME) "); the rest are in the packet tree only (fastcgi.anomaly)");

    expert = expert_register_protocol(proto_fastcgi);
    expert_register_field_array(expert, ei, n);
}

/* Preferences > Protocols > FastCGI */
static void
register_prefs(void)
{
    module_t *mod;

    mod = prefs_register_protocol(proto_fastcgi, NULL);
    prefs_register_bool_preference(mod, "desegment",
        "Reassemble FastCGI records spanning multiple TCP segments",
        "Whether records spanning TCP segments are reassembled (needs TCP's "
        "\"Allow subdissectors to reassemble TCP streams\"). Request tracking needs it.",
        &pref_desegment);
    prefs_register_bool_preference(mod, "reassemble_streams",
        "Reassemble STDIN, STDOUT, STDERR and DATA records spanning TCP segments",
        "Off (the default): a long stream record is shown a segment at a time (its header and first "
        "bytes, then the rest piece by piece, each in the frame that carried it), and TCP keeps no "
        "reassembled copy of it (most of a big capture's bytes: memory). A segment that TCP takes as "
        "the one after a lost segment waits inside such a record (\"held\") until the missing bytes "
        "arrive in a segment TCP takes as out of order or retransmitted (the plugin reads those itself, "
        "TCP hands them to no dissector by default); missing bytes that never come are a gap "
        "(capture_gap) with the record's framing kept. On: each such record is reassembled by TCP and "
        "shown whole in the frame of its last segment. The requests, their latency, the response body "
        "handed to content dissectors and Export Objects are the same either way.",
        &pref_reassemble_streams);
    prefs_register_bool_preference(mod, "dissect_body",
        "Hand response bodies to content dissectors",
        "Keep each response's STDOUT (up to the cap below) and dissect the body "
        "after the CGI header by its Content-Type",
        &pref_dissect_body);
    prefs_register_uint_preference(mod, "body_cap", "Response body cap (bytes)",
        "Bytes of each response body kept for the content dissectors", 10, &pref_body_cap);
    prefs_register_bool_preference(mod, "keep_bodies",
        "Keep bodies for any frame opened later (GUI packet details)",
        "Keep each request's STDIN, STDERR and response body (up to the cap above) for the whole file once "
        "the first pass has read them. Off (the default): the first pass collects them only when it reads "
        "them itself (a printed tree or columns, a filter on a body field or a content protocol, "
        "--export-objects) and frees them after their frame; a later pass over the frames in order "
        "(tshark -2, File > Export Objects, re-filtering in the GUI) reads them again from the records. "
        "A single frame opened out of order in the GUI then shows no response body and no STDIN/STDERR "
        "bytes: turn this on to have them there, at the cost of the bodies' memory",
        &pref_keep_bodies);
}

void
proto_register_fastcgi(void)
{
    static hf_register_info hf[] = {
        { &hf_fastcgi_record, { "Record", "fastcgi.record", FT_STRING, BASE_NONE, NULL, 0x0, "One FastCGI record (its type name)", HFILL } },
        { &hf_fastcgi_version, { "Version", "fastcgi.version", FT_UINT8, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_type, { "Type", "fastcgi.type", FT_UINT8, BASE_DEC, VALS(type_vals), 0x0, NULL, HFILL } },
        { &hf_fastcgi_request_id, { "Request ID", "fastcgi.request_id", FT_UINT16, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_content_length, { "Content length", "fastcgi.content_length", FT_UINT16, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_padding_length, { "Padding length", "fastcgi.padding_length", FT_UINT8, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_reserved, { "Reserved", "fastcgi.reserved", FT_UINT8, BASE_HEX, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_role, { "Role", "fastcgi.role", FT_UINT16, BASE_DEC, VALS(role_vals), 0x0, NULL, HFILL } },
        { &hf_fastcgi_flags, { "Flags", "fastcgi.flags", FT_UINT8, BASE_HEX, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_flags_keep_conn, { "Keep connection", "fastcgi.flags.keep_conn", FT_BOOLEAN, 8, TFS(&tfs_keep_conn), FSD_FLAG_KEEP_CONN, NULL, HFILL } },
        { &hf_fastcgi_body_reserved, { "Reserved", "fastcgi.body.reserved", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_app_status, { "Application status", "fastcgi.end.app_status", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_protocol_status, { "Protocol status", "fastcgi.end.protocol_status", FT_UINT8, BASE_DEC, VALS(protocol_status_vals), 0x0, NULL, HFILL } },
        { &hf_fastcgi_unknown_type_type, { "Unknown type", "fastcgi.unknown_type.type", FT_UINT8, BASE_DEC, NULL, 0x0, "The type the application did not understand", HFILL } },
        { &hf_fastcgi_param, { "Parameter", "fastcgi.param", FT_STRING, BASE_NONE, NULL, 0x0, "A name-value pair (its name)", HFILL } },
        { &hf_fastcgi_param_name, { "Name", "fastcgi.param.name", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_param_value, { "Value", "fastcgi.param.value", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_param_name_len, { "Name length", "fastcgi.param.name_length", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_param_value_len, { "Value length", "fastcgi.param.value_length", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_param_straddled, { "Spans two records", "fastcgi.param.straddled", FT_BOOLEAN, BASE_NONE, NULL, 0x0, "The pair began in an earlier PARAMS record", HFILL } },
        { &hf_fastcgi_stdin, { "STDIN data", "fastcgi.stdin", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_stdout, { "STDOUT data", "fastcgi.stdout", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_stderr, { "STDERR data", "fastcgi.stderr", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_data, { "DATA data", "fastcgi.data", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_content, { "Content", "fastcgi.content", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_padding, { "Padding", "fastcgi.padding", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_eos, { "End of stream", "fastcgi.eos", FT_BOOLEAN, BASE_NONE, NULL, 0x0, "Empty record: the stream ends", HFILL } },
        { &hf_fastcgi_req_method, { "Method", "fastcgi.request.method", FT_STRING, BASE_NONE, NULL, 0x0, "REQUEST_METHOD", HFILL } },
        { &hf_fastcgi_req_uri, { "URI", "fastcgi.request.uri", FT_STRING, BASE_NONE, NULL, 0x0, "REQUEST_URI", HFILL } },
        { &hf_fastcgi_req_script, { "Script", "fastcgi.request.script", FT_STRING, BASE_NONE, NULL, 0x0, "SCRIPT_NAME, else SCRIPT_FILENAME", HFILL } },
        { &hf_fastcgi_status, { "Status", "fastcgi.status", FT_UINT16, BASE_DEC, NULL, 0x0, "HTTP status as the web server derives it from the CGI header (Status:, else Location: 302, else 200)", HFILL } },
        { &hf_fastcgi_resp_status, { "Response status", "fastcgi.response.status", FT_UINT16, BASE_DEC, NULL, 0x0, "The CGI response header block of this STDOUT: its status (Status:, else 302 with Location:, else 200; 0 when the block did not complete); the request's status is fastcgi.status, once per request", HFILL } },
        { &hf_fastcgi_status_line, { "Status line", "fastcgi.response.status_line", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_resp_header, { "Response header", "fastcgi.response.header", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_content_type, { "Content-Type", "fastcgi.response.content_type", FT_STRING, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_header_len, { "Header block length", "fastcgi.response.header_length", FT_UINT64, BASE_DEC, NULL, 0x0, "STDOUT bytes taken by the CGI header block", HFILL } },
        { &hf_fastcgi_body, { "Response body", "fastcgi.response.body", FT_BYTES, BASE_NONE, NULL, 0x0, "STDOUT after the CGI header block, reassembled", HFILL } },
        { &hf_fastcgi_request_in, { "Request in", "fastcgi.request_in", FT_FRAMENUM, BASE_NONE, FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0, "The frame with the BEGIN_REQUEST of this request", HFILL } },
        { &hf_fastcgi_response_in, { "Response in", "fastcgi.response_in", FT_FRAMENUM, BASE_NONE, FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0, "The frame with the END_REQUEST of this request", HFILL } },
        { &hf_fastcgi_time, { "Response time", "fastcgi.time", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0, "Time since the request: END_REQUEST's last byte minus BEGIN_REQUEST's first byte", HFILL } },
        { &hf_fastcgi_ttfb, { "Time to first byte", "fastcgi.ttfb", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0, "First STDOUT/STDERR byte minus BEGIN_REQUEST's first byte", HFILL } },
        { &hf_fastcgi_end_reason, { "End reason", "fastcgi.end_reason", FT_STRING, BASE_NONE, NULL, 0x0, "How the request ended (complete, closed, reset, capture_end, desync, gap)", HFILL } },
        { &hf_fastcgi_status_source, { "Status from", "fastcgi.status_source", FT_STRING, BASE_NONE, NULL, 0x0, "Where the status came from: header (Status:), location (Location: without Status: -> 302), default (200)", HFILL } },
        { &hf_fastcgi_user_status, { "User status", "fastcgi.user_status", FT_UINT16, BASE_DEC, NULL, 0x0, "The status the web server's client got as far as the wire shows (502 rejected header, 504/499 abandoned, ...); absent when the wire cannot tell", HFILL } },
        { &hf_fastcgi_user_outcome, { "User outcome", "fastcgi.user_outcome", FT_STRING, BASE_NONE, NULL, 0x0, "as_answered, unknown, rejected_header, gave_up_timeout, client_gone, backend_failed", HFILL } },
        { &hf_fastcgi_closed_by, { "Closed by", "fastcgi.closed_by", FT_STRING, BASE_NONE, NULL, 0x0, "The first FIN/RST while the request was outstanding", HFILL } },
        { &hf_fastcgi_gap, { "Capture gap", "fastcgi.gap", FT_BOOLEAN, BASE_NONE, NULL, 0x0, "Bytes of this request were missing from the capture", HFILL } },
        { &hf_fastcgi_elapsed, { "Elapsed time (unfinished request)", "fastcgi.elapsed", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0, "Incomplete request: BEGIN_REQUEST to the close, or to its last byte seen", HFILL } },
        { &hf_fastcgi_abandoned_after, { "Abandoned after", "fastcgi.abandoned_after", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0, "BEGIN_REQUEST to the web server's close while the request was outstanding", HFILL } },
        { &hf_fastcgi_direction, { "Direction", "fastcgi.direction", FT_UINT8, BASE_DEC, VALS(dir_vals), 0x0, NULL, HFILL } },
        { &hf_fastcgi_skipped, { "Skipped bytes", "fastcgi.skipped", FT_BYTES, BASE_NONE, NULL, 0x0, "Bytes before the first record boundary the decoder found", HFILL } },
        { &hf_fastcgi_piece, { "Record continued", "fastcgi.piece", FT_STRING, BASE_NONE, NULL, 0x0, "The rest of a STDIN, STDOUT, STDERR or DATA record begun in an earlier segment, or part of it (its type); the preference reassemble_streams shows such records whole instead", HFILL } },
        { &hf_fastcgi_rest, { "Bytes of the record in later segments", "fastcgi.rest", FT_UINT32, BASE_DEC, NULL, 0x0, "What of this record (content and padding) the next segments carry", HFILL } },
        { &hf_fastcgi_retransmission, { "Retransmitted record (already decoded)", "fastcgi.retransmission", FT_NONE, BASE_NONE, NULL, 0x0, NULL, HFILL } },
        { &hf_fastcgi_req_summary, { "Request", "fastcgi.request", FT_UINT16, BASE_DEC, NULL, 0x0, "The request (by id) a record belongs to or that ended with it", HFILL } },
        { &hf_fastcgi_req_anomaly, { "Request anomaly", "fastcgi.request.anomaly", FT_STRING, BASE_NONE, NULL, 0x0, "Anomaly ids the decoder attached to the request", HFILL } },
        { &hf_fastcgi_anomaly, { "Anomaly", "fastcgi.anomaly", FT_STRING, BASE_NONE, NULL, 0x0, "An anomaly the decoder reported here (its catalogue id); the expert info is attached to it", HFILL } },
        { &hf_fastcgi_anomaly_detail, { "Detail", "fastcgi.anomaly.detail", FT_STRING, BASE_NONE, NULL, 0x0, "What the decoder said about this occurrence", HFILL } },
        { &hf_fastcgi_anomaly_request, { "Request ID", "fastcgi.anomaly.request_id", FT_UINT16, BASE_DEC, NULL, 0x0, "The request the anomaly is about", HFILL } },
        { &hf_fastcgi_untracked_requests, { "Requests not tracked", "fastcgi.untracked_requests", FT_UINT64, BASE_DEC, NULL, 0x0, "BEGIN_REQUESTs the decoder did not track on this connection (its request table was full: request_table_full)", HFILL } },
        { &hf_fastcgi_untracked_records, { "Records of untracked requests", "fastcgi.untracked_records", FT_UINT64, BASE_DEC, NULL, 0x0, "Later records of those request ids (framed, not checked one by one)", HFILL } },
        { &hf_fastcgi_late_gap, { "Bytes taken as lost at", "fastcgi.reordered_gap", FT_FRAMENUM, BASE_NONE, NULL, 0x0, "This segment brings bytes the decoder was told are missing at that frame (capture_gap): they came out of order", HFILL } },
        { &hf_fastcgi_conn_close, { "Connection close", "fastcgi.connection_close", FT_NONE, BASE_NONE, NULL, 0x0, "What the decoder reported when this FIN or RST reached it", HFILL } },
        { &hf_fastcgi_whole, { "Whole request", "fastcgi.whole", FT_NONE, BASE_NONE, NULL, 0x0, "The request read as a whole where it ended: its parameters, STDIN, the response (STDOUT) and STDERR, in that order", HFILL } },
        { &hf_fastcgi_whole_params, { "PARAMS", "fastcgi.whole.params", FT_UINT32, BASE_DEC, NULL, 0x0, "Number of parameters of the request", HFILL } },
        { &hf_fastcgi_whole_param, { "Parameter", "fastcgi.whole.param", FT_STRING, BASE_NONE, NULL, 0x0, "NAME=value, from all PARAMS records of the request", HFILL } },
        { &hf_fastcgi_whole_stdin, { "STDIN", "fastcgi.whole.stdin", FT_BYTES, BASE_NONE, NULL, 0x0, "The request body (up to the body_cap preference)", HFILL } },
        { &hf_fastcgi_whole_stdout, { "STDOUT", "fastcgi.whole.stdout", FT_UINT16, BASE_DEC, NULL, 0x0, "The response: its status, CGI header lines and body", HFILL } },
        { &hf_fastcgi_whole_stdout_header, { "Header", "fastcgi.whole.stdout.header", FT_STRING, BASE_NONE, NULL, 0x0, "A line of the CGI response header block", HFILL } },
        { &hf_fastcgi_whole_body_len, { "Body length", "fastcgi.whole.stdout.body_length", FT_UINT32, BASE_DEC, NULL, 0x0, "Bytes of the response body kept (the body itself: \"FastCGI response body\", fastcgi.response.body)", HFILL } },
        { &hf_fastcgi_whole_stderr, { "STDERR", "fastcgi.whole.stderr", FT_STRING, BASE_NONE, NULL, 0x0, "What the application wrote to STDERR (up to the body_cap preference)", HFILL } },
        { &hf_fastcgi_conn_end, { "Connection end", "fastcgi.connection_end", FT_NONE, BASE_NONE, NULL, 0x0, "What was still open when the connection or the capture ended", HFILL } },
    };
    static gint *ett[] = {
        &ett_fastcgi, &ett_fastcgi_record, &ett_fastcgi_header, &ett_fastcgi_body, &ett_fastcgi_flags,
        &ett_fastcgi_param, &ett_fastcgi_response, &ett_fastcgi_request, &ett_fastcgi_anomaly, &ett_fastcgi_whole, &ett_fastcgi_whole_part,
    };

    proto_fastcgi = proto_register_protocol("FastCGI (fcgiscope)", "FastCGI", "fastcgi");
    proto_register_field_array(proto_fastcgi, hf, array_length(hf));
    proto_register_subtree_array(ett, array_length(ett));
    register_expert_infos();

    fastcgi_handle = register_dissector("fastcgi", dissect_fastcgi, proto_fastcgi);

    register_prefs();

    fastcgi_tap = register_tap(FASTCGI_TAP_NAME);
    fastcgi_eo_tap = register_export_object(proto_fastcgi, fastcgi_eo_packet, NULL);
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
    post_handle = create_dissector_handle(dissect_fastcgi_post, proto_fastcgi);
    register_postdissector(post_handle);
    hf_tcp_len = proto_registrar_get_id_byname("tcp.len");
    post_want(FALSE);
    media_type_table = find_dissector_table("media_type");
    fastcgi_register_stats(proto_fastcgi);
}
