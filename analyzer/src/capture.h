/* capture.h — capture input for fcgiscope: pcap/pcapng files as one timeline, stdin, live devices.
 *
 * Normative references: pcap file format (draft-ietf-opsawg-pcap), pcapng
 * (draft-ietf-opsawg-pcapng: SHB, IDB option if_tsresol), libpcap 1.10 API
 * (pcap_fopen_offline_with_tstamp_precision, pcap_create/pcap_activate,
 * pcap_stats).
 *
 * Usage (offline):
 *
 *   char err[FCS_CAP_ERRMAX];
 *   fcs_capture *cap = fcs_cap_open_files(paths, n, err, sizeof err);
 *   if (!cap) { fprintf(stderr, "fcgiscope: %s\n", err); exit(2); }
 *   fcs_packet pkt;
 *   for (;;) {
 *       int r = fcs_cap_next(cap, &pkt);
 *       if (r == FCS_CAP_PACKET)      fcs_tcp_packet(tcp, &pkt);
 *       else if (r == FCS_CAP_DAMAGED) fcs_tcp_raise(tcp, FSD_A_capture_truncated, NULL,
 *                                        fcs_cap_damage_frame(cap), fcs_cap_last_ts(cap),
 *                                        fcs_cap_error(cap));   // reading goes on with the next file
 *       else if (r == FCS_CAP_TIMEOUT) continue;                 // live only: check stop flags
 *       else if (r == FCS_CAP_EOF) break;
 *       else { fprintf(stderr, "fcgiscope: %s\n", fcs_cap_error(cap)); exit 2; }  // FCS_CAP_ERROR
 *   }
 *   fcs_cap_close(cap);
 *
 * (fcs_cap_feed() in tcp.h runs this loop in batches.)
 *
 * Frame numbers: 1-based and continuous over the whole timeline. The first
 * packet of the second file is numbered one more than the last packet read
 * from the first file (as if the files had been concatenated). A damaged
 * packet keeps the number it would have had: fcs_cap_damage_frame() (last
 * good frame + 1), and the next file continues after it, so every number
 * belongs to one file: fcs_cap_frame_locate() gives the file and the number
 * within it (what reports show).
 *
 * Errors: every message is one line that names the file ("-" is "stdin") or
 * device, and the reason, e.g.
 *   "x.pcap: cannot open: No such file or directory"
 *   "x.txt: not a pcap or pcapng capture"
 *   "x.pcap: unsupported link type 147 (USER0)"
 *   "x.pcap: truncated or corrupt at frame 57: truncated dump file; ..."
 * fcs_cap_open_files() opens and checks EVERY file before returning: an
 * unreadable file among several is known (and can be reported) before
 * anything is analyzed; the others are read.
 *
 * Classic pcap files of 2 MiB and more are read ahead on a second thread
 * (readahead.h; fcs_cap_set_read_ahead(false) or FCGISCOPE_READ_THREAD=0 in
 * the environment turns it off);
 * the results do not depend on it. Timestamps are always
 * delivered in nanoseconds; each file's native precision (microseconds or
 * nanoseconds, from the pcap magic or the pcapng if_tsresol option of the
 * first interface) is reported by fcs_cap_get_file_info().
 */
#ifndef FCS_CAPTURE_H
#define FCS_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FCS_CAP_ERRMAX 512

typedef struct fcs_capture fcs_capture;

/* fcs_cap_next() results. */
enum {
    FCS_CAP_PACKET = 1,    /* *pkt is filled; pkt->data valid until the next call */
    FCS_CAP_EOF = 0,       /* all input read (offline) */
    FCS_CAP_TIMEOUT = 2,   /* live: no packet ready now (a device's ring ran dry) or
                              none came for a while; call again */
    FCS_CAP_DAMAGED = -1,  /* the current file is truncated/corrupt: fcs_cap_error()
                              says where; the packets before it were delivered, the
                              next call continues with the next file */
    FCS_CAP_ERROR = -2,    /* fatal (device went away, read error): fcs_cap_error() */
    FCS_CAP_SKIPPED = -3   /* the next file could not be opened after all (removed
                              since fcs_cap_open_files checked it): fcs_cap_error()
                              says why; the next call continues with the file after */
};

/* Timestamp precision of a file or device. */
typedef enum fcs_precision { FCS_PREC_US = 6, FCS_PREC_NS = 9 } fcs_precision;

typedef enum fcs_cap_format { FCS_FMT_PCAP = 0, FCS_FMT_PCAPNG = 1, FCS_FMT_LIVE = 2 } fcs_cap_format;

typedef struct fcs_cap_file_info {
    const char *name;         /* as given ("-" for stdin) or the device name */
    fcs_cap_format format;
    fcs_precision precision;  /* native precision of the file */
    int dlt;                  /* link type */
    int snaplen;
    uint64_t first_frame;     /* first frame number of this file (0: none read yet) */
    uint64_t packets;         /* packets read from it so far */
    bool damaged;             /* reading it stopped at damage */
    bool unreadable;          /* skipped: could not be opened or is not a capture */
    const char *error;        /* unreadable or damaged: the one-line message, else NULL */
    bool stream;              /* a pipe, FIFO, socket or terminal (not a regular file) */
    bool opened;              /* reading it began (frame_base is set) */
    uint64_t frame_base;      /* frames of the timeline before this file */
    bool have_ts;             /* first_ts/last_ts: its earliest and latest packet */
    int64_t first_ts, last_ts;
} fcs_cap_file_info;

/* Open files (paths[0..n), "-" = stdin, allowed once) read in the given order
 * as one timeline. A file that cannot be opened, is not a capture or has an
 * unsupported link type is skipped when others can be read: its info says
 * unreadable and error (fcs_cap_file_info). Returns NULL when none can be
 * read, with the message in err: one line for one file; for several, one
 * line per file separated by '\n'. */
fcs_capture *fcs_cap_open_files(const char *const *paths, size_t n, char *err, size_t errlen);
/* Process-wide: false = never read ahead on a second thread (fcgiscope
 * --no-read-ahead; wins over FCGISCOPE_READ_THREAD=1). Applies to files
 * opened afterwards. */
void fcs_cap_set_read_ahead(bool on);

/* Open a capture from memory (a whole pcap/pcapng file image; for the fuzz
 * target and tests). The buffer must stay valid until fcs_cap_close(). */
fcs_capture *fcs_cap_open_memory(const void *data, size_t len, const char *name,
                                 char *err, size_t errlen);

/* Live devices (-i) are read the way tcpdump reads them on Linux: libpcap's
 * TPACKET_V3 ring of 256 KiB blocks that the kernel hands over when one is
 * full or its block timeout (timeout_ms) passes, so a busy link costs a
 * wake-up per block, not per packet; the BPF filter runs in the kernel. The
 * descriptor is non-blocking and fcs_cap_next() waits in poll() itself:
 * FCS_CAP_TIMEOUT comes once whenever the ring runs dry (nothing more is
 * ready: the moment to write what is known before waiting) and then every
 * FCS_LIVE_TICK_MS while nothing comes. immediate: a wake-up per packet
 * (pcap_set_immediate_mode), for per-packet latency at a much higher cost;
 * no FCS_CAP_TIMEOUT when the ring runs dry then (it would be one per
 * packet), only the ticks. */
#define FCS_LIVE_BUFFER_DEFAULT (32 << 20) /* bytes: fcgiscope -B's default (32768 KiB) */
#define FCS_LIVE_TIMEOUT_MS 100            /* the block timeout's default */
#define FCS_LIVE_TICK_MS 250               /* FCS_CAP_TIMEOUT while nothing comes */

typedef struct fcs_live_options {
    const char *filter;       /* BPF filter expression, NULL or "" for none */
    int snaplen;              /* 0: 262144 */
    int buffer_bytes;         /* kernel ring, 0: FCS_LIVE_BUFFER_DEFAULT */
    int timeout_ms;           /* block timeout (the longest a packet waits in the
                                 kernel), 0: FCS_LIVE_TIMEOUT_MS */
    bool immediate;           /* a wake-up per packet (see above) */
    bool promisc;             /* default false (FastCGI is usually on loopback) */
} fcs_live_options;

/* Open a live device (pcap_create, the ring above, nanosecond timestamps when
 * the device supports them, BPF filter). NULL with a message on failure
 * (no such device, permission, bad filter). opts may be NULL. */
fcs_capture *fcs_cap_open_live(const char *device, const fcs_live_options *opts,
                               char *err, size_t errlen);

/* Live: how long a captured packet may still wait in the kernel before
 * fcs_cap_next() can deliver it (the block timeout plus a margin; 0 for
 * immediate mode, sources and files). Time that passes without packets
 * (fcs_anz_tick) is "now" minus this: a packet still held in the ring must not
 * find its request already settled as if it never came. */
int64_t fcs_cap_delivery_lag_ns(const fcs_capture *cap);

/* Next packet (see the result codes above). */
int fcs_cap_next(fcs_capture *cap, fcs_packet *pkt);

/* Streams (stdin or a FIFO that is a pipe, not a regular file): fn(ud) is
 * called from inside fcs_cap_next() when no byte is ready to read, before
 * waiting for one, and then every 200 ms while none comes (the caller writes
 * what it knows instead of waiting blind). fn must not read packets (it may
 * ask fcs_cap_frame_locate and the file information).
 * Not called for regular files, memory images or live devices (those return
 * FCS_CAP_TIMEOUT). */
void fcs_cap_set_idle(fcs_capture *cap, void (*fn)(void *ud), void *ud);
/* Is any input of the timeline a stream (see fcs_cap_set_idle)? */
bool fcs_cap_is_stream(const fcs_capture *cap);

/* Where a frame number of the timeline is: the index of its file and its
 * number within that file (1-based). false for 0 or a frame not read yet. */
bool fcs_cap_frame_locate(const fcs_capture *cap, uint64_t frame, size_t *file,
                          uint64_t *frame_in_file);

/* Live: stop reading what comes next, but deliver what libpcap and the
 * kernel already hold: fcs_cap_next() returns those packets (it does not
 * block), then FCS_CAP_EOF once none came for 100 ms (a device with a
 * block timeout: that timeout plus 100 ms, so the last, partly filled block
 * is handed over too) or after 2 s in all. Call after fcs_cap_breakloop()
 * (a signal, -c, --duration). */
void fcs_cap_drain(fcs_capture *cap);

/* Message of the last DAMAGED, SKIPPED or ERROR result ("" if none). */
const char *fcs_cap_error(const fcs_capture *cap);
/* Frame number that the last DAMAGED result refers to. */
uint64_t fcs_cap_damage_frame(const fcs_capture *cap);
/* Timestamp of the last packet delivered (0 before the first). */
int64_t fcs_cap_last_ts(const fcs_capture *cap);

/* Files in the timeline (1 for live), and information about one. */
size_t fcs_cap_file_count(const fcs_capture *cap);
bool fcs_cap_get_file_info(const fcs_capture *cap, size_t index, fcs_cap_file_info *out);
/* Index of the file being read now. */
size_t fcs_cap_current_file(const fcs_capture *cap);
/* Finest precision over all files (NS if any file is NS). */
fcs_precision fcs_cap_precision(const fcs_capture *cap);

/* Progress of offline input: bytes consumed so far and total (0 when unknown,
 * e.g. stdin), over all files. */
void fcs_cap_progress(const fcs_capture *cap, uint64_t *done, uint64_t *total);

/* Live only: libpcap's counters (pcap_stats). false when unavailable. */
bool fcs_cap_live_stats(fcs_capture *cap, uint64_t *received, uint64_t *dropped,
                        uint64_t *ifdropped);

/* The underlying descriptor for poll() in live mode (-1 otherwise). */
int fcs_cap_fd(const fcs_capture *cap);

/* Stop reading from a signal handler (pcap_breakloop plus a flag): the next
 * fcs_cap_next() (or the one blocked in a live read) returns FCS_CAP_EOF, for
 * live devices and files alike. Async-signal-safe. */
void fcs_cap_breakloop(fcs_capture *cap);

/* A live source of ready-made frames (fcgiscope --unix: unixcap.c), run by
 * the same loop as a device. next() returns FCS_CAP_PACKET (data, caplen,
 * len, ts_ns filled; the frame number and dlt are set here), FCS_CAP_TIMEOUT,
 * FCS_CAP_EOF or FCS_CAP_ERROR (message via error()). stats() feeds
 * fcs_cap_live_stats() (drops -> capture_drops); breakloop() must be
 * async-signal-safe; close() frees the source. */
typedef struct fcs_cap_source {
    int (*next)(void *ud, fcs_packet *pkt);
    const char *(*error)(void *ud);
    bool (*stats)(void *ud, uint64_t *received, uint64_t *dropped);
    void (*breakloop)(void *ud);
    void (*close)(void *ud);
    void (*drain)(void *ud);      /* optional: fcs_cap_drain(): deliver what is held, then EOF */
    void *ud;
    int dlt;
    fcs_precision precision;
} fcs_cap_source;

/* A live capture on src, named name in reports. NULL only when out of memory
 * (then src->close is called). */
fcs_capture *fcs_cap_open_source(const char *name, const fcs_cap_source *src,
                                 char *err, size_t errlen);

void fcs_cap_close(fcs_capture *cap);

#ifdef __cplusplus
}
#endif

#endif /* FCS_CAPTURE_H */
