/* netw.c — packet builder for crafted captures: link layers, IPv4/IPv6, TCP with checksums.
 *
 * Normative reference: RFC 791 §3.1 (IPv4 header), RFC 8200 §3-§4 (IPv6
 * header, extension headers, PadN), RFC 9293 §3.1 (TCP header and checksum),
 * RFC 1071 (checksum), IEEE 802.1Q, tcpdump.org linktypes (SLL, SLL2, NULL, LOOP).
 *
 * Frame layout built here (fields in network byte order unless noted):
 *
 *   [link header][IPv4 20 | IPv6 40 + 8 per extension header][TCP 20 (+4 MSS on SYN)][payload]
 *
 *   Ethernet: dst(6) src(6) [0x88a8 TCI] [0x8100 TCI] ethertype(2)
 *   SLL:      pkttype(2) arphrd(2)=1 addrlen(2)=6 addr(8) proto(2)
 *   SLL2:     proto(2) reserved(2) ifindex(4) arphrd(2)=1 pkttype(1) addrlen(1)=6 addr(8)
 *   NULL:     AF (4, little-endian); LOOP: AF (4, big-endian); AF_INET 2, AF_INET6 24
 */
#define _POSIX_C_SOURCE 200809L
#include "netw.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

uint32_t netw_linktype(netw_link link)
{
    switch (link) {
    case NETW_LINK_ETHERNET:
    case NETW_LINK_VLAN:
    case NETW_LINK_QINQ: return 1;
    case NETW_LINK_SLL: return 113;
    case NETW_LINK_SLL2: return 276;
    case NETW_LINK_NULL: return 0;
    case NETW_LINK_LOOP: return 108;
    case NETW_LINK_RAW: return 101;
    case NETW_LINK_IPV4: return 228;
    case NETW_LINK_IPV6: return 229;
    }
    return 1;
}

int netw_addr_parse(netw_addr *a, const char *ip, uint16_t port)
{
    memset(a, 0, sizeof *a);
    a->port = port;
    if (inet_pton(AF_INET, ip, a->ip) == 1) {
        a->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, a->ip) == 1) {
        a->family = 6;
        return 0;
    }
    return -1;
}

void netw_addr_format(const netw_addr *a, char *buf, size_t n)
{
    char ip[64];
    if (!inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof ip))
        snprintf(ip, sizeof ip, "?");
    if (a->family == 6)
        snprintf(buf, n, "[%s]:%u", ip, (unsigned)a->port);
    else
        snprintf(buf, n, "%s:%u", ip, (unsigned)a->port);
}

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint32_t netw_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    /* Callers keep each chunk even-length except the last. */
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (uint32_t)((p[i] << 8) | p[i + 1]);
        sum = (sum & 0xffffu) + (sum >> 16);
    }
    if (n & 1) {
        sum += (uint32_t)(p[n - 1] << 8);
        sum = (sum & 0xffffu) + (sum >> 16);
    }
    return sum;
}

uint16_t netw_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

static const uint8_t default_mac[2][6] = {
    {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01}, /* RFC 7042 documentation range */
    {0x00, 0x00, 0x5e, 0x00, 0x53, 0x02},
};

static const uint8_t *mac_of(const netw_link_opts *lk, int side)
{
    static const uint8_t zero[6];
    if (memcmp(lk->mac[side], zero, 6) != 0)
        return lk->mac[side];
    return default_mac[side];
}

/* Link header for an IP packet of family fam; returns its length or 0. */
static size_t link_header(uint8_t *out, size_t cap, const netw_link_opts *lk, int dir, int fam)
{
    uint16_t ethertype = fam == 6 ? 0x86DD : 0x0800;
    const uint8_t *src = mac_of(lk, dir ? 1 : 0);
    const uint8_t *dst = mac_of(lk, dir ? 0 : 1);
    size_t n = 0;
    switch (lk->link) {
    case NETW_LINK_ETHERNET:
    case NETW_LINK_VLAN:
    case NETW_LINK_QINQ:
        n = 14 + (lk->link == NETW_LINK_VLAN ? 4 : 0) + (lk->link == NETW_LINK_QINQ ? 8 : 0);
        if (cap < n)
            return 0;
        memcpy(out, dst, 6);
        memcpy(out + 6, src, 6);
        if (lk->link == NETW_LINK_ETHERNET) {
            be16(out + 12, ethertype);
        } else if (lk->link == NETW_LINK_VLAN) {
            be16(out + 12, 0x8100);
            be16(out + 14, (uint16_t)(lk->vlan_outer & 0x0fff));
            be16(out + 16, ethertype);
        } else {
            be16(out + 12, 0x88A8);
            be16(out + 14, (uint16_t)(lk->vlan_outer & 0x0fff));
            be16(out + 16, 0x8100);
            be16(out + 18, (uint16_t)(lk->vlan_inner & 0x0fff));
            be16(out + 20, ethertype);
        }
        return n;
    case NETW_LINK_SLL:
        if (cap < 16)
            return 0;
        be16(out, dir ? 0 : 4);  /* 0: to us, 4: sent by us */
        be16(out + 2, 1);        /* ARPHRD_ETHER */
        be16(out + 4, 6);
        memset(out + 6, 0, 8);
        memcpy(out + 6, src, 6);
        be16(out + 14, ethertype);
        return 16;
    case NETW_LINK_SLL2:
        if (cap < 20)
            return 0;
        be16(out, ethertype);
        be16(out + 2, 0);
        be32(out + 4, lk->sll2_ifindex ? lk->sll2_ifindex : 2);
        be16(out + 8, 1);        /* ARPHRD_ETHER */
        out[10] = dir ? 0 : 4;
        out[11] = 6;
        memset(out + 12, 0, 8);
        memcpy(out + 12, src, 6);
        return 20;
    case NETW_LINK_NULL:
    case NETW_LINK_LOOP: {
        if (cap < 4)
            return 0;
        uint32_t af = fam == 6 ? 24 : 2;
        if (lk->link == NETW_LINK_LOOP) {
            be32(out, af);
        } else {
            out[0] = (uint8_t)af;
            out[1] = (uint8_t)(af >> 8);
            out[2] = (uint8_t)(af >> 16);
            out[3] = (uint8_t)(af >> 24);
        }
        return 4;
    }
    case NETW_LINK_RAW:
        return 0;
    case NETW_LINK_IPV4:
        return fam == 4 ? 0 : (size_t)-1;
    case NETW_LINK_IPV6:
        return fam == 6 ? 0 : (size_t)-1;
    }
    return (size_t)-1;
}

size_t netw_build_ip(uint8_t *out, size_t cap, const netw_link_opts *lk, int dir,
                     const netw_addr *src, const netw_addr *dst, uint8_t proto,
                     const netw_ip_opts *ip, uint16_t ipv4_id,
                     const uint8_t *payload, size_t len)
{
    static const netw_ip_opts none;
    if (!out || !lk || !src || !dst || src->family != dst->family || (len > 0 && !payload))
        return 0;
    if (!ip)
        ip = &none;
    size_t lh = link_header(out, cap, lk, dir, src->family);
    if (lh == (size_t)-1)
        return 0;
    if (lh == 0 && lk->link != NETW_LINK_RAW && lk->link != NETW_LINK_IPV4 && lk->link != NETW_LINK_IPV6)
        return 0;
    uint8_t ttl = ip->ttl ? ip->ttl : 64;
    uint8_t *p = out + lh;
    if (src->family == 4) {
        size_t total = 20 + len;
        if (total > 65535 || lh + total > cap)
            return 0;
        p[0] = 0x45;
        p[1] = 0;
        be16(p + 2, (uint16_t)total);
        be16(p + 4, ipv4_id);
        uint16_t ff = (uint16_t)((ip->frag_offset / 8) & 0x1fff);
        if (ip->dont_fragment)
            ff |= 0x4000;
        if (ip->more_fragments)
            ff |= 0x2000;
        be16(p + 6, ff);
        p[8] = ttl;
        p[9] = proto;
        be16(p + 10, 0);
        memcpy(p + 12, src->ip, 4);
        memcpy(p + 16, dst->ip, 4);
        be16(p + 10, netw_csum_fold(netw_csum_add(0, p, 20)));
        if (len)
            memcpy(p + 20, payload, len);
        return lh + total;
    }
    size_t next = ip->next > 4 ? 4 : ip->next;
    size_t plen = 8 * next + len;
    if (plen > 65535 || lh + 40 + plen > cap)
        return 0;
    be32(p, 0x60000000u);
    be16(p + 4, (uint16_t)plen);
    p[6] = next ? ip->ext[0] : proto;
    p[7] = ttl;
    memcpy(p + 8, src->ip, 16);
    memcpy(p + 24, dst->ip, 16);
    uint8_t *e = p + 40;
    for (size_t i = 0; i < next; i++, e += 8) {
        e[0] = i + 1 < next ? ip->ext[i + 1] : proto;
        if (ip->ext[i] == 44) {
            /* Fragment header (RFC 8200 §4.5): offset in 8-byte units, M flag, identification */
            e[1] = 0;
            be16(e + 2, (uint16_t)(((ip->frag_offset / 8) << 3) | (ip->more_fragments ? 1 : 0)));
            be32(e + 4, ip->frag_ident);
        } else {
            e[1] = 0;    /* 8 bytes long */
            e[2] = 1;    /* PadN */
            e[3] = 4;
            memset(e + 4, 0, 4);
        }
    }
    if (len)
        memcpy(e, payload, len);
    return lh + 40 + plen;
}

size_t netw_build_tcp(uint8_t *out, size_t cap, const netw_addr *src, const netw_addr *dst,
                      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
                      const uint8_t *payload, size_t len)
{
    if (!out || !src || !dst || src->family != dst->family || (len > 0 && !payload))
        return 0;
    size_t hl = (flags & NETW_SYN) ? 24 : 20;
    if (hl + len > cap || hl + len > 65535)
        return 0;
    be16(out, src->port);
    be16(out + 2, dst->port);
    be32(out + 4, seq);
    be32(out + 8, (flags & NETW_ACK) ? ack : 0);
    out[12] = (uint8_t)((hl / 4) << 4);
    out[13] = flags;
    be16(out + 14, window);
    be16(out + 16, 0);
    be16(out + 18, 0);
    if (hl == 24) {
        out[20] = 2;  /* MSS */
        out[21] = 4;
        be16(out + 22, 1460);
    }
    if (len)
        memcpy(out + hl, payload, len);
    /* Pseudo header (RFC 9293 §3.1; RFC 8200 §8.1 for IPv6). */
    uint8_t ph[40];
    size_t phl;
    size_t tcplen = hl + len;
    if (src->family == 4) {
        memcpy(ph, src->ip, 4);
        memcpy(ph + 4, dst->ip, 4);
        ph[8] = 0;
        ph[9] = 6;
        be16(ph + 10, (uint16_t)tcplen);
        phl = 12;
    } else {
        memcpy(ph, src->ip, 16);
        memcpy(ph + 16, dst->ip, 16);
        be32(ph + 32, (uint32_t)tcplen);
        ph[36] = ph[37] = ph[38] = 0;
        ph[39] = 6;
        phl = 40;
    }
    uint32_t sum = netw_csum_add(0, ph, phl);
    sum = netw_csum_add(sum, out, tcplen);
    be16(out + 16, netw_csum_fold(sum));
    return tcplen;
}

void netw_tcp_init(netw_tcp *t, const netw_link_opts *lk, const netw_ip_opts *ip,
                   const netw_addr *client, const netw_addr *server,
                   uint32_t client_isn, uint32_t server_isn)
{
    memset(t, 0, sizeof *t);
    if (lk)
        t->link = *lk;
    if (ip)
        t->ip = *ip;
    t->ep[0] = *client;
    t->ep[1] = *server;
    t->next_seq[0] = client_isn;
    t->next_seq[1] = server_isn;
    /* Deterministic, distinct IPv4 ids per side. */
    t->ipv4_id[0] = (uint16_t)(0x1000 + (client->port & 0x0fff));
    t->ipv4_id[1] = (uint16_t)(0x8000 + (client->port & 0x0fff));
    t->window = 65535;
}

size_t netw_tcp_segment_at(netw_tcp *t, int dir, uint32_t seq, uint8_t flags,
                           const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
    dir = dir ? 1 : 0;
    return netw_build_tcp(out, cap, &t->ep[dir], &t->ep[!dir], seq, t->next_seq[!dir],
                          flags, t->window, payload, len);
}

size_t netw_tcp_packet_at(netw_tcp *t, int dir, uint32_t seq, uint8_t flags,
                          const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
    uint8_t seg[65536 + 64];
    dir = dir ? 1 : 0;
    size_t sl = netw_tcp_segment_at(t, dir, seq, flags, payload, len, seg, sizeof seg);
    if (sl == 0)
        return 0;
    size_t n = netw_build_ip(out, cap, &t->link, dir, &t->ep[dir], &t->ep[!dir], 6, &t->ip,
                             t->ipv4_id[dir], seg, sl);
    if (n)
        t->ipv4_id[dir]++;
    return n;
}

size_t netw_tcp_packet(netw_tcp *t, int dir, uint8_t flags, const uint8_t *payload, size_t len,
                       uint8_t *out, size_t cap)
{
    dir = dir ? 1 : 0;
    size_t n = netw_tcp_packet_at(t, dir, t->next_seq[dir], flags, payload, len, out, cap);
    if (n) {
        uint32_t adv = (uint32_t)len + ((flags & NETW_SYN) ? 1u : 0u) + ((flags & NETW_FIN) ? 1u : 0u);
        t->next_seq[dir] += adv; /* wraps modulo 2^32, as TCP sequence numbers do */
    }
    return n;
}

/* One frame through the sink; the buffer is on the stack (frames <= 64 KiB + headers). */
static int emit_one(netw_tcp *t, int dir, uint8_t flags, const uint8_t *p, size_t n,
                    netw_emit_fn emit, void *ud)
{
    uint8_t frame[65536 + 128];
    size_t len = netw_tcp_packet(t, dir, flags, p, n, frame, sizeof frame);
    if (len == 0 || !emit)
        return -1;
    return emit(ud, frame, len) == 0 ? 0 : -1;
}

int netw_tcp_handshake(netw_tcp *t, netw_emit_fn emit, void *ud)
{
    if (emit_one(t, 0, NETW_SYN, NULL, 0, emit, ud) || emit_one(t, 1, NETW_SYN | NETW_ACK, NULL, 0, emit, ud) ||
        emit_one(t, 0, NETW_ACK, NULL, 0, emit, ud))
        return -1;
    return 0;
}

int netw_tcp_send(netw_tcp *t, int dir, const uint8_t *data, size_t len, size_t mss,
                  netw_emit_fn emit, void *ud)
{
    int count = 0;
    if (mss == 0 || mss > 65535 - 60 || (len > 0 && !data))
        return -1;
    while (len > 0) {
        size_t k = len < mss ? len : mss;
        if (emit_one(t, dir, (uint8_t)(NETW_ACK | (k == len ? NETW_PSH : 0)), data, k, emit, ud))
            return -1;
        data += k;
        len -= k;
        count++;
    }
    return count;
}

int netw_tcp_close(netw_tcp *t, int first_dir, netw_emit_fn emit, void *ud)
{
    first_dir = first_dir ? 1 : 0;
    if (emit_one(t, first_dir, NETW_FIN | NETW_ACK, NULL, 0, emit, ud) ||
        emit_one(t, !first_dir, NETW_FIN | NETW_ACK, NULL, 0, emit, ud) ||
        emit_one(t, first_dir, NETW_ACK, NULL, 0, emit, ud))
        return -1;
    return 0;
}

int netw_tcp_reset(netw_tcp *t, int dir, netw_emit_fn emit, void *ud)
{
    return emit_one(t, dir ? 1 : 0, NETW_RST | NETW_ACK, NULL, 0, emit, ud);
}
