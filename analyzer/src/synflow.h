/* synflow.h — Unix-socket connections as synthetic IPv4/TCP frames (shared by --unix and --relay).
 *
 * Normative references: analyzer/README.md "Unix sockets" and "Relay" (each
 * connection is a synthetic IPv4/TCP flow: handshake, sequence numbers =
 * stream offsets, FIN or RST as the socket closed, the server on port 9000);
 * RFC 791 / RFC 9293 (the headers written).
 *
 * A capture source that sees the bytes of Unix-socket connections (unixcap.c
 * from eBPF events, relay.c from the bytes it forwards) turns them into
 * LINKTYPE_RAW frames here, so the rest of the analyzer runs unchanged:
 *
 *   fcs_sf sf = {0};
 *   fcs_sf_conn *c = fcs_sf_conn_new(&sf, key);     // numbered: its address
 *   fcs_sf_handshake(&sf, c, ts);                   // SYN, SYN-ACK, ACK
 *   fcs_sf_data(&sf, c, FCS_SF_CLIENT, off, p, n, ts);
 *   fcs_sf_emit(&sf, c, dir, FCS_TH_FIN | FCS_TH_ACK, c->next[dir], NULL, 0, 0, ts);
 *   while (fcs_sf_pop(&sf, &pkt)) ...               // frames in order
 *   fcs_sf_free(&sf);
 *
 * Addresses: connection number n (running over the process's life) is the
 * client 127.1.H.L:P (P = 10000 + n % 50000, H.L = n / 50000), the server
 * 127.0.0.2:9000. fcs_unix_who_get() (unixcap.h) maps a client address back
 * to the processes recorded for it (fcs_sf_who()).
 */
#ifndef FCS_SYNFLOW_H
#define FCS_SYNFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link.h"
#include "unixcap.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FCS_SF_CLIENT = 0, FCS_SF_SERVER = 1 };   /* which end wrote (= UC_DIR_*) */

#define FCS_SF_SERVER_PORT 9000
#define FCS_SF_MAX_SEG 65000u       /* payload bytes per synthetic frame */
#define FCS_SF_NBUCKET 4096

typedef struct fcs_sf_conn {
    uint64_t key;                   /* the source's identity of the connection */
    uint64_t n;                     /* connection number -> address */
    uint32_t ip;                    /* client address (host order) */
    uint16_t port;
    uint32_t isn[2];
    uint64_t next[2];               /* next stream offset per direction (UINT64_MAX: none yet) */
    bool fin[2];
    bool handshake;                 /* SYN seen: both directions known */
    struct fcs_sf_conn *hnext;
} fcs_sf_conn;

typedef struct fcs_sf_buf {
    uint8_t *p;
    uint32_t size;                  /* bytes allocated */
} fcs_sf_buf;

typedef struct fcs_sf_frame {
    fcs_sf_buf buf;
    uint32_t caplen, len;
    int64_t ts;
} fcs_sf_frame;

#define FCS_SF_SPARE 16             /* frame buffers kept for reuse */

typedef struct fcs_sf {
    fcs_sf_frame *q;                /* frames ready, in order */
    size_t qhead, qn, qcap;
    fcs_sf_buf cur;                 /* the frame handed out last */
    fcs_sf_buf spare[FCS_SF_SPARE]; /* buffers of frames handed out: reused, not freed
                                       (a malloc and free per frame was ~10% of --unix) */
    size_t nspare;
    fcs_sf_conn *bucket[FCS_SF_NBUCKET];
} fcs_sf;

/* Connections by key. new() numbers it (a fresh address, its who record
 * cleared); NULL when out of memory. drop() frees it. */
fcs_sf_conn *fcs_sf_conn_find(fcs_sf *sf, uint64_t key);
fcs_sf_conn *fcs_sf_conn_new(fcs_sf *sf, uint64_t key);
void fcs_sf_conn_drop(fcs_sf *sf, fcs_sf_conn *c);
/* The connection number behind a synthetic client address (the inverse of
 * the numbering above); false when the address is not one of ours. */
bool fcs_sf_conn_number(const uint8_t client_addr[4], uint16_t client_port, uint64_t *n);

/* The processes recorded for c's address (what fcs_unix_who_get returns). */
fcs_unix_who *fcs_sf_who(const fcs_sf_conn *c);

/* One frame from end dir of c: TCP flags, seq at stream offset off, payload
 * (cap bytes present of wire bytes). false when out of memory. */
bool fcs_sf_emit(fcs_sf *sf, fcs_sf_conn *c, int dir, uint8_t flags, uint64_t off,
                 const uint8_t *pl, uint32_t cap, uint32_t wire, int64_t ts);
/* SYN, SYN-ACK, ACK: both directions start at offset 0. */
void fcs_sf_handshake(fcs_sf *sf, fcs_sf_conn *c, int64_t ts);
/* Bytes of end dir up to stream offset off are certain but were not seen:
 * the peer acknowledges them, which the reassembly reports as a gap. */
bool fcs_sf_catch_up(fcs_sf *sf, fcs_sf_conn *c, int dir, uint64_t off, int64_t ts);
/* n bytes of end dir at stream offset off (a hole before off: catch_up;
 * bytes already sent are trimmed), in frames of at most FCS_SF_MAX_SEG. */
bool fcs_sf_data(fcs_sf *sf, fcs_sf_conn *c, int dir, uint64_t off, const uint8_t *p,
                 uint64_t n, int64_t ts);

/* The next frame (valid until the next call or fcs_sf_free); false: none. */
bool fcs_sf_pop(fcs_sf *sf, fcs_packet *pkt);
/* Frames not handed out yet. */
static inline size_t fcs_sf_pending(const fcs_sf *sf) { return sf->qn; }
/* Free the frames and connections (sf itself is the caller's). */
void fcs_sf_free(fcs_sf *sf);

#ifdef __cplusplus
}
#endif

#endif
