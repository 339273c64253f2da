/* test_link.c — unit tests for link.c: every link type, VLAN stacks, IPv4 options, IPv6 extension headers, truncation.
 *
 * Normative references: tcpdump.org LINKTYPE list, RFC 791, RFC 8200, RFC 9293.
 */
#include "link.h"
#include "testutil.h"

static const uint8_t PAY[] = "\x01\x01\x00\x01\x00\x08\x00\x00hello FastCGI";

static tseg v4seg(void)
{
    tseg s = { 0 };
    s.family = 4;
    uint8_t a[4] = { 127, 0, 0, 1 }, b[4] = { 127, 0, 0, 2 };
    memcpy(s.src, a, 4);
    memcpy(s.dst, b, 4);
    s.sport = 40000;
    s.dport = 9000;
    s.seq = 0xfffffff0u;
    s.ack = 12345;
    s.flags = FCS_TH_ACK | FCS_TH_PSH;
    s.payload = PAY;
    s.len = sizeof PAY - 1;
    return s;
}

static tseg v6seg(void)
{
    tseg s = v4seg();
    s.family = 6;
    memset(s.src, 0, 16);
    memset(s.dst, 0, 16);
    s.src[15] = 1;
    s.dst[0] = 0xfe; s.dst[1] = 0x80; s.dst[15] = 2;
    return s;
}

/* The decoded segment matches the description. */
static void check_seg(const fcs_segment *g, const tseg *s, const char *what)
{
    int before = g_failures;
    CHECK_EQ_U(g->family, s->family);
    CHECK(memcmp(g->src, s->src, s->family == 4 ? 4 : 16) == 0);
    CHECK(memcmp(g->dst, s->dst, s->family == 4 ? 4 : 16) == 0);
    CHECK_EQ_U(g->sport, s->sport);
    CHECK_EQ_U(g->dport, s->dport);
    CHECK_EQ_U(g->seq, s->seq);
    CHECK_EQ_U(g->ack, s->ack);
    CHECK_EQ_U(g->flags, s->flags);
    CHECK_EQ_U(g->payload_len, s->len);
    CHECK_EQ_U(g->cap_payload_len, s->len);
    CHECK(s->len == 0 || (g->payload && memcmp(g->payload, s->payload, s->len) == 0));
    CHECK(!g->fragment);
    if (g_failures != before)
        fprintf(stderr, "  (in %s)\n", what);
}

static void decode_ok(int dlt, const uint8_t *f, size_t n, const tseg *s, const char *what)
{
    fcs_segment g;
    fcs_link_result r = fcs_link_decode(dlt, f, (uint32_t)n, (uint32_t)n, &g);
    CHECK_EQ_U(r, FCS_LINK_TCP);
    if (r != FCS_LINK_TCP) {
        fprintf(stderr, "  (%s: %s)\n", what, fcs_link_result_name(r));
        return;
    }
    check_seg(&g, s, what);
}

/* Every prefix of a valid frame: never a crash or over-read (ASan), and
 * either SHORT, or TCP with only the captured payload. */
static void check_prefixes_opt(int dlt, const uint8_t *f, size_t n, size_t tcp_end_hdr, size_t opt)
{
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);   /* exact size: ASan catches over-reads */
        memcpy(copy, f, cut);
        fcs_segment g;
        fcs_link_result r = fcs_link_decode(dlt, cut ? copy : NULL, (uint32_t)cut, (uint32_t)n, &g);
        if (cut < tcp_end_hdr - opt) {
            CHECK(r == FCS_LINK_SHORT);
            if (r != FCS_LINK_SHORT)
                fprintf(stderr, "  dlt %d cut %zu of %zu: %s\n", dlt, cut, n, fcs_link_result_name(r));
        } else {
            CHECK_EQ_U(r, FCS_LINK_TCP);
            CHECK_EQ_U(g.cap_payload_len, cut > tcp_end_hdr ? cut - tcp_end_hdr : 0);
            CHECK_EQ_U(g.payload_len, n - tcp_end_hdr);
        }
        free(copy);
    }
}

static void check_prefixes(int dlt, const uint8_t *f, size_t n, size_t tcp_end_hdr)
{
    check_prefixes_opt(dlt, f, n, tcp_end_hdr, 0);
}

static void test_ethernet(void)
{
    uint8_t ip[2000], fr[2100];
    tseg s = v4seg();
    size_t il = build_ip(ip, &s);
    size_t n = wrap_eth(fr, ip, il, 4, NULL, 0);
    decode_ok(1, fr, n, &s, "eth v4");
    check_prefixes(1, fr, n, 14 + 20 + 20);

    uint16_t q[] = { 0x8100 };
    n = wrap_eth(fr, ip, il, 4, q, 1);
    decode_ok(1, fr, n, &s, "eth 802.1Q");
    uint16_t qq[] = { 0x88a8, 0x8100 };
    n = wrap_eth(fr, ip, il, 4, qq, 2);
    decode_ok(1, fr, n, &s, "eth QinQ 88a8");
    check_prefixes(1, fr, n, 22 + 20 + 20);
    uint16_t q3[] = { 0x9100, 0x9100, 0x8100 };
    n = wrap_eth(fr, ip, il, 4, q3, 3);
    decode_ok(1, fr, n, &s, "eth 3 tags");

    /* Ethernet padding after a short datagram is not payload. */
    tseg e = v4seg();
    e.len = 0;
    e.flags = FCS_TH_ACK;
    il = build_ip(ip, &e);
    n = wrap_eth(fr, ip, il, 4, NULL, 0);
    memset(fr + n, 0xee, 6);
    decode_ok(1, fr, n + 6, &e, "eth padding");

    /* IPv6 over Ethernet */
    tseg v6 = v6seg();
    il = build_ip(ip, &v6);
    n = wrap_eth(fr, ip, il, 6, NULL, 0);
    decode_ok(1, fr, n, &v6, "eth v6");
    check_prefixes(1, fr, n, 14 + 40 + 20);

    /* ARP is not IP */
    fcs_segment g;
    uint8_t arp[60] = { 0 };
    put16(arp + 12, 0x0806);
    CHECK_EQ_U(fcs_link_decode(1, arp, 60, 60, &g), FCS_LINK_NOT_IP);
}

static void test_cooked_and_loop(void)
{
    uint8_t ip[2000], fr[2100];
    tseg s = v4seg(), v6 = v6seg();
    size_t il = build_ip(ip, &s), n;
    n = wrap_sll(fr, ip, il, 4);
    decode_ok(113, fr, n, &s, "sll v4");
    check_prefixes(113, fr, n, 16 + 40);
    n = wrap_sll2(fr, ip, il, 4);
    decode_ok(276, fr, n, &s, "sll2 v4");
    check_prefixes(276, fr, n, 20 + 40);
    n = wrap_null(fr, ip, il, 2, false);
    decode_ok(0, fr, n, &s, "null v4 le");
    n = wrap_null(fr, ip, il, 2, true);
    decode_ok(0, fr, n, &s, "null v4 be");
    n = wrap_null(fr, ip, il, 2, true);
    decode_ok(108, fr, n, &s, "loop v4");
    decode_ok(101, ip, il, &s, "raw v4");
    decode_ok(12, ip, il, &s, "raw 12 v4");
    decode_ok(14, ip, il, &s, "raw 14 v4");
    decode_ok(228, ip, il, &s, "ipv4");
    check_prefixes(228, ip, il, 40);

    il = build_ip(ip, &v6);
    n = wrap_sll(fr, ip, il, 6);
    decode_ok(113, fr, n, &v6, "sll v6");
    n = wrap_sll2(fr, ip, il, 6);
    decode_ok(276, fr, n, &v6, "sll2 v6");
    static const uint32_t afs[] = { 10, 24, 28, 30 };
    for (int i = 0; i < 4; i++) {
        n = wrap_null(fr, ip, il, afs[i], false);
        decode_ok(0, fr, n, &v6, "null v6 le");
        n = wrap_null(fr, ip, il, afs[i], true);
        decode_ok(0, fr, n, &v6, "null v6 be");
        decode_ok(108, fr, n, &v6, "loop v6");
    }
    decode_ok(101, ip, il, &v6, "raw v6");
    decode_ok(229, ip, il, &v6, "ipv6");
    check_prefixes(229, ip, il, 60);

    fcs_segment g;
    n = wrap_null(fr, ip, il, 7, false);
    CHECK_EQ_U(fcs_link_decode(0, fr, (uint32_t)n, (uint32_t)n, &g), FCS_LINK_NOT_IP);
    CHECK_EQ_U(fcs_link_decode(147, fr, (uint32_t)n, (uint32_t)n, &g), FCS_LINK_UNSUPPORTED);
    CHECK(!fcs_link_supported(147));
    CHECK(fcs_link_supported(276));
    CHECK_STR(fcs_link_name(113), "LINUX_SLL");
    /* Raw with version 5 */
    uint8_t bad[40] = { 0x50 };
    CHECK_EQ_U(fcs_link_decode(101, bad, 40, 40, &g), FCS_LINK_MALFORMED);
}

static void test_ip_details(void)
{
    uint8_t ip[2000];
    fcs_segment g;
    /* IPv4 options and TCP options */
    tseg s = v4seg();
    s.ip_opt_len = 12;
    s.tcp_opt_len = 12;
    size_t il = build_ip(ip, &s);
    decode_ok(228, ip, il, &s, "v4 options");
    check_prefixes_opt(228, ip, il, 32 + 32, 12);

    /* IHL < 5 and TCP data offset < 5 are malformed */
    s = v4seg();
    il = build_ip(ip, &s);
    ip[0] = 0x44;
    CHECK_EQ_U(fcs_link_decode(228, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_MALFORMED);
    il = build_ip(ip, &s);
    ip[20 + 12] = 0x40;
    CHECK_EQ_U(fcs_link_decode(228, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_MALFORMED);
    /* total length larger than the frame on the wire */
    il = build_ip(ip, &s);
    put16(ip + 2, (uint16_t)(il + 100));
    CHECK_EQ_U(fcs_link_decode(228, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_MALFORMED);
    /* total length 0 (TSO): the frame's length is used */
    il = build_ip(ip, &s);
    put16(ip + 2, 0);
    CHECK_EQ_U(fcs_link_decode(228, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_TCP);
    CHECK_EQ_U(g.payload_len, s.len);
    /* UDP */
    il = build_ip(ip, &s);
    ip[9] = 17;
    CHECK_EQ_U(fcs_link_decode(228, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_NOT_TCP);

    /* Snaplen: caplen < wire length keeps the wire payload length */
    il = build_ip(ip, &s);
    CHECK_EQ_U(fcs_link_decode(228, ip, 45, (uint32_t)il, &g), FCS_LINK_TCP);
    CHECK_EQ_U(g.cap_payload_len, 5);
    CHECK_EQ_U(g.payload_len, s.len);

    /* Fragments: first (MF) and later ones */
    il = build_ip(ip, &s);
    put16(ip + 6, 0x2000);
    CHECK_EQ_U(fcs_link_decode(228, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_FRAGMENT);
    CHECK(g.fragment && g.first_fragment);
    CHECK_EQ_U(g.dport, 9000);
    CHECK_EQ_U(g.cap_payload_len, 0);
    put16(ip + 6, 0x0010);
    CHECK_EQ_U(fcs_link_decode(228, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_FRAGMENT);
    CHECK(g.fragment && !g.first_fragment);

    /* IPv6 extension headers: hop-by-hop (8) -> routing (16) -> dest opts (8) -> AH (16) -> TCP */
    uint8_t ext[48] = { 0 };
    ext[0] = 43; ext[1] = 0;                 /* HBH, next routing, 8 bytes */
    ext[8] = 60; ext[9] = 1;                 /* routing, next dstopts, 16 bytes */
    ext[24] = 51; ext[25] = 0;               /* dstopts, next AH, 8 bytes */
    ext[32] = 6; ext[33] = 2;                /* AH: (2+2)*4 = 16 bytes, next TCP */
    tseg v6 = v6seg();
    v6.v6ext = ext;
    v6.v6ext_len = 48;
    v6.v6first_nh = 0;
    il = build_ip(ip, &v6);
    decode_ok(229, ip, il, &v6, "v6 ext chain");
    check_prefixes(229, ip, il, 40 + 48 + 20);

    /* IPv6 fragment header: atomic fragment (offset 0, M=0) is a whole segment */
    uint8_t fh[8] = { 6, 0, 0, 0, 0, 0, 0, 1 };
    v6.v6ext = fh;
    v6.v6ext_len = 8;
    v6.v6first_nh = 44;
    il = build_ip(ip, &v6);
    decode_ok(229, ip, il, &v6, "v6 atomic fragment");
    fh[3] = 1;                               /* M=1: first fragment */
    il = build_ip(ip, &v6);
    CHECK_EQ_U(fcs_link_decode(229, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_FRAGMENT);
    CHECK(g.first_fragment);
    put16(fh + 2, (uint16_t)(100 << 3));     /* offset 100, last */
    il = build_ip(ip, &v6);
    CHECK_EQ_U(fcs_link_decode(229, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_FRAGMENT);
    CHECK(!g.first_fragment);

    /* ICMPv6 and no-next-header */
    v6 = v6seg();
    il = build_ip(ip, &v6);
    ip[6] = 58;
    CHECK_EQ_U(fcs_link_decode(229, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_NOT_TCP);
    ip[6] = 59;
    CHECK_EQ_U(fcs_link_decode(229, ip, (uint32_t)il, (uint32_t)il, &g), FCS_LINK_NOT_TCP);
    /* An extension header whose length runs past the datagram */
    uint8_t longext[8] = { 6, 200 };
    v6.v6ext = longext;
    v6.v6ext_len = 8;
    v6.v6first_nh = 0;
    il = build_ip(ip, &v6);
    fcs_link_result r = fcs_link_decode(229, ip, (uint32_t)il, (uint32_t)il, &g);
    CHECK(r == FCS_LINK_MALFORMED || r == FCS_LINK_SHORT);
}

/* Random garbage of every length through every link type: no crash (ASan/UBSan). */
static void test_garbage(void)
{
    static const int dlts[] = { 0, 1, 12, 14, 101, 108, 113, 228, 229, 276 };
    uint32_t x = 12345;
    int tcp = 0;
    for (int iter = 0; iter < 20000; iter++) {
        uint32_t n = (x >> 7) % 200;
        uint8_t *b = malloc(n ? n : 1);
        for (uint32_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            b[i] = (uint8_t)(x >> 16);
        }
        /* Make IP versions likely. */
        if (n > 20) { b[0] = (uint8_t)((x & 1) ? 0x45 : 0x60); b[9] = 6; b[6] = 6; }
        fcs_segment g;
        int dlt = dlts[iter % 10];
        if (fcs_link_decode(dlt, b, n, n + (x % 3) * 100, &g) == FCS_LINK_TCP) {
            tcp++;
            CHECK(g.cap_payload_len <= g.payload_len);
            CHECK(g.cap_payload_len == 0 || (g.payload >= b && g.payload + g.cap_payload_len <= b + n));
        }
        free(b);
        x = x * 1103515245u + 12345u;
    }
    printf("garbage: %d of 20000 random frames decoded as TCP\n", tcp);
}

/* link.c decodes the common frame (Ethernet, IPv4 without options or
 * fragmentation, TCP) on a fast path of its own. The same IP packet as raw
 * IPv4 (link type 228) takes the general path: on mutated and cut frames
 * both must give the same result and the same segment, field for field. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void test_fast_path_equals_general(void)
{
    uint8_t ip[2000], base[2100], f[2100];
    size_t n_tcp = 0, n_other = 0;
    for (int variant = 0; variant < 5; variant++) {
        tseg sg = v4seg();
        if (variant & 1)
            sg.tcp_opt_len = 8;
        if (variant & 2)
            sg.len = 0;
        if (variant == 4)
            sg.ip_opt_len = 4; /* not on the fast path */
        size_t il = build_ip(ip, &sg);
        size_t n = wrap_eth(base, ip, il, 4, NULL, 0);
        for (int it = 0; it < 100000; it++) {
            memcpy(f, base, n);
            size_t flen = n + (it % 3 == 0 ? rnd() % 20 : 0); /* Ethernet padding */
            for (size_t i = n; i < flen; i++) f[i] = (uint8_t)rnd();
            /* mutate header bytes (most often the ones the decoders look at) */
            int muts = (int)(rnd() % 4);
            for (int m = 0; m < muts; m++) {
                static const uint8_t hot[] = { 13, 14, 16, 17, 20, 21, 23, 46, 47 };
                size_t at = rnd() % 2 ? hot[rnd() % sizeof hot] : rnd() % (n < 70 ? n : 70);
                f[at] = rnd() % 3 ? (uint8_t)rnd() : (uint8_t)(f[at] ^ (1u << (rnd() % 8)));
            }
            uint32_t caplen = (uint32_t)flen, wirelen = (uint32_t)flen;
            switch (rnd() % 4) {
            case 0: caplen = 14 + rnd() % (uint32_t)(flen - 13); break; /* snaplen cut */
            case 1: wirelen = 14 + rnd() % 3000; break;                 /* odd wire length */
            default: break;
            }
            if (caplen > flen) caplen = (uint32_t)flen;
            if (f[12] != 0x08 || f[13] != 0x00)
                continue; /* not IPv4 to Ethernet: raw IP would still decode it */
            fcs_segment a, b;
            fcs_link_result ra = fcs_link_decode(1, f, caplen, wirelen, &a);
            fcs_link_result rb = fcs_link_decode(228, f + 14, caplen - 14, wirelen - 14, &b);
            CHECK_EQ_U(ra, rb);
            CHECK(memcmp(&a, &b, sizeof a) == 0);
            if (ra != rb || memcmp(&a, &b, sizeof a) != 0) {
                fprintf(stderr, "  fast path differs: variant %d iteration %d\n", variant, it);
                return;
            }
            if (ra == FCS_LINK_TCP) n_tcp++; else n_other++;
        }
    }
    /* both outcomes were exercised */
    CHECK(n_tcp > 100000);
    CHECK(n_other > 50000);
}

int main(void)
{
    test_ethernet();
    test_cooked_and_loop();
    test_ip_details();
    test_garbage();
    test_fast_path_equals_general();
    return test_summary("test_link");
}
