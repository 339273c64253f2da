/* pcapfast.c — classic pcap records parsed in place (see pcapfast.h). */
#define _GNU_SOURCE
#include "pcapfast.h"

#include <stdio_ext.h>
#include <stdlib.h>

#define FAST_BUF (512 * 1024)   /* bounce buffer for a record across two views */

void fcs_pcapfast_setup(fcs_pcapfast *f, src_cookie *k, int snap)
{
    f->on = -1;
    if (k->plen < 24)
        return;
    /* libpcap has read the file header (24 bytes) through its stdio buffer,
     * which took them from the prefix: all it holds must be prefix bytes. */
    if (!k->in_prefix || k->pblen || k->vp < k->prefix + 24)
        return;
    const uint16_t one = 1;
    bool host_be = *(const uint8_t *)&one == 0;
    const uint8_t *h = k->prefix;
    uint32_t m = fcs_rd32(h, host_be);
    if (m != 0xa1b2c3d4u && m != 0xa1b23c4du)
        return; /* other byte order or a variant magic: libpcap */
    if (fcs_rd16(h + 4, host_be) != 2 || fcs_rd16(h + 6, host_be) != 4)
        return; /* old versions may have caplen and len swapped: libpcap */
    if (snap <= 0 || (size_t)snap > FAST_BUF - 16)
        return;
    if (!f->buf && !(f->buf = malloc(FAST_BUF)))
        return;
    f->us = m == 0xa1b2c3d4u;
    f->snap = (uint32_t)snap;
    k->want_ring = true;
    /* the bytes after the header that libpcap's buffer holds: read them again */
    k->vp = k->prefix + 24;
    f->on = 1;
}

/* Give the rest of the file to libpcap from the first byte not handed out:
 * its stdio buffer (stale: bytes re-read here) is dropped, and the cookie
 * serves the `have` gathered bytes first, then the rest of the view. f->buf
 * stays untouched until this file is closed. */
static int hand_to_libpcap(fcs_pcapfast *f, src_cookie *k, FILE *fp, size_t have)
{
    k->pb = f->buf;
    k->pblen = have;
    k->pbpos = 0;
    __fpurge(fp);
    clearerr(fp);
    f->on = -1;
    return 0;
}

int fcs_pcapfast_next(fcs_pcapfast *f, src_cookie *k, FILE *fp,
                      struct pcap_pkthdr **hdr, const u_char **data)
{
    size_t have = 0, need = 16; /* bytes of the record gathered in f->buf, wanted */
    uint32_t w[4];
    const uint8_t *rec = NULL;
    for (;;) {
        size_t avail = (size_t)(k->vend - k->vp);
        if (have == 0) {
            if (avail >= 16) {
                memcpy(w, k->vp, sizeof w); /* host byte order (fcs_pcapfast_setup) */
                if (w[2] > f->snap)
                    return hand_to_libpcap(f, k, fp, have); /* it truncates or rejects it */
                if (avail - 16 >= w[2]) {
                    rec = k->vp;
                    k->vp += 16 + (size_t)w[2];
                    break;
                }
            }
            if (avail == 0) {
                int g = fcs_capbytes_next_view(k);
                if (g > 0)
                    continue;
                if (g == 0)
                    return PCAP_ERROR_BREAK;
                /* a read error: libpcap reads it and says so */
                return hand_to_libpcap(f, k, fp, have);
            }
        }
        /* a record across views: gather it in f->buf */
        size_t take = need - have < avail ? need - have : avail;
        memcpy(f->buf + have, k->vp, take);
        k->vp += take;
        have += take;
        if (have == 16 && need == 16) {
            memcpy(w, f->buf, sizeof w);
            if (w[2] > f->snap)
                return hand_to_libpcap(f, k, fp, have);
            need = 16 + (size_t)w[2];
        }
        if (have == need) {
            rec = f->buf;
            break;
        }
        /* a partial record at the end, or a read error */
        if (k->vp == k->vend && fcs_capbytes_next_view(k) <= 0)
            return hand_to_libpcap(f, k, fp, have);
    }
    struct pcap_pkthdr *ph = &f->hdr;
    ph->ts.tv_sec = (time_t)w[0];
    ph->ts.tv_usec = f->us ? (suseconds_t)w[1] * 1000 : (suseconds_t)w[1];
    ph->caplen = w[2];
    ph->len = w[3];
    *hdr = ph;
    *data = rec + 16;
    return 1;
}
