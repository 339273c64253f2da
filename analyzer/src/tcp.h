/* tcp.h — flow table and per-direction TCP reassembly that feed FastCGI byte streams to the report layer.
 *
 * Normative reference: RFC 9293 (TCP: sequence space, SYN/FIN/RST), RFC 1982
 * (serial number arithmetic for 32-bit sequence numbers).
 *
 * fcs_tcp_packet() takes captured frames in capture order, decodes them
 * (link.h), finds the flow of the 4-tuple in a hash table and reassembles each
 * direction. It calls back, in capture order:
 *
 *   flow_open   once a flow is known to be FastCGI: which side is the client
 *               (the web server) and which the FastCGI server, and whether the
 *               capture missed the start of each direction (midstream bits,
 *               same values as FSD_CONN_MIDSTREAM_CLIENT/SERVER). Set
 *               flow->user here (e.g. to an fsd_conn).
 *   flow_data   in-order stream bytes of one direction. Zero copy when the
 *               segment arrived in order: the span points into the packet and
 *               is valid only during the call. ts_ns/frame: the packet that
 *               carried them.
 *   flow_gap    nbytes of that direction are missing from the capture (lost
 *               segment, snaplen cut, out-of-order cap). ts/frame: the packet at
 *               which the loss became certain.
 *   flow_close  one direction ended: FSD_CLOSE_FIN after all its data (delivered
 *               or gapped), FSD_CLOSE_RST for a reset (then flow_end follows).
 *   flow_end    the flow is over (reason below); flow->user must be released
 *               here. No more calls for this flow afterwards.
 *   anomaly     capture-level anomalies (capture_truncated, snaplen_truncated,
 *               tcp_ooo_cap, flow_table_full, ip_fragment, capture_drops); flow
 *               is NULL when not tied to one flow.
 *
 * Which side is the FastCGI server:
 *   1. a flow with a port in the configured server port list (either end; if
 *      both ends are, the SYN receiver, else the destination of the first
 *      packet seen) is FastCGI from its first packet;
 *   2. otherwise, when cfg.classify is set (normally fsd_looks_like_fastcgi),
 *      the first bytes of each direction (at most classify_max_bytes, at most
 *      16 segments) are held back and classified; when one direction looks
 *      like FastCGI, the flow opens and the held bytes are delivered with their
 *      own timestamps/frames. The side that sent the SYN is the client; without
 *      a SYN, classify(bytes, FSD_DIR_CLIENT) == 1 makes the sender the client,
 *      else classify(bytes, FSD_DIR_SERVER) == 1 makes it the server. A flow
 *      without a SYN in the capture (open before the capture started) is
 *      judged by cfg.recognise instead (fsd_recognise's midstream rule: the
 *      decoder's resync rule, over up to 128 KiB per direction, either
 *      direction's records deciding who is the client). Flows that
 *      are not FastCGI are marked ignored: their later packets cost one hash
 *      lookup.
 *
 * Reassembly, per direction: 32-bit sequence arithmetic with wraparound;
 * retransmitted bytes dropped; overlaps trimmed (the first copy wins);
 * out-of-order segments copied into a per-flow buffer (caps below) and
 * delivered when the hole fills; a hole becomes flow_gap when the other side
 * ACKs beyond it, when the direction ends (FIN/RST/flow end) or when a cap is
 * hit (tcp_ooo_cap). Without a SYN the first segment seen starts the stream
 * (midstream). Data after FIN is ignored. A SYN with a new ISN on a 4-tuple
 * whose flow is open or closed ends the old flow (FCS_FLOW_END_REUSED) and
 * starts a new one. Flows idle for idle_timeout_ns of capture time are ended
 * (FCS_FLOW_END_IDLE); closed flows linger closed_linger_ns (at most
 * closed_max of them, the oldest forgotten first) as tombstones of about 80
 * bytes (4-tuple and close time) to swallow late ACKs/retransmissions
 * without opening a new flow. Memory: one flow record per open connection
 * (about 320 bytes) plus the out-of-order buffers and, while a flow is
 * undecided, its held bytes (about 2 KiB), plus the bounded tombstones;
 * never per packet.
 */
#ifndef FCS_TCP_H
#define FCS_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsd/fsd.h"
#include "link.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fcs_endpoint {
    uint8_t family;          /* 4 or 6 */
    uint8_t addr[16];        /* network byte order; IPv4 in the first 4 bytes */
    uint16_t port;           /* host byte order */
} fcs_endpoint;

/* Format "ip:port" ("[v6]:port"); returns buf. buflen >= 56 is always enough. */
char *fcs_endpoint_format(const fcs_endpoint *ep, char *buf, size_t buflen);

typedef enum fcs_flow_end_reason {
    FCS_FLOW_END_CLOSED = 0,   /* both directions sent FIN */
    FCS_FLOW_END_RESET,        /* RST */
    FCS_FLOW_END_IDLE,         /* no packet for idle_timeout_ns of capture time */
    FCS_FLOW_END_REUSED,       /* a new SYN on the same 4-tuple */
    FCS_FLOW_END_CAPTURE       /* fcs_tcp_finish(): end of the capture */
} fcs_flow_end_reason;
const char *fcs_flow_end_reason_name(fcs_flow_end_reason r);

/* The public part of a flow. Read-only for the report layer except `user`. */
typedef struct fcs_flow {
    uint64_t id;               /* 1, 2, ... in order of flow_open */
    fcs_endpoint client;       /* the web server side (sends BEGIN_REQUEST) */
    fcs_endpoint server;       /* the FastCGI application side */
    unsigned midstream;        /* FSD_CONN_MIDSTREAM_CLIENT | ..._SERVER */
    bool by_port;              /* recognised by the port list (else by content) */
    uint64_t first_frame;      /* first packet of the flow */
    int64_t first_ts_ns;
    uint64_t bytes[2];         /* stream bytes delivered, per fsd_dir */
    uint64_t gap_bytes[2];     /* bytes reported missing, per fsd_dir */
    void *user;                /* for the report layer */
    /* The connection's opening, when its SYN was captured (any flow, FastCGI
     * or not; client/server above are set from the SYN's direction then): */
    uint32_t syns;             /* SYNs the client sent: 1 + retransmissions (0: none seen) */
    bool synack;               /* the server answered with SYN-ACK */
    bool client_sent;          /* the client sent a payload byte */
    bool server_port;          /* the server port is in the configured list */
    int64_t syn_ts_ns;         /* the first SYN */
    uint64_t syn_frame;
    int64_t last_syn_ts_ns;    /* the last SYN (== the first when syns == 1) */
    uint64_t last_syn_frame;
    int64_t synack_ts_ns;      /* the SYN-ACK (when synack) */
} fcs_flow;

/* What the TCP handshake and the first close say about the backend, for
 * flows whose client SYN was captured (any port: the report layer decides
 * whether the server port is a FastCGI one). */
typedef enum fcs_conn_event {
    FCS_CONN_REFUSED = 0,      /* the server answered the SYN with RST (no SYN-ACK) */
    FCS_CONN_UNANSWERED,       /* no SYN-ACK and the capture (or the flow's idle timeout)
                                  went on FCS_SYN_WAIT_NS after the last SYN */
    FCS_CONN_CLOSED_EARLY,     /* established, then the server sent FIN or RST before the
                                  client sent a byte */
    FCS_CONN_RETRIED           /* SYN-ACK after the SYN was retransmitted (syns > 1) */
} fcs_conn_event;
const char *fcs_conn_event_name(fcs_conn_event e);

/* A SYN unanswered for this long (capture time) is a refusal; a SYN closer
 * to the end of the capture is not judged. Linux retransmits a SYN after 1 s,
 * then 3 s after the first. */
#define FCS_SYN_WAIT_NS INT64_C(3000000000)

typedef struct fcs_tcp_callbacks {
    void (*flow_open)(void *ud, fcs_flow *f);
    void (*flow_data)(void *ud, fcs_flow *f, fsd_dir dir, const uint8_t *data, size_t len,
                      int64_t ts_ns, uint64_t frame);
    void (*flow_gap)(void *ud, fcs_flow *f, fsd_dir dir, uint64_t nbytes,
                     int64_t ts_ns, uint64_t frame);
    void (*flow_close)(void *ud, fcs_flow *f, fsd_dir dir, fsd_close_kind kind,
                       int64_t ts_ns, uint64_t frame);
    void (*flow_end)(void *ud, fcs_flow *f, fcs_flow_end_reason reason,
                     int64_t ts_ns, uint64_t frame);
    void (*anomaly)(void *ud, fsd_anomaly_id id, fcs_flow *f, uint64_t frame,
                    int64_t ts_ns, const char *detail);
    /* A handshake or early close event (above); ts/frame: the packet that
     * showed it (for UNANSWERED the end of the flow). Optional. */
    void (*conn_event)(void *ud, const fcs_flow *f, fcs_conn_event ev, int64_t ts_ns,
                       uint64_t frame);
} fcs_tcp_callbacks;

/* Default flow table cap (see analyzer/README.md "Ordering and memory" for
 * what a tracked flow can cost). */
#define FCS_TCP_MAX_FLOWS_DEFAULT 200000u

typedef struct fcs_tcp_config {
    const uint16_t *server_ports;  /* FastCGI server ports (copied); NULL/0: none */
    size_t nserver_ports;
    /* Content recognition for flows on other ports; same contract as
     * fsd_looks_like_fastcgi (1 yes, 0 no, -1 need more). NULL: ports only. */
    int (*classify)(const uint8_t *buf, size_t len, fsd_dir dir);
    uint32_t classify_max_bytes;   /* held per direction while undecided (0: 512) */
    /* Flows whose SYN was not captured (the capture started inside them):
     * same contract as fsd_recognise (the decoder's resync rule); their first
     * bytes are held up to classify_midstream_bytes per direction (0:
     * FSD_RECOGNISE_WINDOW, enough for the rule to say yes or no) and
     * replayed whole once one side shows FastCGI, so the decoder sees what it
     * would see with the port listed. NULL: classify from the first byte. */
    int (*recognise)(const uint8_t *buf, size_t len, unsigned flags, fsd_dir *sender, size_t *at);
    uint32_t classify_midstream_bytes;
    uint32_t max_flows;            /* flow table cap incl. lingering closed flows
                                      (0: FCS_TCP_MAX_FLOWS_DEFAULT); when full, the oldest
                                      lingering closed flow, else a least recently used
                                      non-FastCGI flow gives its place, else the new flow is
                                      not tracked (flow_table_full, raised again each time
                                      the table fills after draining below 90%; the traffic
                                      not tracked is counted in fcs_tcp_stats.untracked_*) */
    uint32_t ooo_max_bytes;        /* out-of-order bytes buffered per flow (0: 4 MiB) */
    uint32_t ooo_max_segments;     /* out-of-order segments buffered per flow (0: 1024) */
    uint64_t ooo_max_total;        /* over all flows (0: 256 MiB) */
    int64_t idle_timeout_ns;       /* (0: 300 s; < 0: never) */
    int64_t closed_linger_ns;      /* (0: 60 s) */
    uint32_t closed_max;           /* closed flows lingering at once (0: 4096); beyond it
                                      the oldest is forgotten first */
    uint64_t classify_max_total;   /* bytes held for all undecided flows together (0: 64 MiB);
                                      beyond it a new flow is classified from its first
                                      data segment alone */
} fcs_tcp_config;

typedef struct fcs_tcp_stats {
    uint64_t packets, bytes;          /* frames seen, wire bytes */
    uint64_t not_ip, not_tcp, short_frames, malformed, fragments;
    uint64_t tcp_segments;            /* decoded TCP segments */
    uint64_t fastcgi_segments;        /* of which on FastCGI flows */
    uint64_t flows_seen;              /* flow records created */
    uint64_t flows_fastcgi;           /* flow_open calls */
    uint64_t flows_ignored;           /* decided not FastCGI */
    uint64_t flows_expired;
    uint64_t flows_reused;
    uint64_t flows_rejected;          /* packets of new flows dropped: table full */
    /* Traffic not analyzed because the flow table was full (max_flows): */
    uint64_t table_full_events;       /* times the table filled (flow_table_full raised) */
    uint64_t untracked_flows;         /* distinct new 4-tuples turned away (see tcp.c: a
                                         65,536-slot recent set; a flow whose slot was taken
                                         over by another one counts again) */
    uint64_t untracked_port_flows;    /* of which to or from a configured FastCGI port */
    uint64_t untracked_packets;       /* their packets */
    uint64_t untracked_bytes;         /* their frames' wire bytes */
    uint64_t flows_now, flows_max;    /* records in the table now / high water */
    uint64_t retransmitted_segments;  /* wholly duplicate */
    uint64_t overlap_bytes;           /* trimmed from partial overlaps */
    uint64_t ooo_segments;            /* buffered out of order */
    uint64_t ooo_bytes_now, ooo_bytes_max;
    uint64_t ooo_cap_hits;
    uint64_t gaps, gap_bytes;
    uint64_t snaplen_cut_packets;     /* TCP payload cut by the snaplen */
    uint64_t anomalies;               /* anomaly callbacks made */
} fcs_tcp_stats;

typedef struct fcs_tcp fcs_tcp;

/* NULL on allocation failure. cfg and cb may be NULL (defaults / no callbacks). */
fcs_tcp *fcs_tcp_new(const fcs_tcp_config *cfg, const fcs_tcp_callbacks *cb, void *ud);

/* Process one captured frame. */
void fcs_tcp_packet(fcs_tcp *t, const fcs_packet *pkt);

/* Process an already decoded segment (tests, or a caller that decodes itself).
 * wirelen is the frame's length on the wire (statistics only). */
void fcs_tcp_segment(fcs_tcp *t, const fcs_segment *seg, int64_t ts_ns, uint64_t frame,
                     uint32_t wirelen);

/* Raise a capture-level anomaly through the anomaly callback (and count it). */
void fcs_tcp_raise(fcs_tcp *t, fsd_anomaly_id id, fcs_flow *f, uint64_t frame,
                   int64_t ts_ns, const char *detail);

/* Expire idle flows as of capture time now_ns (also done from fcs_tcp_packet
 * as time advances; live mode may call this on read timeouts). */
void fcs_tcp_expire(fcs_tcp *t, int64_t now_ns, uint64_t frame);

/* End of capture: every open flow gets its holes as gaps, pending FINs,
 * and flow_end(FCS_FLOW_END_CAPTURE), in order of flow creation. */
void fcs_tcp_finish(fcs_tcp *t, int64_t ts_ns, uint64_t frame);

void fcs_tcp_get_stats(const fcs_tcp *t, fcs_tcp_stats *out);

/* The earliest packet (timestamp, then frame) whose bytes reassembly still
 * holds back: out-of-order pieces and the bytes of flows not classified yet.
 * They reach flow_data later with that packet's timestamp and frame.
 * Returns false when nothing is held (the common case: two compares).
 * Otherwise walks the open flows: call it now and then, not per packet. */
bool fcs_tcp_oldest_held(const fcs_tcp *t, int64_t *ts_ns, uint64_t *frame);

/* Free everything (calls no callbacks: call fcs_tcp_finish first). */
void fcs_tcp_free(fcs_tcp *t);

/* Read up to max_packets (0: no limit) from cap into t, raising
 * capture_truncated on damage. Live mode: use a small budget (1..64) so that
 * count and duration limits are checked often (on a busy link read timeouts
 * never happen). Returns FCS_CAP_EOF at the end of input,
 * FCS_CAP_TIMEOUT (live) or FCS_CAP_PACKET when the budget was used up (call
 * again), FCS_CAP_ERROR on a fatal error (message: fcs_cap_error). Defined in
 * capture.c; declared here to keep capture.h independent of the flow table. */
struct fcs_capture;
int fcs_cap_feed(struct fcs_capture *cap, fcs_tcp *t, uint64_t max_packets);
/* Live: compare libpcap's drop counters with the last call and raise
 * capture_drops when they grew. */
void fcs_cap_report_drops(struct fcs_capture *cap, fcs_tcp *t);

#ifdef __cplusplus
}
#endif

#endif /* FCS_TCP_H */
