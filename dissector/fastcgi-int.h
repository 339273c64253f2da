/* fastcgi-int.h — declarations shared by the fastcgi plugin's source files.
 *
 * Normative reference: FastCGI Specification 1.0 (via the decoder, fsd.h);
 * Wireshark doc/README.tapping for the tap record below.
 */
#ifndef FASTCGI_INT_H
#define FASTCGI_INT_H

#include <epan/packet.h>
#include <stdbool.h>
#include <stdint.h>

void proto_register_fastcgi(void);
void proto_reg_handoff_fastcgi(void);

/* Registered in fastcgi-stats.c, called from proto_register_fastcgi(). */
void fastcgi_register_stats(int proto);

/* One request that ended, as queued on the "fastcgi" tap (one tap record per
 * ended request; requests that end at the close of a connection or of the
 * capture are queued on the connection's last FastCGI frame). */
typedef struct fastcgi_tap_req {
    uint16_t request_id;
    bool complete;               /* END_REQUEST seen */
    bool has_begin;              /* t_begin known: begin_ts valid */
    nstime_t begin_ts;           /* capture time of the BEGIN_REQUEST's first byte */
    guint32 begin_frame;
    bool has_latency;            /* END_REQUEST seen: latency valid */
    nstime_t latency;            /* t_end - t_begin, from the decoder */
    int status;                  /* HTTP status from the CGI header, 0 when none */
    const char *method;          /* may be NULL */
    const char *script;          /* may be NULL */
    const char *end_reason;      /* fsd_end_reason_name() */
    const uint16_t *anomalies;   /* ids (fsd_anomaly_id) attached to the request */
    unsigned nanomalies;
} fastcgi_tap_req;

/* The tap record of each FastCGI record (and of each pseudo record: the
 * results of a segment's skipped bytes, a connection's end). */
typedef struct fastcgi_tap_info {
    int record_type;             /* -1: connection end */
    const fastcgi_tap_req *ended; /* requests that ended with this record */
    unsigned nended;
    const uint16_t *anomalies;   /* every anomaly raised on this record */
    unsigned nanomalies;
} fastcgi_tap_info;

/* What the plugin queues on the "fastcgi" tap: one entry per frame, holding
 * the tap records of every record (and pseudo record) dissected in it.
 * Wireshark 4.0 keeps at most 5000 queued tap entries per frame for all
 * taps together; a segment of 8-byte records holds more than that. */
typedef struct fastcgi_tap_frame {
    wmem_array_t *recs;          /* const fastcgi_tap_info * */
} fastcgi_tap_frame;

#define FASTCGI_TAP_NAME "fastcgi"

#endif /* FASTCGI_INT_H */
