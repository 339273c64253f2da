/* testutil.h — packet builders and pcap/pcapng writers for the analyzer capture tests.
 *
 * Normative references: RFC 791, RFC 8200, RFC 9293 (header layouts);
 * draft-ietf-opsawg-pcap and draft-ietf-opsawg-pcapng (file layouts).
 * Header-only (static functions) so each test program is one file.
 */
#ifndef FCS_TESTUTIL_H
#define FCS_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TU_FN static __attribute__((unused))

static int g_failures;
static int g_checks;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        g_checks++;                                                                    \
        if (!(cond)) {                                                                 \
            g_failures++;                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)

#define CHECK_EQ_U(a, b)                                                               \
    do {                                                                               \
        unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
        g_checks++;                                                                    \
        if (_a != _b) {                                                                \
            g_failures++;                                                              \
            fprintf(stderr, "%s:%d: %s == %llu, expected %s == %llu\n", __FILE__,      \
                    __LINE__, #a, _a, #b, _b);                                         \
        }                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                \
    do {                                                                               \
        const char *_a = (a), *_b = (b);                                               \
        g_checks++;                                                                    \
        if (strcmp(_a, _b) != 0) {                                                     \
            g_failures++;                                                              \
            fprintf(stderr, "%s:%d: mismatch\n  got:      %s\n  expected: %s\n",       \
                    __FILE__, __LINE__, _a, _b);                                       \
        }                                                                              \
    } while (0)

TU_FN int test_summary(const char *name)
{
    printf("%s: %d checks, %d failures\n", name, g_checks, g_failures);
    return g_failures ? 1 : 0;
}

TU_FN void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
TU_FN void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
TU_FN void put32le(uint8_t *p, uint32_t v)
{
    p[3] = (uint8_t)(v >> 24); p[2] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[0] = (uint8_t)v;
}

/* A TCP segment description for the builders. */
typedef struct tseg {
    int family;                 /* 4 or 6 */
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    const uint8_t *payload;
    uint32_t len;
    uint32_t tcp_opt_len;       /* multiple of 4 (NOP filled) */
    uint32_t ip_opt_len;        /* IPv4 options, multiple of 4 */
    const uint8_t *v6ext;       /* raw IPv6 extension header chain (ends before TCP) */
    uint32_t v6ext_len;
    uint8_t v6first_nh;         /* next header of the IPv6 header when v6ext is set */
} tseg;

/* Write the IP datagram; returns its length. */
TU_FN size_t build_ip(uint8_t *out, const tseg *s)
{
    uint32_t thl = 20 + s->tcp_opt_len;
    uint8_t *th;
    size_t iphl;
    if (s->family == 4) {
        iphl = 20 + s->ip_opt_len;
        size_t tot = iphl + thl + s->len;
        memset(out, 0, iphl);
        out[0] = (uint8_t)(0x40 | (iphl / 4));
        put16(out + 2, (uint16_t)tot);
        put16(out + 6, 0x4000);           /* DF */
        out[8] = 64;
        out[9] = 6;
        memcpy(out + 12, s->src, 4);
        memcpy(out + 16, s->dst, 4);
        for (size_t i = 20; i < iphl; i++)
            out[i] = 1;                   /* NOP options */
        th = out + iphl;
    } else {
        iphl = 40 + s->v6ext_len;
        memset(out, 0, 40);
        out[0] = 0x60;
        put16(out + 4, (uint16_t)(s->v6ext_len + thl + s->len));
        out[6] = s->v6ext ? s->v6first_nh : 6;
        out[7] = 64;
        memcpy(out + 8, s->src, 16);
        memcpy(out + 24, s->dst, 16);
        if (s->v6ext)
            memcpy(out + 40, s->v6ext, s->v6ext_len);
        th = out + iphl;
    }
    memset(th, 0, thl);
    put16(th, s->sport);
    put16(th + 2, s->dport);
    put32(th + 4, s->seq);
    put32(th + 8, s->ack);
    th[12] = (uint8_t)((thl / 4) << 4);
    th[13] = s->flags;
    put16(th + 14, 65535);
    for (uint32_t i = 20; i < thl; i++)
        th[i] = 1;
    if (s->len)
        memcpy(th + thl, s->payload, s->len);
    return iphl + thl + s->len;
}

/* Link-layer wrappers: return the frame length. */
TU_FN size_t wrap_eth(uint8_t *out, const uint8_t *ip, size_t iplen, int family,
                       const uint16_t *tags, int ntags)
{
    memset(out, 0, 12);
    out[0] = 0x02; out[6] = 0x02; out[11] = 1;
    size_t o = 12;
    for (int i = 0; i < ntags; i++) {
        put16(out + o, tags[i]);
        put16(out + o + 2, (uint16_t)(100 + i));
        o += 4;
    }
    put16(out + o, family == 4 ? 0x0800 : 0x86dd);
    o += 2;
    memcpy(out + o, ip, iplen);
    return o + iplen;
}

TU_FN size_t wrap_sll(uint8_t *out, const uint8_t *ip, size_t iplen, int family)
{
    memset(out, 0, 16);
    put16(out + 2, 772);        /* ARPHRD_LOOPBACK */
    put16(out + 4, 6);
    put16(out + 14, family == 4 ? 0x0800 : 0x86dd);
    memcpy(out + 16, ip, iplen);
    return 16 + iplen;
}

TU_FN size_t wrap_sll2(uint8_t *out, const uint8_t *ip, size_t iplen, int family)
{
    memset(out, 0, 20);
    put16(out, family == 4 ? 0x0800 : 0x86dd);
    put32(out + 4, 1);
    put16(out + 8, 772);
    out[11] = 6;
    memcpy(out + 20, ip, iplen);
    return 20 + iplen;
}

TU_FN size_t wrap_null(uint8_t *out, const uint8_t *ip, size_t iplen, uint32_t af, bool big)
{
    if (big) put32(out, af); else put32le(out, af);
    memcpy(out + 4, ip, iplen);
    return 4 + iplen;
}

/* ---- capture file writers ---- */

/* pcap header. ns: nanosecond magic; swap: write big-endian. */
TU_FN void pcap_write_header(FILE *f, bool ns, bool big, uint32_t dlt, uint32_t snaplen)
{
    uint8_t h[24];
    uint32_t magic = ns ? 0xa1b23c4d : 0xa1b2c3d4;
    void (*w32)(uint8_t *, uint32_t) = big ? put32 : put32le;
    w32(h, magic);
    if (big) { put16(h + 4, 2); put16(h + 6, 4); }
    else { h[4] = 2; h[5] = 0; h[6] = 4; h[7] = 0; }
    w32(h + 8, 0);
    w32(h + 12, 0);
    w32(h + 16, snaplen);
    w32(h + 20, dlt);
    fwrite(h, 1, sizeof h, f);
}

/* frac: microseconds or nanoseconds per the header. */
TU_FN void pcap_write_packet(FILE *f, bool big, uint32_t sec, uint32_t frac,
                              const uint8_t *data, uint32_t caplen, uint32_t len)
{
    uint8_t h[16];
    void (*w32)(uint8_t *, uint32_t) = big ? put32 : put32le;
    w32(h, sec);
    w32(h + 4, frac);
    w32(h + 8, caplen);
    w32(h + 12, len);
    fwrite(h, 1, sizeof h, f);
    fwrite(data, 1, caplen, f);
}

/* pcapng (little-endian): SHB + IDB with if_tsresol (0 = option absent). */
TU_FN void pcapng_write_header(FILE *f, uint16_t dlt, uint8_t tsresol)
{
    uint8_t shb[28];
    put32le(shb, 0x0a0d0d0a);
    put32le(shb + 4, 28);
    put32le(shb + 8, 0x1a2b3c4d);
    shb[12] = 1; shb[13] = 0; shb[14] = 0; shb[15] = 0;
    memset(shb + 16, 0xff, 8);   /* section length -1 */
    put32le(shb + 24, 28);
    fwrite(shb, 1, 28, f);
    uint8_t idb[32];
    uint32_t len = tsresol ? 32 : 20;
    put32le(idb, 1);
    put32le(idb + 4, len);
    idb[8] = (uint8_t)dlt; idb[9] = (uint8_t)(dlt >> 8); idb[10] = 0; idb[11] = 0;
    put32le(idb + 12, 262144);
    size_t o = 16;
    if (tsresol) {
        idb[o] = 9; idb[o + 1] = 0; idb[o + 2] = 1; idb[o + 3] = 0;
        idb[o + 4] = tsresol; idb[o + 5] = idb[o + 6] = idb[o + 7] = 0;
        o += 8;
        memset(idb + o, 0, 4);   /* opt_endofopt */
        o += 4;
    }
    put32le(idb + o, len);
    fwrite(idb, 1, len, f);
}

/* EPB; ts in units of the interface's resolution. */
TU_FN void pcapng_write_packet(FILE *f, uint64_t ts, const uint8_t *data, uint32_t caplen,
                                uint32_t len)
{
    uint32_t pad = (4 - caplen % 4) % 4;
    uint32_t blen = 32 + caplen + pad;
    uint8_t h[28];
    put32le(h, 6);
    put32le(h + 4, blen);
    put32le(h + 8, 0);
    put32le(h + 12, (uint32_t)(ts >> 32));
    put32le(h + 16, (uint32_t)ts);
    put32le(h + 20, caplen);
    put32le(h + 24, len);
    fwrite(h, 1, 28, f);
    fwrite(data, 1, caplen, f);
    static const uint8_t zero[4];
    fwrite(zero, 1, pad, f);
    uint8_t t[4];
    put32le(t, blen);
    fwrite(t, 1, 4, f);
}

#endif /* FCS_TESTUTIL_H */
