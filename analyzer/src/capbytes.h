/* capbytes.h — the bytes under libpcap: one capture file, stdin or memory
 * image handed out as views, and the stdio stream libpcap reads them from.
 *
 * Every file is read with read() on its descriptor (stdin: descriptor 0).
 * The first bytes (the prefix, up to FCS_PREFIX_MAX) are read at open to
 * identify the format; then libpcap reads through a stdio stream made with
 * fopencookie() whose cookie serves pushed-back bytes, the prefix, then the
 * rest of the file. Underneath, the bytes come as views: contiguous pieces
 * (the prefix, a memory image, a read() buffer, a piece of the read-ahead
 * ring) that pcapfast.c parses in place and the cookie copies into libpcap's
 * buffer. Large classic pcap files are read ahead on a second thread
 * (readahead.h); what libpcap reads itself goes straight into its buffer.
 *
 * Streams (a pipe, FIFO, socket or terminal): the prefix is read only until
 * the file header (pcapng: up to the first interface description) is in, and
 * every read() that could block waits in poll(), calling the idle hook at
 * once and then every FCS_IDLE_MS, so a paused writer does not keep finished
 * requests from being written.
 */
#ifndef FCS_CAPBYTES_H
#define FCS_CAPBYTES_H

#include "readahead.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FCS_PREFIX_MAX 65536

/* The fopencookie cookie: a capture's bytes as views. [vp, vend) are the
 * unread bytes of the current view; fcs_capbytes_next_view() moves on. */
typedef struct src_cookie {
    int fd;                 /* -1 for a memory image */
    bool own_fd;            /* close it (not stdin) */
    bool regular;
    uint64_t size;          /* regular file size, 0 unknown */
    const uint8_t *mem;     /* memory image (whole file) */
    size_t memlen, mempos;
    uint8_t *prefix;
    size_t plen;
    bool in_prefix;         /* the current view is the prefix */
    const uint8_t *vbase, *vp, *vend; /* current view */
    uint64_t consumed;      /* bytes of the views before the current one */
    const uint8_t *pb;      /* pushed back (gathered by pcapfast), served first */
    size_t pblen, pbpos;
    bool reof;              /* no more bytes: end of file (sticky) */
    int rerr;               /* read error, errno (sticky) */
    uint8_t *dbuf;          /* direct reading: a read() buffer */
    fcs_readahead *rg;      /* read-ahead thread, once started */
    bool no_thread;         /* read-ahead disabled (FCGISCOPE_READ_THREAD=0) */
    bool force_thread;      /* read-ahead whatever the size and format (=1) */
    bool want_ring;         /* records are parsed in place (pcapfast) */
    size_t ring_chunk;      /* FCGISCOPE_READ_CHUNK, 0: FCS_RING_CHUNK */
    volatile sig_atomic_t *stop; /* fcs_cap_breakloop() flag */
    const fcs_idle_hook *hook;   /* streams: called while no byte is ready */
} src_cookie;

static inline uint32_t fcs_rd32(const uint8_t *p, bool be)
{
    return be ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
              : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}
static inline uint16_t fcs_rd16(const uint8_t *p, bool be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

/* A cookie for fd (-1 with a memory image later); the read-ahead choice
 * taken from the environment now. NULL: out of memory (fd left open). */
src_cookie *fcs_capbytes_new(int fd, bool own_fd, bool regular, uint64_t size,
                             volatile sig_atomic_t *stop, const fcs_idle_hook *hook);

/* Read the prefix (from mem when not NULL): until FCS_PREFIX_MAX or the end;
 * from a stream only until the headers are in. The prefix is then the
 * current view. 0, or -1 on a read error (errno). */
int fcs_capbytes_read_prefix(src_cookie *k, const void *mem, size_t memlen);

/* Move to the next view (the current one is used up). 1: bytes available;
 * 0: end of the file; -1: read error (errno; the same on later calls) or
 * fcs_cap_breakloop() (errno EINTR). */
int fcs_capbytes_next_view(src_cookie *k);

/* libpcap's stream over the cookie (which the stream then owns: closing it
 * frees the cookie). NULL: fopencookie failed (errno), the cookie is not
 * freed. */
FILE *fcs_capbytes_fopen(src_cookie *k);

/* Free a cookie no stream owns (stops the read-ahead, closes an own fd). */
void fcs_capbytes_free(src_cookie *k);

/* Bytes of the file handed out so far (views and pushback). */
uint64_t fcs_capbytes_position(const src_cookie *k);

#endif
