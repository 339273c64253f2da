/* rec.h — request and anomaly records: what fcgiscope keeps of a FastCGI request after the decoder delivered it.
 *
 * The fields of a request object: analyzer/README.md "Output formats";
 * fsd.h (fsd_transaction, fsd_anomaly_event) gives the values copied here:
 * a transaction's pointers live only during the decoder's callback.
 */
#ifndef FCGISCOPE_REC_H
#define FCGISCOPE_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsd/fsd.h"

#define REC_ADDR_MAX 64
#define REC_DETAIL_MAX 256
#define REC_ANOM_WORDS ((FSD_A_COUNT + 63) / 64)

/* A byte string copied from the traffic (may hold any bytes, not
 * NUL-terminated in meaning; p is NULL when absent). */
typedef struct rstr {
    char *p;
    size_t len;
} rstr;

/* Keys that tell whether two requests are attempts of one user request
 * (attempt.h). Hashes of param values: 0 when absent. */
typedef struct rec_attempt {
    uint64_t tag;                    /* HTTP_X_REQUEST_ID, else HTTP_TRACEPARENT */
    uint64_t client;                 /* REMOTE_ADDR + REMOTE_PORT + REQUEST_URI (all present) */
    uint64_t target;                 /* SCRIPT_FILENAME, else SCRIPT_NAME */
    int64_t done_ns;                 /* END_REQUEST, else the close, else the last byte seen */
} rec_attempt;

typedef struct req_rec {
    uint64_t conn_id;                /* flow id (1, 2, ...) */
    char client[REC_ADDR_MAX];       /* "ip:port" */
    char server[REC_ADDR_MAX];
    uint64_t seq;                    /* per connection, BEGIN order */
    uint16_t request_id;
    uint16_t role;
    bool keep_conn;
    bool aborted;
    rstr method, uri, script, host, content_type;
    int status;                      /* HTTP status, 0: none */
    bool has_end;
    uint32_t app_status;
    uint8_t protocol_status;
    bool has_begin;                  /* t_begin known */
    int64_t t_begin_ns;
    uint64_t frame;                  /* t_begin.tag */
    bool has_latency, has_ttfb, has_server;
    int64_t latency_ns, ttfb_ns, server_ns;
    uint64_t params_bytes, stdin_bytes, stdout_bytes, stderr_bytes, data_bytes;
    int64_t content_length;          /* -1 absent/empty, -2 invalid */
    bool complete;
    fsd_end_reason end_reason;
    uint64_t anomalies[REC_ANOM_WORDS]; /* bit per fsd_anomaly_id */
    fsd_severity worst;              /* 0: no anomaly */
    uint64_t anomalies_warn[REC_ANOM_WORDS]; /* ids with an event of warning or error */
    uint64_t anomalies_err[REC_ANOM_WORDS];  /* ids with an event of error */
    /* (0.2.0) what the web server's client got, copied from fsd_transaction */
    fsd_status_source status_source;
    int user_status;                 /* 0: the wire cannot tell (JSON null) */
    fsd_user_outcome user_outcome;
    uint64_t cgi_header_bytes;
    bool has_elapsed;                /* complete: == latency; else BEGIN to close/last byte/end */
    int64_t elapsed_ns;
    bool has_close;                  /* a FIN/RST while the request was outstanding */
    int8_t closed_by;                /* fsd_dir of its sender, -1: none */
    bool closed_by_reset;
    bool has_abandoned;              /* the web server closed its side while outstanding */
    int64_t abandoned_ns;            /* BEGIN to that close */
    bool gap;                        /* bytes of its records were missing from the capture */
    /* the connection's first request, its SYN captured (else has_connect false): */
    bool has_connect;
    int64_t connect_ns;              /* first SYN -> SYN-ACK */
    uint32_t syn_retransmits;        /* SYNs retransmitted before the SYN-ACK */
    /* --unix: when the app end took the request (unixcap.h, fcs_unix_pickup) */
    bool has_queue;                  /* its read seen */
    int64_t queue_ns;                /* BEGIN written -> the app end's read returned */
    bool has_run;                    /* has_queue and has_latency */
    int64_t run_ns;                  /* that read -> END_REQUEST (latency - queue) */
    size_t nparams;                  /* --param values, in the order of the options */
    rstr *params;                    /* p NULL: the param was absent */
    bool strings_inline;             /* strings and params in the caller's block */
    rec_attempt att;
    uint32_t attempt;                /* 1, 2, ...: which try of its user request */
    bool retried;                    /* another attempt of the same user request followed */
} req_rec;

typedef struct anom_rec {
    fsd_anomaly_id id;
    fsd_severity severity;
    uint64_t frame;                  /* 0: unknown */
    int64_t ts_ns;
    bool has_ts;
    uint64_t conn_id;                /* 0: not tied to a connection */
    char client[REC_ADDR_MAX];
    char server[REC_ADDR_MAX];
    bool has_dir;
    fsd_dir dir;
    int32_t request_id;              /* -1: none */
    char detail[REC_DETAIL_MAX];     /* NUL-terminated; may hold traffic bytes */
} anom_rec;

/* Fill r from a transaction. param_names: the --param names. Returns false
 * when memory ran out (r is then freed and zeroed). */
bool fcs_req_from_tx(req_rec *r, const fsd_transaction *tx, const char *const *param_names,
                     size_t nparam_names);
/* The same with every string and the params in one caller-provided block of
 * fcs_req_tx_size() bytes (aligned like malloc's): one allocation per request.
 * Cannot fail. fcs_req_free() then leaves the block to the caller; copies made
 * with fcs_req_copy() are ordinary. */
size_t fcs_req_tx_size(const fsd_transaction *tx, const char *const *param_names,
                       size_t nparam_names);
void fcs_req_from_tx_inline(req_rec *r, const fsd_transaction *tx, const char *const *param_names,
                            size_t nparam_names, void *block);
/* A request delivered incomplete: elapsed runs to end_ns (the capture's end,
 * or the time the decoder gave it up) when nothing later is known: always
 * for end == capture_end without a close, else only when the decoder gave
 * neither t_close nor t_last. No effect on complete requests. */
void fcs_req_set_end_time(req_rec *r, int64_t end_ns);
/* Deep copy. */
bool fcs_req_copy(req_rec *dst, const req_rec *src);
void fcs_req_free(req_rec *r);

/* Did the request carry an event of warning or error with that id? */
static inline bool fcs_req_anomaly_warns(const req_rec *r, fsd_anomaly_id id)
{
    return (r->anomalies_warn[id / 64] >> (id % 64)) & 1u;
}

/* The worst severity of the request's events with that id (0: none). */
static inline fsd_severity fcs_req_anomaly_severity(const req_rec *r, fsd_anomaly_id id)
{
    if ((r->anomalies_err[id / 64] >> (id % 64)) & 1u)
        return FSD_SEV_ERROR;
    if ((r->anomalies_warn[id / 64] >> (id % 64)) & 1u)
        return FSD_SEV_WARNING;
    return (r->anomalies[id / 64] >> (id % 64)) & 1u ? FSD_SEV_NOTE : (fsd_severity)0;
}

static inline bool fcs_req_has_anomaly(const req_rec *r, fsd_anomaly_id id)
{
    return (r->anomalies[id / 64] >> (id % 64)) & 1u;
}

/* Ids of the request's anomalies sorted by name; returns how many (<= max). */
size_t fcs_req_anomaly_ids(const req_rec *r, fsd_anomaly_id *out, size_t max);

#endif
