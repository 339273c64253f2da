/* pcapw.c — minimal capture-file writer: classic pcap and pcapng.
 *
 * Normative reference: draft-ietf-opsawg-pcap §4-§5 (file header, packet
 * record) and draft-ietf-opsawg-pcapng §4.1 (SHB), §4.2 (IDB, if_tsresol),
 * §4.3 (EPB).
 *
 * Classic file header (24 bytes), then per packet a 16-byte record header:
 *
 *   magic(4) vmajor(2)=2 vminor(2)=4 thiszone(4)=0 sigfigs(4)=0 snaplen(4) linktype(4)
 *   ts_sec(4) ts_frac(4) caplen(4) origlen(4) data[caplen]
 *
 * pcapng blocks: type(4) total_len(4) body... total_len(4), body padded to 4.
 */
#include "pcapw.h"

#include <stdlib.h>
#include <string.h>

struct pcapw {
    FILE *f;
    pcapw_opts o;
    uint64_t offset;
    uint64_t count;
    bool err;
};

static void put_bytes(pcapw *w, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (fwrite(p, 1, n, w->f) != n)
        w->err = true;
    w->offset += n;
}

static void put16(pcapw *w, uint16_t v)
{
    uint8_t b[2];
    if (w->o.big_endian) {
        b[0] = (uint8_t)(v >> 8);
        b[1] = (uint8_t)v;
    } else {
        b[0] = (uint8_t)v;
        b[1] = (uint8_t)(v >> 8);
    }
    put_bytes(w, b, 2);
}

static void put32(pcapw *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) {
        int shift = w->o.big_endian ? 24 - 8 * i : 8 * i;
        b[i] = (uint8_t)(v >> shift);
    }
    put_bytes(w, b, 4);
}

static void put_zeros(pcapw *w, size_t n)
{
    static const uint8_t z[8];
    while (n > 0) {
        size_t k = n < sizeof z ? n : sizeof z;
        put_bytes(w, z, k);
        n -= k;
    }
}

static size_t pad4(size_t n) { return (4 - (n & 3)) & 3; }

pcapw *pcapw_open(FILE *f, const pcapw_opts *opts)
{
    if (!f || !opts)
        return NULL;
    pcapw *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->f = f;
    w->o = *opts;
    if (w->o.snaplen == 0)
        w->o.snaplen = 262144;

    if (w->o.format == PCAPW_PCAP) {
        put32(w, w->o.ns ? 0xa1b23c4du : 0xa1b2c3d4u);
        put16(w, 2);
        put16(w, 4);
        put32(w, 0); /* thiszone */
        put32(w, 0); /* sigfigs */
        put32(w, w->o.snaplen);
        put32(w, w->o.linktype);
    } else {
        /* Section Header Block, no options: 28 bytes. */
        put32(w, 0x0A0D0D0Au);
        put32(w, 28);
        put32(w, 0x1A2B3C4Du); /* byte-order magic, in the writer's order */
        put16(w, 1);
        put16(w, 0);
        put32(w, 0xFFFFFFFFu); /* section length: unknown (-1) */
        put32(w, 0xFFFFFFFFu);
        put32(w, 28);
        /* Interface Description Block: 16 fixed + options + 4. */
        uint32_t optlen = w->o.ns ? 8 + 4 : 0; /* if_tsresol (4+1, padded to 8) + opt_endofopt */
        uint32_t len = 16 + optlen + 4;
        put32(w, 1);
        put32(w, len);
        put16(w, (uint16_t)w->o.linktype);
        put16(w, 0);
        put32(w, w->o.snaplen);
        if (w->o.ns) {
            put16(w, 9); /* if_tsresol */
            put16(w, 1);
            uint8_t res[4] = {9, 0, 0, 0}; /* 10^-9 */
            put_bytes(w, res, 4);
            put16(w, 0); /* opt_endofopt */
            put16(w, 0);
        }
        put32(w, len);
    }
    if (w->err) {
        free(w);
        return NULL;
    }
    return w;
}

int pcapw_packet(pcapw *w, int64_t ts_ns, const uint8_t *data, size_t caplen, size_t orig_len)
{
    if (!w || ts_ns < 0 || (caplen > 0 && !data) || caplen > orig_len || orig_len > 0xFFFFFFFFu)
        return -1;
    uint64_t t = (uint64_t)ts_ns;
    if (w->o.format == PCAPW_PCAP) {
        uint64_t sec = t / 1000000000u;
        uint64_t frac = t % 1000000000u;
        if (!w->o.ns)
            frac /= 1000u;
        if (sec > 0xFFFFFFFFu)
            return -1;
        put32(w, (uint32_t)sec);
        put32(w, (uint32_t)frac);
        put32(w, (uint32_t)caplen);
        put32(w, (uint32_t)orig_len);
        put_bytes(w, data, caplen);
    } else {
        uint64_t units = w->o.ns ? t : t / 1000u; /* default if_tsresol is 10^-6 */
        size_t body = 20 + caplen + pad4(caplen);
        uint64_t len = 8 + (uint64_t)body + 4;
        if (len > 0xFFFFFFFFu)
            return -1;
        put32(w, 6);
        put32(w, (uint32_t)len);
        put32(w, 0); /* interface id */
        put32(w, (uint32_t)(units >> 32));
        put32(w, (uint32_t)units);
        put32(w, (uint32_t)caplen);
        put32(w, (uint32_t)orig_len);
        put_bytes(w, data, caplen);
        put_zeros(w, pad4(caplen));
        put32(w, (uint32_t)len);
    }
    w->count++;
    return w->err ? -1 : 0;
}

uint64_t pcapw_offset(const pcapw *w) { return w ? w->offset : 0; }
uint64_t pcapw_count(const pcapw *w) { return w ? w->count : 0; }

int pcapw_close(pcapw *w)
{
    if (!w)
        return -1;
    if (fflush(w->f) != 0)
        w->err = true;
    int rc = w->err ? -1 : 0;
    free(w);
    return rc;
}
