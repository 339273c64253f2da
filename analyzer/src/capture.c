/* capture.c — libpcap input: pcap/pcapng files as one timeline, stdin, memory images and live devices.
 *
 * Normative references: pcap file format (draft-ietf-opsawg-pcap §4: magic
 * 0xA1B2C3D4 = microseconds, 0xA1B23C4D = nanoseconds, either byte order),
 * pcapng (draft-ietf-opsawg-pcapng §4.1 SHB, §4.2 IDB, option if_tsresol = 9),
 * libpcap 1.10 (pcap_fopen_offline_with_tstamp_precision, pcap_create/activate).
 *
 * Every file is read with read() on its descriptor (stdin: descriptor 0) and
 * handed to libpcap through a stdio stream made with fopencookie(): the first
 * 64 KiB (the prefix) are read once to identify the format and precision
 * (libpcap does not report the native precision), then served to libpcap
 * from that buffer, the rest from the file. This works the same for regular
 * files and pipes (stdin). Underneath, the bytes come as views: contiguous
 * pieces (the prefix, a memory image, a read() buffer, a piece of the
 * read-ahead ring) that the record reader below parses in place and the
 * cookie copies into libpcap's stdio buffer.
 *
 * Read-ahead: for classic pcap files of 2 MiB and more whose records are
 * parsed in place (below), a second thread reads the file (read(),
 * posix_fadvise SEQUENTIAL) into a ring of RING_CHUNKS chunks of RING_CHUNK
 * bytes while the analysis runs; the kernel's copy, ~20% of a single-threaded
 * run, moves off the analysis thread. Not by default for pipes (the writer is
 * already a process of its own, and pipe reads of at most 64 KiB made the
 * thread hand-offs cost more than they saved: 1 GB through cat, 0.52 s ->
 * 0.61 s) nor for what libpcap reads itself (pcapng, the other byte order:
 * a memcpy out of the ring replaces the kernel's copy, no gain): those are
 * read() straight into libpcap's stdio buffer, one copy as before. Memory
 * is bounded by the ring; bytes, then the end of file or the read error
 * (errno), reach the reader in file order, so results are those of reading
 * directly, byte for byte (tests compare them, damaged captures included).
 * The reader thread starts with every signal blocked (SIGINT etc. stay with
 * the analysis thread); waits for data are timed so fcs_cap_breakloop() is
 * seen within 100 ms; closing stops the thread (a pipe read waits in poll()
 * together with a wake-up pipe) and joins it. No mmap: a file truncated while
 * mapped would raise SIGBUS. FCGISCOPE_READ_THREAD=0 disables the thread
 * (for comparison), =1 uses it for every file and pipe, whatever the format
 * (tests); memory images (the fuzz targets) are never threaded. Buffers that
 * read() fills are page-aligned (see page_alloc).
 *
 * Classic pcap files (version 2.4, written in this host's byte order) are
 * read without libpcap once it has parsed the 24-byte file header: their
 * records are parsed in place in the views (the bytes libpcap's stdio buffer
 * holds beyond the header are the prefix's, read again from there); a record
 * split over two views is gathered in a bounce buffer. Only records libpcap
 * would return unchanged are handled so (caplen <= the snapshot length); at
 * the first other one, a short record or a read error, libpcap's stdio
 * buffer is discarded (__fpurge), the gathered bytes are pushed back into the
 * cookie, which serves them and then the rest of the view, and libpcap reads
 * on from there: damage is found and described by libpcap as before.
 *
 * Streams (stdin or a FIFO that is a pipe, a socket, a terminal): the prefix
 * is read only until the file header (pcapng: up to the first interface
 * description) is in, not 64 KiB, and every read() that could block is
 * preceded by poll(): while no byte is ready, the caller's idle hook
 * (fcs_cap_set_idle) runs at once and then every IDLE_MS, so a paused writer
 * does not keep finished requests from being written. The read-ahead thread
 * (when forced on a pipe) is waited for the same way.
 */
#define _GNU_SOURCE
#include "capture.h"
#include "tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PREFIX_MAX 65536
#define IDLE_MS 200             /* streams: the idle hook's period while no byte comes */
#define STDIO_BUF 65536
#define FAST_BUF (512 * 1024)   /* bounce buffer for a record across two views */
#define DIRECT_BUF (512 * 1024) /* read() size without the read-ahead thread */
#define RING_CHUNK (1024 * 1024)/* read-ahead: largest read() and view */
#define RING_CHUNKS 4           /* read-ahead: ring of RING_CHUNKS * RING_CHUNK bytes */
#define RING_MIN_FILE (2u * RING_CHUNK) /* smaller regular files are read directly */

/* Read-ahead: a thread fills a ring with read() while the analysis runs.
 * Positions are stream offsets (bytes after the prefix); the producer owns
 * [wpos, rpos + size), the consumer [rpos, wpos). */
typedef struct ring {
    int fd;
    bool regular;
    int wake[2];            /* pipe: wakes the thread out of poll() at shutdown */
    uint8_t *buf;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv_data, cv_space;
    uint64_t wpos, rpos;    /* under mu */
    int err;                /* errno of a failed read (after the bytes before it) */
    bool eof, quit;
    bool cwait, pwait;      /* consumer / producer waiting on its condition */
    uint64_t cpos;          /* consumer only: end of its current view */
    size_t chunk, size;
} ring;

/* The stream libpcap reads: pushed-back bytes first, then the prefix (the
 * first bytes, read at open to identify the file), then the rest of the
 * file. All of it is handed out as views: [vp, vend) are the unread bytes of
 * the current contiguous piece (the prefix, a memory image, a read() buffer
 * or a piece of the read-ahead ring); view_next() moves on. */
/* fcs_cap_set_idle(): what a stream reader calls instead of waiting blind. */
typedef struct cap_hook {
    void (*fn)(void *ud);
    void *ud;
} cap_hook;

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
    const uint8_t *pb;      /* pushed back (gathered by fast_next), served first */
    size_t pblen, pbpos;
    bool reof;              /* no more bytes: end of file (sticky) */
    int rerr;               /* read error, errno (sticky) */
    uint8_t *dbuf;          /* direct reading: DIRECT_BUF bytes */
    ring *rg;               /* read-ahead thread, once started */
    bool no_thread;         /* read-ahead disabled (FCGISCOPE_READ_THREAD=0) */
    bool force_thread;      /* read-ahead whatever the size and format (=1) */
    bool want_ring;         /* records are parsed in place (fast_setup) */
    size_t ring_chunk;      /* FCGISCOPE_READ_CHUNK, 0: RING_CHUNK */
    volatile sig_atomic_t *stop; /* fcs_cap_breakloop() flag */
    const struct cap_hook *hook; /* streams: called while no byte is ready */
} src_cookie;


typedef struct cap_file {
    char *path;             /* as given */
    fcs_cap_file_info info;
    uint64_t size;          /* 0 unknown */
    char *error;            /* info.error's storage */
} cap_file;

struct fcs_capture {
    cap_file *files;
    size_t nfiles, cur;
    bool live;
    pcap_t *p;              /* current handle */
    FILE *fp;               /* the cookie stream (owned by libpcap after fopen_offline) */
    src_cookie *ck;
    char *iobuf;
    uint64_t frames;        /* packets delivered */
    uint64_t damage_frame;
    int64_t last_ts;
    uint64_t done_bytes;    /* consumed by finished files */
    bool eof;
    bool fatal;             /* eof because of an error (c->err) */
    bool pending_next;      /* after damage: open the next file on the next call */
    volatile sig_atomic_t stop; /* fcs_cap_breakloop() was called */
    cap_hook hook;          /* fcs_cap_set_idle() */
    bool draining;          /* live: fcs_cap_drain() was called */
    int64_t drain_start, drain_quiet; /* CLOCK_MONOTONIC ns */
    /* stdin kept open from validation to reading */
    pcap_t *stdin_p;
    FILE *stdin_fp;
    src_cookie *stdin_ck;
    char *stdin_iobuf;
    /* live */
    bool nano;
    bool dry_told;          /* device: FCS_CAP_TIMEOUT given since the ring ran dry */
    bool immediate;         /* device: pcap immediate mode (no dry FCS_CAP_TIMEOUT) */
    int64_t block_ns;       /* device: the block timeout (0: immediate) */
    uint64_t last_drop, last_ifdrop;
    const void *memimg;
    size_t memlen;
    /* our own reading of classic pcap records (fast_next) */
    int fast;               /* current file: 0 not looked at yet, 1 on, -1 off */
    bool fast_us;           /* microsecond timestamps */
    uint32_t fast_snap;     /* libpcap's snapshot length for the file */
    uint8_t *fbuf;          /* FAST_BUF bytes: a record split over two views */
    struct pcap_pkthdr fhdr;
    char err[FCS_CAP_ERRMAX];
    fcs_cap_source *src;    /* fcs_cap_open_source(): frames come from it */
};

/* A link type's name for messages (LINKTYPE_ values as in file headers). */
static const char *lt_name(int v)
{
    const char *n = fcs_link_name(v);
    if (!n)
        n = pcap_datalink_val_to_name(v);
    return n ? n : "unknown";
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* One line: no newline from libpcap's messages. */
    for (char *c = err; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

static const char *disp(const char *path)
{
    return strcmp(path, "-") == 0 ? "stdin" : path;
}

static int64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- read-ahead thread ---- */

/* A read() buffer: page-aligned. The kernel's copy into a destination 16
 * bytes past a 64-byte boundary (where malloc puts large blocks) runs ~1.6x
 * slower than into an aligned one (measured here: 1 GB in 512 KiB reads from
 * the page cache, 0.12 s against 0.075 s). */
static uint8_t *page_alloc(size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, 4096, n) == 0 ? p : NULL;
}

static void *ring_main(void *arg)
{
    ring *r = arg;
    const size_t size = r->size;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->quit && r->wpos - r->rpos >= size) {
            r->pwait = true;
            pthread_cond_wait(&r->cv_space, &r->mu);
            r->pwait = false;
        }
        if (r->quit)
            break;
        size_t off = (size_t)(r->wpos % size);
        size_t n = r->chunk - off % r->chunk;    /* to the chunk's end */
        size_t room = size - (size_t)(r->wpos - r->rpos);
        if (n > room)
            n = room;
        pthread_mutex_unlock(&r->mu);
        ssize_t got;
        for (;;) {
            if (!r->regular) {
                /* a pipe may block for ever: wait for data or shutdown */
                struct pollfd pf[2] = { { r->fd, POLLIN, 0 }, { r->wake[0], POLLIN, 0 } };
                int pr = poll(pf, 2, -1);
                if (pr < 0 && errno == EINTR)
                    continue;
                if (pr > 0 && pf[1].revents) {
                    got = 0;
                    errno = 0;
                    pthread_mutex_lock(&r->mu);
                    goto quit;
                }
            }
            got = read(r->fd, r->buf + off, n);
            if (got < 0 && (errno == EINTR || (errno == EAGAIN && !r->regular)))
                continue;
            break;
        }
        int e = got < 0 ? errno : 0;
        pthread_mutex_lock(&r->mu);
        if (got > 0)
            r->wpos += (uint64_t)got;
        else if (got == 0)
            r->eof = true;
        else
            r->err = e ? e : EIO;
        if (r->cwait)
            pthread_cond_signal(&r->cv_data);
        if (got <= 0)
            break;
    }
quit:
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Release a ring whose thread has ended or never started. */
static void ring_free(ring *r)
{
    pthread_cond_destroy(&r->cv_space);
    pthread_cond_destroy(&r->cv_data);
    pthread_mutex_destroy(&r->mu);
    if (r->wake[0] >= 0) {
        close(r->wake[0]);
        close(r->wake[1]);
    }
    free(r->buf);
    free(r);
}

/* Start the read-ahead thread on k->fd (false: read directly instead). */
static bool ring_start(src_cookie *k)
{
    ring *r = calloc(1, sizeof *r);
    if (!r)
        return false;
    r->chunk = k->ring_chunk ? k->ring_chunk : RING_CHUNK;
    r->size = r->chunk * RING_CHUNKS;
    r->buf = page_alloc(r->size);
    r->fd = k->fd;
    r->regular = k->regular;
    r->wake[0] = r->wake[1] = -1;
    if (!r->buf || (!r->regular && pipe2(r->wake, O_CLOEXEC) != 0)) {
        free(r->buf);
        free(r);
        return false;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv_data, NULL);
    pthread_cond_init(&r->cv_space, NULL);
    /* Signals (SIGINT, SIGTERM, SIGALRM for --duration) stay with the
     * analysis thread: the reader starts with all of them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&r->th, NULL, ring_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        ring_free(r);
        return false;
    }
    k->rg = r;
    return true;
}

static void ring_stop(ring *r)
{
    pthread_mutex_lock(&r->mu);
    r->quit = true;
    pthread_cond_signal(&r->cv_space);
    pthread_mutex_unlock(&r->mu);
    if (r->wake[1] >= 0) {
        ssize_t w;
        do
            w = write(r->wake[1], "q", 1);
        while (w < 0 && errno == EINTR);
    }
    pthread_join(r->th, NULL);
    ring_free(r);
}

/* The next piece of the ring: releases the previous view (the caller is done
 * with it), waits for bytes. 1: view set; 0: end of file; -1: error (errno). */
static int ring_view(src_cookie *k)
{
    ring *r = k->rg;
    const size_t size = r->size;
    pthread_mutex_lock(&r->mu);
    r->rpos = r->cpos;
    /* wake a waiting reader only once half the ring is free: it then reads
     * several chunks in a row instead of one per wake-up */
    if (r->pwait && r->size - (size_t)(r->wpos - r->rpos) >= r->size / 2)
        pthread_cond_signal(&r->cv_space);
    int64_t next_idle = 0; /* streams: call the idle hook at once, then every IDLE_MS */
    while (r->wpos == r->cpos && !r->eof && !r->err) {
        if (k->stop && *k->stop) {
            pthread_mutex_unlock(&r->mu);
            errno = EINTR;
            return -1;
        }
        if (!r->regular && k->hook && k->hook->fn && mono_now() >= next_idle) {
            pthread_mutex_unlock(&r->mu);
            k->hook->fn(k->hook->ud);
            next_idle = mono_now() + IDLE_MS * 1000000ll;
            pthread_mutex_lock(&r->mu);
            continue;
        }
        /* timed: a signal handler only sets k->stop, it cannot wake us */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        r->cwait = true;
        pthread_cond_timedwait(&r->cv_data, &r->mu, &ts);
        r->cwait = false;
    }
    uint64_t w = r->wpos;
    int err = r->err;
    pthread_mutex_unlock(&r->mu);
    if (w == r->cpos) {
        if (err) {
            k->rerr = err;
            errno = err;
            return -1;
        }
        k->reof = true;
        return 0;
    }
    size_t off = (size_t)(r->cpos % size);
    size_t n = r->chunk - off % r->chunk;     /* views end at chunk ends */
    if (w - r->cpos < n)
        n = (size_t)(w - r->cpos);
    r->cpos += n;
    k->vbase = k->vp = r->buf + off;
    k->vend = k->vp + n;
    return 1;
}

/* ---- the byte source ---- */

/* A pipe, FIFO, socket or terminal (not a regular file, not memory) with an
 * idle hook: before a read() that would block, call the hook at once (the
 * caller writes what it knows), then every IDLE_MS while no byte comes. 0:
 * go on and read (bytes, end of file or an error are ready); -1 with errno
 * EINTR: fcs_cap_breakloop() was called. */
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
            ms = IDLE_MS;
        }
    }
}

/* Move to the next view (the current one is used up). 1: bytes available;
 * 0: end of the file; -1: read error (errno; the same on later calls). */
static int view_next(src_cookie *k)
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
    if (!k->dbuf && !k->no_thread &&
        (k->force_thread || (k->want_ring && k->regular && k->size >= k->plen + RING_MIN_FILE)) &&
        ring_start(k))
        return ring_view(k);
    if (!k->dbuf && !(k->dbuf = page_alloc(DIRECT_BUF))) {
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
            if (!k->rg && !k->force_thread && !k->mem && k->fd >= 0 && !k->reof && !k->rerr) {
                /* libpcap's own reading (pcapng, other byte order, after the
                 * record reader gave up): straight into its buffer, one copy */
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
            int g = view_next(k);
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

static int ck_close(void *c)
{
    src_cookie *k = c;
    if (k->rg)
        ring_stop(k->rg);
    if (k->own_fd && k->fd >= 0)
        close(k->fd);
    free(k->dbuf);
    free(k->prefix);
    free(k);
    return 0;
}

/* Bytes of the file handed out so far (views and pushback). */
static uint64_t ck_position(const src_cookie *k)
{
    return k->consumed + (uint64_t)(k->vp - k->vbase) - (k->pblen - k->pbpos);
}

/* ---- format and precision from the first bytes ---- */

static uint32_t rd32(const uint8_t *p, bool be)
{
    return be ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
              : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}
static uint16_t rd16(const uint8_t *p, bool be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

/* 1: identified (format, precision set); 0: not a capture. For pcapng,
 * *dlt2 >= 0 names a second, different link type among the interfaces in the
 * first bytes (libpcap reads only one link type per file). */
static int identify(const uint8_t *b, size_t n, fcs_cap_format *fmt, fcs_precision *prec,
                    int *dlt1, int *dlt2, uint32_t *snap1, uint32_t *snap2)
{
    *dlt1 = *dlt2 = -1;
    *snap1 = *snap2 = 0;
    if (n < 4)
        return 0;
    uint32_t m = rd32(b, true);
    *prec = FCS_PREC_US;
    switch (m) {
    case 0xa1b2c3d4: case 0xd4c3b2a1: case 0xa1b2cd34: case 0x34cdb2a1:
        *fmt = FCS_FMT_PCAP;
        return 1;
    case 0xa1b23c4d: case 0x4d3cb2a1:
        *fmt = FCS_FMT_PCAP;
        *prec = FCS_PREC_NS;
        return 1;
    case 0x0a0d0d0a:
        break;
    default:
        return 0;
    }
    *fmt = FCS_FMT_PCAPNG;
    if (n < 12)
        return 1;               /* libpcap will judge */
    bool be = rd32(b + 8, true) == 0x1a2b3c4d;
    /* Walk blocks in the prefix to the first IDB. */
    size_t off = 0;
    for (int blocks = 0; blocks < 64 && off + 12 <= n; blocks++) {
        uint32_t type = rd32(b + off, be);
        uint32_t blen = rd32(b + off + 4, be);
        if (blen < 12 || blen > n - off)
            break;
        if (type == 1 && blen >= 20) {
            int lt = rd16(b + off + 8, be);
            uint32_t sl = rd32(b + off + 12, be);
            if (*dlt1 < 0) {
                *dlt1 = lt;
                *snap1 = sl;
            } else {
                if (lt != *dlt1 && *dlt2 < 0)
                    *dlt2 = lt;
                if (sl != *snap1 && *snap2 == 0)
                    *snap2 = sl ? sl : 0xffffffffu;
                off += blen;
                continue;
            }
            size_t o = off + 16, end = off + blen - 4;
            while (o + 4 <= end) {
                uint16_t code = rd16(b + o, be), olen = rd16(b + o + 2, be);
                if (code == 0)
                    break;
                if (code == 9 && olen >= 1 && o + 5 <= end) {
                    uint8_t r = b[o + 4];
                    /* MSB 0: 10^-r seconds; MSB 1: 2^-(r & 0x7f). */
                    unsigned digits = (r & 0x80) ? (unsigned)((r & 0x7f) * 3 / 10) : r;
                    if (digits >= 7)
                        *prec = FCS_PREC_NS;
                    break;
                }
                o += 4 + (((size_t)olen + 3) & ~(size_t)3);
            }
        }
        if (type == 0x0a0d0d0a && off > 0)
            break;              /* a new section: its interfaces are its own */
        off += blen;
    }
    return 1;
}

/* The environment's choice of read-ahead (the results are the same):
 * FCGISCOPE_READ_THREAD=0 none (for comparison), =1 for every file and pipe
 * however small (tests); unset: files of RING_MIN_FILE bytes and more, pipes.
 * FCGISCOPE_READ_CHUNK=N (tests): chunks of N bytes instead of RING_CHUNK, so
 * small files cross many chunk ends. */
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
        if (!*end && v >= 1 && v <= RING_CHUNK)
            k->ring_chunk = (size_t)v;
    }
}

/* Open one source: returns a pcap handle; the FILE and cookie become libpcap's. */
/* A stream's first bytes: enough to identify it and for libpcap to read its
 * header without waiting for more (a pcap file header; a pcapng section
 * header and the first interface description)? */
static bool prefix_enough(const uint8_t *b, size_t n)
{
    if (n < 4)
        return false;
    uint32_t m = rd32(b, true);
    if (m != 0x0a0d0d0a)
        return n >= 24 || !(m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b2cd34 ||
                            m == 0x34cdb2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1);
    if (n < 12)
        return false;
    bool be = rd32(b + 8, true) == 0x1a2b3c4d;
    for (size_t off = 0; off + 8 <= n;) {
        uint32_t type = rd32(b + off, be), blen = rd32(b + off + 4, be);
        if (blen < 12 || blen > PREFIX_MAX)
            return true; /* damaged: libpcap will say so */
        if (blen > n - off)
            return false;
        if (type == 1)
            return true;
        off += blen;
    }
    return false;
}

static pcap_t *open_source(const char *path, const void *mem, size_t memlen, cap_file *cf,
                           volatile sig_atomic_t *stop, const cap_hook *hook,
                           char **iobuf_out, src_cookie **ck_out, FILE **fp_out,
                           char *err, size_t errlen)
{
    const char *name = disp(path);
    int fd = -1;
    bool own = false, regular = false;
    if (!mem) {
        if (strcmp(path, "-") == 0) {
            fd = STDIN_FILENO;
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                seterr(err, errlen, "%s: cannot open: %s", name, strerror(errno));
                return NULL;
            }
            own = true;
        }
        struct stat sb;
        if (fstat(fd, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                seterr(err, errlen, "%s: cannot read: is a directory", name);
                if (own) close(fd);
                return NULL;
            }
            if (S_ISREG(sb.st_mode)) {
                regular = true;
                cf->size = (uint64_t)sb.st_size;
                (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
            }
        }
    } else {
        cf->size = memlen;
    }
    src_cookie *ck = calloc(1, sizeof *ck);
    uint8_t *pre = malloc(PREFIX_MAX);
    if (!ck || !pre) {
        free(ck);
        free(pre);
        if (own) close(fd);
        seterr(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    ck->fd = fd;
    ck->own_fd = own;
    ck->regular = regular;
    ck->size = regular ? cf->size : 0;
    ck->prefix = pre;
    ck->stop = stop;
    ck->hook = hook;
    read_thread_env(ck);
    if (mem) {
        ck->mem = mem;
        ck->memlen = memlen;
        ck->plen = memlen < PREFIX_MAX ? memlen : PREFIX_MAX;
        memcpy(pre, mem, ck->plen);
        ck->mempos = ck->plen;
    } else {
        /* the first bytes, for identify(): read until full or the end; from
         * a stream (a pipe) only until the headers are in, so that what
         * follows is analyzed as it comes */
        while (ck->plen < PREFIX_MAX) {
            if (!regular && prefix_enough(pre, ck->plen))
                break;
            ssize_t got = read(fd, pre + ck->plen, PREFIX_MAX - ck->plen);
            if (got > 0) {
                ck->plen += (size_t)got;
                continue;
            }
            if (got == 0) {
                ck->reof = true; /* the end came within the prefix */
                break;
            }
            if (errno == EINTR && !(stop && *stop))
                continue;
            seterr(err, errlen, "%s: cannot read: %s", name, strerror(errno));
            ck_close(ck);
            return NULL;
        }
    }
    ck->in_prefix = true;
    ck->vbase = ck->vp = pre;
    ck->vend = pre + ck->plen;
    if (ck->plen == 0) {
        seterr(err, errlen, "%s: not a pcap or pcapng capture (empty file)", name);
        ck_close(ck);
        return NULL;
    }
    fcs_cap_format fmt;
    fcs_precision prec;
    int dlt1, dlt2;
    uint32_t snap1, snap2;
    if (!identify(pre, ck->plen, &fmt, &prec, &dlt1, &dlt2, &snap1, &snap2)) {
        seterr(err, errlen, "%s: not a pcap or pcapng capture", name);
        ck_close(ck);
        return NULL;
    }
    if (dlt2 >= 0) {
        const char *n1 = lt_name(dlt1), *n2 = lt_name(dlt2);
        seterr(err, errlen, "%s: interfaces with different link types (%d %s and %d %s): "
               "libpcap reads one link type per file; extract one interface first, e.g. "
               "tshark -r FILE -Y 'frame.interface_id == 0' -w one.pcapng",
               name, dlt1, n1, dlt2, n2);
        ck_close(ck);
        return NULL;
    }
    if (snap2) {
        seterr(err, errlen, "%s: interfaces with different snapshot lengths (%u and %u): "
               "libpcap reads one snapshot length per file; extract one interface first, "
               "e.g. tshark -r FILE -Y 'frame.interface_id == 0' -w one.pcapng",
               name, (unsigned)snap1, (unsigned)(snap2 == 0xffffffffu ? 0 : snap2));
        ck_close(ck);
        return NULL;
    }
    cookie_io_functions_t io = { .read = ck_read, .write = NULL, .seek = NULL, .close = ck_close };
    FILE *fp = fopencookie(ck, "rb", io);
    if (!fp) {
        seterr(err, errlen, "%s: cannot open: %s", name, strerror(errno));
        ck_close(ck);
        return NULL;
    }
    char *iobuf = (char *)page_alloc(STDIO_BUF); /* see page_alloc */
    if (iobuf)
        setvbuf(fp, iobuf, _IOFBF, STDIO_BUF);
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!p) {
        /* libpcap did not take the stream. */
        fclose(fp);
        free(iobuf);
        seterr(err, errlen, "%s: not a readable capture: %s", name, ebuf);
        return NULL;
    }
    int dlt = pcap_datalink(p);
    if (!fcs_link_supported(dlt)) {
        const char *dn = pcap_datalink_val_to_name(dlt);
        seterr(err, errlen, "%s: unsupported link type %d (%s)", name, dlt, dn ? dn : "unknown");
        pcap_close(p);
        free(iobuf);
        return NULL;
    }
    cf->info.name = path;
    cf->info.format = fmt;
    cf->info.precision = prec;
    cf->info.dlt = dlt;
    cf->info.snaplen = pcap_snapshot(p);
    cf->info.stream = !mem && !regular;
    *iobuf_out = iobuf;
    *ck_out = ck;
    *fp_out = fp;
    return p;
}

/* A file that could not be read: skipped, its message kept. */
static bool mark_unreadable(cap_file *cf, const char *msg)
{
    free(cf->error);
    cf->error = strdup(msg);
    cf->info.unreadable = true;
    cf->info.error = cf->error;
    return cf->error != NULL;
}

static fcs_capture *cap_alloc(size_t n)
{
    fcs_capture *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->files = calloc(n ? n : 1, sizeof *c->files);
    if (!c->files) {
        free(c);
        return NULL;
    }
    c->nfiles = n;
    return c;
}

static void close_current(fcs_capture *c)
{
    if (c->p) {
        if (c->ck)
            c->done_bytes += ck_position(c->ck);
        pcap_close(c->p);   /* closes the cookie stream, which frees the cookie */
        c->p = NULL;
        c->fp = NULL;
        c->ck = NULL;
    }
    free(c->iobuf);
    c->iobuf = NULL;
    c->fast = 0;
}

void fcs_cap_close(fcs_capture *c)
{
    if (!c)
        return;
    if (c->src) {
        c->src->close(c->src->ud);
        free(c->src);
    }
    close_current(c);
    free(c->fbuf);
    if (c->stdin_p) {
        pcap_close(c->stdin_p);
        free(c->stdin_iobuf);
    }
    for (size_t i = 0; i < c->nfiles; i++)
    {
        free(c->files[i].path);
        free(c->files[i].error);
    }
    free(c->files);
    free(c);
}

fcs_capture *fcs_cap_open_files(const char *const *paths, size_t n, char *err, size_t errlen)
{
    if (n == 0) {
        seterr(err, errlen, "no capture file given");
        return NULL;
    }
    size_t nstdin = 0;
    for (size_t i = 0; i < n; i++)
        nstdin += strcmp(paths[i], "-") == 0;
    if (nstdin > 1) {
        seterr(err, errlen, "stdin (-) given more than once");
        return NULL;
    }
    fcs_capture *c = cap_alloc(n);
    if (!c) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        c->files[i].path = strdup(paths[i]);
        if (!c->files[i].path) {
            seterr(err, errlen, "out of memory");
            fcs_cap_close(c);
            return NULL;
        }
    }
    /* Check every file now; keep the first readable one (and stdin) open. */
    size_t nok = 0, first = n;
    for (size_t i = 0; i < n; i++) {
        char *iob;
        src_cookie *ck;
        FILE *fp;
        char e1[FCS_CAP_ERRMAX];
        cap_file *cf = &c->files[i];
        cf->info.name = cf->path;
        pcap_t *p = open_source(cf->path, NULL, 0, cf, &c->stop, &c->hook, &iob, &ck, &fp,
                                e1, sizeof e1);
        if (!p) {
            if (!mark_unreadable(cf, e1)) {
                seterr(err, errlen, "out of memory");
                fcs_cap_close(c);
                return NULL;
            }
            continue;
        }
        nok++;
        if (first == n) {
            first = i;
            c->p = p; c->iobuf = iob; c->ck = ck; c->fp = fp;
        } else if (strcmp(cf->path, "-") == 0) {
            c->stdin_p = p; c->stdin_iobuf = iob; c->stdin_ck = ck; c->stdin_fp = fp;
        } else {
            pcap_close(p);
            free(iob);
        }
    }
    if (nok == 0) {
        /* one line per file */
        size_t k = 0;
        if (err && errlen)
            err[0] = '\0';
        for (size_t i = 0; err && i < n && k + 1 < errlen; i++) {
            int w = snprintf(err + k, errlen - k, "%s%s", i ? "\n" : "", c->files[i].error);
            if (w < 0)
                break;
            k += (size_t)w;
        }
        fcs_cap_close(c);
        return NULL;
    }
    c->cur = first;
    c->files[first].info.opened = true;
    c->files[first].info.frame_base = 0;
    return c;
}

fcs_capture *fcs_cap_open_memory(const void *data, size_t len, const char *name,
                                 char *err, size_t errlen)
{
    fcs_capture *c = cap_alloc(1);
    if (!c) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    c->files[0].path = strdup(name ? name : "memory");
    if (!c->files[0].path) {
        fcs_cap_close(c);
        return NULL;
    }
    c->memimg = data;
    c->memlen = len;
    char *iob;
    src_cookie *ck;
    FILE *fp;
    const void *m = data ? data : "";
    pcap_t *p = open_source(c->files[0].path, m, len, &c->files[0], &c->stop, &c->hook, &iob, &ck, &fp,
                           err, errlen);
    if (!p) {
        fcs_cap_close(c);
        return NULL;
    }
    c->files[0].info.name = c->files[0].path;
    c->files[0].info.opened = true;
    c->p = p; c->iobuf = iob; c->ck = ck; c->fp = fp;
    return c;
}

fcs_capture *fcs_cap_open_live(const char *device, const fcs_live_options *opts,
                               char *err, size_t errlen)
{
    fcs_live_options o = { 0 };
    if (opts)
        o = *opts;
    if (!o.snaplen) o.snaplen = 262144;
    if (!o.buffer_bytes) o.buffer_bytes = FCS_LIVE_BUFFER_DEFAULT;
    if (!o.timeout_ms) o.timeout_ms = FCS_LIVE_TIMEOUT_MS;
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(device, ebuf);
    if (!p) {
        seterr(err, errlen, "%s: cannot open device: %s", device, ebuf);
        return NULL;
    }
    pcap_set_snaplen(p, o.snaplen);
    pcap_set_promisc(p, o.promisc ? 1 : 0);
    /* as tcpdump: the kernel hands over a block of packets when it is full
     * or the timeout passed (TPACKET_V3), not a wake-up per packet */
    pcap_set_timeout(p, o.timeout_ms);
    pcap_set_immediate_mode(p, o.immediate ? 1 : 0);
    pcap_set_buffer_size(p, o.buffer_bytes);
    bool nano = pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) == 0;
    int r = pcap_activate(p);
    if (r < 0) {
        const char *why = (r == PCAP_ERROR) ? pcap_geterr(p) : pcap_statustostr(r);
        if (r == PCAP_ERROR_NO_SUCH_DEVICE) {
            /* libpcap's detail repeats its status text ("No such device
             * exists: No such device exists"): say it once, with the way out */
            seterr(err, errlen, "%s: no such network interface (list them with "
                   "\"ip link\" or \"tcpdump -D\")", device);
        } else if (r == PCAP_ERROR_PERM_DENIED || r == PCAP_ERROR_IFACE_NOT_UP) {
            const char *st = pcap_statustostr(r), *more = pcap_geterr(p);
            bool same = !more || !*more || strcmp(more, st) == 0;
            seterr(err, errlen, "%s: cannot capture: %s%s%s", device, st,
                   same ? "" : ": ", same ? "" : more);
        } else {
            seterr(err, errlen, "%s: cannot capture: %s", device, why);
        }
        pcap_close(p);
        return NULL;
    }
    if (nano)
        nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
    int dlt = pcap_datalink(p);
    if (!fcs_link_supported(dlt)) {
        const char *dn = pcap_datalink_val_to_name(dlt);
        seterr(err, errlen, "%s: unsupported link type %d (%s)", device, dlt, dn ? dn : "unknown");
        pcap_close(p);
        return NULL;
    }
    if (o.filter && *o.filter) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, o.filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
            seterr(err, errlen, "%s: bad filter \"%s\": %s", device, o.filter, pcap_geterr(p));
            pcap_close(p);
            return NULL;
        }
        int sr = pcap_setfilter(p, &prog);
        pcap_freecode(&prog);
        if (sr < 0) {
            seterr(err, errlen, "%s: cannot set filter: %s", device, pcap_geterr(p));
            pcap_close(p);
            return NULL;
        }
    }
    /* we wait in poll() ourselves (live_next): FCS_CAP_TIMEOUT when the
     * ring runs dry and every FCS_LIVE_TICK_MS while nothing comes */
    if (pcap_setnonblock(p, 1, ebuf) != 0) {
        seterr(err, errlen, "%s: cannot capture: %s", device, ebuf);
        pcap_close(p);
        return NULL;
    }
    fcs_capture *c = cap_alloc(1);
    if (!c || !(c->files[0].path = strdup(device))) {
        seterr(err, errlen, "out of memory");
        pcap_close(p);
        fcs_cap_close(c);
        return NULL;
    }
    c->live = true;
    c->nano = nano;
    c->immediate = o.immediate;
    c->block_ns = o.immediate ? 0 : (int64_t)o.timeout_ms * 1000000;
    c->p = p;
    c->files[0].info.name = c->files[0].path;
    c->files[0].info.format = FCS_FMT_LIVE;
    c->files[0].info.opened = true;
    c->files[0].info.precision = nano ? FCS_PREC_NS : FCS_PREC_US;
    c->files[0].info.dlt = dlt;
    c->files[0].info.snaplen = pcap_snapshot(p);
    return c;
}

fcs_capture *fcs_cap_open_source(const char *name, const fcs_cap_source *src,
                                 char *err, size_t errlen)
{
    fcs_capture *c = cap_alloc(1);
    if (!c || !(c->files[0].path = strdup(name)) || !(c->src = malloc(sizeof *c->src))) {
        seterr(err, errlen, "out of memory");
        src->close(src->ud);
        fcs_cap_close(c);
        return NULL;
    }
    *c->src = *src;
    c->live = true;
    c->nano = src->precision == FCS_PREC_NS;
    c->files[0].info.name = c->files[0].path;
    c->files[0].info.format = FCS_FMT_LIVE;
    c->files[0].info.precision = src->precision;
    c->files[0].info.dlt = src->dlt;
    c->files[0].info.snaplen = 262144;
    return c;
}

/* Move to the next file of the timeline; false at the end or on error (c->err). */
static bool next_file(fcs_capture *c, int *rc)
{
    close_current(c);
    do
        c->cur++;
    while (c->cur < c->nfiles && c->files[c->cur].info.unreadable);
    if (c->cur >= c->nfiles) {
        c->eof = true;
        *rc = FCS_CAP_EOF;
        return false;
    }
    cap_file *cf = &c->files[c->cur];
    cf->info.opened = true;
    cf->info.frame_base = c->frames;
    if (strcmp(cf->path, "-") == 0 && c->stdin_p) {
        c->p = c->stdin_p; c->iobuf = c->stdin_iobuf; c->ck = c->stdin_ck; c->fp = c->stdin_fp;
        c->stdin_p = NULL; c->stdin_iobuf = NULL;
        return true;
    }
    char *iob;
    src_cookie *ck;
    FILE *fp;
    pcap_t *p = open_source(cf->path, NULL, 0, cf, &c->stop, &c->hook, &iob, &ck, &fp, c->err,
                            sizeof c->err);
    if (!p) {
        /* it was readable when opened first (removed since?): skip it */
        cf->info.opened = false;
        if (!mark_unreadable(cf, c->err)) {
            c->eof = true;
            c->fatal = true;
            *rc = FCS_CAP_ERROR;
            return false;
        }
        c->pending_next = true;
        *rc = FCS_CAP_SKIPPED;
        return false;
    }
    cf->info.name = cf->path;
    c->p = p; c->iobuf = iob; c->ck = ck; c->fp = fp;
    return true;
}

/* Decide whether the current file's records are read by fast_next. */
static void fast_setup(fcs_capture *c)
{
    c->fast = -1;
    const cap_file *cf = &c->files[c->cur];
    src_cookie *k = c->ck;
    if (c->live || !c->fp || !k || cf->info.format != FCS_FMT_PCAP || k->plen < 24)
        return;
    /* libpcap has read the file header (24 bytes) through its stdio buffer,
     * which took them from the prefix: all it holds must be prefix bytes. */
    if (!k->in_prefix || k->pblen || k->vp < k->prefix + 24)
        return;
    const uint16_t one = 1;
    bool host_be = *(const uint8_t *)&one == 0;
    const uint8_t *h = k->prefix;
    uint32_t m = rd32(h, host_be);
    if (m != 0xa1b2c3d4u && m != 0xa1b23c4du)
        return; /* other byte order or a variant magic: libpcap */
    if (rd16(h + 4, host_be) != 2 || rd16(h + 6, host_be) != 4)
        return; /* old versions may have caplen and len swapped: libpcap */
    int snap = pcap_snapshot(c->p);
    if (snap <= 0 || (size_t)snap > FAST_BUF - 16)
        return;
    if (!c->fbuf && !(c->fbuf = malloc(FAST_BUF)))
        return;
    c->fast_us = m == 0xa1b2c3d4u;
    c->fast_snap = (uint32_t)snap;
    k->want_ring = true;
    /* the bytes after the header that libpcap's buffer holds: read them again */
    k->vp = k->prefix + 24;
    c->fast = 1;
}

/* The next record of a classic pcap file when it is not whole in the current
 * view: 1 with *hdr and *data (valid until the next call), PCAP_ERROR_BREAK
 * at the clean end of the file, 0 when the rest is libpcap's (see the top of
 * this file). A record split over two views is gathered in c->fbuf. */
static int fast_next(fcs_capture *c, struct pcap_pkthdr **hdr, const u_char **data)
{
    src_cookie *k = c->ck;
    size_t have = 0, need = 16; /* bytes of the record gathered in fbuf, wanted */
    uint32_t w[4];
    const uint8_t *rec = NULL;
    for (;;) {
        size_t avail = (size_t)(k->vend - k->vp);
        if (have == 0) {
            if (avail >= 16) {
                memcpy(w, k->vp, sizeof w); /* host byte order (fast_setup) */
                if (w[2] > c->fast_snap)
                    goto libpcap; /* libpcap truncates or rejects it */
                if (avail - 16 >= w[2]) {
                    rec = k->vp;
                    k->vp += 16 + (size_t)w[2];
                    break;
                }
            }
            if (avail == 0) {
                int g = view_next(k);
                if (g > 0)
                    continue;
                if (g == 0)
                    return PCAP_ERROR_BREAK;
                goto libpcap; /* a read error: libpcap reads it and says so */
            }
        }
        size_t take = need - have < avail ? need - have : avail;
        memcpy(c->fbuf + have, k->vp, take);
        k->vp += take;
        have += take;
        if (have == 16 && need == 16) {
            memcpy(w, c->fbuf, sizeof w);
            if (w[2] > c->fast_snap)
                goto libpcap;
            need = 16 + (size_t)w[2];
        }
        if (have == need) {
            rec = c->fbuf;
            break;
        }
        if (k->vp == k->vend && view_next(k) <= 0)
            goto libpcap; /* a partial record at the end, or a read error */
    }
    struct pcap_pkthdr *ph = &c->fhdr;
    ph->ts.tv_sec = (time_t)w[0];
    ph->ts.tv_usec = c->fast_us ? (suseconds_t)w[1] * 1000 : (suseconds_t)w[1];
    ph->caplen = w[2];
    ph->len = w[3];
    *hdr = ph;
    *data = rec + 16;
    return 1;
libpcap:
    /* libpcap reads on from the first byte not handed out: its stdio buffer
     * (stale: bytes re-read above) is dropped, and the cookie serves the
     * gathered bytes first, then the rest of the view. fbuf stays untouched
     * until this file is closed. */
    k->pb = c->fbuf;
    k->pblen = have;
    k->pbpos = 0;
    __fpurge(c->fp);
    clearerr(c->fp);
    c->fast = -1;
    return 0;
}

/* A packet of file cf (data, lengths and ts_ns set): number it, count it. */
static inline int packet_out(fcs_capture *c, cap_file *cf, fcs_packet *pkt)
{
    pkt->frame = ++c->frames;
    pkt->dlt = cf->info.dlt;
    if (cf->info.packets++ == 0) {
        cf->info.first_frame = pkt->frame;
        cf->info.have_ts = true;
        cf->info.first_ts = cf->info.last_ts = pkt->ts_ns;
    } else if (pkt->ts_ns < cf->info.first_ts) {
        cf->info.first_ts = pkt->ts_ns;
    } else if (pkt->ts_ns > cf->info.last_ts) {
        cf->info.last_ts = pkt->ts_ns;
    }
    c->last_ts = pkt->ts_ns;
    return FCS_CAP_PACKET;
}

void fcs_cap_drain(fcs_capture *c)
{
    if (c->src) {
        if (c->fatal || !c->src->drain)
            return;
        c->stop = 0;
        c->eof = false;
        c->src->drain(c->src->ud);
        return;
    }
    if (!c->live || !c->p || c->fatal)
        return;
    c->stop = 0;
    c->eof = false; /* the stop's end of input */
    c->draining = true;
    c->drain_start = c->drain_quiet = mono_now();
}

/* Live, after fcs_cap_drain(): the packets already buffered, without
 * blocking; PCAP_ERROR_BREAK once none came for 100 ms (packets still in the
 * network stack at the stop arrive within that) plus the block timeout (the
 * kernel hands over the last, partly filled block only when it passes) or
 * after 2 s in all (a busy link is never quiet). */
static int drain_next(fcs_capture *c, struct pcap_pkthdr **hdr, const u_char **data)
{
    for (;;) {
        if (c->stop)
            return PCAP_ERROR_BREAK;
        int64_t now = mono_now();
        if (now - c->drain_quiet >= 100000000 + c->block_ns || now - c->drain_start >= 2000000000)
            return PCAP_ERROR_BREAK;
        int r = pcap_next_ex(c->p, hdr, data);
        if (r == 1) {
            c->drain_quiet = mono_now();
            return 1;
        }
        if (r != 0 && r != PCAP_ERROR_BREAK) /* PCAP_ERROR_BREAK: the stop's pcap_breakloop */
            return r;
        struct pollfd pf = { pcap_get_selectable_fd(c->p), POLLIN, 0 };
        if (pf.fd >= 0)
            (void)poll(&pf, 1, 10);
    }
}

/* Live device, the ring read without blocking (fcs_cap_open_live): a
 * packet (1); 0 (FCS_CAP_TIMEOUT) once when the ring runs dry, unless
 * immediate, and after FCS_LIVE_TICK_MS of waiting in poll() with nothing
 * coming or when a signal interrupts the wait; libpcap's error or
 * PCAP_ERROR_BREAK (the stop) otherwise. */
static int live_next(fcs_capture *c, struct pcap_pkthdr **hdr, const u_char **data)
{
    for (;;) {
        int r = pcap_next_ex(c->p, hdr, data);
        if (r == 1) {
            c->dry_told = false;
            return 1;
        }
        if (r != 0)
            return r;
        if (c->stop)
            return PCAP_ERROR_BREAK;
        if (!c->dry_told && !c->immediate) {
            c->dry_told = true;
            return 0;
        }
        /* a signal that comes between the check above and poll() is seen
         * after FCS_LIVE_TICK_MS at the latest */
        struct pollfd pf = { pcap_get_selectable_fd(c->p), POLLIN, 0 };
        int pr = poll(&pf, 1, FCS_LIVE_TICK_MS);
        if (pr <= 0) { /* nothing came, a signal, or poll failed */
            c->dry_told = true;
            return c->stop ? PCAP_ERROR_BREAK : 0;
        }
        /* ready, or an error libpcap's next read reports */
    }
}

/* fcs_cap_next() for a source. */
static int src_next(fcs_capture *c, fcs_packet *pkt)
{
    if (c->stop || c->eof)
        return c->fatal ? FCS_CAP_ERROR : FCS_CAP_EOF;
    int r = c->src->next(c->src->ud, pkt);
    if (r == FCS_CAP_PACKET)
        return packet_out(c, &c->files[0], pkt);
    if (r == FCS_CAP_ERROR) {
        seterr(c->err, sizeof c->err, "%s: capture failed: %s", c->files[0].path,
               c->src->error(c->src->ud));
        c->fatal = true;
    }
    if (r == FCS_CAP_EOF || r == FCS_CAP_ERROR)
        c->eof = true;
    return r;
}

static int cap_next_slow(fcs_capture *c, fcs_packet *pkt)
#if defined(__GNUC__)
    __attribute__((noinline))
#endif
    ;

int fcs_cap_next(fcs_capture *c, fcs_packet *pkt)
{
    /* Hot path: a whole record in the current view (fast_next's first
     * case), its timestamp converted straight to nanoseconds. */
    if (c->fast > 0 && !c->stop && !c->pending_next && !c->eof && c->p) {
        src_cookie *k = c->ck;
        size_t avail = (size_t)(k->vend - k->vp);
        if (avail >= 16) {
            const uint8_t *r = k->vp;
            uint32_t w[4];
            memcpy(w, r, sizeof w); /* host byte order (fast_setup) */
            if (w[2] <= c->fast_snap && avail - 16 >= w[2]) {
                int64_t frac = c->fast_us ? (int64_t)w[1] * 1000 : (int64_t)w[1];
                if (frac > 999999999)
                    frac = 0;
                k->vp = r + 16 + w[2];
                cap_file *cf = &c->files[c->cur];
                pkt->data = r + 16;
                pkt->caplen = w[2];
                pkt->len = w[3];
                pkt->ts_ns = (int64_t)w[0] * 1000000000ll + frac;
                return packet_out(c, cf, pkt);
            }
        }
    }
    return cap_next_slow(c, pkt);
}

/* Everything else: file changes, refills, libpcap, errors. */
static int cap_next_slow(fcs_capture *c, fcs_packet *pkt)
{
    if (c->src)
        return src_next(c, pkt);
    for (;;) {
        if (c->stop) {
            c->eof = true;
            return FCS_CAP_EOF;
        }
        if (c->pending_next) {
            int rc;
            c->pending_next = false;
            if (!next_file(c, &rc))
                return rc;
        }
        if (c->eof || !c->p)
            return c->fatal ? FCS_CAP_ERROR : FCS_CAP_EOF;
        struct pcap_pkthdr *hdr;
        const u_char *data;
        if (c->fast == 0)
            fast_setup(c);
        int r = 0;
        if (c->fast > 0)
            r = fast_next(c, &hdr, &data);
        if (r == 0)
            r = c->draining ? drain_next(c, &hdr, &data)
                : c->live ? live_next(c, &hdr, &data) : pcap_next_ex(c->p, &hdr, &data);
        if (r != 1 && c->stop) {
            /* a read interrupted by fcs_cap_breakloop() is no damage */
            c->eof = true;
            return FCS_CAP_EOF;
        }
        cap_file *cf = &c->files[c->cur];
        if (r == 1) {
            pkt->data = data;
            pkt->caplen = hdr->caplen;
            pkt->len = hdr->len;
            int64_t frac = (int64_t)hdr->ts.tv_usec;
            if (c->live && !c->nano)
                frac *= 1000;
            /* pcapng timestamps are 64-bit: saturate instead of overflowing
             * (int64 nanoseconds reach the year 2262). */
            int64_t sec = (int64_t)hdr->ts.tv_sec;
            if (sec > 9223372035ll) sec = 9223372035ll;
            if (sec < -9223372035ll) sec = -9223372035ll;
            if (frac < 0 || frac > 999999999) frac = 0;
            pkt->ts_ns = sec * 1000000000ll + frac;
            return packet_out(c, cf, pkt);
        }
        if (r == 0)
            return FCS_CAP_TIMEOUT;
        if (r == PCAP_ERROR_BREAK) {
            /* Offline, -2 is also the end of a file: our flag tells them apart. */
            if (c->live || c->stop) {
                c->eof = true;
                return FCS_CAP_EOF;
            }
            int rc;
            if (!next_file(c, &rc))
                return rc;
            continue;
        }
        /* PCAP_ERROR */
        if (c->live) {
            seterr(c->err, sizeof c->err, "%s: capture failed: %s", cf->path, pcap_geterr(c->p));
            c->eof = true;
            c->fatal = true;
            return FCS_CAP_ERROR;
        }
        c->damage_frame = c->frames + 1;
        cf->info.damaged = true;
        const char *why = pcap_geterr(c->p);
        if (strstr(why, "of the first interface"))
            seterr(c->err, sizeof c->err, "%s: unsupported at frame %llu: %s (libpcap reads "
                   "one link type and snapshot length per file; the rest was not read)",
                   disp(cf->path), (unsigned long long)(c->damage_frame - cf->info.frame_base), why);
        else
            seterr(c->err, sizeof c->err, "%s: truncated or corrupt at frame %llu: %s",
                   disp(cf->path), (unsigned long long)(c->damage_frame - cf->info.frame_base), why);
        /* the damaged packet keeps its number: the next file starts after it */
        c->frames++;
        free(cf->error);
        cf->error = strdup(c->err);
        cf->info.error = cf->error;
        c->pending_next = true;
        return FCS_CAP_DAMAGED;
    }
}

void fcs_cap_set_idle(fcs_capture *c, void (*fn)(void *ud), void *ud)
{
    c->hook.fn = fn;
    c->hook.ud = ud;
}

bool fcs_cap_is_stream(const fcs_capture *c)
{
    for (size_t i = 0; i < c->nfiles; i++)
        if (!c->live && c->files[i].info.stream)
            return true;
    return false;
}

bool fcs_cap_frame_locate(const fcs_capture *c, uint64_t frame, size_t *file,
                          uint64_t *frame_in_file)
{
    if (frame == 0 || frame > c->frames + 1)
        return false;
    /* the last file opened whose frames begin before this one (files are
     * opened in order: the current one is the usual answer) */
    for (size_t i = (c->cur < c->nfiles ? c->cur : c->nfiles - 1) + 1; i-- > 0;) {
        const fcs_cap_file_info *fi = &c->files[i].info;
        if (fi->opened && fi->frame_base < frame) {
            *file = i;
            *frame_in_file = frame - fi->frame_base;
            return true;
        }
    }
    return false;
}

const char *fcs_cap_error(const fcs_capture *c) { return c->err; }
uint64_t fcs_cap_damage_frame(const fcs_capture *c) { return c->damage_frame; }
int64_t fcs_cap_last_ts(const fcs_capture *c) { return c->last_ts; }
size_t fcs_cap_file_count(const fcs_capture *c) { return c->nfiles; }
size_t fcs_cap_current_file(const fcs_capture *c) { return c->cur < c->nfiles ? c->cur : c->nfiles - 1; }

bool fcs_cap_get_file_info(const fcs_capture *c, size_t i, fcs_cap_file_info *out)
{
    if (i >= c->nfiles)
        return false;
    *out = c->files[i].info;
    return true;
}

fcs_precision fcs_cap_precision(const fcs_capture *c)
{
    for (size_t i = 0; i < c->nfiles; i++)
        if (c->files[i].info.precision == FCS_PREC_NS)
            return FCS_PREC_NS;
    return FCS_PREC_US;
}

void fcs_cap_progress(const fcs_capture *c, uint64_t *done, uint64_t *total)
{
    uint64_t t = 0;
    for (size_t i = 0; i < c->nfiles; i++) {
        if (c->files[i].info.unreadable)
            continue;
        if (!c->files[i].size && !c->live) {
            t = 0;
            break;
        }
        t += c->files[i].size;
    }
    if (done)
        *done = c->done_bytes + (c->ck ? ck_position(c->ck) : 0);
    if (total)
        *total = c->live ? 0 : t;
}

bool fcs_cap_live_stats(fcs_capture *c, uint64_t *received, uint64_t *dropped, uint64_t *ifdropped)
{
    if (c->src) {
        if (ifdropped)
            *ifdropped = 0;
        return c->src->stats && c->src->stats(c->src->ud, received, dropped);
    }
    if (!c->live || !c->p)
        return false;
    struct pcap_stat ps;
    if (pcap_stats(c->p, &ps) != 0)
        return false;
    if (received) *received = ps.ps_recv;
    if (dropped) *dropped = ps.ps_drop;
    if (ifdropped) *ifdropped = ps.ps_ifdrop;
    return true;
}

int64_t fcs_cap_delivery_lag_ns(const fcs_capture *c)
{
    /* the block timeout, plus the kernel timer's tick and our wake-up */
    return c->live && c->p && c->block_ns ? c->block_ns + 50000000 : 0;
}

int fcs_cap_fd(const fcs_capture *c)
{
    return c->live && c->p ? pcap_get_selectable_fd(c->p) : -1;
}

void fcs_cap_breakloop(fcs_capture *c)
{
    if (!c)
        return;
    c->stop = 1;
    if (c->src && c->src->breakloop)
        c->src->breakloop(c->src->ud);
    if (c->p)
        pcap_breakloop(c->p);
}

int fcs_cap_feed(fcs_capture *c, fcs_tcp *t, uint64_t max_packets)
{
    fcs_packet pkt;
    for (uint64_t n = 0; max_packets == 0 || n < max_packets; n++) {
        int r = fcs_cap_next(c, &pkt);
        switch (r) {
        case FCS_CAP_PACKET:
            fcs_tcp_packet(t, &pkt);
            break;
        case FCS_CAP_DAMAGED:
            fcs_tcp_raise(t, FSD_A_capture_truncated, NULL, c->damage_frame, c->last_ts, c->err);
            break;
        case FCS_CAP_SKIPPED:
            break;
        default:
            return r;
        }
    }
    return FCS_CAP_PACKET;
}

void fcs_cap_report_drops(fcs_capture *c, fcs_tcp *t)
{
    uint64_t recv, drop, ifdrop;
    if (!fcs_cap_live_stats(c, &recv, &drop, &ifdrop))
        return;
    if (drop > c->last_drop || ifdrop > c->last_ifdrop) {
        char d[FSD_DETAIL_MAX];
        snprintf(d, sizeof d, "%llu packets dropped by the kernel, %llu by the interface",
                 (unsigned long long)(drop - c->last_drop),
                 (unsigned long long)(ifdrop - c->last_ifdrop));
        fcs_tcp_raise(t, FSD_A_capture_drops, NULL, c->frames, c->last_ts, d);
        c->last_drop = drop;
        c->last_ifdrop = ifdrop;
    }
}
