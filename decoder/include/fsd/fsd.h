/* fsd.h — the fcgiscope decoder: FastCGI byte streams -> records, requests, anomalies.
 *
 * Normative reference: FastCGI Specification 1.0 (Open Market, 1996), §3-§6;
 * docs/PROTOCOL.md (the protocol as real peers frame it), docs/ANOMALIES.md
 * (each anomaly) and docs/DECODER.md (memory figures, API history).
 *
 * This header is the whole contract between the decoder and its front ends
 * (the Wireshark plugin in dissector/ and the analyzer in analyzer/). Nothing
 * outside decoder/ interprets a FastCGI byte: front ends ask this API.
 *
 * Properties:
 *  - Plain C11. No I/O, no clock, no global state, no allocation per record.
 *    Memory is taken per connection and per request through fsd_allocator
 *    (fsd_conn_stats.memory_bytes; what it is made of: docs/DECODER.md). A
 *    request's memory is freed when it is delivered. Hunting after a gap
 *    holds up to FSD_MAX_RECORD_LEN + 8 bytes while it lasts.
 *  - Push parser per connection and direction: fsd_conn_feed() accepts any
 *    chunking; the events delivered are identical however the bytes are cut
 *    (spans of stream data may be split differently; their concatenation is
 *    the same).
 *  - Protocol violations are anomalies (events with an id, severity and stream
 *    position); they never stop the decoder. Negative return codes are only
 *    for misuse of the API.
 *  - Time is passed in: every input call carries the capture timestamp (ns)
 *    and an opaque tag (e.g. the frame number) of the packet the bytes came
 *    in; events report the ts/tag of the packet that carried the relevant byte.
 *  - Callbacks run synchronously inside the input calls; they must not call
 *    back into the same fsd_conn. Pointers in events are valid only during
 *    the callback.
 *
 * Order of events for one record: anomalies found at its header, then
 * on_param / on_data / on_response as its content passes, then anomalies
 * found at its end, then on_record (after the last padding byte), then any
 * transaction the record completed (on_transaction).
 *
 * Layers (decoder/src): wire.c framing, nv.c name-value pairs, cgi.c the CGI
 * header block, params.c a request's stored parameters, request.c requests
 * and checks, conn.c push parser and resync, anomaly.c the catalogue and
 * firing, mem.c memory.
 * docs/ANOMALIES.md says exactly when each anomaly fires.
 *
 * Record layout (§3.3):
 *
 *   0        1        2        3        4        5        6        7
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  |version |  type  | requestId (BE16)| contentLength(BE16)| padLen |reserved|
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  | contentData[contentLength] ...  | paddingData[paddingLength] ...      |
 */
#ifndef FSD_FSD_H
#define FSD_FSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FSD_VERSION_STRING "0.2.0"

/* ======================================================================
 * Constants
 * ==================================================================== */

enum {
    FSD_HEADER_LEN = 8,
    FSD_MAX_CONTENT_LEN = 65535,
    FSD_MAX_PADDING_LEN = 255,
    FSD_MAX_RECORD_LEN = 8 + 65535 + 255
};

typedef enum fsd_record_type {
    FSD_BEGIN_REQUEST = 1,
    FSD_ABORT_REQUEST = 2,
    FSD_END_REQUEST = 3,
    FSD_PARAMS = 4,
    FSD_STDIN = 5,
    FSD_STDOUT = 6,
    FSD_STDERR = 7,
    FSD_DATA = 8,
    FSD_GET_VALUES = 9,
    FSD_GET_VALUES_RESULT = 10,
    FSD_UNKNOWN_TYPE = 11
} fsd_record_type;

#define FSD_MAX_KNOWN_TYPE 11

typedef enum fsd_role { FSD_RESPONDER = 1, FSD_AUTHORIZER = 2, FSD_FILTER = 3 } fsd_role;

#define FSD_FLAG_KEEP_CONN 0x01

typedef enum fsd_protocol_status {
    FSD_REQUEST_COMPLETE = 0,
    FSD_CANT_MPX_CONN = 1,
    FSD_OVERLOADED = 2,
    FSD_UNKNOWN_ROLE = 3
} fsd_protocol_status;

/* Direction of a byte stream. CLIENT is the web server (nginx, HAProxy, ...)
 * talking to the application; SERVER is the application (php-fpm, ...)
 * answering. UNKNOWN: no direction (fsd_looks_like_fastcgi: either side;
 * fsd_transaction.closed_by: no close); never a stream's. */
typedef enum fsd_dir { FSD_DIR_CLIENT = 0, FSD_DIR_SERVER = 1, FSD_DIR_UNKNOWN = 2 } fsd_dir;

/* Where a byte was: packet timestamp and tag. set==false: never happened. */
typedef struct fsd_timepoint {
    int64_t ns;
    uint64_t tag;
    bool set;
} fsd_timepoint;

/* Names for display. Never NULL: unknown values give "UNKNOWN". */
const char *fsd_type_name(unsigned type);            /* "BEGIN_REQUEST", ... */
const char *fsd_role_name(unsigned role);            /* "RESPONDER", ... */
const char *fsd_protocol_status_name(unsigned st);   /* "REQUEST_COMPLETE", ... */
const char *fsd_dir_name(fsd_dir dir);               /* "client", "server" ("UNKNOWN") */

/* ======================================================================
 * Anomalies (generated from anomalies.def: one table for every front end)
 * ==================================================================== */

typedef enum fsd_severity {
    FSD_SEV_NOTE = 1,
    FSD_SEV_WARNING = 2,
    FSD_SEV_ERROR = 3
} fsd_severity;

typedef enum fsd_anomaly_id {
#define FSD_ANOMALY(id, sev, maxsev, summary) FSD_A_##id,
#include "anomalies.def"
#undef FSD_ANOMALY
    FSD_A_COUNT
} fsd_anomaly_id;

const char *fsd_anomaly_name(fsd_anomaly_id id);         /* "bad_version"; NULL if out of range */
fsd_severity fsd_anomaly_severity(fsd_anomaly_id id);    /* catalogue severity */
fsd_severity fsd_anomaly_max_severity(fsd_anomaly_id id);
const char *fsd_anomaly_summary(fsd_anomaly_id id);      /* one line */
const char *fsd_severity_name(fsd_severity sev);         /* "note", "warning", "error" */
/* Look an id up by name; returns FSD_A_COUNT when unknown. */
fsd_anomaly_id fsd_anomaly_from_name(const char *name);

#define FSD_DETAIL_MAX 96

typedef struct fsd_anomaly_event {
    fsd_anomaly_id id;
    fsd_severity severity;   /* this occurrence: up to the catalogue's max_severity, and lower
                                than its severity where the evidence says so (e.g.
                                oversized_record from the server one byte over,
                                incomplete_request at the capture's end: notes) */
    fsd_dir dir;             /* direction in which it was detected */
    uint64_t offset;         /* byte offset in that direction's stream */
    fsd_timepoint at;        /* packet that carried the byte at offset (always set) */
    int32_t request_id;      /* -1: connection-level (no request id involved: management
                                records, unknown types, framing, resync); otherwise the
                                record's id, also when no tracked request owns it */
    bool in_transaction;     /* also stored in the transaction of that request (false for
                                connection-level events and beyond max_request_anomalies) */
    char detail[FSD_DETAIL_MAX]; /* NUL-terminated, e.g. "version 2", "SCRIPT_FILENAME" */
} fsd_anomaly_event;

/* ======================================================================
 * Wire layer: stateless helpers over complete buffers (front ends use these
 * to draw trees; they never read FastCGI bytes themselves).
 * ==================================================================== */

typedef struct fsd_header {
    uint8_t version;
    uint8_t type;
    uint16_t request_id;
    uint16_t content_length;
    uint8_t padding_length;
    uint8_t reserved;
} fsd_header;

/* Unpack 8 bytes. */
void fsd_header_unpack(fsd_header *h, const uint8_t b[FSD_HEADER_LEN]);
/* The record's whole length: 8 + contentLength + paddingLength. */
uint32_t fsd_header_record_len(const fsd_header *h);
/* The resynchronisation predicate: version 1, type 1..11, the request id
 * class matching the type (0 for management records, non-zero otherwise) and
 * a content length the type allows (8 for BEGIN/END/UNKNOWN_TYPE, 0 for
 * ABORT). Used to recognise FastCGI on an unknown port and to resync. */
bool fsd_header_plausible(const fsd_header *h);

/* Does the start of a connection look like FastCGI? Checks the plausible
 * records in buf[0..len) back to back (at least one complete header; stops at
 * the end of buf). Returns 1 yes, 0 no, -1 not enough bytes to say (fewer
 * than 8 bytes and none of them rules FastCGI out).
 * dir is the direction the bytes travel in: FSD_DIR_CLIENT / FSD_DIR_SERVER
 * also require every record type to be one that side sends; FSD_DIR_UNKNOWN
 * (or any other value) does not. Used by the analyzer's and the plugin's heuristics to
 * recognise FastCGI on any port from the first bytes of a connection. */
int fsd_looks_like_fastcgi(const uint8_t *buf, size_t len, fsd_dir dir);

/* The decoder's resynchronisation rule over one buffer:
 * the first offset p where a plausible header starts whose record is
 * followed by another plausible header inside buf, or, when at_end (no more
 * bytes follow buf: a gap, FIN, end of capture), whose record ends exactly at
 * len. Returns p, or -1 when no offset is confirmed; then *undecided (if not
 * NULL) gets the first offset that more bytes could still confirm (len when
 * every offset was rejected). Front ends that frame records themselves (the
 * Wireshark plugin) use it to resync exactly where the decoder does. */
ptrdiff_t fsd_find_resync(const uint8_t *buf, size_t len, bool at_end, size_t *undecided);

/* Recognising FastCGI on any port: ONE rule for every front end (the
 * analyzer's flow classification and the plugin's heuristic both call it). buf: bytes one direction of a TCP connection sent, in order.
 *  - FSD_RECOGNISE_FROM_START: buf starts at that direction's first byte (the
 *    SYN was captured): fsd_looks_like_fastcgi() from offset 0, tried as the
 *    client's bytes, then as the server's.
 *  - otherwise (the capture started inside the connection): the decoder's
 *    resynchronisation rule, fsd_find_resync(), at the first confirmed offset
 *    whose records are ones the same side sends (a PARAMS followed by a
 *    STDOUT header is not taken). The first record boundary of a FastCGI
 *    stream lies within FSD_MAX_RECORD_LEN bytes of any byte, so when no
 *    offset up to that one can be confirmed any more the answer is no: at
 *    most FSD_RECOGNISE_WINDOW bytes are ever needed.
 *  - FSD_RECOGNISE_AT_END: no bytes follow buf (FIN, gap, end of capture).
 * Returns 1 yes (*sender: FSD_DIR_CLIENT when buf is what the web server
 * sent, FSD_DIR_SERVER when the application sent it; *at: the offset of the
 * first record, 0 from the start), 0 no, -1 more bytes could tell. sender and
 * at may be NULL. Random bytes pass the midstream rule at about 3e-9 per
 * offset (two plausible headers of one sender: (3/65536)^2 + (2/65536)^2),
 * and only the first FSD_MAX_RECORD_LEN offsets count, so about 2e-4 per
 * direction of a random stream; text (HTTP) never does (0x01 is not a text
 * byte). */
#define FSD_RECOGNISE_FROM_START 0x01u
#define FSD_RECOGNISE_AT_END     0x02u
#define FSD_RECOGNISE_WINDOW     (2u * FSD_MAX_RECORD_LEN + FSD_HEADER_LEN)
int fsd_recognise(const uint8_t *buf, size_t len, unsigned flags, fsd_dir *sender, size_t *at);

typedef struct fsd_begin_body {
    uint16_t role;
    uint8_t flags;
    uint8_t reserved[5];
} fsd_begin_body;

typedef struct fsd_end_body {
    uint32_t app_status;
    uint8_t protocol_status;
    uint8_t reserved[3];
} fsd_end_body;

typedef struct fsd_unknown_type_body {
    uint8_t type;
    uint8_t reserved[7];
} fsd_unknown_type_body;

/* Unpack an 8-byte body; false (and *out zeroed) when len < 8. */
bool fsd_begin_body_unpack(fsd_begin_body *out, const uint8_t *b, size_t len);
bool fsd_end_body_unpack(fsd_end_body *out, const uint8_t *b, size_t len);
bool fsd_unknown_type_body_unpack(fsd_unknown_type_body *out, const uint8_t *b, size_t len);

/* One name-value pair inside a complete buffer (§3.4). Offsets are relative
 * to the buffer. */
typedef struct fsd_nv {
    size_t offset;        /* first length byte */
    size_t total_len;     /* length bytes + name + value */
    size_t name_offset;
    size_t value_offset;
    uint32_t name_len;
    uint32_t value_len;
    uint8_t name_len_bytes;  /* 1 or 4: how the name length is written (4 also below 128) */
} fsd_nv;

/* Iterate pairs in buf[*pos .. len). Returns 1 and advances *pos when a
 * complete pair was found, 0 at the end of buf, -1 when a length runs past
 * the end (out->offset and what could be read are filled). */
int fsd_nv_next(const uint8_t *buf, size_t len, size_t *pos, fsd_nv *out);

/* ======================================================================
 * Events of the connection decoder
 * ==================================================================== */

typedef struct fsd_span {
    const uint8_t *ptr;   /* NULL when absent */
    size_t len;
} fsd_span;

/* Delivered once per record, after its last byte (padding included) was
 * consumed, or when the connection ends (or a gap cuts) inside it
 * (truncated == true). Records are framed by their lengths even when the
 * header is odd (bad_version, unknown_type, oversized_record); a header with
 * version != 1 and an unknown type is not a record (desync, no event). */
typedef struct fsd_record_event {
    fsd_dir dir;
    fsd_header hdr;
    uint64_t offset;          /* stream offset of the header's first byte */
    fsd_timepoint first;      /* packet with the first header byte */
    fsd_timepoint last;       /* packet with the last byte */
    bool truncated;
    bool is_eos;              /* empty record of a stream type: end of stream */
    /* Decoded discrete bodies; valid only when body_valid and for the type:
     * BEGIN_REQUEST, END_REQUEST, UNKNOWN_TYPE with contentLength >= 8 (the
     * first 8 bytes; != 8 also fires bad_body_length). */
    bool body_valid;
    union {
        fsd_begin_body begin;
        fsd_end_body end;
        fsd_unknown_type_body unknown_type;
    } body;
    /* For application records: did the record belong to a tracked request?
     * (BEGIN_REQUEST: did it start one. Records sent by the wrong side, for
     * unknown ids or after the request ended are not applied: false.) */
    bool request_active;
} fsd_record_event;

/* One complete name-value pair from PARAMS, GET_VALUES or GET_VALUES_RESULT,
 * delivered where it completes (a pair straddling two records is delivered
 * whole, after the second). The spans point into decoder or caller memory valid only
 * during the callback; they are never NULL (an empty name/value has len 0).
 * PARAMS pairs are delivered for tracked requests only. */
typedef struct fsd_param_event {
    fsd_dir dir;
    uint8_t record_type;
    uint16_t request_id;
    fsd_span name;            /* may be shorter than name_len when capped */
    fsd_span value;           /* may be shorter than value_len when capped */
    uint32_t name_len;        /* declared lengths */
    uint32_t value_len;
    bool truncated;           /* a span was cut to a cap */
    bool straddled;           /* spanned a record boundary */
    uint64_t offset;          /* stream offset of the first length byte */
    uint64_t end_offset;      /* stream offset just past the value */
} fsd_param_event;

/* Content bytes of STDIN, STDOUT, STDERR or DATA, handed out as spans of the
 * caller's input (zero copy; after a resync, of the decoder's resync window).
 * Delivered for every such record, tracked or not, when on_data is set.
 * Bytes lost in a gap are not delivered (offsets jump; capture_gap fired). */
typedef struct fsd_data_event {
    fsd_dir dir;
    uint8_t record_type;
    uint16_t request_id;
    fsd_span data;
    uint64_t offset;          /* stream offset of data.ptr[0] */
    uint64_t stream_pos;      /* position of data.ptr[0] within this request's stream
                                 (untracked records: within the record's content) */
} fsd_data_event;

typedef struct fsd_cgi_header {
    fsd_span name;
    fsd_span value;
} fsd_cgi_header;

/* The CGI response header block at the start of STDOUT, once its blank line
 * was seen (complete; status from Status:, else 302 with a Location:, else 200; 0 when Status:
 * does not start with 3 digits), or the block hit max_cgi_header_bytes
 * (cgi_header_cap_exceeded), or STDOUT ended (empty STDOUT or END_REQUEST)
 * without it (response_no_header); those two have complete == false and
 * status 0. CRLF and LF line ends are accepted. At most once per request;
 * not delivered when STDOUT carried no bytes. */
typedef struct fsd_response_event {
    uint16_t request_id;
    int status;               /* Status:, else 302 with Location:, else 200; 0 if not parsed
                                 (== the transaction's http_status) */
    fsd_span status_line;     /* the Status: value, e.g. "404 Not Found" */
    fsd_span content_type;
    const fsd_cgi_header *headers;
    size_t nheaders;
    uint64_t header_len;      /* bytes of STDOUT taken by the block incl. blank line */
    bool complete;            /* the blank line was seen */
    fsd_timepoint at;         /* packet with the blank line's last byte */
} fsd_response_event;

typedef struct fsd_param {
    fsd_span name;
    fsd_span value;
    uint32_t name_len;        /* declared lengths (spans shorter when capped) */
    uint32_t value_len;
} fsd_param;

typedef enum fsd_end_reason {
    FSD_END_COMPLETE = 0,     /* END_REQUEST seen */
    FSD_END_CLOSED,           /* connection closed (FIN) without END_REQUEST */
    FSD_END_RESET,            /* connection reset (RST) */
    FSD_END_CAPTURE,          /* fsd_conn_finish(): capture ended */
    FSD_END_DESYNC,           /* the server direction desynchronised */
    FSD_END_GAP               /* cut by bytes missing from the capture: the rest of this
                                 request (its END_REQUEST) was lost, e.g. its id began again */
} fsd_end_reason;
const char *fsd_end_reason_name(fsd_end_reason r); /* "complete", ..., "gap" */

/* Where http_status came from, as a web server derives the status
 * from the CGI header block (RFC 3875 §6.2.3 / §6.3.3; nginx, Apache). */
typedef enum fsd_status_source {
    FSD_STATUS_NONE = 0,      /* no complete header block, or a bad Status: (http_status 0) */
    FSD_STATUS_HEADER,        /* the Status: header */
    FSD_STATUS_LOCATION,      /* no Status:, a Location: header: 302 */
    FSD_STATUS_DEFAULT        /* neither: 200 */
} fsd_status_source;
const char *fsd_status_source_name(fsd_status_source s); /* "none", "header", "location", "default" */

/* What the web server's own client got, as far as this connection
 * shows (user_status in fsd_transaction). */
typedef enum fsd_user_outcome {
    FSD_USER_AS_ANSWERED = 0, /* the application's answer was passed on: user_status = http_status */
    FSD_USER_UNKNOWN,         /* the wire cannot tell (user_status 0): e.g. capture ended first */
    FSD_USER_REJECTED_HEADER, /* the web server reset/closed right after a response header block
                                 larger than its buffer (limits.web_server_header_bytes):
                                 response_rejected, likely 502 "upstream sent too big header" */
    FSD_USER_GAVE_UP_TIMEOUT, /* the web server closed/reset while the request was outstanding,
                                 having waited >= limits.upstream_timeout_ms since the last byte
                                 it got: request_abandoned, its timeout: 504 */
    FSD_USER_CLIENT_GONE,     /* the same, sooner than that: its own client went away: 499 */
    FSD_USER_BACKEND_FAILED   /* the application closed/reset without END_REQUEST before a complete
                                 header block (after one, its status was passed on: as_answered,
                                 with a truncated body), or ended without a usable header block:
                                 the web server answers 502 */
} fsd_user_outcome;
const char *fsd_user_outcome_name(fsd_user_outcome o);
/* "as_answered", "unknown", "rejected_header", "gave_up_timeout", "client_gone", "backend_failed" */

/* One request, delivered once when it ends. All pointers are valid only
 * during the callback.
 *
 * When: after END_REQUEST once the client streams its role needs (PARAMS;
 * STDIN for RESPONDER/FILTER; DATA for FILTER) have ended or it was aborted.
 * If END_REQUEST comes first (php-fpm may answer before the client's empty
 * STDIN is captured) the request lingers: its id is free again and it no
 * longer counts as active for `multiplexed`; it is delivered when its client
 * streams end, when the same id gets a new BEGIN_REQUEST (then with
 * stream_not_terminated), when the request table needs room, or when the
 * connection ends. A request whose response header block passed
 * limits.web_server_header_bytes is held after END_REQUEST until the next
 * thing on the connection (a web server byte, another server record, a gap, a
 * close, the end of capture), which tells whether the web server rejected it
 * (response_rejected). Requests without END_REQUEST are delivered when both
 * directions ended (fsd_conn_close) or at fsd_conn_finish, with
 * incomplete_request (a note at fsd_conn_finish, for FSD_END_GAP and when
 * gap is set), or when a gap lost their END_REQUEST and their id begins
 * again (FSD_END_GAP). */
typedef struct fsd_transaction {
    uint64_t seq;             /* 0, 1, 2, ... per connection, in BEGIN order */
    uint16_t request_id;
    uint16_t role;
    uint8_t flags;            /* BEGIN_REQUEST's (FSD_FLAG_KEEP_CONN) */
    bool aborted;             /* ABORT_REQUEST was seen */

    const fsd_param *params;  /* every param, in wire order */
    size_t nparams;
    size_t params_dropped;    /* pairs counted but not stored (cap) */

    /* Convenience lookups (last stored occurrence, as php-fpm reads them;
     * absent: ptr NULL). */
    fsd_span method;          /* REQUEST_METHOD */
    fsd_span uri;             /* REQUEST_URI */
    fsd_span script;          /* SCRIPT_NAME, else SCRIPT_FILENAME */
    fsd_span host;            /* HTTP_HOST, else SERVER_NAME */
    fsd_span content_length;  /* CONTENT_LENGTH raw */
    int64_t content_length_value; /* -1 absent or empty, -2 invalid */

    uint64_t params_bytes;    /* PARAMS stream content bytes */
    uint64_t stdin_bytes;
    uint64_t data_bytes;
    uint64_t stdout_bytes;    /* whole STDOUT stream incl. CGI header block */
    uint64_t stderr_bytes;

    int http_status;          /* 0: no complete response header block, or a bad Status:;
                                 else the Status: code, else 302 with a Location:, else 200
                                 (status_source says which) */
    fsd_span content_type;

    bool has_end;             /* END_REQUEST seen */
    uint32_t app_status;
    uint8_t protocol_status;

    fsd_timepoint t_begin;           /* first byte of BEGIN_REQUEST */
    fsd_timepoint t_request_sent;    /* last byte of the empty record ending the last client
                                        stream the role needs (STDIN; PARAMS for AUTHORIZER;
                                        DATA for FILTER) */
    fsd_timepoint t_first_response;  /* first byte of the first STDOUT/STDERR record */
    fsd_timepoint t_end;             /* last byte of END_REQUEST */

    fsd_end_reason end_reason; /* FSD_END_COMPLETE exactly when has_end; else why it ended
                                  without END_REQUEST */

    const fsd_anomaly_event *anomalies;
    size_t nanomalies;
    size_t anomalies_dropped; /* beyond the per-request cap (still delivered as events) */

    /* ---- each request as the web server's client lived it ---- */
    fsd_status_source status_source; /* where http_status came from */
    uint64_t cgi_header_bytes;       /* size of the response header block (blank line included),
                                        or the bytes seen of it when it never completed */
    int user_status;                 /* the status the web server's client got as far as this
                                        connection shows: http_status when the answer was passed
                                        on, 502 / 504 / 499 per user_outcome; 0 when the wire
                                        cannot tell */
    fsd_user_outcome user_outcome;
    fsd_timepoint t_last;            /* last byte of this request seen, either direction (for
                                        the elapsed time of an incomplete request) */
    fsd_timepoint t_close;           /* the first FIN/RST on the connection while the request was
                                        outstanding (not yet END_REQUEST); unset if none */
    fsd_dir closed_by;               /* that FIN/RST's sender, FSD_DIR_UNKNOWN when none */
    bool closed_by_reset;            /* that close was a RST */
    fsd_timepoint t_abandoned;       /* the client (web server) closed or reset its side while the
                                        request was outstanding: request_abandoned; unset if not */
    bool gap;                        /* bytes of this request's records were missing from the
                                        capture (capture_gap touched it): counts and times may be
                                        short, and anomalies a gap could cause are not raised */
} fsd_transaction;

typedef struct fsd_callbacks {
    void (*on_record)(void *ud, const fsd_record_event *ev);
    void (*on_param)(void *ud, const fsd_param_event *ev);
    void (*on_data)(void *ud, const fsd_data_event *ev);
    void (*on_response)(void *ud, const fsd_response_event *ev);
    void (*on_anomaly)(void *ud, const fsd_anomaly_event *ev);
    void (*on_transaction)(void *ud, const fsd_transaction *tx);
} fsd_callbacks;

/* ======================================================================
 * Configuration
 * ==================================================================== */

typedef struct fsd_allocator {
    void *(*alloc)(void *ud, size_t size);   /* NULL on failure */
    void (*free)(void *ud, void *ptr, size_t size);
    void *ud;
} fsd_allocator;

typedef struct fsd_limits {
    uint32_t max_params_bytes;      /* stored params per request, each counted as name + value
                                       + 16 bytes (default 262144); the pair that would exceed it
                                       and all later ones are counted in params_dropped */
    uint32_t max_pair_bytes;        /* name + value bytes buffered for one pair (default 65536);
                                       longer pairs are delivered truncated */
    uint32_t max_cgi_header_bytes;  /* CGI response header block (default 16384) */
    uint32_t max_active_requests;   /* tracked requests per connection, lingering ones
                                       included (default 1024) */
    uint32_t max_request_anomalies; /* stored per request (default 32) */
    /* what the web server in front is assumed to allow; used only to
     * tell what its client got (user_status), never to decode */
    uint32_t web_server_header_bytes; /* the largest CGI response header block the web server
                                         takes (default 4096: nginx's fastcgi_buffer_size, one
                                         page); bigger, then a reset/close: response_rejected */
    uint32_t upstream_timeout_ms;     /* the web server's read timeout (default 60000: nginx
                                         fastcgi_read_timeout, Apache ProxyTimeout); a request
                                         abandoned after waiting this long -> 504, sooner -> 499 */
} fsd_limits;

void fsd_limits_default(fsd_limits *l);

#define FSD_CONN_MIDSTREAM_CLIENT 0x01u  /* the capture missed the start of client->server */
#define FSD_CONN_MIDSTREAM_SERVER 0x02u  /* ... of server->client */

typedef struct fsd_conn_config {
    fsd_limits limits;                /* zero fields take the defaults */
    fsd_allocator alloc;              /* all NULL: malloc/free */
    const fsd_callbacks *cb;          /* may be NULL; any member may be NULL. Not copied: the
                                         table must stay valid as long as the connection */
    void *ud;                         /* passed to every callback */
    unsigned flags;                   /* FSD_CONN_* */
} fsd_conn_config;

/* ======================================================================
 * Connection decoder
 * ==================================================================== */

typedef struct fsd_conn fsd_conn;

/* Return codes (misuse only; protocol problems are anomalies). */
enum {
    FSD_OK = 0,
    FSD_E_INVAL = -1,       /* NULL argument or bad enum */
    FSD_E_FINISHED = -2,    /* input after fsd_conn_finish() or after close of that direction
                               (fsd_conn_close: a FIN twice, or anything once both ended; a RST
                               after the same side's FIN is accepted: still a reset) */
    /* -3: FSD_E_NOT_RECORD of the test-only fsd_testing.h */
    FSD_E_NOMEM = -4        /* the allocator failed; the event was still reported best-effort */
};

/* cfg may be NULL (defaults, no callbacks). With FSD_CONN_MIDSTREAM_* the
 * direction starts hunting (see fsd_conn_gap; a plausible header at offset 0
 * syncs at once) and fires midstream_start (a note) where it synchronised;
 * records of requests begun before the capture are then framed but not
 * applied and raise nothing: the missing start causes no warning or error. */
fsd_conn *fsd_conn_new(const fsd_conn_config *cfg);  /* NULL when allocation fails */
/* Release everything. Does not deliver pending requests: call
 * fsd_conn_finish() first if they matter. */
void fsd_conn_free(fsd_conn *c);

/* Push bytes of one direction, in stream order, as they were captured. */
int fsd_conn_feed(fsd_conn *c, fsd_dir dir, const uint8_t *data, size_t len,
                  int64_t ts_ns, uint64_t tag);

/* nbytes of this direction are missing from the capture (a lost segment).
 * A gap inside the content/padding of a stream, management or unknown-type
 * record keeps the framing (capture_gap at the gap; the missing content is
 * counted in the stream totals, not delivered). Otherwise the direction hunts:
 * it resynchronises where a plausible header is confirmed by the plausible
 * header after its record, or by its record ending exactly at the end of the
 * data (next gap, close, finish), and reports capture_gap there with the bytes
 * skipped. Hunting buffers at most FSD_MAX_RECORD_LEN + 8 bytes (allocated
 * while hunting only), plus the ts/tag of each input call those bytes came in
 * (consecutive calls with the same ts and tag share one entry).
 * capture_gap is the only anomaly a gap causes. The requests whose records
 * it may have touched get fsd_transaction.gap (a gap inside a record: that
 * record's request; a hunting gap of the client: requests whose client
 * streams were open; of the server: requests without END_REQUEST), and the
 * stream-state checks the lost records could explain are not raised for them
 * (docs/ANOMALIES.md capture_gap lists them; incomplete_request is a note).
 * A BEGIN_REQUEST reusing the id of such a request still waiting for
 * END_REQUEST ends it there (FSD_END_GAP) and starts the new one. After a
 * client gap, records of ids not begun since are not applied and not
 * reported; a server record captured before the BEGIN_REQUEST of the tracked
 * request with its id (an older request's, replayed by the resync) is not
 * applied to it. */
int fsd_conn_gap(fsd_conn *c, fsd_dir dir, uint64_t nbytes, int64_t ts_ns, uint64_t tag);

typedef enum fsd_close_kind {
    FSD_CLOSE_FIN = 0,   /* this direction ended normally */
    FSD_CLOSE_RST = 1    /* the connection was reset (ends both directions) */
} fsd_close_kind;

/* End of one direction (FIN) or of both (RST). dir is the side that sent
 * the FIN/RST; a RST after that side's own FIN still ends the other direction
 * (a reset: FSD_END_RESET). A record cut by it fires truncated_record. The
 * server closing (FIN or RST) before the client while the last request set
 * KEEP_CONN fires keep_conn_violation. The first close a request sees
 * while outstanding sets its t_close/closed_by; from the client it fires
 * request_abandoned, or response_rejected after a too-big header block
 * (docs/ANOMALIES.md). When both directions have ended, get_values_unanswered
 * fires for a GET_VALUES without answer and requests still tracked are
 * delivered (incomplete ones with FSD_END_CLOSED / FSD_END_RESET, or
 * FSD_END_DESYNC when the server direction had desynchronised). */
int fsd_conn_close(fsd_conn *c, fsd_dir dir, fsd_close_kind kind, int64_t ts_ns, uint64_t tag);

/* End of capture (not of the connection): every active request is delivered
 * as incomplete (FSD_END_CAPTURE, incomplete_request as a note; no
 * stream_not_terminated), requests that got END_REQUEST as complete. A record
 * in progress is delivered with truncated == true but fires nothing (not
 * truncated_record, which is for a FIN/RST inside a record). No input is
 * accepted afterwards. Idempotent. */
int fsd_conn_finish(fsd_conn *c, int64_t ts_ns, uint64_t tag);

typedef enum fsd_sync_state {
    FSD_SYNC_OK = 0,        /* decoding records */
    FSD_SYNC_HUNTING,       /* looking for a record header (midstream start or after a gap) */
    FSD_SYNC_DESYNCED,      /* gave up on this direction (desync) */
    FSD_SYNC_CLOSED         /* direction ended */
} fsd_sync_state;

typedef struct fsd_dir_stats {
    uint64_t bytes;            /* fed (the missing bytes of gaps are not counted) */
    uint64_t gap_bytes;        /* reported missing */
    uint64_t skipped_bytes;    /* fed but not decoded (hunting, desynced) */
    uint64_t records;
    uint64_t records_by_type[FSD_MAX_KNOWN_TYPE + 1]; /* [0] = unknown types */
    fsd_sync_state state;
} fsd_dir_stats;

typedef struct fsd_conn_stats {
    fsd_dir_stats dir[2];
    uint64_t transactions;        /* delivered so far */
    uint32_t active_requests;     /* now */
    uint32_t max_active_requests; /* high-water mark */
    uint64_t anomalies[FSD_A_COUNT];
    size_t memory_bytes;          /* held through the allocator now */
    /* Requests the decoder did not track:
     * BEGIN_REQUESTs refused because max_active_requests requests were tracked
     * (each also fired request_table_full) or memory ran out, the records of
     * those ids that came later (PARAMS, STDIN, END_REQUEST, ... until the id
     * begins again) and the content bytes those records declared
     * (contentLength; bytes lost in a gap included). Those records are framed,
     * counted by type and handed to on_record / on_data (request_active
     * false), but raise no anomaly each: front ends report "N requests not
     * tracked" from these. */
    uint64_t untracked_requests;
    uint64_t untracked_records;
    uint64_t untracked_bytes;
} fsd_conn_stats;

void fsd_conn_get_stats(const fsd_conn *c, fsd_conn_stats *out);

/* Stream offset that the next byte fed in dir will have (the offsets events
 * carry: bytes fed and declared missing so far in that direction). A front
 * end that keeps a record's bytes finds an event's bytes in it from this,
 * asked just before feeding the record. 0 for a NULL connection. */
uint64_t fsd_conn_next_offset(const fsd_conn *c, fsd_dir dir);

#ifdef __cplusplus
}
#endif

#endif /* FSD_FSD_H */
