/* capbytes.c — a capture's bytes as views, and libpcap's stdio stream over
 * them (see capbytes.h). The choice between the read-ahead thread and
 * direct read()s is made here, at the first view after the prefix.
 */
#define _GNU_SOURCE
#include "capbytes.h"
#include "capture.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIRECT_BUF (512 * 1024) /* read() size without the read-ahead thread */
#define RING_MIN_FILE (2u * FCS_RING_CHUNK) /* smaller regular files are read directly */

/* The environment's choice of read-ahead (the results are the same):
 * FCGISCOPE_READ_THREAD=0 none (for comparison), =1 for every file and pipe
 * however small, whatever the format (tests); unset: classic pcap files of
 * RING_MIN_FILE bytes and more whose records pcapfast.c parses in place.
 * FCGISCOPE_READ_CHUNK=N (tests): chunks of N bytes instead of
 * FCS_RING_CHUNK, so small files cross many chunk ends. Memory images (the
 * fuzz targets) are never threaded. */
static bool read_ahead_off; /* fcs_cap_set_read_ahead(false) */

void fcs_cap_set_read_ahead(bool on) { read_ahead_off = !on; }

static void read_thread_env(src_cookie *k)
{
    const char *e = getenv("FCGISCOPE_READ_THREAD");
    k->no_thread = read_ahead_off || (e && strcmp(e, "0") == 0);
    k->force_thread = !k->no_thread && e && strcmp(e, "1") == 0;
    const char *ch = getenv("FCGISCOPE_READ_CHUNK");
    if (ch && *ch) {
        char *end;
        unsigned long v = strtoul(ch, &end, 10);
        if (!*end && v >= 1 && v <= FCS_RING_CHUNK)
            k->ring_chunk = (size_t)v;
    }
}

src_cookie *fcs_capbytes_new(int fd, bool own_fd, bool regular, uint64_t size,
                             volatile sig_atomic_t *stop, const fcs_idle_hook *hook)
{
    src_cookie *k = calloc(1, sizeof *k);
    uint8_t *pre = malloc(FCS_PREFIX_MAX);
    if (!k || !pre) {
        free(k);
        free(pre);
        return NULL;
    }
    k->fd = fd;
    k->own_fd = own_fd;
    k->regular = regular;
    k->size = regular ? size : 0;
    k->prefix = pre;
    k->stop = stop;
    k->hook = hook;
    read_thread_env(k);
    return k;
}

/* A stream's first bytes: enough to identify it and for libpcap to read its
 * header without waiting for more (a pcap file header; a pcapng section
 * header and the first interface description)? */
static bool prefix_enough(const uint8_t *b, size_t n)
{
    if (n < 4)
        return false;
    uint32_t m = fcs_rd32(b, true);
    if (m != 0x0a0d0d0a)
        return n >= 24 || !(m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b2cd34 ||
                            m == 0x34cdb2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1);
    if (n < 12)
        return false;
    bool be = fcs_rd32(b + 8, true) == 0x1a2b3c4d;
    for (size_t off = 0; off + 8 <= n;) {
        uint32_t type = fcs_rd32(b + off, be), blen = fcs_rd32(b + off + 4, be);
        if (blen < 12 || blen > FCS_PREFIX_MAX)
            return true; /* damaged: libpcap will say so */
        if (blen > n - off)
            return false;
        if (type == 1)
            return true;
        off += blen;
    }
    return false;
}

int fcs_capbytes_read_prefix(src_cookie *k, const void *mem, size_t memlen)
{
    uint8_t *pre = k->prefix;
    if (mem) {
        k->mem = mem;
        k->memlen = memlen;
        k->plen = memlen < FCS_PREFIX_MAX ? memlen : FCS_PREFIX_MAX;
        memcpy(pre, mem, k->plen);
        k->mempos = k->plen;
    } else {
        /* read until full or the end; from a stream (a pipe) only until the
         * headers are in, so that what follows is analyzed as it comes */
        while (k->plen < FCS_PREFIX_MAX) {
            if (!k->regular && prefix_enough(pre, k->plen))
                break;
            ssize_t got = read(k->fd, pre + k->plen, FCS_PREFIX_MAX - k->plen);
            if (got > 0) {
                k->plen += (size_t)got;
                continue;
            }
            if (got == 0) {
                k->reof = true; /* the end came within the prefix */
                break;
            }
            if (errno == EINTR && !(k->stop && *k->stop))
                continue;
            return -1;
        }
    }
    k->in_prefix = true;
    k->vbase = k->vp = pre;
    k->vend = pre + k->plen;
    return 0;
}

/* A stream with an idle hook: before a read() that would block, call the
 * hook at once (the caller writes what it knows), then every FCS_IDLE_MS
 * while no byte comes. 0: go on and read (bytes, end of file or an error
 * are ready); -1 with errno EINTR: fcs_cap_breakloop() was called. */
static int stream_wait(src_cookie *k)
{
    if (k->regular || k->fd < 0 || !k->hook || !k->hook->fn)
        return 0;
    int ms = 0;
    for (;;) {
        struct pollfd pf = { k->fd, POLLIN, 0 };
        int r = poll(&pf, 1, ms);
        if (r > 0 || (r < 0 && errno != EINTR))
            return 0;
        if (k->stop && *k->stop) {
            errno = EINTR;
            return -1;
        }
        if (r == 0) {
            k->hook->fn(k->hook->ud);
            ms = FCS_IDLE_MS;
        }
    }
}

/* The next view from the read-ahead ring. */
static int ring_view(src_cookie *k)
{
    const uint8_t *p;
    size_t n;
    int r = fcs_readahead_view(k->rg, &p, &n, k->stop, k->hook);
    if (r > 0) {
        k->vbase = k->vp = p;
        k->vend = p + n;
        return 1;
    }
    if (r == 0)
        k->reof = true;
    else if (r == -1)
        k->rerr = errno;
    return r < 0 ? -1 : 0;
}

/* The read-ahead thread for this file: not for a memory image, nor when
 * disabled; for small files and what libpcap reads itself only when forced. */
static bool ring_wanted(const src_cookie *k)
{
    return !k->dbuf && !k->no_thread &&
           (k->force_thread || (k->want_ring && k->regular && k->size >= k->plen + RING_MIN_FILE));
}

/* The next view by one read() into the direct buffer. */
static int direct_view(src_cookie *k)
{
    if (!k->dbuf && !(k->dbuf = fcs_page_alloc(DIRECT_BUF))) {
        k->rerr = ENOMEM;
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        if (stream_wait(k) < 0)
            return -1;
        ssize_t got = read(k->fd, k->dbuf, DIRECT_BUF);
        if (got > 0) {
            k->vbase = k->vp = k->dbuf;
            k->vend = k->dbuf + got;
            return 1;
        }
        if (got == 0) {
            k->reof = true;
            return 0;
        }
        if (errno == EINTR) {
            if (k->stop && *k->stop)
                return -1;
            continue;
        }
        k->rerr = errno;
        return -1;
    }
}

int fcs_capbytes_next_view(src_cookie *k)
{
    k->consumed += (uint64_t)(k->vend - k->vbase);
    k->vbase = k->vp = k->vend = NULL;
    k->in_prefix = false;
    if (k->rerr) {
        errno = k->rerr;
        return -1;
    }
    if (k->reof)
        return 0;
    if (k->mem) {
        if (k->mempos >= k->memlen) {
            k->reof = true;
            return 0;
        }
        k->vbase = k->vp = k->mem + k->mempos;
        k->vend = k->mem + k->memlen;
        k->mempos = k->memlen;
        return 1;
    }
    if (k->fd < 0) {
        k->reof = true;
        return 0;
    }
    if (k->rg)
        return ring_view(k);
    if (ring_wanted(k) && (k->rg = fcs_readahead_start(k->fd, k->regular, k->ring_chunk)))
        return ring_view(k);
    return direct_view(k);
}

/* libpcap's own reading (pcapng, the other byte order, after pcapfast gave
 * up), the current view used up: read() straight into its buffer, one copy. */
static ssize_t read_into(src_cookie *k, char *buf, size_t size)
{
    k->consumed += (uint64_t)(k->vend - k->vbase);
    k->vbase = k->vp = k->vend = NULL;
    k->in_prefix = false;
    for (;;) {
        if (stream_wait(k) < 0)
            return -1;
        ssize_t r = read(k->fd, buf, size);
        if (r > 0) {
            k->consumed += (uint64_t)r;
            return r;
        }
        if (r == 0) {
            k->reof = true;
            return 0;
        }
        if (errno == EINTR && !(k->stop && *k->stop))
            continue;
        if (errno != EINTR)
            k->rerr = errno;
        return -1;
    }
}

/* fopencookie read: libpcap's view of the same bytes (copied). */
static ssize_t ck_read(void *c, char *buf, size_t size)
{
    src_cookie *k = c;
    if (k->pbpos < k->pblen) {
        size_t n = k->pblen - k->pbpos;
        if (n > size) n = size;
        memcpy(buf, k->pb + k->pbpos, n);
        k->pbpos += n;
        return (ssize_t)n;
    }
    size_t got = 0;
    while (got < size) {
        size_t avail = (size_t)(k->vend - k->vp);
        if (avail == 0) {
            if (got)
                break;      /* what we have; the next view on the next call */
            if (!k->rg && !k->force_thread && !k->mem && k->fd >= 0 && !k->reof && !k->rerr)
                return read_into(k, buf, size);
            int g = fcs_capbytes_next_view(k);
            if (g == 0)
                break;
            if (g < 0)
                return -1;
            continue;
        }
        size_t n = avail < size - got ? avail : size - got;
        memcpy(buf + got, k->vp, n);
        k->vp += n;
        got += n;
    }
    return (ssize_t)got;
}

void fcs_capbytes_free(src_cookie *k)
{
    if (k->rg)
        fcs_readahead_stop(k->rg);
    if (k->own_fd && k->fd >= 0)
        close(k->fd);
    free(k->dbuf);
    free(k->prefix);
    free(k);
}

static int ck_close(void *c)
{
    fcs_capbytes_free(c);
    return 0;
}

FILE *fcs_capbytes_fopen(src_cookie *k)
{
    cookie_io_functions_t io = { .read = ck_read, .write = NULL, .seek = NULL, .close = ck_close };
    return fopencookie(k, "rb", io);
}

uint64_t fcs_capbytes_position(const src_cookie *k)
{
    return k->consumed + (uint64_t)(k->vp - k->vbase) - (k->pblen - k->pbpos);
}
