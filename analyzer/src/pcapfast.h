/* pcapfast.h — classic pcap records parsed in place, without libpcap.
 *
 * libpcap copies every record out of its stdio buffer; for classic pcap files
 * (version 2.4, written in this host's byte order) this reader takes the
 * 16-byte record headers and the data straight from the views of capbytes.h
 * once libpcap has parsed the 24-byte file header (bench/README.md, "Capture
 * reader history", has what it saves). A record split over two views is
 * gathered in a bounce buffer. Only records libpcap would return unchanged
 * are read so (caplen <= the snapshot length); at the first other one, a
 * short record or a read error, the reader gives up for the rest of the
 * file: libpcap's stdio buffer is discarded (__fpurge), the gathered bytes
 * are pushed back into the cookie, which serves them and then the rest of
 * the view, and libpcap reads on from there, so damage is found and
 * described by libpcap exactly as without this reader.
 */
#ifndef FCS_PCAPFAST_H
#define FCS_PCAPFAST_H

#include "capbytes.h"
#include "link.h"

#include <pcap/pcap.h>
#include <string.h>

typedef struct fcs_pcapfast {
    int on;                 /* current file: 0 not looked at yet, 1 on, -1 off */
    bool us;                /* microsecond timestamps */
    uint32_t snap;          /* libpcap's snapshot length for the file */
    uint8_t *buf;           /* bounce buffer: a record split over two views */
    struct pcap_pkthdr hdr;
} fcs_pcapfast;

/* Decide whether the records of the file k holds (a classic pcap file whose
 * header libpcap has just read, snapshot length snap) are read here: sets
 * f->on to 1 (and asks k for read-ahead) or -1. */
void fcs_pcapfast_setup(fcs_pcapfast *f, src_cookie *k, int snap);

/* The next record when it is not whole in the current view: 1 with *hdr and
 * *data (valid until the next call), PCAP_ERROR_BREAK at the clean end of the
 * file, 0 when the rest is libpcap's to read from fp (f->on is then -1). */
int fcs_pcapfast_next(fcs_pcapfast *f, src_cookie *k, FILE *fp,
                      struct pcap_pkthdr **hdr, const u_char **data);

/* The hot path (f->on > 0): a whole record in the current view, its
 * timestamp converted straight to nanoseconds; true with pkt's data,
 * lengths and ts_ns set, false when fcs_pcapfast_next() must be asked. */
static inline bool fcs_pcapfast_whole(const fcs_pcapfast *f, src_cookie *k, fcs_packet *pkt)
{
    size_t avail = (size_t)(k->vend - k->vp);
    if (avail < 16)
        return false;
    const uint8_t *r = k->vp;
    uint32_t w[4];
    memcpy(w, r, sizeof w); /* host byte order (fcs_pcapfast_setup) */
    if (w[2] > f->snap || avail - 16 < w[2])
        return false;
    int64_t frac = f->us ? (int64_t)w[1] * 1000 : (int64_t)w[1];
    if (frac > 999999999)
        frac = 0;
    k->vp = r + 16 + w[2];
    pkt->data = r + 16;
    pkt->caplen = w[2];
    pkt->len = w[3];
    pkt->ts_ns = (int64_t)w[0] * 1000000000ll + frac;
    return true;
}

#endif
