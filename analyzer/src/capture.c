/* capture.c — capture input: pcap/pcapng files as one timeline, stdin,
 * memory images, live devices and frame sources (fcs_cap_open_source).
 *
 * Normative references: pcap file format (draft-ietf-opsawg-pcap §4: magic
 * 0xA1B2C3D4 = microseconds, 0xA1B23C4D = nanoseconds, either byte order),
 * pcapng (draft-ietf-opsawg-pcapng §4.1 SHB, §4.2 IDB, option if_tsresol = 9),
 * libpcap 1.10 (pcap_fopen_offline_with_tstamp_precision, pcap_create/activate).
 *
 * Files are read by libpcap from a stdio stream over our own byte source
 * (capbytes.c; its first 64 KiB identify the format and precision, which
 * libpcap does not report), classic pcap records in this host's byte order by
 * pcapfast.c without libpcap. This file opens the inputs, walks the timeline
 * from file to file, numbers the frames and words the errors.
 */
#define _GNU_SOURCE
#include "capture.h"
#include "pcapfast.h"
#include "tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STDIO_BUF 65536 /* libpcap's stdio buffer (page-aligned: fcs_page_alloc) */

typedef struct cap_file {
    char *path;             /* as given */
    fcs_cap_file_info info;
    uint64_t size;          /* 0 unknown */
    char *error;            /* info.error's storage */
} cap_file;

/* What open_source() hands over: libpcap's handle, the stream it reads (its
 * to close) with the cookie underneath, and the stream's buffer (ours). */
typedef struct cap_handle {
    pcap_t *p;
    FILE *fp;
    src_cookie *ck;
    char *iobuf;
} cap_handle;

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
    fcs_idle_hook hook;     /* fcs_cap_set_idle() */
    bool draining;          /* live: fcs_cap_drain() was called */
    int64_t drain_start, drain_quiet; /* CLOCK_MONOTONIC ns */
    /* stdin kept open from validation to reading */
    cap_handle stdin_h;
    /* live */
    bool nano;
    bool dry_told;          /* device: FCS_CAP_TIMEOUT given since the ring ran dry */
    bool immediate;         /* device: pcap immediate mode (no dry FCS_CAP_TIMEOUT) */
    int64_t block_ns;       /* device: the block timeout (0: immediate) */
    uint64_t last_drop, last_ifdrop;
    const void *memimg;
    size_t memlen;
    fcs_pcapfast fast;      /* our own reading of classic pcap records */
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

/* ---- format and precision from the first bytes ---- */

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
    uint32_t m = fcs_rd32(b, true);
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
    bool be = fcs_rd32(b + 8, true) == 0x1a2b3c4d;
    /* Walk blocks in the prefix to the first IDB. */
    size_t off = 0;
    for (int blocks = 0; blocks < 64 && off + 12 <= n; blocks++) {
        uint32_t type = fcs_rd32(b + off, be);
        uint32_t blen = fcs_rd32(b + off + 4, be);
        if (blen < 12 || blen > n - off)
            break;
        if (type == 1 && blen >= 20) {
            int lt = fcs_rd16(b + off + 8, be);
            uint32_t sl = fcs_rd32(b + off + 12, be);
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
                uint16_t code = fcs_rd16(b + o, be), olen = fcs_rd16(b + o + 2, be);
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
/* ---- opening one file ---- */

/* Step 1: the descriptor of a file ("-": stdin), its kind and size. */
static bool open_fd(const char *path, const char *name, cap_file *cf, int *fd, bool *own,
                    bool *regular, char *err, size_t errlen)
{
    *fd = -1;
    *own = *regular = false;
    if (strcmp(path, "-") == 0) {
        *fd = STDIN_FILENO;
    } else {
        *fd = open(path, O_RDONLY | O_CLOEXEC);
        if (*fd < 0) {
            seterr(err, errlen, "%s: cannot open: %s", name, strerror(errno));
            return false;
        }
        *own = true;
    }
    struct stat sb;
    if (fstat(*fd, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            seterr(err, errlen, "%s: cannot read: is a directory", name);
            if (*own) close(*fd);
            return false;
        }
        if (S_ISREG(sb.st_mode)) {
            *regular = true;
            cf->size = (uint64_t)sb.st_size;
            (void)posix_fadvise(*fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        }
    }
    return true;
}

/* Step 2: the byte source over the descriptor or the memory image, its
 * prefix read. NULL: error message set. */
static src_cookie *open_bytes(const char *path, const char *name, const void *mem,
                              size_t memlen, cap_file *cf, fcs_capture *c,
                              char *err, size_t errlen)
{
    int fd = -1;
    bool own = false, regular = false;
    if (!mem) {
        if (!open_fd(path, name, cf, &fd, &own, &regular, err, errlen))
            return NULL;
    } else {
        cf->size = memlen;
    }
    src_cookie *ck = fcs_capbytes_new(fd, own, regular, cf->size, &c->stop, &c->hook);
    if (!ck) {
        if (own) close(fd);
        seterr(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    if (fcs_capbytes_read_prefix(ck, mem, memlen) < 0) {
        seterr(err, errlen, "%s: cannot read: %s", name, strerror(errno));
        fcs_capbytes_free(ck);
        return NULL;
    }
    return ck;
}

/* Step 3: the format and precision from the prefix; what libpcap cannot
 * read as one file (interfaces of different link types or snapshot
 * lengths) is refused here with the way out. false: error message set. */
static bool check_format(const src_cookie *ck, const char *name, fcs_cap_format *fmt,
                         fcs_precision *prec, char *err, size_t errlen)
{
    if (ck->plen == 0) {
        seterr(err, errlen, "%s: not a pcap or pcapng capture (empty file)", name);
        return false;
    }
    int dlt1, dlt2;
    uint32_t snap1, snap2;
    if (!identify(ck->prefix, ck->plen, fmt, prec, &dlt1, &dlt2, &snap1, &snap2)) {
        seterr(err, errlen, "%s: not a pcap or pcapng capture", name);
        return false;
    }
    if (dlt2 >= 0) {
        const char *n1 = lt_name(dlt1), *n2 = lt_name(dlt2);
        seterr(err, errlen, "%s: interfaces with different link types (%d %s and %d %s): "
               "libpcap reads one link type per file; extract one interface first, e.g. "
               "tshark -r FILE -Y 'frame.interface_id == 0' -w one.pcapng",
               name, dlt1, n1, dlt2, n2);
        return false;
    }
    if (snap2) {
        seterr(err, errlen, "%s: interfaces with different snapshot lengths (%u and %u): "
               "libpcap reads one snapshot length per file; extract one interface first, "
               "e.g. tshark -r FILE -Y 'frame.interface_id == 0' -w one.pcapng",
               name, (unsigned)snap1, (unsigned)(snap2 == 0xffffffffu ? 0 : snap2));
        return false;
    }
    return true;
}

/* Step 4: libpcap on a stdio stream over the cookie (which the stream owns
 * from here on, also on failure); a link type we decode. false: error
 * message set, everything released. */
static bool open_pcap(src_cookie *ck, const char *name, cap_handle *h, char *err, size_t errlen)
{
    FILE *fp = fcs_capbytes_fopen(ck);
    if (!fp) {
        seterr(err, errlen, "%s: cannot open: %s", name, strerror(errno));
        fcs_capbytes_free(ck);
        return false;
    }
    char *iobuf = (char *)fcs_page_alloc(STDIO_BUF);
    if (iobuf)
        setvbuf(fp, iobuf, _IOFBF, STDIO_BUF);
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!p) {
        /* libpcap did not take the stream. */
        fclose(fp);
        free(iobuf);
        seterr(err, errlen, "%s: not a readable capture: %s", name, ebuf);
        return false;
    }
    int dlt = pcap_datalink(p);
    if (!fcs_link_supported(dlt)) {
        const char *dn = pcap_datalink_val_to_name(dlt);
        seterr(err, errlen, "%s: unsupported link type %d (%s)", name, dlt, dn ? dn : "unknown");
        pcap_close(p);
        free(iobuf);
        return false;
    }
    *h = (cap_handle){ .p = p, .fp = fp, .ck = ck, .iobuf = iobuf };
    return true;
}

/* Open one file ("-": stdin) or memory image (mem) of the timeline for
 * libpcap, cf's size and info filled in. false: the one-line message in err. */
static bool open_source(const char *path, const void *mem, size_t memlen, cap_file *cf,
                        fcs_capture *c, cap_handle *h, char *err, size_t errlen)
{
    const char *name = disp(path);
    src_cookie *ck = open_bytes(path, name, mem, memlen, cf, c, err, errlen);
    if (!ck)
        return false;
    fcs_cap_format fmt;
    fcs_precision prec;
    if (!check_format(ck, name, &fmt, &prec, err, errlen)) {
        fcs_capbytes_free(ck);
        return false;
    }
    if (!open_pcap(ck, name, h, err, errlen))
        return false;
    cf->info.name = path;
    cf->info.format = fmt;
    cf->info.precision = prec;
    cf->info.dlt = pcap_datalink(h->p);
    cf->info.snaplen = pcap_snapshot(h->p);
    cf->info.stream = !mem && !ck->regular;
    return true;
}

/* The file being read is the one h holds. */
static void use_handle(fcs_capture *c, const cap_handle *h)
{
    c->p = h->p;
    c->iobuf = h->iobuf;
    c->ck = h->ck;
    c->fp = h->fp;
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
            c->done_bytes += fcs_capbytes_position(c->ck);
        pcap_close(c->p);   /* closes the cookie stream, which frees the cookie */
        c->p = NULL;
        c->fp = NULL;
        c->ck = NULL;
    }
    free(c->iobuf);
    c->iobuf = NULL;
    c->fast.on = 0;
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
    free(c->fast.buf);
    if (c->stdin_h.p) {
        pcap_close(c->stdin_h.p);
        free(c->stdin_h.iobuf);
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
        cap_handle h;
        char e1[FCS_CAP_ERRMAX];
        cap_file *cf = &c->files[i];
        cf->info.name = cf->path;
        if (!open_source(cf->path, NULL, 0, cf, c, &h, e1, sizeof e1)) {
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
            use_handle(c, &h);
        } else if (strcmp(cf->path, "-") == 0) {
            c->stdin_h = h;
        } else {
            pcap_close(h.p);
            free(h.iobuf);
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
    cap_handle h;
    const void *m = data ? data : "";
    if (!open_source(c->files[0].path, m, len, &c->files[0], c, &h, err, errlen)) {
        fcs_cap_close(c);
        return NULL;
    }
    c->files[0].info.name = c->files[0].path;
    c->files[0].info.opened = true;
    use_handle(c, &h);
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
    if (strcmp(cf->path, "-") == 0 && c->stdin_h.p) {
        use_handle(c, &c->stdin_h);
        c->stdin_h = (cap_handle){ 0 };
        return true;
    }
    cap_handle h;
    if (!open_source(cf->path, NULL, 0, cf, c, &h, c->err, sizeof c->err)) {
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
    use_handle(c, &h);
    return true;
}

/* Decide whether the current file's records are read by pcapfast.c. */
static void fast_setup(fcs_capture *c)
{
    c->fast.on = -1;
    const cap_file *cf = &c->files[c->cur];
    if (c->live || !c->fp || !c->ck || cf->info.format != FCS_FMT_PCAP)
        return;
    fcs_pcapfast_setup(&c->fast, c->ck, pcap_snapshot(c->p));
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
    c->drain_start = c->drain_quiet = fcs_mono_ns();
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
        int64_t now = fcs_mono_ns();
        if (now - c->drain_quiet >= 100000000 + c->block_ns || now - c->drain_start >= 2000000000)
            return PCAP_ERROR_BREAK;
        int r = pcap_next_ex(c->p, hdr, data);
        if (r == 1) {
            c->drain_quiet = fcs_mono_ns();
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
    /* Hot path: a whole record in the current view (pcapfast.h). */
    if (c->fast.on > 0 && !c->stop && !c->pending_next && !c->eof && c->p &&
        fcs_pcapfast_whole(&c->fast, c->ck, pkt))
        return packet_out(c, &c->files[c->cur], pkt);
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
        if (c->fast.on == 0)
            fast_setup(c);
        int r = 0;
        if (c->fast.on > 0)
            r = fcs_pcapfast_next(&c->fast, c->ck, c->fp, &hdr, &data);
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
        *done = c->done_bytes + (c->ck ? fcs_capbytes_position(c->ck) : 0);
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
